//! Transactions: the signed envelope and every body a participant or admin can send.
//!
//! The signed bytes are the canonical postcard encoding of [`Tx`], prefixed by the
//! transaction domain tag and the chain id (see `qraft_keys::signing`). Verification always
//! re-encodes the decoded `Tx`, so a non-canonical wire encoding can neither change what
//! was signed nor the transaction's hash.

use qraft_keys::{ChainId, Domain, Keypair, PublicKey, Signature};
use serde::{Deserialize, Serialize};

use super::genesis::NodeSpec;
use super::hash::Hash32;
use super::types::{Cents, OrderId, Role, Shares, Side, Ticker, Ticks};

/// The largest encoded signed transaction a node accepts, in bytes.
pub const MAX_TX_BYTES: usize = 2048;
/// The longest participant name, in bytes.
pub const MAX_NAME_BYTES: usize = 32;
/// The longest news headline, in bytes.
pub const MAX_NEWS_BYTES: usize = 280;

/// A transaction's identity: the hash of its canonical encoding.
pub type TxHash = Hash32;

/// What a participant signs.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tx {
    /// Who sends it; must be a participant named in genesis or added by an admin.
    pub signer: PublicKey,
    /// Must be greater than the signer's last used nonce: a transaction can be applied at
    /// most once, and an old one can never be replayed.
    pub nonce: u64,
    pub body: TxBody,
}

/// What a transaction does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxBody {
    /// Place an order.
    Order(NewOrder),
    /// Cancel one of my resting orders.
    Cancel { order: OrderId },
    /// Cancel all my resting orders, or all of them in one symbol.
    CancelAll { symbol: Option<Ticker> },
    /// Game administration; only admin keys may send these.
    Admin(AdminAction),
}

/// A new order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewOrder {
    pub symbol: Ticker,
    pub side: Side,
    pub quantity: Shares,
    pub kind: OrderKind,
}

/// How an order trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OrderKind {
    /// Trades at `price` or better; whatever does not trade rests in the book until it is
    /// filled or cancelled (good till cancelled).
    Limit { price: Ticks },
    /// Trades at `price` or better right away; whatever does not trade is cancelled.
    ImmediateOrCancel { price: Ticks },
    /// Trades right away at the best prices available, but never beyond the symbol's price
    /// band around its last price; whatever does not trade is cancelled.
    Market,
}

/// Which markets an open/halt/resume/close applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scope {
    /// The whole exchange.
    All,
    /// One symbol.
    Symbol(Ticker),
}

/// A participant as genesis or an admin defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantSpec {
    pub name: String,
    pub key: PublicKey,
    pub role: Role,
    pub cash: Cents,
    /// Starting shares per symbol.
    pub holdings: Vec<(Ticker, Shares)>,
}

/// A listed symbol as genesis or an admin defines it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SymbolSpec {
    pub ticker: Ticker,
    pub name: String,
    /// Cents per tick (1 = one cent).
    pub tick_size: Cents,
    /// The price, in ticks, that the price band is centred on before the first trade.
    pub reference_price: Ticks,
}

/// Game administration.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AdminAction {
    /// Start trading (from closed).
    Open(Scope),
    /// Pause trading; cancels still work.
    Halt(Scope),
    /// Continue after a halt.
    Resume(Scope),
    /// Stop trading; resting orders stay for the next open.
    Close(Scope),
    AddParticipant(ParticipantSpec),
    /// Stops a participant from sending anything; cancels their resting orders.
    SuspendParticipant {
        key: PublicKey,
    },
    /// Lets a suspended participant trade again.
    ReinstateParticipant {
        key: PublicKey,
    },
    ListSymbol(SymbolSpec),
    /// Adds (or with a negative amount, takes) cash.
    AdjustCash {
        key: PublicKey,
        amount: Cents,
    },
    /// A headline every participant sees.
    News {
        headline: String,
    },
    /// Ends the game: cancels every order, stops all trading, freezes the leaderboard.
    EndGame,
    /// Registers a node that genesis does not name: every node admits its key and learns
    /// its address, and the leader adds it to the cluster as a learner, which then
    /// catches up from a snapshot. The admin can promote it to voter later.
    AddNode(NodeSpec),
    /// Removes a registered node for good: every node closes its connections and refuses
    /// its key from this block on, and the leader takes it out of the Raft membership.
    /// Its id is never given to another node.
    RemoveNode {
        id: super::types::NodeId,
    },
    /// Gives a registered node a new address (`host:port`, or
    /// [`DIALS_OUT`](super::genesis::DIALS_OUT)): every node reaches it there from this
    /// block on. How a laptop that dialled out becomes reachable before it is made a
    /// voter, and how a voter that moved for good is recorded.
    SetNodeAddress {
        id: super::types::NodeId,
        address: String,
    },
    /// Puts `rules` in force from this block on, recorded with the block's height. Orders
    /// already resting keep what they were accepted under; `open_at_start` and the candle
    /// length stay the genesis's.
    SetRules(super::genesis::Rules),
    /// Starts the game's scenario, when it waits for the admin: game time counts from
    /// this block.
    StartScenario,
    /// Records the hash of the end-of-game report (`qraft report`), once, after the game
    /// ended: anyone can then check a report they were given against the chain.
    RecordReport {
        hash: Hash32,
    },
}

