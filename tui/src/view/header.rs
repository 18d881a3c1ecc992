//! The top line: who and where (title, game, me), the exchange's session, the scenario's
//! round and its time left, the chain's height and the leader; a banner when the node is
//! gone. Less important parts are left out on a narrow terminal.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::types::Session;

use super::theme;
use crate::state::{Reach, RoundClock, State};

/// The header line.
pub struct Header<'a>(pub &'a State);

/// One part of the header and how readily it goes (higher: sooner).
struct Part<'a> {
    spans: Vec<Span<'a>>,
    drop: u8,
}

impl Part<'_> {
    fn width(&self) -> usize {
        self.spans.iter().map(|s| s.width()).sum()
    }
}

const SEPARATOR: &str = " │ ";
const SEPARATOR_WIDTH: usize = 3;

/// Why the dashboard hears nothing, if it does not.
pub fn banner(state: &State) -> Option<&'static str> {
    if state.cluster.stopped {
        Some("node stopped")
    } else if state
        .cluster
        .row(state.cluster.local)
        .is_some_and(|r| matches!(r.reach, Reach::Down(_)))
    {
        Some("connection lost")
    } else if state
        .cluster
        .local_status()
        .is_some_and(|s| s.leader.is_none())
    {
        // Cut off from the cluster, or an election under way: orders wait.
        Some("no leader: reconnecting")
    } else {
        None
    }
}

/// The exchange's session in a word, and its style.
pub fn session(state: &State) -> (&'static str, ratatui::style::Style) {
    if state.market.game_over {
        return ("GAME OVER", theme::banner());
    }
    if !state.market.loaded {
        return ("connecting…", theme::muted());
    }
    let s = state.market.session;
    let word = match s {
        Session::Open => "Open",
        Session::Halted => "Halted",
        Session::Closed => "Closed",
    };
    (word, theme::session(s))
}

/// Below this width the round clock is the short one (`R2/3 04:12`).
const FULL_CLOCK_WIDTH: u16 = 120;

/// The round clock, in the header's styles: the round open in the accent colour, a
/// break or the end in yellow.
pub fn round_spans(state: &State, compact: bool) -> Option<Vec<Span<'static>>> {
    let clock = state.round_clock()?;
    let text = if compact {
        clock.compact()
    } else {
        clock.text()
    };
    let style = match clock {
        RoundClock::Open { .. } => theme::header().fg(theme::ACCENT),
        RoundClock::GameOver => theme::banner(),
        _ => theme::header().fg(theme::WARN),
    };
    Some(vec![Span::styled(text, style)])
}

fn parts(state: &State, width: u16) -> Vec<Part<'_>> {
    let mut parts = vec![Part {
        spans: vec![
            Span::styled("QRaft", theme::header().fg(theme::ACCENT)),
            Span::styled(format!(" {}", state.title), theme::header()),
        ],
        drop: 0,
    }];
    if let Some(text) = banner(state) {
        parts.push(Part {
            spans: vec![Span::styled(format!(" {text} "), theme::banner())],
            drop: 0,
        });
    }
    parts.push(Part {
        spans: vec![Span::styled(state.game.clone(), theme::header())],
        drop: 6,
    });
    let role = state
        .account
        .view
        .as_ref()
        .map_or(state.me.role, |a| a.role);
    parts.push(Part {
        spans: vec![
            Span::styled(state.me.name.clone(), theme::header()),
            Span::styled(format!(" {role}"), theme::muted()),
        ],
        drop: 3,
    });
    let (word, style) = session(state);
    // The round clock says "game over" itself.
    let clock = round_spans(state, width < FULL_CLOCK_WIDTH);
    if clock.is_none() || !state.market.game_over {
        parts.push(Part {
            spans: vec![Span::styled(word, style)],
            drop: 1,
        });
    }
    if let Some(spans) = clock {
        parts.push(Part { spans, drop: 1 });
    }
    let height = state
        .chain
        .head()
        .map(|b| b.height)
        .or_else(|| state.cluster.local_status().map(|s| s.height));
    if let Some(height) = height {
        parts.push(Part {
            spans: vec![
                Span::styled("block ", theme::muted()),
                Span::styled(height.to_string(), theme::header()),
            ],
            drop: 2,
        });
    }
    let leader = state.cluster.leader().map(|id| state.cluster.name_of(id));
    parts.push(Part {
        spans: vec![
            Span::styled("leader ", theme::muted()),
            match leader {
                Some(name) => Span::styled(name, theme::header()),
                None => Span::styled("none", theme::warn()),
            },
        ],
        drop: 4,
    });
    if let Some(status) = state.cluster.local_status() {
        parts.push(Part {
            spans: vec![
                Span::styled("term ", theme::muted()),
                Span::styled(status.term.to_string(), theme::header()),
            ],
            drop: 5,
        });
    }
    parts
}

