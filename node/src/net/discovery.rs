//! Finding a game on the LAN: DNS-SD over multicast DNS (RFC 6762, RFC 6763), with the
//! `mdns-sd` crate.
//!
//! The teacher's laptop runs an [`Advertisement`]: a service of type [`SERVICE_TYPE`] whose
//! instance name is the game's name (sanitised, with the start of its chain id so that two
//! games of the same name stay apart), whose SRV record carries the enrollment port, and
//! whose TXT record carries the game's name as typed, the first [`CHAIN_PREFIX_HEX`] hex
//! digits of its chain id, and the discovery protocol version. A student's laptop runs
//! [`browse`], which listens for the timeout and hands back every game it heard, each once,
//! sorted.
//!
//! What is heard is only a hint: anyone on the LAN can advertise anything, so a listing is
//! trusted for nothing (enrollment authenticates the game with the join code). The browser
//! only has to stay safe: a malformed or foreign record is ignored, a listing's fields are
//! bounded ([`MAX_GAME_NAME_BYTES`], [`MAX_TXT_BYTES`], [`MAX_ADDRESSES`]), and so is the
//! number of games one browse keeps ([`MAX_GAMES`]). A rogue advertiser can add a listing,
//! never crash the browser or make it wait longer than its timeout.
//!
//! When multicast cannot be used (no network, or the socket cannot be opened), [`browse`]
//! says so with a [`DiscoveryError`] a teacher can act on; when multicast is silently
//! dropped (client isolation on school Wi-Fi), it finds nothing, and the caller's way out
//! is the address on the teacher's screen (`qraft join HOST:PORT`).

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use mdns_sd::{DaemonEvent, IfKind, ServiceDaemon, ServiceEvent, ServiceInfo};
use qraft_keys::ChainId;

/// The DNS-SD service type games are advertised under. (The enrollment protocol is QUIC,
/// hence UDP.)
pub const SERVICE_TYPE: &str = "_qraft._udp.local.";

/// The standard mDNS port. Tests use another so that they neither see nor disturb a real
/// classroom.
pub const MDNS_PORT: u16 = 5353;

/// The version of what an advertisement says (its TXT keys and their meaning). A browser
/// lists games of other versions too, so that `qraft join` can say "this game needs
/// another version of qraft" rather than "no game found".
pub const PROTOCOL_VERSION: u16 = 1;

/// How many hex digits of the chain id an advertisement carries: 64 bits, enough that two
/// games on one LAN never share a prefix by chance, short enough to read off a screen.
pub const CHAIN_PREFIX_HEX: usize = 16;

/// The longest game name (in bytes, UTF-8) an advertisement carries or a browser accepts:
/// a DNS label's 63 bytes (RFC 1035), so the instance name can be the game's name, and a
/// line on a student's screen.
pub const MAX_GAME_NAME_BYTES: usize = 63;

/// The largest TXT record (all its strings, with their length bytes) a browser accepts.
/// Ours is under 100 bytes; RFC 6763 section 6.2 asks for under 200 and calls 400 the
/// practical bound for one packet, so anything bigger is not one of ours.
pub const MAX_TXT_BYTES: usize = 400;

/// The most addresses kept for one game: a laptop has one or two networks (Wi-Fi, cable,
/// perhaps a VM bridge); more are noise, or an advertiser trying to make the list huge.
pub const MAX_ADDRESSES: usize = 8;

/// The most games one browse keeps. A classroom has one game, a school corridor a few;
/// the bound is what stops a rogue advertiser (fresh names in a loop) from growing the
/// browser's memory and a student's list without end. Games past it are dropped, and
/// [`Browse::truncated`] says so.
pub const MAX_GAMES: usize = 64;

/// The TXT keys an advertisement carries.
mod txt {
    /// The discovery protocol version, decimal.
    pub const VERSION: &str = "v";
    /// The game's name as the teacher typed it (bounded, UTF-8).
    pub const NAME: &str = "name";
    /// The first [`super::CHAIN_PREFIX_HEX`] lowercase hex digits of the chain id.
    pub const CHAIN: &str = "chain";
}

