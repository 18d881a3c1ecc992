//! Signing and submitting the dashboard's transactions through the node's handle.
//!
//! Transactions are signed and handed to the node in the order the user made them (the
//! handle keeps that order), each with a nonce above the last: at least the wall clock in
//! microseconds, like the CLI, and above the last nonce the ledger has seen from this key.
//! Refusals are retried by the shared policy ([`qraft_client::retry`]): a passing one (busy,
//! no leader, leader changed) a few times with growing pauses; a stale nonce (another
//! client of the same key went ahead) is learnt and the transaction re-signed once.
//! A transaction with no answer in time may still be applied (the node's wait ended, not
//! the transaction): its receipt is looked for a while, and a later nonce of mine applied
//! without it proves it never will be, so most timeouts still end in a definite answer.

use std::time::{Duration, Instant};

use qraft_client::failover::{Settlement, nonce_passed, settlement};
use qraft_client::nonce::NonceClock;
use qraft_client::retry::{self, Decision, RETRIES, Tries};
use qraft_keys::ChainId;
use qraft_keys::Keypair;
use qraft_node::api::{Committed, Handle, NodeStopped, Refusal, SubmitError};
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::tx::{SignedTx, Tx, TxBody, TxHash};
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::JoinSet;

use super::{FeedConfig, hex_prefix};
use crate::action::Action;

/// After a timeout: how long to look for the receipt, and how often.
const LOOK_FOR: Duration = Duration::from_secs(30);
const LOOK_EVERY: Duration = Duration::from_millis(500);

/// Signs with my key and the next nonce ([`NonceClock`]).
#[derive(Clone)]
struct Signer {
    keypair: Keypair,
    chain: ChainId,
    nonces: NonceClock,
}

impl Signer {
    fn sign(&self, body: TxBody) -> SignedTx {
        Tx {
            signer: self.keypair.public(),
            nonce: self.nonces.next(),
            body,
        }
        .sign(&self.keypair, &self.chain)
    }

    /// The ledger has seen `nonce` from this key.
    fn seen(&self, nonce: u64) {
        self.nonces.saw(nonce);
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
            nonces: NonceClock::new(),
        };
        let mut tasks = JoinSet::new();
        // Learn the ledger's last nonce for this key (the clock covers it meanwhile).
        let (handle, learner, me) = (
            config.handle.clone(),
            signer.clone(),
            config.keypair.public(),
        );
        tasks.spawn(async move {
            if let Ok(Some(last)) = handle.last_nonce(me).await {
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
    fn send(&self) -> Sent {
        let tx = self.signer.sign(self.body.clone());
        let nonce = tx.tx.nonce;
        Sent {
            pending: self.handle.enqueue(tx),
            at: Instant::now(),
            nonce,
        }
    }

    async fn follow(self, first: Sent) {
        let Sent {
            mut pending,
            at: mut sent,
            mut nonce,
        } = first;
        let mut tries = Tries::default();
        loop {
            let hash = pending.hash();
            let outcome = pending.wait().await;
            let setback = match &outcome {
                Ok(committed) => retry::applied(&committed.receipt.outcome),
                Err(SubmitError::Refused(refusal)) => retry::refused(refusal),
                Err(_) => None,
            };
            let decision = setback.map_or(Decision::Stop, |s| retry::decide(s, tries, RETRIES));
            tries = tries.after(decision);
            match decision {
                Decision::Resend { after } => {
                    if let Err(SubmitError::Refused(refusal)) = &outcome {
                        self.retrying(&refusal.to_string());
                    }
                    tokio::time::sleep(after).await;
                }
                Decision::Resync => {
                    self.signer.seen(seen_nonce(&outcome).unwrap_or(nonce));
                    self.retrying("its nonce was already used by another client of your key");
                }
                Decision::Stop => {
                    let action = self.conclude(outcome, hash, nonce, sent).await;
                    let _ = self.actions.send(action);
                    return;
                }
            }
            Sent {
                pending,
                at: sent,
                nonce,
            } = self.send();
        }
    }

    /// The action for a final answer (or none in time).
    async fn conclude(
        &self,
        outcome: Result<Committed, SubmitError>,
        hash: TxHash,
        nonce: u64,
        sent: Instant,
    ) -> Action {
        match outcome {
            Ok(committed) => Action::Committed {
                request: self.request,
                height: committed.height,
                receipt: committed.receipt,
                latency_ms: sent.elapsed().as_millis() as u64,
            },
            Err(SubmitError::Refused(refusal)) => Action::SubmitFailed {
                request: self.request,
                reason: refusal.to_string(),
            },
            Err(SubmitError::Timeout { .. }) => {
                let _ = self.actions.send(Action::LookingForReceipt {
                    request: self.request,
                });
                self.look_for_receipt(hash, nonce, sent).await
            }
            Err(SubmitError::Stopped(stopped)) => Action::SubmitFailed {
                request: self.request,
                reason: stopped.to_string(),
            },
        }
    }

    /// After a timeout: the receipt if it turns up, "not applied" once a later nonce of
    /// mine is applied without it, or "unknown" after [`LOOK_FOR`].
    async fn look_for_receipt(&self, hash: TxHash, nonce: u64, sent: Instant) -> Action {
        let me = self.signer.keypair.public();
        let deadline = Instant::now() + LOOK_FOR;
        loop {
            let seen = self
                .handle
                .settle_facts(hash, me)
                .await
                // The one settle rule: whole chain and nonce first, then the receipt.
                .map(|facts| {
                    let passed = facts.whole_chain && nonce_passed(facts.last_nonce, nonce);
                    settlement(passed, facts.receipt)
                });
            match seen {
                Ok(Settlement::Applied(stored)) => {
                    return Action::Committed {
                        request: self.request,
                        height: stored.height,
                        receipt: stored.receipt,
                        latency_ms: sent.elapsed().as_millis() as u64,
                    };
                }
                Ok(Settlement::NotApplied) => {
                    return Action::SubmitFailed {
                        request: self.request,
                        reason: "a later transaction of yours was applied first, so this one \
                                 never will be; place it again if you still want it"
                            .into(),
                    };
                }
                Ok(Settlement::Unsettled) if Instant::now() < deadline => {}
                Ok(Settlement::Unsettled) => {
                    return Action::OutcomeUnknown {
                        request: self.request,
                        tx: hex_prefix(hash.0.as_slice()),
                    };
                }
                Err(_) => {
                    return Action::SubmitFailed {
                        request: self.request,
                        reason: NodeStopped.to_string(),
                    };
                }
            }
            tokio::time::sleep(LOOK_EVERY).await;
        }
    }

    fn retrying(&self, reason: &str) {
        let _ = self.actions.send(Action::Retrying {
            request: self.request,
            reason: reason.to_string(),
        });
    }
}

/// A transaction just signed and handed to the node.
struct Sent {
    pending: qraft_node::api::PendingSubmit,
    at: Instant,
    nonce: u64,
}

/// The last nonce of this key a nonce setback tells of, if it does.
fn seen_nonce(outcome: &Result<Committed, SubmitError>) -> Option<u64> {
    match outcome {
        Err(SubmitError::Refused(Refusal::StaleNonce { last, .. })) => Some(*last),
        Err(SubmitError::Refused(Refusal::NonceInUse { nonce })) => Some(*nonce),
        Ok(committed) => match committed.receipt.outcome {
            Outcome::Rejected(Rejection::StaleNonce { last, .. }) => Some(last),
            _ => None,
        },
        Err(_) => None,
    }
}
