//! Resting orders: a slab of order nodes threaded into two kinds of intrusive lists.
//!
//! Each price level is a FIFO list (time priority); each account has a list of its open
//! orders (for cancel-all and "my orders"). Both are doubly linked through slot indices, so
//! adding, filling and cancelling an order are O(1) apart from the price level lookup in
//! the side's `BTreeMap` (price priority). Slot numbers never reach an output: order ids
//! do, and ids are assigned in apply order.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use super::digest::Lanes;
use crate::core::types::{Cents, OrderId, Shares, Side, Ticks};

pub(crate) const NIL: u32 = u32::MAX;

/// A resting order.
#[derive(Clone, Debug)]
pub(crate) struct OrderNode {
    pub id: OrderId,
    pub account: u32,
    pub symbol: u16,
    pub side: Side,
    pub price: Ticks,
    pub remaining: Shares,
    pub original: Shares,
    /// The height of the block that placed it.
    pub placed_height: u64,
    /// The commission it pays per share traded, and what it still pays the first time
    /// it trades: the rules' when it was placed. Its account holds both in cash
    /// ([`OrderNode::fee_held`]).
    pub fee_per_share: Cents,
    pub fee_due: Cents,
    prev: u32,
    next: u32,
    account_prev: u32,
    account_next: u32,
    live: bool,
    /// Digest bookkeeping: the leaf hash folded into the digest (if any), and staleness.
    pub committed: Option<Lanes>,
    pub dirty: bool,
}

impl OrderNode {
    /// The commission its account holds for it: what it still pays the first time it
    /// trades, and per share for what is left.
    pub fn fee_held(&self) -> Cents {
        self.fee_due + self.fee_per_share * self.remaining as Cents
    }
}

/// One price level: a FIFO of orders and their total quantity.
#[derive(Clone, Debug)]
pub(crate) struct Level {
    head: u32,
    tail: u32,
    pub total: Shares,
    pub count: u32,
}

/// Both sides of one symbol's book.
#[derive(Clone, Debug, Default)]
pub(crate) struct Book {
    pub bids: BTreeMap<Ticks, Level>,
    pub asks: BTreeMap<Ticks, Level>,
}

impl Book {
    pub fn side(&self, side: Side) -> &BTreeMap<Ticks, Level> {
        match side {
            Side::Buy => &self.bids,
            Side::Sell => &self.asks,
        }
    }

    fn side_mut(&mut self, side: Side) -> &mut BTreeMap<Ticks, Level> {
        match side {
            Side::Buy => &mut self.bids,
            Side::Sell => &mut self.asks,
        }
    }

    /// The best price on `side` and the slot of the first order there.
    pub fn best(&self, side: Side) -> Option<(Ticks, u32)> {
        let (price, level) = match side {
            Side::Buy => self.bids.last_key_value()?,
            Side::Sell => self.asks.first_key_value()?,
        };
        Some((*price, level.head))
    }
}

/// Every resting order of every symbol, with the per-symbol books and per-account lists.
#[derive(Clone, Debug, Default)]
pub(crate) struct OrderBooks {
    slots: Vec<OrderNode>,
    free: Vec<u32>,
    by_id: FxHashMap<OrderId, u32>,
    pub books: Vec<Book>,
    /// Head of each account's open-order list (newest first).
    account_heads: Vec<u32>,
    /// Slots changed since the digest was last folded.
    dirty: Vec<u32>,
    /// Digest leaves of orders removed since the last fold, to subtract.
    removed_leaves: Lanes,
}

/// What to rest; also how a snapshot stores a resting order.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct NewResting {
    pub id: OrderId,
    pub account: u32,
    pub symbol: u16,
    pub side: Side,
    pub price: Ticks,
    pub remaining: Shares,
    pub original: Shares,
    pub placed_height: u64,
    pub fee_per_share: Cents,
    pub fee_due: Cents,
}

impl OrderBooks {
    pub fn add_symbol(&mut self) {
        self.books.push(Book::default());
    }

    pub fn ensure_account(&mut self, account: u32) {
        let needed = account as usize + 1;
        if self.account_heads.len() < needed {
            self.account_heads.resize(needed, NIL);
        }
    }

    pub fn get(&self, slot: u32) -> &OrderNode {
        &self.slots[slot as usize]
    }

