//! The scenario applied block by block: each step at the block whose time reaches it, with
//! its effect, identically after a snapshot.

use qraft_keys::Keypair;

use super::*;
use crate::core::exchange::Exchange;
use crate::core::exchange::receipt::Outcome;
use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
use crate::core::scenario::{Round, RulesPatch, ScheduledEvent};
use crate::core::tx::{AdminAction, NewOrder, OrderKind, Tx, TxBody};
use crate::core::types::{Side, Ticker};

const T0: u64 = 1_700_000_000_000;

fn acme(game: &SampleGame) -> Ticker {
    game.genesis.symbols[0].ticker
}

fn news(at_ms: u64, headline: &str) -> ScheduledEvent {
    ScheduledEvent {
        at_ms,
        event: Event::News {
            symbol: None,
            headline: headline.into(),
            text: format!("{headline}: the story"),
        },
    }
}

/// Two one-minute rounds with a 10 s break, and one event of every kind in round 1.
fn story(game: &SampleGame, start: ScenarioStart) -> Scenario {
    let acme = acme(game);
    let at = |at_ms, event| ScheduledEvent { at_ms, event };
    Scenario {
        name: "Acme's quarter".into(),
        description: "Acme reports this quarter.".into(),
        start,
        rounds: vec![
            Round {
                name: "Round 1".into(),
                length_ms: 60_000,
                break_ms: 10_000,
            },
            Round {
                name: "Round 2".into(),
                length_ms: 60_000,
                break_ms: 0,
            },
        ],
        events: vec![
            news(5_000, "Acme wins a contract"),
            at(
                20_000,
                Event::Value {
                    symbol: acme,
                    value: 1_400,
                },
            ),
            at(
                30_000,
                Event::Dividend {
                    symbol: acme,
                    per_share: 50,
                },
            ),
            at(40_000, Event::Halt(Scope::Symbol(acme))),
            at(45_000, Event::Resume(Scope::Symbol(acme))),
            at(
                50_000,
                Event::Rules(RulesPatch {
                    max_order_shares: Some(100),
                    ..RulesPatch::default()
                }),
            ),
            news(75_000, "Round 2 news"),
        ],
        end_after_last_round: true,
        secret: None,
    }
}

fn game_with(start: ScenarioStart) -> (SampleGame, Exchange) {
    game_with_rules(
        start,
        crate::core::genesis::Rules {
            open_at_start: false,
            ..Default::default()
        },
    )
}

