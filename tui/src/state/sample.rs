//! A fixed sample state for the tests: a few symbols with trades and a book, my account
//! with positions and open orders, a leaderboard, news, blocks, the genesis's rules (see
//! [`super::sample_rules`] for changed ones) and a three-node cluster with one node
//! unreachable.

use qraft_node::api::{Role, Status};
use qraft_node::core::exchange::Candle;
use qraft_node::core::exchange::receipt::PublicTrade;
use qraft_node::core::exchange::views::{
    AccountView, DepthLevel, DepthView, LeaderboardRow, NewsItem, OrderView, PositionView,
    SymbolView,
};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::genesis::sample::{SampleOptions, sample_game};
use qraft_node::core::hash::Hash32;
use qraft_node::core::types::{Role as Who, Session, Side, Ticker};

use super::{BlockLine, Reach, State};

/// 2023-11-14 22:13:20 UTC.
pub const T0: u64 = 1_700_000_000_000;

fn t(s: &str) -> Ticker {
    Ticker::new(s).unwrap()
}

/// The sample game's genesis: four symbols (BOLT with a 5-cent tick), me as `t0`.
pub fn genesis() -> Genesis {
    let mut game = sample_game(&SampleOptions {
        symbols: 4,
        cash: 1_000_000, // $10,000.00
        shares: 100,
        ..SampleOptions::default()
    });
    game.genesis.symbols[1].tick_size = 5;
    game.genesis.symbols[1].reference_price = 300;
    game.genesis
}

/// What every sample participant starts with: $10,000.00 and 100 shares of each symbol
/// at its reference price.
pub const START_WORTH: i64 = 1_700_000;

pub fn me() -> qraft_keys::PublicKey {
    genesis().participants[1].key
}

fn symbol(
    ticker: &str,
    tick_size: i64,
    reference: u64,
    last: Option<u64>,
    volume: u64,
    bid: Option<u64>,
    ask: Option<u64>,
) -> SymbolView {
    SymbolView {
        ticker: t(ticker),
        name: format!("{ticker} Corporation"),
        tick_size,
        reference_price: reference,
        session: Session::Open,
        last_price: last,
        volume,
        best_bid: bid,
        best_ask: ask,
        value: None,
    }
}

fn level(price: u64, quantity: u64, orders: u32) -> DepthLevel {
    DepthLevel {
        price,
        quantity,
        orders,
    }
}

fn status(id: u64, role: Role, commit: u64, applied: u64) -> Status {
    Status {
        id,
        role,
        term: 3,
        leader: Some(1),
        commit_index: commit,
        applied_index: applied,
        last_index: commit,
        height: applied.saturating_sub(4),
        head_hash: Hash32([0xab; 32]),
        state_digest: Hash32([0xcd; 32]),
        voters: vec![1, 2, 3],
        learners: vec![],
        mempool: 0,
        inflight_batches: 0,
        missing_blocks: 0,
        peers: vec![],
    }
}

