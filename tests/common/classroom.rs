//! A classroom on a LAN of network namespaces: the teacher's `qraft class --headless` on
//! one machine, students' `qraft join --headless` on others, each a real process whose
//! stdout lines are read as they come. Used by `tests/classroom.rs` (the behaviour) and
//! its ignored `classroom_figure` (the timing).
#![allow(dead_code, reason = "each test file uses its own subset")]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The enrollment port; the voters use the next three.
pub const CLASS_PORT: u16 = 7800;
/// Each laptop's node port (each laptop has its own namespace).
pub const LAPTOP_PORT: u16 = 7810;
/// The join code the tests' teacher uses.
pub const CODE: &str = "42-tulip-maple";

/// A `qraft` process in a namespace; its stdout lines on a channel; killed when dropped.
pub struct Qraft {
    child: Option<Child>,
    lines: mpsc::Receiver<String>,
    /// Every line seen so far.
    pub seen: Vec<String>,
    pub stderr: PathBuf,
}

impl Qraft {
    /// `qraft ARGS` in namespace `netns`, its stderr into `stderr`.
    pub fn start(netns: &str, args: &[&str], stderr: &Path) -> Qraft {
        let mut command = Command::new("ip");
        command.args(["netns", "exec", netns, env!("CARGO_BIN_EXE_qraft")]);
        Qraft::spawn(command, args, stderr)
    }

    /// `qraft ARGS` in this network namespace.
    pub fn start_here(args: &[&str], stderr: &Path) -> Qraft {
        Qraft::spawn(Command::new(env!("CARGO_BIN_EXE_qraft")), args, stderr)
    }

    fn spawn(mut command: Command, args: &[&str], stderr: &Path) -> Qraft {
        let log = std::fs::File::create(stderr).expect("a log file");
        let mut child = command
            .args(args)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("qraft starts");
        let stdout = child.stdout.take().expect("stdout");
        let (sender, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { return };
                if sender.send(line).is_err() {
                    return;
                }
            }
        });
        Qraft {
            child: Some(child),
            lines,
            seen: Vec::new(),
            stderr: stderr.to_path_buf(),
        }
    }

    /// Waits for a line containing `text`, for at most `wait`; the line.
    pub fn wait_for(&mut self, text: &str, wait: Duration) -> Result<String, String> {
        let deadline = Instant::now() + wait;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return Ok(line);
                    }
                }
                Err(_) => {
                    return Err(format!(
                        "no line with {text:?} within {wait:?}; stdout:\n{}\nstderr:\n{}",
                        self.seen.join("\n"),
                        std::fs::read_to_string(&self.stderr).unwrap_or_default()
                    ));
                }
            }
        }
    }

    /// Writes a command line to its stdin.
    pub fn send(&mut self, line: &str) {
        use std::io::Write;
        if let Some(stdin) = self.child.as_mut().and_then(|c| c.stdin.as_mut()) {
            let _ = writeln!(stdin, "{line}");
        }
    }

    /// Asks it to stop, as Ctrl-C does (SIGINT).
    pub fn interrupt(&self) {
        if let Some(pid) = self.pid() {
            let _ = Command::new("kill")
                .args(["-INT", &pid.to_string()])
                .status();
        }
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Its resident memory now, in KiB (VmRSS).
    pub fn rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()?)).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    }

    /// Waits for it to exit by itself (within `wait`); its exit success.
    pub fn wait_exit(&mut self, wait: Duration) -> Option<bool> {
        let deadline = Instant::now() + wait;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // Drain what it printed.
                while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                    self.seen.push(line);
                }
                return Some(status.success());
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything it printed on stderr so far.
    pub fn stderr_text(&self) -> String {
        std::fs::read_to_string(&self.stderr).unwrap_or_default()
    }
}

impl Drop for Qraft {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A student laptop's files: its qraft home.
pub struct Laptop {
    pub netns: String,
    pub home: PathBuf,
    pub name: String,
    /// The teacher's laptop's address, where its client commands reach the voters.
    pub teacher: String,
}

impl Laptop {
    /// The genesis of the one game it joined.
    pub fn genesis(&self) -> PathBuf {
        let games = self.home.join("games");
        let game = std::fs::read_dir(&games)
            .expect("a joined game")
            .flatten()
            .next()
            .expect("a joined game")
            .path();
        game.join("genesis.toml")
    }

    /// `qraft ARGS --json` as this student, against the teacher's voters; the JSON
    /// answer.
    pub fn qraft_json(&self, args: &[&str]) -> Value {
        let voters: Vec<String> = (1..=3u16)
            .map(|i| format!("{}:{}", self.teacher, CLASS_PORT + i))
            .collect();
        self.qraft_json_at(&voters, args)
    }

    /// `qraft ARGS --json` as this student, against `nodes` (`host:port`); the JSON
    /// answer.
    pub fn qraft_json_at(&self, nodes: &[String], args: &[&str]) -> Value {
        let output = Command::new("ip")
            .args(["netns", "exec", &self.netns, env!("CARGO_BIN_EXE_qraft")])
            .args(args)
            .arg("--genesis")
            .arg(self.genesis())
            .arg("--key")
            .arg(self.home.join("keys/participant.key"))
            .args(nodes.iter().flat_map(|node| ["--node", node.as_str()]))
            .args(["--json", "--timeout", "20"])
            .output()
            .expect("qraft runs");
        serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
            Value::String(format!(
                "unreadable ({e}): {}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        })
    }

    /// Places a small resting buy order; the answer.
    pub fn order(&self) -> Value {
        // ACME's reference price is $12.50; a bid well below it rests.
        self.qraft_json(&["order", "buy", "ACME", "1", "--limit", "5.00"])
    }

    /// `qraft join --headless` on this laptop.
    pub fn join(&self, extra: &[&str], log: &Path) -> Qraft {
        let home = self.home.to_str().expect("UTF-8 path");
        let port = LAPTOP_PORT.to_string();
        let mut args = vec![
            "join",
            "--headless",
            "--home",
            home,
            "--port",
            &port,
            "--name",
            &self.name,
        ];
        args.extend(extra);
        Qraft::start(&self.netns, &args, log)
    }
}

/// Whether a headless join prints a block at `height` or above within `wait`.
pub fn following(join: &mut Qraft, height: u64, wait: Duration) -> bool {
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline {
        let left = deadline.saturating_duration_since(Instant::now());
        let Ok(line) = join.wait_for("block ", left) else {
            return false;
        };
        let seen: u64 = line
            .split_whitespace()
            .nth(1)
            .and_then(|h| h.parse().ok())
            .unwrap_or(0);
        if seen >= height {
            return true;
        }
    }
    false
}

/// Starts the teacher's class in `netns`, in `dir`, with the names in `roster` approved
/// on arrival; waits for it to be open.
pub fn start_class(
    netns: &str,
    dir: &Path,
    roster: &Path,
    name: &str,
    code: &str,
    log: &Path,
) -> Result<Qraft, String> {
    let port = CLASS_PORT.to_string();
    let mut class = Qraft::start(
        netns,
        &[
            "class",
            "--headless",
            "--dir",
            dir.to_str().expect("UTF-8 path"),
            "--roster",
            roster.to_str().expect("UTF-8 path"),
            "--name",
            name,
            "--code",
            code,
            "--port",
            &port,
            "--bots",
            "1",
        ],
        log,
    );
    class.wait_for("join code:", Duration::from_secs(60))?;
    Ok(class)
}
