//! `update` with rule histories from the node: the first load announces nothing, a
//! longer history announces the rules that came into force, the same one again nothing;
//! the last rules are the ones the ticket checks against.

use super::update;
use crate::action::Action;
use crate::state::sample_rules::{genesis_only, two_changes};
use crate::state::{NoticeKind, State, sample};

/// The sample state before the node has said anything about the rules.
fn fresh() -> State {
    let mut s = sample::state();
    s.rule_history = Default::default();
    s.message = None;
    s
}

#[test]
fn the_first_load_announces_nothing() {
    let mut s = fresh();
    update(&mut s, Action::Rules(two_changes()));
    assert_eq!(s.message, None);
    assert_eq!(s.rule_history.changes, two_changes());
    assert_eq!(
        s.rules,
        two_changes()[2].rules,
        "the last rules are in force"
    );
}

#[test]
fn a_longer_history_announces_the_new_rules() {
    let mut s = fresh();
    update(&mut s, Action::Rules(genesis_only()));
    let mut history = two_changes();
    history.truncate(2);
    update(&mut s, Action::Rules(history.clone()));
    let message = s.message.clone().expect("a notice");
    assert_eq!(message.kind, NoticeKind::Info);
    assert_eq!(
        message.text,
        format!(
            "New rules from block 30: {}",
            qraft_client::describe::rules_text(&history[1].rules)
        )
    );
    assert!(
        message
            .text
            .contains("positions up to 2000 shares, 30 orders a minute"),
        "{}",
        message.text
    );
    assert_eq!(s.rules.max_position_shares, 2_000);
}

#[test]
fn the_same_history_again_announces_nothing() {
    let mut s = fresh();
    update(&mut s, Action::Rules(genesis_only()));
    update(&mut s, Action::Rules(two_changes()));
    assert!(
        s.message
            .take()
            .is_some_and(|m| m.text.contains("block 48"))
    );
    update(&mut s, Action::Rules(two_changes()));
    assert_eq!(s.message, None);
    assert_eq!(s.rule_history.since(), 48);
}
