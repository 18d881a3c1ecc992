//! `qraft keys ...` end to end: runs the built binary, with standard input not a terminal
//! (so passphrases come from QRAFT_PASSPHRASE or not at all).

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use qraft_keys::keyfile::read_key_file;
use qraft_keys::{Keypair, PublicKey};

mod common;
use common::*;

const PASSPHRASE: &str = "correct horse battery staple";

fn qraft_command(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_qraft"));
    command
        .arg("keys")
        .args(args)
        .env_remove("QRAFT_PASSPHRASE");
    command
}

/// Runs `qraft keys ARGS` with no passphrase in the environment.
fn qraft(args: &[&str]) -> Output {
    qraft_command(args).output().expect("qraft runs")
}

/// Runs `qraft keys ARGS` with QRAFT_PASSPHRASE set.
fn qraft_with_passphrase(args: &[&str], passphrase: &str) -> Output {
    qraft_command(args)
        .env("QRAFT_PASSPHRASE", passphrase)
        .output()
        .expect("qraft runs")
}

fn public_key_line(stdout: &str) -> PublicKey {
    let line = stdout.strip_suffix('\n').expect("one line");
    assert!(!line.contains('\n'), "more than one line: {stdout:?}");
    line.parse().unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[test]
fn new_writes_a_private_key_file_and_prints_its_public_key() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let public = public_key_line(&success(qraft(&["new", "--out", arg(&path)])));

    assert_eq!(mode(&path), 0o600);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{text}");
    assert_eq!(read_key_file(&path, None).unwrap().public(), public);
    assert_eq!(
        public_key_line(&success(qraft(&["show", arg(&path)]))),
        public
    );
}

#[test]
fn new_refuses_to_overwrite_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let first = public_key_line(&success(qraft(&["new", "--out", arg(&path)])));

    let stderr = failure(qraft(&["new", "--out", arg(&path)]));
    assert!(stderr.contains("already exists"), "{stderr}");
    assert!(stderr.contains("--force"), "{stderr}");
    assert_eq!(read_key_file(&path, None).unwrap().public(), first);

    let second = public_key_line(&success(qraft(&["new", "--out", arg(&path), "--force"])));
    assert_ne!(first, second);
    assert_eq!(read_key_file(&path, None).unwrap().public(), second);
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn encrypted_key_takes_its_passphrase_from_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let public = public_key_line(&success(qraft_with_passphrase(
        &["new", "--out", arg(&path), "--encrypt"],
        PASSPHRASE,
    )));
    assert!(
        fs::read_to_string(&path)
            .unwrap()
            .starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n")
    );
    assert_eq!(
        read_key_file(&path, Some(PASSPHRASE)).unwrap().public(),
        public
    );

    let shown = success(qraft_with_passphrase(&["show", arg(&path)], PASSPHRASE));
    assert_eq!(public_key_line(&shown), public);

    let stderr = failure(qraft_with_passphrase(&["show", arg(&path)], "wrong"));
    assert!(stderr.contains("wrong passphrase"), "{stderr}");
    assert!(stderr.contains(arg(&path)), "{stderr}");

    // No passphrase and no terminal to ask on: a clear error, not a hang.
    let stderr = failure(qraft(&["show", arg(&path)]));
    assert!(stderr.contains("QRAFT_PASSPHRASE"), "{stderr}");
}

#[test]
fn encrypt_without_a_passphrase_source_fails_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let stderr = failure(qraft(&["new", "--out", arg(&path), "--encrypt"]));
    assert!(stderr.contains("QRAFT_PASSPHRASE"), "{stderr}");
    assert!(!path.exists());

    let stderr = failure(qraft_with_passphrase(
        &["new", "--out", arg(&path), "--encrypt"],
        "",
    ));
    assert!(stderr.contains("empty"), "{stderr}");
    assert!(!path.exists());
}

#[test]
fn show_json_gives_text_form_and_hex() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let public = public_key_line(&success(qraft(&["new", "--out", arg(&path)])));

    let stdout = success(qraft(&["show", arg(&path), "--json"]));
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["public_key"], public.to_string());
    assert_eq!(json["hex"], hex::encode(public.as_bytes()));
}

