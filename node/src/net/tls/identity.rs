//! This side's certificate identity, and the key read back from a peer's certificate.
//!
//! A [`TlsIdentity`] is a self-signed X.509 certificate over the node's or participant's
//! own ed25519 key. Of a peer's certificate only the key is trusted
//! ([`certificate_key`]): names, dates, issuer, extensions and the certificate's own
//! signature mean nothing, since the key is pinned by the allowlist.

use std::fmt;
use std::sync::Arc;

use qraft_keys::{Keypair, PublicKey};
use rustls::pki_types::CertificateDer;
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use x509_cert::Certificate;
use x509_cert::der::Decode;
use x509_cert::der::oid::db::rfc8410::ID_ED_25519;

use super::TlsError;
use crate::net::reset_key::StatelessResetKey;
use crate::net::tls_key::TlsSigningKey;

/// The name in every certificate. Certificates are pinned by key: names mean nothing.
const CERT_NAME: &str = "qraft.node";

/// The DER encoding of an ed25519 SubjectPublicKeyInfo (RFC 8410) up to the key:
/// `SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) 32 bytes }`.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// This node's or participant's TLS identity: a self-signed X.509 certificate over its
/// own ed25519 key, and that key as rustls signs with it ([`TlsSigningKey`]: no plain
/// copy of the secret, which is zeroized when the last connection config using it goes).
pub struct TlsIdentity {
    key: PublicKey,
    pub(super) cert: CertificateDer<'static>,
    pub(super) signing: TlsSigningKey,
    pub(super) reset_key: Arc<StatelessResetKey>,
}

impl TlsIdentity {
    /// Makes the certificate for `keypair`. Its names and dates are placeholders (the key is
    /// all that counts); it is valid from 1975 to 4096, so clocks never matter.
    pub fn from_keypair(keypair: &Keypair) -> Result<TlsIdentity, TlsError> {
        let signing = TlsSigningKey::new(keypair);
        let certificate = {
            let mut params = rcgen::CertificateParams::new(vec![CERT_NAME.to_string()])
                .map_err(|e| TlsError::Certificate(e.to_string()))?;
            params.distinguished_name = rcgen::DistinguishedName::new();
            params.distinguished_name.push(
                rcgen::DnType::CommonName,
                format!("qraft {}", keypair.public()),
            );
            params
                .self_signed(&signing)
                .map_err(|e| TlsError::Certificate(e.to_string()))?
        };
        let cert = certificate.der().clone();
        let key = certificate_key(&cert)?;
        if key != keypair.public() {
            return Err(TlsError::Certificate(
                "the certificate does not carry the key it was made from".to_string(),
            ));
        }
        Ok(TlsIdentity {
            key,
            cert,
            signing,
            reset_key: Arc::new(StatelessResetKey::derive(keypair)),
        })
    }

    /// The identity's ed25519 public key: what allowlists name.
    pub fn public_key(&self) -> PublicKey {
        self.key
    }

    /// The self-signed certificate, DER.
    pub fn certificate(&self) -> &CertificateDer<'static> {
        &self.cert
    }

    /// The certificate and its signing key, as rustls's certificate resolvers hand them out.
    pub(super) fn certified_key(&self) -> Arc<SingleCertAndKey> {
        let signing: Arc<dyn rustls::sign::SigningKey> = Arc::new(self.signing.clone());
        Arc::new(SingleCertAndKey::from(CertifiedKey::new(
            vec![self.cert.clone()],
            signing,
        )))
    }
}

impl fmt::Debug for TlsIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TlsIdentity({}, secret hidden)", self.key)
    }
}

/// The ed25519 public key of a DER certificate: the one field of it that is trusted.
///
/// The certificate is decoded as a whole by `x509-cert`, strictly as DER (definite,
/// minimal lengths; nothing after the certificate), and the key taken from its
/// subjectPublicKeyInfo field, never searched for by its byte pattern: a pattern search
/// could be fooled by another key's bytes placed in a name or extension. The key must be
/// ed25519 exactly: its algorithm's OID 1.3.101.112 without parameters, and a bit string
/// of 32 bytes with no unused bits.
pub fn certificate_key(cert: &[u8]) -> Result<PublicKey, TlsError> {
    let bad = |what: &str| TlsError::BadCertificate(what.to_string());
    let certificate = Certificate::from_der(cert)
        .map_err(|e| TlsError::BadCertificate(format!("not one DER certificate: {e}")))?;
    let spki = certificate.tbs_certificate().subject_public_key_info();
    let key = match spki.subject_public_key.as_bytes() {
        Some(key) if spki.algorithm.oid == ID_ED_25519 && spki.algorithm.parameters.is_none() => {
            key
        }
        _ => return Err(bad("its key is not ed25519")),
    };
    let bytes: [u8; 32] = key.try_into().map_err(|_| bad("its key is not ed25519"))?;
    PublicKey::from_bytes(bytes).map_err(|e| TlsError::BadCertificate(e.to_string()))
}

