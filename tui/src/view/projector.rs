//! The projector page (`P`): the game for a classroom's screen, readable from the back
//! of the room. The round and its time left in big characters across the top, the
//! students' leaderboard big (rank, name, return; the bots are left out), every symbol's
//! chart side by side, and the latest headline as a ticker along the bottom. When the
//! teacher hides the leaderboard, the page says so, big, in its place.

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;

use qraft_node::core::exchange::views::LeaderboardRow;
use qraft_node::core::types::Role;

use super::chart::SymbolChart;
use super::{big, frame, header, news, rows, theme};
use crate::format;
use crate::state::scenario::mm_ss;
use crate::state::{RoundClock, State};

/// The projector page.
pub struct Projector<'a>(pub &'a State);

/// The fewest body rows that show the round in big characters.
const BIG_BAND_MIN_HEIGHT: u16 = 16;
/// The fewest rows under the band that also show the charts.
const CHARTS_MIN_REST: u16 = 14;
/// The widest a leaderboard row gets (centred in a wider board).
const ROW_MAX_WIDTH: u16 = 100;
/// Rows a big leaderboard row takes, with the gap under it.
const BIG_ROW: u16 = big::HEIGHT + 1;

impl Widget for Projector<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        if area.is_empty() {
            return;
        }
        let band_rows = if area.height >= BIG_BAND_MIN_HEIGHT {
            BIG_ROW
        } else {
            1
        };
        let [band, rest, ticker] = Layout::vertical([
            Constraint::Length(band_rows),
            Constraint::Fill(1),
            Constraint::Length(1),
        ])
        .areas(area);
        Band(state).render(band, buf);
        if rest.height >= CHARTS_MIN_REST && !state.market.symbols.is_empty() {
            let charts = (rest.height * 2 / 5).max(7);
            let [board, charts] =
                Layout::vertical([Constraint::Fill(1), Constraint::Length(charts)]).areas(rest);
            Board(state).render(board, buf);
            Charts(state).render(charts, buf);
        } else {
            Board(state).render(rest, buf);
        }
        Ticker(state).render(ticker, buf);
    }
}

/// What the band across the top says: big words, a big time, and small words after.
fn band_text(state: &State) -> (String, Option<String>, String) {
    let Some(clock) = state.round_clock() else {
        let (word, _) = header::session(state);
        return (word.to_string(), None, state.game.clone());
    };
    let time = clock.countdown_ms().map(mm_ss);
    let (words, after) = match clock {
        RoundClock::Waiting => (
            "waiting".to_string(),
            "for the teacher to start".to_string(),
        ),
        RoundClock::Break { next: 1, .. } => ("round 1".into(), "opens in".into()),
        RoundClock::Break { next, .. } => ("break".into(), format!("round {next} opens in")),
        RoundClock::Open { round, of, .. } => (format!("round {round}/{of}"), "left".into()),
        RoundClock::RoundsOver => ("rounds over".into(), String::new()),
        RoundClock::GameOver => ("game over".into(), "final scores".into()),
    };
    (words, time, after)
}

/// The round and its time left, big when there is room.
struct Band<'a>(&'a State);

impl Widget for Band<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let (words, time, after) = band_text(state);
        let scenario = state.scenario.as_ref().map(|s| s.name.clone());
        let word_style = theme::header().fg(theme::WARN);
        let time_style = theme::header().fg(theme::ACCENT);
        let time_text = time.clone().unwrap_or_default();
        let big_width = big::width(&words) + 3 + big::width(&time_text);
        let fits =
            area.height >= big::HEIGHT && big::can_draw(&words) && big_width + 2 <= area.width;
        if !fits {
            let mut spans = vec![
                Span::raw(" "),
                Span::styled(words.to_uppercase(), word_style),
            ];
            if let Some(time) = time {
                spans.push(Span::styled(format!("  {time}"), time_style));
            }
            spans.push(Span::styled(format!(" {after}"), theme::bold()));
            Line::from(spans).render(area, buf);
            return;
        }
        let x = area.x + 1;
        big::draw(&words, x, area.y, area, buf, word_style);
        let mut x = x + big::width(&words) + 3;
        if time.is_some() {
            big::draw(&time_text, x, area.y, area, buf, time_style);
            x += big::width(&time_text) + 2;
        }
        let room = usize::from(area.right().saturating_sub(x));
        let small = |y: u16, text: &str, style: Style, buf: &mut Buffer| {
            buf.set_stringn(x, y, format::fit(text, room), room, style);
        };
        small(area.y + 1, &after, theme::bold(), buf);
        if let Some(name) = scenario {
            small(area.y + 2, &name, theme::muted(), buf);
        }
    }
}

/// The students' leaderboard, as big as fits.
struct Board<'a>(&'a State);

