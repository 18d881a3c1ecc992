//! A game on disk and its nodes as real `qraft run --headless` processes on loopback.
#![allow(dead_code, reason = "each test file uses its own subset")]

use std::fs;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub use qraft_node::testkit::disk::GameDir;

/// A `qraft run --headless` process, killed (SIGKILL) when dropped.
pub struct NodeProcess {
    pub id: u64,
    child: Option<Child>,
    pub log: PathBuf,
}

impl NodeProcess {
    pub fn start(game: &GameDir, id: u64) -> NodeProcess {
        NodeProcess::start_in(game, id, None)
    }

    /// Starts node `id` inside network namespace `netns` (with `ip netns exec`, which
    /// becomes the node process itself), or in this one when `None`.
    pub fn start_in(game: &GameDir, id: u64, netns: Option<&str>) -> NodeProcess {
        let log = game.dir.join(format!("node{id}.log"));
        let log_file = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .unwrap();
        let mut command = match netns {
            Some(netns) => {
                let mut command = Command::new("ip");
                command.args(["netns", "exec", netns, env!("CARGO_BIN_EXE_qraft")]);
                command
            }
            None => Command::new(env!("CARGO_BIN_EXE_qraft")),
        };
        let child = command
            .args(["run", "--headless", "--config"])
            .arg(game.config(id))
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log_file)
            .spawn()
            .expect("qraft starts");
        NodeProcess {
            id,
            child: Some(child),
            log,
        }
    }

    /// kill -9.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Sends `signal` (`"-STOP"`, `"-CONT"`, ...) to the process, if it runs.
    pub fn signal(&self, signal: &str) {
        if let Some(child) = &self.child {
            let sent = Command::new("kill")
                .args([signal, &child.id().to_string()])
                .status()
                .expect("kill runs");
            assert!(sent.success(), "kill {signal} failed");
        }
    }

    /// SIGTERM, then wait for a clean exit (SIGKILL after `within`); whether it exited 0.
    pub fn terminate(&mut self, within: Duration) -> bool {
        let Some(mut child) = self.child.take() else {
            return false;
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = std::time::Instant::now() + within;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        self.kill();
    }
}
