//! The session against scripted nodes: a [`Scripted`] transport answers each send from
//! its script and settles by the one rule from what it is told the game holds, so each
//! test states the node's answers and checks the outcome, what was sent, and how often.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use qraft_keys::{Keypair, PublicKey};
use qraft_node::api::Refusal;
use qraft_node::core::exchange::receipt::{Effect, Outcome, Receipt};
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::genesis::sample::{SampleOptions, sample_game};
use qraft_node::core::hash::Hash32;
use qraft_node::core::tx::{SignedTx, TxBody, TxHash};
use qraft_node::net::proto::{CommittedView, Event, Topics};
use tokio::sync::{Notify, mpsc};

use super::{
    BoxFuture, Dial, DialError, Events, Follow, FollowError, Followed, Game, Link, PendingAnswer,
    Policy, Progress, Sent, Sequencer, Session, Settled, SubmitError, Subscribe, Transport,
    Unanswered, settle,
};
use crate::failover::{Settlement, nonce_passed, settlement};
use crate::retry::RETRIES;

/// How the scripted node answers one send.
#[derive(Clone, Debug)]
enum Step {
    /// Applied: accepted, or rejected by the exchange.
    Applied(Outcome),
    /// Refused.
    Refuse(Refusal),
    /// The connection fails once it is written: in doubt.
    Drop,
    /// Never written: the connection is gone.
    NotSent,
    /// Written, and no answer until the node is lost (then in doubt).
    Hold,
}

/// A node that answers from a script.
struct Scripted {
    address: String,
    script: Mutex<VecDeque<Step>>,
    /// What it answers once the script is used up.
    then: Step,
    sent: Mutex<Vec<SignedTx>>,
    /// The game's last nonce from the key, as this node knows it.
    last_nonce: Mutex<u64>,
    /// The receipts this node holds.
    receipts: Mutex<HashMap<TxHash, CommittedView>>,
    look_ups: AtomicUsize,
    nonce_asks: AtomicUsize,
    closed: Mutex<bool>,
    lost: Notify,
    /// The open subscriptions' feeds.
    feeds: Mutex<Vec<mpsc::UnboundedSender<Event>>>,
    subscriptions: AtomicUsize,
}

impl Scripted {
    fn new(address: &str, script: impl IntoIterator<Item = Step>, then: Step) -> Arc<Scripted> {
        Arc::new(Scripted {
            address: address.to_string(),
            script: Mutex::new(script.into_iter().collect()),
            then,
            sent: Mutex::default(),
            last_nonce: Mutex::new(0),
            receipts: Mutex::default(),
            look_ups: AtomicUsize::new(0),
            nonce_asks: AtomicUsize::new(0),
            closed: Mutex::new(false),
            lost: Notify::new(),
            feeds: Mutex::default(),
            subscriptions: AtomicUsize::new(0),
        })
    }

    fn sent(&self) -> Vec<SignedTx> {
        self.sent.lock().unwrap().clone()
    }

    fn nonces(&self) -> Vec<u64> {
        self.sent().iter().map(|tx| tx.tx.nonce).collect()
    }

    /// The node is lost: its connection closes.
    fn lose(&self) {
        *self.closed.lock().unwrap() = true;
        self.lost.notify_waiters();
    }

    /// Resolves once the node is lost.
    async fn until_lost(&self) {
        loop {
            let notified = self.lost.notified();
            if *self.closed.lock().unwrap() {
                return;
            }
            notified.await;
        }
    }

    /// Sends `event` to every open subscription.
    fn publish(&self, event: Event) {
        for feed in self.feeds.lock().unwrap().iter() {
            let _ = feed.send(event.clone());
        }
    }

    /// Ends every open subscription, the connection serving.
    fn end_feeds(&self) {
        self.feeds.lock().unwrap().clear();
    }

    fn hold(&self, committed: CommittedView) {
        self.receipts
            .lock()
            .unwrap()
            .insert(committed.receipt.tx, committed);
    }
}

fn committed(hash: TxHash, outcome: Outcome) -> CommittedView {
    CommittedView {
        height: 7,
        block_hash: Hash32([9; 32]),
        index: 0,
        receipt: Receipt { tx: hash, outcome },
    }
}

