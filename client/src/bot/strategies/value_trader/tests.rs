use super::*;
use crate::bot::market::tests::{account, acme, order};
use qraft_node::core::types::Session;

/// ACME with a one-cent tick, reference 1,000, and the given last price, book and value.
fn symbol(
    last: Option<Ticks>,
    bid: Option<Ticks>,
    ask: Option<Ticks>,
    value: Option<Ticks>,
) -> SymbolView {
    SymbolView {
        ticker: acme(),
        name: "Acme".into(),
        tick_size: 1,
        reference_price: 1_000,
        session: Session::Open,
        last_price: last,
        volume: 0,
        best_bid: bid,
        best_ask: ask,
        value,
    }
}

/// An exact estimate (no noise) drawn around `value`.
fn exact(value: Option<Ticks>, price: Ticks) -> Estimate {
    Estimate {
        value,
        price,
        steps_left: 5,
    }
}

fn rich() -> AccountView {
    account(10_000_000, 0, 1_000, 0, vec![])
}

/// Orders reach as far as the game's band (10%), and it holds at most 1,500 shares.
fn config() -> Config {
    Config {
        max_position: 1_500,
        reach_bps: 1_000,
        ..Config::new(acme())
    }
}

#[test]
fn buys_when_the_ask_is_well_below_the_value() {
    let market = symbol(Some(1_000), Some(998), Some(1_002), Some(1_060));
    let plan = plan(
        &config(),
        &exact(Some(1_060), 1_060),
        false,
        None,
        &market,
        &rich(),
    );
    assert!(plan.requote);
    // Halfway from the ask to its estimate.
    assert_eq!(
        plan.take,
        Some(Order {
            side: Side::Buy,
            price: 1_031,
            quantity: 10
        })
    );
    // Its resting bid stays below the ask it saw; its ask is 1% above its estimate.
    assert_eq!(plan.bid.map(|o| o.price), Some(1_001));
    assert_eq!(plan.ask.map(|o| o.price), Some(1_070));
}

#[test]
fn sells_when_the_bid_is_well_above_the_value() {
    let market = symbol(Some(1_000), Some(998), Some(1_002), Some(940));
    let plan = plan(
        &config(),
        &exact(Some(940), 940),
        false,
        None,
        &market,
        &rich(),
    );
    assert_eq!(
        plan.take,
        Some(Order {
            side: Side::Sell,
            price: 969,
            quantity: 10
        })
    );
    assert_eq!(plan.bid.map(|o| o.price), Some(931));
    assert_eq!(plan.ask.map(|o| o.price), Some(999));
}

#[test]
fn does_nothing_inside_the_threshold() {
    let config = config();
    // 0.5% of 1,000 is 5 ticks: an ask at 996 and a bid at 1,004 are close enough.
    let estimate = exact(Some(1_000), 1_000);
    for market in [
        symbol(Some(1_000), Some(990), Some(996), Some(1_000)),
        symbol(Some(1_000), Some(1_004), Some(1_010), Some(1_000)),
    ] {
        let band = Band::around(&market, 1_000);
        assert_eq!(take_price(&config, &estimate, &market, band), None);
    }
    let market = symbol(Some(1_000), Some(996), Some(1_004), Some(1_000));
    // Its quotes rest and the estimate is not new: nothing to do.
    let orders = vec![
        order(7, Side::Buy, 990, 10),
        order(8, Side::Sell, 1_010, 10),
    ];
    let acct = account(10_000_000, 9_900, 1_000, 10, orders.clone());
    let quote = Some(Quote {
        bid: Some(7),
        ask: Some(8),
    });
    assert_eq!(
        plan(&config, &estimate, false, quote, &market, &acct),
        Plan::default()
    );
    // Just outside: it takes.
    let cheap = symbol(Some(1_000), None, Some(994), Some(1_000));
    assert!(
        plan(&config, &estimate, false, quote, &cheap, &acct)
            .take
            .is_some()
    );
    // One of its quotes was filled: it requotes, cancelling what still rests.
    let filled = account(10_000_000, 9_900, 990, 0, vec![orders[0].clone()]);
    let requote = plan(&config, &estimate, false, quote, &market, &filled);
    assert!(requote.requote);
    assert_eq!(requote.cancel, vec![7]);
    assert_eq!(requote.take, None);
}

