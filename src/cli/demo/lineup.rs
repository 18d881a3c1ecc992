//! What a demo game is made of: its symbols, who plays, with what, and which bot runs
//! which strategy. Pure: no keys are made and nothing is written here.

use anyhow::{Result, bail};
use qraft_keys::PublicKey;
use qraft_node::core::genesis::{Genesis, NodeSpec, Rules};
use qraft_node::core::tx::{ParticipantSpec, SymbolSpec};
use qraft_node::core::types::{Cents, Role, Shares, Ticker, Ticks};

/// The game's name, shown in the dashboard and to clients.
pub const GAME_NAME: &str = "QRaft demo";

/// The participant the person at the keyboard trades as.
pub const YOU: &str = "you";
/// The game's administrator (its key is in the folder for `qraft admin ...`).
pub const ADMIN: &str = "admin";

/// Ticker, company, reference price in cents (every symbol has a one-cent tick), in
/// ticker order.
pub const SYMBOLS: [(&str, &str, Ticks); 6] = [
    ("ACME", "Acme Corporation", 1_250),
    ("GLBX", "Globex Industries", 4_800),
    ("HOOL", "Hooli", 8_610),
    ("INIT", "Initech", 725),
    ("UMBR", "Umbrella Pharmaceuticals", 10_340),
    ("WONK", "Wonka Confectionery", 3_160),
];

/// Your starting cash ($10,000.00) and shares of each symbol.
pub const YOUR_CASH: Cents = 1_000_000;
pub const YOUR_SHARES: Shares = 25;

/// Candles of five seconds, so that the price chart moves while you watch.
const CANDLE_MS: u64 = 5_000;

/// The example strategies the demo's bots run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BotKind {
    /// Quotes a bid and an ask in every symbol (`strategies::market_maker`).
    Maker,
    /// Random orders near the mid of a random symbol (`strategies::random`).
    Random,
    /// Follows moving-average crossovers of trade prices (`strategies::momentum`).
    Momentum,
    /// Trades toward each symbol's fundamental value from the game's scenario, and
    /// quotes quietly around the last price without one (`strategies::value_trader`).
    Value,
}

impl BotKind {
    /// The kind of the `index`-th bot (from 0): a maker, a random trader, a value
    /// trader, a momentum trader, a maker again, then value, random and value traders,
    /// and so on in eights: every fourth bot a maker. Two bots (a maker and a random
    /// trader) are enough for trades; the default six have two value traders.
    pub fn of_index(index: usize) -> BotKind {
        match index % 8 {
            0 | 4 => BotKind::Maker,
            1 | 6 => BotKind::Random,
            3 => BotKind::Momentum,
            _ => BotKind::Value,
        }
    }

    /// Every kind, in the order `bot_names` counts them.
    pub const ALL: [BotKind; 4] = [
        BotKind::Maker,
        BotKind::Random,
        BotKind::Momentum,
        BotKind::Value,
    ];

    /// The start of its participants' names: `maker1`, `random2`, ...
    pub fn prefix(self) -> &'static str {
        match self {
            BotKind::Maker => "maker",
            BotKind::Random => "random",
            BotKind::Momentum => "momentum",
            BotKind::Value => "value",
        }
    }

    /// The kind a bot's name says, if any.
    pub fn from_name(name: &str) -> Option<BotKind> {
        BotKind::ALL.into_iter().find(|kind| {
            name.strip_prefix(kind.prefix())
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
    }

    /// Starting cash and shares of each symbol: makers need plenty of both.
    fn funds(self) -> (Cents, Shares) {
        match self {
            BotKind::Maker => (100_000_000, 5_000),
            BotKind::Random => (10_000_000, 1_000),
            BotKind::Momentum => (10_000_000, 500),
            BotKind::Value => (10_000_000, 1_000),
        }
    }
}

/// The first `count` bots: (name, kind).
pub fn bot_names(count: usize) -> Vec<(String, BotKind)> {
    let mut seen = [0usize; BotKind::ALL.len()];
    (0..count)
        .map(|i| {
            let kind = BotKind::of_index(i);
            let n = &mut seen[kind as usize];
            *n += 1;
            (format!("{}{n}", kind.prefix()), kind)
        })
        .collect()
}

/// The symbols' specifications.
pub fn symbols() -> Vec<SymbolSpec> {
    SYMBOLS
        .iter()
        .map(|&(ticker, name, reference_price)| SymbolSpec {
            ticker: Ticker::new(ticker).expect("the demo's tickers are valid"),
            name: name.to_string(),
            tick_size: 1,
            reference_price,
        })
        .collect()
}

/// Who plays: the admin, you, and the bots.
pub struct Players<'a> {
    pub admin: PublicKey,
    pub you: PublicKey,
    pub bots: &'a [(String, BotKind, PublicKey)],
}

/// The demo's genesis: its symbols, the players and three voters at `nodes` (key,
/// address), named node1, node2, ...
pub fn genesis(players: &Players<'_>, nodes: &[(PublicKey, String)]) -> Result<Genesis> {
    let mut participants = vec![
        ParticipantSpec {
            name: ADMIN.to_string(),
            key: players.admin,
            role: Role::Admin,
            cash: 0,
            holdings: vec![],
        },
        ParticipantSpec {
            name: YOU.to_string(),
            key: players.you,
            role: Role::Trader,
            cash: YOUR_CASH,
            holdings: holdings(YOUR_SHARES),
        },
    ];
    participants.extend(bots(players.bots));
    build(GAME_NAME, participants, nodes)
}

