//! Signed random orders from a sample game's traders: the load for tests and benchmarks.

use qraft_keys::{ChainId, Keypair};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::core::genesis::Genesis;
use crate::core::tx::{NewOrder, OrderKind, SignedTx, Tx, TxBody};
use crate::core::types::{Side, Ticker};

/// Makes valid, signed orders: limit orders near each symbol's reference price (so they
/// cross and trade), some IOC, some cancel-alls, each trader's nonces increasing.
pub struct OrderFlow {
    chain: ChainId,
    traders: Vec<(Keypair, u64)>,
    symbols: Vec<(Ticker, u64)>,
    rng: ChaCha8Rng,
}

impl OrderFlow {
    pub fn new(genesis: &Genesis, traders: &[Keypair], seed: u64) -> OrderFlow {
        OrderFlow {
            chain: genesis.chain_id(),
            traders: traders.iter().map(|k| (k.clone(), 0)).collect(),
            symbols: genesis
                .symbols
                .iter()
                .map(|s| (s.ticker, s.reference_price))
                .collect(),
            rng: ChaCha8Rng::seed_from_u64(seed),
        }
    }

    pub fn chain(&self) -> ChainId {
        self.chain
    }

    /// The next order from a random trader.
    pub fn next_tx(&mut self) -> SignedTx {
        let trader = self.rng.random_range(0..self.traders.len());
        self.next_tx_from(trader)
    }

    /// The next order from trader number `trader`.
    pub fn next_tx_from(&mut self, trader: usize) -> SignedTx {
        let (symbol, reference) = self.symbols[self.rng.random_range(0..self.symbols.len())];
        let roll = self.rng.random_range(0..100u32);
        let body = if roll < 3 {
            TxBody::CancelAll {
                symbol: Some(symbol),
            }
        } else {
            let side = if self.rng.random_bool(0.5) {
                Side::Buy
            } else {
                Side::Sell
            };
            let offset = self.rng.random_range(0..=8u64);
            let price = reference.saturating_add(offset).saturating_sub(4).max(1);
            let kind = if roll < 15 {
                OrderKind::ImmediateOrCancel { price }
            } else {
                OrderKind::Limit { price }
            };
            TxBody::Order(NewOrder {
                symbol,
                side,
                quantity: self.rng.random_range(1..=5),
                kind,
            })
        };
        let (key, nonce) = &mut self.traders[trader];
        *nonce += 1;
        Tx {
            signer: key.public(),
            nonce: *nonce,
            body,
        }
        .sign(key, &self.chain)
    }

    pub fn traders(&self) -> usize {
        self.traders.len()
    }
}
