//! The client commands end to end: a 3-node cluster in this process over QUIC on
//! loopback, and the real `qraft` binary as the client (orders, cancels, queries, admin,
//! exit codes, JSON output, `session --jsonl`).

use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use qraft_keys::Keypair;
use qraft_keys::keyfile::{IfExists, write_key_file};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::genesis::{NodeSpec, to_toml};
use qraft_node::net::client::Client;
use qraft_node::net::node::NetNode;
use qraft_node::testkit::disk::free_port;
use qraft_node::testkit::quic::{loopback_game, start_voters};
use serde_json::Value;

/// The longest any one `qraft` run may take before the test kills it and fails.
const RUN_LIMIT: Duration = Duration::from_secs(60);
/// How long the cluster may take to elect a leader.
const LEADER_LIMIT: Duration = Duration::from_secs(20);

/// Three voters in this process (and a learner, node 4, named in the genesis but not
/// running), the game written to a temporary directory: genesis.toml and keys/ for the
/// traders t0, t1, t2, the admin and a stranger.
struct Cluster {
    dir: tempfile::TempDir,
    game: SampleGame,
    runtime: Option<tokio::runtime::Runtime>,
    nodes: Vec<NetNode>,
}

impl Cluster {
    fn start() -> Cluster {
        let mut game = loopback_game(&SampleOptions {
            traders: 3,
            cash: 1_000_000, // $10,000.00
            shares: 100,
            ..SampleOptions::default()
        })
        .unwrap();
        let learner = Keypair::from_label("cli-client/learner");
        game.genesis.learners.push(NodeSpec {
            id: 4,
            name: "node4".into(),
            key: learner.public(),
            address: format!("127.0.0.1:{}", free_port().unwrap()),
        });
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("keys")).unwrap();
        fs::write(dir.path().join("genesis.toml"), to_toml(&game.genesis)).unwrap();
        let mut keys: Vec<(String, &Keypair)> = game
            .traders
            .iter()
            .enumerate()
            .map(|(i, k)| (format!("t{i}"), k))
            .collect();
        keys.push(("admin".into(), &game.admin));
        let stranger = Keypair::from_label("cli-client/stranger");
        keys.push(("stranger".into(), &stranger));
        for (name, key) in keys {
            write_key_file(
                dir.path().join(format!("keys/{name}.key")),
                key,
                None,
                IfExists::Refuse,
            )
            .unwrap();
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let nodes = runtime.block_on(async {
            let nodes = start_voters(&game, &dir.path().join("data"), Tuning::default())
                .await
                .unwrap();
            let voters: Vec<String> = game
                .genesis
                .voters
                .iter()
                .map(|v| v.address.clone())
                .collect();
            let client = Client::connect(&game.genesis, game.admin.clone(), &voters)
                .await
                .unwrap();
            let deadline = Instant::now() + LEADER_LIMIT;
            while client.leader().await.unwrap().is_none() {
                assert!(Instant::now() < deadline, "no leader");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            client.close().await;
            nodes
        });
        Cluster {
            dir,
            game,
            runtime: Some(runtime),
            nodes,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn key(&self, name: &str) -> PathBuf {
        self.path(&format!("keys/{name}.key"))
    }

    /// `qraft ARGS... --key keys/KEY.key`, the genesis from QRAFT_GENESIS.
    fn command(&self, key: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_qraft"));
        command
            .args(args)
            .arg("--key")
            .arg(self.key(key))
            .env("QRAFT_GENESIS", self.path("genesis.toml"))
            .env_remove("QRAFT_KEY")
            .env_remove("QRAFT_PASSPHRASE");
        command
    }

    fn qraft(&self, key: &str, args: &[&str]) -> Run {
        run(self.command(key, args), None)
    }

    /// `--json` output, parsed.
    fn json(&self, key: &str, args: &[&str]) -> (Value, Run) {
        let mut all = args.to_vec();
        all.push("--json");
        let run = self.qraft(key, &all);
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 1, "one JSON line from {args:?}: {run:?}");
        let value: Value = serde_json::from_str(lines[0])
            .unwrap_or_else(|e| panic!("{args:?} printed bad JSON ({e}): {}", run.stdout));
        (value, run)
    }

    /// The leader's id, and the address of a voter that is not the leader.
    fn leader_and_follower(&self) -> (u64, String) {
        let (status, run) = self.json("t0", &["status"]);
        assert_eq!(run.code, 0, "{run:?}");
        let leader = status["leader"].as_u64().expect("a leader");
        let follower = self
            .game
            .genesis
            .voters
            .iter()
            .find(|v| v.id != leader)
            .unwrap()
            .address
            .clone();
        (leader, follower)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            let nodes = std::mem::take(&mut self.nodes);
            runtime.block_on(async {
                for node in nodes {
                    let _ = tokio::time::timeout(Duration::from_secs(5), node.shutdown()).await;
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

/// A finished run of `qraft`.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `command` (feeding it `stdin`), killing it if it outlives [`RUN_LIMIT`].
fn run(mut command: Command, stdin: Option<&str>) -> Run {
    command
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = command.spawn().expect("qraft starts");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        pipe.write_all(input.as_bytes()).unwrap();
        // Dropping the pipe is the end of input.
    }
    let output = wait_bounded(child, RUN_LIMIT);
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

fn wait_bounded(mut child: Child, limit: Duration) -> Output {
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut stdout) = stdout {
            let _ = stdout.read_to_end(&mut buf);
        }
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_end(&mut buf);
        }
        buf
    });
    let deadline = Instant::now() + limit;
    let status: ExitStatus = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("qraft ran for more than {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

fn ok(run: &Run) {
    assert_eq!(run.code, 0, "{run:?}");
}

#[test]
fn orders_rest_fill_cancel_and_show_in_the_portfolio_book_trades_and_leaderboard() {
    let cluster = Cluster::start();

    // A limit buy below the market rests, and shows in the portfolio.
    let rest = cluster.qraft("t0", &["order", "buy", "ACME", "10", "--limit", "9.00"]);
    ok(&rest);
    assert!(
        rest.stdout.contains("rests: buy 10 ACME at $9.00"),
        "{rest:?}"
    );
    let portfolio = cluster.qraft("t0", &["portfolio"]);
    ok(&portfolio);
    assert!(portfolio.stdout.contains("t0 (trader)"), "{portfolio:?}");
    assert!(portfolio.stdout.contains("$9.00"), "{portfolio:?}");
    assert!(portfolio.stdout.contains("Net worth:"), "{portfolio:?}");
    let (portfolio, _) = cluster.json("t0", &["portfolio"]);
    assert_eq!(portfolio["ok"], true);
    assert_eq!(portfolio["open_orders"][0]["price"], "9.00");
    assert_eq!(portfolio["open_orders"][0]["price_ticks"], 900);
    assert_eq!(portfolio["open_orders"][0]["remaining"], 10);
    assert_eq!(portfolio["cash_reserved"], "90.00");

    // A second resting buy, as JSON; then a crossing sell fills against it.
    let (buy, run) = cluster.json("t0", &["order", "buy", "ACME", "5", "--limit", "$9.50"]);
    ok(&run);
    assert_eq!(buy["status"], "accepted");
    assert_eq!(buy["effect"], "order");
    assert_eq!(buy["order"]["state"], "resting");
    assert_eq!(buy["order"]["limit"], "9.50");
    let buy_id = buy["order"]["id"].as_u64().unwrap();
    let (sell, run) = cluster.json("t1", &["order", "sell", "ACME", "5", "--limit", "9.50"]);
    ok(&run);
    assert_eq!(sell["order"]["state"], "filled", "{sell}");
    assert_eq!(sell["order"]["filled"], 5);
    assert_eq!(sell["order"]["fills"][0]["price"], "9.50");
    assert_eq!(sell["order"]["fills"][0]["resting_order"], buy_id);
    assert_eq!(sell["order"]["value"], "47.50");
    assert_eq!(sell["tx"].as_str().unwrap().len(), 64);
    // A market sell, in words.
    let sold = cluster.qraft("t1", &["order", "sell", "ACME", "3"]);
    ok(&sold);
    assert!(
        sold.stdout.starts_with("Sold 3 ACME at $9.00 (order #"),
        "{sold:?}"
    );
    assert!(sold.stdout.contains("filled in block"), "{sold:?}");

    // The book: 7 left at $9.00.
    let book = cluster.qraft("t2", &["book", "ACME"]);
    ok(&book);
    assert!(book.stdout.contains("$9.00"), "{book:?}");
    assert!(book.stdout.contains("last $9.00"), "{book:?}");
    let (book, _) = cluster.json("t2", &["book", "ACME"]);
    assert_eq!(book["bids"][0]["price"], "9.00");
    assert_eq!(book["bids"][0]["quantity"], 7);
    assert_eq!(book["asks"], serde_json::json!([]));
    assert_eq!(book["session"], "open");

    // Trades, newest first.
    let (trades, _) = cluster.json("t2", &["trades"]);
    let trades = trades["trades"].as_array().unwrap();
    assert_eq!(trades.len(), 2);
    assert_eq!(trades[0]["price"], "9.00");
    assert_eq!(trades[0]["aggressor"], "sell");
    assert_eq!(trades[1]["price"], "9.50");
    let text = cluster.qraft("t2", &["trades", "ACME"]);
    ok(&text);
    assert_eq!(text.stdout.lines().count(), 2, "{text:?}");

    // The leaderboard ranks the three traders.
    let (board, _) = cluster.json("t2", &["leaderboard"]);
    let rows = board["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["rank"], 1);
    let board = cluster.qraft("t2", &["leaderboard"]);
    ok(&board);
    for name in ["t0", "t1", "t2"] {
        assert!(board.stdout.contains(name), "{board:?}");
    }

    // Cancel everything; the portfolio shows no open orders.
    let cancel = cluster.qraft("t0", &["cancel", "--all"]);
    ok(&cancel);
    assert!(cancel.stdout.starts_with("Cancelled order #"), "{cancel:?}");
    let (portfolio, _) = cluster.json("t0", &["portfolio"]);
    assert_eq!(portfolio["open_orders"], serde_json::json!([]));
    assert_eq!(portfolio["cash_reserved_cents"], 0);
    // Nothing left to cancel: rejected, exit 3.
    let again = cluster.qraft("t0", &["cancel", "--all"]);
    assert_eq!(again.code, 3, "{again:?}");
    assert!(
        again
            .stderr
            .contains("error: rejected: you have no open orders"),
        "{again:?}"
    );
    let one = cluster.qraft("t0", &["cancel", "#999999"]);
    assert_eq!(one.code, 3, "{one:?}");
}

#[test]
fn failures_exit_with_the_codes_scripts_rely_on() {
    let cluster = Cluster::start();

    // Rejected by the exchange: exit 3, the reason on stderr, or as JSON.
    let big = cluster.qraft("t2", &["order", "buy", "ACME", "5000", "--limit", "100"]);
    assert_eq!(big.code, 3, "{big:?}");
    assert!(
        big.stderr.starts_with("error: rejected: not enough cash"),
        "{big:?}"
    );
    let (big, run) = cluster.json("t2", &["order", "buy", "ACME", "5000", "--limit", "100"]);
    assert_eq!(run.code, 3);
    assert_eq!(big["ok"], false);
    assert_eq!(big["code"], 3);
    assert_eq!(big["status"], "rejected");
    assert_eq!(big["reason"], "insufficient_cash");
    assert!(big["height"].as_u64().unwrap() > 0);

    // Bad input: exit 1 with a plain message.
    let price = cluster.qraft("t2", &["order", "buy", "ACME", "1", "--limit", "12.505"]);
    assert_eq!(price.code, 1, "{price:?}");
    assert!(price.stderr.contains("is not a price"), "{price:?}");
    let symbol = cluster.qraft("t2", &["order", "buy", "NOPE", "1"]);
    assert_eq!(symbol.code, 1, "{symbol:?}");
    assert!(symbol.stderr.contains("no symbol NOPE"), "{symbol:?}");
    let (json, run) = cluster.json("t2", &["book", "NOPE"]);
    assert_eq!(run.code, 1);
    assert_eq!(json["code"], 1);

    // Usage errors: exit 2.
    let ioc = cluster.qraft("t2", &["order", "buy", "ACME", "1", "--ioc"]);
    assert_eq!(ioc.code, 2, "{ioc:?}");
    let zero = cluster.qraft("t2", &["order", "buy", "ACME", "0"]);
    assert_eq!(zero.code, 2, "{zero:?}");
    let mut no_key = Command::new(env!("CARGO_BIN_EXE_qraft"));
    no_key
        .args(["status"])
        .env("QRAFT_GENESIS", cluster.path("genesis.toml"))
        .env_remove("QRAFT_KEY");
    let no_key = run_cmd(no_key);
    assert_eq!(no_key.code, 2, "{no_key:?}");
    assert!(no_key.stderr.contains("--key"), "{no_key:?}");

    // A key that is not in the game: refused at the handshake, exit 1.
    let stranger = cluster.qraft("stranger", &["status"]);
    assert_eq!(stranger.code, 1, "{stranger:?}");
    assert!(stranger.stderr.contains("refused"), "{stranger:?}");
    assert!(stranger.stderr.contains("not allowed"), "{stranger:?}");

    // A trader is not an admin: the refusal, plainly, exit 3.
    let halt = cluster.qraft("t2", &["admin", "halt"]);
    assert_eq!(halt.code, 3, "{halt:?}");
    assert!(
        halt.stderr.contains("only the game's admin can do that"),
        "{halt:?}"
    );
    let learner = cluster.qraft("t2", &["admin", "remove", "4"]);
    assert_eq!(learner.code, 3, "{learner:?}");
    assert!(
        learner.stderr.contains("only the game's admin can do that"),
        "{learner:?}"
    );

    // Nobody home: exit 1.
    let port = free_port().unwrap().to_string();
    let address = format!("127.0.0.1:{port}");
    let nobody = cluster.qraft("t2", &["status", "--node", &address, "--timeout", "2"]);
    assert_eq!(nobody.code, 1, "{nobody:?}");
    assert!(nobody.stderr.contains("cannot connect"), "{nobody:?}");

    // The key may come from QRAFT_KEY.
    let mut by_env = Command::new(env!("CARGO_BIN_EXE_qraft"));
    by_env
        .args(["portfolio", "--json"])
        .env("QRAFT_GENESIS", cluster.path("genesis.toml"))
        .env("QRAFT_KEY", cluster.key("t1"));
    let by_env = run_cmd(by_env);
    assert_eq!(by_env.code, 0, "{by_env:?}");
    assert!(by_env.stdout.contains("\"name\":\"t1\""), "{by_env:?}");
}

fn run_cmd(command: Command) -> Run {
    run(command, None)
}

#[test]
fn admin_status_blocks_receipts_and_membership() {
    let cluster = Cluster::start();

    let status = cluster.qraft("t0", &["status"]);
    ok(&status);
    assert!(status.stdout.contains(", term "), "{status:?}");
    assert!(status.stdout.contains("Leader:   node "), "{status:?}");
    assert!(status.stdout.contains("Learners: 4"), "{status:?}");
    let (status, _) = cluster.json("t0", &["status"]);
    assert!(status["term"].as_u64().unwrap() >= 1);
    assert_eq!(status["voters"], serde_json::json!([1, 2, 3]));
    assert_eq!(status["game"], "Sample game");

    // Halt a symbol: orders in it are rejected until it resumes.
    let halt = cluster.qraft("admin", &["admin", "halt", "ACME"]);
    ok(&halt);
    assert!(
        halt.stdout.starts_with("Trading in ACME is halted (block "),
        "{halt:?}"
    );
    let halted = cluster.qraft("t0", &["order", "buy", "ACME", "1", "--limit", "9"]);
    assert_eq!(halted.code, 3, "{halted:?}");
    assert!(halted.stderr.contains("halted"), "{halted:?}");
    let (resume, run) = cluster.json("admin", &["admin", "resume", "ACME"]);
    ok(&run);
    assert_eq!(
        resume["admin"],
        serde_json::json!({"action": "resume", "symbol": "ACME"})
    );
    // New rules from the next block on: a position limit refuses a buy that was fine
    // before; `qraft rules` shows them, since when, and the genesis's before them.
    let (rules, _) = cluster.json("t0", &["rules"]);
    assert_eq!(rules["since_height"], 0, "{rules}");
    let set = cluster.qraft("admin", &["admin", "rules", "--max-position", "1"]);
    ok(&set);
    assert!(set.stdout.starts_with("New rules in force: "), "{set:?}");
    let limited = cluster.qraft("t0", &["order", "buy", "ACME", "1", "--limit", "9"]);
    assert_eq!(limited.code, 3, "{limited:?}");
    assert!(limited.stderr.contains("position limit"), "{limited:?}");
    let (rules, _) = cluster.json("t0", &["rules"]);
    assert!(rules["since_height"].as_u64().unwrap() > 0, "{rules}");
    assert_eq!(rules["in_force"]["max_position_shares"], 1, "{rules}");
    assert_eq!(rules["history"].as_array().unwrap().len(), 2, "{rules}");
    let text = cluster.qraft("t0", &["rules"]);
    assert!(
        text.stdout.contains("positions     up to 1 shares"),
        "{text:?}"
    );
    let nothing = cluster.qraft("admin", &["admin", "rules"]);
    assert_eq!(nothing.code, 2, "{nothing:?}");
    ok(&cluster.qraft("admin", &["admin", "rules", "--max-position", "0"]));
    let placed = cluster.qraft("t0", &["order", "buy", "ACME", "1", "--limit", "9"]);
    ok(&placed);

    let news = cluster.qraft("admin", &["admin", "news", "Markets", "are", "open"]);
    ok(&news);
    assert!(
        news.stdout.starts_with("Published: Markets are open"),
        "{news:?}"
    );

    // A new participant joins the game (and the leaderboard). (Connecting with their own
    // key needs the nodes to admit keys added after genesis, which they do not yet.)
    let carol = Keypair::from_label("cli-client/carol");
    let added = cluster.qraft(
        "admin",
        &[
            "admin",
            "add-participant",
            "carol",
            "--key-pub",
            &carol.public().to_string(),
            "--cash",
            "10,000",
            "--role",
            "bot",
            "--holding",
            "ACME=5",
        ],
    );
    ok(&added);
    assert!(added.stdout.starts_with("Added carol (bot)"), "{added:?}");
    let (board, _) = cluster.json("t0", &["leaderboard"]);
    let carol_row = board["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["name"] == "carol")
        .cloned()
        .unwrap_or_else(|| panic!("carol is ranked: {board}"));
    assert_eq!(carol_row["role"], "bot");
    assert_eq!(carol_row["cash"], "10000.00");

    // A receipt looked up by its transaction's hash reads like the submission did.
    let (order, _) = cluster.json("t2", &["order", "buy", "BOLT", "2", "--limit", "14"]);
    let tx = order["tx"].as_str().unwrap().to_string();
    let (receipt, run) = cluster.json("t1", &["receipt", &tx]);
    ok(&run);
    assert_eq!(receipt["order"], order["order"]);
    assert_eq!(receipt["height"], order["height"]);
    let missing = cluster.qraft("t1", &["receipt", &"ab".repeat(32)]);
    assert_eq!(missing.code, 4, "{missing:?}");

    // Blocks: a header and a line per block; JSON with full hashes.
    let blocks = cluster.qraft("t0", &["blocks", "--last", "3"]);
    ok(&blocks);
    let lines: Vec<&str> = blocks.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{blocks:?}");
    assert!(lines[0].contains("height"), "{blocks:?}");
    let (blocks, _) = cluster.json("t0", &["blocks"]);
    let list = blocks["blocks"].as_array().unwrap();
    assert!(list.len() >= 5, "{blocks}");
    assert_eq!(list[0]["hash"].as_str().unwrap().len(), 64);
    let heights: Vec<u64> = list.iter().map(|b| b["height"].as_u64().unwrap()).collect();
    assert!(heights.windows(2).all(|w| w[1] == w[0] + 1), "{heights:?}");

    // Suspension: the participant is cut off on every node until reinstated.
    let suspended = cluster.qraft("admin", &["admin", "suspend", "t1"]);
    ok(&suspended);
    assert!(
        suspended.stdout.starts_with("Suspended qk1"),
        "{suspended:?}"
    );
    let refused = cluster.qraft("t1", &["status"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(refused.stderr.contains("suspended"), "{refused:?}");
    let unknown = cluster.qraft("admin", &["admin", "suspend", "nobody"]);
    assert_eq!(unknown.code, 1, "{unknown:?}");
    assert!(unknown.stderr.contains("no participant"), "{unknown:?}");
    ok(&cluster.qraft("admin", &["admin", "reinstate", "T1"]));
    ok(&cluster.qraft("t1", &["status"]));

    // Membership, asked of a follower: redirected to the leader.
    let (_, follower) = cluster.leader_and_follower();
    let (promoted, run) = cluster.json("admin", &["admin", "promote", "4", "--node", &follower]);
    ok(&run);
    assert_eq!(promoted["change"], "promote");
    // Removing a node goes through the ledger (any node takes the transaction); the
    // leader then takes it out of the cluster, and its id is never used again.
    let removed = cluster.qraft("admin", &["admin", "remove", "4", "--node", &follower]);
    ok(&removed);
    assert!(
        removed
            .stdout
            .starts_with("Node 4 is removed from the game"),
        "{removed:?}"
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (status, _) = cluster.json("t0", &["status"]);
        let members = [&status["voters"], &status["learners"]];
        if members
            .iter()
            .all(|m| !m.as_array().unwrap().contains(&4.into()))
        {
            break;
        }
        assert!(Instant::now() < deadline, "still a member: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    let again = cluster.qraft("admin", &["admin", "add-learner", "4"]);
    assert_ne!(again.code, 0, "{again:?}");
    assert!(again.stderr.contains("was removed"), "{again:?}");
}

#[test]
fn blocks_follow_prints_new_blocks_until_interrupted() {
    let cluster = Cluster::start();
    // Something on the chain first.
    ok(&cluster.qraft("t0", &["order", "buy", "ACME", "1", "--limit", "9"]));
    let mut follow = cluster.command("t0", &["blocks", "--follow", "--json", "--last", "1"]);
    follow
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = follow.spawn().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let next = |what: &str| -> Value {
        let line = lines
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("no line for {what}"));
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"))
    };
    let first = next("the latest block");
    assert_eq!(first["event"], "block");
    let start = first["height"].as_u64().unwrap();
    // A new transaction makes a new block, which arrives on the stream.
    ok(&cluster.qraft("t1", &["order", "sell", "ACME", "1", "--limit", "20"]));
    let second = next("a new block");
    assert_eq!(second["height"].as_u64().unwrap(), start + 1);
    // Ctrl-C ends it cleanly.
    let interrupted = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(interrupted.success());
    let output = wait_bounded(child, Duration::from_secs(20));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn session_jsonl_answers_each_command_by_id_and_ends_at_eof() {
    let cluster = Cluster::start();
    let mut input = String::new();
    input
        .push_str(r#"{"id":1,"cmd":"order","side":"buy","symbol":"ACME","qty":10,"limit":"9.10"}"#);
    input.push('\n');
    input.push_str(r#"{"id":2,"cmd":"book","symbol":"ACME"}"#);
    input.push('\n');
    input.push_str(r#"{"id":3,"cmd":"portfolio"}"#);
    input.push('\n');
    input.push_str("this is not JSON\n\n");
    input.push_str(
        r#"{"id":4,"cmd":"order","side":"buy","symbol":"ACME","qty":1,"limit":"12.505"}"#,
    );
    input.push('\n');
    input.push_str(r#"{"id":5,"cmd":"subscribe","blocks":true,"fills":true}"#);
    input.push('\n');
    input.push_str(r#"{"id":6,"cmd":"status"}"#);
    input.push('\n');
    input.push_str(r#"{"id":"seven","cmd":"order","side":"sell","symbol":"ACME","qty":1000000}"#);
    input.push('\n');
    input.push_str(r#"{"id":8,"cmd":"fly","to":"moon"}"#);
    input.push('\n');
    input.push_str(r#"{"id":9,"cmd":"rules"}"#);
    input.push('\n');
    // Orders back to back, in flight together: each gets its own nonce.
    for i in 0..5 {
        input.push_str(&format!(
            r#"{{"id":{},"cmd":"order","side":"buy","symbol":"BOLT","qty":1,"limit":{}}}"#,
            10 + i,
            10 + i
        ));
        input.push('\n');
    }
    let session = run(cluster.command("t0", &["session", "--jsonl"]), Some(&input));
    assert_eq!(session.code, 0, "{session:?}");
    let lines: Vec<Value> = session
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect();
    assert_eq!(lines[0]["event"], "ready", "{session:?}");
    let result = |id: Value| -> &Value {
        lines
            .iter()
            .find(|l| l.get("id") == Some(&id))
            .unwrap_or_else(|| panic!("no result for {id}: {session:?}"))
    };
    let rules = result(9.into());
    assert_eq!(rules["ok"], true, "{rules}");
    assert_eq!(rules["since_height"], 0, "{rules}");
    assert_eq!(rules["in_force"]["max_order_shares"], 10_000, "{rules}");
    let order = result(1.into());
    assert_eq!(order["ok"], true, "{order}");
    assert_eq!(order["cmd"], "order");
    assert_eq!(order["order"]["state"], "resting");
    assert_eq!(order["order"]["limit"], "9.10");
    let book = result(2.into());
    assert_eq!(book["ok"], true);
    assert_eq!(book["symbol"], "ACME");
    let portfolio = result(3.into());
    assert_eq!(portfolio["name"], "t0");
    let bad_price = result(4.into());
    assert_eq!(bad_price["ok"], false);
    assert_eq!(bad_price["code"], 1);
    assert!(
        bad_price["error"].as_str().unwrap().contains("not a price"),
        "{bad_price}"
    );
    assert_eq!(result(5.into())["topics"]["fills"], true);
    assert!(result(6.into())["role"].is_string());
    let rejected = result("seven".into());
    assert_eq!(rejected["code"], 3, "{rejected}");
    assert_eq!(rejected["status"], "rejected");
    let unknown = result(8.into());
    assert_eq!(unknown["code"], 2);
    let mut places = Vec::new();
    for id in 10..15 {
        let order = result(id.into());
        assert_eq!(order["ok"], true, "{order}");
        places.push((
            order["height"].as_u64().unwrap(),
            order["index"].as_u64().unwrap(),
        ));
    }
    // Sent back to back, applied in the order they were written.
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "applied out of order: {places:?}"
    );
    // The malformed line got an error result without an id; the session went on.
    let malformed: Vec<&Value> = lines
        .iter()
        .filter(|l| l.get("id").is_none() && l.get("ok") == Some(&Value::Bool(false)))
        .collect();
    assert_eq!(malformed.len(), 1, "{session:?}");
    assert!(
        malformed[0]["error"]
            .as_str()
            .unwrap()
            .starts_with("not JSON")
    );
    // One result per command line, and nothing on stderr.
    let results = lines.iter().filter(|l| l.get("ok").is_some()).count();
    assert_eq!(results, 15, "{session:?}");
    assert!(session.stderr.is_empty(), "{session:?}");
    // Every other line is an event.
    assert!(
        lines
            .iter()
            .filter(|l| l.get("ok").is_none())
            .all(|l| l["event"].is_string()),
        "{session:?}"
    );
}
