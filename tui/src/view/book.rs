//! The selected symbol's order book as a ladder: asks above (highest first), the spread,
//! bids below; price, quantity and number of orders per level; my own resting orders
//! marked; the book cursor while the panel has the focus.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::types::{Side, Ticks};

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

const COLS: [Col; 4] = [
    Col::right("Price", 9, 0),
    Col::right("Qty", 8, 1),
    Col::right("Ord", 3, 2),
    Col::left("", 1, 0),
];

/// Marks a level where one of my orders rests.
pub const MINE: &str = "●";

/// The book panel.
pub struct Book<'a>(pub &'a State);

impl Widget for Book<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Book;
        let ticker = state.market.selected_ticker();
        let mut title = vec![Span::raw(Panel::Book.title())];
        if let Some(t) = ticker {
            title.push(Span::styled(format!(" · {t}"), theme::bold()));
        }
        let legend = frame::hint(&[(MINE, "mine")]);
        let inner = frame::draw(area, buf, title, Some(legend), focused);
        let Some(ticker) = ticker else {
            rows::empty(inner, buf, "no symbol selected");
            return;
        };
        let ladder = state.market.ladder();
        if ladder.is_empty() {
            let text = if state.market.selected_depth().is_some() {
                format!("no orders in {ticker}")
            } else {
                format!("waiting for {ticker}'s book")
            };
            rows::empty(inner, buf, &text);
            return;
        }
        let tick = state.market.tick_size(ticker);
        let columns = Columns::new(&COLS, inner.width);
        let asks = ladder.iter().filter(|(ask, ..)| *ask).count();
        let cursor = focused.then(|| state.market.book_cursor.min(ladder.len() - 1));
        let levels: Vec<Line<'_>> = ladder
            .iter()
            .enumerate()
            .map(|(i, &(is_ask, price, quantity, orders))| {
                let side = if is_ask { Side::Sell } else { Side::Buy };
                let mine = state.account.has_order_at(ticker, side, price);
                let here = cursor == Some(i);
                let line = columns.row(
                    Span::raw(if here { "▸" } else { " " }),
                    vec![
                        Span::styled(format::price(price, tick), theme::side(side)),
                        Span::raw(format::count(i128::from(quantity))),
                        Span::styled(orders.to_string(), theme::muted()),
                        Span::styled(if mine { MINE } else { "" }, theme::key()),
                    ],
                );
                if here {
                    line.style(theme::selected(true))
                } else {
                    line
                }
            })
            .collect();
        let room = rows::room(inner, true);
        // One line goes to the spread when it is in view.
        let shown = room.saturating_sub(1).max(1);
        let first = window(asks, ladder.len(), shown, cursor);
        let mut lines = levels[first..(first + shown).min(levels.len())].to_vec();
        if (first..=first + shown).contains(&asks) && room > shown {
            lines.insert(asks - first, spread(state, ticker, tick, inner.width));
        }
        rows::draw(inner, buf, Some(columns.header()), &lines, 0);
    }
}

/// The first ladder row to show: the levels around the spread, moved to keep the cursor
/// in view.
fn window(asks: usize, len: usize, shown: usize, cursor: Option<usize>) -> usize {
    let mut first = asks
        .saturating_sub(shown / 2)
        .min(len.saturating_sub(shown));
    if let Some(c) = cursor {
        if c < first {
            first = c;
        } else if c >= first + shown {
            first = c + 1 - shown;
        }
    }
    first
}

/// The line between the asks and the bids: the spread, in price.
fn spread(
    state: &State,
    ticker: qraft_node::core::types::Ticker,
    tick: i64,
    width: u16,
) -> Line<'static> {
    let best = |asks: bool| -> Option<Ticks> {
        let depth = state.market.selected_depth()?;
        let levels = if asks { &depth.asks } else { &depth.bids };
        levels.first().map(|l| l.price)
    };
    let text = match (best(false), best(true)) {
        (Some(bid), Some(ask)) if ask >= bid => {
            let width = ask - bid;
            let mid = format::percent(i128::from(width), i128::from(bid));
            match mid {
                Some(pct) => format!(
                    " spread {} ({}) ",
                    format::price(width, tick),
                    pct.trim_start_matches('+')
                ),
                None => format!(" spread {} ", format::price(width, tick)),
            }
        }
        (Some(_), Some(_)) => " crossed ".to_string(),
        (None, _) => format!(" no bids for {ticker} "),
        (_, None) => format!(" no asks for {ticker} "),
    };
    let width = usize::from(width);
    let len = text.chars().count();
    let left = width.saturating_sub(len) / 2;
    let right = width.saturating_sub(len + left);
    Line::from(vec![
        Span::styled("─".repeat(left), theme::muted()),
        Span::styled(text, theme::muted()),
        Span::styled("─".repeat(right), theme::muted()),
    ])
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn the_ladder_marks_my_orders_and_the_cursor() {
        let mut state = sample::state();
        state.focus = Panel::Book;
        state.market.book_cursor = 2;
        let buf = render(Book(&state), 30, 13);
        assert_eq!(
            buffer_lines(&buf),
            [
                "┏ Book · ACME ━━━━━━━━━━━━━━━┓",
                "┃     Price      Qty Ord     ┃",
                "┃     12.60      500   4 ●   ┃",
                "┃     12.55       50   1     ┃",
                "┃▸    12.52      300   2     ┃",
                "┃     12.51      120   3     ┃",
                "┃─── spread 0.02 (0.16%) ────┃",
                "┃     12.49      200   2     ┃",
                "┃     12.48       80   1     ┃",
                "┃     12.45      310   3 ●   ┃",
                "┃     12.40    1,000   5     ┃",
                "┃                            ┃",
                "┗━━━━━━━━━━━━━━━━━━━━ ● mine ┛",
            ]
        );
        // Asks red, bids green; the cursor row reversed.
        assert_eq!(buf[(10, 2)].fg, theme::LOSS);
        assert_eq!(buf[(10, 7)].fg, theme::GAIN);
        assert!(buf[(10, 4)].modifier.contains(Modifier::REVERSED));
        assert!(!buf[(10, 5)].modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn only_levels_with_my_orders_are_marked() {
        let mut state = sample::state();
        let marked = |state: &State| -> Vec<String> {
            buffer_lines(&render(Book(state), 30, 13))[1..12]
                .iter()
                .filter(|l| l.contains(MINE))
                .map(|l| l.split_whitespace().nth(1).unwrap_or("").to_string())
                .collect()
        };
        assert_eq!(marked(&state), ["12.60", "12.45"]);
        // My buy at 12.45 cancelled: only the sell at 12.60 is left.
        if let Some(view) = state.account.view.as_mut() {
            view.open_orders.retain(|o| o.side == Side::Sell);
        }
        assert_eq!(marked(&state), ["12.60"]);
    }

    #[test]
    fn a_short_panel_keeps_the_levels_around_the_spread() {
        let state = sample::state();
        let lines = buffer_lines(&render(Book(&state), 30, 7));
        assert_eq!(
            lines[1..6],
            [
                "│     Price      Qty Ord     │",
                "│     12.51      120   3     │",
                "│─── spread 0.02 (0.16%) ────│",
                "│     12.49      200   2     │",
                "│     12.48       80   1     │",
            ]
        );
    }

    #[test]
    fn an_empty_book_says_so() {
        let mut state = sample::state();
        state.market.selected = 1;
        let lines = buffer_lines(&render(Book(&state), 30, 5));
        assert!(lines[1].contains("waiting for BOLT's book"), "{lines:?}");
    }
}
