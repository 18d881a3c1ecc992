//! What an approved student's laptop receives, inside the sealed grant: the game's
//! genesis, its node id and name, the voters' addresses (their keys are in the genesis),
//! and the names it was enrolled under. Encoded with postcard; checked on arrival.

use qraft_keys::{ChainId, PublicKey};
use qraft_node::core::genesis::{Genesis, parse_genesis, to_toml};
use qraft_node::core::types::NodeId;
use serde::{Deserialize, Serialize};

/// The grant payload's format version.
pub const GRANT_VERSION: u16 = 1;

/// The longest game, participant or node name a grant may carry (the genesis's own
/// names are checked by its parser).
pub const MAX_PRINTED_NAME: usize = 200;

/// Where a voter is reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum VoterAddress {
    /// On the teacher's laptop, at this UDP port: the student dials the host it reached
    /// the teacher at, whatever this laptop's address is called on the student's network.
    TeacherPort(u16),
    /// Elsewhere, `host:port`.
    At(String),
}

/// One voter of the game, as the student's node dials it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantVoter {
    pub id: NodeId,
    pub address: VoterAddress,
}

/// The grant's payload.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GrantPayload {
    pub version: u16,
    /// The game's name, as the teacher advertises it.
    pub game: String,
    /// The genesis, as TOML (the chain id is computed from it).
    pub genesis: String,
    /// The participant name the student trades under.
    pub participant: String,
    /// The student's node: its id and registered name.
    pub node_id: NodeId,
    pub node_name: String,
    pub voters: Vec<GrantVoter>,
}

/// A grant that does not hold together.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("the grant is not readable: {0}")]
    Garbled(String),
    #[error("the grant is version {0}; this qraft reads version {GRANT_VERSION}: update qraft")]
    Version(u16),
    #[error("the grant's genesis is not valid: {0}")]
    Genesis(String),
    #[error("the grant's genesis is game {found}, but the code was confirmed for game {expected}")]
    OtherGame { expected: String, found: String },
    #[error("the grant names voter {0}, which the genesis does not")]
    UnknownVoter(NodeId),
    #[error("the grant gives node id {0}, which the genesis already gives another node")]
    TakenNodeId(NodeId),
    #[error("the grant names no voter to reach")]
    NoVoters,
}

impl GrantPayload {
    /// The payload for `genesis`.
    pub fn new(
        game: &str,
        genesis: &Genesis,
        participant: &str,
        node_id: NodeId,
        node_name: &str,
        voters: Vec<GrantVoter>,
    ) -> GrantPayload {
        GrantPayload {
            version: GRANT_VERSION,
            game: game.to_owned(),
            genesis: to_toml(genesis),
            participant: participant.to_owned(),
            node_id,
            node_name: node_name.to_owned(),
            voters,
        }
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("a grant always encodes")
    }

