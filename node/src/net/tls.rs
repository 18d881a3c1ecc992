//! TLS identities, admission, and the QUIC endpoints built on them.
//!
//! Every node and participant presents a self-signed X.509 certificate made from its own
//! ed25519 key ([`TlsIdentity`]). Nothing in a certificate is trusted but its public key:
//! names, dates, issuer, extensions and the certificate's own signature are ignored,
//! because the key itself is pinned by the game's [`Allowlist`]. The TLS 1.3 handshake
//! signature is still verified against that key, so a peer proves it holds the private
//! key; a copied certificate is worthless.
//!
//! - A server (a node, [`server_endpoint`]) accepts a client certificate whose key is any
//!   allowlisted key (a node or a participant); what the connection may do is then
//!   decided by its ALPN in [`identify`]: [`PEER_ALPN`] for nodes only, [`CLIENT_ALPN`]
//!   for participants (and node keys used by a node's own tools).
//! - A client ([`connect`]) accepts a server certificate only if its key is a node's key,
//!   and, when it dials a particular node, that node's key.
//!
//! Only TLS 1.3 (QUIC needs nothing else, and the `rustls` build has no TLS 1.2), only
//! ed25519 signatures, a single certificate (no chain) and no session resumption: a
//! resumed session would skip the certificate check.
//!
//! quinn hands a client-side verifier nothing per connection but the server name, so
//! [`connect`] encodes what it asks for (the ALPN, and the node it expects) in the name
//! it sends (`node-2.peer.qraft`, `any.client.qraft`); the endpoint's verifier reads it
//! back. The ALPN itself is fixed per endpoint: [`server_endpoint`] dials as a peer,
//! [`client_endpoint`] as a client ([`client_config`] makes others).

use std::collections::{HashMap, HashSet};
use std::error::Error as StdError;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{Arc, PoisonError, RwLock};
use std::time::Duration;

use qraft_keys::{Keypair, PublicKey};
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{
    CryptoProvider, WebPkiSupportedAlgorithms, verify_tls13_signature,
    verify_tls13_signature_with_raw_key,
};
use rustls::pki_types::{CertificateDer, ServerName, SubjectPublicKeyInfoDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::sign::{CertifiedKey, SingleCertAndKey};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, OtherError, PeerIncompatible,
    PeerMisbehaved, SignatureScheme,
};

use crate::core::genesis::Genesis;
use crate::core::types::NodeId;

use super::reset_key::StatelessResetKey;
use super::tls_key::TlsSigningKey;

/// The ALPN of node-to-node connections: Raft messages, forwarding, snapshots.
pub const PEER_ALPN: &[u8] = b"qraft-peer/1";
/// The ALPN of client connections (TUI, CLI, bots): submit, query, subscribe.
pub const CLIENT_ALPN: &[u8] = b"qraft-client/1";

/// The name in every certificate. Certificates are pinned by key: names mean nothing.
const CERT_NAME: &str = "qraft.node";

/// The DER encoding of an ed25519 SubjectPublicKeyInfo (RFC 8410) up to the key:
/// `SEQUENCE { SEQUENCE { OID 1.3.101.112 }, BIT STRING (0 unused bits) 32 bytes }`.
const ED25519_SPKI_PREFIX: [u8; 12] = [
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// Everything that can go wrong making identities and endpoints, connecting, and admitting.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Making this side's certificate failed.
    #[error("cannot make a TLS certificate from the key: {0}")]
    Certificate(String),
    /// A certificate that is not one self-signed ed25519 certificate in DER.
    #[error("bad certificate: {0}")]
    BadCertificate(String),
    /// Building the rustls or quinn configuration failed.
    #[error("TLS configuration: {0}")]
    Config(String),
    /// The UDP socket could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    /// quinn refused to start the connection (bad address, endpoint stopping, ...).
    #[error("cannot connect to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: quinn::ConnectError,
    },
    /// The other side refused this one: its TLS alert, or its application close reason.
    #[error("refused by {addr}: {reason}")]
    Refused { addr: SocketAddr, reason: String },
    /// This side refused the other one: its key is not allowed, or not allowed for this.
    #[error("rejected {addr}: {reason}")]
    Rejected { addr: SocketAddr, reason: String },
    /// The handshake did not finish in time.
    #[error("no handshake with {addr} within {after:?}")]
    Timeout { addr: SocketAddr, after: Duration },
    /// The connection failed for another reason (lost, reset, closed).
    #[error("connection with {addr}: {source}")]
    Connection {
        addr: SocketAddr,
        #[source]
        source: quinn::ConnectionError,
    },
}

/// This node's or participant's TLS identity: a self-signed X.509 certificate over its
/// own ed25519 key, and that key as rustls signs with it ([`TlsSigningKey`]: no plain
/// copy of the secret, which is zeroized when the last connection config using it goes).
pub struct TlsIdentity {
    key: PublicKey,
    cert: CertificateDer<'static>,
    signing: TlsSigningKey,
    reset_key: Arc<StatelessResetKey>,
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
    fn certified_key(&self) -> Arc<SingleCertAndKey> {
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

/// What an allowlisted key is admitted as on one connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Admitted {
    /// A node (voter or learner) with this Raft id.
    Node(NodeId),
    /// A participant of the game.
    Participant,
}

/// The two application protocols a node serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Alpn {
    /// [`PEER_ALPN`]: node to node. Only node keys.
    Peer,
    /// [`CLIENT_ALPN`]: clients. Participant keys, and node keys (a node's operator tools).
    Client,
}

impl Alpn {
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Alpn::Peer => PEER_ALPN,
            Alpn::Client => CLIENT_ALPN,
        }
    }

    fn label(self) -> &'static str {
        match self {
            Alpn::Peer => "peer",
            Alpn::Client => "client",
        }
    }

    pub fn from_bytes(bytes: &[u8]) -> Option<Alpn> {
        match bytes {
            PEER_ALPN => Some(Alpn::Peer),
            CLIENT_ALPN => Some(Alpn::Client),
            _ => None,
        }
    }
}

