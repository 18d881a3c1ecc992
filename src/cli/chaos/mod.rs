//! `qraft chaos`: a 3-voter game of real `qraft run --headless` processes on loopback,
//! traders on `qraft session --jsonl`, and faults injected from outside, cycle after
//! cycle (kill -9 of the leader and of a follower, each restarted after 0.5-3 s; SIGSTOP
//! of a voter for 1-6 s). Then a checker: every acknowledged order has the same receipt
//! on every node, the heads agree, `qraft verify` passes on every node. Prints failover
//! figures and the orders' fates; exits non-zero when a check fails.
//!
//! - [`cluster`]: the node processes, the faults done to them, a status probe on each.
//! - [`traders`]: the session processes and their orders' results.
//! - [`faults`]: one fault, and the stall it caused.
//! - [`check`]: the checker on the stopped nodes' data directories.
//! - [`summary`]: the figures and the targets, as text or JSON.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Args;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::testkit::disk::GameDir;

mod check;
mod cluster;
mod faults;
mod summary;
mod traders;

use cluster::Cluster;
use faults::{Delays, FaultKind, FaultRecord};
use qraft_client::bot::market::Rng;
use summary::Summary;
use traders::Traders;

/// Trading before the first fault, so that the chain has blocks and the sessions are
/// connected when it comes.
const WARM_UP: Duration = Duration::from_secs(3);
/// Trading after the last fault, so that the orders sent around it can settle.
const COOL_DOWN: Duration = Duration::from_secs(3);
/// How long the nodes may take to reach the same head once the trading stopped.
const CONVERGE_WAIT: Duration = Duration::from_secs(60);
/// How long the first leader may take to be elected.
const FIRST_LEADER_WAIT: Duration = Duration::from_secs(30);
/// Each trader's cash (cents) and shares of each symbol: enough that no order of the run
/// is rejected for want of either.
const TRADER_CASH: i64 = 1_000_000_000_000;
const TRADER_SHARES: u64 = 100_000_000;
/// The symbols traded: a few, so that orders meet and trade.
const SYMBOLS: usize = 3;

