//! Discovery on a LAN of network namespaces (the root crate's `tests/common/lan.rs`): a
//! teacher's machine advertises a game over mDNS, a student's machine browses and finds
//! it, with its name, chain-id prefix, address and port, and nothing of what a rogue
//! machine advertises alongside (malformed, foreign and oversized records). Each side is this test binary
//! again, run in its namespace by `ip netns exec` (the `helper` test, which does nothing
//! unless `QRAFT_DISCOVERY_ROLE` is set). A non-standard mDNS port keeps it apart from
//! any real mDNS responder. Skipped, saying so, where namespaces cannot be made (not root,
//! or no `ip`).

#[path = "../../tests/common/lan.rs"]
mod lan;

use std::io::Read;
use std::net::{IpAddr, Ipv4Addr};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lan::Lan;
use qraft_keys::ChainId;
use qraft_node::net::discovery::{
    Advertisement, GameListing, Options, PROTOCOL_VERSION, browse_with, chain_prefix, instance_name,
};

/// The mDNS port both sides use: not 5353.
const MDNS_PORT: u16 = 5399;
/// The port the game says it takes enrollments on.
const ENROLL_PORT: u16 = 7811;
/// The game's name.
const GAME: &str = "Period 3 Économie";
/// How long the browser listens.
const BROWSE: Duration = Duration::from_secs(4);
/// The longest the test waits for the browser process.
const WAIT: Duration = Duration::from_secs(30);

fn chain() -> ChainId {
    ChainId(*b"0123456789abcdef0123456789abcdef")
}

/// Kills and reaps a helper process however the test ends.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// This test binary, in `netns`, as `role`.
fn run_as(netns: &str, role: &str) -> Reaped {
    let child = Command::new("ip")
        .args(["netns", "exec", netns])
        .arg(std::env::current_exe().expect("the test binary"))
        .args(["helper", "--exact", "--nocapture", "--test-threads=1"])
        .env("QRAFT_DISCOVERY_ROLE", role)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("ip netns exec runs");
    Reaped(child)
}