#[test]
fn export_public_key_to_file_and_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let public_path = dir.path().join("alice.pub");
    let public = public_key_line(&success(qraft(&["new", "--out", arg(&path)])));

    success(qraft(&[
        "export",
        arg(&path),
        "--public",
        "--out",
        arg(&public_path),
    ]));
    let pem = fs::read_to_string(&public_path).unwrap();
    assert_eq!(PublicKey::from_public_pem(&pem).unwrap(), public);
    // A public key file may be shown whatever its mode.
    fs::set_permissions(&public_path, fs::Permissions::from_mode(0o644)).unwrap();
    assert_eq!(
        public_key_line(&success(qraft(&["show", arg(&public_path)]))),
        public
    );

    let stdout = success(qraft(&["export", arg(&path), "--public"]));
    assert_eq!(stdout, pem);

    let stderr = failure(qraft(&[
        "export",
        arg(&path),
        "--public",
        "--out",
        arg(&public_path),
    ]));
    assert!(stderr.contains("already exists"), "{stderr}");
}

#[test]
fn private_key_goes_to_stdout_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let public = public_key_line(&success(qraft(&["new", "--out", arg(&path)])));

    let output = qraft(&["export", arg(&path)]);
    assert!(output.stdout.is_empty());
    let stderr = failure(output);
    assert!(stderr.contains("--out -"), "{stderr}");

    let pem = success(qraft(&["export", arg(&path), "--out", "-"]));
    assert_eq!(Keypair::from_pem(&pem, None).unwrap().public(), public);
}

#[test]
fn export_encrypted_then_import_plain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    let encrypted = dir.path().join("alice.enc.key");
    let plain = dir.path().join("alice.plain.key");
    let public = public_key_line(&success(qraft(&["new", "--out", arg(&path)])));

    success(qraft_with_passphrase(
        &["export", arg(&path), "--out", arg(&encrypted), "--encrypt"],
        PASSPHRASE,
    ));
    assert_eq!(mode(&encrypted), 0o600);
    assert_eq!(
        read_key_file(&encrypted, Some(PASSPHRASE))
            .unwrap()
            .public(),
        public
    );

    let stdout = success(qraft_with_passphrase(
        &["import", arg(&encrypted), "--out", arg(&plain)],
        PASSPHRASE,
    ));
    assert_eq!(public_key_line(&stdout), public);
    assert_eq!(mode(&plain), 0o600);
    assert_eq!(read_key_file(&plain, None).unwrap().public(), public);
}

#[test]
fn key_file_readable_by_others_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("alice.key");
    success(qraft(&["new", "--out", arg(&path)]));
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();

    let stderr = failure(qraft(&["show", arg(&path)]));
    assert!(
        stderr.contains(&format!("chmod 600 {}", arg(&path))),
        "{stderr}"
    );
}

#[test]
fn imports_keys_openssl_made() {
    if Command::new("openssl").arg("version").output().is_err() {
        eprintln!("skipped: `openssl` is not on PATH");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("openssl.key");
    let encrypted = dir.path().join("openssl.enc.key");
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl")
            .args(args)
            .env("QRAFT_TEST_PASSPHRASE", PASSPHRASE)
            .output()
            .expect("openssl runs");
        success(output)
    };
    openssl(&["genpkey", "-algorithm", "ed25519", "-out", arg(&source)]);
    fs::set_permissions(&source, fs::Permissions::from_mode(0o600)).unwrap();
    openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        arg(&source),
        "-out",
        arg(&encrypted),
        "-passout",
        "env:QRAFT_TEST_PASSPHRASE",
    ]);
    fs::set_permissions(&encrypted, fs::Permissions::from_mode(0o600)).unwrap();
    let expected =
        PublicKey::from_public_pem(&openssl(&["pkey", "-in", arg(&source), "-pubout"])).unwrap();

    let imported = dir.path().join("imported.key");
    let stdout = success(qraft(&["import", arg(&source), "--out", arg(&imported)]));
    assert_eq!(public_key_line(&stdout), expected);
    assert_eq!(read_key_file(&imported, None).unwrap().public(), expected);

    let imported = dir.path().join("imported-from-encrypted.key");
    let stdout = success(qraft_with_passphrase(
        &[
            "import",
            arg(&encrypted),
            "--out",
            arg(&imported),
            "--encrypt",
        ],
        PASSPHRASE,
    ));
    assert_eq!(public_key_line(&stdout), expected);
    assert_eq!(
        read_key_file(&imported, Some(PASSPHRASE)).unwrap().public(),
        expected
    );
}

#[test]
fn help_explains_the_commands() {
    let help = success(qraft(&["--help"]));
    for command in ["new", "show", "import", "export"] {
        assert!(help.contains(command), "{help}");
    }
    let help = success(qraft(&["new", "--help"]));
    assert!(help.contains("0600"), "{help}");
    assert!(help.contains("QRAFT_PASSPHRASE"), "{help}");
    assert!(help.contains("--force"), "{help}");
}
