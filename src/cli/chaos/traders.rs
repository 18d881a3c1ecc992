//! The chaos run's traders: `qraft session --jsonl` child processes, each trading as one
//! participant at a steady rate through the public session interface, and what each
//! order's one result line said.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use qraft_node::testkit::disk::GameDir;
use serde_json::{Value, json};

use qraft_client::bot::market::Rng;

/// The session's `--timeout`: how long it may find no node before it gives up. Longer
/// than any fault the run injects (a restart after at most 3 s, a pause of at most 6 s),
/// so that a session only gives up if the cluster does.
const SESSION_TIMEOUT_SECS: &str = "30";
/// How long the sessions may take, once their input ends, to print the results of the
/// orders still in flight: the session's own receipt wait is bounded by its timeout.
const DRAIN_WAIT: Duration = Duration::from_secs(60);
/// The widest an order's limit price strays from the symbol's reference price, in
/// per mille: close enough that buys and sells cross and trade.
const PRICE_SPREAD_PER_MILLE: u64 = 20;
/// The largest order, in shares.
const MAX_ORDER_SHARES: u64 = 5;

/// An order that got a receipt: where it landed, as its result line said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acknowledged {
    pub tx: String,
    pub height: u64,
    pub block: String,
    pub index: u64,
    /// Accepted by the exchange (or applied as a rejection).
    pub accepted: bool,
}

/// What the orders' result lines said, over every trader.
#[derive(Debug, Default)]
pub struct Tally {
    pub sent: u64,
    pub acknowledged: Vec<Acknowledged>,
    pub unknown: u64,
    /// Neither a receipt nor unknown: refused (nothing happened) or could not be done.
    pub failed: u64,
    /// Failures by their `reason` (or `status`).
    pub failure_reasons: BTreeMap<String, u64>,
    pub reconnections: u64,
    /// Orders sent whose result line never came (the one-result contract broken).
    pub unanswered: u64,
    /// Sessions that exited with a failure status.
    pub failed_sessions: u64,
}

impl Tally {
    /// Records one result line of an order.
    fn record(&mut self, line: &Value) {
        let ok = line.get("ok").and_then(Value::as_bool) == Some(true);
        let status = line.get("status").and_then(Value::as_str).unwrap_or("");
        let receipt = |accepted| {
            Some(Acknowledged {
                tx: line.get("tx")?.as_str()?.to_string(),
                height: line.get("height")?.as_u64()?,
                block: line.get("block")?.as_str()?.to_string(),
                index: line.get("index")?.as_u64()?,
                accepted,
            })
        };
        let acknowledged = match (ok, status) {
            (true, _) => receipt(true),
            (false, "rejected") => receipt(false),
            _ => None,
        };
        if let Some(ack) = acknowledged {
            self.acknowledged.push(ack);
            return;
        }
        if status == "unknown" {
            self.unknown += 1;
            return;
        }
        self.failed += 1;
        let reason = line
            .get("reason")
            .and_then(Value::as_str)
            .unwrap_or(status)
            .to_string();
        *self.failure_reasons.entry(reason).or_default() += 1;
    }
}

/// One trader: its session process, the thread writing its orders and the one reading
/// its results.
struct Trader {
    child: Child,
    writer: Option<JoinHandle<u64>>,
    reader: Option<JoinHandle<()>>,
    stop: Arc<Mutex<bool>>,
}

/// The traders of a chaos run.
pub struct Traders {
    traders: Vec<Trader>,
    tally: Arc<Mutex<Tally>>,
    /// Ids of the orders sent whose result has not come yet.
    pending: Arc<Mutex<BTreeMap<(usize, u64), ()>>>,
}

