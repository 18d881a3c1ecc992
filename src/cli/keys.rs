//! `qraft keys`: make, inspect, import and export key files.
//!
//! Passphrases come from the `QRAFT_PASSPHRASE` environment variable when it is set (for
//! scripts), otherwise from the terminal. Without either, a command that needs one fails
//! rather than waiting for input that cannot come.

use std::ffi::OsString;
use std::fs::OpenOptions;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use qraft_keys::keyfile::{self, IfExists};
use qraft_keys::{KeyError, Keypair};
use zeroize::Zeroizing;

/// The environment variable that gives the passphrase to scripts.
pub const PASSPHRASE_ENV: &str = "QRAFT_PASSPHRASE";

/// How many times a wrong passphrase typed at the terminal may be tried again.
const PASSPHRASE_ATTEMPTS: u32 = 3;

/// Key files: ed25519 keys in PKCS#8 PEM, the format OpenSSL reads and writes.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new key and write it to a key file; print its public key.
    ///
    /// The key file is created readable by you alone (mode 0600). Give the printed public
    /// key (`qk1...`) to whoever writes the game's genesis.
    New(NewArgs),
    /// Print the public key of a key file.
    ///
    /// PATH is a key file, or a public key file (`-----BEGIN PUBLIC KEY-----`) as
    /// `qraft keys export --public` and `openssl pkey -pubout` write.
    Show(ShowArgs),
    /// Turn a PKCS#8 PEM private key (for example from `openssl genpkey -algorithm
    /// ed25519`) into a QRaft key file.
    ///
    /// The source may be encrypted; the new file is written with mode 0600, encrypted if
    /// you ask for it.
    Import(ImportArgs),
    /// Write a key file's private key as PKCS#8 PEM, or its public key with --public.
    ///
    /// Use it to encrypt or decrypt a key file (`--out NEW [--encrypt]`), to hand the key
    /// to another tool, or to publish the public key.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct NewArgs {
    /// Where to write the key file.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    #[command(flatten)]
    write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The key file (or public key file) to read.
    path: PathBuf,
    /// Print {"public_key": "qk1...", "hex": "..."} instead of the bare text form.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The PKCS#8 PEM private key to import ("BEGIN PRIVATE KEY" or "BEGIN ENCRYPTED PRIVATE KEY").
    src: PathBuf,
    /// Where to write the QRaft key file.
    #[arg(long, value_name = "PATH")]
    out: PathBuf,
    #[command(flatten)]
    write: WriteArgs,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The key file to export.
    path: PathBuf,
    /// Where to write: a file, or `-` for standard output. A private key is printed only
    /// when asked for with `-`; a public key goes to standard output by default.
    #[arg(long, value_name = "PATH|-")]
    out: Option<PathBuf>,
    /// Export the public key (SubjectPublicKeyInfo, "-----BEGIN PUBLIC KEY-----") instead
    /// of the private key.
    #[arg(long, conflicts_with = "encrypt")]
    public: bool,
    #[command(flatten)]
    write: WriteArgs,
}

/// Options for writing a private key.
#[derive(Debug, Args)]
struct WriteArgs {
    /// Encrypt the private key with a passphrase: asked twice on the terminal, or taken
    /// from $QRAFT_PASSPHRASE.
    #[arg(long)]
    encrypt: bool,
    /// Replace the output file if it exists.
    #[arg(long)]
    force: bool,
}

impl WriteArgs {
    fn if_exists(&self) -> IfExists {
        if self.force {
            IfExists::Replace
        } else {
            IfExists::Refuse
        }
    }
}

/// Runs a `qraft keys` command.
pub fn run(cmd: KeysCommand) -> Result<()> {
    let passphrases = Passphrases::from_env()?;
    match cmd {
        KeysCommand::New(args) => new(&args, &passphrases),
        KeysCommand::Show(args) => show(&args, &passphrases),
        KeysCommand::Import(args) => import(&args, &passphrases),
        KeysCommand::Export(args) => export(&args, &passphrases),
    }
}

