//! A session's connection to the game, replaced when it is lost.
//!
//! A watcher task notices when the node stops answering (see [`Ctx::lost`]), connects to
//! another node (see [`Ctx::reconnect`]) and hands the new connection to every command
//! and subscription from then on. When no node answers within `--timeout`, the link is
//! down for good.

use std::sync::Arc;

use serde_json::{Map, Value};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::connect::{Ctx, reconnected_json};
use super::output::Failure;

/// The session's connection, as it stands.
#[derive(Clone)]
enum State {
    Up(Arc<Ctx>),
    /// No node answered: why.
    Down(Failure),
}

/// A handle on the session's connection; cheap to clone.
#[derive(Clone)]
pub struct Link {
    state: watch::Receiver<State>,
}

impl Link {
    /// Starts watching `ctx`; `announce` is told (as a JSON line) of every reconnection.
    /// The watcher stops when the link goes down, or when the returned handle is aborted.
    pub fn start<A>(ctx: Arc<Ctx>, announce: A) -> (Link, JoinHandle<()>)
    where
        A: Fn(&Map<String, Value>) + Send + 'static,
    {
        let (sender, state) = watch::channel(State::Up(ctx));
        let watcher = tokio::spawn(watch_link(sender, announce));
        (Link { state }, watcher)
    }

    /// The connection to use now, or why there is none.
    pub fn current(&self) -> Result<Arc<Ctx>, Failure> {
        match &*self.state.borrow() {
            State::Up(ctx) => Ok(ctx.clone()),
            State::Down(failure) => Err(failure.clone()),
        }
    }

    /// Whether `ctx` is still the connection in use.
    pub fn is_current(&self, ctx: &Arc<Ctx>) -> bool {
        matches!(&*self.state.borrow(), State::Up(now) if Arc::ptr_eq(now, ctx))
    }

    /// The connection that replaces `lost`, once there is one; or why there is none.
    pub async fn after(&self, lost: &Arc<Ctx>) -> Result<Arc<Ctx>, Failure> {
        let mut state = self.state.clone();
        let changed = state
            .wait_for(|s| !matches!(s, State::Up(now) if Arc::ptr_eq(now, lost)))
            .await;
        match changed.as_deref() {
            Ok(State::Up(ctx)) => Ok(ctx.clone()),
            Ok(State::Down(failure)) => Err(failure.clone()),
            Err(_) => Err(Failure::error("the session's connection watcher stopped")),
        }
    }

    /// Resolves, with why, once the link is down for good.
    pub async fn down(&self) -> Failure {
        let mut state = self.state.clone();
        let down = match state.wait_for(|s| matches!(s, State::Down(_))).await {
            Ok(state) => match &*state {
                State::Down(failure) => Some(failure.clone()),
                State::Up(_) => None,
            },
            Err(_) => None,
        };
        match down {
            Some(failure) => failure,
            // The watcher was stopped: the link never goes down.
            None => std::future::pending().await,
        }
    }
}

/// Watches the connection in use; when it is lost, replaces it, or marks the link down.
async fn watch_link<A>(sender: watch::Sender<State>, announce: A)
where
    A: Fn(&Map<String, Value>) + Send + 'static,
{
    loop {
        let ctx = match &*sender.borrow() {
            State::Up(ctx) => ctx.clone(),
            State::Down(_) => return,
        };
        let why = ctx.lost().await;
        match ctx.reconnect().await {
            Ok(next) => {
                tracing::info!(%why, "reconnected");
                announce(&reconnected_json(&ctx, &next, &why));
                sender.send_replace(State::Up(next));
            }
            Err(failure) => {
                sender.send_replace(State::Down(failure));
                return;
            }
        }
    }
}
