//! Real node threads with real fjall stores, through their `Handle`s: submitting,
//! refusals, killing the leader mid-load and restarting it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::Refusal;
use qraft_node::api::{Committed, NodeEvent, SubmitError};
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::{NewOrder, OrderKind};
use qraft_node::core::tx::{Tx, TxBody, TxHash};
use qraft_node::core::types::Side;
use qraft_node::testkit::local::{ClusterOptions, LocalCluster};
use qraft_node::testkit::workload::OrderFlow;
use tokio::sync::Mutex;

const WAIT: Duration = Duration::from_secs(20);

fn options() -> ClusterOptions {
    ClusterOptions {
        game: SampleOptions {
            traders: 16,
            ..SampleOptions::default()
        },
        ..ClusterOptions::default()
    }
}

/// Every live node holds the same blocks and the receipt each submitter was given.
async fn assert_agree(cluster: &LocalCluster, acked: &BTreeMap<TxHash, Committed>) {
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let top = cluster.handle(leader).status().await.unwrap().height;
    assert!(
        cluster.wait_for_height(top, WAIT).await,
        "nodes did not catch up to {top}"
    );
    let mut heads = Vec::new();
    for id in cluster.ids() {
        if !cluster.is_up(id) {
            continue;
        }
        let handle = cluster.handle(id);
        let block = handle.block(top).await.unwrap().expect("block stored");
        heads.push((id, block.hash()));
        for (hash, committed) in acked {
            let stored = handle
                .receipt(*hash)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("node {id} lost acknowledged tx {}", hash.to_hex()));
            assert_eq!(stored.height, committed.height, "node {id}");
            assert_eq!(stored.receipt, committed.receipt, "node {id}");
        }
    }
    assert!(
        heads.windows(2).all(|w| w[0].1 == w[1].1),
        "nodes disagree at height {top}: {heads:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_submitted_anywhere_commit_on_every_node() {
    let cluster = LocalCluster::start(options()).unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let follower = cluster.ids().into_iter().find(|&id| id != leader).unwrap();
    let mut flow = OrderFlow::new(&cluster.game.genesis, &cluster.game.traders, 1);
    // Each trader submits through one node (even traders the leader, odd ones a
    // follower, which forwards), enqueued in nonce order: a trader whose orders were
    // split across two nodes could see its later nonce ordered first, and the earlier
    // one rightly refused as stale.
    let traders = cluster.game.traders.len();
    let mut pending = Vec::new();
    for i in 0..60 {
        let trader = i % traders;
        let handle = cluster.handle(if trader.is_multiple_of(2) {
            leader
        } else {
            follower
        });
        let tx = flow.next_tx_from(trader);
        pending.push((tx.hash(), handle.enqueue(tx)));
    }
    let mut acked = BTreeMap::new();
    for (hash, submit) in pending {
        let committed = submit
            .wait()
            .await
            .expect("every order is ordered and applied");
        acked.insert(hash, committed);
    }
    assert_agree(&cluster, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_submissions_are_refused_with_their_reason() {
    let cluster = LocalCluster::start(options()).unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let handle = cluster.handle(leader);
    let chain = cluster.game.genesis.chain_id();
    let trader = &cluster.game.traders[0];
    let tx = |key: &Keypair, nonce| Tx {
        signer: key.public(),
        nonce,
        body: TxBody::CancelAll { symbol: None },
    };

    let good = handle.submit(tx(trader, 5).sign(trader, &chain)).await;
    assert!(good.is_ok(), "{good:?}");

    let replay = handle.submit(tx(trader, 5).sign(trader, &chain)).await;
    assert_eq!(
        replay,
        Err(SubmitError::Refused(Refusal::StaleNonce {
            nonce: 5,
            last: 5
        }))
    );

    let stranger = Keypair::from_label("stranger");
    let unknown = handle
        .submit(tx(&stranger, 1).sign(&stranger, &chain))
        .await;
    assert_eq!(unknown, Err(SubmitError::Refused(Refusal::UnknownSigner)));

    let mut forged = tx(trader, 6).sign(trader, &chain);
    forged.tx.nonce = 7;
    let forged = handle.submit(forged).await;
    assert_eq!(forged, Err(SubmitError::Refused(Refusal::BadSignature)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_mempool_answers_busy() {
    let mut opts = options();
    opts.tune = |config| {
        config.tick_ms = 20;
        config.mempool_capacity = 4;
        // Hold batches back so the mempool fills.
        config.max_batch_delay_ms = 2_000;
        config.max_batch_txs = 1_000;
    };
    let cluster = LocalCluster::start(opts).unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let handle = cluster.handle(leader);
    let mut flow = OrderFlow::new(&cluster.game.genesis, &cluster.game.traders, 2);
    // Twelve traders, one order each: each within its share of the mempool.
    let pending: Vec<_> = (0..12)
        .map(|trader| handle.enqueue(flow.next_tx_from(trader)))
        .collect();
    let mut busy = 0;
    let mut ok = 0;
    for submit in pending {
        match submit.wait().await {
            Ok(_) => ok += 1,
            Err(SubmitError::Refused(Refusal::Busy { capacity: 4 })) => busy += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 4, "the mempool's four were applied");
    assert_eq!(busy, 8, "the rest were told busy");
}

/// Eight submitters spread over all nodes; `victim` picks the node to kill -9 a little
/// into the load and restart from its data directory later. Nothing acknowledged may be
/// lost, and every node (the restarted one too) must end with the same chain.
async fn kill_mid_load(victim: fn(leader: u64) -> u64) {
    let cluster = Arc::new(Mutex::new(LocalCluster::start(options()).unwrap()));
    let (leader, handles, genesis, traders) = {
        let c = cluster.lock().await;
        let leader = c.wait_for_leader(WAIT).await.expect("a leader");
        let handles: Vec<_> = c.ids().into_iter().map(|id| c.handle(id)).collect();
        let traders: Vec<Keypair> = c.game.traders.to_vec();
        (leader, handles, c.game.genesis.clone(), traders)
    };
    // Eight submitters, each its own trader (so nonces stay in order), spread over nodes.
    let mut tasks = Vec::new();
    for s in 0..8 {
        let handles = handles.clone();
        let mut flow = OrderFlow::new(&genesis, &traders[s..s + 1], s as u64);
        tasks.push(tokio::spawn(async move {
            let mut acked: Vec<(TxHash, Result<Committed, SubmitError>)> = Vec::new();
            for i in 0..60 {
                let tx = flow.next_tx();
                let handle = &handles[(s + i) % handles.len()];
                acked.push((tx.hash(), handle.submit(tx).await));
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            acked
        }));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let victim = victim(leader);
    cluster.lock().await.kill(victim);
    tokio::time::sleep(Duration::from_millis(700)).await;
    cluster.lock().await.start_node(victim).unwrap();

    let mut acked = BTreeMap::new();
    let mut unknown = 0;
    for task in tasks {
        for (hash, result) in task.await.unwrap() {
            match result {
                Ok(committed) => {
                    acked.insert(hash, committed);
                }
                Err(SubmitError::Stopped(_) | SubmitError::Timeout { .. }) => unknown += 1,
                Err(SubmitError::Refused(r)) => assert!(r.is_retryable(), "refused: {r}"),
            }
        }
    }
    assert!(acked.len() > 100, "only {} acknowledged", acked.len());
    let c = cluster.lock().await;
    assert_agree(&c, &acked).await;
    eprintln!(
        "{} acknowledged, {unknown} with unknown outcome (their node was killed)",
        acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_load_loses_nothing_acknowledged() {
    kill_mid_load(|leader| leader).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_a_follower_mid_load_loses_nothing_acknowledged() {
    kill_mid_load(|leader| if leader == 1 { 2 } else { 1 }).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_cluster_restart_keeps_the_chain_and_carries_on() {
    let mut cluster = LocalCluster::start(options()).unwrap();
    cluster.wait_for_leader(WAIT).await.expect("a leader");
    let mut flow = OrderFlow::new(&cluster.game.genesis, &cluster.game.traders, 9);
    let mut acked = BTreeMap::new();
    for i in 0..40 {
        let handle = cluster.handle(1 + i % 3);
        let tx = flow.next_tx();
        let hash = tx.hash();
        acked.insert(hash, handle.submit(tx).await.expect("applied"));
    }
    let before = cluster.handle(1).status().await.unwrap();
    for id in cluster.ids() {
        cluster.kill(id);
    }
    for id in cluster.ids() {
        cluster.start_node(id).unwrap();
    }
    let leader = cluster
        .wait_for_leader(WAIT)
        .await
        .expect("a leader after restart");
    let after = cluster.handle(leader).status().await.unwrap();
    assert!(after.height >= before.height, "{after:?} vs {before:?}");
    let more = cluster
        .handle(leader)
        .submit(flow.next_tx())
        .await
        .expect("applied");
    assert!(more.height > before.height);
    acked.insert(more.receipt.tx, more);
    assert_agree(&cluster, &acked).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscribers_see_blocks_trades_and_book_changes_and_queries_answer() {
    let cluster = LocalCluster::start(options()).unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let follower = cluster.ids().into_iter().find(|&id| id != leader).unwrap();
    let handle = cluster.handle(follower);
    let mut events = handle.subscribe();
    let chain = cluster.game.genesis.chain_id();
    let symbol = cluster.game.genesis.symbols[0].ticker;
    let (buyer, seller) = (&cluster.game.traders[0], &cluster.game.traders[1]);
    let order = |key: &Keypair, side, nonce| {
        Tx {
            signer: key.public(),
            nonce,
            body: TxBody::Order(NewOrder {
                symbol,
                side,
                quantity: 10,
                kind: OrderKind::Limit { price: 1_000 },
            }),
        }
        .sign(key, &chain)
    };
    let resting = handle.submit(order(seller, Side::Sell, 1)).await.unwrap();
    let book = handle
        .depth(symbol, 5)
        .await
        .unwrap()
        .expect("the symbol exists");
    assert_eq!(book.asks.len(), 1, "the sell order rests: {book:?}");
    let crossing = handle.submit(order(buyer, Side::Buy, 1)).await.unwrap();
    assert!(crossing.height > resting.height);

    let (mut blocks, mut trades, mut book_changes) = (0, Vec::new(), Vec::new());
    while trades.is_empty() {
        match tokio::time::timeout(WAIT, events.recv())
            .await
            .expect("events arrive")
        {
            Ok(NodeEvent::Block(block)) => {
                blocks += 1;
                assert!(block.block.header.height <= crossing.height);
            }
            Ok(NodeEvent::Trades(list)) => trades.extend(list.iter().cloned()),
            Ok(NodeEvent::BookChanged { symbols, .. }) => book_changes.extend(symbols),
            Ok(_) => {}
            Err(err) => panic!("subscriber lagged: {err}"),
        }
    }
    assert!(blocks >= 2);
    assert_eq!(trades.len(), 1);
    assert_eq!((trades[0].quantity, trades[0].price), (10, 1_000));
    assert_eq!(trades[0].buyer, buyer.public());
    assert!(book_changes.contains(&symbol));

    let account = handle
        .account(buyer.public())
        .await
        .unwrap()
        .expect("a participant");
    let position = account
        .positions
        .iter()
        .find(|p| p.symbol == symbol)
        .unwrap();
    assert_eq!(
        position.shares,
        1_000 + 10,
        "the sample game starts everyone with 1,000"
    );
    let tape = handle.recent_trades(Some(symbol), 10).await.unwrap();
    assert_eq!(tape.len(), 1);
    let stored = handle
        .receipt(crossing.receipt.tx)
        .await
        .unwrap()
        .expect("stored");
    assert_eq!(stored.receipt, crossing.receipt);
    let status = cluster.handle(leader).status().await.unwrap();
    assert_eq!(
        status.peers.len(),
        3,
        "the leader tracks every voter: {status:?}"
    );
    assert!(status.peers.iter().all(|p| p.matched > 0));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_cut_off_from_the_leader_says_no_leader() {
    let mut opts = options();
    opts.tune = |config| {
        config.tick_ms = 20;
        config.no_leader_grace_ms = 600;
    };
    let cluster = LocalCluster::start(opts).unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let lonely = cluster.ids().into_iter().find(|&id| id != leader).unwrap();
    cluster.cut_off(lonely);
    // Wait for it to notice: its election timeout passes and its pre-vote fails.
    let handle = cluster.handle(lonely);
    let deadline = tokio::time::Instant::now() + WAIT;
    while handle.status().await.unwrap().leader.is_some() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "it never lost the leader"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut flow = OrderFlow::new(&cluster.game.genesis, &cluster.game.traders, 3);
    let result = handle.submit(flow.next_tx()).await;
    assert_eq!(result, Err(SubmitError::Refused(Refusal::NoLeader)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_order_forwarded_to_a_leader_that_is_cut_off_goes_to_the_next_one() {
    let cluster = LocalCluster::start(options()).unwrap();
    let old_leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let follower = cluster
        .ids()
        .into_iter()
        .find(|&id| id != old_leader)
        .unwrap();
    cluster.cut_off(old_leader);
    // The follower still takes the old leader for the leader: the forward is lost.
    let mut flow = OrderFlow::new(&cluster.game.genesis, &cluster.game.traders, 5);
    let tx = flow.next_tx();
    let hash = tx.hash();
    let committed = cluster
        .handle(follower)
        .submit(tx)
        .await
        .expect("applied through the next leader, not left to time out");
    let status = cluster.handle(follower).status().await.unwrap();
    assert_ne!(status.leader, Some(old_leader), "{status:?}");
    cluster.net().heal();
    assert_agree(&cluster, &BTreeMap::from([(hash, committed)])).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn orders_commit_over_a_lossy_network() {
    let mut opts = options();
    opts.faults = qraft_node::testkit::faults::Faults::lossy();
    opts.seed = 11;
    let cluster = LocalCluster::start(opts).unwrap();
    let mut flow = OrderFlow::new(&cluster.game.genesis, &cluster.game.traders, 11);
    let mut acked = BTreeMap::new();
    let mut attempts = 0;
    while acked.len() < 30 {
        attempts += 1;
        assert!(attempts < 200, "only {} of 30 committed", acked.len());
        let Some(leader) = cluster.wait_for_leader(WAIT).await else {
            continue;
        };
        let tx = flow.next_tx();
        let hash = tx.hash();
        match cluster.handle(leader).submit(tx).await {
            Ok(committed) => {
                acked.insert(hash, committed);
            }
            Err(SubmitError::Refused(r)) if r.is_retryable() => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    let stats = cluster.net().stats();
    assert!(stats.dropped > 0 && stats.duplicated > 0, "{stats:?}");
    cluster.net().heal();
    assert_agree(&cluster, &acked).await;
}
