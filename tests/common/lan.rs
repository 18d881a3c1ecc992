//! A LAN of Linux network namespaces, for tests where addresses matter: one namespace per
//! machine, each with one interface on a bridge (the switch) that lives in a namespace of
//! its own, so nothing of the host's network is touched. Everything is removed on drop.
//! Needs root and `ip` (CI runs as root); [`Lan::available`] says whether this machine can.
#![allow(dead_code, reason = "each test file uses its own subset")]

use std::process::Command;

/// The subnet every machine's address is in: 10.77.0.0/24.
pub const SUBNET_PREFIX: &str = "10.77.0";

pub struct Lan {
    /// Names are unique to this process and test, so parallel tests do not collide.
    tag: String,
    switch: String,
    machines: Vec<String>,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

impl Lan {
    /// Whether namespaces can be made here (root, and `ip` works).
    pub fn available() -> bool {
        // Unique per call, not just per process: tests of one binary probe at once, and a
        // shared name would make one of them find the other's probe and skip.
        static PROBES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = PROBES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let probe = format!("qrprobe{}x{n}", std::process::id());
        let made = ip(&["netns", "add", &probe]).is_ok();
        if made {
            let _ = ip(&["netns", "del", &probe]);
        }
        made
    }

    /// An empty LAN: the switch only. `tag` (a few letters) names its namespaces.
    pub fn new(tag: &str) -> Result<Lan, String> {
        let tag = format!("{tag}{}", std::process::id() % 100_000);
        let switch = format!("{tag}sw");
        ip(&["netns", "add", &switch])?;
        let lan = Lan {
            tag,
            switch,
            machines: Vec::new(),
        };
        ip(&["-n", &lan.switch, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &lan.switch, "link", "set", "br0", "up"])?;
        Ok(lan)
    }

    /// Plugs in machine number `n` (1-254) with address 10.77.0.n; returns its namespace.
    pub fn machine(&mut self, n: u8) -> Result<String, String> {
        let netns = format!("{}m{n}", self.tag);
        ip(&["netns", "add", &netns])?;
        self.machines.push(netns.clone());
        let port = format!("p{n}");
        ip(&[
            "link",
            "add",
            "eth0",
            "netns",
            &netns,
            "type",
            "veth",
            "peer",
            "name",
            &port,
            "netns",
            &self.switch,
        ])?;
        ip(&["-n", &self.switch, "link", "set", &port, "master", "br0"])?;
        ip(&["-n", &self.switch, "link", "set", &port, "up"])?;
        ip(&["-n", &netns, "link", "set", "lo", "up"])?;
        ip(&["-n", &netns, "link", "set", "eth0", "up"])?;
        self.add_address(&netns, n)?;
        Ok(netns)
    }

    /// Gives `netns` the address 10.77.0.n as well.
    pub fn add_address(&self, netns: &str, n: u8) -> Result<(), String> {
        ip(&[
            "-n",
            netns,
            "addr",
            "add",
            &format!("{SUBNET_PREFIX}.{n}/24"),
            "dev",
            "eth0",
        ])
    }

    /// Takes 10.77.0.n away from `netns`.
    pub fn remove_address(&self, netns: &str, n: u8) -> Result<(), String> {
        ip(&[
            "-n",
            netns,
            "addr",
            "del",
            &format!("{SUBNET_PREFIX}.{n}/24"),
            "dev",
            "eth0",
        ])
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        // Deleting a namespace deletes its interfaces, and with them their veth peers.
        for netns in self.machines.iter().chain([&self.switch]) {
            let _ = ip(&["netns", "del", netns]);
        }
    }
}