#[test]
fn respects_the_position_limit() {
    let market = symbol(Some(1_000), Some(998), Some(1_002), Some(1_060));
    let estimate = exact(Some(1_060), 1_060);
    // 1,495 held of at most 1,500: 5 more, taken first, and no room for a bid.
    let near = account(10_000_000, 0, 1_495, 0, vec![]);
    let plan_near = plan(&config(), &estimate, true, None, &market, &near);
    assert_eq!(plan_near.take.map(|o| o.quantity), Some(5));
    assert_eq!(plan_near.bid, None);
    assert!(plan_near.ask.is_some());
    // At the limit: it buys nothing.
    let full = account(10_000_000, 0, 1_500, 0, vec![]);
    let plan_full = plan(&config(), &estimate, true, None, &market, &full);
    assert_eq!((plan_full.take, plan_full.bid), (None, None));
    // And it never sells shares it does not have.
    let cheap = symbol(Some(1_000), Some(998), Some(1_002), Some(950));
    let none = account(10_000_000, 0, 0, 0, vec![]);
    let plan_none = plan(&config(), &exact(Some(950), 950), true, None, &cheap, &none);
    assert_eq!((plan_none.take, plan_none.ask), (None, None));
    assert!(plan_none.bid.is_some());
    // Cash bounds buys too, counting what its own resting bid frees.
    let poor = account(5_000, 5_000, 0, 0, vec![order(3, Side::Buy, 1_000, 5)]);
    let plan_poor = plan(&config(), &estimate, true, None, &market, &poor);
    assert_eq!(plan_poor.cancel, vec![3]);
    assert_eq!(plan_poor.take.map(|o| o.quantity), Some(4));
    assert_eq!(plan_poor.bid, None);
}

#[test]
fn prices_are_whole_ticks_inside_the_band() {
    // The value doubled: the band (10% of the last price, 1,000) holds it to 1,100.
    let market = symbol(Some(1_000), Some(998), Some(1_002), Some(2_000));
    let band = Band::around(&market, 1_000);
    assert_eq!(
        band,
        Band {
            low: 900,
            high: 1_100
        }
    );
    let mut rng = Rng::new(9);
    for _ in 0..100 {
        let (estimate, _) = next_estimate(&config(), None, &market, &mut rng);
        let plan = plan(&config(), &estimate, true, None, &market, &rich());
        let take = plan.take.expect("it buys");
        assert_eq!((take.side, take.price), (Side::Buy, 1_100));
        // Its ask would be far above the band: none, rather than one below its estimate.
        assert_eq!(plan.ask, None);
        let bid = plan.bid.expect("a bid");
        assert!(band.contains(bid.price) && bid.price < 1_002, "{bid:?}");
    }
    // Halved: it sells at the band's floor and bids nothing.
    let market = symbol(Some(1_000), Some(998), Some(1_002), Some(500));
    let plan = plan(
        &config(),
        &exact(Some(500), 500),
        true,
        None,
        &market,
        &rich(),
    );
    assert_eq!(
        plan.take.map(|o| (o.side, o.price)),
        Some((Side::Sell, 900))
    );
    assert_eq!(plan.bid, None);
    assert!(
        plan.ask
            .is_some_and(|o| band.contains(o.price) && o.price > 998)
    );
    // A one-tick stock keeps its prices at one tick or more.
    let tiny = symbol(Some(1), None, None, Some(1));
    let (bid, ask) = quote_prices(&config(), 1, &tiny, Band::around(&tiny, 1_000));
    assert_eq!((bid, ask), (None, Some(2)));
}

