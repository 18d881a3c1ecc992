//! The bot's sending lane: one signing key, one nonce counter and one ordered submission
//! [`Pipeline`], shared by the [`Bot`](super::Bot) and every
//! [`Pending`](super::Pending) handle it gave out (a handle re-signs and resends its
//! transaction when the node refuses it for a passing reason).
//!
//! Signing and writing happen under one lock, so nonces reach the node in the order they
//! were given out: the pipeline keeps that order all the way to the leader.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use qraft_keys::{ChainId, Keypair};
use tokio::sync::Mutex;

use crate::core::tx::{Tx, TxBody, TxHash};
use crate::net::client::{Client, ClientError, PendingReceipt, Pipeline};
use crate::net::proto::{Request, Response};

use super::BotError;

/// What the bot and its pending handles share.
pub(crate) struct Lane {
    client: Client,
    keypair: Keypair,
    chain: ChainId,
    state: Mutex<LaneState>,
}

/// What changes as transactions are sent.
struct LaneState {
    /// The open pipeline; `None` before the first send and after it broke (the next send
    /// opens a new one).
    pipeline: Option<Arc<Pipeline>>,
    /// The last nonce signed.
    last_nonce: u64,
}

/// One transaction written on the pipeline, its receipt to come.
pub(crate) struct Sent {
    pub hash: TxHash,
    pub nonce: u64,
    pub receipt: PendingReceipt,
    /// The pipeline it went on, so a broken one can be told apart from its successor.
    pub pipeline: Arc<Pipeline>,
}

impl Lane {
    pub fn new(client: Client, keypair: Keypair, chain: ChainId) -> Lane {
        Lane {
            client,
            keypair,
            chain,
            state: Mutex::new(LaneState {
                pipeline: None,
                last_nonce: 0,
            }),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    /// Gives the connection back, if no pending handle still holds the lane.
    pub fn into_client(self) -> Client {
        self.client
    }

    /// Signs `body` with the next nonce and writes it on the pipeline behind everything
    /// sent before it; returns once it is written, not once it is applied.
    ///
    /// The pipeline is opened on first use. If writing fails (the stream broke), it is
    /// opened again and the same signed transaction written once more: a frame that
    /// failed to write never reached the node whole, so it cannot be applied twice.
    pub async fn send(&self, body: &TxBody) -> Result<Sent, BotError> {
        let mut state = self.state.lock().await;
        state.last_nonce = next_nonce(state.last_nonce, clock_micros());
        let nonce = state.last_nonce;
        let tx = Tx {
            signer: self.keypair.public(),
            nonce,
            body: body.clone(),
        }
        .sign(&self.keypair, &self.chain);
        let hash = tx.hash();
        let mut reopened = false;
        loop {
            let pipeline = self.open(&mut state).await?;
            match pipeline.submit(&tx).await {
                Ok(receipt) => {
                    return Ok(Sent {
                        hash,
                        nonce,
                        receipt,
                        pipeline,
                    });
                }
                Err(err) => {
                    state.pipeline = None;
                    if reopened {
                        return Err(err.into());
                    }
                    tracing::info!(%err, "the submission pipeline broke; opening another");
                    reopened = true;
                }
            }
        }
    }

    /// The open pipeline, opening one if there is none.
    async fn open(&self, state: &mut LaneState) -> Result<Arc<Pipeline>, ClientError> {
        if let Some(pipeline) = &state.pipeline {
            return Ok(pipeline.clone());
        }
        let pipeline = Arc::new(self.client.pipeline().await?);
        state.pipeline = Some(pipeline.clone());
        Ok(pipeline)
    }

    /// Forgets `broken` (if it is still the open pipeline), so the next send opens a new
    /// one.
    pub async fn forget_pipeline(&self, broken: &Arc<Pipeline>) {
        let mut state = self.state.lock().await;
        if state
            .pipeline
            .as_ref()
            .is_some_and(|open| Arc::ptr_eq(open, broken))
        {
            tracing::info!("the submission pipeline closed; the next send opens another");
            state.pipeline = None;
        }
    }

    /// Learns the last nonce the game has applied from this key, so the next one is
    /// above it (another program may have used the key).
    pub async fn sync_nonce(&self) -> Result<(), BotError> {
        let last = match self.client.request(&Request::Account).await? {
            Response::Account(Some(account)) => account.last_nonce,
            Response::Account(None) => {
                return Err(BotError::Unexpected(
                    "this key is not a participant in this game".into(),
                ));
            }
            other => return Err(super::unexpected(&other)),
        };
        let mut state = self.state.lock().await;
        state.last_nonce = state.last_nonce.max(last);
        Ok(())
    }
}

/// The next nonce: above the last one signed, and at least the wall clock in
/// microseconds, so a restarted bot does not reuse the nonce of a transaction that is
/// still waiting to be applied (the same rule as [`Client::sign`]).
pub(crate) fn next_nonce(last: u64, clock_micros: u64) -> u64 {
    last.saturating_add(1).max(clock_micros)
}

fn clock_micros() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nonces_rise_and_never_fall_behind_the_clock() {
        assert_eq!(next_nonce(0, 1_000), 1_000);
        assert_eq!(next_nonce(1_000, 1_000), 1_001);
        // The clock went back (or many were signed within a microsecond): still above.
        assert_eq!(next_nonce(5_000, 1_000), 5_001);
    }
}
