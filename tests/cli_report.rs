//! `qraft report` end to end: the built binary reports a stopped node's chain, the admin
//! records the report hash, and `--check` accepts the files and refuses a changed byte.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use qraft_node::core::tx::{AdminAction, Tx, TxBody};
use qraft_node::testkit::sim::Sim;

fn qraft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qraft"))
        .args(args)
        .output()
        .expect("qraft runs")
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("a UTF-8 path")
}

fn admin_tx(sim: &mut Sim, nonce: u64, action: AdminAction) {
    let chain = sim.game.genesis.chain_id();
    let tx = Tx {
        signer: sim.game.admin.public(),
        nonce,
        body: TxBody::Admin(action),
    }
    .sign(&sim.game.admin, &chain);
    let leader = sim.leader().expect("a leader");
    sim.submit(leader, tx);
}

#[test]
fn a_stopped_nodes_chain_is_reported_recorded_and_checked() {
    let mut sim = Sim::new(17, 3);
    assert!(sim.run_until(10_000, |s| s.leader().is_some()));
    for _ in 0..30 {
        let leader = sim.leader().expect("a leader");
        sim.submit_random(leader);
        sim.run_for(20);
    }
    admin_tx(&mut sim, 1, AdminAction::EndGame);
    assert!(sim.run_until(10_000, |s| s.pending() == 0 && s.converged()));
    sim.crash(1);
    let out = tempfile::tempdir().unwrap();
    let (first, second) = (out.path().join("first"), out.path().join("second"));
    let dir1 = sim.data_dir(1).expect("node 1").to_path_buf();

    let output = qraft(&["report", "--data", arg(&dir1), "--out", arg(&first)]);
    assert!(output.status.success(), "{}", text(&output));
    let shown = text(&output);
    let hash = shown
        .lines()
        .find_map(|l| l.strip_prefix("report hash: "))
        .unwrap_or_else(|| panic!("no report hash in {shown}"))
        .to_string();
    let output = qraft(&["report", "--data", arg(&dir1), "--out", arg(&second)]);
    assert!(output.status.success(), "{}", text(&output));
    for name in ["report.json", "report.csv", "report.html"] {
        assert_eq!(
            fs::read(first.join(name)).unwrap(),
            fs::read(second.join(name)).unwrap(),
            "{name} is not deterministic"
        );
    }
    let csv = fs::read_to_string(first.join("report.csv")).unwrap();
    assert!(
        csv.starts_with("rank,name,role,start_worth,net_worth,"),
        "{csv}"
    );
    assert!(
        fs::read_to_string(first.join("report.html"))
            .unwrap()
            .contains("<svg")
    );

    // Nothing recorded yet: --check refuses.
    let output = qraft(&[
        "report",
        "--data",
        arg(&dir1),
        "--check",
        arg(&first.join("report.json")),
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("holds no report hash"),
        "{}",
        text(&output)
    );

    // A secret for a game without one is refused.
    let secret = out.path().join("secret.toml");
    fs::write(
        &secret,
        "salt = \"00000000000000000000000000000000\"\ntext = \"x\"\n",
    )
    .unwrap();
    let output = qraft(&["report", "--data", arg(&dir1), "--secret", arg(&secret)]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("no scenario secret"),
        "{}",
        text(&output)
    );

    // The admin records the hash (on the two nodes still up), then they stop.
    assert!(sim.run_until(10_000, |s| s.leader().is_some_and(|l| l != 1)));
    let recorded = qraft_node::core::hash::Hash32::from_hex(&hash).expect("a hash");
    admin_tx(&mut sim, 2, AdminAction::RecordReport { hash: recorded });
    assert!(sim.run_until(10_000, |s| {
        s.replica(2)
            .is_some_and(|r| r.ledger().exchange().report_hash().is_some())
    }));
    for id in [2, 3] {
        sim.crash(id);
    }
    let dir2 = sim.data_dir(2).expect("node 2").to_path_buf();
    for name in ["report.json", "report.csv", "report.html"] {
        let output = qraft(&[
            "report",
            "--data",
            arg(&dir2),
            "--check",
            arg(&first.join(name)),
        ]);
        assert!(output.status.success(), "{name}: {}", text(&output));
        assert!(
            text(&output).contains("is the report the chain holds (recorded in block"),
            "{}",
            text(&output)
        );
    }
    // One byte changed: refused.
    for name in ["report.csv", "report.json"] {
        let path = second.join(name);
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 2;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
        let output = qraft(&["report", "--data", arg(&dir2), "--check", arg(&path)]);
        assert_eq!(output.status.code(), Some(1), "{name}: {}", text(&output));
        assert!(
            text(&output).contains("is NOT the report"),
            "{}",
            text(&output)
        );
    }
}
