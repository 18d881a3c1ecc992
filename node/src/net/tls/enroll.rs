//! The TLS of the enrollment channel: the one place a node talks to keys it does not
//! know. The teacher's enrollment endpoint asks for no client certificate and speaks only
//! [`ENROLL_ALPN`]; a student accepts whatever certificate the teacher's endpoint shows.
//!
//! Why that is safe: the enrollment protocol ([`crate::enroll`]) authenticates both sides
//! by the join code (SPAKE2 with key confirmation) and seals what matters (the student's
//! request, the teacher's grant) under keys only the two code holders derive. TLS here
//! only hides the exchange from eavesdroppers and gives QUIC its handshake; a fake
//! teacher's certificate gets it nothing, since it cannot confirm the code. The channel
//! is a separate endpoint on a separate port, so an unknown key reaches nothing else: the
//! node's own endpoint still refuses it in the handshake.

use std::sync::Arc;

use rustls::DigitallySignedStruct;
use rustls::SignatureScheme;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::TlsError;
use super::identity::TlsIdentity;
use super::verify::provider;

/// The ALPN of the enrollment channel: a student's laptop asking to join by code.
pub const ENROLL_ALPN: &[u8] = b"qraft-enroll/1";

/// The rustls configuration of the teacher's enrollment endpoint: TLS 1.3, ring, this
/// identity's certificate, no client certificate asked, [`ENROLL_ALPN`] only, no
/// resumption or early data.
pub fn enroll_server_tls_config(identity: &TlsIdentity) -> Result<rustls::ServerConfig, TlsError> {
    let mut config = rustls::ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .with_no_client_auth()
        .with_cert_resolver(identity.certified_key());
    config.alpn_protocols = vec![ENROLL_ALPN.to_vec()];
    config.session_storage = Arc::new(rustls::server::NoServerSessionStorage {});
    config.send_tls13_tickets = 0;
    config.max_early_data_size = 0;
    Ok(config)
}

/// The rustls configuration of a student dialling an enrollment endpoint: TLS 1.3, ring,
/// no client certificate, [`ENROLL_ALPN`], any server certificate whose handshake
/// signature checks out (the join code, not the certificate, proves the teacher: see the
/// module docs).
pub fn enroll_client_tls_config() -> Result<rustls::ClientConfig, TlsError> {
    let provider = provider();
    let verifier = Arc::new(CodeProvesTheTeacher {
        algorithms: provider.signature_verification_algorithms,
    });
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|e| TlsError::Config(e.to_string()))?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    config.alpn_protocols = vec![ENROLL_ALPN.to_vec()];
    config.resumption = rustls::client::Resumption::disabled();
    config.enable_early_data = false;
    Ok(config)
}

/// Accepts any certificate as the teacher's, but still checks that the server holds its
/// key (the handshake signature): what authenticates the teacher is the join code.
#[derive(Debug)]
struct CodeProvesTheTeacher {
    algorithms: WebPkiSupportedAlgorithms,
}

impl ServerCertVerifier for CodeProvesTheTeacher {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("TLS 1.2 is not spoken here".into()))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        vec![SignatureScheme::ED25519]
    }
}
