//! Nodes the admin registers with `AddNode` join the Raft membership as learners.
//!
//! Every replica notes the nodes each applied block registered (the same on every node,
//! since they apply the same blocks). Whichever replica leads then proposes each one as a
//! learner, one membership change at a time, retrying until the change is seen in the
//! membership: a proposal can be dropped (another change pending) or lost in a leader
//! change, and the next leader holds the same list.

use std::time::Duration;

use crate::api::{MembershipChange, Role};
use crate::core::ledger::AppliedBlock;
use crate::core::tx::{AdminAction, TxBody};
use crate::core::types::NodeId;

use super::{Replica, ReplicaError};

/// How long the leader waits for a proposed join to take effect before proposing again.
pub(super) const JOIN_RETRY: Duration = Duration::from_secs(1);

impl Replica {
    /// Notes the nodes `applied` registered, for the leader to add.
    pub(super) fn note_registered_nodes(&mut self, applied: &AppliedBlock) {
        for (tx, receipt) in applied.block.txs.iter().zip(&applied.receipts) {
            if let TxBody::Admin(AdminAction::AddNode(spec)) = &tx.tx.body
                && receipt.is_accepted()
            {
                tracing::info!(node = spec.id, name = %spec.name, "a node was registered");
                self.joining.push_back(spec.id);
            }
        }
    }

    /// On the leader: makes the membership follow the ledger, one change at a time.
    /// First a node the ledger says was removed and that is still a member is proposed
    /// for removal; then the next registered node as a learner, unless it is a member
    /// already (or removed). A change is proposed again if it has not taken effect after
    /// [`JOIN_RETRY`].
    pub(super) fn propose_joins(&mut self) -> Result<(), ReplicaError> {
        let conf = self.driver.conf_state();
        let is_member = |id: &NodeId| {
            conf.voters.contains(id)
                || conf.learners.contains(id)
                || conf.voters_outgoing.contains(id)
        };
        let exchange = self.ledger.exchange();
        let leaving = exchange
            .removed_nodes()
            .find(|id| *id != self.config.id && is_member(id));
        while self
            .joining
            .front()
            .is_some_and(|id| is_member(id) || exchange.is_node_removed(*id))
        {
            self.joining.pop_front();
            self.last_join_proposal_ms = None;
        }
        let change = match (leaving, self.joining.front()) {
            (Some(node), _) => MembershipChange::Remove(node),
            (None, Some(&node)) => MembershipChange::AddLearner(node),
            (None, None) => return Ok(()),
        };
        let recently = self
            .last_join_proposal_ms
            .is_some_and(|at| self.now_ms < at + JOIN_RETRY.as_millis() as u64);
        if self.role != Role::Leader || recently || self.driver.has_pending_conf() {
            return Ok(());
        }
        self.last_join_proposal_ms = Some(self.now_ms);
        tracing::info!(?change, "proposing a membership change the ledger asks for");
        self.handle_membership(change)
    }
}