fn accepted() -> Outcome {
    Outcome::Accepted(Effect::Admin)
}

/// The session's transport: a shared scripted node.
#[derive(Clone)]
struct Node(Arc<Scripted>);

impl Transport for Node {
    type Error = String;

    fn address(&self) -> String {
        self.0.address.clone()
    }

    fn is_closed(&self) -> bool {
        *self.0.closed.lock().unwrap()
    }

    async fn lost(&self) -> String {
        self.0.until_lost().await;
        "scripted loss".to_string()
    }

    fn abandon(&self, _why: &str) {
        self.0.lose();
    }

    async fn send(&self, tx: &SignedTx) -> Result<PendingAnswer<String>, Unanswered<String>> {
        if self.is_closed() {
            return Err(Unanswered::NotSent("closed".into()));
        }
        let step = self.0.script.lock().unwrap().pop_front();
        let step = step.unwrap_or_else(|| self.0.then.clone());
        if matches!(step, Step::NotSent) {
            return Err(Unanswered::NotSent("the connection is gone".into()));
        }
        self.0.sent.lock().unwrap().push(tx.clone());
        let hash = tx.hash();
        if matches!(step, Step::Hold) {
            let node = self.0.clone();
            return Ok(Box::pin(async move {
                node.until_lost().await;
                Err(Unanswered::InDoubt("connection lost".into()))
            }));
        }
        let answer = match step {
            Step::Applied(outcome) => {
                let view = committed(hash, outcome);
                self.0.hold(view.clone());
                let mut last = self.0.last_nonce.lock().unwrap();
                *last = (*last).max(tx.tx.nonce);
                Ok(view)
            }
            Step::Refuse(refusal) => Err(Unanswered::Refused(refusal)),
            Step::Drop | Step::NotSent | Step::Hold => {
                Err(Unanswered::InDoubt("stream reset".into()))
            }
        };
        Ok(Box::pin(async move { answer }) as BoxFuture<_>)
    }

    async fn last_nonce(&self, _key: PublicKey) -> Result<Option<u64>, String> {
        self.0.nonce_asks.fetch_add(1, Ordering::SeqCst);
        Ok(Some(*self.0.last_nonce.lock().unwrap()))
    }

    async fn committed(&self, hash: TxHash) -> Result<Option<CommittedView>, String> {
        Ok(self.0.receipts.lock().unwrap().get(&hash).cloned())
    }

    async fn look_up(
        &self,
        hash: TxHash,
        _key: PublicKey,
        nonce: u64,
    ) -> Result<Settlement<CommittedView>, String> {
        self.0.look_ups.fetch_add(1, Ordering::SeqCst);
        let passed = nonce_passed(*self.0.last_nonce.lock().unwrap(), nonce);
        Ok(settlement(passed, self.committed(hash).await?))
    }
}

/// A subscription to a scripted node: what it publishes, until it is lost.
struct Feed {
    events: mpsc::UnboundedReceiver<Event>,
    node: Arc<Scripted>,
}

impl Events for Feed {
    type Error = String;

    async fn next(&mut self) -> Result<Option<Event>, String> {
        tokio::select! {
            biased;
            event = self.events.recv() => Ok(event),
            () = self.node.until_lost() => Err("connection lost".into()),
        }
    }
}

impl Subscribe for Node {
    type Events = Feed;

    async fn subscribe(&self, _topics: Topics) -> Result<Feed, String> {
        if self.is_closed() {
            return Err("closed".into());
        }
        self.0.subscriptions.fetch_add(1, Ordering::SeqCst);
        let (sender, events) = mpsc::unbounded_channel();
        self.0.feeds.lock().unwrap().push(sender);
        let node = self.0.clone();
        Ok(Feed { events, node })
    }
}

/// Hands out the scripted nodes in turn, as reconnections reach them.
struct Nodes(Mutex<VecDeque<Arc<Scripted>>>);

