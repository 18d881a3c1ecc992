//! Whole-screen tests: snapshots of the sample state at 80x24 (each page, the help, the
//! command line, a ticket with a bad price) and 160x48 (every panel), and no panic at any
//! size. Helpers for the panels' own tests.

use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;

use qraft_node::core::tx::TxBody;
use qraft_node::core::types::{Role, Side};

use crate::state::{
    Confirm, Field, Mode, Notice, NoticeKind, OnYes, Panel, Reach, State, sample, sample_class,
};

/// The buffer's text, one string per row (styles left out).
pub fn buffer_lines(buf: &Buffer) -> Vec<String> {
    let area = buf.area;
    (area.top()..area.bottom())
        .map(|y| {
            let mut line = String::new();
            let mut skip = 0;
            for x in area.left()..area.right() {
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let symbol = buf[(x, y)].symbol();
                skip = ratatui::text::Span::raw(symbol).width().saturating_sub(1);
                line.push_str(symbol);
            }
            line
        })
        .collect()
}

/// A widget drawn alone into a `width` x `height` buffer.
pub fn render(widget: impl Widget, width: u16, height: u16) -> Buffer {
    let area = Rect::new(0, 0, width, height);
    let mut buf = Buffer::empty(area);
    widget.render(area, &mut buf);
    buf
}

/// The row of `lines` containing `text`.
pub fn row_with<'a>(lines: &'a [String], text: &str) -> (usize, &'a str) {
    lines
        .iter()
        .enumerate()
        .find(|(_, l)| l.contains(text))
        .map(|(i, l)| (i, l.as_str()))
        .unwrap_or_else(|| panic!("no line with {text:?} in\n{}", lines.join("\n")))
}

/// The screen drawn through a `TestBackend` terminal, as text (trailing spaces trimmed).
pub fn screen(state: &State, width: u16, height: u16) -> String {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).unwrap();
    terminal
        .draw(|frame| frame.render_widget(state, frame.area()))
        .unwrap();
    buffer_lines(terminal.backend().buffer())
        .iter()
        .map(|l| l.trim_end())
        .collect::<Vec<_>>()
        .join("\n")
}

fn focused(panel: Panel) -> State {
    let mut s = sample::state();
    s.focus = panel;
    s
}

/// The ticket being filled in: 20 BOLT at $15.02, not a whole number of 5-cent ticks.
fn bad_ticket() -> State {
    let mut s = focused(Panel::Ticket);
    s.mode = Mode::Ticket;
    s.ticket.symbol = "BOLT".into();
    s.ticket.quantity = "20".into();
    s.ticket.price = "15.02".into();
    s.ticket.field = Field::Price;
    s
}

fn admin() -> State {
    let mut s = focused(Panel::Admin);
    s.me.role = Role::Admin;
    if let Some(view) = s.account.view.as_mut() {
        view.role = Role::Admin;
    }
    s.admin_cursor = 1;
    s
}

#[test]
fn page_1_trade_at_80x24() {
    let text = screen(&sample::state(), 80, 24);
    assert!(text.contains("▸ACME       12.50   +0.50  +4.17%"), "{text}");
    insta::assert_snapshot!("page_1_trade_80x24", text);
}

#[test]
fn page_2_market_at_80x24() {
    let text = screen(&focused(Panel::Chart), 80, 24);
    assert!(
        text.contains("Chart · ACME") && text.contains("22:14:20 BOLT"),
        "{text}"
    );
    insta::assert_snapshot!("page_2_market_80x24", text);
}

#[test]
fn page_3_account_at_80x24() {
    let text = screen(&focused(Panel::Portfolio), 80, 24);
    assert!(text.contains("+$1,195.00  +7.03%"), "{text}");
    insta::assert_snapshot!("page_3_account_80x24", text);
}

#[test]
fn page_4_chain_at_80x24() {
    let text = screen(&focused(Panel::Blocks), 80, 24);
    assert!(
        text.contains("down: timed out") && !text.contains("Teacher"),
        "{text}"
    );
    insta::assert_snapshot!("page_4_chain_80x24", text);
}

