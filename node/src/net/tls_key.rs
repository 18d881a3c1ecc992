//! This side's ed25519 key as rustls and rcgen sign with it, with no plain copy of the
//! secret left behind.
//!
//! rustls's own key loading wants the secret in PKCS#8, which it copies and frees without
//! zeroizing. [`TlsSigningKey`] instead holds an `ed25519_dalek::SigningKey` (zeroized on
//! drop) and signs TLS 1.3 handshakes and the self-signed certificate itself. Ed25519
//! (RFC 8032) is deterministic, so its signatures are byte for byte what ring produced.

use std::fmt;
use std::sync::Arc;

use ed25519_dalek::Signer as _;
use qraft_keys::{Keypair, PublicKey};
use rustls::pki_types::SubjectPublicKeyInfoDer;
use rustls::sign::{Signer, SigningKey};
use rustls::{SignatureAlgorithm, SignatureScheme};

/// An ed25519 signing key for TLS: what rustls and rcgen sign with. Cloning shares it.
#[derive(Clone)]
pub struct TlsSigningKey {
    secret: Arc<ed25519_dalek::SigningKey>,
    public: PublicKey,
    /// The key's SubjectPublicKeyInfo, DER (RFC 8410).
    spki: Vec<u8>,
}

impl TlsSigningKey {
    pub fn new(keypair: &Keypair) -> TlsSigningKey {
        let secret = ed25519_dalek::SigningKey::from_bytes(&keypair.seed());
        let public = keypair.public();
        TlsSigningKey {
            secret: Arc::new(secret),
            public,
            spki: super::tls::ed25519_spki(&public),
        }
    }

    pub fn public_key(&self) -> PublicKey {
        self.public
    }

    /// The RFC 8032 signature of `message`.
    fn sign_bytes(&self, message: &[u8]) -> Vec<u8> {
        self.secret.sign(message).to_bytes().to_vec()
    }
}

impl fmt::Debug for TlsSigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsSigningKey({}, secret hidden)", self.public)
    }
}

impl SigningKey for TlsSigningKey {
    fn choose_scheme(&self, offered: &[SignatureScheme]) -> Option<Box<dyn Signer>> {
        offered
            .contains(&SignatureScheme::ED25519)
            .then(|| Box::new(self.clone()) as Box<dyn Signer>)
    }

    fn public_key(&self) -> Option<SubjectPublicKeyInfoDer<'_>> {
        Some(SubjectPublicKeyInfoDer::from(self.spki.as_slice()))
    }

    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::ED25519
    }
}

impl Signer for TlsSigningKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rustls::Error> {
        Ok(self.sign_bytes(message))
    }

    fn scheme(&self) -> SignatureScheme {
        SignatureScheme::ED25519
    }
}

impl rcgen::PublicKeyData for TlsSigningKey {
    fn der_bytes(&self) -> &[u8] {
        self.public.as_bytes()
    }

    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

impl rcgen::SigningKey for TlsSigningKey {
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, rcgen::Error> {
        Ok(self.sign_bytes(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};

    /// The ring signer rustls made from the same key in PKCS#8: what signed before.
    fn ring_signer(keypair: &Keypair) -> Arc<dyn SigningKey> {
        let mut pkcs8 = vec![
            0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22,
            0x04, 0x20,
        ];
        pkcs8.extend_from_slice(keypair.seed().as_slice());
        let der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(pkcs8));
        rustls::crypto::ring::sign::any_supported_type(&der).unwrap()
    }

    #[test]
    fn signatures_are_byte_identical_to_rings() {
        let keypair = Keypair::from_label("tls key test");
        let ours = TlsSigningKey::new(&keypair);
        let ring = ring_signer(&keypair);
        assert_eq!(SigningKey::algorithm(&ours), ring.algorithm());
        assert_eq!(
            SigningKey::public_key(&ours).unwrap().as_ref(),
            ring.public_key().unwrap().as_ref()
        );
        let offered = [
            SignatureScheme::ECDSA_NISTP256_SHA256,
            SignatureScheme::ED25519,
        ];
        let ours = ours.choose_scheme(&offered).unwrap();
        let ring = ring.choose_scheme(&offered).unwrap();
        assert_eq!(ours.scheme(), SignatureScheme::ED25519);
        for message in [&b""[..], b"TLS 1.3, server CertificateVerify", &[7u8; 300]] {
            assert_eq!(ours.sign(message).unwrap(), ring.sign(message).unwrap());
        }
    }

    #[test]
    fn only_ed25519_is_offered() {
        let ours = TlsSigningKey::new(&Keypair::from_label("tls key test"));
        assert!(
            ours.choose_scheme(&[SignatureScheme::RSA_PSS_SHA256])
                .is_none()
        );
        assert!(format!("{ours:?}").contains("secret hidden"));
    }
}
