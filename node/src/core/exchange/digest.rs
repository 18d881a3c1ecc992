//! The exchange's state digest: cheap per block, identical on every node.
//!
//! The digest is a *set hash*: every piece of state that decides future execution (each
//! account, each resting order, each symbol) is a leaf; a leaf's 512-bit hash is added
//! lane-wise (eight wrapping `u64` lanes) into an accumulator, and the digest is the hash
//! of the accumulator and the few global fields. Because addition commutes, the
//! accumulator depends only on *which* leaves exist, never on the order they were made
//! in, and it can be updated incrementally: when a leaf changes, subtract its old hash
//! and add its new one. Per block the cost is one leaf hash per account, order and symbol
//! the block touched, independent of the size of the state. A snapshot restored from
//! scratch recomputes the same value ([`super::Exchange::recompute_digest`]).
//!
//! Leaf hashes are keyed blake3 in XOF mode (64 bytes), one key per leaf kind, so an
//! account can never collide with an order. Leaves are kept small and split by how
//! often they change (an account's identity, its balances, each position), so a block
//! rehashes only the few bytes it changed. Market history (trades, candles, news) is
//! not part of the digest: blocks and receipts already commit to it.

use serde::{Deserialize, Serialize};

use super::account::{Account, Position};
use super::book::OrderNode;
use super::symbol::SymbolState;
use crate::core::genesis::NodeSpec;
use crate::core::hash::Hash32;
use crate::core::types::{NodeId, Session, Side};

/// An element of the additive group (Z/2^64)^8.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lanes(pub [u64; 8]);

impl Lanes {
    pub const ZERO: Lanes = Lanes([0; 8]);

    pub fn add(&mut self, other: &Lanes) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.wrapping_add(*b);
        }
    }

    pub fn sub(&mut self, other: &Lanes) {
        for (a, b) in self.0.iter_mut().zip(other.0.iter()) {
            *a = a.wrapping_sub(*b);
        }
    }

    fn to_bytes(self) -> [u8; 64] {
        let mut out = [0u8; 64];
        for (chunk, lane) in out.chunks_exact_mut(8).zip(self.0) {
            chunk.copy_from_slice(&lane.to_le_bytes());
        }
        out
    }
}

const ACCOUNT_KEY: &[u8; 32] = b"qraft/digest/leaf/account/v1....";
const ORDER_KEY: &[u8; 32] = b"qraft/digest/leaf/order/v1......";
const SYMBOL_KEY: &[u8; 32] = b"qraft/digest/leaf/symbol/v1.....";
const IDENTITY_KEY: &[u8; 32] = b"qraft/digest/leaf/identity/v1...";
const POSITION_KEY: &[u8; 32] = b"qraft/digest/leaf/position/v1...";
const NODE_KEY: &[u8; 32] = b"qraft/digest/leaf/node/v1.......";
const REMOVED_NODE_KEY: &[u8; 32] = b"qraft/digest/leaf/removed-node/1";

/// A tiny append-only encoder for leaf bytes on the stack: fixed-width little-endian
/// fields, so the encoding is unambiguous without a serializer. Leaves are small (one or
/// two blake3 blocks), which is what keeps the per-block digest cheap.
struct LeafBytes {
    buf: [u8; 128],
    len: usize,
}

