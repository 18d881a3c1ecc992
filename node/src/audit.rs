//! The audit: replay a stopped node's chain from its genesis and check everything.
//!
//! `qraft verify DATA_DIR` calls [`audit`]. It needs nothing but the data directory: a
//! node's store keeps the genesis it was made for (meta `genesis`, and its chain id in meta
//! `chain`). Starting from that genesis, for every height from 1 to the last stored block:
//!
//! - the block is stored, decodes, and says it is at that height;
//! - it links to the previous block by hash (block 1 to the chain id);
//! - replaying it ([`Ledger::replay_block`]) recomputes every signature (batch
//!   verification), every transaction's outcome, the transaction and receipts Merkle
//!   roots, the timestamp and the state digest, and each must equal what the header says;
//! - every transaction's stored receipt equals the recomputed one. A second copy of a
//!   transaction (resubmitted through another leader) gets a stale-nonce rejection whose
//!   receipt is deliberately not stored: the first copy's is the one that counts. So a
//!   receipt stored for an earlier position must be for that same transaction and this
//!   copy must be a stale-nonce replay; one stored for a later position must be for that
//!   same transaction (it is compared when the replay gets there);
//! - the node's latest snapshot, if the chain reaches its height, has exactly the head
//!   (hash, timestamp, state digest) the replay computed there.
//!
//! The audit stops at the first bad height and names it ([`AuditError::height`]).
//!
//! What it cannot see: a consistent rewrite of the head block's header alone (there is no
//! later block to link to it). That is what the head hash in the report is for: compare it
//! with other nodes' at the same height.
//!
//! A node that caught up by installing a snapshot from its leader backfills the blocks
//! below the snapshot from its peers ([`crate::backfill`]); until that is done its chain
//! cannot be audited from genesis: [`AuditError::SnapshotGap`] names the heights it
//! lacks. Let it finish (its status shows the blocks it still lacks), or audit another
//! node.
//!
//! fjall has no read-only mode and locks its directory, so the node must be stopped: a
//! directory in use is refused ([`AuditError::InUse`]). Opening the store may replay its
//! journal, as the node itself would on start; the audit writes nothing else.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};

use qraft_keys::ChainId;
use raft::eraftpb::ConfState;
use serde::de::DeserializeOwned;

use crate::api::StoredReceipt;
use crate::core::block::{Block, BlockHash};
use crate::core::exchange::receipt::{Outcome, Receipt};
use crate::core::exchange::reject::Rejection;
use crate::core::genesis::Genesis;
use crate::core::hash::Hash32;
use crate::core::ledger::{AppliedBlock, Head, Ledger, ReplayError};
use crate::core::tx::TxHash;
use crate::io::store::{Store, StoreError};
use crate::replica::GENESIS_META_KEY;

/// The store's meta record holding the chain id (written with the genesis).
const CHAIN_META_KEY: &str = "chain";

/// The file every fjall database has; a directory without it is not a data directory (and
/// opening it would create a new, empty store).
const FJALL_VERSION_FILE: &str = "version";

/// Blocks read from the store at a time.
const CHUNK: u64 = 256;

/// What a successful audit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditReport {
    pub chain: ChainId,
    /// The game's name, from the genesis.
    pub game: String,
    /// Blocks replayed: heights 1 to `blocks`.
    pub blocks: u64,
    /// Transactions in those blocks, accepted and rejected.
    pub txs: u64,
    pub accepted: u64,
    pub rejected: u64,
    pub trades: u64,
    /// The head block's hash (the chain id if there are no blocks).
    pub head_hash: BlockHash,
    pub head_timestamp_ms: u64,
    /// The exchange state digest after the head block.
    pub state_digest: Hash32,
    /// The height of the node's latest snapshot, which matched the replay there.
    pub snapshot_height: Option<u64>,
}