fn game_with_rules(
    start: ScenarioStart,
    rules: crate::core::genesis::Rules,
) -> (SampleGame, Exchange) {
    let mut game = sample_game(&SampleOptions {
        rules,
        ..SampleOptions::default()
    });
    game.genesis.scenario = Some(story(&game, start));
    let exchange = Exchange::from_genesis(&game.genesis).unwrap();
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

fn buy_or_sell(game: &SampleGame, side: Side, quantity: u64, price: u64) -> TxBody {
    TxBody::Order(NewOrder {
        symbol: acme(game),
        side,
        quantity,
        kind: OrderKind::Limit { price },
    })
}

/// Ends the current block (checking the incremental digest) and starts the next.
fn block(exchange: &mut Exchange, height: u64, at_ms: u64) {
    if height > 1 {
        assert_eq!(exchange.end_block(), exchange.recompute_digest());
    }
    exchange.begin_block(height, T0 + at_ms);
}

fn headlines(exchange: &Exchange) -> Vec<String> {
    let mut items = exchange.news();
    items.reverse();
    items.into_iter().map(|n| n.headline).collect()
}

#[test]
fn every_step_lands_in_the_first_block_whose_time_reaches_it_with_its_effect() {
    let (game, mut exchange) = game_with(ScenarioStart::FirstBlock);
    let acme = acme(&game);
    let ada = &game.traders[0];
    let worth_at_start = 100_000_000 + 1_000 * (1_000 + 1_500 + 2_000);
    assert_eq!(exchange.session(), Session::Closed);
    assert_eq!(
        exchange.next_scheduled_ms(),
        Some(0),
        "the first block is due at once"
    );

    // Block 1 starts the game: round 1 opens.
    block(&mut exchange, 1, 0);
    assert_eq!(exchange.session(), Session::Open);
    assert_eq!(headlines(&exchange), ["Round 1 opens: trading for 1m"]);
    assert_eq!(exchange.next_scheduled_ms(), Some(T0 + 5_000));
    let view = exchange.scenario().unwrap();
    assert_eq!(view.started_height, Some(1));
    assert_eq!(view.phase, RoundPhase::Open(0));

    // Block 2 at 4.9 s: too early for the news.
    block(&mut exchange, 2, 4_900);
    assert_eq!(headlines(&exchange).len(), 1);
    // Block 3 at 21 s takes both the news (5 s) and the value (20 s), in order.
    block(&mut exchange, 3, 21_000);
    let news = exchange.news();
    assert_eq!(news[0].headline, "Acme wins a contract");
    assert_eq!(news[0].height, 3);
    assert_eq!(news[0].text, "Acme wins a contract: the story");
    assert_eq!(exchange.symbol(acme).unwrap().value, Some(1_400));
    assert_eq!(exchange.scenario().unwrap().events_done, 2);

    // Ada sells 400 ACME to Bob at $12.00; Bob now has 1,400, Ada 600.
    let bob = &game.traders[1];
    assert!(matches!(
        send(
            &mut exchange,
            ada,
            buy_or_sell(&game, Side::Sell, 400, 1_200)
        ),
        Outcome::Accepted(_)
    ));
    assert!(matches!(
        send(
            &mut exchange,
            bob,
            buy_or_sell(&game, Side::Buy, 400, 1_200)
        ),
        Outcome::Accepted(_)
    ));
    // A resting buy, to see the round's close cancel it.
    assert!(matches!(
        send(&mut exchange, ada, buy_or_sell(&game, Side::Buy, 10, 900)),
        Outcome::Accepted(_)
    ));

    // Block 4 at 30 s: the dividend, 50 cents a share to holders.
    let cash_before = |e: &Exchange, k: &Keypair| e.account(&k.public()).unwrap().cash;
    let (ada_cash, bob_cash) = (cash_before(&exchange, ada), cash_before(&exchange, bob));
    block(&mut exchange, 4, 30_000);
    assert_eq!(cash_before(&exchange, ada), ada_cash + 600 * 50);
    assert_eq!(cash_before(&exchange, bob), bob_cash + 1_400 * 50);
    assert_eq!(
        exchange.news()[0].headline,
        "ACME pays a dividend of $0.50 a share"
    );

    // Block 5 at 41 s: ACME halted; orders in it are refused.
    block(&mut exchange, 5, 41_000);
    assert_eq!(
        send(&mut exchange, bob, buy_or_sell(&game, Side::Buy, 1, 1_000)),
        Outcome::Rejected(Rejection::SymbolHalted(acme))
    );
    // Block 6 at 50 s: resumed (45 s), and the new order-size limit (50 s).
    block(&mut exchange, 6, 50_000);
    assert_eq!(exchange.rules().max_order_shares, 100);
    assert_eq!(exchange.rule_changes().last().unwrap().height, 6);
    assert_eq!(
        send(
            &mut exchange,
            bob,
            buy_or_sell(&game, Side::Buy, 101, 1_000)
        ),
        Outcome::Rejected(Rejection::OrderTooLarge {
            quantity: 101,
            max: 100
        })
    );
    assert_eq!(
        headlines(&exchange)[3..],
        [
            "Trading in ACME is halted",
            "Trading in ACME resumes",
            "New rules are in force"
        ]
    );

    // Block 7 at 60 s: round 1 closes. Resting orders are cancelled, the market closes,
    // and each return is recorded at the settlement price: ACME at its value, $14.00.
    block(&mut exchange, 7, 60_000);
    assert_eq!(exchange.session(), Session::Closed);
    assert!(
        exchange
            .account(&ada.public())
            .unwrap()
            .open_orders
            .is_empty()
    );
    assert_eq!(exchange.scenario().unwrap().phase, RoundPhase::Closed(0));
    let ada_account = &exchange.accounts[exchange.account_index[&ada.public()] as usize];
    let ada_worth =
        100_000_000 + 400 * 1_200 + 600 * 50 + 600 * 1_400 + 1_000 * 1_500 + 1_000 * 2_000;
    assert_eq!(
        ada_account.round_returns,
        [(0, return_bps(worth_at_start, ada_worth))]
    );
    assert_eq!(ada_account.dividends, 600 * 50);
    assert_eq!(
        send(&mut exchange, bob, buy_or_sell(&game, Side::Buy, 1, 1_000)),
        Outcome::Rejected(Rejection::MarketClosed)
    );

    // Block 8 at 80 s: round 2 opened at 70 s, then its news at 75 s.
    block(&mut exchange, 8, 80_000);
    assert_eq!(exchange.session(), Session::Open);
    assert_eq!(
        headlines(&exchange)[6..],
        [
            "Round 1 closes: results recorded; Round 2 opens in 10s",
            "Round 2 opens: trading for 1m",
            "Round 2 news"
        ]
    );
    // Block 9 at 130 s: round 2 closes and the game ends.
    block(&mut exchange, 9, 130_000);
    assert!(exchange.is_game_over());
    assert_eq!(exchange.next_scheduled_ms(), None);
    assert_eq!(
        exchange.news()[0].headline,
        "Round 2 closes: results recorded; the game is over"
    );
    let returns = &exchange.accounts[exchange.account_index[&ada.public()] as usize].round_returns;
    assert_eq!(returns.len(), 2);
    assert_eq!(returns[1], (1, 0), "nothing moved in round 2");
    exchange.end_block();
}

#[test]
fn a_scenario_that_waits_for_the_admin_starts_at_its_block_and_only_once() {
    let (game, mut exchange) = game_with(ScenarioStart::ByAdmin);
    assert_eq!(exchange.next_scheduled_ms(), None);
    block(&mut exchange, 1, 0);
    block(&mut exchange, 2, 500_000);
    assert_eq!(
        exchange.session(),
        Session::Closed,
        "nothing happens before the start"
    );
    assert!(exchange.news().is_empty());
    let start = TxBody::Admin(AdminAction::StartScenario);
    assert_eq!(
        send(&mut exchange, &game.traders[0], start.clone()),
        Outcome::Rejected(Rejection::NotAdmin)
    );
    assert!(matches!(
        send(&mut exchange, &game.admin, start.clone()),
        Outcome::Accepted(_)
    ));
    // Game time counts from this block: round 1 is open at once.
    assert_eq!(exchange.session(), Session::Open);
    assert_eq!(exchange.scenario().unwrap().started_ms, Some(T0 + 500_000));
    assert_eq!(exchange.next_scheduled_ms(), Some(T0 + 505_000));
    assert!(matches!(
        send(&mut exchange, &game.admin, start),
        Outcome::Rejected(Rejection::AlreadyInState { .. })
    ));
    block(&mut exchange, 3, 505_000);
    assert_eq!(exchange.news()[0].headline, "Acme wins a contract");
    exchange.end_block();
}

#[test]
fn a_game_without_a_scenario_cannot_start_one_and_schedules_nothing() {
    let game = sample_game(&SampleOptions::default());
    let mut exchange = Exchange::from_genesis(&game.genesis).unwrap();
    assert_eq!(exchange.next_scheduled_ms(), None);
    assert!(exchange.scenario().is_none());
    block(&mut exchange, 1, 0);
    assert!(matches!(
        send(
            &mut exchange,
            &game.admin,
            TxBody::Admin(AdminAction::StartScenario)
        ),
        Outcome::Rejected(Rejection::InvalidSpec(_))
    ));
}

#[test]
fn a_snapshot_mid_scenario_goes_on_exactly_as_the_original() {
    let (game, mut original) = game_with(ScenarioStart::FirstBlock);
    block(&mut original, 1, 0);
    block(&mut original, 2, 21_000);
    send(
        &mut original,
        &game.traders[0],
        buy_or_sell(&game, Side::Sell, 10, 1_000),
    );
    send(
        &mut original,
        &game.traders[1],
        buy_or_sell(&game, Side::Buy, 10, 1_000),
    );
    original.end_block();
    let mut restored = Exchange::restore(&original.snapshot()).unwrap();
    assert_eq!(restored.digest(), original.digest());
    assert_eq!(restored.scenario(), original.scenario());
    for (height, at) in [(3, 30_000), (4, 61_000), (5, 75_000), (6, 200_000)] {
        for exchange in [&mut original, &mut restored] {
            exchange.begin_block(height, T0 + at);
            assert_eq!(exchange.end_block(), exchange.recompute_digest());
        }
        assert_eq!(restored.digest(), original.digest(), "block {height}");
        assert_eq!(restored.news(), original.news());
    }
    assert!(restored.is_game_over());
}

#[test]
fn a_short_position_pays_the_dividend_from_the_cash_it_has_free() {
    let (game, mut exchange) = game_with_rules(
        ScenarioStart::FirstBlock,
        crate::core::genesis::Rules {
            short_selling: true,
            max_short_shares: 1_000,
            ..Default::default()
        },
    );
    block(&mut exchange, 1, 0);
    let ada = &game.traders[0];
    let index = exchange.account_index[&ada.public()] as usize;
    // Make Ada short 200 ACME with only $30.00 of free cash.
    exchange.accounts[index].position_mut(0).shares = -200;
    exchange.accounts[index].cash = 3_000;
    exchange.touch_account(index as u32);
    exchange.issued = exchange.issued_from_state();
    block(&mut exchange, 2, 30_000);
    let account = &exchange.accounts[index];
    assert_eq!(account.cash, 0, "owed $100.00, paid the $30.00 it had");
    assert_eq!(account.dividends, -3_000);
    exchange.end_block();
}

#[test]
fn returns_are_in_basis_points_and_mean_nothing_from_nothing() {
    assert_eq!(return_bps(10_000, 11_000), 1_000);
    assert_eq!(return_bps(10_000, 9_000), -1_000);
    assert_eq!(return_bps(0, 9_000), 0);
    assert_eq!(return_bps(3, 4), 3_333);
}
