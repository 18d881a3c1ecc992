//! The options every client command shares, and the connection they make: a
//! participant's key, the game's genesis, a node.

use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use qraft_client::format::parse_price;
use qraft_client::protocol;
use qraft_client::query::{self, Query, QueryError};
use qraft_client::session::{
    Dial, FollowError, Game, Linked, Quic, QuicDial, ReconnectError, Session, Transport,
};
use qraft_keys::{Keypair, PublicKey};
use qraft_node::core::genesis::{Genesis, NodeSpec};
use qraft_node::core::types::Ticker;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::proto::ProtocolError;
use qraft_node::net::tls::TlsError;
use serde_json::{Map, Value};

use super::market::Prices;
use super::output::{Failure, Report, emit};
use crate::cli::game::{load_genesis, registered};
use crate::cli::keys::open_key;

/// The environment variable naming the genesis file.
pub const GENESIS_ENV: &str = "QRAFT_GENESIS";
/// The environment variable naming the key file.
pub const KEY_ENV: &str = "QRAFT_KEY";

/// How to reach the game.
#[derive(Clone, Debug, Args)]
pub struct ConnectArgs {
    /// The game's genesis file [env: QRAFT_GENESIS] [default: genesis.toml].
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// Your key file (required) [env: QRAFT_KEY]. An encrypted one takes its passphrase
    /// from QRAFT_PASSPHRASE, or asks.
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// A node to talk to, HOST:PORT; repeat it for fallbacks, tried in order [default:
    /// every node in the genesis].
    #[arg(long = "node", value_name = "HOST:PORT")]
    pub nodes: Vec<String>,
    /// Seconds to wait for a node: to connect, to answer, for a transaction's receipt.
    #[arg(long, value_name = "SECS", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub timeout: u64,
}

/// The options of every one-shot client command.
#[derive(Clone, Debug, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print exactly one JSON object on stdout (also on failure) instead of text.
    #[arg(long)]
    pub json: bool,
}

impl ConnectArgs {
    fn genesis_path(&self) -> PathBuf {
        self.genesis
            .clone()
            .or_else(|| std::env::var_os(GENESIS_ENV).map(PathBuf::from))
            .unwrap_or_else(|| PathBuf::from("genesis.toml"))
    }

    fn key_path(&self) -> Result<PathBuf, Failure> {
        self.key
            .clone()
            .or_else(|| std::env::var_os(KEY_ENV).map(PathBuf::from))
            .ok_or_else(|| Failure::usage("which key? give --key FILE or set QRAFT_KEY"))
    }
}

/// A connected participant: the client's [`Session`] (its key, nonces, connection and
/// what it has in flight) and what the CLI knows of the symbols. Shared by concurrent
/// commands (`session`): every method takes `&self`.
pub struct Ctx {
    pub genesis: Genesis,
    /// The nodes registered after the genesis that this client trusts (`nodes.toml`
    /// beside the genesis).
    pub registered: Vec<NodeSpec>,
    session: Session<Quic>,
    prices: Mutex<Prices>,
    pub timeout: Duration,
}

/// Starts the async runtime the client commands run on.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Failure::error(format!("cannot start the async runtime: {e}")))
}

/// Runs a one-shot client command: connect, do `op`, print its report, disconnect. It
/// logs nothing unless `RUST_LOG` asks (on stderr).
pub fn run_cli<F, Fut>(common: CommonArgs, op: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<Ctx>) -> Fut,
    Fut: Future<Output = Result<Report, Failure>>,
{
    crate::cli::logs::to_stderr("off");
    let json = common.json;
    let result = runtime().and_then(|runtime| {
        runtime.block_on(async move {
            let ctx = Ctx::connect(&common.connect).await?;
            let result = op(ctx.clone()).await;
            ctx.close().await;
            result
        })
    });
    emit(result, json)
}