/// Why an audit failed. Problems with a block name its height ([`AuditError::height`]).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    #[error("{}: {reason}", dir.display())]
    NoDirectory { dir: PathBuf, reason: String },
    #[error("{} is not a QRaft data directory (it holds no store)", dir.display())]
    NotAStore { dir: PathBuf },
    #[error(
        "{} is in use by a running node: stop the node (or audit a copy), then verify again",
        dir.display()
    )]
    InUse { dir: PathBuf },
    #[error("the store: {0}")]
    Store(#[from] StoreError),
    #[error(
        "the store holds no genesis: this is not a node's data directory, or one made before nodes kept their genesis"
    )]
    NoGenesis,
    #[error("the stored genesis is unusable: {0}")]
    BadGenesis(String),
    #[error(
        "the stored genesis (chain {genesis}) does not belong to this store's chain ({stored})"
    )]
    GenesisMismatch { stored: String, genesis: String },
    #[error("the node's latest snapshot is unusable: {0}")]
    BadSnapshot(String),
    #[error(
        "block {from}: blocks {from} to {to} are not stored here: this node caught up from a snapshot of its leader at height {to} and has not finished backfilling the blocks before it; run it until its status shows no missing blocks, or audit another node"
    )]
    SnapshotGap { from: u64, to: u64 },
    #[error("block {height}: missing{}", match next {
        Some(next) => format!(" (the next stored block is {next})"),
        None => String::new(),
    })]
    Missing { height: u64, next: Option<u64> },
    #[error("block {height}: corrupt: {reason}")]
    Corrupt { height: u64, reason: String },
    /// The block does not replay to itself: a link, root, timestamp or digest differs.
    #[error("block {height}: {reason}")]
    Bad { height: u64, reason: String },
    #[error("block {height}: transaction {index} ({tx}): {reason}")]
    Receipt {
        height: u64,
        index: u32,
        tx: TxHash,
        reason: String,
    },
    #[error("block {height}: the node's snapshot at this height {reason}")]
    Snapshot { height: u64, reason: String },
}

impl AuditError {
    /// The first bad height, if the problem is with a block.
    pub fn height(&self) -> Option<u64> {
        match self {
            AuditError::SnapshotGap { from: height, .. }
            | AuditError::Missing { height, .. }
            | AuditError::Corrupt { height, .. }
            | AuditError::Bad { height, .. }
            | AuditError::Receipt { height, .. }
            | AuditError::Snapshot { height, .. } => Some(*height),
            _ => None,
        }
    }
}

/// What else an audit's caller does with the chain as it is replayed (`qraft report`
/// builds the end-of-game report from it): shown the genesis first, then the ledger
/// after each checked block, in height order. A block is shown only once it checked
/// out; an audit that fails part way has shown the blocks before the bad one.
pub trait AuditVisitor {
    /// The genesis the chain is replayed from, before any block.
    fn genesis(&mut self, _genesis: &Genesis) {}
    /// A block that checked out, and the ledger just after it.
    fn block(&mut self, _ledger: &Ledger, _applied: &AppliedBlock) {}
    /// The ledger after the last block, once the whole chain checked out.
    fn end(&mut self, _ledger: &Ledger) {}
}

/// Looks at nothing: what [`audit`] uses.
impl AuditVisitor for () {}

/// Audits the chain in the stopped node's data directory `dir`; see the
/// [module docs](self). `progress(height, last)` is called after each block.
pub fn audit(dir: &Path, progress: impl FnMut(u64, u64)) -> Result<AuditReport, AuditError> {
    audit_visiting(dir, progress, &mut ())
}

