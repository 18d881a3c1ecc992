//! The report's model: everything the files say, computed by watching the real
//! [`Ledger`] replay the chain block by block ([`ReportBuilder::block`]) and reading its
//! final state ([`ReportBuilder::finish`]). Integers only: the same chain gives the same
//! model, and so byte-identical files.

use std::collections::{BTreeMap, HashMap};

use qraft_keys::PublicKey;
use qraft_node::core::exchange::scoring::Ranking;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::ledger::{AppliedBlock, Ledger};
use qraft_node::core::types::{Cents, Role, Shares, Ticks};
use serde::{Deserialize, Serialize};

use super::sample::Sampler;
use super::secret::SecretReveal;

/// The format tag at the top of report.json, for readers to check.
pub const FORMAT: &str = "qraft-report/1";
/// Net-worth points per participant: a line across a printed page needs no more, and
/// the report stays small with a class of thirty and a dozen bots.
pub const MAX_WORTH_POINTS: usize = 300;
/// Price points per symbol: finer than a page can show, small enough for many symbols.
pub const MAX_PRICE_POINTS: usize = 1_000;
/// News items kept: a scenario has at most 500 events, and the teacher's own headlines
/// come on top; past this the earliest are kept and the rest counted.
pub const MAX_REPORT_NEWS: usize = 1_000;

/// The whole report: what report.json holds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub format: String,
    pub game: GameInfo,
    /// The scenario's secret, checked against the genesis's commitment.
    pub secret: Option<SecretReveal>,
    /// Students (ranked among themselves), then bots; admins are not in it.
    pub participants: Vec<ParticipantReport>,
    pub symbols: Vec<SymbolReport>,
    pub news: Vec<NewsEntry>,
    /// News items past [`MAX_REPORT_NEWS`] left out.
    pub news_left_out: u64,
    /// The block times of every participant's `net_worth_history`, ms since the epoch.
    pub net_worth_times_ms: Vec<u64>,
    /// The other files' blake3 hashes (hex), by name: report.csv, report.html.
    pub files: BTreeMap<String, String>,
}

/// The game and the chain the report is of.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct GameInfo {
    pub name: String,
    pub chain_id: String,
    /// The last block replayed.
    pub height: u64,
    pub head_hash: String,
    pub head_time_ms: u64,
    /// The first block's time (none without blocks).
    pub first_time_ms: Option<u64>,
    pub game_over: bool,
    pub scenario: Option<ScenarioInfo>,
    /// For a class's next game: the earlier game it starts from (`[previous]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<PreviousInfo>,
}

/// The earlier game a class's next game starts from: its chain and final block.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousInfo {
    pub chain_id: String,
    pub height: u64,
    pub block_hash: String,
}

/// The game's scenario: its name and rounds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScenarioInfo {
    pub name: String,
    pub description: String,
    /// When game time started (block time, ms since the epoch).
    pub started_ms: Option<u64>,
    pub rounds: Vec<RoundInfo>,
}

/// One round, in game time (ms from the scenario's start).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundInfo {
    pub name: String,
    pub opens_at_ms: u64,
    pub closes_at_ms: u64,
}

/// A student's or bot's results.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantReport {
    pub name: String,
    /// `student` or `bot`.
    pub role: String,
    pub key: String,
    pub suspended: bool,
    /// By return, within its group (students, or bots); equal returns share a rank.
    pub rank: u32,
    pub start_worth_cents: Cents,
    pub net_worth_cents: Cents,
    pub profit_cents: Cents,
    /// Return in basis points (1 = 0.01%).
    pub return_bps: i64,
    pub rounds: Vec<RoundResult>,
    /// The average round rank, in hundredths (150 = 1.50).
    pub round_rank_average: Option<u32>,
    /// Trades it was on one side of.
    pub trades: u64,
    /// Shares it bought and sold.
    pub volume: Shares,
    pub commissions_cents: Cents,
    pub dividends_cents: Cents,
    pub cash_cents: Cents,
    pub positions: Vec<PositionReport>,
    /// Net worth at each of `Report::net_worth_times_ms` (none before it joined).
    pub net_worth_history: Vec<Option<Cents>>,
}

