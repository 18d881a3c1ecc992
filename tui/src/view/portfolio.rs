//! My account: cash (and what open buys hold of it), holdings, net worth and P&L since
//! the start of the game, then each position with its shares, mark price and value.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::exchange::views::AccountView;

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

const COLS: [Col; 5] = [
    Col::left("Sym", 6, 0),
    Col::right("Shares", 7, 0),
    Col::right("Mark", 9, 1),
    Col::right("Value", 12, 0),
    Col::right("In orders", 9, 2),
];

/// The portfolio panel.
pub struct Portfolio<'a>(pub &'a State);

impl Widget for Portfolio<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Portfolio;
        let title = vec![
            Span::raw(Panel::Portfolio.title()),
            Span::styled(format!(" · {}", state.me.name), theme::muted()),
        ];
        let inner = frame::draw(area, buf, title, None, focused);
        let Some(account) = &state.account.view else {
            rows::empty(inner, buf, "waiting for my account");
            return;
        };
        let mut lines = summary(account, usize::from(inner.width));
        lines.push(Line::raw(""));
        let top = lines.len() as u16;
        rows::draw(inner, buf, None, &lines, 0);
        let table = Rect {
            y: inner.y.saturating_add(top).min(inner.bottom()),
            height: inner.height.saturating_sub(top),
            ..inner
        };
        if account.positions.is_empty() {
            rows::empty(table, buf, "no positions");
            return;
        }
        let columns = Columns::new(&COLS, table.width);
        let positions: Vec<Line<'_>> = account
            .positions
            .iter()
            .map(|p| {
                let tick = state.market.tick_size(p.symbol);
                columns.row(
                    Span::raw(" "),
                    vec![
                        Span::styled(p.symbol.to_string(), theme::bold()),
                        Span::styled(
                            format::count(i128::from(p.shares)),
                            theme::signed(i128::from(p.shares).min(0)),
                        ),
                        Span::raw(format::price(p.mark_price, tick)),
                        Span::raw(format::money(i128::from(p.value))),
                        Span::styled(
                            if p.reserved > 0 {
                                format::count(i128::from(p.reserved))
                            } else {
                                String::new()
                            },
                            theme::muted(),
                        ),
                    ],
                )
            })
            .collect();
        let first = rows::clamp(
            state.scrolls.portfolio,
            positions.len(),
            rows::room(table, true),
        );
        rows::draw(table, buf, Some(columns.header()), &positions, first);
    }
}

/// The cash, net worth and P&L lines.
fn summary<'a>(account: &AccountView, width: usize) -> Vec<Line<'a>> {
    let holdings: i128 = account.positions.iter().map(|p| i128::from(p.value)).sum();
    let worth = i128::from(account.net_worth);
    let mut lines = vec![
        pair("Cash", format::usd(i128::from(account.cash)), theme::bold()),
        pair(
            "In orders",
            format::usd(i128::from(account.cash_reserved)),
            theme::plain(),
        ),
        pair("Holdings", format::usd(holdings), theme::plain()),
        pair("Net worth", format::usd(worth), theme::bold()),
    ];
    note(
        &mut lines[1],
        Span::styled("for open buys", theme::muted()),
        width,
    );
    let start = i128::from(account.start_worth);
    let pnl = worth - start;
    let mut line = pair(
        "P&L",
        format::signed_usd(pnl),
        theme::signed(pnl).patch(theme::bold()),
    );
    if let Some(pct) = format::percent(pnl, start) {
        note(&mut line, Span::styled(pct, theme::signed(pnl)), width);
    }
    lines.push(line);
    if account.suspended {
        lines.push(Line::styled(
            " suspended: orders are refused",
            theme::error(),
        ));
    }
    lines
}

/// ` Label        $1,234.50`.
fn pair<'a>(label: &str, value: String, style: Style) -> Line<'a> {
    Line::from(vec![
        Span::styled(format!(" {label:<10}"), theme::muted()),
        Span::styled(format!("{value:>14}"), style),
    ])
}

/// Adds `  note` to a line if it fits in `width`.
fn note<'a>(line: &mut Line<'a>, note: Span<'a>, width: usize) {
    if line.width() + 2 + note.width() <= width {
        line.spans.push(Span::raw("  "));
        line.spans.push(note);
    }
}
