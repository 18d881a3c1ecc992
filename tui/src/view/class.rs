//! The Class panel (the teacher's, under `qraft class`): the join code in a box, the
//! game's name and chain prefix, how students reach the game (on the LAN, or by address),
//! the game's voters ([`super::voters`]), and under it the [`roster`](super::roster).

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Modifier;
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_client::class::ClassView;

use super::hints::class as class_hints;
use super::roster::Roster;
use super::{frame, rows, theme, voters};
use crate::state::{Panel, State};

/// The code box's inner width at least, so that a short code still stands out.
const BOX_INNER: usize = 24;
/// Where the game and chain sit when the box leaves room beside it.
const BESIDE: usize = 2;
/// The width of the labels in the left margin (`On the LAN`).
const LABEL: usize = 12;
/// The rows the roster keeps however much the intro has to say.
const ROSTER_ROWS: u16 = 4;

/// The Class panel.
pub struct Class<'a>(pub &'a State);

impl Widget for Class<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let Some(class) = &state.class else {
            return;
        };
        let focused = state.focus == Panel::Class;
        let view = &class.view;
        let (status, style) = match view.code {
            Some(_) => ("joining open", theme::gain()),
            None => ("joining closed", theme::warn()),
        };
        let title = vec![
            Span::raw(Panel::Class.title()),
            Span::styled(" · ", theme::muted()),
            Span::styled(status, style),
        ];
        let hints = class_hints(state);
        let hint = focused.then(|| frame::hint(&hints));
        let inner = frame::draw(area, buf, title, hint, focused);
        if inner.is_empty() {
            return;
        }
        let intro = intro(view, usize::from(inner.width));
        let keep = inner.height.saturating_sub(ROSTER_ROWS).max(3);
        let intro_rows = u16::try_from(intro.len()).unwrap_or(u16::MAX).min(keep);
        rows::draw(
            Rect {
                height: intro_rows.min(inner.height),
                ..inner
            },
            buf,
            None,
            &intro,
            0,
        );
        let roster = Rect {
            y: inner.y + intro_rows.min(inner.height),
            height: inner.height.saturating_sub(intro_rows),
            ..inner
        };
        Roster { class, focused }.render(roster, buf);
    }
}

/// Everything above the roster: the code box beside the game, then how to join and who
/// votes.
fn intro(view: &ClassView, width: usize) -> Vec<Line<'static>> {
    let code_box = code_box(view);
    let box_width = code_box[0].width();
    let game = game_lines(view);
    let beside = game.iter().map(Line::width).max().unwrap_or(0);
    let mut lines = Vec::new();
    if box_width + BESIDE + beside <= width {
        for (mut line, right) in code_box.into_iter().zip(game) {
            line.spans.push(Span::raw(" ".repeat(BESIDE)));
            line.spans.extend(right.spans);
            lines.push(line);
        }
    } else {
        lines.extend(code_box);
        lines.extend(game.into_iter().filter(|l| l.width() > 0));
    }
    lines.extend(how_to_join(view));
    lines.extend(voters::lines(view, width));
    lines.push(Line::raw(""));
    lines
}

/// The join code, in a box of its own: a highlighted block three rows tall, the code in
/// its middle, to be read aloud from across the room.
fn code_box(view: &ClassView) -> [Line<'static>; 5] {
    let (text, style) = match &view.code {
        Some(code) => (code.clone(), theme::key().add_modifier(Modifier::REVERSED)),
        None => (
            "joining closed".to_string(),
            theme::warn().add_modifier(Modifier::BOLD | Modifier::REVERSED),
        ),
    };
    let inner = BOX_INNER.max(text.chars().count() + 8);
    let left = (inner - text.chars().count()) / 2;
    let right = inner - text.chars().count() - left;
    let label = " JOIN CODE ";
    let border = theme::title(true);
    let block = |middle: String| {
        Line::from(vec![
            Span::styled(" │", border),
            Span::styled(middle, style),
            Span::styled("│", border),
        ])
    };
    [
        Line::from(vec![
            Span::styled(" ╭─", border),
            Span::styled(label, theme::header()),
            Span::styled(format!("{}╮", "─".repeat(inner - 1 - label.len())), border),
        ]),
        block(" ".repeat(inner)),
        block(format!("{}{text}{}", " ".repeat(left), " ".repeat(right))),
        block(" ".repeat(inner)),
        Line::styled(format!(" ╰{}╯", "─".repeat(inner)), border),
    ]
}

/// The game's name and chain prefix (students check their screen shows the same), and
/// the attempts refused before a seat (a wrong code, or too many tries).
fn game_lines(view: &ClassView) -> [Line<'static>; 5] {
    let n = view.refused_attempts;
    let attempts = if n == 0 {
        Line::raw("")
    } else {
        Line::from(vec![
            Span::raw("       "),
            Span::styled(
                format!("{n} attempt{} refused", if n == 1 { "" } else { "s" }),
                theme::warn(),
            ),
            Span::styled(" (wrong code, too many)", theme::muted()),
        ])
    };
    [
        Line::raw(""),
        Line::from(vec![
            Span::styled("Game   ", theme::muted()),
            Span::styled(view.game.clone(), theme::bold()),
        ]),
        Line::from(vec![
            Span::styled("Chain  ", theme::muted()),
            Span::styled(view.chain_prefix.clone(), theme::bold()),
        ]),
        Line::styled("       students' screens show the same", theme::muted()),
        attempts,
    ]
}

/// How students reach the game: found on the LAN, or by one of this laptop's addresses.
fn how_to_join(view: &ClassView) -> Vec<Line<'static>> {
    if view.code.is_none() {
        return vec![
            Line::from(vec![
                Span::raw(" "),
                Span::styled("Joining is closed: ", theme::warn()),
                Span::raw("no one new can join, and the last code no longer works."),
            ]),
            Line::from(vec![
                Span::raw(" "),
                Span::styled("o", theme::key()),
                Span::raw(" opens joining again, with a new code."),
            ]),
        ];
    }
    let command = |text: String| Span::styled(text, theme::bold());
    let mut lines = vec![if view.advertised {
        Line::from(vec![
            label("On the LAN"),
            Span::styled("● ", theme::gain()),
            Span::raw("students run "),
            command("qraft join".into()),
            Span::raw(" and type the code"),
        ])
    } else {
        Line::from(vec![
            label("On the LAN"),
            Span::styled("✗ not advertised", theme::warn()),
            Span::raw(" (multicast blocked): students type an address"),
        ])
    }];
    if view.addresses.is_empty() {
        lines.push(Line::from(vec![
            label("By address"),
            Span::styled("no LAN address found on this laptop", theme::warn()),
        ]));
    }
    for (i, address) in view.addresses.iter().enumerate() {
        let margin = if i == 0 { "By address" } else { "" };
        lines.push(Line::from(vec![
            label(margin),
            command(format!("qraft join {address}")),
        ]));
    }
    lines
}

/// A word in the left margin (`On the LAN`), the lines after it lined up.
pub(super) fn label(text: &str) -> Span<'static> {
    Span::styled(format!(" {text:<LABEL$}"), theme::muted())
}
