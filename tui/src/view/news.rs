//! Headlines, newest first, each under its time and block height and after the symbol
//! it is about, wrapped to the panel; the newest one's story under it when there is room.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use qraft_node::core::exchange::views::NewsItem;

use super::{frame, rows, theme};
use crate::format;
use crate::state::{Panel, State};

/// The news panel.
pub struct News<'a>(pub &'a State);

/// The fewest rows inside the panel that show the newest headline's story.
const STORY_ROWS: u16 = 8;

/// A headline in bold, after the symbol it is about (`ACME ·`) in the accent colour.
pub fn headline(item: &NewsItem) -> Line<'static> {
    let mut spans = Vec::new();
    if let Some(symbol) = item.symbol {
        spans.push(Span::styled(format!("{symbol} · "), theme::key()));
    }
    spans.push(Span::styled(item.headline.clone(), theme::bold()));
    Line::from(spans)
}

impl Widget for News<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::News;
        let news = &state.market.news;
        let title = vec![
            Span::raw(Panel::News.title()),
            Span::styled(format!(" · {}", news.len()), theme::muted()),
        ];
        let inner = frame::draw(area, buf, title, None, focused);
        if news.is_empty() {
            rows::empty(inner, buf, "no news yet");
            return;
        }
        let first = state.scrolls.news.min(news.len() - 1);
        let mut lines: Vec<Line<'_>> = Vec::new();
        for (i, item) in news.iter().enumerate().skip(first) {
            if !lines.is_empty() {
                lines.push(Line::raw(""));
            }
            lines.push(Line::from(vec![
                Span::styled(
                    format::clock(item.timestamp_ms, state.utc_offset_ms),
                    theme::muted(),
                ),
                Span::styled(format!("  block {}", item.height), theme::muted()),
            ]));
            lines.push(headline(item));
            // The story under the newest headline, when the panel has the rows for it.
            if i == 0 && !item.text.is_empty() && inner.height >= STORY_ROWS {
                lines.push(Line::styled(item.text.clone(), theme::plain()));
            }
        }
        let text_area = Rect {
            x: inner.x.saturating_add(1).min(inner.right()),
            width: inner.width.saturating_sub(1),
            ..inner
        };
        Paragraph::new(lines)
            .wrap(Wrap { trim: true })
            .render(text_area, buf);
    }
}
