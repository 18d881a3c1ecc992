//! A program in a terminal, as a person sees it: a tmux session on a server of its own
//! (a private socket), keys sent with `send-keys`, the screen read with `capture-pane`.
//! The server is killed when the [`Tmux`] is dropped, so nothing is left running.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub struct Tmux {
    socket: String,
    /// Where the shell writes the program's exit status (tmux may see the pane close
    /// before it learns the status).
    status_file: PathBuf,
}

/// Whether tmux is missing here, so the calling test should return at once. CI installs
/// it (`.ci/run`), so there a missing tmux fails the test; elsewhere it is said.
pub fn missing() -> bool {
    let found = Command::new("tmux")
        .arg("-V")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is missing; .ci/run installs it"
        );
        eprintln!("tmux is not installed: skipping this end-to-end test");
    }
    !found
}

impl Tmux {
    /// Starts `command` (run by the shell) in a new `width` x `height` session, in `dir`,
    /// with `env` set; [`Tmux::wait_for_exit`] reads its exit status.
    pub fn start(dir: &Path, width: u16, height: u16, env: &[(&str, &str)], command: &str) -> Tmux {
        let socket = format!("qraft-test-{}-{}", std::process::id(), unique());
        let status_file = std::env::temp_dir().join(format!("{socket}.status"));
        let command = format!("{command}; echo $? > {}", status_file.display());
        let tmux = Tmux {
            socket,
            status_file,
        };
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
        args.push(command);
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

    /// Whether the program left the terminal on its alternate screen (a full-screen
    /// program that did not put the terminal back).
    pub fn alternate_screen(&self) -> bool {
        let out = self.run(&["display-message", "-p", "-t", "test", "#{alternate_on}"]);
        text(&out.stdout).trim() == "1"
    }

    /// The pid of the program the session runs (the shell's child).
    pub fn program_pid(&self) -> Option<u32> {
        let out = self.run(&["display-message", "-p", "-t", "test", "#{pane_pid}"]);
        let shell = text(&out.stdout).trim().to_string();
        let children = Command::new("pgrep").args(["-P", &shell]).output().ok()?;
        text(&children.stdout).lines().next()?.trim().parse().ok()
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

impl Tmux {
    /// The program's exit status, once it has exited; panics with the screen after
    /// `within`.
    pub fn wait_for_exit(&self, within: Duration) -> String {
        let deadline = Instant::now() + within;
        loop {
            if let Ok(text) = std::fs::read_to_string(&self.status_file)
                && text.ends_with('\n')
            {
                return text.trim().to_string();
            }
            if Instant::now() > deadline {
                panic!(
                    "the program did not exit within {within:?}:\n{}",
                    self.screen()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        self.run(&["kill-server"]);
        let _ = std::fs::remove_file(&self.status_file);
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
