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
/// The certificate is walked structurally (Certificate, then tbsCertificate, then its
/// fields up to subjectPublicKeyInfo), never searched for the key's byte pattern: a
/// pattern search could be fooled by another key's bytes placed in a name or extension.
pub fn certificate_key(cert: &[u8]) -> Result<PublicKey, TlsError> {
    let bad = |what: &str| TlsError::BadCertificate(what.to_string());
    let certificate = Tlv::read(cert).ok_or_else(|| bad("not DER"))?;
    if certificate.tag != 0x30 || !certificate.rest.is_empty() {
        return Err(bad("not one DER SEQUENCE"));
    }
    let tbs = Tlv::read(certificate.content).ok_or_else(|| bad("no tbsCertificate"))?;
    if tbs.tag != 0x30 {
        return Err(bad("no tbsCertificate"));
    }
    let mut fields = tbs.content;
    // version [0] EXPLICIT, optional.
    if let Some(version) = Tlv::read(fields)
        && version.tag == 0xa0
    {
        fields = version.rest;
    }
    // serialNumber, signature, issuer, validity, subject.
    for (expected, name) in [
        (0x02, "serialNumber"),
        (0x30, "signature"),
        (0x30, "issuer"),
        (0x30, "validity"),
        (0x30, "subject"),
    ] {
        match Tlv::read(fields) {
            Some(field) if field.tag == expected => fields = field.rest,
            _ => return Err(bad(&format!("malformed {name}"))),
        }
    }
    let spki = Tlv::read(fields).ok_or_else(|| bad("no subjectPublicKeyInfo"))?;
    let key = match spki.whole.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
        Some(key) if spki.tag == 0x30 => key,
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

/// One DER element. Only low tag numbers and definite, minimally encoded lengths: DER.
struct Tlv<'a> {
    tag: u8,
    /// The whole element, header included.
    whole: &'a [u8],
    content: &'a [u8],
    /// What follows the element.
    rest: &'a [u8],
}

impl<'a> Tlv<'a> {
    /// The element at the start of `input`, if it is one.
    fn read(input: &'a [u8]) -> Option<Tlv<'a>> {
        let (&tag, after_tag) = input.split_first()?;
        if tag & 0x1f == 0x1f {
            return None;
        }
        let (&first, after_first) = after_tag.split_first()?;
        let (len, after_len) = if first < 0x80 {
            (usize::from(first), after_first)
        } else {
            let count = usize::from(first & 0x7f);
            if count == 0 || count > 4 || after_first.len() < count || after_first[0] == 0 {
                return None;
            }
            let len = after_first[..count]
                .iter()
                .fold(0usize, |len, &b| (len << 8) | usize::from(b));
            if len < 0x80 {
                return None;
            }
            (len, &after_first[count..])
        };
        if after_len.len() < len {
            return None;
        }
        let header = input.len() - after_len.len();
        Some(Tlv {
            tag,
            whole: &input[..header + len],
            content: &after_len[..len],
            rest: &after_len[len..],
        })
    }
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
        assert_eq!(found, 1, "the SPKI appears once, where the walk found it");
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

    #[test]
    fn der_lengths_must_be_minimal_and_definite() {
        assert_eq!(Tlv::read(&[0x04, 0x01, 0xaa]).unwrap().content, &[0xaa]);
        assert!(Tlv::read(&[0x04, 0x80]).is_none(), "indefinite");
        assert!(
            Tlv::read(&[0x04, 0x81, 0x01, 0xaa]).is_none(),
            "long form for 1"
        );
        assert!(
            Tlv::read(&[0x04, 0x82, 0x00, 0x81]).is_none(),
            "leading zero"
        );
        assert!(Tlv::read(&[0x04, 0x02, 0xaa]).is_none(), "short input");
        let mut long = vec![0x04, 0x81, 0x80];
        long.extend([0u8; 0x80]);
        assert_eq!(Tlv::read(&long).unwrap().content.len(), 0x80);
    }
}
