//! The rustls side: the verifiers that admit a peer's certificate by its key alone, and
//! the TLS 1.3-only client and server configurations they are installed in.

use std::error::Error as StdError;
use std::fmt;
use std::sync::Arc;

use qraft_keys::PublicKey;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls13_signature,
    verify_tls13_signature_with_raw_key,
};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, PeerIncompatible,
    PeerMisbehaved, SignatureScheme,
};

use super::TlsError;
use super::allowlist::Allowlist;
use super::alpn::{Alpn, CLIENT_ALPN, PEER_ALPN, parse_server_name};
use super::identity::{TlsIdentity, certificate_key, ed25519_spki};

/// The crypto provider both sides use: ring.
pub(super) fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Why a verifier refused a certificate: readable, and without rustls's wrapping.
struct Refusal(String);

impl fmt::Debug for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for Refusal {}

/// A certificate refusal as rustls reports it: a `certificate_unknown` alert to the peer,
/// and `reason` in the local error.
pub(super) fn refuse(reason: String) -> rustls::Error {
    rustls::Error::InvalidCertificate(CertificateError::Other(OtherError(Arc::new(Refusal(
        reason,
    )))))
}

/// The key of the peer's single certificate, or a refusal.
fn end_entity_key(
    end_entity: &CertificateDer<'_>,
    intermediates: &[CertificateDer<'_>],
) -> Result<PublicKey, rustls::Error> {
    if !intermediates.is_empty() {
        return Err(refuse(
            "a certificate chain was presented; expected one self-signed certificate".to_string(),
        ));
    }
    certificate_key(end_entity).map_err(|e| refuse(e.to_string()))
}

/// The TLS 1.3 handshake signature, checked twice: against the key this module read from
/// the certificate (the key the allowlist admitted), and by rustls/webpki against the
/// certificate as it reads it. Either failing refuses the handshake, so the signer holds
/// exactly the admitted key's private half.
fn check_tls13_signature(
    message: &[u8],
    cert: &CertificateDer<'_>,
    dss: &DigitallySignedStruct,
    algorithms: &WebPkiSupportedAlgorithms,
) -> Result<HandshakeSignatureValid, rustls::Error> {
    if dss.scheme != SignatureScheme::ED25519 {
        return Err(PeerMisbehaved::SignedHandshakeWithUnadvertisedSigScheme.into());
    }
    let key = certificate_key(cert).map_err(|e| refuse(e.to_string()))?;
    let spki = SubjectPublicKeyInfoDer::from(ed25519_spki(&key));
    verify_tls13_signature_with_raw_key(message, &spki, dss, algorithms)?;
    verify_tls13_signature(message, cert, dss, algorithms)
}

fn no_tls12() -> rustls::Error {
    PeerIncompatible::Tls12NotOffered.into()
}

/// The client's check of a server: its key must be a node's (the expected node's, if the
/// server name names one), and the connection must be on this config's ALPN.
#[derive(Debug)]
struct NodeVerifier {
    allow: Allowlist,
    alpn: Alpn,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for NodeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some((alpn, expect)) = parse_server_name(server_name) else {
            return Err(refuse(format!(
                "server name {server_name:?} is not one tls::connect makes"
            )));
        };
        if alpn != self.alpn {
            return Err(refuse(format!(
                "this endpoint connects as {}, not {} (make one with the right ALPN)",
                self.alpn.label(),
                alpn.label()
            )));
        }
        let key = end_entity_key(end_entity, intermediates)?;
        match (self.allow.node_id(&key), expect) {
            (Some(id), Some(expect)) if id != expect => Err(refuse(format!(
                "the server is node {id} (key {key}), not node {expect}"
            ))),
            (Some(_), _) => Ok(ServerCertVerified::assertion()),
            (None, Some(expect)) => Err(refuse(format!(
                "the server's key {key} is not node {expect}'s, nor any node's of this game"
            ))),
            (None, None) => Err(refuse(format!(
                "the server's key {key} is not a node of this game"
            ))),
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// The server's check of a client: its key must be allowlisted (node or participant). What
/// it may do on its ALPN is decided after the handshake.
#[derive(Debug)]
pub(super) struct AllowlistVerifier {
    pub(super) allow: Allowlist,
    pub(super) algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for AllowlistVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        let key = end_entity_key(end_entity, intermediates)?;
        if self.allow.contains(&key) {
            Ok(ClientCertVerified::assertion())
        } else {
            Err(refuse(self.allow.refusal(&key)))
        }
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(no_tls12())
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        check_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}

/// The rustls configuration of a node's server side: TLS 1.3, ring, mutual TLS against the
/// allowlist, both ALPNs, no session tickets or resumption.
pub fn server_tls_config(
    identity: &TlsIdentity,
    allow: Allowlist,
) -> Result<rustls::ServerConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(AllowlistVerifier {
        allow,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_client_cert_verifier(verifier)
        .with_cert_resolver(identity.certified_key());
    config.alpn_protocols = vec![PEER_ALPN.to_vec(), CLIENT_ALPN.to_vec()];
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.max_early_data_size = 0;
    Ok(config)
}

/// The rustls configuration of a client side that dials nodes on `alpn`: TLS 1.3, ring,
/// this identity as client certificate, servers pinned to node keys, no resumption.
pub fn client_tls_config(
    identity: &TlsIdentity,
    allow: Allowlist,
    alpn: Alpn,
) -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(NodeVerifier {
        allow,
        alpn,
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_client_cert_resolver(identity.certified_key());
    config.alpn_protocols = vec![alpn.as_bytes().to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    config.enable_early_data = false;
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::tls::alpn::server_name;
    use crate::net::tls::test_identity as identity;

    #[test]
    fn verifiers_refuse_chains_and_strangers() {
        let node = identity("node 1");
        let stranger = identity("stranger");
        let allow = Allowlist::new();
        allow.allow_node(1, node.public_key());
        let algorithms = provider().signature_verification_algorithms;
        let server_side = AllowlistVerifier {
            allow: allow.clone(),
            algorithms,
        };
        let client_side = NodeVerifier {
            allow,
            alpn: Alpn::Peer,
            algorithms,
        };
        let now = UnixTime::now();
        let name = ServerName::try_from(server_name(Alpn::Peer, Some(1))).unwrap();
        let chain = [node.cert.clone()];

        assert!(server_side.verify_client_cert(&node.cert, &[], now).is_ok());
        assert!(
            client_side
                .verify_server_cert(&node.cert, &[], &name, &[], now)
                .is_ok()
        );
        let err = server_side
            .verify_client_cert(&node.cert, &chain, now)
            .unwrap_err();
        assert!(err.to_string().contains("certificate chain"), "{err}");
        let err = client_side
            .verify_server_cert(&node.cert, &chain, &name, &[], now)
            .unwrap_err();
        assert!(err.to_string().contains("certificate chain"), "{err}");
        assert!(
            server_side
                .verify_client_cert(&stranger.cert, &[], now)
                .is_err()
        );
        assert!(
            client_side
                .verify_server_cert(&stranger.cert, &[], &name, &[], now)
                .is_err()
        );

        // (TLS 1.2 cannot even be offered: rustls is built without it, and the configs
        // list TLS 1.3 alone; `verify_tls12_signature` refuses regardless.)
        assert_eq!(
            server_side.supported_verify_schemes(),
            [SignatureScheme::ED25519]
        );
        assert_eq!(
            client_side.supported_verify_schemes(),
            [SignatureScheme::ED25519]
        );
    }

    /// A plain (not QUIC) TLS handshake between the two configs, in memory.
    fn handshake(
        client: rustls::ClientConfig,
        name: String,
        server: rustls::ServerConfig,
    ) -> Result<(rustls::ClientConnection, rustls::ServerConnection), rustls::Error> {
        let name = ServerName::try_from(name).unwrap();
        let mut client = rustls::ClientConnection::new(Arc::new(client), name)?;
        let mut server = rustls::ServerConnection::new(Arc::new(server))?;
        for _ in 0..10 {
            let mut buf = Vec::new();
            client.write_tls(&mut buf).unwrap();
            server.read_tls(&mut buf.as_slice()).unwrap();
            server.process_new_packets()?;
            let mut buf = Vec::new();
            server.write_tls(&mut buf).unwrap();
            client.read_tls(&mut buf.as_slice()).unwrap();
            client.process_new_packets()?;
            if !client.is_handshaking() && !server.is_handshaking() {
                return Ok((client, server));
            }
        }
        panic!("handshake did not finish");
    }

    #[test]
    fn only_tls13_with_ed25519_is_negotiated() {
        let server_id = identity("node 1");
        let client_id = identity("player");
        let allow = Allowlist::new();
        allow.allow_node(1, server_id.public_key());
        allow.allow_participant(client_id.public_key());
        let server = server_tls_config(&server_id, allow.clone()).unwrap();
        let client = client_tls_config(&client_id, allow, Alpn::Client).unwrap();
        let name = server_name(Alpn::Client, Some(1));
        let (client, server) = handshake(client, name, server).unwrap();
        assert_eq!(
            client.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        assert_eq!(
            server.protocol_version(),
            Some(rustls::ProtocolVersion::TLSv1_3)
        );
        assert_eq!(client.alpn_protocol(), Some(CLIENT_ALPN));
        let peer = server.peer_certificates().unwrap();
        assert_eq!(certificate_key(&peer[0]).unwrap(), client_id.public_key());
    }

    /// Presents `cert` but signs with `key`: what someone who copied a node's certificate,
    /// but not its private key, can do. (rustls's own builders refuse the mismatch, so the
    /// forgery goes in as a resolver.)
    #[derive(Debug)]
    struct Forged(Arc<rustls::sign::CertifiedKey>);

    impl Forged {
        fn new(cert: &TlsIdentity, key: &TlsIdentity) -> Arc<Forged> {
            let signer: Arc<dyn rustls::sign::SigningKey> = Arc::new(key.signing.clone());
            Arc::new(Forged(Arc::new(rustls::sign::CertifiedKey::new(
                vec![cert.cert.clone()],
                signer,
            ))))
        }
    }

    impl rustls::client::ResolvesClientCert for Forged {
        fn resolve(
            &self,
            _hints: &[&[u8]],
            _schemes: &[SignatureScheme],
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(Arc::clone(&self.0))
        }

        fn has_certs(&self) -> bool {
            true
        }
    }

    impl rustls::server::ResolvesServerCert for Forged {
        fn resolve(
            &self,
            _hello: rustls::server::ClientHello<'_>,
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            Some(Arc::clone(&self.0))
        }
    }

    #[test]
    fn a_copied_certificate_without_its_key_is_refused() {
        let node = identity("node 1");
        let impostor = identity("impostor");
        let allow = Allowlist::new();
        allow.allow_node(1, node.public_key());
        allow.allow_participant(impostor.public_key());
        let forged = Forged::new(&node, &impostor);

        // As a client: the server's verifier refuses the handshake signature.
        let server = server_tls_config(&node, allow.clone()).unwrap();
        let mut client = client_tls_config(&impostor, allow.clone(), Alpn::Peer).unwrap();
        client.client_auth_cert_resolver = forged.clone();
        let err = handshake(client, server_name(Alpn::Peer, None), server).unwrap_err();
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::BadSignature)
        );

        // As a server: the client's verifier refuses it.
        let mut server = server_tls_config(&impostor, allow.clone()).unwrap();
        server.cert_resolver = forged;
        let client = client_tls_config(&impostor, allow.clone(), Alpn::Client).unwrap();
        let err = handshake(client, server_name(Alpn::Client, Some(1)), server).unwrap_err();
        assert_eq!(
            err,
            rustls::Error::InvalidCertificate(CertificateError::BadSignature)
        );

        // The honest pair passes the same path.
        let server = server_tls_config(&node, allow.clone()).unwrap();
        let client = client_tls_config(&impostor, allow, Alpn::Client).unwrap();
        handshake(client, server_name(Alpn::Client, Some(1)), server).unwrap();
    }
}
