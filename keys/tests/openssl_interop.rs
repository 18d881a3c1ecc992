//! Key files interoperate with OpenSSL: it reads what QRaft writes, QRaft reads what it
//! writes, and the two agree on the public key and on signatures.
//!
//! Runs the real `openssl` binary; every test is skipped, saying why, when it is not on
//! PATH.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

use qraft_keys::keyfile::{IfExists, read_key_file, write_key_file};
use qraft_keys::signing::signing_message;
use qraft_keys::{ChainId, Domain, KeyError, Keypair, PublicKey};

const PASSPHRASE: &str = "correct horse battery staple";
/// OpenSSL reads the passphrase from this variable (`-passin env:...`), never from argv.
const PASSPHRASE_VAR: &str = "QRAFT_INTEROP_PASSPHRASE";

/// Whether `openssl` can be run; says so on stderr when it cannot.
fn have_openssl() -> bool {
    match Command::new("openssl").arg("version").output() {
        Ok(output) if output.status.success() => true,
        Ok(output) => {
            eprintln!("skipped: `openssl version` failed: {output:?}");
            false
        }
        Err(error) => {
            eprintln!(
                "skipped: cannot run `openssl` ({error}); install OpenSSL 3 to run this test"
            );
            false
        }
    }
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .env(PASSPHRASE_VAR, PASSPHRASE)
        .output()
        .expect("openssl runs")
}

/// Runs openssl and returns its stdout, failing the test with its stderr if it fails.
fn openssl_ok(args: &[&str]) -> String {
    let output = openssl(args);
    assert!(
        output.status.success(),
        "openssl {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).expect("openssl prints PEM text")
}

fn path_str(path: &Path) -> &str {
    path.to_str().expect("temporary paths are UTF-8")
}

/// The public key OpenSSL derives from a private key file.
fn openssl_public_key(key_file: &Path, encrypted: bool) -> PublicKey {
    let passin = format!("env:{PASSPHRASE_VAR}");
    let mut args = vec!["pkey", "-in", path_str(key_file), "-pubout"];
    if encrypted {
        args.extend(["-passin", &passin]);
    }
    let pem = openssl_ok(&args);
    PublicKey::from_public_pem(&pem).expect("openssl writes an ed25519 SPKI PEM")
}

fn restrict(path: &Path) {
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn openssl_reads_a_plain_key_file() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let key = Keypair::generate().unwrap();
    write_key_file(&path, &key, None, IfExists::Refuse).unwrap();

    assert_eq!(openssl_public_key(&path, false), key.public());
    // Byte for byte the SPKI PEM OpenSSL writes.
    let pem = openssl_ok(&["pkey", "-in", path_str(&path), "-pubout"]);
    assert_eq!(pem, key.public().to_public_pem());
}

#[test]
fn openssl_reads_an_encrypted_key_file() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let key = Keypair::generate().unwrap();
    write_key_file(&path, &key, Some(PASSPHRASE), IfExists::Refuse).unwrap();

    assert_eq!(openssl_public_key(&path, true), key.public());
    let wrong = openssl(&[
        "pkey",
        "-in",
        path_str(&path),
        "-pubout",
        "-passin",
        "pass:not the passphrase",
    ]);
    assert!(
        !wrong.status.success(),
        "openssl accepted a wrong passphrase"
    );
}

#[test]
fn qraft_reads_a_key_openssl_generated() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("openssl.key");
    openssl_ok(&["genpkey", "-algorithm", "ed25519", "-out", path_str(&path)]);
    restrict(&path);

    let key = read_key_file(&path, None).unwrap();
    assert_eq!(key.public(), openssl_public_key(&path, false));
}

#[test]
fn qraft_reads_keys_openssl_encrypted() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("openssl.key");
    openssl_ok(&["genpkey", "-algorithm", "ed25519", "-out", path_str(&plain)]);
    let expected = openssl_public_key(&plain, false);
    let passout = format!("env:{PASSPHRASE_VAR}");

    // PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, and PBES2 with scrypt.
    for (name, scheme) in [
        ("pbkdf2", ["-v2", "aes-256-cbc"]),
        ("scrypt", ["-scrypt", "-v2"]),
    ] {
        let encrypted = dir.path().join(format!("openssl-{name}.key"));
        let mut args = vec!["pkcs8", "-topk8", "-in", path_str(&plain)];
        args.extend(["-out", path_str(&encrypted), "-passout", &passout]);
        args.extend(scheme);
        if name == "scrypt" {
            args.push("aes-256-cbc");
        }
        openssl_ok(&args);
        restrict(&encrypted);

        let key =
            read_key_file(&encrypted, Some(PASSPHRASE)).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(key.public(), expected, "{name}");
        let err = read_key_file(&encrypted, Some("not the passphrase")).unwrap_err();
        assert!(
            matches!(err.problem(), KeyError::WrongPassphrase),
            "{name}: {err:?}"
        );
        let err = read_key_file(&encrypted, None).unwrap_err();
        assert!(
            matches!(err.problem(), KeyError::PassphraseRequired),
            "{name}: {err:?}"
        );
    }
}

#[test]
fn openssl_verifies_qraft_signatures() {
    if !have_openssl() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let key = Keypair::generate().unwrap();
    let chain = ChainId([3; 32]);
    let payload = b"buy 10 ACME at 101.25";
    let signature = key.sign(Domain::Transaction, &chain, payload);

    let public = dir.path().join("node.pub");
    let message = dir.path().join("message");
    let signature_file = dir.path().join("signature");
    fs::write(&public, key.public().to_public_pem()).unwrap();
    fs::write(
        &message,
        signing_message(Domain::Transaction, &chain, payload),
    )
    .unwrap();
    fs::write(&signature_file, signature.to_bytes()).unwrap();

    let verify = |message: &Path| {
        openssl(&[
            "pkeyutl",
            "-verify",
            "-pubin",
            "-inkey",
            path_str(&public),
            "-rawin",
            "-in",
            path_str(message),
            "-sigfile",
            path_str(&signature_file),
        ])
    };
    let output = verify(&message);
    assert!(
        output.status.success(),
        "openssl rejected the signature: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let tampered = dir.path().join("tampered");
    fs::write(
        &tampered,
        signing_message(Domain::Transaction, &chain, b"buy 99 ACME"),
    )
    .unwrap();
    assert!(
        !verify(&tampered).status.success(),
        "openssl accepted a tampered message"
    );
}