    /// Reads a payload received for `chain_id` (the game the code was confirmed for) and
    /// checks it: its genesis is that game, its voters are the genesis's, its node id is
    /// free or (in a class's next game) a learner of the genesis with the laptop's own
    /// `node` key. Returns it with its genesis parsed.
    pub fn decode(
        bytes: &[u8],
        chain_id: &ChainId,
        node: &PublicKey,
    ) -> Result<(GrantPayload, Genesis), GrantError> {
        let payload: GrantPayload =
            postcard::from_bytes(bytes).map_err(|e| GrantError::Garbled(e.to_string()))?;
        if payload.version != GRANT_VERSION {
            return Err(GrantError::Version(payload.version));
        }
        let genesis = parse_genesis(&payload.genesis, "the grant's genesis")
            .map_err(|e| GrantError::Genesis(e.to_string()))?;
        if genesis.chain_id() != *chain_id {
            return Err(GrantError::OtherGame {
                expected: chain_id.to_string(),
                found: genesis.chain_id().to_string(),
            });
        }
        if payload.voters.is_empty() {
            return Err(GrantError::NoVoters);
        }
        // Names the student's screen prints: no control characters (a terminal's escape
        // sequences), nothing longer than a name.
        for (what, text) in [
            ("game name", &payload.game),
            ("participant name", &payload.participant),
            ("node name", &payload.node_name),
        ] {
            if text.chars().any(char::is_control) || text.len() > MAX_PRINTED_NAME {
                return Err(GrantError::Garbled(format!(
                    "its {what} is over {MAX_PRINTED_NAME} bytes or holds control characters"
                )));
            }
        }
        for voter in &payload.voters {
            if !genesis.voters.iter().any(|v| v.id == voter.id) {
                return Err(GrantError::UnknownVoter(voter.id));
            }
        }
        let ours = genesis
            .learners
            .iter()
            .any(|n| n.id == payload.node_id && n.key == *node);
        if genesis.node(payload.node_id).is_some() && !ours {
            return Err(GrantError::TakenNodeId(payload.node_id));
        }
        Ok((payload, genesis))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_node::core::genesis::sample::{SampleOptions, sample_game};

    fn payload(genesis: &Genesis) -> GrantPayload {
        let voters = genesis
            .voters
            .iter()
            .map(|v| GrantVoter {
                id: v.id,
                address: VoterAddress::TeacherPort(7800 + v.id as u16),
            })
            .collect();
        GrantPayload::new("Period 3", genesis, "Ada", 40, "ada-laptop", voters)
    }

    #[test]
    fn a_grant_round_trips_and_is_checked_against_the_confirmed_game() {
        let game = sample_game(&SampleOptions::default());
        let chain = game.genesis.chain_id();
        let grant = payload(&game.genesis);
        let node = qraft_keys::Keypair::from_label("grant/ada-node").public();
        let (read, genesis) = GrantPayload::decode(&grant.encode(), &chain, &node).unwrap();
        assert_eq!(read, grant);
        assert_eq!(genesis.chain_id(), chain);

        let other = sample_game(&SampleOptions {
            traders: 5,
            ..SampleOptions::default()
        });
        let err =
            GrantPayload::decode(&grant.encode(), &other.genesis.chain_id(), &node).unwrap_err();
        assert!(matches!(err, GrantError::OtherGame { .. }), "{err}");

        let mut taken = grant.clone();
        taken.node_id = game.genesis.voters[0].id;
        let err = GrantPayload::decode(&taken.encode(), &chain, &node).unwrap_err();
        assert!(matches!(err, GrantError::TakenNodeId(_)), "{err}");

        let mut stranger = grant.clone();
        stranger.voters[0].id = 99;
        let err = GrantPayload::decode(&stranger.encode(), &chain, &node).unwrap_err();
        assert!(matches!(err, GrantError::UnknownVoter(99)), "{err}");

        let mut escaping = grant.clone();
        escaping.game = "Period 3\u{1b}[2J".into();
        let err = GrantPayload::decode(&escaping.encode(), &chain, &node).unwrap_err();
        assert!(err.to_string().contains("control characters"), "{err}");

        let err = GrantPayload::decode(b"\x05junk", &chain, &node).unwrap_err();
        assert!(matches!(err, GrantError::Garbled(_)), "{err}");
        // A class's next game lists her laptop's node: the grant may give its id, to her.
        let mut next = game.genesis.clone();
        next.learners.push(qraft_node::core::genesis::NodeSpec {
            id: 40,
            name: "ada-40".into(),
            key: node,
            address: qraft_node::core::genesis::DIALS_OUT.into(),
        });
        let carried = payload(&next);
        let (read, _) = GrantPayload::decode(&carried.encode(), &next.chain_id(), &node).unwrap();
        assert_eq!(read.node_id, 40);
        let someone_else = qraft_keys::Keypair::from_label("grant/eve-node").public();
        let err =
            GrantPayload::decode(&carried.encode(), &next.chain_id(), &someone_else).unwrap_err();
        assert!(matches!(err, GrantError::TakenNodeId(40)), "{err}");
    }
}
