//! The block feed: each committed block's height, time, transactions, hash and proposer;
//! blocks holding my transactions show how many and how long they took from submit to
//! commit.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{BlockLine, Panel, State};

const COLS: [Col; 6] = [
    Col::right("Height", 7, 0),
    Col::left("Time", 8, 1),
    Col::right("Txs", 4, 0),
    Col::left("Hash", 9, 3),
    Col::left("Proposer", 8, 2),
    Col::left("Mine", 12, 1).grow(),
];

/// The blocks panel.
pub struct Blocks<'a>(pub &'a State);

impl Widget for Blocks<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Blocks;
        let blocks = &state.chain.blocks;
        let mut title = vec![Span::raw(Panel::Blocks.title())];
        if let Some(head) = state.chain.head() {
            title.push(Span::styled(format!(" · #{}", head.height), theme::muted()));
        }
        let inner = frame::draw(area, buf, title, None, focused);
        if blocks.is_empty() {
            rows::empty(inner, buf, "no blocks yet");
            return;
        }
        let columns = Columns::new(&COLS, inner.width);
        let lines: Vec<Line<'_>> = blocks
            .iter()
            .map(|b| {
                let line = columns.row(Span::raw(" "), cells(state, b));
                if b.mine > 0 {
                    line.style(theme::bold())
                } else {
                    line
                }
            })
            .collect();
        let first = rows::clamp(state.scrolls.blocks, lines.len(), rows::room(inner, true));
        rows::draw(inner, buf, Some(columns.header()), &lines, first);
    }
}

fn cells(state: &State, b: &BlockLine) -> Vec<Span<'static>> {
    let hash: String = b.hash.chars().take(8).collect();
    vec![
        Span::raw(format!("#{}", b.height)),
        Span::styled(
            format::clock(b.timestamp_ms, state.utc_offset_ms),
            theme::muted(),
        ),
        Span::raw(b.tx_count.to_string()),
        Span::styled(hash, theme::muted()),
        Span::raw(state.cluster.name_of(b.proposer)),
        Span::styled(mine(state, b), theme::key()),
    ]
}

/// `1 tx 96ms`, `2 txs 183ms 210ms`, or nothing.
pub fn mine(state: &State, b: &BlockLine) -> String {
    if b.mine == 0 {
        return String::new();
    }
    let mut text = format!("{} {}", b.mine, if b.mine == 1 { "tx" } else { "txs" });
    if let Some(times) = state.chain.my_latency.get(&b.height) {
        for ms in times.iter().take(3) {
            text.push(' ');
            text.push_str(&format::duration_ms(*ms));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render, row_with};

    #[test]
    fn my_blocks_show_my_commit_times() {
        let state = sample::state();
        let lines = buffer_lines(&render(Blocks(&state), 70, 12));
        assert_eq!(
            lines[1],
            "│  Height Time      Txs Hash      Proposer Mine                      │"
        );
        assert_eq!(
            row_with(&lines, "#52 22:15").1,
            "│     #52 22:15:20    3 06556473  node1    1 tx 96ms                 │"
        );
        assert!(row_with(&lines, " #47 ").1.contains("1 tx 183ms"));
        assert!(!row_with(&lines, " #48 ").1.contains("tx"));
    }
}
