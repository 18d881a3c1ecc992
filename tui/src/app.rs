//! The shell around the pure parts: the terminal, the event loop, and putting the terminal
//! back on exit (and on a panic: ratatui's `init` hooks it).
//!
//! Keys are read on a thread of their own (crossterm's `read` blocks), the node's data
//! arrives from the [`Feed`], and a tick carries the time in; every input becomes an
//! [`Action`] for [`update`], and the screen is drawn again after each burst of them.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crossterm::event::{DisableBracketedPaste, EnableBracketedPaste, Event};
use crossterm::execute;
use ratatui::DefaultTerminal;
use tokio::sync::mpsc::{self, UnboundedReceiver, UnboundedSender};

use crate::action::Action;
use crate::command::Command;
use crate::feed::{Feed, FeedConfig};
use crate::state::State;
use crate::update::update;
use crate::{Dashboard, TuiError, input, view};

/// How often the clock ticks (the status line's messages expire, times move on).
const TICK: Duration = Duration::from_millis(250);
/// How long the key reader waits for a key before it checks whether to stop.
const KEY_POLL: Duration = Duration::from_millis(50);

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

/// Runs the dashboard until the user quits.
pub async fn run(dashboard: Dashboard, until: impl Future<Output = ()>) -> Result<(), TuiError> {
    let me = dashboard.keypair.public();
    let known = dashboard
        .handle
        .role_of(me)
        .await
        .is_ok_and(|role| role.is_some());
    if !known {
        return Err(TuiError::NotAParticipant);
    }
    let mut state = State::new(
        &dashboard.genesis,
        me,
        dashboard.handle.id(),
        dashboard.title.clone(),
    );
    state.now_ms = now_ms();
    if let Some(greeting) = &dashboard.greeting {
        state.say(crate::state::notice::NoticeKind::Warning, greeting.clone());
    }
    // Clocks show the laptop's local time.
    state.utc_offset_ms = i64::from(chrono::Local::now().offset().local_minus_utc()) * 1000;

    let restore_on_panic = PanicRestore::install();
    let mut terminal = match open_terminal() {
        Ok(terminal) => terminal,
        Err(err) => {
            ratatui::restore();
            return Err(err.into());
        }
    };
    let outcome = run_loop(&mut terminal, &mut state, dashboard, until).await;
    let _ = execute!(std::io::stdout(), DisableBracketedPaste);
    ratatui::try_restore()?;
    drop(restore_on_panic);
    outcome
}

/// Raw mode, the alternate screen, bracketed paste.
fn open_terminal() -> std::io::Result<DefaultTerminal> {
    crossterm::terminal::enable_raw_mode()?;
    execute!(
        std::io::stdout(),
        crossterm::terminal::EnterAlternateScreen,
        EnableBracketedPaste
    )?;
    ratatui::Terminal::new(ratatui::backend::CrosstermBackend::new(std::io::stdout()))
}

type PanicHook = dyn Fn(&std::panic::PanicHookInfo<'_>) + Send + Sync + 'static;

/// While it lives, a panic on the dashboard's own thread puts the terminal back before
/// the panic is reported, so the message is readable and the shell usable. A panic on
/// another thread (a node's, which stops that node and is shown on the dashboard) leaves
/// the terminal to the dashboard. Dropping it puts the previous hook back.
struct PanicRestore {
    previous: Arc<PanicHook>,
}

impl PanicRestore {
    fn install() -> PanicRestore {
        let previous: Arc<PanicHook> = Arc::from(std::panic::take_hook());
        let ui_thread = std::thread::current().id();
        let chained = previous.clone();
        std::panic::set_hook(Box::new(move |info| {
            if std::thread::current().id() == ui_thread {
                ratatui::restore();
            }
            chained(info);
        }));
        PanicRestore { previous }
    }
}

impl Drop for PanicRestore {
    fn drop(&mut self) {
        let previous = self.previous.clone();
        std::panic::set_hook(Box::new(move |info| previous(info)));
    }
}

async fn run_loop(
    terminal: &mut DefaultTerminal,
    state: &mut State,
    dashboard: Dashboard,
    until: impl Future<Output = ()>,
) -> Result<(), TuiError> {
    tokio::pin!(until);
    let (action_tx, mut actions) = mpsc::unbounded_channel();
    let mut feed = Feed::start(
        FeedConfig {
            handle: dashboard.handle,
            keypair: dashboard.keypair,
            genesis: dashboard.genesis,
            addresses: dashboard.addresses,
        },
        dashboard.class,
        action_tx,
    );
    // What the feed knows at once (the class) is on the first screen.
    while let Ok(action) = actions.try_recv() {
        apply(state, &mut feed, action);
    }
    let mut keys = KeyReader::start();
    let mut tick = tokio::time::interval(TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);

    let result = loop {
        draw(terminal, state)?;
        let woken = tokio::select! {
            event = keys.events.recv() => match event {
                Some(Ok(event)) => Woken::Keys(input::split_escape(event)),
                Some(Err(err)) => break Err(TuiError::Terminal(err)),
                None => break Ok(()),
            },
            action = actions.recv() => Woken::Action(action.map(Box::new)),
            _ = tick.tick() => Woken::Action(Some(Box::new(Action::Tick(now_ms())))),
            () = &mut until => break Ok(()),
        };
        let mut quit = match woken {
            // Each key is read in the mode the one before it left.
            Woken::Keys(events) => events.iter().any(|event| {
                input::action(event, state.mode, state.focus)
                    .is_some_and(|a| apply(state, &mut feed, a))
            }),
            Woken::Action(action) => action.is_some_and(|a| apply(state, &mut feed, *a)),
        };
        // Fold in whatever else is waiting before drawing again.
        while !quit && let Ok(action) = actions.try_recv() {
            quit = apply(state, &mut feed, action);
        }
        if quit {
            break Ok(());
        }
    };
    feed.stop();
    keys.stop();
    result
}

/// What woke the loop.
enum Woken {
    /// Key presses (one terminal event may stand for two).
    Keys(Vec<Event>),
    /// Boxed: an action is large, and a key event small.
    Action(Option<Box<Action>>),
}

/// Updates the state; carries out its commands. Whether to quit.
fn apply(state: &mut State, feed: &mut Feed, action: Action) -> bool {
    let mut quit = false;
    for command in update(state, action) {
        match command {
            Command::Quit => quit = true,
            other => feed.handle_command(other),
        }
    }
    quit
}

fn draw(terminal: &mut DefaultTerminal, state: &State) -> Result<(), TuiError> {
    terminal.draw(|frame| {
        let area = frame.area();
        frame.render_widget(state, area);
        if let Some(position) = view::cursor(state, area) {
            frame.set_cursor_position(position);
        }
    })?;
    Ok(())
}

/// Reads terminal events on a thread of its own.
struct KeyReader {
    events: UnboundedReceiver<std::io::Result<Event>>,
    stop: Arc<AtomicBool>,
}

impl KeyReader {
    fn start() -> KeyReader {
        let (sender, events) = mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        std::thread::Builder::new()
            .name("qraft-keys".into())
            .spawn(move || read_keys(&sender, &stopped))
            .expect("cannot start the key reader thread");
        KeyReader { events, stop }
    }

    fn stop(self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn read_keys(sender: &UnboundedSender<std::io::Result<Event>>, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        match crossterm::event::poll(KEY_POLL) {
            Ok(false) => {}
            Ok(true) => {
                let event = crossterm::event::read();
                let failed = event.is_err();
                if sender.send(event).is_err() || failed {
                    return;
                }
            }
            Err(err) => {
                let _ = sender.send(Err(err));
                return;
            }
        }
    }
}
