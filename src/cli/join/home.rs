//! Where a laptop keeps what `qraft join` makes and receives: its two keys (made once,
//! never leaving it) and, per game joined, the record of the enrollment, the genesis and
//! the node's data. Running `qraft join` again resumes from here.
//!
//! ```text
//! HOME/                     (the user's data directory/qraft, or --home, or QRAFT_HOME)
//!   keys/participant.key    who this laptop's student trades as (mode 0600)
//!   keys/node.key           this laptop's node
//!   games/<chain prefix>/
//!     join.toml             the enrollment: game, name, node id, the teacher's address
//!     genesis.toml          the game
//!     data/                 the node's chain
//!     qraft.log             the log, while the dashboard owns the terminal
//! ```

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use anyhow::{Context, Result, bail};
use qraft_client::class::grant::{GrantPayload, VoterAddress};
use qraft_keys::Keypair;
use qraft_keys::keyfile::{IfExists, write_key_file};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::types::NodeId;
use serde::{Deserialize, Serialize};

use crate::cli::game::load_genesis;
use crate::cli::keys::open_key;

/// The record's format version.
const VERSION: u32 = 1;

/// A laptop's qraft home.
pub struct Home {
    pub dir: PathBuf,
}

/// The laptop's two keys.
pub struct Identity {
    pub participant: Keypair,
    pub node: Keypair,
    pub participant_file: PathBuf,
}

/// One voter in the record: on the teacher's laptop at `port`, or at `address`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VoterRecord {
    pub id: NodeId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
}

/// `join.toml`: what a laptop was granted, and where it last reached the teacher.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct JoinRecord {
    pub joined: u32,
    pub game: String,
    pub name: String,
    pub node_id: NodeId,
    pub node_name: String,
    /// The teacher's laptop, as last reached: `host` (its voters' host).
    pub teacher: String,
    /// The UDP port this laptop's node listens on (for the student's own tools).
    pub port: u16,
    pub voters: Vec<VoterRecord>,
    /// The class's enrollment port on the teacher's laptop, asked on every resume
    /// whether the class moved on to a next game (records written before next games
    /// lack it: the port before the first voter's, as `qraft class` numbers them).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enroll_port: Option<u16>,
}

/// A game this laptop joined, as found in its home.
pub struct JoinedGame {
    pub dir: PathBuf,
    pub record: JoinRecord,
    pub genesis: Genesis,
}

impl JoinedGame {
    pub fn data_dir(&self) -> PathBuf {
        self.dir.join("data")
    }

    /// Where the class's enrollment port is, if the record knows.
    pub fn enroll_port(&self) -> Option<u16> {
        self.record.enroll_port.or_else(|| {
            let first = self.record.voters.iter().filter_map(|v| v.port).min()?;
            first.checked_sub(1)
        })
    }

    /// Each voter's `host:port`, the teacher's laptop's at `teacher_host`.
    pub fn voter_addresses(&self, teacher_host: &str) -> Vec<(NodeId, String)> {
        self.record
            .voters
            .iter()
            .filter_map(|v| match (&v.address, v.port) {
                (Some(address), _) => Some((v.id, address.clone())),
                (None, Some(port)) => Some((v.id, host_port(teacher_host, port))),
                (None, None) => None,
            })
            .collect()
    }
}

/// `host:port`, with an IPv6 host in brackets.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn private_dir(path: &Path) -> Result<()> {
    DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(path)
        .with_context(|| format!("cannot create {}", path.display()))
}

impl Home {
    /// `given`, else the user's data directory's `qraft`.
    pub fn locate(given: Option<PathBuf>) -> Result<Home> {
        let dir = match given {
            Some(dir) => dir,
            None => dirs::data_dir()
                .context("cannot find your user data directory (is HOME set?); give --home DIR")?
                .join("qraft"),
        };
        Ok(Home { dir })
    }

    /// This laptop's keys, made on first use.
    pub fn identity(&self) -> Result<Identity> {
        let keys = self.dir.join("keys");
        private_dir(&keys)?;
        let key = |name: &str| -> Result<(Keypair, PathBuf)> {
            let path = keys.join(format!("{name}.key"));
            if path.exists() {
                return Ok((open_key(&path)?, path));
            }
            let key = Keypair::generate().context("cannot make a key")?;
            write_key_file(&path, &key, None, IfExists::Refuse)
                .with_context(|| format!("cannot write {}", path.display()))?;
            Ok((key, path))
        };
        let (participant, participant_file) = key("participant")?;
        let (node, _) = key("node")?;
        Ok(Identity {
            participant,
            node,
            participant_file,
        })
    }

    fn games_dir(&self) -> PathBuf {
        self.dir.join("games")
    }