impl Dial<Node> for Nodes {
    fn dial(&self, _nodes: Vec<String>) -> BoxFuture<Result<Node, DialError>> {
        let next = self.0.lock().unwrap().pop_front();
        Box::pin(async move {
            next.map(Node)
                .ok_or_else(|| DialError::Unreachable("no node answers".into()))
        })
    }
}

fn keypair() -> Keypair {
    sample_game(&SampleOptions::default()).traders[0].clone()
}

fn session(node: &Arc<Scripted>, next: Vec<Arc<Scripted>>, timeout: Duration) -> Session<Node> {
    let sample = sample_game(&SampleOptions::default());
    let dial: Arc<dyn Dial<Node>> = Arc::new(Nodes(Mutex::new(next.into())));
    Session::new(
        Node(node.clone()),
        keypair(),
        Game::new(sample.genesis, Vec::new()),
        timeout,
        Some(dial),
    )
}

fn body() -> TxBody {
    TxBody::CancelAll { symbol: None }
}

/// Submits `body()`, noting every retry.
async fn submit(
    session: &Session<Node>,
) -> (Result<CommittedView, SubmitError<String>>, Vec<Progress>) {
    let seen = Mutex::new(Vec::new());
    let result = session
        .submit(&body(), None, &|p| {
            if !matches!(p, Progress::Sending(_)) {
                seen.lock().unwrap().push(p)
            }
        })
        .await;
    (result, seen.into_inner().unwrap())
}

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn passing_refusals_are_signed_again_and_resent_until_accepted() {
    let node = Scripted::new(
        "a:1",
        [
            Step::Refuse(Refusal::Busy { capacity: 4 }),
            Step::Refuse(Refusal::NoLeader),
            Step::Refuse(Refusal::LeaderChanged),
        ],
        Step::Applied(accepted()),
    );
    let session = session(&node, vec![], SECOND * 5);
    let (result, progress) = submit(&session).await;
    let receipt = result.expect("accepted on the fourth send");
    assert_eq!(receipt.receipt.outcome, accepted());
    let sent = node.sent();
    assert_eq!(sent.len(), 4, "three refusals, then the one applied");
    assert_eq!(
        receipt.receipt.tx,
        sent[3].hash(),
        "the receipt is the last copy's"
    );
    let nonces = node.nonces();
    assert!(
        nonces.windows(2).all(|w| w[0] < w[1]),
        "a fresh nonce each time: {nonces:?}"
    );
    assert_eq!(
        progress,
        [
            Progress::Resending(Refusal::Busy { capacity: 4 }),
            Progress::Resending(Refusal::NoLeader),
            Progress::Resending(Refusal::LeaderChanged),
        ]
    );
    assert_eq!(
        node.nonce_asks.load(Ordering::SeqCst),
        1,
        "the nonce is learnt once"
    );
    assert_eq!(
        session.unanswered(&sent[3].hash()),
        None,
        "nothing left in flight"
    );
}

#[tokio::test]
async fn a_node_that_stays_busy_is_given_up_after_the_retries() {
    let node = Scripted::new("a:1", [], Step::Refuse(Refusal::Busy { capacity: 1 }));
    let session = session(&node, vec![], SECOND * 10);
    let (result, progress) = submit(&session).await;
    match result {
        Err(SubmitError::Refused { tx, refusal }) => {
            assert_eq!(refusal, Refusal::Busy { capacity: 1 });
            assert_eq!(tx, node.sent().last().unwrap().hash());
        }
        other => panic!("expected the last refusal, got {other:?}"),
    }
    assert_eq!(
        node.sent().len(),
        RETRIES as usize + 1,
        "the first send and {RETRIES} more"
    );
    assert_eq!(progress.len(), RETRIES as usize);
}

#[tokio::test]
async fn a_stale_nonce_is_learnt_once_and_the_transaction_signed_above_it() {
    let ahead = crate::nonce::clock_micros() + 3_600_000_000;
    let node = Scripted::new(
        "a:1",
        [Step::Refuse(Refusal::StaleNonce {
            nonce: 1,
            last: ahead,
        })],
        Step::Applied(accepted()),
    );
    let session = session(&node, vec![], SECOND * 5);
    let (result, progress) = submit(&session).await;
    assert_eq!(result.unwrap().receipt.outcome, accepted());
    let nonces = node.nonces();
    assert_eq!(nonces.len(), 2);
    assert_eq!(
        nonces[1],
        ahead + 1,
        "signed just above the nonce the game had seen"
    );
    assert_eq!(progress, [Progress::Resyncing]);
}

