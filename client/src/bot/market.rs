//! Small pure helpers for strategies: prices, free cash and shares, a seeded generator.

use qraft_node::core::exchange::views::{AccountView, DepthView, OrderView, SymbolView};
use qraft_node::core::types::{Cents, Shares, Side, Ticker, Ticks};

/// The midpoint of the best bid and best ask (rounded down), or the one best price if
/// only one side has orders; `None` for an empty book.
pub fn mid_price(book: &DepthView) -> Option<Ticks> {
    let bid = book.bids.first().map(|l| l.price);
    let ask = book.asks.first().map(|l| l.price);
    match (bid, ask) {
        (Some(bid), Some(ask)) => Some(bid / 2 + ask / 2 + (bid % 2 + ask % 2) / 2),
        (one, other) => one.or(other),
    }
}

/// The price a symbol trades around: its last trade, or its reference price before the
/// first trade.
pub fn last_or_reference(symbol: &SymbolView) -> Ticks {
    symbol.last_price.unwrap_or(symbol.reference_price)
}

/// Cash not held for open buy orders.
pub fn free_cash(account: &AccountView) -> Cents {
    account.cash - account.cash_reserved
}

/// Shares held (negative when short) of `symbol`.
pub fn position(account: &AccountView, symbol: Ticker) -> i64 {
    account
        .positions
        .iter()
        .find(|p| p.symbol == symbol)
        .map_or(0, |p| p.shares)
}

/// Shares of `symbol` held and not reserved by open sell orders (0 when short).
pub fn free_shares(account: &AccountView, symbol: Ticker) -> Shares {
    account
        .positions
        .iter()
        .find(|p| p.symbol == symbol)
        .map_or(0, |p| {
            u64::try_from(p.shares - p.reserved as i64).unwrap_or(0)
        })
}

/// The account's open orders in `symbol`, oldest first.
pub fn open_orders(account: &AccountView, symbol: Ticker) -> impl Iterator<Item = &OrderView> {
    account
        .open_orders
        .iter()
        .filter(move |o| o.symbol == symbol)
}

/// What the account's open orders in `symbol` on `side` hold: cash (for buys, at
/// `tick_size` cents a tick) or shares (for sells).
pub fn held_by_orders(account: &AccountView, symbol: Ticker, side: Side, tick_size: Cents) -> u64 {
    open_orders(account, symbol)
        .filter(|o| o.side == side)
        .map(|o| match side {
            Side::Buy => o
                .remaining
                .saturating_mul(o.price)
                .saturating_mul(tick_size.max(0) as u64),
            Side::Sell => o.remaining,
        })
        .fold(0u64, u64::saturating_add)
}

/// How many whole shares `cash` buys at `price` ticks of `tick_size` cents.
pub fn affordable(cash: Cents, price: Ticks, tick_size: Cents) -> Shares {
    let per_share = (price as i128) * (tick_size as i128);
    if cash <= 0 || per_share <= 0 {
        return 0;
    }
    u64::try_from(cash as i128 / per_share).unwrap_or(u64::MAX)
}