/// The SubjectPublicKeyInfo DER of an ed25519 key.
pub(in crate::net) fn ed25519_spki(key: &PublicKey) -> Vec<u8> {
    let mut spki = Vec::with_capacity(ED25519_SPKI_PREFIX.len() + 32);
    spki.extend_from_slice(&ED25519_SPKI_PREFIX);
    spki.extend_from_slice(key.as_bytes());
    spki
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tls::test_identity as identity;

    #[test]
    fn certificate_carries_the_key() {
        let keypair = Keypair::from_label("node 1");
        let identity = TlsIdentity::from_keypair(&keypair).unwrap();
        assert_eq!(identity.public_key(), keypair.public());
        assert_eq!(
            certificate_key(identity.certificate()).unwrap(),
            keypair.public()
        );
        let spki = ed25519_spki(&keypair.public());
        let found = identity
            .certificate()
            .windows(spki.len())
            .filter(|w| *w == spki.as_slice())
            .count();
        assert_eq!(
            found, 1,
            "the SPKI appears once, where the decoder found it"
        );
        assert!(format!("{identity:?}").contains("secret hidden"));
    }

    #[test]
    fn certificate_parsing_refuses_damage() {
        let cert = identity("node 1").certificate().to_vec();
        assert!(certificate_key(&[]).is_err());
        assert!(certificate_key(&cert[..cert.len() - 1]).is_err());
        let mut trailing = cert.clone();
        trailing.push(0);
        assert!(certificate_key(&trailing).is_err());
        // Every truncation and every single-byte change either fails or yields some key;
        // none panics.
        for len in 0..cert.len() {
            let _ = certificate_key(&cert[..len]);
        }
        for i in 0..cert.len() {
            let mut changed = cert.clone();
            changed[i] ^= 0xff;
            let _ = certificate_key(&changed);
        }
    }

    /// A DER element: `tag`, the length octets as given (minimal or not), `content`.
    fn element(tag: u8, length: &[u8], content: &[u8]) -> Vec<u8> {
        [&[tag][..], length, content].concat()
    }

    /// The minimal (DER) length octets of `len`.
    fn minimal(len: usize) -> Vec<u8> {
        match len {
            0..0x80 => vec![len as u8],
            0x80..0x100 => vec![0x81, len as u8],
            _ => [&[0x82][..], &u16::try_from(len).unwrap().to_be_bytes()].concat(),
        }
    }

    /// The content of the element at the start of `der`, and what follows it.
    fn split(der: &[u8]) -> (&[u8], &[u8]) {
        let (len, header) = match der[1] {
            short @ 0..=0x7f => (usize::from(short), 2),
            0x81 => (usize::from(der[2]), 3),
            0x82 => (usize::from(u16::from_be_bytes([der[2], der[3]])), 4),
            other => panic!("length octet {other:#x}"),
        };
        (&der[header..header + len], &der[header + len..])
    }

    #[test]
    fn der_lengths_must_be_minimal_and_definite() {
        let cert = identity("node 1").certificate().to_vec();
        let refused = |der: Vec<u8>, what: &str| {
            assert!(certificate_key(&der).is_err(), "{what}");
        };
        let (content, after) = split(&cert);
        assert!(after.is_empty());
        assert_eq!(element(0x30, &minimal(content.len()), content), cert);
        assert!(content.len() >= 0x80, "the long form, minimal, is accepted");

        refused(
            element(0x30, &[0x80], &[content, &[0, 0]].concat()),
            "indefinite",
        );
        let len = u16::try_from(content.len()).unwrap().to_be_bytes();
        refused(
            element(0x30, &[0x83, 0x00, len[0], len[1]], content),
            "leading zero",
        );
        refused(
            element(0x30, &minimal(content.len() + 1), content),
            "short input",
        );

        // tbsCertificate starts with its version, `[0] { INTEGER 2 }`: length 3, in the
        // long form, is refused.
        let (tbs, signature) = split(content);
        assert_eq!(tbs[..5], [0xa0, 0x03, 0x02, 0x01, 0x02]);
        let with_version_length = |octets: &[u8]| {
            let tbs = element(0xa0, octets, &tbs[2..]);
            let content = [element(0x30, &minimal(tbs.len()), &tbs), signature.to_vec()].concat();
            element(0x30, &minimal(content.len()), &content)
        };
        assert_eq!(with_version_length(&[0x03]), cert);
        certificate_key(&with_version_length(&[0x03])).unwrap();
        refused(with_version_length(&[0x81, 0x03]), "long form for 3");
    }
}
