//! The node side of the dashboard: everything it shows comes from here as [`Action`]s,
//! and every [`Command`] that needs the node is carried out here. This is the only code
//! in the crate that talks to the node (its in-process [`Handle`], and other nodes over
//! QUIC for the cluster panel).
//!
//! - this file: [`Feed`]: loading the market, my account, the rules and the scenario,
//!   following the node's events.
//! - `submit`: my transactions through the client crate's session on the handle
//!   ([`qraft_client::session::Session`]: signing, ordering, retrying, settling), and
//!   reporting each answer.
//! - `cluster`: every node's status, once a second: the local one through the handle,
//!   the others over QUIC as this participant.
//! - `class`: the class service of `qraft class`, when there is one (the teacher's
//!   Class panel): its views in, the panel's commands out.

mod class;
mod cluster;
mod submit;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qraft_keys::{Keypair, PublicKey};
use qraft_node::api::{Handle, MarketView, NodeEvent, QueryError};
use qraft_node::core::exchange::receipt::{PublicTrade, Trade};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::ledger::AppliedBlock;
use qraft_node::core::tx::{AdminAction, TxBody};
use qraft_node::core::types::{NodeId, Side, Ticker};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use crate::ClassLink;
use crate::action::{Action, MyFill};
use crate::command::Command;
use crate::state::BlockLine;

pub use class::ClassFeed;
pub use submit::Submitter;

/// How many book levels a side shows.
pub const DEPTH_LEVELS: usize = 12;
/// How many trades the tape is loaded with.
const TAPE_LOAD: usize = 100;
/// How many recent blocks the block feed is loaded with.
const BLOCKS_LOAD: u64 = 40;
/// Refreshes after blocks are at most this frequent; blocks in between are folded in.
const REFRESH_EVERY: Duration = Duration::from_millis(150);

/// What the feed needs to know.
#[derive(Clone)]
pub struct FeedConfig {
    pub handle: Handle,
    pub keypair: Keypair,
    pub genesis: Genesis,
    /// Where to reach each node of the game for the cluster panel (`host:port`).
    pub addresses: BTreeMap<NodeId, String>,
}

/// The running feed: its tasks end when it is dropped.
pub struct Feed {
    tasks: JoinSet<()>,
    watched: Arc<Mutex<Option<Ticker>>>,
    submitter: Submitter,
    class: Option<ClassFeed>,
    config: FeedConfig,
    actions: UnboundedSender<Action>,
}

impl Feed {
    /// Starts loading and following (the class too, with a `class` link: its view as it
    /// is now is the first action sent). Must be called inside a tokio runtime.
    pub fn start(
        config: FeedConfig,
        class: Option<ClassLink>,
        actions: UnboundedSender<Action>,
    ) -> Feed {
        let watched = Arc::new(Mutex::new(config.genesis.symbols.first().map(|s| s.ticker)));
        let mut tasks = JoinSet::new();
        let follower = Follower {
            handle: config.handle.clone(),
            me: config.keypair.public(),
            watched: watched.clone(),
            actions: actions.clone(),
        };
        tasks.spawn(follower.run());
        tasks.spawn(cluster::poll(config.clone(), actions.clone()));
        let submitter = Submitter::new(&config, actions.clone());
        let class = class.map(|link| ClassFeed::start(link, actions.clone(), &mut tasks));
        Feed {
            tasks,
            watched,
            submitter,
            class,
            config,
            actions,
        }
    }

    /// Carries out a command of [`crate::update::update`] (quitting is the app's).
    pub fn handle_command(&mut self, command: Command) {
        match command {
            Command::Submit { request, body } => self.submitter.submit(request, body),
            Command::Watch(ticker) => {
                // Forget the symbol loads that have finished.
                while self.tasks.try_join_next().is_some() {}
                *self.watched.lock().unwrap_or_else(|e| e.into_inner()) = Some(ticker);
                let handle = self.config.handle.clone();
                let actions = self.actions.clone();
                self.tasks.spawn(async move {
                    let _ = load_symbol(&handle, ticker, &actions).await;
                });
            }
            Command::Class(command) => {
                if let Some(class) = &self.class {
                    class.send(command);
                }
            }
            Command::Quit => {}
        }
    }

    /// Stops every task of the feed now.
    pub fn stop(&mut self) {
        self.submitter.stop();
        self.tasks.abort_all();
    }
}

impl Drop for Feed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Follows the node's events and keeps the dashboard's data fresh.
struct Follower {
    handle: Handle,
    me: PublicKey,
    watched: Arc<Mutex<Option<Ticker>>>,
    actions: UnboundedSender<Action>,
}

/// What a run of blocks asks to be reloaded.
#[derive(Default)]
struct Stale {
    market: bool,
    news: bool,
    book: bool,
    /// A block put new rules in force.
    rules: bool,
    /// The scenario may have taken a step (a round opening or closing, an event).
    scenario: bool,
}

