//! The [`Transport`] in the same process: the node's [`Handle`] (the dashboard of
//! `qraft run` and `qraft demo`). Its connection is never lost while the process runs.

use qraft_keys::PublicKey;
use qraft_node::api::StoredReceipt;
use qraft_node::api::{Committed, Handle, QueryError, SubmitError};
use qraft_node::core::tx::{SignedTx, TxHash};
use qraft_node::net::proto::CommittedView;

use super::transport::{PendingAnswer, Transport, Unanswered};
use crate::failover::{Settlement, nonce_passed, settlement};

fn unanswered(err: SubmitError) -> Unanswered<QueryError> {
    match err {
        SubmitError::Refused(refusal) => Unanswered::Refused(refusal),
        SubmitError::Timeout { hash, .. } => Unanswered::NodeTimedOut(hash),
        SubmitError::Stopped(_) => Unanswered::Stopped,
    }
}

/// The receipt as the wire shows it: with its block's hash.
async fn with_block(
    handle: &Handle,
    stored: StoredReceipt,
) -> Result<Option<CommittedView>, QueryError> {
    let Some(block) = handle.block(stored.height).await? else {
        return Ok(None);
    };
    Ok(Some(CommittedView::from(Committed {
        height: stored.height,
        block_hash: block.hash(),
        index: stored.index,
        receipt: stored.receipt,
    })))
}

impl Transport for Handle {
    type Error = QueryError;

    fn address(&self) -> String {
        format!("node {} (this process)", self.id())
    }

    fn is_closed(&self) -> bool {
        self.is_stopped()
    }

    async fn lost(&self) -> String {
        // The node is in this process: it is lost only when it stops.
        while !self.is_stopped() {
            tokio::time::sleep(crate::failover::WATCH_EVERY).await;
        }
        qraft_node::api::NodeStopped.to_string()
    }

    fn abandon(&self, _why: &str) {}

    async fn send(
        &self,
        tx: &SignedTx,
    ) -> Result<PendingAnswer<QueryError>, Unanswered<QueryError>> {
        // Enqueued now: transactions reach the node in the order they are sent.
        let pending = self.enqueue(tx.clone());
        Ok(Box::pin(async move {
            pending
                .wait()
                .await
                .map(CommittedView::from)
                .map_err(unanswered)
        }))
    }

    async fn last_nonce(&self, key: PublicKey) -> Result<Option<u64>, QueryError> {
        Handle::last_nonce(self, key).await
    }

    async fn committed(&self, hash: TxHash) -> Result<Option<CommittedView>, QueryError> {
        match self.receipt(hash).await? {
            Some(stored) => with_block(self, stored).await,
            None => Ok(None),
        }
    }

    async fn look_up(
        &self,
        hash: TxHash,
        key: PublicKey,
        nonce: u64,
    ) -> Result<Settlement<CommittedView>, QueryError> {
        let facts = self.settle_facts(hash, key).await?;
        let passed = facts.whole_chain && nonce_passed(facts.last_nonce, nonce);
        let receipt = match facts.receipt {
            Some(stored) => with_block(self, stored).await?,
            None => None,
        };
        Ok(settlement(passed, receipt))
    }
}
