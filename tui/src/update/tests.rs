//! `update` on the sample state: keys, the ticket, the command line, answers from the
//! node.

use qraft_node::core::exchange::receipt::{Effect, Fill, OrderResult, Outcome, Receipt};
use qraft_node::core::exchange::views::DepthView;
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, Scope, TxBody};
use qraft_node::core::types::{Role, Side, Ticker};

use super::{MESSAGE_MS, update};
use crate::action::Action;
use crate::command::Command;
use crate::state::{AdminItem, Field, Mode, NoticeKind, Panel, Reach, State, sample};

fn t(s: &str) -> Ticker {
    Ticker::new(s).unwrap()
}

fn run(state: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Command> {
    actions.into_iter().flat_map(|a| update(state, a)).collect()
}

fn typed(text: &str) -> Vec<Action> {
    text.chars().map(Action::Char).collect()
}

fn message(state: &State) -> (NoticeKind, String) {
    let m = state.message.clone().expect("a message");
    (m.kind, m.text)
}

fn accepted(order: u64, fills: &[(u64, u64)], resting: u64) -> Receipt {
    Receipt {
        outcome: Outcome::Accepted(Effect::Order(OrderResult {
            order,
            fills: fills
                .iter()
                .map(|&(price, quantity)| Fill {
                    price,
                    quantity,
                    resting_order: 1,
                    commission: 0,
                })
                .collect(),
            resting,
            cancelled: 0,
            cancel_reason: None,
        })),
        tx: qraft_node::core::hash::Hash32([7; 32]),
    }
}

#[test]
fn tab_cycles_the_panels_and_skips_the_teacher_panel_for_a_trader() {
    let mut s = sample::state();
    let panels = s.panels();
    assert!(!panels.contains(&Panel::Admin));
    for expected in panels.iter().skip(1).chain(panels.first()) {
        run(&mut s, [Action::FocusNext]);
        assert_eq!(s.focus, *expected);
    }
    run(&mut s, [Action::FocusPrev]);
    assert_eq!(s.focus, *panels.last().unwrap());
    run(&mut s, [Action::Page(3)]);
    assert_eq!(s.focus, Panel::Portfolio);
    run(&mut s, [Action::Focus(Panel::Admin)]);
    assert_eq!(s.focus, Panel::Portfolio, "a trader has no teacher panel");
}

#[test]
fn moving_in_the_market_watch_selects_a_symbol_and_follows_it() {
    let mut s = sample::state();
    assert_eq!(run(&mut s, [Action::Up]), []);
    assert_eq!(run(&mut s, [Action::Down]), [Command::Watch(t("BOLT"))]);
    assert_eq!(s.market.selected_ticker(), Some(t("BOLT")));
    assert_eq!(run(&mut s, [Action::End]), [Command::Watch(t("DYNA"))]);
    assert_eq!(run(&mut s, [Action::Down]), []);
    // Left and right change the symbol from any panel.
    run(&mut s, [Action::Focus(Panel::Tape)]);
    assert_eq!(run(&mut s, [Action::Left]), [Command::Watch(t("CHIP"))]);
}

#[test]
fn a_ticket_order_is_checked_sent_and_answered() {
    let mut s = sample::state();
    run(&mut s, [Action::OpenTicket(Some(Side::Buy))]);
    assert_eq!(
        (s.mode, s.focus, s.ticket.field),
        (Mode::Ticket, Panel::Ticket, Field::Quantity)
    );
    assert_eq!(s.ticket.symbol, "ACME");
    // Letters do not go into the quantity; the price takes dollars.
    run(&mut s, typed("1x0"));
    run(&mut s, [Action::NextField]);
    run(&mut s, typed("12.50"));
    assert_eq!(
        (s.ticket.quantity.as_str(), s.ticket.price.as_str()),
        ("10", "12.50")
    );
    let commands = run(&mut s, [Action::Submit]);
    let order = NewOrder {
        symbol: t("ACME"),
        side: Side::Buy,
        quantity: 10,
        kind: OrderKind::Limit { price: 1250 },
    };
    assert_eq!(
        commands,
        [Command::Submit {
            request: 1,
            body: TxBody::Order(order)
        }]
    );
    assert_eq!(s.ticket.pending, Some(1));
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "Sending: buy 10 ACME @ $12.50…".into())
    );
    // A second Enter while the first is on its way sends nothing.
    assert_eq!(run(&mut s, [Action::Char('5'), Action::Submit]), []);

    run(
        &mut s,
        [Action::Committed {
            request: 1,
            height: 52,
            receipt: accepted(43, &[(1250, 4)], 6),
            latency_ms: 120,
        }],
    );
    assert_eq!(s.ticket.pending, None);
    let (kind, text) = message(&s);
    assert_eq!(kind, NoticeKind::Success);
    assert!(
        text.starts_with("Bought 4 ACME at $12.50; order #43 rests"),
        "{text}"
    );
    assert_eq!(s.ticket.result.as_ref().map(|r| r.text.clone()), Some(text));
    assert!(s.pending.is_empty());
    assert_eq!(s.chain.my_latency[&52], [96, 120]);
    assert_eq!(
        s.chain.blocks.iter().find(|b| b.height == 52).unwrap().mine,
        1,
        "a block's line counts my transactions by signer, once"
    );
}

