//! `qraft bench`: a local cluster of real `qraft` processes over QUIC on loopback, driven
//! by many clients with pre-signed orders: committed orders per second, and
//! submit-to-receipt latency at a fixed offered rate.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use qraft_client::query;
use qraft_keys::Keypair;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::SignedTx;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::testkit::disk::GameDir;
use qraft_node::testkit::workload::OrderFlow;
use tokio::sync::Semaphore;

mod hostile;
mod restart;

#[derive(Args)]
pub struct BenchArgs {
    /// Orders in the throughput run (100,000 unless given); with `--restart`, the one
    /// length of chain to measure (10,000 and 1,000,000 unless given).
    #[arg(long)]
    pub orders: Option<usize>,
    /// Orders per second offered in the latency run.
    #[arg(long, default_value_t = 5_000)]
    pub rate: u64,
    /// Length of the latency run, in seconds.
    #[arg(long, default_value_t = 5)]
    pub seconds: u64,
    /// Client connections (each its own trader).
    #[arg(long, default_value_t = 64)]
    pub clients: usize,
    /// Orders each client keeps in flight in the throughput run.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Keep the game directory (node logs, data) here instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Instead: honest traders at `--rate` orders/s for `--seconds`, first alone, then
    /// while one student floods the nodes (connections, half-sent requests, a blocks
    /// loop, a pipeline never read, pre-signed orders); prints both latencies, the
    /// nodes' peak memory and whether an election happened.
    #[arg(long)]
    pub hostile: bool,
    /// Instead: build a chain of `--orders` orders, kill a follower and start it again;
    /// prints the time its store took to open, the time until it serves with a leader
    /// known and until it is caught up, and its resident memory.
    #[arg(long, conflicts_with = "hostile")]
    pub restart: bool,
}

/// Orders in the throughput run unless `--orders` says otherwise.
const DEFAULT_THROUGHPUT_ORDERS: usize = 100_000;

/// The node processes; killed when dropped.
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: u64,
    refused: u64,
    failed: u64,
    latencies_us: Vec<u64>,
    /// Refusals by reason.
    reasons: std::collections::BTreeMap<String, u64>,
}

pub fn run(args: BenchArgs) -> Result<()> {
    if args.clients == 0 || args.window == 0 {
        bail!("--clients and --window must be at least 1");
    }
    if args.hostile {
        return hostile::run(&args);
    }
    if args.restart {
        return restart::run(&args);
    }
    let cluster = Cluster::start(&args, args.clients)?;
    let game = &cluster.game;
    // One nonce sequence per trader: the throughput run's orders, then the latency run's.
    let traders = game.game.traders.len();
    let first = args
        .orders
        .unwrap_or(DEFAULT_THROUGHPUT_ORDERS)
        .div_ceil(traders);
    let second = ((args.rate * args.seconds) as usize).div_ceil(traders);
    let mut throughput_orders = presign(game, first + second);
    let latency_orders: Vec<Vec<SignedTx>> = throughput_orders
        .iter_mut()
        .map(|stream| stream.split_off(first))
        .collect();

    let runtime = runtime()?;
    runtime.block_on(async {
        let clients = connect_all(game, args.clients).await?;
        wait_for_leader(&clients[0]).await?;
        eprintln!("cluster up: {} clients connected", clients.len());

        let (elapsed, tally) = drive(&clients, throughput_orders, args.window, None).await;
        let rate = report("throughput", elapsed, &tally);
        println!(
            "throughput: {:.2}x the 20,000 orders/s target",
            rate / 20_000.0
        );

        let (elapsed, tally) =
            drive(&clients, latency_orders, usize::MAX >> 4, Some(args.rate)).await;
        report(
            &format!("latency at {} orders/s offered", args.rate),
            elapsed,
            &tally,
        );
        let p99 = percentile(&tally.latencies_us, 0.99) as f64 / 1000.0;
        println!(
            "latency: p99 {p99:.2} ms is {:.2}x the 25 ms limit",
            p99 / 25.0
        );
        for client in clients {
            if let Ok(client) = Arc::try_unwrap(client) {
                client.close().await;
            }
        }
        Ok::<(), anyhow::Error>(())
    })?;
    drop(cluster);
    Ok(())
}

