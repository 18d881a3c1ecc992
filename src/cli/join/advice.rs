//! What `qraft join` says when the network is the problem: what it tried, what failed, and
//! what a teacher can check, in their words.

/// No game answered the mDNS browse.
pub const NO_GAME_FOUND: &str = "no game found on this network within 3 seconds.\n\
  - Is the teacher's `qraft class` running? It shows a join code when it is.\n\
  - Is this laptop on the same network as the teacher's (the same Wi-Fi name)?\n\
  - Many school networks block the multicast that finding games needs. Use the address on \
    the teacher's screen instead:  qraft join 192.168.1.20:7800  (with the teacher's numbers)";

/// The teacher's address did not answer.
pub fn unreachable(address: &str) -> String {
    format!(
        "the teacher's laptop did not answer at {address}.\n\
  - Check the address against the teacher's screen (the `qraft join ...` line).\n\
  - Is this laptop on the same network as the teacher's (the same Wi-Fi name)?\n\
  - Guest and school Wi-Fi often keep laptops from reaching each other (\"client \
    isolation\"): ask IT for a classroom network, or use a hotspot or a wired switch.\n\
  - The teacher's firewall must let in UDP ports 7800-7803 (macOS: System Settings > \
    Network > Firewall; Windows: allow qraft when asked; Linux: `sudo ufw allow \
    7800:7803/udp`)."
    )
}

/// The code was refused.
pub const WRONG_CODE: &str = "the teacher's game refused the join code. Check it on the \
  teacher's screen: a number and two words, like 42-tulip-maple. (After several wrong \
  tries the game makes you wait a minute.)";

/// A game did not prove it knows the code.
pub fn unproven(what: &str) -> String {
    format!(
        "{what} did not prove it knows the join code: either the code is mistyped, or it is \
         not your teacher's game (someone may be running a look-alike). Nothing about you was \
         sent to it. Check the code, and compare the game code on the teacher's screen."
    )
}

/// Joined, but the voters do not answer the node.
pub fn voters_silent(addresses: &str) -> String {
    format!(
        "no blocks from the teacher's laptop yet: this laptop's node is trying {addresses}. \
         If this lasts, the network may keep laptops apart (client isolation), or the \
         teacher's firewall blocks UDP ports 7801-7803."
    )
}
