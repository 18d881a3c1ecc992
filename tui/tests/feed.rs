//! The dashboard's feed against a real in-process cluster (three node threads on fjall,
//! the in-memory transport): it loads the market and my account, follows blocks, signs
//! and submits my orders in order, answers each with its receipt, and keeps the market
//! fresh while blocks keep coming, and reloads the rules when a block changes them; the
//! state `update` builds from it is what the views show.

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::genesis::Rules;
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, Tx, TxBody};
use qraft_node::core::types::Side;
use qraft_node::testkit::local::{ClusterOptions, LocalCluster};
use qraft_tui::action::Action;
use qraft_tui::command::Command;
use qraft_tui::feed::{Feed, FeedConfig};
use qraft_tui::state::{Reach, State};
use qraft_tui::update::update;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

/// Feeds actions into `state` until `done` holds (or panics after `WAIT`).
async fn run_until(
    state: &mut State,
    feed: &mut Feed,
    actions: &mut mpsc::UnboundedReceiver<Action>,
    what: &str,
    done: impl Fn(&State) -> bool,
) {
    run_watching(state, feed, actions, what, done, |_| {}).await;
}

/// [`run_until`], showing `watch` every action on its way.
async fn run_watching(
    state: &mut State,
    feed: &mut Feed,
    actions: &mut mpsc::UnboundedReceiver<Action>,
    what: &str,
    done: impl Fn(&State) -> bool,
    mut watch: impl FnMut(&Action),
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(state) {
        let action = tokio::time::timeout_at(deadline, actions.recv())
            .await
            .unwrap_or_else(|_| panic!("waited {WAIT:?} for {what}"))
            .expect("the feed runs");
        watch(&action);
        for command in update(state, action) {
            feed.handle_command(command);
        }
    }
}

/// A feed on node `id` of `cluster`, as trader 0, with its market loaded.
async fn feed_on(
    cluster: &LocalCluster,
    id: u64,
) -> (State, Feed, mpsc::UnboundedReceiver<Action>) {
    let genesis = cluster.game.genesis.clone();
    let me = cluster.game.traders[0].clone();
    let mut state = State::new(&genesis, me.public(), id, "test".into());
    let (sender, mut actions) = mpsc::unbounded_channel();
    let mut feed = Feed::start(
        FeedConfig {
            handle: cluster.handle(id),
            keypair: me,
            genesis,
            addresses: BTreeMap::new(),
        },
        None,
        sender,
    );
    run_until(&mut state, &mut feed, &mut actions, "the market", |s| {
        s.market.loaded && s.account.view.is_some()
    })
    .await;
    (state, feed, actions)
}

/// Asks the feed to submit `body` as request `request`.
fn submit(state: &mut State, feed: &mut Feed, request: u64, body: TxBody) {
    state.pending.insert(
        request,
        qraft_tui::state::Pending {
            body: body.clone(),
            label: format!("order {request}"),
            from_ticket: false,
        },
    );
    feed.handle_command(Command::Submit { request, body });
}

