//! A small client API for trading bots: a thin, pleasant layer over the one client,
//! a [`Session`](crate::session::Session) over QUIC kept up by a
//! [`Link`](crate::session::Link) (`lane.rs`), which signs, writes, retries, follows the
//! game to another node and settles for it.
//!
//! A [`Bot`] is one participant's connection to the game. It loads the genesis and key
//! files, connects to the first node that answers, learns its last nonce once, and then
//! offers one method per thing a bot does: look at the market ([`Bot::symbols`],
//! [`Bot::book`], [`Bot::account`], [`Bot::trades`]), place orders ([`Bot::buy_limit`],
//! [`Bot::sell_ioc`], [`Bot::market_buy`], ...), cancel them ([`Bot::cancel`],
//! [`Bot::cancel_all`]) and follow events ([`Bot::events`]).
//!
//! **Waiting or not.** Every order call waits until the order's block is applied and
//! returns what happened to it (an [`OrderResult`]: its id, its fills, what rests in the
//! book): simple, but one order per block round trip. To have many in flight, the
//! sending calls ([`Bot::place_limit`], [`Bot::place_ioc`], [`Bot::place_market`],
//! [`Bot::send_cancel`], [`Bot::send_cancel_all`], [`Bot::send`]) sign and write the
//! transaction and return at once with a [`Pending`] handle; awaiting the handle gives
//! the same result. Transactions go to the node on one ordered pipeline and are applied
//! in the order they were sent, so a market maker can cancel and put up both quotes in
//! one round trip. The waiting calls are exactly these, awaited at once.
//!
//! **Failures.** A rejection (not enough cash, market closed, ...) is a
//! [`BotError::Rejected`] with the reason. A node that refuses a transaction for a
//! passing reason (busy, between leaders) did not apply it: the transaction is signed
//! again with a fresh nonce and resent a few times with a growing pause (while its
//! handle is awaited) before the bot gives up. The fresh nonce puts it *behind*
//! everything sent meanwhile, so under load the order of sending is not guaranteed:
//! cancel orders by id rather than all at once if new ones are in flight behind the
//! cancel.
//!
//! **Node failures.** A bot follows its game when its node dies, restarts or drops off
//! the network. It notices within a few seconds (it asks a silent node for its status,
//! [`WATCH_QUIET`](crate::failover::WATCH_QUIET)), connects to another node of the
//! game (the others first), and sends again, identical and in nonce order, every
//! transaction it had in flight: its nonce makes a transaction apply at most once, so
//! that is safe. Each handle then settles with the receipt, or with
//! [`BotError::NotApplied`] when the game has passed the transaction's nonce without
//! applying it (nothing happened; send it again to retry). Only if neither turns up
//! within [`SETTLE_WAIT`](crate::failover::SETTLE_WAIT) is the outcome unknown
//! ([`BotError::Unanswered`]: look it up later with [`Bot::receipt`]). Requests are
//! asked again on the new node; an event stream goes on there after an
//! [`Event::Lagged`] (re-query what the bot keeps: events in between may be missing).
//! [`BotError::Lost`]: no node of the game answered for
//! [`RECONNECT_WAIT`].
//!
//! Prices are in ticks of the symbol's tick size (one cent in the usual game),
//! quantities in shares, cash in cents.
//!
//! ```no_run
//! use qraft_client::bot::{Bot, Event, Side, Topics};
//!
//! # async fn run() -> Result<(), qraft_client::bot::BotError> {
//! // Nodes from the genesis; the passphrase (if the key is encrypted) from $QRAFT_PASSPHRASE.
//! let mut bot = Bot::connect("game/genesis.toml", "game/keys/bot1.key", None).await?;
//! let book = bot.book("ACME", 5).await?;
//! if let Some(ask) = book.asks.first() {
//!     // Sent, applied, and what happened, in one call.
//!     let result = bot.buy_limit("ACME", 10, ask.price).await?;
//!     println!("order #{} filled {} shares", result.order, result.filled());
//! }
//! // Both quotes in flight at once, then awaited together.
//! let bid = bot.place_limit("ACME", Side::Buy, 10, 990).await?;
//! let ask = bot.place_limit("ACME", Side::Sell, 10, 1_010).await?;
//! let (bid, ask) = tokio::join!(bid.wait(), ask.wait());
//! println!("bid #{}, ask #{}", bid?.order, ask?.order);
//! let mut events = bot.events(Topics { trades: true, ..Topics::default() }).await?;
//! while let Some(event) = events.next().await? {
//!     if let Event::Trade(trade) = event {
//!         println!("{} {} @ {}", trade.symbol, trade.quantity, trade.price);
//!     }
//! }
//! bot.cancel_all("ACME").await?;
//! # Ok(())
//! # }
//! ```
//!
//! - [`market`]: small pure helpers (mid price, free cash and shares, a seeded random
//!   number generator) that strategies share.
//! - [`strategies`]: the decision logic of the example bots (market maker, momentum,
//!   random trader), written against [`Bot`] so the examples are thin mains over them.