impl Traders {
    /// Starts `count` sessions (trader i trades as keys/t{i}.key), each sending `rate`
    /// orders a second; node lists are rotated so the sessions spread over the nodes.
    pub fn start(
        exe: &Path,
        game: &GameDir,
        count: usize,
        rate: u64,
        rng: &Rng,
    ) -> Result<Traders> {
        let tally = Arc::new(Mutex::new(Tally::default()));
        let pending = Arc::new(Mutex::new(BTreeMap::new()));
        let addresses: Vec<String> = game.node_ids().iter().map(|&id| game.address(id)).collect();
        let mut traders = Vec::with_capacity(count);
        for i in 0..count {
            let mut order = addresses.clone();
            order.rotate_left(i % addresses.len().max(1));
            let log = fs::File::create(game.dir.join(format!("session{i}.log")))
                .context("cannot create a session's log file")?;
            let mut command = Command::new(exe);
            command
                .args(["session", "--jsonl", "--timeout", SESSION_TIMEOUT_SECS])
                .arg("--genesis")
                .arg(game.dir.join("genesis.toml"))
                .arg("--key")
                .arg(game.dir.join(format!("keys/t{i}.key")));
            for address in &order {
                command.args(["--node", address]);
            }
            let mut child = command
                .env("RUST_LOG", "info")
                .env_remove("QRAFT_PASSPHRASE")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(log)
                .spawn()
                .context("cannot start a session process")?;
            let stdin = child.stdin.take().context("the session has no stdin")?;
            let stdout = child.stdout.take().context("the session has no stdout")?;
            let stop = Arc::new(Mutex::new(false));
            let reader = {
                let tally = tally.clone();
                let pending = pending.clone();
                let events = game.dir.join(format!("session{i}.events"));
                std::thread::spawn(move || read_results(i, stdout, &tally, &pending, &events))
            };
            let writer = {
                let stop = stop.clone();
                let pending = pending.clone();
                let orders = OrderMaker::new(game, rng.fork(i as u64 + 1));
                std::thread::spawn(move || write_orders(i, stdin, rate, orders, &stop, &pending))
            };
            traders.push(Trader {
                child,
                writer: Some(writer),
                reader: Some(reader),
                stop,
            });
        }
        Ok(Traders {
            traders,
            tally,
            pending,
        })
    }

    /// Orders acknowledged so far, for progress lines.
    pub fn acknowledged_so_far(&self) -> usize {
        self.tally.lock().expect("tally lock").acknowledged.len()
    }

    /// Stops sending, waits (at most [`DRAIN_WAIT`]) for every session to print its
    /// results and exit, and returns the tally.
    pub fn finish(mut self) -> Tally {
        let mut sent = 0;
        for trader in &mut self.traders {
            *trader.stop.lock().expect("stop lock") = true;
        }
        for trader in &mut self.traders {
            if let Some(writer) = trader.writer.take() {
                sent += writer.join().unwrap_or(0);
            }
        }
        let deadline = Instant::now() + DRAIN_WAIT;
        let mut failed_sessions = 0;
        for trader in &mut self.traders {
            let status = loop {
                match trader.child.try_wait() {
                    Ok(Some(status)) => break Some(status),
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(50));
                    }
                    _ => {
                        let _ = trader.child.kill();
                        let _ = trader.child.wait();
                        break None;
                    }
                }
            };
            if !status.is_some_and(|s| s.success()) {
                failed_sessions += 1;
            }
            if let Some(reader) = trader.reader.take() {
                let _ = reader.join();
            }
        }
        let mut tally = std::mem::take(&mut *self.tally.lock().expect("tally lock"));
        tally.sent = sent;
        tally.unanswered = self.pending.lock().expect("pending lock").len() as u64;
        tally.failed_sessions = failed_sessions;
        tally
    }
}

impl Drop for Traders {
    fn drop(&mut self) {
        for trader in &mut self.traders {
            *trader.stop.lock().expect("stop lock") = true;
            let _ = trader.child.kill();
            let _ = trader.child.wait();
        }
    }
}