impl Widget for Board<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let mut title = vec![Span::raw("Leaderboard")];
        if state.market.game_over {
            title.push(Span::styled(" · final", theme::warn()));
        }
        let inner = frame::draw(area, buf, title, None, false);
        let students: Vec<&LeaderboardRow> = state
            .market
            .leaderboard
            .iter()
            .filter(|r| r.role != Role::Bot)
            .collect();
        if students.is_empty() {
            if state.rules.leaderboard_hidden && !state.market.game_over {
                hidden(inner, buf);
            } else {
                rows::empty(inner, buf, "no rankings yet");
            }
            return;
        }
        // Rows no wider than the eye follows, centred.
        let width = inner.width.min(ROW_MAX_WIDTH);
        let inner = Rect {
            x: inner.x + (inner.width - width) / 2,
            width,
            ..inner
        };
        let big_rows = usize::from(inner.height / BIG_ROW);
        if big_rows >= students.len().min(3) && inner.width >= 40 {
            for (i, row) in students.iter().take(big_rows).enumerate() {
                let y = inner.y + i as u16 * BIG_ROW;
                big_row(row, Rect::new(inner.x, y, inner.width, big::HEIGHT), buf);
            }
        } else {
            // A gap between rows when they all fit with it.
            let spaced = students.len() * 2 <= usize::from(inner.height);
            let step = if spaced { 2 } else { 1 };
            for (i, row) in students.iter().enumerate() {
                let y = inner.y + (i * step) as u16;
                if y >= inner.bottom() {
                    break;
                }
                small_row(row, Rect::new(inner.x, y, inner.width, 1), buf);
            }
        }
    }
}

/// The leaderboard is hidden: `HIDDEN` big, and why under it.
fn hidden(area: Rect, buf: &mut Buffer) {
    let why = "the teacher hides the leaderboard until the game ends";
    let word = "hidden";
    let width = big::width(word);
    let y = area.y + area.height.saturating_sub(big::HEIGHT + 2) / 2;
    if area.height >= big::HEIGHT + 2 && area.width >= width {
        let x = area.x + (area.width - width) / 2;
        big::draw(word, x, y, area, buf, theme::header().fg(theme::WARN));
        let line = Line::styled(why, theme::bold()).centered();
        line.render(Rect::new(area.x, y + big::HEIGHT + 1, area.width, 1), buf);
    } else {
        let line = Line::styled(format!("HIDDEN: {why}"), theme::warn()).centered();
        line.render(Rect::new(area.x, y, area.width, 1), buf);
    }
}

/// The return since the start, as a percentage: `+7.03%`.
fn return_text(row: &LeaderboardRow) -> String {
    format::percent(i128::from(row.return_bps), 10_000).unwrap_or_default()
}

fn rank_style(rank: u32) -> Style {
    let style = Style::new().add_modifier(Modifier::BOLD);
    if rank <= 3 {
        style.fg(theme::WARN)
    } else {
        style
    }
}

/// One student in big characters: rank, name (big when it fits), return.
fn big_row(row: &LeaderboardRow, area: Rect, buf: &mut Buffer) {
    let rank = row.rank.to_string();
    let ret = return_text(row);
    let ret_width = big::width(&ret);
    let rank_x = area.x + 1 + big::width("00").saturating_sub(big::width(&rank));
    big::draw(&rank, rank_x, area.y, area, buf, rank_style(row.rank));
    let name_x = area.x + 1 + big::width("00") + 3;
    let ret_x = area.right().saturating_sub(ret_width + 1);
    let room = ret_x.saturating_sub(name_x + 2);
    if big::can_draw(&row.name) && big::width(&row.name) <= room {
        big::draw(&row.name, name_x, area.y, area, buf, theme::bold());
    } else {
        let name = format::fit(&row.name, usize::from(room));
        buf.set_string(name_x, area.y + 1, name, theme::bold());
    }
    let style = theme::signed(i128::from(row.return_bps)).add_modifier(Modifier::BOLD);
    big::draw(&ret, ret_x, area.y, area, buf, style);
}

/// One student on one line, bold.
fn small_row(row: &LeaderboardRow, area: Rect, buf: &mut Buffer) {
    let ret = return_text(row);
    let name_room = usize::from(area.width).saturating_sub(ret.len() + 8);
    let line = Line::from(vec![
        Span::styled(format!(" {:>3}  ", row.rank), rank_style(row.rank)),
        Span::styled(format::fit(&row.name, name_room), theme::bold()),
    ]);
    line.render(area, buf);
    let style = theme::signed(i128::from(row.return_bps)).add_modifier(Modifier::BOLD);
    Line::styled(format!("{ret} "), style)
        .right_aligned()
        .render(area, buf);
}

/// Every symbol's chart, side by side (as many as keep a readable width).
struct Charts<'a>(&'a State);

/// The narrowest chart worth drawing.
const CHART_MIN_WIDTH: u16 = 18;

impl Widget for Charts<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let most = usize::from((area.width / CHART_MIN_WIDTH).max(1));
        let symbols: Vec<_> = state.market.symbols.iter().take(most).collect();
        let areas = Layout::horizontal(vec![Constraint::Fill(1); symbols.len()]).split(area);
        for (symbol, rect) in symbols.into_iter().zip(areas.iter()) {
            SymbolChart {
                symbol,
                candles: state.market.candles_of(symbol.ticker),
                utc_offset_ms: state.utc_offset_ms,
                focused: false,
                title: "",
            }
            .render(*rect, buf);
        }
    }
}

/// The latest headline, after a `NEWS` label.
struct Ticker<'a>(&'a State);

impl Widget for Ticker<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let label = Span::styled(
            " NEWS ",
            Style::new()
                .fg(theme::ACCENT)
                .add_modifier(Modifier::BOLD | Modifier::REVERSED),
        );
        let mut spans = vec![label, Span::raw(" ")];
        match self.0.market.news.first() {
            Some(item) => spans.extend(news::headline(item).spans),
            None => spans.push(Span::styled("no news yet", theme::muted())),
        }
        Line::from(spans).render(area, buf);
    }
}
