//! The teacher panel (the admin only): the market's session, and the actions Enter runs.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::types::Session;

use super::{frame, rows, theme};
use crate::state::{AdminItem, Panel, State};

/// The teacher panel.
pub struct Admin<'a>(pub &'a State);

impl Widget for Admin<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Admin;
        let hint = focused.then(|| frame::hint(&[("Enter", "run")]));
        let inner = frame::draw(
            area,
            buf,
            vec![Span::raw(Panel::Admin.title())],
            hint,
            focused,
        );
        let mut lines = vec![session_line(state), Line::raw("")];
        let cursor = state.admin_cursor.min(AdminItem::ALL.len() - 1);
        for (i, item) in AdminItem::ALL.iter().enumerate() {
            let here = i == cursor;
            let line = Line::from(vec![
                Span::raw(if here && focused { "▸ " } else { "  " }),
                Span::raw(item.label()),
            ]);
            lines.push(if here && focused {
                line.style(theme::selected(true))
            } else {
                line
            });
        }
        let first = rows::follow(cursor + 2, lines.len(), usize::from(inner.height));
        rows::draw(inner, buf, None, &lines, first);
    }
}

/// ` Market: open · halted: DYNA`.
fn session_line(state: &State) -> Line<'static> {
    let market = &state.market;
    let (text, style) = if market.game_over {
        ("game over".to_string(), theme::error())
    } else {
        (market.session.to_string(), theme::session(market.session))
    };
    let mut spans = vec![
        Span::styled(" Market: ", theme::muted()),
        Span::styled(text, style),
    ];
    if !market.game_over && market.session == Session::Open {
        let halted: Vec<String> = market
            .symbols
            .iter()
            .filter(|s| s.session != Session::Open)
            .map(|s| format!("{} {}", s.ticker, s.session))
            .collect();
        if !halted.is_empty() {
            spans.push(Span::styled(
                format!(" · {}", halted.join(", ")),
                theme::warn(),
            ));
        }
    }
    Line::from(spans)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn lists_the_actions_with_the_cursor_and_the_session() {
        let mut state = sample::state();
        state.focus = Panel::Admin;
        state.admin_cursor = 4;
        let lines = buffer_lines(&render(Admin(&state), 32, 12));
        assert_eq!(lines[1], "┃ Market: open · DYNA halted   ┃");
        assert_eq!(lines[3], "┃  Open the market             ┃");
        assert_eq!(lines[7], "┃▸ Publish news…               ┃");
        assert_eq!(lines[11], "┗━━━━━━━━━━━━━━━━━━━ Enter run ┛");
    }
}
