//! A classroom on a LAN of network namespaces (see `common::lan`): the teacher's
//! `qraft class --headless` with a roster on one machine, ten students' `qraft join
//! --headless` on ten others finding the game by mDNS, a rogue laptop advertising a fake
//! game with the same name, and a classmate with the wrong code. Skipped, saying so,
//! where namespaces cannot be made (not root).
//!
//! `classroom_figure` (ignored: a measurement, not a test) times the whole class, from
//! the teacher's command to every laptop's first committed order, and each laptop's
//! resident memory:
//!
//! ```sh
//! cargo build --release && QRAFT_CLASS_LAPTOPS=30 cargo test --release --test classroom -- --ignored --nocapture
//! ```

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::classroom::{CODE, Laptop, Qraft, following, start_class};
use common::lan::Lan;
use serde_json::Value;

/// The longest a laptop may take to join (find, enroll, start its node) on a busy CI
/// machine running a whole class.
const JOIN_WAIT: Duration = Duration::from_secs(120);

fn roster(dir: &Path, names: &[String]) -> std::path::PathBuf {
    let path = dir.join("roster.csv");
    let mut text = String::from("name,email\n");
    for name in names {
        text.push_str(&format!("{name},{name}@school.example\n"));
    }
    std::fs::write(&path, text).unwrap();
    path
}

fn ip(args: &[&str]) {
    let status = Command::new("ip").args(args).status().expect("ip runs");
    assert!(status.success(), "ip {args:?}");
}

/// The game code (chain prefix) the class printed when it opened.
fn game_code(class: &Qraft) -> String {
    let line = class
        .seen
        .iter()
        .find(|l| l.starts_with("class "))
        .expect("the class's first line");
    let start = line.find("(game ").expect("a game code") + 6;
    line[start..start + 16].to_owned()
}

/// Places an order from `laptop`, retrying while its node catches up; the answer.
fn order_commits(laptop: &Laptop, wait: Duration) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        let answer = laptop.order();
        if answer["ok"] == Value::Bool(true) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_class_joins_by_code_and_moved_laptops_a_wrong_code_and_a_rogue_game_break_nothing() {
    if !Lan::available() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut lan = Lan::new("qrcl").unwrap();
    let teacher = lan.machine(1).unwrap();
    let rogue_machine = lan.machine(99).unwrap();
    let mallory_machine = lan.machine(98).unwrap();
    let laptops: Vec<Laptop> = (11u8..21)
        .map(|n| Laptop {
            netns: lan.machine(n).unwrap(),
            home: tmp.path().join(format!("home{n}")),
            name: format!("Student {n}"),
            teacher: "10.77.0.1".into(),
        })
        .collect();
    let names: Vec<String> = laptops.iter().map(|l| l.name.clone()).collect();
    let roster = roster(tmp.path(), &names);

    let mut class = start_class(
        &teacher,
        &tmp.path().join("class"),
        &roster,
        "Period 3",
        CODE,
        &tmp.path().join("class.log"),
    )
    .unwrap();
    let real_game = game_code(&class);
    // A classmate's fake game with the same name (its own code), approving everyone.
    let mut rogue = Qraft::start(
        &rogue_machine,
        &[
            "class",
            "--headless",
            "--dir",
            tmp.path().join("rogue").to_str().unwrap(),
            "--name",
            "Period 3",
            "--approve-all",
            "--bots",
            "0",
        ],
        &tmp.path().join("rogue.log"),
    );
    rogue
        .wait_for("join code:", Duration::from_secs(60))
        .unwrap();

    // Every laptop finds the game by mDNS, is approved by the roster, starts its node.
    let mut joins: Vec<Qraft> = laptops
        .iter()
        .map(|l| {
            l.join(
                &["--code", CODE],
                &tmp.path().join(format!("{}.log", l.netns)),
            )
        })
        .collect();
    for (join, laptop) in joins.iter_mut().zip(&laptops) {
        join.wait_for("your node is following", JOIN_WAIT)
            .unwrap_or_else(|e| panic!("{}: {e}", laptop.name));
        let joined_game = laptop.genesis();
        let folder = joined_game
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned();
        assert_eq!(folder, real_game, "{} joined the rogue's game", laptop.name);
    }
    // ... and places an order that commits.
    for laptop in &laptops {
        let answer = order_commits(laptop, Duration::from_secs(60));
        assert_eq!(answer["ok"], Value::Bool(true), "{}: {answer}", laptop.name);
        assert!(answer["height"].as_u64().is_some(), "{answer}");
    }

    // A laptop's link goes down for a minute (meanwhile, a wrong code and a teacher's
    // laptop that moves), and comes back with another address.
    let moved = Laptop {
        netns: laptops[0].netns.clone(),
        home: laptops[0].home.clone(),
        name: laptops[0].name.clone(),
        teacher: "10.77.0.51".into(),
    };
    ip(&["-n", &moved.netns, "link", "set", "eth0", "down"]);
    let down = Instant::now();

    // The wrong code: refused, then rate-limited.
    let mallory = Laptop {
        netns: mallory_machine,
        home: tmp.path().join("mallory"),
        name: "Mallory".into(),
        teacher: "10.77.0.1".into(),
    };
    let mut refusals = Vec::new();
    for attempt in 0..6 {
        let mut join = mallory.join(
            &["--code", "43-tulip-maple"],
            &tmp.path().join(format!("mallory{attempt}.log")),
        );
        assert_eq!(
            join.wait_exit(Duration::from_secs(60)),
            Some(false),
            "attempt {attempt}"
        );
        refusals.push(join.stderr_text());
    }
    for (attempt, text) in refusals.iter().enumerate().take(5) {
        assert!(
            text.contains("refused the join code"),
            "attempt {attempt}: {text}"
        );
    }
    assert!(
        refusals[5].contains("too many failed attempts"),
        "{}",
        refusals[5]
    );
    assert!(
        !mallory.home.join("games").exists(),
        "mallory joined nothing"
    );

    // The teacher's laptop gets a new address (.1 becomes .51): the laptops, cut off from
    // the voters, find the game again by mDNS at its new address and follow it.
    lan.remove_address(&teacher, 1).unwrap();
    lan.add_address(&teacher, 51).unwrap();
    // The class shows its new address for students who type it.
    class
        .wait_for(
            "students type qraft join 10.77.0.51:7800",
            Duration::from_secs(30),
        )
        .unwrap();
    let after = Laptop {
        netns: laptops[1].netns.clone(),
        home: laptops[1].home.clone(),
        name: laptops[1].name.clone(),
        teacher: "10.77.0.51".into(),
    };
    let answer = order_commits(&after, Duration::from_secs(60));
    assert_eq!(
        answer["ok"],
        Value::Bool(true),
        "after the teacher moved: {answer}"
    );
    let height = answer["height"].as_u64().unwrap();
    assert!(
        following(&mut joins[1], height, Duration::from_secs(120)),
        "a laptop never followed the teacher's laptop to its new address (block {height})"
    );

    std::thread::sleep(Duration::from_secs(60).saturating_sub(down.elapsed()));
    lan.remove_address(&moved.netns, 11).unwrap();
    lan.add_address(&moved.netns, 41).unwrap();
    ip(&["-n", &moved.netns, "link", "set", "eth0", "up"]);
    // It catches up: its node finds the teacher's laptop at its new address and follows
    // past the block its order went into.
    let answer = order_commits(&moved, Duration::from_secs(60));
    assert_eq!(answer["ok"], Value::Bool(true), "after the move: {answer}");
    let height = answer["height"].as_u64().unwrap();
    assert!(
        following(&mut joins[0], height, Duration::from_secs(120)),
        "the moved laptop's node never reached block {height}"
    );
    drop(joins);
}

