//! The options every client command shares, and the connection they make: a
//! participant's key, the game's genesis, a node.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use clap::Args;
use qraft_client::failover::{
    RECONNECT_PAUSE, WATCH_EVERY, WATCH_QUIET, next_reconnect_pause, reconnect_order,
    reconnect_spread,
};
use qraft_client::format::parse_price;
use qraft_client::nonce::NonceClock;
use qraft_keys::{Keypair, PublicKey};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::tx::{SignedTx, Tx, TxBody, TxHash};
use qraft_node::core::types::Ticker;
use qraft_node::net::client::{Client, ClientError, PendingReceipt, Pipeline};
use qraft_node::net::proto::{ProtocolError, Request, Response};
use qraft_node::net::tls::TlsError;
use serde_json::{Map, Value, json};

use super::market::Prices;
use super::output::{Failure, Report, emit};
use crate::cli::game::load_genesis;
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

/// A connected participant: the client, its key and nonces, and what it knows of the
/// symbols. Shared by concurrent commands (`session`): every method takes `&self`.
pub struct Ctx {
    pub genesis: Genesis,
    pub client: Client,
    keypair: Keypair,
    /// The nodes this client may use, in the order asked for (`--node`, or the genesis).
    nodes: Vec<String>,
    /// The key's nonces, shared with this context's successors.
    nonces: NonceClock,
    /// Whether this connection has learned the game's last nonce from this key.
    nonce_synced: AtomicBool,
    prices: Mutex<Prices>,
    pub timeout: Duration,
    /// The ordered submission pipeline, opened on first use (see [`super::sequence`]).
    pipeline: tokio::sync::OnceCell<Pipeline>,
    /// Transactions sent on this connection and not answered yet, by hash: what a
    /// successor sends again when this connection is lost (see [`Ctx::reconnect`]).
    /// Bounded by the commands in flight: each holds at most one.
    in_flight: Mutex<HashMap<TxHash, SignedTx>>,
    /// The receipts awaited for the transactions a lost predecessor left in flight, sent
    /// again on this connection (taken by [`Ctx::take_resent`]).
    resent: Mutex<HashMap<TxHash, PendingReceipt>>,
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
        let keypair = open_key(&key_path).map_err(|e| Failure::error(format!("{e:#}")))?;
        let nodes = if args.nodes.is_empty() {
            Client::node_addresses(&genesis)
        } else {
            args.nodes.clone()
        };
        if nodes.is_empty() {
            return Err(Failure::error(
                "the genesis names no node to connect to: give --node HOST:PORT",
            ));
        }
        let timeout = Duration::from_secs(args.timeout);
        let client = connect_client(&genesis, &keypair, &nodes, timeout).await?;
        Ok(Arc::new(Ctx {
            prices: Mutex::new(Prices::from_genesis(&genesis)),
            genesis,
            client,
            keypair,
            nodes,
            nonces: NonceClock::new(),
            nonce_synced: AtomicBool::new(false),
            timeout,
            pipeline: tokio::sync::OnceCell::new(),
            in_flight: Mutex::default(),
            resent: Mutex::default(),
        }))
    }

    pub fn key(&self) -> PublicKey {
        self.keypair.public()
    }

    /// The connected node, for people: `node 2 (127.0.0.1:7802)`, or its address when the
    /// genesis does not name it.
    pub fn node_name(&self) -> String {
        let address = self.client.address();
        self.genesis
            .nodes()
            .find(|n| n.address.eq_ignore_ascii_case(address))
            .map_or_else(
                || address.to_string(),
                |n| format!("node {} ({address})", n.id),
            )
    }

    /// Resolves when this connection is lost (see [`Client::lost`]), with why; the
    /// connection is closed by then.
    pub async fn lost(&self) -> String {
        self.client.lost(WATCH_EVERY, WATCH_QUIET).await.to_string()
    }

    /// A new connection after this one was lost: to the other nodes first (see
    /// [`reconnect_order`]), round after round with a growing pause, for at most
    /// `--timeout`. The new context keeps the prices learned, and learns the game's last
    /// nonce from this key again before it is handed out.
    pub async fn reconnect(&self) -> Result<Arc<Ctx>, Failure> {
        let genesis_nodes = Client::node_addresses(&self.genesis);
        let spread = reconnect_spread(&self.keypair.public());
        let order = reconnect_order(&self.nodes, &genesis_nodes, self.client.address(), spread);
        let deadline = tokio::time::Instant::now() + self.timeout;
        let mut pause = RECONNECT_PAUSE;
        let mut last_error = String::from("no attempt finished in time");
        loop {
            let attempt = Client::connect(&self.genesis, self.keypair.clone(), &order);
            match tokio::time::timeout_at(deadline, attempt).await {
                Ok(Ok(client)) => {
                    let next = self.successor(client);
                    match tokio::time::timeout_at(deadline, next.sync_nonce()).await {
                        Ok(Ok(())) => {
                            let _ = tokio::time::timeout_at(deadline, next.resend_from(self)).await;
                            return Ok(Arc::new(next));
                        }
                        Ok(Err(failure)) => last_error = failure.message,
                        Err(_) => last_error = format!("{} did not answer", next.node_name()),
                    }
                    next.client.abandon("unusable");
                }
                Ok(Err(ClientError::Tls(err @ TlsError::Refused { .. }))) => {
                    return Err(refused_key(&self.keypair, &err));
                }
                Ok(Err(err)) => last_error = err.to_string(),
                Err(_) => {}
            }
            if tokio::time::Instant::now() + pause >= deadline {
                break;
            }
            tokio::time::sleep(pause).await;
            pause = next_reconnect_pause(pause);
        }
        Err(Failure::error(format!(
            "lost the connection to {} and no node of the game answered within {}s: {last_error}",
            self.node_name(),
            self.timeout.as_secs()
        )))
    }

    /// A context on `client` that carries on from this one.
    fn successor(&self, client: Client) -> Ctx {
        Ctx {
            genesis: self.genesis.clone(),
            client,
            keypair: self.keypair.clone(),
            nodes: self.nodes.clone(),
            nonces: self.nonces.clone(),
            nonce_synced: AtomicBool::new(false),
            prices: Mutex::new(self.prices.lock().expect("prices lock").clone()),
            timeout: self.timeout,
            pipeline: tokio::sync::OnceCell::new(),
            in_flight: Mutex::default(),
            resent: Mutex::default(),
        }
    }

    /// Notes that `tx` is being sent on this connection; its answer is awaited.
    pub fn sending(&self, tx: &SignedTx) {
        self.in_flight
            .lock()
            .expect("in-flight lock")
            .insert(tx.hash(), tx.clone());
    }

    /// Notes that transaction `hash` got its answer (or was never sent).
    pub fn answered(&self, hash: &TxHash) {
        self.in_flight.lock().expect("in-flight lock").remove(hash);
    }

    /// The transaction `hash` as signed, if it was sent on this connection and not
    /// answered.
    pub fn unanswered(&self, hash: &TxHash) -> Option<SignedTx> {
        self.in_flight
            .lock()
            .expect("in-flight lock")
            .get(hash)
            .cloned()
    }

    /// The receipt awaited for transaction `hash`, if a lost predecessor left it in
    /// flight and this connection sent it again.
    pub fn take_resent(&self, hash: &TxHash) -> Option<PendingReceipt> {
        self.resent.lock().expect("resent lock").remove(hash)
    }

    /// Sends again, on this connection's pipeline, every transaction `lost` left in
    /// flight, in nonce order, before anything new is sent here: a transaction is applied
    /// at most once (its nonce makes a second copy stale), so a copy that is already in
    /// the chain costs nothing, and one the dead node took with it gets applied instead
    /// of left in doubt. Best effort: what cannot be sent is settled by lookup.
    async fn resend_from(&self, lost: &Ctx) {
        let mut txs: Vec<SignedTx> = lost
            .in_flight
            .lock()
            .expect("in-flight lock")
            .values()
            .cloned()
            .collect();
        if txs.is_empty() {
            return;
        }
        txs.sort_by_key(|tx| tx.tx.nonce);
        let Ok(pipeline) = self.pipeline().await else {
            return;
        };
        for tx in txs {
            let Ok(pending) = pipeline.submit(&tx).await else {
                return;
            };
            self.sending(&tx);
            self.resent
                .lock()
                .expect("resent lock")
                .insert(tx.hash(), pending);
        }
    }

    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// The connection's ordered submission pipeline.
    pub async fn pipeline(&self) -> Result<&Pipeline, Failure> {
        self.pipeline
            .get_or_try_init(|| async { self.client.pipeline().await.map_err(request_failure) })
            .await
    }

    /// Closes the connection politely if nothing else holds it.
    pub async fn close(self: Arc<Self>) {
        if let Ok(ctx) = Arc::try_unwrap(self) {
            ctx.client.close().await;
        }
    }

    /// One request, one answer, in time; a refusal or trouble is a [`Failure`].
    pub async fn ask(&self, request: &Request) -> Result<Response, Failure> {
        match tokio::time::timeout(self.timeout, self.client.request(request)).await {
            Ok(Ok(response)) => Ok(response),
            Ok(Err(err)) => Err(request_failure(err)),
            Err(_) => Err(Failure::error(format!(
                "no answer from {} within {}s",
                self.client.node(),
                self.timeout.as_secs()
            ))),
        }
    }

    /// Signs `body` with the key's next nonce ([`NonceClock`]).
    pub fn sign(&self, body: TxBody) -> SignedTx {
        Tx {
            signer: self.keypair.public(),
            nonce: self.nonces.next(),
            body,
        }
        .sign(&self.keypair, &self.genesis.chain_id())
    }

    /// Learns that the game has seen nonce `last` from this key.
    pub fn saw_nonce(&self, last: u64) {
        self.nonces.saw(last);
    }

    /// Once per connection: learns the last nonce the game has seen from this key (so a
    /// machine whose clock is behind still signs above it), and checks that the key is
    /// a participant.
    pub async fn sync_nonce(&self) -> Result<(), Failure> {
        if self.nonce_synced.load(Ordering::Acquire) {
            return Ok(());
        }
        match self.ask(&Request::Account).await? {
            Response::Account(Some(account)) => {
                self.nonces.saw(account.last_nonce);
                self.nonce_synced.store(true, Ordering::Release);
                Ok(())
            }
            Response::Account(None) => Err(not_a_participant()),
            other => Err(unexpected(&other)),
        }
    }

    /// What this client knows of the symbols' tick sizes, after asking the node about
    /// any of `symbols` it does not know yet (listed after genesis).
    pub async fn prices(&self, symbols: impl IntoIterator<Item = Ticker>) -> Prices {
        let missing = {
            let prices = self.prices.lock().expect("prices lock");
            symbols.into_iter().any(|s| !prices.knows(s))
        };
        if missing && let Ok(Response::Symbols(list)) = self.ask(&Request::Symbols).await {
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

/// Connects as `keypair` to the first of `nodes` that answers, within `timeout`.
pub async fn connect_client(
    genesis: &Genesis,
    keypair: &Keypair,
    nodes: &[String],
    timeout: Duration,
) -> Result<Client, Failure> {
    let attempt = Client::connect(genesis, keypair.clone(), nodes);
    match tokio::time::timeout(timeout, attempt).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(ClientError::Tls(err @ TlsError::Refused { .. }))) => {
            Err(refused_key(keypair, &err))
        }
        Ok(Err(err)) => Err(Failure::error(format!("cannot connect: {err}"))),
        Err(_) => Err(Failure::error(format!(
            "cannot connect: no node of {} answered within {}s",
            nodes.join(", "),
            timeout.as_secs()
        ))),
    }
}

fn refused_key(keypair: &Keypair, err: &TlsError) -> Failure {
    Failure::error(format!(
        "the game refused this key ({}): {err}; is it a participant of this game?",
        keypair.public()
    ))
}

/// The line a long-lived command prints (JSON) when it has moved to another node:
/// `{"event":"reconnected","node":"127.0.0.1:7802","lost":"127.0.0.1:7801","error":"..."}`.
pub fn reconnected_json(lost: &Ctx, now: &Ctx, why: &str) -> Map<String, Value> {
    let mut map = Map::new();
    map.insert("event".into(), json!("reconnected"));
    map.insert("node".into(), json!(now.client.node().to_string()));
    map.insert("lost".into(), json!(lost.client.node().to_string()));
    map.insert("error".into(), json!(why));
    map
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

pub fn not_a_participant() -> Failure {
    Failure::error("this key is not a participant in this game")
}

pub fn unexpected(response: &Response) -> Failure {
    let text: String = format!("{response:?}").chars().take(120).collect();
    Failure::error(format!("unexpected answer from the node: {text}"))
}
