//! Errors from key handling.

use std::path::{Path, PathBuf};

/// Everything that can go wrong with keys, key files and signatures.
///
/// Problems with the contents of a key (a wrong passphrase, a key of another algorithm) are
/// reported bare by the functions that parse text ([`Keypair::from_pem`]) and wrapped in
/// [`KeyError::KeyFile`], which names the file, by the functions that read files. Use
/// [`KeyError::problem`] to look through that wrapper.
///
/// [`Keypair::from_pem`]: crate::Keypair::from_pem
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("not a valid ed25519 public key")]
    InvalidPublicKey,
    #[error("weak ed25519 public key (a small-order point): signatures by it prove nothing")]
    WeakPublicKey,
    #[error("signature does not verify")]
    BadSignature,
    #[error("{text:?} is not a QRaft public key: {reason}")]
    BadKeyText { text: String, reason: String },
    #[error("could not get randomness from the operating system: {0}")]
    Randomness(String),

    /// The text is not a PKCS#8 private key in PEM form.
    #[error("not a PEM private key: {detail}")]
    NotPrivateKeyPem { detail: String },
    /// The text is not a SubjectPublicKeyInfo public key in PEM form.
    #[error("not a PEM public key: {detail}")]
    NotPublicKeyPem { detail: String },
    /// The key is passphrase-encrypted and no passphrase was given.
    #[error("key file is encrypted: a passphrase is needed")]
    PassphraseRequired,
    /// The passphrase does not decrypt the key.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// Encryption was asked for with an empty passphrase, which would protect nothing.
    #[error("the passphrase is empty")]
    EmptyPassphrase,
    /// The key is well-formed but for another algorithm.
    #[error("not an ed25519 key (it is {algorithm})")]
    NotEd25519 { algorithm: String },
    /// The key's structure is damaged, or its parts do not fit together.
    #[error("malformed private key: {detail}")]
    MalformedKey { detail: String },
    /// The key is encrypted with a scheme this crate does not implement.
    #[error(
        "the key is encrypted with an unsupported scheme ({scheme}); re-encrypt it with \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc`"
    )]
    UnsupportedEncryption { scheme: String },
    /// Encoding or encrypting a key failed.
    #[error("could not encode the key: {detail}")]
    Encoding { detail: String },

    /// A file operation failed.
    #[error("cannot {action} {path}: {error}")]
    Io {
        path: PathBuf,
        /// What was being done, as a verb phrase: "read", "create", "rename ... to".
        action: &'static str,
        error: std::io::Error,
    },
    /// The file to write already exists and replacing it was not asked for.
    #[error("{path} already exists; refusing to overwrite it")]
    FileExists { path: PathBuf },
    /// A private key file that group or others may access.
    #[error(
        "key file {path} is accessible by group or others (mode {mode:04o}); a private key \
         must be readable by its owner only: run `chmod 600 {}`",
        shell_word(.path)
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    /// A file far larger than any key file.
    #[error("{path} is larger than {limit} bytes: not a key file")]
    FileTooLarge { path: PathBuf, limit: u64 },
    /// A problem with the key inside a file.
    #[error("key file {path}: {problem}")]
    KeyFile {
        path: PathBuf,
        problem: Box<KeyError>,
    },
}

impl KeyError {
    /// The problem itself, without the path of the file it was found in.
    #[must_use]
    pub fn problem(&self) -> &KeyError {
        match self {
            KeyError::KeyFile { problem, .. } => problem,
            other => other,
        }
    }

    /// Names the file this problem was found in.
    pub(crate) fn in_file(self, path: &Path) -> KeyError {
        match self {
            already @ (KeyError::KeyFile { .. }
            | KeyError::Io { .. }
            | KeyError::FileExists { .. }
            | KeyError::InsecurePermissions { .. }
            | KeyError::FileTooLarge { .. }) => already,
            problem => KeyError::KeyFile {
                path: path.to_path_buf(),
                problem: Box::new(problem),
            },
        }
    }
}

/// A path written so that it can be pasted into a POSIX shell as one word.
fn shell_word(path: &Path) -> String {
    let text = path.to_string_lossy();
    let plain = !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-+,:@%=".contains(c));
    if plain {
        text.into_owned()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_word_quotes_only_when_needed() {
        assert_eq!(shell_word(Path::new("/home/a/key.pem")), "/home/a/key.pem");
        assert_eq!(shell_word(Path::new("my key.pem")), "'my key.pem'");
        assert_eq!(shell_word(Path::new("it's.pem")), r"'it'\''s.pem'");
    }

    #[test]
    fn file_problems_name_the_file_once() {
        let err = KeyError::WrongPassphrase.in_file(Path::new("/k/a.pem"));
        assert_eq!(err.to_string(), "key file /k/a.pem: wrong passphrase");
        assert!(matches!(err.problem(), KeyError::WrongPassphrase));
        let again = err.in_file(Path::new("/other"));
        assert_eq!(again.to_string(), "key file /k/a.pem: wrong passphrase");
    }
}
