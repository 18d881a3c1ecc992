//! The Rules box, under the trades on the Market page: the rules in force, one short
//! line each, since when, and the latest changes. The rules can change during a game,
//! and an order the ticket refuses should never come as a surprise.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::genesis::Rules;

use super::{frame, rows, theme};
use crate::format;
use crate::rule_diff;
use crate::state::State;

/// How many of the latest changes the box lists.
pub const CHANGES_SHOWN: usize = 3;
/// The most lines the changes take (a change of several rules has a line for each).
pub const CHANGE_LINES: usize = 6;
/// How far a change's further lines are indented.
const INDENT: &str = "   ";
/// The width of the rules' names, so that their values line up.
const LABEL: usize = 12;

/// The Rules box.
pub struct RulesBox<'a>(pub &'a State);

impl Widget for RulesBox<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let count = state.rule_history.changes_newest_first().count();
        let mut title = vec![Span::raw("Rules")];
        if count > 0 {
            let changes = if count == 1 { "change" } else { "changes" };
            title.push(Span::styled(
                format!(" · {count} {changes}"),
                theme::muted(),
            ));
        }
        let inner = frame::draw(area, buf, title, None, false);
        rows::draw(inner, buf, None, &lines(state, inner.width), 0);
    }
}

/// The rows the box wants `width` columns wide, borders included.
pub fn rows_wanted(state: &State, width: u16) -> u16 {
    u16::try_from(lines(state, width.saturating_sub(2)).len())
        .unwrap_or(u16::MAX)
        .saturating_add(2)
}

/// The box's lines `width` columns wide: the rules in force, since when, then the latest
/// changes (the most useful first, for a box cut short).
fn lines(state: &State, width: u16) -> Vec<Line<'static>> {
    let mut lines = in_force(&state.rules);
    let since = match state.rule_history.since() {
        0 => "Since the start".to_owned(),
        height => format!("In force since block {height}"),
    };
    lines.push(Line::from(Span::styled(
        format!(" {since}"),
        theme::muted(),
    )));
    lines.extend(changes(state, usize::from(width)));
    lines
}

/// The rules in force, one short line each.
fn in_force(rules: &Rules) -> Vec<Line<'static>> {
    let shares = |n: u64| format!("up to {} shares", format::count(i128::from(n)));
    let positions = match rules.max_position_shares {
        0 => "no limit".to_owned(),
        n => shares(n),
    };
    let rate = match rules.max_orders_per_minute {
        0 => "no limit".to_owned(),
        n => format!("{} orders a minute", format::count(i128::from(n))),
    };
    let short = if rules.short_selling {
        shares(rules.max_short_shares)
    } else {
        "not allowed".to_owned()
    };
    [
        ("Orders", shares(rules.max_order_shares)),
        ("Positions", positions),
        ("Rate", rate),
        ("Short sales", short),
        ("Price band", rule_diff::price_band(rules)),
        ("Commission", rule_diff::commission(rules)),
        ("Leaderboard", rule_diff::leaderboard(rules)),
    ]
    .into_iter()
    // The leaderboard is named only when hidden: shown is what everyone expects.
    .filter(|(name, _)| *name != "Leaderboard" || rules.leaderboard_hidden)
    .map(|(name, value)| {
        Line::from(vec![
            Span::styled(format!(" {name:<LABEL$}"), theme::muted()),
            Span::raw(value),
        ])
    })
    .collect()
}

/// The latest changes, newest first: `block 120: positions 2,000 → 1,500`, then a line
/// for each further rule changed (the first too when it would not fit `width` after the
/// block: a value cut off would mislead), at most [`CHANGE_LINES`] in all.
fn changes(state: &State, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for change in state
        .rule_history
        .changes_newest_first()
        .take(CHANGES_SHOWN)
    {
        let block = format!(" block {}:", change.height);
        let mut differences = rule_diff::differences(change.before, change.after);
        if differences.is_empty() {
            differences.push("the same rules again".to_owned());
        }
        let first_fits = block.chars().count() + 1 + differences[0].chars().count() <= width;
        let mut rest = differences.into_iter();
        let mut head = vec![Span::styled(block, theme::muted())];
        if first_fits && let Some(first) = rest.next() {
            head.push(Span::raw(format!(" {first}")));
        }
        lines.push(Line::from(head));
        lines.extend(rest.map(|difference| Line::from(format!("{INDENT}{difference}"))));
    }
    lines.truncate(CHANGE_LINES);
    lines
}
