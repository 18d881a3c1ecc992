//! Game administration: market sessions, participants, symbols, cash, news, the end.

use super::Exchange;
use super::MAX_CASH;
use super::reject::Rejection;
use crate::core::tx::{AdminAction, MAX_NEWS_BYTES, Scope};
use crate::core::types::Session;

/// The session changes an admin can make.
#[derive(Clone, Copy)]
pub(super) enum Transition {
    Open,
    Halt,
    Resume,
    Close,
}

impl Transition {
    /// The new session, or why this transition does not apply from `from`.
    fn apply(self, from: Session, what: &str) -> Result<Session, Rejection> {
        let wrong = |hint: &str| Rejection::WrongState {
            what: what.to_string(),
            state: from.to_string(),
            hint: hint.to_string(),
        };
        let already = |state: &str| Rejection::AlreadyInState {
            what: what.to_string(),
            state: state.to_string(),
        };
        match (self, from) {
            (Transition::Open, Session::Closed) => Ok(Session::Open),
            (Transition::Open, Session::Open) => Err(already("open")),
            (Transition::Open, Session::Halted) => Err(wrong("resume it instead")),
            (Transition::Halt, Session::Open) => Ok(Session::Halted),
            (Transition::Halt, Session::Halted) => Err(already("halted")),
            (Transition::Halt, Session::Closed) => Err(wrong("only an open market can be halted")),
            (Transition::Resume, Session::Halted) => Ok(Session::Open),
            (Transition::Resume, Session::Open) => Err(already("open")),
            (Transition::Resume, Session::Closed) => Err(wrong("open it instead")),
            (Transition::Close, Session::Open | Session::Halted) => Ok(Session::Closed),
            (Transition::Close, Session::Closed) => Err(already("closed")),
        }
    }
}

impl Exchange {
    pub(super) fn apply_admin(&mut self, action: &AdminAction) -> Result<(), Rejection> {
        match action {
            AdminAction::Open(scope) => self.transition(*scope, Transition::Open),
            AdminAction::Halt(scope) => self.transition(*scope, Transition::Halt),
            AdminAction::Resume(scope) => self.transition(*scope, Transition::Resume),
            AdminAction::Close(scope) => self.transition(*scope, Transition::Close),
            AdminAction::AddParticipant(spec) => self.add_participant(spec),
            AdminAction::SuspendParticipant { key } => {
                let index = *self
                    .account_index
                    .get(key)
                    .ok_or(Rejection::UnknownParticipant)?;
                let account = &self.accounts[index as usize];
                if account.role == crate::core::types::Role::Admin {
                    return Err(Rejection::CannotSuspendAdmin);
                }
                if account.suspended {
                    return Err(Rejection::AlreadyInState {
                        what: account.name.clone(),
                        state: "suspended".into(),
                    });
                }
                for slot in self.books.account_orders(index) {
                    self.cancel_slot(slot);
                }
                self.accounts[index as usize].suspended = true;
                self.touch_account(index);
                Ok(())
            }
            AdminAction::ReinstateParticipant { key } => {
                let index = *self
                    .account_index
                    .get(key)
                    .ok_or(Rejection::UnknownParticipant)?;
                let account = &mut self.accounts[index as usize];
                if !account.suspended {
                    return Err(Rejection::AlreadyInState {
                        what: account.name.clone(),
                        state: "active".into(),
                    });
                }
                account.suspended = false;
                self.touch_account(index);
                Ok(())
            }
            AdminAction::RemoveNode { id } => self.remove_node(*id),
            AdminAction::ListSymbol(spec) => self.list_symbol(spec.clone()),
            AdminAction::AdjustCash { key, amount } => {
                let index = *self
                    .account_index
                    .get(key)
                    .ok_or(Rejection::UnknownParticipant)?;
                let account = &mut self.accounts[index as usize];
                let cash = account
                    .cash
                    .checked_add(*amount)
                    .ok_or(Rejection::ValueTooLarge)?;
                if *amount > 0 && cash > MAX_CASH {
                    return Err(Rejection::InvalidSpec(
                        "an account may be given at most 1,000,000,000,000.00 in cash".into(),
                    ));
                }
                if cash < account.cash_reserved || cash < 0 {
                    return Err(Rejection::CashBelowReserved {
                        cash: account.cash,
                        reserved: account.cash_reserved,
                    });
                }
                account.cash = cash;
                account.contributed = account.contributed.saturating_add(*amount);
                self.issued.add_cash(*amount);
                self.touch_account(index);
                Ok(())
            }
            AdminAction::News { headline } => {
                let headline = headline.trim();
                if headline.is_empty() {
                    return Err(Rejection::InvalidSpec("the headline is empty".into()));
                }
                if headline.len() > MAX_NEWS_BYTES {
                    return Err(Rejection::InvalidSpec(format!(
                        "a headline may have at most {MAX_NEWS_BYTES} bytes"
                    )));
                }
                self.publish(None, headline.to_string(), String::new());
                Ok(())
            }
            AdminAction::EndGame => {
                self.cancel_every_order();
                self.session = Session::Closed;
                self.game_over = true;
                Ok(())
            }
            AdminAction::AddNode(spec) => self.add_node(spec),
            AdminAction::SetNodeAddress { id, address } => self.set_node_address(*id, address),
            AdminAction::SetRules(rules) => self.set_rules(rules),
            AdminAction::StartScenario => self.start_scenario(),
            AdminAction::RecordReport { hash } => {
                if !self.game_over {
                    return Err(Rejection::WrongState {
                        what: "the game".into(),
                        state: "still going".into(),
                        hint: "a report is recorded after the game ends".into(),
                    });
                }
                if self.report.is_some() {
                    return Err(Rejection::AlreadyInState {
                        what: "the report".into(),
                        state: "recorded".into(),
                    });
                }
                self.report = Some(*hash);
                Ok(())
            }
        }
    }

    pub(super) fn transition(
        &mut self,
        scope: Scope,
        transition: Transition,
    ) -> Result<(), Rejection> {
        match scope {
            Scope::All => {
                self.session = transition.apply(self.session, "the market")?;
            }
            Scope::Symbol(ticker) => {
                let index = self.symbol_of(ticker)? as usize;
                let symbol = &mut self.symbols[index];
                symbol.session = transition.apply(symbol.session, ticker.as_str())?;
                symbol.dirty = true;
            }
        }
        Ok(())
    }
}
