//! The Class panel's side of `update`: the class service's views coming in, and the
//! teacher's keys going out as [`ClassCommand`]s, each checked against the roster first
//! (a seat is approved or refused only while it waits; making a voter is
//! [`promote`](super::promote)'s).

use qraft_client::class::{ClassCommand, ClassView, RosterEntry, SeatState};

use super::{ask, promote};
use crate::action::Action;
use crate::command::Command;
use crate::state::{ClassState, NoticeKind, OnYes, Panel, State};

/// The class as it is now. The first view opens the Class panel: it is what the teacher
/// sees first.
pub(super) fn show(state: &mut State, view: ClassView) {
    match state.class.as_mut() {
        Some(class) => {
            let before = class.view.promotion.clone();
            class.replace(view);
            if let Some((kind, text)) = promote::ended(before.as_ref(), &class.view) {
                state.say(kind, text);
            }
        }
        None => {
            state.class = Some(ClassState::new(view));
            state.focus = Panel::Class;
        }
    }
}

/// The class service did not take `command`.
pub(super) fn unsent(state: &mut State, command: &ClassCommand, reason: &str) {
    state.say(
        NoticeKind::Error,
        format!("Could not {}: {reason}. Try again.", what(command)),
    );
}

/// A Class panel key.
pub(super) fn key(state: &mut State, action: Action, out: &mut Vec<Command>) {
    let Some(class) = &state.class else {
        return;
    };
    let view = &class.view;
    match action {
        Action::ApproveSelected | Action::RefuseSelected => {
            let approve = action == Action::ApproveSelected;
            match class.selected() {
                None => state.say(NoticeKind::Info, "No one has asked to join yet."),
                Some(seat) if seat.state != SeatState::Waiting => {
                    let text = not_waiting(seat, approve);
                    state.say(NoticeKind::Warning, text);
                }
                Some(seat) => {
                    let command = if approve {
                        ClassCommand::Approve(seat.seat)
                    } else {
                        ClassCommand::Refuse(seat.seat)
                    };
                    send(state, command, out);
                }
            }
        }
        Action::ApproveAllWaiting => {
            if class.waiting() == 0 {
                state.say(NoticeKind::Info, "No one is waiting to be approved.");
            } else {
                send(state, ClassCommand::ApproveAll, out);
            }
        }
        Action::CloseJoining => match &view.code {
            None => state.say(NoticeKind::Info, "Joining is already closed."),
            Some(code) => {
                let question = format!(
                    "Close joining? The code {code} stops working and students still \
                     joining are refused. o opens joining again, with a new code."
                );
                ask(state, question, OnYes::Class(ClassCommand::Close));
            }
        },
        Action::ReopenJoining => match &view.code {
            Some(code) => state.say(
                NoticeKind::Info,
                format!("Joining is open already, with the code {code}."),
            ),
            None => send(state, ClassCommand::Reopen, out),
        },
        Action::PromoteSelected => promote::key(state),
        _ => {}
    }
}

/// Sends `command` to the class service, saying so.
pub(super) fn send(state: &mut State, command: ClassCommand, out: &mut Vec<Command>) {
    let text = doing(state, &command);
    state.say(NoticeKind::Info, text);
    out.push(Command::Class(command));
}

/// `Approving Bob (seat 3)…`.
fn doing(state: &State, command: &ClassCommand) -> String {
    let seat = |seat: u32| {
        let name = state
            .class
            .as_ref()
            .and_then(|c| c.view.roster.iter().find(|e| e.seat == seat))
            .map_or("", |e| e.name.as_str());
        format!("{name} (seat {seat})")
    };
    match command {
        ClassCommand::Approve(n) => format!("Approving {}…", seat(*n)),
        ClassCommand::Refuse(n) => format!("Refusing {}…", seat(*n)),
        ClassCommand::ApproveAll => "Approving everyone waiting…".into(),
        ClassCommand::Close => "Closing joining…".into(),
        ClassCommand::Reopen => "Opening joining with a new code…".into(),
        ClassCommand::Promote(n) => format!("Making {} a voter…", seat(*n)),
    }
}

/// Why a seat that does not wait cannot be approved or refused.
fn not_waiting(seat: &RosterEntry, approve: bool) -> String {
    let verb = if approve { "approve" } else { "refuse" };
    format!(
        "Nothing to {verb}: {} (seat {}) {}; only a waiting seat can be approved or \
         refused.",
        seat.name,
        seat.seat,
        standing(&seat.state)
    )
}

/// Where a seat stands, to finish a sentence about it: `has left`.
pub(super) fn standing(state: &SeatState) -> &'static str {
    match state {
        SeatState::Waiting => "is waiting",
        SeatState::Admitting => "is being admitted already",
        SeatState::Joined { .. } => "has joined already",
        SeatState::Refused { .. } => "was refused already",
        SeatState::Failed { .. } => "could not be registered",
        SeatState::Left => "has left",
    }
}

/// What `command` does, for messages: `approve seat 3`.
fn what(command: &ClassCommand) -> String {
    match command {
        ClassCommand::Approve(seat) => format!("approve seat {seat}"),
        ClassCommand::Refuse(seat) => format!("refuse seat {seat}"),
        ClassCommand::ApproveAll => "approve everyone waiting".into(),
        ClassCommand::Close => "close joining".into(),
        ClassCommand::Reopen => "open joining with a new code".into(),
        ClassCommand::Promote(seat) => format!("make seat {seat} a voter"),
    }
}