#[tokio::test]
async fn a_second_nonce_setback_is_final() {
    let node = Scripted::new(
        "a:1",
        [
            Step::Refuse(Refusal::StaleNonce { nonce: 1, last: 5 }),
            Step::Refuse(Refusal::NonceInUse { nonce: 6 }),
        ],
        Step::Applied(accepted()),
    );
    let session = session(&node, vec![], SECOND * 5);
    let (result, _) = submit(&session).await;
    assert!(
        matches!(
            result,
            Err(SubmitError::Refused {
                refusal: Refusal::NonceInUse { nonce: 6 },
                ..
            })
        ),
        "{result:?}"
    );
    assert_eq!(node.sent().len(), 2, "resynced once, not twice");
}

#[tokio::test]
async fn a_transaction_overtaken_at_apply_is_signed_again_once() {
    // Another program with this key got a later nonce applied first: this copy is
    // applied as stale, and signed again above it.
    let ahead = crate::nonce::clock_micros() + 3_600_000_000;
    let node = Scripted::new(
        "a:1",
        [Step::Applied(Outcome::Rejected(Rejection::StaleNonce {
            nonce: 1,
            last: ahead,
        }))],
        Step::Applied(accepted()),
    );
    let session = session(&node, vec![], SECOND * 5);
    let (result, progress) = submit(&session).await;
    assert_eq!(result.unwrap().receipt.outcome, accepted());
    assert_eq!(node.nonces()[1], ahead + 1);
    assert_eq!(progress, [Progress::Resyncing]);
    // Overtaken twice: the stale receipt is the answer.
    let node = Scripted::new(
        "a:1",
        [],
        Step::Applied(Outcome::Rejected(Rejection::StaleNonce {
            nonce: 1,
            last: 2,
        })),
    );
    let session = super::tests::session(&node, vec![], SECOND * 5);
    let (result, _) = submit(&session).await;
    assert!(matches!(
        result.unwrap().receipt.outcome,
        Outcome::Rejected(Rejection::StaleNonce { .. })
    ));
    assert_eq!(node.sent().len(), 2);
}

#[tokio::test]
async fn a_final_refusal_is_not_retried() {
    let node = Scripted::new("a:1", [], Step::Refuse(Refusal::UnknownSigner));
    let session = session(&node, vec![], SECOND * 5);
    let (result, progress) = submit(&session).await;
    assert!(matches!(
        result,
        Err(SubmitError::Refused {
            refusal: Refusal::UnknownSigner,
            ..
        })
    ));
    assert_eq!(node.sent().len(), 1);
    assert!(progress.is_empty());
}

#[tokio::test]
async fn a_connection_gone_before_writing_is_not_in_doubt() {
    let node = Scripted::new("a:1", [], Step::NotSent);
    let session = session(&node, vec![], SECOND * 5);
    let (result, _) = submit(&session).await;
    let err = result.unwrap_err();
    assert!(matches!(err, SubmitError::NotSent(_)), "{err:?}");
    assert_eq!(err.in_doubt(), None);
    assert!(node.sent().is_empty());
}

/// Submits on `first`, whose connection fails with the transaction written, then loses
/// `first` and settles the transaction through a link that moves to the next nodes.
async fn lost_in_flight(
    first: &Arc<Scripted>,
    next: Vec<Arc<Scripted>>,
    timeout: Duration,
) -> (SignedTx, Settled<Session<Node>>) {
    let session = Arc::new(session(first, next, timeout));
    let (result, _) = submit(&session).await;
    let tx = match result {
        Err(err @ SubmitError::InDoubt { .. }) => err.in_doubt().unwrap(),
        other => panic!("expected a transaction in doubt, got {other:?}"),
    };
    let signed = session.unanswered(&tx).expect("kept in flight");
    let (link, watcher) = Link::start(session.clone(), |_, _, _| {});
    first.lose();
    let settled = settle(&link, session.clone(), tx, "in doubt".into()).await;
    watcher.abort();
    assert_eq!(
        session.unanswered(&tx),
        None,
        "settled: no longer in flight"
    );
    (signed, settled)
}

