//! My open orders: side, symbol, price, what is left of each, and the block it was placed
//! in; the cursor picks the one `x` cancels.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

const COLS: [Col; 6] = [
    Col::right("Id", 5, 2),
    Col::left("Side", 4, 0),
    Col::left("Sym", 6, 0),
    Col::right("Price", 8, 0),
    Col::right("Left", 8, 1),
    Col::right("Block", 6, 3),
];

/// The open orders panel.
pub struct Orders<'a>(pub &'a State);

impl Widget for Orders<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Orders;
        let orders = state.account.orders();
        let title = vec![
            Span::raw(Panel::Orders.title()),
            Span::styled(format!(" · {}", orders.len()), theme::muted()),
        ];
        let hint = frame::hint(&[("x", "cancel"), ("X", "cancel all")]);
        let inner = frame::draw(area, buf, title, Some(hint), focused);
        if orders.is_empty() {
            let text = if state.account.view.is_some() {
                "no open orders"
            } else {
                "waiting for my account"
            };
            rows::empty(inner, buf, text);
            return;
        }
        let columns = Columns::new(&COLS, inner.width);
        let cursor = state.account.cursor.min(orders.len() - 1);
        let lines: Vec<Line<'_>> = orders
            .iter()
            .enumerate()
            .map(|(i, o)| {
                let tick = state.market.tick_size(o.symbol);
                let left = if o.remaining == o.original {
                    format::count(i128::from(o.remaining))
                } else {
                    format!(
                        "{}/{}",
                        format::count(i128::from(o.remaining)),
                        format::count(i128::from(o.original))
                    )
                };
                let here = i == cursor;
                let line = columns.row(
                    Span::raw(if here && focused { "▸" } else { " " }),
                    vec![
                        Span::styled(format!("#{}", o.id), theme::muted()),
                        Span::styled(o.side.to_string(), theme::side(o.side)),
                        Span::styled(o.symbol.to_string(), theme::bold()),
                        Span::raw(format::price(o.price, tick)),
                        Span::raw(left),
                        Span::styled(format!("#{}", o.placed_height), theme::muted()),
                    ],
                );
                if here && focused {
                    line.style(theme::selected(true))
                } else {
                    line
                }
            })
            .collect();
        let first = rows::follow(cursor, lines.len(), rows::room(inner, true));
        rows::draw(inner, buf, Some(columns.header()), &lines, first);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn lists_my_orders_with_the_cursor_and_the_cancel_keys() {
        let mut state = sample::state();
        state.focus = Panel::Orders;
        state.account.cursor = 1;
        let lines = buffer_lines(&render(Orders(&state), 50, 6));
        assert_eq!(
            lines,
            [
                "┏ Open orders · 2 ━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┓",
                "┃    Id Side Sym       Price     Left  Block     ┃",
                "┃   #41 buy  ACME      12.45       10    #44     ┃",
                "┃▸  #42 sell ACME      12.60    50/80    #47     ┃",
                "┃                                                ┃",
                "┗━━━━━━━━━━━━━━━━━━━━━━━━ x cancel  X cancel all ┛",
            ]
        );
    }
}