/// A classroom's genesis (`qraft class`): the demo's symbols, the teacher as admin
/// (`teacher_name`), the bots, and the voters at `nodes`; students are added as they join.
pub fn class_genesis(
    game: &str,
    teacher_name: &str,
    teacher: PublicKey,
    bot_players: &[(String, BotKind, PublicKey)],
    nodes: &[(PublicKey, String)],
) -> Result<Genesis> {
    let mut participants = vec![ParticipantSpec {
        name: teacher_name.to_string(),
        key: teacher,
        role: Role::Admin,
        cash: 0,
        holdings: vec![],
    }];
    participants.extend(bots(bot_players));
    build(game, participants, nodes)
}

/// The demo's and a class's rules: the defaults, with five-second candles.
pub fn rules() -> Rules {
    Rules {
        candle_ms: CANDLE_MS,
        ..Rules::default()
    }
}

/// `shares` of every symbol, in ticker order (as a genesis lists holdings).
fn holdings(shares: Shares) -> Vec<(Ticker, Shares)> {
    let mut holdings: Vec<(Ticker, Shares)> =
        symbols().iter().map(|s| (s.ticker, shares)).collect();
    holdings.sort();
    holdings
}

fn bots(players: &[(String, BotKind, PublicKey)]) -> Vec<ParticipantSpec> {
    players
        .iter()
        .map(|(name, kind, key)| {
            let (cash, shares) = kind.funds();
            ParticipantSpec {
                name: name.clone(),
                key: *key,
                role: Role::Bot,
                cash,
                holdings: holdings(shares),
            }
        })
        .collect()
}

fn build(
    game: &str,
    participants: Vec<ParticipantSpec>,
    nodes: &[(PublicKey, String)],
) -> Result<Genesis> {
    let voters = nodes
        .iter()
        .zip(1u64..)
        .map(|((key, address), id)| NodeSpec {
            id,
            name: format!("node{id}"),
            key: *key,
            address: address.clone(),
        })
        .collect();
    let genesis = Genesis {
        game: game.to_string(),
        rules: rules(),
        symbols: symbols(),
        participants,
        voters,
        learners: vec![],
        scenario: None,
        previous: None,
    };
    if let Err(violations) = genesis.validate() {
        let problems: Vec<String> = violations.iter().map(ToString::to_string).collect();
        bail!("the game cannot be made: {}", problems.join("; "));
    }
    Ok(genesis)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_keys::Keypair;

    #[test]
    fn the_lineup_starts_with_a_maker_and_a_random_trader() {
        let names = bot_names(6);
        let names: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "maker1",
                "random1",
                "value1",
                "momentum1",
                "maker2",
                "value2"
            ]
        );
        for (name, kind) in bot_names(20) {
            assert_eq!(BotKind::from_name(&name), Some(kind), "{name}");
        }
        assert_eq!(BotKind::from_name("value3"), Some(BotKind::Value));
        assert_eq!(BotKind::from_name("maker"), None);
        assert_eq!(BotKind::from_name("makerx"), None);
        assert_eq!(BotKind::from_name("you"), None);
    }

    #[test]
    fn the_genesis_is_valid_and_funds_everyone() {
        let key = |label: &str| Keypair::from_label(label).public();
        let bots: Vec<(String, BotKind, PublicKey)> = bot_names(6)
            .into_iter()
            .map(|(name, kind)| {
                let k = key(&name);
                (name, kind, k)
            })
            .collect();
        let players = Players {
            admin: key("admin"),
            you: key("you"),
            bots: &bots,
        };
        let nodes: Vec<(PublicKey, String)> = (1..=3)
            .map(|i| (key(&format!("node{i}")), format!("127.0.0.1:{}", 7000 + i)))
            .collect();
        let genesis = genesis(&players, &nodes).unwrap();
        assert_eq!(genesis.symbols.len(), 6);
        assert_eq!(genesis.voters.len(), 3);
        assert_eq!(genesis.participants.len(), 8);
        let you = &genesis.participants[1];
        assert_eq!((you.name.as_str(), you.cash), (YOU, YOUR_CASH));
        assert!(you.holdings.iter().all(|&(_, n)| n == YOUR_SHARES));
    }

    #[test]
    fn every_fourth_bot_is_a_maker_and_value_traders_are_among_them() {
        let kinds: Vec<BotKind> = bot_names(16).into_iter().map(|(_, k)| k).collect();
        for (i, kind) in kinds.iter().enumerate() {
            assert_eq!(*kind == BotKind::Maker, i % 4 == 0, "bot {i}");
        }
        let count = |wanted| kinds.iter().filter(|&&k| k == wanted).count();
        assert_eq!(
            [
                BotKind::Maker,
                BotKind::Random,
                BotKind::Momentum,
                BotKind::Value
            ]
            .map(count),
            [4, 4, 2, 6]
        );
        // A value trader starts with cash and shares to trade both ways.
        let (cash, shares) = BotKind::Value.funds();
        assert!(cash > 0 && shares > 0);
    }
}