#[tokio::test]
async fn a_leader_lost_mid_submit_is_settled_by_the_copy_sent_again_on_the_next_node() {
    let first = Scripted::new("a:1", [Step::Drop], Step::NotSent);
    let second = Scripted::new("b:1", [], Step::Applied(accepted()));
    let (signed, settled) = lost_in_flight(&first, vec![second.clone()], SECOND * 5).await;
    let Settled::Applied {
        committed,
        body,
        on,
    } = settled
    else {
        panic!("expected its receipt");
    };
    assert_eq!(committed.receipt.tx, signed.hash());
    assert_eq!(body, Some(body_of(&signed)));
    assert_eq!(
        on.transport().address(),
        "b:1",
        "settled on the node moved to"
    );
    // The identical signed transaction was sent again, once, and its copy's receipt
    // settled it without a lookup.
    assert_eq!(
        second.sent().iter().map(SignedTx::hash).collect::<Vec<_>>(),
        [signed.hash()]
    );
    assert_eq!(second.look_ups.load(Ordering::SeqCst), 0);
    assert_eq!(
        second.nonce_asks.load(Ordering::SeqCst),
        1,
        "the successor learnt the nonce"
    );
}

fn body_of(tx: &SignedTx) -> TxBody {
    tx.tx.body.clone()
}

#[tokio::test]
async fn a_transaction_whose_nonce_a_later_one_passed_is_not_applied() {
    let first = Scripted::new("a:1", [Step::Drop], Step::NotSent);
    // The next node has applied a later transaction of this key and holds no receipt for
    // this one; the copy sent again is refused as stale.
    let second = Scripted::new(
        "b:1",
        [],
        Step::Refuse(Refusal::StaleNonce { nonce: 0, last: 0 }),
    );
    *second.last_nonce.lock().unwrap() = u64::MAX;
    let (_, settled) = lost_in_flight(&first, vec![second.clone()], SECOND * 5).await;
    assert!(matches!(settled, Settled::NotApplied));
    assert_eq!(
        second.look_ups.load(Ordering::SeqCst),
        1,
        "one look settles it"
    );
    assert_eq!(second.sent().len(), 1, "only the copy sent on reconnecting");
}

