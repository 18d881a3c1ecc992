//! The Class panel's voters: how many run on this laptop and how many elsewhere, whether
//! the game goes on when this laptop stops, and the latest making of a joined machine into
//! a voter. While this laptop holds most of the votes, closing its lid stops the game: the
//! line says so, and that `v` is the way out.

use ratatui::text::{Line, Span};

use qraft_client::class::{ClassView, PromotionState, PromotionView, VoterView};

use super::class::label;
use super::theme;

/// The narrowest a failed promotion's reason is wrapped to.
const MIN_ROOM: usize = 20;

/// The `Voters` line, then the promotion's if there is one. The voters are drawn only once
/// known (a view from before the service listed them has none).
pub fn lines(view: &ClassView, width: usize) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    if !view.voters.is_empty() {
        lines.push(summary(view, width));
    }
    if let Some(promotion) = &view.promotion {
        lines.extend(promotion_lines(promotion, width));
    }
    lines
}

/// `1 here, 2 elsewhere (ada-4 10.0.0.5:41234) — the game goes on without this laptop`,
/// on one line of at most `width`: what gives way first is the hint for `v`, then the
/// addresses of the voters elsewhere, then their names; the count and what it means for
/// the game stay.
fn summary(view: &ClassView, width: usize) -> Line<'static> {
    let here = view.voters_here();
    let elsewhere: Vec<&VoterView> = view.voters.iter().filter(|v| !v.here).collect();
    let count = match (here, elsewhere.len()) {
        (n, 0) => format!("{n} on this laptop"),
        (0, n) => format!("{n} elsewhere"),
        (here, n) => format!("{here} here, {n} elsewhere"),
    };
    let survives = view.survives_this_laptop();
    let verdict = if survives {
        Span::styled("the game goes on without this laptop", theme::gain())
    } else {
        Span::styled("the game stops when this laptop does", theme::warn())
    };
    let line = |list: String, hint: bool| {
        let mut spans = vec![
            label("Voters"),
            Span::raw(count.clone()),
            Span::styled(list, theme::muted()),
            Span::styled(" — ", theme::muted()),
            verdict.clone(),
        ];
        if hint {
            spans.extend([
                Span::styled(" · ", theme::muted()),
                Span::styled("v", theme::key()),
                Span::styled(
                    " on a joined machine you trust makes it a voter",
                    theme::muted(),
                ),
            ]);
        }
        Line::from(spans)
    };
    let addresses = listed(&elsewhere, |v| format!("{} {}", v.name, v.address));
    let names = listed(&elsewhere, |v| v.name.clone());
    let shortest = line(String::new(), false);
    [
        line(addresses.clone(), !survives),
        line(addresses, false),
        line(names, false),
    ]
    .into_iter()
    .find(|l| l.width() <= width)
    .unwrap_or(shortest)
}

/// ` (ada-4 10.0.0.5:41234, lab-pc-7 10.0.0.9:7811)`, or nothing without voters elsewhere.
fn listed(voters: &[&VoterView], each: impl Fn(&VoterView) -> String) -> String {
    if voters.is_empty() {
        return String::new();
    }
    let all: Vec<String> = voters.iter().map(|v| each(v)).collect();
    format!(" ({})", all.join(", "))
}

/// Where the latest promotion stands: under way (and at which step), done (and which of
/// this laptop's voters stepped down for it, said shorter or not at all where `width` is
/// short), or failed (and why, on as many lines as it takes: the teacher needs all of it).
fn promotion_lines(promotion: &PromotionView, width: usize) -> Vec<Line<'static>> {
    let name = &promotion.name;
    let mut spans = vec![label("")];
    match &promotion.state {
        PromotionState::Working(step) => spans.extend([
            Span::raw(format!("Making {name} a voter: ")),
            Span::styled(format!("{step}…"), theme::muted()),
        ]),
        PromotionState::Done { address, retired } => {
            spans.extend([
                Span::styled(format!("{name}'s machine is a voter"), theme::gain()),
                Span::raw(format!(", at {address}")),
            ]);
            let done = Line::from(spans.clone()).width();
            let retired = retired.map(|node| {
                [
                    format!("; node {node} on this laptop stepped down"),
                    format!("; node {node} here stepped down"),
                ]
            });
            if let Some(note) = retired
                .into_iter()
                .flatten()
                .find(|note| done + note.chars().count() <= width)
            {
                spans.push(Span::styled(note, theme::muted()));
            }
        }
        PromotionState::Failed(reason) => {
            let text = format!("Could not make {name} a voter: {reason}");
            let room = width.saturating_sub(label("").width()).max(MIN_ROOM);
            return wrapped(&text, room)
                .into_iter()
                .map(|part| Line::from(vec![label(""), Span::styled(part, theme::error())]))
                .collect();
        }
    }
    vec![Line::from(spans)]
}

/// `text` cut into lines of at most `room` characters, between words (a word longer than
/// that has a line of its own, cut where the panel ends).
fn wrapped(text: &str, room: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for word in text.split_whitespace() {
        match lines.last_mut() {
            Some(line) if line.chars().count() + 1 + word.chars().count() <= room => {
                line.push(' ');
                line.push_str(word);
            }
            _ => lines.push(word.to_string()),
        }
    }
    lines
}
