//! The views: the whole screen drawn from a [`State`], nothing else.
//! (Being written: see the helper's task.)

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::widgets::Widget;

use crate::state::State;

impl Widget for &State {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let _ = (area, buf);
    }
}

/// Where the terminal cursor goes while typing (placeholder until the views land).
pub fn cursor(state: &State, area: Rect) -> Option<ratatui::layout::Position> {
    let _ = (state, area);
    None
}