#[test]
fn a_bad_ticket_says_why_and_sends_nothing() {
    let mut s = sample::state();
    run(&mut s, [Action::Down, Action::OpenTicket(Some(Side::Sell))]);
    assert_eq!(s.ticket.symbol, "BOLT");
    run(&mut s, typed("5"));
    run(&mut s, [Action::NextField]);
    run(&mut s, typed("15.02"));
    assert_eq!(run(&mut s, [Action::Submit]), []);
    let (kind, text) = message(&s);
    assert_eq!(kind, NoticeKind::Error);
    assert!(
        text.contains("not a whole number of BOLT's ticks"),
        "{text}"
    );
    assert_eq!(s.ticket.result.as_ref().unwrap().kind, NoticeKind::Error);
}

#[test]
fn the_ticket_toggles_side_and_ioc_and_esc_keeps_what_was_typed() {
    let mut s = sample::state();
    run(
        &mut s,
        [
            Action::OpenTicket(Some(Side::Buy)),
            Action::PrevField,
            Action::PrevField,
        ],
    );
    assert_eq!(s.ticket.field, Field::Side);
    run(&mut s, [Action::Char(' ')]);
    assert_eq!(s.ticket.side, Side::Sell);
    run(&mut s, [Action::Char('b')]);
    assert_eq!(s.ticket.side, Side::Buy);
    run(&mut s, [Action::PrevField, Action::Right]);
    assert_eq!((s.ticket.field, s.ticket.ioc), (Field::Ioc, true));
    run(&mut s, [Action::NextField, Action::NextField]);
    run(&mut s, std::iter::repeat_n(Action::Backspace, 5));
    run(&mut s, typed("chip"));
    assert_eq!(s.ticket.symbol, "CHIP");
    run(&mut s, [Action::Back]);
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(s.ticket.symbol, "CHIP");
}

#[test]
fn enter_on_a_book_level_takes_it() {
    let mut s = sample::state();
    run(
        &mut s,
        [
            Action::Focus(Panel::Book),
            Action::Home,
            Action::Down,
            Action::Down,
        ],
    );
    // Ladder rows: asks high to low (1260, 1255, 1252, 1251), then bids.
    run(&mut s, [Action::Select]);
    assert_eq!(
        (s.mode, s.ticket.side, s.ticket.price.as_str()),
        (Mode::Ticket, Side::Buy, "12.52")
    );
    run(
        &mut s,
        [
            Action::Back,
            Action::Focus(Panel::Book),
            Action::End,
            Action::Select,
        ],
    );
    assert_eq!(
        (s.ticket.side, s.ticket.price.as_str()),
        (Side::Sell, "12.40")
    );
}

#[test]
fn the_command_line_places_orders_on_the_selected_symbol() {
    let mut s = sample::state();
    run(&mut s, [Action::OpenCommandLine]);
    assert_eq!(s.mode, Mode::Command);
    run(&mut s, typed("sell 5 @ 12.60 ioc"));
    let commands = run(&mut s, [Action::Submit]);
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(
        commands,
        [Command::Submit {
            request: 1,
            body: TxBody::Order(NewOrder {
                symbol: t("ACME"),
                side: Side::Sell,
                quantity: 5,
                kind: OrderKind::ImmediateOrCancel { price: 1260 },
            })
        }]
    );
    // History: up brings it back.
    run(&mut s, [Action::OpenCommandLine, Action::Up]);
    assert_eq!(s.prompt.text, "sell 5 @ 12.60 ioc");
    run(&mut s, [Action::Back]);
    // A typo is an error on the status line, not a transaction.
    run(&mut s, [Action::OpenCommandLine]);
    run(&mut s, typed("buy ACME ten"));
    assert_eq!(run(&mut s, [Action::Submit]), []);
    assert_eq!(message(&s).0, NoticeKind::Error);
    // Selecting a symbol from the command line follows it.
    run(&mut s, [Action::OpenCommandLine]);
    run(&mut s, typed("symbol chip"));
    assert_eq!(run(&mut s, [Action::Submit]), [Command::Watch(t("CHIP"))]);
}

