//! Whole-screen tests of the Class panel: snapshots of a class under way at 80x24 and
//! 160x48, of joining just opened (what the teacher sees first) and of joining closed; a
//! long roster scrolls to the selected seat; the class's page key shows from the grid and
//! its keys in the help.

use ratatui::Terminal;
use ratatui::backend::TestBackend;

use qraft_client::class::{ClassView, RosterEntry, SeatState};

use super::tests::buffer_lines;
use crate::state::sample_class::{closed, just_opened, teacher, under_way};
use crate::state::{Panel, State};

/// The screen drawn through a `TestBackend` terminal, as text (trailing spaces trimmed).
pub(super) fn screen(state: &State, width: u16, height: u16) -> String {
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

#[test]
fn just_opened_shows_the_code_big_and_how_to_join_at_80x24() {
    let text = screen(&teacher(just_opened(), 0), 80, 24);
    for part in [
        "JOIN CODE",
        "42-tulip-maple",
        "Game   Sample game",
        "Chain  3f9a1c0d2e4b5a69",
        "students run qraft join",
        "By address  qraft join 192.168.1.20:7400",
        "qraft join 10.0.0.5:7400",
        "Voters      3 on this laptop — the game stops when this laptop does",
        "No one yet.",
        "c close joining",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    insta::assert_snapshot!("class_just_opened_80x24", text);
}

#[test]
fn a_class_under_way_at_80x24() {
    let text = screen(&teacher(under_way(), 2), 80, 24);
    for part in [
        "3 attempts refused (wrong code, too many)",
        "2 waiting · 1 admitting · 2 joined · 1 refused · 1 failed · 1 left",
        "▸   3 Chloé",
        "refused by the teacher",
        "the name Emma is taken",
        "a approve",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    insta::assert_snapshot!("class_under_way_80x24", text);
}

#[test]
fn a_class_under_way_at_160x48_has_the_whole_screen() {
    let text = screen(&teacher(under_way(), 6), 160, 48);
    assert!(text.contains("▸   7 Gaby"), "{text}");
    assert!(text.contains("3 attempts refused"), "{text}");
    assert!(
        !text.contains("Market ·"),
        "the grid waits behind the class"
    );
    insta::assert_snapshot!("class_under_way_160x48", text);
}

#[test]
fn joining_closed_at_100x30() {
    let text = screen(&teacher(closed(under_way()), 0), 100, 30);
    assert!(text.contains("joining closed"), "{text}");
    assert!(text.contains("o opens joining again"), "{text}");
    assert!(
        !text.contains("42-tulip-maple"),
        "the old code is gone:\n{text}"
    );
    assert!(text.contains("o reopen joining"), "{text}");
    insta::assert_snapshot!("class_closed_100x30", text);
}

#[test]
fn not_advertised_says_students_type_an_address() {
    let view = ClassView {
        advertised: false,
        ..just_opened()
    };
    let text = screen(&teacher(view, 0), 80, 24);
    assert!(text.contains("✗ not advertised"), "{text}");
    assert!(!text.contains("students run qraft join"), "{text}");
}

#[test]
fn a_long_roster_scrolls_to_the_selected_seat() {
    let mut view = just_opened();
    view.roster = (1..=40)
        .map(|seat| RosterEntry {
            seat,
            name: format!("Student {seat}"),
            from: None,
            state: SeatState::Waiting,
        })
        .collect();
    let text = screen(&teacher(view.clone(), 29), 80, 24);
    assert!(text.contains("▸  30 Student 30"), "{text}");
    assert!(!text.contains("Student 1 "), "{text}");
    let text = screen(&teacher(view, 0), 80, 24);
    assert!(text.contains("▸   1 Student 1 "), "{text}");
    assert!(!text.contains("Student 30"), "{text}");
}

#[test]
fn from_the_grid_the_class_is_a_key_away() {
    let mut s = teacher(under_way(), 0);
    s.focus = Panel::Watch;
    let text = screen(&s, 160, 48);
    assert!(text.contains(" 5 Class "), "{text}");
    assert!(text.lines().last().unwrap().contains("5 class"), "{text}");
    assert!(text.contains("Market ·"), "{text}");
}

#[test]
fn the_help_lists_the_class_keys_only_with_a_class() {
    let mut s = teacher(under_way(), 0);
    s.mode = crate::state::Mode::Help;
    let text = screen(&s, 100, 40);
    assert!(text.contains("a  r  A   approve / refuse / all"), "{text}");
    assert!(text.contains("c  o      close / reopen joining"), "{text}");
    assert!(
        text.contains("v         make its machine a voter"),
        "{text}"
    );
    s.class = None;
    s.focus = Panel::Watch;
    assert!(!screen(&s, 100, 40).contains("reopen joining"));
}

#[test]
fn a_short_screen_keeps_the_code_and_room_for_the_roster() {
    let text = screen(&teacher(under_way(), 2), 80, 16);
    assert!(text.contains("42-tulip-maple"), "{text}");
    assert!(text.contains("▸   3 Chloé"), "{text}");
    // The intro is cut where the roster starts, not left showing through it.
    let text = screen(&teacher(just_opened(), 0), 80, 16);
    let (_, roster) = row_with_text(&text, "Roster");
    assert_eq!(roster.trim_end_matches([' ', '┃']), "┃ Roster", "{text}");
}

fn row_with_text<'a>(text: &'a str, part: &str) -> (usize, &'a str) {
    text.lines()
        .enumerate()
        .find(|(_, l)| l.contains(part))
        .unwrap_or_else(|| panic!("no {part:?} in\n{text}"))
}
