//! Drives `qraft session --jsonl` with a fixed script, one command at a time (each waits
//! for its result), and writes down what it printed: the commands with their results in
//! order, then the events in the order they came. Events are a stream of their own:
//! where they fall between results depends on timing, their order does not.

use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cluster::wait_bounded;
use crate::normalise::Volatile;
use crate::{Game, typed};

/// How long a command may take to answer, or an event to come.
const ANSWER_LIMIT: Duration = Duration::from_secs(20);
/// Without any event for this long, the events of the last block are all in.
const QUIET: Duration = Duration::from_millis(300);

/// What the script says, line by line: a line sent as it is (after `{name}` is filled
/// in; a blank line gets no result), or one of the directives [`QUIET_LINE`],
/// [`STOP_OWN`], [`STOP_ALL`].
pub const QUIET_LINE: &str = "# wait for the events to stop";
/// Stops the session's node (its `--node`), then waits for its `reconnected` event.
pub const STOP_OWN: &str = "# stop the session's node, wait until the session has moved";
/// Stops every node, then waits for the session's `disconnected` event.
pub const STOP_ALL: &str = "# stop every node, wait until the session gives up";

/// A trader's session: every command but `admin`, with successes and the usual
/// failures, malformed lines, and every event a trade makes.
pub const TRADER: &[&str] = &[
    r#"{"id":1,"cmd":"subscribe","blocks":true,"trades":true,"fills":true,"book":true}"#,
    r#"{"id":2,"cmd":"order","side":"buy","symbol":"ACME","qty":10,"limit":"9.10"}"#,
    r#"{"id":3,"cmd":"order","side":"sell","symbol":"BOLT","quantity":1,"limit":14,"ioc":true}"#,
    r#"{"id":4,"cmd":"order","side":"sell","symbol":"BOLT","qty":1}"#,
    r#"{"id":5,"cmd":"order","side":"buy","symbol":"BOLT","qty":1,"limit":"15.00","ioc":true}"#,
    r#"{"id":6,"cmd":"order","side":"sell","symbol":"ACME","qty":1000000}"#,
    r#"{"id":7,"cmd":"order","side":"buy","symbol":"ACME","qty":1,"limit":"12.505"}"#,
    r#"{"id":8,"cmd":"order","side":"buy","symbol":"NOPE","qty":1}"#,
    r#"{"id":9,"cmd":"order","side":"buy","symbol":"ACME","qty":1,"limit":true}"#,
    r#"{"id":10,"cmd":"book","symbol":"ACME","levels":2}"#,
    r#"{"id":11,"cmd":"book","symbol":"BOLT"}"#,
    r#"{"id":12,"cmd":"portfolio"}"#,
    r#"{"id":13,"cmd":"trades","symbol":"BOLT","limit":2}"#,
    r#"{"id":14,"cmd":"trades"}"#,
    r#"{"id":15,"cmd":"leaderboard"}"#,
    r#"{"id":16,"cmd":"blocks","last":2}"#,
    r#"{"id":17,"cmd":"status"}"#,
    r#"{"id":18,"cmd":"receipt","tx":"{tx2}"}"#,
    r#"{"id":19,"cmd":"receipt","tx":"abababababababababababababababababababababababababababababababab"}"#,
    r#"{"id":20,"cmd":"receipt","tx":"xyz"}"#,
    r#"{"id":21,"cmd":"cancel","order":{order2}}"#,
    r#"{"id":22,"cmd":"order","side":"buy","symbol":"ACME","qty":2,"limit":"9.05"}"#,
    r#"{"id":23,"cmd":"order","side":"buy","symbol":"BOLT","qty":2,"limit":"14.50"}"#,
    r#"{"id":24,"cmd":"cancel","all":true,"symbol":"ACME"}"#,
    r#"{"id":25,"cmd":"cancel","all":true}"#,
    r#"{"id":26,"cmd":"cancel","all":true}"#,
    r#"{"id":27,"cmd":"cancel","order":1,"all":true}"#,
    r#"{"id":28,"cmd":"cancel"}"#,
    r#"{"id":29,"cmd":"admin","action":"halt","symbol":"ACME"}"#,
    QUIET_LINE,
    r#"{"id":30,"cmd":"subscribe","fills":true}"#,
    r#"{"id":31,"cmd":"unsubscribe"}"#,
    r#"{"id":32,"cmd":"unsubscribe"}"#,
    // Malformed lines: each gets a usage failure, and the session goes on.
    "this is not JSON",
    "[1,2]",
    "",
    r#"{"id":33}"#,
    r#"{"id":34,"cmd":"fly","to":"moon"}"#,
    r#"{"id":35,"cmd":"order","side":"buy","symbol":"ACME","quantity":1,"price":"1"}"#,
    r#"{"id":36,"cmd":"book"}"#,
    r#"{"id":37,"cmd":"order","side":"hold","symbol":"ACME","qty":1}"#,
    r#"{"id":38,"cmd":"book","symbol":"ACME","levels":"many"}"#,
    r#"{"id":"last","cmd":"leaderboard"}"#,
];

