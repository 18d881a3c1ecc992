//! The cluster benchmark: an in-process 3-voter cluster (real fjall stores with fsync,
//! the in-memory transport), driven with pre-signed orders by many concurrent
//! submitters through the nodes' `Handle`s. Every node verifies every signature.
//!
//! Two runs:
//! 1. throughput: as fast as the cluster takes them (a window of outstanding orders);
//!    committed-and-applied orders per second.
//! 2. latency: a fixed offered rate (10,000 orders/s by default); submit-to-receipt
//!    percentiles.
//!
//! `cargo bench -p qraft-node --bench cluster` (add `-- --orders N --rate R --seconds S`).
//! It also measures this machine's batch-verification rate, to say how close the cluster
//! comes to the limit: (cores x one core's batch-verify rate) / verifying replicas.

use std::sync::Arc;
use std::sync::Mutex as StdMutex;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use qraft_keys::Keypair;
use qraft_node::api::{Handle, SubmitError};
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::SignedTx;
use qraft_node::testkit::local::{ClusterOptions, LocalCluster};
use qraft_node::testkit::workload::OrderFlow;
use tokio::sync::Semaphore;

struct Args {
    orders: usize,
    rate: u64,
    seconds: u64,
    window: usize,
}

fn args() -> Args {
    let mut args = Args {
        orders: 200_000,
        rate: 10_000,
        seconds: 6,
        window: 8_192,
    };
    let list: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < list.len() {
        let value = || list.get(i + 1).and_then(|v| v.parse::<u64>().ok());
        match list[i].as_str() {
            "--orders" => args.orders = value().expect("--orders N") as usize,
            "--rate" => args.rate = value().expect("--rate R"),
            "--seconds" => args.seconds = value().expect("--seconds S"),
            "--window" => args.window = value().expect("--window W") as usize,
            _ => {}
        }
        i += 1;
    }
    args
}

const TRADERS: usize = 1_000;
const SUBMITTERS: usize = 16;

/// Pre-signs `count` orders, split by trader into one stream per submitter (each
/// trader's orders in nonce order, on one submitter).
fn presign(cluster: &LocalCluster, count: usize, seed: u64) -> Vec<Vec<SignedTx>> {
    let genesis = cluster.game.genesis.clone();
    let traders: Vec<[u8; 32]> = cluster.game.traders.iter().map(|k| *k.seed()).collect();
    let per = count / SUBMITTERS;
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..SUBMITTERS)
            .map(|s| {
                let genesis = &genesis;
                let keys: Vec<Keypair> = traders
                    .iter()
                    .skip(s)
                    .step_by(SUBMITTERS)
                    .map(Keypair::from_seed)
                    .collect();
                scope.spawn(move || {
                    let mut flow = OrderFlow::new(genesis, &keys, seed + s as u64);
                    (0..per).map(|_| flow.next_tx()).collect::<Vec<_>>()
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    })
}

#[derive(Default)]
struct Tally {
    accepted: u64,
    rejected: u64,
    refused: u64,
    timeouts: u64,
}

/// Submits every stream through the handles (submitter `s` uses node `s % n`), at most
/// `window` outstanding; if `rate` is set, paced to that many orders per second in all.
async fn drive(
    handles: &[Handle],
    streams: Vec<Vec<SignedTx>>,
    window: usize,
    rate: Option<u64>,
) -> (Duration, Histogram<u64>, Tally) {
    let histogram = Arc::new(StdMutex::new(
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).unwrap(),
    ));
    let tally = Arc::new(StdMutex::new(Tally::default()));
    let permits = Arc::new(Semaphore::new(window));
    let start = Instant::now();
    let mut submitters = Vec::new();
    let per_submitter_period = rate.map(|r| Duration::from_secs_f64(SUBMITTERS as f64 / r as f64));
    for (s, stream) in streams.into_iter().enumerate() {
        let handle = handles[s % handles.len()].clone();
        let permits = permits.clone();
        let histogram = histogram.clone();
        let tally = tally.clone();
        submitters.push(tokio::spawn(async move {
            let mut inflight = Vec::with_capacity(stream.len());
            for (i, tx) in stream.into_iter().enumerate() {
                if let Some(period) = per_submitter_period {
                    let due = start + period * i as u32;
                    if due > Instant::now() {
                        tokio::time::sleep_until(due.into()).await;
                    }
                }
                let permit = permits.clone().acquire_owned().await.unwrap();
                let sent = Instant::now();
                let pending = handle.enqueue(tx);
                let histogram = histogram.clone();
                let tally = tally.clone();
                inflight.push(tokio::spawn(async move {
                    let result = pending.wait().await;
                    let micros = sent.elapsed().as_micros() as u64;
                    drop(permit);
                    let mut t = tally.lock().unwrap();
                    match result {
                        Ok(committed) => {
                            histogram.lock().unwrap().record(micros.max(1)).unwrap();
                            if committed.receipt.is_accepted() {
                                t.accepted += 1
                            } else {
                                t.rejected += 1
                            }
                        }
                        Err(SubmitError::Refused(_)) => t.refused += 1,
                        Err(_) => t.timeouts += 1,
                    }
                }));
            }
            for task in inflight {
                task.await.unwrap();
            }
        }));
    }
    for submitter in submitters {
        submitter.await.unwrap();
    }
    let elapsed = start.elapsed();
    let histogram = histogram.lock().unwrap().clone();
    let tally = std::mem::take(&mut *tally.lock().unwrap());
    (elapsed, histogram, tally)
}

