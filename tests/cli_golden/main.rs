//! Golden files for every JSON line the client prints: the `--json` output of the
//! one-shot commands (successes and the usual failures, with their exit codes) and `qraft
//! session --jsonl` transcripts, from a scripted game on a 3-node cluster on loopback.
//!
//! They pin the output byte for byte (key order included), so that a change to how it
//! is built shows up as a diff here. Values that differ from run to run (hashes, times,
//! ports, the chain id, election outcomes) are replaced by placeholders, narrowly: see
//! [`normalise`]. To accept new output after a deliberate change, run
//! `QRAFT_UPDATE_GOLDEN=1 cargo test -p qraft --test cli_golden` and review the diff of
//! `tests/golden/`.

mod cluster;
mod normalise;
mod session;
mod typed;

use std::collections::HashMap;
use std::path::Path;

use qraft_keys::Keypair;
use qraft_node::testkit::disk::free_port;

use cluster::{Cluster, Run, run};
use normalise::{Normaliser, Volatile};

/// One one-shot command of the script: who runs it, its arguments (`{name}` is replaced
/// by a value captured earlier), how its output varies, and what to capture from it.
struct Step {
    key: &'static str,
    args: &'static str,
    volatile: Volatile,
    /// `(name, JSON pointer)`: the value at the pointer is kept as `{name}`.
    capture: Option<(&'static str, &'static str)>,
    /// Whether it changes nothing (no block), so that it may run at the same time as
    /// the parallel steps next to it.
    parallel: bool,
}

/// A step that may make a block: run on its own.
const fn step(key: &'static str, args: &'static str) -> Step {
    Step {
        key,
        args,
        volatile: Volatile::None,
        capture: None,
        parallel: false,
    }
}

/// A step that makes no block (a query, or a failure before anything is sent).
const fn query(key: &'static str, args: &'static str) -> Step {
    Step {
        parallel: true,
        ..step(key, args)
    }
}

const fn status(key: &'static str, args: &'static str) -> Step {
    Step {
        volatile: Volatile::Status,
        ..query(key, args)
    }
}

const fn capture(
    key: &'static str,
    args: &'static str,
    name: &'static str,
    pointer: &'static str,
) -> Step {
    Step {
        capture: Some((name, pointer)),
        ..step(key, args)
    }
}

/// The one-shot commands, run one after another (each waits for its answer), so the
/// chain they make is the same on every run: one transaction a block.
const ONE_SHOT: &[Step] = &[
    status("t0", "status"),
    // Orders: resting, filled, market, immediate-or-cancel.
    capture("t0", "order buy ACME 10 --limit 9.00", "rest", "/order/id"),
    step("t0", "order buy ACME 5 --limit $9.50"),
    step("t1", "order sell ACME 5 --limit 9.50"),
    step("t1", "order sell ACME 3"),
    step("t2", "order buy ACME 2 --limit 8 --ioc"),
    step("t1", "order sell BOLT 4 --limit 16"),
    capture("t2", "order buy BOLT 2 --limit 14", "bolt", "/tx"),
    // Queries.
    query("t2", "book ACME"),
    query("t2", "book ACME --levels 1"),
    query("t2", "book BOLT"),
    query("t0", "portfolio"),
    query("t1", "portfolio"),
    query("t2", "trades"),
    query("t2", "trades ACME --limit 1"),
    query("t2", "leaderboard"),
    query("t1", "receipt {bolt}"),
    query(
        "t1",
        "receipt abababababababababababababababababababababababababababababababab",
    ),
    query("t1", "receipt nothex"),
    Step {
        volatile: Volatile::Blocks,
        ..query("t0", "blocks --last 3")
    },
    // Cancels.
    step("t0", "cancel #{rest}"),
    step("t0", "cancel --all"),
    step("t0", "cancel --all"),
    step("t0", "cancel #999999"),
    // Failures: rejected, bad input, usage, not allowed, nobody there.
    step("t2", "order buy ACME 5000 --limit 100"),
    step("t2", "admin halt"),
    query("t2", "status --node {unused} --timeout 1"),
    query("t2", "order buy ACME 1 --limit 12.505"),
    query("t2", "order buy NOPE 1"),
    query("t2", "book NOPE"),
    query("t2", "order buy ACME 1 --ioc"),
    query("stranger", "status"),
    // Administration. A transaction's connection outlives its one-shot command on the
    // node for a few seconds, and a key may hold 8 to a node: the admin's are spread
    // over nodes 1 and 2, membership changes (two connections each) first.
    Step {
        volatile: Volatile::Membership,
        ..step("admin", "admin add-learner 4")
    },
    Step {
        volatile: Volatile::Membership,
        ..step("admin", "admin promote 4")
    },
    step("admin", "admin halt ACME --node {node2}"),
    step("t0", "order buy ACME 1 --limit 9"),
    step("admin", "admin resume ACME --node {node2}"),
    step("admin", "admin close --node {node2}"),
    step("admin", "admin open --node {node2}"),
    step("admin", "admin news Markets are open --node {node2}"),
    step(
        "admin",
        "admin add-participant carol --key-pub {carol} --cash 10,000 --role bot --holding ACME=5",
    ),
    step("admin", "admin suspend t1"),
    query("t1", "status"),
    query("admin", "admin suspend nobody"),
    step("admin", "admin reinstate T1"),
    status("t1", "status"),
];

