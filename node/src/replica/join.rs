//! Nodes the admin registers with `AddNode` join the Raft membership as learners.
//!
//! Every replica notes the nodes each applied block registered (the same on every node,
//! since they apply the same blocks). Whichever replica leads then proposes each one as a
//! learner, one membership change at a time, retrying until the change is seen in the
//! membership: a proposal can be dropped (another change pending) or lost in a leader
//! change, and the next leader holds the same list.

use std::time::Duration;

use crate::core::ledger::AppliedBlock;
use crate::core::tx::{AdminAction, TxBody};
use crate::core::types::NodeId;

use super::status::Role;
use super::{MembershipChange, Replica, ReplicaError};

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

    /// On the leader: proposes the next registered node as a learner, unless it is a
    /// member already or a recent proposal may still take effect.
    pub(super) fn propose_joins(&mut self) -> Result<(), ReplicaError> {
        let conf = self.driver.conf_state();
        let is_member = |id: &NodeId| conf.voters.contains(id) || conf.learners.contains(id);
        while self.joining.front().is_some_and(is_member) {
            self.joining.pop_front();
            self.last_join_proposal_ms = None;
        }
        let Some(&node) = self.joining.front() else {
            return Ok(());
        };
        let recently = self
            .last_join_proposal_ms
            .is_some_and(|at| self.now_ms < at + JOIN_RETRY.as_millis() as u64);
        if self.role != Role::Leader || recently || self.driver.has_pending_conf() {
            return Ok(());
        }
        self.last_join_proposal_ms = Some(self.now_ms);
        tracing::info!(node, "proposing the registered node as a learner");
        self.handle_membership(MembershipChange::AddLearner(node))
    }
}
