//! The rules in force and their history: the genesis's, then each admin
//! [`SetRules`](crate::core::tx::AdminAction::SetRules), in force from its block on.
//! Nothing applies retroactively: an order is checked against the rules in force when it
//! is placed, and a resting order keeps what it was accepted under (so the book's
//! invariants use the loosest short limit ever in force).
//!
//! Two rules are enforced here: the position limit (shares of one symbol held, open buys
//! counted) and the order rate (orders placed in the last minute of block time, counted
//! per participant; a rate limit set where there was none starts counting from then).

use serde::{Deserialize, Serialize};

use super::reject::Rejection;
use super::{Exchange, MAX_RULE_CHANGES};
use crate::core::genesis::Rules;
use crate::core::genesis::validate::rules_problems;
use crate::core::types::{Shares, Side};

/// What the order-rate limit counts over, in milliseconds of block time.
pub const RATE_WINDOW_MS: u64 = 60_000;

/// Rules in force from `height` on (0: the genesis's).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleChange {
    pub height: u64,
    pub rules: Rules,
}

/// The lowest a position, less what its open sells hold, may go under `rules`.
pub(super) fn short_floor(rules: &Rules) -> i64 {
    if rules.short_selling {
        -(rules.max_short_shares as i64)
    } else {
        0
    }
}

impl Exchange {
    /// Every set of rules the game has had, the genesis's first, with the height each
    /// came into force; the last is in force now.
    pub fn rule_changes(&self) -> &[RuleChange] {
        &self.rule_changes
    }

    /// The lowest short floor ever in force: resting sells placed under it may still
    /// hold positions down to it.
    pub(super) fn loosest_short_floor(&self) -> i64 {
        self.rule_changes
            .iter()
            .map(|change| short_floor(&change.rules))
            .min()
            .unwrap_or_else(|| short_floor(&self.rules))
    }

    /// Puts `rules` in force from this block on.
    pub(super) fn set_rules(&mut self, rules: &Rules) -> Result<(), Rejection> {
        let problems = rules_problems(rules);
        if !problems.is_empty() {
            return Err(Rejection::InvalidSpec(problems.join("; ")));
        }
        if rules.open_at_start != self.rules.open_at_start {
            return Err(Rejection::InvalidSpec(
                "open_at_start is the genesis's: open or close the market instead".into(),
            ));
        }
        if rules.candle_ms != self.rules.candle_ms {
            return Err(Rejection::InvalidSpec(
                "the candle length is the genesis's for good: charts would mix candles of \
                 two lengths"
                    .into(),
            ));
        }
        if *rules == self.rules {
            return Err(Rejection::AlreadyInState {
                what: "the rules".into(),
                state: "in force".into(),
            });
        }
        if self.rule_changes.len() >= MAX_RULE_CHANGES {
            return Err(Rejection::InvalidSpec(format!(
                "a game records at most {MAX_RULE_CHANGES} sets of rules"
            )));
        }
        if rules.max_orders_per_minute == 0 {
            // No limit: nothing to count; a limit set later counts from then.
            let counting: Vec<u32> = (0..self.accounts.len() as u32)
                .filter(|&i| !self.accounts[i as usize].recent_orders.is_empty())
                .collect();
            for index in counting {
                self.accounts[index as usize].recent_orders.clear();
                self.touch_account(index);
            }
        }
        self.rules = rules.clone();
        self.rule_changes.push(RuleChange {
            height: self.height,
            rules: rules.clone(),
        });
        Ok(())
    }

