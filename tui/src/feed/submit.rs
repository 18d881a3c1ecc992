//! Signing and submitting the dashboard's transactions through the node's handle.
//!
//! Transactions are signed and handed to the node in the order the user made them (the
//! handle keeps that order), each with a nonce above the last: at least the wall clock in
//! microseconds, like the CLI, and above the last nonce the ledger has seen from this key.
//! Refusals the node says may be retried (busy, no leader, leader changed) are retried a
//! few times; a stale nonce (another client of the same key went ahead) is re-signed once.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use qraft_keys::ChainId;
use qraft_keys::Keypair;
use qraft_node::api::{Handle, SubmitError};
use qraft_node::core::tx::{SignedTx, Tx, TxBody};
use qraft_node::replica::Refusal;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use super::{FeedConfig, hex_prefix};
use crate::action::Action;

/// How often a retryable refusal is retried.
const RETRIES: u32 = 5;
/// The wait before a retry; doubled each time.
const RETRY_DELAY: Duration = Duration::from_millis(250);

/// Signs with my key and the next nonce.
#[derive(Clone)]
struct Signer {
    keypair: Keypair,
    chain: ChainId,
    last_nonce: Arc<Mutex<u64>>,
}

impl Signer {
    fn sign(&self, body: TxBody) -> SignedTx {
        let clock = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_micros() as u64);
        let nonce = {
            let mut last = self.last_nonce.lock().unwrap_or_else(|e| e.into_inner());
            *last = (*last + 1).max(clock);
            *last
        };
        Tx {
            signer: self.keypair.public(),
            nonce,
            body,
        }
        .sign(&self.keypair, &self.chain)
    }

    /// The ledger has seen `nonce` from this key.
    fn seen(&self, nonce: u64) {
        let mut last = self.last_nonce.lock().unwrap_or_else(|e| e.into_inner());
        *last = (*last).max(nonce);
    }
}

/// Submits the dashboard's transactions and reports their outcomes.
pub struct Submitter {
    handle: Handle,
    signer: Signer,
    actions: UnboundedSender<Action>,
    tasks: JoinSet<()>,
}

impl Submitter {
    pub(super) fn new(config: &FeedConfig, actions: UnboundedSender<Action>) -> Submitter {
        let signer = Signer {
            keypair: config.keypair.clone(),
            chain: config.genesis.chain_id(),
            last_nonce: Arc::new(Mutex::new(0)),
        };
        let mut tasks = JoinSet::new();
        // Learn the ledger's last nonce for this key (the clock covers it meanwhile).
        let (handle, learner, me) = (
            config.handle.clone(),
            signer.clone(),
            config.keypair.public(),
        );
        tasks.spawn(async move {
            if let Ok(Some(last)) = handle
                .query(move |r| r.ledger().exchange().last_nonce(&me))
                .await
            {
                learner.seen(last);
            }
        });
        Submitter {
            handle: config.handle.clone(),
            signer,
            actions,
            tasks,
        }
    }

    /// Signs and hands `body` to the node now; its outcome arrives as an action for
    /// `request`.
    pub fn submit(&mut self, request: u64, body: TxBody) {
        // Reap finished tasks so the set does not grow.
        while self.tasks.try_join_next().is_some() {}
        let attempt = Attempt {
            request,
            body,
            handle: self.handle.clone(),
            signer: self.signer.clone(),
            actions: self.actions.clone(),
        };
        let first = attempt.send();
        self.tasks.spawn(attempt.follow(first));
    }

    pub fn stop(&mut self) {
        self.tasks.abort_all();
    }
}

/// One transaction of the user's, through its retries.
struct Attempt {
    request: u64,
    body: TxBody,
    handle: Handle,
    signer: Signer,
    actions: UnboundedSender<Action>,
}

impl Attempt {
    /// Signs and enqueues now (so transactions reach the node in the user's order).
    fn send(&self) -> (qraft_node::api::PendingSubmit, Instant) {
        let tx = self.signer.sign(self.body.clone());
        (self.handle.enqueue(tx), Instant::now())
    }

    async fn follow(self, first: (qraft_node::api::PendingSubmit, Instant)) {
        let (mut pending, mut sent) = first;
        let mut retries = 0;
        let mut resigned = false;
        let mut delay = RETRY_DELAY;
        loop {
            let hash = pending.hash();
            let outcome = pending.wait().await;
            let action = match outcome {
                Ok(committed) => Action::Committed {
                    request: self.request,
                    height: committed.height,
                    receipt: committed.receipt,
                    latency_ms: sent.elapsed().as_millis() as u64,
                },
                Err(SubmitError::Refused(refusal))
                    if refusal.is_retryable() && retries < RETRIES =>
                {
                    retries += 1;
                    self.retrying(&refusal.to_string());
                    tokio::time::sleep(delay).await;
                    delay *= 2;
                    (pending, sent) = self.send();
                    continue;
                }
                Err(SubmitError::Refused(Refusal::StaleNonce { last, .. })) if !resigned => {
                    resigned = true;
                    self.signer.seen(last);
                    self.retrying("its nonce was already used by another client of your key");
                    (pending, sent) = self.send();
                    continue;
                }
                Err(SubmitError::Refused(refusal)) => Action::SubmitFailed {
                    request: self.request,
                    reason: refusal.to_string(),
                },
                Err(SubmitError::Timeout { .. }) => Action::SubmitFailed {
                    request: self.request,
                    reason: format!(
                        "no answer in time, so the outcome is unknown: look at your orders \
                         (transaction {})",
                        hex_prefix(hash.0.as_slice())
                    ),
                },
                Err(SubmitError::Stopped) => Action::SubmitFailed {
                    request: self.request,
                    reason: "the node has stopped".into(),
                },
            };
            let _ = self.actions.send(action);
            return;
        }
    }

    fn retrying(&self, reason: &str) {
        let _ = self.actions.send(Action::Retrying {
            request: self.request,
            reason: reason.to_string(),
        });
    }
}
