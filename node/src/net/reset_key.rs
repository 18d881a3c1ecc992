//! The key a node's QUIC stateless resets are made with, derived from its node key.
//!
//! A QUIC endpoint hands its peers, with every connection id it issues, a reset token:
//! an HMAC of the id under the endpoint's reset key. When a packet arrives for a
//! connection the endpoint no longer knows (its process restarted), it answers with that
//! token, and the peer closes the connection at once instead of sending into it until its
//! idle timeout.
//!
//! quinn's default reset key is random per process, so a restarted node's resets carry
//! tokens its peers were never given: they are ignored, and every link to the node stays
//! stale until it times out. A key derived from the node's ed25519 secret is the same
//! across restarts, so a restarted node resets its old connections on their first packet.
//! The same goes for the key quinn checks connection ids with. quinn issues ids that carry
//! a short keyed hash and drops, without a reset, any packet whose id fails the check
//! (so that garbage is not answered). With quinn's random key a restarted node finds its
//! old ids invalid and stays silent; with [`StatelessResetKey::connection_id_generator`]
//! its old ids still check, and its reset goes out.
//!
//! The derivation is one-way and domain-separated: the reset key reveals nothing about
//! the node key, and a node key is never used for anything else this way.

use qraft_keys::Keypair;
use zeroize::Zeroizing;

/// The blake3 key-derivation context (blake3 asks for an application-unique string).
const CONTEXT: &str = "qraft 2026-12 quic stateless reset key v1";
/// The blake3 context of the connection-id check key.
const CID_CONTEXT: &str = "qraft 2026-12 quic connection id check key v1";

/// Bytes of a reset token, as QUIC defines it (RFC 9000 §10.3).
const TOKEN_LEN: usize = 16;

/// A node's stateless reset key: the same across its restarts, and only its own.
pub struct StatelessResetKey {
    key: Zeroizing<[u8; 32]>,
    /// The key of the hash quinn puts in the connection ids this node issues.
    connection_id_key: u64,
}

impl StatelessResetKey {
    /// The reset key of the node whose key is `keypair`.
    pub fn derive(keypair: &Keypair) -> StatelessResetKey {
        let seed = keypair.seed();
        let cid_key = blake3::derive_key(CID_CONTEXT, &seed[..]);
        let (cid_key, _) = cid_key.split_first_chunk::<8>().expect("32 bytes hold 8");
        StatelessResetKey {
            key: Zeroizing::new(blake3::derive_key(CONTEXT, &seed[..])),
            connection_id_key: u64::from_le_bytes(*cid_key),
        }
    }

    /// Makes the connection-id generators of the node's endpoint: quinn's hashed
    /// generator, keyed from the node key so that ids issued before a restart still
    /// check after it (see the module docs).
    pub fn connection_id_generator(
        &self,
    ) -> impl Fn() -> Box<dyn quinn::ConnectionIdGenerator> + Send + Sync + 'static {
        let key = self.connection_id_key;
        move || Box::new(quinn_proto::HashedConnectionIdGenerator::from_key(key))
    }

    fn mac(&self, data: &[u8]) -> blake3::Hash {
        blake3::keyed_hash(&self.key, data)
    }
}

impl std::fmt::Debug for StatelessResetKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StatelessResetKey(hidden)")
    }
}

impl quinn::crypto::HmacKey for StatelessResetKey {
    fn sign(&self, data: &[u8], signature_out: &mut [u8]) {
        let mac = self.mac(data);
        let len = signature_out.len().min(blake3::OUT_LEN);
        signature_out[..len].copy_from_slice(&mac.as_bytes()[..len]);
    }

    fn signature_len(&self) -> usize {
        blake3::OUT_LEN
    }

    fn verify(&self, data: &[u8], signature: &[u8]) -> Result<(), quinn::crypto::CryptoError> {
        // `blake3::Hash`'s equality is constant-time.
        let expected = self.mac(data);
        match <[u8; blake3::OUT_LEN]>::try_from(signature) {
            Ok(bytes) if expected == blake3::Hash::from(bytes) => Ok(()),
            _ => Err(quinn::crypto::CryptoError),
        }
    }
}

const _: () = assert!(
    blake3::OUT_LEN >= TOKEN_LEN,
    "a MAC must fill a reset token"
);

#[cfg(test)]
mod tests {
    use super::*;
    use quinn::crypto::HmacKey;

    fn token(key: &StatelessResetKey, connection_id: &[u8]) -> Vec<u8> {
        let mut out = vec![0; key.signature_len()];
        key.sign(connection_id, &mut out);
        out.truncate(TOKEN_LEN);
        out
    }

    #[test]
    fn the_same_node_makes_the_same_tokens_after_a_restart_and_no_other_node_does() {
        let node = Keypair::from_label("reset-key/node 1");
        let before = StatelessResetKey::derive(&node);
        let after = StatelessResetKey::derive(&node);
        let other = StatelessResetKey::derive(&Keypair::from_label("reset-key/node 2"));
        let id = [7u8; 8];
        assert_eq!(token(&before, &id), token(&after, &id));
        assert_ne!(token(&before, &id), token(&other, &id));
        assert_ne!(token(&before, &id), token(&before, &[8u8; 8]));
    }

