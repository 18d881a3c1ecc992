//! `qraft class --headless` and `qraft join` on loopback, as a script drives them: the
//! teacher refuses one student and approves another by typing commands, closes joining
//! (the code stops working), and a joined laptop that was switched off resumes its seat
//! with a second `qraft join` and catches up.

mod common;

use std::time::Duration;

use common::classroom::Qraft;

/// Ports of their own, clear of the other tests'.
const CLASS_PORT: u16 = 17_860;
const LAPTOP_PORT: u16 = 17_870;
const CODE: &str = "42-tulip-maple";
const WAIT: Duration = Duration::from_secs(60);

fn join(dir: &std::path::Path, home: &str, name: &str, extra: &[&str], log: &str) -> Qraft {
    let home = dir.join(home);
    let address = format!("127.0.0.1:{CLASS_PORT}");
    let port = LAPTOP_PORT.to_string();
    let mut args = vec![
        "join",
        &address,
        "--headless",
        "--home",
        home.to_str().unwrap(),
        "--port",
        &port,
        "--name",
        name,
    ];
    args.extend(extra);
    Qraft::start_here(&args, &dir.join(log))
}

/// The height in a headless block line (`block 42  17 txs ...`).
fn block_height(line: &str) -> u64 {
    line.split_whitespace()
        .nth(1)
        .and_then(|h| h.parse().ok())
        .unwrap_or(0)
}

#[test]
fn a_teacher_refuses_approves_and_closes_and_a_laptop_resumes_its_seat() {
    let dir = tempfile::tempdir().unwrap();
    let class_dir = dir.path().join("class");
    let port = CLASS_PORT.to_string();
    let mut class = Qraft::start_here(
        &[
            "class",
            "--headless",
            "--dir",
            class_dir.to_str().unwrap(),
            "--name",
            "Period 3",
            "--port",
            &port,
            "--code",
            CODE,
            // A maker and a random trader: trades go on, so blocks keep coming for
            // the laptops to follow (a lone maker quotes once and waits).
            "--bots",
            "2",
            "--no-advertise",
        ],
        &dir.path().join("class.log"),
    );
    class.wait_for("join code: 42-tulip-maple", WAIT).unwrap();

    // Eve waits, and the teacher refuses her.
    let mut eve = join(dir.path(), "eve", "Eve", &["--code", CODE], "eve.log");
    eve.wait_for("waiting for the teacher to approve", WAIT)
        .unwrap();
    class.wait_for("seat 1 \"Eve\": waiting", WAIT).unwrap();
    class.send("refuse 1");
    class.wait_for("seat 1 \"Eve\": refused", WAIT).unwrap();
    assert_eq!(eve.wait_exit(WAIT), Some(false));
    assert!(
        eve.stderr_text().contains("the teacher refused"),
        "{}",
        eve.stderr_text()
    );

    // Ada waits, and the teacher approves her: her laptop follows the chain.
    let mut ada = join(dir.path(), "ada", "Ada", &["--code", CODE], "ada.log");
    class.wait_for("seat 2 \"Ada\": waiting", WAIT).unwrap();
    class.send("approve 2");
    class
        .wait_for("seat 2 \"Ada\": joined as node", WAIT)
        .unwrap();
    ada.wait_for("joined \"Period 3\" as Ada", WAIT).unwrap();
    let before = block_height(&ada.wait_for("block ", WAIT).unwrap());

    // Closing joining expires the code.
    class.send("close");
    class.wait_for("joining closed", WAIT).unwrap();
    let mut late = join(dir.path(), "late", "Late", &["--code", CODE], "late.log");
    assert_eq!(late.wait_exit(WAIT), Some(false));
    assert!(
        late.stderr_text().contains("joining this game is closed"),
        "{}",
        late.stderr_text()
    );

    // Ada's laptop is switched off (kill -9), then she runs `qraft join` again: no code,
    // the same seat, and her node catches up past where it was.
    drop(ada);
    std::thread::sleep(Duration::from_secs(2));
    let mut again = join(dir.path(), "ada", "Ada", &[], "ada-again.log");
    again
        .wait_for("resuming \"Period 3\" as Ada", WAIT)
        .unwrap();
    let mut height = 0;
    while height <= before + 2 {
        height = block_height(&again.wait_for("block ", WAIT).unwrap());
    }

    // The teacher's laptop restarts (kill -9) and the class continues in its folder: Ada
    // has her seat on the roster, joined, though she did not enroll again.
    drop(class);
    let mut class = Qraft::start_here(
        &[
            "class",
            "--headless",
            "--dir",
            class_dir.to_str().unwrap(),
            "--port",
            &port,
            "--code",
            CODE,
            "--no-advertise",
        ],
        &dir.path().join("class-again.log"),
    );
    class.wait_for("continued", WAIT).unwrap();
    let seat = class.wait_for("\"Ada\": joined as node", WAIT).unwrap();
    assert!(seat.starts_with("seat 1 "), "{seat}");
    let height = block_height(&again.wait_for("block ", WAIT).unwrap());
    assert!(height > 0);
}
