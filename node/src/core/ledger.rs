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
use super::tx::{MAX_TX_BYTES, SignedTx};
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
    /// How many of the scenario's steps (rounds opening or closing, news, dividends...)
    /// the block took before its transactions: what a dashboard refreshes for.
    pub scenario_steps: u32,
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

    /// Checks the signatures of `txs` in one batch; `true` where good. Unknown signers'
    /// transactions are `false`. A verdict depends on its transaction alone (qraft-keys'
    /// rule), so a node may check at admission and skip the check when applying.
    pub fn verify_signatures<'a>(
        &mut self,
        txs: impl ExactSizeIterator<Item = &'a SignedTx>,
    ) -> Vec<bool> {
        let txs: Vec<&SignedTx> = txs.collect();
        let messages: Vec<Vec<u8>> = txs.iter().map(|t| t.signing_message(&self.chain)).collect();
        let mut keys = Vec::with_capacity(txs.len());
        for tx in &txs {
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
        let preverified = vec![false; batch.txs.len()];
        self.apply_batch_preverified(batch, &preverified)
    }

    /// Applies a committed batch whose signatures marked `true` in `preverified` this node
    /// has already checked (at admission); the others are checked here, in one batch.
    pub fn apply_batch_preverified(&mut self, batch: Batch, preverified: &[bool]) -> AppliedBlock {
        debug_assert_eq!(preverified.len(), batch.txs.len());
        let height = self.head.height + 1;
        let timestamp_ms = batch.timestamp_ms.max(self.head.timestamp_ms);
        let unchecked: Vec<usize> = (0..batch.txs.len())
            .filter(|&i| !preverified.get(i).copied().unwrap_or(false))
            .collect();
        let mut signatures_ok = vec![true; batch.txs.len()];
        let verdicts = self.verify_signatures(unchecked.iter().map(|&i| &batch.txs[i]));
        for (&i, ok) in unchecked.iter().zip(verdicts) {
            signatures_ok[i] = ok;
        }
        self.exchange.begin_block(height, timestamp_ms);
        let receipts: Vec<Receipt> = batch
            .txs
            .iter()
            .zip(signatures_ok)
            .map(|(tx, signature_ok)| Receipt {
                tx: tx.hash(),
                outcome: match postcard::experimental::serialized_size(tx) {
                    // Nodes refuse these at admission; a block that holds one anyway
                    // (a faulty leader) rejects it without using its nonce.
                    Ok(len) if len > MAX_TX_BYTES => Outcome::Rejected(Rejection::TooLarge {
                        len,
                        max: MAX_TX_BYTES,
                    }),
                    _ if !signature_ok => Outcome::Rejected(Rejection::BadSignature),
                    _ => self.exchange.apply(&tx.tx),
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
            scenario_steps: self.exchange.block_scenario_steps(),
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
            return Err(mismatch(
                "height",
                stored.height.to_string(),
                (self.head.height + 1).to_string(),
            ));
        }
        if stored.prev_hash != self.head.hash {
            return Err(mismatch(
                "previous hash",
                stored.prev_hash.to_hex(),
                self.head.hash.to_hex(),
            ));
        }
        let applied = self.apply_batch(Batch {
            proposer: stored.proposer,
            timestamp_ms: stored.timestamp_ms,
            txs: block.txs.clone(),
        });
        let ours = &applied.block.header;
        let checks: [(&'static str, String, String); 5] = [
            (
                "timestamp",
                stored.timestamp_ms.to_string(),
                ours.timestamp_ms.to_string(),
            ),
            (
                "transaction root",
                stored.tx_root.to_hex(),
                ours.tx_root.to_hex(),
            ),
            (
                "receipts root",
                stored.receipts_root.to_hex(),
                ours.receipts_root.to_hex(),
            ),
            (
                "state digest",
                stored.state_digest.to_hex(),
                ours.state_digest.to_hex(),
            ),
            (
                "transaction count",
                stored.tx_count.to_string(),
                ours.tx_count.to_string(),
            ),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::core::tx::{NewOrder, OrderKind, Tx, TxBody};
    use crate::core::types::Side;

    fn order(
        game: &crate::core::genesis::sample::SampleGame,
        ledger: &Ledger,
        trader: usize,
        nonce: u64,
        side: Side,
        price: u64,
    ) -> SignedTx {
        let key = &game.traders[trader];
        Tx {
            signer: key.public(),
            nonce,
            body: TxBody::Order(NewOrder {
                symbol: game.genesis.symbols[0].ticker,
                side,
                quantity: 5,
                kind: OrderKind::Limit { price },
            }),
        }
        .sign(key, &ledger.chain_id())
    }

    fn chain() -> (Genesis, Vec<Block>) {
        let game = sample_game(&SampleOptions::default());
        let mut ledger = Ledger::new(&game.genesis).unwrap();
        let mut blocks = Vec::new();
        for height in 1..=5u64 {
            let txs = vec![
                order(&game, &ledger, 0, height, Side::Buy, 1_000),
                order(&game, &ledger, 1, height, Side::Sell, 1_000),
            ];
            blocks.push(
                ledger
                    .apply_batch(Batch {
                        proposer: 1,
                        timestamp_ms: 10_000 - height, // a clock going backwards
                        txs,
                    })
                    .block,
            );
        }
        (game.genesis, blocks)
    }

    #[test]
    fn blocks_chain_by_hash_and_time_never_goes_back() {
        let (genesis, blocks) = chain();
        assert_eq!(
            blocks[0].header.prev_hash,
            genesis_prev_hash(&genesis.chain_id())
        );
        for pair in blocks.windows(2) {
            assert_eq!(pair[1].header.prev_hash, pair[0].hash());
            assert_eq!(pair[1].header.height, pair[0].header.height + 1);
            assert!(pair[1].header.timestamp_ms >= pair[0].header.timestamp_ms);
        }
    }

    #[test]
    fn replay_reproduces_every_block() {
        let (genesis, blocks) = chain();
        let mut auditor = Ledger::new(&genesis).unwrap();
        for block in &blocks {
            auditor.replay_block(block).unwrap();
        }
        assert_eq!(auditor.head().hash, blocks.last().unwrap().hash());
    }

    #[test]
    fn replay_names_what_was_tampered_with() {
        let (genesis, blocks) = chain();

        let mut tampered = blocks.clone();
        tampered[2].txs[0].tx.nonce += 100; // signature no longer matches: a different receipt
        let mut auditor = Ledger::new(&genesis).unwrap();
        auditor.replay_block(&tampered[0]).unwrap();
        auditor.replay_block(&tampered[1]).unwrap();
        let err = auditor.replay_block(&tampered[2]).unwrap_err();
        assert!(
            err.to_string().starts_with("block 3: transaction root"),
            "{err}"
        );

        let mut tampered = blocks.clone();
        tampered[1].header.state_digest = Hash32([7; 32]);
        let mut auditor = Ledger::new(&genesis).unwrap();
        auditor.replay_block(&tampered[0]).unwrap();
        let err = auditor.replay_block(&tampered[1]).unwrap_err();
        assert!(
            err.to_string().starts_with("block 2: state digest"),
            "{err}"
        );

        let mut auditor = Ledger::new(&genesis).unwrap();
        let err = auditor.replay_block(&blocks[1]).unwrap_err();
        assert!(err.to_string().contains("height"), "{err}");
    }

    #[test]
    fn snapshots_restore_only_into_their_own_chain_and_intact() {
        let (genesis, blocks) = chain();
        let mut ledger = Ledger::new(&genesis).unwrap();
        for block in &blocks {
            ledger.replay_block(block).unwrap();
        }
        let bytes = ledger.snapshot();
        let restored = Ledger::restore(&bytes, genesis.chain_id()).unwrap();
        assert_eq!(restored.head(), ledger.head());
        assert!(Ledger::restore(&bytes, ChainId([9; 32])).is_err());
        // Damaged bytes are an error, never a panic.
        for cut in [0, 1, bytes.len() / 2, bytes.len() - 1] {
            assert!(Ledger::restore(&bytes[..cut], genesis.chain_id()).is_err());
        }
        // Any damaged byte either makes the snapshot unreadable or is caught by the state
        // digest, unless it only touches market history (recent trades, candles, news),
        // which the digest does not cover; it never yields a different trading state.
        let mut refused = 0;
        for i in 0..bytes.len() {
            let mut flipped = bytes.clone();
            flipped[i] ^= 0x5a;
            match Ledger::restore(&flipped, genesis.chain_id()) {
                Err(_) => refused += 1,
                Ok(other) => assert_eq!(
                    other.exchange().recompute_digest(),
                    ledger.exchange().digest(),
                    "byte {i} changed the trading state undetected"
                ),
            }
        }
        assert!(
            refused > bytes.len() / 2,
            "only {refused} of {} flips refused",
            bytes.len()
        );
    }
}
