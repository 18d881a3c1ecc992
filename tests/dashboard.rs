//! The dashboard end to end, as a person uses it: `qraft demo` in a real terminal (tmux),
//! an order placed with keys, seen in my open orders and in the block feed, cancelled,
//! and the demo quit, leaving no process behind.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::tmux::{self, Tmux};

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
    if !tmux::available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is missing; .ci/run installs it"
        );
        eprintln!("tmux is not installed: skipping the dashboard end-to-end test");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let game = dir.path().join("game");
    // The shell records the demo's exit status (tmux may see the pane close before it
    // learns the status).
    let status_file = dir.path().join("status");
    let command = format!(
        "{} demo --dir {} --bots 2 --seed 7; echo $? > {}",
        env!("CARGO_BIN_EXE_qraft"),
        game.display(),
        status_file.display()
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
    // Esc alone (a terminal reads Esc followed at once by a key as Alt+key).
    term.keys(&["Escape"]);
    std::thread::sleep(Duration::from_millis(600));
    term.keys(&["Tab"]);
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
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file)
            && text.ends_with('\n')
        {
            break text.trim().to_string();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the demo did not exit after q:\n{}",
            term.screen()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
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
