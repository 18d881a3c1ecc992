//! Every node of the game: voter or learner, its Raft role, term, the leader it knows,
//! its commit and applied indexes, how far its commit lags, and whether this dashboard
//! reaches it (and when it was last heard). Rows of unreachable nodes are dimmed: their
//! numbers are the last ones heard.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::api::Role;

use super::columns::{Col, Columns};
use super::{frame, rows, theme};
use crate::format;
use crate::state::{NodeRow, Panel, Reach, State};

const COLS: [Col; 11] = [
    Col::left("Node", 6, 0),
    Col::right("Id", 3, 9),
    Col::left("Kind", 7, 4),
    Col::left("Role", 9, 0),
    Col::right("Term", 4, 2),
    Col::left("Leader", 6, 3),
    Col::right("Commit", 6, 1),
    Col::right("Applied", 7, 2),
    Col::right("Lag", 4, 0),
    Col::right("Heard", 5, 1),
    Col::left("Reach", 15, 0).grow(),
];

/// Marks the node this dashboard runs in.
pub const LOCAL: &str = "•";

/// The cluster panel.
pub struct Cluster<'a>(pub &'a State);

impl Widget for Cluster<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let focused = state.focus == Panel::Cluster;
        let nodes = &state.cluster.nodes;
        let down = state.cluster.unreachable().len();
        let mut title = vec![
            Span::raw(Panel::Cluster.title()),
            Span::styled(format!(" · {} nodes", nodes.len()), theme::muted()),
        ];
        if down > 0 {
            title.push(Span::styled(format!(" · {down} down"), theme::error()));
        }
        let legend = frame::hint(&[(LOCAL, "this node")]);
        let inner = frame::draw(area, buf, title, Some(legend), focused);
        if nodes.is_empty() {
            rows::empty(inner, buf, "no nodes");
            return;
        }
        let columns = Columns::new(&COLS, inner.width);
        let reference = state.cluster.reference_commit();
        let lines: Vec<Line<'_>> = nodes
            .iter()
            .map(|n| {
                let local = n.id == state.cluster.local;
                columns.row(
                    Span::styled(if local { LOCAL } else { " " }, theme::key()),
                    cells(state, n, reference),
                )
            })
            .collect();
        rows::draw(inner, buf, Some(columns.header()), &lines, 0);
    }
}

fn role(role: Role) -> &'static str {
    match role {
        Role::Leader => "leader",
        Role::Follower => "follower",
        Role::Candidate => "candidate",
        Role::PreCandidate => "pre-vote",
        Role::Learner => "learner",
    }
}

/// One node's cells, in the order of [`COLS`].
fn cells(state: &State, n: &NodeRow, reference: u64) -> Vec<Span<'static>> {
    let down = matches!(n.reach, Reach::Down(_));
    let style = |s: ratatui::style::Style| if down { theme::stale() } else { s };
    let kind = if n.voter { "voter" } else { "learner" };
    let heard = n.heard_ms.map_or_else(
        || "—".to_string(),
        |at| {
            let ago = state.now_ms.saturating_sub(at);
            if ago < 1_000 {
                "now".to_string()
            } else {
                format::duration_ms(ago)
            }
        },
    );
    let (reach, reach_style) = match &n.reach {
        Reach::Up => ("up".to_string(), theme::gain()),
        Reach::Down(why) => (format!("down: {why}"), theme::error()),
        Reach::Unknown => ("unknown".to_string(), theme::muted()),
    };
    let name = Span::styled(n.name.clone(), style(theme::bold()));
    let id = Span::styled(n.id.to_string(), style(theme::muted()));
    let kind = Span::styled(kind, style(theme::muted()));
    let heard = Span::styled(heard, style(theme::plain()));
    let reach = Span::styled(reach, reach_style);
    let Some(s) = &n.status else {
        let none = || Span::styled("—", theme::muted());
        return vec![
            name,
            id,
            kind.clone(),
            Span::styled(kind.content, theme::muted()),
            none(),
            none(),
            none(),
            none(),
            none(),
            heard,
            reach,
        ];
    };
    let role_style = if s.role == Role::Leader {
        theme::key()
    } else {
        theme::plain()
    };
    let lag = reference.saturating_sub(s.commit_index);
    let lag_style = if lag > 0 {
        theme::warn()
    } else {
        theme::plain()
    };
    vec![
        name,
        id,
        kind,
        Span::styled(role(s.role), style(role_style)),
        Span::styled(s.term.to_string(), style(theme::plain())),
        Span::styled(
            s.leader
                .map_or_else(|| "—".to_string(), |l| state.cluster.name_of(l)),
            style(theme::plain()),
        ),
        Span::styled(
            format::count(i128::from(s.commit_index)),
            style(theme::plain()),
        ),
        Span::styled(
            format::count(i128::from(s.applied_index)),
            style(theme::plain()),
        ),
        Span::styled(format::count(i128::from(lag)), style(lag_style)),
        heard,
        reach,
    ]
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render, row_with};

    #[test]
    fn an_unreachable_node_shows_why_and_is_dimmed() {
        let state = sample::state();
        let buf = render(Cluster(&state), 70, 6);
        assert_eq!(
            buffer_lines(&buf),
            [
                "╭ Cluster · 3 nodes · 1 down ────────────────────────────────────────╮",
                "│ Node   Role      Term Commit Applied  Lag Heard Reach              │",
                "│•node1  leader       3    310     310    0   now up                 │",
                "│ node2  follower     3    310     308    0   now up                 │",
                "│ node3  follower     3    290     290   20  7.0s down: timed out    │",
                "╰─────────────────────────────────────────────────────── • this node ╯",
            ]
        );
        assert!(buf[(2, 4)].modifier.contains(Modifier::DIM), "node3 dimmed");
        assert!(!buf[(2, 3)].modifier.contains(Modifier::DIM), "node2 not");
        assert_eq!(buf[(50, 4)].fg, theme::LOSS, "the reason in red");
    }

    #[test]
    fn a_wide_panel_shows_every_column() {
        let mut state = sample::state();
        state.cluster.nodes[1].reach = Reach::Down("connection refused".into());
        state.cluster.nodes[1].status = None;
        let lines = buffer_lines(&render(Cluster(&state), 100, 6));
        assert_eq!(
            lines[1],
            "│ Node    Id Kind    Role      Term Leader Commit Applied  Lag Heard Reach                         │"
        );
        let (_, node2) = row_with(&lines, "node2");
        assert_eq!(
            node2,
            "│ node2    2 voter   voter        — —           —       —    —   now down: connection refused      │"
        );
    }
}
