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
        let bytes = postcard::to_stdvec(self).expect("encoding into a Vec cannot fail");
        ChainId(Hash32::of("qraft/genesis", &bytes).0)
    }

    /// Voters then learners.
    pub fn nodes(&self) -> impl Iterator<Item = &NodeSpec> {
        self.voters.iter().chain(self.learners.iter())
    }

    pub fn node(&self, id: NodeId) -> Option<&NodeSpec> {
        self.nodes().find(|n| n.id == id)
    }
}
