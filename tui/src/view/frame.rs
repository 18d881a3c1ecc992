//! A panel's frame: its border (highlighted when it has the focus), its title, and an
//! optional hint in the bottom border.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Widget};

use super::theme;

/// Draws a panel's frame in `area` and returns the area inside it.
pub fn draw(
    area: Rect,
    buf: &mut Buffer,
    title: Vec<Span<'_>>,
    bottom: Option<Line<'_>>,
    focused: bool,
) -> Rect {
    let mut spans = vec![Span::raw(" ")];
    spans.extend(title.into_iter().map(|s| {
        if s.style == Style::default() {
            s.style(theme::title(focused))
        } else {
            s
        }
    }));
    spans.push(Span::raw(" "));
    let mut block = Block::bordered()
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Rounded
        })
        .border_style(theme::border(focused))
        .title(Line::from(spans));
    if let Some(bottom) = bottom {
        block = block.title_bottom(bottom.right_aligned());
    }
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}

/// A short hint for the bottom border: ` x cancel  X cancel all `.
pub fn hint<'a>(pairs: &[(&'a str, &'a str)]) -> Line<'a> {
    let mut spans = vec![Span::raw(" ")];
    for (i, (key, what)) in pairs.iter().enumerate() {
        if i > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(*key, theme::key()));
        spans.push(Span::styled(format!(" {what}"), theme::muted()));
    }
    spans.push(Span::raw(" "));
    Line::from(spans)
}