impl Ctx {
    /// Loads the genesis and the key, and connects to the first node that answers.
    pub async fn connect(args: &ConnectArgs) -> Result<Arc<Ctx>, Failure> {
        let genesis_path = args.genesis_path();
        let key_path = args.key_path()?;
        let genesis = load_genesis(&genesis_path).map_err(|e| Failure::error(format!("{e:#}")))?;
        let registered =
            registered::load_beside(&genesis_path).map_err(|e| Failure::error(format!("{e:#}")))?;
        let keypair = open_key(&key_path).map_err(|e| Failure::error(format!("{e:#}")))?;
        let mut game = Game::new(genesis.clone(), args.nodes.clone());
        if args.nodes.is_empty() {
            // After the genesis's nodes, those the chain registered that can be dialled.
            game.nodes.extend(
                registered
                    .iter()
                    .filter(|n| !n.dials_out())
                    .map(|n| n.address.clone()),
            );
        }
        if game.nodes.is_empty() {
            return Err(Failure::error(
                "the genesis names no node to connect to: give --node HOST:PORT",
            ));
        }
        let timeout = Duration::from_secs(args.timeout);
        let client = connect_client(&genesis, &registered, &keypair, &game.nodes, timeout).await?;
        let dial: Arc<dyn Dial<Quic>> = Arc::new(QuicDial {
            genesis: genesis.clone(),
            registered: registered.clone(),
            keypair: keypair.clone(),
        });
        let session = Session::new(Quic::new(client), keypair, game, timeout, Some(dial));
        Ok(Arc::new(Ctx {
            prices: Mutex::new(Prices::from_genesis(&genesis)),
            genesis,
            registered,
            session,
            timeout,
        }))
    }

    /// The participant's session: signing, submitting, settling.
    pub fn session(&self) -> &Session<Quic> {
        &self.session
    }

    /// The connection, for queries and subscriptions.
    pub fn client(&self) -> &Client {
        self.session.transport().client()
    }

    pub fn key(&self) -> PublicKey {
        self.session.key()
    }

    pub fn keypair(&self) -> &Keypair {
        self.session.keypair()
    }

    /// The connected node, for people: `node 2 (127.0.0.1:7802)`, or its address when the
    /// genesis does not name it.
    pub fn node_name(&self) -> String {
        self.session.node_name()
    }

    /// Resolves when this connection is lost (see [`Client::lost`]), with why; the
    /// connection is closed by then.
    pub async fn lost(&self) -> String {
        self.session.transport().lost().await
    }

    /// A new context after this one's connection was lost (see [`Session::reconnect`]),
    /// for at most `--timeout`. It keeps the prices learned.
    pub async fn reconnect(&self) -> Result<Arc<Ctx>, Failure> {
        match self.session.reconnect().await {
            Ok(session) => Ok(Arc::new(Ctx {
                genesis: self.genesis.clone(),
                registered: self.registered.clone(),
                session,
                prices: Mutex::new(self.prices.lock().expect("prices lock").clone()),
                timeout: self.timeout,
            })),
            Err(ReconnectError::Refused(why)) => Err(refused_key(self.keypair(), &why)),
            Err(ReconnectError::Exhausted { last_error }) => Err(Failure::error(format!(
                "lost the connection to {} and no node of the game answered within {}s: {last_error}",
                self.node_name(),
                self.timeout.as_secs()
            ))),
            Err(ReconnectError::Alone) => Err(Failure::error(format!(
                "lost the connection to {}",
                self.node_name()
            ))),
        }
    }

    /// Closes the connection politely, when the command is done: the node frees the
    /// connection at once instead of counting it against this key's connection limit
    /// until its idle timeout. (Tasks that still hold the context, like an aborted
    /// watcher not yet dropped, have nothing left to do on it.)
    pub async fn close(self: Arc<Self>) {
        self.client().shutdown().await;
    }

    /// One typed query ([`qraft_client::query`]), answered in time; a refusal or
    /// trouble is a [`Failure`].
    pub async fn query<T>(&self, query: Query<T>) -> Result<T, Failure> {
        let answer = query.ask_within(self.client(), self.timeout).await;
        answer.map_err(query_failure)
    }

    /// Learns that the game has seen nonce `last` from this key.
    pub fn saw_nonce(&self, last: u64) {
        self.session.saw_nonce(last);
    }

    /// What this client knows of the symbols' tick sizes, after asking the node about
    /// any of `symbols` it does not know yet (listed after genesis).
    pub async fn prices(&self, symbols: impl IntoIterator<Item = Ticker>) -> Prices {
        let missing = {
            let prices = self.prices.lock().expect("prices lock");
            symbols.into_iter().any(|s| !prices.knows(s))
        };
        if missing && let Ok(list) = self.query(query::symbols()).await {
            self.prices.lock().expect("prices lock").learn(&list);
        }
        self.prices.lock().expect("prices lock").clone()
    }

    /// Remembers the symbols a node listed.
    pub fn learn_symbols(&self, symbols: &[qraft_node::core::exchange::views::SymbolView]) {
        self.prices.lock().expect("prices lock").learn(symbols);
    }

    /// A price in dollars as ticks of `symbol`; the symbol must exist.
    pub async fn parse_price(&self, symbol: Ticker, text: &str) -> Result<u64, Failure> {
        let prices = self.prices([symbol]).await;
        let tick = prices
            .tick_size(symbol)
            .ok_or_else(|| Failure::error(format!("there is no symbol {symbol} in this game")))?;
        parse_price(text, symbol, tick).map_err(Failure::error)
    }

