//! Failover: what every long-lived client (session, bot, `blocks --follow`) does when its
//! node is lost.
//!
//! A client whose node is lost ([`Client::lost`], asked with [`WATCH_EVERY`] and
//! [`WATCH_QUIET`]) connects to another node of the game ([`reconnect_order`]), sends
//! again the identical signed transactions it had in flight, in nonce order (a
//! transaction is applied at most once: its nonce makes a second copy stale), and settles
//! each ([`look_up`], [`settlement`]): its receipt, or a definite "not applied".

use std::time::Duration;

use qraft_keys::PublicKey;
use qraft_node::core::tx::TxHash;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::proto::CommittedView;

/// How often a long-lived client looks whether its node was heard from
/// ([`Client::lost`]): every half second, so a quiet node is asked for its status three
/// times before [`WATCH_QUIET`] runs out.
pub const WATCH_EVERY: Duration = Duration::from_millis(500);
/// How long a node may stay silent, while asked for its status, before its connection
/// counts as lost: [`Client::lost`] asks a quiet node for its status every
/// [`WATCH_EVERY`], which a live node answers in milliseconds even on Wi-Fi, so two
/// silent seconds are several unanswered requests: a dead or unreachable node, not a
/// slow block (a node that restarted resets the connection at once instead). It is most
/// of a failover for the clients of a dead leader, so it is kept short; a false alarm
/// costs a reconnection and nothing else (transactions in flight are sent again, and a
/// transaction applies at most once). QUIC alone notices a killed node only after its
/// idle timeout.
pub const WATCH_QUIET: Duration = Duration::from_secs(2);
/// The pause after a round of reconnection attempts fails, doubled after each round up
/// to [`RECONNECT_PAUSE_MAX`]: a restarted node is often back within a second, and a
/// client that cannot reach any node should not hammer the network.
pub const RECONNECT_PAUSE: Duration = Duration::from_millis(250);
pub const RECONNECT_PAUSE_MAX: Duration = Duration::from_secs(4);
/// How long a transaction in doubt is settled before its outcome is called unknown: the
/// loss noticed ([`WATCH_QUIET`]), a new connection, an election and a block, with room
/// to spare.
pub const SETTLE_WAIT: Duration = Duration::from_secs(20);
/// The pause between rounds of settling on a connection that has not told yet: about a
/// block's time, so a transaction sent again is looked up soon after it lands.
pub const SETTLE_RETRY_EVERY: Duration = Duration::from_millis(250);

/// The pause after `pause` between rounds of reconnection attempts.
pub fn next_reconnect_pause(pause: Duration) -> Duration {
    (pause * 2).min(RECONNECT_PAUSE_MAX)
}

/// The nodes to try after losing the connection to `lost`: the other configured ones,
/// then the genesis' other nodes, and `lost` itself last (it may be back). Within each
/// group the list is rotated by `spread` (see [`reconnect_spread`]), so clients that lose
/// the same node do not all move to the same next one: a herd on one node would make
/// that node's failure stall every client at once, and load it with all of them.
pub fn reconnect_order(
    configured: &[String],
    genesis: &[String],
    lost: &str,
    spread: u64,
) -> Vec<String> {
    let mut order: Vec<String> = Vec::new();
    for group in [configured, genesis] {
        let mut others: Vec<String> = Vec::new();
        for node in group {
            let seen = order
                .iter()
                .chain(&others)
                .any(|n| n.eq_ignore_ascii_case(node));
            if !seen && !node.eq_ignore_ascii_case(lost) {
                others.push(node.clone());
            }
        }
        if !others.is_empty() {
            let turn = usize::try_from(spread % others.len() as u64).unwrap_or(0);
            others.rotate_left(turn);
        }
        order.extend(others);
    }
    order.push(lost.to_string());
    order
}

/// The `spread` of [`reconnect_order`] for a client with key `key`: a number from its
/// key, so each participant has its own order and many spread over the nodes evenly.
pub fn reconnect_spread(key: &PublicKey) -> u64 {
    let bytes = key.as_bytes();
    u64::from_le_bytes([
        bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7],
    ])
}

/// What one node can tell of a transaction whose answer was lost.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Settlement<R> {
    /// Its receipt: it was applied (accepted, or rejected by the exchange).
    Applied(R),
    /// It was not applied and never will be: its signer's last nonce had passed its own
    /// before the node was asked for its receipt, and the node holds none.
    NotApplied,
    /// Neither yet: it may still be waiting to be applied. Ask again.
    Unsettled,
}