/// Waits (at most 10 s) until `netns`'s `eth0` is up: its veth peer on the switch can
/// take a moment.
fn wait_until_up(netns: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let output = Command::new("ip")
            .args(["-n", netns, "link", "show", "eth0"])
            .output()
            .expect("ip runs");
        if String::from_utf8_lossy(&output.stdout).contains("state UP") {
            return;
        }
        assert!(Instant::now() < deadline, "eth0 in {netns} did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The helper side: advertises for 20 s, or advertises malformed and foreign records for
/// 20 s, or browses once and prints what it found, one `FOUND` line per game.
#[test]
fn helper() {
    let Ok(role) = std::env::var("QRAFT_DISCOVERY_ROLE") else {
        return;
    };
    let options = Options {
        mdns_port: MDNS_PORT,
        addresses: None,
    };
    match role.as_str() {
        "advertise" => {
            let listing = GameListing {
                name: GAME.to_string(),
                chain_prefix: chain_prefix(&chain()),
                port: ENROLL_PORT,
                version: PROTOCOL_VERSION,
            };
            let ad = Advertisement::start_with(&listing, &options).expect("advertises");
            println!("ADVERTISING {} at {:?}", ad.instance(), ad.addresses());
            std::thread::sleep(Duration::from_secs(20));
            ad.stop();
        }
        "browse" => {
            let found = browse_with(BROWSE, &options).expect("browses");
            for game in found.games {
                let addresses: Vec<String> = game.addresses.iter().map(IpAddr::to_string).collect();
                println!(
                    "FOUND {}|{}|{}|{}|{}|{}",
                    game.instance,
                    game.listing.name,
                    game.listing.chain_prefix,
                    game.listing.port,
                    game.listing.version,
                    addresses.join(",")
                );
            }
        }
        "browse-offline" => match browse_with(BROWSE, &options) {
            Ok(found) => panic!("browsed without a network: {found:?}"),
            Err(e) => println!("ERROR {e}"),
        },
        "rogue" => {
            // Records a game of ours never sends: a bad chain prefix, a control character
            // in the name, a foreign service's keys, a TXT record over the size bound.
            let daemon = mdns_sd::ServiceDaemon::new_with_port(MDNS_PORT).expect("a daemon");
            daemon
                .disable_interface(mdns_sd::IfKind::IPv6)
                .expect("IPv4 only");
            let big = "x".repeat(240);
            let records: [(&str, Vec<(&str, &str)>); 5] = [
                // One well-formed game, to show that the rogue's records do arrive: a
                // rogue can add a listing (enrollment's join code is what stops it).
                (
                    "Rogue game",
                    vec![
                        ("v", "1"),
                        ("name", "Rogue game"),
                        ("chain", "fedcba9876543210"),
                    ],
                ),
                (
                    "bad chain",
                    vec![("v", "1"), ("name", GAME), ("chain", "ZZZ")],
                ),
                (
                    "bad name",
                    vec![
                        ("v", "1"),
                        ("name", "bell\u{7}"),
                        ("chain", "0123456789abcdef"),
                    ],
                ),
                ("foreign", vec![("path", "/"), ("model", "printer")]),
                (
                    "huge",
                    vec![
                        ("v", "1"),
                        ("name", GAME),
                        ("chain", "0123456789abcdef"),
                        ("a", &big),
                        ("b", &big),
                    ],
                ),
            ];
            for (instance, properties) in records {
                let info = mdns_sd::ServiceInfo::new(
                    qraft_node::net::discovery::SERVICE_TYPE,
                    instance,
                    "rogue.local.",
                    "10.77.0.3",
                    ENROLL_PORT,
                    &properties[..],
                )
                .expect("a record");
                daemon.register(info).expect("registers");
            }
            println!("ROGUE");
            std::thread::sleep(Duration::from_secs(20));
        }
        other => panic!("unknown role {other}"),
    }
}

#[test]
fn a_game_advertised_on_one_machine_is_found_from_another() {
    if !Lan::available() {
        eprintln!("skipped: network namespaces need root and `ip` (CI runs as root)");
        return;
    }
    let mut lan = Lan::new("qd").expect("a LAN");
    let teacher = lan.machine(1).expect("the teacher's machine");
    let student = lan.machine(2).expect("a student's machine");
    let rogue = lan.machine(3).expect("a rogue classmate's machine");

    // The mDNS daemon uses the interfaces that are up when it starts.
    for netns in [&teacher, &student, &rogue] {
        wait_until_up(netns);
    }
    let _advertiser = run_as(&teacher, "advertise");
    let _rogue = run_as(&rogue, "rogue");
    // The advertisement goes out at once; a browser also asks, so no wait is needed for
    // correctness, only to keep the two starts apart.
    std::thread::sleep(Duration::from_millis(300));
    let mut browser = run_as(&student, "browse");
    let deadline = Instant::now() + WAIT;
    let status = loop {
        if let Some(status) = browser.0.try_wait().expect("the browser runs") {
            break status;
        }
        assert!(Instant::now() < deadline, "the browser did not finish");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stdout = String::new();
    let mut stderr = String::new();
    let _ = browser.0.stdout.take().unwrap().read_to_string(&mut stdout);
    let _ = browser.0.stderr.take().unwrap().read_to_string(&mut stderr);
    assert!(status.success(), "the browser failed:\n{stdout}\n{stderr}");

    let found: Vec<&str> = stdout
        .lines()
        // libtest may print "test helper ... " on the line before the helper's output.
        .filter_map(|l| l.split_once("FOUND ").map(|(_, game)| game))
        .collect();
    let teacher_address = IpAddr::V4(Ipv4Addr::new(10, 77, 0, 1)).to_string();
    let prefix = chain_prefix(&chain());
    let expected = format!(
        "{}|{GAME}|{prefix}|{ENROLL_PORT}|{PROTOCOL_VERSION}|{teacher_address}",
        instance_name(GAME, &prefix)
    );
    let rogue = format!(
        "Rogue game|Rogue game|fedcba9876543210|{ENROLL_PORT}|1|{}",
        IpAddr::V4(Ipv4Addr::new(10, 77, 0, 3))
    );
    assert_eq!(
        found,
        [expected.as_str(), rogue.as_str()],
        "{stdout}\n{stderr}"
    );
}

/// A namespace of its own (loopback only), removed on drop.
struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).output();
    }
}

#[test]
fn a_machine_without_a_network_is_told_so() {
    // A namespace with only loopback, made here directly: making it is also the probe.
    let name = format!("qdoff{}", std::process::id() % 100_000);
    let made = Command::new("ip").args(["netns", "add", &name]).output();
    if !made.is_ok_and(|o| o.status.success()) {
        eprintln!("skipped: network namespaces need root and `ip` (CI runs as root)");
        return;
    }
    let netns = Netns(name);
    let output = Command::new("ip")
        .args(["netns", "exec", &netns.0])
        .arg(std::env::current_exe().expect("the test binary"))
        .args(["helper", "--exact", "--nocapture", "--test-threads=1"])
        .env("QRAFT_DISCOVERY_ROLE", "browse-offline")
        .output()
        .expect("ip netns exec runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains("ERROR this computer is not on a network"),
        "{stdout}"
    );
}