    #[test]
    fn verify_accepts_its_own_mac_only() {
        let key = StatelessResetKey::derive(&Keypair::from_label("reset-key/verify"));
        let mut mac = vec![0; key.signature_len()];
        key.sign(b"data", &mut mac);
        assert!(key.verify(b"data", &mac).is_ok());
        assert!(key.verify(b"other", &mac).is_err());
        mac[0] ^= 1;
        assert!(key.verify(b"data", &mac).is_err());
        assert!(key.verify(b"data", &mac[..16]).is_err());
    }

    #[test]
    fn connection_ids_issued_before_a_restart_check_after_it() {
        let node = Keypair::from_label("reset-key/cid");
        let mut before = StatelessResetKey::derive(&node).connection_id_generator()();
        let after = StatelessResetKey::derive(&node).connection_id_generator()();
        let other = StatelessResetKey::derive(&Keypair::from_label("reset-key/cid other"))
            .connection_id_generator()();
        let issued = before.generate_cid();
        assert!(after.validate(&issued).is_ok());
        assert!(other.validate(&issued).is_err());
    }

    #[test]
    fn the_reset_key_is_not_the_node_key() {
        let node = Keypair::from_label("reset-key/secret");
        let key = StatelessResetKey::derive(&node);
        assert_ne!(&key.key[..], &node.seed()[..]);
    }

    // A restarted node's reset, end to end: node 2 holds a connection to node 1 through a
    // relay; node 1 "crashes" (the relay stops passing its packets, so nothing closes the
    // connection) and a new node 1 with the same key takes its place behind the relay.
    // Node 2's next packet reaches the new process, whose reset must close the old
    // connection: with quinn's per-process keys it was dropped unanswered, and the
    // connection lingered until its idle timeout.

    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    use super::super::tls::{Allowlist, PEER_ALPN, TlsIdentity, connect, server_endpoint};

    const TEST_LIMIT: Duration = Duration::from_secs(20);

    fn localhost() -> SocketAddr {
        "127.0.0.1:0".parse().unwrap()
    }

    /// Passes datagrams between one client and whichever server `target` names; a
    /// server's packets reach the client only while it is the target.
    async fn relay(target: Arc<Mutex<SocketAddr>>) -> SocketAddr {
        let front = Arc::new(tokio::net::UdpSocket::bind(localhost()).await.unwrap());
        let back = Arc::new(tokio::net::UdpSocket::bind(localhost()).await.unwrap());
        let address = front.local_addr().unwrap();
        let client: Arc<Mutex<Option<SocketAddr>>> = Arc::default();
        let (f, b, c, t) = (front.clone(), back.clone(), client.clone(), target.clone());
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = f.recv_from(&mut buf).await {
                *c.lock().unwrap() = Some(from);
                let to = *t.lock().unwrap();
                let _ = b.send_to(&buf[..n], to).await;
            }
        });
        tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            while let Ok((n, from)) = back.recv_from(&mut buf).await {
                let to = *client.lock().unwrap();
                if let Some(to) = to.filter(|_| from == *target.lock().unwrap()) {
                    let _ = front.send_to(&buf[..n], to).await;
                }
            }
        });
        address
    }

    #[tokio::test]
    async fn a_restarted_node_resets_the_connections_to_its_former_process() {
        tokio::time::timeout(TEST_LIMIT, async {
            let node1 = TlsIdentity::from_keypair(&Keypair::from_label("reset/node 1")).unwrap();
            let node2 = TlsIdentity::from_keypair(&Keypair::from_label("reset/node 2")).unwrap();
            let allow = Allowlist::new();
            allow.allow_node(1, node1.public_key());
            allow.allow_node(2, node2.public_key());

            let before = server_endpoint(localhost(), &node1, allow.clone()).unwrap();
            let target = Arc::new(Mutex::new(before.local_addr().unwrap()));
            let front = relay(target.clone()).await;
            let dialler = server_endpoint(localhost(), &node2, allow.clone()).unwrap();
            let accepting = before.clone();
            let accepted = tokio::spawn(async move { accepting.accept().await?.await.ok() });
            let connection = connect(&dialler, front, PEER_ALPN, Some(1)).await.unwrap();
            let _old_side = accepted.await.unwrap().expect("node 1 accepts");

            // The crash: the old process goes silent, a new one takes its place.
            let after = server_endpoint(localhost(), &node1, allow).unwrap();
            *target.lock().unwrap() = after.local_addr().unwrap();
            // Node 2's next keep-alive (within a second) reaches the new process.
            let why = connection.closed().await;
            assert!(
                matches!(why, quinn::ConnectionError::Reset),
                "the old connection ended by {why:?}, not by the new process's reset"
            );
            drop(before);
        })
        .await
        .expect("test timed out");
    }
}