impl Stale {
    fn any(&self) -> bool {
        self.market || self.news || self.book || self.rules || self.scenario
    }
}

impl Follower {
    fn watched(&self) -> Option<Ticker> {
        *self.watched.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn run(self) {
        let mut events = self.handle.subscribe();
        if let Err(QueryError::Stopped(_)) = self.load_all().await {
            let _ = self.actions.send(Action::NodeStopped);
            return;
        }
        let mut stale = Stale::default();
        // When what is stale is reloaded: at most REFRESH_EVERY after it first went stale,
        // however busy the chain.
        let mut refresh_at: Option<tokio::time::Instant> = None;
        loop {
            if stale.any() {
                let at =
                    *refresh_at.get_or_insert_with(|| tokio::time::Instant::now() + REFRESH_EVERY);
                if tokio::time::Instant::now() >= at {
                    refresh_at = None;
                    // A busy node: what was stale is reloaded after the next block.
                    if let Err(QueryError::Stopped(_)) =
                        self.refresh(&std::mem::take(&mut stale)).await
                    {
                        break;
                    }
                    continue;
                }
            }
            let event = match refresh_at {
                Some(at) => match tokio::time::timeout_at(at, events.recv()).await {
                    Ok(event) => event,
                    Err(_) => continue,
                },
                None => events.recv().await,
            };
            match event {
                Ok(NodeEvent::Block(block)) => {
                    self.send(Action::Block(block_line(&block, &self.me)));
                    self.mark_stale(&block, &mut stale);
                }
                Ok(NodeEvent::Trades(trades)) => {
                    let public: Vec<PublicTrade> = trades.iter().map(Trade::public).collect();
                    self.send(Action::NewTrades(public));
                    let mine = my_fills(&trades, &self.me);
                    if !mine.is_empty() {
                        self.send(Action::MyFills(mine));
                    }
                }
                Ok(NodeEvent::BookChanged { symbols, all }) => {
                    if all || self.watched().is_some_and(|w| symbols.contains(&w)) {
                        stale.book = true;
                    }
                }
                Ok(NodeEvent::SnapshotInstalled { .. }) | Err(RecvError::Lagged(_)) => {
                    if let Err(QueryError::Stopped(_)) = self.load_all().await {
                        break;
                    }
                }
                Ok(_) => {}
                Err(RecvError::Closed) => break,
            }
        }
        let _ = self.actions.send(Action::NodeStopped);
    }

    fn send(&self, action: Action) {
        let _ = self.actions.send(action);
    }

    fn mark_stale(&self, block: &AppliedBlock, stale: &mut Stale) {
        stale.market = true;
        // A scenario's steps are taken at block times, without a transaction, and tell
        // of themselves in the news.
        stale.scenario = true;
        stale.news = true;
        for tx in &block.block.txs {
            if let TxBody::Admin(_) = tx.tx.body {
                stale.news = true;
                stale.book = true;
            }
        }
        stale.rules |= sets_rules(block);
        if block.scenario_steps > 0 {
            // A round opened or closed, news or a dividend came, a rule changed.
            stale.news = true;
            stale.book = true;
            stale.rules = true;
        }
    }

    /// Everything, from scratch.
    async fn load_all(&self) -> Result<(), QueryError> {
        self.refresh(&Stale {
            market: true,
            news: true,
            book: true,
            rules: true,
            scenario: true,
        })
        .await?;
        let trades = self.handle.recent_trades(None, TAPE_LOAD).await?;
        self.send(Action::TradesSnapshot(trades));
        let head = self.handle.status().await?.height;
        let mut lines = Vec::new();
        for height in (head.saturating_sub(BLOCKS_LOAD) + 1..=head).rev() {
            // A node that caught up by snapshot lacks the blocks before it.
            let Some(block) = self.handle.block(height).await? else {
                break;
            };
            let mine = block.txs.iter().filter(|t| t.tx.signer == self.me).count() as u32;
            lines.push(BlockLine {
                height,
                timestamp_ms: block.header.timestamp_ms,
                tx_count: block.header.tx_count,
                hash: hex_prefix(block.hash().0.as_slice()),
                proposer: block.header.proposer,
                mine,
            });
        }
        self.send(Action::Blocks(lines));
        Ok(())
    }

    async fn refresh(&self, stale: &Stale) -> Result<(), QueryError> {
        if stale.market {
            let MarketView {
                symbols,
                session,
                game_over,
            } = self.handle.market().await?;
            let tickers: Vec<Ticker> = symbols.iter().map(|s| s.ticker).collect();
            let symbols_len = tickers.len();
            self.send(Action::Market {
                symbols,
                session,
                game_over,
            });
            self.send(Action::Account(self.handle.account(self.me).await?));
            self.send(Action::Leaderboard(self.handle.leaderboard().await?));
            if let Some(ticker) = self.watched() {
                let candles = self.handle.candles(ticker).await?;
                self.send(Action::Candles(ticker, candles.unwrap_or_default()));
            }
            // Every symbol's, for the projector page.
            let mut all = Vec::with_capacity(symbols_len);
            for ticker in tickers {
                let candles = self.handle.candles(ticker).await?;
                all.push((ticker, candles.unwrap_or_default()));
            }
            self.send(Action::AllCandles(all));
        }
        if stale.scenario {
            let scenario = self.handle.scenario().await?;
            self.send(Action::Scenario(scenario.map(Box::new)));
        }
        if stale.news {
            let news = self.handle.news().await?;
            self.send(Action::News(news));
        }
        if stale.rules {
            self.send(Action::Rules(self.handle.rules().await?));
        }
        if stale.book
            && let Some(ticker) = self.watched()
            && let Some(depth) = self.handle.depth(ticker, DEPTH_LEVELS).await?
        {
            self.send(Action::Depth(depth));
        }
        Ok(())
    }
}

/// The book and candles of a symbol just selected.
async fn load_symbol(
    handle: &Handle,
    ticker: Ticker,
    actions: &UnboundedSender<Action>,
) -> Result<(), QueryError> {
    if let Some(depth) = handle.depth(ticker, DEPTH_LEVELS).await? {
        let _ = actions.send(Action::Depth(depth));
    }
    let candles = handle.candles(ticker).await?;
    let _ = actions.send(Action::Candles(ticker, candles.unwrap_or_default()));
    Ok(())
}

/// Whether `applied` put new rules in force: an accepted `SetRules` among its
/// transactions (a rejected one changes nothing).
fn sets_rules(applied: &AppliedBlock) -> bool {
    applied
        .block
        .txs
        .iter()
        .zip(&applied.receipts)
        .any(|(tx, receipt)| {
            matches!(tx.tx.body, TxBody::Admin(AdminAction::SetRules(_))) && receipt.is_accepted()
        })
}

fn block_line(applied: &AppliedBlock, me: &PublicKey) -> BlockLine {
    let block = &applied.block;
    BlockLine {
        height: block.header.height,
        timestamp_ms: block.header.timestamp_ms,
        tx_count: block.header.tx_count,
        hash: hex_prefix(block.hash().0.as_slice()),
        proposer: block.header.proposer,
        mine: block.txs.iter().filter(|t| &t.tx.signer == me).count() as u32,
    }
}

/// My side of each trade in which one of my resting orders was hit. (When my incoming
/// order trades, its receipt says so, in full.)
fn my_fills(trades: &[Trade], me: &PublicKey) -> Vec<MyFill> {
    let mut fills = Vec::new();
    for trade in trades {
        for (side, key, order) in [
            (Side::Buy, &trade.buyer, trade.buy_order),
            (Side::Sell, &trade.seller, trade.sell_order),
        ] {
            if key == me && side != trade.aggressor {
                fills.push(MyFill {
                    symbol: trade.symbol,
                    side,
                    price: trade.price,
                    quantity: trade.quantity,
                    order,
                });
            }
        }
    }
    fills
}

/// The first 6 bytes of a hash, in hex.
pub fn hex_prefix(bytes: &[u8]) -> String {
    hex::encode(&bytes[..bytes.len().min(6)])
}

#[cfg(test)]
mod tests {
    use qraft_keys::Keypair;
    use qraft_node::core::types::Ticker;