/// [`audit`], showing `visitor` the genesis and every block that checked out.
pub fn audit_visiting(
    dir: &Path,
    mut progress: impl FnMut(u64, u64),
    visitor: &mut impl AuditVisitor,
) -> Result<AuditReport, AuditError> {
    let store = open_store(dir)?;
    let genesis = read_genesis(&store)?;
    visitor.genesis(&genesis);
    let chain = genesis.chain_id();
    let mut ledger = Ledger::new(&genesis).map_err(|e| AuditError::BadGenesis(e.to_string()))?;
    // A snapshot that cannot be read is reported after the blocks, which come first.
    let snapshot_or_error = snapshot_head(&store, chain);
    let snapshot = snapshot_or_error.as_ref().ok().cloned().flatten();
    let last = store.last_block_height()?.unwrap_or(0);

    let mut report = AuditReport {
        chain,
        game: genesis.game.clone(),
        blocks: 0,
        txs: 0,
        accepted: 0,
        rejected: 0,
        trades: 0,
        head_hash: ledger.head().hash,
        head_timestamp_ms: ledger.head().timestamp_ms,
        state_digest: ledger.head().state_digest,
        snapshot_height: None,
    };
    if let Some(snap) = &snapshot
        && snap.height == 0
    {
        check_snapshot(snap, ledger.head())?;
        report.snapshot_height = Some(0);
    }
    let mut height = 1;
    while height <= last {
        let to = last.min(height.saturating_add(CHUNK - 1));
        for (stored_height, bytes) in store.blocks(height, to)? {
            if stored_height != height {
                return Err(gap(height, Some(stored_height), snapshot.as_ref()));
            }
            let block: Block = decode_exact(&bytes).map_err(|reason| AuditError::Corrupt {
                height,
                reason: format!("undecodable: {reason}"),
            })?;
            let applied = replay(&mut ledger, &block, height)?;
            check_receipts(&store, last, &block, &applied)?;
            if let Some(snap) = &snapshot
                && snap.height == height
            {
                check_snapshot(snap, ledger.head())?;
                report.snapshot_height = Some(height);
            }
            visitor.block(&ledger, &applied);
            report.blocks = height;
            report.txs += applied.receipts.len() as u64;
            let accepted = applied.receipts.iter().filter(|r| r.is_accepted()).count() as u64;
            report.accepted += accepted;
            report.rejected += applied.receipts.len() as u64 - accepted;
            report.trades += applied.trades.len() as u64;
            progress(height, last);
            height += 1;
        }
        if height <= to {
            // The chunk ended early: blocks `height..=to` are missing.
            return Err(gap(
                height,
                next_stored(&store, to.saturating_add(1), last)?,
                snapshot.as_ref(),
            ));
        }
    }
    if let Some(snap) = &snapshot
        && snap.height > last
    {
        return Err(gap(last + 1, None, Some(snap)));
    }
    snapshot_or_error?;
    visitor.end(&ledger);
    let head = ledger.head();
    report.head_hash = head.hash;
    report.head_timestamp_ms = head.timestamp_ms;
    report.state_digest = head.state_digest;
    Ok(report)
}

/// Opens the store, refusing what is not a data directory (rather than creating a store
/// there) and a directory a running node holds.
fn open_store(dir: &Path) -> Result<Store, AuditError> {
    match std::fs::metadata(dir) {
        Err(e) => {
            return Err(AuditError::NoDirectory {
                dir: dir.to_path_buf(),
                reason: e.to_string(),
            });
        }
        Ok(m) if !m.is_dir() => {
            return Err(AuditError::NoDirectory {
                dir: dir.to_path_buf(),
                reason: "not a directory".into(),
            });
        }
        Ok(_) => {}
    }
    if !dir.join(FJALL_VERSION_FILE).is_file() {
        return Err(AuditError::NotAStore {
            dir: dir.to_path_buf(),
        });
    }
    // The conf state is only used to initialize a new store; this one exists.
    Store::open(dir, ConfState::default()).map_err(|e| match e {
        StoreError::Fjall(fjall::Error::Locked) => AuditError::InUse {
            dir: dir.to_path_buf(),
        },
        e => AuditError::Store(e),
    })
}

/// The genesis the store was made for, checked against its chain id.
fn read_genesis(store: &Store) -> Result<Genesis, AuditError> {
    let (Some(bytes), Some(stored_chain)) =
        (store.meta(GENESIS_META_KEY)?, store.meta(CHAIN_META_KEY)?)
    else {
        return Err(AuditError::NoGenesis);
    };
    let genesis = Genesis::decode(&bytes).map_err(AuditError::BadGenesis)?;
    let chain = genesis.chain_id();
    if stored_chain != chain.0 {
        return Err(AuditError::GenesisMismatch {
            stored: hex::encode(stored_chain),
            genesis: chain.to_string(),
        });
    }
    Ok(genesis)
}

