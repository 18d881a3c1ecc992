//! The game's rules as the chain records them: every set the game has had, the
//! genesis's first, each with the block it came into force at; the last is in force.

use qraft_node::core::exchange::rules::RuleChange;
use qraft_node::core::genesis::Rules;

/// The rules history as last heard from the node (empty until then).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleHistory {
    pub changes: Vec<RuleChange>,
}

/// One change of rules: what was in force before, and what came into force at `height`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change<'a> {
    pub height: u64,
    pub before: &'a Rules,
    pub after: &'a Rules,
}

impl RuleHistory {
    /// Takes a history just loaded, and returns the rules that came into force since the
    /// last one if it has more sets than before: a change to announce. The first load
    /// announces nothing (those rules were in force before the dashboard started).
    pub fn load(&mut self, changes: Vec<RuleChange>) -> Option<&RuleChange> {
        let grew = !self.changes.is_empty() && changes.len() > self.changes.len();
        self.changes = changes;
        if grew { self.changes.last() } else { None }
    }

    /// The block the rules in force came into force at (0: the genesis's, or nothing
    /// heard yet).
    pub fn since(&self) -> u64 {
        self.changes.last().map_or(0, |c| c.height)
    }

    /// Every change after the genesis's rules, newest first.
    pub fn changes_newest_first(&self) -> impl Iterator<Item = Change<'_>> {
        self.changes.windows(2).rev().map(|pair| Change {
            height: pair[1].height,
            before: &pair[0].rules,
            after: &pair[1].rules,
        })
    }
}