    pub fn slot_of(&self, id: OrderId) -> Option<u32> {
        self.by_id.get(&id).copied()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Rests an order at the back of its price level.
    pub fn insert(&mut self, order: NewResting) -> u32 {
        debug_assert!(order.remaining > 0, "order #{} rests empty", order.id);
        debug_assert!(
            !self.by_id.contains_key(&order.id),
            "order #{} rests twice",
            order.id
        );
        self.ensure_account(order.account);
        let account_head = self.account_heads[order.account as usize];
        let node = OrderNode {
            id: order.id,
            account: order.account,
            symbol: order.symbol,
            side: order.side,
            price: order.price,
            remaining: order.remaining,
            original: order.original,
            placed_height: order.placed_height,
            fee_per_share: order.fee_per_share,
            fee_due: order.fee_due,
            prev: NIL,
            next: NIL,
            account_prev: NIL,
            account_next: account_head,
            live: true,
            committed: None,
            dirty: true,
        };
        let slot = match self.free.pop() {
            Some(slot) => {
                self.slots[slot as usize] = node;
                slot
            }
            None => {
                self.slots.push(node);
                (self.slots.len() - 1) as u32
            }
        };
        if account_head != NIL {
            self.slots[account_head as usize].account_prev = slot;
        }
        self.account_heads[order.account as usize] = slot;
        self.by_id.insert(order.id, slot);
        self.dirty.push(slot);

        let level = self.books[order.symbol as usize]
            .side_mut(order.side)
            .entry(order.price)
            .or_insert(Level {
                head: NIL,
                tail: NIL,
                total: 0,
                count: 0,
            });
        let tail = level.tail;
        level.tail = slot;
        if tail == NIL {
            level.head = slot;
        }
        level.total += order.remaining;
        level.count += 1;
        if tail != NIL {
            self.slots[tail as usize].next = slot;
        }
        self.slots[slot as usize].prev = tail;
        slot
    }

    /// Takes `quantity` (less than what remains) off a resting order.
    pub fn reduce(&mut self, slot: u32, quantity: Shares) {
        let node = &mut self.slots[slot as usize];
        debug_assert!(node.live, "reducing a slot that holds no order");
        debug_assert!(
            0 < quantity && quantity < node.remaining,
            "reducing order #{} by {quantity} of {} (a full fill removes it)",
            node.id,
            node.remaining
        );
        node.remaining -= quantity;
        // It traded: its first-trade commission is paid.
        node.fee_due = 0;
        let (symbol, side, price) = (node.symbol, node.side, node.price);
        if !node.dirty {
            node.dirty = true;
            self.dirty.push(slot);
        }
        let level = self.books[symbol as usize]
            .side_mut(side)
            .get_mut(&price)
            .expect("a resting order's level exists");
        // The level's total counts the order's remaining quantity (see `insert`).
        debug_assert!(
            quantity < level.total,
            "level {price} holds less than an order"
        );
        level.total -= quantity;
    }

    /// Takes an order out of the book and returns it.
    pub fn remove(&mut self, slot: u32) -> OrderNode {
        let node = self.slots[slot as usize].clone();
        debug_assert!(node.live, "removing a slot that holds no order");
        // Price level list.
        let side = self.books[node.symbol as usize].side_mut(node.side);
        let level = side
            .get_mut(&node.price)
            .expect("a resting order's level exists");
        // What `insert` added to the level.
        debug_assert!(
            node.remaining <= level.total && level.count > 0,
            "level {} holds less than order #{}",
            node.price,
            node.id
        );
        level.total -= node.remaining;
        level.count -= 1;
        debug_assert!(
            (level.count == 0) == (level.total == 0),
            "level {} has {} orders for {} shares",
            node.price,
            level.count,
            level.total
        );
        if level.count == 0 {
            side.remove(&node.price);
        } else {
            if node.prev == NIL {
                level.head = node.next;
            }
            if node.next == NIL {
                level.tail = node.prev;
            }
        }
        if node.prev != NIL {
            self.slots[node.prev as usize].next = node.next;
        }
        if node.next != NIL {
            self.slots[node.next as usize].prev = node.prev;
        }
        // Account list.
        if node.account_prev == NIL {
            self.account_heads[node.account as usize] = node.account_next;
        } else {
            self.slots[node.account_prev as usize].account_next = node.account_next;
        }
        if node.account_next != NIL {
            self.slots[node.account_next as usize].account_prev = node.account_prev;
        }
        self.by_id.remove(&node.id);
        if let Some(leaf) = node.committed {
            self.removed_leaves.add(&leaf);
        }
        let freed = &mut self.slots[slot as usize];
        freed.live = false;
        freed.dirty = false;
        freed.committed = None;
        self.free.push(slot);
        node
    }

    /// Slots of an account's open orders, oldest first.
    pub fn account_orders(&self, account: u32) -> Vec<u32> {
        let mut out: Vec<u32> = self.account_slots(account).collect();
        out.reverse();
        out
    }

    /// Slots of an account's open orders, newest first, without allocating.
    pub fn account_slots(&self, account: u32) -> impl Iterator<Item = u32> + '_ {
        let mut slot = self
            .account_heads
            .get(account as usize)
            .copied()
            .unwrap_or(NIL);
        std::iter::from_fn(move || {
            if slot == NIL {
                return None;
            }
            let current = slot;
            slot = self.slots[slot as usize].account_next;
            Some(current)
        })
    }

