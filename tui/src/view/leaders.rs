//! The leaderboard: students, then bots, each ranked by return since the start (the
//! ledger's ranking); rank, name, net worth and P&L; my row highlighted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::types::Role;

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

const COLS: [Col; 5] = [
    Col::right("#", 2, 0),
    Col::left("Name", 8, 0).grow(),
    Col::right("Net worth", 14, 0),
    Col::right("P&L", 11, 2),
    Col::right("P&L%", 7, 1),
];

/// The leaderboard panel.
pub struct Leaders<'a>(pub &'a State);

impl Widget for Leaders<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Leaders;
        let board = &state.market.leaderboard;
        let mut title = vec![Span::raw(Panel::Leaders.title())];
        if state.market.game_over {
            title.push(Span::styled(" · final", theme::warn()));
        }
        let inner = frame::draw(area, buf, title, None, focused);
        if board.is_empty() {
            let why = if state.rules.leaderboard_hidden && !state.market.game_over {
                "hidden by the teacher until the game ends"
            } else {
                "no rankings yet"
            };
            rows::empty(inner, buf, why);
            return;
        }
        let columns = Columns::new(&COLS, inner.width);
        let mut lines: Vec<Line<'_>> = Vec::with_capacity(board.len() + 1);
        for (i, row) in board.iter().enumerate() {
            // Bots are ranked apart from students, under a line of their own.
            if row.role == Role::Bot && i > 0 && board[i - 1].role != Role::Bot {
                lines.push(Line::styled(" house bots", theme::muted()));
            }
            lines.push({
                let me = row.name == state.me.name;
                let start = Some(row.start_worth);
                let pnl = start.map(|s| i128::from(row.net_worth) - i128::from(s));
                // Bots are dimmed rather than labelled, so names keep their room.
                let bot = row.role == Role::Bot;
                let name = row.name.clone();
                let line = columns.row(
                    Span::raw(if me { "▸" } else { " " }),
                    vec![
                        Span::styled(row.rank.to_string(), theme::muted()),
                        Span::raw(name),
                        Span::raw(format::usd(i128::from(row.net_worth))),
                        Span::styled(
                            pnl.map(format::signed_usd).unwrap_or_default(),
                            theme::signed(pnl.unwrap_or(0)),
                        ),
                        Span::styled(
                            pnl.zip(start)
                                .and_then(|(p, s)| format::percent(p, i128::from(s)))
                                .unwrap_or_default(),
                            theme::signed(pnl.unwrap_or(0)),
                        ),
                    ],
                );
                if me {
                    line.style(Style::new().fg(theme::ACCENT).add_modifier(Modifier::BOLD))
                } else if bot {
                    line.style(theme::muted())
                } else {
                    line
                }
            });
        }
        let first = rows::clamp(state.scrolls.leaders, lines.len(), rows::room(inner, true));
        rows::draw(inner, buf, Some(columns.header()), &lines, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render, row_with};

    #[test]
    fn my_row_is_marked_with_my_gain() {
        let state = sample::state();
        let buf = render(Leaders(&state), 50, 8);
        let lines = buffer_lines(&buf);
        assert_eq!(
            lines[1],
            "│  # Name           Net worth         P&L    P&L%│"
        );
        let (y, me) = row_with(&lines, "t0");
        assert_eq!(me, "│▸ 2 t0            $18,195.00  +$1,195.00  +7.03%│");
        assert_eq!(buf[(5, y as u16)].fg, theme::ACCENT);
    }
}
