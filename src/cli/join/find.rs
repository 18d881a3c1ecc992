//! Finding the teacher's game: the address the teacher's screen shows, or the games heard
//! on the network by mDNS. What was tried and what failed is told in words a teacher can
//! act on (see [`super::advice`]).

use std::net::{SocketAddr, ToSocketAddrs};
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use qraft_node::net::discovery::{Browse, FoundGame, Options, browse_with};

use super::advice;
use crate::cli::class::DEFAULT_PORT;

/// How long a join listens for games: an mDNS answer comes within a second on a LAN;
/// three allow for a lost packet and a resend.
pub const BROWSE_TIME: Duration = Duration::from_secs(3);

/// A game to try: what it says it is, and where.
#[derive(Clone, Debug)]
pub struct Candidate {
    /// Its name and chain prefix, when heard by mDNS.
    pub label: Option<(String, String)>,
    pub addresses: Vec<SocketAddr>,
}

impl Candidate {
    pub fn describe(&self) -> String {
        let at = self
            .addresses
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match &self.label {
            Some((name, prefix)) => format!("{name:?} (game {prefix}) at {at}"),
            None => at,
        }
    }
}

/// The address the student typed, `HOST:PORT` or `HOST` (port 7800).
pub fn typed(address: &str) -> Result<Candidate> {
    let trimmed = address.trim();
    let bracketless = trimmed.trim_start_matches('[').trim_end_matches(']');
    let resolved: std::io::Result<Vec<SocketAddr>> =
        if let Ok(socket) = trimmed.parse::<SocketAddr>() {
            Ok(vec![socket])
        } else if let Ok(ip) = bracketless.parse::<std::net::IpAddr>() {
            Ok(vec![SocketAddr::new(ip, DEFAULT_PORT)])
        } else if trimmed.contains(':') {
            trimmed.to_socket_addrs().map(Iterator::collect)
        } else {
            (trimmed, DEFAULT_PORT)
                .to_socket_addrs()
                .map(Iterator::collect)
        };
    let addresses = resolved.map_err(|err| {
        anyhow!(
            "{address:?} is not an address this laptop can use ({err}); type it as the \
             teacher's screen shows it, like 192.168.1.20:7800"
        )
    })?;
    if addresses.is_empty() {
        bail!(
            "{address:?} names no address; type it as the teacher's screen shows it, like 192.168.1.20:7800"
        );
    }
    Ok(Candidate {
        label: None,
        addresses,
    })
}

/// The games heard on the network, those matching `wanted` (part of a name or a chain
/// prefix) when given, as candidates in the order heard.
pub fn heard(wanted: Option<&str>) -> Result<Vec<Candidate>> {
    let browse = browse_with(BROWSE_TIME, &Options::default()).map_err(|err| anyhow!("{err}"))?;
    let Browse { games, .. } = browse;
    if games.is_empty() {
        bail!("{}", advice::NO_GAME_FOUND);
    }
    let matching: Vec<&FoundGame> = games
        .iter()
        .filter(|g| wanted.is_none_or(|w| matches(g, w)))
        .collect();
    if matching.is_empty() {
        let names = games
            .iter()
            .map(|g| format!("{:?} (game {})", g.listing.name, g.listing.chain_prefix))
            .collect::<Vec<_>>()
            .join(", ");
        bail!(
            "no game matching {:?} on this network; heard: {names}",
            wanted.unwrap_or_default()
        );
    }
    Ok(matching
        .into_iter()
        .map(|g| Candidate {
            label: Some((g.listing.name.clone(), g.listing.chain_prefix.clone())),
            addresses: g
                .addresses
                .iter()
                .map(|ip| SocketAddr::new(*ip, g.listing.port))
                .collect(),
        })
        .collect())
}

/// How long a laptop cut off from its teacher listens for the game: enough for an
/// answer on a LAN.
pub const LOST_BROWSE_TIME: Duration = Duration::from_millis(1500);

/// Where the game with chain prefix `prefix` is heard now, if it is (a laptop follows a
/// teacher's laptop that moved); nothing when discovery is unavailable.
pub fn heard_at(prefix: &str) -> Option<std::net::IpAddr> {
    let browse = browse_with(LOST_BROWSE_TIME, &Options::default()).ok()?;
    browse
        .games
        .into_iter()
        .find(|g| g.listing.chain_prefix == prefix)
        .and_then(|g| g.addresses.first().copied())
}

fn matches(game: &FoundGame, wanted: &str) -> bool {
    let wanted = wanted.trim().to_lowercase();
    game.listing.name.to_lowercase().contains(&wanted)
        || game.listing.chain_prefix.starts_with(&wanted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_typed_address_takes_the_default_port_when_it_has_none() {
        assert_eq!(
            typed("10.0.0.1:7900").unwrap().addresses,
            vec!["10.0.0.1:7900".parse().unwrap()]
        );
        assert_eq!(
            typed("10.0.0.1").unwrap().addresses,
            vec!["10.0.0.1:7800".parse().unwrap()]
        );
        assert_eq!(
            typed("[::1]:7900").unwrap().addresses,
            vec!["[::1]:7900".parse().unwrap()]
        );
        assert_eq!(
            typed("::1").unwrap().addresses,
            vec!["[::1]:7800".parse().unwrap()]
        );
        let err = typed("not an address!").unwrap_err();
        assert!(err.to_string().contains("like 192.168.1.20:7800"), "{err}");
    }
}