/// Asks for the new file's passphrase (if it is to be encrypted) and writes the key file.
/// Returns whether the file is encrypted.
fn write_with_new_passphrase(
    out: &Path,
    key: &Keypair,
    write: &WriteArgs,
    passphrases: &Passphrases,
) -> Result<bool> {
    let passphrase = new_passphrase(write, out, passphrases)?;
    write_key(out, key, passphrase.as_ref().map(|p| p.as_str()), write)?;
    Ok(passphrase.is_some())
}

fn new(args: &NewArgs, passphrases: &Passphrases) -> Result<()> {
    let key = Keypair::generate()?;
    let encrypted = write_with_new_passphrase(&args.out, &key, &args.write, passphrases)?;
    eprintln!(
        "Wrote a new {}key to {}. Its public key:",
        if encrypted { "encrypted " } else { "" },
        args.out.display()
    );
    print_stdout(&format!("{}\n", key.public()))
}

fn show(args: &ShowArgs, passphrases: &Passphrases) -> Result<()> {
    let public = with_passphrase(&args.path, passphrases, |passphrase| {
        keyfile::read_public_key_file(&args.path, passphrase)
    })?;
    let text = if args.json {
        let json = serde_json::json!({
            "public_key": public.to_string(),
            "hex": hex::encode(public.as_bytes()),
        });
        format!("{json}\n")
    } else {
        format!("{public}\n")
    };
    print_stdout(&text)
}

fn import(args: &ImportArgs, passphrases: &Passphrases) -> Result<()> {
    let key = with_passphrase(&args.src, passphrases, |passphrase| {
        keyfile::read_key_file(&args.src, passphrase)
    })?;
    write_with_new_passphrase(&args.out, &key, &args.write, passphrases)?;
    eprintln!(
        "Imported {} into {}. Its public key:",
        args.src.display(),
        args.out.display()
    );
    print_stdout(&format!("{}\n", key.public()))
}

fn export(args: &ExportArgs, passphrases: &Passphrases) -> Result<()> {
    let to_stdout = args.out.as_deref().is_none_or(|out| out == Path::new("-"));
    if args.public {
        let public = with_passphrase(&args.path, passphrases, |passphrase| {
            keyfile::read_public_key_file(&args.path, passphrase)
        })?;
        let pem = public.to_public_pem();
        return match &args.out {
            Some(out) if !to_stdout => write_public_file(out, &pem, args.write.force),
            _ => print_stdout(&pem),
        };
    }

    let Some(out) = &args.out else {
        bail!(
            "refusing to print a private key unless asked: pass `--out -` to print it, or \
             `--out PATH` to write it to a file"
        );
    };
    let key = with_passphrase(&args.path, passphrases, |passphrase| {
        keyfile::read_key_file(&args.path, passphrase)
    })?;
    let passphrase = new_passphrase(&args.write, out, passphrases)?;
    if to_stdout {
        let pem = key.to_pem(passphrase.as_ref().map(|p| p.as_str()))?;
        print_stdout(&pem)
    } else {
        write_key(
            out,
            &key,
            passphrase.as_ref().map(|p| p.as_str()),
            &args.write,
        )?;
        eprintln!("Wrote {}.", out.display());
        Ok(())
    }
}

fn write_key(
    path: &Path,
    key: &Keypair,
    passphrase: Option<&str>,
    write: &WriteArgs,
) -> Result<()> {
    keyfile::write_key_file(path, key, passphrase, write.if_exists()).map_err(|err| match err {
        KeyError::FileExists { .. } => anyhow!("{err} (pass --force to replace it)"),
        other => other.into(),
    })
}

/// Writes a public key file; public, so with the usual permissions.
fn write_public_file(path: &Path, pem: &str, force: bool) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    let mut file = options.open(path).map_err(|err| match err.kind() {
        io::ErrorKind::AlreadyExists => anyhow!(
            "{} already exists; refusing to overwrite it (pass --force to replace it)",
            path.display()
        ),
        _ => anyhow!("cannot create {}: {err}", path.display()),
    })?;
    file.write_all(pem.as_bytes())
        .and_then(|()| file.sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    eprintln!("Wrote {}.", path.display());
    Ok(())
}

