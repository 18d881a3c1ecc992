//! The market watch: every symbol's last price, change since the reference price, best
//! bid and ask, volume and session; the selected symbol (the one the book, chart and
//! ticket follow) marked.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::exchange::views::SymbolView;
use qraft_node::core::types::Session;

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

const COLS: [Col; 9] = [
    Col::left("Sym", 6, 0),
    Col::right("Last", 9, 0),
    Col::right("Chg", 7, 3),
    Col::right("Chg%", 7, 1),
    Col::right("Bid", 9, 2),
    Col::right("Ask", 9, 2),
    Col::right("Volume", 9, 4),
    Col::left("", 6, 1),
    Col::left("Name", 10, 6).grow(),
];

/// The market watch panel.
pub struct Watch<'a>(pub &'a State);

impl Widget for Watch<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Watch;
        let count = state.market.symbols.len();
        let title = vec![
            Span::raw(Panel::Watch.title()),
            Span::styled(format!(" · {count} symbols"), theme::muted()),
        ];
        let inner = frame::draw(area, buf, title, None, focused);
        if state.market.symbols.is_empty() {
            rows::empty(inner, buf, "no symbols yet");
            return;
        }
        let columns = Columns::new(&COLS, inner.width);
        let lines: Vec<Line<'_>> = state
            .market
            .symbols
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let chosen = i == state.market.selected;
                let marker = if chosen { "▸" } else { " " };
                let line = columns.row(Span::raw(marker), cells(s, state.market.session));
                if chosen {
                    line.style(theme::selected(focused))
                } else {
                    line
                }
            })
            .collect();
        let room = rows::room(inner, true);
        let first = rows::follow(state.market.selected, lines.len(), room);
        rows::draw(inner, buf, Some(columns.header()), &lines, first);
    }
}

/// One symbol's cells, in the order of [`COLS`].
fn cells(s: &SymbolView, exchange: Session) -> Vec<Span<'static>> {
    let tick = s.tick_size;
    let price = |p: Option<u64>| p.map_or_else(|| "—".to_string(), |p| format::price(p, tick));
    let (change, percent, style) = match s.last_price {
        Some(last) => {
            let delta = format::cents(last, tick) - format::cents(s.reference_price, tick);
            let pct = format::percent(
                last as i128 - s.reference_price as i128,
                s.reference_price as i128,
            )
            .unwrap_or_default();
            (format::change(delta), pct, theme::signed(delta))
        }
        None => (String::new(), String::new(), theme::plain()),
    };
    let session = if exchange == Session::Open {
        s.session
    } else {
        exchange
    };
    let session_text = match session {
        Session::Open => "",
        Session::Halted => "halted",
        Session::Closed => "closed",
    };
    vec![
        Span::styled(s.ticker.to_string(), theme::bold()),
        Span::raw(price(s.last_price)),
        Span::styled(change, style),
        Span::styled(percent, style),
        Span::styled(price(s.best_bid), theme::gain()),
        Span::styled(price(s.best_ask), theme::loss()),
        Span::raw(format::count(i128::from(s.volume))),
        Span::styled(session_text, theme::session(session)),
        Span::styled(s.name.clone(), theme::muted()),
    ]
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn shows_prices_changes_and_the_selected_symbol() {
        let mut state = sample::state();
        state.focus = Panel::Book;
        let buf = render(Watch(&state), 80, 7);
        assert_eq!(
            buffer_lines(&buf),
            [
                "╭ Market · 4 symbols ──────────────────────────────────────────────────────────╮",
                "│ Sym         Last     Chg    Chg%       Bid       Ask    Volume               │",
                "│▸ACME       12.50   +0.50  +4.17%     12.49     12.51    12,340               │",
                "│ BOLT       14.95   -0.05  -0.33%     14.90     15.05     3,200               │",
                "│ CHIP           —                         —         —         0               │",
                "│ DYNA       29.50   -0.50  -1.67%     29.45     29.60       800 halted        │",
                "╰──────────────────────────────────────────────────────────────────────────────╯",
            ]
        );
        // Gains green, losses red, the halted session yellow.
        assert_eq!(buf[(24, 2)].fg, theme::GAIN);
        assert_eq!(buf[(24, 3)].fg, theme::LOSS);
        assert_eq!(buf[(65, 5)].fg, theme::WARN);
        // Not focused: the selected row is bold, not reversed.
        assert!(buf[(3, 2)].modifier.contains(Modifier::BOLD));
        assert!(!buf[(3, 2)].modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn a_narrow_watch_drops_columns_rather_than_cutting_numbers() {
        let state = sample::state();
        let lines = buffer_lines(&render(Watch(&state), 40, 7));
        // The session outlasts the bid and ask.
        assert_eq!(lines[1], "┃ Sym         Last    Chg%             ┃");
        assert_eq!(lines[2], "┃▸ACME       12.50  +4.17%             ┃");
        assert_eq!(lines[5], "┃ DYNA       29.50  -1.67% halted      ┃");
    }

    #[test]
    fn the_selected_row_stays_in_view() {
        let mut state = sample::state();
        state.market.selected = 3;
        let lines = buffer_lines(&render(Watch(&state), 80, 4));
        assert!(lines[2].starts_with("┃▸DYNA"), "{lines:?}");
    }
}
