//! PKCS#8 key files.
//!
//! A QRaft key file is what OpenSSL reads and writes for ed25519 (RFC 8410): PEM-armoured
//! PKCS#8, either plain (`-----BEGIN PRIVATE KEY-----`) or passphrase-encrypted
//! (`-----BEGIN ENCRYPTED PRIVATE KEY-----`, PBES2 with scrypt and AES-256-CBC, which
//! OpenSSL 1.1 and later read). `openssl genpkey -algorithm ed25519` makes a key QRaft
//! reads, and `openssl pkey -in FILE -pubout` shows the public key of a QRaft key file.
//!
//! Files are created with mode 0600 from the first byte, written in full and fsynced before
//! they are visible under their name. A private key file that group or others may access
//! is refused, as OpenSSH refuses one.
//!
//! Public keys travel as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), the form
//! `openssl pkey -pubout` writes.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::{ALGORITHM_OID, KeypairBytes, PublicKeyBytes};
use pkcs8::der::pem::{self, LineEnding};
use pkcs8::{
    Document, EncodePrivateKey, EncodePublicKey, EncryptedPrivateKeyInfoRef, ObjectIdentifier,
    PrivateKeyInfoRef, SecretDocument, SubjectPublicKeyInfoRef, pkcs5,
};
use zeroize::Zeroizing;

use crate::error::KeyError;
use crate::identity::{Keypair, PublicKey};

/// The largest file [`read_key_file`] and [`read_public_key_file`] read. An encrypted
/// ed25519 key file is about 300 bytes.
pub const MAX_KEY_FILE_BYTES: u64 = 64 * 1024;

const PRIVATE_KEY_LABEL: &str = "PRIVATE KEY";
const ENCRYPTED_PRIVATE_KEY_LABEL: &str = "ENCRYPTED PRIVATE KEY";
const PUBLIC_KEY_LABEL: &str = "PUBLIC KEY";

/// Mode bits that let anyone but the owner at a file.
const GROUP_OR_OTHER_BITS: u32 = 0o077;

impl Keypair {
    /// The key as a PKCS#8 PEM document: plain without a passphrase, encrypted (PBES2,
    /// scrypt, AES-256-CBC) with one.
    ///
    /// The key is PKCS#8 v1, the seed alone, as OpenSSL writes it: OpenSSL 3.0 cannot read
    /// the v2 form (RFC 5958 `OneAsymmetricKey`) that also carries the public key.
    /// [`Keypair::from_pem`] reads both.
    pub fn to_pem(&self, passphrase: Option<&str>) -> Result<Zeroizing<String>, KeyError> {
        let v1 = KeypairBytes {
            secret_key: *self.seed(),
            public_key: None,
        };
        let pem = match passphrase {
            None => v1.to_pkcs8_pem(LineEnding::LF),
            Some("") => return Err(KeyError::EmptyPassphrase),
            Some(passphrase) => v1.to_pkcs8_encrypted_pem(passphrase, LineEnding::LF),
        };
        pem.map_err(|e| match e {
            pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::Rng) => {
                KeyError::Randomness("no random salt for the key's encryption".to_string())
            }
            other => KeyError::Encoding {
                detail: other.to_string(),
            },
        })
    }

    /// Reads an ed25519 key from PKCS#8 PEM text, decrypting it with `passphrase` if it is
    /// encrypted. A passphrase given for a plain key is not needed and is ignored.
    pub fn from_pem(text: &str, passphrase: Option<&str>) -> Result<Keypair, KeyError> {
        match pem_label(text) {
            Some(PRIVATE_KEY_LABEL) => {
                let (_, der) = SecretDocument::from_pem(text).map_err(|e| damaged_private(&e))?;
                keypair_from_der(der.as_bytes())
            }
            Some(ENCRYPTED_PRIVATE_KEY_LABEL) => {
                let (_, der) = Document::from_pem(text).map_err(|e| damaged_private(&e))?;
                let info = EncryptedPrivateKeyInfoRef::try_from(der.as_bytes()).map_err(|e| {
                    KeyError::MalformedKey {
                        detail: e.to_string(),
                    }
                })?;
                let passphrase = passphrase.ok_or(KeyError::PassphraseRequired)?;
                let plain = info.decrypt(passphrase).map_err(decryption_error)?;
                keypair_from_der(plain.as_bytes())
            }
            Some(other) => Err(KeyError::NotPrivateKeyPem {
                detail: format!(
                    "it holds a \"-----BEGIN {other}-----\" block; expected PKCS#8 \
                     (\"-----BEGIN PRIVATE KEY-----\" or \"-----BEGIN ENCRYPTED PRIVATE \
                     KEY-----\")"
                ),
            }),
            None => Err(KeyError::NotPrivateKeyPem {
                detail: "no \"-----BEGIN PRIVATE KEY-----\" block (PKCS#8, as `openssl \
                         genpkey -algorithm ed25519` writes)"
                    .to_string(),
            }),
        }
    }
}

