//! A symbol's candles as a price chart (the chart panel's: the selected symbol's), drawn by hand with integer arithmetic:
//! a wick from low to high, a body from open to close (green up, red down), prices on the
//! left axis and the first and last candle's times underneath.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::exchange::Candle;
use qraft_node::core::exchange::views::SymbolView;
use qraft_node::core::types::{Cents, Ticks};

use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

/// The chart panel: the selected symbol's chart.
pub struct Chart<'a>(pub &'a State);

impl Widget for Chart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Chart;
        match state.market.selected() {
            Some(symbol) => SymbolChart {
                symbol,
                candles: state.market.selected_candles(),
                utc_offset_ms: state.utc_offset_ms,
                focused,
                title: Panel::Chart.title(),
            }
            .render(area, buf),
            None => {
                let title = vec![Span::raw(Panel::Chart.title())];
                let inner = frame::draw(area, buf, title, None, focused);
                rows::empty(inner, buf, "no symbol selected");
            }
        }
    }
}

/// One symbol's candles in a frame titled `title · TICKER last` (the chart panel's, and
/// each of the projector page's).
pub struct SymbolChart<'a> {
    pub symbol: &'a SymbolView,
    /// Oldest first.
    pub candles: &'a [Candle],
    pub utc_offset_ms: i64,
    pub focused: bool,
    /// The frame's title before the ticker (empty: the ticker alone).
    pub title: &'a str,
}

impl Widget for SymbolChart<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let s = self.symbol;
        let mut title = Vec::new();
        if !self.title.is_empty() {
            title.push(Span::raw(self.title));
            title.push(Span::styled(" · ", theme::bold()));
        }
        title.push(Span::styled(s.ticker.to_string(), theme::bold()));
        if let Some(last) = s.last_price {
            title.push(Span::styled(
                format!(" {}", format::price(last, s.tick_size)),
                theme::plain(),
            ));
        }
        let inner = frame::draw(area, buf, title, None, self.focused);
        if self.candles.is_empty() {
            rows::empty(inner, buf, &format!("no trades in {} yet", s.ticker));
            return;
        }
        let area = inner.intersection(*buf.area());
        if area.height < 3 || area.width < 12 {
            rows::empty(area, buf, "too small for a chart");
            return;
        }
        draw(area, buf, self.candles, s.tick_size, self.utc_offset_ms);
    }
}

/// Maps prices to rows: `hi` on row 0, `lo` on row `rows - 1`.
#[derive(Clone, Copy, Debug)]
struct Scale {
    hi: Ticks,
    lo: Ticks,
    rows: u64,
}

impl Scale {
    fn row(&self, price: Ticks) -> u16 {
        let span = u128::from((self.hi - self.lo).max(1));
        let steps = u128::from(self.rows - 1);
        let above = u128::from(self.hi.saturating_sub(price)).min(span);
        u16::try_from((above * steps + span / 2) / span).unwrap_or(0)
    }

    /// The price a row stands for (rounded to a tick).
    fn price(&self, row: u16) -> Ticks {
        let span = u128::from((self.hi - self.lo).max(1));
        let steps = u128::from((self.rows - 1).max(1));
        let down = (u128::from(row) * span + steps / 2) / steps;
        self.hi
            .saturating_sub(u64::try_from(down).unwrap_or(u64::MAX))
    }
}

