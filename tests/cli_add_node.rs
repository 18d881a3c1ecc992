//! A node the genesis does not name joins a running game of real `qraft` processes: its
//! owner makes a key with `qraft keys new`, the admin registers it with `qraft admin
//! add-node`, and `qraft run --headless` with `id = N` in its configuration starts it;
//! the leader adds it as a learner and it replicates every new block.

mod common;

use std::fs;
use std::process::Command;
use std::time::Duration;

use common::processes::{GameDir, NodeProcess};
use qraft_client::signer::Signer;
use qraft_node::api::Status;
use qraft_node::core::genesis::sample::SampleOptions;
use qraft_node::core::tx::{NewOrder, OrderKind, TxBody};
use qraft_node::core::types::Side;
use qraft_node::net::client::Client;
use qraft_node::net::proto::{Request, Response};
use qraft_node::testkit::disk::free_port;

const WAIT: Duration = Duration::from_secs(40);

fn qraft(game: &GameDir, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_qraft"))
        .current_dir(&game.dir)
        .args(args)
        .output()
        .expect("qraft runs")
}

async fn leader_status(client: &Client) -> Option<Status> {
    let Ok(Response::Status(status)) = client.request(&Request::Status).await else {
        return None;
    };
    if status.leader == Some(status.id) {
        return Some(status);
    }
    None
}

#[test]
fn a_node_added_with_the_cli_joins_and_replicates() {
    let tmp = tempfile::tempdir().unwrap();
    let game = GameDir::create(tmp.path(), &SampleOptions::default(), 0, "tick_ms = 50").unwrap();
    let _voters: Vec<NodeProcess> = game
        .node_ids()
        .into_iter()
        .map(|id| NodeProcess::start(&game, id))
        .collect();

    // The new node's owner makes a key; the admin registers it.
    let made = qraft(&game, &["keys", "new", "--out", "keys/lab4.key"]);
    assert!(made.status.success(), "{made:?}");
    let stdout = String::from_utf8_lossy(&made.stdout);
    let public = stdout
        .split_whitespace()
        .find(|w| w.starts_with("qk1"))
        .unwrap_or_else(|| panic!("no public key in {stdout:?}"))
        .to_string();
    let address = format!("127.0.0.1:{}", free_port().unwrap());
    let deadline = std::time::Instant::now() + WAIT;
    let added = loop {
        let added = qraft(
            &game,
            &[
                "admin",
                "add-node",
                "4",
                "--name",
                "lab4",
                "--key-pub",
                &public,
                "--address",
                &address,
                "--key",
                "keys/admin.key",
                "--json",
            ],
        );
        // Exit code 1 while the cluster is still electing its first leader.
        if added.status.success() || std::time::Instant::now() > deadline {
            break added;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let json: serde_json::Value = serde_json::from_slice(&added.stdout).unwrap();
    assert_eq!(json["ok"], true, "{json}");
    assert_eq!(json["registered"], 4, "{json}");

    // A second registration of the same id is rejected, with the reason and exit code 3.
    let again = qraft(
        &game,
        &[
            "admin",
            "add-node",
            "4",
            "--name",
            "lab4b",
            "--key-pub",
            &public,
            "--address",
            &address,
            "--key",
            "keys/admin.key",
        ],
    );
    assert_eq!(again.status.code(), Some(3), "{again:?}");
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("node id 4 is already taken"),
        "{again:?}"
    );

    fs::write(
        game.config(4),
        format!(
            "genesis = \"genesis.toml\"\nkey = \"keys/lab4.key\"\ndata_dir = \"data/node4\"\nlisten = \"{address}\"\nid = 4\n\n[tuning]\ntick_ms = 50\n"
        ),
    )
    .unwrap();
    let node4 = NodeProcess::start(&game, 4);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let addresses = Client::node_addresses(&game.game.genesis);
        let trader = Client::connect(&game.game.genesis, game.game.traders[0].clone(), &addresses)
            .await
            .unwrap();
        let signer = Signer::new(game.game.traders[0].clone(), game.game.genesis.chain_id());
        let symbol = &game.game.genesis.symbols[0];
        for i in 0..5 {
            let order = TxBody::Order(NewOrder {
                symbol: symbol.ticker,
                side: Side::Buy,
                quantity: 1,
                kind: OrderKind::Limit {
                    price: symbol.reference_price - 10 - i,
                },
            });
            assert!(
                trader
                    .submit(signer.sign(order))
                    .await
                    .unwrap()
                    .receipt
                    .is_accepted()
            );
        }
        // The leader sees node 4 as an active learner that has everything committed.
        let leader_client = loop {
            let mut found = None;
            for address in &addresses {
                let client = Client::connect(
                    &game.game.genesis,
                    game.game.traders[1].clone(),
                    std::slice::from_ref(address),
                )
                .await
                .unwrap();
                if leader_status(&client).await.is_some() {
                    found = Some(client);
                    break;
                }
                client.close().await;
            }
            if let Some(client) = found {
                break client;
            }
            assert!(std::time::Instant::now() < deadline, "no leader");
            tokio::time::sleep(Duration::from_millis(100)).await;
        };
        loop {
            let status = leader_status(&leader_client).await;
            let caught_up = status.as_ref().is_some_and(|s| {
                s.learners == vec![4]
                    && s.peers
                        .iter()
                        .any(|p| p.id == 4 && p.active && p.matched >= s.commit_index)
            });
            if caught_up {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "node 4 did not catch up: {status:?}\n{}",
                node4.log_text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        trader.close().await;
        leader_client.close().await;
    });
    assert!(node4.log_text().contains("running"), "{}", node4.log_text());
}