/// Why discovery could not be used. Every message says what a teacher can do about it.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// This computer has no network address to advertise or listen on.
    #[error(
        "this computer is not on a network (it has no IPv4 address other than loopback): \
         connect it to the classroom's Wi-Fi or cable, then try again"
    )]
    NoNetwork,
    /// The mDNS service could not be started or used here.
    #[error(
        "could not use multicast DNS to find or advertise games on this network ({detail}); \
         multicast may be blocked here (common on school Wi-Fi): use the address on the \
         teacher's screen instead, as in `qraft join HOST:PORT`"
    )]
    Multicast {
        /// What the mDNS library reported.
        detail: String,
    },
    /// An address given for the advertisement is not one of this computer's.
    #[error(
        "{address} is not an address of this computer: advertise the game at one of \
         this computer's addresses ({available})"
    )]
    NotLocal {
        /// The address given.
        address: Ipv4Addr,
        /// This computer's addresses, comma-separated.
        available: String,
    },
}

impl DiscoveryError {
    fn multicast(detail: impl std::fmt::Display) -> Self {
        DiscoveryError::Multicast {
            detail: detail.to_string(),
        }
    }
}

/// What a game says about itself on the LAN.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GameListing {
    /// The game's name as the teacher typed it (cut to [`MAX_GAME_NAME_BYTES`]).
    pub name: String,
    /// The first [`CHAIN_PREFIX_HEX`] hex digits (lowercase) of the game's chain id.
    pub chain_prefix: String,
    /// The port the game takes enrollments on (the SRV record's port).
    pub port: u16,
    /// The advertiser's [`PROTOCOL_VERSION`].
    pub version: u16,
}

/// A game a browse heard.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FoundGame {
    /// Its DNS-SD instance name (unique on the LAN; what mDNS conflict resolution renames).
    pub instance: String,
    /// What it says about itself.
    pub listing: GameListing,
    /// The addresses it is reachable at, sorted, at most [`MAX_ADDRESSES`].
    pub addresses: Vec<IpAddr>,
}

/// The outcome of a browse.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Browse {
    /// The games heard, each once, sorted by name, chain prefix, then instance.
    pub games: Vec<FoundGame>,
    /// Whether more than [`MAX_GAMES`] games were heard, so some were dropped.
    pub truncated: bool,
}

/// The first [`CHAIN_PREFIX_HEX`] hex digits of `chain`.
pub fn chain_prefix(chain: &ChainId) -> String {
    hex::encode(&chain.0[..CHAIN_PREFIX_HEX / 2])
}