impl PublicKey {
    /// The key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), as
    /// `openssl pkey -pubout` writes it.
    #[must_use]
    pub fn to_public_pem(&self) -> String {
        PublicKeyBytes(self.0)
            .to_public_key_pem(LineEnding::LF)
            .expect("a 32-byte ed25519 SubjectPublicKeyInfo always encodes")
    }

    /// Reads an ed25519 public key from SubjectPublicKeyInfo PEM, refusing invalid and weak
    /// keys as [`PublicKey::from_bytes`] does.
    pub fn from_public_pem(text: &str) -> Result<PublicKey, KeyError> {
        match pem_label(text) {
            Some(PUBLIC_KEY_LABEL) => {}
            Some(other) => {
                return Err(KeyError::NotPublicKeyPem {
                    detail: format!(
                        "it holds a \"-----BEGIN {other}-----\" block; expected \
                         \"-----BEGIN PUBLIC KEY-----\""
                    ),
                });
            }
            None => {
                return Err(KeyError::NotPublicKeyPem {
                    detail: "no \"-----BEGIN PUBLIC KEY-----\" block".to_string(),
                });
            }
        }
        let damaged = |detail: String| KeyError::NotPublicKeyPem {
            detail: format!("damaged: {detail}"),
        };
        let (_, der) = Document::from_pem(text).map_err(|e| damaged(e.to_string()))?;
        let info = SubjectPublicKeyInfoRef::try_from(der.as_bytes())
            .map_err(|e| damaged(e.to_string()))?;
        if info.algorithm.oid != ALGORITHM_OID {
            return Err(KeyError::NotEd25519 {
                algorithm: algorithm_name(&info.algorithm.oid),
            });
        }
        let bytes = PublicKeyBytes::try_from(info).map_err(|e| damaged(e.to_string()))?;
        PublicKey::from_bytes(bytes.0)
    }
}

/// Whether `text` is an encrypted PKCS#8 key (`-----BEGIN ENCRYPTED PRIVATE KEY-----`), so
/// that reading it needs a passphrase.
#[must_use]
pub fn is_encrypted(text: &str) -> bool {
    pem_label(text) == Some(ENCRYPTED_PRIVATE_KEY_LABEL)
}

/// What [`write_key_file`] does when the file already exists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IfExists {
    /// Leave it alone and fail with [`KeyError::FileExists`].
    Refuse,
    /// Replace it atomically: readers see the old file or the new one, never a mix, and a
    /// crash leaves the old one in place.
    Replace,
}

/// Writes `key` to a new key file at `path` (see [`Keypair::to_pem`] for the format).
///
/// The file is created with mode 0600, so it is never readable by group or others, not even
/// while it is being written; its contents are fsynced, and so is its directory. With
/// [`IfExists::Replace`] the new file is written beside the old one and renamed over it.
pub fn write_key_file(
    path: impl AsRef<Path>,
    key: &Keypair,
    passphrase: Option<&str>,
    if_exists: IfExists,
) -> Result<(), KeyError> {
    let path = path.as_ref();
    let pem = key.to_pem(passphrase).map_err(|e| e.in_file(path))?;
    match if_exists {
        IfExists::Refuse => create_private_file(path, pem.as_bytes())?,
        IfExists::Replace => replace_private_file(path, pem.as_bytes())?,
    }
    sync_directory(parent_directory(path))
}

