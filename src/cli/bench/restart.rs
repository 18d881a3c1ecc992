//! `qraft bench --restart`: how long a node takes to come back after a crash, and how
//! much memory it needs, at different lengths of game.
//!
//! Three voter processes build one chain; at each checkpoint (10,000 and 1,000,000 orders
//! unless `--orders` names one) a follower is killed (SIGKILL, as a crashed laptop) and
//! started again on its data directory. Reported per checkpoint: the blocks and bytes on
//! its disk, the time its store took to open (from the node's own log), the time until it
//! answers with a leader known, the time until it has applied every block it had before,
//! and its resident memory (now and peak) at those moments.

use std::fs::OpenOptions;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use qraft_client::query;
use qraft_keys::Keypair;
use qraft_node::api::Status;
use qraft_node::core::tx::SignedTx;
use qraft_node::net::client::Client;
use qraft_node::testkit::workload::OrderFlow;

use super::{BenchArgs, Cluster, connect_all, drive, report, wait_for_leader};

/// The lengths of game measured when `--orders` is not given.
const DEFAULT_CHECKPOINTS: [usize; 2] = [10_000, 1_000_000];
/// Orders signed and submitted at a time while building the chain: the bench holds at
/// most this many signed orders (about 300 bytes each) at once.
const BUILD_CHUNK: usize = 100_000;
/// One connection attempt to the restarting node: far more than a handshake takes on
/// loopback, and short enough that the first attempt after the node listens is not lost
/// behind QUIC's retransmission of an Initial sent to a closed port.
const CONNECT_ATTEMPT: Duration = Duration::from_millis(150);
/// How often the restarting node is asked for its status.
const POLL_EVERY: Duration = Duration::from_millis(10);
/// A restart that takes longer than this is reported as a failure.
const RESTART_DEADLINE: Duration = Duration::from_secs(300);
/// What the restarted node logs (in `Store::open`) once its store is open.
const STORE_OPENED: &str = "store opened";
/// The node's log filter on restart: warnings, and the store's opening line.
const RESTART_LOG_FILTER: &str = "warn,qraft_node::io::store=info";

/// One restart, measured.
struct Restart {
    height: u64,
    disk_bytes: u64,
    store_open_ms: Option<u64>,
    listening: Duration,
    leader_known: Duration,
    caught_up: Duration,
    rss_at_leader: Memory,
    rss_caught_up: Memory,
    settled: Memory,
}

/// A process's resident memory, from /proc/PID/status.
#[derive(Clone, Copy, Default)]
struct Memory {
    /// VmRSS, bytes.
    now: u64,
    /// VmHWM (the peak so far), bytes.
    peak: u64,
}