/// Whether the game's last nonce from a key, `last`, has reached `nonce`: from then on no
/// transaction with `nonce` can be applied (a node refuses it, a block rejects it as
/// stale without a receipt replacing the first copy's).
pub fn nonce_passed(last: u64, nonce: u64) -> bool {
    last >= nonce
}

/// The settle rule. `passed`: whether the last nonce, read *before* the receipt was
/// looked up on the same node, had reached the transaction's ([`nonce_passed`]), on a
/// node that holds every block;
/// `receipt`: that lookup. A receipt settles it; no receipt settles it as not applied
/// only if the nonce had passed first (a node stores a block's receipts as it applies the
/// block, so a passed nonce means any receipt is there by then); otherwise it is open.
pub fn settlement<R>(passed: bool, receipt: Option<R>) -> Settlement<R> {
    match receipt {
        Some(receipt) => Settlement::Applied(receipt),
        None if passed => Settlement::NotApplied,
        None => Settlement::Unsettled,
    }
}

/// One look at transaction `hash` (signed with `nonce`, by `client`'s key) whose answer
/// was lost, asked in the order [`settlement`] needs: whether the node holds every block
/// (one still backfilling after a snapshot may lack the receipt of a transaction it
/// applied) and the key's last nonce first, then the receipt.
pub async fn look_up(
    client: &Client,
    hash: TxHash,
    nonce: u64,
) -> Result<Settlement<CommittedView>, ClientError> {
    let whole = crate::query::status().ask(client).await?.missing_blocks == 0;
    let last = client.last_nonce().await?;
    let receipt = client.committed(hash).await?;
    Ok(settlement(whole && nonce_passed(last, nonce), receipt))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn reconnection_tries_the_others_first_and_the_lost_node_last() {
        let genesis = names(&["a:1", "b:1", "c:1", "d:1"]);
        // Every node from the genesis: the others, then the lost one.
        assert_eq!(
            reconnect_order(&genesis, &genesis, "b:1", 0),
            names(&["a:1", "c:1", "d:1", "b:1"])
        );
        // One node asked for: the genesis' others, then it.
        assert_eq!(
            reconnect_order(&names(&["c:1"]), &genesis, "c:1", 0),
            names(&["a:1", "b:1", "d:1", "c:1"])
        );
        // Nodes asked for come before the rest of the genesis, matched without case.
        assert_eq!(
            reconnect_order(&names(&["d:1", "B:1", "x:9"]), &genesis, "b:1", 0),
            names(&["d:1", "x:9", "a:1", "c:1", "b:1"])
        );
    }

    #[test]
    fn clients_that_lose_the_same_node_spread_over_the_others() {
        let genesis = names(&["a:1", "b:1", "c:1", "d:1"]);
        let firsts: Vec<String> = (0..6)
            .map(|spread| reconnect_order(&genesis, &genesis, "b:1", spread)[0].clone())
            .collect();
        assert_eq!(firsts, names(&["a:1", "c:1", "d:1", "a:1", "c:1", "d:1"]));
        // Each group keeps its place: asked-for nodes first, the lost one last.
        let order = reconnect_order(&names(&["d:1", "c:1"]), &genesis, "c:1", 5);
        assert_eq!(order, names(&["d:1", "b:1", "a:1", "c:1"]));
    }

    #[test]
    fn a_receipt_settles_whatever_the_nonce() {
        assert_eq!(settlement(true, Some(7)), Settlement::Applied(7));
        assert_eq!(settlement(false, Some(7)), Settlement::Applied(7));
    }

    #[test]
    fn no_receipt_is_not_applied_only_once_the_nonce_has_passed() {
        assert_eq!(settlement::<u8>(true, None), Settlement::NotApplied);
        assert_eq!(settlement::<u8>(false, None), Settlement::Unsettled);
        // Passed: the key's last nonce is this one (applied, or another transaction with
        // the same nonce was) or above it.
        assert!(nonce_passed(10, 10));
        assert!(nonce_passed(11, 10));
        assert!(!nonce_passed(9, 10));
        assert!(!nonce_passed(0, 1));
    }

    #[test]
    fn reconnection_pauses_grow_to_a_bound() {
        let mut pause = RECONNECT_PAUSE;
        let mut seen = vec![pause];
        for _ in 0..6 {
            pause = next_reconnect_pause(pause);
            seen.push(pause);
        }
        let millis: Vec<u128> = seen.iter().map(Duration::as_millis).collect();
        assert_eq!(millis, [250, 500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    }
}