pub mod market;
pub mod strategies;

mod lane;
mod pending;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use qraft_keys::{KeyError, Keypair, PublicKey};

use qraft_node::api::Refusal;
use qraft_node::core::exchange::receipt::{Effect, OrderResult, PublicTrade};
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::exchange::views::{AccountView, DepthView, SymbolView};
use qraft_node::core::genesis::{Genesis, GenesisError, parse_genesis};
use qraft_node::core::tx::{NewOrder, TxBody, TxHash};
use qraft_node::core::types::{OrderId, Shares, Ticker, TickerError, Ticks};
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::proto::{ReceiptView, Request, Response, SubmitFailure};

use crate::query::{self, Query, QueryError};
use crate::session::{Follow, FollowError, Followed, Policy, SubscribeError};
use lane::{BotSession, Lane};
use pending::{as_cancelled_all, as_cancelled_shares, as_effect, as_order};

pub use lane::RECONNECT_WAIT;
pub use pending::{Pending, PendingCancel, PendingOrder, PendingTx};
pub use qraft_node::core::tx::OrderKind;
pub use qraft_node::core::types::Side;
pub use qraft_node::net::proto::{Event, Topics};

/// The environment variable a key file's passphrase is read from.
pub const PASSPHRASE_ENV: &str = "QRAFT_PASSPHRASE";

/// How many times a transaction the node refused for a passing reason (busy, no leader,
/// leader changed) is signed again and resent before the bot gives up: the shared
/// [`crate::retry::RETRIES`].
pub const DEFAULT_RETRIES: u32 = crate::retry::RETRIES;

/// What can go wrong for a bot.
#[derive(Debug, thiserror::Error)]
pub enum BotError {
    #[error("cannot read the genesis file {}: {source}", path.display())]
    GenesisFile {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Genesis(Box<GenesisError>),
    #[error("{0}")]
    Key(#[from] KeyError),
    #[error("the key file {} is encrypted: set ${PASSPHRASE_ENV} to its passphrase", .0.display())]
    PassphraseNeeded(PathBuf),
    #[error("{0}")]
    Client(#[from] ClientError),
    #[error("{0}")]
    Ticker(#[from] TickerError),
    #[error("there is no symbol {0} in this game")]
    UnknownSymbol(Ticker),
    /// The transaction was applied and rejected: it changed nothing.
    #[error("rejected: {0}")]
    Rejected(Rejection),
    #[error("unexpected answer from the node: {0}")]
    Unexpected(String),
    /// The transaction's answer was lost (its node failed) and the game has passed its
    /// nonce without applying it: nothing happened, and nothing will. Send it again to
    /// retry.
    #[error(
        "transaction {0} was not applied, and never will be: its node failed before answering and the game has passed its nonce without it; nothing happened, send it again to retry"
    )]
    NotApplied(TxHash),
    /// The transaction's answer was lost, and neither its receipt nor proof that it was
    /// not applied turned up within [`SETTLE_WAIT`](crate::failover::SETTLE_WAIT):
    /// it may or may not be applied. [`Bot::receipt`] tells later.
    #[error(
        "transaction {0} was in flight when its node failed, and neither its receipt nor proof that it was not applied turned up in time: it may or may not be applied; look up its receipt before sending it again"
    )]
    Unanswered(TxHash),
    /// The bot lost its node and no node of the game answered within the bound.
    #[error(
        "lost the connection to {node} and no node of the game answered within {}s: {why}",
        waited.as_secs()
    )]
    Lost {
        node: String,
        waited: Duration,
        why: String,
    },
}

