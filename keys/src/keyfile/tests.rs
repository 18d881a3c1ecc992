use super::*;
use std::os::unix::fs::PermissionsExt;

/// `openssl genpkey -algorithm x25519`
const X25519_PEM: &str = "-----BEGIN PRIVATE KEY-----
MC4CAQAwBQYDK2VuBCIEIKDJtY6mLbX+y0O15kuCUrgWYi95pcQfqfsiCHJx2slt
-----END PRIVATE KEY-----
";

fn mode_of(path: &Path) -> u32 {
    fs::metadata(path).unwrap().permissions().mode() & 0o7777
}

fn set_mode(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn plain_pem_round_trips() {
    let key = Keypair::from_label("alice");
    let pem = key.to_pem(None).unwrap();
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"), "{}", *pem);
    assert!(!is_encrypted(&pem));
    let back = Keypair::from_pem(&pem, None).unwrap();
    assert_eq!(back.public(), key.public());
    assert_eq!(*back.seed(), *key.seed());
    // A passphrase for a plain key is not needed and does no harm.
    let back = Keypair::from_pem(&pem, Some("unused")).unwrap();
    assert_eq!(back.public(), key.public());
}

#[test]
fn encrypted_pem_round_trips() {
    let key = Keypair::from_label("bob");
    let pem = key.to_pem(Some("correct horse")).unwrap();
    assert!(
        pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"),
        "{}",
        *pem
    );
    assert!(is_encrypted(&pem));
    let back = Keypair::from_pem(&pem, Some("correct horse")).unwrap();
    assert_eq!(*back.seed(), *key.seed());
}

#[test]
fn encrypting_twice_uses_fresh_salt() {
    let key = Keypair::from_label("bob");
    assert_ne!(
        *key.to_pem(Some("pw")).unwrap(),
        *key.to_pem(Some("pw")).unwrap()
    );
}

#[test]
fn wrong_or_missing_passphrase_is_reported() {
    let pem = Keypair::from_label("carol").to_pem(Some("right")).unwrap();
    let err = Keypair::from_pem(&pem, Some("wrong")).unwrap_err();
    assert!(matches!(err, KeyError::WrongPassphrase), "{err:?}");
    assert_eq!(err.to_string(), "wrong passphrase");
    let err = Keypair::from_pem(&pem, None).unwrap_err();
    assert!(matches!(err, KeyError::PassphraseRequired), "{err:?}");
    assert_eq!(
        err.to_string(),
        "key file is encrypted: a passphrase is needed"
    );
}

#[test]
fn empty_passphrase_is_refused_for_encryption() {
    let err = Keypair::from_label("dave").to_pem(Some("")).unwrap_err();
    assert!(matches!(err, KeyError::EmptyPassphrase), "{err:?}");
}

#[test]
fn garbage_is_refused() {
    for text in [
        "",
        "hello",
        "-----BEGIN PRIVATE KEY-----\nnot base64!\n-----END PRIVATE KEY-----\n",
    ] {
        let err = Keypair::from_pem(text, None).unwrap_err();
        assert!(
            matches!(err, KeyError::NotPrivateKeyPem { .. }),
            "{text:?}: {err:?}"
        );
        assert!(
            err.to_string().starts_with("not a PEM private key"),
            "{err}"
        );
    }
    // Base64 of bytes that are not DER.
    let text = "-----BEGIN PRIVATE KEY-----\naGVsbG8gd29ybGQ=\n-----END PRIVATE KEY-----\n";
    let err = Keypair::from_pem(text, None).unwrap_err();
    assert!(matches!(err, KeyError::NotPrivateKeyPem { .. }), "{err:?}");
    // DER (SEQUENCE { INTEGER 5 }) that is not a PrivateKeyInfo.
    let text = "-----BEGIN PRIVATE KEY-----\nMAMCAQU=\n-----END PRIVATE KEY-----\n";
    let err = Keypair::from_pem(text, None).unwrap_err();
    assert!(matches!(err, KeyError::MalformedKey { .. }), "{err:?}");
}

#[test]
fn other_pem_blocks_are_named() {
    let public = Keypair::from_label("erin").public().to_public_pem();
    let err = Keypair::from_pem(&public, None).unwrap_err();
    assert!(matches!(err, KeyError::NotPrivateKeyPem { .. }), "{err:?}");
    assert!(err.to_string().contains("BEGIN PUBLIC KEY"), "{err}");
    let private = Keypair::from_label("erin").to_pem(None).unwrap();
    let err = PublicKey::from_public_pem(&private).unwrap_err();
    assert!(matches!(err, KeyError::NotPublicKeyPem { .. }), "{err:?}");
}

#[test]
fn non_ed25519_key_is_refused() {
    let err = Keypair::from_pem(X25519_PEM, None).unwrap_err();
    assert!(matches!(err, KeyError::NotEd25519 { .. }), "{err:?}");
    assert_eq!(err.to_string(), "not an ed25519 key (it is X25519)");
}

#[test]
fn public_key_not_matching_private_key_is_refused() {
    let key = Keypair::from_label("frank");
    let tampered = KeypairBytes {
        secret_key: *key.seed(),
        public_key: Some(PublicKeyBytes(Keypair::from_label("grace").public().0)),
    };
    let pem = tampered.to_pkcs8_pem(LineEnding::LF).unwrap();
    let err = Keypair::from_pem(&pem, None).unwrap_err();
    assert!(matches!(err, KeyError::MalformedKey { .. }), "{err:?}");
}

#[test]
fn pkcs8_v2_with_public_key_is_read() {
    let key = Keypair::from_label("heidi");
    let pem = key.signing_key().to_pkcs8_pem(LineEnding::LF).unwrap();
    let der = SecretDocument::from_pem(&pem).unwrap().1;
    let info = PrivateKeyInfoRef::try_from(der.as_bytes()).unwrap();
    assert!(info.public_key.is_some(), "ed25519-dalek writes v2");
    assert_eq!(
        Keypair::from_pem(&pem, None).unwrap().public(),
        key.public()
    );
}

#[test]
fn written_key_is_pkcs8_v1() {
    let pem = Keypair::from_label("ivy").to_pem(None).unwrap();
    let der = SecretDocument::from_pem(&pem).unwrap().1;
    let info = PrivateKeyInfoRef::try_from(der.as_bytes()).unwrap();
    assert_eq!(info.version(), pkcs8::Version::V1);
    assert!(info.public_key.is_none());
}

#[test]
fn public_pem_round_trips_and_refuses_weak_keys() {
    let key = Keypair::from_label("ivan").public();
    let pem = key.to_public_pem();
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----\n"), "{pem}");
    assert_eq!(PublicKey::from_public_pem(&pem).unwrap(), key);

    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = PublicKey(identity).to_public_pem();
    let err = PublicKey::from_public_pem(&weak).unwrap_err();
    assert!(matches!(err, KeyError::WeakPublicKey), "{err:?}");
}

#[test]
fn written_file_is_0600_and_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let key = Keypair::from_label("judy");
    write_key_file(&path, &key, None, IfExists::Refuse).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(read_key_file(&path, None).unwrap().public(), key.public());
    assert_eq!(read_public_key_file(&path, None).unwrap(), key.public());

    let encrypted = dir.path().join("node.enc.key");
    write_key_file(&encrypted, &key, Some("s3cret"), IfExists::Refuse).unwrap();
    assert_eq!(mode_of(&encrypted), 0o600);
    assert_eq!(
        read_key_file(&encrypted, Some("s3cret")).unwrap().public(),
        key.public()
    );
}

