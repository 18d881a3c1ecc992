//! Long-lived client commands outlive their node: three voters as real `qraft run
//! --headless` processes, a `qraft blocks --follow` or `qraft session --jsonl` child on
//! one of them, and kill -9 of that node. The child moves to another node and carries on:
//! no block missed or repeated, every command answered exactly once.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::processes::{GameDir, NodeProcess};
use qraft_client::signer::Signer;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
use qraft_node::net::client::Client;
use serde_json::{Value, json};

/// How long a step (a leader, an order, a line from the child) may take.
const WAIT: Duration = Duration::from_secs(30);
/// The child's `--timeout`: how long it may find no node before giving up.
const CHILD_TIMEOUT: &str = "20";
/// The child's `--timeout` when it is to give up.
const SHORT_TIMEOUT: &str = "4";

/// Three voter processes of a sample game on loopback, with a leader.
struct Game {
    _tmp: tempfile::TempDir,
    dir: GameDir,
    nodes: BTreeMap<u64, NodeProcess>,
    runtime: tokio::runtime::Runtime,
}

impl Game {
    fn start() -> Game {
        let tmp = tempfile::tempdir().unwrap();
        let options = SampleOptions {
            traders: 2,
            ..SampleOptions::default()
        };
        let dir = GameDir::create(tmp.path(), &options, 0, "tick_ms = 50").unwrap();
        let nodes = dir
            .node_ids()
            .into_iter()
            .map(|id| (id, NodeProcess::start(&dir, id)))
            .collect();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let game = Game {
            _tmp: tmp,
            dir,
            nodes,
            runtime,
        };
        game.leader();
        game
    }

    fn address(&self, id: u64) -> String {
        self.dir.address(id)
    }

    /// The addresses of the running nodes.
    fn running(&self) -> Vec<String> {
        self.nodes.keys().map(|&id| self.address(id)).collect()
    }

    /// The addresses of the running nodes other than `id`.
    fn others(&self, id: u64) -> Vec<String> {
        self.nodes
            .keys()
            .filter(|&&n| n != id)
            .map(|&n| self.address(n))
            .collect()
    }

    /// The leader's id, once there is one.
    fn leader(&self) -> u64 {
        let addresses = self.running();
        self.runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + WAIT;
            loop {
                if let Ok(client) = self.client(0, &addresses).await {
                    let leader = client.leader().await;
                    client.close().await;
                    if let Ok(Some(leader)) = leader {
                        return leader;
                    }
                }
                assert!(tokio::time::Instant::now() < deadline, "no leader");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    }

    async fn client(&self, trader: usize, addresses: &[String]) -> Result<Client, String> {
        let key = self.dir.game.traders[trader].clone();
        Client::connect(&self.dir.game.genesis, key, addresses)
            .await
            .map_err(|e| e.to_string())
    }

    /// Places `count` resting orders as trader 0 through the nodes at `addresses`,
    /// retrying while the cluster has no leader; the height of the last one.
    fn trade(&self, count: usize, addresses: &[String]) -> u64 {
        self.runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + WAIT;
            let mut height = 0;
            for i in 0..count {
                loop {
                    match self.submit(order(&self.dir, i), addresses).await {
                        Ok(h) => {
                            height = h;
                            break;
                        }
                        Err(err) => assert!(
                            tokio::time::Instant::now() < deadline,
                            "order {i} not placed: {err}"
                        ),
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            height
        })
    }

    async fn submit(&self, body: TxBody, addresses: &[String]) -> Result<u64, String> {
        let client = self.client(0, addresses).await?;
        let result = async {
            let genesis = &self.dir.game.genesis;
            let signer = Signer::new(self.dir.game.traders[0].clone(), genesis.chain_id());
            signer.saw(client.last_nonce().await.map_err(|e| e.to_string())?);
            let tx = signer.sign(body);
            let committed = client.submit(tx).await.map_err(|e| e.to_string())?;
            Ok(committed.height)
        }
        .await;
        client.close().await;
        result
    }

    /// `qraft ARGS... --key keys/t1.key --node <node id> --timeout CHILD_TIMEOUT`.
    fn qraft(&self, args: &[&str], node: u64) -> Command {
        self.qraft_within(args, node, CHILD_TIMEOUT)
    }

    fn qraft_within(&self, args: &[&str], node: u64, timeout: &str) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qraft"));
        command
            .args(args)
            .arg("--key")
            .arg(self.path("keys/t1.key"))
            .args(["--node", &self.address(node), "--timeout", timeout])
            .env("QRAFT_GENESIS", self.path("genesis.toml"))
            .env_remove("QRAFT_KEY")
            .env_remove("QRAFT_PASSPHRASE")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        command
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.dir.join(rel)
    }

    /// kill -9 of node `id`.
    fn kill(&mut self, id: u64) {
        self.nodes.get_mut(&id).expect("a running node").kill();
        self.nodes.remove(&id);
    }
}

/// A limit buy well below the market, so it rests: one transaction, one block.
fn order(dir: &GameDir, i: usize) -> TxBody {
    let symbol = &dir.game.genesis.symbols[0];
    TxBody::Order(NewOrder {
        symbol: symbol.ticker,
        side: Side::Buy,
        quantity: 1,
        kind: OrderKind::Limit {
            price: symbol.reference_price / 2 + i as u64,
        },
    })
}

/// A `qraft` child: its stdout a line at a time, its stderr collected; killed (SIGKILL)
/// if still running when dropped.
struct Qraft {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<String>,
    stderr: Option<std::thread::JoinHandle<String>>,
    /// Every stdout line read so far, parsed.
    seen: Vec<Value>,
}

impl Qraft {
    fn spawn(mut command: Command, with_stdin: bool) -> Qraft {
        if with_stdin {
            command.stdin(Stdio::piped());
        } else {
            command.stdin(Stdio::null());
        }
        let mut child = command.spawn().expect("qraft starts");
        let stdout = child.stdout.take().unwrap();
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        let mut stderr = child.stderr.take().unwrap();
        let stderr = std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        Qraft {
            stdin: child.stdin.take(),
            child,
            lines,
            stderr: Some(stderr),
            seen: Vec::new(),
        }
    }

