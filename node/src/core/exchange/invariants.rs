//! The exchange's invariants, checked from scratch after every block in debug builds.
//!
//! [`Exchange::check_invariants`] walks the whole state and names the first invariant it
//! finds broken:
//! - **book structure**: every price level is a well-formed FIFO in time order whose
//!   totals match its orders, and every resting order is in exactly one level and in its
//!   account's list;
//! - **uncrossed books**: no book's best bid reaches its best ask after matching;
//! - **cash reserved**: an account's reserved cash is exactly what its open buys hold;
//! - **cash covers reserved**: reserved cash is never negative nor more than the cash;
//! - **shares reserved**: an account's reserved shares of a symbol are exactly what its
//!   open sells hold;
//! - **short limit**: no position, less what its open sells hold, goes below the floor
//!   (zero, or minus `max_short_shares` when short selling is allowed);
//! - **cash conservation**: the cash of all accounts adds up to the cash given out
//!   (genesis, participants added, cash adjustments), since trading only moves cash;
//! - **shares conservation**: likewise for each symbol's shares.
//!
//! A broken invariant is a programming error in the deterministic core, never bad input:
//! [`Exchange::end_block`] panics on one in debug builds (the simulator and every test
//! run it), and release builds skip the walk.

use super::Exchange;
use crate::core::types::{Cents, Shares, Side, Ticks};

/// The cash and shares that exist: what genesis, added participants and cash adjustments
/// gave out. Trading only moves them between accounts, so the sums over accounts must
/// stay equal to these (the conservation invariants). Kept outside the digest and
/// snapshots; a restored exchange starts from the sums it holds.
#[derive(Clone, Debug, Default)]
pub(super) struct Issued {
    cash: i128,
    /// Indexed by symbol.
    shares: Vec<i128>,
}

impl Issued {
    pub(super) fn add_symbol(&mut self) {
        self.shares.push(0);
    }

    pub(super) fn add_cash(&mut self, amount: Cents) {
        self.cash += i128::from(amount);
    }

    pub(super) fn add_shares(&mut self, symbol: usize, shares: i64) {
        self.shares[symbol] += i128::from(shares);
    }
}

/// The value in cents of `quantity` shares at `price` ticks of `tick` cents: what a buy
/// reserves, releases and pays. Callers have bounded the order's value
/// (`MAX_ORDER_VALUE`), so it fits in [`Cents`].
pub(super) fn order_value(quantity: Shares, price: Ticks, tick: Cents) -> Cents {
    let value = i128::from(quantity) * i128::from(price) * i128::from(tick);
    debug_assert!(
        (0..=i128::from(Cents::MAX)).contains(&value),
        "order value {value} does not fit in cents"
    );
    value as Cents
}

fn violated(invariant: &str, detail: impl std::fmt::Display) -> String {
    format!("invariant `{invariant}` violated: {detail}")
}

