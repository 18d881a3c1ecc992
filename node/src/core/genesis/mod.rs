//! The genesis: everything a game starts from, and the chain id that names it.
//!
//! Teachers edit it as TOML ([`parse`]); every node derives the same [`Genesis`] value
//! from it, and the chain id is the hash of that value's canonical (postcard) encoding,
//! so comments, spacing and key order in the file do not change the chain.
//!
//! - [`parse`]: TOML text to a validated [`Genesis`], with errors naming file, line and
//!   field; and a scenario file (the teacher's, with its secret) to a [`ScenarioFile`],
//!   checked against the game's symbols and rules.
//! - [`emit`]: a [`Genesis`] as a commented TOML file that [`parse`] reads back, and a
//!   scenario as a scenario file.
//! - [`validate`]: the rules every genesis satisfies (unique names and keys, an admin, 1
//!   to 7 voters, sane trading rules, a scenario whose events name listed symbols and
//!   happen within the game, ...).
//! - [`sample`]: a deterministic sample game for tests, simulations and benchmarks.

pub mod emit;
pub mod parse;
pub mod sample;
pub mod validate;

use qraft_keys::{ChainId, PublicKey};
use serde::{Deserialize, Serialize};

use super::hash::Hash32;
use super::scenario::Scenario;
use super::tx::{ParticipantSpec, SymbolSpec};
use super::types::{Cents, NodeId, Shares};

pub use emit::{scenario_to_toml, to_toml};
pub use parse::{Diagnostic, GenesisError, ScenarioFile, parse_genesis, parse_scenario};
pub use validate::Violation;

/// A whole game's starting point.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Genesis {
    /// The game's name, shown to participants.
    pub game: String,
    pub rules: Rules,
    pub symbols: Vec<SymbolSpec>,
    pub participants: Vec<ParticipantSpec>,
    /// The Raft voters (3 or 5 in a classroom).
    pub voters: Vec<NodeSpec>,
    /// Full, verifying replicas that do not vote (every other laptop).
    pub learners: Vec<NodeSpec>,
    /// The story the game tells: rounds and scheduled events; none for a free market.
    pub scenario: Option<Scenario>,
    /// The game this one follows, for a class's next game (`qraft class --next`): none
    /// for a first game. Left out of the encoding when none, so a first game's chain id
    /// is what it was before this field existed. (Genesis is never decoded from postcard:
    /// its TOML file is its only stored form.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousGame>,
}

/// A genesis's fields but `previous`, in their order: the whole of a first game's
/// encoding.
#[derive(Deserialize)]
struct FirstGame {
    game: String,
    rules: Rules,
    symbols: Vec<SymbolSpec>,
    participants: Vec<ParticipantSpec>,
    voters: Vec<NodeSpec>,
    learners: Vec<NodeSpec>,
    scenario: Option<Scenario>,
}

/// Where a class's next game starts from: the earlier game's chain and its final block.
/// Part of the chain id, so the new game names the exact end of the old one, and anyone
/// holding the old chain can check that block is in it (`qraft verify --previous`). The
/// class's names and keys carry over; balances start afresh.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousGame {
    /// The earlier game's chain id.
    pub chain: ChainId,
    /// Its final block's height (0: it ended with no block after its genesis).
    pub height: u64,
    /// Its final block's hash (for height 0, the earlier game's chain id).
    pub block: Hash32,
}

/// A node of the network.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeSpec {
    /// Raft id: non-zero, unique among voters and learners.
    pub id: NodeId,
    pub name: String,
    /// The node's own ed25519 key; its TLS certificate is made from it.
    pub key: PublicKey,
    /// Where other nodes reach it, `host:port`, or [`DIALS_OUT`] for a node no one can
    /// reach (a student's laptop).
    pub address: String,
}

/// The address of a node that has no address others can reach (a laptop behind the
/// school Wi-Fi's client isolation, on a DHCP lease that changes): it dials the voters
/// itself, and they answer on its connections. Only a learner may have it; a voter must
/// be reachable by every other node.
pub const DIALS_OUT: &str = "dials-out";

impl NodeSpec {
    /// Whether this node dials out ([`DIALS_OUT`]): others never dial it.
    pub fn dials_out(&self) -> bool {
        self.address == DIALS_OUT
    }
}

/// Why node `spec` may not become a voter, if it may not: a node that dials out cannot
/// be dialled by the other voters and learners, which every voter must be.
pub fn promotion_refusal(spec: &NodeSpec) -> Option<String> {
    spec.dials_out().then(|| {
        format!(
            "node {} ({}) dials out (its address is {DIALS_OUT:?}): other voters and learners \
             must be able to dial a voter, so it can only be a learner; register a node \
             with a reachable host:port to make it a voter",
            spec.id, spec.name
        )
    })
}