    use super::*;

    fn trade(seq: u64, aggressor: Side, buyer: &Keypair, seller: &Keypair) -> Trade {
        Trade {
            seq,
            height: 7,
            timestamp_ms: 0,
            symbol: Ticker::new("ACME").unwrap(),
            price: 1250,
            quantity: 10,
            aggressor,
            buy_order: 100 + seq,
            sell_order: 200 + seq,
            buyer: buyer.public(),
            seller: seller.public(),
        }
    }

    #[test]
    fn my_fills_are_my_resting_orders_that_traded() {
        let me = Keypair::from_label("test/me");
        let other = Keypair::from_label("test/other");
        let trades = [
            // Someone sold into my resting bid: mine.
            trade(1, Side::Sell, &me, &other),
            // My incoming buy took their offer: its receipt tells me.
            trade(2, Side::Buy, &me, &other),
            // Their incoming buy lifted my resting offer: mine.
            trade(3, Side::Buy, &other, &me),
            // Not mine at all.
            trade(4, Side::Buy, &other, &other),
        ];
        let fills = my_fills(&trades, &me.public());
        let seen: Vec<(Side, u64)> = fills.iter().map(|f| (f.side, f.order)).collect();
        assert_eq!(seen, [(Side::Buy, 101), (Side::Sell, 203)]);
    }
}
