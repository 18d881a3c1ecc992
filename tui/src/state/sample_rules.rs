//! Rule histories for the tests of the Rules box and its notice: the sample game's
//! genesis rules alone, and the same game after two changes by the teacher.

use qraft_node::core::exchange::rules::RuleChange;
use qraft_node::core::genesis::Rules;

use super::{State, sample};

/// The sample genesis's rules, in force from the start.
pub fn genesis_only() -> Vec<RuleChange> {
    vec![RuleChange {
        height: 0,
        rules: sample::genesis().rules,
    }]
}

/// A position limit and an order rate from block 30; from block 48 a lower position
/// limit and short sales of up to 100 shares.
pub fn two_changes() -> Vec<RuleChange> {
    let start = sample::genesis().rules;
    let limited = Rules {
        max_position_shares: 2_000,
        max_orders_per_minute: 30,
        ..start.clone()
    };
    let shorts = Rules {
        max_position_shares: 1_500,
        short_selling: true,
        max_short_shares: 100,
        ..limited.clone()
    };
    let mut history = genesis_only();
    history.push(RuleChange {
        height: 30,
        rules: limited,
    });
    history.push(RuleChange {
        height: 48,
        rules: shorts,
    });
    history
}

/// `state` with `history` loaded, as the update would leave it.
pub fn with_history(mut state: State, history: Vec<RuleChange>) -> State {
    if let Some(last) = history.last() {
        state.rules = last.rules.clone();
    }
    state.rule_history.changes = history;
    state
}