fn draw(area: Rect, buf: &mut Buffer, candles: &[Candle], tick: Cents, offset_ms: i64) {
    // The last line is the time axis.
    let plot_rows = area.height - 1;
    let label = |p: Ticks| format::price(p, tick);
    let hi_all = candles.iter().map(|c| c.high).max().unwrap_or(0);
    let axis = label(hi_all).chars().count().max(4) as u16 + 1;
    let plot_width = area.width.saturating_sub(axis + 1);
    // A gap between candles reads better than more of them, unless the chart is tiny.
    let step = if plot_width >= 16 { 2 } else { 1 };
    let count = (usize::from(plot_width) / step).min(candles.len()).max(1);
    let shown = &candles[candles.len() - count..];
    let hi = shown.iter().map(|c| c.high).max().unwrap_or(0);
    let lo = shown.iter().map(|c| c.low).min().unwrap_or(0);
    let scale = Scale {
        hi,
        lo,
        rows: u64::from(plot_rows),
    };
    // The axis: prices at the top, middle and bottom, a line beside them.
    let labelled = [0, (plot_rows - 1) / 2, plot_rows - 1];
    for row in 0..plot_rows {
        let y = area.y + row;
        let marked = labelled.contains(&row);
        if marked {
            let text = format!("{:>w$}", label(scale.price(row)), w = usize::from(axis - 1));
            buf.set_stringn(area.x, y, text, usize::from(axis - 1), theme::muted());
        }
        let tick_mark = if marked { "┤" } else { "│" };
        buf.set_string(area.x + axis - 1, y, tick_mark, theme::muted());
    }
    let x0 = area.x + axis;
    for (i, c) in shown.iter().enumerate() {
        let x = x0 + (i * step) as u16;
        if x >= area.right() {
            break;
        }
        let style = if c.close >= c.open {
            theme::gain()
        } else {
            theme::loss()
        };
        let (top, bottom) = (scale.row(c.high), scale.row(c.low));
        let (body_top, body_bottom) = (
            scale.row(c.open.max(c.close)),
            scale.row(c.open.min(c.close)),
        );
        for row in top..=bottom.min(plot_rows - 1) {
            let glyph = if (body_top..=body_bottom).contains(&row) {
                "█"
            } else {
                "│"
            };
            buf.set_string(x, area.y + row, glyph, style);
        }
    }
    // The time axis.
    let y = area.y + plot_rows;
    let time = |ms: u64| format::clock(ms, offset_ms)[..5].to_string();
    let first = time(shown[0].start_ms);
    let last = time(shown[shown.len() - 1].start_ms);
    let mut line = vec![
        Span::raw(" ".repeat(usize::from(axis))),
        Span::styled(first, theme::muted()),
    ];
    let used = usize::from(axis) + 5;
    let end = usize::from(x0 - area.x) + (count - 1) * step + 1;
    if count > 1 && end >= used + 6 {
        line.push(Span::raw(" ".repeat(end - used - 5)));
        line.push(Span::styled(last, theme::muted()));
    }
    Line::from(line).render(Rect::new(area.x, y, area.width, 1), buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_maps_the_range_onto_the_rows() {
        let s = Scale {
            hi: 120,
            lo: 100,
            rows: 11,
        };
        assert_eq!(s.row(120), 0);
        assert_eq!(s.row(100), 10);
        assert_eq!(s.row(110), 5);
        assert_eq!(s.price(0), 120);
        assert_eq!(s.price(10), 100);
        assert_eq!(s.price(5), 110);
        let flat = Scale {
            hi: 100,
            lo: 100,
            rows: 5,
        };
        assert_eq!(flat.row(100), 0);
    }
}

#[cfg(test)]
mod chart_tests {
    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn candles_are_drawn_with_price_labels_and_times() {
        let mut state = sample::state();
        // One candle up (12.00 to 12.06, high 12.10), one down (12.06 to 12.04).
        let at = |i: u64| sample::T0 + i * 60_000;
        state.market.candles = vec![
            Candle {
                start_ms: at(0),
                open: 1200,
                high: 1210,
                low: 1200,
                close: 1206,
                volume: 10,
            },
            Candle {
                start_ms: at(1),
                open: 1206,
                high: 1206,
                low: 1202,
                close: 1204,
                volume: 10,
            },
        ];
        let buf = render(Chart(&state), 30, 8);
        let lines = buffer_lines(&buf);
        assert_eq!(
            lines,
            [
                "╭ Chart · ACME 12.50 ────────╮",
                "│12.10┤│                     │",
                "│     ││                     │",
                "│12.05┤█ █                   │",
                "│     │█ │                   │",
                "│12.00┤█                     │",
                "│      22:13                 │",
                "╰────────────────────────────╯",
            ]
        );
        assert_eq!(buf[(7, 3)].fg, theme::GAIN, "the rising candle is green");
        assert_eq!(buf[(9, 3)].fg, theme::LOSS, "the falling one red");
    }

    #[test]
    fn no_candles_says_so() {
        let mut state = sample::state();
        state.market.candles.clear();
        let lines = buffer_lines(&render(Chart(&state), 30, 4));
        assert!(lines[1].contains("no trades in ACME yet"), "{lines:?}");
    }
}