/// The head of the chain at the node's latest snapshot, if it has one.
fn snapshot_head(store: &Store, chain: ChainId) -> Result<Option<Head>, AuditError> {
    let Some(snapshot) = store.latest_snapshot() else {
        return Ok(None);
    };
    let ledger = Ledger::restore(&snapshot.data, chain)
        .map_err(|e| AuditError::BadSnapshot(e.to_string()))?;
    Ok(Some(ledger.head().clone()))
}

/// Replays `block`, stored at `height`.
fn replay(ledger: &mut Ledger, block: &Block, height: u64) -> Result<AppliedBlock, AuditError> {
    if block.header.height != height {
        return Err(AuditError::Corrupt {
            height,
            reason: format!("it holds the block of height {}", block.header.height),
        });
    }
    let previous = ledger.head().clone();
    ledger.replay_block(block).map_err(|err| {
        let ReplayError::Mismatch {
            what,
            stored,
            recomputed,
            ..
        } = err;
        let reason = if what == "previous hash" && height > 1 {
            format!(
                "previous hash differs (stored {stored}, block {} hashes to {recomputed}): \
                 block {} or this block was changed",
                previous.height, previous.height
            )
        } else {
            format!("{what} differs (stored {stored}, recomputed {recomputed})")
        };
        AuditError::Bad { height, reason }
    })
}

/// Checks the stored receipt of each of `block`'s transactions against the replay's.
fn check_receipts(
    store: &Store,
    last: u64,
    block: &Block,
    applied: &AppliedBlock,
) -> Result<(), AuditError> {
    let height = block.header.height;
    for (index, recomputed) in applied.receipts.iter().enumerate() {
        let index = u32::try_from(index).map_err(|_| AuditError::Corrupt {
            height,
            reason: "more than 2^32 transactions".into(),
        })?;
        let tx = recomputed.tx;
        let fail = |reason: String| AuditError::Receipt {
            height,
            index,
            tx,
            reason,
        };
        let Some(bytes) = store.receipt(&tx.0)? else {
            return Err(fail("no receipt is stored for it".into()));
        };
        let stored: StoredReceipt = decode_exact(&bytes)
            .map_err(|e| fail(format!("its stored receipt is undecodable: {e}")))?;
        if stored.receipt.tx != tx {
            return Err(fail(format!(
                "the receipt stored under its hash is for transaction {}",
                stored.receipt.tx
            )));
        }
        match (stored.height, stored.index).cmp(&(height, index)) {
            Ordering::Equal => {
                if stored.receipt != *recomputed {
                    return Err(fail(format!(
                        "its stored receipt differs from the recomputed one (stored {}, recomputed {})",
                        describe(&stored.receipt),
                        describe(recomputed)
                    )));
                }
            }
            Ordering::Less => {
                // An earlier copy's receipt counts; this copy must be its replay.
                if !matches!(
                    recomputed.outcome,
                    Outcome::Rejected(Rejection::StaleNonce { .. })
                ) {
                    return Err(fail(format!(
                        "its stored receipt is from block {} transaction {}, but this copy is not a replay of it (recomputed {})",
                        stored.height,
                        stored.index,
                        describe(recomputed)
                    )));
                }
                check_position(store, block, &stored).map_err(fail)?;
            }
            Ordering::Greater => {
                // A later copy's receipt replaced this one's; it is compared there. A
                // stale-nonce copy never replaces the receipt of an earlier copy.
                if matches!(
                    stored.receipt.outcome,
                    Outcome::Rejected(Rejection::StaleNonce { .. })
                ) {
                    return Err(fail(format!(
                        "its stored receipt is the stale-nonce rejection of its copy in block {} (transaction {}), which replaced this copy's",
                        stored.height, stored.index
                    )));
                }
                if stored.height > last {
                    return Err(fail(format!(
                        "its stored receipt is from block {}, beyond the last block {last}",
                        stored.height
                    )));
                }
                check_position(store, block, &stored).map_err(fail)?;
            }
        }
    }
    Ok(())
}