    /// Checks that `symbol` exists in this game.
    pub async fn check_symbol(&self, symbol: Ticker) -> Result<(), Failure> {
        if self.prices([symbol]).await.knows(symbol) {
            Ok(())
        } else {
            Err(Failure::error(format!(
                "there is no symbol {symbol} in this game"
            )))
        }
    }
}

impl Linked for Ctx {
    type Transport = Quic;
    type Down = Failure;

    fn session(&self) -> &Session<Quic> {
        &self.session
    }

    async fn replacement(&self) -> Result<Arc<Ctx>, Failure> {
        self.reconnect().await
    }

    fn why_down(down: &Failure) -> String {
        down.message.clone()
    }
}

/// Connects as `keypair` to the first of `nodes` that answers, within `timeout`.
pub async fn connect_client(
    genesis: &Genesis,
    registered: &[NodeSpec],
    keypair: &Keypair,
    nodes: &[String],
    timeout: Duration,
) -> Result<Client, Failure> {
    let attempt = Client::connect_trusting(genesis, registered, keypair.clone(), nodes);
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(ClientError::Tls(err @ TlsError::Refused { .. }))) => {
            Err(refused_key(keypair, &err.to_string()))
        }
        Ok(Err(err)) => Err(Failure::error(format!("cannot connect: {err}"))),
        Err(_) => Err(Failure::error(format!(
            "cannot connect: no node of {} answered within {}s",
            nodes.join(", "),
            timeout.as_secs()
        ))),
    }
}

fn refused_key(keypair: &Keypair, err: &str) -> Failure {
    Failure::error(format!(
        "the game refused this key ({}): {err}; is it a participant of this game?",
        keypair.public()
    ))
}

/// The line a long-lived command prints (JSON) when it has moved to another node:
/// `{"event":"reconnected","node":"127.0.0.1:7802","lost":"127.0.0.1:7801","error":"..."}`.
pub fn reconnected_json(lost: &Ctx, now: &Ctx, why: &str) -> Map<String, Value> {
    let event = protocol::Event::Reconnected {
        node: now.client().node().to_string(),
        lost: lost.client().node().to_string(),
        error: why.to_string(),
    };
    protocol::to_object(&event).unwrap_or_default()
}

/// The note for people (on stderr) when a long-lived command has moved to another node.
pub fn reconnected_note(lost: &Ctx, now: &Ctx) -> String {
    format!(
        "connection to {} lost; reconnected to {}",
        lost.node_name(),
        now.node_name()
    )
}

/// A request that did not get an answer.
pub fn request_failure(err: ClientError) -> Failure {
    match err {
        ClientError::Refused(ProtocolError::NotAdmin) => {
            Failure::refused(ProtocolError::NotAdmin.to_string()).with("reason", "not_admin")
        }
        ClientError::Refused(ProtocolError::NotYourTransaction) => {
            Failure::refused(ProtocolError::NotYourTransaction.to_string())
                .with("reason", "not_your_transaction")
        }
        ClientError::Refused(err) => Failure::error(format!("the node refused: {err}")),
        err => Failure::error(err.to_string()),
    }
}

/// Why there is no connection (`None`: the link's watcher stopped).
pub fn watcher_down(down: Option<Failure>) -> Failure {
    down.unwrap_or_else(|| Failure::error("the session's connection watcher stopped"))
}

/// Why a subscription ended for good, in words (a node lost and none after it: why it
/// was lost).
pub fn follow_ended(err: FollowError<Ctx>) -> String {
    match err {
        FollowError::Subscribe(err) => err.to_string(),
        FollowError::Failed(err) => format!("the subscription failed: {err}"),
        FollowError::Down { why, .. } => why,
    }
}

/// Why a subscription ended for good, as a failure: the link's own when no node took
/// over.
pub fn follow_failure(err: FollowError<Ctx>) -> Failure {
    match err {
        FollowError::Down { down, .. } => watcher_down(down),
        err => Failure::error(follow_ended(err)),
    }
}

/// A query that got no answer.
pub fn query_failure(err: QueryError) -> Failure {
    match err {
        QueryError::Refused(err) => request_failure(ClientError::Refused(err)),
        QueryError::Connection(err) => request_failure(err),
        err @ (QueryError::Unexpected(_) | QueryError::NoAnswer { .. }) => {
            Failure::error(err.to_string())
        }
    }
}

pub fn not_a_participant() -> Failure {
    Failure::error("this key is not a participant in this game")
}
