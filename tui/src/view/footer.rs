//! The bottom line: the `:` command line while one is typed; otherwise the latest message
//! (coloured by kind) and, where room is left, the keys for the focused panel.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::hints::{Hint, hints};
use super::theme;
use crate::state::{Mode, State};

/// The bottom line.
pub struct Footer<'a>(pub &'a State);

impl Widget for Footer<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        if area.is_empty() {
            return;
        }
        if state.mode == Mode::Command {
            let first = prompt_scroll(state, area.width);
            let text: String = state.prompt.text.chars().skip(first).collect();
            Line::from(vec![
                Span::styled(":", theme::key()),
                Span::styled(text, theme::bold()),
            ])
            .render(area, buf);
            return;
        }
        let mut used = 0;
        if let Some(notice) = &state.message {
            let line = Line::from(vec![
                Span::raw(" "),
                Span::styled(notice.text.as_str(), theme::notice(notice.kind)),
            ]);
            used = line.width();
            line.render(area, buf);
        }
        let room = usize::from(area.width).saturating_sub(used);
        let keys = fitted(
            &hints(state),
            room.saturating_sub(if used > 0 { 3 } else { 1 }),
        );
        if keys.spans.is_empty() {
            return;
        }
        if used > 0 {
            keys.right_aligned().render(area, buf);
        } else {
            let mut spans = vec![Span::raw(" ")];
            spans.extend(keys.spans);
            Line::from(spans).render(area, buf);
        }
    }
}

/// As many hints as fit in `width`, in order.
fn fitted(hints: &[Hint], width: usize) -> Line<'static> {
    let mut spans = Vec::new();
    let mut used = 0;
    for (key, what) in hints {
        let gap = if spans.is_empty() { 0 } else { 2 };
        let w = gap + key.chars().count() + 1 + what.chars().count();
        if used + w > width {
            break;
        }
        used += w;
        if gap > 0 {
            spans.push(Span::raw("  "));
        }
        spans.push(Span::styled(*key, theme::key()));
        spans.push(Span::styled(format!(" {what}"), theme::muted()));
    }
    Line::from(spans)
}

/// The first character of the command line shown, so the cursor stays in view.
fn prompt_scroll(state: &State, width: u16) -> usize {
    // One cell for the `:`, one for the cursor past the end.
    let room = usize::from(width).saturating_sub(2);
    state.prompt.cursor.saturating_sub(room)
}

/// Where the cursor goes on the command line in `area` (the bottom line).
pub fn cursor(state: &State, area: Rect) -> Option<Position> {
    if state.mode != Mode::Command || area.is_empty() {
        return None;
    }
    let first = prompt_scroll(state, area.width);
    let cursor = state.prompt.cursor.min(state.prompt.text.chars().count());
    let x = 1 + cursor.saturating_sub(first);
    let position = Position::new(area.x.saturating_add(u16::try_from(x).ok()?), area.y);
    area.contains(position).then_some(position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{NoticeKind, sample};
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn a_long_command_line_scrolls_to_keep_the_cursor_in_view() {
        let mut state = sample::state();
        state.mode = Mode::Command;
        state.prompt.open("news ACME beats earnings");
        let area = Rect::new(0, 0, 12, 1);
        let lines = buffer_lines(&render(Footer(&state), 12, 1));
        assert_eq!(lines[0], ":s earnings ");
        assert_eq!(cursor(&state, area), Some(Position::new(11, 0)));
        state.prompt.home();
        let lines = buffer_lines(&render(Footer(&state), 12, 1));
        assert_eq!(lines[0], ":news ACME b");
        assert_eq!(cursor(&state, area), Some(Position::new(1, 0)));
    }

    #[test]
    fn a_message_comes_first_and_the_keys_fill_the_rest() {
        let mut state = sample::state();
        state.say(NoticeKind::Success, "bought 10 ACME");
        let buf = render(Footer(&state), 60, 1);
        assert_eq!(
            buffer_lines(&buf)[0],
            " bought 10 ACME        ↑↓ symbol  Enter ticket  b/s buy/sell"
        );
        assert_eq!(buf[(1, 0)].fg, theme::GAIN);
    }
}
