//! `qraft init` and `qraft genesis check` end to end: runs the built binary.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use qraft_keys::keyfile::read_key_file;
use qraft_node::core::genesis::{Genesis, parse_genesis};

mod common;
use common::*;

fn qraft(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qraft"))
        .args(args)
        .output()
        .expect("qraft runs")
}

fn read_genesis(dir: &Path) -> Genesis {
    let path = dir.join("genesis.toml");
    let text = fs::read_to_string(&path).unwrap();
    parse_genesis(&text, arg(&path)).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn init_writes_a_network_that_checks() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("class");
    let out = success(qraft(&["init", arg(&dir)]));
    let genesis_path = dir.join("genesis.toml");
    assert!(
        out.contains(&format!(
            "Next: qraft genesis check {}",
            genesis_path.display()
        )),
        "{out}"
    );

    // The defaults: 3 voters, an admin, 4 traders, 2 bots.
    let genesis = read_genesis(&dir);
    let names: Vec<&str> = genesis
        .participants
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    assert_eq!(
        names,
        ["admin", "alice", "bob", "carol", "dave", "bot1", "bot2"]
    );
    assert_eq!(genesis.voters.len(), 3);
    assert!(genesis.rules.open_at_start);
    assert!(genesis.participants.iter().all(|p| p.cash == 1_000_000));
    let addresses: Vec<&str> = genesis.voters.iter().map(|n| n.address.as_str()).collect();
    assert_eq!(
        addresses,
        ["127.0.0.1:7801", "127.0.0.1:7802", "127.0.0.1:7803"]
    );
    assert!(out.contains(&genesis.chain_id().to_string()), "{out}");

    // One private key file per node and participant, readable by the owner alone, each
    // holding the key genesis names.
    assert_eq!(mode(&dir.join("keys")), 0o700);
    let keys = genesis
        .voters
        .iter()
        .map(|n| (&n.name, n.key))
        .chain(genesis.participants.iter().map(|p| (&p.name, p.key)));
    for (name, public) in keys {
        let path = dir.join("keys").join(format!("{name}.key"));
        assert_eq!(mode(&path), 0o600, "{}", path.display());
        assert_eq!(
            read_key_file(&path, None).unwrap().public(),
            public,
            "{name}"
        );
    }
    assert_eq!(fs::read_dir(dir.join("keys")).unwrap().count(), 10);

    // Node configurations point at files that exist.
    for (i, voter) in genesis.voters.iter().enumerate() {
        let config_path = dir.join(format!("node{}.toml", i + 1));
        let config: toml::Table = fs::read_to_string(&config_path).unwrap().parse().unwrap();
        assert_eq!(config["listen"].as_str(), Some(voter.address.as_str()));
        for file in ["genesis", "key"] {
            let relative = config[file].as_str().unwrap();
            assert!(dir.join(relative).is_file(), "{file} = {relative:?}");
        }
        assert_eq!(
            config["key"].as_str(),
            Some(format!("keys/{}.key", voter.name).as_str())
        );
        assert!(config["data_dir"].is_str());
    }

    // `genesis check` agrees, in text and in JSON.
    let summary = success(qraft(&["genesis", "check", arg(&genesis_path)]));
    assert!(summary.contains("Classroom market"), "{summary}");
    assert!(
        summary.contains(&genesis.chain_id().to_string()),
        "{summary}"
    );
    assert!(summary.contains("alice, bob, carol, dave"), "{summary}");
    let json: serde_json::Value = serde_json::from_str(&success(qraft(&[
        "genesis",
        "check",
        "--json",
        arg(&genesis_path),
    ])))
    .unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["chain_id"], genesis.chain_id().to_string());
    assert_eq!(json["voters"].as_array().unwrap().len(), 3);
    assert_eq!(
        json["participants_by_role"]["admin"],
        serde_json::json!(["admin"])
    );
    assert_eq!(
        json["participants_by_role"]["bot"],
        serde_json::json!(["bot1", "bot2"])
    );
    assert_eq!(json["symbols"][0]["ticker"], "ACME");
}

#[test]
fn init_options_shape_the_network() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    success(qraft(&[
        "init",
        arg(dir),
        "--voters",
        "5",
        "--participants",
        "22",
        "--bots",
        "0",
        "--base-port",
        "9000",
        "--game",
        "Period 3",
    ]));
    let genesis = read_genesis(dir);
    assert_eq!(genesis.game, "Period 3");
    let ports: Vec<&str> = genesis.voters.iter().map(|n| n.address.as_str()).collect();
    assert_eq!(
        ports,
        [
            "127.0.0.1:9000",
            "127.0.0.1:9001",
            "127.0.0.1:9002",
            "127.0.0.1:9003",
            "127.0.0.1:9004"
        ]
    );
    assert_eq!(genesis.participants.len(), 23);
    assert_eq!(genesis.participants[22].name, "trader22");
    assert!(dir.join("node5.toml").is_file());
    assert!(dir.join("keys/trader22.key").is_file());
}

#[test]
fn init_writes_learner_nodes_after_the_voters() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    success(qraft(&[
        "init",
        arg(dir),
        "--learners",
        "2",
        "--base-port",
        "9100",
    ]));
    let genesis = read_genesis(dir);
    assert_eq!(genesis.voters.len(), 3);
    let learners: Vec<(u64, &str)> = genesis
        .learners
        .iter()
        .map(|n| (n.id, n.address.as_str()))
        .collect();
    assert_eq!(learners, [(4, "127.0.0.1:9103"), (5, "127.0.0.1:9104")]);
    let config = fs::read_to_string(dir.join("node5.toml")).unwrap();
    assert!(config.contains("(learner, Raft id 5)"), "{config}");
    assert!(config.contains("listen = \"127.0.0.1:9104\""), "{config}");
    assert!(dir.join("keys/node4.key").is_file());
    success(qraft(&["genesis", "check", arg(&dir.join("genesis.toml"))]));
}

