//! The dashboard's transactions, through the participant's session on the node's handle
//! ([`qraft_client::session::Session`] over the in-process [`Handle`]): signed with the
//! next nonce, handed to the node in the order the user made them (each takes a [`Turn`]
//! when made), retried by the one retry policy, and a transaction whose answer did not
//! come in time settled by the one settle rule (its receipt, or "not applied" once a
//! later nonce of mine is applied without it). Each step is reported as an [`Action`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use qraft_client::session::{
    Game, Link, Progress, Sequencer, Session, Settled, SubmitError, SyncError, Turn, settle,
};
use qraft_node::api::{Handle, NodeStopped};
use qraft_node::core::tx::TxBody;
use tokio::sync::mpsc::UnboundedSender;
use tokio::task::{JoinHandle, JoinSet};

use super::{FeedConfig, hex_prefix};
use crate::action::Action;

/// How long the dashboard waits for a receipt before settling the transaction instead.
const ANSWER_WAIT: Duration = Duration::from_secs(60);

/// Submits the dashboard's transactions and reports their outcomes.
pub struct Submitter {
    session: Arc<Session<Handle>>,
    link: Link<Session<Handle>>,
    watcher: JoinHandle<()>,
    sequencer: Sequencer,
    actions: UnboundedSender<Action>,
    tasks: JoinSet<()>,
}

impl Submitter {
    /// Must be called inside a tokio runtime.
    pub(super) fn new(config: &FeedConfig, actions: UnboundedSender<Action>) -> Submitter {
        let game = Game::new(config.genesis.clone(), Vec::new());
        let session = Arc::new(Session::new(
            config.handle.clone(),
            config.keypair.clone(),
            game,
            ANSWER_WAIT,
            None,
        ));
        let (link, watcher) =
            Link::start(session.clone(), |_: &Session<Handle>, _: &_, _: &str| {});
        Submitter {
            session,
            link,
            watcher,
            sequencer: Sequencer::default(),
            actions,
            tasks: JoinSet::new(),
        }
    }

    /// Takes `body`'s place in line now (so transactions reach the node in the user's
    /// order) and submits it; its outcome arrives as an action for `request`.
    pub fn submit(&mut self, request: u64, body: TxBody) {
        // Reap finished tasks so the set does not grow.
        while self.tasks.try_join_next().is_some() {}
        let attempt = Attempt {
            request,
            session: self.session.clone(),
            link: self.link.clone(),
            actions: self.actions.clone(),
        };
        let turn = self.sequencer.turn();
        self.tasks.spawn(attempt.run(body, turn));
    }

    pub fn stop(&mut self) {
        self.tasks.abort_all();
        self.watcher.abort();
    }
}

/// One transaction of the user's.
struct Attempt {
    request: u64,
    session: Arc<Session<Handle>>,
    link: Link<Session<Handle>>,
    actions: UnboundedSender<Action>,
}

impl Attempt {
    async fn run(self, body: TxBody, turn: Turn) {
        let started = Instant::now();
        let retrying = |progress: Progress| {
            let reason = match progress {
                Progress::Resending(refusal) => refusal.to_string(),
                Progress::Resyncing => {
                    "its nonce was already used by another client of your key".to_string()
                }
                Progress::Sending(_) => return,
            };
            let _ = self.actions.send(Action::Retrying {
                request: self.request,
                reason,
            });
        };
        let result = self.session.submit(&body, Some(turn), &retrying).await;
        let action = match result {
            Ok(committed) => self.committed(committed, started),
            Err(SubmitError::Stopped { .. }) => self.failed(&NodeStopped.to_string()),
            Err(err) if err.in_doubt().is_some() => {
                let _ = self.actions.send(Action::LookingForReceipt {
                    request: self.request,
                });
                let tx = err.in_doubt().expect("in doubt");
                self.settle(tx, started).await
            }
            Err(SubmitError::Refused { refusal, .. }) => self.failed(&refusal.to_string()),
            Err(SubmitError::Sync(SyncError::NotParticipant)) => {
                self.failed("this key is not a participant in this game")
            }
            Err(_) => self.failed(&NodeStopped.to_string()),
        };
        let _ = self.actions.send(action);
    }

    /// After no answer in time: the receipt, "not applied" once a later nonce of mine is
    /// applied without it, or "unknown".
    async fn settle(&self, tx: qraft_node::core::tx::TxHash, started: Instant) -> Action {
        let settled = settle(
            &self.link,
            self.session.clone(),
            tx,
            "no answer in time".into(),
        )
        .await;
        match settled {
            Settled::Applied { committed, .. } => self.committed(committed, started),
            Settled::NotApplied => self.failed(
                "a later transaction of yours was applied first, so this one never will be; \
                 place it again if you still want it",
            ),
            Settled::Unknown { .. } if self.session.transport().is_stopped() => {
                self.failed(&NodeStopped.to_string())
            }
            Settled::Unknown { .. } => Action::OutcomeUnknown {
                request: self.request,
                tx: hex_prefix(tx.0.as_slice()),
            },
        }
    }

    fn committed(
        &self,
        committed: qraft_node::net::proto::CommittedView,
        started: Instant,
    ) -> Action {
        Action::Committed {
            request: self.request,
            height: committed.height,
            receipt: committed.receipt,
            latency_ms: started.elapsed().as_millis() as u64,
        }
    }

    fn failed(&self, reason: &str) -> Action {
        Action::SubmitFailed {
            request: self.request,
            reason: reason.to_string(),
        }
    }
}