#[test]
fn existing_file_is_kept_unless_replacing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    let first = Keypair::from_label("first");
    let second = Keypair::from_label("second");
    write_key_file(&path, &first, None, IfExists::Refuse).unwrap();

    let err = write_key_file(&path, &second, None, IfExists::Refuse).unwrap_err();
    assert!(matches!(err, KeyError::FileExists { .. }), "{err:?}");
    assert_eq!(read_key_file(&path, None).unwrap().public(), first.public());

    // Replacing a file that was left world-readable yields a private one.
    set_mode(&path, 0o644);
    write_key_file(&path, &second, None, IfExists::Replace).unwrap();
    assert_eq!(mode_of(&path), 0o600);
    assert_eq!(
        read_key_file(&path, None).unwrap().public(),
        second.public()
    );
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        vec![std::ffi::OsString::from("node.key")],
        "temporary file left behind"
    );
}

#[test]
fn file_readable_by_others_is_refused_with_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.key");
    write_key_file(
        &path,
        &Keypair::from_label("mallory"),
        None,
        IfExists::Refuse,
    )
    .unwrap();
    for mode in [0o640, 0o604, 0o620, 0o644] {
        set_mode(&path, mode);
        let err = read_key_file(&path, None).unwrap_err();
        assert!(
            matches!(err, KeyError::InsecurePermissions { .. }),
            "{err:?}"
        );
        let message = err.to_string();
        assert!(
            message.contains(&format!("chmod 600 {}", path.display())),
            "{message}"
        );
        assert!(message.contains(&format!("{mode:04o}")), "{message}");
        assert!(read_public_key_file(&path, None).is_err());
    }
    set_mode(&path, 0o400);
    read_key_file(&path, None).unwrap();
}

