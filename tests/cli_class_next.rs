//! A class's next game (`qraft class --next`) with real processes on loopback: two
//! students join game 1 by code and Ada trades; the teacher stops the class and starts
//! game 2 with the same class. Ada's laptop, left running, moves to game 2 by itself; Bob's,
//! switched off meanwhile, moves when he runs `qraft join` again with no code. Names, keys
//! and nodes are kept, balances start afresh, and `qraft verify --previous` checks that
//! game 2 starts from game 1's final block.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use common::classroom::Qraft;
use serde_json::Value;

/// Ports of their own, clear of the other tests'.
const CLASS_PORT: u16 = 17_880;
const LAPTOP_PORT: u16 = 17_890;
const CODE: &str = "42-tulip-maple";
const WAIT: Duration = Duration::from_secs(60);

fn class(dir: &Path, extra: &[&str], log: &str) -> Qraft {
    let class_dir = dir.join("class");
    let port = CLASS_PORT.to_string();
    let mut args = vec![
        "class",
        "--headless",
        "--dir",
        class_dir.to_str().unwrap(),
        "--name",
        "Period 3",
        "--port",
        &port,
        "--code",
        CODE,
        "--bots",
        "2",
        "--no-advertise",
        "--approve-all",
    ];
    args.extend(extra);
    Qraft::start_here(&args, &dir.join(log))
}

fn join(dir: &Path, who: &str, extra: &[&str], log: &str) -> Qraft {
    let home = dir.join(who.to_lowercase());
    let address = format!("127.0.0.1:{CLASS_PORT}");
    let port = if who == "Ada" {
        LAPTOP_PORT
    } else {
        LAPTOP_PORT + 1
    }
    .to_string();
    let mut args = vec![
        "join",
        &address,
        "--headless",
        "--home",
        home.to_str().unwrap(),
        "--port",
        &port,
        "--name",
        who,
    ];
    args.extend(extra);
    Qraft::start_here(&args, &dir.join(log))
}

/// The genesis of the game Ada's laptop most recently played.
fn ada_genesis(dir: &Path, prefix: &str) -> PathBuf {
    dir.join("ada/games").join(prefix).join("genesis.toml")
}