fn print_stdout(text: &str) -> Result<()> {
    let mut stdout = io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .context("cannot write to standard output")
}

/// The passphrase to encrypt a new key file with, if `--encrypt` asks for one.
fn new_passphrase(
    write: &WriteArgs,
    path: &Path,
    passphrases: &Passphrases,
) -> Result<Option<Zeroizing<String>>> {
    if write.encrypt {
        passphrases.new_passphrase(path).map(Some)
    } else {
        Ok(None)
    }
}

/// Runs `read` on a key file that may be encrypted: without a passphrase first, then, if
/// the file turns out to be encrypted, with one from the terminal (a wrong one may be typed
/// again). With $QRAFT_PASSPHRASE set, with that alone.
fn with_passphrase<T>(
    path: &Path,
    passphrases: &Passphrases,
    read: impl Fn(Option<&str>) -> Result<T, KeyError>,
) -> Result<T> {
    if let Some(passphrase) = &passphrases.env {
        return Ok(read(Some(passphrase.as_str()))?);
    }
    match read(None) {
        Err(err) if matches!(err.problem(), KeyError::PassphraseRequired) => {}
        result => return Ok(result?),
    }
    require_terminal(&format!(
        "{} is encrypted: set {PASSPHRASE_ENV} to its passphrase, or run in a terminal to \
         type it",
        path.display()
    ))?;
    let mut attempts_left = PASSPHRASE_ATTEMPTS;
    loop {
        let passphrase = prompt(&format!("Passphrase for {}: ", path.display()))?;
        attempts_left -= 1;
        match read(Some(passphrase.as_str())) {
            Err(err) if matches!(err.problem(), KeyError::WrongPassphrase) && attempts_left > 0 => {
                eprintln!("Wrong passphrase; try again.");
            }
            result => return Ok(result?),
        }
    }
}

/// Where passphrases come from: $QRAFT_PASSPHRASE if set, else the terminal.
struct Passphrases {
    env: Option<Zeroizing<String>>,
}

impl Passphrases {
    fn from_env() -> Result<Self> {
        let env = match std::env::var_os(PASSPHRASE_ENV) {
            None => None,
            Some(value) => {
                Some(Zeroizing::new(value.into_string().map_err(
                    |_: OsString| anyhow!("{PASSPHRASE_ENV} is not valid UTF-8"),
                )?))
            }
        };
        Ok(Passphrases { env })
    }

    /// A passphrase to encrypt `path` with: $QRAFT_PASSPHRASE, or typed twice.
    fn new_passphrase(&self, path: &Path) -> Result<Zeroizing<String>> {
        if let Some(passphrase) = &self.env {
            if passphrase.is_empty() {
                bail!(
                    "{PASSPHRASE_ENV} is empty; a key file cannot be encrypted without a passphrase"
                );
            }
            return Ok(passphrase.clone());
        }
        require_terminal(&format!(
            "--encrypt needs a passphrase: set {PASSPHRASE_ENV}, or run in a terminal to type it"
        ))?;
        let first = prompt(&format!("New passphrase for {}: ", path.display()))?;
        if first.is_empty() {
            bail!("the passphrase is empty; a key file cannot be encrypted without one");
        }
        let second = prompt("Type it again: ")?;
        if first != second {
            bail!("the passphrases do not match");
        }
        Ok(first)
    }
}

fn require_terminal(message: &str) -> Result<()> {
    if io::stdin().is_terminal() {
        Ok(())
    } else {
        Err(anyhow!("{message}"))
    }
}

fn prompt(text: &str) -> Result<Zeroizing<String>> {
    rpassword::prompt_password(text)
        .map(Zeroizing::new)
        .context("cannot read a passphrase from the terminal")
}

/// Opens the private key file at `path` for use by a node or a client: with
/// $QRAFT_PASSPHRASE if set, else asking on the terminal if the file is encrypted.
pub fn open_key(path: &Path) -> Result<Keypair> {
    let passphrases = Passphrases::from_env()?;
    with_passphrase(path, &passphrases, |passphrase| {
        keyfile::read_key_file(path, passphrase)
    })
}