    /// Records a granted enrollment in game `genesis` (chain-id prefix `prefix`), with
    /// its genesis; the game as joined.
    pub fn save(
        &self,
        payload: &GrantPayload,
        genesis: &Genesis,
        prefix: &str,
        teacher: std::net::SocketAddr,
        port: u16,
    ) -> Result<JoinedGame> {
        let teacher_host = teacher.ip().to_string();
        let dir = self.games_dir().join(prefix);
        private_dir(&dir)?;
        let record = JoinRecord {
            joined: VERSION,
            game: payload.game.clone(),
            name: payload.participant.clone(),
            node_id: payload.node_id,
            node_name: payload.node_name.clone(),
            teacher: teacher_host,
            port,
            enroll_port: Some(teacher.port()),
            voters: payload
                .voters
                .iter()
                .map(|v| match &v.address {
                    VoterAddress::TeacherPort(port) => VoterRecord {
                        id: v.id,
                        port: Some(*port),
                        address: None,
                    },
                    VoterAddress::At(address) => VoterRecord {
                        id: v.id,
                        port: None,
                        address: Some(address.clone()),
                    },
                })
                .collect(),
        };
        write(&dir.join("genesis.toml"), &payload.genesis)?;
        self.write_record(&dir, &record)?;
        Ok(JoinedGame {
            dir,
            record,
            genesis: genesis.clone(),
        })
    }

    /// Writes `record` as the game's `join.toml` (after the genesis: a folder whose
    /// writing was cut short is not taken for a joined game).
    pub fn write_record(&self, dir: &Path, record: &JoinRecord) -> Result<()> {
        let text = toml::to_string(record).context("cannot write the join record")?;
        write(
            &dir.join("join.toml"),
            &format!(
                "# This laptop's enrollment in a QRaft game, made by `qraft join`.\n\
                 # `qraft join` resumes it; delete this folder to forget the game.\n{text}"
            ),
        )
    }

    /// Every game joined, the most recently used first.
    pub fn joined(&self) -> Result<Vec<JoinedGame>> {
        let mut games = Vec::new();
        let entries = match fs::read_dir(self.games_dir()) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(games),
            Err(err) => {
                return Err(err)
                    .with_context(|| format!("cannot read {}", self.games_dir().display()));
            }
        };
        let mut found: Vec<(SystemTime, PathBuf)> = Vec::new();
        for entry in entries.flatten() {
            let record = entry.path().join("join.toml");
            if let Ok(meta) = fs::metadata(&record) {
                found.push((
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    entry.path(),
                ));
            }
        }
        found.sort_by_key(|(modified, _)| std::cmp::Reverse(*modified));
        for (_, dir) in found {
            games.push(load(&dir)?);
        }
        Ok(games)
    }
}

fn load(dir: &Path) -> Result<JoinedGame> {
    let path = dir.join("join.toml");
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let record: JoinRecord = toml::from_str(&text).map_err(|err| {
        let at = err
            .span()
            .map(|span| {
                let line = text[..span.start.min(text.len())].lines().count().max(1);
                format!(":{line}")
            })
            .unwrap_or_default();
        anyhow::anyhow!("{}{at}: {}", path.display(), err.message())
    })?;
    if record.joined != VERSION {
        bail!(
            "{}: `joined` must be {VERSION} (written by another version of qraft)",
            path.display()
        );
    }
    let genesis = load_genesis(&dir.join("genesis.toml"))?;
    Ok(JoinedGame {
        dir: dir.to_path_buf(),
        record,
        genesis,
    })
}

fn write(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_client::class::grant::GrantVoter;
    use qraft_node::core::genesis::sample::{SampleOptions, sample_game};

    #[test]
    fn a_granted_game_is_recorded_and_found_again() {
        let home = tempfile::tempdir().unwrap();
        let home = Home {
            dir: home.path().join("qraft"),
        };
        let identity = home.identity().unwrap();
        let again = home.identity().unwrap();
        assert_eq!(identity.participant.public(), again.participant.public());
        assert_ne!(identity.participant.public(), identity.node.public());

        let game = sample_game(&SampleOptions::default());
        let payload = GrantPayload::new(
            "Period 3",
            &game.genesis,
            "Ada",
            9,
            "ada-9",
            vec![
                GrantVoter {
                    id: 1,
                    address: VoterAddress::TeacherPort(7801),
                },
                GrantVoter {
                    id: 2,
                    address: VoterAddress::At("10.1.1.1:7000".into()),
                },
            ],
        );
        let saved = home
            .save(
                &payload,
                &game.genesis,
                "0123456789abcdef",
                "10.0.0.1:7800".parse().unwrap(),
                7810,
            )
            .unwrap();
        assert_eq!(saved.record.node_id, 9);
        let joined = home.joined().unwrap();
        assert_eq!(joined.len(), 1);
        let found = &joined[0];
        assert_eq!(found.record.name, "Ada");
        assert_eq!(found.record.node_id, 9);
        assert_eq!(found.genesis.chain_id(), game.genesis.chain_id());
        assert_eq!(
            found.voter_addresses("10.0.0.2"),
            vec![
                (1, "10.0.0.2:7801".to_owned()),
                (2, "10.1.1.1:7000".to_owned())
            ]
        );
        assert_eq!(host_port("fe80::1", 7801), "[fe80::1]:7801");
    }
}