/// One closed round's result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoundResult {
    /// From 0.
    pub round: u16,
    pub return_bps: i64,
    pub rank: u32,
}

/// A final position at the final price.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PositionReport {
    pub symbol: String,
    pub shares: i64,
    pub price_ticks: Ticks,
    pub value_cents: Cents,
}

/// A symbol: its final price and its price over the game.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolReport {
    pub ticker: String,
    pub name: String,
    pub tick_size_cents: Cents,
    pub reference_price_ticks: Ticks,
    /// The last traded price, else the reference price.
    pub final_price_ticks: Ticks,
    /// The scenario's last word on its value.
    pub value_ticks: Option<Ticks>,
    pub volume: Shares,
    /// (block time in ms, price in ticks): the price as marked at that time.
    pub prices: Vec<(u64, Ticks)>,
}

/// A headline, for marking on charts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewsEntry {
    pub height: u64,
    pub time_ms: u64,
    pub symbol: Option<String>,
    pub headline: String,
    pub text: String,
}

/// Watches a replay and builds the [`Report`].
#[derive(Debug)]
pub struct ReportBuilder {
    /// Trades and shares per participant key.
    activity: HashMap<PublicKey, (u64, Shares)>,
    /// Participants' names in the order they joined; the index of their worth.
    names: Vec<String>,
    name_index: HashMap<String, usize>,
    worths: Sampler<Vec<Cents>>,
    prices: Sampler<Vec<Ticks>>,
    news: Vec<NewsEntry>,
    news_left_out: u64,
    first_time_ms: Option<u64>,
    /// The report hash the chain records, and the block that recorded it.
    recorded: Option<(qraft_node::core::hash::Hash32, u64)>,
}

impl Default for ReportBuilder {
    fn default() -> Self {
        ReportBuilder::new()
    }
}

impl ReportBuilder {
    pub fn new() -> ReportBuilder {
        ReportBuilder {
            activity: HashMap::new(),
            names: Vec::new(),
            name_index: HashMap::new(),
            worths: Sampler::new(MAX_WORTH_POINTS),
            prices: Sampler::new(MAX_PRICE_POINTS),
            news: Vec::new(),
            news_left_out: 0,
            first_time_ms: None,
            recorded: None,
        }
    }

    /// The report hash the chain recorded so far, and at which block.
    pub fn recorded(&self) -> Option<(qraft_node::core::hash::Hash32, u64)> {
        self.recorded
    }

    /// A block just applied to `ledger`.
    pub fn block(&mut self, ledger: &Ledger, applied: &AppliedBlock) {
        let header = &applied.block.header;
        let time = header.timestamp_ms;
        self.first_time_ms.get_or_insert(time);
        let exchange = ledger.exchange();
        for trade in &applied.trades {
            for key in [trade.buyer, trade.seller] {
                let entry = self.activity.entry(key).or_default();
                entry.0 += 1;
                entry.1 += trade.quantity;
            }
        }
        let known = self.names.len();
        for key in exchange.participant_keys().skip(known) {
            if let Some(account) = exchange.account(key) {
                self.name_index
                    .insert(account.name.clone(), self.names.len());
                self.names.push(account.name);
            }
        }
        let mut worths = vec![0; self.names.len()];
        for row in exchange.scores(Ranking::NetWorth) {
            if let Some(&i) = self.name_index.get(&row.name) {
                worths[i] = row.net_worth;
            }
        }
        self.worths.observe(time, worths);
        let prices = exchange
            .symbols()
            .iter()
            .map(|s| s.last_price.unwrap_or(s.reference_price))
            .collect();
        self.prices.observe(time, prices);
        let mut fresh: Vec<NewsEntry> = exchange
            .news()
            .into_iter()
            .take_while(|n| n.height == header.height)
            .map(|n| NewsEntry {
                height: n.height,
                time_ms: n.timestamp_ms,
                symbol: n.symbol.map(|s| s.to_string()),
                headline: n.headline,
                text: n.text,
            })
            .collect();
        fresh.reverse();
        for item in fresh {
            if self.news.len() < MAX_REPORT_NEWS {
                self.news.push(item);
            } else {
                self.news_left_out += 1;
            }
        }
        if self.recorded.is_none()
            && let Some(hash) = exchange.report_hash()
        {
            self.recorded = Some((hash, header.height));
        }
    }

