//! A node's configuration file (TOML, edited by people), as `qraft init` writes it:
//!
//! ```toml
//! genesis = "genesis.toml"        # the game; relative paths are relative to this file
//! key = "keys/node1.key"          # this node's private key (its public key is in genesis)
//! data_dir = "data/node1"         # Raft log, blocks, snapshots
//! listen = "0.0.0.0:7801"         # for other nodes and for clients
//! # id = 7                        # only for a node the genesis does not name, registered
//!                                 # with `qraft admin add-node 7 ...`
//! # dial_out = true               # for a node registered with the address "dials-out":
//!                                 # it dials the voters and is answered on those connections
//!
//! [peers]                         # optional: reach node 2 here instead of its genesis address
//! 2 = "192.168.1.12:7802"
//!
//! [tuning]                        # optional, and so is each field in it
//! tick_ms = 100
//! election_ticks = 10
//! heartbeat_ticks = 2
//! max_batch_txs = 2000
//! max_batch_delay_ms = 2
//! mempool_capacity = 100000
//! snapshot_every_blocks = 1000
//! log_retention_entries = 50000
//! snapshot_every_txs = 20000
//! ```
//!
//! Errors name the file, the line and column, and the field.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::core::types::NodeId;
use crate::replica::ReplicaConfig;

/// A node's configuration, with paths resolved against the file's directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeConfig {
    pub file: PathBuf,
    pub genesis: PathBuf,
    pub key: PathBuf,
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    /// This node's id, for a node the genesis does not name (the admin registered it
    /// with `qraft admin add-node`); genesis nodes are found by their key.
    pub id: Option<NodeId>,
    /// Addresses that override the genesis ones, by node id.
    pub peers: BTreeMap<NodeId, String>,
    pub tuning: Tuning,
    /// Whether this node dials every voter and is answered on those connections (a
    /// laptop registered with the address `dials-out`, unreachable from outside). A node
    /// whose registration in its chain says so dials out anyway; this is for its first
    /// start, before it has caught up.
    pub dial_out: bool,
}

/// Optional overrides of the replica's defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    pub tick_ms: Option<u64>,
    pub election_ticks: Option<usize>,
    pub heartbeat_ticks: Option<usize>,
    pub max_batch_txs: Option<usize>,
    pub max_batch_delay_ms: Option<u64>,
    pub mempool_capacity: Option<usize>,
    pub snapshot_every_blocks: Option<u64>,
    /// Raft log entries kept behind a snapshot (`ReplicaConfig::log_retention_entries`).
    pub log_retention_entries: Option<u64>,
    pub snapshot_every_txs: Option<u64>,
}

impl Tuning {
    /// Applies the overrides to `config`.
    pub fn apply(&self, config: &mut ReplicaConfig) {
        let Tuning {
            tick_ms,
            election_ticks,
            heartbeat_ticks,
            max_batch_txs,
            max_batch_delay_ms,
            mempool_capacity,
            snapshot_every_blocks,
            log_retention_entries,
            snapshot_every_txs,
        } = self.clone();
        if let Some(v) = tick_ms {
            config.tick_ms = v;
        }
        if let Some(v) = election_ticks {
            config.election_ticks = v;
        }
        if let Some(v) = heartbeat_ticks {
            config.heartbeat_ticks = v;
        }
        if let Some(v) = max_batch_txs {
            config.max_batch_txs = v;
        }
        if let Some(v) = max_batch_delay_ms {
            config.max_batch_delay_ms = v;
        }
        if let Some(v) = mempool_capacity {
            config.mempool_capacity = v;
        }
        if let Some(v) = snapshot_every_blocks {
            config.snapshot_every_blocks = v;
        }
        if let Some(v) = log_retention_entries {
            config.log_retention_entries = v;
        }
        if let Some(v) = snapshot_every_txs {
            config.snapshot_every_txs = v;
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {file}: {source}")]
    Read {
        file: PathBuf,
        source: std::io::Error,
    },
    /// `file:line:column: field: message`
    #[error("{file}:{line}:{column}: {field}: {message}")]
    At {
        file: PathBuf,
        line: usize,
        column: usize,
        field: String,
        message: String,
    },
    #[error("{file}: {message}")]
    File { file: PathBuf, message: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Raw {
    genesis: Spanned<String>,
    key: Spanned<String>,
    data_dir: Spanned<String>,
    listen: Spanned<String>,
    #[serde(default)]
    id: Option<Spanned<i64>>,
    #[serde(default)]
    peers: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    dial_out: bool,
    #[serde(default)]
    tuning: Tuning,
}

impl NodeConfig {
    /// Reads and checks the configuration file at `path`.
    pub fn load(path: &Path) -> Result<NodeConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            file: path.to_path_buf(),
            source,
        })?;
        NodeConfig::parse(&text, path)
    }

    /// Parses configuration `text`, as if read from `file` (for messages and relative
    /// paths).
    pub fn parse(text: &str, file: &Path) -> Result<NodeConfig, ConfigError> {
        let at = |span: Range<usize>, field: &str, message: String| {
            let (line, column) = line_column(text, span.start);
            ConfigError::At {
                file: file.to_path_buf(),
                line,
                column,
                field: field.to_string(),
                message,
            }
        };
        let raw: Raw = toml::from_str(text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let message = e.message().to_string();
            let field = message
                .split('`')
                .nth(1)
                .filter(|_| message.contains("field"))
                .unwrap_or("(file)")
                .to_string();
            at(span, &field, message)
        })?;
        let base = file.parent().unwrap_or(Path::new(""));
        let path = |value: &Spanned<String>, field: &str| {
            if value.get_ref().trim().is_empty() {
                Err(at(value.span(), field, "must not be empty".into()))
            } else {
                Ok(base.join(value.get_ref()))
            }
        };
        let listen = raw.listen.get_ref().parse::<SocketAddr>().map_err(|_| {
            at(
                raw.listen.span(),
                "listen",
                format!(
                    "{:?} is not an address to listen on: write host:port, e.g. \"0.0.0.0:7801\"",
                    raw.listen.get_ref()
                ),
            )
        })?;
        let id = match &raw.id {
            None => None,
            Some(id) => Some(
                u64::try_from(*id.get_ref())
                    .ok()
                    .filter(|id| *id > 0)
                    .ok_or_else(|| at(id.span(), "id", "a node id is a number from 1 up".into()))?,
            ),
        };
        let mut peers = BTreeMap::new();
        for (id, address) in &raw.peers {
            let id: NodeId = id.parse().ok().filter(|id| *id > 0).ok_or_else(|| {
                at(
                    address.span(),
                    &format!("peers.{id}"),
                    "peers are keyed by node id (a number from genesis)".into(),
                )
            })?;
            if !address.get_ref().contains(':') {
                return Err(at(
                    address.span(),
                    &format!("peers.{id}"),
                    format!("{:?} is not host:port", address.get_ref()),
                ));
            }
            peers.insert(id, address.get_ref().clone());
        }
        Ok(NodeConfig {
            file: file.to_path_buf(),
            genesis: path(&raw.genesis, "genesis")?,
            key: path(&raw.key, "key")?,
            data_dir: path(&raw.data_dir, "data_dir")?,
            listen,
            id,
            peers,
            tuning: raw.tuning,
            dial_out: raw.dial_out,
        })
    }
}

