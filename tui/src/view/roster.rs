//! The Class panel's roster: a line of counts by state, then one row per seat (seat, name, where
//! from, state, and why for a refused or failed seat), the selected seat highlighted and
//! kept in view as the roster grows. A joined seat whose machine votes says `voter`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_client::class::{RosterEntry, SeatState};

use super::columns::{Col, Columns};
use super::{rows, theme};
use crate::state::ClassState;

const COLS: [Col; 5] = [
    Col::right("Seat", 4, 0),
    Col::left("Name", 18, 0),
    Col::left("From", 15, 2),
    Col::left("State", 9, 0),
    Col::left("Detail", 14, 1).grow(),
];

/// The counts in the summary line, in this order (only those above zero).
const COUNTED: [&str; 6] = [
    "waiting",
    "admitting",
    "joined",
    "refused",
    "failed",
    "left",
];

/// The roster, with its summary line.
pub struct Roster<'a> {
    pub class: &'a ClassState,
    /// Whether the Class panel has the focus (the selection shows).
    pub focused: bool,
}

impl Widget for Roster<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        if area.is_empty() {
            return;
        }
        let view = &self.class.view;
        summary(self.class).render(Rect { height: 1, ..area }, buf);
        let below = Rect {
            y: area.y + 1,
            height: area.height - 1,
            ..area
        };
        if view.roster.is_empty() {
            let text = if view.code.is_some() {
                vec![
                    Line::styled(
                        "   No one yet. Each student who types the code appears here,",
                        theme::muted(),
                    ),
                    Line::from(vec![
                        Span::styled("   waiting for you: ", theme::muted()),
                        Span::styled("a", theme::key()),
                        Span::styled(" approves, ", theme::muted()),
                        Span::styled("r", theme::key()),
                        Span::styled(" refuses.", theme::muted()),
                    ]),
                ]
            } else {
                vec![Line::styled("   No one joined.", theme::muted())]
            };
            rows::draw(below, buf, None, &text, 0);
            return;
        }
        let columns = Columns::new(&COLS, below.width);
        let cursor = self.class.cursor.min(view.roster.len() - 1);
        let lines: Vec<Line<'_>> = view
            .roster
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                let here = self.focused && i == cursor;
                let line = row(&columns, entry, view.is_voter(entry), here);
                if here {
                    line.style(theme::selected(true))
                } else {
                    line
                }
            })
            .collect();
        let first = rows::follow(cursor, lines.len(), rows::room(below, true));
        rows::draw(below, buf, Some(columns.header()), &lines, first);
    }
}

/// ` Roster  2 waiting · 3 joined · 1 refused`.
fn summary(class: &ClassState) -> Line<'static> {
    let view = &class.view;
    let mut spans = vec![Span::styled(" Roster", theme::title(false))];
    let counts: Vec<(usize, &str)> = COUNTED
        .iter()
        .map(|label| (view.count(label), *label))
        .filter(|(n, _)| *n > 0)
        .collect();
    for (i, (n, label)) in counts.into_iter().enumerate() {
        let sep = if i == 0 { "  " } else { " · " };
        spans.push(Span::styled(sep, theme::muted()));
        spans.push(Span::styled(format!("{n} {label}"), state_style(label)));
    }
    Line::from(spans)
}

/// One seat's row; `voter`: its machine is one of the game's voters.
fn row<'a>(columns: &Columns, entry: &'a RosterEntry, voter: bool, here: bool) -> Line<'a> {
    let label = if voter { "voter" } else { entry.state.label() };
    let detail = match &entry.state {
        SeatState::Waiting => Span::styled("asks to join", theme::muted()),
        SeatState::Admitting => Span::styled("registering on the chain…", theme::muted()),
        SeatState::Joined { node } => Span::styled(format!("node {node}"), theme::muted()),
        SeatState::Refused { reason } | SeatState::Failed { reason } => {
            Span::styled(reason.as_str(), theme::loss())
        }
        SeatState::Left => Span::styled("left before you decided", theme::muted()),
    };
    // No address: a student an earlier run of the class admitted.
    let from = entry
        .from
        .map_or_else(|| "earlier".to_string(), |ip| ip.to_string());
    columns.row(
        Span::raw(if here { "▸" } else { " " }),
        vec![
            Span::styled(entry.seat.to_string(), theme::muted()),
            Span::styled(entry.name.as_str(), theme::bold()),
            Span::styled(from, theme::muted()),
            Span::styled(label, state_style(label)),
            detail,
        ],
    )
}

/// How a seat's state looks: waiting stands out (the teacher has to act), joined is
/// green and a voter bold green, refused and failed red, left grey.
fn state_style(label: &str) -> Style {
    match label {
        "waiting" => theme::warn().add_modifier(Modifier::BOLD),
        "admitting" => Style::new().fg(theme::ACCENT),
        "joined" => theme::gain(),
        "voter" => theme::gain().add_modifier(Modifier::BOLD),
        "refused" | "failed" => theme::loss(),
        _ => theme::muted(),
    }
}
