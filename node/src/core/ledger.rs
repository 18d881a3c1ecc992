//! The ledger: ordered batches of signed transactions in, hash-chained blocks out.
//!
//! Consensus decides the order of batches; the ledger decides everything else, the same
//! way on every node: the block's height and previous hash (from the chain so far), which
//! transactions are valid (signature, signer, nonce, permission, funds, market state), the
//! receipts, and the state digest.

use qraft_keys::signing::{BatchItem, VerifyingKey, verify_batch};
use qraft_keys::{ChainId, PublicKey};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::block::{Block, BlockHash, BlockHeader, genesis_prev_hash};
use super::exchange::receipt::{Outcome, Receipt, Trade};
use super::exchange::reject::Rejection;
use super::exchange::{Exchange, ExchangeError};
use super::genesis::Genesis;
use super::hash::{Hash32, merkle_root};
use super::tx::SignedTx;
use super::types::NodeId;

/// What consensus orders: one leader's batch of transactions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The Raft id of the leader that cut the batch.
    pub proposer: NodeId,
    /// The leader's clock when it cut the batch, ms since the Unix epoch. The block's
    /// timestamp is this, raised to the previous block's if the clock went backwards.
    pub timestamp_ms: u64,
    pub txs: Vec<SignedTx>,
}

/// The tip of the chain.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Head {
    pub height: u64,
    pub hash: BlockHash,
    pub timestamp_ms: u64,
    pub state_digest: Hash32,
}

/// A block as applied, with what it did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppliedBlock {
    pub block: Block,
    pub receipts: Vec<Receipt>,
    pub trades: Vec<Trade>,
}

/// Why a stored block does not replay to itself.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("block {height}: {what} differs (stored {stored}, recomputed {recomputed})")]
    Mismatch {
        height: u64,
        what: &'static str,
        stored: String,
        recomputed: String,
    },
}

/// The chain's state: the exchange and the head of the chain.
#[derive(Clone, Debug)]
pub struct Ledger {
    chain: ChainId,
    exchange: Exchange,
    head: Head,
    /// Decompressed keys of participants, for batch verification.
    keys: FxHashMap<PublicKey, VerifyingKey>,
}

#[derive(Serialize, Deserialize)]
struct LedgerSnapshot {
    chain: ChainId,
    head: Head,
    exchange: Vec<u8>,
}

impl Ledger {
    pub fn new(genesis: &Genesis) -> Result<Ledger, ExchangeError> {
        let chain = genesis.chain_id();
        let exchange = Exchange::from_genesis(genesis)?;
        let head = Head {
            height: 0,
            hash: genesis_prev_hash(&chain),
            timestamp_ms: 0,
            state_digest: exchange.digest(),
        };
        Ok(Ledger {
            chain,
            exchange,
            head,
            keys: FxHashMap::default(),
        })
    }

    pub fn chain_id(&self) -> ChainId {
        self.chain
    }

    pub fn head(&self) -> &Head {
        &self.head
    }

    pub fn exchange(&self) -> &Exchange {
        &self.exchange
    }

    /// Verifies every signature of `txs` in one batch; `true` where good.
    fn verify_signatures(&mut self, txs: &[SignedTx]) -> Vec<bool> {
        let messages: Vec<Vec<u8>> = txs.iter().map(|t| t.signing_message(&self.chain)).collect();
        let mut keys = Vec::with_capacity(txs.len());
        for tx in txs {
            let key = match self.keys.get(&tx.tx.signer) {
                Some(key) => Some(*key),
                None => {
                    let key = tx.tx.signer.verifying_key().ok();
                    // Cache participants only, so garbage keys cannot grow the cache.
                    if let Some(key) = key
                        && self.exchange.role_of(&tx.tx.signer).is_some()
                    {
                        self.keys.insert(tx.tx.signer, key);
                    }
                    key
                }
            };
            keys.push(key);
        }
        let mut verdicts = vec![false; txs.len()];
        let mut items = Vec::with_capacity(txs.len());
        let mut positions = Vec::with_capacity(txs.len());
        for (i, key) in keys.iter().enumerate() {
            if let Some(key) = key {
                items.push(BatchItem {
                    key,
                    message: &messages[i],
                    signature: &txs[i].signature,
                });
                positions.push(i);
            }
        }
        for (position, ok) in positions.into_iter().zip(verify_batch(&items)) {
            verdicts[position] = ok;
        }
        verdicts
    }

