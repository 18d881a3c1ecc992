//! Where a block's receipts are stored, so that any node holding a block can give all
//! of its receipts to a node backfilling it.
//!
//! A receipt is stored under its transaction's hash. A transaction can appear more than
//! once in the chain (resubmitted through another leader, or sent before its signer was
//! admitted and again after), and then one copy's receipt holds that key: the last copy
//! that is not a stale-nonce rejection, or the first copy if all are. The other copies'
//! receipts are needed too, since the block's `receipts_root` covers them. So a receipt
//! that may lose its key to another copy is also stored under its position in the chain,
//! [`position_key`]:
//! - a stale-nonce rejection (it loses to an earlier copy, or to a later one that is not
//!   stale);
//! - a rejection that does not use the nonce (unknown signer, bad signature, too large):
//!   a later copy may be applied and take the key.
//!
//! Every other receipt used its transaction's nonce, so every later copy is a stale-nonce
//! rejection and every earlier one a rejection that did not use it: it holds its
//! transaction's key for good. So each position's receipt is at its position key or,
//! failing that, under its transaction's hash ([`block_receipts`]).
//!
//! Blocks applied before position keys existed lack them: a block with a repeated
//! transaction from then cannot be served whole, and a backfill asks another node.

use crate::api::StoredReceipt;
use crate::core::block::Block;
use crate::core::exchange::receipt::{Outcome, Receipt};
use crate::core::exchange::reject::Rejection;
use crate::core::hash::Hash32;

/// The receipts keyspace key of the receipt at position `index` of block `height`: a
/// domain-separated hash, so it cannot be any transaction's hash.
pub fn position_key(height: u64, index: u32) -> [u8; 32] {
    let mut position = [0u8; 12];
    position[..8].copy_from_slice(&height.to_be_bytes());
    position[8..].copy_from_slice(&index.to_be_bytes());
    Hash32::of("qraft/receipt-position", &position).0
}

/// Whether a receipt with this outcome is also stored under its position (see the
/// [module docs](self)).
pub fn kept_by_position(outcome: &Outcome) -> bool {
    matches!(
        outcome,
        Outcome::Rejected(
            Rejection::StaleNonce { .. }
                | Rejection::UnknownSigner
                | Rejection::BadSignature
                | Rejection::TooLarge { .. }
        )
    )
}

fn is_stale(receipt: &StoredReceipt) -> bool {
    matches!(
        receipt.receipt.outcome,
        Outcome::Rejected(Rejection::StaleNonce { .. })
    )
}

/// Whether `incoming` takes the transaction-hash key from `existing`, two copies of the
/// same transaction: the copy that is not stale wins; of two stale copies the earlier,
/// of two others the later. The same answer as applying the chain in order gives.
pub fn replaces(existing: &StoredReceipt, incoming: &StoredReceipt) -> bool {
    let later = (incoming.height, incoming.index) > (existing.height, existing.index);
    match (is_stale(existing), is_stale(incoming)) {
        (true, false) => true,
        (false, true) => false,
        (true, true) => !later,
        (false, false) => later,
    }
}

/// Every receipt of `block`, in order, read with `read` (a receipts keyspace lookup);
/// `None` if one is not stored (this node lacks the block's receipts, or the block was
/// applied before position keys existed).
pub fn block_receipts(
    block: &Block,
    mut read: impl FnMut(&[u8; 32]) -> Option<StoredReceipt>,
) -> Option<Vec<Receipt>> {
    let height = block.header.height;
    let mut receipts = Vec::with_capacity(block.txs.len());
    for (index, tx) in block.txs.iter().enumerate() {
        let index = u32::try_from(index).ok()?;
        let at = |stored: &StoredReceipt| stored.height == height && stored.index == index;
        let stored = match read(&position_key(height, index)) {
            Some(stored) if at(&stored) => stored,
            _ => read(&tx.hash().0).filter(at)?,
        };
        receipts.push(stored.receipt);
    }
    Some(receipts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::exchange::receipt::Effect;
    use crate::core::tx::TxHash;

    fn stored(height: u64, index: u32, outcome: Outcome) -> StoredReceipt {
        StoredReceipt {
            height,
            index,
            receipt: Receipt {
                tx: TxHash::of("test", b"tx"),
                outcome,
            },
        }
    }

    #[test]
    fn the_key_goes_to_the_copy_applying_in_order_would_keep() {
        let stale = || Outcome::Rejected(Rejection::StaleNonce { nonce: 1, last: 1 });
        let applied = || Outcome::Accepted(Effect::Admin);
        let unknown = || Outcome::Rejected(Rejection::UnknownSigner);
        // An applied copy keeps the key from a later replay, and takes it from an
        // earlier replay.
        assert!(!replaces(&stored(3, 0, applied()), &stored(5, 0, stale())));
        assert!(replaces(&stored(5, 0, stale()), &stored(3, 0, applied())));
        // Of two replays the earlier; of two others the later.
        assert!(replaces(&stored(5, 0, stale()), &stored(4, 2, stale())));
        assert!(!replaces(&stored(4, 2, stale()), &stored(5, 0, stale())));
        assert!(replaces(&stored(2, 0, unknown()), &stored(4, 0, applied())));
        assert!(!replaces(
            &stored(4, 0, applied()),
            &stored(2, 0, unknown())
        ));
        assert!(kept_by_position(&stale()) && kept_by_position(&unknown()));
        assert!(!kept_by_position(&applied()));
        assert_ne!(position_key(1, 2), position_key(2, 1));
    }
}
