//! The page tabs of a small terminal (and of any terminal with a class): `1 Trade
//! 2 Market  3 Account  4 Chain  5 Class`, the page shown highlighted.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::theme;
use crate::state::panel::PAGES;

/// The tab line for `pages` pages (4, or 5 with a class), with `page` shown (`None`:
/// every panel is).
pub struct Tabs {
    pub page: Option<usize>,
    pub pages: usize,
}

impl Widget for Tabs {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let names = &PAGES[..self.pages.min(PAGES.len())];
        let page = self.page.unwrap_or(0);
        let full = 1 + names.iter().map(|n| n.len() + 5).sum::<usize>();
        // Only the page shown is named when all the names do not fit.
        let short = usize::from(area.width) < full;
        let mut spans = vec![Span::raw(" ")];
        for (i, name) in names.iter().enumerate() {
            let number = i + 1;
            let name = if short && number != page { "" } else { name };
            let style = if number == page {
                Style::new()
                    .fg(theme::ACCENT)
                    .add_modifier(Modifier::BOLD | Modifier::REVERSED)
            } else {
                theme::muted()
            };
            let text = if name.is_empty() {
                format!(" {number} ")
            } else {
                format!(" {number} {name} ")
            };
            spans.push(Span::styled(text, style));
            spans.push(Span::raw(" "));
        }
        Line::from(spans).render(area, buf);
        let hint = Line::from(vec![
            Span::styled(if self.pages > 4 { "1-5" } else { "1-4" }, theme::key()),
            Span::styled(" page  ", theme::muted()),
            Span::styled("Tab", theme::key()),
            Span::styled(" panel ", theme::muted()),
        ]);
        if usize::from(area.width) >= full + hint.width() + 2 {
            hint.right_aligned().render(area, buf);
        }
    }
}