/// `s` cut to at most `max` bytes, at a character boundary.
fn truncate_utf8(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A game's name made fit for a listing: control characters dropped, runs of whitespace
/// made one space, trimmed, cut to [`MAX_GAME_NAME_BYTES`]; `"QRaft game"` if nothing is
/// left.
pub fn sanitise_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len().min(MAX_GAME_NAME_BYTES));
    let mut space = false;
    for c in name.chars() {
        if c.is_whitespace() {
            space = !out.is_empty();
        } else if !c.is_control() {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    let cut = truncate_utf8(&out, MAX_GAME_NAME_BYTES)
        .trim_end()
        .to_string();
    if cut.is_empty() {
        "QRaft game".to_string()
    } else {
        cut
    }
}

/// The DNS-SD instance name for a game: its sanitised name and the first 8 hex digits of
/// its chain id, within a DNS label's 63 bytes.
pub fn instance_name(name: &str, chain_prefix: &str) -> String {
    let tag = truncate_utf8(chain_prefix, 8);
    // " [" + tag + "]"
    let room = 63 - (tag.len() + 3);
    let name = sanitise_name(name);
    format!("{} [{tag}]", truncate_utf8(&name, room).trim_end())
}

/// The TXT properties advertising `listing` (its name sanitised).
pub fn encode_txt(listing: &GameListing) -> Vec<(String, String)> {
    vec![
        (txt::VERSION.to_string(), listing.version.to_string()),
        (txt::NAME.to_string(), sanitise_name(&listing.name)),
        (txt::CHAIN.to_string(), listing.chain_prefix.clone()),
    ]
}

/// The listing in a TXT record (key, value pairs as received, a key without `=` having no
/// value) and an SRV port; `None` if it is not a well-formed advertisement of ours. Any
/// version is accepted; unknown keys are ignored (a later version may add some).
pub fn decode_txt(properties: &[(&str, Option<&[u8]>)], port: u16) -> Option<GameListing> {
    // Each string is a length byte and `key=value`.
    let size: usize = properties
        .iter()
        .map(|(k, v)| 1 + k.len() + v.map_or(0, |v| 1 + v.len()))
        .sum();
    if size > MAX_TXT_BYTES || port == 0 {
        return None;
    }
    // RFC 6763 section 6.4: keys are case-insensitive, and a repeated key is ignored after
    // its first occurrence.
    let get = |key: &str| {
        properties
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .and_then(|(_, v)| *v)
    };
    let version = std::str::from_utf8(get(txt::VERSION)?).ok()?;
    if version.is_empty() || version.len() > 5 || !version.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let version: u16 = version.parse().ok()?;
    let name = std::str::from_utf8(get(txt::NAME)?).ok()?;
    if name.is_empty() || name.len() > MAX_GAME_NAME_BYTES || sanitise_name(name) != name {
        return None;
    }
    let chain = std::str::from_utf8(get(txt::CHAIN)?).ok()?;
    if chain.len() != CHAIN_PREFIX_HEX
        || !chain
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return None;
    }
    Some(GameListing {
        name: name.to_string(),
        chain_prefix: chain.to_string(),
        port,
        version,
    })
}

/// The usable addresses among `addresses`: no unspecified, multicast or broadcast
/// address; sorted, each once, at most [`MAX_ADDRESSES`].
fn usable_addresses(addresses: impl IntoIterator<Item = IpAddr>) -> Vec<IpAddr> {
    let mut out: Vec<IpAddr> = addresses
        .into_iter()
        .filter(|a| {
            !a.is_unspecified() && !a.is_multicast() && *a != IpAddr::V4(Ipv4Addr::BROADCAST)
        })
        .collect();
    out.sort();
    out.dedup();
    out.truncate(MAX_ADDRESSES);
    out
}

/// Collects what a browse hears: de-duplicated by instance (a later resolution of the same
/// instance replaces the listing and adds its addresses), bounded by [`MAX_GAMES`].
#[derive(Debug, Default)]
pub struct Collector {
    /// By lowercased instance name (DNS names are case-insensitive).
    games: BTreeMap<String, FoundGame>,
    truncated: bool,
}

impl Collector {
    /// Takes in one resolved instance; ignores it if it is not a well-formed game of ours.
    pub fn add(
        &mut self,
        instance: &str,
        properties: &[(&str, Option<&[u8]>)],
        port: u16,
        addresses: impl IntoIterator<Item = IpAddr>,
    ) {
        let Some(listing) = decode_txt(properties, port) else {
            return;
        };
        if instance.is_empty() || instance.len() > 255 {
            return;
        }
        let addresses = usable_addresses(addresses);
        if addresses.is_empty() {
            return;
        }
        let key = instance.to_lowercase();
        if let Some(game) = self.games.get_mut(&key) {
            game.listing = listing;
            game.addresses = usable_addresses(game.addresses.iter().copied().chain(addresses));
            return;
        }
        if self.games.len() >= MAX_GAMES {
            self.truncated = true;
            return;
        }
        self.games.insert(
            key,
            FoundGame {
                instance: instance.to_string(),
                listing,
                addresses,
            },
        );
    }

    /// The games heard, sorted by name, chain prefix, then instance.
    pub fn finish(self) -> Browse {
        let mut games: Vec<FoundGame> = self.games.into_values().collect();
        games.sort_by(|a, b| {
            (&a.listing.name, &a.listing.chain_prefix, &a.instance).cmp(&(
                &b.listing.name,
                &b.listing.chain_prefix,
                &b.instance,
            ))
        });
        Browse {
            games,
            truncated: self.truncated,
        }
    }
}

