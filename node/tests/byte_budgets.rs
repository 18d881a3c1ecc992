//! Byte budgets: whatever transactions fill the mempool, the parked queue and the forward
//! log, every Raft entry the leader proposes, every append that carries those entries,
//! and every forward and re-forward a follower sends encodes within the transport's
//! frame limit. Transactions up to `MAX_TX_BYTES` are drawn, biased to the maximum.

use proptest::prelude::*;
use qraft_keys::{ChainId, Keypair};
use qraft_node::core::ledger::Batch;
use qraft_node::core::tx::{AdminAction, MAX_TX_BYTES, SignedTx, Tx, TxBody};
use qraft_node::net::frame::{MAX_PEER_FRAME, encode_frame};
use qraft_node::raft::wire::WireMessage;
use qraft_node::replica::mempool::{Mempool, MempoolLimits, Origin, Pending};
use qraft_node::replica::message::{encoded_len, forward_messages};
use qraft_node::replica::{MAX_FORWARD_BYTES, PeerMessage, ReplicaConfig};
use raft::eraftpb::{Entry, EntryType, Message, MessageType};

/// A signed transaction of about `size` bytes (a news headline pads it), from one of a
/// few signers. Its signature is one real signature reused: only sizes matter here.
fn tx_of_size(signer: &Keypair, nonce: u64, size: usize) -> SignedTx {
    let base = Tx {
        signer: signer.public(),
        nonce,
        body: TxBody::Admin(AdminAction::News {
            headline: String::new(),
        }),
    };
    let signature = base.clone().sign(signer, &ChainId([3; 32])).signature;
    let empty = encoded_len(&SignedTx {
        tx: base.clone(),
        signature,
    });
    let pad = size.saturating_sub(empty + 2);
    let tx = SignedTx {
        tx: Tx {
            body: TxBody::Admin(AdminAction::News {
                headline: "x".repeat(pad),
            }),
            ..base
        },
        signature,
    };
    assert!(encoded_len(&tx) <= MAX_TX_BYTES.max(size));
    tx
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    let size = prop_oneof![
        3 => Just(MAX_TX_BYTES),
        1 => 120..=MAX_TX_BYTES,
    ];
    prop::collection::vec(size, 1..2_500)
}

/// The append raft-rs would send with these entries: as many as fit in
/// `max_size_per_msg`, at least one (`raft::util::limit_size`).
fn append(entries: &[Entry], max_size_per_msg: u64) -> Message {
    let mut entries = entries.to_vec();
    raft::util::limit_size(&mut entries, Some(max_size_per_msg));
    let mut message = Message::default();
    message.set_msg_type(MessageType::MsgAppend);
    message.from = 1;
    message.to = 2;
    message.term = u64::MAX >> 3;
    message.index = u64::MAX >> 3;
    message.log_term = u64::MAX >> 3;
    message.commit = u64::MAX >> 3;
    message.set_entries(entries.into());
    message
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn entries_appends_and_forwards_fit_in_a_peer_frame(sizes in sizes()) {
        let config = ReplicaConfig::new(1);
        prop_assert_eq!(config.validate(), Ok(()));
        let signers: Vec<Keypair> = (0..4).map(|i| Keypair::from_label(&format!("budget/{i}"))).collect();
        let txs: Vec<SignedTx> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| tx_of_size(&signers[i % signers.len()], i as u64 + 1, size))
            .collect();

        // The leader: a mempool holding them all, cut into batches as the replica does.
        let mut pool = Mempool::new(MempoolLimits {
            txs: usize::MAX,
            bytes: usize::MAX,
            signer_txs: usize::MAX,
            signer_bytes: usize::MAX,
        });
        for tx in &txs {
            pool.insert(Pending {
                hash: tx.hash(),
                bytes: encoded_len(tx),
                tx: tx.clone(),
                origin: Origin::Local,
                arrived_ms: 0,
            })
            .unwrap();
        }
        let mut entries = Vec::new();
        while !pool.is_empty() {
            let cut = pool.cut(config.max_batch_txs, config.max_batch_bytes);
            let batch = Batch {
                proposer: 1,
                timestamp_ms: u64::MAX,
                txs: cut.into_iter().map(|p| p.tx).collect(),
            };
            let mut entry = Entry::default();
            entry.set_entry_type(EntryType::EntryNormal);
            entry.term = u64::MAX >> 3;
            entry.index = u64::MAX >> 3;
            entry.data = postcard::to_stdvec(&batch).unwrap().into();
            entry.context = vec![0xff; 20].into();
            prop_assert!(
                (entry.data.len() as u64) < config.max_size_per_msg,
                "an entry of {} bytes", entry.data.len()
            );
            entries.push(entry);
        }
        // Every append raft-rs may build from them, from any starting entry.
        for start in 0..entries.len() {
            let message = append(&entries[start..], config.max_size_per_msg);
            let peer = PeerMessage::Raft(Box::new(WireMessage::from(message)));
            let frame = encode_frame(&peer, MAX_PEER_FRAME);
            prop_assert!(frame.is_ok(), "append from entry {}: {:?}", start, frame.err());
        }

        // A follower: forwards, and re-forwards of all of it at once (a new leader).
        for message in forward_messages(txs.clone(), MAX_FORWARD_BYTES) {
            let PeerMessage::Forward(part) = &message else { unreachable!() };
            prop_assert!(!part.is_empty());
            let frame = encode_frame(&message, MAX_PEER_FRAME);
            prop_assert!(frame.is_ok(), "forward of {} txs: {:?}", part.len(), frame.err());
            prop_assert!(frame.unwrap().len() <= MAX_FORWARD_BYTES + 64);
        }
    }
}

#[test]
fn forwards_keep_every_transaction_in_order() {
    let signer = Keypair::from_label("budget/order");
    let txs: Vec<SignedTx> = (1..=1_500)
        .map(|n| tx_of_size(&signer, n, MAX_TX_BYTES))
        .collect();
    let messages = forward_messages(txs.clone(), MAX_FORWARD_BYTES);
    assert!(messages.len() >= 3, "{} messages", messages.len());
    let rejoined: Vec<SignedTx> = messages
        .into_iter()
        .flat_map(|m| match m {
            PeerMessage::Forward(part) => part,
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(rejoined, txs);
}
