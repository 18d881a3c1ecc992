//! qraft-tui: the participant's dashboard, a ratatui trading terminal.
//!
//! The entry point is [`run`]: it takes over the terminal, shows the game as seen by a
//! node running in this process (its [`Handle`](qraft_node::api::Handle)), places the
//! participant's orders through it, and returns when the user quits (the terminal
//! restored, also after a panic). The caller owns the node and stops it afterwards.

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
    let _ = dashboard;
    Err(TuiError::Terminal(std::io::Error::other(
        "the dashboard is being built",
    )))
}