/// Reads the key file at `path`, decrypting it with `passphrase` if it is encrypted.
///
/// Refuses a private key file that group or others may access
/// ([`KeyError::InsecurePermissions`]): a private key they can read is no longer private.
/// A file that holds no private key at all is reported as such, whatever its mode. Every
/// error names the file.
pub fn read_key_file(
    path: impl AsRef<Path>,
    passphrase: Option<&str>,
) -> Result<Keypair, KeyError> {
    let path = path.as_ref();
    let (bytes, mode) = read_small_file(path)?;
    let text = key_text(&bytes).map_err(|e| e.in_file(path))?;
    private_key_from_file(path, text, mode, passphrase)
}

/// The public key in the file at `path`: either a public key PEM file (any mode) or a
/// private key file, read as [`read_key_file`] reads it (so an encrypted one needs
/// `passphrase`).
pub fn read_public_key_file(
    path: impl AsRef<Path>,
    passphrase: Option<&str>,
) -> Result<PublicKey, KeyError> {
    let path = path.as_ref();
    let (bytes, mode) = read_small_file(path)?;
    let text = key_text(&bytes).map_err(|e| e.in_file(path))?;
    if pem_label(text) == Some(PUBLIC_KEY_LABEL) {
        return PublicKey::from_public_pem(text).map_err(|e| e.in_file(path));
    }
    private_key_from_file(path, text, mode, passphrase).map(|key| key.public())
}

/// Parses the private key read from `path`, after refusing it if the file's `mode` lets
/// others at it.
fn private_key_from_file(
    path: &Path,
    text: &str,
    mode: u32,
    passphrase: Option<&str>,
) -> Result<Keypair, KeyError> {
    if matches!(
        pem_label(text),
        Some(PRIVATE_KEY_LABEL | ENCRYPTED_PRIVATE_KEY_LABEL)
    ) && mode & GROUP_OR_OTHER_BITS != 0
    {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode,
        });
    }
    Keypair::from_pem(text, passphrase).map_err(|e| e.in_file(path))
}

/// The label of the first PEM block in `text` ("PRIVATE KEY" for `-----BEGIN PRIVATE
/// KEY-----`), if it has one. Text before the block is allowed, as OpenSSL allows it.
fn pem_label(text: &str) -> Option<&str> {
    pem::decode_label(text.as_bytes()).ok()
}

fn damaged_private(error: &pkcs8::der::Error) -> KeyError {
    KeyError::NotPrivateKeyPem {
        detail: format!("the PEM block is damaged: {error}"),
    }
}

fn decryption_error(error: pkcs8::Error) -> KeyError {
    match error {
        // A wrong key fails the CBC padding check, or, rarely, passes it and yields bytes
        // that are not DER.
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::DecryptFailed) | pkcs8::Error::Asn1(_) => {
            KeyError::WrongPassphrase
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::UnsupportedAlgorithm { oid }) => {
            KeyError::UnsupportedEncryption {
                scheme: scheme_name(&oid),
            }
        }
        pkcs8::Error::EncryptedPrivateKey(pkcs5::Error::NoPbes1CryptSupport) => {
            KeyError::UnsupportedEncryption {
                scheme: "PKCS#5 v1.5 (PBES1)".to_string(),
            }
        }
        other => KeyError::MalformedKey {
            detail: other.to_string(),
        },
    }
}

/// Decodes an ed25519 PKCS#8 `PrivateKeyInfo`, checking the public key it may carry.
fn keypair_from_der(der: &[u8]) -> Result<Keypair, KeyError> {
    let malformed = |e: pkcs8::Error| KeyError::MalformedKey {
        detail: e.to_string(),
    };
    let info = PrivateKeyInfoRef::try_from(der).map_err(malformed)?;
    if info.algorithm.oid != ALGORITHM_OID {
        return Err(KeyError::NotEd25519 {
            algorithm: algorithm_name(&info.algorithm.oid),
        });
    }
    let bytes = KeypairBytes::try_from(info).map_err(malformed)?;
    let signing = SigningKey::from_bytes(&bytes.secret_key);
    if let Some(public) = &bytes.public_key
        && public.0 != signing.verifying_key().to_bytes()
    {
        return Err(KeyError::MalformedKey {
            detail: "the public key it holds does not belong to its private key".to_string(),
        });
    }
    Ok(Keypair::from_signing_key(signing))
}

fn algorithm_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.1.1.1" => "RSA",
        "1.2.840.113549.1.1.10" => "RSA-PSS",
        "1.2.840.10045.2.1" => "ECDSA",
        "1.2.840.10040.4.1" => "DSA",
        "1.3.101.110" => "X25519",
        "1.3.101.111" => "X448",
        "1.3.101.113" => "Ed448",
        other => return format!("algorithm {other}"),
    };
    name.to_string()
}