impl LeafBytes {
    fn new() -> Self {
        LeafBytes {
            buf: [0; 128],
            len: 0,
        }
    }
    fn raw(&mut self, v: &[u8]) -> &mut Self {
        let end = (self.len + v.len()).min(self.buf.len());
        self.buf[self.len..end].copy_from_slice(&v[..end - self.len]);
        self.len = end;
        self
    }
    fn u64(&mut self, v: u64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    fn i64(&mut self, v: i64) -> &mut Self {
        self.raw(&v.to_le_bytes())
    }
    /// A length-prefixed byte string. Callers keep leaves within 128 bytes (names and
    /// tickers are bounded); anything longer is hashed instead of copied.
    fn bytes(&mut self, v: &[u8]) -> &mut Self {
        self.u64(v.len() as u64);
        if v.len() <= 64 {
            self.raw(v)
        } else {
            self.raw(blake3::hash(v).as_bytes())
        }
    }
    fn hash(&self, key: &[u8; 32]) -> Lanes {
        let mut hasher = blake3::Hasher::new_keyed(key);
        hasher.update(&self.buf[..self.len]);
        let mut out = [0u8; 64];
        hasher.finalize_xof().fill(&mut out);
        let mut lanes = [0u64; 8];
        for (lane, chunk) in lanes.iter_mut().zip(out.chunks_exact(8)) {
            *lane = u64::from_le_bytes(chunk.try_into().expect("8-byte chunk"));
        }
        Lanes(lanes)
    }
}

fn session_code(session: Session) -> u64 {
    match session {
        Session::Closed => 0,
        Session::Open => 1,
        Session::Halted => 2,
    }
}

/// What never changes about an account: who it is.
pub(crate) fn account_identity_leaf(index: u32, account: &Account) -> Lanes {
    let mut b = LeafBytes::new();
    b.u64(index as u64)
        .raw(account.key.as_bytes())
        .bytes(account.name.as_bytes());
    b.hash(IDENTITY_KEY)
}

/// An account's balances and status (48 bytes: one blake3 block).
pub(crate) fn account_core_leaf(index: u32, account: &Account) -> Lanes {
    let mut b = LeafBytes::new();
    b.u64(index as u64)
        .u64(account.role as u64 | (account.suspended as u64) << 8)
        .i64(account.cash)
        .i64(account.cash_reserved)
        .u64(account.last_nonce)
        .i64(account.commissions_paid)
        .u64(account.recent_orders.len() as u64)
        .u64(account.recent_orders.front().copied().unwrap_or(0))
        .i64(account.contributed)
        .i64(account.dividends)
        .i64(account.round_start_worth)
        .u64(account.round_returns.len() as u64);
    b.hash(ACCOUNT_KEY)
}

/// One non-empty position.
pub(crate) fn position_leaf(index: u32, symbol: usize, position: &Position) -> Lanes {
    let mut b = LeafBytes::new();
    b.u64(index as u64)
        .u64(symbol as u64)
        .i64(position.shares)
        .u64(position.reserved);
    b.hash(POSITION_KEY)
}

pub(crate) fn order_leaf(order: &OrderNode) -> Lanes {
    let mut b = LeafBytes::new();
    b.u64(order.id)
        .u64(order.account as u64)
        .u64(order.symbol as u64)
        .u64(match order.side {
            Side::Buy => 0,
            Side::Sell => 1,
        })
        .u64(order.price)
        .u64(order.remaining)
        .u64(order.original)
        .u64(order.placed_height)
        .i64(order.fee_per_share)
        .i64(order.fee_due);
    b.hash(ORDER_KEY)
}

pub(crate) fn symbol_leaf(index: usize, symbol: &SymbolState) -> Lanes {
    let mut b = LeafBytes::new();
    b.u64(index as u64)
        .bytes(symbol.spec.ticker.as_str().as_bytes())
        .bytes(symbol.spec.name.as_bytes())
        .i64(symbol.spec.tick_size)
        .u64(symbol.spec.reference_price)
        .u64(session_code(symbol.session))
        .u64(symbol.last_price.unwrap_or(0))
        .u64(symbol.volume)
        .u64(symbol.value.map_or(0, |v| v + 1));
    b.hash(SYMBOL_KEY)
}

/// One registered node: who may join the network, and where it is reached.
pub(crate) fn node_leaf(index: usize, node: &NodeSpec) -> Lanes {
    let mut b = LeafBytes::new();
    b.u64(index as u64)
        .u64(node.id)
        .raw(node.key.as_bytes())
        .bytes(node.name.as_bytes())
        .bytes(node.address.as_bytes());
    b.hash(NODE_KEY)
}

/// A node the admin removed.
pub(crate) fn removed_node_leaf(id: NodeId) -> Lanes {
    let mut b = LeafBytes::new();
    b.u64(id);
    b.hash(REMOVED_NODE_KEY)
}

/// The global fields that are hashed directly alongside the accumulator.
pub(crate) struct Globals {
    pub session: Session,
    pub game_over: bool,
    pub next_order_id: u64,
    pub next_trade_seq: u64,
    pub accounts: u64,
    pub symbols: u64,
    pub nodes: u64,
    /// The rules in force and how many sets the game has had.
    pub rules: Hash32,
    /// The scenario's progress and recorded round results (zero without a scenario).
    pub scenario: Hash32,
    /// The recorded report's hash (zero before one is recorded).
    pub report: Hash32,
}

pub(crate) fn finish(accumulator: &Lanes, globals: &Globals) -> Hash32 {
    let mut bytes = accumulator.to_bytes().to_vec();
    for v in [
        session_code(globals.session),
        globals.game_over as u64,
        globals.next_order_id,
        globals.next_trade_seq,
        globals.accounts,
        globals.symbols,
        globals.nodes,
    ] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(&globals.rules.0);
    bytes.extend_from_slice(&globals.scenario.0);
    bytes.extend_from_slice(&globals.report.0);
    Hash32::of("qraft/state-digest/v3", &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_add_and_sub_cancel() {
        let a = Lanes([u64::MAX, 1, 2, 3, 4, 5, 6, 7]);
        let b = Lanes([5, u64::MAX, 0, 0, 0, 0, 0, 9]);
        let mut x = Lanes::ZERO;
        x.add(&a);
        x.add(&b);
        x.sub(&a);
        assert_eq!(x, b);
    }
}