/// Writes an order line every 1/`rate` s until told to stop, then ends the session's
/// input; how many orders it sent.
fn write_orders(
    trader: usize,
    mut stdin: ChildStdin,
    rate: u64,
    mut orders: OrderMaker,
    stop: &Mutex<bool>,
    pending: &Mutex<BTreeMap<(usize, u64), ()>>,
) -> u64 {
    let period = Duration::from_secs_f64(1.0 / rate.max(1) as f64);
    let mut next = Instant::now();
    let mut id = 0;
    while !*stop.lock().expect("stop lock") {
        let line = orders.next(id);
        pending
            .lock()
            .expect("pending lock")
            .insert((trader, id), ());
        if writeln!(stdin, "{line}")
            .and_then(|()| stdin.flush())
            .is_err()
        {
            pending.lock().expect("pending lock").remove(&(trader, id));
            break;
        }
        id += 1;
        // Paced by the clock; time spent blocked (the session busy) is not made up.
        next = (next + period).max(Instant::now());
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
    id
}

/// Reads a session's stdout until it ends, recording each order's result.
fn read_results(
    trader: usize,
    stdout: std::process::ChildStdout,
    tally: &Mutex<Tally>,
    pending: &Mutex<BTreeMap<(usize, u64), ()>>,
    events: &Path,
) {
    // The session's events, each with the time it was read, to line up with the nodes'
    // logs when a stall is looked into.
    let mut events = fs::File::create(events).ok();
    for line in BufReader::new(stdout).lines() {
        let Ok(line) = line else { break };
        let Ok(value) = serde_json::from_str::<Value>(&line) else {
            continue;
        };
        if value.get("event").is_some()
            && let Some(file) = events.as_mut()
        {
            use std::io::Write as _;
            let now = super::faults::time_of_day(super::faults::wall_clock_ms());
            let _ = writeln!(file, "{now} {line}");
        }
        if value.get("event").and_then(Value::as_str) == Some("reconnected") {
            tally.lock().expect("tally lock").reconnections += 1;
            continue;
        }
        let Some(id) = value.get("id").and_then(Value::as_u64) else {
            continue;
        };
        if pending
            .lock()
            .expect("pending lock")
            .remove(&(trader, id))
            .is_some()
        {
            tally.lock().expect("tally lock").record(&value);
        }
    }
}

/// Random limit orders (half of them immediate-or-cancel) around the symbols' reference
/// prices, so that they trade.
struct OrderMaker {
    /// Ticker, reference price in ticks, cents per tick.
    symbols: Vec<(String, u64, u64)>,
    rng: Rng,
}

impl OrderMaker {
    fn new(game: &GameDir, rng: Rng) -> OrderMaker {
        let symbols = game
            .game
            .genesis
            .symbols
            .iter()
            .map(|s| {
                (
                    s.ticker.to_string(),
                    s.reference_price,
                    s.tick_size.max(1) as u64,
                )
            })
            .collect();
        OrderMaker { symbols, rng }
    }

    fn next(&mut self, id: u64) -> String {
        let (symbol, reference, tick) = self.rng.pick(&self.symbols).clone();
        let spread = reference * PRICE_SPREAD_PER_MILLE / 1000;
        let ticks = self
            .rng
            .between(reference.saturating_sub(spread), reference + spread)
            .max(1);
        let cents = ticks * tick;
        let side = if self.rng.chance(50) { "buy" } else { "sell" };
        let mut order = json!({
            "id": id,
            "cmd": "order",
            "side": side,
            "symbol": symbol,
            "qty": self.rng.between(1, MAX_ORDER_SHARES),
            "limit": format!("{}.{:02}", cents / 100, cents % 100),
        });
        if self.rng.chance(50) {
            order["ioc"] = json!(true);
        }
        order.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn result_lines_are_counted_by_what_they_say() {
        let mut tally = Tally::default();
        tally.record(&json!({"id":1,"ok":true,"status":"accepted","tx":"aa","height":5,"block":"bb","index":0}));
        tally.record(&json!({"id":2,"ok":false,"code":3,"status":"rejected","reason":"insufficient_cash","tx":"cc","height":6,"block":"dd","index":1}));
        tally.record(&json!({"id":3,"ok":false,"code":4,"status":"unknown","tx":"ee"}));
        tally.record(&json!({"id":4,"ok":false,"code":3,"status":"refused","reason":"busy"}));
        tally.record(&json!({"id":5,"ok":false,"code":1,"status":"error"}));
        assert_eq!(tally.acknowledged.len(), 2);
        assert!(tally.acknowledged[0].accepted);
        assert!(!tally.acknowledged[1].accepted);
        assert_eq!(tally.acknowledged[1].height, 6);
        assert_eq!(tally.unknown, 1);
        assert_eq!(tally.failed, 2);
        assert_eq!(tally.failure_reasons.get("busy"), Some(&1));
        assert_eq!(tally.failure_reasons.get("error"), Some(&1));
    }
}