/// Which keys may connect, and as what.
///
/// Cloning shares it: every endpoint and verifier made from a clone sees changes
/// ([`Allowlist::allow_node`], [`Allowlist::allow_participant`], and their revocations
/// [`Allowlist::revoke_node`], [`Allowlist::revoke_participant`]) on its next handshake.
/// Revoking refuses new handshakes only; closing the key's live connections is
/// [`Connections::close_key`](super::connections::Connections::close_key)'s job.
#[derive(Clone, Default)]
pub struct Allowlist {
    inner: Arc<RwLock<Entries>>,
}

#[derive(Default)]
struct Entries {
    /// Node key to node id, and back: one key per node, one node per key.
    nodes: HashMap<PublicKey, NodeId>,
    node_keys: HashMap<NodeId, PublicKey>,
    participants: HashSet<PublicKey>,
    /// Participants revoked (suspended), so a refusal can say so. Bounded by the ledger's
    /// participants.
    suspended: HashSet<PublicKey>,
    /// The keys of nodes revoked (removed), with the id they had. Bounded by the ledger's
    /// nodes.
    removed_nodes: HashMap<PublicKey, NodeId>,
}

impl Allowlist {
    /// An empty allowlist: nobody may connect.
    pub fn new() -> Allowlist {
        Allowlist::default()
    }

    /// Voters and learners as nodes, participants as participants.
    pub fn from_genesis(genesis: &Genesis) -> Allowlist {
        let allow = Allowlist::new();
        for node in genesis.nodes() {
            allow.allow_node(node.id, node.key);
        }
        for participant in &genesis.participants {
            allow.allow_participant(participant.key);
        }
        allow
    }

    /// Admits `key` as node `id`. A node has one key: if `id` had another, that key is no
    /// longer node `id`'s; if `key` was another node's, it is now `id`'s alone.
    pub fn allow_node(&self, id: NodeId, key: PublicKey) {
        let mut entries = self.write();
        entries.removed_nodes.remove(&key);
        if let Some(old_key) = entries.node_keys.insert(id, key)
            && old_key != key
        {
            entries.nodes.remove(&old_key);
        }
        if let Some(old_id) = entries.nodes.insert(key, id)
            && old_id != id
        {
            entries.node_keys.remove(&old_id);
        }
    }

    /// Admits `key` as a participant (again, if it was revoked).
    pub fn allow_participant(&self, key: PublicKey) {
        let mut entries = self.write();
        entries.suspended.remove(&key);
        entries.participants.insert(key);
    }

    /// Stops admitting `key` as a participant (a suspension). Returns whether it was one.
    pub fn revoke_participant(&self, key: &PublicKey) -> bool {
        let mut entries = self.write();
        entries.suspended.insert(*key);
        entries.participants.remove(key)
    }

    /// Stops admitting node `id` (a removal). Returns the key it had, if it had one.
    pub fn revoke_node(&self, id: NodeId) -> Option<PublicKey> {
        let mut entries = self.write();
        let key = entries.node_keys.remove(&id)?;
        entries.nodes.remove(&key);
        entries.removed_nodes.insert(key, id);
        Some(key)
    }

    /// Why `key` may not connect at all: suspended, removed, or unknown.
    pub fn refusal(&self, key: &PublicKey) -> String {
        let entries = self.read();
        if entries.suspended.contains(key) {
            format!(
                "key {key} is suspended from this game: it is not allowed to connect until the admin reinstates it"
            )
        } else if let Some(id) = entries.removed_nodes.get(key) {
            format!(
                "key {key} was node {id}'s, which was removed from this game: it is not allowed to connect any more"
            )
        } else {
            format!("key {key} is not allowed in this game")
        }
    }

    /// The node whose key this is.
    pub fn node_id(&self, key: &PublicKey) -> Option<NodeId> {
        self.read().nodes.get(key).copied()
    }

    /// Node `id`'s key.
    pub fn node_key(&self, id: NodeId) -> Option<PublicKey> {
        self.read().node_keys.get(&id).copied()
    }

    pub fn is_participant(&self, key: &PublicKey) -> bool {
        self.read().participants.contains(key)
    }

    /// Whether `key` may connect at all (before its ALPN is known).
    pub fn contains(&self, key: &PublicKey) -> bool {
        let entries = self.read();
        entries.nodes.contains_key(key) || entries.participants.contains(key)
    }

