//! The node registry: every node that may join the network, with its key and address.
//!
//! It starts as the genesis voters and learners (in that order) and grows by the admin's
//! [`AdminAction::AddNode`](crate::core::tx::AdminAction::AddNode). Nodes are never
//! removed from it (a node taken out of the Raft membership keeps its id and key, so the
//! id can never be reused by someone else). Each node is a leaf of the state digest, so
//! every node agrees on who may join.

use super::Exchange;
use super::digest;
use super::reject::Rejection;
use crate::core::genesis::NodeSpec;
use crate::core::genesis::validate::{check_address, check_text};
use crate::core::tx::MAX_NAME_BYTES;
use crate::core::types::NodeId;

impl Exchange {
    /// Every registered node, in the order it was registered.
    pub fn nodes(&self) -> &[NodeSpec] {
        &self.nodes
    }

    /// The registered node with this id.
    pub fn node(&self, id: NodeId) -> Option<&NodeSpec> {
        self.nodes.iter().find(|n| n.id == id)
    }

    /// Whether the admin removed this registered node.
    pub fn is_node_removed(&self, id: NodeId) -> bool {
        self.removed_nodes.contains(&id)
    }

    /// The registered nodes the admin removed, by id.
    pub fn removed_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.removed_nodes.iter().copied()
    }

    /// Marks a registered node removed, for good.
    pub(super) fn remove_node(&mut self, id: NodeId) -> Result<(), Rejection> {
        let Some(node) = self.node(id) else {
            return Err(Rejection::UnknownNode(id));
        };
        if self.removed_nodes.contains(&id) {
            return Err(Rejection::AlreadyInState {
                what: node.name.clone(),
                state: "removed".into(),
            });
        }
        self.removed_nodes.insert(id);
        self.accumulator.add(&digest::removed_node_leaf(id));
        Ok(())
    }

    /// Gives a registered, not removed, node a new address (checked as the genesis's
    /// are). Its place in the registry stays: only its leaf in the digest changes.
    pub(super) fn set_node_address(&mut self, id: NodeId, address: &str) -> Result<(), Rejection> {
        check_address(address).map_err(Rejection::InvalidSpec)?;
        let Some(index) = self.nodes.iter().position(|n| n.id == id) else {
            return Err(Rejection::UnknownNode(id));
        };
        let node = &self.nodes[index];
        if self.removed_nodes.contains(&id) {
            return Err(Rejection::AlreadyInState {
                what: node.name.clone(),
                state: "removed".into(),
            });
        }
        if node.address == address {
            return Err(Rejection::AlreadyInState {
                what: node.name.clone(),
                state: format!("at {address}"),
            });
        }
        let mut moved = node.clone();
        moved.address = address.to_owned();
        self.accumulator.sub(&digest::node_leaf(index, node));
        self.accumulator.add(&digest::node_leaf(index, &moved));
        self.nodes[index] = moved;
        Ok(())
    }

    /// Registers a node after checking it against every node and participant.
    pub(super) fn add_node(&mut self, spec: &NodeSpec) -> Result<(), Rejection> {
        if spec.id == 0 {
            return Err(Rejection::InvalidSpec(
                "a node's id must be at least 1 (0 is not a Raft id)".into(),
            ));
        }
        check_text("a node's name", &spec.name, MAX_NAME_BYTES).map_err(Rejection::InvalidSpec)?;
        check_address(&spec.address).map_err(Rejection::InvalidSpec)?;
        if spec.key.verifying_key().is_err() {
            return Err(Rejection::InvalidSpec(
                "the node's key is not a valid (strong) ed25519 public key".into(),
            ));
        }
        if self.node(spec.id).is_some() {
            return Err(Rejection::DuplicateNodeId(spec.id));
        }
        let folded = spec.name.to_lowercase();
        if self.nodes.iter().any(|n| n.name.to_lowercase() == folded) {
            return Err(Rejection::DuplicateNodeName(spec.name.clone()));
        }
        if let Some(owner) = self.key_owner(&spec.key) {
            return Err(Rejection::KeyInUse(owner));
        }
        self.accumulator
            .add(&digest::node_leaf(self.nodes.len(), spec));
        self.nodes.push(spec.clone());
        Ok(())
    }

    /// Who already uses this key: a node or a participant, by name.
    pub(super) fn key_owner(&self, key: &qraft_keys::PublicKey) -> Option<String> {
        if let Some(node) = self.nodes.iter().find(|n| n.key == *key) {
            return Some(format!("node {}", node.name));
        }
        let index = *self.account_index.get(key)?;
        Some(self.accounts[index as usize].name.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::exchange::receipt::Outcome;
    use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
    use crate::core::tx::{AdminAction, Tx, TxBody};
    use qraft_keys::Keypair;

    fn admin_tx(exchange: &Exchange, admin: &Keypair, action: AdminAction) -> Tx {
        let nonce = exchange.last_nonce(&admin.public()).unwrap() + 1;
        Tx {
            signer: admin.public(),
            nonce,
            body: TxBody::Admin(action),
        }
    }

    fn spec(id: NodeId, name: &str, key: &Keypair, address: &str) -> NodeSpec {
        NodeSpec {
            id,
            name: name.into(),
            key: key.public(),
            address: address.into(),
        }
    }

    #[test]
    fn genesis_nodes_are_registered_and_an_admin_adds_one() {
        let SampleGame { genesis, admin, .. } = sample_game(&SampleOptions::default());
        let mut exchange = Exchange::from_genesis(&genesis).unwrap();
        let voters = genesis.voters.len();
        assert_eq!(exchange.nodes().len(), voters + genesis.learners.len());
        let before = exchange.end_block();
        let new_key = Keypair::from_label("node-test/77");
        let tx = admin_tx(
            &exchange,
            &admin,
            AdminAction::AddNode(spec(40, "lab-40", &new_key, "10.0.0.40:7801")),
        );
        exchange.begin_block(1, 0);
        assert!(matches!(exchange.apply(&tx), Outcome::Accepted(_)));
        let after = exchange.end_block();
        assert_ne!(before, after, "the registry is part of the digest");
        assert_eq!(after, exchange.recompute_digest());
        assert_eq!(exchange.node(40).unwrap().name, "lab-40");
        let restored = Exchange::restore(&exchange.snapshot()).unwrap();
        assert_eq!(restored.nodes(), exchange.nodes());
        assert_eq!(restored.digest(), after);
    }

    #[test]
    fn an_admin_registers_laptops_that_dial_out() {
        use crate::core::genesis::{DIALS_OUT, promotion_refusal};
        let SampleGame { genesis, admin, .. } = sample_game(&SampleOptions::default());
        let mut exchange = Exchange::from_genesis(&genesis).unwrap();
        exchange.begin_block(1, 0);
        for (id, label) in [(41, "node-test/41"), (42, "node-test/42")] {
            let laptop = spec(id, label, &Keypair::from_label(label), DIALS_OUT);
            let tx = admin_tx(&exchange, &admin, AdminAction::AddNode(laptop));
            assert!(matches!(exchange.apply(&tx), Outcome::Accepted(_)));
        }
        let laptop = exchange.node(42).unwrap();
        assert!(laptop.dials_out());
        let why = promotion_refusal(laptop).expect("a laptop that dials out is no voter");
        assert!(why.contains("must be able to dial a voter"), "{why}");
        assert_eq!(promotion_refusal(&genesis.voters[0]), None);
    }

    #[test]
    fn a_laptop_that_dialled_out_is_given_an_address_and_may_then_be_promoted() {
        use crate::core::genesis::{DIALS_OUT, promotion_refusal};
        let SampleGame {
            genesis,
            admin,
            traders,
            ..
        } = sample_game(&SampleOptions::default());
        let mut exchange = Exchange::from_genesis(&genesis).unwrap();
        exchange.begin_block(1, 0);
        let laptop = spec(
            41,
            "ada-41",
            &Keypair::from_label("node-test/41"),
            DIALS_OUT,
        );
        let tx = admin_tx(&exchange, &admin, AdminAction::AddNode(laptop));
        assert!(matches!(exchange.apply(&tx), Outcome::Accepted(_)));
        let before = exchange.end_block();
        let set = |exchange: &Exchange, id: NodeId, address: &str| {
            admin_tx(
                exchange,
                &admin,
                AdminAction::SetNodeAddress {
                    id,
                    address: address.into(),
                },
            )
        };
        exchange.begin_block(2, 0);
        let tx = set(&exchange, 41, "10.0.0.41:41234");
        assert!(matches!(exchange.apply(&tx), Outcome::Accepted(_)));
        let after = exchange.end_block();
        assert_ne!(before, after, "the address is part of the digest");
        assert_eq!(after, exchange.recompute_digest());
        let moved = exchange.node(41).unwrap();
        assert_eq!(moved.address, "10.0.0.41:41234");
        assert_eq!(promotion_refusal(moved), None);
        assert_eq!(
            exchange.nodes().iter().position(|n| n.id == 41),
            Some(exchange.nodes().len() - 1),
            "it keeps its place in the registry"
        );
        let restored = Exchange::restore(&exchange.snapshot()).unwrap();
        assert_eq!(restored.nodes(), exchange.nodes());
        assert_eq!(restored.digest(), after);

        exchange.begin_block(3, 0);
        let refusals = [
            (99, "10.0.0.9:1", "UnknownNode"),
            (41, "10.0.0.41:41234", "AlreadyInState"),
            (41, "10.0.0.41", "InvalidSpec"),
        ];
        for (id, address, kind) in refusals {
            let tx = set(&exchange, id, address);
            let outcome = exchange.apply(&tx);
            assert!(format!("{outcome:?}").contains(kind), "{outcome:?}");
        }
        let tx = Tx {
            signer: traders[0].public(),
            nonce: 1,
            body: TxBody::Admin(AdminAction::SetNodeAddress {
                id: 41,
                address: "10.6.6.6:1".into(),
            }),
        };
        assert_eq!(exchange.apply(&tx), Outcome::Rejected(Rejection::NotAdmin));
        let tx = admin_tx(&exchange, &admin, AdminAction::RemoveNode { id: 41 });
        assert!(matches!(exchange.apply(&tx), Outcome::Accepted(_)));
        let tx = set(&exchange, 41, "10.0.0.42:1");
        assert!(matches!(
            exchange.apply(&tx),
            Outcome::Rejected(Rejection::AlreadyInState { .. })
        ));
        assert_eq!(exchange.end_block(), exchange.recompute_digest());
    }

    #[test]
    fn bad_nodes_are_rejected_with_reasons() {
        let SampleGame {
            genesis,
            admin,
            traders,
            ..
        } = sample_game(&SampleOptions::default());
        let mut exchange = Exchange::from_genesis(&genesis).unwrap();
        let first = genesis.voters[0].clone();
        let fresh = Keypair::from_label("node-test/78");
        let cases: Vec<(NodeSpec, Rejection)> = vec![
            (
                spec(first.id, "other", &fresh, "10.0.0.9:1"),
                Rejection::DuplicateNodeId(first.id),
            ),
            (
                spec(50, &first.name.to_uppercase(), &fresh, "10.0.0.9:1"),
                Rejection::DuplicateNodeName(first.name.to_uppercase()),
            ),
            (
                NodeSpec {
                    key: first.key,
                    ..spec(50, "copycat", &fresh, "10.0.0.9:1")
                },
                Rejection::KeyInUse(format!("node {}", first.name)),
            ),
            (
                spec(50, "trader-key", &admin, "10.0.0.9:1"),
                Rejection::KeyInUse(exchange.accounts[0].name.clone()),
            ),
        ];
        exchange.begin_block(1, 0);
        for (node, expected) in cases {
            let tx = admin_tx(&exchange, &admin, AdminAction::AddNode(node));
            assert_eq!(exchange.apply(&tx), Outcome::Rejected(expected));
        }
        for (node, words) in [
            (spec(0, "zero", &fresh, "10.0.0.9:1"), "at least 1"),
            (spec(51, " ", &fresh, "10.0.0.9:1"), "empty"),
            (spec(52, "noport", &fresh, "10.0.0.9"), "no port"),
        ] {
            let tx = admin_tx(&exchange, &admin, AdminAction::AddNode(node));
            match exchange.apply(&tx) {
                Outcome::Rejected(Rejection::InvalidSpec(message)) => {
                    assert!(message.contains(words), "{message}")
                }
                other => panic!("expected an invalid spec, got {other:?}"),
            }
        }
        let trader = &traders[0];
        let tx = Tx {
            signer: trader.public(),
            nonce: 1,
            body: TxBody::Admin(AdminAction::AddNode(spec(60, "sneaky", &fresh, "h:1"))),
        };
        assert_eq!(exchange.apply(&tx), Outcome::Rejected(Rejection::NotAdmin));
        assert_eq!(exchange.end_block(), exchange.recompute_digest());
    }
}
