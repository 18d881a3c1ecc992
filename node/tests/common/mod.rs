//! What the node's tests over QUIC share: signing a transaction as a participant. (A
//! program's signing, with its nonce policy, is the client crate's; these tests only
//! need nonces that rise, so one counter serves every key in the test process.)

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
