//! The teacher's laptop may leave the room: two machines the teacher controls join the
//! class as students do (`qraft join`), and the teacher makes each a voter from the
//! headless class (`promote N`); each promotion retires one of the teacher laptop's
//! voters, until the voters elsewhere are a majority. Then the teacher's laptop is
//! switched off (killed), and the class goes on: a student's order, sent through the
//! student's own node, commits, and the student's node follows the blocks. On a LAN of
//! network namespaces (see `common::lan`); skipped, saying so, where they cannot be
//! made (not root).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::classroom::{CODE, LAPTOP_PORT, Laptop, following, start_class};
use common::lan::Lan;
use serde_json::Value;

/// The longest a machine may take to join on a busy CI machine.
const JOIN_WAIT: Duration = Duration::from_secs(90);
/// The longest a promotion may take: its address registered, caught up, promoted, one
/// voter retired (seconds on a LAN).
const PROMOTE_WAIT: Duration = Duration::from_secs(90);

fn roster(dir: &Path, names: &[&str]) -> std::path::PathBuf {
    let path = dir.join("roster.csv");
    std::fs::write(&path, format!("name\n{}\n", names.join("\n"))).unwrap();
    path
}

/// The seat number in a class line `seat N "Name": ...`.
fn seat_of(line: &str) -> u32 {
    line.split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no seat number in {line:?}"))
}

/// Places an order through `nodes`, retrying while the cluster elects a leader; the
/// answer.
fn order_through(laptop: &Laptop, nodes: &[String], wait: Duration) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        let answer = laptop.qraft_json_at(nodes, &["order", "buy", "ACME", "1", "--limit", "5.00"]);
        if answer["ok"] == Value::Bool(true) || Instant::now() > deadline {
            return answer;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn machines_made_voters_keep_the_game_going_when_the_teachers_laptop_leaves() {
    if !Lan::available() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut lan = Lan::new("qrvo").unwrap();
    let teacher = lan.machine(1).unwrap();
    let names = ["Lab A", "Lab B", "Student"];
    let machines: Vec<Laptop> = (11u8..14)
        .zip(names)
        .map(|(n, name)| Laptop {
            netns: lan.machine(n).unwrap(),
            home: tmp.path().join(format!("home{n}")),
            name: name.into(),
            teacher: "10.77.0.1".into(),
        })
        .collect();
    let mut class = start_class(
        &teacher,
        &tmp.path().join("class"),
        &roster(tmp.path(), &names),
        "Period 5",
        CODE,
        &tmp.path().join("class.log"),
    )
    .unwrap();
    class
        .wait_for("voters: node1 (this laptop), node2 (this laptop), node3 (this laptop); the game stops while this laptop does", Duration::from_secs(30))
        .unwrap();

    // Each machine joins by the teacher's address, one after the other (seats in order).
    let mut joins = Vec::new();
    let mut seats = Vec::new();
    for machine in &machines {
        let mut join = machine.join(
            &["--code", CODE, "10.77.0.1:7800"],
            &tmp.path().join(format!("{}.log", machine.netns)),
        );
        join.wait_for("your node is following", JOIN_WAIT)
            .unwrap_or_else(|e| panic!("{}: {e}", machine.name));
        let joined = class
            .wait_for(&format!("{:?}: joined as node", machine.name), JOIN_WAIT)
            .unwrap();
        seats.push(seat_of(&joined));
        joins.push(join);
    }

    // The two lab machines become voters; a voter on the teacher's laptop steps down for
    // each, and after the second the voters elsewhere are the majority.
    class.send(&format!("promote {}", seats[0]));
    let done = class.wait_for("is a voter now", PROMOTE_WAIT).unwrap();
    assert!(done.contains("\"Lab A\""), "{done}");
    assert!(
        done.contains("10.77.0.11:"),
        "registered where it listens: {done}"
    );
    assert!(done.contains("stepped down to learner"), "{done}");
    // A machine that is a voter already is not promoted twice.
    class.send(&format!("promote {}", seats[0]));
    class.wait_for("is a voter already", PROMOTE_WAIT).unwrap();
    class.send(&format!("promote {}", seats[1]));
    let done = class.wait_for("is a voter now", PROMOTE_WAIT).unwrap();
    assert!(done.contains("\"Lab B\""), "{done}");
    let goes_on = "the game goes on if this laptop stops";
    if !class.seen.iter().any(|line| line.contains(goes_on)) {
        class.wait_for(goes_on, PROMOTE_WAIT).unwrap();
    }

    // The teacher's laptop is switched off.
    drop(class);
    let student = &machines[2];
    let own_node = vec![format!("127.0.0.1:{LAPTOP_PORT}")];
    let answer = order_through(student, &own_node, Duration::from_secs(60));
    assert_eq!(
        answer["ok"],
        Value::Bool(true),
        "an order after the teacher's laptop left: {answer}"
    );
    let height = answer["height"].as_u64().unwrap();
    assert!(
        following(&mut joins[2], height, Duration::from_secs(60)),
        "the student's node never reached block {height}"
    );
    drop(joins);
}
