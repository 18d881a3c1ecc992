//! The yes/no box: the question and `y / n`.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use super::{popup, theme};
use crate::state::State;

/// The confirm box (nothing when there is no question).
pub struct ConfirmBox<'a>(pub &'a State);

impl Widget for ConfirmBox<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let Some(confirm) = &self.0.confirm else {
            return;
        };
        let width = (confirm.question.chars().count() as u16 + 6).clamp(30, 60);
        // The question may wrap onto a second or third line.
        let text_width = usize::from(width.saturating_sub(4)).max(1);
        let lines = confirm.question.chars().count().div_ceil(text_width).max(1) as u16 + 1;
        let height = lines + 4;
        let inner = popup::draw(popup::centered(area, width, height), buf, "Confirm");
        let text = vec![
            Line::styled(confirm.question.clone(), theme::bold()),
            Line::raw(""),
            Line::from(vec![
                Span::styled("y", theme::key()),
                Span::styled(" yes    ", theme::plain()),
                Span::styled("n", theme::key()),
                Span::styled(" no", theme::plain()),
            ])
            .centered(),
        ];
        let padded = Rect {
            x: inner.x.saturating_add(1).min(inner.right()),
            width: inner.width.saturating_sub(2),
            y: inner.y.saturating_add(1).min(inner.bottom()),
            height: inner.height.saturating_sub(1),
        };
        Paragraph::new(text)
            .wrap(Wrap { trim: true })
            .render(padded, buf);
    }
}
