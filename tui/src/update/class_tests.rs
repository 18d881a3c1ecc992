//! `update` on the Class panel: the class service's views, moving the selection, each key
//! and the command it sends, and the notices when a key has nothing to act on.

use qraft_client::class::{ClassCommand, SeatState};

use super::update;
use crate::action::Action;
use crate::command::Command;
use crate::state::sample_class::{closed, just_opened, teacher, under_way};
use crate::state::{Mode, NoticeKind, Panel, State, sample};

pub(super) fn run(state: &mut State, actions: impl IntoIterator<Item = Action>) -> Vec<Command> {
    actions.into_iter().flat_map(|a| update(state, a)).collect()
}

pub(super) fn message(state: &State) -> (NoticeKind, String) {
    let m = state.message.clone().expect("a message");
    (m.kind, m.text)
}

fn cursor(state: &State) -> usize {
    state.class.as_ref().expect("a class").cursor
}

#[test]
fn the_first_view_opens_the_class_panel_and_later_ones_keep_the_focus() {
    let mut s = sample::state();
    assert!(!s.panels().contains(&Panel::Class));
    run(&mut s, [Action::Page(5)]);
    assert_eq!(s.focus, Panel::Watch, "no class, no Class page");

    run(&mut s, [Action::Class(just_opened())]);
    assert_eq!(s.focus, Panel::Class, "the teacher sees the class first");
    assert_eq!(s.panels().last(), Some(&Panel::Class));
    run(&mut s, [Action::FocusNext]);
    assert_eq!(s.focus, Panel::Watch, "Tab goes on to the market");
    run(&mut s, [Action::Class(under_way())]);
    assert_eq!(s.focus, Panel::Watch, "a new view does not steal the focus");
    assert_eq!(s.class.as_ref().unwrap().view, under_way());
    run(&mut s, [Action::Page(5)]);
    assert_eq!(s.focus, Panel::Class);
}

#[test]
fn up_and_down_move_the_selection_within_the_roster() {
    let mut s = teacher(under_way(), 0);
    run(&mut s, [Action::Up]);
    assert_eq!(cursor(&s), 0);
    run(&mut s, [Action::Down, Action::Down]);
    assert_eq!(cursor(&s), 2);
    run(&mut s, [Action::End]);
    assert_eq!(cursor(&s), 7);
    run(&mut s, [Action::Down]);
    assert_eq!(cursor(&s), 7, "the last seat stays selected");
    run(&mut s, [Action::Home]);
    assert_eq!(cursor(&s), 0);
    // A view with fewer seats (a new class) keeps the cursor on the roster.
    s.class.as_mut().unwrap().cursor = 7;
    run(&mut s, [Action::Class(just_opened())]);
    assert_eq!(cursor(&s), 0);
}

#[test]
fn approve_and_refuse_send_the_selected_waiting_seat() {
    let mut s = teacher(under_way(), 2);
    assert_eq!(
        run(&mut s, [Action::ApproveSelected]),
        [Command::Class(ClassCommand::Approve(3))]
    );
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "Approving Chloé (seat 3)…".into())
    );
    run(&mut s, [Action::End, Action::Up]);
    assert_eq!(
        run(&mut s, [Action::RefuseSelected]),
        [Command::Class(ClassCommand::Refuse(7))]
    );
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "Refusing Gaby (seat 7)…".into())
    );
    assert_eq!(
        run(&mut s, [Action::ApproveAllWaiting]),
        [Command::Class(ClassCommand::ApproveAll)]
    );
    assert_eq!(s.mode, Mode::Normal, "approving asks nothing");
}

#[test]
fn a_seat_that_does_not_wait_is_neither_approved_nor_refused() {
    let cases = [
        (0, "Alice (seat 1) has joined already"),
        (3, "Dev (seat 4) was refused already"),
        (4, "Emma (seat 5) could not be registered"),
        (5, "Farid (seat 6) has left"),
        (7, "Hugo (seat 8) is being admitted already"),
    ];
    for (row, why) in cases {
        let mut s = teacher(under_way(), row);
        assert_ne!(
            s.class.as_ref().unwrap().selected().unwrap().state,
            SeatState::Waiting
        );
        for (key, verb) in [
            (Action::ApproveSelected, "approve"),
            (Action::RefuseSelected, "refuse"),
        ] {
            assert_eq!(run(&mut s, [key]), [], "row {row}");
            let (kind, text) = message(&s);
            assert_eq!(kind, NoticeKind::Warning);
            assert!(
                text.starts_with(&format!("Nothing to {verb}: {why};")),
                "{text}"
            );
        }
    }
}

#[test]
fn an_empty_roster_or_no_one_waiting_sends_nothing_and_says_why() {
    let mut s = teacher(just_opened(), 0);
    assert_eq!(run(&mut s, [Action::ApproveSelected]), []);
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "No one has asked to join yet.".into())
    );
    assert_eq!(run(&mut s, [Action::ApproveAllWaiting]), []);
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "No one is waiting to be approved.".into())
    );
}

#[test]
fn closing_asks_first_and_reopening_needs_joining_closed() {
    let mut s = teacher(under_way(), 0);
    assert_eq!(run(&mut s, [Action::ReopenJoining]), []);
    assert_eq!(
        message(&s),
        (
            NoticeKind::Info,
            "Joining is open already, with the code 42-tulip-maple.".into()
        )
    );
    assert_eq!(run(&mut s, [Action::CloseJoining]), []);
    assert_eq!(s.mode, Mode::Confirm);
    let question = &s.confirm.as_ref().unwrap().question;
    assert!(
        question.starts_with("Close joining? The code 42-tulip-maple"),
        "{question}"
    );
    assert_eq!(run(&mut s, [Action::Confirm(false)]), []);
    assert_eq!(
        (s.mode, message(&s).1.as_str()),
        (Mode::Normal, "Nothing changed.")
    );
    run(&mut s, [Action::CloseJoining]);
    assert_eq!(
        run(&mut s, [Action::Confirm(true)]),
        [Command::Class(ClassCommand::Close)]
    );

    run(&mut s, [Action::Class(closed(under_way()))]);
    assert_eq!(run(&mut s, [Action::CloseJoining]), []);
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "Joining is already closed.".into())
    );
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(
        run(&mut s, [Action::ReopenJoining]),
        [Command::Class(ClassCommand::Reopen)]
    );
}

#[test]
fn a_command_the_class_service_did_not_take_is_an_error_notice() {
    let mut s = teacher(under_way(), 2);
    run(
        &mut s,
        [Action::ClassUnsent {
            command: ClassCommand::Approve(3),
            reason: "the class service is busy".into(),
        }],
    );
    assert_eq!(
        message(&s),
        (
            NoticeKind::Error,
            "Could not approve seat 3: the class service is busy. Try again.".into()
        )
    );
}

#[test]
fn class_keys_do_nothing_without_a_class() {
    let mut s = sample::state();
    for key in [
        Action::ApproveSelected,
        Action::RefuseSelected,
        Action::ApproveAllWaiting,
        Action::CloseJoining,
        Action::ReopenJoining,
        Action::PromoteSelected,
    ] {
        assert_eq!(run(&mut s, [key]), []);
    }
    assert_eq!((s.mode, s.message.clone()), (Mode::Normal, None));
}
