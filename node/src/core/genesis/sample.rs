//! A deterministic sample game for tests, simulations and benchmarks.
//!
//! Keys come from [`Keypair::from_label`], so they are the same on every run and must
//! never guard a real game.

use qraft_keys::Keypair;

use super::{Genesis, NodeSpec, Rules};
use crate::core::tx::{ParticipantSpec, SymbolSpec};
use crate::core::types::{Role, Ticker};

/// The tickers of the sample game, in listing order.
pub const SAMPLE_TICKERS: [&str; 12] = [
    "ACME", "BOLT", "CHIP", "DYNA", "ECHO", "FJORD", "GLOW", "HIVE", "IRIS", "JADE", "KITE", "LUMA",
];

/// A sample game: `admin` plus `traders` participants named `t0`, `t1`, ...; `symbols`
/// symbols (at most 12) with a one-cent tick and reference prices from $10 up; `voters`
/// nodes on 127.0.0.1.
#[derive(Clone, Debug)]
pub struct SampleGame {
    pub genesis: Genesis,
    pub admin: Keypair,
    pub traders: Vec<Keypair>,
    pub nodes: Vec<Keypair>,
}

/// Options for [`sample_game`].
#[derive(Clone, Debug)]
pub struct SampleOptions {
    pub traders: usize,
    pub symbols: usize,
    pub voters: usize,
    /// Starting cash per trader, in cents.
    pub cash: i64,
    /// Starting shares of every symbol per trader.
    pub shares: u64,
    pub rules: Rules,
    /// The story the game tells, if any.
    pub scenario: Option<crate::core::scenario::Scenario>,
}

impl Default for SampleOptions {
    fn default() -> Self {
        SampleOptions {
            traders: 4,
            symbols: 3,
            voters: 3,
            cash: 100_000_000, // $1,000,000.00
            shares: 1_000,
            rules: Rules::default(),
            scenario: None,
        }
    }
}

pub fn sample_game(options: &SampleOptions) -> SampleGame {
    let symbols: Vec<SymbolSpec> = SAMPLE_TICKERS
        .iter()
        .take(options.symbols)
        .enumerate()
        .map(|(i, t)| SymbolSpec {
            ticker: Ticker::new(t).expect("sample tickers are valid"),
            name: format!("{} Corporation", t),
            tick_size: 1,
            reference_price: 1_000 + 500 * i as u64,
        })
        .collect();
    let admin = Keypair::from_label("sample/admin");
    let traders: Vec<Keypair> = (0..options.traders)
        .map(|i| Keypair::from_label(&format!("sample/trader/{i}")))
        .collect();
    let nodes: Vec<Keypair> = (0..options.voters)
        .map(|i| Keypair::from_label(&format!("sample/node/{i}")))
        .collect();
    let mut participants = vec![ParticipantSpec {
        name: "admin".into(),
        key: admin.public(),
        role: Role::Admin,
        cash: 0,
        holdings: vec![],
    }];
    participants.extend(traders.iter().enumerate().map(|(i, k)| ParticipantSpec {
        name: format!("t{i}"),
        key: k.public(),
        role: Role::Trader,
        cash: options.cash,
        holdings: symbols.iter().map(|s| (s.ticker, options.shares)).collect(),
    }));
    let voters = nodes
        .iter()
        .enumerate()
        .map(|(i, k)| NodeSpec {
            id: i as u64 + 1,
            name: format!("node{}", i + 1),
            key: k.public(),
            address: format!("127.0.0.1:{}", 7001 + i),
        })
        .collect();
    SampleGame {
        genesis: Genesis {
            game: "Sample game".into(),
            rules: options.rules.clone(),
            symbols,
            participants,
            voters,
            learners: vec![],
            scenario: options.scenario.clone(),
            previous: None,
        },
        admin,
        traders,
        nodes,
    }
}