/// The sample state, at 80x24, focus on the market watch.
pub fn state() -> State {
    let genesis = genesis();
    let mut s = State::new(&genesis, me(), 1, "demo".into());
    s.now_ms = T0 + 120_000;
    s.market.loaded = true;
    let mut dyna = symbol("DYNA", 1, 3000, Some(2950), 800, Some(2945), Some(2960));
    dyna.session = Session::Halted;
    s.market.symbols = vec![
        symbol("ACME", 1, 1200, Some(1250), 12_340, Some(1249), Some(1251)),
        symbol("BOLT", 5, 300, Some(299), 3_200, Some(298), Some(301)),
        symbol("CHIP", 1, 2000, None, 0, None, None),
        dyna,
    ];
    s.market.depth = Some(DepthView {
        symbol: t("ACME"),
        bids: vec![
            level(1249, 200, 2),
            level(1248, 80, 1),
            level(1245, 310, 3),
            level(1240, 1_000, 5),
        ],
        asks: vec![
            level(1251, 120, 3),
            level(1252, 300, 2),
            level(1255, 50, 1),
            level(1260, 500, 4),
        ],
    });
    s.market.candles_of = Some(t("ACME"));
    s.market.candles = (0..40u64)
        .map(|i| {
            let base = 1200 + (i * 7 % 23) + i;
            let open = base;
            let close = if i % 3 == 0 { base - 4 } else { base + 5 };
            Candle {
                start_ms: T0 + i * 60_000,
                open,
                high: open.max(close) + 3,
                low: open.min(close) - 2,
                close,
                volume: 100 + i * 10,
            }
        })
        .collect();
    let trades: Vec<PublicTrade> = (1..=12u64)
        .map(|i| PublicTrade {
            seq: i,
            height: 40 + i,
            timestamp_ms: T0 + i * 5_000,
            symbol: if i % 3 == 0 { t("BOLT") } else { t("ACME") },
            price: if i % 3 == 0 { 299 } else { 1245 + i % 6 },
            quantity: 5 * i,
            aggressor: if i % 2 == 0 { Side::Buy } else { Side::Sell },
        })
        .collect();
    s.market.push_trades(&trades);
    s.market.news = vec![
        NewsItem {
            height: 50,
            timestamp_ms: T0 + 90_000,
            headline: "ACME beats earnings expectations; guidance raised for next quarter".into(),
            symbol: Ticker::new("ACME").ok(),
            text: String::new(),
        },
        NewsItem {
            height: 12,
            timestamp_ms: T0 + 10_000,
            headline: "Trading in DYNA halted pending an announcement".into(),
            symbol: Ticker::new("DYNA").ok(),
            text: String::new(),
        },
    ];
    s.market.leaderboard = vec![
        (1, "t2", Who::Trader, 1_846_250, 400_000),
        (2, "t0", Who::Trader, 1_819_500, 987_500),
        (3, "t1", Who::Trader, 1_765_100, 1_000_000),
        (4, "t3", Who::Trader, 1_702_000, 700_000),
        (1, "mm-bot", Who::Bot, 1_780_000, 1_250_000),
    ]
    .into_iter()
    .map(|(rank, name, role, net_worth, cash)| LeaderboardRow {
        rank,
        name: name.into(),
        role,
        net_worth,
        cash,
        start_worth: START_WORTH,
        return_bps: (net_worth - START_WORTH) * 10_000 / START_WORTH,
        round_returns: vec![],
        round_ranks: vec![],
        round_rank_average: None,
    })
    .collect();
    s.account.view = Some(AccountView {
        key: me(),
        name: "t0".into(),
        role: Who::Trader,
        suspended: false,
        cash: 987_500,
        cash_reserved: 12_450,
        last_nonce: 17,
        commissions_paid: 0,
        start_worth: START_WORTH,
        dividends: 0,
        positions: vec![
            PositionView {
                symbol: t("ACME"),
                shares: 150,
                reserved: 50,
                mark_price: 1250,
                value: 187_500,
            },
            PositionView {
                symbol: t("BOLT"),
                shares: 100,
                reserved: 0,
                mark_price: 299,
                value: 149_500,
            },
            PositionView {
                symbol: t("CHIP"),
                shares: 100,
                reserved: 0,
                mark_price: 2000,
                value: 200_000,
            },
            PositionView {
                symbol: t("DYNA"),
                shares: 100,
                reserved: 0,
                mark_price: 2950,
                value: 295_000,
            },
        ],
        open_orders: vec![
            OrderView {
                id: 41,
                symbol: t("ACME"),
                side: Side::Buy,
                price: 1245,
                remaining: 10,
                original: 10,
                placed_height: 44,
            },
            OrderView {
                id: 42,
                symbol: t("ACME"),
                side: Side::Sell,
                price: 1260,
                remaining: 50,
                original: 80,
                placed_height: 47,
            },
        ],
        net_worth: 1_819_500,
    });
    for h in 45..=52u64 {
        s.chain.push(BlockLine {
            height: h,
            timestamp_ms: T0 + (h - 40) * 10_000,
            tx_count: (h % 5) as u32 + 1,
            hash: format!("{:012x}", h * 0x1f2e3d4c5b),
            proposer: 1,
            mine: u32::from(h == 47 || h == 52),
        });
    }
    s.chain.record_latency(47, 183);
    s.chain.record_latency(52, 96);
    s.rule_history.changes = super::sample_rules::genesis_only();
    let now = s.now_ms;
    for (i, row) in s.cluster.nodes.iter_mut().enumerate() {
        match i {
            0 => {
                row.reach = Reach::Up;
                row.status = Some(status(1, Role::Leader, 310, 310));
                row.heard_ms = Some(now);
            }
            1 => {
                row.reach = Reach::Up;
                row.status = Some(status(2, Role::Follower, 310, 308));
                row.heard_ms = Some(now);
            }
            _ => {
                row.reach = Reach::Down("timed out".into());
                row.status = Some(status(3, Role::Follower, 290, 290));
                row.heard_ms = Some(now - 7_000);
            }
        }
    }
    s
}