/// `qraft ARGS --json` as Ada against the teacher's voters, in game `genesis`.
fn as_ada(dir: &Path, genesis: &Path, args: &[&str]) -> Value {
    let output = Command::new(env!("CARGO_BIN_EXE_qraft"))
        .args(args)
        .arg("--genesis")
        .arg(genesis)
        .arg("--key")
        .arg(dir.join("ada/keys/participant.key"))
        .args((1..=3).flat_map(|i| ["--node".to_owned(), format!("127.0.0.1:{}", CLASS_PORT + i)]))
        .args(["--json", "--timeout", "20"])
        .output()
        .expect("qraft runs");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "unreadable ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// The game prefix in a line like `... moved on to "P", game 1a2b3c4d...`.
fn game_prefix(line: &str) -> String {
    let at = line.find(", game ").expect("a game prefix") + ", game ".len();
    line[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}

fn verify(args: &[&str]) -> (bool, Value) {
    let output = Command::new(env!("CARGO_BIN_EXE_qraft"))
        .arg("verify")
        .args(args)
        .arg("--json")
        .output()
        .expect("qraft runs");
    let json = serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "unreadable ({e}): {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output.status.success(), json)
}

/// Stops the class as its teacher does (Ctrl-C); it must end cleanly.
fn stop(teacher: &mut Qraft) {
    teacher.interrupt();
    assert_eq!(
        teacher.wait_exit(WAIT),
        Some(true),
        "{}",
        teacher.stderr_text()
    );
}

#[test]
fn the_next_game_keeps_the_class_and_its_laptops_move_without_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let class_dir = dir.path().join("class");

    // Game 1: Ada and Bob join by code, and Ada buys at the market.
    let mut teacher = class(dir.path(), &[], "class1.log");
    teacher.wait_for("join code: 42-tulip-maple", WAIT).unwrap();
    let mut ada = join(dir.path(), "Ada", &["--code", CODE], "ada1.log");
    let joined = ada.wait_for("joined \"Period 3\" as Ada", WAIT).unwrap();
    ada.wait_for("block ", WAIT).unwrap();
    let mut bob = join(dir.path(), "Bob", &["--code", CODE], "bob1.log");
    bob.wait_for("joined \"Period 3\" as Bob", WAIT).unwrap();
    let first = std::fs::read_dir(dir.path().join("ada/games"))
        .unwrap()
        .flatten()
        .next()
        .unwrap()
        .file_name()
        .into_string()
        .unwrap();
    let game1 = ada_genesis(dir.path(), &first);
    let bought = as_ada(dir.path(), &game1, &["order", "buy", "ACME", "5"]);
    assert_eq!(bought["status"], "accepted", "{bought} ({joined})");
    let portfolio = as_ada(dir.path(), &game1, &["portfolio"]);
    assert_ne!(portfolio["cash"], "10000.00", "she paid for her shares");

    // The class ends (Ctrl-C), Bob's laptop is switched off, and the teacher starts the
    // class's next game, a free market. Ada's laptop is left running.
    stop(&mut teacher);
    drop(bob);
    let mut teacher = class(dir.path(), &["--next", "--free-market"], "class2.log");
    let made = teacher.wait_for("game 2 of \"Period 3\"", WAIT).unwrap();
    assert!(
        made.contains("2 students and 2 laptops carried over"),
        "{made}"
    );
    // Game 1 was never ended: the teacher is told how to write its report still.
    let note = teacher.wait_for("note: game 1", WAIT).unwrap();
    assert!(note.contains("had not ended"), "{note}");
    assert!(note.contains("qraft report --data"), "{note}");
    teacher.wait_for("join code:", WAIT).unwrap();
    // Their seats are on the new game's roster from the start.
    teacher.wait_for("\"Ada\": joined as node", WAIT).unwrap();

    // Ada's running laptop finds itself cut off, asks the class, and moves over.
    let moved = ada.wait_for("the class moved on to", WAIT).unwrap();
    assert!(moved.contains("Period 3 · game 2"), "{moved}");
    assert!(moved.contains("You play it as Ada (node 4)"), "{moved}");
    let second = game_prefix(&moved);
    assert_ne!(second, first);
    ada.wait_for("your node is following the game", WAIT)
        .unwrap();
    ada.wait_for("block ", WAIT).unwrap();
    let game2 = ada_genesis(dir.path(), &second);
    let fresh = as_ada(dir.path(), &game2, &["portfolio"]);
    assert_eq!(fresh["cash"], "10000.00", "a fresh start: {fresh}");
    let again = as_ada(dir.path(), &game2, &["order", "buy", "ACME", "1"]);
    assert_eq!(again["status"], "accepted", "{again}");

    // The teacher ends game 2 and records its report; Ada checks the report against her
    // own laptop's node (a learner of game 2 from its genesis), with no replay.
    let teacher_key = class_dir.join("keys/teacher.key");
    let class_genesis = class_dir.join("genesis.toml");
    let voters: Vec<String> = (1..=3)
        .flat_map(|i| ["--node".to_owned(), format!("127.0.0.1:{}", CLASS_PORT + i)])
        .collect();
    let run = |args: &[&str], extra: &[String]| {
        Command::new(env!("CARGO_BIN_EXE_qraft"))
            .args(args)
            .args(extra)
            .output()
            .expect("qraft runs")
    };
    let as_teacher = [
        "--genesis",
        class_genesis.to_str().unwrap(),
        "--key",
        teacher_key.to_str().unwrap(),
    ];
    let ended = run(&[&["admin", "end"][..], &as_teacher].concat(), &voters);
    assert!(ended.status.success(), "{ended:?}");
    let reported_dir = dir.path().join("report2");
    let recorded = run(
        &[
            &[
                "report",
                "--record",
                "--out",
                reported_dir.to_str().unwrap(),
            ][..],
            &as_teacher,
        ]
        .concat(),
        &voters,
    );
    assert!(recorded.status.success(), "{recorded:?}");
    let report_json = reported_dir.join("report.json");
    let ada_node = [format!("--node=127.0.0.1:{LAPTOP_PORT}")];
    let as_ada_on_her_node = [
        "--genesis",
        game2.to_str().unwrap(),
        "--key",
        dir.path()
            .join("ada/keys/participant.key")
            .to_str()
            .unwrap(),
    ]
    .map(str::to_owned);
    let check = |file: &Path| {
        let mut args = vec!["report".to_owned(), "--check".to_owned()];
        args.push(file.to_str().unwrap().to_owned());
        args.extend(as_ada_on_her_node.iter().cloned());
        args.extend(ada_node.iter().cloned());
        Command::new(env!("CARGO_BIN_EXE_qraft"))
            .args(&args)
            .output()
            .expect("qraft runs")
    };
    // Her node may take a moment to apply the recording block.
    let deadline = std::time::Instant::now() + WAIT;
    let checked = loop {
        let checked = check(&report_json);
        if checked.status.success() || std::time::Instant::now() > deadline {
            break checked;
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let said = String::from_utf8_lossy(&checked.stdout).into_owned();
    assert!(checked.status.success(), "{checked:?}");
    assert!(said.contains("is the report the chain holds"), "{said}");
    let mut changed = std::fs::read(&report_json).unwrap();
    let last = changed.len() - 2;
    changed[last] ^= 1;
    let forged = dir.path().join("forged/report.json");
    std::fs::create_dir_all(forged.parent().unwrap()).unwrap();
    std::fs::write(&forged, changed).unwrap();
    let refused = check(&forged);
    assert_eq!(refused.status.code(), Some(1), "{refused:?}");

    // Bob runs `qraft join` as he always does, with no code: his laptop moves over first.
    let mut bob = join(dir.path(), "Bob", &[], "bob2.log");
    let moved = bob.wait_for("the class moved on to", WAIT).unwrap();
    assert!(moved.contains("You play it as Bob (node 5)"), "{moved}");
    assert_eq!(game_prefix(&moved), second);
    bob.wait_for("block ", WAIT).unwrap();
    drop(bob);

    // Run again in game 2, a laptop stays there.
    drop(ada);
    let mut ada = join(dir.path(), "Ada", &[], "ada3.log");
    ada.wait_for("resuming \"Period 3 · game 2\" as Ada", WAIT)
        .unwrap();
    ada.wait_for("block ", WAIT).unwrap();
    assert!(
        !ada.seen.iter().any(|l| l.contains("moved on")),
        "{:?}",
        ada.seen
    );
    drop(ada);

    // Game 2 starts from game 1's final block: `qraft verify --previous` checks it.
    stop(&mut teacher);
    let game1_data = class_dir.join("games/1/data/node1");
    let game2_data = class_dir.join("data/node1");
    let (ok, old) = verify(&[game1_data.to_str().unwrap()]);
    assert!(ok, "{old}");
    let (ok, new) = verify(&[
        game2_data.to_str().unwrap(),
        "--previous",
        game1_data.to_str().unwrap(),
    ]);
    assert!(ok, "{new}");
    assert_eq!(new["previous"]["chain_id"], old["chain_id"]);
    assert_eq!(new["previous"]["block_hash"], old["head_hash"]);
    assert_eq!(new["previous"]["height"], old["blocks"]);
    // Game 2's report says where it starts from.
    let out = dir.path().join("report2-again");
    let written = Command::new(env!("CARGO_BIN_EXE_qraft"))
        .args(["report", "--data", game2_data.to_str().unwrap(), "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(
        written.status.success(),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["game"]["previous"]["block_hash"], old["head_hash"]);
    assert_eq!(report["game"]["name"], "Period 3 · game 2");
    // Against another chain (game 2's own), the link is refused.
    let (ok, _) = verify(&[
        game2_data.to_str().unwrap(),
        "--previous",
        game2_data.to_str().unwrap(),
    ]);
    assert!(!ok);
}
