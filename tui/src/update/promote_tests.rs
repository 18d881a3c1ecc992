//! `update` on the Class panel's `v`: it asks before making a joined seat's machine a
//! voter, the question saying what it changes for this laptop, and `y` sends the seat; a
//! seat not joined, a voter already, or a promotion under way gets a notice and sends
//! nothing.

use qraft_client::class::{ClassCommand, ClassView, PromotionState, VoterView};

use super::class_tests::{message, run};
use crate::action::Action;
use crate::command::Command;
use crate::state::sample_class::{just_opened, promoting, teacher, under_way, with_voters};
use crate::state::{Mode, NoticeKind, State};

/// What the teacher is asked, while asked.
fn question(state: &State) -> &str {
    assert_eq!(state.mode, Mode::Confirm);
    &state.confirm.as_ref().expect("a question").question
}

/// `under_way()` with `here` voters on this laptop and `elsewhere` other machines' (none
/// of them a seat's: nodes from 101 on).
fn voters(here: u64, elsewhere: u64) -> ClassView {
    let voter = |n: u64| VoterView {
        node: 100 + n,
        name: format!("node{}", 100 + n),
        here: n <= here,
        address: format!("10.0.0.{n}:7800"),
    };
    ClassView {
        voters: (1..=here + elsewhere).map(voter).collect(),
        ..under_way()
    }
}

#[test]
fn v_on_a_joined_seat_asks_first_and_y_makes_it_a_voter() {
    let mut s = teacher(under_way(), 1);
    assert_eq!(run(&mut s, [Action::PromoteSelected]), []);
    assert_eq!(
        question(&s),
        "Make Bruno's machine (seat 2) a voter? Do this only for a machine you control: it \
         will hold the game's record and vote on every block. One of this laptop's voters \
         steps down in its place. One more machine after this one lets the game go on \
         without this laptop."
    );
    assert_eq!(run(&mut s, [Action::Confirm(false)]), []);
    assert_eq!(
        (s.mode, message(&s).1.as_str()),
        (Mode::Normal, "Nothing changed.")
    );
    run(&mut s, [Action::PromoteSelected]);
    assert_eq!(
        run(&mut s, [Action::Confirm(true)]),
        [Command::Class(ClassCommand::Promote(2))]
    );
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "Making Bruno (seat 2) a voter…".into())
    );
}

#[test]
fn the_question_says_what_the_promotion_changes_for_this_laptop() {
    // One voter here, one elsewhere: none steps down, and the game then outlives the laptop.
    let mut s = teacher(voters(1, 1), 0);
    run(&mut s, [Action::PromoteSelected]);
    assert!(
        question(&s).ends_with("vote on every block. Then the game goes on if this laptop stops."),
        "{}",
        question(&s)
    );
    // Five here: one steps down, and it takes two more machines.
    let mut s = teacher(voters(5, 0), 0);
    run(&mut s, [Action::PromoteSelected]);
    assert!(
        question(&s).ends_with(
            "One of this laptop's voters steps down in its place. 2 more machines after this \
             one let the game go on without this laptop."
        ),
        "{}",
        question(&s)
    );
    // The voters not known yet: nothing is said of them.
    let mut s = teacher(voters(0, 0), 0);
    run(&mut s, [Action::PromoteSelected]);
    assert!(
        question(&s).ends_with("vote on every block."),
        "{}",
        question(&s)
    );
}

#[test]
fn only_a_joined_machine_can_be_made_a_voter() {
    let cases = [
        (2, "Chloé (seat 3) is waiting"),
        (3, "Dev (seat 4) was refused already"),
        (7, "Hugo (seat 8) is being admitted already"),
    ];
    for (row, why) in cases {
        let mut s = teacher(under_way(), row);
        assert_eq!(run(&mut s, [Action::PromoteSelected]), [], "row {row}");
        assert_eq!(s.mode, Mode::Normal, "row {row}");
        assert_eq!(
            message(&s),
            (
                NoticeKind::Warning,
                format!("Only a joined machine can be made a voter: {why}.")
            )
        );
    }
    let mut s = teacher(just_opened(), 0);
    assert_eq!(run(&mut s, [Action::PromoteSelected]), []);
    assert_eq!(
        message(&s),
        (NoticeKind::Info, "No one has joined yet.".into())
    );
}

#[test]
fn a_voter_already_is_not_asked_about() {
    let mut s = teacher(with_voters(), 0);
    assert_eq!(run(&mut s, [Action::PromoteSelected]), []);
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(
        message(&s),
        (
            NoticeKind::Info,
            "Alice's machine is a voter already.".into()
        )
    );
}

#[test]
fn one_promotion_at_a_time() {
    let working = PromotionState::Working("waiting for it to catch up".into());
    let mut s = teacher(promoting(under_way(), working), 1);
    assert_eq!(run(&mut s, [Action::PromoteSelected]), []);
    assert_eq!(s.mode, Mode::Normal);
    assert_eq!(
        message(&s),
        (
            NoticeKind::Warning,
            "Wait for it: making Alice a voter is under way (waiting for it to catch up); one \
             machine at a time."
                .into()
        )
    );
    // One that ended, done or failed, is no obstacle.
    let failed = PromotionState::Failed("it did not catch up".into());
    let mut s = teacher(promoting(under_way(), failed), 1);
    run(&mut s, [Action::PromoteSelected]);
    assert!(question(&s).starts_with("Make Bruno's machine (seat 2) a voter?"));
}

#[test]
fn a_promotion_the_class_service_did_not_take_is_an_error_notice() {
    let mut s = teacher(under_way(), 0);
    run(
        &mut s,
        [Action::ClassUnsent {
            command: ClassCommand::Promote(1),
            reason: "the class service is busy".into(),
        }],
    );
    assert_eq!(
        message(&s),
        (
            NoticeKind::Error,
            "Could not make seat 1 a voter: the class service is busy. Try again.".into()
        )
    );
}

#[test]
fn a_promotion_that_ends_says_so_once_in_the_footer() {
    let working = PromotionState::Working("making it a voter".into());
    let mut s = teacher(promoting(under_way(), working.clone()), 1);
    s.say(NoticeKind::Info, "before");
    run(&mut s, [Action::Class(promoting(under_way(), working))]);
    assert_eq!(
        message(&s).1,
        "before",
        "a step under way is on the panel only"
    );
    let done = PromotionState::Done {
        address: "10.0.0.4:7810".into(),
        retired: Some(3),
    };
    run(
        &mut s,
        [Action::Class(promoting(under_way(), done.clone()))],
    );
    assert_eq!(
        message(&s),
        (
            NoticeKind::Info,
            "Alice's machine is a voter now, at 10.0.0.4:7810.".into()
        )
    );
    // The same view again (the roster changed, say) says nothing new.
    s.say(NoticeKind::Info, "something else");
    run(&mut s, [Action::Class(promoting(under_way(), done))]);
    assert_eq!(message(&s).1, "something else");
    let failed = PromotionState::Failed("the voters have no leader now".into());
    run(&mut s, [Action::Class(promoting(under_way(), failed))]);
    assert_eq!(
        message(&s),
        (
            NoticeKind::Error,
            "Could not make Alice a voter: the voters have no leader now.".into()
        )
    );
}
