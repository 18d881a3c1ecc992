//! Terminal events to [`Action`]s, by mode and, for the Class panel's letters, by the
//! focused panel (pure). The keymap the help overlay shows.
//! (A resize is no action: the app draws again after every terminal event.)

use crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use qraft_node::core::types::Side;

use crate::action::Action;
use crate::state::{Mode, Panel};

/// The action a terminal event asks for in `mode` with `focus` focused, if any.
pub fn action(event: &Event, mode: Mode, focus: Panel) -> Option<Action> {
    match event {
        Event::Key(key) if key.kind != KeyEventKind::Release => key_action(key, mode, focus),
        Event::Paste(text) => Some(Action::Paste(text.clone())),
        _ => None,
    }
}

/// The key presses an event stands for. A terminal sends Alt+key as ESC followed by the
/// key, so an Esc typed just before another key (fast, or batched by ssh or tmux) reads
/// as Alt+key. The dashboard binds nothing to Alt: Alt+key is taken as Esc, then the key,
/// each to be read in the mode the one before it leaves.
pub fn split_escape(event: Event) -> Vec<Event> {
    match event {
        Event::Key(key)
            if key.kind != KeyEventKind::Release
                && key.modifiers.contains(KeyModifiers::ALT)
                && !key.modifiers.contains(KeyModifiers::CONTROL) =>
        {
            let escape = KeyEvent::new(KeyCode::Esc, KeyModifiers::NONE);
            let mut bare = key;
            bare.modifiers.remove(KeyModifiers::ALT);
            vec![Event::Key(escape), Event::Key(bare)]
        }
        other => vec![other],
    }
}

fn key_action(key: &KeyEvent, mode: Mode, focus: Panel) -> Option<Action> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    if ctrl && matches!(key.code, KeyCode::Char('c') | KeyCode::Char('q')) {
        return Some(Action::Quit);
    }
    match mode {
        Mode::Normal if focus == Panel::Class && !ctrl => class(key).or_else(|| normal(key, ctrl)),
        Mode::Normal => normal(key, ctrl),
        Mode::Command | Mode::Ticket => typing(key, ctrl),
        Mode::Help => match key.code {
            KeyCode::Esc | KeyCode::Char('?') | KeyCode::Char('q') | KeyCode::Enter => {
                Some(Action::Back)
            }
            _ => None,
        },
        Mode::Confirm => match key.code {
            KeyCode::Char('y') | KeyCode::Char('Y') | KeyCode::Enter => Some(Action::Confirm(true)),
            KeyCode::Char('n') | KeyCode::Char('N') | KeyCode::Esc => Some(Action::Confirm(false)),
            _ => None,
        },
    }
}

fn normal(key: &KeyEvent, ctrl: bool) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char('q') => Action::Quit,
        KeyCode::Tab => Action::FocusNext,
        KeyCode::BackTab => Action::FocusPrev,
        KeyCode::Char(c @ '1'..='5') => Action::Page(c as usize - '0' as usize),
        KeyCode::Up | KeyCode::Char('k') => Action::Up,
        KeyCode::Down | KeyCode::Char('j') => Action::Down,
        KeyCode::Left | KeyCode::Char('h') => Action::Left,
        KeyCode::Right | KeyCode::Char('l') => Action::Right,
        KeyCode::PageUp => Action::PageUp,
        KeyCode::PageDown => Action::PageDown,
        KeyCode::Char('u') if ctrl => Action::PageUp,
        KeyCode::Char('d') if ctrl => Action::PageDown,
        KeyCode::Home | KeyCode::Char('g') => Action::Home,
        KeyCode::End | KeyCode::Char('G') => Action::End,
        KeyCode::Enter => Action::Select,
        KeyCode::Esc => Action::Back,
        KeyCode::Char(':') => Action::OpenCommandLine,
        KeyCode::Char('?') => Action::ToggleHelp,
        KeyCode::Char('b') => Action::OpenTicket(Some(Side::Buy)),
        KeyCode::Char('s') => Action::OpenTicket(Some(Side::Sell)),
        KeyCode::Char('o') => Action::OpenTicket(None),
        KeyCode::Char('x') | KeyCode::Delete => Action::CancelSelected,
        KeyCode::Char('X') => Action::CancelAll,
        KeyCode::Char('P') => Action::ToggleProjector,
        _ => return None,
    })
}

/// The Class panel's letters (before the other keys: `o` reopens joining there).
fn class(key: &KeyEvent) -> Option<Action> {
    Some(match key.code {
        KeyCode::Char('a') => Action::ApproveSelected,
        KeyCode::Char('r') => Action::RefuseSelected,
        KeyCode::Char('A') => Action::ApproveAllWaiting,
        KeyCode::Char('c') => Action::CloseJoining,
        KeyCode::Char('o') => Action::ReopenJoining,
        KeyCode::Char('v') => Action::PromoteSelected,
        _ => return None,
    })
}