#[test]
fn page_4_with_the_teacher_panel_for_the_admin() {
    let text = screen(&admin(), 80, 24);
    assert!(text.contains("▸ Halt trading"), "{text}");
    insta::assert_snapshot!("page_4_admin_80x24", text);
}

#[test]
fn every_panel_at_160x48() {
    let text = screen(&focused(Panel::Book), 160, 48);
    for panel in Panel::ORDER
        .iter()
        .filter(|p| !matches!(p, Panel::Admin | Panel::Class))
    {
        assert!(
            text.contains(panel.title()),
            "{} missing:\n{text}",
            panel.title()
        );
    }
    assert!(!text.contains("1 Trade"), "no page tabs when all is shown");
    insta::assert_snapshot!("all_panels_160x48", text);
}

#[test]
fn help_overlay_at_80x24() {
    let mut s = sample::state();
    s.mode = Mode::Help;
    let text = screen(&s, 80, 24);
    assert!(text.contains("cancel all my orders") && text.contains("buy ACME 10 @ 12.50"));
    insta::assert_snapshot!("help_80x24", text);
}

#[test]
fn command_line_at_80x24() {
    let mut s = sample::state();
    s.mode = Mode::Command;
    s.prompt.open("buy ACME 10 @ 12.50");
    let text = screen(&s, 80, 24);
    assert_eq!(text.lines().last(), Some(":buy ACME 10 @ 12.50"));
    insta::assert_snapshot!("command_line_80x24", text);
    let area = Rect::new(0, 0, 80, 24);
    assert_eq!(super::cursor(&s, area), Some(Position::new(20, 23)));
    s.prompt.home();
    assert_eq!(super::cursor(&s, area), Some(Position::new(1, 23)));
}