/// This process's CPU time so far (user + system), from /proc (Linux); zero elsewhere.
fn cpu_time() -> Duration {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return Duration::ZERO;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let Some(rest) = stat.rsplit_once(')').map(|(_, rest)| rest) else {
        return Duration::ZERO;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    Duration::from_millis((ticks(11) + ticks(12)) * 10)
}

fn report(name: &str, elapsed: Duration, histogram: &Histogram<u64>, tally: &Tally) -> f64 {
    let applied = tally.accepted + tally.rejected;
    let rate = applied as f64 / elapsed.as_secs_f64();
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    println!(
        "{name}: {applied} orders applied in {:.2} s = {rate:.0} orders/s \
         ({} accepted, {} rejected by the exchange, {} refused, {} timed out)",
        elapsed.as_secs_f64(),
        tally.accepted,
        tally.rejected,
        tally.refused,
        tally.timeouts
    );
    println!(
        "{name}: submit-to-receipt latency p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms",
        ms(0.50),
        ms(0.90),
        ms(0.99),
        ms(0.999),
        histogram.max() as f64 / 1000.0
    );
    rate
}

/// One core's batch-verification rate (signatures per second) at batches of 1,024, each
/// by a different signer (the worst case: no signer's key terms can be merged).
fn batch_verify_rate() -> f64 {
    use qraft_keys::signing::{BatchItem, Domain, VerifyingKey, signing_message, verify_batch};
    let chain = qraft_keys::ChainId([1; 32]);
    let keys: Vec<Keypair> = (0..1024)
        .map(|i| Keypair::from_label(&format!("k{i}")))
        .collect();
    let messages: Vec<Vec<u8>> = (0..1024u32)
        .map(|i| signing_message(Domain::Transaction, &chain, &i.to_le_bytes()))
        .collect();
    let signatures: Vec<_> = (0..1024)
        .map(|i| keys[i].sign(Domain::Transaction, &chain, &(i as u32).to_le_bytes()))
        .collect();
    let verifying: Vec<VerifyingKey> = keys
        .iter()
        .map(|k| k.public().verifying_key().unwrap())
        .collect();
    let items: Vec<BatchItem<'_>> = (0..1024)
        .map(|i| BatchItem {
            key: &verifying[i],
            message: &messages[i],
            signature: &signatures[i],
        })
        .collect();
    let start = Instant::now();
    let mut verified = 0;
    while start.elapsed() < Duration::from_secs(1) {
        assert!(verify_batch(&items).iter().all(|ok| *ok));
        verified += items.len();
    }
    verified as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let args = args();
    if std::env::args().any(|a| a == "--list") {
        println!("cluster: benchmark");
        return;
    }
    let one_core = batch_verify_rate();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let limit = one_core * cores as f64 / 3.0;
    println!(
        "machine: {cores} cores, batch verify {one_core:.0} signatures/s per core; \
         limit with 3 verifying replicas = {limit:.0} orders/s"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let options = ClusterOptions {
            game: SampleOptions {
                traders: TRADERS,
                symbols: 10,
                ..SampleOptions::default()
            },
            tune: |config| {
                config.max_batch_txs = 2_000;
                config.max_batch_delay_ms = 2;
            },
            submit_timeout: Duration::from_secs(30),
            ..ClusterOptions::default()
        };

        // 1. Throughput.
        let cluster = LocalCluster::start(options.clone()).unwrap();
        let leader = cluster
            .wait_for_leader(Duration::from_secs(10))
            .await
            .unwrap();
        let streams = presign(&cluster, args.orders, 1);
        let handles = vec![cluster.handle(leader)];
        let cpu_before = cpu_time();
        let (elapsed, histogram, tally) = drive(&handles, streams, args.window, None).await;
        let cpu = cpu_time().saturating_sub(cpu_before);
        let rate = report("throughput", elapsed, &histogram, &tally);
        println!(
            "throughput: CPU busy {:.0}% of {cores} cores during the run; {:.1} µs of CPU per order",
            100.0 * cpu.as_secs_f64() / elapsed.as_secs_f64() / cores as f64,
            cpu.as_secs_f64() * 1e6 / (tally.accepted + tally.rejected).max(1) as f64
        );
        println!(
            "throughput: {:.2}x the 30,000 orders/s target; {:.0}% of this machine's limit",
            rate / 30_000.0,
            100.0 * rate / limit
        );
        drop(cluster);

        // 2. Latency at a fixed offered rate.
        let cluster = LocalCluster::start(options).unwrap();
        let leader = cluster
            .wait_for_leader(Duration::from_secs(10))
            .await
            .unwrap();
        let count = (args.rate * args.seconds) as usize;
        let streams = presign(&cluster, count, 2);
        let handles = vec![cluster.handle(leader)];
        let (elapsed, histogram, tally) =
            drive(&handles, streams, usize::MAX >> 4, Some(args.rate)).await;
        report(
            &format!("latency at {} orders/s offered", args.rate),
            elapsed,
            &histogram,
            &tally,
        );
        println!(
            "latency: p99 {:.2} ms is {:.2}x the 20 ms limit",
            histogram.value_at_quantile(0.99) as f64 / 1000.0,
            histogram.value_at_quantile(0.99) as f64 / 1000.0 / 20.0
        );
    });
}