/// A small, seeded pseudo-random generator (SplitMix64): the same seed, the same
/// sequence, on every machine. Not for anything secret. The bots and `qraft chaos` use it.
#[derive(Clone, Debug)]
pub struct Rng {
    state: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng { state: seed }
    }

    /// Seeded from text (a name, a key): FNV-1a of its bytes.
    pub fn from_text(text: &str) -> Rng {
        let hash = text.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        });
        Rng::new(hash)
    }

    /// An independent stream for `label` (a client, a plan) from the same seed.
    pub fn fork(&self, label: u64) -> Rng {
        let mut mixed = Rng::new(self.state ^ label.wrapping_mul(0xa24b_aed4_963e_e407));
        mixed.next_u64();
        mixed
    }

    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            return 0;
        }
        // Multiply-shift: no modulo bias worth speaking of for small n.
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A number in `low..=high` (`low` when `high < low`).
    pub fn between(&mut self, low: u64, high: u64) -> u64 {
        if high <= low {
            return low;
        }
        low + self.below(high - low + 1)
    }

    /// A signed number in `-spread..=spread`.
    pub fn offset(&mut self, spread: u64) -> i64 {
        let spread = spread.min(i64::MAX as u64 / 2);
        self.between(0, 2 * spread) as i64 - spread as i64
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < u64::from(percent)
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let at = usize::try_from(self.below(items.len() as u64)).expect("an index fits");
        &items[at]
    }

    /// Buy or sell, evenly.
    pub fn side(&mut self) -> Side {
        if self.below(2) == 0 {
            Side::Buy
        } else {
            Side::Sell
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use qraft_keys::Keypair;
    use qraft_node::core::exchange::views::{DepthLevel, PositionView};

    #[test]
    fn the_same_seed_gives_the_same_numbers_and_forks_differ() {
        let mut a = Rng::new(7);
        let mut b = Rng::new(7);
        let first: Vec<u64> = (0..5).map(|_| a.next_u64()).collect();
        let second: Vec<u64> = (0..5).map(|_| b.next_u64()).collect();
        assert_eq!(first, second);
        let mut fork = Rng::new(7).fork(1);
        assert_ne!(fork.next_u64(), Rng::new(7).next_u64());
        let mut other = Rng::new(7).fork(2);
        assert_ne!(other.next_u64(), Rng::new(7).fork(1).next_u64());
        let mut rng = Rng::new(1);
        for _ in 0..1000 {
            assert!((500..=3000).contains(&rng.between(500, 3000)));
        }
        assert_eq!(rng.between(4, 4), 4);
        assert_eq!(rng.between(9, 2), 9);
    }
    use qraft_node::core::types::Role;

    pub(crate) fn acme() -> Ticker {
        Ticker::new("ACME").unwrap()
    }

    fn level(price: Ticks) -> DepthLevel {
        DepthLevel {
            price,
            quantity: 5,
            orders: 1,
        }
    }

    fn book(bids: &[Ticks], asks: &[Ticks]) -> DepthView {
        DepthView {
            symbol: acme(),
            bids: bids.iter().copied().map(level).collect(),
            asks: asks.iter().copied().map(level).collect(),
        }
    }

    pub(crate) fn order(id: u64, side: Side, price: Ticks, remaining: Shares) -> OrderView {
        OrderView {
            id,
            symbol: acme(),
            side,
            price,
            remaining,
            original: remaining,
            placed_height: 1,
        }
    }

    /// An account with `cash` (of which `reserved` held), `shares` of ACME (of which
    /// `shares_reserved` held) and `orders`.
    pub(crate) fn account(
        cash: Cents,
        reserved: Cents,
        shares: i64,
        shares_reserved: Shares,
        orders: Vec<OrderView>,
    ) -> AccountView {
        AccountView {
            key: Keypair::from_label("bot").public(),
            name: "bot".into(),
            role: Role::Bot,
            suspended: false,
            cash,
            cash_reserved: reserved,
            last_nonce: 0,
            commissions_paid: 0,
            start_worth: cash + shares * 1000,
            dividends: 0,
            positions: vec![PositionView {
                symbol: acme(),
                shares,
                reserved: shares_reserved,
                mark_price: 1000,
                value: shares * 1000,
            }],
            open_orders: orders,
            net_worth: cash + shares * 1000,
        }
    }

    #[test]
    fn mid_price_of_both_one_or_no_sides() {
        assert_eq!(mid_price(&book(&[99, 98], &[101, 105])), Some(100));
        assert_eq!(mid_price(&book(&[99], &[100])), Some(99));
        assert_eq!(mid_price(&book(&[u64::MAX], &[u64::MAX])), Some(u64::MAX));
        assert_eq!(mid_price(&book(&[99], &[])), Some(99));
        assert_eq!(mid_price(&book(&[], &[120])), Some(120));
        assert_eq!(mid_price(&book(&[], &[])), None);
    }

    #[test]
    fn free_cash_and_shares_leave_out_what_orders_hold() {
        let a = account(10_000, 2_500, 100, 30, vec![]);
        assert_eq!(free_cash(&a), 7_500);
        assert_eq!(free_shares(&a, acme()), 70);
        assert_eq!(position(&a, acme()), 100);
        let other = Ticker::new("BOLT").unwrap();
        assert_eq!(free_shares(&a, other), 0);
        assert_eq!(position(&a, other), 0);
        let short = account(10_000, 0, -5, 0, vec![]);
        assert_eq!(free_shares(&short, acme()), 0);
    }

    #[test]
    fn held_by_orders_counts_one_side_of_one_symbol() {
        let a = account(
            10_000,
            0,
            100,
            0,
            vec![
                order(1, Side::Buy, 100, 3),
                order(2, Side::Sell, 110, 4),
                order(3, Side::Buy, 90, 2),
            ],
        );
        assert_eq!(held_by_orders(&a, acme(), Side::Buy, 1), 480);
        assert_eq!(held_by_orders(&a, acme(), Side::Buy, 5), 2_400);
        assert_eq!(held_by_orders(&a, acme(), Side::Sell, 1), 4);
        assert_eq!(open_orders(&a, Ticker::new("BOLT").unwrap()).count(), 0);
    }

    #[test]
    fn affordable_rounds_down_and_refuses_nonsense() {
        assert_eq!(affordable(1_000, 300, 1), 3);
        assert_eq!(affordable(1_000, 100, 5), 2);
        assert_eq!(affordable(-1, 100, 1), 0);
        assert_eq!(affordable(1_000, 0, 1), 0);
    }

    #[test]
    fn the_generator_is_seeded_and_stays_in_range() {
        let mut a = Rng::from_text("bot1");
        let mut b = Rng::from_text("bot1");
        let mut c = Rng::from_text("bot2");
        let first: Vec<u64> = (0..8).map(|_| a.next_u64()).collect();
        assert_eq!(first, (0..8).map(|_| b.next_u64()).collect::<Vec<_>>());
        assert_ne!(first, (0..8).map(|_| c.next_u64()).collect::<Vec<_>>());
        let mut seen = [false; 7];
        for _ in 0..1_000 {
            let x = a.between(3, 9);
            assert!((3..=9).contains(&x));
            seen[(x - 3) as usize] = true;
            let o = a.offset(4);
            assert!((-4..=4).contains(&o));
        }
        assert!(seen.iter().all(|s| *s), "every value comes up");
        assert_eq!(a.below(0), 0);
        assert_eq!(a.between(5, 5), 5);
        assert_eq!(a.between(5, 2), 5);
        let heads = (0..1_000).filter(|_| a.chance(30)).count();
        assert!((200..400).contains(&heads), "{heads}");
        assert!(!(0..100).any(|_| a.chance(0)));
        assert!((0..100).all(|_| a.chance(100)));
    }
}