impl Exchange {
    /// Checks every invariant of the state (listed in [`invariants`](self)); the error
    /// names the first one broken. [`Exchange::end_block`] runs it in debug builds;
    /// tests may call it at any point between transactions.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.books
            .check_structure()
            .map_err(|e| violated("book structure", e))?;
        for (index, book) in self.books.books.iter().enumerate() {
            if let (Some((bid, _)), Some((ask, _))) = (book.best(Side::Buy), book.best(Side::Sell))
                && bid >= ask
            {
                return Err(violated(
                    "uncrossed books",
                    format!(
                        "{}: bid {bid} >= ask {ask}",
                        self.symbols[index].spec.ticker
                    ),
                ));
            }
        }
        let floor = self.short_floor();
        // Scratch for one account at a time: shares its open sells hold, per symbol.
        let mut held: Vec<Shares> = vec![0; self.symbols.len()];
        let mut listed = 0usize;
        let mut cash_total: i128 = 0;
        let mut shares_total = vec![0i128; self.symbols.len()];
        for (index, account) in self.accounts.iter().enumerate() {
            let mut cash_held: i128 = 0;
            for slot in self.books.account_slots(index as u32) {
                let order = self.books.get(slot);
                if order.account as usize != index {
                    return Err(violated(
                        "book structure",
                        format!(
                            "order #{} of account {} is in {}'s list",
                            order.id, order.account, account.name
                        ),
                    ));
                }
                listed += 1;
                // Every open order holds its commissions, whichever its side.
                cash_held += i128::from(order.fee_held());
                match order.side {
                    Side::Buy => {
                        cash_held += i128::from(order.remaining)
                            * i128::from(order.price)
                            * i128::from(self.symbols[order.symbol as usize].spec.tick_size)
                    }
                    Side::Sell => held[order.symbol as usize] += order.remaining,
                }
            }
            if cash_held != i128::from(account.cash_reserved) {
                return Err(violated(
                    "cash reserved",
                    format!(
                        "{}: {} reserved but open orders hold {cash_held}",
                        account.name, account.cash_reserved
                    ),
                ));
            }
            if account.cash_reserved < 0 || account.cash < account.cash_reserved {
                return Err(violated(
                    "cash covers reserved",
                    format!(
                        "{}: cash {} with {} reserved",
                        account.name, account.cash, account.cash_reserved
                    ),
                ));
            }
            cash_total += i128::from(account.cash);
            for (symbol, held) in held.iter_mut().enumerate() {
                let position = account.position(symbol);
                if position.reserved != *held {
                    return Err(violated(
                        "shares reserved",
                        format!(
                            "{}: {} {} reserved but open sells hold {held}",
                            account.name, position.reserved, self.symbols[symbol].spec.ticker
                        ),
                    ));
                }
                *held = 0;
                if i128::from(position.shares) - i128::from(position.reserved) < i128::from(floor) {
                    return Err(violated(
                        "short limit",
                        format!(
                            "{}: {} position {} with {} reserved is below {floor}",
                            account.name,
                            self.symbols[symbol].spec.ticker,
                            position.shares,
                            position.reserved
                        ),
                    ));
                }
                shares_total[symbol] += i128::from(position.shares);
            }
        }
        if listed != self.books.len() {
            return Err(violated(
                "book structure",
                format!(
                    "{listed} orders in account lists, {} by id",
                    self.books.len()
                ),
            ));
        }
        if cash_total != self.issued.cash {
            return Err(violated(
                "cash conservation",
                format!(
                    "accounts hold {cash_total} cents, {} were given out",
                    self.issued.cash
                ),
            ));
        }
        for (symbol, (total, issued)) in shares_total.iter().zip(&self.issued.shares).enumerate() {
            if total != issued {
                return Err(violated(
                    "shares conservation",
                    format!(
                        "accounts hold {total} {} shares, {issued} were given out",
                        self.symbols[symbol].spec.ticker
                    ),
                ));
            }
        }
        Ok(())
    }

    /// What the accounts hold now, as what was given out (after a restore).
    pub(super) fn issued_from_state(&self) -> Issued {
        let mut issued = Issued {
            cash: 0,
            shares: vec![0; self.symbols.len()],
        };
        for account in &self.accounts {
            issued.add_cash(account.cash);
            for (symbol, position) in account.positions.iter().enumerate() {
                issued.add_shares(symbol, position.shares);
            }
        }
        issued
    }

    /// Panics, naming the invariant, if the state breaks one (debug builds only).
    pub(super) fn debug_check_invariants(&self) {
        #[cfg(debug_assertions)]
        if let Err(broken) = self.check_invariants() {
            panic!("exchange state after block {}: {broken}", self.height);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::exchange::receipt::Outcome;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::core::tx::{AdminAction, NewOrder, OrderKind, Tx, TxBody};
    use qraft_keys::Keypair;

    /// An exchange with a resting buy and a resting sell of the first symbol, after a
    /// cash adjustment and one trade.
    fn busy() -> Exchange {
        let game = sample_game(&SampleOptions::default());
        let mut exchange = Exchange::from_genesis(&game.genesis).unwrap();
        let symbol = game.genesis.symbols[0].ticker;
        let order = |key: &Keypair, nonce, side, quantity, price| Tx {
            signer: key.public(),
            nonce,
            body: TxBody::Order(NewOrder {
                symbol,
                side,
                quantity,
                kind: OrderKind::Limit { price },
            }),
        };
        let txs = [
            order(&game.traders[0], 1, Side::Buy, 10, 990),
            order(&game.traders[1], 1, Side::Sell, 10, 1_010),
            order(&game.traders[2], 1, Side::Sell, 4, 990),
            Tx {
                signer: game.admin.public(),
                nonce: 1,
                body: TxBody::Admin(AdminAction::AdjustCash {
                    key: game.traders[3].public(),
                    amount: 12_345,
                }),
            },
        ];
        exchange.begin_block(1, 0);
        for tx in &txs {
            assert!(matches!(exchange.apply(tx), Outcome::Accepted(_)));
        }
        exchange.end_block();
        exchange
    }

    fn broken(exchange: &Exchange) -> String {
        exchange.check_invariants().unwrap_err()
    }

    #[test]
    fn a_consistent_state_passes_and_a_restored_one_too() {
        let exchange = busy();
        exchange.check_invariants().unwrap();
        Exchange::restore(&exchange.snapshot())
            .unwrap()
            .check_invariants()
            .unwrap();
    }

    #[test]
    fn each_broken_invariant_is_named() {
        let mut e = busy();
        e.accounts[1].cash += 1;
        assert!(broken(&e).contains("`cash conservation`"), "{}", broken(&e));

        let mut e = busy();
        e.accounts[2].position_mut(0).shares -= 1;
        assert!(
            broken(&e).contains("`shares conservation`"),
            "{}",
            broken(&e)
        );

        let mut e = busy();
        e.accounts[1].cash_reserved -= 1;
        assert!(broken(&e).contains("`cash reserved`"), "{}", broken(&e));

        let mut e = busy();
        e.accounts[2].position_mut(0).reserved += 1;
        assert!(broken(&e).contains("`shares reserved`"), "{}", broken(&e));

        let mut e = busy();
        e.accounts[1].cash = e.accounts[1].cash_reserved - 1;
        assert!(
            broken(&e).contains("`cash covers reserved`"),
            "{}",
            broken(&e)
        );

        let mut e = busy();
        let slot = e.books.slot_of(2).unwrap();
        e.books.reduce(slot, 1);
        assert!(broken(&e).contains("`shares reserved`"), "{}", broken(&e));
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "invariant `cash conservation` violated")]
    fn end_block_panics_on_a_broken_invariant_in_debug_builds() {
        let mut e = busy();
        e.accounts[0].cash += 1;
        e.begin_block(2, 0);
        e.end_block();
    }
}
