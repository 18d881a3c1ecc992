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

/// Audits the chain in the stopped node's data directory `dir`; see the
/// [module docs](self). `progress(height, last)` is called after each block.
pub fn audit(dir: &Path, mut progress: impl FnMut(u64, u64)) -> Result<AuditReport, AuditError> {
    let store = open_store(dir)?;
    let genesis = read_genesis(&store)?;
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
    let genesis: Genesis = decode_exact(&bytes).map_err(AuditError::BadGenesis)?;
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
mod tests {
    use std::path::Path;
    use std::sync::OnceLock;

    use fjall::{Database, KeyspaceCreateOptions, PersistMode};

    use super::*;
    use crate::api::MembershipChange;
    use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
    use crate::core::ledger::Batch;
    use crate::core::tx::{NewOrder, OrderKind, SignedTx, Tx, TxBody};
    use crate::core::types::Side;
    use crate::io::store::WriteSet;
    use crate::testkit::sim::Sim;

    /// A simulated 3-voter chain (one order per block, more or less), every node stopped.
    fn run_chain(seed: u64, orders: usize) -> Sim {
        let mut sim = Sim::new(seed, 3);
        assert!(sim.run_until(10_000, |s| s.leader().is_some()));
        for _ in 0..orders {
            let leader = sim.leader().expect("a leader");
            sim.submit_random(leader);
            sim.run_for(20);
        }
        assert!(sim.run_until(10_000, |s| s.pending() == 0 && s.converged()));
        sim
    }

    /// What node 1 knew before it was stopped.
    struct Pristine {
        /// Keeps the data directories.
        _sim: std::sync::Mutex<Sim>,
        dirs: std::collections::BTreeMap<u64, PathBuf>,
        genesis: Genesis,
        head: Head,
        txs: u64,
        accepted: u64,
    }

    /// One chain for all tests (each audits its own copy): node 1 of a 3-voter
    /// simulation, with a snapshot at height 40.
    fn pristine() -> &'static Pristine {
        static PRISTINE: OnceLock<Pristine> = OnceLock::new();
        PRISTINE.get_or_init(|| {
            let mut sim = run_chain(7, 60);
            let replica = sim.replica(1).expect("node 1 is up");
            let head = replica.ledger().head().clone();
            assert!(head.height >= 45, "only {} blocks", head.height);
            let (mut txs, mut accepted) = (0, 0);
            for height in 1..=head.height {
                let block = replica
                    .block(height)
                    .unwrap()
                    .expect("every block is stored");
                for (index, tx) in block.txs.iter().enumerate() {
                    txs += 1;
                    let stored = replica.receipt(&tx.hash()).unwrap().expect("a receipt");
                    if (stored.height, stored.index as usize) == (height, index)
                        && stored.receipt.is_accepted()
                    {
                        accepted += 1;
                    }
                }
            }
            for id in sim.node_ids() {
                sim.crash(id);
            }
            Pristine {
                dirs: sim
                    .node_ids()
                    .into_iter()
                    .map(|id| (id, sim.data_dir(id).unwrap().to_path_buf()))
                    .collect(),
                genesis: sim.game.genesis.clone(),
                _sim: std::sync::Mutex::new(sim),
                head,
                txs,
                accepted,
            }
        })
    }

    /// A copy of node `id`'s stopped data directory.
    fn copy_of_node(id: u64) -> tempfile::TempDir {
        let copy = tempfile::tempdir().unwrap();
        copy_dir(&pristine().dirs[&id], copy.path());
        copy
    }

    fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), target).unwrap();
            }
        }
    }

    fn run(dir: &Path) -> Result<AuditReport, AuditError> {
        audit(dir, |_, _| {})
    }

    fn store(dir: &Path) -> Store {
        Store::open(dir, ConfState::default()).unwrap()
    }

    fn read_block(dir: &Path, height: u64) -> Block {
        postcard::from_bytes(&store(dir).block(height).unwrap().unwrap()).unwrap()
    }

    fn write(dir: &Path, write: WriteSet) {
        store(dir)
            .commit(WriteSet {
                durable: true,
                ..write
            })
            .unwrap();
    }

    fn rewrite_block(dir: &Path, height: u64, change: impl FnOnce(&mut Block)) {
        let mut block = read_block(dir, height);
        change(&mut block);
        write(
            dir,
            WriteSet {
                blocks: vec![(height, postcard::to_stdvec(&block).unwrap())],
                ..WriteSet::default()
            },
        );
    }

    /// Deletes a record with fjall directly (the store never deletes blocks or meta).
    fn remove(dir: &Path, keyspace: &str, key: &[u8]) {
        let db = Database::builder(dir).open().unwrap();
        let ks = db
            .keyspace(keyspace, KeyspaceCreateOptions::default)
            .unwrap();
        ks.remove(key.to_vec()).unwrap();
        db.persist(PersistMode::SyncAll).unwrap();
    }

    #[test]
    fn every_node_of_an_intact_chain_checks_out_the_same() {
        let p = pristine();
        let dir = copy_of_node(1);
        let mut calls = 0;
        let report = audit(dir.path(), |height, last| {
            calls += 1;
            assert_eq!(height, calls);
            assert_eq!(last, p.head.height);
        })
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(calls, p.head.height);
        let game = &p.genesis;
        assert_eq!(report.chain, game.chain_id());
        assert_eq!(report.game, game.game);
        assert_eq!(report.blocks, p.head.height);
        assert_eq!(report.head_hash, p.head.hash);
        assert_eq!(report.head_timestamp_ms, p.head.timestamp_ms);
        assert_eq!(report.state_digest, p.head.state_digest);
        assert_eq!(report.txs, p.txs);
        assert_eq!(report.accepted, p.accepted);
        assert_eq!(report.accepted + report.rejected, report.txs);
        assert!(report.accepted > 0 && report.trades > 0, "{report:?}");
        assert_eq!(report.snapshot_height, Some(40));

        for id in [2, 3] {
            let other = copy_of_node(id);
            assert_eq!(run(other.path()).unwrap(), report, "node {id}");
        }
    }

    #[test]
    fn a_changed_transaction_is_named_by_its_height() {
        let dir = copy_of_node(1);
        rewrite_block(dir.path(), 17, |b| b.txs[0].tx.nonce += 1);
        let err = run(dir.path()).unwrap_err();
        assert_eq!(err.height(), Some(17), "{err}");
        assert!(
            err.to_string()
                .starts_with("block 17: transaction root differs"),
            "{err}"
        );
    }

    #[test]
    fn a_forged_signature_is_caught_by_the_receipts_root() {
        let dir = copy_of_node(1);
        // The transaction's hash covers its body, not its signature: only its replay
        // (a bad-signature rejection) gives the forgery away.
        let chain = pristine().genesis.chain_id();
        let forger = qraft_keys::Keypair::from_label("forger");
        rewrite_block(dir.path(), 9, |b| {
            let tx = b.txs[0].tx.clone();
            b.txs[0] = tx.sign(&forger, &chain);
        });
        let err = run(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("block 9: receipts root differs"),
            "{err}"
        );
    }

    #[test]
    fn a_changed_header_breaks_the_next_link_or_the_snapshot() {
        let dir = copy_of_node(1);
        rewrite_block(dir.path(), 12, |b| b.header.timestamp_ms += 1);
        let err = run(dir.path()).unwrap_err();
        assert_eq!(err.height(), Some(13), "{err}");
        assert!(
            err.to_string().contains("previous hash differs (stored")
                && err
                    .to_string()
                    .contains("block 12 or this block was changed"),
            "{err}"
        );

        // A timestamp before the previous block's is recomputed, so it is named at once.
        let dir = copy_of_node(1);
        rewrite_block(dir.path(), 12, |b| b.header.timestamp_ms = 0);
        let err = run(dir.path()).unwrap_err();
        assert!(
            err.to_string().starts_with("block 12: timestamp differs"),
            "{err}"
        );

        // The state digest, with the header rehashed: the replay recomputes it.
        let dir = copy_of_node(1);
        rewrite_block(dir.path(), 30, |b| b.header.state_digest = Hash32([1; 32]));
        let err = run(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("block 30: state digest differs"),
            "{err}"
        );

        // The block the snapshot was taken at: the snapshot names it even without a
        // later block.
        let dir = copy_of_node(1);
        rewrite_block(dir.path(), 40, |b| b.header.timestamp_ms += 1);
        let err = run(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("block 40: the node's snapshot at this height has another head hash"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_or_unreadable_block_is_named() {
        let dir = copy_of_node(1);
        remove(dir.path(), "blocks", &5u64.to_be_bytes());
        let err = run(dir.path()).unwrap_err();
        assert!(
            matches!(
                err,
                AuditError::Missing {
                    height: 5,
                    next: Some(6)
                }
            ),
            "{err}"
        );
        assert_eq!(
            err.to_string(),
            "block 5: missing (the next stored block is 6)"
        );

        let dir = copy_of_node(1);
        write(
            dir.path(),
            WriteSet {
                blocks: vec![(21, vec![0xff; 10])],
                ..WriteSet::default()
            },
        );
        let err = run(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("block 21: corrupt: undecodable"),
            "{err}"
        );

        // Block 22's bytes stored as block 21.
        let dir = copy_of_node(1);
        let bytes = store(dir.path()).block(22).unwrap().unwrap();
        write(
            dir.path(),
            WriteSet {
                blocks: vec![(21, bytes)],
                ..WriteSet::default()
            },
        );
        let err = run(dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "block 21: corrupt: it holds the block of height 22"
        );
    }

    #[test]
    fn a_changed_or_missing_receipt_is_named() {
        let dir = copy_of_node(1);
        let block = read_block(dir.path(), 25);
        let tx = block.txs[0].hash();
        let bytes = store(dir.path()).receipt(&tx.0).unwrap().unwrap();
        let mut stored: StoredReceipt = postcard::from_bytes(&bytes).unwrap();
        stored.receipt.outcome = Outcome::Rejected(Rejection::MarketClosed);
        write(
            dir.path(),
            WriteSet {
                receipts: vec![(tx.0, postcard::to_stdvec(&stored).unwrap())],
                ..WriteSet::default()
            },
        );
        let err = run(dir.path()).unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "block 25: transaction 0 ({tx}): its stored receipt differs from the recomputed one (stored rejected: the market is closed, recomputed"
            )),
            "{err}"
        );

        let dir = copy_of_node(1);
        remove(dir.path(), "receipts", &tx.0);
        let err = run(dir.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("block 25: transaction 0 ({tx}): no receipt is stored for it")
        );
    }

    #[test]
    fn a_bad_genesis_is_refused() {
        let dir = copy_of_node(1);
        write(
            dir.path(),
            WriteSet {
                meta: vec![(GENESIS_META_KEY.into(), vec![1, 2, 3])],
                ..WriteSet::default()
            },
        );
        let err = run(dir.path()).unwrap_err();
        assert!(matches!(err, AuditError::BadGenesis(_)), "{err}");

        // Another game's genesis.
        let other = sample_game(&SampleOptions {
            traders: 5,
            ..SampleOptions::default()
        });
        write(
            dir.path(),
            WriteSet {
                meta: vec![(
                    GENESIS_META_KEY.into(),
                    postcard::to_stdvec(&other.genesis).unwrap(),
                )],
                ..WriteSet::default()
            },
        );
        let err = run(dir.path()).unwrap_err();
        assert!(matches!(err, AuditError::GenesisMismatch { .. }), "{err}");

        // ...with its chain id too: then block 1 does not link.
        write(
            dir.path(),
            WriteSet {
                meta: vec![(CHAIN_META_KEY.into(), other.genesis.chain_id().0.to_vec())],
                ..WriteSet::default()
            },
        );
        let err = run(dir.path()).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("block 1: previous hash differs"),
            "{err}"
        );

        remove(dir.path(), "meta", GENESIS_META_KEY.as_bytes());
        assert!(matches!(run(dir.path()), Err(AuditError::NoGenesis)));
    }

    #[test]
    fn only_a_stopped_nodes_data_directory_is_audited() {
        let dir = copy_of_node(1);
        let open = store(dir.path());
        let err = run(dir.path()).unwrap_err();
        assert!(matches!(err, AuditError::InUse { .. }), "{err}");
        assert!(
            err.to_string().contains("in use by a running node"),
            "{err}"
        );
        drop(open);
        run(dir.path()).unwrap();

        let empty = tempfile::tempdir().unwrap();
        let err = run(empty.path()).unwrap_err();
        assert!(matches!(err, AuditError::NotAStore { .. }), "{err}");
        assert_eq!(std::fs::read_dir(empty.path()).unwrap().count(), 0);
        let err = run(&empty.path().join("nothing")).unwrap_err();
        assert!(matches!(err, AuditError::NoDirectory { .. }), "{err}");
        assert!(!empty.path().join("nothing").exists());
    }

    #[test]
    fn a_learner_that_caught_up_by_snapshot_cannot_be_audited_from_genesis() {
        let mut sim = run_chain(42, 120);
        let height = sim.heights()[&1];
        sim.add_node(4);
        sim.change_membership(MembershipChange::AddLearner(4))
            .expect("the leader takes the change");
        assert!(sim.run_until(20_000, |s| s.heights().get(&4) == Some(&height)));
        // One more block, stored by the learner too.
        let leader = sim.leader().expect("a leader");
        sim.submit_random(leader);
        assert!(sim.run_until(10_000, |s| s.pending() == 0 && s.converged()));
        for id in sim.node_ids() {
            sim.crash(id);
        }
        let err = run(sim.data_dir(4).unwrap()).unwrap_err();
        assert!(
            matches!(err, AuditError::SnapshotGap { from: 1, to } if to >= 100),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("has not finished backfilling the blocks before it"),
            "{err}"
        );
        let report = run(sim.data_dir(1).unwrap()).unwrap();
        assert_eq!(report.blocks, height + 1);
    }

    // --- Chains made by hand, for the receipts of repeated transactions ----------------

    fn order(game: &SampleGame, trader: usize, nonce: u64, side: Side) -> SignedTx {
        let key = &game.traders[trader];
        Tx {
            signer: key.public(),
            nonce,
            body: TxBody::Order(NewOrder {
                symbol: game.genesis.symbols[0].ticker,
                side,
                quantity: 5,
                kind: OrderKind::Limit { price: 1_000 },
            }),
        }
        .sign(key, &game.genesis.chain_id())
    }

    /// Stores the blocks of `batches` as a replica does (a stale-nonce copy of a
    /// transaction that already has a receipt keeps the first receipt).
    fn store_by_hand(dir: &Path, game: &SampleGame, batches: Vec<Vec<SignedTx>>) {
        let mut store = store(dir);
        let chain = game.genesis.chain_id();
        let mut w = WriteSet {
            meta: vec![
                (CHAIN_META_KEY.into(), chain.0.to_vec()),
                (
                    GENESIS_META_KEY.into(),
                    postcard::to_stdvec(&game.genesis).unwrap(),
                ),
            ],
            durable: true,
            ..WriteSet::default()
        };
        let mut ledger = Ledger::new(&game.genesis).unwrap();
        for txs in batches {
            let applied = ledger.apply_batch(Batch {
                proposer: 1,
                timestamp_ms: 1_000,
                txs,
            });
            let height = applied.block.header.height;
            w.blocks
                .push((height, postcard::to_stdvec(&applied.block).unwrap()));
            for (index, receipt) in applied.receipts.iter().enumerate() {
                let stale = matches!(
                    receipt.outcome,
                    Outcome::Rejected(Rejection::StaleNonce { .. })
                );
                if stale && w.receipts.iter().any(|(h, _)| *h == receipt.tx.0) {
                    continue;
                }
                w.receipts.retain(|(h, _)| *h != receipt.tx.0);
                let stored = StoredReceipt {
                    height,
                    index: index as u32,
                    receipt: receipt.clone(),
                };
                w.receipts
                    .push((receipt.tx.0, postcard::to_stdvec(&stored).unwrap()));
            }
        }
        store.commit(w).unwrap();
    }

    #[test]
    fn repeated_transactions_keep_the_receipt_that_counts() {
        let game = sample_game(&SampleOptions::default());
        let buy = order(&game, 0, 1, Side::Buy);
        let sell = order(&game, 1, 1, Side::Sell);
        // A forged copy of a later order: same hash, another key's signature.
        let genuine = order(&game, 0, 2, Side::Buy);
        let mut forged = genuine.clone();
        forged.signature = order(&game, 2, 2, Side::Buy).signature;
        let dir = tempfile::tempdir().unwrap();
        store_by_hand(
            dir.path(),
            &game,
            vec![
                vec![buy.clone(), sell.clone()],
                // A replayed copy: its stale-nonce receipt is not stored.
                vec![buy.clone(), forged],
                // The genuine order, after its forgery was rejected: its receipt replaces
                // the forgery's.
                vec![genuine.clone(), sell.clone()],
            ],
        );
        let report = run(dir.path()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            (report.blocks, report.txs, report.accepted, report.rejected),
            (3, 6, 3, 3)
        );
        assert_eq!(report.trades, 1);
        let stored = |tx: &SignedTx| -> StoredReceipt {
            postcard::from_bytes(&store(dir.path()).receipt(&tx.hash().0).unwrap().unwrap())
                .unwrap()
        };
        let copy = || {
            let copy = tempfile::tempdir().unwrap();
            copy_dir(dir.path(), copy.path());
            copy
        };
        assert_eq!((stored(&buy).height, stored(&genuine).height), (1, 3));

        // A receipt moved to where another transaction is.
        let mut moved = stored(&genuine);
        moved.index = 1;
        let tampered = copy();
        write(
            tampered.path(),
            WriteSet {
                receipts: vec![(genuine.hash().0, postcard::to_stdvec(&moved).unwrap())],
                ..WriteSet::default()
            },
        );
        let err = run(tampered.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "block 2: transaction 1 ({}): its stored receipt is from block 3 transaction 1, which is another transaction",
                genuine.hash()
            )
        );

        // The replayed copy's receipt where the first copy's should be.
        let mut later = stored(&buy);
        later.height = 2;
        later.index = 0;
        later.receipt.outcome = Outcome::Rejected(Rejection::StaleNonce { nonce: 1, last: 1 });
        let tampered = copy();
        write(
            tampered.path(),
            WriteSet {
                receipts: vec![(buy.hash().0, postcard::to_stdvec(&later).unwrap())],
                ..WriteSet::default()
            },
        );
        let err = run(tampered.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "block 1: transaction 0 ({}): its stored receipt is the stale-nonce rejection of its copy in block 2 (transaction 0), which replaced this copy's",
                buy.hash()
            )
        );

        // The forgery's receipt kept instead of the genuine order's.
        let mut kept = stored(&genuine);
        kept.height = 2;
        kept.index = 1;
        kept.receipt.outcome = Outcome::Rejected(Rejection::BadSignature);
        let tampered = copy();
        write(
            tampered.path(),
            WriteSet {
                receipts: vec![(genuine.hash().0, postcard::to_stdvec(&kept).unwrap())],
                ..WriteSet::default()
            },
        );
        let err = run(tampered.path()).unwrap_err();
        assert_eq!(err.height(), Some(3), "{err}");
        assert!(
            err.to_string()
                .contains("its stored receipt is from block 2 transaction 1, but this copy is not a replay of it (recomputed accepted"),
            "{err}"
        );
    }

    #[test]
    fn a_new_store_without_blocks_checks_out() {
        let game = sample_game(&SampleOptions::default());
        let dir = tempfile::tempdir().unwrap();
        store_by_hand(dir.path(), &game, Vec::new());
        let report = run(dir.path()).unwrap();
        assert_eq!((report.blocks, report.txs), (0, 0));
        assert_eq!(report.head_hash.0, game.genesis.chain_id().0);
    }
}