impl From<QueryError> for BotError {
    fn from(err: QueryError) -> BotError {
        match err {
            QueryError::Unexpected(text) => BotError::Unexpected(text),
            err => BotError::Client(err.into()),
        }
    }
}

impl BotError {
    /// The rejection reason, if the transaction was applied and rejected.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            BotError::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }

    /// Whether a nonce was refused (stale or already in use): a bug in nonce handling,
    /// or another program sending with the same key at the same time.
    pub fn is_nonce_error(&self) -> bool {
        matches!(
            self,
            BotError::Rejected(Rejection::StaleNonce { .. })
                | BotError::Client(ClientError::Submit(SubmitFailure::Refused(
                    Refusal::StaleNonce { .. } | Refusal::NonceInUse { .. }
                )))
        )
    }

    /// Whether the order was rejected for want of cash or shares (often a race with a
    /// fill: the account changed between looking and ordering).
    pub fn is_insufficient_funds(&self) -> bool {
        matches!(
            self,
            BotError::Rejected(
                Rejection::InsufficientCash { .. }
                    | Rejection::InsufficientShares { .. }
                    | Rejection::ShortLimit { .. }
            )
        )
    }
}

/// Anything that names a symbol: a [`Ticker`] or its text (`"ACME"`, case-insensitive).
pub trait IntoTicker {
    fn into_ticker(self) -> Result<Ticker, BotError>;
}

impl IntoTicker for Ticker {
    fn into_ticker(self) -> Result<Ticker, BotError> {
        Ok(self)
    }
}

impl IntoTicker for &Ticker {
    fn into_ticker(self) -> Result<Ticker, BotError> {
        Ok(*self)
    }
}

impl IntoTicker for &str {
    fn into_ticker(self) -> Result<Ticker, BotError> {
        Ok(Ticker::new(self)?)
    }
}

impl IntoTicker for &String {
    fn into_ticker(self) -> Result<Ticker, BotError> {
        Ok(Ticker::new(self)?)
    }
}

impl IntoTicker for String {
    fn into_ticker(self) -> Result<Ticker, BotError> {
        Ok(Ticker::new(&self)?)
    }
}

/// Reads and validates a genesis file.
pub fn load_genesis(path: impl AsRef<Path>) -> Result<Genesis, BotError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| BotError::GenesisFile {
        path: path.to_path_buf(),
        source,
    })?;
    parse_genesis(&text, &path.display().to_string()).map_err(|e| BotError::Genesis(Box::new(e)))
}

/// Reads a key file, with the passphrase from `$QRAFT_PASSPHRASE` if that is set.
pub fn load_key(path: impl AsRef<Path>) -> Result<Keypair, BotError> {
    let path = path.as_ref();
    let passphrase = std::env::var(PASSPHRASE_ENV).ok();
    qraft_keys::keyfile::read_key_file(path, passphrase.as_deref()).map_err(|err| {
        if matches!(err.problem(), KeyError::PassphraseRequired) {
            BotError::PassphraseNeeded(path.to_path_buf())
        } else {
            BotError::Key(err)
        }
    })
}

/// One participant's connection to the game. See the [module docs](self).
pub struct Bot {
    lane: Arc<Lane>,
    genesis: Genesis,
    retries: u32,
}