pub fn run(args: &BenchArgs) -> Result<()> {
    let checkpoints: Vec<usize> = match args.orders {
        Some(orders) => vec![orders],
        None => DEFAULT_CHECKPOINTS.to_vec(),
    };
    // The traders, and one more key for the observer that watches the restarting node.
    let cluster = Cluster::start(args, args.clients + 1)?;
    let mut cluster = cluster;
    let observer_key = cluster.game.game.traders[args.clients].clone();
    let traders = &cluster.game.game.traders[..args.clients];
    let genesis = cluster.game.game.genesis.clone();
    let mut flows: Vec<OrderFlow> = traders
        .iter()
        .enumerate()
        .map(|(i, key)| OrderFlow::new(&genesis, std::slice::from_ref(key), i as u64))
        .collect();

    let runtime = super::runtime()?;
    let mut built = 0usize;
    let mut results = Vec::new();
    for &target in &checkpoints {
        let height = runtime.block_on(async {
            let clients = connect_all(&cluster.game, args.clients).await?;
            wait_for_leader(&clients[0]).await?;
            let started = Instant::now();
            let before = built;
            while built < target {
                let chunk = (target - built).min(BUILD_CHUNK);
                let streams = sign(&mut flows, chunk);
                let (elapsed, tally) = drive(&clients, streams, args.window, None).await;
                if tally.failed > 0 || tally.refused > 0 {
                    report("building the chain", elapsed, &tally);
                }
                built += chunk;
            }
            eprintln!(
                "chain built: {built} orders submitted ({} in {:.1} s)",
                built - before,
                started.elapsed().as_secs_f64()
            );
            let status = status(&clients[0]).await?;
            for client in clients {
                if let Ok(client) = Arc::try_unwrap(client) {
                    client.close().await;
                }
            }
            Ok::<u64, anyhow::Error>(status.height)
        })?;
        let restart = runtime.block_on(restart_a_follower(&mut cluster, &observer_key, height))?;
        print_restart(built, &restart);
        results.push((built, restart));
    }
    if let [(small, a), .., (large, b)] = results.as_slice() {
        println!(
            "restart: caught up after {:.2} s at {small} orders and {:.2} s at {large}, \
             leader known after {:.2} s and {:.2} s; peak resident {} MB and {} MB \
             (targets: <= 2 s and <= 200 MB at 1,000,000)",
            a.caught_up.as_secs_f64(),
            b.caught_up.as_secs_f64(),
            a.leader_known.as_secs_f64(),
            b.leader_known.as_secs_f64(),
            a.settled.peak >> 20,
            b.settled.peak >> 20,
        );
    }
    drop(cluster);
    Ok(())
}

