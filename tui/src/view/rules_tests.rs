//! Whole-screen tests of the Rules box on the Market page: snapshots with the genesis's
//! rules alone and after two changes, at 80x24 and 160x48; a short screen keeps the
//! trades and cuts the box; no rules box on the other pages.

use super::class_tests::screen;
use super::layout;
use crate::state::sample_rules::{genesis_only, two_changes, with_history};
use crate::state::{Panel, State, sample};

fn market(history: Vec<qraft_node::core::exchange::rules::RuleChange>) -> State {
    let mut s = with_history(sample::state(), history);
    s.focus = Panel::Chart;
    s
}

#[test]
fn the_genesis_rules_at_80x24() {
    let text = screen(&market(genesis_only()), 80, 24);
    for part in [
        "Rules",
        "Orders      up to 10,000 shares",
        "Positions   no limit",
        "Rate        no limit",
        "Short sales not allowed",
        "Price band  10.00%",
        "Since the start",
        "22:14:20 BOLT",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    assert!(!text.contains("block 30:"), "{text}");
    insta::assert_snapshot!("rules_genesis_80x24", text);
}

#[test]
fn two_changes_at_80x24() {
    let text = screen(&market(two_changes()), 80, 24);
    for part in [
        "Rules · 2 changes",
        "Positions   up to 1,500 shares",
        "Rate        30 orders a minute",
        "Short sales up to 100 shares",
        "In force since block 48",
        "block 48: positions 2,000 → 1,500",
        "short sales not allowed → 100",
        "block 30:",
        "positions no limit → 2,000",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    insta::assert_snapshot!("rules_two_changes_80x24", text);
}

#[test]
fn the_genesis_rules_at_160x48() {
    let text = screen(&market(genesis_only()), 160, 48);
    assert!(text.contains("Since the start"), "{text}");
    assert!(text.contains("Short sales not allowed"), "{text}");
    insta::assert_snapshot!("rules_genesis_160x48", text);
}

#[test]
fn two_changes_at_160x48() {
    let text = screen(&market(two_changes()), 160, 48);
    for part in [
        "In force since block 48",
        "block 48: positions 2,000 → 1,500",
        "block 30:",
        "positions no limit → 2,000",
        "rate no limit → 30/min",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    insta::assert_snapshot!("rules_two_changes_160x48", text);
}

#[test]
fn a_short_screen_keeps_the_trades_and_cuts_the_box() {
    let state = market(two_changes());
    let area = ratatui::layout::Rect::new(0, 0, 80, 16);
    let screen = layout::screen(&state, area);
    let tape = screen.area_of(Panel::Tape).expect("the trades show");
    let rules = screen.rules.expect("a box still fits");
    assert!(tape.height >= 8, "{tape:?}");
    assert!(
        rules.height < super::rules::rows_wanted(&state, 38),
        "{rules:?}"
    );
    let tiny = layout::screen(&state, ratatui::layout::Rect::new(0, 0, 80, 13));
    assert_eq!(tiny.rules, None, "no room for a box under the trades");
}

#[test]
fn only_the_market_page_has_the_box() {
    for panel in [Panel::Watch, Panel::Portfolio, Panel::Blocks] {
        let mut state = market(two_changes());
        state.focus = panel;
        let text = screen(&state, 80, 24);
        assert!(!text.contains("Short sales"), "{panel:?}:\n{text}");
    }
}
