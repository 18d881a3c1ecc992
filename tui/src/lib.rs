//! qraft-tui: the participant's dashboard, a ratatui trading terminal.
//!
//! The entry point is [`run`]: it takes over the terminal, shows the game as seen by a
//! node running in this process (its [`Handle`]), places the
//! participant's orders through it, and returns when the user quits (the terminal
//! restored, also after a panic). The caller owns the node and stops it afterwards.
//! Under `qraft class` the teacher's dashboard also has a [`ClassLink`] to the class
//! service, and opens on the Class panel (the join code and the roster).
//!
//! The split follows gitui and ratatui's templates: plain data, pure changes, views.
//!
//! - [`state`]: everything the dashboard shows, as plain data.
//! - [`action`]: everything that can change the state (keys, node data, answers, the
//!   class, time).
//! - [`update`]: `update(&mut State, Action) -> Vec<Command>`, pure.
//! - [`command`]: what `update` asks the shell to do (submit, watch a symbol, ask the
//!   class service, quit).
//! - [`input`]: terminal events to actions, by mode and focused panel (pure).
//! - [`view`]: the screen drawn from the state (`impl Widget for &State`), pure: the
//!   panels, or the projector page for a classroom's screen.
//! - [`cmdline`]: the `:` command language (pure).
//! - [`describe`], [`format`](mod@format): receipts, money, prices and times in words (pure).
//! - [`rule_diff`]: the rules in short words, and what changed between two sets (pure).
//! - [`feed`]: the node side: queries, events and submissions through the `Handle`, as
//!   actions (the only code here that talks to the node), and the class service's side
//!   through a [`ClassLink`].
//! - [`class_link`]: [`ClassLink`], the teacher's line to the class service of
//!   `qraft class` (its views in, the Class panel's commands out).
//! - `app`: the terminal, the event loop, and restoring the terminal on exit or panic.

pub mod action;
mod app;
pub mod class_link;
pub mod cmdline;
pub mod command;
pub mod describe;
pub mod feed;
pub mod format;
pub mod input;
pub mod rule_diff;
pub mod state;
pub mod update;
pub mod view;

pub use class_link::ClassLink;

use qraft_keys::Keypair;
use qraft_node::api::Handle;
use qraft_node::core::genesis::Genesis;

/// What the dashboard shows and trades with.
pub struct Dashboard {
    /// The node in this process the dashboard reads and submits through.
    pub handle: Handle,
    /// The participant trading from this dashboard (its key signs every order).
    pub keypair: Keypair,
    /// The game; its nodes are the ones the cluster panel watches.
    pub genesis: Genesis,
    /// Shown in the header, e.g. "demo" or the node's name.
    pub title: String,
    /// Where each node of the game listens (`host:port`), for the cluster panel: the
    /// genesis's addresses unless the node configuration overrides them.
    pub addresses: std::collections::BTreeMap<qraft_node::core::types::NodeId, String>,
    /// The class service, when this is the teacher's dashboard under `qraft class`: the
    /// Class panel shows it, first.
    pub class: Option<ClassLink>,
    /// A first message for the status line, kept until dismissed (Esc): a student's
    /// laptop that just moved to the class's next game says so.
    pub greeting: Option<String>,
}

/// Why the dashboard could not run.
#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error("the terminal: {0}")]
    Terminal(#[from] std::io::Error),
    #[error("this key is not a participant of the game")]
    NotAParticipant,
}

/// Runs the dashboard until the user quits. Must be called inside a tokio runtime.
pub async fn run(dashboard: Dashboard) -> Result<(), TuiError> {
    app::run(dashboard, std::future::pending()).await
}

/// Runs the dashboard until the user quits or `until` is ready (the game ended under
/// it: a student's laptop moving to the class's next game), then puts the terminal back.
pub async fn run_until(
    dashboard: Dashboard,
    until: impl Future<Output = ()>,
) -> Result<(), TuiError> {
    app::run(dashboard, until).await
}