/// `total` orders spread over the traders' flows, each trader's in nonce order, signed on
/// two threads.
fn sign(flows: &mut [OrderFlow], total: usize) -> Vec<Vec<SignedTx>> {
    let per = total.div_ceil(flows.len());
    let half = flows.len().div_ceil(2);
    std::thread::scope(|scope| {
        let handles: Vec<_> = flows
            .chunks_mut(half)
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter_mut()
                        .map(|flow| (0..per).map(|_| flow.next_tx_from(0)).collect::<Vec<_>>())
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

/// Kills a follower (not the leader, so no election muddles the figures), starts it
/// again, and measures it until it has applied `height` blocks again.
async fn restart_a_follower(
    cluster: &mut Cluster,
    observer_key: &Keypair,
    height: u64,
) -> Result<Restart> {
    let ids = cluster.game.node_ids();
    let genesis = cluster.game.game.genesis.clone();
    let addresses: Vec<String> = ids.iter().map(|&id| cluster.game.address(id)).collect();
    let watcher = Client::connect(&genesis, observer_key.clone(), &addresses).await?;
    let leader = status(&watcher).await?.leader;
    watcher.close().await;
    let slot = ids
        .iter()
        .position(|&id| Some(id) != leader)
        .context("every node is the leader")?;
    let id = ids[slot];
    // Let the follower apply everything before it dies, so "caught up" means the blocks
    // it had on disk.
    wait_for_height(&genesis, observer_key, &cluster.game.address(id), height).await?;

    let child = &mut cluster.nodes.0[slot];
    child.kill().context("cannot kill the node")?;
    child.wait()?;
    let data_dir = cluster.game.data_dir(id);
    let disk_bytes = dir_bytes(&data_dir)?;
    let log_path = cluster.game.dir.join(format!("node{id}.restart.log"));
    let log = OpenOptions::new()
        .create(true)
        .truncate(true)
        .write(true)
        .open(&log_path)?;
    eprintln!(
        "node{id} killed at height {height} ({} MB on disk); restarting it",
        disk_bytes >> 20
    );

    let started = Instant::now();
    let exe = std::env::current_exe().context("cannot find the qraft executable")?;
    *child = Command::new(exe)
        .args(["run", "--headless", "--config"])
        .arg(cluster.game.config(id))
        .env("RUST_LOG", super::node_log_filter(RESTART_LOG_FILTER))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .context("cannot restart the node")?;
    let pid = child.id();
    let address = cluster.game.address(id);
    let deadline = started + RESTART_DEADLINE;

    let targets = [address];
    let client = loop {
        let attempt = Client::connect(&genesis, observer_key.clone(), &targets);
        if let Ok(Ok(client)) = tokio::time::timeout(CONNECT_ATTEMPT, attempt).await {
            break client;
        }
        if Instant::now() > deadline {
            bail!("node{id} did not accept a connection within {RESTART_DEADLINE:?}");
        }
        tokio::time::sleep(POLL_EVERY).await;
    };
    let listening = started.elapsed();
    // Back where it stopped (applying its own committed log needs no leader), and a
    // leader known (that needs the other nodes to reach it again): whichever comes first.
    let mut caught_up = None;
    let mut leader_known = None;
    while caught_up.is_none() || leader_known.is_none() {
        if let Ok(status) = status(&client).await {
            if caught_up.is_none() && status.height >= height {
                caught_up = Some((started.elapsed(), memory(pid)?));
            }
            if leader_known.is_none() && status.leader.is_some() {
                leader_known = Some((started.elapsed(), memory(pid)?));
            }
        }
        if Instant::now() > deadline {
            bail!(
                "node{id} did not apply height {height} and know a leader within {RESTART_DEADLINE:?}"
            );
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    let (caught_up, rss_caught_up) = caught_up.expect("the loop ends with it");
    let (leader_known, rss_at_leader) = leader_known.expect("the loop ends with it");
    // Settled: both, and the peak so far.
    let settled = memory(pid)?;
    client.close().await;
    Ok(Restart {
        height,
        disk_bytes,
        store_open_ms: store_open_ms(&log_path),
        listening,
        leader_known,
        caught_up,
        rss_at_leader,
        rss_caught_up,
        settled,
    })
}

async fn status(client: &Client) -> Result<Status> {
    Ok(query::status().ask(client).await?)
}

/// Waits until the node at `address` has applied `height` blocks.
async fn wait_for_height(
    genesis: &qraft_node::core::genesis::Genesis,
    key: &Keypair,
    address: &str,
    height: u64,
) -> Result<()> {
    let client = Client::connect(genesis, key.clone(), &[address.to_string()]).await?;
    let deadline = Instant::now() + RESTART_DEADLINE;
    while status(&client).await?.height < height {
        if Instant::now() > deadline {
            bail!("{address} did not reach height {height}");
        }
        tokio::time::sleep(POLL_EVERY).await;
    }
    client.close().await;
    Ok(())
}

/// VmRSS and VmHWM of process `pid`.
fn memory(pid: u32) -> Result<Memory> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("cannot read the status of process {pid}"))?;
    let field = |name: &str| -> u64 {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|kb| kb.parse::<u64>().ok())
            .map_or(0, |kb| kb << 10)
    };
    Ok(Memory {
        now: field("VmRSS:"),
        peak: field("VmHWM:"),
    })
}

/// The bytes of every file under `dir`.
fn dir_bytes(dir: &Path) -> Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// The `elapsed_ms` of the store's opening line in the node's log.
fn store_open_ms(log: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(log).ok()?;
    let line = text.lines().find(|line| line.contains(STORE_OPENED))?;
    let value = line.split("elapsed_ms=").nth(1)?;
    value.split_whitespace().next()?.parse().ok()
}

fn print_restart(orders: usize, r: &Restart) {
    let mb = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    let store = r
        .store_open_ms
        .map_or("?".to_string(), |ms| format!("{:.2} s", ms as f64 / 1000.0));
    println!(
        "restart at {orders} orders ({} blocks, {:.0} MB on disk): store open {store}, \
         listening {:.2} s, caught up {:.2} s (resident {:.0} MB), leader known {:.2} s \
         (resident {:.0} MB); then resident {:.0} MB, peak {:.0} MB",
        r.height,
        mb(r.disk_bytes),
        r.listening.as_secs_f64(),
        r.caught_up.as_secs_f64(),
        mb(r.rss_caught_up.now),
        r.leader_known.as_secs_f64(),
        mb(r.rss_at_leader.now),
        mb(r.settled.now),
        mb(r.settled.peak),
    );
}
