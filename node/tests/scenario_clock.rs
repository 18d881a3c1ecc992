//! A scenario runs with nobody trading: the leader makes the empty blocks that take its
//! steps, every node applies them at the same heights, and a new leader carries on.

use std::time::{Duration, Instant};

use qraft_node::audit::audit;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::scenario::{Event, Scenario, ScenarioStart, ScheduledEvent};
use qraft_node::testkit::local::{ClusterOptions, LocalCluster};

const WAIT: Duration = Duration::from_secs(20);

fn news_at(at_ms: u64, headline: &str) -> ScheduledEvent {
    ScheduledEvent {
        at_ms,
        event: Event::News {
            symbol: None,
            headline: headline.into(),
            text: String::new(),
        },
    }
}

fn options() -> ClusterOptions {
    ClusterOptions {
        game: SampleOptions {
            scenario: Some(Scenario {
                name: "Quiet market".into(),
                description: String::new(),
                start: ScenarioStart::FirstBlock,
                rounds: Vec::new(),
                events: vec![
                    news_at(300, "first"),
                    news_at(900, "second"),
                    news_at(4_000, "after the leader changed"),
                ],
                end_after_last_round: true,
                secret: None,
            }),
            ..SampleOptions::default()
        },
        ..ClusterOptions::default()
    }
}

/// Waits until node `id` has published `count` news items; their headlines, oldest first.
async fn wait_for_news(cluster: &LocalCluster, id: u64, count: usize) -> Vec<(u64, String)> {
    let deadline = Instant::now() + WAIT;
    loop {
        let news = cluster.handle(id).news().await.unwrap_or_default();
        if news.len() >= count {
            return news
                .into_iter()
                .rev()
                .map(|n| (n.height, n.headline))
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "node {id} has {} of {count} news items after {WAIT:?}",
            news.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scheduled_news_arrives_in_empty_blocks_on_every_node_across_a_leader_change() {
    let mut cluster = LocalCluster::start(options()).unwrap();
    let leader = cluster.wait_for_leader(WAIT).await.expect("a leader");
    let first_two = wait_for_news(&cluster, leader, 2).await;
    assert_eq!(
        first_two
            .iter()
            .map(|(_, h)| h.as_str())
            .collect::<Vec<_>>(),
        ["first", "second"]
    );
    // Nobody traded: the blocks that took the steps are empty.
    for (height, _) in &first_two {
        let block = cluster
            .handle(leader)
            .block(*height)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(block.txs.len(), 0, "block {height}");
    }
    // The leader goes; the next one makes the block for the last step.
    cluster.kill(leader);
    let next = loop {
        let id = cluster.wait_for_leader(WAIT).await.expect("a new leader");
        if id != leader {
            break id;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let all = wait_for_news(&cluster, next, 3).await;
    assert_eq!(
        all[..2],
        first_two[..],
        "the same steps at the same heights"
    );
    assert_eq!(all[2].1, "after the leader changed");
    for id in cluster.ids() {
        if id != leader {
            assert_eq!(wait_for_news(&cluster, id, 3).await, all, "node {id}");
        }
    }
    // Nothing is left to schedule, so no more empty blocks are made.
    let height = cluster.handle(next).status().await.unwrap().height;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cluster.handle(next).status().await.unwrap().height, height);
    // `qraft verify`'s audit replays every node's chain, scheduled steps included, from
    // the block times the leaders chose.
    for id in cluster.ids() {
        cluster.kill(id);
    }
    for id in cluster.ids() {
        let report = audit(&cluster.data_dir(id), |_, _| {}).expect("the chain audits");
        assert!(
            report.blocks >= height.min(3),
            "node {id}: {} blocks",
            report.blocks
        );
    }
}