/// The admin's session: every `admin` action, and the usual failures.
pub const ADMIN: &[&str] = &[
    r#"{"id":1,"cmd":"admin","action":"halt","symbol":"BOLT"}"#,
    r#"{"id":2,"cmd":"admin","action":"resume","symbol":"BOLT"}"#,
    r#"{"id":3,"cmd":"admin","action":"close"}"#,
    r#"{"id":4,"cmd":"admin","action":"open"}"#,
    r#"{"id":5,"cmd":"admin","action":"news","text":"Quarterly results are in"}"#,
    r#"{"id":6,"cmd":"admin","action":"news"}"#,
    r#"{"id":7,"cmd":"admin","action":"add_participant","name":"dave","key":"{dave}","cash":"2500.50","role":"bot","holdings":["ACME=5"]}"#,
    r#"{"id":8,"cmd":"admin","action":"add_participant","name":"erin","key":"nonsense","cash":"1"}"#,
    r#"{"id":9,"cmd":"admin","action":"add_participant","name":"erin","key":"{dave}","cash":12.5}"#,
    r#"{"id":10,"cmd":"admin","action":"suspend","name":"t2"}"#,
    r#"{"id":11,"cmd":"admin","action":"reinstate","key":"{t2}"}"#,
    r#"{"id":12,"cmd":"admin","action":"suspend","name":"nobody"}"#,
    r#"{"id":13,"cmd":"admin","action":"dance"}"#,
    r#"{"id":14,"cmd":"portfolio"}"#,
    // Membership last: the cluster changes under it.
    r#"{"id":15,"cmd":"admin","action":"promote"}"#,
    r#"{"id":16,"cmd":"admin","action":"remove","node":4}"#,
    r#"{"id":17,"cmd":"admin","action":"add_learner","node":4}"#,
    r#"{"id":18,"cmd":"admin","action":"add_node","node":5,"name":"node5","key":"{node5}","address":"127.0.0.1:9"}"#,
];

/// A session that loses its node, moves to another, then loses them all (run with
/// `--node ADDRESS --timeout 2`).
pub const LOST: &[&str] = &[
    r#"{"id":1,"cmd":"trades","symbol":"ACME","limit":1}"#,
    STOP_OWN,
    r#"{"id":2,"cmd":"trades","symbol":"ACME","limit":1}"#,
    STOP_ALL,
];

