//! The trade tape: every symbol's trades, newest first, coloured by the side that took
//! liquidity (green: a buyer lifted an ask; red: a seller hit a bid).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

const COLS: [Col; 5] = [
    Col::left("Time", 8, 2),
    Col::left("Sym", 5, 0),
    Col::right("Price", 8, 0),
    Col::right("Qty", 6, 1),
    Col::left("Side", 4, 3),
];

/// The trades panel.
pub struct Tape<'a>(pub &'a State);

impl Widget for Tape<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Tape;
        let tape = &state.market.tape;
        let title = vec![
            Span::raw(Panel::Tape.title()),
            Span::styled(format!(" · {}", tape.len()), theme::muted()),
        ];
        let inner = frame::draw(area, buf, title, None, focused);
        if tape.is_empty() {
            rows::empty(inner, buf, "no trades yet");
            return;
        }
        let columns = Columns::new(&COLS, inner.width);
        let lines: Vec<Line<'_>> = tape
            .iter()
            .map(|t| {
                let tick = state.market.tick_size(t.symbol);
                let style = theme::side(t.aggressor);
                columns.row(
                    Span::raw(" "),
                    vec![
                        Span::styled(
                            format::clock(t.timestamp_ms, state.utc_offset_ms),
                            theme::muted(),
                        ),
                        Span::styled(t.symbol.to_string(), theme::bold()),
                        Span::styled(format::price(t.price, tick), style),
                        Span::styled(format::count(i128::from(t.quantity)), style),
                        Span::styled(t.aggressor.to_string(), style),
                    ],
                )
            })
            .collect();
        let room = rows::room(inner, true);
        let first = rows::clamp(state.scrolls.tape, lines.len(), room);
        rows::draw(inner, buf, Some(columns.header()), &lines, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn newest_first_coloured_by_aggressor_and_scrolled() {
        let mut state = sample::state();
        let buf = render(Tape(&state), 38, 5);
        let lines = buffer_lines(&buf);
        assert_eq!(lines[1], "│ Time     Sym      Price    Qty Side│");
        assert_eq!(lines[2], "│ 22:14:20 BOLT     14.95     60 buy │");
        assert_eq!(lines[3], "│ 22:14:15 ACME     12.50     55 sell│");
        assert_eq!(buf[(22, 2)].fg, theme::GAIN);
        assert_eq!(buf[(22, 3)].fg, theme::LOSS);
        state.scrolls.tape = 2;
        let lines = buffer_lines(&render(Tape(&state), 38, 5));
        assert_eq!(lines[2], "│ 22:14:10 ACME     12.49     50 buy │");
        // Times follow the local offset.
        state.utc_offset_ms = 3_600_000;
        let lines = buffer_lines(&render(Tape(&state), 38, 5));
        assert!(lines[2].starts_with("│ 23:14:10"));
    }
}