    /// Reads lines until one satisfies `done` (true), or [`WAIT`] passes (false).
    fn read_until(&mut self, mut done: impl FnMut(&Value) -> bool) -> bool {
        let deadline = Instant::now() + WAIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                return false;
            };
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            self.seen.push(value.clone());
            if done(&value) {
                return true;
            }
        }
    }

    /// Writes one command line.
    fn send(&mut self, command: Value) {
        let stdin = self.stdin.as_mut().expect("stdin is open");
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    /// Waits (bounded) for the child to exit; its status and stderr.
    fn finish(mut self, limit: Duration) -> (ExitStatus, String) {
        drop(self.stdin.take());
        let deadline = Instant::now() + limit;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            assert!(
                Instant::now() < deadline,
                "qraft ran on for more than {limit:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        let stderr = self.stderr.take().unwrap().join().unwrap();
        (status, stderr)
    }

    fn interrupt(&self) {
        let sent = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(sent.success());
    }

    fn debug(&self) -> String {
        self.seen
            .iter()
            .map(Value::to_string)
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Qraft {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_block(line: &Value) -> bool {
    line["event"] == "block"
}

fn height(line: &Value) -> u64 {
    line["height"].as_u64().unwrap_or(0)
}

#[test]
fn blocks_follow_moves_to_another_node_with_no_block_missed_or_repeated() {
    let started = Instant::now();
    let mut game = Game::start();
    let followed = game.leader();
    let others = game.others(followed);
    game.trade(1, &others);

    let args = ["blocks", "--follow", "--json", "--last", "1"];
    let mut follow = Qraft::spawn(game.qraft(&args, followed), false);
    assert!(follow.read_until(is_block), "no block: {}", follow.debug());
    let before = game.trade(3, &others);
    assert!(
        follow.read_until(|l| is_block(l) && height(l) >= before),
        "block {before} did not arrive: {}",
        follow.debug()
    );

    // kill -9 the followed node (the leader); trade on through the others.
    game.kill(followed);
    let after = game.trade(3, &others);
    assert!(
        follow.read_until(|l| is_block(l) && height(l) >= after),
        "block {after} did not arrive after the kill: {}",
        follow.debug()
    );
    follow.interrupt();
    let lines = std::mem::take(&mut follow.seen);
    let (status, stderr) = follow.finish(WAIT);
    assert_eq!(status.code(), Some(0), "{stderr}");

    // Every block once, in order, across the reconnection.
    let heights: Vec<u64> = lines.iter().filter(|l| is_block(l)).map(height).collect();
    assert!(
        heights.windows(2).all(|w| w[1] == w[0] + 1),
        "heights not contiguous: {heights:?}"
    );
    assert_eq!(*heights.last().unwrap(), after, "{heights:?}");
    let reconnected: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "reconnected")
        .collect();
    assert_eq!(reconnected.len(), 1, "{lines:?}");
    assert_eq!(reconnected[0]["lost"], game.address(followed));
    assert_ne!(reconnected[0]["node"], game.address(followed));
    let note = format!("connection to node {followed} (");
    assert!(stderr.contains(&note), "{stderr}");
    assert!(stderr.contains("lost; reconnected to node "), "{stderr}");
    eprintln!(
        "blocks --follow reconnection test took {:?}",
        started.elapsed()
    );
}

fn buy(id: u64, price: &str) -> Value {
    json!({"id": id, "cmd": "order", "side": "buy", "symbol": "ACME", "qty": 1, "limit": price})
}

#[test]
fn session_moves_to_another_node_and_answers_every_command_once() {
    let started = Instant::now();
    let mut game = Game::start();
    let dead = game.leader();
    let mut session = Qraft::spawn(game.qraft(&["session", "--jsonl"], dead), true);
    assert!(
        session.read_until(|l| l["event"] == "ready"),
        "not ready: {}",
        session.debug()
    );
    let has_result = |id: Value| move |l: &Value| l["id"] == id && l.get("ok").is_some();

    session.send(json!({"id": 0, "cmd": "subscribe", "blocks": true}));
    assert!(
        session.read_until(has_result(json!(0))),
        "{}",
        session.debug()
    );
    for id in 1..=3 {
        session.send(buy(id, &format!("9.0{id}")));
        assert!(
            session.read_until(has_result(json!(id))),
            "{}",
            session.debug()
        );
    }

    // One order just before the kill, more commands just after it.
    session.send(buy(4, "9.04"));
    game.kill(dead);
    session.send(buy(5, "9.05"));
    session.send(json!({"id": 6, "cmd": "status"}));
    session.send(json!({"id": 7, "cmd": "book", "symbol": "ACME"}));
    session.send(json!({"id": 8, "cmd": "portfolio"}));
    let mut waiting: Vec<u64> = (4..=8).collect();
    let mut reconnected = false;
    assert!(
        session.read_until(|l| {
            reconnected |= l["event"] == "reconnected";
            if l.get("ok").is_some() {
                waiting.retain(|id| l["id"] != json!(id));
            }
            reconnected && waiting.is_empty()
        }),
        "waiting for {waiting:?} (reconnected: {reconnected}): {}",
        session.debug()
    );

    // On the new node: a new order, and its block on the subscription opened again.
    session.send(buy(9, "9.09"));
    assert!(
        session.read_until(has_result(json!(9))),
        "{}",
        session.debug()
    );
    let placed = session.seen.last().unwrap().clone();
    assert_eq!(placed["ok"], true, "{placed}");
    let at = height(&placed);
    let block_at = |l: &Value| is_block(l) && height(l) >= at;
    assert!(
        session.seen.iter().any(block_at) || session.read_until(block_at),
        "no block {at} after the reconnection: {}",
        session.debug()
    );
    let lines = std::mem::take(&mut session.seen);
    let (status, stderr) = session.finish(WAIT);
    assert_eq!(status.code(), Some(0), "{stderr}");

    // Exactly one result per command.
    for id in 0..=9u64 {
        let results: Vec<&Value> = lines
            .iter()
            .filter(|l| l["id"] == json!(id) && l.get("ok").is_some())
            .collect();
        assert_eq!(results.len(), 1, "command {id}: {results:?}");
        let result = results[0];
        match id {
            // Orders in flight when the node died: settled, with their receipt or as
            // definitely not applied, never left unknown.
            4 | 5 => assert!(
                result["ok"] == true || (result["code"] == 3 && result["reason"] == "not_applied"),
                "{result}"
            ),
            _ => assert_eq!(result["ok"], true, "{result}"),
        }
    }
    let moved: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"] == "reconnected")
        .collect();
    assert_eq!(moved.len(), 1, "{lines:?}");
    assert_eq!(moved[0]["lost"], game.address(dead));
    assert_ne!(moved[0]["node"], game.address(dead));
    assert!(
        !lines.iter().any(|l| l["event"] == "closed"),
        "the subscription closed: {lines:?}"
    );
    eprintln!("session reconnection test took {:?}", started.elapsed());
}

/// An order that reached only a node which then died (stopped first, so it never
/// forwarded it) is sent again by the session on its new node and applied there: its
/// result is its receipt, not "unknown".
#[test]
fn an_order_the_dead_node_took_with_it_is_sent_again_and_applied() {
    let started = Instant::now();
    let mut game = Game::start();
    let leader = game.leader();
    let doomed = *game.nodes.keys().find(|&&id| id != leader).unwrap();
    let mut session = Qraft::spawn(game.qraft(&["session", "--jsonl"], doomed), true);
    assert!(
        session.read_until(|l| l["event"] == "ready"),
        "not ready: {}",
        session.debug()
    );
    let has_result = |id: Value| move |l: &Value| l["id"] == id && l.get("ok").is_some();
    session.send(buy(1, "9.01"));
    assert!(
        session.read_until(has_result(json!(1))),
        "{}",
        session.debug()
    );

    // The node stops (SIGSTOP) before it can read the order, then dies with it.
    game.nodes[&doomed].signal("-STOP");
    session.send(buy(2, "9.02"));
    std::thread::sleep(Duration::from_millis(500));
    game.kill(doomed);
    assert!(
        session.read_until(has_result(json!(2))),
        "{}",
        session.debug()
    );
    let result = session.seen.last().unwrap().clone();
    assert_eq!(result["ok"], true, "{result}\n{}", session.debug());
    let tx = result["tx"].as_str().unwrap().to_string();
    assert!(
        session.seen.iter().any(|l| l["event"] == "reconnected"),
        "{}",
        session.debug()
    );

    // The new node holds its receipt, the same one.
    session.send(json!({"id": 3, "cmd": "receipt", "tx": tx}));
    assert!(
        session.read_until(has_result(json!(3))),
        "{}",
        session.debug()
    );
    let receipt = session.seen.last().unwrap().clone();
    assert_eq!(receipt["ok"], true, "{receipt}");
    assert_eq!(receipt["height"], result["height"], "{receipt}");
    let (status, stderr) = session.finish(WAIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
    eprintln!("settle test took {:?}", started.elapsed());
}

/// `qraft order` whose node goes silent (SIGSTOP) with the order in flight: the command
/// leaves that node after 2 s of silence, settles the order on another one, and exits 0
/// with its receipt, not 4 ("unknown").
#[test]
fn a_one_shot_order_whose_node_goes_silent_is_settled_on_another_node() {
    let game = Game::start();
    let leader = game.leader();
    let silent = *game.nodes.keys().find(|&&id| id != leader).unwrap();
    let mut command = game.qraft(
        &["order", "buy", "ACME", "1", "--limit", "9.03", "--json"],
        silent,
    );
    command.env("RUST_LOG", "qraft::cli::client=debug");
    let mut child = command.stdin(Stdio::null()).spawn().expect("qraft starts");
    let (sender, stderr_lines) = mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            let _ = sender.send(line.clone());
            text.push_str(&line);
            text.push('\n');
        }
        text
    });
    let mut stdout = child.stdout.take().unwrap();
    let stdout_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });

    // The node stops the moment the order leaves for it.
    let deadline = Instant::now() + WAIT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = stderr_lines.recv_timeout(left).expect("the order is sent");
        if line.contains("sending the transaction") {
            break;
        }
    }
    game.nodes[&silent].signal("-STOP");
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            game.nodes[&silent].signal("-CONT");
            panic!("qraft order ran on for more than {WAIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    game.nodes[&silent].signal("-CONT");
    let stdout = stdout_reader.join().unwrap();
    let stderr = stderr_reader.join().unwrap();
    assert_eq!(status.code(), Some(0), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(stdout.trim()).expect("one JSON object");
    assert_eq!(report["ok"], true, "{report}");
    assert_eq!(report["status"], "accepted", "{report}");
    assert!(
        stderr.contains("settling the transaction on node"),
        "the order was not settled on another node:\n{stderr}"
    );

    // The leader holds its receipt.
    let tx = report["tx"].as_str().unwrap();
    let receipt = Qraft::spawn(game.qraft(&["receipt", tx, "--json"], leader), false);
    let (status, stderr) = receipt.finish(WAIT);
    assert_eq!(status.code(), Some(0), "{stderr}");
}

#[test]
fn follow_and_session_give_up_with_exit_1_when_no_node_is_left() {
    let started = Instant::now();
    let mut game = Game::start();
    let leader = game.leader();
    game.trade(1, &game.running());
    let follow_args = ["blocks", "--follow", "--json", "--last", "1"];
    let follow = game.qraft_within(&follow_args, leader, SHORT_TIMEOUT);
    let mut follow = Qraft::spawn(follow, false);
    let session = game.qraft_within(&["session", "--jsonl"], leader, SHORT_TIMEOUT);
    let mut session = Qraft::spawn(session, true);
    assert!(follow.read_until(is_block), "no block: {}", follow.debug());
    assert!(
        session.read_until(|l| l["event"] == "ready"),
        "not ready: {}",
        session.debug()
    );

    let ids: Vec<u64> = game.nodes.keys().copied().collect();
    for id in ids {
        game.kill(id);
    }
    // A command sent now still gets its result line, before the session ends.
    session.send(json!({"id": 1, "cmd": "status"}));
    let mut answered = false;
    let mut disconnected = false;
    session.read_until(|l| {
        answered |= l["id"] == 1 && l.get("ok").is_some();
        disconnected |= l["event"] == "disconnected";
        answered && disconnected
    });
    assert!(answered && disconnected, "{}", session.debug());
    let result = session.seen.iter().find(|l| l["id"] == 1).unwrap().clone();
    assert_eq!(result["ok"], false, "{result}");
    assert_eq!(result["code"], 1, "{result}");

    let (status, stderr) = session.finish(WAIT);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no node of the game answered"), "{stderr}");
    let (status, stderr) = follow.finish(WAIT);
    assert_eq!(status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("no node of the game answered"), "{stderr}");
    eprintln!("give-up test took {:?}", started.elapsed());
}
