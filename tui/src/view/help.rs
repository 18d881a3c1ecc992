//! The help overlay: the keys (the Class panel's too, with a class), the ticket's keys
//! and the `:` commands, in a box over the screen (two columns when there is room).

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::{popup, rows, theme};
use crate::state::State;

/// Everywhere.
const KEYS: [(&str, &str); 16] = [
    ("q", "quit"),
    ("Tab S-Tab", "next / previous panel"),
    ("1 2 3 4", "show a page"),
    ("↑↓←→ hjkl", "move"),
    ("PgUp PgDn", "scroll a page"),
    ("Home End", "top / bottom"),
    ("Enter", "on a symbol: order ticket"),
    ("", "on a book level: trade it"),
    ("", "on a teacher action: run"),
    ("b  s", "buy / sell the symbol"),
    ("x", "cancel the selected order"),
    ("X", "cancel all my orders"),
    ("P", "projector page (class view)"),
    (":", "command line"),
    ("?", "this help"),
    ("Esc", "close / back"),
];

/// In the order ticket.
const TICKET: [(&str, &str); 5] = [
    ("Tab ↑↓", "next / previous field"),
    ("type", "edit the field"),
    ("Space ←→", "toggle side and IOC"),
    ("Enter", "send the order"),
    ("Esc", "close the ticket"),
];

/// The command line (see `crate::cmdline`).
const COMMANDS: [(&str, &str); 7] = [
    ("buy ACME 10 @ 12.50", "limit order"),
    ("buy … @ 12.50 ioc", "IOC order"),
    ("sell ACME 5", "market order"),
    ("buy 10 @ 12.50", "selected sym"),
    ("cancel 42 | all", "cancel"),
    ("symbol ACME", "select"),
    ("help | quit", ""),
];

/// Teacher only.
const TEACHER: [(&str, &str); 5] = [
    ("open|halt|resume|close", "[SYM]"),
    ("news TEXT", "publish"),
    ("add-participant", "NAME qk1… CASH"),
    ("suspend|reinstate", "qk1…"),
    ("end-game", "freeze scores"),
];

/// The Class panel (the teacher's, under `qraft class`).
const CLASS: [(&str, &str); 4] = [
    ("5", "show the class"),
    ("a  r  A", "approve / refuse / all"),
    ("v", "make its machine a voter"),
    ("c  o", "close / reopen joining"),
];

fn section(title: &str) -> Line<'static> {
    Line::styled(format!(" {title}"), theme::title(true))
}

fn entries(list: &[(&'static str, &'static str)], key_width: usize) -> Vec<Line<'static>> {
    list.iter()
        .map(|(key, what)| {
            Line::from(vec![
                Span::styled(format!(" {key:<key_width$} "), theme::key()),
                Span::styled(*what, theme::plain()),
            ])
        })
        .collect()
}

fn left(state: &State) -> Vec<Line<'static>> {
    let mut lines = vec![section("Keys")];
    lines.extend(entries(&KEYS, 9));
    if state.class.is_some() {
        lines.push(section("Class"));
        lines.extend(entries(&CLASS, 9));
    }
    lines
}

fn right(state: &State) -> Vec<Line<'static>> {
    let mut lines = vec![section("Order ticket")];
    lines.extend(entries(&TICKET, 9));
    lines.push(Line::raw(""));
    lines.push(section("Commands (after :)"));
    lines.extend(entries(&COMMANDS, 20));
    if state.is_admin() {
        lines.push(section("Teacher"));
        lines.extend(entries(&TEACHER, 20));
    }
    lines
}

/// The help box.
pub struct Help<'a>(pub &'a State);

impl Widget for Help<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let (left, right) = (left(self.0), right(self.0));
        let two = area.width >= 76;
        let height = if two {
            left.len().max(right.len())
        } else {
            left.len() + 1 + right.len()
        };
        let width = if two { 76 } else { 46 };
        let height = u16::try_from(height).unwrap_or(u16::MAX).saturating_add(2);
        let inner = popup::draw(
            popup::centered(area, width, height),
            buf,
            "Help · Esc closes",
        );
        if two {
            let [a, b] =
                Layout::horizontal([Constraint::Length(38), Constraint::Fill(1)]).areas(inner);
            rows::draw(a, buf, None, &left, 0);
            rows::draw(b, buf, None, &right, 0);
        } else {
            let mut all = left;
            all.push(Line::raw(""));
            all.extend(right);
            rows::draw(inner, buf, None, &all, 0);
        }
    }
}
