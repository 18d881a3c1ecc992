use super::*;
use crate::core::genesis::sample::{SampleOptions, sample_game};
use crate::core::tx::{Tx, TxBody};

fn now(ms: u64) -> Now {
    Now {
        mono_ms: ms,
        unix_ms: 1_800_000_000_000 + ms,
    }
}

/// Runs a lone replica until `done` or 100 steps of 10 ms.
fn run(
    replica: &mut Replica,
    clock: &mut u64,
    mut done: impl FnMut(&ReplicaEvent) -> bool,
) -> bool {
    for _ in 0..100 {
        *clock += 10;
        replica.process(now(*clock)).unwrap();
        write::write_through(replica);
        while let Some(event) = replica.poll_event() {
            if done(&event) {
                return true;
            }
        }
    }
    false
}

#[test]
fn a_single_voter_orders_applies_and_recovers_after_reopening() {
    let game = sample_game(&SampleOptions {
        voters: 1,
        ..SampleOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = ReplicaConfig::new(1);
    config.tick_ms = 10;
    let mut replica = Replica::open(config.clone(), &game.genesis, dir.path()).unwrap();
    let mut clock = 0;
    replica.campaign().unwrap();
    assert!(run(&mut replica, &mut clock, |e| matches!(
        e,
        ReplicaEvent::RoleChanged {
            role: Role::Leader,
            ..
        }
    )));

    let trader = &game.traders[0];
    let tx = Tx {
        signer: trader.public(),
        nonce: 1,
        body: TxBody::Order(crate::core::tx::NewOrder {
            symbol: game.genesis.symbols[0].ticker,
            side: crate::core::types::Side::Buy,
            quantity: 1,
            kind: crate::core::tx::OrderKind::Limit { price: 900 },
        }),
    }
    .sign(trader, &game.genesis.chain_id());
    let hash = tx.hash();
    replica.handle_submit(tx.clone());
    let mut height = 0;
    assert!(run(&mut replica, &mut clock, |e| match e {
        ReplicaEvent::Applied(block) => {
            height = block.block.header.height;
            block
                .receipts
                .iter()
                .any(|r| r.tx == hash && r.is_accepted())
        }
        _ => false,
    }));
    assert_eq!(replica.receipt(&hash).unwrap().unwrap().height, height);

    // The same transaction again is a replay.
    replica.handle_submit(tx);
    assert!(run(&mut replica, &mut clock, |e| matches!(
        e,
        ReplicaEvent::Refused {
            refusal: Refusal::StaleNonce { nonce: 1, last: 1 },
            ..
        }
    )));

    let head = replica.ledger().head().clone();
    drop(replica);
    let reopened = Replica::open(config, &game.genesis, dir.path()).unwrap();
    let mut reopened = reopened;
    let mut clock2 = clock;
    // Committed entries are re-applied from the log on the first steps.
    run(&mut reopened, &mut clock2, |_| false);
    assert_eq!(reopened.ledger().head(), &head);
    assert!(reopened.block(height).unwrap().is_some());
}

#[test]
fn a_snapshot_is_taken_every_snapshot_every_txs_transactions() {
    let game = sample_game(&SampleOptions {
        voters: 1,
        ..SampleOptions::default()
    });
    let dir = tempfile::tempdir().unwrap();
    let mut config = ReplicaConfig::new(1);
    config.tick_ms = 10;
    config.snapshot_every_txs = 3;
    let mut replica = Replica::open(config.clone(), &game.genesis, dir.path()).unwrap();
    let mut clock = 0;
    replica.campaign().unwrap();
    assert!(run(&mut replica, &mut clock, |e| matches!(
        e,
        ReplicaEvent::RoleChanged {
            role: Role::Leader,
            ..
        }
    )));
    let trader = &game.traders[0];
    let snapshot_index = |replica: &Replica| {
        let snapshot = replica.store().latest_snapshot();
        snapshot.map(|s| s.get_metadata().index)
    };
    // One transaction a block: far from `snapshot_every_blocks`, the third one makes
    // the snapshot.
    for nonce in 1..=3 {
        assert_eq!(snapshot_index(&replica), None, "before transaction {nonce}");
        let tx = Tx {
            signer: trader.public(),
            nonce,
            body: TxBody::CancelAll { symbol: None },
        }
        .sign(trader, &game.genesis.chain_id());
        let hash = tx.hash();
        replica.handle_submit(tx);
        assert!(run(&mut replica, &mut clock, |e| match e {
            ReplicaEvent::Applied(block) => block.receipts.iter().any(|r| r.tx == hash),
            _ => false,
        }));
    }
    let applied = replica.status().applied_index;
    assert_eq!(snapshot_index(&replica), Some(applied));
    let head = replica.ledger().head().clone();
    drop(replica);
    // A restart starts from it: nothing to apply again.
    let reopened = Replica::open(config, &game.genesis, dir.path()).unwrap();
    assert_eq!(reopened.status().applied_index, applied);
    assert_eq!(reopened.ledger().head(), &head);
}

#[test]
fn a_raft_message_not_from_the_connections_node_is_ignored() {
    let game = sample_game(&SampleOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut replica = Replica::open(ReplicaConfig::new(1), &game.genesis, dir.path()).unwrap();
    let mut heartbeat = raft::eraftpb::Message::default();
    heartbeat.set_msg_type(raft::eraftpb::MessageType::MsgHeartbeat);
    heartbeat.from = 2;
    heartbeat.to = 1;
    heartbeat.term = 5;
    let forged = || {
        PeerMessage::Raft(Box::new(crate::raft::wire::WireMessage::from(
            heartbeat.clone(),
        )))
    };
    // Node 3's connection claims to carry node 2's heartbeat: dropped.
    replica.handle_peer(3, forged());
    replica.process(now(1)).unwrap();
    assert_eq!(replica.term(), 0);
    assert_eq!(replica.leader(), None);
    // The same message on node 2's own connection is taken.
    replica.handle_peer(2, forged());
    replica.process(now(2)).unwrap();
    assert_eq!(replica.term(), 5);
    assert_eq!(replica.leader(), Some(2));
}

#[test]
fn the_leaders_appends_are_handed_out_before_its_own_write() {
    let game = sample_game(&SampleOptions::default());
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut replicas: Vec<Replica> = (1..=3)
        .map(|id| {
            let mut config = ReplicaConfig::new(id);
            config.tick_ms = 10;
            let dir = dirs[id as usize - 1].path();
            Replica::open(config, &game.genesis, dir).unwrap()
        })
        .collect();
    let is_append_with_entries = |m: &PeerMessage| match m {
        PeerMessage::Raft(wire) => {
            let Ok(m) = raft::eraftpb::Message::try_from((**wire).clone()) else {
                return false;
            };
            m.get_msg_type() == raft::eraftpb::MessageType::MsgAppend && !m.entries.is_empty()
        }
        _ => false,
    };
    // Runs every replica as the node thread does (send what is queued, then perform
    // the next write) and delivers every message; counts node 1's appends with
    // entries by when they left: (before the write of its own entries, otherwise).
    let mut clock = 0;
    let mut round = |replicas: &mut Vec<Replica>| {
        clock += 10;
        let mut counts = (0, 0);
        let mut sent = Vec::new();
        for replica in replicas.iter_mut() {
            replica.process(now(clock)).unwrap();
            let from = replica.id();
            loop {
                let mut appends = 0;
                while let Some((to, m)) = replica.poll_transmit() {
                    appends += usize::from(from == 1 && is_append_with_entries(&m));
                    sent.push((from, to, m));
                }
                let Some(write) = replica.poll_write() else {
                    counts.1 += appends;
                    break;
                };
                if write.set.entries.is_empty() {
                    counts.1 += appends;
                } else {
                    counts.0 += appends;
                }
                replica.store_mut().commit(write.set).unwrap();
                replica.handle_written(write.id).unwrap();
            }
        }
        for (from, to, message) in sent {
            replicas[to as usize - 1].handle_peer(from, message);
        }
        counts
    };
    replicas[0].campaign().unwrap();
    let mut total = (0, 0);
    for _ in 0..20 {
        let counts = round(&mut replicas);
        total = (total.0 + counts.0, total.1 + counts.1);
    }
    assert_eq!(replicas[0].role, Role::Leader);
    let trader = &game.traders[0];
    let tx = Tx {
        signer: trader.public(),
        nonce: 1,
        body: TxBody::CancelAll { symbol: None },
    }
    .sign(trader, &game.genesis.chain_id());
    let hash = tx.hash();
    replicas[0].handle_submit(tx);
    for _ in 0..20 {
        let counts = round(&mut replicas);
        total = (total.0 + counts.0, total.1 + counts.1);
    }
    assert!(
        replicas[2].receipt(&hash).unwrap().is_some(),
        "applied everywhere"
    );
    // The leader's first entry and the transaction's block, to two followers each.
    assert!(total.0 >= 4, "{total:?}");
    assert_eq!(
        total.1, 0,
        "appends waited for the leader's own write: {total:?}"
    );
}

#[test]
fn a_vote_waits_for_the_write_it_depends_on() {
    let game = sample_game(&SampleOptions::default());
    let dir = tempfile::tempdir().unwrap();
    let mut replica = Replica::open(ReplicaConfig::new(1), &game.genesis, dir.path()).unwrap();
    write::write_through(&mut replica);
    let mut request = raft::eraftpb::Message::default();
    request.set_msg_type(raft::eraftpb::MessageType::MsgRequestVote);
    request.from = 2;
    request.to = 1;
    request.term = 5;
    replica.handle_peer(
        2,
        PeerMessage::Raft(Box::new(crate::raft::wire::WireMessage::from(request))),
    );
    replica.process(now(1)).unwrap();
    // The vote is a promise: it leaves only once the term and vote are on disk.
    assert!(
        replica.poll_transmit().is_none(),
        "the vote left before its write"
    );
    let write = replica.poll_write().expect("the term and vote to persist");
    assert!(write.set.durable);
    assert_eq!(write.set.hard_state.as_ref().map(|hs| hs.vote), Some(2));
    // Until it is reported, Raft waits: no work, no campaign, no further write.
    assert!(!replica.has_work());
    assert!(matches!(
        replica.campaign(),
        Err(ReplicaError::WriteInProgress)
    ));
    replica.process(now(2)).unwrap();
    assert!(replica.poll_write().is_none());
    assert!(matches!(
        replica.handle_written(WriteId(write.id.0 + 1)),
        Err(ReplicaError::WriteOutOfOrder { .. })
    ));
    replica.store_mut().commit(write.set).unwrap();
    replica.handle_written(write.id).unwrap();
    let sent: Vec<_> = std::iter::from_fn(|| replica.poll_transmit()).collect();
    assert!(
        matches!(&sent[..], [(2, PeerMessage::Raft(m))]
            if m.msg_type == crate::raft::wire::WireMessageType::MsgRequestVoteResponse
                && !m.reject),
        "the vote goes out once written: {sent:?}"
    );
    assert!(matches!(
        replica.handle_written(write.id),
        Err(ReplicaError::WriteOutOfOrder { .. })
    ));
}

#[test]
fn a_store_of_another_game_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let one = sample_game(&SampleOptions::default());
    let other = sample_game(&SampleOptions {
        traders: 5,
        ..SampleOptions::default()
    });
    // The store records its game in its first write.
    let mut first = Replica::open(ReplicaConfig::new(1), &one.genesis, dir.path()).unwrap();
    write::write_through(&mut first);
    drop(first);
    let err = Replica::open(ReplicaConfig::new(1), &other.genesis, dir.path())
        .err()
        .expect("refused");
    assert!(matches!(err, ReplicaError::OtherChain { .. }), "{err}");
}
