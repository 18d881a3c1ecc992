//! Admitting an approved student on the chain: the participant and the node, registered
//! by the teacher's admin key through the teacher's own node, one student at a time (the
//! next node id depends on the last).

use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::api::Handle;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::genesis::{DIALS_OUT, Genesis, NodeSpec};
use qraft_node::core::tx::{AdminAction, ParticipantSpec, TxBody};
use qraft_node::core::types::{Cents, NodeId, Role, Shares};
use qraft_node::enroll::EnrollRequest;

use crate::session::{Game, Session};

/// How long one registration may wait for its block: a LAN commit takes milliseconds; a
/// teacher's laptop whose voters lost their leader needs a second or two to elect one.
const ADMIT_WAIT: Duration = Duration::from_secs(20);

/// What each student starts with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowance {
    pub cash: Cents,
    /// Shares of every listed symbol.
    pub shares: Shares,
}

/// Registers students through `handle` as the game's admin.
pub struct Admitter {
    session: Session<Handle>,
    handle: Handle,
    allowance: Allowance,
    /// Serializes registrations: the next node id is the highest so far plus one.
    one_at_a_time: tokio::sync::Mutex<()>,
}

/// A student on the chain.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Admitted {
    pub node_id: NodeId,
    pub node_name: String,
    /// Whether they were already registered (a laptop enrolling again with its keys).
    pub returning: bool,
}

/// Why a student could not be registered (the student is told this).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdmitError {
    #[error("the name {0:?} is taken in this game; join again with another (add an initial)")]
    NameTaken(String),
    #[error("this laptop's keys belong to {0} in this game")]
    KeysTaken(String),
    #[error("the game refused the registration: {0}")]
    Rejected(String),
    #[error("the teacher's node could not register you: {0}")]
    Node(String),
}

impl Admitter {
    pub fn new(handle: Handle, admin: Keypair, genesis: Genesis, allowance: Allowance) -> Admitter {
        let game = Game::new(genesis, Vec::new());
        let session = Session::new(handle.clone(), admin, game, ADMIT_WAIT, None);
        Admitter {
            session,
            handle,
            allowance,
            one_at_a_time: tokio::sync::Mutex::new(()),
        }
    }

    /// The student's registration if their keys are already on the chain (enrolling again
    /// after losing their laptop's copy of the grant), checked to be theirs alone.
    pub async fn returning(&self, request: &EnrollRequest) -> Result<Option<Admitted>, AdmitError> {
        let node = self.node_with_key(request).await?;
        let account = self
            .handle
            .account(request.participant)
            .await
            .map_err(|e| AdmitError::Node(e.to_string()))?;
        match (node, account) {
            (Some(node), Some(account)) if account.name == request.name => Ok(Some(Admitted {
                node_id: node.id,
                node_name: node.name,
                returning: true,
            })),
            (None, None) => Ok(None),
            (Some(node), _) => Err(AdmitError::KeysTaken(format!("node {}", node.name))),
            (None, Some(account)) => Err(AdmitError::KeysTaken(account.name)),
        }
    }

    async fn node_with_key(&self, request: &EnrollRequest) -> Result<Option<NodeSpec>, AdmitError> {
        let nodes = self
            .handle
            .nodes()
            .await
            .map_err(|e| AdmitError::Node(e.to_string()))?;
        Ok(nodes.into_iter().find(|n| n.key == request.node))
    }

    /// Registers the student's participant (with the class's allowance) and node (a
    /// learner that dials out), each in a block, and returns the node's id.
    pub async fn admit(&self, request: &EnrollRequest) -> Result<Admitted, AdmitError> {
        let _turn = self.one_at_a_time.lock().await;
        if let Some(admitted) = self.returning(request).await? {
            return Ok(admitted);
        }
        let nodes = self
            .handle
            .nodes()
            .await
            .map_err(|e| AdmitError::Node(e.to_string()))?;
        let node_id = nodes.iter().map(|n| n.id).max().unwrap_or(0) + 1;
        let node_name = node_name(&request.name, node_id);
        let symbols = self
            .handle
            .symbols()
            .await
            .map_err(|e| AdmitError::Node(e.to_string()))?;
        let participant = ParticipantSpec {
            name: request.name.clone(),
            key: request.participant,
            role: Role::Trader,
            cash: self.allowance.cash,
            holdings: symbols
                .iter()
                .map(|s| (s.ticker, self.allowance.shares))
                .collect(),
        };
        self.register(AdminAction::AddParticipant(participant), &request.name)
            .await?;
        let node = NodeSpec {
            id: node_id,
            name: node_name.clone(),
            key: request.node,
            address: DIALS_OUT.to_owned(),
        };
        self.register(AdminAction::AddNode(node), &request.name)
            .await?;
        Ok(Admitted {
            node_id,
            node_name,
            returning: false,
        })
    }

