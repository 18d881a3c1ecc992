//! The teacher's Class panel end to end, as a teacher uses it: `qraft class` in a real
//! terminal (tmux), a student's `qraft join` arriving and waiting on the roster, approved
//! with a key, and the student's laptop joined; then the class quit, leaving no process.

mod common;

use std::process::Command;
use std::time::Duration;

use common::classroom::Qraft;
use common::tmux::{self, Tmux};

/// Ports of their own, clear of the other tests' (which use free ports or namespaces).
const CLASS_PORT: u16 = 17_840;
const LAPTOP_PORT: u16 = 17_850;

#[test]
fn a_teacher_approves_a_waiting_student_with_a_key() {
    if tmux::missing() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let class_dir = dir.path().join("class");
    let command = format!(
        "{} class --dir {} --name 'Period 3' --port {CLASS_PORT} --code 42-tulip-maple --bots 0 --no-advertise",
        env!("CARGO_BIN_EXE_qraft"),
        class_dir.display()
    );
    let term = Tmux::start(dir.path(), 120, 36, &[("RUST_LOG", "info")], &command);
    term.wait_for(
        "the code on the Class panel",
        Duration::from_secs(60),
        |s| s.contains("42-tulip-maple"),
    );

    // A student joins by address and waits for the teacher.
    let home = dir.path().join("student");
    let mut join = Qraft::start_here(
        &[
            "join",
            &format!("127.0.0.1:{CLASS_PORT}"),
            "--code",
            "42-tulip-maple",
            "--name",
            "Ada Lovelace",
            "--headless",
            "--home",
            home.to_str().unwrap(),
            "--port",
            &LAPTOP_PORT.to_string(),
        ],
        &dir.path().join("join.log"),
    );
    join.wait_for(
        "waiting for the teacher to approve",
        Duration::from_secs(30),
    )
    .unwrap();
    let screen = term.wait_for("Ada waiting on the roster", Duration::from_secs(30), |s| {
        s.contains("Ada Lovelace") && s.contains("waiting")
    });
    assert!(screen.contains("a approve"), "{screen}");

    // The teacher approves her with a key.
    term.keys(&["a"]);
    term.wait_for("Ada joined", Duration::from_secs(30), |s| {
        s.contains("Ada Lovelace") && s.contains("joined")
    });
    join.wait_for("your node is following", Duration::from_secs(30))
        .unwrap();
    assert!(
        join.seen
            .iter()
            .any(|l| l.contains("joined \"Period 3\" as Ada Lovelace")),
        "{:?}",
        join.seen
    );
    drop(join);

    // Quitting the dashboard stops the class: nothing is left running.
    term.keys(&["q"]);
    term.wait_for_exit(Duration::from_secs(30));
    // (tmux's own server names the command it was started with.)
    let left = Command::new("pgrep")
        .args(["-a", "-f"])
        .arg(&class_dir)
        .output()
        .unwrap();
    let left: Vec<String> = String::from_utf8_lossy(&left.stdout)
        .lines()
        .filter(|p| !p.contains("tmux"))
        .map(str::to_owned)
        .collect();
    assert_eq!(left, Vec::<String>::new());
}