/// This computer's non-loopback IPv4 addresses on interfaces that are up, sorted.
pub fn local_ipv4_addresses() -> Vec<Ipv4Addr> {
    let mut out: Vec<Ipv4Addr> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter(|i| i.is_oper_up() && !i.is_loopback() && !i.is_p2p())
        .filter_map(|i| match i.ip() {
            IpAddr::V4(a) => Some(a),
            IpAddr::V6(_) => None,
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A daemon on `mdns_port`, on this computer's IPv4 interfaces other than loopback.
fn daemon(mdns_port: u16) -> Result<ServiceDaemon, DiscoveryError> {
    let daemon = ServiceDaemon::new_with_port(mdns_port).map_err(DiscoveryError::multicast)?;
    let select = daemon
        .disable_interface(IfKind::IPv6)
        .and_then(|()| daemon.disable_interface(IfKind::LoopbackV4));
    if let Err(e) = select {
        shut_down(&daemon);
        return Err(DiscoveryError::multicast(e));
    }
    Ok(daemon)
}

/// Stops `daemon`'s thread, waiting for it briefly.
fn shut_down(daemon: &ServiceDaemon) {
    if let Ok(done) = daemon.shutdown() {
        let _ = done.recv_timeout(Duration::from_secs(1));
    }
}

/// Where and how an [`Advertisement`] or a browse runs.
#[derive(Clone, Debug)]
pub struct Options {
    /// The mDNS port: [`MDNS_PORT`] except in tests.
    pub mdns_port: u16,
    /// The addresses to advertise; `None` for all of this computer's non-loopback IPv4
    /// addresses (see [`local_ipv4_addresses`]). Ignored by a browse.
    pub addresses: Option<Vec<Ipv4Addr>>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            mdns_port: MDNS_PORT,
            addresses: None,
        }
    }
}

/// A game advertised on the LAN, for as long as this value lives: dropping it (or
/// [`Advertisement::stop`]) sends the goodbye that removes the listing from browsers and
/// stops the mDNS daemon.
pub struct Advertisement {
    daemon: ServiceDaemon,
    fullname: String,
    instance: String,
    addresses: Vec<Ipv4Addr>,
    stopped: bool,
}

impl std::fmt::Debug for Advertisement {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Advertisement")
            .field("fullname", &self.fullname)
            .field("addresses", &self.addresses)
            .finish_non_exhaustive()
    }
}

impl Advertisement {
    /// Advertises game `name` with chain id `chain`, taking enrollments on `port`, at this
    /// computer's non-loopback IPv4 addresses on the standard mDNS port.
    pub fn start(name: &str, chain: &ChainId, port: u16) -> Result<Self, DiscoveryError> {
        let listing = GameListing {
            name: sanitise_name(name),
            chain_prefix: chain_prefix(chain),
            port,
            version: PROTOCOL_VERSION,
        };
        Self::start_with(&listing, &Options::default())
    }

