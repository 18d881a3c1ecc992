//! Real node threads with real fjall stores, through their `Handle`s: submitting,
//! refusals, killing the leader mid-load and restarting it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::{Committed, SubmitError};
use qraft_node::cluster::local::{ClusterOptions, LocalCluster};
use qraft_node::cluster::workload::OrderFlow;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::{Tx, TxBody, TxHash};
use qraft_node::replica::Refusal;
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
    let mut tasks = Vec::new();
    for i in 0..60 {
        let handle = cluster.handle(if i % 2 == 0 { leader } else { follower });
        let tx = flow.next_tx();
        tasks.push(tokio::spawn(
            async move { (tx.hash(), handle.submit(tx).await) },
        ));
    }
    let mut acked = BTreeMap::new();
    for task in tasks {
        let (hash, result) = task.await.unwrap();
        let committed = result.expect("every order is ordered and applied");
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
    let tasks: Vec<_> = (0..12)
        .map(|_| {
            let handle = handle.clone();
            let tx = flow.next_tx();
            tokio::spawn(async move { handle.submit(tx).await })
        })
        .collect();
    let mut busy = 0;
    let mut ok = 0;
    for task in tasks {
        match task.await.unwrap() {
            Ok(_) => ok += 1,
            Err(SubmitError::Refused(Refusal::Busy { capacity: 4 })) => busy += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(ok, 4, "the mempool's four were applied");
    assert_eq!(busy, 8, "the rest were told busy");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_leader_mid_load_loses_nothing_acknowledged() {
    let cluster = Arc::new(Mutex::new(LocalCluster::start(options()).unwrap()));
    let (leader, handles, genesis, traders) = {
        let c = cluster.lock().await;
        let leader = c.wait_for_leader(WAIT).await.expect("a leader");
        let handles: Vec<_> = c.ids().into_iter().map(|id| c.handle(id)).collect();
        let traders: Vec<Keypair> = c
            .game
            .traders
            .iter()
            .map(|k| Keypair::from_seed(&k.seed()))
            .collect();
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
    cluster.lock().await.kill(leader);
    tokio::time::sleep(Duration::from_millis(700)).await;
    cluster.lock().await.start_node(leader).unwrap();

    let mut acked = BTreeMap::new();
    let mut unknown = 0;
    for task in tasks {
        for (hash, result) in task.await.unwrap() {
            match result {
                Ok(committed) => {
                    acked.insert(hash, committed);
                }
                Err(SubmitError::Stopped | SubmitError::Timeout { .. }) => unknown += 1,
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
