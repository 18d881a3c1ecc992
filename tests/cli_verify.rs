//! `qraft verify` end to end: the built binary audits a simulated node's data directory.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use qraft_node::io::store::{Store, WriteSet};
use qraft_node::testkit::sim::Sim;
use serde_json::Value;

mod common;
use common::*;

fn qraft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qraft"))
        .args(args)
        .output()
        .expect("qraft runs")
}

/// A 3-voter chain of a few dozen blocks, every node stopped; node 1's head.
fn stopped_chain() -> (Sim, u64, String) {
    let mut sim = Sim::new(11, 3);
    assert!(sim.run_until(10_000, |s| s.leader().is_some()));
    for _ in 0..30 {
        let leader = sim.leader().expect("a leader");
        sim.submit_random(leader);
        sim.run_for(20);
    }
    assert!(sim.run_until(10_000, |s| s.pending() == 0 && s.converged()));
    let head = sim.replica(1).expect("up").ledger().head().clone();
    for id in sim.node_ids() {
        sim.crash(id);
    }
    (sim, head.height, head.hash.to_hex())
}

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn json(stdout: &[u8]) -> Value {
    serde_json::from_slice(stdout).expect("stdout is one JSON object")
}

#[test]
fn an_intact_chain_checks_out_and_a_damaged_block_is_named() {
    let (sim, height, head_hash) = stopped_chain();
    assert!(height >= 20, "only {height} blocks");
    let dir = sim.data_dir(1).expect("node 1");

    let out = success(qraft(&["verify", arg(dir)]));
    assert!(
        out.ends_with("OK: every block, signature, receipt and state digest checks out\n"),
        "{out}"
    );
    assert!(out.contains(&format!("blocks:        {height}\n")), "{out}");
    assert!(
        out.contains(&format!("head hash:     {head_hash}\n")),
        "{out}"
    );
    let chain = sim.game.genesis.chain_id().to_string();
    assert!(out.contains(&format!("chain id:      {chain}\n")), "{out}");

    let output = qraft(&["verify", arg(dir), "--json"]);
    assert!(output.status.success());
    let report = json(&output.stdout);
    assert_eq!(report["ok"], true);
    assert_eq!(report["blocks"], height);
    assert_eq!(report["head_hash"], head_hash.as_str());
    assert_eq!(report["chain_id"], chain.as_str());
    let txs = report["transactions"].as_u64().unwrap();
    assert!(txs >= 30, "{report}");
    assert_eq!(
        report["accepted"].as_u64().unwrap() + report["rejected"].as_u64().unwrap(),
        txs
    );

    // A copy whose block 10 has one byte changed: the last byte of its last
    // transaction's signature.
    let temp = tempfile::tempdir().unwrap();
    let copy = temp.path().join("node1");
    copy_dir(dir, &copy);
    {
        let mut store = Store::open(&copy, Default::default()).unwrap();
        let mut bytes = store.block(10).unwrap().expect("block 10");
        *bytes.last_mut().unwrap() ^= 1;
        store
            .commit(WriteSet {
                blocks: vec![(10, bytes)],
                durable: true,
                ..WriteSet::default()
            })
            .unwrap();
    }
    let output = qraft(&["verify", arg(&copy)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(output.stdout.is_empty());
    let err = String::from_utf8(output.stderr).unwrap();
    assert!(
        err.starts_with("error: block 10: receipts root differs (stored "),
        "{err}"
    );

    let output = qraft(&["verify", "--json", arg(&copy)]);
    assert_eq!(output.status.code(), Some(1));
    let failure = json(&output.stdout);
    assert_eq!(failure["ok"], false);
    assert_eq!(failure["height"], 10);
    assert_eq!(failure["blocks_checked"], 9);
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .starts_with("block 10: receipts root differs"),
        "{failure}"
    );
}

#[test]
fn a_running_nodes_directory_and_a_stray_one_are_refused() {
    let (sim, _, _) = stopped_chain();
    let dir = sim.data_dir(2).expect("node 2");
    let open = Store::open(dir, Default::default()).unwrap();
    let err = failure(qraft(&["verify", arg(dir)]));
    assert!(err.contains("is in use by a running node"), "{err}");
    drop(open);
    success(qraft(&["verify", arg(dir)]));

    let empty = tempfile::tempdir().unwrap();
    let output = qraft(&["verify", "--json", arg(empty.path())]);
    assert_eq!(output.status.code(), Some(1));
    let failure = json(&output.stdout);
    assert_eq!(failure["ok"], false);
    assert_eq!(failure["height"], Value::Null);
    assert!(
        failure["error"]
            .as_str()
            .unwrap()
            .ends_with("is not a QRaft data directory (it holds no store)"),
        "{failure}"
    );
    assert_eq!(fs::read_dir(empty.path()).unwrap().count(), 0);
}

#[test]
fn usage_errors_exit_with_2() {
    assert_eq!(qraft(&["verify"]).status.code(), Some(2));
    assert_eq!(qraft(&["verify", "a", "b"]).status.code(), Some(2));
}