    /// Refuses an order that could take the account past the position limit: the shares
    /// it holds, plus those its open buys of the symbol may bring, plus this order's.
    pub(super) fn check_position_limit(
        &self,
        account: u32,
        symbol: u16,
        side: Side,
        quantity: Shares,
    ) -> Result<(), Rejection> {
        let max = self.rules.max_position_shares;
        if max == 0 || side != Side::Buy {
            return Ok(());
        }
        let held = self.accounts[account as usize]
            .position(symbol as usize)
            .shares
            .max(0) as u64;
        let open_buys: u64 = self
            .books
            .account_slots(account)
            .map(|slot| self.books.get(slot))
            .filter(|order| order.symbol == symbol && order.side == Side::Buy)
            .map(|order| order.remaining)
            .sum();
        let would_be = held.saturating_add(open_buys).saturating_add(quantity);
        if would_be > max {
            return Err(Rejection::PositionLimit {
                symbol: self.symbols[symbol as usize].spec.ticker,
                max,
                would_be,
            });
        }
        Ok(())
    }

    /// Refuses an order beyond the order rate: the account placed the most it may in the
    /// last minute of block time. Forgets what fell out of the minute.
    pub(super) fn check_order_rate(&mut self, account: u32) -> Result<(), Rejection> {
        let max = self.rules.max_orders_per_minute;
        let now = self.timestamp_ms;
        let acct = &mut self.accounts[account as usize];
        while acct
            .recent_orders
            .front()
            .is_some_and(|&at| at.saturating_add(RATE_WINDOW_MS) <= now)
        {
            acct.recent_orders.pop_front();
        }
        if max > 0 && acct.recent_orders.len() >= max as usize {
            return Err(Rejection::TooManyOrders { max });
        }
        Ok(())
    }