/// The benchmark's game, its node processes, and where they keep their data.
struct Cluster {
    game: GameDir,
    nodes: Nodes,
    /// Removed on drop, unless `--keep` named a directory instead.
    _temp: tempfile::TempDir,
}

impl Cluster {
    /// Writes a game of `traders` traders and starts its three voters as processes.
    fn start(args: &BenchArgs, traders: usize) -> Result<Cluster> {
        let temp = tempfile::tempdir().context("cannot make a temporary directory")?;
        let dir = match &args.keep {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                dir.clone()
            }
            None => temp.path().to_path_buf(),
        };
        let options = SampleOptions {
            traders,
            symbols: 10,
            voters: 3,
            ..SampleOptions::default()
        };
        let game = GameDir::create(
            &dir,
            &options,
            0,
            "max_batch_txs = 2000\nmax_batch_delay_ms = 2\nmempool_capacity = 200000",
        )
        .context("cannot write the benchmark's game")?;
        let exe = std::env::current_exe().context("cannot find the qraft executable")?;
        let mut nodes = Nodes(Vec::new());
        for id in game.node_ids() {
            let log = std::fs::File::create(dir.join(format!("node{id}.log")))?;
            let child = Command::new(&exe)
                .args(["run", "--headless", "--config"])
                .arg(game.config(id))
                .env("RUST_LOG", node_log_filter("warn"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .context("cannot start a node process")?;
            nodes.0.push(child);
        }
        eprintln!(
            "3 voter processes on 127.0.0.1 (game in {}); signing orders...",
            dir.display()
        );
        Ok(Cluster {
            game,
            nodes,
            _temp: temp,
        })
    }

    /// The node processes' ids, in the order they were started.
    fn pids(&self) -> Vec<u32> {
        self.nodes.0.iter().map(Child::id).collect()
    }
}

/// The clients' runtime: two workers, like the machine's two cores.
fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// `per` orders for each trader, in nonce order.
fn presign(game: &GameDir, per: usize) -> Vec<Vec<SignedTx>> {
    let traders = &game.game.traders;
    let genesis = &game.game.genesis;
    std::thread::scope(|scope| {
        let handles: Vec<_> = traders
            .chunks(traders.len().div_ceil(2))
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .enumerate()
                        .map(|(i, key)| {
                            let key = key.clone();
                            let mut flow = OrderFlow::new(genesis, &[key], i as u64);
                            (0..per).map(|_| flow.next_tx_from(0)).collect::<Vec<_>>()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().expect("signing threads do not panic"))
            .collect()
    })
}

/// One client per trader, spread over the nodes.
async fn connect_all(game: &GameDir, count: usize) -> Result<Vec<Arc<Client>>> {
    let addresses: Vec<String> = game.node_ids().iter().map(|&id| game.address(id)).collect();
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut clients = Vec::with_capacity(count);
    for t in 0..count {
        let mut order = addresses.clone();
        order.rotate_left(t % addresses.len());
        loop {
            let key = Keypair::from_seed(&game.game.traders[t].seed());
            match Client::connect(&game.game.genesis, key, &order).await {
                Ok(client) => {
                    clients.push(Arc::new(client));
                    break;
                }
                Err(err) if Instant::now() < deadline => {
                    tracing::debug!(%err, "nodes not up yet");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => return Err(err).context("the nodes did not come up"),
            }
        }
    }
    Ok(clients)
}

async fn wait_for_leader(client: &Client) -> Result<()> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(status) = query::status().ask(client).await
            && status.leader.is_some()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no leader was elected within 30 s");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Submits every stream through its client, at most `window` in flight per client; paced
/// to `rate` orders per second in all when given.
async fn drive(
    clients: &[Arc<Client>],
    streams: Vec<Vec<SignedTx>>,
    window: usize,
    rate: Option<u64>,
) -> (Duration, Tally) {
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let period = rate.map(|r| Duration::from_secs_f64(clients.len() as f64 / r as f64));
    let mut tasks = Vec::new();
    for (client, stream) in clients.iter().zip(streams) {
        let client = client.clone();
        let tally = tally.clone();
        tasks.push(tokio::spawn(async move {
            // One ordered pipeline per client, so each trader's nonces arrive in order.
            let pipeline = match client.pipeline().await {
                Ok(pipeline) => Arc::new(pipeline),
                Err(err) => {
                    tracing::error!(%err, "cannot open a pipeline");
                    tally.lock().expect("not poisoned").failed += stream.len() as u64;
                    return;
                }
            };
            let permits = Arc::new(Semaphore::new(window));
            let mut inflight = Vec::with_capacity(stream.len());
            for (i, tx) in stream.into_iter().enumerate() {
                if let Some(period) = period {
                    let due = start + period * i as u32;
                    if due > Instant::now() {
                        tokio::time::sleep_until(due.into()).await;
                    }
                }
                let permit = permits.clone().acquire_owned().await.expect("never closed");
                let sent = Instant::now();
                let pending = pipeline.submit(&tx).await;
                let tally = tally.clone();
                inflight.push(tokio::spawn(async move {
                    let result = match pending {
                        Ok(pending) => pending.wait().await,
                        Err(err) => Err(err),
                    };
                    let micros = sent.elapsed().as_micros() as u64;
                    drop(permit);
                    let mut t = tally.lock().expect("not poisoned");
                    match result {
                        Ok(committed) => {
                            t.latencies_us.push(micros);
                            if committed.receipt.is_accepted() {
                                t.accepted += 1;
                            } else {
                                t.rejected += 1;
                            }
                        }
                        Err(ClientError::Submit(failure)) => {
                            t.refused += 1;
                            *t.reasons.entry(failure.to_string()).or_default() += 1;
                        }
                        Err(_) => t.failed += 1,
                    }
                }));
            }
            for task in inflight {
                let _ = task.await;
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    let elapsed = start.elapsed();
    let tally = std::mem::take(&mut *tally.lock().expect("not poisoned"));
    (elapsed, tally)
}

fn percentile(values: &[u64], q: f64) -> u64 {
    if values.is_empty() {
        return 0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_unstable();
    let rank = ((sorted.len() as f64 * q).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn report(name: &str, elapsed: Duration, tally: &Tally) -> f64 {
    let applied = tally.accepted + tally.rejected;
    let rate = applied as f64 / elapsed.as_secs_f64();
    let ms = |q| percentile(&tally.latencies_us, q) as f64 / 1000.0;
    println!(
        "{name}: {applied} orders committed in {:.2} s = {rate:.0} orders/s \
         ({} accepted, {} rejected by the exchange, {} refused, {} failed)",
        elapsed.as_secs_f64(),
        tally.accepted,
        tally.rejected,
        tally.refused,
        tally.failed
    );
    println!(
        "{name}: submit-to-receipt p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        ms(0.5),
        ms(0.9),
        ms(0.99),
        ms(0.999),
        ms(1.0)
    );
    for (reason, count) in &tally.reasons {
        println!("{name}: refused {count} times: {reason}");
    }
    rate
}

/// A benchmark node's log filter: `base`, and more from `$QRAFT_BENCH_NODE_LOG` (e.g.
/// `qraft_node::net=debug`) to see where the time goes.
pub fn node_log_filter(base: &str) -> String {
    match std::env::var("QRAFT_BENCH_NODE_LOG") {
        Ok(more) if !more.is_empty() => format!("{base},{more}"),
        _ => base.to_string(),
    }
}