/// The values the scripts refer to as `{name}`, and the normaliser that knows the
/// run's volatile values.
struct Game {
    cluster: Cluster,
    vars: HashMap<String, String>,
    normaliser: Normaliser,
}

impl Game {
    fn start() -> Game {
        let cluster = Cluster::start();
        let unused = format!("127.0.0.1:{}", free_port().expect("a free port"));
        let mut known: Vec<(String, String)> = cluster
            .addresses()
            .into_iter()
            .map(|(id, address)| (address, format!("<node{id}>")))
            .collect();
        known.push((unused.clone(), "<unused>".into()));
        let chain_id = cluster.game.genesis.chain_id().to_string();
        known.push((chain_id, "<chain_id>".into()));
        let mut vars = HashMap::new();
        vars.insert("unused".to_string(), unused);
        vars.insert("node2".to_string(), cluster.addresses()[1].1.clone());
        for name in ["carol", "dave", "node5"] {
            let key = Keypair::from_label(&format!("cli-golden/{name}")).public();
            vars.insert(name.to_string(), key.to_string());
        }
        let t2 = cluster.game.traders[2].public().to_string();
        vars.insert("t2".to_string(), t2);
        Game {
            cluster,
            vars,
            normaliser: Normaliser::new(known),
        }
    }

    /// `text` with every `{name}` replaced by its captured value.
    fn fill(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (name, value) in &self.vars {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }

    /// Runs the one-shot script; the transcript: each command, its exit code and its
    /// normalised stdout. Parallel steps next to each other run at the same time.
    fn one_shot(&mut self) -> String {
        let mut transcript = String::new();
        let mut at = 0;
        while at < ONE_SHOT.len() {
            let group = if ONE_SHOT[at].parallel {
                ONE_SHOT[at..].iter().take_while(|s| s.parallel).count()
            } else {
                1
            };
            let steps = &ONE_SHOT[at..at + group];
            at += group;
            // Each command holds a connection (a membership change two), parallel ones
            // at the same time.
            let mut keys: Vec<&str> = steps.iter().map(|s| s.key).collect();
            keys.sort_unstable();
            keys.dedup();
            for key in keys {
                let same_key = steps.iter().filter(|s| s.key == key).count();
                self.cluster.settle_connections(key, same_key.max(2));
            }
            let commands: Vec<std::process::Command> = steps
                .iter()
                .map(|step| {
                    let args = self.fill(step.args);
                    let mut argv: Vec<&str> = args.split_whitespace().collect();
                    argv.push("--json");
                    self.cluster.command(step.key, &argv)
                })
                .collect();
            let runs: Vec<Run> = std::thread::scope(|scope| {
                let running: Vec<_> = commands
                    .into_iter()
                    .map(|command| scope.spawn(move || run(command)))
                    .collect();
                running
                    .into_iter()
                    .map(|r| r.join().expect("a run"))
                    .collect()
            });
            for (step, result) in steps.iter().zip(runs) {
                transcript.push_str(&format!(
                    "$ {} {} --json\nexit {}\n",
                    step.key, step.args, result.code
                ));
                let cmd = step.args.split_whitespace().next().unwrap_or_default();
                for line in result.stdout.lines() {
                    typed::result(cmd, line);
                    transcript.push_str(&self.normaliser.line(line, step.volatile));
                    transcript.push('\n');
                }
                transcript.push('\n');
                if let Some((name, pointer)) = step.capture {
                    let value: serde_json::Value = serde_json::from_str(result.stdout.trim())
                        .unwrap_or_else(|e| panic!("{}: {e}: {result:?}", step.args));
                    let captured = match value.pointer(pointer) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(other) => other.to_string(),
                        None => panic!("no {pointer} in {}: {result:?}", step.args),
                    };
                    self.vars.insert(name.to_string(), captured);
                }
            }
        }
        transcript
    }
}

