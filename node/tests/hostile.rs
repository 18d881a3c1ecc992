//! A student cannot break the game: each test is one attack, made from a valid learner
//! node key or a valid trader key over real QUIC on loopback against three voters, and
//! checks that the game is unharmed: no voter's term moves (no election), the leader
//! stays, no node stops, the voters agree on their chain, and honest orders still commit.

use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::Refusal;
use qraft_node::api::{Handle, SubmitError};
use qraft_node::config::Tuning;
use qraft_node::core::genesis::NodeSpec;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::core::tx::{AdminAction, MAX_TX_BYTES, NewOrder, OrderKind, SignedTx, Tx, TxBody};
use qraft_node::core::types::{NodeId, Side};
use qraft_node::net::connections::MAX_CONNECTIONS_PER_KEY;
use qraft_node::net::frame::{
    MAX_PEER_FRAME, SNAPSHOT_CHUNK, code as frame_code, write_frame, write_snapshot,
};
use qraft_node::net::node::NetNode;
use qraft_node::net::peer::StreamKind;
use qraft_node::net::tls::{
    Allowlist, CLIENT_ALPN, MAX_CLIENT_STREAMS, PEER_ALPN, TlsError, TlsIdentity, client_endpoint,
    connect, server_endpoint,
};
use qraft_node::raft::wire::WireMessage;
use qraft_node::replica::PeerMessage;
use qraft_node::testkit::quic::{loopback_game, start_voters};
use raft::eraftpb::{Entry, EntryType, Message, MessageType, Snapshot};

const WAIT: Duration = Duration::from_secs(20);
/// The learner's Raft id in these games.
const LEARNER: NodeId = 4;

/// Three voters on loopback, and a learner (node 4) in the genesis whose key the
/// student holds; the learner's own node need not run.
struct Game {
    game: SampleGame,
    learner: Keypair,
    nodes: Vec<NetNode>,
    _dir: tempfile::TempDir,
}

impl Game {
    async fn start(tuning: Tuning) -> Game {
        let mut game = loopback_game(&SampleOptions {
            traders: 6,
            ..SampleOptions::default()
        })
        .unwrap();
        let learner = Keypair::from_label("hostile/learner");
        game.genesis.learners.push(NodeSpec {
            id: LEARNER,
            name: "student-laptop".into(),
            key: learner.public(),
            address: "127.0.0.1:9".into(),
        });
        let dir = tempfile::tempdir().unwrap();
        let nodes = start_voters(&game, dir.path(), tuning).await.unwrap();
        let started = Game {
            game,
            learner,
            nodes,
            _dir: dir,
        };
        started.leader().await;
        started
    }

    fn address(&self, voter: NodeId) -> std::net::SocketAddr {
        self.game.genesis.voters[voter as usize - 1]
            .address
            .parse()
            .unwrap()
    }

    fn handle(&self, id: NodeId) -> &Handle {
        &self.nodes[id as usize - 1].handle
    }