#[test]
fn ticket_with_an_invalid_price_at_80x24() {
    let s = bad_ticket();
    let text = screen(&s, 80, 24);
    assert!(
        text.contains("✗ $15.02 is not a whole number of BOLT's ticks"),
        "{text}"
    );
    insta::assert_snapshot!("ticket_invalid_price_80x24", text);
    // The cursor sits after "15.02" in the price box.
    let at = super::cursor(&s, Rect::new(0, 0, 80, 24)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let row: Vec<char> = lines[usize::from(at.y)].chars().collect();
    let before: String = row[..usize::from(at.x)].iter().collect();
    assert!(before.ends_with("Price [15.02"), "{before:?}");
}

#[test]
fn confirm_box_at_80x24() {
    let mut s = focused(Panel::Orders);
    s.mode = Mode::Confirm;
    s.confirm = Some(Confirm {
        question: "Cancel order #42: sell 50 ACME @ $12.60?".into(),
        on_yes: OnYes::Submit(TxBody::Cancel { order: 42 }),
    });
    let text = screen(&s, 80, 24);
    assert!(text.contains("Cancel order #42: sell 50 ACME @ $12.60?"));
    assert!(text.contains("y yes    n no"));
    assert_eq!(super::cursor(&s, Rect::new(0, 0, 80, 24)), None);
}

#[test]
fn the_status_message_replaces_nothing_but_comes_first() {
    let mut s = sample::state();
    s.message = Some(Notice::new(NoticeKind::Error, "rejected: market halted", 0));
    let text = screen(&s, 80, 24);
    let last = text.lines().last().unwrap();
    assert!(last.starts_with(" rejected: market halted"), "{last}");
}

#[test]
fn a_banner_says_when_the_node_is_gone() {
    let mut s = sample::state();
    assert!(!screen(&s, 80, 24).contains("connection lost"));
    s.cluster.nodes[0].reach = Reach::Down("refused".into());
    assert!(
        screen(&s, 80, 24)
            .lines()
            .next()
            .unwrap()
            .contains(" connection lost ")
    );
    s.cluster.stopped = true;
    assert!(
        screen(&s, 80, 24)
            .lines()
            .next()
            .unwrap()
            .contains(" node stopped ")
    );
}

#[test]
fn the_ticket_page_shows_while_the_ticket_is_filled_in() {
    let mut s = bad_ticket();
    s.focus = Panel::News;
    let text = screen(&s, 80, 24);
    assert!(text.contains("Order ticket") && !text.contains("News"));
}

/// Every state the screen can be in, for the size sweep.
fn variety() -> Vec<State> {
    let mut out = Vec::new();
    for panel in [
        Panel::Watch,
        Panel::Book,
        Panel::Chart,
        Panel::News,
        Panel::Cluster,
    ] {
        out.push(focused(panel));
    }
    out.push(bad_ticket());
    out.push(admin());
    let mut help = sample::state();
    help.mode = Mode::Help;
    out.push(help);
    let mut command = sample::state();
    command.mode = Mode::Command;
    command.prompt.open(&"buy ACME 10 @ 12.50 ".repeat(8));
    out.push(command);
    let mut confirm = sample::state();
    confirm.mode = Mode::Confirm;
    confirm.confirm = Some(Confirm {
        question: "End the game? Scores freeze and no more orders are accepted.".into(),
        on_yes: OnYes::Submit(TxBody::Cancel { order: 1 }),
    });
    out.push(confirm);
    // Nothing heard from the node yet, with the scrolls far past the end.
    let genesis = sample::genesis();
    let mut empty = State::new(&genesis, sample::me(), 1, "empty".into());
    empty.scrolls.tape = 999;
    empty.scrolls.news = 999;
    empty.market.book_cursor = 999;
    empty.cluster.stopped = true;
    out.push(empty);
    let mut scrolled = focused(Panel::Book);
    scrolled.market.book_cursor = 999;
    scrolled.account.cursor = 999;
    scrolled.scrolls.tape = 999;
    scrolled.scrolls.news = 999;
    scrolled.scrolls.blocks = 999;
    scrolled.scrolls.leaders = 999;
    scrolled.scrolls.portfolio = 999;
    scrolled.ticket.side = Side::Sell;
    scrolled.ticket.symbol = "a-very-long-symbol".into();
    out.push(scrolled);
    // The teacher's class: under way with the cursor past the end, closed, just opened,
    // and behind the grid.
    out.push(sample_class::teacher(sample_class::under_way(), 999));
    let mut closed = sample_class::closed(sample_class::under_way());
    closed.game = "a game with a very long name indeed, longer than any screen".into();
    closed.addresses.clear();
    out.push(sample_class::teacher(closed, 0));
    out.push(sample_class::teacher(sample_class::just_opened(), 0));
    let mut behind = sample_class::teacher(sample_class::under_way(), 0);
    behind.focus = Panel::Watch;
    out.push(behind);
    out
}

#[test]
fn no_panic_at_any_size() {
    let states = variety();
    let mut sizes: Vec<(u16, u16)> = Vec::new();
    for w in 0..=40 {
        for h in 0..=12 {
            sizes.push((w, h));
        }
    }
    for w in (41..=200).step_by(7) {
        for h in (13..=60).step_by(5) {
            sizes.push((w, h));
        }
    }
    sizes.extend([
        (119, 35),
        (120, 36),
        (80, 24),
        (10, 3),
        (1, 1),
        (500, 3),
        (3, 200),
    ]);
    for state in &states {
        for &(w, h) in &sizes {
            let area = Rect::new(0, 0, w, h);
            let mut buf = Buffer::empty(area);
            state.render(area, &mut buf);
            if let Some(at) = super::cursor(state, area) {
                assert!(area.contains(at), "cursor {at:?} outside {area:?}");
            }
        }
    }
    // An area not at the origin, inside a larger buffer.
    let mut buf = Buffer::empty(Rect::new(0, 0, 90, 30));
    states[0].render(Rect::new(5, 3, 80, 24), &mut buf);
    assert!(buffer_lines(&buf)[3].starts_with("      QRaft"));
}