    /// Registers node `id` at `address` (a laptop that dialled out, about to be made a
    /// voter). One change at a time, like registrations.
    pub async fn set_node_address(&self, id: NodeId, address: &str) -> Result<(), AdmitError> {
        let _turn = self.one_at_a_time.lock().await;
        let action = AdminAction::SetNodeAddress {
            id,
            address: address.to_owned(),
        };
        self.register(action, address).await
    }

    async fn register(&self, action: AdminAction, name: &str) -> Result<(), AdmitError> {
        let body = TxBody::Admin(action);
        let committed = self
            .session
            .submit(&body, None, &|_| {})
            .await
            .map_err(|e| AdmitError::Node(format!("{e:?}")))?;
        match committed.receipt.outcome {
            Outcome::Accepted(_) => Ok(()),
            Outcome::Rejected(Rejection::DuplicateName(_)) => {
                Err(AdmitError::NameTaken(name.to_owned()))
            }
            Outcome::Rejected(rejection) => Err(AdmitError::Rejected(rejection.to_string())),
        }
    }
}

/// The registered name of a student's node: their name's letters and digits, lowercased,
/// and the node id, so two students' nodes never share a name (`ada-lovelace-7`).
pub fn node_name(student: &str, id: NodeId) -> String {
    let mut slug = String::new();
    for c in student.chars().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
        if slug.len() >= 40 {
            break;
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        format!("laptop-{id}")
    } else {
        format!("{slug}-{id}")
    }
}

/// The students an earlier class admitted, as `(name, node id)` in registration order:
/// each registered node outside the genesis whose name is [`node_name`] of a participant's
/// name and its id. (The chain does not link a participant to a node; the class named
/// the node after the student, which does.)
pub fn admitted_earlier(
    participants: &[String],
    nodes: &[NodeSpec],
    in_genesis: &[NodeId],
) -> Vec<(String, NodeId)> {
    nodes
        .iter()
        .filter(|node| !in_genesis.contains(&node.id))
        .filter_map(|node| {
            participants
                .iter()
                .find(|name| node_name(name, node.id) == node.name)
                .map(|name| (name.clone(), node.id))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::{admitted_earlier, node_name};
    use qraft_keys::Keypair;
    use qraft_node::core::genesis::{DIALS_OUT, NodeSpec};

    #[test]
    fn students_admitted_earlier_are_found_by_their_nodes_names() {
        let node = |id: u64, name: &str| NodeSpec {
            id,
            name: name.into(),
            key: Keypair::from_label(&format!("earlier/{id}")).public(),
            address: DIALS_OUT.into(),
        };
        let nodes = vec![
            node(1, "node1"),
            node(4, "ada-lovelace-4"),
            node(5, "lab-pc-9"),
            node(6, "bob-6"),
        ];
        let participants = vec![
            "teacher".to_owned(),
            "Bob".to_owned(),
            "Ada Lovelace".to_owned(),
        ];
        assert_eq!(
            admitted_earlier(&participants, &nodes, &[1]),
            vec![("Ada Lovelace".to_owned(), 4), ("Bob".to_owned(), 6)]
        );
    }

    #[test]
    fn node_names_are_the_students_name_and_the_id() {
        assert_eq!(node_name("Ada Lovelace", 7), "ada-lovelace-7");
        assert_eq!(node_name("  O'Brien, Pat ", 12), "o-brien-pat-12");
        assert_eq!(node_name("李雷", 4), "李雷-4");
        assert_eq!(node_name("!!!", 5), "laptop-5");
    }
}