/// Runs `script` in a session of `key` (with `extra` options); the normalised
/// transcript.
pub fn run_script(game: &mut Game, key: &str, extra: &[&str], script: &[&str]) -> String {
    // The session's connection, and one for a membership change's leader.
    game.cluster.settle_connections(key, 2);
    let mut args = vec!["session", "--jsonl"];
    args.extend_from_slice(extra);
    let mut child = game
        .cluster
        .command(key, &args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("qraft session starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut text);
        text
    });
    let (lines_tx, lines) = mpsc::channel::<String>();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { return };
            if lines_tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut results = String::from("# commands (>) and their results (<), in order\n");
    let mut events: Vec<String> = Vec::new();
    let mut highest_block = 0;
    let mut blocks_on = false;
    // Waits for the next result line, keeping the events that come first.
    let next_result = |events: &mut Vec<String>, highest: &mut u64, what: &str| -> String {
        loop {
            let line = lines
                .recv_timeout(ANSWER_LIMIT)
                .unwrap_or_else(|_| panic!("no result for {what}; events so far: {events:#?}"));
            let value: Value =
                serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
            if value.get("event").is_none() {
                return line;
            }
            if value["event"] == "block" {
                *highest = (*highest).max(value["height"].as_u64().unwrap_or(0));
            }
            events.push(line);
        }
    };
    // The ready event comes first.
    let ready = lines.recv_timeout(ANSWER_LIMIT).expect("the ready event");
    assert!(ready.contains(r#""event":"ready""#), "not ready: {ready}");
    events.push(ready);
    // Waits for an event named `name`, keeping the events that come until then.
    let wait_for = |events: &mut Vec<String>, name: &str| {
        let tag = format!(r#""event":"{name}""#);
        loop {
            let line = lines
                .recv_timeout(ANSWER_LIMIT)
                .unwrap_or_else(|_| panic!("no {name} event; events so far: {events:#?}"));
            let found = line.contains(&tag);
            events.push(line);
            if found {
                return;
            }
        }
    };
    for template in script {
        if *template == STOP_OWN || *template == STOP_ALL {
            let mut stopping: Vec<String> = game
                .cluster
                .addresses()
                .into_iter()
                .map(|(_, address)| address)
                .collect();
            if *template == STOP_OWN {
                let own = extra.iter().position(|a| *a == "--node");
                let own = own.and_then(|at| extra.get(at + 1)).expect("--node");
                stopping = vec![own.to_string()];
            }
            for address in &stopping {
                game.cluster.stop(address);
            }
            let event = if *template == STOP_OWN {
                "reconnected"
            } else {
                "disconnected"
            };
            wait_for(&mut events, event);
            results.push_str(template);
            results.push('\n');
            continue;
        }
        if *template == QUIET_LINE {
            while let Ok(line) = lines.recv_timeout(QUIET) {
                events.push(line);
            }
            results.push_str(template);
            results.push('\n');
            continue;
        }
        let line = game.fill(template);
        writeln!(stdin, "{line}").expect("write a command");
        stdin.flush().expect("flush the command");
        results.push_str(&format!("> {template}\n"));
        if line.trim().is_empty() {
            continue;
        }
        let command: Option<Value> = serde_json::from_str(&line).ok();
        let cmd = command
            .as_ref()
            .and_then(|c| c.get("cmd"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let result = next_result(&mut events, &mut highest_block, &line);
        let value: Value = serde_json::from_str(&result).expect("a JSON result");
        typed::result(&cmd, &result);
        let volatile = match cmd.as_str() {
            "status" => Volatile::Status,
            "blocks" => Volatile::Blocks,
            "admin" => Volatile::Membership,
            _ => Volatile::None,
        };
        results.push_str(&format!("< {}\n", game.normaliser.line(&result, volatile)));
        if let Some(id) = command.as_ref().and_then(|c| c.get("id")) {
            let id = id.as_u64().map(|n| n.to_string()).unwrap_or_default();
            if let Some(tx) = value.get("tx").and_then(Value::as_str) {
                game.vars.insert(format!("tx{id}"), tx.to_string());
            }
            if let Some(order) = value.pointer("/order/id") {
                game.vars.insert(format!("order{id}"), order.to_string());
            }
        }
        match cmd.as_str() {
            "subscribe" => blocks_on = command.as_ref().is_some_and(|c| c["blocks"] == true),
            "unsubscribe" => blocks_on = false,
            _ => {}
        }
        // A transaction's block: wait for its event, so that the events of every
        // earlier block are in before the script goes on.
        let height = value.get("height").and_then(Value::as_u64);
        let transaction = matches!(cmd.as_str(), "order" | "cancel" | "admin");
        if let (true, true, Some(height)) = (blocks_on, transaction, height) {
            let deadline = Instant::now() + ANSWER_LIMIT;
            while highest_block < height {
                let left = deadline.saturating_duration_since(Instant::now());
                let line = lines
                    .recv_timeout(left)
                    .unwrap_or_else(|_| panic!("no block event for height {height}"));
                let value: Value = serde_json::from_str(&line).expect("a JSON event");
                assert!(value.get("event").is_some(), "a result out of turn: {line}");
                if value["event"] == "block" {
                    highest_block = highest_block.max(value["height"].as_u64().unwrap_or(0));
                }
                events.push(line);
            }
        }
    }
    // End of input: the session exits 0 once every command has its result.
    drop(stdin);
    let status = wait_bounded(&mut child, ANSWER_LIMIT);
    let _ = reader.join();
    // A person reads stderr: only whether there is something on it is pinned.
    let stderr = stderr.join().unwrap_or_default();
    assert_eq!(
        stderr.is_empty(),
        status.success(),
        "stderr after exit {status}: {stderr}"
    );
    while let Ok(line) = lines.try_recv() {
        assert!(
            serde_json::from_str::<Value>(&line).is_ok_and(|v| v.get("event").is_some()),
            "a result after the last command: {line}"
        );
        events.push(line);
    }
    results.push_str(&format!("exit {}\n", status.code().unwrap_or(-1)));
    results.push_str("\n# events, in order\n");
    for event in &events {
        typed::event(event);
        let kind = if event.contains(r#""event":"block""#) {
            Volatile::Blocks
        } else {
            Volatile::None
        };
        results.push_str(&game.normaliser.line(event, kind));
        results.push('\n');
    }
    results
}
