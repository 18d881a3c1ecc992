//! The projector page and the round clock: snapshots of the sample state in round 2 of
//! 3 (see [`sample_scenario`]) at 80x24 and 200x60, the leaderboard hidden, no scenario,
//! and the header's clock.

use qraft_node::core::exchange::schedule::RoundPhase;

use super::header::Header;
use super::news::News;
use super::tests::{buffer_lines, render, screen};
use crate::state::{Mode, sample, sample_scenario};

fn projector() -> crate::state::State {
    let mut s = sample_scenario::state();
    s.projector = true;
    s
}

#[test]
fn projector_at_80x24() {
    let text = screen(&projector(), 80, 24);
    for part in ["t2", "+8.60%", "ACME · ACME beats", "Leaderboard"] {
        assert!(text.contains(part), "{part} missing:\n{text}");
    }
    assert!(!text.contains("mm-bot"), "bots are left out:\n{text}");
    assert!(!text.contains("1 Trade"), "no page tabs:\n{text}");
    insta::assert_snapshot!("projector_80x24", text);
}

#[test]
fn projector_at_200x60() {
    let text = screen(&projector(), 200, 60);
    for ticker in ["ACME", "BOLT", "CHIP", "DYNA"] {
        assert!(text.contains(ticker), "{ticker} missing:\n{text}");
    }
    assert!(!text.contains("mm-bot"), "bots are left out:\n{text}");
    insta::assert_snapshot!("projector_200x60", text);
}

#[test]
fn a_hidden_leaderboard_says_so_big() {
    let mut s = projector();
    s.rules.leaderboard_hidden = true;
    s.market.leaderboard.clear();
    let text = screen(&s, 200, 60);
    assert!(
        text.contains("the teacher hides the leaderboard until the game ends"),
        "{text}"
    );
    let text = screen(&s, 80, 24);
    assert!(text.contains("hides the leaderboard"), "{text}");
    insta::assert_snapshot!("projector_hidden_80x24", text);
    // Too small for big letters: one line.
    let text = screen(&s, 70, 8);
    assert!(text.contains("HIDDEN: the teacher hides"), "{text}");
}

#[test]
fn without_a_scenario_the_page_shows_the_session() {
    let mut s = sample::state();
    s.projector = true;
    let text = screen(&s, 80, 24);
    assert!(text.contains("Sample game"), "{text}");
    assert!(text.contains("Leaderboard"), "{text}");
    // Esc-able: the help still opens over it.
    s.mode = Mode::Help;
    assert!(screen(&s, 80, 24).contains("projector page"));
}

#[test]
fn the_header_shows_the_round_and_its_time_left() {
    let s = sample_scenario::state();
    let text = screen(&s, 80, 24);
    let header = text.lines().next().unwrap();
    assert!(header.contains("R2/3 04:13"), "{header}");
    insta::assert_snapshot!("header_round_clock_80x24", text);
    let wide = buffer_lines(&render(Header(&s), 160, 1))[0].clone();
    assert!(wide.contains("round 2 of 3 · 04:13 left"), "{wide}");
    let mut over = s.clone();
    over.scenario = Some(sample_scenario::scenario(RoundPhase::Closed(2)));
    over.market.game_over = true;
    let line = buffer_lines(&render(Header(&over), 80, 1))[0].clone();
    assert_eq!(
        line.matches("GAME OVER").count() + line.matches("game over").count(),
        1,
        "{line}"
    );
}

#[test]
fn the_news_shows_the_symbol_and_the_newest_story() {
    let s = sample_scenario::state();
    let lines = buffer_lines(&render(News(&s), 50, 12)).join("\n");
    assert!(lines.contains("ACME · ACME beats"), "{lines}");
    assert!(lines.contains("quarterly profit"), "{lines}");
    // Too few rows: the headlines alone.
    let lines = buffer_lines(&render(News(&s), 50, 6)).join("\n");
    assert!(!lines.contains("quarterly profit"), "{lines}");
}
