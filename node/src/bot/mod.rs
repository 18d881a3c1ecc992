//! A small client API for trading bots: a thin, pleasant layer over
//! [`net::client::Client`](crate::net::client::Client).
//!
//! A [`Bot`] is one participant's connection to the game. It loads the genesis and key
//! files, connects to the first node that answers, learns its last nonce once, and then
//! offers one method per thing a bot does: look at the market ([`Bot::symbols`],
//! [`Bot::book`], [`Bot::account`], [`Bot::trades`]), place orders ([`Bot::buy_limit`],
//! [`Bot::sell_ioc`], [`Bot::market_buy`], ...), cancel them ([`Bot::cancel`],
//! [`Bot::cancel_all`]) and follow events ([`Bot::events`]).
//!
//! Every order call waits until the order's block is applied and returns what happened to
//! it (an [`OrderResult`]: its id, its fills, what rests in the book). A rejection (not
//! enough cash, market closed, ...) is a [`BotError::Rejected`] with the reason. A node
//! that is busy or between leaders is retried a few times with a growing pause before the
//! bot gives up. Prices are in ticks of the symbol's tick size (one cent in the usual
//! game), quantities in shares, cash in cents.
//!
//! ```no_run
//! use qraft_node::bot::{Bot, Topics, Event};
//!
//! # async fn run() -> Result<(), qraft_node::bot::BotError> {
//! // Nodes from the genesis; the passphrase (if the key is encrypted) from $QRAFT_PASSPHRASE.
//! let mut bot = Bot::connect("game/genesis.toml", "game/keys/bot1.key", None).await?;
//! let book = bot.book("ACME", 5).await?;
//! if let Some(ask) = book.asks.first() {
//!     let result = bot.buy_limit("ACME", 10, ask.price).await?;
//!     println!("order #{} filled {} shares", result.order, result.filled());
//! }
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

use std::path::{Path, PathBuf};
use std::time::Duration;

use qraft_keys::{KeyError, Keypair, PublicKey};

use crate::core::exchange::receipt::{Effect, OrderResult, Outcome, PublicTrade};
use crate::core::exchange::reject::Rejection;
use crate::core::exchange::views::{AccountView, DepthView, SymbolView};
use crate::core::genesis::{Genesis, GenesisError, parse_genesis};
use crate::core::tx::{NewOrder, OrderKind, TxBody};
use crate::core::types::{OrderId, Shares, Side, Ticker, TickerError, Ticks};
use crate::net::client::{Client, ClientError, Subscription};
use crate::net::proto::{Request, Response, SubmitFailure};
use crate::replica::Refusal;

pub use crate::net::proto::{Event, Topics};

/// The environment variable a key file's passphrase is read from.
pub const PASSPHRASE_ENV: &str = "QRAFT_PASSPHRASE";

