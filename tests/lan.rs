//! Nodes on a LAN of network namespaces (see `common::lan`): real `qraft run --headless`
//! processes on 10.77.0.0/24, driven by the CLI from a client machine on the same LAN.
//! Skipped, saying so, where namespaces cannot be made (not root).

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common::lan::{Lan, SUBNET_PREFIX};
use common::processes::{GameDir, NodeProcess};
use qraft_node::testkit::disk::NodeAddress;
use serde_json::Value;

/// The port every node listens on (each machine has its own address).
const PORT: u16 = 7801;
/// The longest the test waits for any one thing.
const WAIT: Duration = Duration::from_secs(30);

/// `qraft ARGS --json` run on machine `netns`; its one JSON object.
fn qraft_on(netns: &str, game: &GameDir, args: &[&str]) -> Value {
    let output = Command::new("ip")
        .args(["netns", "exec", netns, env!("CARGO_BIN_EXE_qraft")])
        .args(args)
        .arg("--genesis")
        .arg(game.dir.join("genesis.toml"))
        .arg("--key")
        .arg(game.dir.join("keys/t0.key"))
        .args(["--json", "--timeout", "10"])
        .output()
        .expect("qraft runs");
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "qraft {args:?}: {e}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

fn node_at(n: u8) -> String {
    format!("{SUBNET_PREFIX}.{n}:{PORT}")
}

/// Places an order through the voters; the height of its block.
fn order(client: &str, game: &GameDir, voters: &[u8]) -> u64 {
    let symbol = &game.game.genesis.symbols[0];
    let limit = format!("{}", symbol.reference_price / 100);
    let mut args = vec![
        "order",
        "buy",
        symbol.ticker.as_str(),
        "1",
        "--limit",
        &limit,
    ];
    let nodes: Vec<String> = voters.iter().map(|&n| node_at(n)).collect();
    for node in &nodes {
        args.extend(["--node", node.as_str()]);
    }
    let answer = qraft_on(client, game, &args);
    assert_eq!(answer["ok"], Value::Bool(true), "{answer}");
    answer["height"].as_u64().expect("a height")
}

/// Waits until the node at `address` (seen from `client`) has applied `height`.
fn wait_for_height(client: &str, game: &GameDir, address: &str, height: u64, log: &Path) {
    let deadline = Instant::now() + WAIT;
    loop {
        let status = qraft_on(client, game, &["status", "--node", address]);
        if status["height"].as_u64().is_some_and(|h| h >= height) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the node at {address} did not reach height {height}: {status}\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn a_learner_whose_address_changes_keeps_following_the_chain() {
    if !Lan::available() {
        eprintln!("skipped: network namespaces need root");
        return;
    }
    let mut lan = Lan::new("qrmv").unwrap();
    // Three voters at .1-.3, the learner at .4, the client at .100.
    let machines: Vec<String> = (1..=4).map(|n| lan.machine(n).unwrap()).collect();
    let client = lan.machine(100).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let game = GameDir::create_with(tmp.path(), &Default::default(), 1, "", &|id| {
        Ok(NodeAddress {
            advertised: node_at(u8::try_from(id).unwrap()),
            listen: format!("0.0.0.0:{PORT}"),
        })
    })
    .unwrap();
    let _nodes: Vec<NodeProcess> = game
        .node_ids()
        .into_iter()
        .map(|id| NodeProcess::start_in(&game, id, Some(&machines[id as usize - 1])))
        .collect();
    let learner_log = game.dir.join("node4.log");

    let height = order(&client, &game, &[1, 2, 3]);
    wait_for_height(&client, &game, &node_at(4), height, &learner_log);

    // The learner's DHCP lease changes: .4 is gone, it is .14 now.
    // (Linux drops an interface's other addresses in a subnet with its first one.)
    lan.remove_address(&machines[3], 4).unwrap();
    lan.add_address(&machines[3], 14).unwrap();
    let moved = Instant::now();
    let mut height = 0;
    for _ in 0..3 {
        height = order(&client, &game, &[1, 2, 3]);
    }
    wait_for_height(&client, &game, &node_at(14), height, &learner_log);
    eprintln!(
        "the learner at its new address had block {height} {:?} after the change",
        moved.elapsed()
    );
}