/// 1-based line and column of byte `offset` in `text`.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
genesis = "genesis.toml"
key = "keys/node1.key"
data_dir = "data/node1"
listen = "127.0.0.1:7801"

[peers]
2 = "10.0.0.2:7802"

[tuning]
tick_ms = 50
"#;

    #[test]
    fn a_good_file_resolves_paths_against_its_directory() {
        let config = NodeConfig::parse(GOOD, Path::new("/games/p3/node1.toml")).unwrap();
        assert_eq!(config.genesis, PathBuf::from("/games/p3/genesis.toml"));
        assert_eq!(config.key, PathBuf::from("/games/p3/keys/node1.key"));
        assert_eq!(config.data_dir, PathBuf::from("/games/p3/data/node1"));
        assert_eq!(config.listen, "127.0.0.1:7801".parse().unwrap());
        assert_eq!(config.peers[&2], "10.0.0.2:7802");
        let mut replica = ReplicaConfig::new(1);
        config.tuning.apply(&mut replica);
        assert_eq!(replica.tick_ms, 50);
    }

    fn error(text: &str) -> String {
        NodeConfig::parse(text, Path::new("node1.toml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_registered_node_names_its_id() {
        let text = GOOD.replace("[peers]", "id = 7\n\n[peers]");
        let config = NodeConfig::parse(&text, Path::new("node7.toml")).unwrap();
        assert_eq!(config.id, Some(7));
        assert_eq!(
            NodeConfig::parse(GOOD, Path::new("node1.toml")).unwrap().id,
            None
        );
        assert!(!config.dial_out);
        let dialling = GOOD.replace("[peers]", "id = 7\ndial_out = true\n\n[peers]");
        let dialling = NodeConfig::parse(&dialling, Path::new("node7.toml")).unwrap();
        assert!(dialling.dial_out);
        let zero = GOOD.replace("[peers]", "id = 0\n\n[peers]");
        assert_eq!(
            error(&zero),
            "node1.toml:7:6: id: a node id is a number from 1 up"
        );
    }

    #[test]
    fn errors_name_file_line_column_and_field() {
        let bad_listen = GOOD.replace("127.0.0.1:7801", "localhost");
        assert_eq!(
            error(&bad_listen),
            "node1.toml:5:10: listen: \"localhost\" is not an address to listen on: write host:port, e.g. \"0.0.0.0:7801\""
        );
        let unknown = GOOD.replace("tick_ms", "tick_msec");
        let message = error(&unknown);
        assert!(message.starts_with("node1.toml:11:1: "), "{message}");
        assert!(message.contains("tick_msec"), "{message}");
        let missing = GOOD.replace("key = \"keys/node1.key\"\n", "");
        let message = error(&missing);
        assert!(message.contains("key"), "{message}");
        let bad_peer = GOOD.replace("2 = ", "two = ");
        assert!(
            error(&bad_peer).starts_with("node1.toml:8:"),
            "{}",
            error(&bad_peer)
        );
        let empty = GOOD.replace("data/node1", "");
        assert!(error(&empty).contains("data_dir: must not be empty"));
    }
}