/// The command line and the ticket: keys type.
fn typing(key: &KeyEvent, ctrl: bool) -> Option<Action> {
    Some(match key.code {
        KeyCode::Esc => Action::Back,
        KeyCode::Enter => Action::Submit,
        KeyCode::Tab => Action::NextField,
        KeyCode::BackTab => Action::PrevField,
        KeyCode::Backspace => Action::Backspace,
        KeyCode::Delete => Action::Delete,
        KeyCode::Up => Action::Up,
        KeyCode::Down => Action::Down,
        KeyCode::Left => Action::Left,
        KeyCode::Right => Action::Right,
        KeyCode::Home => Action::Home,
        KeyCode::End => Action::End,
        KeyCode::Char('a') if ctrl => Action::Home,
        KeyCode::Char('e') if ctrl => Action::End,
        KeyCode::Char(_) if ctrl => return None,
        KeyCode::Char(c) => Action::Char(c),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(code: KeyCode) -> Event {
        Event::Key(KeyEvent::new(code, KeyModifiers::NONE))
    }

    #[test]
    fn letters_navigate_in_normal_mode_and_type_elsewhere() {
        let q = press(KeyCode::Char('q'));
        assert_eq!(action(&q, Mode::Normal, Panel::Watch), Some(Action::Quit));
        assert_eq!(
            action(&q, Mode::Command, Panel::Watch),
            Some(Action::Char('q'))
        );
        assert_eq!(
            action(&q, Mode::Ticket, Panel::Watch),
            Some(Action::Char('q'))
        );
        let j = press(KeyCode::Char('j'));
        assert_eq!(action(&j, Mode::Normal, Panel::Watch), Some(Action::Down));
        assert_eq!(
            action(&j, Mode::Command, Panel::Watch),
            Some(Action::Char('j'))
        );
        assert_eq!(
            action(&press(KeyCode::Char('b')), Mode::Normal, Panel::Watch),
            Some(Action::OpenTicket(Some(Side::Buy)))
        );
        assert_eq!(
            action(&press(KeyCode::Char('3')), Mode::Normal, Panel::Watch),
            Some(Action::Page(3))
        );
        assert_eq!(
            action(&press(KeyCode::Char('P')), Mode::Normal, Panel::Watch),
            Some(Action::ToggleProjector)
        );
    }

    #[test]
    fn ctrl_c_quits_in_every_mode_and_releases_are_ignored() {
        let ctrl_c = Event::Key(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL));
        for mode in [
            Mode::Normal,
            Mode::Command,
            Mode::Ticket,
            Mode::Help,
            Mode::Confirm,
        ] {
            assert_eq!(
                action(&ctrl_c, mode, Panel::Class),
                Some(Action::Quit),
                "{mode:?}"
            );
        }
        let mut release = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        release.kind = KeyEventKind::Release;
        assert_eq!(
            action(&Event::Key(release), Mode::Normal, Panel::Watch),
            None
        );
    }

    #[test]
    fn alt_key_is_escape_then_the_key() {
        let alt_tab = Event::Key(KeyEvent::new(KeyCode::Tab, KeyModifiers::ALT));
        assert_eq!(
            split_escape(alt_tab),
            [press(KeyCode::Esc), press(KeyCode::Tab)]
        );
        let alt_shift_x = KeyModifiers::ALT | KeyModifiers::SHIFT;
        let event = Event::Key(KeyEvent::new(KeyCode::Char('X'), alt_shift_x));
        let bare = Event::Key(KeyEvent::new(KeyCode::Char('X'), KeyModifiers::SHIFT));
        assert_eq!(split_escape(event), [press(KeyCode::Esc), bare]);
        // Plain keys, Ctrl+Alt (AltGr on some terminals) and releases stay as they are.
        let plain = press(KeyCode::Char('x'));
        assert_eq!(split_escape(plain.clone()), [plain]);
        let alt_gr = KeyModifiers::ALT | KeyModifiers::CONTROL;
        let at = Event::Key(KeyEvent::new(KeyCode::Char('@'), alt_gr));
        assert_eq!(split_escape(at.clone()), [at]);
        let mut release = KeyEvent::new(KeyCode::Char('x'), KeyModifiers::ALT);
        release.kind = KeyEventKind::Release;
        assert_eq!(split_escape(Event::Key(release)), [Event::Key(release)]);
    }

    #[test]
    fn the_class_panel_takes_its_letters_and_leaves_the_rest() {
        let on_class = |code| action(&press(code), Mode::Normal, Panel::Class);
        assert_eq!(on_class(KeyCode::Char('a')), Some(Action::ApproveSelected));
        assert_eq!(on_class(KeyCode::Char('r')), Some(Action::RefuseSelected));
        assert_eq!(
            on_class(KeyCode::Char('A')),
            Some(Action::ApproveAllWaiting)
        );
        assert_eq!(on_class(KeyCode::Char('c')), Some(Action::CloseJoining));
        assert_eq!(on_class(KeyCode::Char('o')), Some(Action::ReopenJoining));
        assert_eq!(on_class(KeyCode::Char('v')), Some(Action::PromoteSelected));
        assert_eq!(on_class(KeyCode::Char('j')), Some(Action::Down));
        assert_eq!(on_class(KeyCode::Char('5')), Some(Action::Page(5)));
        // Elsewhere `o` is the order ticket, and `a` and `v` nothing.
        let on_watch = |code| action(&press(code), Mode::Normal, Panel::Watch);
        assert_eq!(on_watch(KeyCode::Char('o')), Some(Action::OpenTicket(None)));
        assert_eq!(on_watch(KeyCode::Char('a')), None);
        assert_eq!(on_watch(KeyCode::Char('v')), None);
        // Typing in the command line is typing.
        let typed = action(&press(KeyCode::Char('a')), Mode::Command, Panel::Class);
        assert_eq!(typed, Some(Action::Char('a')));
    }

    #[test]
    fn confirmations_take_y_and_n() {
        let y = press(KeyCode::Char('y'));
        assert_eq!(
            action(&y, Mode::Confirm, Panel::Watch),
            Some(Action::Confirm(true))
        );
        assert_eq!(
            action(&press(KeyCode::Esc), Mode::Confirm, Panel::Watch),
            Some(Action::Confirm(false))
        );
        assert_eq!(
            action(&press(KeyCode::Char('x')), Mode::Confirm, Panel::Watch),
            None
        );
    }
}
