//! Lists of rows: which rows fit, and drawing them one per line under a header.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::Widget;

/// The first row to show so that row `cursor` of `len` is visible in `height` rows.
pub fn follow(cursor: usize, len: usize, height: usize) -> usize {
    if height == 0 {
        return 0;
    }
    let cursor = cursor.min(len.saturating_sub(1));
    cursor.saturating_sub(height - 1)
}

/// A scroll offset kept within the rows (the last screenful at most).
pub fn clamp(scroll: usize, len: usize, height: usize) -> usize {
    scroll.min(len.saturating_sub(height))
}

/// Draws `header` (if any) on the first line of `area`, then `rows` from `first` on.
pub fn draw(
    area: Rect,
    buf: &mut Buffer,
    header: Option<Line<'_>>,
    rows: &[Line<'_>],
    first: usize,
) {
    let mut y = area.y;
    let bottom = area.bottom();
    if let Some(header) = header {
        if y >= bottom {
            return;
        }
        header.render(Rect::new(area.x, y, area.width, 1), buf);
        y += 1;
    }
    for row in rows.iter().skip(first) {
        if y >= bottom {
            break;
        }
        row.render(Rect::new(area.x, y, area.width, 1), buf);
        y += 1;
    }
}

/// The number of rows under a header in `area`.
pub fn room(area: Rect, header: bool) -> usize {
    usize::from(area.height).saturating_sub(usize::from(header))
}

/// A line of muted text, for an empty panel.
pub fn empty(area: Rect, buf: &mut Buffer, text: &str) {
    if area.is_empty() {
        return;
    }
    Line::styled(format!(" {text}"), super::theme::muted())
        .render(Rect::new(area.x, area.y, area.width, 1), buf);
}