    /// Advertises `listing` (its name sanitised) as `options` say.
    pub fn start_with(listing: &GameListing, options: &Options) -> Result<Self, DiscoveryError> {
        let local = local_ipv4_addresses();
        let addresses = match &options.addresses {
            None => local.clone(),
            Some(given) => {
                for &address in given {
                    if !local.contains(&address) {
                        return Err(DiscoveryError::NotLocal {
                            address,
                            available: local
                                .iter()
                                .map(Ipv4Addr::to_string)
                                .collect::<Vec<_>>()
                                .join(", "),
                        });
                    }
                }
                let mut given = given.clone();
                given.sort();
                given.dedup();
                given
            }
        };
        if addresses.is_empty() {
            return Err(DiscoveryError::NoNetwork);
        }
        let instance = instance_name(&listing.name, &listing.chain_prefix);
        let host = format!("qraft-{}.local.", truncate_utf8(&listing.chain_prefix, 16));
        let ips: Vec<IpAddr> = addresses.iter().copied().map(IpAddr::V4).collect();
        let properties = encode_txt(listing);
        let mut info = ServiceInfo::new(
            SERVICE_TYPE,
            &instance,
            &host,
            &ips[..],
            listing.port,
            &properties[..],
        )
        .map_err(DiscoveryError::multicast)?;
        if options.addresses.is_some() {
            info.set_interfaces(ips.iter().map(|&ip| IfKind::Addr(ip)).collect());
        } else {
            // This computer's addresses, followed as they change: a teacher's laptop on a
            // new DHCP lease is advertised at its new address, and laptops cut off from
            // it find it there.
            info = info.enable_addr_auto();
        }
        let fullname = info.get_fullname().to_string();
        let daemon = daemon(options.mdns_port)?;
        if let Err(e) = daemon.register(info) {
            shut_down(&daemon);
            return Err(DiscoveryError::multicast(e));
        }
        Ok(Advertisement {
            daemon,
            fullname,
            instance,
            addresses,
            stopped: false,
        })
    }

    /// The DNS-SD instance name (before any renaming by mDNS conflict resolution).
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// The addresses advertised.
    pub fn addresses(&self) -> &[Ipv4Addr] {
        &self.addresses
    }

    /// Withdraws the advertisement (browsers drop it) and stops the daemon.
    pub fn stop(mut self) {
        self.withdraw();
    }

    fn withdraw(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if let Ok(done) = self.daemon.unregister(&self.fullname) {
            let _ = done.recv_timeout(Duration::from_secs(1));
        }
        shut_down(&self.daemon);
    }
}

impl Drop for Advertisement {
    fn drop(&mut self) {
        self.withdraw();
    }
}

/// The games advertised on the LAN heard within `timeout` (on the standard mDNS port).
/// Listens for the whole timeout: games answer at their own pace. A few seconds is enough
/// on a working LAN.
pub fn browse(timeout: Duration) -> Result<Browse, DiscoveryError> {
    browse_with(timeout, &Options::default())
}

/// [`browse`] as `options` say (`options.addresses` is not used).
pub fn browse_with(timeout: Duration, options: &Options) -> Result<Browse, DiscoveryError> {
    if local_ipv4_addresses().is_empty() {
        return Err(DiscoveryError::NoNetwork);
    }
    let daemon = daemon(options.mdns_port)?;
    let result = listen(&daemon, timeout);
    shut_down(&daemon);
    result
}