/// Times a class on this machine: `QRAFT_CLASS_LAPTOPS` (10) laptops, from the teacher's
/// command to each laptop's first committed order; and each laptop's resident memory.
#[test]
#[ignore = "a measurement: run it with --ignored --nocapture"]
fn classroom_figure() {
    if !Lan::available() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let count: u8 = std::env::var("QRAFT_CLASS_LAPTOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10)
        .clamp(1, 200);
    let tmp = tempfile::tempdir().unwrap();
    let mut lan = Lan::new("qrfg").unwrap();
    let teacher = lan.machine(1).unwrap();
    let laptops: Vec<Laptop> = (0..count)
        .map(|i| Laptop {
            netns: lan.machine(11 + i).unwrap(),
            home: tmp.path().join(format!("home{i}")),
            name: format!("Student {i}"),
            teacher: "10.77.0.1".into(),
        })
        .collect();
    let names: Vec<String> = laptops.iter().map(|l| l.name.clone()).collect();
    let roster = roster(tmp.path(), &names);

    let start = Instant::now();
    let class = start_class(
        &teacher,
        &tmp.path().join("class"),
        &roster,
        "Figure",
        CODE,
        &tmp.path().join("class.log"),
    )
    .unwrap();
    let open = start.elapsed();
    let mut joins: Vec<Qraft> = laptops
        .iter()
        .map(|l| {
            l.join(
                &["--code", CODE],
                &tmp.path().join(format!("{}.log", l.netns)),
            )
        })
        .collect();
    let mut joined_at = Vec::new();
    for join in &mut joins {
        join.wait_for("your node is following", JOIN_WAIT).unwrap();
        joined_at.push(start.elapsed());
    }
    let handles: Vec<_> = laptops
        .iter()
        .map(|laptop| {
            let laptop = Laptop {
                netns: laptop.netns.clone(),
                home: laptop.home.clone(),
                name: laptop.name.clone(),
                teacher: laptop.teacher.clone(),
            };
            std::thread::spawn(move || {
                let answer = order_commits(&laptop, Duration::from_secs(120));
                assert_eq!(answer["ok"], Value::Bool(true), "{answer}");
                start.elapsed()
            })
        })
        .collect();
    let traded: Vec<Duration> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let all = traded.iter().max().copied().unwrap_or_default();
    let mut rss: Vec<u64> = joins.iter().filter_map(Qraft::rss_kib).collect();
    rss.sort_unstable();
    let teacher_rss = class.rss_kib().unwrap_or(0);
    println!("laptops: {count}");
    println!("class open after: {:.1} s", open.as_secs_f64());
    println!(
        "last laptop joined after: {:.1} s",
        joined_at
            .iter()
            .max()
            .copied()
            .unwrap_or_default()
            .as_secs_f64()
    );
    println!(
        "every laptop had an order committed after: {:.1} s",
        all.as_secs_f64()
    );
    if let (Some(min), Some(max)) = (rss.first(), rss.last()) {
        println!(
            "laptop resident memory: min {} MiB, median {} MiB, max {} MiB",
            min / 1024,
            rss[rss.len() / 2] / 1024,
            max / 1024
        );
    }
    println!(
        "teacher's process resident memory: {} MiB",
        teacher_rss / 1024
    );
}