    /// Counts a placed order against the order rate (nothing is kept without a limit).
    /// The caller touches the account.
    pub(super) fn record_order(&mut self, account: u32) {
        let max = self.rules.max_orders_per_minute as usize;
        if max == 0 {
            return;
        }
        let now = self.timestamp_ms;
        let recent = &mut self.accounts[account as usize].recent_orders;
        recent.push_back(now);
        while recent.len() > max {
            recent.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use qraft_keys::Keypair;

    use super::*;
    use crate::core::exchange::receipt::Outcome;
    use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
    use crate::core::tx::{AdminAction, NewOrder, OrderKind, Tx, TxBody};

    /// A sample game (traders hold 1,000 shares of each symbol) and its exchange at
    /// block 1.
    fn game() -> (SampleGame, Exchange) {
        let game = sample_game(&SampleOptions::default());
        let mut exchange = Exchange::from_genesis(&game.genesis).unwrap();
        exchange.begin_block(1, 1_000);
        (game, exchange)
    }

    fn send(exchange: &mut Exchange, key: &Keypair, body: TxBody) -> Outcome {
        let nonce = exchange.last_nonce(&key.public()).unwrap() + 1;
        exchange.apply(&Tx {
            signer: key.public(),
            nonce,
            body,
        })
    }

    fn order(game: &SampleGame, side: Side, quantity: u64, price: u64) -> TxBody {
        TxBody::Order(NewOrder {
            symbol: game.genesis.symbols[0].ticker,
            side,
            quantity,
            kind: OrderKind::Limit { price },
        })
    }

    fn set(exchange: &mut Exchange, game: &SampleGame, change: impl Fn(&mut Rules)) -> Outcome {
        let mut rules = exchange.rules().clone();
        change(&mut rules);
        send(
            exchange,
            &game.admin,
            TxBody::Admin(AdminAction::SetRules(rules)),
        )
    }

    fn next_block(exchange: &mut Exchange, height: u64, timestamp_ms: u64) {
        assert_eq!(exchange.end_block(), exchange.recompute_digest());
        exchange.begin_block(height, timestamp_ms);
    }

    #[test]
    fn a_position_limit_refuses_from_its_block_on_counting_open_buys() {
        let (game, mut exchange) = game();
        let ada = &game.traders[0];
        // Before the limit: a resting buy of 300 on top of 1,000 held is fine.
        let placed = send(&mut exchange, ada, order(&game, Side::Buy, 300, 1));
        assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        next_block(&mut exchange, 2, 2_000);
        assert!(matches!(
            set(&mut exchange, &game, |r| r.max_position_shares = 1_350),
            Outcome::Accepted(_)
        ));
        // 1,000 held + 300 open + 60 would be 1,360.
        assert_eq!(
            send(&mut exchange, ada, order(&game, Side::Buy, 60, 1)),
            Outcome::Rejected(Rejection::PositionLimit {
                symbol: game.genesis.symbols[0].ticker,
                max: 1_350,
                would_be: 1_360,
            })
        );
        let placed = send(&mut exchange, ada, order(&game, Side::Buy, 50, 1));
        assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        // Selling is never limited by it; the resting 300 stays (nothing retroactive).
        let sold = send(&mut exchange, ada, order(&game, Side::Sell, 10, 10_000));
        assert!(matches!(sold, Outcome::Accepted(_)), "{sold:?}");
        let open = exchange.account(&ada.public()).unwrap().open_orders.len();
        assert_eq!(open, 3);
        next_block(&mut exchange, 3, 3_000);
    }

    #[test]
    fn an_order_rate_counts_a_minute_of_block_time_from_its_block_on() {
        let (game, mut exchange) = game();
        let ada = &game.traders[0];
        // Orders before the limit do not count against it.
        for _ in 0..5 {
            let placed = send(&mut exchange, ada, order(&game, Side::Buy, 1, 1));
            assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        }
        next_block(&mut exchange, 2, 2_000);
        assert!(matches!(
            set(&mut exchange, &game, |r| r.max_orders_per_minute = 3),
            Outcome::Accepted(_)
        ));
        for _ in 0..3 {
            let placed = send(&mut exchange, ada, order(&game, Side::Buy, 1, 1));
            assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        }
        assert_eq!(
            send(&mut exchange, ada, order(&game, Side::Buy, 1, 1)),
            Outcome::Rejected(Rejection::TooManyOrders { max: 3 })
        );
        // Another participant has a minute of their own; a refused order is not counted.
        let bob = &game.traders[1];
        let placed = send(&mut exchange, bob, order(&game, Side::Buy, 1, 1));
        assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        // The count is in the snapshot: a restored exchange refuses the same.
        next_block(&mut exchange, 3, 61_999);
        let mut restored = Exchange::restore(&exchange.snapshot()).unwrap();
        restored.begin_block(3, 61_999);
        for ex in [&mut exchange, &mut restored] {
            assert_eq!(
                send(ex, ada, order(&game, Side::Buy, 1, 1)),
                Outcome::Rejected(Rejection::TooManyOrders { max: 3 })
            );
        }
        // A minute after they were placed, the three fall out of it.
        next_block(&mut exchange, 4, 62_000);
        let placed = send(&mut exchange, ada, order(&game, Side::Buy, 1, 1));
        assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        // No limit: nothing is counted, and a limit set later starts from then.
        assert!(matches!(
            set(&mut exchange, &game, |r| r.max_orders_per_minute = 0),
            Outcome::Accepted(_)
        ));
        assert!(matches!(
            set(&mut exchange, &game, |r| r.max_orders_per_minute = 1),
            Outcome::Accepted(_)
        ));
        let placed = send(&mut exchange, ada, order(&game, Side::Buy, 1, 1));
        assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        next_block(&mut exchange, 5, 63_000);
    }

    #[test]
    fn short_selling_turned_off_leaves_resting_short_sells_to_trade() {
        let game = sample_game(&SampleOptions {
            rules: Rules {
                short_selling: true,
                max_short_shares: 500,
                ..Rules::default()
            },
            ..SampleOptions::default()
        });
        let mut exchange = Exchange::from_genesis(&game.genesis).unwrap();
        exchange.begin_block(1, 1_000);
        let (ada, bob) = (&game.traders[0], &game.traders[1]);
        // Ada offers 1,400 of her 1,000: 400 short, resting.
        let placed = send(&mut exchange, ada, order(&game, Side::Sell, 1_400, 2_000));
        assert!(matches!(placed, Outcome::Accepted(_)), "{placed:?}");
        next_block(&mut exchange, 2, 2_000);
        assert!(matches!(
            set(&mut exchange, &game, |r| {
                r.short_selling = false;
                r.max_short_shares = 0;
            }),
            Outcome::Accepted(_)
        ));
        // A new short sale is refused from this block on...
        let refused = send(&mut exchange, bob, order(&game, Side::Sell, 1_001, 2_000));
        assert!(
            matches!(
                refused,
                Outcome::Rejected(Rejection::InsufficientShares { .. })
            ),
            "{refused:?}"
        );
        // ...while Ada's resting offer, accepted before, still trades in full.
        let bought = send(&mut exchange, bob, order(&game, Side::Buy, 1_400, 2_000));
        assert!(matches!(bought, Outcome::Accepted(_)), "{bought:?}");
        let ada_view = exchange.account(&ada.public()).unwrap();
        let acme = game.genesis.symbols[0].ticker;
        let held = ada_view
            .positions
            .iter()
            .find(|p| p.symbol == acme)
            .unwrap();
        assert_eq!(held.shares, -400);
        // The invariants (checked at end_block in debug builds) allow it.
        next_block(&mut exchange, 3, 3_000);
    }

    #[test]
    fn rule_changes_are_recorded_with_their_heights_checked_and_hashed() {
        let (game, mut exchange) = game();
        let genesis_digest = exchange.end_block();
        exchange.begin_block(2, 2_000);
        assert!(matches!(
            set(&mut exchange, &game, |r| r.max_order_shares = 50),
            Outcome::Accepted(_)
        ));
        let digest = exchange.end_block();
        assert_ne!(digest, genesis_digest, "the rules are in the digest");
        assert_eq!(digest, exchange.recompute_digest());
        exchange.begin_block(3, 3_000);
        type Change = Box<dyn Fn(&mut Rules)>;
        let refusals: Vec<(Change, &str)> = vec![
            (
                Box::new(|r| r.max_order_shares = 0),
                "max_order_shares: must be at least 1",
            ),
            (Box::new(|r| r.candle_ms = 1_000), "candle length"),
            (
                Box::new(|r| r.open_at_start = !r.open_at_start),
                "open_at_start",
            ),
            (Box::new(|_| {}), "AlreadyInState"),
            (
                Box::new(|r| r.max_orders_per_minute = 601),
                "max_orders_per_minute",
            ),
        ];
        for (change, words) in refusals {
            let outcome = set(&mut exchange, &game, change);
            assert!(
                format!("{outcome:?}").contains(words),
                "{words}: {outcome:?}"
            );
        }
        let mut rules = exchange.rules().clone();
        rules.max_order_shares = 7;
        let by_trader = send(
            &mut exchange,
            &game.traders[0],
            TxBody::Admin(AdminAction::SetRules(rules)),
        );
        assert_eq!(by_trader, Outcome::Rejected(Rejection::NotAdmin));
        let heights: Vec<(u64, u64)> = exchange
            .rule_changes()
            .iter()
            .map(|c| (c.height, c.rules.max_order_shares))
            .collect();
        assert_eq!(heights, vec![(0, 10_000), (2, 50)]);
        assert_eq!(
            send(
                &mut exchange,
                &game.traders[0],
                order(&game, Side::Buy, 51, 1)
            ),
            Outcome::Rejected(Rejection::OrderTooLarge {
                quantity: 51,
                max: 50
            })
        );
        let digest = exchange.end_block();
        let restored = Exchange::restore(&exchange.snapshot()).unwrap();
        assert_eq!(restored.rule_changes(), exchange.rule_changes());
        assert_eq!(restored.rules(), exchange.rules());
        assert_eq!(restored.digest(), digest);
    }

    fn fills(outcome: &Outcome) -> Vec<(u64, crate::core::types::Cents)> {
        match outcome {
            Outcome::Accepted(crate::core::exchange::Effect::Order(result)) => result
                .fills
                .iter()
                .map(|f| (f.quantity, f.commission))
                .collect(),
            other => panic!("not an accepted order: {other:?}"),
        }
    }

    #[test]
    fn commissions_are_paid_per_order_once_and_per_share_by_both_sides_from_their_block_on() {
        let (game, mut exchange) = game();
        let (ada, bob) = (&game.traders[0], &game.traders[1]);
        // Placed before commissions: it never pays any.
        let old = send(&mut exchange, ada, order(&game, Side::Sell, 5, 3_000));
        assert!(matches!(old, Outcome::Accepted(_)), "{old:?}");
        next_block(&mut exchange, 2, 2_000);
        assert!(matches!(
            set(&mut exchange, &game, |r| {
                r.commission_per_order = 100;
                r.commission_per_share = 1;
            }),
            Outcome::Accepted(_)
        ));
        let cash = |ex: &Exchange, who: &Keypair| {
            let view = ex.account(&who.public()).unwrap();
            (view.cash, view.commissions_paid)
        };
        let (ada_cash, _) = cash(&exchange, ada);
        let (bob_cash, _) = cash(&exchange, bob);
        // Ada offers 10 more above the old offer: it holds $1.00 + 10 cents of commission.
        let offer = send(&mut exchange, ada, order(&game, Side::Sell, 10, 3_001));
        assert!(matches!(offer, Outcome::Accepted(_)), "{offer:?}");
        // Bob takes the old 5 (no commission for Ada) and 4 of the new: one order, so
        // one $1.00 and 9 cents for him; Ada's new order pays $1.00 and 4 cents.
        let bought = send(&mut exchange, bob, order(&game, Side::Buy, 9, 3_001));
        assert_eq!(fills(&bought), vec![(5, 105), (4, 4)]);
        next_block(&mut exchange, 3, 3_000);
        let tick = game.genesis.symbols[0].tick_size;
        let value = (5 * 3_000 + 4 * 3_001) * tick;
        assert_eq!(cash(&exchange, bob), (bob_cash - value - 109, 109));
        assert_eq!(cash(&exchange, ada), (ada_cash + value - 104, 104));
        // The rest of Ada's order pays per share only; cancelling gives back what it held.
        let bought = send(&mut exchange, bob, order(&game, Side::Buy, 2, 3_001));
        assert_eq!(fills(&bought), vec![(2, 102)]);
        assert_eq!(cash(&exchange, ada).1, 106);
        let held = exchange.account(&ada.public()).unwrap().cash_reserved;
        assert_eq!(held, 4, "four cents for the four shares left");
        let cancel_all = TxBody::CancelAll { symbol: None };
        assert!(matches!(
            send(&mut exchange, ada, cancel_all),
            Outcome::Accepted(_)
        ));
        assert_eq!(exchange.account(&ada.public()).unwrap().cash_reserved, 0);
        next_block(&mut exchange, 4, 4_000);
        let restored = Exchange::restore(&exchange.snapshot()).unwrap();
        assert_eq!(restored.digest(), exchange.digest());
        assert_eq!(
            restored.account(&ada.public()).unwrap().commissions_paid,
            106
        );
    }

    #[test]
    fn a_sale_needs_the_cash_for_its_commission() {
        let game = sample_game(&SampleOptions {
            cash: 50,
            ..SampleOptions::default()
        });
        let mut exchange = Exchange::from_genesis(&game.genesis).unwrap();
        exchange.begin_block(1, 1_000);
        assert!(matches!(
            set(&mut exchange, &game, |r| r.commission_per_order = 100),
            Outcome::Accepted(_)
        ));
        let refused = send(
            &mut exchange,
            &game.traders[0],
            order(&game, Side::Sell, 1, 3_000),
        );
        assert_eq!(
            refused,
            Outcome::Rejected(Rejection::InsufficientCash {
                needed: 100,
                available: 50,
                reserved: 0
            })
        );
    }
}