impl Bot {
    /// Loads the genesis and the key file (passphrase from `$QRAFT_PASSPHRASE`), connects
    /// to the first of `nodes` that answers (every node of the genesis if `None` or
    /// empty), and learns the key's last nonce.
    pub async fn connect(
        genesis_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
        nodes: Option<Vec<String>>,
    ) -> Result<Bot, BotError> {
        let genesis = load_genesis(genesis_path)?;
        let keypair = load_key(key_path)?;
        Bot::with_keypair(genesis, keypair, nodes).await
    }

    /// [`Bot::connect`] with the genesis and key already in hand.
    pub async fn with_keypair(
        genesis: Genesis,
        keypair: Keypair,
        nodes: Option<Vec<String>>,
    ) -> Result<Bot, BotError> {
        let nodes = nodes
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| Client::node_addresses(&genesis));
        let lane = Lane::connect(genesis.clone(), keypair, nodes).await?;
        Ok(Bot {
            lane: Arc::new(lane),
            genesis,
            retries: DEFAULT_RETRIES,
        })
    }

    /// How many times a transaction refused for a passing reason is sent again (for
    /// transactions sent from now on).
    pub fn set_retries(&mut self, retries: u32) {
        self.retries = retries;
    }

    /// This bot's public key.
    pub fn key(&self) -> PublicKey {
        self.lane.latest().key()
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The connection in use, for requests this API does not wrap (after a node failure
    /// the bot moves to another connection: ask for it again). Transactions should go
    /// through [`Bot::send`], which keeps this bot's nonces in order.
    pub fn client(&self) -> Arc<Client> {
        self.lane.latest().transport().shared_client()
    }

    /// One request on a connection that serves, asked again on the next node if the
    /// node in use is lost meanwhile.
    pub async fn request(&self, request: &Request) -> Result<Response, BotError> {
        self.lane.request(request).await
    }

    /// One typed query ([`crate::query`]) by [`Bot::request`].
    async fn query<T>(&self, query: Query<T>) -> Result<T, BotError> {
        let response = self.request(query.request()).await?;
        Ok(query.read(response)?)
    }

    /// Waits until the connected node knows a leader (at most `timeout`); returns
    /// whether it does.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<bool, BotError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let session = self.lane.serving().await?;
            if session.transport().client().leader().await?.is_some() {
                return Ok(true);
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(false);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // --- Looking ------------------------------------------------------------------------

    /// Every symbol with its market summary (session, last price, best bid and ask).
    pub async fn symbols(&self) -> Result<Vec<SymbolView>, BotError> {
        self.query(query::symbols()).await
    }

    /// One symbol's market summary.
    pub async fn symbol(&self, symbol: impl IntoTicker) -> Result<SymbolView, BotError> {
        let ticker = symbol.into_ticker()?;
        self.symbols()
            .await?
            .into_iter()
            .find(|s| s.ticker == ticker)
            .ok_or(BotError::UnknownSymbol(ticker))
    }

    /// The top `levels` price levels of each side of a symbol's book.
    pub async fn book(&self, symbol: impl IntoTicker, levels: u32) -> Result<DepthView, BotError> {
        let symbol = symbol.into_ticker()?;
        self.query(query::depth(symbol, levels))
            .await?
            .ok_or(BotError::UnknownSymbol(symbol))
    }

    /// This bot's own account: cash, positions, open orders, net worth.
    pub async fn account(&self) -> Result<AccountView, BotError> {
        self.query(query::account()).await?.ok_or_else(|| {
            BotError::Unexpected("this key is not a participant in this game".into())
        })
    }

    /// The most recent trades of a symbol (of every symbol with `None`), newest first.
    pub async fn trades(
        &self,
        symbol: Option<Ticker>,
        limit: u32,
    ) -> Result<Vec<PublicTrade>, BotError> {
        self.query(query::trades(symbol, limit)).await
    }

    /// A transaction's receipt, if it has been applied: how to learn what became of one
    /// whose answer was lost ([`BotError::Unanswered`]).
    pub async fn receipt(&self, hash: TxHash) -> Result<Option<ReceiptView>, BotError> {
        self.query(query::receipt(hash)).await
    }

    /// Events from now on: blocks, trades, book changes, this bot's own fills.
    pub async fn events(&self, topics: Topics) -> Result<Events, BotError> {
        let session = self.lane.serving().await?;
        let link = self.lane.link().clone();
        let follow = Follow::open(link, session, topics, EVENTS).await;
        Ok(Events {
            follow: follow.map_err(followed)?,
            _lane: self.lane.clone(),
        })
    }

    // --- Sending: in flight, awaited later -------------------------------------------------

    /// Signs `body` with the next nonce and sends it behind everything sent before; the
    /// handle resolves to its effect once applied. Returns as soon as it is written.
    pub async fn send(&mut self, body: TxBody) -> Result<PendingTx, BotError> {
        self.send_as(body, as_effect).await
    }

    /// Sends any order; see [`Bot::send`].
    pub async fn place(
        &mut self,
        symbol: impl IntoTicker,
        side: Side,
        quantity: Shares,
        kind: OrderKind,
    ) -> Result<PendingOrder, BotError> {
        let order = NewOrder {
            symbol: symbol.into_ticker()?,
            side,
            quantity,
            kind,
        };
        self.send_as(TxBody::Order(order), as_order).await
    }

    /// Sends a limit order: up to `quantity` at `price` or better, the rest resting in
    /// the book.
    pub async fn place_limit(
        &mut self,
        symbol: impl IntoTicker,
        side: Side,
        quantity: Shares,
        price: Ticks,
    ) -> Result<PendingOrder, BotError> {
        let kind = OrderKind::Limit { price };
        self.place(symbol, side, quantity, kind).await
    }

    /// Sends an immediate-or-cancel order: what it can trade at `price` or better when
    /// applied, the rest cancelled.
    pub async fn place_ioc(
        &mut self,
        symbol: impl IntoTicker,
        side: Side,
        quantity: Shares,
        price: Ticks,
    ) -> Result<PendingOrder, BotError> {
        let kind = OrderKind::ImmediateOrCancel { price };
        self.place(symbol, side, quantity, kind).await
    }

    /// Sends a market order: the best prices within the symbol's price band.
    pub async fn place_market(
        &mut self,
        symbol: impl IntoTicker,
        side: Side,
        quantity: Shares,
    ) -> Result<PendingOrder, BotError> {
        self.place(symbol, side, quantity, OrderKind::Market).await
    }

    /// Sends a cancel of one resting order; the handle resolves to the shares that were
    /// still open.
    pub async fn send_cancel(&mut self, order: OrderId) -> Result<Pending<Shares>, BotError> {
        self.send_as(TxBody::Cancel { order }, as_cancelled_shares)
            .await
    }

    /// Sends a cancel of every resting order of this bot in one symbol; the handle
    /// resolves to (order, shares that were still open) for each. Having nothing to
    /// cancel is not an error. It cancels what rests when it is applied: if it had to be
    /// resent, that includes orders sent after it.
    pub async fn send_cancel_all(
        &mut self,
        symbol: impl IntoTicker,
    ) -> Result<PendingCancel, BotError> {
        let symbol = Some(symbol.into_ticker()?);
        self.send_as(TxBody::CancelAll { symbol }, as_cancelled_all)
            .await
    }

    /// Sends a cancel of every resting order of this bot in every symbol; see
    /// [`Bot::send_cancel_all`].
    pub async fn send_cancel_everything(&mut self) -> Result<PendingCancel, BotError> {
        let everything = TxBody::CancelAll { symbol: None };
        self.send_as(everything, as_cancelled_all).await
    }

    async fn send_as<T>(
        &mut self,
        body: TxBody,
        finish: fn(Result<Effect, BotError>) -> Result<T, BotError>,
    ) -> Result<Pending<T>, BotError> {
        let sent = self.lane.write(&body).await?;
        Ok(Pending::new(self.lane.clone(), sent, self.retries, finish))
    }

    // --- Ordering: sent and awaited -------------------------------------------------------

    /// Buys up to `quantity` at `price` or better; the rest rests in the book.
    pub async fn buy_limit(
        &mut self,
        symbol: impl IntoTicker,
        quantity: Shares,
        price: Ticks,
    ) -> Result<OrderResult, BotError> {
        let kind = OrderKind::Limit { price };
        self.order(symbol, Side::Buy, quantity, kind).await
    }

    /// Sells up to `quantity` at `price` or better; the rest rests in the book.
    pub async fn sell_limit(
        &mut self,
        symbol: impl IntoTicker,
        quantity: Shares,
        price: Ticks,
    ) -> Result<OrderResult, BotError> {
        let kind = OrderKind::Limit { price };
        self.order(symbol, Side::Sell, quantity, kind).await
    }

    /// Buys what it can right now at `price` or better; the rest is cancelled.
    pub async fn buy_ioc(
        &mut self,
        symbol: impl IntoTicker,
        quantity: Shares,
        price: Ticks,
    ) -> Result<OrderResult, BotError> {
        let kind = OrderKind::ImmediateOrCancel { price };
        self.order(symbol, Side::Buy, quantity, kind).await
    }

    /// Sells what it can right now at `price` or better; the rest is cancelled.
    pub async fn sell_ioc(
        &mut self,
        symbol: impl IntoTicker,
        quantity: Shares,
        price: Ticks,
    ) -> Result<OrderResult, BotError> {
        let kind = OrderKind::ImmediateOrCancel { price };
        self.order(symbol, Side::Sell, quantity, kind).await
    }

    /// Buys right now at the best prices within the symbol's price band.
    pub async fn market_buy(
        &mut self,
        symbol: impl IntoTicker,
        quantity: Shares,
    ) -> Result<OrderResult, BotError> {
        self.order(symbol, Side::Buy, quantity, OrderKind::Market)
            .await
    }

    /// Sells right now at the best prices within the symbol's price band.
    pub async fn market_sell(
        &mut self,
        symbol: impl IntoTicker,
        quantity: Shares,
    ) -> Result<OrderResult, BotError> {
        self.order(symbol, Side::Sell, quantity, OrderKind::Market)
            .await
    }

    /// Any order: [`Bot::place`], awaited.
    pub async fn order(
        &mut self,
        symbol: impl IntoTicker,
        side: Side,
        quantity: Shares,
        kind: OrderKind,
    ) -> Result<OrderResult, BotError> {
        self.place(symbol, side, quantity, kind).await?.wait().await
    }

    /// Cancels one resting order; the shares that were still open.
    pub async fn cancel(&mut self, order: OrderId) -> Result<Shares, BotError> {
        self.send_cancel(order).await?.wait().await
    }

    /// Cancels every resting order of this bot in one symbol: (order, shares that were
    /// still open) for each. Having nothing to cancel is not an error.
    pub async fn cancel_all(
        &mut self,
        symbol: impl IntoTicker,
    ) -> Result<Vec<(OrderId, Shares)>, BotError> {
        self.send_cancel_all(symbol).await?.wait().await
    }

    /// Cancels every resting order of this bot in every symbol.
    pub async fn cancel_everything(&mut self) -> Result<Vec<(OrderId, Shares)>, BotError> {
        self.send_cancel_everything().await?.wait().await
    }

    /// Signs `body` with the next nonce, sends it and waits for its effect: [`Bot::send`],
    /// awaited.
    pub async fn submit(&mut self, body: TxBody) -> Result<Effect, BotError> {
        self.send(body).await?.wait().await
    }

    /// Closes the connection politely. If pending handles or event streams are still
    /// held, the connection stays open for them and closes when the last one is dropped.
    pub async fn close(self) {
        if Arc::strong_count(&self.lane) == 1 {
            self.client().shutdown().await;
        } else {
            tracing::debug!("pending transactions hold the connection; it closes after them")
        }
    }
}

/// How a bot's event stream is followed: what ends it on a serving node is handed on
/// (an [`Event::Closed`], the end, a failure); only a lost node moves it on.
const EVENTS: Policy = Policy {
    reopen_dropped: false,
    end_is_loss: false,
};

/// A stream of events from [`Bot::events`].
pub struct Events {
    follow: Follow<BotSession>,
    /// Keeps the bot's connection open while the stream is held.
    _lane: Arc<Lane>,
}

/// Why an event stream ended, as a bot error.
fn followed(err: FollowError<BotSession>) -> BotError {
    match err {
        FollowError::Subscribe(SubscribeError::Failed(err)) | FollowError::Failed(err) => {
            err.into()
        }
        FollowError::Subscribe(err @ SubscribeError::NoAnswer) => {
            BotError::Client(ClientError::Connection(err.to_string()))
        }
        FollowError::Down { lost, down, .. } => lane::down_from(&lost, down),
    }
}

impl Events {
    /// The next event; `None` when the node closed the stream. A bot that falls far
    /// behind gets [`Event::Lagged`], then [`Event::Closed`] as the node drops it: call
    /// [`Bot::events`] again and re-query what it keeps (its orders, the books).
    ///
    /// If the node is lost, the stream goes on from another node of the game: first an
    /// [`Event::Lagged`] with `missed: 0` (events in between may be missing: re-query
    /// what the bot keeps), then that node's events.
    pub async fn next(&mut self) -> Result<Option<Event>, BotError> {
        match self.follow.next().await.map_err(followed)? {
            Followed::Event(event) => Ok(Some(event)),
            Followed::Ended => Ok(None),
            Followed::Moved { .. } | Followed::Reopened => Ok(Some(Event::Lagged { missed: 0 })),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_named_by_text_or_ticker() {
        let acme = Ticker::new("ACME").unwrap();
        assert_eq!("acme".into_ticker().unwrap(), acme);
        assert_eq!(String::from("ACME").into_ticker().unwrap(), acme);
        assert_eq!((&acme).into_ticker().unwrap(), acme);
        assert!(matches!(
            "not a ticker".into_ticker(),
            Err(BotError::Ticker(_))
        ));
    }

    #[test]
    fn nonce_errors_are_told_apart() {
        let stale = BotError::Rejected(Rejection::StaleNonce { nonce: 1, last: 2 });
        assert!(stale.is_nonce_error());
        let in_use = BotError::Client(ClientError::Submit(SubmitFailure::Refused(
            Refusal::NonceInUse { nonce: 3 },
        )));
        assert!(in_use.is_nonce_error());
        let closed = BotError::Rejected(Rejection::MarketClosed);
        assert!(!closed.is_nonce_error());
        assert_eq!(closed.rejection(), Some(&Rejection::MarketClosed));
        let cash = BotError::Rejected(Rejection::InsufficientCash {
            needed: 10,
            available: 1,
            reserved: 0,
        });
        assert!(cash.is_insufficient_funds());
        assert!(!stale.is_insufficient_funds());
    }

    #[test]
    fn an_encrypted_key_without_a_passphrase_names_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bot.key");
        let key = Keypair::from_label("bot");
        qraft_keys::keyfile::write_key_file(
            &path,
            &key,
            Some("secret"),
            qraft_keys::keyfile::IfExists::Refuse,
        )
        .unwrap();
        // The variable is not set in tests (nothing here sets it).
        if std::env::var(PASSPHRASE_ENV).is_err() {
            let err = load_key(&path).unwrap_err();
            assert!(matches!(err, BotError::PassphraseNeeded(_)), "{err}");
            assert!(err.to_string().contains("QRAFT_PASSPHRASE"), "{err}");
        }
        let plain = dir.path().join("plain.key");
        qraft_keys::keyfile::write_key_file(
            &plain,
            &key,
            None,
            qraft_keys::keyfile::IfExists::Refuse,
        )
        .unwrap();
        assert_eq!(load_key(&plain).unwrap().public(), key.public());
    }

    #[test]
    fn a_missing_genesis_file_is_named() {
        let err = load_genesis("/nonexistent/genesis.toml").unwrap_err();
        assert!(
            err.to_string().contains("/nonexistent/genesis.toml"),
            "{err}"
        );
    }
}