#[test]
fn readable_file_that_is_no_private_key_is_called_that() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.txt");
    fs::write(&path, "shopping list\n").unwrap();
    set_mode(&path, 0o644);
    let err = read_key_file(&path, None).unwrap_err();
    assert!(
        matches!(err.problem(), KeyError::NotPrivateKeyPem { .. }),
        "{err:?}"
    );
}

#[test]
fn public_key_file_of_any_mode_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("node.pub");
    let key = Keypair::from_label("oscar").public();
    fs::write(&path, key.to_public_pem()).unwrap();
    set_mode(&path, 0o644);
    assert_eq!(read_public_key_file(&path, None).unwrap(), key);
}

#[test]
fn file_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.key");
    let err = read_key_file(&missing, None).unwrap_err();
    assert!(matches!(err, KeyError::Io { .. }), "{err:?}");
    assert!(
        err.to_string().contains(&missing.display().to_string()),
        "{err}"
    );

    let path = dir.path().join("node.key");
    write_key_file(
        &path,
        &Keypair::from_label("peggy"),
        Some("pw"),
        IfExists::Refuse,
    )
    .unwrap();
    let err = read_key_file(&path, Some("nope")).unwrap_err();
    assert!(
        matches!(err.problem(), KeyError::WrongPassphrase),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("key file {}: wrong passphrase", path.display())
    );
    let err = read_key_file(&path, None).unwrap_err();
    assert!(
        matches!(err.problem(), KeyError::PassphraseRequired),
        "{err:?}"
    );

    let garbage = dir.path().join("garbage.key");
    fs::write(&garbage, [0xffu8, 0x00, 0x30]).unwrap();
    set_mode(&garbage, 0o600);
    let err = read_key_file(&garbage, None).unwrap_err();
    assert!(
        matches!(err.problem(), KeyError::NotPrivateKeyPem { .. }),
        "{err:?}"
    );
    assert!(
        err.to_string().contains(&garbage.display().to_string()),
        "{err}"
    );

    let err = write_key_file(
        dir.path().join("no/such/dir/k"),
        &Keypair::from_label("x"),
        None,
        IfExists::Refuse,
    )
    .unwrap_err();
    assert!(err.to_string().contains("no/such/dir/k"), "{err}");
}

#[test]
fn huge_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.key");
    fs::write(
        &path,
        vec![b'a'; usize::try_from(MAX_KEY_FILE_BYTES).unwrap() + 1],
    )
    .unwrap();
    set_mode(&path, 0o600);
    let err = read_key_file(&path, None).unwrap_err();
    assert!(matches!(err, KeyError::FileTooLarge { .. }), "{err:?}");
}