/// The game's trading rules.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rules {
    /// Whether participants may sell shares they do not have.
    pub short_selling: bool,
    /// With short selling, the most shares of one symbol a participant may be short.
    pub max_short_shares: Shares,
    /// The largest quantity one order may have.
    pub max_order_shares: Shares,
    /// Market orders never trade further than this from the last price, in basis points
    /// (1000 = 10%).
    pub price_band_bps: u32,
    /// Whether the market is open from the first block (otherwise an admin opens it).
    pub open_at_start: bool,
    /// Candle length for price charts, in milliseconds of block time.
    pub candle_ms: u64,
    /// The most shares of one symbol a participant may hold, open buys counted; 0 for no
    /// limit.
    pub max_position_shares: Shares,
    /// The most orders a participant may place in any minute of block time; 0 for no
    /// limit.
    pub max_orders_per_minute: u32,
    /// Cash an order pays the first time it trades, in cents (a ticket charge).
    pub commission_per_order: Cents,
    /// Cash an order pays for each share it trades, in cents.
    pub commission_per_share: Cents,
    /// Whether participants see an empty leaderboard until the game ends (the teacher's
    /// choice: a race to the top can crowd out the lesson). Every score is still on the
    /// chain; this is what the game shows, not a secret.
    pub leaderboard_hidden: bool,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            short_selling: false,
            max_short_shares: 0,
            max_order_shares: 10_000,
            price_band_bps: 1_000,
            open_at_start: true,
            candle_ms: 60_000,
            max_position_shares: 0,
            max_orders_per_minute: 0,
            commission_per_order: 0,
            commission_per_share: 0,
            leaderboard_hidden: false,
        }
    }
}

impl Genesis {
    /// The hash of the canonical encoding: names this game's chain.
    pub fn chain_id(&self) -> ChainId {
        ChainId(Hash32::of("qraft/genesis", &self.encode()).0)
    }

    /// The canonical encoding (postcard): what the chain id hashes and a node's store
    /// keeps. A first game's ends after `scenario`; a next game's adds its `previous`.
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Reads back [`Genesis::encode`]'s bytes, all of them. (Serde's derived decoding
    /// cannot stop early at a first game's end, so `previous` is read here by hand.)
    pub fn decode(bytes: &[u8]) -> Result<Genesis, String> {
        let (first, rest): (FirstGame, &[u8]) =
            postcard::take_from_bytes(bytes).map_err(|e| e.to_string())?;
        let previous = match rest {
            [] => None,
            rest => {
                let (previous, left): (Option<PreviousGame>, &[u8]) =
                    postcard::take_from_bytes(rest).map_err(|e| e.to_string())?;
                if !left.is_empty() || previous.is_none() {
                    return Err(format!("{} bytes left over after the end", rest.len()));
                }
                previous
            }
        };
        Ok(Genesis {
            game: first.game,
            rules: first.rules,
            symbols: first.symbols,
            participants: first.participants,
            voters: first.voters,
            learners: first.learners,
            scenario: first.scenario,
            previous,
        })
    }

    /// Voters then learners.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeSpec> {
        self.voters.iter().chain(self.learners.iter())
    }

    pub fn node(&self, id: NodeId) -> Option<&NodeSpec> {
        self.nodes().find(|n| n.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::sample::{SampleOptions, sample_game};
    use super::*;

    /// The genesis as it was before `previous`: a first game's encoding must not change,
    /// or every class and demo folder made earlier would name another chain.
    #[derive(Serialize)]
    struct Before<'g> {
        game: &'g String,
        rules: &'g Rules,
        symbols: &'g Vec<SymbolSpec>,
        participants: &'g Vec<ParticipantSpec>,
        voters: &'g Vec<NodeSpec>,
        learners: &'g Vec<NodeSpec>,
        scenario: &'g Option<Scenario>,
    }

    #[test]
    fn a_first_game_keeps_its_chain_id_and_a_next_game_names_its_previous() {
        let genesis = sample_game(&SampleOptions::default()).genesis;
        let before = Before {
            game: &genesis.game,
            rules: &genesis.rules,
            symbols: &genesis.symbols,
            participants: &genesis.participants,
            voters: &genesis.voters,
            learners: &genesis.learners,
            scenario: &genesis.scenario,
        };
        let bytes = postcard::to_stdvec(&before).unwrap();
        assert_eq!(
            genesis.chain_id(),
            ChainId(Hash32::of("qraft/genesis", &bytes).0)
        );

        let previous = PreviousGame {
            chain: genesis.chain_id(),
            height: 812,
            block: Hash32([9; 32]),
        };
        let next = Genesis {
            previous: Some(previous.clone()),
            ..genesis.clone()
        };
        assert_ne!(next.chain_id(), genesis.chain_id());
        assert_eq!(Genesis::decode(&genesis.encode()).unwrap(), genesis);
        assert_eq!(Genesis::decode(&next.encode()).unwrap(), next);
        let mut longer = next.encode();
        longer.push(0);
        assert!(Genesis::decode(&longer).is_err());
        let mut none_written = genesis.encode();
        none_written.push(0);
        assert!(Genesis::decode(&none_written).is_err());
        let other_block = Genesis {
            previous: Some(PreviousGame {
                block: Hash32([8; 32]),
                ..previous
            }),
            ..genesis
        };
        assert_ne!(other_block.chain_id(), next.chain_id());
    }
}
