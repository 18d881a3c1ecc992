//! Running a `:` command line (or a teacher-panel action, which is one).

use qraft_node::core::tx::{AdminAction, ParticipantSpec, TxBody};
use qraft_node::core::types::Side;

use super::keys::watch_selected;
use super::{confirm, submit};
use crate::cmdline::{self, Cmd, SessionOp};
use crate::command::Command;
use crate::state::ticket::{self, OrderInput};
use crate::state::{Mode, NoticeKind, State};

pub(super) fn run_line(state: &mut State, line: &str, out: &mut Vec<Command>) {
    match cmdline::parse(line) {
        Ok(cmd) => run(state, cmd, out),
        Err(why) => state.say(NoticeKind::Error, why),
    }
}

fn run(state: &mut State, cmd: Cmd, out: &mut Vec<Command>) {
    if cmd.is_admin() && !state.is_admin() {
        state.say(
            NoticeKind::Error,
            "Only the game's admin (the teacher) can do that.",
        );
        return;
    }
    match cmd {
        Cmd::Order {
            side,
            symbol,
            quantity,
            price,
            ioc,
        } => order(state, side, symbol, &quantity, &price, ioc, out),
        Cmd::Cancel(id) => submit(state, TxBody::Cancel { order: id }, false, out),
        Cmd::CancelAll(symbol) => submit(state, TxBody::CancelAll { symbol }, false, out),
        Cmd::Symbol(ticker) => match state.market.symbols.iter().position(|s| s.ticker == ticker) {
            Some(index) => {
                if state.market.selected != index {
                    state.market.selected = index;
                    watch_selected(state, out);
                }
            }
            None => state.say(
                NoticeKind::Error,
                format!("there is no symbol {ticker} in this game"),
            ),
        },
        Cmd::Session(op, scope) => {
            let action = match op {
                SessionOp::Open => AdminAction::Open(scope),
                SessionOp::Halt => AdminAction::Halt(scope),
                SessionOp::Resume => AdminAction::Resume(scope),
                SessionOp::Close => AdminAction::Close(scope),
            };
            submit(state, TxBody::Admin(action), false, out);
        }
        Cmd::News(headline) => submit(
            state,
            TxBody::Admin(AdminAction::News { headline }),
            false,
            out,
        ),
        Cmd::AddParticipant {
            name,
            key,
            cash,
            role,
        } => {
            let spec = ParticipantSpec {
                name,
                key,
                role,
                cash,
                holdings: Vec::new(),
            };
            submit(
                state,
                TxBody::Admin(AdminAction::AddParticipant(spec)),
                false,
                out,
            );
        }
        Cmd::Suspend(key) => confirm(
            state,
            format!(
                "Suspend {key}? Every node closes their connections and refuses them, and \
                 their resting orders are cancelled, until you reinstate them."
            ),
            TxBody::Admin(AdminAction::SuspendParticipant { key }),
        ),
        Cmd::Reinstate(key) => submit(
            state,
            TxBody::Admin(AdminAction::ReinstateParticipant { key }),
            false,
            out,
        ),
        Cmd::EndGame => confirm(
            state,
            "End the game? Every order is cancelled, trading stops for good and the \
             leaderboard is frozen."
                .into(),
            TxBody::Admin(AdminAction::EndGame),
        ),
        Cmd::Help => state.mode = Mode::Help,
        Cmd::Quit => {
            state.quitting = true;
            out.push(Command::Quit);
        }
    }
}

fn order(
    state: &mut State,
    side: Side,
    symbol: Option<String>,
    quantity: &str,
    price: &str,
    ioc: bool,
    out: &mut Vec<Command>,
) {
    let symbol = symbol.unwrap_or_else(|| {
        state
            .market
            .selected_ticker()
            .map_or_else(String::new, |t| t.as_str().to_string())
    });
    let input = OrderInput {
        side,
        symbol: &symbol,
        quantity,
        price,
        ioc,
    };
    let checked = ticket::check(input, &state.market, &state.account, &state.rules);
    match checked.order {
        Err(why) => state.say(NoticeKind::Error, why),
        Ok(order) => {
            submit(state, TxBody::Order(order), false, out);
            if let Some(warning) = checked.warnings.first() {
                state.say(NoticeKind::Warning, format!("Sent, but: {warning}"));
            }
        }
    }
}
