//! The dashboard's feed against a real in-process cluster (three node threads on fjall,
//! the in-memory transport): it loads the market and my account, follows blocks, signs
//! and submits my orders in order, answers each with its receipt, and keeps the market
//! fresh while blocks keep coming; the state `update` builds from it is what the views
//! show.

use std::collections::BTreeMap;
use std::time::Duration;

use qraft_node::cluster::local::{ClusterOptions, LocalCluster};
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
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
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(state) {
        let action = tokio::time::timeout_at(deadline, actions.recv())
            .await
            .unwrap_or_else(|_| panic!("waited {WAIT:?} for {what}"))
            .expect("the feed runs");
        for command in update(state, action) {
            feed.handle_command(command);
        }
    }
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
        .query({
            let key = me.public();
            move |r| r.ledger().exchange().last_nonce(&key)
        })
        .await
        .unwrap()
        .unwrap();
    let ahead = qraft_node::core::tx::Tx {
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