#[tokio::test]
async fn a_receipt_the_next_node_holds_settles_it_even_if_the_copy_is_refused() {
    let first = Scripted::new("a:1", [Step::Drop], Step::NotSent);
    let second = Scripted::new("b:1", [], Step::Refuse(Refusal::Duplicate));
    let session_tx = {
        // The first copy reached the chain before its node died: the next node holds its
        // receipt (signed with the session's nonce, learnt on the first send).
        let second = second.clone();
        move |signed: &SignedTx| {
            second.hold(committed(signed.hash(), accepted()));
            *second.last_nonce.lock().unwrap() = signed.tx.nonce;
        }
    };
    let session = Arc::new(session(&first, vec![second.clone()], SECOND * 5));
    let (result, _) = submit(&session).await;
    let tx = result.unwrap_err().in_doubt().unwrap();
    session_tx(&session.unanswered(&tx).unwrap());
    let (link, watcher) = Link::start(session.clone(), |_, _, _| {});
    first.lose();
    let settled = settle(&link, session.clone(), tx, "in doubt".into()).await;
    watcher.abort();
    let Settled::Applied { committed, .. } = settled else {
        panic!("expected its receipt");
    };
    assert_eq!(committed.receipt.tx, tx);
    assert_eq!(second.look_ups.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_transaction_nobody_can_tell_of_is_unknown_after_the_wait() {
    let first = Scripted::new("a:1", [Step::Drop], Step::NotSent);
    // The next node has neither a receipt nor a passed nonce, and refuses every copy.
    let second = Scripted::new("b:1", [], Step::Refuse(Refusal::NoLeader));
    let (_, settled) = lost_in_flight(&first, vec![second.clone()], SECOND).await;
    let Settled::Unknown {
        first_node, waited, ..
    } = settled
    else {
        panic!("expected unknown");
    };
    assert_eq!(first_node, "a:1");
    assert_eq!(waited, SECOND, "the session's timeout, below SETTLE_WAIT");
    assert!(second.look_ups.load(Ordering::SeqCst) >= 1);
}

#[tokio::test]
async fn when_no_node_answers_the_link_goes_down() {
    let first = Scripted::new("a:1", [], Step::Applied(accepted()));
    let session = Arc::new(session(&first, vec![], Duration::from_millis(300)));
    let (link, _watcher) = Link::start(session.clone(), |_, _, _| {});
    first.lose();
    let down = tokio::time::timeout(SECOND * 5, link.down()).await.unwrap();
    assert!(
        matches!(down, super::ReconnectError::Exhausted { .. }),
        "{down:?}"
    );
    assert!(link.current().is_err());
}

#[tokio::test]
async fn turns_keep_transactions_in_the_order_asked_for() {
    let node = Scripted::new("a:1", [], Step::Applied(accepted()));
    let session = Arc::new(session(&node, vec![], SECOND * 5));
    session.sync_nonce().await.unwrap();
    let sequencer = Sequencer::default();
    let mut tasks = Vec::new();
    for i in 0..5u64 {
        let turn = sequencer.turn();
        let session = session.clone();
        tasks.push(tokio::spawn(async move {
            // Later ones are ready sooner.
            tokio::time::sleep(Duration::from_millis(5 * (5 - i))).await;
            let body = TxBody::Cancel { order: i };
            session.submit(&body, Some(turn), &|_| {}).await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let orders: Vec<_> = node
        .sent()
        .iter()
        .map(|tx| match tx.tx.body {
            TxBody::Cancel { order } => order,
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(orders, [0, 1, 2, 3, 4]);
    let nonces = node.nonces();
    assert!(
        nonces.windows(2).all(|w| w[0] < w[1]),
        "nonces in the same order"
    );
}

fn hashes(node: &Scripted) -> Vec<TxHash> {
    node.sent().iter().map(SignedTx::hash).collect()
}

#[tokio::test]
async fn a_sent_dropped_unfinished_is_no_longer_in_flight_nor_sent_again() {
    let first = Scripted::new("a:1", [], Step::Hold);
    let second = Scripted::new("b:1", [], Step::Applied(accepted()));
    let session = session(&first, vec![second.clone()], SECOND * 5);
    let dropped = session.write(&body(), None, &|_| {}).await.unwrap();
    let kept = session.write(&body(), None, &|_| {}).await.unwrap();
    let (dropped_hash, kept_hash) = (dropped.hash(), kept.hash());
    assert!(
        session.unanswered(&dropped_hash).is_some(),
        "written: in flight"
    );
    assert_eq!(session.in_flight(), 2);
    drop(dropped);
    assert_eq!(
        session.unanswered(&dropped_hash),
        None,
        "given up when dropped"
    );
    assert_eq!(session.in_flight(), 1);
    assert!(session.unanswered(&kept_hash).is_some());
    // A successor on another node sends again only what is still in flight.
    first.lose();
    let next = session.reconnect().await.expect("the next node answers");
    assert_eq!(hashes(&second), [kept_hash]);
    // Finished there: answered by the copy's receipt, and no longer in flight anywhere.
    let copy = next.take_resent(&kept_hash).expect("the copy's answer");
    assert_eq!(copy.await.unwrap().receipt.tx, kept_hash);
    drop(kept);
    assert_eq!(next.in_flight(), 0, "successors share what is in flight");
    assert_eq!(session.in_flight(), 0);
}

#[tokio::test]
async fn written_now_and_finished_later_across_a_lost_node_settles_on_the_next() {
    let first = Scripted::new("a:1", [], Step::Hold);
    let second = Scripted::new("b:1", [], Step::Applied(accepted()));
    let session = Arc::new(session(&first, vec![second.clone()], SECOND * 5));
    // Three written now, in the order asked for, before any is finished.
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.push(session.write(&body(), None, &|_| {}).await.unwrap());
    }
    let written: Vec<TxHash> = sent.iter().map(Sent::hash).collect();
    assert_eq!(hashes(&first), written);
    let nonces: Vec<u64> = sent.iter().map(Sent::nonce).collect();
    assert!(nonces.windows(2).all(|w| w[0] < w[1]), "{nonces:?}");
    let (link, watcher) = Link::start(session.clone(), |_, _, _| {});
    first.lose();
    // Finished later, the last first: each answer is in doubt on the lost node, and
    // settles on the next one by the copy sent again there.
    for sent in sent.into_iter().rev() {
        let hash = sent.hash();
        let err = session.finish(sent, RETRIES, &|_| {}).await.unwrap_err();
        assert_eq!(err.in_doubt(), Some(hash), "{err:?}");
        assert!(
            session.unanswered(&hash).is_some(),
            "in doubt: kept for settling"
        );
        let settled = settle(&link, session.clone(), hash, "in doubt".into()).await;
        let Settled::Applied { committed, on, .. } = settled else {
            panic!("expected its receipt");
        };
        assert_eq!(
            committed.receipt.tx, hash,
            "the same transaction, not a new one"
        );
        assert_eq!(on.transport().address(), "b:1");
    }
    watcher.abort();
    assert_eq!(
        hashes(&second),
        written,
        "sent again once each, in nonce order"
    );
    assert_eq!(second.look_ups.load(Ordering::SeqCst), 0);
    assert_eq!(session.in_flight(), 0);
}

#[tokio::test]
async fn a_settle_given_up_midway_leaves_nothing_in_flight() {
    let first = Scripted::new("a:1", [], Step::Hold);
    // No node to move to: settling waits for a replacement that never comes.
    let session = Arc::new(session(&first, vec![], SECOND * 5));
    let sent = session.write(&body(), None, &|_| {}).await.unwrap();
    let hash = sent.hash();
    let (link, watcher) = Link::start(session.clone(), |_, _, _| {});
    first.lose();
    let err = session.finish(sent, RETRIES, &|_| {}).await.unwrap_err();
    assert_eq!(err.in_doubt(), Some(hash));
    let settling = settle(&link, session.clone(), hash, "in doubt".into());
    let given_up = tokio::time::timeout(Duration::from_millis(50), settling).await;
    assert!(given_up.is_err(), "still settling when given up");
    assert_eq!(session.unanswered(&hash), None, "given up: not in flight");
    watcher.abort();
}

#[tokio::test]
async fn a_refusal_on_writing_is_retried_when_finished() {
    let node = Scripted::new(
        "a:1",
        [Step::Refuse(Refusal::NoLeader)],
        Step::Applied(accepted()),
    );
    let session = session(&node, vec![], SECOND * 5);
    let sent = session.write(&body(), None, &|_| {}).await.unwrap();
    let first = sent.hash();
    assert_eq!(hashes(&node), [first], "written now");
    let seen = Mutex::new(Vec::new());
    let committed = session
        .finish(sent, RETRIES, &|p| seen.lock().unwrap().push(p))
        .await
        .unwrap();
    let sent = node.sent();
    assert_eq!(sent.len(), 2, "the refused one, then the one applied");
    assert_eq!(committed.receipt.tx, sent[1].hash());
    assert_ne!(committed.receipt.tx, first, "signed again");
    assert_eq!(
        seen.into_inner().unwrap(),
        [
            Progress::Resending(Refusal::NoLeader),
            Progress::Sending(sent[1].hash())
        ]
    );
    assert_eq!(session.in_flight(), 0);
    // With no retries allowed, the refusal is the answer.
    let node = Scripted::new("a:1", [Step::Refuse(Refusal::NoLeader)], Step::NotSent);
    let session = super::tests::session(&node, vec![], SECOND * 5);
    let sent = session.write(&body(), None, &|_| {}).await.unwrap();
    let err = session.finish(sent, 0, &|_| {}).await.unwrap_err();
    assert!(
        matches!(
            err,
            SubmitError::Refused {
                refusal: Refusal::NoLeader,
                ..
            }
        ),
        "{err:?}"
    );
}

/// What a bot's event stream does: ends on a serving node are handed on.
const HAND_ON: Policy = Policy {
    reopen_dropped: false,
    end_is_loss: false,
};

fn lagged(missed: u64) -> Event {
    Event::Lagged { missed }
}

/// The next step of `follow`, in time.
async fn next_of(follow: &mut Follow<Session<Node>>) -> Followed {
    let next = tokio::time::timeout(SECOND * 5, follow.next()).await;
    next.expect("in time").expect("followed")
}

#[tokio::test]
async fn a_subscription_whose_node_is_lost_goes_on_from_the_next_session() {
    let first = Scripted::new("a:1", [], Step::Applied(accepted()));
    let second = Scripted::new("b:1", [], Step::Applied(accepted()));
    let session = Arc::new(session(&first, vec![second.clone()], SECOND * 5));
    let (link, watcher) = Link::start(session.clone(), |_, _, _| {});
    let mut follow = Follow::open(link, session, Topics::default(), HAND_ON)
        .await
        .unwrap();
    first.publish(lagged(1));
    assert!(matches!(next_of(&mut follow).await, Followed::Event(e) if e == lagged(1)));
    first.lose();
    let moved = next_of(&mut follow).await;
    assert!(
        matches!(&moved, Followed::Moved { why } if why.contains("connection lost")),
        "{moved:?}"
    );
    assert_eq!(follow.session().transport().address(), "b:1");
    assert_eq!(second.subscriptions.load(Ordering::SeqCst), 1);
    second.publish(lagged(2));
    assert!(matches!(next_of(&mut follow).await, Followed::Event(e) if e == lagged(2)));
    watcher.abort();
}

#[tokio::test]
async fn a_dropped_subscription_is_reopened_on_its_node_or_handed_on() {
    let node = Scripted::new("a:1", [], Step::Applied(accepted()));
    let session = Arc::new(session(&node, vec![], SECOND * 5));
    let (link, watcher) = Link::start(session.clone(), |_, _, _| {});
    let reopen = Policy {
        reopen_dropped: true,
        end_is_loss: true,
    };
    let mut follow = Follow::open(link.clone(), session.clone(), Topics::default(), reopen)
        .await
        .unwrap();
    let dropped = Event::Closed {
        reason: "too slow".into(),
    };
    node.publish(dropped.clone());
    assert!(matches!(next_of(&mut follow).await, Followed::Reopened));
    assert_eq!(node.subscriptions.load(Ordering::SeqCst), 2);
    assert_eq!(follow.session().transport().address(), "a:1");
    // Handed on: the event, then the end of the stream.
    let mut handed = Follow::open(link, session, Topics::default(), HAND_ON)
        .await
        .unwrap();
    node.publish(dropped.clone());
    node.end_feeds();
    assert!(matches!(next_of(&mut handed).await, Followed::Event(e) if e == dropped));
    assert!(matches!(next_of(&mut handed).await, Followed::Ended));
    watcher.abort();
}

#[tokio::test]
async fn a_subscription_with_no_node_left_says_why_it_was_lost() {
    let node = Scripted::new("a:1", [], Step::Applied(accepted()));
    let session = Arc::new(session(&node, vec![], Duration::from_millis(300)));
    let (link, _watcher) = Link::start(session.clone(), |_, _, _| {});
    let mut follow = Follow::open(link, session, Topics::default(), HAND_ON)
        .await
        .unwrap();
    node.lose();
    let ended = tokio::time::timeout(SECOND * 5, follow.next())
        .await
        .unwrap();
    match ended {
        Err(FollowError::Down { why, down, .. }) => {
            assert_eq!(why, "the subscription failed: connection lost");
            assert!(matches!(
                down,
                Some(super::ReconnectError::Exhausted { .. })
            ));
        }
        other => panic!("expected the link down, got {other:?}"),
    }
}
