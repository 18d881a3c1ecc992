//! ALPN: the two application protocols a node serves, the one a connection negotiated,
//! and the server name a dial asks for one (and for a node) with.

use rustls::pki_types::ServerName;

use crate::core::types::NodeId;

/// The ALPN of node-to-node connections: Raft messages, forwarding, snapshots.
pub const PEER_ALPN: &[u8] = b"qraft-peer/1";
/// The ALPN of client connections (TUI, CLI, bots): submit, query, subscribe.
pub const CLIENT_ALPN: &[u8] = b"qraft-client/1";

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

    pub(super) fn label(self) -> &'static str {
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

/// The application protocol a connection negotiated, if it is one of ours.
pub fn alpn_of(connection: &quinn::Connection) -> Option<Alpn> {
    connection
        .handshake_data()
        .and_then(|data| data.downcast::<quinn::crypto::rustls::HandshakeData>().ok())
        .and_then(|data| data.protocol)
        .and_then(|protocol| Alpn::from_bytes(&protocol))
}

/// The server name a client sends to say what it dials: `{node}.{alpn}.qraft`, where node
/// is `node-{id}` or `any` and alpn is `peer` or `client`. Certificates carry no names:
/// the name only tells this side's own verifier which node and ALPN the caller of
/// [`connect`](super::connect) asked for, since quinn gives the verifier nothing else
/// per connection.
pub(super) fn server_name(alpn: Alpn, expect: Option<NodeId>) -> String {
    let node = match expect {
        Some(id) => format!("node-{id}"),
        None => "any".to_string(),
    };
    format!("{node}.{}.qraft", alpn.label())
}

/// The ALPN and node a [`server_name`] asks for.
pub(super) fn parse_server_name(name: &ServerName<'_>) -> Option<(Alpn, Option<NodeId>)> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
