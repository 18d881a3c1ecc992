//! The keys worth showing on the bottom line, for the mode and the focused panel.

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
        Mode::Normal => {
            let mut out = panel(state.focus);
            out.extend([
                ("Tab", "next panel"),
                ("1-4", "page"),
                (":", "command"),
                ("?", "help"),
                ("q", "quit"),
            ]);
            out
        }
    }
}

fn panel(focus: Panel) -> Vec<Hint> {
    match focus {
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
    }
}
