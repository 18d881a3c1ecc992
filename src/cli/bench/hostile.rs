//! `qraft bench --hostile`: what one student's flood costs the honest traders.
//!
//! Three node processes, honest traders submitting at a fixed rate, measured twice in one
//! run: first alone, then while one student (a valid trader key) floods every node with
//! all a key allows: connections past the per-key budget (refused, again and again),
//! every request stream of every admitted connection holding a half-sent request, a loop
//! of `blocks` queries, a submission pipeline whose answers are never read, and a
//! pipeline of pre-signed orders. Prints the honest traders' submit-to-receipt p50 and
//! p99 in each phase and their ratio, each node's peak resident memory in each phase, and
//! whether any node's term moved (an election).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use qraft_client::query;
use qraft_keys::Keypair;
use qraft_node::core::tx::{SignedTx, Tx, TxBody};
use qraft_node::net::client::{Client, bind_address};
use qraft_node::net::frame::{MAX_CLIENT_REQUEST, MAX_CLIENT_RESPONSE, read_frame, write_frame};
use qraft_node::net::proto::{Request, Response, SubmitOutcome};
use qraft_node::net::tls::{
    Allowlist, CLIENT_ALPN, MAX_CLIENT_STREAMS, TlsIdentity, client_endpoint, connect,
};

use super::{BenchArgs, Cluster, Tally, connect_all, drive, percentile, presign, report};

/// The target: honest p99 under the flood at most this many times the p99 without it.
const P99_TARGET_RATIO: f64 = 2.0;
/// How often each node's resident memory is sampled.
const RSS_EVERY: Duration = Duration::from_millis(100);
/// Connections the student tries per node: more than a key may hold, so some are refused.
const STUDENT_CONNECTIONS: usize = 12;
/// Orders the student pre-signs for its pipelines.
const STUDENT_ORDERS: u64 = 40_000;

pub fn run(args: &BenchArgs) -> Result<()> {
    if args.rate == 0 || args.seconds == 0 {
        bail!("--rate and --seconds must be at least 1");
    }
    // The honest traders, and one more key for the student.
    let cluster = Cluster::start(args, args.clients + 1)?;
    let game = &cluster.game;
    let per_phase = ((args.rate * args.seconds) as usize).div_ceil(args.clients);
    let mut streams = presign(game, 2 * per_phase);
    // The last trader is the student, who signs its own orders below.
    streams.pop();
    let student_key = game.game.traders[args.clients].clone();
    let with_flood: Vec<Vec<SignedTx>> = streams
        .iter_mut()
        .map(|stream| stream.split_off(per_phase))
        .collect();
    let student_orders = student_orders(&cluster, &student_key);
    let addresses: Vec<SocketAddr> = game
        .node_ids()
        .iter()
        .map(|&id| game.address(id).parse())
        .collect::<Result<_, _>>()
        .context("node addresses")?;

    let runtime = super::runtime()?;
    runtime.block_on(async {
        let clients = connect_all(game, args.clients).await?;
        super::wait_for_leader(&clients[0]).await?;
        let observers = observers(&cluster, &addresses).await?;
        let terms_before = terms(&observers).await?;
        eprintln!(
            "cluster up: {} honest traders at {} orders/s for {} s, alone, then under a flood",
            clients.len(),
            args.rate,
            args.seconds
        );

        let rss = RssSampler::start(cluster.pids());
        let (elapsed, alone) = drive(&clients, streams, usize::MAX >> 4, Some(args.rate)).await;
        let rss_alone = rss.take_peak();
        report("honest traders alone", elapsed, &alone);

        let flood = Flood::start(&cluster, student_key, student_orders, &addresses);
        // Let the flood take hold before measuring.
        tokio::time::sleep(Duration::from_secs(2)).await;
        rss.take_peak();
        let (elapsed, flooded) =
            drive(&clients, with_flood, usize::MAX >> 4, Some(args.rate)).await;
        let rss_flooded = rss.take_peak();
        let counts = flood.stop().await;
        report("honest traders under the flood", elapsed, &flooded);
        let terms_after = terms(&observers).await?;

        summarize(&alone, &flooded, &rss_alone, &rss_flooded, &counts);
        let elections = terms_before
            .iter()
            .zip(&terms_after)
            .filter(|(before, after)| before != after)
            .count();
        println!(
            "elections: {} (terms and leaders before {:?}, after {:?})",
            if elections == 0 { "none" } else { "some" },
            terms_before,
            terms_after
        );
        Ok::<(), anyhow::Error>(())
    })?;
    drop(cluster);
    Ok(())
}