fn listen(daemon: &ServiceDaemon, timeout: Duration) -> Result<Browse, DiscoveryError> {
    let deadline = Instant::now() + timeout;
    let monitor = daemon.monitor().map_err(DiscoveryError::multicast)?;
    let events = daemon
        .browse(SERVICE_TYPE)
        .map_err(DiscoveryError::multicast)?;
    let mut collector = Collector::default();
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        match events.recv_timeout(deadline - now) {
            Ok(ServiceEvent::ServiceResolved(service)) => {
                let properties: Vec<(&str, Option<&[u8]>)> = service
                    .get_properties()
                    .iter()
                    .map(|p| (p.key(), p.val()))
                    .collect();
                let instance = service
                    .get_fullname()
                    .strip_suffix(SERVICE_TYPE)
                    .and_then(|s| s.strip_suffix('.'))
                    .unwrap_or("");
                collector.add(
                    instance,
                    &properties,
                    service.get_port(),
                    service.get_addresses().iter().map(|a| a.to_ip_addr()),
                );
            }
            Ok(_) => {}
            Err(mdns_sd::RecvTimeoutError::Timeout) => break,
            Err(mdns_sd::RecvTimeoutError::Disconnected) => {
                return Err(DiscoveryError::multicast("the mDNS daemon stopped"));
            }
        }
    }
    let browse = collector.finish();
    if browse.games.is_empty() {
        // Nothing heard: if the daemon could not open its sockets, that is why.
        let errors: Vec<String> = monitor
            .try_iter()
            .filter_map(|event| match event {
                DaemonEvent::Error(e) => Some(e.to_string()),
                _ => None,
            })
            .collect();
        if !errors.is_empty() {
            return Err(DiscoveryError::multicast(errors.join("; ")));
        }
    }
    Ok(browse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(name: &str) -> GameListing {
        GameListing {
            name: name.to_string(),
            chain_prefix: "0123456789abcdef".to_string(),
            port: 7800,
            version: PROTOCOL_VERSION,
        }
    }

    fn owned(txt: &[(String, String)]) -> Vec<(&str, Option<&[u8]>)> {
        txt.iter()
            .map(|(k, v)| (k.as_str(), Some(v.as_bytes())))
            .collect()
    }

    fn addr(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn txt_round_trips() {
        let game = listing("Period 3: Économie ✓");
        let txt = encode_txt(&game);
        assert_eq!(decode_txt(&owned(&txt), 7800), Some(game));
    }

    #[test]
    fn chain_prefix_is_sixteen_hex_digits() {
        let mut chain = [0u8; 32];
        chain[0] = 0xAB;
        chain[7] = 0x01;
        chain[8] = 0xFF;
        assert_eq!(chain_prefix(&ChainId(chain)), "ab00000000000001");
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitise_name("  Period\t3 \n\u{7} Econ  "), "Period 3 Econ");
        assert_eq!(sanitise_name(""), "QRaft game");
        assert_eq!(sanitise_name("\u{1b}[31m"), "[31m");
        assert_eq!(sanitise_name(" \t\n"), "QRaft game");
        let long = "é".repeat(100);
        let cut = sanitise_name(&long);
        assert!(cut.len() <= MAX_GAME_NAME_BYTES);
        assert_eq!(cut, "é".repeat(31));
        // Dots and backslashes are fine: mdns-sd escapes them in the instance name.
        assert_eq!(sanitise_name("a.b\\c"), "a.b\\c");
    }

    #[test]
    fn instance_names_fit_a_label_and_carry_the_chain() {
        assert_eq!(
            instance_name("Econ 101", "0123456789abcdef"),
            "Econ 101 [01234567]"
        );
        let long = instance_name(&"x".repeat(200), "0123456789abcdef");
        assert_eq!(long.len(), 63);
        assert!(long.ends_with(" [01234567]"));
    }

    #[test]
    fn malformed_records_are_ignored() {
        let good = encode_txt(&listing("Econ"));
        let with = |key: &str, value: Option<&str>| -> Option<GameListing> {
            let mut props: Vec<(&str, Option<&[u8]>)> = owned(&good)
                .into_iter()
                .filter(|(k, _)| *k != key)
                .collect();
            props.push((key, value.map(str::as_bytes)));
            decode_txt(&props, 7800)
        };
        assert!(with("v", Some("1")).is_some());
        assert!(with("v", None).is_none());
        assert!(with("v", Some("")).is_none());
        assert!(with("v", Some("-1")).is_none());
        assert!(with("v", Some("+1")).is_none());
        assert!(with("v", Some("70000")).is_none());
        assert_eq!(with("v", Some("2")).unwrap().version, 2);
        assert!(with("name", None).is_none());
        assert!(with("name", Some("")).is_none());
        assert!(with("name", Some("bell\u{7}")).is_none());
        assert!(with("name", Some(" padded")).is_none());
        assert!(with("name", Some(&"n".repeat(MAX_GAME_NAME_BYTES + 1))).is_none());
        assert!(with("name", Some(&"n".repeat(MAX_GAME_NAME_BYTES))).is_some());
        assert!(with("chain", Some("0123456789ABCDEF")).is_none());
        assert!(with("chain", Some("0123456789abcde")).is_none());
        assert!(with("chain", Some("0123456789abcdef0")).is_none());
        assert!(with("chain", Some("0123456789abcdeg")).is_none());
        assert!(with("chain", None).is_none());
        // Not UTF-8.
        let mut props = owned(&good);
        props[1] = ("name", Some(&[0xff, 0xfe][..]));
        assert!(decode_txt(&props, 7800).is_none());
        // No port.
        assert!(decode_txt(&owned(&good), 0).is_none());
        // A foreign record.
        assert!(decode_txt(&[("path", Some(&b"/"[..]))], 80).is_none());
        assert!(decode_txt(&[], 80).is_none());
    }

    #[test]
    fn unknown_keys_are_ignored_and_the_first_of_a_repeated_key_wins() {
        let good = encode_txt(&listing("Econ"));
        let mut props = owned(&good);
        props.push(("future", Some(&b"x"[..])));
        props.push(("NAME", Some(&b"Other"[..])));
        assert_eq!(decode_txt(&props, 7800).unwrap().name, "Econ");
    }

    #[test]
    fn oversized_txt_records_are_ignored() {
        let good = encode_txt(&listing("Econ"));
        let mut props = owned(&good);
        let size: usize = good.iter().map(|(k, v)| 2 + k.len() + v.len()).sum();
        let filler = "f".repeat(MAX_TXT_BYTES - size - 3);
        props.push(("x", Some(filler.as_bytes())));
        assert!(decode_txt(&props, 7800).is_some(), "exactly the limit");
        let filler = "f".repeat(MAX_TXT_BYTES - size - 2);
        props.pop();
        props.push(("x", Some(filler.as_bytes())));
        assert!(decode_txt(&props, 7800).is_none(), "one byte over");
    }

    #[test]
    fn the_collector_deduplicates_bounds_and_sorts() {
        let mut collector = Collector::default();
        let b = encode_txt(&listing("B game"));
        let a = encode_txt(&listing("A game"));
        collector.add("B game [01234567]", &owned(&b), 7800, [addr("10.0.0.2")]);
        collector.add("A game [01234567]", &owned(&a), 7800, [addr("10.0.0.1")]);
        // The same instance again (any case), from another interface.
        collector.add(
            "b GAME [01234567]",
            &owned(&b),
            7800,
            [addr("10.0.0.2"), addr("192.168.1.2")],
        );
        // Garbage, and a record without a usable address.
        collector.add("junk", &[("v", Some(&b"1"[..]))], 7800, [addr("10.0.0.9")]);
        collector.add(
            "C",
            &owned(&a),
            7800,
            [addr("0.0.0.0"), addr("224.0.0.251")],
        );
        let browse = collector.finish();
        assert!(!browse.truncated);
        let names: Vec<&str> = browse
            .games
            .iter()
            .map(|g| g.listing.name.as_str())
            .collect();
        assert_eq!(names, ["A game", "B game"]);
        assert_eq!(
            browse.games[1].addresses,
            [addr("10.0.0.2"), addr("192.168.1.2")]
        );
    }

    #[test]
    fn a_flood_of_games_is_bounded() {
        let mut collector = Collector::default();
        for i in 0..(MAX_GAMES + 10) {
            let txt = encode_txt(&listing(&format!("game {i:03}")));
            collector.add(
                &format!("game {i:03}"),
                &owned(&txt),
                7800,
                [addr("10.0.0.1")],
            );
        }
        let many: Vec<IpAddr> = (1..=40u8)
            .map(|i| IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)))
            .collect();
        let txt = encode_txt(&listing("game 000"));
        collector.add("game 000", &owned(&txt), 7800, many);
        let browse = collector.finish();
        assert!(browse.truncated);
        assert_eq!(browse.games.len(), MAX_GAMES);
        assert_eq!(browse.games[0].addresses.len(), MAX_ADDRESSES);
    }

    #[test]
    fn advertising_an_address_not_of_this_computer_is_refused() {
        let options = Options {
            mdns_port: 5399,
            addresses: Some(vec![Ipv4Addr::new(192, 0, 2, 77)]),
        };
        let err = Advertisement::start_with(&listing("Econ"), &options).unwrap_err();
        assert!(
            matches!(
                err,
                DiscoveryError::NotLocal { .. } | DiscoveryError::NoNetwork
            ),
            "{err}"
        );
    }
}