#[test]
fn teacher_commands_need_the_admin_key() {
    let mut s = sample::state();
    run(&mut s, [Action::OpenCommandLine]);
    run(&mut s, typed("halt"));
    assert_eq!(run(&mut s, [Action::Submit]), []);
    assert_eq!(
        message(&s),
        (
            NoticeKind::Error,
            "Only the game's admin (the teacher) can do that.".into()
        )
    );

    s.me.role = Role::Admin;
    s.account.view.as_mut().unwrap().role = Role::Admin;
    assert!(s.panels().contains(&Panel::Admin));
    run(&mut s, [Action::Focus(Panel::Admin), Action::Down]);
    assert_eq!(AdminItem::ALL[s.admin_cursor], AdminItem::HaltMarket);
    assert_eq!(
        run(&mut s, [Action::Select]),
        [Command::Submit {
            request: 1,
            body: TxBody::Admin(AdminAction::Halt(Scope::All))
        }]
    );
    // News needs its text: Enter opens the command line with the verb typed.
    run(
        &mut s,
        [Action::End, Action::Up, Action::Up, Action::Select],
    );
    assert_eq!((s.mode, s.prompt.text.as_str()), (Mode::Command, "news "));
    run(&mut s, typed("Rates cut"));
    assert_eq!(
        run(&mut s, [Action::Submit]),
        [Command::Submit {
            request: 2,
            body: TxBody::Admin(AdminAction::News {
                headline: "Rates cut".into()
            })
        }]
    );
    // Ending the game asks first; no sends nothing.
    run(&mut s, [Action::End]);
    assert_eq!(run(&mut s, [Action::Select]), []);
    assert_eq!(s.mode, Mode::Confirm);
    assert_eq!(run(&mut s, [Action::Confirm(false)]), []);
    assert_eq!(s.mode, Mode::Normal);
    run(&mut s, [Action::Select]);
    assert_eq!(
        run(&mut s, [Action::Confirm(true)]),
        [Command::Submit {
            request: 3,
            body: TxBody::Admin(AdminAction::EndGame)
        }]
    );
    // Suspending a participant asks first; reinstating does not.
    let key = qraft_keys::Keypair::from_label("update-test/student").public();
    run(&mut s, [Action::OpenCommandLine]);
    run(&mut s, typed(&format!("suspend {key}")));
    assert_eq!(run(&mut s, [Action::Submit]), []);
    assert_eq!(s.mode, Mode::Confirm);
    assert_eq!(
        run(&mut s, [Action::Confirm(true)]),
        [Command::Submit {
            request: 4,
            body: TxBody::Admin(AdminAction::SuspendParticipant { key })
        }]
    );
    run(&mut s, [Action::OpenCommandLine]);
    run(&mut s, typed(&format!("reinstate {key}")));
    assert_eq!(
        run(&mut s, [Action::Submit]),
        [Command::Submit {
            request: 5,
            body: TxBody::Admin(AdminAction::ReinstateParticipant { key })
        }]
    );
}

#[test]
fn cancels_one_order_at_once_and_all_after_a_yes() {
    let mut s = sample::state();
    run(&mut s, [Action::Focus(Panel::Orders), Action::Down]);
    assert_eq!(
        run(&mut s, [Action::CancelSelected]),
        [Command::Submit {
            request: 1,
            body: TxBody::Cancel { order: 42 }
        }]
    );
    assert_eq!(run(&mut s, [Action::CancelAll]), []);
    assert_eq!(
        s.confirm.as_ref().unwrap().question,
        "Cancel all 2 open orders?"
    );
    assert_eq!(
        run(&mut s, [Action::Confirm(true)]),
        [Command::Submit {
            request: 2,
            body: TxBody::CancelAll { symbol: None }
        }]
    );
}

#[test]
fn refusals_show_on_the_status_line_and_in_the_ticket() {
    let mut s = sample::state();
    run(&mut s, [Action::OpenTicket(Some(Side::Buy))]);
    run(&mut s, typed("1"));
    run(&mut s, [Action::Submit]);
    run(
        &mut s,
        [Action::SubmitFailed {
            request: 1,
            reason: "the node is busy".into(),
        }],
    );
    let (kind, text) = message(&s);
    assert_eq!(kind, NoticeKind::Error);
    assert_eq!(text, "Not applied: buy 1 ACME at market: the node is busy");
    assert_eq!(s.ticket.pending, None);
    assert_eq!(s.ticket.result.as_ref().unwrap().text, text);
}