/// The student's orders: resting buys far from the market, nonces 1, 2, ...
fn student_orders(cluster: &Cluster, key: &Keypair) -> Vec<SignedTx> {
    let genesis = &cluster.game.game.genesis;
    let chain = genesis.chain_id();
    let symbol = genesis.symbols[0].ticker;
    (1..=STUDENT_ORDERS)
        .map(|nonce| {
            Tx {
                signer: key.public(),
                nonce,
                body: TxBody::Order(qraft_node::core::tx::NewOrder {
                    symbol,
                    side: qraft_node::core::types::Side::Buy,
                    quantity: 1,
                    kind: qraft_node::core::tx::OrderKind::Limit { price: 1 },
                }),
            }
            .sign(key, &chain)
        })
        .collect()
}

/// One admin client per node, to read each node's term and leader.
async fn observers(cluster: &Cluster, addresses: &[SocketAddr]) -> Result<Vec<Client>> {
    let genesis = &cluster.game.game.genesis;
    let mut out = Vec::new();
    for address in addresses {
        let client = Client::connect(
            genesis,
            cluster.game.game.admin.clone(),
            &[address.to_string()],
        )
        .await
        .context("cannot reach a node to observe")?;
        out.push(client);
    }
    Ok(out)
}

async fn terms(observers: &[Client]) -> Result<Vec<(u64, Option<u64>)>> {
    let mut out = Vec::new();
    for client in observers {
        let status = query::status().ask(client).await?;
        out.push((status.term, status.leader));
    }
    Ok(out)
}

fn summarize(
    alone: &Tally,
    flooded: &Tally,
    rss_alone: &[u64],
    rss_flooded: &[u64],
    counts: &FloodCounts,
) {
    let ms = |t: &Tally, q| percentile(&t.latencies_us, q) as f64 / 1000.0;
    let (p99_alone, p99_flooded) = (ms(alone, 0.99), ms(flooded, 0.99));
    println!(
        "honest p50 {:.2} -> {:.2} ms, p99 {:.2} -> {:.2} ms: under the flood p99 is {:.2}x, target at most {P99_TARGET_RATIO}x",
        ms(alone, 0.5),
        ms(flooded, 0.5),
        p99_alone,
        p99_flooded,
        p99_flooded / p99_alone.max(0.001)
    );
    let mib = |kib: &u64| format!("{:.1}", *kib as f64 / 1024.0);
    println!(
        "peak resident memory per node (MiB): alone [{}], under the flood [{}]",
        rss_alone.iter().map(mib).collect::<Vec<_>>().join(", "),
        rss_flooded.iter().map(mib).collect::<Vec<_>>().join(", ")
    );
    println!(
        "the flood: {} connections refused, {} half-sent requests held, {} blocks answers ({} busy), {} orders written to unread pipelines, {} pipelined orders answered ({} refused)",
        counts.refused_connections.load(Ordering::Relaxed),
        counts.half_sent.load(Ordering::Relaxed),
        counts.blocks.load(Ordering::Relaxed),
        counts.busy.load(Ordering::Relaxed),
        counts.unread.load(Ordering::Relaxed),
        counts.answered.load(Ordering::Relaxed),
        counts.refused_orders.load(Ordering::Relaxed),
    );
}

/// The highest resident memory each process reached since the last [`take_peak`].
///
/// [`take_peak`]: RssSampler::take_peak
struct RssSampler {
    peaks: Arc<Vec<AtomicU64>>,
    task: tokio::task::JoinHandle<()>,
}