    /// The leader every voter agrees on.
    async fn leader(&self) -> NodeId {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut leaders = Vec::new();
            for node in &self.nodes {
                leaders.push(node.handle.status().await.unwrap().leader);
            }
            if let Some(Some(leader)) = leaders.first().copied()
                && leaders.iter().all(|l| *l == Some(leader))
            {
                return leader;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no leader: {leaders:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Every voter's term and leader.
    async fn terms(&self) -> Vec<(u64, Option<NodeId>)> {
        let mut out = Vec::new();
        for node in &self.nodes {
            let status = node.handle.status().await.expect("the node is running");
            out.push((status.term, status.leader));
        }
        out
    }

    fn order(&self, trader: usize, nonce: u64, price: u64) -> SignedTx {
        let key = &self.game.traders[trader];
        Tx {
            signer: key.public(),
            nonce,
            body: TxBody::Order(NewOrder {
                symbol: self.game.genesis.symbols[0].ticker,
                side: Side::Buy,
                quantity: 1,
                kind: OrderKind::Limit { price },
            }),
        }
        .sign(key, &self.game.genesis.chain_id())
    }

    /// An honest order commits, and afterwards every voter holds the same chain.
    async fn assert_unharmed(&self, before: &[(u64, Option<NodeId>)], trader: usize) {
        assert_eq!(&self.terms().await, before, "no election, the same leader");
        let leader = self.leader().await;
        let tx = self.order(trader, 1_000_000, 900);
        let committed = tokio::time::timeout(WAIT, self.handle(leader).submit(tx))
            .await
            .expect("in time")
            .expect("an honest order commits");
        assert!(committed.receipt.is_accepted(), "{committed:?}");
        assert_eq!(&self.terms().await, before, "no election, the same leader");
        // Every voter reaches that height with the same head.
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let mut heads = Vec::new();
            for node in &self.nodes {
                let status = node.handle.status().await.expect("no node stopped");
                heads.push((status.height, status.head_hash, status.state_digest));
            }
            if heads.iter().all(|h| h.0 >= committed.height) {
                let at = heads.iter().map(|h| h.0).min().unwrap();
                let mut digests = Vec::new();
                for node in &self.nodes {
                    let block = node.handle.block(at).await.unwrap().expect("block");
                    digests.push(block.header.state_digest);
                }
                assert!(digests.windows(2).all(|w| w[0] == w[1]), "{digests:?}");
                return;
            }
            assert!(tokio::time::Instant::now() < deadline, "{heads:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The student's side: a QUIC endpoint with the learner's key, dialling voters as a peer.
struct Student {
    endpoint: quinn::Endpoint,
}

impl Student {
    fn new(game: &Game) -> Student {
        let identity = TlsIdentity::from_keypair(&game.learner).unwrap();
        let endpoint = server_endpoint(
            "127.0.0.1:0".parse().unwrap(),
            &identity,
            Allowlist::from_genesis(&game.game.genesis),
        )
        .unwrap();
        Student { endpoint }
    }

    async fn dial(&self, game: &Game, voter: NodeId) -> quinn::Connection {
        self.try_dial(game, voter)
            .await
            .expect("a learner's key is a valid peer")
    }

    async fn try_dial(&self, game: &Game, voter: NodeId) -> Result<quinn::Connection, TlsError> {
        connect(&self.endpoint, game.address(voter), PEER_ALPN, Some(voter)).await
    }

    /// Sends `messages` to `voter` on one ordinary peer stream; the code the voter
    /// stopped the stream with, if it did.
    async fn send(&self, game: &Game, voter: NodeId, messages: &[PeerMessage]) -> Option<u64> {
        let connection = self.dial(game, voter).await;
        let mut stream = connection.open_uni().await.unwrap();
        write_frame(
            &mut stream,
            &StreamKind::Messages { incarnation: 1 },
            MAX_PEER_FRAME,
        )
        .await
        .unwrap();
        for message in messages {
            if write_frame(&mut stream, message, MAX_PEER_FRAME)
                .await
                .is_err()
            {
                break;
            }
        }
        let _ = stream.finish();
        stop_code(&mut stream).await
    }

    /// Sends a snapshot message to `voter` on its own stream; the code the voter stopped
    /// the stream with, if it did.
    async fn send_snapshot(&self, game: &Game, voter: NodeId, message: Message) -> Option<u64> {
        let connection = self.dial(game, voter).await;
        let mut stream = connection.open_uni().await.unwrap();
        write_frame(&mut stream, &StreamKind::Snapshot, MAX_PEER_FRAME)
            .await
            .unwrap();
        let _ = write_snapshot(&mut stream, WireMessage::from(message), SNAPSHOT_CHUNK).await;
        let _ = stream.finish();
        stop_code(&mut stream).await
    }
}

/// The code the other side stopped `stream` with, if it did within two seconds.
async fn stop_code(stream: &mut quinn::SendStream) -> Option<u64> {
    match tokio::time::timeout(Duration::from_secs(2), stream.stopped()).await {
        Ok(Ok(Some(code))) => Some(code.into_inner()),
        _ => None,
    }
}

fn raft_message(kind: MessageType, to: NodeId, term: u64) -> Message {
    let mut m = Message::default();
    m.set_msg_type(kind);
    m.from = LEARNER;
    m.to = to;
    m.term = term;
    m
}

fn peer(message: Message) -> PeerMessage {
    PeerMessage::Raft(Box::new(WireMessage::from(message)))
}

/// Leadership from a learner's key: a higher-term heartbeat, appends of invented
/// entries, vote and pre-vote requests, timeout-now, and a snapshot whose data restores
/// nothing. raft-rs alone would follow each of them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_learner_cannot_lead_vote_or_install_a_snapshot() {
    let game = Game::start(Tuning::default()).await;
    let before = game.terms().await;
    let term = before[0].0;
    let student = Student::new(&game);
    for voter in 1..=3 {
        let status = game.handle(voter).status().await.unwrap();
        let mut heartbeat = raft_message(MessageType::MsgHeartbeat, voter, term + 100);
        heartbeat.commit = status.commit_index;
        let mut append = raft_message(MessageType::MsgAppend, voter, term + 101);
        append.index = status.last_index;
        append.log_term = term;
        append.commit = status.last_index + 1;
        let mut invented = Entry::default();
        invented.set_entry_type(EntryType::EntryNormal);
        invented.term = term + 101;
        invented.index = status.last_index + 1;
        invented.data = b"the student's own batch".to_vec().into();
        append.set_entries(vec![invented].into());
        let mut vote = raft_message(MessageType::MsgRequestVote, voter, term + 102);
        vote.index = status.last_index + 1_000;
        vote.log_term = term + 50;
        let mut pre_vote = vote.clone();
        pre_vote.set_msg_type(MessageType::MsgRequestPreVote);
        let timeout_now = raft_message(MessageType::MsgTimeoutNow, voter, term);
        let stopped = student
            .send(
                &game,
                voter,
                &[
                    peer(pre_vote),
                    peer(vote),
                    peer(heartbeat),
                    peer(append),
                    peer(timeout_now),
                ],
            )
            .await;
        assert_eq!(stopped, None, "well-formed messages are read, then refused");
        let mut snapshot = raft_message(MessageType::MsgSnapshot, voter, term + 103);
        let mut data = Snapshot {
            // Larger than a stream's window: the voter must read (or refuse) it.
            data: vec![0xAB; 4 << 20].into(),
            ..Snapshot::default()
        };
        data.mut_metadata().index = status.commit_index + 10;
        data.mut_metadata().term = term + 103;
        data.mut_metadata().mut_conf_state().voters = vec![LEARNER];
        snapshot.set_snapshot(data);
        // A snapshot from a learner is refused before its data is read.
        let stopped = student.send_snapshot(&game, voter, snapshot).await;
        assert_eq!(stopped, Some(frame_code::REFUSED.into()), "node {voter}");
        // So is a frame larger than a learner ever sends (8 MiB would be a voter's).
        let key = &game.game.traders[0];
        let filler = "x".repeat(1_000);
        let big: Vec<SignedTx> = (0..3_000)
            .map(|n| {
                Tx {
                    signer: key.public(),
                    nonce: 10_000 + n,
                    body: TxBody::Admin(AdminAction::News {
                        headline: filler.clone(),
                    }),
                }
                .sign(key, &game.game.genesis.chain_id())
            })
            .collect();
        let stopped = student
            .send(&game, voter, &[PeerMessage::Forward(big)])
            .await;
        assert_eq!(stopped, Some(frame_code::TOO_LARGE.into()), "node {voter}");
    }
    // Every voter saw (and refused) the student's messages.
    let deadline = tokio::time::Instant::now() + WAIT;
    for voter in 1..=3 {
        loop {
            let refused = game.handle(voter).refused_peer_messages().await.unwrap();
            if refused >= 5 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "node {voter}: {refused} refused"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    game.assert_unharmed(&before, 0).await;
}

/// A trader's 60 KB transaction, submitted to its node and forwarded by a learner's key
/// to the leader, is refused at both doors and stored in no block.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_transaction_is_refused_and_never_stored() {
    let game = Game::start(Tuning::default()).await;
    let before = game.terms().await;
    let key = &game.game.traders[1];
    let big = Tx {
        signer: key.public(),
        nonce: 7,
        body: TxBody::Admin(AdminAction::News {
            headline: "x".repeat(60_000),
        }),
    }
    .sign(key, &game.game.genesis.chain_id());
    let hash = big.hash();
    let leader = game.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    for node in [leader, follower] {
        let answer = game.handle(node).submit(big.clone()).await;
        assert!(
            matches!(
                answer,
                Err(SubmitError::Refused(Refusal::TooLarge {
                    max: MAX_TX_BYTES,
                    ..
                }))
            ),
            "{answer:?}"
        );
    }
    // Straight into the leader's mempool, as a forward from the learner.
    Student::new(&game)
        .send(&game, leader, &[PeerMessage::Forward(vec![big.clone()])])
        .await;
    game.assert_unharmed(&before, 2).await;
    for node in 1..=3 {
        assert_eq!(
            game.handle(node).receipt(hash).await.unwrap(),
            None,
            "node {node}"
        );
    }
}

/// A learner's key answers "refused" for honest traders' orders it was never sent, one
/// submitted to the leader itself and one forwarded by a follower: their nodes must not
/// believe it (a bot would sign the order again: a double order).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_cannot_refuse_for_another() {
    // Batches wait 300 ms, so the forged answers arrive while the orders wait.
    let game = Game::start(Tuning {
        max_batch_delay_ms: Some(300),
        ..Tuning::default()
    })
    .await;
    let before = game.terms().await;
    let leader = game.leader().await;
    let follower = (1..=3).find(|id| *id != leader).unwrap();
    let mut pending = Vec::new();
    for (node, trader) in [(leader, 3), (follower, 4)] {
        let tx = game.order(trader, 5, 901);
        let hash = tx.hash();
        pending.push(game.handle(node).enqueue(tx));
        tokio::time::sleep(Duration::from_millis(30)).await;
        Student::new(&game)
            .send(
                &game,
                node,
                &[PeerMessage::Refused(vec![(hash, Refusal::BadSignature)])],
            )
            .await;
    }
    for pending in pending {
        let committed = tokio::time::timeout(WAIT, pending.wait())
            .await
            .expect("in time")
            .expect("the order is applied, not refused");
        assert!(committed.receipt.is_accepted(), "{committed:?}");
    }
    game.assert_unharmed(&before, 0).await;
}

/// One student floods the leader with pre-signed orders: past their share of the
/// mempool they are told busy, while another trader's order is still taken.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flooding_signer_gets_busy_and_others_do_not() {
    // A mempool of 160 (a share of 10 each), cut into a batch only every 500 ms.
    let game = Game::start(Tuning {
        mempool_capacity: Some(160),
        max_batch_delay_ms: Some(500),
        ..Tuning::default()
    })
    .await;
    let before = game.terms().await;
    let leader = game.leader().await;
    let flood: Vec<_> = (1..=50)
        .map(|nonce| game.handle(leader).enqueue(game.order(4, nonce, 800)))
        .collect();
    let honest = game.handle(leader).enqueue(game.order(5, 1, 801));
    let mut taken = 0;
    let mut over_share = 0;
    for pending in flood {
        match pending.wait().await {
            Ok(_) => taken += 1,
            Err(SubmitError::Refused(Refusal::OverShare { .. })) => over_share += 1,
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!((taken, over_share), (10, 40));
    let honest = honest.wait().await.expect("the other trader is not busy");
    assert!(honest.receipt.is_accepted());
    game.assert_unharmed(&before, 0).await;
}

/// One student with a trader key opens as many connections as they can, every stream
/// each allows with a frame announced and never finished, and keeps asking for blocks:
/// their connections past the per-key budget are refused, and the game goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_student_cannot_hog_a_node_with_connections_and_half_sent_requests() {
    let game = Game::start(Tuning::default()).await;
    let before = game.terms().await;
    let leader = game.leader().await;
    let key = &game.game.traders[1];
    let endpoint = client_endpoint(
        "127.0.0.1:0".parse().unwrap(),
        &TlsIdentity::from_keypair(key).unwrap(),
        Allowlist::from_genesis(&game.game.genesis),
    )
    .unwrap();
    // Forty handshakes at once from one key: no more than the budget gets in.
    let address = game.address(leader);
    let dials: Vec<_> = (0..40)
        .map(|_| {
            let endpoint = endpoint.clone();
            tokio::spawn(async move { connect(&endpoint, address, CLIENT_ALPN, None).await })
        })
        .collect();
    let mut results = Vec::new();
    for dial in dials {
        results.push(dial.await.unwrap());
    }
    // (A handshake can complete just before the node counts the connection and closes
    // it: such a connection is closed with the refusal a moment later.)
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (admitted, refused): (Vec<_>, Vec<_>) = results
        .into_iter()
        .partition(|r| r.as_ref().is_ok_and(|c| c.close_reason().is_none()));
    assert_eq!(admitted.len(), MAX_CONNECTIONS_PER_KEY);
    let refused: Vec<Result<quinn::Connection, TlsError>> = refused
        .into_iter()
        .map(|r| match r {
            Ok(closed) => Err(qraft_node::net::tls::connection_error(
                address,
                closed.close_reason().unwrap(),
            )),
            Err(err) => Err(err),
        })
        .collect();
    for refusal in &refused {
        let Err(TlsError::Refused { reason, .. }) = refusal else {
            panic!("{refusal:?}");
        };
        assert!(reason.contains("connections"), "{reason}");
    }
    // Every stream of every admitted connection holds half a request.
    let mut held = Vec::new();
    let mut connections = Vec::new();
    for connection in admitted.into_iter().map(Result::unwrap) {
        for _ in 0..MAX_CLIENT_STREAMS - 1 {
            let (mut send, recv) = connection.open_bi().await.unwrap();
            send.write_all(&4_000u32.to_be_bytes()).await.unwrap();
            send.write_all(&[1; 10]).await.unwrap();
            held.push((send, recv));
        }
        connections.push(connection);
    }
    game.assert_unharmed(&before, 0).await;
    drop((held, connections));
}

/// The admin removes the student's learner node: every voter closes its connections
/// and refuses its key from that block on, and the leader takes it out of the cluster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_removed_node_loses_its_links_everywhere() {
    let game = Game::start(Tuning::default()).await;
    let before = game.terms().await;
    let student = Student::new(&game);
    let mut open = Vec::new();
    for voter in 1..=3 {
        open.push(student.dial(&game, voter).await);
    }
    let leader = game.leader().await;
    let removal = Tx {
        signer: game.game.admin.public(),
        nonce: 1,
        body: TxBody::Admin(AdminAction::RemoveNode { id: LEARNER }),
    }
    .sign(&game.game.admin, &game.game.genesis.chain_id());
    let committed = game.handle(leader).submit(removal).await.unwrap();
    assert!(committed.receipt.is_accepted(), "{committed:?}");
    for connection in &open {
        tokio::time::timeout(WAIT, connection.closed())
            .await
            .expect("the removal closes the learner's connection");
    }
    for voter in 1..=3 {
        match student.try_dial(&game, voter).await {
            Err(TlsError::Refused { reason, .. }) => {
                assert!(reason.contains("removed"), "node {voter}: {reason}")
            }
            other => panic!("node {voter}: {other:?}"),
        }
    }
    let deadline = tokio::time::Instant::now() + WAIT;
    for voter in 1..=3 {
        loop {
            let status = game.handle(voter).status().await.unwrap();
            if !status.learners.contains(&LEARNER) && !status.voters.contains(&LEARNER) {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "{status:?}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    game.assert_unharmed(&before, 2).await;
}
