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
        postcard::from_bytes(&store(dir.path()).receipt(&tx.hash().0).unwrap().unwrap()).unwrap()
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