#[test]
fn init_with_hosts_writes_a_lan_network() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    let out = success(qraft(&[
        "init",
        arg(dir),
        "--learners",
        "2",
        "--hosts",
        "192.168.1.10,192.168.1.10,teacher-2.local,fd00::7,192.168.1.31",
    ]));
    assert!(!out.contains("Every node is on this machine"), "{out}");
    let genesis = read_genesis(dir);
    let addresses: Vec<&str> = genesis.nodes().map(|n| n.address.as_str()).collect();
    assert_eq!(
        addresses,
        [
            "192.168.1.10:7801",
            "192.168.1.10:7802",
            "teacher-2.local:7803",
            "[fd00::7]:7804",
            "192.168.1.31:7805"
        ]
    );
    let listen = |node: &str| {
        let config = fs::read_to_string(dir.join(format!("{node}.toml"))).unwrap();
        let line = config.lines().find(|l| l.starts_with("listen = ")).unwrap();
        line.to_string()
    };
    assert_eq!(listen("node1"), "listen = \"0.0.0.0:7801\"");
    assert_eq!(listen("node3"), "listen = \"0.0.0.0:7803\"");
    assert_eq!(listen("node4"), "listen = \"[::]:7804\"");
    assert_eq!(listen("node5"), "listen = \"0.0.0.0:7805\"");
    success(qraft(&["genesis", "check", arg(&dir.join("genesis.toml"))]));
}

#[test]
fn init_refuses_bad_hosts() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("net");
    let err = failure(qraft(&["init", arg(&dir), "--hosts", "10.0.0.1,10.0.0.2"]));
    assert!(
        err.contains("--hosts names 2 hosts but the network has 3 nodes (3 voters and 0 learners)"),
        "{err}"
    );
    let err = failure(qraft(&[
        "init",
        arg(&dir),
        "--hosts",
        "10.0.0.1,10.0.0.2:7802,10.0.0.3",
    ]));
    assert!(
        err.contains("--hosts, node2") && err.contains("without a port"),
        "{err}"
    );
    let err = failure(qraft(&["init", arg(&dir), "--hosts", "a,b_c,d"]));
    assert!(err.contains("\"b_c\" is neither"), "{err}");
    assert!(!dir.exists(), "a refused init wrote nothing");
}

#[test]
fn init_refuses_bad_options() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path().join("net");
    failure(qraft(&["init", arg(&dir), "--voters", "8"]));
    failure(qraft(&["init", arg(&dir), "--voters", "0"]));
    let err = failure(qraft(&[
        "init",
        arg(&dir),
        "--base-port",
        "65535",
        "--voters",
        "2",
    ]));
    assert!(err.contains("--base-port"), "{err}");
    let err = failure(qraft(&["init", arg(&dir), "--game", " "]));
    assert!(err.contains("game: the game's name is empty"), "{err}");
    assert!(!dir.exists(), "a refused init wrote nothing");
}

#[test]
fn init_refuses_a_non_empty_directory_without_force() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    let err = failure(qraft(&["init", arg(dir)]));
    assert!(
        err.contains("not empty") && err.contains("--force"),
        "{err}"
    );
    assert!(!dir.join("genesis.toml").exists());

    success(qraft(&["init", arg(dir), "--force"]));
    let first = read_genesis(dir);
    // Running again with --force makes a new game with new keys.
    success(qraft(&["init", arg(dir), "--force"]));
    let second = read_genesis(dir);
    assert_ne!(first.chain_id(), second.chain_id());
    let alice = read_key_file(dir.join("keys/alice.key"), None).unwrap();
    assert_eq!(alice.public(), second.participants[1].key);
    assert_eq!(fs::read_to_string(dir.join("notes.txt")).unwrap(), "mine");
}

#[test]
fn check_reports_every_problem_with_file_line_and_field() {
    let temp = tempfile::tempdir().unwrap();
    let dir = temp.path();
    success(qraft(&["init", arg(dir)]));
    let path = dir.join("genesis.toml");
    let text = fs::read_to_string(&path).unwrap();
    let line_of = |needle: &str| text[..text.find(needle).unwrap()].matches('\n').count() + 1;
    let band_line = line_of("price_band = \"10%\"");
    let name_line = line_of("name = \"bob\"");
    let broken = text
        .replacen("price_band = \"10%\"", "price_band = \"10\"", 1)
        .replacen("name = \"bob\"", "name = \"Alice\"", 1);
    fs::write(&path, broken).unwrap();

    let output = qraft(&["genesis", "check", arg(&path)]);
    assert_eq!(output.status.code(), Some(1));
    let err = String::from_utf8(output.stderr).unwrap();
    let file = path.display();
    assert!(
        err.contains(&format!("{file}:{band_line}:14: rules.price_band: ")),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{file}:{name_line}:8: participants[2].name: \"Alice\" is taken (by participants[1]"
        )),
        "{err}"
    );
    assert!(err.contains("(2 problems)"), "{err}");

    let output = qraft(&["genesis", "check", "--json", arg(&path)]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["valid"], false);
    assert_eq!(json["errors"][0]["line"], band_line);
    assert_eq!(json["errors"][0]["field"], "rules.price_band");
    assert_eq!(json["errors"][1]["line"], name_line);
    assert_eq!(json["errors"][1]["field"], "participants[2].name");

    let err = failure(qraft(&["genesis", "check", arg(&dir.join("missing.toml"))]));
    assert!(
        err.contains("cannot read") && err.contains("missing.toml"),
        "{err}"
    );
}