fn resting_buy(cluster: &LocalCluster, quantity: u64) -> TxBody {
    let symbol = &cluster.game.genesis.symbols[0];
    TxBody::Order(NewOrder {
        symbol: symbol.ticker,
        side: Side::Buy,
        quantity,
        kind: OrderKind::Limit {
            price: symbol.reference_price / 2,
        },
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_whose_wait_timed_out_is_answered_by_its_receipt() {
    // My node forwards my order to a leader just cut off: it is applied only once the
    // others have elected a new leader (1 to 2 s: 100 ms ticks) and my node has sent it
    // again, long after the node's wait for it (100 ms) has ended.
    let cluster = LocalCluster::start(ClusterOptions {
        submit_timeout: Duration::from_millis(100),
        tune: |config| config.tick_ms = 100,
        ..ClusterOptions::default()
    })
    .unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let mine = cluster.ids().into_iter().find(|&id| id != leader).unwrap();
    let (mut state, mut feed, mut actions) = feed_on(&cluster, mine).await;
    cluster.cut_off(leader);
    submit(&mut state, &mut feed, 1, resting_buy(&cluster, 4));
    let mut looked = false;
    run_watching(
        &mut state,
        &mut feed,
        &mut actions,
        "the order's receipt",
        |s| s.pending.is_empty(),
        |a| looked |= matches!(a, Action::LookingForReceipt { request: 1 }),
    )
    .await;
    assert!(looked, "the wait timed out first");
    let message = state.message.clone().expect("an answer").text;
    assert!(message.contains("rests: buy 4"), "{message}");
    feed.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_order_overtaken_by_a_later_nonce_is_reported_not_applied() {
    let cluster = LocalCluster::start(ClusterOptions {
        submit_timeout: Duration::from_millis(500),
        ..ClusterOptions::default()
    })
    .unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let lonely = cluster.ids().into_iter().find(|&id| id != leader).unwrap();
    let (mut state, mut feed, mut actions) = feed_on(&cluster, lonely).await;
    // Cut my node off: it still knows the leader and forwards my order, which is lost.
    cluster.cut_off(lonely);
    submit(&mut state, &mut feed, 1, resting_buy(&cluster, 4));
    run_until(
        &mut state,
        &mut feed,
        &mut actions,
        "the look for its receipt",
        |s| {
            s.message
                .as_ref()
                .is_some_and(|m| m.text.contains("looking for its receipt"))
        },
    )
    .await;
    // Meanwhile another client of my key has a later nonce applied by the majority.
    // (Only then does my node hear of a leader again, and send my order once more: it
    // arrives stale, so it is not applied, and the ledger my node catches up with says
    // it never will be.)
    let me = &cluster.game.traders[0];
    let later = Tx {
        signer: me.public(),
        nonce: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64
            + 1_000_000_000,
        body: TxBody::CancelAll { symbol: None },
    }
    .sign(me, &cluster.game.genesis.chain_id());
    // (Its own wait may time out on a busy machine: the receipt is what counts.)
    let hash = later.hash();
    let leader_handle = cluster.handle(leader);
    let _ = leader_handle.submit(later).await;
    let deadline = tokio::time::Instant::now() + WAIT;
    while leader_handle.receipt(hash).await.unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the later nonce was not applied"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    cluster.net().heal();
    run_until(&mut state, &mut feed, &mut actions, "the verdict", |s| {
        s.pending.is_empty()
    })
    .await;
    let message = state.message.clone().expect("an answer").text;
    assert!(
        message.starts_with("Not applied: order 1: a later transaction of yours was applied first"),
        "{message}"
    );
    assert_eq!(state.account.orders().len(), 0);
    feed.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_feed_loads_follows_and_submits_in_order() {
    let cluster = LocalCluster::start(ClusterOptions::default()).unwrap();
    cluster.wait_for_leader(WAIT).await.expect("a leader");
    let genesis = cluster.game.genesis.clone();
    let me = cluster.game.traders[0].clone();
    let handle = cluster.handle(1);
    let mut state = State::new(&genesis, me.public(), 1, "test".into());
    let (sender, mut actions) = mpsc::unbounded_channel();
    let mut feed = Feed::start(
        FeedConfig {
            handle,
            keypair: me.clone(),
            genesis: genesis.clone(),
            // The other nodes are on the in-memory network: unreachable over QUIC.
            addresses: BTreeMap::from([(2, "127.0.0.1:9".to_string())]),
        },
        None,
        sender,
    );

    run_until(
        &mut state,
        &mut feed,
        &mut actions,
        "the market and my account",
        |s| s.market.loaded && s.account.view.is_some() && !s.market.leaderboard.is_empty(),
    )
    .await;
    assert_eq!(state.account.orders().len(), 0);

    // Three orders made one after another: signed in that order, each answered.
    let symbol = genesis.symbols[0].ticker;
    let price = genesis.symbols[0].reference_price / 2;
    let bodies: Vec<TxBody> = (1..=3u64)
        .map(|quantity| {
            TxBody::Order(NewOrder {
                symbol,
                side: Side::Buy,
                quantity,
                kind: OrderKind::Limit { price },
            })
        })
        .collect();
    for (request, body) in (100u64..).zip(&bodies) {
        state.pending.insert(
            request,
            qraft_tui::state::Pending {
                body: body.clone(),
                label: format!("order {request}"),
                from_ticket: false,
            },
        );
        feed.handle_command(Command::Submit {
            request,
            body: body.clone(),
        });
    }
    run_until(
        &mut state,
        &mut feed,
        &mut actions,
        "the three receipts",
        |s| s.pending.is_empty(),
    )
    .await;
    // My open orders come with the next refresh; ids rise in the order sent.
    run_until(
        &mut state,
        &mut feed,
        &mut actions,
        "my three open orders",
        |s| s.account.orders().len() == 3,
    )
    .await;
    let quantities: Vec<u64> = state.account.orders().iter().map(|o| o.remaining).collect();
    assert_eq!(quantities, [1, 2, 3], "applied in the order they were made");
    let blocks_with_mine: u32 = state.chain.blocks.iter().map(|b| b.mine).sum();
    assert_eq!(blocks_with_mine, 3, "{:?}", state.chain.blocks);
    assert_eq!(state.chain.my_latency.values().flatten().count(), 3);

    // The cluster panel: the local node answers; node 2 at a dead address does not.
    run_until(
        &mut state,
        &mut feed,
        &mut actions,
        "the nodes' statuses",
        |s| {
            s.cluster.row(1).is_some_and(|r| r.reach == Reach::Up)
                && s.cluster
                    .row(2)
                    .is_some_and(|r| matches!(r.reach, Reach::Down(_)))
        },
    )
    .await;

    // A stale nonce is re-signed: another client of my key goes first.
    let last = cluster
        .handle(1)
        .last_nonce(me.public())
        .await
        .unwrap()
        .unwrap();
    let ahead = Tx {
        signer: me.public(),
        nonce: last + 1_000_000_000_000,
        body: TxBody::CancelAll { symbol: None },
    }
    .sign(&me, &genesis.chain_id());
    let committed = cluster.handle(2).submit(ahead).await.unwrap();
    assert!(matches!(committed.receipt.outcome, Outcome::Accepted(_)));
    state.pending.insert(
        200,
        qraft_tui::state::Pending {
            body: bodies[0].clone(),
            label: "after the other client".into(),
            from_ticket: false,
        },
    );
    feed.handle_command(Command::Submit {
        request: 200,
        body: bodies[0].clone(),
    });
    run_until(
        &mut state,
        &mut feed,
        &mut actions,
        "the re-signed order",
        |s| s.pending.is_empty(),
    )
    .await;
    let message = state.message.clone().expect("an answer").text;
    assert!(message.contains("rests"), "{message}");
    feed.stop();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_rules_on_the_chain_are_loaded_and_announced() {
    let cluster = LocalCluster::start(ClusterOptions::default()).unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let (mut state, mut feed, mut actions) = feed_on(&cluster, leader).await;
    run_until(&mut state, &mut feed, &mut actions, "the rules", |s| {
        s.rule_history.changes.len() == 1
    })
    .await;
    let announced = |s: &State| {
        s.message
            .as_ref()
            .is_some_and(|m| m.text.starts_with("New rules from block"))
    };
    assert!(!announced(&state), "the first load announces nothing");

    // The teacher limits positions.
    let genesis = &cluster.game.genesis;
    let rules = Rules {
        max_position_shares: 5_000,
        ..genesis.rules.clone()
    };
    let admin = &cluster.game.admin;
    let set = Tx {
        signer: admin.public(),
        nonce: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_micros() as u64,
        body: TxBody::Admin(AdminAction::SetRules(rules.clone())),
    }
    .sign(admin, &genesis.chain_id());
    let committed = cluster.handle(leader).submit(set).await.unwrap();
    assert!(committed.receipt.is_accepted(), "{:?}", committed.receipt);
    run_until(&mut state, &mut feed, &mut actions, "the new rules", |s| {
        s.rule_history.changes.len() == 2
    })
    .await;
    assert_eq!(state.rules, rules, "the new rules are in force");
    assert_eq!(state.rule_history.since(), committed.height);
    let message = state.message.clone().expect("a notice").text;
    assert_eq!(
        message,
        format!(
            "New rules from block {}: {}",
            committed.height,
            qraft_client::describe::rules_text(&rules)
        )
    );
    feed.stop();
}
