//! A program in a terminal, as a person sees it: a tmux session on a server of its own
//! (a private socket), keys sent with `send-keys`, the screen read with `capture-pane`.
//! The server is killed when the [`Tmux`] is dropped, so nothing is left running.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
}

/// Whether tmux can be run here. CI installs it (`.ci/run`); elsewhere a test without it
/// says so and passes only outside CI.
pub fn available() -> bool {
    Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success())
}

impl Tmux {
    /// Starts `command` (run by the shell) in a new `width` x `height` session, in `dir`,
    /// with `env` set. The pane stays after the program exits, so its exit status can be
    /// read.
    pub fn start(dir: &Path, width: u16, height: u16, env: &[(&str, &str)], command: &str) -> Tmux {
        let socket = format!("qraft-test-{}-{}", std::process::id(), unique());
        let tmux = Tmux { socket };
        let mut args: Vec<String> = vec![
            "new-session".into(),
            "-d".into(),
            "-s".into(),
            "test".into(),
            "-x".into(),
            width.to_string(),
            "-y".into(),
            height.to_string(),
            "-c".into(),
            dir.to_str().expect("UTF-8 path").into(),
        ];
        for (name, value) in env {
            args.push("-e".into());
            args.push(format!("{name}={value}"));
        }
        args.push(command.into());
        let out = tmux.run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert!(
            out.status.success(),
            "tmux new-session: {}",
            text(&out.stderr)
        );
        tmux.run(&["set-option", "-t", "test", "remain-on-exit", "on"]);
        tmux
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new("tmux")
            .args(["-L", &self.socket, "-f", "/dev/null"])
            .args(args)
            .output()
            .expect("tmux runs")
    }

    /// Types `keys` (tmux key names: `Enter`, `Tab`, `Escape`, `C-c`, or literal text with
    /// `literal`).
    pub fn keys(&self, keys: &[&str]) {
        let mut args = vec!["send-keys", "-t", "test"];
        args.extend_from_slice(keys);
        self.run(&args);
    }

    /// Types `text` as it is.
    pub fn type_text(&self, text: &str) {
        self.run(&["send-keys", "-t", "test", "-l", text]);
    }

    /// The screen as text, a line per row.
    pub fn screen(&self) -> String {
        text(&self.run(&["capture-pane", "-p", "-t", "test"]).stdout)
    }

    /// Waits until the screen satisfies `seen`, and returns it; panics with the last
    /// screen after `within`.
    pub fn wait_for(&self, what: &str, within: Duration, seen: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        loop {
            let screen = self.screen();
            if seen(&screen) {
                return screen;
            }
            if Instant::now() > deadline {
                panic!("waited {within:?} for {what}; the screen:\n{screen}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
