//! The chaos run in CI: `qraft chaos` with 3 cycles and a fixed seed (a kill of the
//! leader, a kill of a follower and a pause of a voter each cycle, real node and session
//! processes). Asserts the checker's verdict: nothing acknowledged lost, the heads agree,
//! `qraft verify` green on every node. No timing is asserted: the failover figures are
//! printed for people.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The most the run may take: three cycles of at most a few seconds of faults each,
/// plus start, settling and checks, with a wide margin for a loaded CI machine.
const RUN_LIMIT: Duration = Duration::from_secs(240);

/// The chaos process and everything it started (nodes, sessions) share one process
/// group, killed as a whole if the test ends early.
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id();
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{pgid}")])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn three_chaos_cycles_lose_nothing_and_verify() {
    use std::os::unix::process::CommandExt;
    let tmp = tempfile::tempdir().unwrap();
    let game = tmp.path().join("game");
    let mut child = Command::new(env!("CARGO_BIN_EXE_qraft"))
        .args([
            "chaos",
            "--cycles",
            "3",
            "--seed",
            "11",
            "--clients",
            "3",
            "--json",
        ])
        .arg("--keep")
        .arg(&game)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .expect("qraft chaos starts");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let mut group = Group(child);
    let out = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stdout.read_to_string(&mut text);
        text
    });
    let err = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = group.0.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > RUN_LIMIT {
            break None;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    drop(group);
    let stdout = out.join().unwrap();
    let stderr = err.join().unwrap();
    let status = status.unwrap_or_else(|| panic!("qraft chaos ran over {RUN_LIMIT:?}: {stderr}"));
    let summary: Value = serde_json::from_str(stdout.trim())
        .unwrap_or_else(|e| panic!("no JSON summary ({e}): {stdout}\n{stderr}"));
    eprintln!("{stderr}\n{summary:#}");
    let orders = &summary["orders"];
    assert_eq!(orders["lost"], 0, "acknowledged orders lost: {summary:#}");
    assert_eq!(
        orders["unanswered"], 0,
        "orders without a result: {summary:#}"
    );
    assert!(
        orders["acknowledged"].as_u64().unwrap() > 0,
        "nothing was acknowledged: {summary:#}"
    );
    assert_eq!(summary["heads_agree"], true, "{summary:#}");
    let verify = summary["verify"].as_object().unwrap();
    assert_eq!(verify.len(), 3, "{summary:#}");
    assert!(
        verify.values().all(|ok| ok == true),
        "verify failed: {summary:#}"
    );
    assert_eq!(summary["failover"]["count"], 3, "{summary:#}");
    assert!(status.success(), "qraft chaos failed: {stderr}");
}