impl Widget for Header<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let mut parts = parts(self.0, area.width);
        let width = usize::from(area.width);
        let need = |parts: &[Part<'_>]| {
            1 + parts.iter().map(Part::width).sum::<usize>()
                + SEPARATOR_WIDTH * parts.len().saturating_sub(1)
        };
        while parts.len() > 1 && need(&parts) > width {
            let worst = parts
                .iter()
                .enumerate()
                .max_by_key(|(at, p)| (p.drop, *at))
                .map_or(0, |(at, _)| at);
            parts.remove(worst);
        }
        let mut spans = vec![Span::raw(" ")];
        for (i, part) in parts.into_iter().enumerate() {
            if i > 0 {
                spans.push(Span::styled(SEPARATOR, theme::muted()));
            }
            spans.extend(part.spans);
        }
        Line::from(spans).render(area, buf);
    }
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn says_who_where_and_how_the_market_is() {
        let mut state = sample::state();
        let buf = render(Header(&state), 80, 1);
        assert_eq!(
            buffer_lines(&buf)[0].trim_end(),
            " QRaft demo │ Sample game │ t0 trader │ Open │ block 52 │ leader node1 │ term 3"
        );
        assert!(buf[(1, 0)].modifier.contains(Modifier::BOLD));
        assert_eq!(buf[(41, 0)].fg, theme::GAIN, "Open is green");
        state.market.session = Session::Halted;
        let buf = render(Header(&state), 80, 1);
        // Longer: the game's name makes room.
        let line = buffer_lines(&buf)[0].clone();
        assert_eq!(
            line.trim_end(),
            " QRaft demo │ t0 trader │ Halted │ block 52 │ leader node1 │ term 3"
        );
        assert_eq!(buf[(27, 0)].fg, theme::WARN);
        state.market.game_over = true;
        assert!(buffer_lines(&render(Header(&state), 80, 1))[0].contains("│ GAME OVER │"));
    }

    /// The dashboard's own node's row of the cluster panel.
    fn local_row(state: &mut State) -> &mut crate::state::NodeRow {
        let local = state.cluster.local;
        state
            .cluster
            .nodes
            .iter_mut()
            .find(|n| n.id == local)
            .unwrap()
    }

    #[test]
    fn a_node_cut_off_from_the_cluster_says_so() {
        let mut state = sample::state();
        local_row(&mut state).status.as_mut().unwrap().leader = None;
        let line = buffer_lines(&render(Header(&state), 100, 1))[0].clone();
        assert!(line.contains("│  no leader: reconnecting  │"), "{line}");
        local_row(&mut state).reach = Reach::Down("no answer within 2s".into());
        let line = buffer_lines(&render(Header(&state), 100, 1))[0].clone();
        assert!(line.contains("│  connection lost  │"), "{line}");
    }

    #[test]
    fn a_narrow_header_keeps_the_important_parts() {
        let mut state = sample::state();
        state.cluster.stopped = true;
        let line = buffer_lines(&render(Header(&state), 50, 1))[0].clone();
        assert_eq!(
            line.trim_end(),
            " QRaft demo │  node stopped  │ Open │ block 52"
        );
    }
}
