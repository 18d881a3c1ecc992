//! Every node's status for the cluster panel, once a second: the dashboard's own node
//! through its handle, every other node over QUIC as this participant (so "reachable"
//! means what it says: this laptop reaches that node).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use qraft_client::query;
use qraft_node::api::Handle;
use qraft_node::core::types::NodeId;
use qraft_node::net::client::Client;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use super::FeedConfig;
use crate::action::Action;

/// How often each node is asked.
const EVERY: Duration = Duration::from_secs(1);
/// How long an answer may take before the node counts as unreachable.
const ANSWER_WITHIN: Duration = Duration::from_secs(2);
/// How long to wait between attempts to reach an unreachable node.
const REDIAL_EVERY: Duration = Duration::from_secs(3);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Polls every node until the feed stops.
pub(super) async fn poll(config: FeedConfig, actions: UnboundedSender<Action>) {
    let local = config.handle.id();
    let mut tasks = JoinSet::new();
    tasks.spawn(poll_local(config.handle.clone(), actions.clone()));
    for (&id, address) in &config.addresses {
        if id != local {
            tasks.spawn(poll_remote(
                config.clone(),
                id,
                address.clone(),
                actions.clone(),
            ));
        }
    }
    while tasks.join_next().await.is_some() {}
}

async fn poll_local(handle: Handle, actions: UnboundedSender<Action>) {
    let id = handle.id();
    let mut every = tokio::time::interval(EVERY);
    loop {
        every.tick().await;
        let result = match tokio::time::timeout(ANSWER_WITHIN, handle.status()).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(stopped)) => Err(stopped.to_string()),
            Err(_) => Err("no answer within 2s (the node is busy or stuck)".into()),
        };
        let stopped = result.is_err() && handle.is_stopped();
        let sent = actions.send(Action::NodeStatus {
            id,
            result,
            at_ms: now_ms(),
        });
        if sent.is_err() || stopped {
            return;
        }
    }
}

async fn poll_remote(
    config: FeedConfig,
    id: NodeId,
    address: String,
    actions: UnboundedSender<Action>,
) {
    let mut client: Option<Client> = None;
    loop {
        if client.as_ref().is_some_and(Client::is_closed) {
            client = None;
        }
        let result = match &client {
            Some(c) => ask(c).await,
            None => match dial(&config, &address).await {
                Ok(c) => {
                    let answer = ask(&c).await;
                    client = Some(c);
                    answer
                }
                Err(why) => Err(why),
            },
        };
        let failed = result.is_err();
        if failed && let Some(c) = client.take() {
            c.abandon("no answer");
        }
        let sent = actions.send(Action::NodeStatus {
            id,
            result,
            at_ms: now_ms(),
        });
        if sent.is_err() {
            return;
        }
        tokio::time::sleep(if failed { REDIAL_EVERY } else { EVERY }).await;
    }
}

async fn dial(config: &FeedConfig, address: &str) -> Result<Client, String> {
    let nodes = [address.to_string()];
    let connect = Client::connect(&config.genesis, config.keypair.clone(), &nodes);
    match tokio::time::timeout(ANSWER_WITHIN, connect).await {
        Ok(Ok(client)) => Ok(client),
        Ok(Err(err)) => Err(err.to_string()),
        Err(_) => Err(format!("no answer from {address} within 2s")),
    }
}

async fn ask(client: &Client) -> Result<qraft_node::api::Status, String> {
    match tokio::time::timeout(ANSWER_WITHIN, query::status().ask(client)).await {
        Ok(answer) => answer.map_err(|err| err.to_string()),
        Err(_) => Err("no answer within 2s".into()),
    }
}