impl RssSampler {
    fn start(pids: Vec<u32>) -> RssSampler {
        let peaks: Arc<Vec<AtomicU64>> = Arc::new(pids.iter().map(|_| AtomicU64::new(0)).collect());
        let sampled = peaks.clone();
        let task = tokio::spawn(async move {
            loop {
                for (pid, peak) in pids.iter().zip(sampled.iter()) {
                    if let Some(kib) = resident_kib(*pid) {
                        peak.fetch_max(kib, Ordering::Relaxed);
                    }
                }
                tokio::time::sleep(RSS_EVERY).await;
            }
        });
        RssSampler { peaks, task }
    }

    /// Each process's peak (KiB) since the last call, and starts again from now.
    fn take_peak(&self) -> Vec<u64> {
        self.peaks
            .iter()
            .map(|p| p.swap(0, Ordering::Relaxed))
            .collect()
    }
}

impl Drop for RssSampler {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A process's resident memory in KiB, from /proc (Linux).
fn resident_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[derive(Default)]
struct FloodCounts {
    refused_connections: AtomicU64,
    half_sent: AtomicU64,
    blocks: AtomicU64,
    busy: AtomicU64,
    unread: AtomicU64,
    answered: AtomicU64,
    refused_orders: AtomicU64,
}

/// The student's flood, until stopped.
struct Flood {
    stop: Arc<AtomicBool>,
    counts: Arc<FloodCounts>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Flood {
    fn start(
        cluster: &Cluster,
        key: Keypair,
        orders: Vec<SignedTx>,
        addresses: &[SocketAddr],
    ) -> Flood {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(FloodCounts::default());
        let allow = Allowlist::from_genesis(&cluster.game.game.genesis);
        let identity = TlsIdentity::from_keypair(&key).expect("a valid key makes an identity");
        // Each node gets its share of the student's orders, in nonce order.
        let per_node = orders.len().div_ceil(addresses.len().max(1));
        let mut orders = orders.chunks(per_node.max(1)).map(<[SignedTx]>::to_vec);
        let mut tasks = Vec::new();
        for &address in addresses {
            let endpoint = client_endpoint(bind_address(address), &identity, allow.clone())
                .expect("a client endpoint binds");
            let mine = orders.next().unwrap_or_default();
            let (unread, read) = mine.split_at(mine.len() / 2);
            let attack = Attack {
                endpoint,
                address,
                stop: stop.clone(),
                counts: counts.clone(),
            };
            tasks.push(tokio::spawn(attack.run(unread.to_vec(), read.to_vec())));
        }
        Flood {
            stop,
            counts,
            tasks,
        }
    }

    async fn stop(self) -> Arc<FloodCounts> {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            task.abort();
            let _ = task.await;
        }
        self.counts
    }
}

/// One node's share of the flood.
#[derive(Clone)]
struct Attack {
    endpoint: quinn::Endpoint,
    address: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<FloodCounts>,
}

impl Attack {
    async fn run(self, unread: Vec<SignedTx>, read: Vec<SignedTx>) {
        let mut connections = Vec::new();
        for _ in 0..STUDENT_CONNECTIONS {
            match connect(&self.endpoint, self.address, CLIENT_ALPN, None).await {
                Ok(connection) => connections.push(connection),
                Err(_) => {
                    self.counts
                        .refused_connections
                        .fetch_add(1, Ordering::Relaxed);
                }
            }
        }
        // A connection refused just after its handshake is closed a moment later.
        tokio::time::sleep(Duration::from_millis(200)).await;
        connections.retain(|c| c.close_reason().is_none());
        let mut tasks = Vec::new();
        let mut connections = connections.into_iter();
        if let Some(c) = connections.next() {
            for _ in 0..4 {
                tasks.push(tokio::spawn(self.clone().blocks_loop(c.clone())));
            }
        }
        if let Some(c) = connections.next() {
            tasks.push(tokio::spawn(self.clone().unread_pipeline(c, unread)));
        }
        if let Some(c) = connections.next() {
            tasks.push(tokio::spawn(self.clone().read_pipeline(c, read)));
        }
        for c in connections {
            for _ in 0..MAX_CLIENT_STREAMS {
                tasks.push(tokio::spawn(self.clone().half_sent(c.clone())));
            }
        }
        tasks.push(tokio::spawn(self.clone().refused_again()));
        for task in &mut tasks {
            let _ = task.await;
        }
    }

