//! The one signer of every client: a participant's key, the game's chain id, and the
//! key's nonces by the one nonce policy ([`NonceClock`]).

use qraft_keys::{ChainId, Keypair, PublicKey};
use qraft_node::core::tx::{SignedTx, Tx, TxBody};

use crate::nonce::NonceClock;

/// Signs transactions with one key for one game, each with the key's next nonce. Cheap
/// to clone; clones share the nonces.
#[derive(Clone)]
pub struct Signer {
    keypair: Keypair,
    chain: ChainId,
    nonces: NonceClock,
}

impl Signer {
    pub fn new(keypair: Keypair, chain: ChainId) -> Signer {
        Signer {
            keypair,
            chain,
            nonces: NonceClock::new(),
        }
    }

    pub fn key(&self) -> PublicKey {
        self.keypair.public()
    }

    pub fn keypair(&self) -> &Keypair {
        &self.keypair
    }

    pub fn chain(&self) -> ChainId {
        self.chain
    }

    /// Signs `body` with the key's next nonce ([`NonceClock::next`]).
    pub fn sign(&self, body: TxBody) -> SignedTx {
        Tx {
            signer: self.keypair.public(),
            nonce: self.nonces.next(),
            body,
        }
        .sign(&self.keypair, &self.chain)
    }

    /// The game has seen nonce `nonce` from this key: the next one is above it.
    pub fn saw(&self, nonce: u64) {
        self.nonces.saw(nonce);
    }

    /// The last nonce used or seen.
    pub fn last_nonce(&self) -> u64 {
        self.nonces.last()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_node::core::genesis::sample::{SampleOptions, sample_game};

    #[test]
    fn signatures_verify_and_nonces_rise_above_what_was_seen() {
        let game = sample_game(&SampleOptions::default());
        let signer = Signer::new(game.traders[0].clone(), game.genesis.chain_id());
        let first = signer.sign(TxBody::CancelAll { symbol: None });
        assert!(first.verify(&game.genesis.chain_id()).is_ok());
        assert_eq!(first.tx.signer, game.traders[0].public());
        let ahead = first.tx.nonce + 1_000_000;
        signer.clone().saw(ahead);
        let second = signer.sign(TxBody::CancelAll { symbol: None });
        assert_eq!(second.tx.nonce, ahead + 1, "clones share the nonces");
        assert_eq!(signer.last_nonce(), ahead + 1);
    }
}
