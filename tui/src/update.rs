//! [`update`]: the one place the state changes. Pure: an action in, the state changed, and
//! the commands for the shell (submit, watch a symbol, quit) out.

mod class;
#[cfg(test)]
mod class_tests;
mod cmd;
mod feed;
mod keys;
mod promote;
#[cfg(test)]
mod promote_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod tests;

use qraft_node::core::tx::TxBody;

use crate::action::Action;
use crate::command::Command;
use crate::describe;
use crate::state::{Mode, NoticeKind, OnYes, Pending, State};

/// Info and success messages leave the status line after this long.
pub const MESSAGE_MS: u64 = 10_000;

/// Applies `action` to `state` and says what the shell must do.
pub fn update(state: &mut State, action: Action) -> Vec<Command> {
    let mut out = Vec::new();
    match action {
        Action::Tick(now) => tick(state, now),
        Action::Quit => {
            state.quitting = true;
            out.push(Command::Quit);
        }
        Action::Market { .. }
        | Action::Depth(_)
        | Action::Candles(..)
        | Action::AllCandles(_)
        | Action::Scenario(_)
        | Action::Account(_)
        | Action::Leaderboard(_)
        | Action::TradesSnapshot(_)
        | Action::NewTrades(_)
        | Action::MyFills(_)
        | Action::News(_)
        | Action::Rules(_)
        | Action::Block(_)
        | Action::Blocks(_)
        | Action::NodeStatus { .. }
        | Action::NodeStopped
        | Action::Committed { .. }
        | Action::SubmitFailed { .. }
        | Action::LookingForReceipt { .. }
        | Action::OutcomeUnknown { .. }
        | Action::Retrying { .. } => feed::apply(state, action, &mut out),
        Action::Class(view) => class::show(state, view),
        Action::ClassUnsent { command, reason } => class::unsent(state, &command, &reason),
        user => keys::apply(state, user, &mut out),
    }
    out
}

fn tick(state: &mut State, now: u64) {
    state.now_ms = now;
    let expired = state.message.as_ref().is_some_and(|m| {
        matches!(m.kind, NoticeKind::Info | NoticeKind::Success)
            && now.saturating_sub(m.at_ms) > MESSAGE_MS
    });
    if expired {
        state.message = None;
    }
}

/// Queues `body` for signing and submission, remembering what it is.
pub(crate) fn submit(state: &mut State, body: TxBody, from_ticket: bool, out: &mut Vec<Command>) {
    let request = state.next_request;
    state.next_request += 1;
    let label = describe::label(&body, |t| state.market.tick_size(t));
    state.say(NoticeKind::Info, format!("Sending: {label}…"));
    if from_ticket {
        state.ticket.pending = Some(request);
        state.ticket.result = None;
    }
    state.pending.insert(
        request,
        Pending {
            body: body.clone(),
            label,
            from_ticket,
        },
    );
    out.push(Command::Submit { request, body });
}

/// Asks before sending `body`.
pub(crate) fn confirm(state: &mut State, question: String, body: TxBody) {
    ask(state, question, OnYes::Submit(body));
}

/// Asks before doing `on_yes`.
pub(crate) fn ask(state: &mut State, question: String, on_yes: OnYes) {
    state.confirm = Some(crate::state::Confirm { question, on_yes });
    state.mode = Mode::Confirm;
}