/// Checks that the block and position a receipt names hold its transaction.
fn check_position(store: &Store, current: &Block, stored: &StoredReceipt) -> Result<(), String> {
    let other;
    let block = if stored.height == current.header.height {
        current
    } else {
        let bytes = store
            .block(stored.height)
            .map_err(|e| format!("reading block {}: {e}", stored.height))?
            .ok_or_else(|| {
                format!(
                    "its stored receipt is from block {}, which is missing",
                    stored.height
                )
            })?;
        other = decode_exact::<Block>(&bytes)
            .map_err(|e| format!("block {} is undecodable: {e}", stored.height))?;
        &other
    };
    let holds = block
        .txs
        .get(stored.index as usize)
        .is_some_and(|t| t.hash() == stored.receipt.tx);
    if holds {
        Ok(())
    } else {
        Err(format!(
            "its stored receipt is from block {} transaction {}, which is another transaction",
            stored.height, stored.index
        ))
    }
}

/// A receipt in a few words, for error messages.
fn describe(receipt: &Receipt) -> String {
    match &receipt.outcome {
        Outcome::Accepted(_) => format!("accepted, receipt hash {}", receipt.hash()),
        Outcome::Rejected(reason) => format!("rejected: {reason}"),
    }
}

/// The error for blocks missing from `from` (`next` is the next stored block): a snapshot
/// gap if the node's latest snapshot explains them, being at the height just before
/// `next`, or beyond the last block. (A node that installed its leader's snapshot and
/// has made its own since shows a plain gap.)
fn gap(from: u64, next: Option<u64>, snapshot: Option<&Head>) -> AuditError {
    match (snapshot, next) {
        (Some(s), Some(next)) if s.height.checked_add(1) == Some(next) => {
            AuditError::SnapshotGap { from, to: s.height }
        }
        (Some(s), None) if s.height >= from => AuditError::SnapshotGap { from, to: s.height },
        _ => AuditError::Missing { height: from, next },
    }
}

/// The first stored block in `[from, last]`, if it is within a million heights (`None`
/// past that: this is only for the error message, and `last` may be absurd).
fn next_stored(store: &Store, from: u64, last: u64) -> Result<Option<u64>, AuditError> {
    let mut start = from;
    for _ in 0..(1 << 20) / CHUNK {
        if start > last {
            break;
        }
        let to = last.min(start.saturating_add(CHUNK - 1));
        if let Some((height, _)) = store.blocks(start, to)?.first() {
            return Ok(Some(*height));
        }
        start = match to.checked_add(1) {
            Some(next) => next,
            None => break,
        };
    }
    Ok(None)
}

/// Checks the node's snapshot against the replay at its height.
fn check_snapshot(snapshot: &Head, replayed: &Head) -> Result<(), AuditError> {
    let differs = |what: &str, s: String, r: String| AuditError::Snapshot {
        height: replayed.height,
        reason: format!("has another {what} (snapshot {s}, replay {r})"),
    };
    if snapshot.hash != replayed.hash {
        return Err(differs(
            "head hash",
            snapshot.hash.to_hex(),
            replayed.hash.to_hex(),
        ));
    }
    if snapshot.state_digest != replayed.state_digest {
        return Err(differs(
            "state digest",
            snapshot.state_digest.to_hex(),
            replayed.state_digest.to_hex(),
        ));
    }
    if snapshot.timestamp_ms != replayed.timestamp_ms {
        return Err(differs(
            "timestamp",
            snapshot.timestamp_ms.to_string(),
            replayed.timestamp_ms.to_string(),
        ));
    }
    Ok(())
}

/// Decodes postcard bytes that must hold exactly one `T`.
fn decode_exact<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, String> {
    let (value, rest) = postcard::take_from_bytes(bytes).map_err(|e| e.to_string())?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} bytes left over after the end", rest.len()))
    }
}

#[cfg(test)]
mod tests;