#[derive(Debug, Args)]
pub struct ChaosArgs {
    /// Fault cycles: each is a kill of the leader, a kill of a follower and a pause of
    /// a voter (or only the --only kinds), one after the other.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub cycles: u32,
    /// Seed of the faults, delays and orders (default: from the clock; printed).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Traders, each a `qraft session --jsonl` process.
    #[arg(long, default_value_t = 6, value_parser = clap::value_parser!(u64).range(1..=64))]
    pub clients: u64,
    /// Orders per second from each trader.
    #[arg(long, default_value_t = 15, value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub rate: u64,
    /// Only these kinds of fault (repeatable) [default: all three].
    #[arg(long, value_enum, value_name = "KIND")]
    pub only: Vec<FaultKind>,
    /// Restart a killed node after exactly this many milliseconds instead of a random
    /// 500-3000.
    #[arg(long, value_name = "MS")]
    pub restart_after_ms: Option<u64>,
    /// Keep the game (node data, logs, session logs) in DIR instead of a temporary
    /// directory removed at the end.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Print the summary as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(args: ChaosArgs) -> Result<()> {
    let seed = args.seed.unwrap_or_else(faults::wall_clock_ms);
    let temp = tempfile::tempdir().context("cannot make a temporary directory")?;
    let dir = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            dir.clone()
        }
        None => temp.path().to_path_buf(),
    };
    let options = SampleOptions {
        traders: args.clients as usize,
        symbols: SYMBOLS,
        voters: 3,
        cash: TRADER_CASH,
        shares: TRADER_SHARES,
        ..SampleOptions::default()
    };
    // The nodes' own defaults: the run measures the timing a classroom gets.
    let game = GameDir::create(&dir, &options, 0, "").context("cannot write the game")?;
    let exe = std::env::current_exe().context("cannot find the qraft executable")?;
    let mut cluster = Cluster::start(&exe, game)?;
    eprintln!(
        "chaos: 3 voters on 127.0.0.1 (game in {}), seed {seed}",
        dir.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let rng = Rng::new(seed);
    let kinds = if args.only.is_empty() {
        FaultKind::ALL.to_vec()
    } else {
        let mut kinds = args.only.clone();
        kinds.sort();
        kinds.dedup();
        kinds
    };
    let delays = Delays {
        restart_after: args.restart_after_ms.map(Duration::from_millis),
    };

    let first_leader = Instant::now();
    loop {
        let statuses = runtime.block_on(cluster.statuses());
        if statuses.len() == 3 && cluster::agreed_leader(&statuses).is_some() {
            break;
        }
        if first_leader.elapsed() > FIRST_LEADER_WAIT {
            bail!("no leader was elected within {FIRST_LEADER_WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let traders = Traders::start(&exe, &cluster.game, args.clients as usize, args.rate, &rng)?;
    eprintln!(
        "chaos: {} traders at {} orders/s each; faults: {}",
        args.clients,
        args.rate,
        kinds
            .iter()
            .map(|k| k.name())
            .collect::<Vec<_>>()
            .join(", ")
    );
    std::thread::sleep(WARM_UP);

    let mut fault_rng = rng.fork(0);
    let mut records: Vec<FaultRecord> = Vec::new();
    for cycle in 1..=args.cycles {
        for &kind in &kinds {
            let record =
                runtime.block_on(faults::inject(&mut cluster, kind, &mut fault_rng, delays))?;
            eprintln!(
                "cycle {cycle} at {}",
                progress(&record, traders.acknowledged_so_far())
            );
            records.push(record);
        }
    }
    std::thread::sleep(COOL_DOWN);
    eprintln!("chaos: faults done; waiting for the sessions to settle their orders");
    let tally = traders.finish();
    let converged = runtime.block_on(converge(&mut cluster));
    runtime.block_on(cluster.close_probes());
    let killed_at_stop = cluster.stop_all();
    eprintln!("chaos: nodes stopped; checking receipts, heads and verify on every node");
    let findings = check::check(
        &exe,
        &cluster.ids(),
        |id| cluster.game.data_dir(id),
        &tally.acknowledged,
    )?;
    let summary = Summary {
        seed,
        cycles: args.cycles,
        faults: &records,
        tally: &tally,
        findings: &findings,
        converged,
        killed_at_stop: &killed_at_stop,
    };
    if args.json {
        println!("{}", summary.json());
    } else {
        print!("{}", summary.text());
    }
    let passed = summary.passed();
    drop(cluster);
    drop(temp);
    if !passed {
        bail!("the chaos run's checks failed (see above)");
    }
    Ok(())
}

/// A fault, for the progress lines: when, what, and how long the chain stalled.
fn progress(record: &FaultRecord, acknowledged: usize) -> String {
    let elected = record.elected.map_or(String::new(), |e| {
        format!("new leader after {:.2} s, ", e.as_secs_f64())
    });
    let stall = record.stall.map_or("none within the cap".to_string(), |s| {
        format!("{:.2} s", s.as_secs_f64())
    });
    format!(
        "{}: {} of node {}{} for {:.1} s: {elected}next block after {stall}; {acknowledged} orders acknowledged so far",
        faults::time_of_day(record.at_ms),
        record.kind.name(),
        record.node,
        if record.was_leader { " (leader)" } else { "" },
        record.down.as_secs_f64(),
    )
}

/// Waits until every node reports the same height and head hash; whether they did
/// within [`CONVERGE_WAIT`].
async fn converge(cluster: &mut Cluster) -> bool {
    let deadline = Instant::now() + CONVERGE_WAIT;
    loop {
        let statuses = cluster.statuses().await;
        let mut heads = statuses.values().map(|s| (s.height, s.head_hash));
        if statuses.len() == cluster.ids().len()
            && let Some(first) = heads.next()
            && heads.all(|h| h == first)
        {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
