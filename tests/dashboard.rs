//! The dashboard end to end, as a person uses it: `qraft demo` in a real terminal (tmux),
//! an order placed with keys, seen in my open orders and in the block feed, cancelled,
//! and the demo quit, leaving no process behind; and a classroom laptop's `qraft run`.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::processes::{GameDir, NodeProcess};
use common::tmux::{self, Tmux};
use qraft_node::core::genesis::sample::SampleOptions;

/// The header's block height, once the dashboard shows one.
fn height(screen: &str) -> Option<u64> {
    let first = screen.lines().next()?;
    let rest = &first[first.find("block ")? + "block ".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// The number after `prefix` in `text` (`Order #` in "Order #17 rests: ...").
fn number_after(text: &str, prefix: &str) -> Option<u64> {
    let rest = &text[text.find(prefix)? + prefix.len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// Processes whose command line names `needle`.
fn processes_naming(needle: &Path) -> Vec<String> {
    let out = Command::new("pgrep")
        .args(["-a", "-f"])
        .arg(needle)
        .output()
        .expect("pgrep runs");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn place_see_and_cancel_an_order_in_the_demo_then_quit_cleanly() {
    if tmux::missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let game = dir.path().join("game");
    let command = format!(
        "{} demo --dir {} --bots 2 --seed 7",
        env!("CARGO_BIN_EXE_qraft"),
        game.display()
    );
    let term = Tmux::start(dir.path(), 160, 48, &[("RUST_LOG", "info")], &command);

    // A live market: the dashboard is up and blocks commit.
    let screen = term.wait_for("blocks to commit", Duration::from_secs(60), |s| {
        s.contains("Market ·") && height(s).is_some_and(|h| h >= 2)
    });
    assert!(screen.contains("Open orders"), "{screen}");
    assert!(screen.contains("Cluster · 3 nodes"), "{screen}");

    // Buy 3 ACME at $9.00 from the order ticket: far below the market, so it rests.
    term.keys(&["b"]);
    term.wait_for("the ticket", Duration::from_secs(10), |s| {
        s.contains("Sym [ACME")
    });
    term.type_text("3");
    term.keys(&["Tab"]);
    term.type_text("9.00");
    term.keys(&["Enter"]);
    let screen = term.wait_for("the order's receipt", Duration::from_secs(30), |s| {
        s.contains("rests: buy 3 ACME at $9.00")
    });
    let id = number_after(&screen, "Order #").expect("the receipt names the order");
    let block = number_after(&screen, "(block ").expect("the receipt names the block");

    // In my open orders, and in the block feed as my transaction with its latency.
    let order_row = format!("#{id} buy  ACME");
    let listed = |s: &str| {
        s.lines()
            .any(|l| l.contains(&order_row) && l.contains(" 9.00 "))
    };
    term.wait_for(
        "the order in my open orders",
        Duration::from_secs(10),
        listed,
    );
    let mine = |l: &&str| l.contains(&format!("#{block} ")) && l.contains("1 tx ");
    let screen = term.wait_for("my block in the feed", Duration::from_secs(10), |s| {
        s.lines().any(|l| mine(&l))
    });
    let block_row = screen.lines().find(mine).unwrap();
    assert!(block_row.contains("ms"), "{block_row}");

    // Cancel it from the open orders panel.
    // Esc and Tab in one write, as a fast typist or ssh delivers them: the terminal
    // reads Alt+Tab, which the dashboard takes as Esc, then Tab.
    term.keys(&["Escape", "Tab"]);
    // The focused panel has the thick border.
    term.wait_for(
        "the open orders panel in focus",
        Duration::from_secs(10),
        |s| s.contains("┏ Open orders"),
    );
    term.keys(&["x"]);
    term.wait_for("the cancel's receipt", Duration::from_secs(30), |s| {
        s.contains(&format!("Cancelled order #{id}"))
    });
    term.wait_for(
        "the order gone from my open orders",
        Duration::from_secs(10),
        |s| !listed(s) && s.contains("Open orders · 0"),
    );

    // Quit: everything the demo started stops.
    term.keys(&["q"]);
    let status = term.wait_for_exit(Duration::from_secs(30));
    let screen = term.screen();
    assert_eq!(status, "0", "{screen}");
    assert!(screen.contains("stopped at height"), "{screen}");
    // (tmux's own server names the command it was started with.)
    let left: Vec<String> = processes_naming(&game)
        .into_iter()
        .filter(|p| !p.contains("tmux"))
        .collect();
    assert_eq!(left, Vec::<String>::new());
}

/// A signal (SIGTERM: a shutdown, a closed session) ends the demo's dashboard as `q`
/// does: the terminal is given back, off the alternate screen, and the demo cleans up.
#[test]
fn a_signal_ends_the_dashboard_and_gives_the_terminal_back() {
    if tmux::missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let command = format!(
        "{} demo --bots 1 --free-market",
        env!("CARGO_BIN_EXE_qraft")
    );
    let term = Tmux::start(dir.path(), 120, 36, &[], &command);
    term.wait_for("the dashboard", Duration::from_secs(60), |s| {
        s.contains("Market ·") && height(s).is_some()
    });
    assert!(term.alternate_screen());
    let pid = term.program_pid().expect("the demo's pid");
    let sent = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let status = term.wait_for_exit(Duration::from_secs(30));
    let screen = term.screen();
    assert_eq!(status, "0", "{screen}");
    assert!(
        !term.alternate_screen(),
        "left on the alternate screen:\n{screen}"
    );
    assert!(
        screen.contains("removed the demo's temporary folder"),
        "{screen}"
    );
}

/// A classroom laptop: its learner node and the dashboard in front (`qraft run`), in a
/// game whose voters are real headless processes. An order placed from the command line
/// rests; a voter killed with -9 shows as down in the cluster panel, and as up again
/// once it is restarted; quitting stops the laptop's node cleanly.
#[test]
fn a_laptop_runs_its_node_with_the_dashboard_and_sees_a_voter_go_down_and_come_back() {
    if tmux::missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let game = GameDir::create(dir.path(), &SampleOptions::default(), 1, "tick_ms = 50").unwrap();
    let mut voters: Vec<NodeProcess> = (1..=3).map(|id| NodeProcess::start(&game, id)).collect();
    let symbol = &game.game.genesis.symbols[0];
    // Well below the reference price: it rests.
    let cents =
        symbol.reference_price as i64 * symbol.tick_size / 2 / symbol.tick_size * symbol.tick_size;
    let price = format!("{}.{:02}", cents / 100, cents % 100);

    let command = format!(
        "{} run --config node4.toml --key keys/t0.key",
        env!("CARGO_BIN_EXE_qraft")
    );
    let term = Tmux::start(&game.dir, 80, 24, &[], &command);
    term.wait_for("the dashboard", Duration::from_secs(60), |s| {
        s.contains("t0 trader") && s.contains("leader node")
    });

    term.keys(&[":"]);
    term.type_text(&format!("buy {} 2 @ {price}", symbol.ticker));
    term.keys(&["Enter"]);
    let rests = format!("rests: buy 2 {} at ${price}", symbol.ticker);
    term.wait_for("the order's receipt", Duration::from_secs(30), |s| {
        s.contains(&rests)
    });

    // The Chain page: every node up, then node3 down, then back.
    term.keys(&["4"]);
    let row = |s: &str, id: &str, reach: &str| {
        s.lines()
            .any(|l| l.contains(&format!(" {id} ")) && l.contains(reach))
    };
    term.wait_for("every node up", Duration::from_secs(30), |s| {
        ["node1", "node2", "node3"].iter().all(|n| row(s, n, " up"))
    });
    voters[2].kill();
    term.wait_for("node3 down", Duration::from_secs(30), |s| {
        row(s, "node3", "down")
    });
    voters[2] = NodeProcess::start(&game, 3);
    term.wait_for("node3 back up", Duration::from_secs(60), |s| {
        row(s, "node3", " up")
    });

    term.keys(&["q"]);
    let status = term.wait_for_exit(Duration::from_secs(30));
    assert_eq!(status, "0", "{}", term.screen());
    let log = std::fs::read_to_string(game.dir.join("data/node4.log")).unwrap();
    assert!(log.contains("running with the dashboard"), "{log}");
    for voter in &mut voters {
        assert!(
            voter.terminate(Duration::from_secs(20)),
            "{}",
            voter.log_text()
        );
    }
}
