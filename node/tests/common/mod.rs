//! What the node's tests over QUIC share: signing a transaction as a participant (a
//! program's signing, with its nonce policy, is the client crate's; these tests only
//! need nonces that rise, so one counter serves every key in the test process), and
//! waiting for a condition.
#![allow(dead_code, reason = "each test file uses its own subset")]

use std::future::Future;
use std::time::Duration;

use std::sync::atomic::{AtomicU64, Ordering};

use qraft_keys::Keypair;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::tx::{SignedTx, Tx, TxBody};

static NEXT_NONCE: AtomicU64 = AtomicU64::new(1);

/// `body` signed by `key` for `genesis`'s game, with a nonce above every one before it.
pub fn signed(key: &Keypair, genesis: &Genesis, body: TxBody) -> SignedTx {
    Tx {
        signer: key.public(),
        nonce: NEXT_NONCE.fetch_add(1, Ordering::Relaxed),
        body,
    }
    .sign(key, &genesis.chain_id())
}

/// The longest [`eventually`] waits for any one thing.
pub const WAIT: Duration = Duration::from_secs(30);

/// Waits until `check` holds, asking every 50 ms; fails the test, naming `what`, after
/// [`WAIT`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