    /// The report of the chain `ledger` holds now, from `genesis`.
    pub fn finish(
        self,
        genesis: &Genesis,
        ledger: &Ledger,
        secret: Option<SecretReveal>,
    ) -> Report {
        let exchange = ledger.exchange();
        let head = ledger.head();
        let scenario = exchange.scenario().map(|s| ScenarioInfo {
            name: s.name,
            description: s.description,
            started_ms: s.started_ms,
            rounds: s
                .rounds
                .into_iter()
                .map(|r| RoundInfo {
                    name: r.name,
                    opens_at_ms: r.opens_at_ms,
                    closes_at_ms: r.closes_at_ms,
                })
                .collect(),
        });
        let worth_series = self.worths.finish();
        let keys: HashMap<String, PublicKey> = exchange
            .participant_keys()
            .filter_map(|k| exchange.account(k).map(|a| (a.name, *k)))
            .collect();
        let participants = exchange
            .scores(Ranking::Return)
            .into_iter()
            .filter_map(|row| {
                let key = keys.get(&row.name)?;
                let account = exchange.account(key)?;
                let index = self.name_index.get(&row.name).copied();
                let (trades, volume) = self.activity.get(key).copied().unwrap_or_default();
                let rounds = row
                    .round_returns
                    .iter()
                    .map(|&(round, return_bps)| RoundResult {
                        round,
                        return_bps,
                        rank: row
                            .round_ranks
                            .iter()
                            .find(|(r, _)| *r == round)
                            .map_or(0, |&(_, rank)| rank),
                    })
                    .collect();
                Some(ParticipantReport {
                    role: match row.role {
                        Role::Bot => "bot",
                        _ => "student",
                    }
                    .into(),
                    key: key.to_string(),
                    suspended: account.suspended,
                    rank: row.rank,
                    start_worth_cents: row.start_worth,
                    net_worth_cents: row.net_worth,
                    profit_cents: row.net_worth.saturating_sub(row.start_worth),
                    return_bps: row.return_bps,
                    rounds,
                    round_rank_average: row.round_rank_average,
                    trades,
                    volume,
                    commissions_cents: account.commissions_paid,
                    dividends_cents: account.dividends,
                    cash_cents: account.cash,
                    positions: account
                        .positions
                        .iter()
                        .filter(|p| p.shares != 0)
                        .map(|p| PositionReport {
                            symbol: p.symbol.to_string(),
                            shares: p.shares,
                            price_ticks: p.mark_price,
                            value_cents: p.value,
                        })
                        .collect(),
                    net_worth_history: worth_series
                        .iter()
                        .map(|(_, worths)| index.and_then(|i| worths.get(i).copied()))
                        .collect(),
                    name: row.name,
                })
            })
            .collect();
        let price_series = self.prices.finish();
        let symbols = exchange
            .symbols()
            .into_iter()
            .enumerate()
            .map(|(i, s)| SymbolReport {
                ticker: s.ticker.to_string(),
                name: s.name,
                tick_size_cents: s.tick_size,
                reference_price_ticks: s.reference_price,
                final_price_ticks: s.last_price.unwrap_or(s.reference_price),
                value_ticks: s.value,
                volume: s.volume,
                prices: price_series
                    .iter()
                    .filter_map(|(t, prices)| prices.get(i).map(|p| (*t, *p)))
                    .collect(),
            })
            .collect();
        Report {
            format: FORMAT.into(),
            game: GameInfo {
                name: genesis.game.clone(),
                chain_id: ledger.chain_id().to_string(),
                height: head.height,
                head_hash: head.hash.to_hex(),
                head_time_ms: head.timestamp_ms,
                first_time_ms: self.first_time_ms,
                game_over: exchange.is_game_over(),
                scenario,
                previous: genesis.previous.as_ref().map(|p| PreviousInfo {
                    chain_id: p.chain.to_string(),
                    height: p.height,
                    block_hash: p.block.to_hex(),
                }),
            },
            secret,
            participants,
            symbols,
            news: self.news,
            news_left_out: self.news_left_out,
            net_worth_times_ms: worth_series.iter().map(|(t, _)| *t).collect(),
            files: BTreeMap::new(),
        }
    }
}