fn scheme_name(oid: &ObjectIdentifier) -> String {
    let name = match oid.to_string().as_str() {
        "1.2.840.113549.2.7" => "PBKDF2 with HMAC-SHA1",
        "1.2.840.113549.3.7" => "DES-EDE3-CBC",
        "1.3.14.3.2.7" => "DES-CBC",
        other => return format!("algorithm {other}"),
    };
    name.to_string()
}

/// The file's bytes as text; a binary (DER) key gets a hint how to convert it.
fn key_text(bytes: &[u8]) -> Result<&str, KeyError> {
    std::str::from_utf8(bytes).map_err(|_| KeyError::NotPrivateKeyPem {
        detail: "the file is not text; a DER key converts to PEM with `openssl pkey -inform \
                 DER -in FILE -out key.pem`"
            .to_string(),
    })
}

/// Reads a file of at most [`MAX_KEY_FILE_BYTES`] into memory that is zeroed when dropped,
/// and its permission bits, taken from the open file so that both describe the same file.
fn read_small_file(path: &Path) -> Result<(Zeroizing<Vec<u8>>, u32), KeyError> {
    let io_error = |action| {
        move |error| KeyError::Io {
            path: path.to_path_buf(),
            action,
            error,
        }
    };
    let file = File::open(path).map_err(io_error("open"))?;
    let mode = file.metadata().map_err(io_error("inspect"))?.mode() & 0o7777;
    let limit = usize::try_from(MAX_KEY_FILE_BYTES).expect("64 KiB fits in usize");
    // Room for the limit and one byte more, so the buffer never reallocates and leaves a
    // stray copy of a secret behind.
    let mut bytes = Zeroizing::new(Vec::with_capacity(limit + 1));
    file.take(MAX_KEY_FILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io_error("read"))?;
    if bytes.len() > limit {
        return Err(KeyError::FileTooLarge {
            path: path.to_path_buf(),
            limit: MAX_KEY_FILE_BYTES,
        });
    }
    Ok((bytes, mode))
}

/// Creates `path` (it must not exist) with mode 0600 and writes and fsyncs `contents`. On
/// failure nothing is left behind.
fn create_private_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| match error.kind() {
            io::ErrorKind::AlreadyExists => KeyError::FileExists {
                path: path.to_path_buf(),
            },
            _ => KeyError::Io {
                path: path.to_path_buf(),
                action: "create",
                error,
            },
        })?;
    if let Err(error) = file.write_all(contents).and_then(|()| file.sync_all()) {
        drop(file);
        // Best effort: the write error is the one to report.
        let _ = fs::remove_file(path);
        return Err(KeyError::Io {
            path: path.to_path_buf(),
            action: "write",
            error,
        });
    }
    Ok(())
}

/// Writes `contents` to a fresh file beside `path` and renames it over `path`.
fn replace_private_file(path: &Path, contents: &[u8]) -> Result<(), KeyError> {
    let name = path.file_name().ok_or_else(|| KeyError::Io {
        path: path.to_path_buf(),
        action: "write",
        error: io::Error::new(io::ErrorKind::InvalidInput, "not a file name"),
    })?;
    let mut suffix = [0u8; 8];
    getrandom::fill(&mut suffix).map_err(|e| KeyError::Randomness(e.to_string()))?;
    let suffix = hex::encode(suffix);
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{suffix}.tmp"));
    let temporary: PathBuf = parent_directory(path).join(temporary_name);

    create_private_file(&temporary, contents)?;
    fs::rename(&temporary, path).map_err(|error| {
        // Best effort: the rename error is the one to report.
        let _ = fs::remove_file(&temporary);
        KeyError::Io {
            path: path.to_path_buf(),
            action: "replace",
            error,
        }
    })
}

fn parent_directory(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

/// Makes a new directory entry durable.
fn sync_directory(directory: &Path) -> Result<(), KeyError> {
    File::open(directory)
        .and_then(|dir| dir.sync_all())
        .map_err(|error| KeyError::Io {
            path: directory.to_path_buf(),
            action: "sync directory",
            error,
        })
}

#[cfg(test)]
mod tests;
