//! The keys worth showing on the bottom line, for the mode and the focused panel.

use qraft_client::class::{PromotionState, RosterEntry, SeatState};

use crate::state::{Mode, Panel, State};

/// A key and what it does.
pub type Hint = (&'static str, &'static str);

/// The hints for now, most useful first.
pub fn hints(state: &State) -> Vec<Hint> {
    match state.mode {
        Mode::Ticket => vec![
            ("Tab/↑↓", "field"),
            ("Space/←→", "side, IOC"),
            ("Enter", "send"),
            ("Esc", "close"),
        ],
        Mode::Help => vec![("Esc", "close help")],
        Mode::Confirm => vec![("y", "yes"), ("n", "no"), ("Esc", "no")],
        Mode::Command => vec![("Enter", "run"), ("↑↓", "history"), ("Esc", "cancel")],
        Mode::Normal if state.projector => vec![
            ("P/Esc", "back to the panels"),
            (if state.class.is_some() { "1-5" } else { "1-4" }, "page"),
            ("?", "help"),
            ("q", "quit"),
        ],
        Mode::Normal => {
            let mut out = panel(state);
            if state.class.is_some() && state.focus != Panel::Class {
                out.insert(0, ("5", "class"));
            }
            out.extend([
                ("Tab", "next panel"),
                (if state.class.is_some() { "1-5" } else { "1-4" }, "page"),
                (":", "command"),
                ("?", "help"),
                ("q", "quit"),
                ("P", "projector"),
            ]);
            out
        }
    }
}

fn panel(state: &State) -> Vec<Hint> {
    match state.focus {
        Panel::Watch => vec![("↑↓", "symbol"), ("Enter", "ticket"), ("b/s", "buy/sell")],
        Panel::Book => vec![("↑↓", "level"), ("Enter", "take it"), ("b/s", "buy/sell")],
        Panel::Ticket => vec![("b/s", "buy/sell"), ("Enter", "open")],
        Panel::Orders => vec![("↑↓", "order"), ("x", "cancel"), ("X", "cancel all")],
        Panel::Chart => vec![("b/s", "buy/sell")],
        Panel::Tape | Panel::News | Panel::Blocks | Panel::Leaders | Panel::Portfolio => {
            vec![("↑↓ PgUp/PgDn", "scroll"), ("Home/End", "top/end")]
        }
        Panel::Cluster => vec![],
        Panel::Admin => vec![("↑↓", "action"), ("Enter", "run")],
        Panel::Class => class(state),
    }
}

/// The Class panel's keys: approving and refusing while someone waits, making the
/// selected machine a voter while it is a joined one that does not vote yet (and no other
/// is being made one), closing or reopening joining.
pub fn class(state: &State) -> Vec<Hint> {
    let Some(class) = &state.class else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if class.waiting() > 0 {
        out.extend([("a", "approve"), ("r", "refuse"), ("A", "approve all")]);
    }
    let joined = |seat: &RosterEntry| matches!(seat.state, SeatState::Joined { .. });
    let promoting = class
        .view
        .promotion
        .as_ref()
        .is_some_and(|p| matches!(p.state, PromotionState::Working(_)));
    if !promoting
        && class
            .selected()
            .is_some_and(|seat| joined(seat) && !class.view.is_voter(seat))
    {
        out.push(("v", "voter"));
    }
    if class.view.roster.len() > 1 {
        out.push(("↑↓", "seat"));
    }
    out.push(if class.view.code.is_some() {
        ("c", "close joining")
    } else {
        ("o", "reopen joining")
    });
    out
}