/// `qraft blocks --follow --json --last 2`: the two latest blocks as `block` events,
/// then (no new block coming) Ctrl-C, which ends it cleanly.
fn follow_blocks(game: &mut Game) -> String {
    let args = ["blocks", "--follow", "--json", "--last", "2"];
    let mut child = game
        .cluster
        .command("t0", &args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("qraft blocks --follow starts");
    let stdout = child.stdout.take().expect("stdout");
    let (lines_tx, lines) = std::sync::mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)) {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut transcript = format!("$ t0 {}\n", args.join(" "));
    for _ in 0..2 {
        let line = lines
            .recv_timeout(cluster::RUN_LIMIT)
            .expect("a block from blocks --follow");
        typed::event(&line);
        transcript.push_str(&game.normaliser.line(&line, Volatile::Blocks));
        transcript.push('\n');
    }
    let interrupted = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(interrupted.success(), "kill -INT failed");
    let status = cluster::wait_bounded(&mut child, cluster::RUN_LIMIT);
    let _ = reader.join();
    while let Ok(line) = lines.try_recv() {
        transcript.push_str(&game.normaliser.line(&line, Volatile::Blocks));
        transcript.push('\n');
    }
    transcript.push_str(&format!("(Ctrl-C) exit {}\n", status.code().unwrap_or(-1)));
    transcript
}

/// Compares `actual` with the golden file `name`, or rewrites it with
/// `QRAFT_UPDATE_GOLDEN=1`; the failures are collected in `failures`.
fn check(name: &str, actual: &str, failures: &mut Vec<String>) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/golden")
        .join(name);
    if std::env::var_os("QRAFT_UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual).expect("write the golden file");
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        failures.push(format!(
            "{} differs (QRAFT_UPDATE_GOLDEN=1 rewrites it):\n{}",
            path.display(),
            first_difference(&expected, actual)
        ));
    }
}

/// The first line that differs, with its number.
fn first_difference(expected: &str, actual: &str) -> String {
    let mut expected_lines = expected.lines();
    let mut actual_lines = actual.lines();
    for number in 1.. {
        match (expected_lines.next(), actual_lines.next()) {
            (None, None) => break,
            (e, a) if e == a => {}
            (e, a) => {
                return format!(
                    "line {number}:\n  expected: {}\n  actual:   {}",
                    e.unwrap_or("(end of file)"),
                    a.unwrap_or("(end of output)")
                );
            }
        }
    }
    "(a difference in line endings)".to_string()
}

#[test]
fn client_json_output_matches_the_golden_files() {
    let mut game = Game::start();
    let mut failures = Vec::new();
    let one_shot = game.one_shot();
    check("one_shot.txt", &one_shot, &mut failures);
    let follow = follow_blocks(&mut game);
    check("blocks_follow.txt", &follow, &mut failures);
    // The one-shot commands used node 1: the sessions go to others, away from the
    // connections their keys may still hold there (8 a key at most).
    let node = |id: usize| game.cluster.addresses()[id - 1].1.clone();
    let (node2, node3) = (node(2), node(3));
    let on_node3 = ["--node", node3.as_str()];
    let trader = session::run_script(&mut game, "t0", &on_node3, session::TRADER);
    check("session_trader.txt", &trader, &mut failures);
    let admin = session::run_script(&mut game, "admin", &on_node3, session::ADMIN);
    check("session_admin.txt", &admin, &mut failures);
    // Last: it stops the nodes.
    let lost_args = ["--node", node2.as_str(), "--timeout", "2"];
    let lost = session::run_script(&mut game, "t2", &lost_args, session::LOST);
    check("session_lost.txt", &lost, &mut failures);
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// A one-shot transaction closes its connection before it exits, as a query does: the
/// node frees it at once rather than counting it against the key's connection limit
/// until its idle timeout (10 s), which a script placing orders in a loop would hit.
#[test]
fn a_one_shot_transaction_frees_its_connection_when_it_exits() {
    let cluster = Cluster::start();
    let placed = run(cluster.command(
        "t2",
        &["order", "buy", "ACME", "1", "--limit", "1.00", "--json"],
    ));
    assert_eq!(placed.code, 0, "{}{}", placed.stdout, placed.stderr);
    // Well under the idle timeout: the close the client sent has only to be read.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while cluster.client_connections("t2") != Some(0) && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert_eq!(
        cluster.client_connections("t2"),
        Some(0),
        "the node still counts the exited command's connection"
    );
}