#[test]
fn an_unanswered_order_is_looked_for_then_answered_or_left_unknown() {
    let mut s = sample::state();
    run(&mut s, [Action::OpenTicket(Some(Side::Buy))]);
    run(&mut s, typed("1"));
    run(&mut s, [Action::Submit]);
    run(&mut s, [Action::LookingForReceipt { request: 1 }]);
    let (kind, text) = message(&s);
    assert_eq!(kind, NoticeKind::Warning);
    assert_eq!(
        text,
        "buy 1 ACME at market: no answer yet; looking for its receipt…"
    );
    assert_eq!(s.ticket.pending, Some(1), "still waiting");
    run(
        &mut s,
        [Action::OutcomeUnknown {
            request: 1,
            tx: "abcd1234".into(),
        }],
    );
    let (kind, text) = message(&s);
    assert_eq!(kind, NoticeKind::Error);
    assert_eq!(
        text,
        "Outcome unknown: buy 1 ACME at market: no answer and no receipt yet (transaction \
         abcd1234); look at your orders before placing it again"
    );
    assert_eq!(s.ticket.pending, None);
    assert_eq!(s.ticket.result.as_ref().unwrap().text, text);
}

#[test]
fn messages_expire_but_errors_stay() {
    let mut s = sample::state();
    let now = s.now_ms;
    s.say(NoticeKind::Success, "done");
    run(&mut s, [Action::Tick(now + MESSAGE_MS + 1)]);
    assert_eq!(s.message, None);
    s.say(NoticeKind::Error, "rejected");
    run(&mut s, [Action::Tick(now + 10 * MESSAGE_MS)]);
    assert_eq!(message(&s).1, "rejected");
}

#[test]
fn nodes_going_down_and_coming_back_are_said() {
    let mut s = sample::state();
    let now = s.now_ms;
    run(
        &mut s,
        [Action::NodeStatus {
            id: 2,
            result: Err("no answer within 2s".into()),
            at_ms: now,
        }],
    );
    assert_eq!(
        s.cluster.row(2).unwrap().reach,
        Reach::Down("no answer within 2s".into())
    );
    assert_eq!(message(&s).0, NoticeKind::Warning);
    let status = s.cluster.row(1).unwrap().status.clone().unwrap();
    run(
        &mut s,
        [Action::NodeStatus {
            id: 2,
            result: Ok(status),
            at_ms: now,
        }],
    );
    assert_eq!(s.cluster.row(2).unwrap().reach, Reach::Up);
    assert_eq!(message(&s).0, NoticeKind::Success);
    run(&mut s, [Action::NodeStopped]);
    assert!(s.cluster.stopped);
}

#[test]
fn new_market_data_keeps_the_selection_by_symbol() {
    let mut s = sample::state();
    run(&mut s, [Action::Down]);
    let mut symbols = s.market.symbols.clone();
    symbols.reverse();
    let session = s.market.session;
    let commands = run(
        &mut s,
        [Action::Market {
            symbols,
            session,
            game_over: false,
        }],
    );
    assert_eq!(commands, []);
    assert_eq!(s.market.selected_ticker(), Some(t("BOLT")));
    // A depth answer keeps the book cursor on a row that exists.
    s.market.book_cursor = 7;
    run(
        &mut s,
        [Action::Depth(DepthView {
            symbol: t("BOLT"),
            bids: vec![],
            asks: vec![],
        })],
    );
    assert_eq!(s.market.book_cursor, 0);
}

#[test]
fn the_projector_page_comes_and_goes() {
    let mut s = sample::state();
    run(&mut s, [Action::ToggleProjector]);
    assert!(s.projector);
    run(&mut s, [Action::ToggleProjector]);
    assert!(!s.projector);
    // Esc leaves it and does nothing else; a page key leaves it for that page.
    run(&mut s, [Action::ToggleProjector, Action::Back]);
    assert!(!s.projector);
    run(&mut s, [Action::ToggleProjector, Action::Page(3)]);
    assert!(!s.projector);
    assert_eq!(s.focus, Panel::Portfolio);
    // The scenario and every symbol's candles come from the feed.
    let view = crate::state::sample_scenario::scenario(
        qraft_node::core::exchange::schedule::RoundPhase::Open(0),
    );
    run(
        &mut s,
        [
            Action::Scenario(Some(Box::new(view.clone()))),
            Action::AllCandles(vec![(t("BOLT"), vec![])]),
        ],
    );
    assert_eq!(s.scenario, Some(view));
    assert!(s.market.all_candles.contains_key(&t("BOLT")));
}