    /// Applies a committed batch: the next block.
    pub fn apply_batch(&mut self, batch: Batch) -> AppliedBlock {
        let height = self.head.height + 1;
        let timestamp_ms = batch.timestamp_ms.max(self.head.timestamp_ms);
        let signatures_ok = self.verify_signatures(&batch.txs);
        self.exchange.begin_block(height, timestamp_ms);
        let receipts: Vec<Receipt> = batch
            .txs
            .iter()
            .zip(signatures_ok)
            .map(|(tx, signature_ok)| Receipt {
                tx: tx.hash(),
                outcome: if signature_ok {
                    self.exchange.apply(&tx.tx)
                } else {
                    Outcome::Rejected(Rejection::BadSignature)
                },
            })
            .collect();
        let state_digest = self.exchange.end_block();
        let tx_hashes: Vec<Hash32> = receipts.iter().map(|r| r.tx).collect();
        let receipt_hashes: Vec<Hash32> = receipts.iter().map(Receipt::hash).collect();
        let header = BlockHeader {
            height,
            prev_hash: self.head.hash,
            timestamp_ms,
            proposer: batch.proposer,
            tx_count: batch.txs.len() as u32,
            tx_root: merkle_root(&tx_hashes),
            receipts_root: merkle_root(&receipt_hashes),
            state_digest,
        };
        self.head = Head {
            height,
            hash: header.hash(),
            timestamp_ms,
            state_digest,
        };
        AppliedBlock {
            block: Block {
                header,
                txs: batch.txs,
            },
            receipts,
            trades: self.exchange.block_trades().to_vec(),
        }
    }

    /// Re-applies a stored block and checks that it reproduces exactly: the audit step.
    pub fn replay_block(&mut self, block: &Block) -> Result<AppliedBlock, ReplayError> {
        let stored = &block.header;
        let mismatch = |what, s: String, r: String| ReplayError::Mismatch {
            height: stored.height,
            what,
            stored: s,
            recomputed: r,
        };
        if stored.height != self.head.height + 1 {
            return Err(mismatch("height", stored.height.to_string(), (self.head.height + 1).to_string()));
        }
        if stored.prev_hash != self.head.hash {
            return Err(mismatch("previous hash", stored.prev_hash.to_hex(), self.head.hash.to_hex()));
        }
        let applied = self.apply_batch(Batch {
            proposer: stored.proposer,
            timestamp_ms: stored.timestamp_ms,
            txs: block.txs.clone(),
        });
        let ours = &applied.block.header;
        let checks: [(&'static str, String, String); 5] = [
            ("timestamp", stored.timestamp_ms.to_string(), ours.timestamp_ms.to_string()),
            ("transaction root", stored.tx_root.to_hex(), ours.tx_root.to_hex()),
            ("receipts root", stored.receipts_root.to_hex(), ours.receipts_root.to_hex()),
            ("state digest", stored.state_digest.to_hex(), ours.state_digest.to_hex()),
            ("transaction count", stored.tx_count.to_string(), ours.tx_count.to_string()),
        ];
        for (what, s, r) in checks {
            if s != r {
                return Err(mismatch(what, s, r));
            }
        }
        Ok(applied)
    }

    /// The ledger as bytes (between blocks).
    pub fn snapshot(&self) -> Vec<u8> {
        postcard::to_stdvec(&LedgerSnapshot {
            chain: self.chain,
            head: self.head.clone(),
            exchange: self.exchange.snapshot(),
        })
        .expect("encoding into a Vec cannot fail")
    }

    /// Restores [`Ledger::snapshot`] bytes, refusing a snapshot of another chain or one
    /// whose state does not match its head's digest.
    pub fn restore(bytes: &[u8], chain: ChainId) -> Result<Ledger, ExchangeError> {
        let s: LedgerSnapshot =
            postcard::from_bytes(bytes).map_err(|e| ExchangeError::BadSnapshot(e.to_string()))?;
        if s.chain != chain {
            return Err(ExchangeError::BadSnapshot(format!(
                "it belongs to chain {}, not {}",
                s.chain, chain
            )));
        }
        let exchange = Exchange::restore(&s.exchange)?;
        if exchange.digest() != s.head.state_digest {
            return Err(ExchangeError::BadSnapshot(
                "the exchange state does not match the head's state digest".into(),
            ));
        }
        Ok(Ledger {
            chain,
            exchange,
            head: s.head,
            keys: FxHashMap::default(),
        })
    }
}