    fn stopped(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    /// Connections past the budget, again and again: each is refused.
    async fn refused_again(self) {
        while !self.stopped() {
            if connect(&self.endpoint, self.address, CLIENT_ALPN, None)
                .await
                .is_err()
            {
                self.counts
                    .refused_connections
                    .fetch_add(1, Ordering::Relaxed);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// The first hundred blocks, asked for again as soon as they come.
    async fn blocks_loop(self, connection: quinn::Connection) {
        while !self.stopped() {
            let Ok((mut send, mut recv)) = connection.open_bi().await else {
                return;
            };
            let request = Request::Blocks { from: 1, to: 100 };
            if write_frame(&mut send, &request, MAX_CLIENT_REQUEST)
                .await
                .is_err()
            {
                return;
            }
            let _ = send.finish();
            match read_frame::<_, Response>(&mut recv, MAX_CLIENT_RESPONSE).await {
                Ok(Some(Response::Blocks(_))) => {
                    self.counts.blocks.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Some(Response::Error(_))) => {
                    self.counts.busy.fetch_add(1, Ordering::Relaxed);
                }
                _ => return,
            }
        }
    }

    /// A request announced and never finished, on a stream held until the node gives up
    /// on it; then another.
    async fn half_sent(self, connection: quinn::Connection) {
        while !self.stopped() {
            let Ok((mut send, mut recv)) = connection.open_bi().await else {
                return;
            };
            let announced = (MAX_CLIENT_REQUEST as u32).to_be_bytes();
            if send.write_all(&announced).await.is_err() || send.write_all(&[0; 10]).await.is_err()
            {
                return;
            }
            self.counts.half_sent.fetch_add(1, Ordering::Relaxed);
            // Held until the node resets it (its deadline) or the connection ends.
            let mut sink = [0u8; 64];
            while let Ok(Some(_)) = recv.read(&mut sink).await {}
        }
    }

    /// Orders written into a pipeline whose answers are never read.
    async fn unread_pipeline(self, connection: quinn::Connection, orders: Vec<SignedTx>) {
        let Ok((mut send, _recv)) = connection.open_bi().await else {
            return;
        };
        if write_frame(&mut send, &Request::Pipeline, MAX_CLIENT_REQUEST)
            .await
            .is_err()
        {
            return;
        }
        for tx in orders {
            if self.stopped()
                || write_frame(&mut send, &tx, MAX_CLIENT_REQUEST)
                    .await
                    .is_err()
            {
                return;
            }
            self.counts.unread.fetch_add(1, Ordering::Relaxed);
        }
        // Keep the stream (and its unread answers) open until stopped.
        while !self.stopped() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Pre-signed orders as fast as the pipeline takes them, answers read.
    async fn read_pipeline(self, connection: quinn::Connection, orders: Vec<SignedTx>) {
        let Ok((mut send, mut recv)) = connection.open_bi().await else {
            return;
        };
        if write_frame(&mut send, &Request::Pipeline, MAX_CLIENT_REQUEST)
            .await
            .is_err()
        {
            return;
        }
        let counts = self.counts.clone();
        let reader = tokio::spawn(async move {
            // The pipeline's first answer says it is open; then one outcome per order.
            let _ = read_frame::<_, Response>(&mut recv, MAX_CLIENT_RESPONSE).await;
            while let Ok(Some(outcome)) =
                read_frame::<_, SubmitOutcome>(&mut recv, MAX_CLIENT_RESPONSE).await
            {
                counts.answered.fetch_add(1, Ordering::Relaxed);
                if outcome.result.is_err() {
                    counts.refused_orders.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        let started = Instant::now();
        for tx in orders {
            if self.stopped()
                || write_frame(&mut send, &tx, MAX_CLIENT_REQUEST)
                    .await
                    .is_err()
            {
                break;
            }
        }
        tracing::debug!(after = ?started.elapsed(), "the student's pipeline is written");
        while !self.stopped() {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        reader.abort();
    }
}