/// How many times a submission the node refused for a passing reason (busy, no leader,
/// leader changed) is retried before the bot gives up.
pub const DEFAULT_RETRIES: u32 = 8;

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
    client: Client,
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
        let mut client = Client::connect(&genesis, keypair, &nodes).await?;
        client.sync_nonce().await?;
        Ok(Bot {
            client,
            genesis,
            retries: DEFAULT_RETRIES,
        })
    }

    /// How many times a submission refused for a passing reason is retried.
    pub fn set_retries(&mut self, retries: u32) {
        self.retries = retries;
    }

    /// This bot's public key.
    pub fn key(&self) -> PublicKey {
        self.client.key()
    }

    pub fn genesis(&self) -> &Genesis {
        &self.genesis
    }

    /// The underlying client, for requests this API does not wrap.
    pub fn client(&mut self) -> &mut Client {
        &mut self.client
    }

    /// Waits until the connected node knows a leader (at most `timeout`); returns
    /// whether it does.
    pub async fn wait_for_leader(&self, timeout: Duration) -> Result<bool, BotError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.client.leader().await?.is_some() {
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
        match self.client.request(&Request::Symbols).await? {
            Response::Symbols(symbols) => Ok(symbols),
            other => Err(unexpected(&other)),
        }
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
        match self
            .client
            .request(&Request::Depth { symbol, levels })
            .await?
        {
            Response::Depth(Some(depth)) => Ok(depth),
            Response::Depth(None) => Err(BotError::UnknownSymbol(symbol)),
            other => Err(unexpected(&other)),
        }
    }

    /// This bot's own account: cash, positions, open orders, net worth.
    pub async fn account(&self) -> Result<AccountView, BotError> {
        match self.client.request(&Request::Account).await? {
            Response::Account(Some(account)) => Ok(account),
            Response::Account(None) => Err(BotError::Unexpected(
                "this key is not a participant in this game".into(),
            )),
            other => Err(unexpected(&other)),
        }
    }

    /// The most recent trades of a symbol (of every symbol with `None`), newest first.
    pub async fn trades(
        &self,
        symbol: Option<Ticker>,
        limit: u32,
    ) -> Result<Vec<PublicTrade>, BotError> {
        match self
            .client
            .request(&Request::Trades { symbol, limit })
            .await?
        {
            Response::Trades(trades) => Ok(trades),
            other => Err(unexpected(&other)),
        }
    }

    /// Events from now on: blocks, trades, book changes, this bot's own fills.
    pub async fn events(&self, topics: Topics) -> Result<Events, BotError> {
        Ok(Events {
            inner: self.client.subscribe(topics).await?,
        })
    }

    // --- Ordering -----------------------------------------------------------------------

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

    /// Any order.
    pub async fn order(
        &mut self,
        symbol: impl IntoTicker,
        side: Side,
        quantity: Shares,
        kind: OrderKind,
    ) -> Result<OrderResult, BotError> {
        let order = NewOrder {
            symbol: symbol.into_ticker()?,
            side,
            quantity,
            kind,
        };
        match self.submit(TxBody::Order(order)).await? {
            Effect::Order(result) => Ok(result),
            other => Err(BotError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Cancels one resting order; the shares that were still open.
    pub async fn cancel(&mut self, order: OrderId) -> Result<Shares, BotError> {
        let cancelled = self.cancelled(TxBody::Cancel { order }).await?;
        Ok(cancelled.iter().map(|(_, shares)| shares).sum())
    }

    /// Cancels every resting order of this bot in one symbol: (order, shares that were
    /// still open) for each. Having nothing to cancel is not an error.
    pub async fn cancel_all(
        &mut self,
        symbol: impl IntoTicker,
    ) -> Result<Vec<(OrderId, Shares)>, BotError> {
        let symbol = Some(symbol.into_ticker()?);
        self.cancel_all_in(symbol).await
    }

    /// Cancels every resting order of this bot in every symbol.
    pub async fn cancel_everything(&mut self) -> Result<Vec<(OrderId, Shares)>, BotError> {
        self.cancel_all_in(None).await
    }

    async fn cancel_all_in(
        &mut self,
        symbol: Option<Ticker>,
    ) -> Result<Vec<(OrderId, Shares)>, BotError> {
        match self.cancelled(TxBody::CancelAll { symbol }).await {
            Err(BotError::Rejected(Rejection::NothingToCancel(_))) => Ok(Vec::new()),
            other => other,
        }
    }

    async fn cancelled(&mut self, body: TxBody) -> Result<Vec<(OrderId, Shares)>, BotError> {
        match self.submit(body).await? {
            Effect::Cancelled(cancelled) => Ok(cancelled),
            other => Err(BotError::Unexpected(format!("{other:?}"))),
        }
    }

    /// Signs `body` with the next nonce and submits it, retrying (the same signed
    /// transaction, so it can be applied at most once) while the node refuses it for a
    /// passing reason; the effect once applied.
    pub async fn submit(&mut self, body: TxBody) -> Result<Effect, BotError> {
        let tx = self.client.sign(body);
        let mut attempt = 0;
        loop {
            match self.client.submit(tx.clone()).await {
                Ok(committed) => {
                    return match committed.receipt.outcome {
                        Outcome::Accepted(effect) => Ok(effect),
                        Outcome::Rejected(rejection) => Err(BotError::Rejected(rejection)),
                    };
                }
                Err(ClientError::Submit(SubmitFailure::Refused(refusal)))
                    if refusal.is_retryable() && attempt < self.retries =>
                {
                    tokio::time::sleep(retry_delay(attempt)).await;
                    attempt += 1;
                }
                Err(err) => return Err(err.into()),
            }
        }
    }

    /// Closes the connection politely.
    pub async fn close(self) {
        self.client.close().await;
    }
}

/// The pause before retry number `attempt` (from 0): 50 ms doubling up to 1 s.
fn retry_delay(attempt: u32) -> Duration {
    Duration::from_millis((50u64 << attempt.min(5)).min(1_000))
}

fn unexpected(response: &Response) -> BotError {
    let text = format!("{response:?}");
    BotError::Unexpected(text.chars().take(120).collect())
}

/// A stream of events from [`Bot::events`].
pub struct Events {
    inner: Subscription,
}

impl Events {
    /// The next event; `None` when the node closed the stream.
    pub async fn next(&mut self) -> Result<Option<Event>, BotError> {
        Ok(self.inner.next().await?)
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
    fn retries_back_off_up_to_a_second() {
        assert_eq!(retry_delay(0), Duration::from_millis(50));
        assert_eq!(retry_delay(1), Duration::from_millis(100));
        assert_eq!(retry_delay(4), Duration::from_millis(800));
        assert_eq!(retry_delay(5), Duration::from_millis(1_000));
        assert_eq!(retry_delay(40), Duration::from_millis(1_000));
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