    /// Slots of one level's orders in time priority.
    pub fn level_orders(&self, level: &Level) -> impl Iterator<Item = u32> + '_ {
        let mut slot = level.head;
        std::iter::from_fn(move || {
            if slot == NIL {
                return None;
            }
            let current = slot;
            slot = self.slots[slot as usize].next;
            Some(current)
        })
    }

    /// Every live order's slot, in order id order (for snapshots and full digests).
    pub fn all_slots_by_id(&self) -> Vec<u32> {
        let mut slots: Vec<(OrderId, u32)> =
            self.by_id.iter().map(|(id, slot)| (*id, *slot)).collect();
        slots.sort_unstable();
        slots.into_iter().map(|(_, slot)| slot).collect()
    }

    /// Folds changed orders into the digest: `leaf` hashes one order. Returns what to
    /// add and what to subtract.
    pub fn fold_digest(&mut self, mut leaf: impl FnMut(&OrderNode) -> Lanes) -> (Lanes, Lanes) {
        let mut added = Lanes::ZERO;
        let mut removed = std::mem::take(&mut self.removed_leaves);
        for slot in std::mem::take(&mut self.dirty) {
            let node = &mut self.slots[slot as usize];
            if !node.live || !node.dirty {
                continue;
            }
            node.dirty = false;
            let new = leaf(node);
            if let Some(old) = node.committed.replace(new) {
                removed.add(&old);
            }
            added.add(&new);
        }
        (added, removed)
    }

    /// Marks every order's leaf as folded with the given hash (after a full recompute).
    pub fn set_all_committed(&mut self, mut leaf: impl FnMut(&OrderNode) -> Lanes) {
        self.dirty.clear();
        self.removed_leaves = Lanes::ZERO;
        for node in self.slots.iter_mut().filter(|n| n.live) {
            node.committed = Some(leaf(node));
            node.dirty = false;
        }
    }

    /// Checks every structural invariant (see [`super::invariants`]).
    pub fn check_structure(&self) -> Result<(), String> {
        let mut seen = 0usize;
        for (symbol, book) in self.books.iter().enumerate() {
            for side in [Side::Buy, Side::Sell] {
                for (price, level) in book.side(side) {
                    let mut total = 0;
                    let mut count = 0;
                    let mut last_id = 0;
                    for slot in self.level_orders(level) {
                        let node = &self.slots[slot as usize];
                        if !node.live
                            || node.price != *price
                            || node.side != side
                            || node.symbol as usize != symbol
                        {
                            return Err(format!("order #{} is in the wrong level", node.id));
                        }
                        if node.id <= last_id {
                            return Err(format!("level {price} is not in time order"));
                        }
                        if node.remaining == 0 {
                            return Err(format!("order #{} rests with nothing left", node.id));
                        }
                        last_id = node.id;
                        total += node.remaining;
                        count += 1;
                    }
                    if total != level.total || count != level.count || count == 0 {
                        return Err(format!("level {price} totals are off"));
                    }
                    seen += count as usize;
                }
            }
        }
        if seen != self.by_id.len() {
            return Err(format!(
                "{seen} orders in books, {} by id",
                self.by_id.len()
            ));
        }
        Ok(())
    }
}
