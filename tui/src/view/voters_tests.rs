//! The Class panel's voters: snapshots of voters elsewhere after a promotion at 80x24 and
//! 160x48, and of a promotion under way and one that failed; the line gives way at narrow
//! widths, warns while the game stops with this laptop, and is left out while the voters
//! are not known; a voter's seat says so, and `v` shows only where it can act.

use ratatui::style::Style;
use ratatui::text::Line;

use qraft_client::class::{ClassView, PromotionState};

use super::class_tests::screen;
use super::{theme, voters};
use crate::state::sample_class::{just_opened, promoting, teacher, under_way, with_voters};

/// The style of the span of `line` holding `text`.
fn style_of(line: &Line<'_>, text: &str) -> Style {
    line.spans
        .iter()
        .find(|s| s.content.contains(text))
        .unwrap_or_else(|| panic!("no {text:?} in {line:?}"))
        .style
}

fn text(line: &Line<'_>) -> String {
    line.spans.iter().map(|s| s.content.as_ref()).collect()
}

#[test]
fn voters_elsewhere_and_a_promotion_done_at_80x24() {
    let text = screen(&teacher(with_voters(), 0), 80, 24);
    for part in [
        "Voters      1 here, 2 elsewhere — the game goes on without this laptop",
        "            Bruno's machine is a voter, at 192.168.1.32:40987",
        "▸   1 Alice              192.168.1.31    voter     node 4",
        "    2 Bruno              192.168.1.32    voter     node 5",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    assert!(!text.contains("stepped down"), "no room for it:\n{text}");
    assert!(!text.contains("v voter"), "Alice votes already:\n{text}");
    insta::assert_snapshot!("class_voters_done_80x24", text);
}

#[test]
fn voters_elsewhere_at_160x48_are_listed_with_their_addresses() {
    let text = screen(&teacher(with_voters(), 0), 160, 48);
    assert!(
        text.contains(
            "Voters      1 here, 2 elsewhere (alice-4 192.168.1.31:41234, bruno-5 \
             192.168.1.32:40987) — the game goes on without this laptop"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "Bruno's machine is a voter, at 192.168.1.32:40987; node 2 on this laptop stepped \
             down"
        ),
        "{text}"
    );
    insta::assert_snapshot!("class_voters_done_160x48", text);
}

#[test]
fn a_promotion_under_way_at_80x24() {
    let working = PromotionState::Working("waiting for it to catch up".into());
    let text = screen(&teacher(promoting(under_way(), working), 1), 80, 24);
    for part in [
        "Voters      3 on this laptop — the game stops when this laptop does",
        "            Making Alice a voter: waiting for it to catch up…",
        "▸   2 Bruno              192.168.1.32    joined    node 5",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    assert!(!text.contains("v voter"), "one at a time:\n{text}");
    insta::assert_snapshot!("class_promotion_working_80x24", text);
}

#[test]
fn a_failed_promotion_at_80x24() {
    let failed = PromotionState::Failed("it did not catch up in 60 s; nothing changed".into());
    // The whole reason, on as many lines as it takes.
    let text = screen(&teacher(promoting(under_way(), failed), 0), 80, 24);
    for part in [
        "            Could not make Alice a voter: it did not catch up in 60 s;",
        "            nothing changed",
        "v voter",
    ] {
        assert!(text.contains(part), "{part:?} missing:\n{text}");
    }
    insta::assert_snapshot!("class_promotion_failed_80x24", text);
}

#[test]
fn the_line_gives_way_from_the_hint_to_the_names_but_keeps_what_it_means() {
    // All on this laptop: the hint for `v` where it fits.
    let wide = voters::lines(&just_opened(), 158);
    assert_eq!(
        text(&wide[0]),
        " Voters      3 on this laptop — the game stops when this laptop does · v on a joined \
         machine you trust makes it a voter"
    );
    assert_eq!(
        text(&voters::lines(&just_opened(), 78)[0]),
        " Voters      3 on this laptop — the game stops when this laptop does"
    );
    // Elsewhere: with the addresses, the names only, then the count only.
    let view = with_voters();
    let names = " Voters      1 here, 2 elsewhere (alice-4, bruno-5) — the game goes on without \
                 this laptop";
    assert_eq!(text(&voters::lines(&view, 98)[0]), names);
    assert_eq!(
        text(&voters::lines(&view, 89)[0]),
        " Voters      1 here, 2 elsewhere — the game goes on without this laptop"
    );
    // The voter that stepped down for the last one, said shorter, then not at all.
    let done = |width| text(&voters::lines(&view, width)[1]);
    let bruno = format!("{:13}Bruno's machine is a voter, at 192.168.1.32:40987", "");
    assert_eq!(
        done(98),
        format!("{bruno}; node 2 on this laptop stepped down")
    );
    assert_eq!(done(97), format!("{bruno}; node 2 here stepped down"));
    assert_eq!(done(88), format!("{bruno}; node 2 here stepped down"));
    assert_eq!(done(87), bruno);
    // Too narrow for even that: the shortest, cut where the panel ends.
    let narrow = screen(&teacher(with_voters(), 0), 40, 24);
    assert!(
        narrow.contains("Voters      1 here, 2 elsewhere — the"),
        "{narrow}"
    );
}

#[test]
fn the_game_stopping_with_this_laptop_warns_and_going_on_is_green() {
    let stops = &voters::lines(&just_opened(), 200)[0];
    assert_eq!(style_of(stops, "the game stops"), theme::warn());
    let goes_on = &voters::lines(&with_voters(), 200)[0];
    assert_eq!(style_of(goes_on, "the game goes on"), theme::gain());
    let failed = promoting(with_voters(), PromotionState::Failed("gone".into()));
    let line = &voters::lines(&failed, 200)[1];
    assert_eq!(style_of(line, "Could not make Alice"), theme::error());
}

#[test]
fn no_voters_line_before_the_voters_are_known() {
    let view = ClassView {
        voters: Vec::new(),
        ..just_opened()
    };
    assert_eq!(voters::lines(&view, 78), []);
    let text = screen(&teacher(view, 0), 80, 24);
    assert!(!text.contains("Voters"), "{text}");
    assert!(text.contains("qraft join 10.0.0.5:7400"), "{text}");
}