impl Tx {
    /// The canonical encoding: what is signed and hashed.
    pub fn canonical_bytes(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding into a Vec cannot fail")
    }

    pub fn hash(&self) -> TxHash {
        Hash32::of("qraft/tx", &self.canonical_bytes())
    }

    pub fn sign(self, key: &Keypair, chain: &ChainId) -> SignedTx {
        let signature = key.sign(Domain::Transaction, chain, &self.canonical_bytes());
        SignedTx {
            tx: self,
            signature,
        }
    }
}

/// A transaction with its signature: what travels and what blocks hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedTx {
    pub tx: Tx,
    pub signature: Signature,
}

/// Why bytes are not a signed transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxDecodeError {
    #[error("transaction is {len} bytes; the limit is {MAX_TX_BYTES}")]
    TooLarge { len: usize },
    #[error("malformed transaction: {0}")]
    Malformed(String),
    #[error("malformed transaction: {0} bytes left over after the end")]
    TrailingBytes(usize),
}

impl SignedTx {
    pub fn hash(&self) -> TxHash {
        self.tx.hash()
    }

    pub fn encode(&self) -> Vec<u8> {
        postcard::to_stdvec(self).expect("encoding into a Vec cannot fail")
    }

    /// Decodes a signed transaction, checking the size limit before anything else.
    pub fn decode(bytes: &[u8]) -> Result<SignedTx, TxDecodeError> {
        if bytes.len() > MAX_TX_BYTES {
            return Err(TxDecodeError::TooLarge { len: bytes.len() });
        }
        let (tx, rest) = postcard::take_from_bytes::<SignedTx>(bytes)
            .map_err(|e| TxDecodeError::Malformed(e.to_string()))?;
        if !rest.is_empty() {
            return Err(TxDecodeError::TrailingBytes(rest.len()));
        }
        Ok(tx)
    }

    /// Checks the signature alone (`verify_strict`) for this chain.
    pub fn verify(&self, chain: &ChainId) -> Result<(), qraft_keys::KeyError> {
        qraft_keys::verify_one(
            &self.tx.signer,
            Domain::Transaction,
            chain,
            &self.tx.canonical_bytes(),
            &self.signature,
        )
    }

    /// The full message that was signed, for batch verification.
    pub fn signing_message(&self, chain: &ChainId) -> Vec<u8> {
        qraft_keys::signing::signing_message(Domain::Transaction, chain, &self.tx.canonical_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_tx(key: &Keypair, nonce: u64) -> Tx {
        Tx {
            signer: key.public(),
            nonce,
            body: TxBody::Order(NewOrder {
                symbol: Ticker::new("ACME").unwrap(),
                side: Side::Buy,
                quantity: 10,
                kind: OrderKind::Limit { price: 1250 },
            }),
        }
    }

    #[test]
    fn signed_tx_round_trips_and_verifies() {
        let key = Keypair::from_label("alice");
        let chain = ChainId([3; 32]);
        let signed = order_tx(&key, 1).sign(&key, &chain);
        let decoded = SignedTx::decode(&signed.encode()).unwrap();
        assert_eq!(decoded, signed);
        decoded.verify(&chain).unwrap();
        assert!(decoded.verify(&ChainId([4; 32])).is_err());
    }

    #[test]
    fn tampering_breaks_the_signature() {
        let key = Keypair::from_label("alice");
        let chain = ChainId([3; 32]);
        let mut signed = order_tx(&key, 1).sign(&key, &chain);
        signed.tx.nonce = 2;
        assert!(signed.verify(&chain).is_err());
    }

    #[test]
    fn decode_refuses_oversized_garbage_and_trailing_bytes() {
        assert!(matches!(
            SignedTx::decode(&vec![0u8; MAX_TX_BYTES + 1]),
            Err(TxDecodeError::TooLarge { .. })
        ));
        assert!(matches!(
            SignedTx::decode(&[0xff; 40]),
            Err(TxDecodeError::Malformed(_))
        ));
        let key = Keypair::from_label("alice");
        let mut bytes = order_tx(&key, 1).sign(&key, &ChainId([0; 32])).encode();
        bytes.push(0);
        assert!(matches!(
            SignedTx::decode(&bytes),
            Err(TxDecodeError::TrailingBytes(1))
        ));
    }

    #[test]
    fn hash_ignores_wire_form_and_changes_with_content() {
        let key = Keypair::from_label("alice");
        assert_eq!(order_tx(&key, 1).hash(), order_tx(&key, 1).hash());
        assert_ne!(order_tx(&key, 1).hash(), order_tx(&key, 2).hash());
    }
}
