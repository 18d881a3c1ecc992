//! A box in the middle of the screen over whatever is under it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Clear, Widget};

use super::theme;

/// A `width` x `height` area centred in `area` (smaller if `area` is).
pub fn centered(area: Rect, width: u16, height: u16) -> Rect {
    let width = width.min(area.width);
    let height = height.min(area.height);
    Rect::new(
        area.x + (area.width - width) / 2,
        area.y + (area.height - height) / 2,
        width,
        height,
    )
}

/// Clears `area`, draws a box titled `title` around it, and returns the inside.
pub fn draw(area: Rect, buf: &mut Buffer, title: &str) -> Rect {
    Clear.render(area, buf);
    let block = Block::bordered()
        .border_type(BorderType::Double)
        .border_style(theme::border(true))
        .title(Line::from(Span::styled(
            format!(" {title} "),
            theme::title(true),
        )));
    let inner = block.inner(area);
    block.render(area, buf);
    inner
}