    /// What `key` is admitted as on `alpn`, or `None` if it may not use it.
    ///
    /// On [`Alpn::Peer`] only nodes are admitted. On [`Alpn::Client`] a participant key is a
    /// [`Admitted::Participant`] (also when it is a node's key too: as a client it acts as
    /// the participant), and a node's key that is no participant is an [`Admitted::Node`].
    pub fn admit(&self, key: &PublicKey, alpn: Alpn) -> Option<Admitted> {
        let entries = self.read();
        let node = entries.nodes.get(key).copied().map(Admitted::Node);
        match alpn {
            Alpn::Peer => node,
            Alpn::Client if entries.participants.contains(key) => Some(Admitted::Participant),
            Alpn::Client => node,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Entries> {
        self.inner.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Entries> {
        self.inner.write().unwrap_or_else(PoisonError::into_inner)
    }
}

impl fmt::Debug for Allowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let entries = self.read();
        f.debug_struct("Allowlist")
            .field("nodes", &entries.nodes.len())
            .field("participants", &entries.participants.len())
            .finish()
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
pub(super) fn ed25519_spki(key: &PublicKey) -> Vec<u8> {
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

/// The crypto provider both sides use: ring.
fn provider() -> Arc<CryptoProvider> {
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
fn refuse(reason: String) -> rustls::Error {
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

/// The server name a client sends to say what it dials: `{node}.{alpn}.qraft`, where node
/// is `node-{id}` or `any` and alpn is `peer` or `client`. Certificates carry no names:
/// the name only tells this side's own verifier which node and ALPN the caller of
/// [`connect`] asked for, since quinn gives the verifier nothing else per connection.
fn server_name(alpn: Alpn, expect: Option<NodeId>) -> String {
    let node = match expect {
        Some(id) => format!("node-{id}"),
        None => "any".to_string(),
    };
    format!("{node}.{}.qraft", alpn.label())
}

/// The ALPN and node a [`server_name`] asks for.
fn parse_server_name(name: &ServerName<'_>) -> Option<(Alpn, Option<NodeId>)> {
    let ServerName::DnsName(name) = name else {
        return None;
    };
    let mut labels = name.as_ref().split('.');
    let (node, alpn) = (labels.next()?, labels.next()?);
    if labels.next() != Some("qraft") || labels.next().is_some() {
        return None;
    }
    let alpn = [Alpn::Peer, Alpn::Client]
        .into_iter()
        .find(|a| a.label() == alpn)?;
    let expect = match node {
        "any" => None,
        node => Some(node.strip_prefix("node-")?.parse().ok()?),
    };
    Some((alpn, expect))
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
struct AllowlistVerifier {
    allow: Allowlist,
    algorithms: WebPkiSupportedAlgorithms,
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

/// How often a node pings a peer connection that has nothing else to send: often enough
/// that a missed ping or two on Wi-Fi does not come near [`PEER_IDLE_TIMEOUT`], and a
/// restarted peer's stateless reset (see [`super::reset_key`]) comes back within a second
/// even on a link with no Raft traffic.
pub const PEER_KEEP_ALIVE: Duration = Duration::from_secs(1);
/// A peer connection that hears nothing for this long is dead and is replaced. Five
/// missed keep-alives: a LAN or Wi-Fi stall (roaming, power save) lasts a second or two,
/// while a link to a laptop that vanished (lid closed, cable pulled) is given up within
/// five seconds. A restarted peer does not wait for it: its reset closes the old link at
/// once, and its new connection replaces the old one (see [`super::peer`]).
pub const PEER_IDLE_TIMEOUT: Duration = Duration::from_secs(5);
/// How often a client pings its connection when it has nothing else to send (the node
/// pings every [`PEER_KEEP_ALIVE`]): keeps NAT bindings and the idle timer awake, and
/// brings a restarted node's reset back quickly.
pub const KEEP_ALIVE: Duration = Duration::from_secs(2);
/// A client connection that hears nothing for this long is dead: the session or
/// dashboard then reconnects (to another node if it must). Longer than a peer's, since a
/// student's laptop on school Wi-Fi stalls more often than a teacher's voter, and a
/// reconnect costs the student a "reconnected" line; short enough that a node that
/// vanished is left within ten seconds. (A node's incoming connections are offered at
/// most this; a peer dials asking for [`PEER_IDLE_TIMEOUT`], and the lower one holds.)
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// The longest [`connect`] waits for a handshake to finish.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Bidirectional streams a client may have open at once on one connection, once admitted:
/// a dashboard holds a few subscriptions and a submission pipeline, and each query takes
/// a stream for one round trip; 32 serves that with room, and a client that wants more
/// waits for a stream to finish (quinn's `open_bi` waits) instead of costing the node.
pub const MAX_CLIENT_STREAMS: u32 = 32;
/// Bytes a client may have sent on a connection that the node has not read yet, across
/// all its streams. QUIC buffers what arrives up to this window whether or not the node
/// reads it, so without it a client could park a stream window's worth (1.25 MB by
/// default) on each of its streams. 256 KiB holds a full pipeline (256 transactions of
/// about 300 bytes) several times over; a node's 512 clients can hold at most 128 MiB.
pub const CLIENT_RECEIVE_WINDOW: u32 = 256 << 10;
/// Unidirectional streams a peer may have open at once on one connection, once admitted:
/// one for its Raft messages and one per snapshot in flight (one at a time per
/// follower in practice); 8 leaves room for a stream being replaced.
pub const MAX_PEER_STREAMS: u32 = 8;
/// The application close code of a connection refused after its handshake (by
/// [`identify`]); the close reason says why.
pub const CLOSE_REFUSED: u32 = 2;
/// Connection attempts quinn holds for the accept loop before it refuses new ones itself.
/// The loop screens each at once (see [`super::gate`]), so the queue stays short; 1024
/// bounds it (about 1.5 MB of first packets) if the loop is ever starved.
pub const MAX_QUEUED_ATTEMPTS: usize = 1024;
/// Bytes quinn buffers for one queued attempt beyond its first packet: there is no 0-RTT
/// data to keep (it is disabled), only a retransmitted Initial or two.
pub const QUEUED_ATTEMPT_BYTES: u64 = 16 * 1024;
/// Bytes quinn buffers for all queued attempts together beyond their first packets.
pub const QUEUED_ATTEMPTS_BYTES: u64 = 4 * 1024 * 1024;

/// The transport parameters of every connection, with its keep-alive and idle timeout.
/// Each side grants the other no streams at first: a node grants an incoming connection
/// its streams once it is admitted ([`grant_streams`]), and nothing ever opens a stream
/// towards the side that dialled (peers and clients only ever open streams on their own
/// dials).
fn transport_config(keep_alive: Duration, idle_timeout: Duration) -> Arc<quinn::TransportConfig> {
    let mut transport = quinn::TransportConfig::default();
    transport
        .keep_alive_interval(Some(keep_alive))
        .max_idle_timeout(Some(quinn::IdleTimeout::from(quinn::VarInt::from_u32(
            u32::try_from(idle_timeout.as_millis()).expect("the idle timeout fits"),
        ))))
        .max_concurrent_bidi_streams(quinn::VarInt::from_u32(0))
        .max_concurrent_uni_streams(quinn::VarInt::from_u32(0));
    Arc::new(transport)
}

/// The keep-alive and idle timeout of connections dialled on `alpn`.
fn timing(alpn: Alpn) -> (Duration, Duration) {
    match alpn {
        Alpn::Peer => (PEER_KEEP_ALIVE, PEER_IDLE_TIMEOUT),
        Alpn::Client => (KEEP_ALIVE, IDLE_TIMEOUT),
    }
}

/// Lets an admitted incoming connection open the streams its ALPN uses: unidirectional
/// ones for a peer ([`MAX_PEER_STREAMS`]), bidirectional ones for a client
/// ([`MAX_CLIENT_STREAMS`]). Until then it may open none.
pub fn grant_streams(connection: &quinn::Connection, alpn: Alpn) {
    match alpn {
        Alpn::Peer => {
            connection.set_max_concurrent_uni_streams(quinn::VarInt::from_u32(MAX_PEER_STREAMS))
        }
        Alpn::Client => {
            connection.set_receive_window(quinn::VarInt::from_u32(CLIENT_RECEIVE_WINDOW));
            connection.set_max_concurrent_bi_streams(quinn::VarInt::from_u32(MAX_CLIENT_STREAMS))
        }
    }
}

/// The quinn configuration for dialing nodes on `alpn` (see [`client_tls_config`]).
pub fn client_config(
    identity: &TlsIdentity,
    allow: Allowlist,
    alpn: Alpn,
) -> Result<quinn::ClientConfig, TlsError> {
    let tls = client_tls_config(identity, allow, alpn)?;
    let crypto = quinn::crypto::rustls::QuicClientConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut config = quinn::ClientConfig::new(Arc::new(crypto));
    let (keep_alive, idle_timeout) = timing(alpn);
    config.transport_config(transport_config(keep_alive, idle_timeout));
    Ok(config)
}

/// A node's QUIC endpoint on `listen`: accepts peers and clients whose keys are in `allow`
/// (mutual TLS; see [`identify`] for what each may do), and dials other nodes on
/// [`PEER_ALPN`] with [`connect`]. Its stateless resets and connection ids are made with
/// the identity's [`StatelessResetKey`], so they still close peers' connections after a
/// restart.
pub fn server_endpoint(
    listen: SocketAddr,
    identity: &TlsIdentity,
    allow: Allowlist,
) -> Result<quinn::Endpoint, TlsError> {
    let tls = server_tls_config(identity, allow.clone())?;
    let crypto = quinn::crypto::rustls::QuicServerConfig::try_from(tls)
        .map_err(|e| TlsError::Config(e.to_string()))?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    // Offered to every incoming connection; a peer asks for less, and gets it.
    server
        .transport_config(transport_config(PEER_KEEP_ALIVE, IDLE_TIMEOUT))
        .max_incoming(MAX_QUEUED_ATTEMPTS)
        .incoming_buffer_size(QUEUED_ATTEMPT_BYTES)
        .incoming_buffer_size_total(QUEUED_ATTEMPTS_BYTES);
    let client = client_config(identity, allow, Alpn::Peer)?;
    let bind = |source| TlsError::Bind {
        addr: listen,
        source,
    };
    let socket = std::net::UdpSocket::bind(listen).map_err(bind)?;
    let reset_key: Arc<dyn quinn::crypto::HmacKey> = identity.reset_key.clone();
    let mut endpoint_config = quinn::EndpointConfig::new(reset_key);
    endpoint_config.cid_generator(identity.reset_key.connection_id_generator());
    let mut endpoint = quinn::Endpoint::new(
        endpoint_config,
        Some(server),
        socket,
        Arc::new(quinn::TokioRuntime),
    )
    .map_err(bind)?;
    endpoint.set_default_client_config(client);
    Ok(endpoint)
}

/// A client-only endpoint (CLI, TUI, bots) bound to `bind`: dials nodes on [`CLIENT_ALPN`]
/// with [`connect`], accepts nothing.
pub fn client_endpoint(
    bind: SocketAddr,
    identity: &TlsIdentity,
    allow: Allowlist,
) -> Result<quinn::Endpoint, TlsError> {
    let client = client_config(identity, allow, Alpn::Client)?;
    let mut endpoint =
        quinn::Endpoint::client(bind).map_err(|source| TlsError::Bind { addr: bind, source })?;
    endpoint.set_default_client_config(client);
    Ok(endpoint)
}

/// Connects to `addr` on `alpn`, expecting the server to be node `expect` (or any node of
/// the allowlist when `None`), within [`HANDSHAKE_TIMEOUT`].
///
/// The endpoint dials with the identity, allowlist and ALPN it was made with:
/// [`server_endpoint`] on [`PEER_ALPN`], [`client_endpoint`] on [`CLIENT_ALPN`]. Asking
/// another ALPN fails with [`TlsError::Rejected`] before anything is sent.
///
/// Returns once the server has confirmed the handshake, so a server that refuses this
/// side's key is reported here as [`TlsError::Refused`], never as a connection that dies
/// at once. A server that is not the right node is [`TlsError::Rejected`].
pub async fn connect(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    alpn: &[u8],
    expect: Option<NodeId>,
) -> Result<quinn::Connection, TlsError> {
    connect_within(endpoint, addr, alpn, expect, HANDSHAKE_TIMEOUT).await
}

/// [`connect`] with another time limit.
pub async fn connect_within(
    endpoint: &quinn::Endpoint,
    addr: SocketAddr,
    alpn: &[u8],
    expect: Option<NodeId>,
    limit: Duration,
) -> Result<quinn::Connection, TlsError> {
    let Some(alpn) = Alpn::from_bytes(alpn) else {
        return Err(TlsError::Rejected {
            addr,
            reason: format!(
                "unknown ALPN {:?}: expected {:?} or {:?}",
                String::from_utf8_lossy(alpn),
                String::from_utf8_lossy(PEER_ALPN),
                String::from_utf8_lossy(CLIENT_ALPN),
            ),
        });
    };
    let connecting = endpoint
        .connect(addr, &server_name(alpn, expect))
        .map_err(|source| TlsError::Connect { addr, source })?;
    let handshake = async {
        let connection = connecting.await.map_err(|e| connection_error(addr, e))?;
        confirmed(&connection)
            .await
            .map_err(|e| connection_error(addr, e))?;
        Ok(connection)
    };
    match tokio::time::timeout(limit, handshake).await {
        Ok(result) => result,
        Err(_) => Err(TlsError::Timeout { addr, after: limit }),
    }
}

/// Waits until the server confirms the handshake (its HANDSHAKE_DONE frame), or the
/// connection closes. A QUIC client's handshake completes before the server has checked
/// the client's certificate; only the confirmation says the server accepted it.
async fn confirmed(connection: &quinn::Connection) -> Result<(), quinn::ConnectionError> {
    let done = async {
        while connection.stats().frame_rx.handshake_done == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    };
    tokio::select! {
        biased;
        err = connection.closed() => Err(err),
        () = done => Ok(()),
    }
}

/// A connection's failure, told plainly: refusals by the other side (TLS alerts, a
/// [`CLOSE_REFUSED`] close) are [`TlsError::Refused`], this side's certificate refusals
/// [`TlsError::Rejected`], the rest [`TlsError::Connection`].
pub fn connection_error(addr: SocketAddr, err: quinn::ConnectionError) -> TlsError {
    use quinn::ConnectionError as E;
    match &err {
        E::TransportError(local) if tls_alert(local.code).is_some() => TlsError::Rejected {
            addr,
            reason: tidy_reason(&local.reason),
        },
        E::ConnectionClosed(close) => match tls_alert(close.error_code) {
            Some(alert) => {
                let reason = tidy_reason(&String::from_utf8_lossy(&close.reason));
                TlsError::Refused {
                    addr,
                    reason: if reason.is_empty() {
                        format!("TLS alert {alert:?}")
                    } else {
                        format!("TLS alert {alert:?}: {reason}")
                    },
                }
            }
            None => TlsError::Connection { addr, source: err },
        },
        E::ApplicationClosed(close) if close.error_code == quinn::VarInt::from(CLOSE_REFUSED) => {
            TlsError::Refused {
                addr,
                reason: String::from_utf8_lossy(&close.reason).into_owned(),
            }
        }
        _ => TlsError::Connection { addr, source: err },
    }
}

/// The TLS alert a QUIC transport error code carries (CRYPTO_ERROR, 0x100 + alert).
fn tls_alert(code: quinn::TransportErrorCode) -> Option<rustls::AlertDescription> {
    let code = u64::from(code);
    (0x100..0x200)
        .contains(&code)
        .then(|| rustls::AlertDescription::from((code - 0x100) as u8))
}

/// A rustls error text without its wrapping around a verifier's own reason:
/// `invalid peer certificate: Other(OtherError(REASON))` becomes `REASON`.
fn tidy_reason(reason: &str) -> String {
    const WRAP: &str = "invalid peer certificate: Other(OtherError(";
    match reason.strip_prefix(WRAP).and_then(|r| r.strip_suffix("))")) {
        Some(inner) => inner.to_string(),
        None => reason.to_string(),
    }
}

/// The application protocol a connection negotiated, if it is one of ours.
pub fn alpn_of(connection: &quinn::Connection) -> Option<Alpn> {
    connection
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol)
        .and_then(|protocol| Alpn::from_bytes(&protocol))
}

/// Who an accepted connection is: its ed25519 key (from its certificate) and what it is
/// admitted as on its ALPN ([`Allowlist::admit`]): on [`PEER_ALPN`] always
/// [`Admitted::Node`]; on [`CLIENT_ALPN`] a participant, or a node's key used as a client.
///
/// A connection that may not use its ALPN (a participant key on [`PEER_ALPN`]), or whose
/// key is no longer known, is closed with [`CLOSE_REFUSED`] and a reason the other side
/// reads as [`TlsError::Refused`]; this side gets [`TlsError::Rejected`].
pub fn identify(
    connection: &quinn::Connection,
    allow: &Allowlist,
) -> Result<(PublicKey, Admitted), TlsError> {
    let addr = connection.remote_address();
    let refuse = |reason: String| {
        connection.close(quinn::VarInt::from(CLOSE_REFUSED), reason.as_bytes());
        TlsError::Rejected { addr, reason }
    };
    let Some(alpn) = alpn_of(connection) else {
        return Err(refuse("no known application protocol".to_string()));
    };
    let key = connection
        .peer_identity()
        .and_then(|identity| identity.downcast::<Vec<CertificateDer<'static>>>().ok())
        .ok_or_else(|| "no client certificate".to_string())
        .and_then(|chain| match chain.as_slice() {
            [cert] => certificate_key(cert).map_err(|e| e.to_string()),
            _ => Err("expected exactly one client certificate".to_string()),
        });
    let key = key.map_err(&refuse)?;
    match allow.admit(&key, alpn) {
        Some(admitted) => Ok((key, admitted)),
        None if allow.is_participant(&key) => Err(refuse(format!(
            "key {key} is a participant, not a node: it may connect only as a client ({})",
            String::from_utf8_lossy(CLIENT_ALPN)
        ))),
        None => Err(refuse(allow.refusal(&key))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(label: &str) -> TlsIdentity {
        TlsIdentity::from_keypair(&Keypair::from_label(label)).unwrap()
    }

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

    #[test]
    fn allowlist_admits_by_alpn() {
        let node = Keypair::from_label("node 1").public();
        let both = Keypair::from_label("node 2, also a player").public();
        let player = Keypair::from_label("player").public();
        let stranger = Keypair::from_label("stranger").public();
        let allow = Allowlist::new();
        allow.allow_node(1, node);
        allow.allow_node(2, both);
        allow.allow_participant(both);
        allow.allow_participant(player);

        assert_eq!(allow.admit(&node, Alpn::Peer), Some(Admitted::Node(1)));
        assert_eq!(allow.admit(&node, Alpn::Client), Some(Admitted::Node(1)));
        assert_eq!(allow.admit(&both, Alpn::Peer), Some(Admitted::Node(2)));
        assert_eq!(
            allow.admit(&both, Alpn::Client),
            Some(Admitted::Participant)
        );
        assert_eq!(allow.admit(&player, Alpn::Peer), None);
        assert_eq!(
            allow.admit(&player, Alpn::Client),
            Some(Admitted::Participant)
        );
        assert_eq!(allow.admit(&stranger, Alpn::Client), None);
        assert!(!allow.contains(&stranger));
    }

    #[test]
    fn a_node_has_one_key() {
        let a = Keypair::from_label("a").public();
        let b = Keypair::from_label("b").public();
        let allow = Allowlist::new();
        allow.allow_node(1, a);
        allow.allow_node(1, b);
        assert_eq!(allow.node_id(&a), None);
        assert_eq!(allow.node_id(&b), Some(1));
        allow.allow_node(2, b);
        assert_eq!(allow.node_key(1), None);
        assert_eq!(allow.node_key(2), Some(b));
        // Clones share.
        let clone = allow.clone();
        clone.allow_participant(a);
        assert!(allow.is_participant(&a));
    }

    #[test]
    fn revoked_keys_are_refused_with_their_reason_until_allowed_again() {
        let node = Keypair::from_label("node 2").public();
        let player = Keypair::from_label("player").public();
        let stranger = Keypair::from_label("stranger").public();
        let allow = Allowlist::new();
        allow.allow_node(2, node);
        allow.allow_participant(player);

        assert!(allow.revoke_participant(&player));
        assert!(!allow.contains(&player));
        assert_eq!(allow.admit(&player, Alpn::Client), None);
        assert!(allow.refusal(&player).contains("is suspended"));
        assert!(!allow.revoke_participant(&player), "already revoked");
        allow.allow_participant(player);
        assert_eq!(
            allow.admit(&player, Alpn::Client),
            Some(Admitted::Participant)
        );
        assert!(allow.refusal(&player).contains("not allowed in this game"));

        assert_eq!(allow.revoke_node(2), Some(node));
        assert_eq!(allow.revoke_node(2), None);
        assert!(!allow.contains(&node));
        assert_eq!(allow.node_id(&node), None);
        assert_eq!(allow.node_key(2), None);
        let reason = allow.refusal(&node);
        assert!(reason.contains("was node 2's"), "{reason}");
        assert!(reason.contains("removed"), "{reason}");
        allow.allow_node(2, node);
        assert_eq!(allow.admit(&node, Alpn::Peer), Some(Admitted::Node(2)));
        assert!(!allow.refusal(&node).contains("removed"));

        // The server's verifier tells a revoked key why.
        allow.revoke_participant(&player);
        let verifier = AllowlistVerifier {
            allow: allow.clone(),
            algorithms: provider().signature_verification_algorithms,
        };
        let cert = identity("player").cert.clone();
        let err = verifier
            .verify_client_cert(&cert, &[], UnixTime::now())
            .unwrap_err();
        assert!(err.to_string().contains("is suspended"), "{err}");
        let cert = identity("stranger").cert.clone();
        let err = verifier
            .verify_client_cert(&cert, &[], UnixTime::now())
            .unwrap_err();
        assert!(
            err.to_string().contains("not allowed in this game"),
            "{err}"
        );
        assert!(!allow.contains(&stranger));
    }

    #[test]
    fn allowlist_from_genesis() {
        use crate::core::genesis::sample::{SampleOptions, sample_game};
        let genesis = sample_game(&SampleOptions::default()).genesis;
        assert!(!genesis.voters.is_empty() && !genesis.participants.is_empty());
        let allow = Allowlist::from_genesis(&genesis);
        for node in genesis.nodes() {
            assert_eq!(
                allow.admit(&node.key, Alpn::Peer),
                Some(Admitted::Node(node.id))
            );
        }
        for participant in &genesis.participants {
            assert_eq!(
                allow.admit(&participant.key, Alpn::Client),
                Some(Admitted::Participant)
            );
        }
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
    struct Forged(Arc<CertifiedKey>);

    impl Forged {
        fn new(cert: &TlsIdentity, key: &TlsIdentity) -> Arc<Forged> {
            let signer: Arc<dyn rustls::sign::SigningKey> = Arc::new(key.signing.clone());
            Arc::new(Forged(Arc::new(CertifiedKey::new(
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
        ) -> Option<Arc<CertifiedKey>> {
            Some(Arc::clone(&self.0))
        }

        fn has_certs(&self) -> bool {
            true
        }
    }

    impl rustls::server::ResolvesServerCert for Forged {
        fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
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

    // QUIC end to end, on 127.0.0.1.

    const TEST_LIMIT: Duration = Duration::from_secs(20);

    fn localhost() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// Node 1 serving, with `allow` as its allowlist.
    fn node_one(allow: &Allowlist) -> (quinn::Endpoint, SocketAddr) {
        let endpoint = server_endpoint(localhost(), &identity("node 1"), allow.clone()).unwrap();
        let addr = endpoint.local_addr().unwrap();
        (endpoint, addr)
    }

    /// A game: nodes 1, 2 and 3, and one participant.
    fn game() -> Allowlist {
        let allow = Allowlist::new();
        for id in 1..=3 {
            allow.allow_node(id, identity(&format!("node {id}")).public_key());
        }
        allow.allow_participant(identity("player").public_key());
        allow
    }

    /// The next connection the server accepts, or why its handshake failed; `None` if
    /// nothing arrives within `wait`.
    async fn accept_one(
        server: &quinn::Endpoint,
        wait: Duration,
    ) -> Option<Result<quinn::Connection, quinn::ConnectionError>> {
        let incoming = tokio::time::timeout(wait, server.accept()).await.ok()??;
        Some(
            tokio::time::timeout(wait, incoming)
                .await
                .expect("an accepted handshake ends"),
        )
    }

    fn alpn_bytes(connection: &quinn::Connection) -> Option<Vec<u8>> {
        connection
            .handshake_data()?
            .downcast::<quinn::crypto::rustls::HandshakeData>()
            .ok()?
            .protocol
    }

    #[tokio::test]
    async fn participants_and_nodes_are_identified() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let (server, addr) = node_one(&allow);

            let player = identity("player");
            let client = client_endpoint(localhost(), &player, allow.clone()).unwrap();
            let (connection, accepted) = tokio::join!(
                connect(&client, addr, CLIENT_ALPN, Some(1)),
                accept_one(&server, TEST_LIMIT)
            );
            let client_connection = connection.unwrap();
            let client_accepted = accepted.unwrap().unwrap();
            assert_eq!(alpn_bytes(&client_connection).as_deref(), Some(CLIENT_ALPN));
            assert_eq!(alpn_bytes(&client_accepted).as_deref(), Some(CLIENT_ALPN));
            assert_eq!(alpn_of(&client_accepted), Some(Alpn::Client));
            assert_eq!(
                identify(&client_accepted, &allow).unwrap(),
                (player.public_key(), Admitted::Participant)
            );

            let node2 = identity("node 2");
            let peer = server_endpoint(localhost(), &node2, allow.clone()).unwrap();
            let (connection, accepted) = tokio::join!(
                connect(&peer, addr, PEER_ALPN, Some(1)),
                accept_one(&server, TEST_LIMIT)
            );
            let connection = connection.unwrap();
            let accepted = accepted.unwrap().unwrap();
            assert_eq!(alpn_bytes(&connection).as_deref(), Some(PEER_ALPN));
            assert_eq!(
                identify(&accepted, &allow).unwrap(),
                (node2.public_key(), Admitted::Node(2))
            );

            // No streams before the node grants them; then the ALPN's kind only.
            let waiting = Duration::from_millis(200);
            let early = tokio::time::timeout(waiting, connection.open_uni()).await;
            assert!(early.is_err(), "a stream opened before it was granted");
            grant_streams(&accepted, Alpn::Peer);
            let mut uni = connection.open_uni().await.unwrap();
            uni.write_all(b"raft").await.unwrap();
            uni.finish().unwrap();
            let mut got = accepted.accept_uni().await.unwrap();
            assert_eq!(got.read_to_end(64).await.unwrap(), b"raft");
            let bidi = tokio::time::timeout(waiting, connection.open_bi()).await;
            assert!(bidi.is_err(), "a peer got a bidirectional stream");

            // A client's stream works both ways once granted.
            let early = tokio::time::timeout(waiting, client_connection.open_bi()).await;
            assert!(early.is_err(), "a stream opened before it was granted");
            grant_streams(&client_accepted, Alpn::Client);
            let (mut send, mut recv) = client_connection.open_bi().await.unwrap();
            send.write_all(b"ping").await.unwrap();
            send.finish().unwrap();
            let (mut back, mut got) = client_accepted.accept_bi().await.unwrap();
            assert_eq!(got.read_to_end(64).await.unwrap(), b"ping");
            back.write_all(b"pong").await.unwrap();
            back.finish().unwrap();
            assert_eq!(recv.read_to_end(64).await.unwrap(), b"pong");
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn an_unknown_key_is_refused_at_once() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let (server, addr) = node_one(&allow);
            // The stranger knows the game; the game does not know the stranger.
            let stranger = identity("stranger");
            let client = client_endpoint(localhost(), &stranger, allow.clone()).unwrap();
            let started = std::time::Instant::now();
            let (connection, accepted) = tokio::join!(
                connect(&client, addr, CLIENT_ALPN, None),
                accept_one(&server, TEST_LIMIT)
            );
            let err = connection.unwrap_err();
            assert!(started.elapsed() < Duration::from_secs(5), "{err}");
            let TlsError::Refused { reason, .. } = &err else {
                panic!("{err:?}");
            };
            assert!(reason.contains("CertificateUnknown"), "{reason}");
            assert!(reason.contains("not allowed in this game"), "{reason}");
            // The server's handshake failed: it accepted nothing.
            assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");
            assert!(
                accept_one(&server, Duration::from_millis(300))
                    .await
                    .is_none()
            );
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_participant_may_not_be_a_peer() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let (server, addr) = node_one(&allow);
            // An endpoint that dials as a peer, with a participant's key.
            let player = identity("player");
            let mut client = quinn::Endpoint::client(localhost()).unwrap();
            client.set_default_client_config(
                client_config(&player, allow.clone(), Alpn::Peer).unwrap(),
            );
            let (connection, accepted) = tokio::join!(
                connect(&client, addr, PEER_ALPN, Some(1)),
                accept_one(&server, TEST_LIMIT)
            );
            // The handshake passes (the key is allowlisted); identify refuses the ALPN.
            let connection = connection.unwrap();
            let accepted = accepted.unwrap().unwrap();
            let err = identify(&accepted, &allow).unwrap_err();
            assert!(matches!(err, TlsError::Rejected { .. }), "{err:?}");
            let closed = connection_error(addr, connection.closed().await);
            let TlsError::Refused { reason, .. } = &closed else {
                panic!("{closed:?}");
            };
            assert!(reason.contains("is a participant, not a node"), "{reason}");
            assert!(
                closed.to_string().starts_with("refused by 127.0.0.1:"),
                "{closed}"
            );
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_client_refuses_servers_that_are_not_the_node_it_wants() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let player = identity("player");
            let client = client_endpoint(localhost(), &player, allow.clone()).unwrap();

            // A server whose key is a participant's, not a node's.
            let fake = server_endpoint(localhost(), &player, allow.clone()).unwrap();
            let fake_addr = fake.local_addr().unwrap();
            let (connection, accepted) = tokio::join!(
                connect(&client, fake_addr, CLIENT_ALPN, None),
                accept_one(&fake, TEST_LIMIT)
            );
            let err = connection.unwrap_err();
            let TlsError::Rejected { reason, .. } = &err else {
                panic!("{err:?}");
            };
            assert!(reason.contains("is not a node of this game"), "{reason}");
            assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");

            // Node 3, dialed as node 2.
            let node3 = server_endpoint(localhost(), &identity("node 3"), allow.clone()).unwrap();
            let node3_addr = node3.local_addr().unwrap();
            let (connection, accepted) = tokio::join!(
                connect(&client, node3_addr, CLIENT_ALPN, Some(2)),
                accept_one(&node3, TEST_LIMIT)
            );
            let err = connection.unwrap_err();
            let TlsError::Rejected { reason, .. } = &err else {
                panic!("{err:?}");
            };
            assert!(reason.contains("is node 3"), "{reason}");
            assert!(reason.contains("not node 2"), "{reason}");
            assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");

            // Dialed as node 3, or as any node, it is fine.
            for expect in [Some(3), None] {
                let (connection, accepted) = tokio::join!(
                    connect(&client, node3_addr, CLIENT_ALPN, expect),
                    accept_one(&node3, TEST_LIMIT)
                );
                connection.unwrap();
                accepted.unwrap().unwrap();
            }
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn an_endpoint_dials_only_its_own_alpn() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let (server, addr) = node_one(&allow);
            let client = client_endpoint(localhost(), &identity("player"), allow.clone()).unwrap();
            let (connection, accepted) = tokio::join!(
                connect(&client, addr, PEER_ALPN, None),
                accept_one(&server, TEST_LIMIT)
            );
            let err = connection.unwrap_err();
            let TlsError::Rejected { reason, .. } = &err else {
                panic!("{err:?}");
            };
            assert!(reason.contains("connects as client, not peer"), "{reason}");
            assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");
            let err = connect(&client, addr, b"http/1.1", None).await.unwrap_err();
            assert!(err.to_string().contains("unknown ALPN"), "{err}");
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_node_allowed_at_runtime_can_connect() {
        tokio::time::timeout(TEST_LIMIT, async {
            let allow = game();
            let (server, addr) = node_one(&allow);
            let node4 = identity("node 4");
            // Node 4 knows the game (and itself); node 1 does not know node 4 yet.
            let its_allow = game();
            its_allow.allow_node(4, node4.public_key());
            let peer = server_endpoint(localhost(), &node4, its_allow).unwrap();

            let (connection, accepted) = tokio::join!(
                connect(&peer, addr, PEER_ALPN, Some(1)),
                accept_one(&server, TEST_LIMIT)
            );
            assert!(
                matches!(connection, Err(TlsError::Refused { .. })),
                "{connection:?}"
            );
            assert!(matches!(accepted, Some(Err(_))), "{accepted:?}");

            allow.allow_node(4, node4.public_key());
            let (connection, accepted) = tokio::join!(
                connect(&peer, addr, PEER_ALPN, Some(1)),
                accept_one(&server, TEST_LIMIT)
            );
            connection.unwrap();
            let accepted = accepted.unwrap().unwrap();
            assert_eq!(
                identify(&accepted, &allow).unwrap(),
                (node4.public_key(), Admitted::Node(4))
            );
        })
        .await
        .expect("test timed out");
    }

    #[tokio::test]
    async fn a_silent_address_times_out() {
        tokio::time::timeout(TEST_LIMIT, async {
            // A UDP socket that never answers.
            let silent = std::net::UdpSocket::bind(localhost()).unwrap();
            let addr = silent.local_addr().unwrap();
            let allow = game();
            let client = client_endpoint(localhost(), &identity("player"), allow).unwrap();
            let limit = Duration::from_millis(300);
            let err = connect_within(&client, addr, CLIENT_ALPN, None, limit)
                .await
                .unwrap_err();
            assert!(
                matches!(err, TlsError::Timeout { after, .. } if after == limit),
                "{err:?}"
            );
        })
        .await
        .expect("test timed out");
    }

    #[test]
    fn server_names_round_trip() {
        for alpn in [Alpn::Peer, Alpn::Client] {
            for expect in [None, Some(1), Some(u64::MAX)] {
                let name = ServerName::try_from(server_name(alpn, expect)).unwrap();
                assert_eq!(parse_server_name(&name), Some((alpn, expect)));
            }
        }
        for bad in [
            "qraft.node",
            "node-x.peer.qraft",
            "any.other.qraft",
            "any.peer.qraft.x",
        ] {
            let name = ServerName::try_from(bad).unwrap();
            assert_eq!(parse_server_name(&name), None, "{bad}");
        }
    }

    #[test]
    fn reasons_are_tidied() {
        let err = refuse("key qk1 is not allowed".to_string());
        assert_eq!(tidy_reason(&err.to_string()), "key qk1 is not allowed");
        assert_eq!(tidy_reason("something else"), "something else");
    }
}