#[test]
fn one_step_reaches_only_a_little_way_from_the_last_price() {
    let config = Config::new(acme());
    assert_eq!(config.reach(), 100);
    let narrow_band = Config {
        band_bps: 50,
        ..Config::new(acme())
    };
    assert_eq!(narrow_band.reach(), 50);
    // The value jumped by half: it pays at most 1% over the last price.
    let market = symbol(Some(1_000), Some(998), Some(1_002), Some(1_500));
    let plan = plan(
        &config,
        &exact(Some(1_500), 1_500),
        true,
        None,
        &market,
        &rich(),
    );
    assert_eq!(
        plan.take.map(|o| (o.side, o.price)),
        Some((Side::Buy, 1_010))
    );
    assert_eq!(plan.bid.map(|o| o.price), Some(1_001));
    assert_eq!(plan.ask, None);
}

#[test]
fn noise_is_deterministic_for_a_seed() {
    let draw = |seed| {
        let mut rng = Rng::new(seed);
        (0..200)
            .map(|_| noisy(10_000, 200, &mut rng))
            .collect::<Vec<_>>()
    };
    let estimates = draw(7);
    assert_eq!(estimates, draw(7));
    assert_ne!(estimates, draw(8));
    assert!(estimates.iter().all(|e| (9_800..=10_200).contains(e)));
    assert!(estimates.iter().any(|&e| e < 9_900) && estimates.iter().any(|&e| e > 10_100));
    let mut rng = Rng::new(1);
    assert_eq!(noisy(1_000, 0, &mut rng), 1_000);
    assert!((0..100).all(|_| noisy(1, 5_000, &mut rng) >= 1));
}

#[test]
fn an_estimate_lasts_until_the_value_changes_or_its_steps_run_out() {
    let config = Config {
        redraw_steps: 3,
        ..config()
    };
    let mut rng = Rng::new(5);
    let market = symbol(Some(1_000), None, None, Some(1_200));
    let (first, fresh) = next_estimate(&config, None, &market, &mut rng);
    assert!(fresh);
    assert_eq!(first.value, Some(1_200));
    let (second, fresh) = next_estimate(&config, Some(first), &market, &mut rng);
    assert!(!fresh);
    assert_eq!(second.price, first.price);
    let (third, fresh) = next_estimate(&config, Some(second), &market, &mut rng);
    assert!(!fresh);
    let (_, fresh) = next_estimate(&config, Some(third), &market, &mut rng);
    assert!(fresh, "drawn again after three steps");
    // News: drawn again around the new value at once.
    let news = symbol(Some(1_000), None, None, Some(800));
    let (moved, fresh) = next_estimate(&config, Some(first), &news, &mut rng);
    assert!(fresh);
    assert!((784..=816).contains(&moved.price), "{moved:?}");
}

#[test]
fn behaves_without_a_value() {
    let config = config();
    let mut rng = Rng::new(3);
    // No value yet: the estimate is drawn around the last price...
    let market = symbol(Some(1_000), Some(960), Some(1_040), None);
    let (estimate, fresh) = next_estimate(&config, None, &market, &mut rng);
    assert!(fresh && estimate.value.is_none());
    assert!((980..=1_020).contains(&estimate.price), "{estimate:?}");
    // ...and it takes nothing, however far the book is from it: it only quotes.
    let far = exact(None, 1_100);
    let plan = plan(&config, &far, true, None, &market, &rich());
    assert_eq!(plan.take, None);
    assert_eq!(plan.bid.map(|o| o.price), Some(1_039));
    assert_eq!(plan.ask, None, "the band's edge is not above its estimate");
    let near = plan_for(&config, exact(None, 1_000), &market);
    assert_eq!(near.bid.map(|o| o.price), Some(990));
    assert_eq!(near.ask.map(|o| o.price), Some(1_010));
    // Before the first trade it centres on the reference price.
    let fresh_market = symbol(None, None, None, None);
    let (estimate, _) = next_estimate(&config, None, &fresh_market, &mut rng);
    assert!((980..=1_020).contains(&estimate.price), "{estimate:?}");
}

fn plan_for(config: &Config, estimate: Estimate, market: &SymbolView) -> Plan {
    plan(config, &estimate, true, None, market, &rich())
}
