//! A long-lived program's connection to the game, replaced when it is lost.
//!
//! A watcher task notices when the node stops answering ([`Transport::lost`]), has the
//! session replaced on another node ([`Linked::replacement`], by
//! [`Session::reconnect`]) and hands the new one to every command and subscription from
//! then on. When no node answers in time, the link is down for good.

use std::future::Future;
use std::sync::Arc;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{ReconnectError, Session, Transport};

/// What a [`Link`] keeps up: a [`Session`], or a program's own context around one.
pub trait Linked: Send + Sync + 'static {
    type Transport: Transport;
    /// Why no replacement could be made.
    type Down: Clone + Send + Sync + 'static;

    fn session(&self) -> &Session<Self::Transport>;

    /// A replacement on another node, after this one's connection was lost.
    fn replacement(&self) -> impl Future<Output = Result<Arc<Self>, Self::Down>> + Send;

    /// `down` in words.
    fn why_down(down: &Self::Down) -> String;
}

impl<T: Transport> Linked for Session<T> {
    type Transport = T;
    type Down = ReconnectError;

    fn session(&self) -> &Session<T> {
        self
    }

    async fn replacement(&self) -> Result<Arc<Self>, ReconnectError> {
        self.reconnect().await.map(Arc::new)
    }

    fn why_down(down: &ReconnectError) -> String {
        match down {
            ReconnectError::Refused(why) => format!("the game refused this key: {why}"),
            ReconnectError::Exhausted { last_error } => {
                format!("no node of the game answered: {last_error}")
            }
            ReconnectError::Alone => "the node is lost and there is no other".to_string(),
        }
    }
}

/// The connection, as it stands.
enum State<S: Linked> {
    Up(Arc<S>),
    /// No node answered: why.
    Down(S::Down),
}

/// A handle on a long-lived program's connection; cheap to clone.
pub struct Link<S: Linked> {
    state: watch::Receiver<State<S>>,
}

impl<S: Linked> Clone for Link<S> {
    fn clone(&self) -> Self {
        Link {
            state: self.state.clone(),
        }
    }
}

impl<S: Linked> Link<S> {
    /// Starts watching `first`; `announce` is told of every replacement (the lost one,
    /// the new one, why). The watcher stops when the link goes down, or when the
    /// returned handle is aborted.
    pub fn start<A>(first: Arc<S>, announce: A) -> (Link<S>, JoinHandle<()>)
    where
        A: Fn(&S, &S, &str) + Send + 'static,
    {
        let (sender, state) = watch::channel(State::Up(first));
        let watcher = tokio::spawn(watch_link(sender, announce));
        (Link { state }, watcher)
    }

    /// The connection to use now, or why there is none.
    pub fn current(&self) -> Result<Arc<S>, S::Down> {
        match &*self.state.borrow() {
            State::Up(now) => Ok(now.clone()),
            State::Down(down) => Err(down.clone()),
        }
    }

    /// Whether `linked` is still the connection in use.
    pub fn is_current(&self, linked: &Arc<S>) -> bool {
        matches!(&*self.state.borrow(), State::Up(now) if Arc::ptr_eq(now, linked))
    }

    /// Whether `linked`'s connection is lost: closed, or replaced already.
    pub fn is_lost(&self, linked: &Arc<S>) -> bool {
        linked.session().transport().is_closed() || !self.is_current(linked)
    }

    /// The connection that replaces `lost`, once there is one; or why there is none
    /// (`None`: the watcher was stopped).
    pub async fn after(&self, lost: &Arc<S>) -> Result<Arc<S>, Option<S::Down>> {
        let mut state = self.state.clone();
        let changed = state
            .wait_for(|s| !matches!(s, State::Up(now) if Arc::ptr_eq(now, lost)))
            .await;
        match changed.as_deref() {
            Ok(State::Up(now)) => Ok(now.clone()),
            Ok(State::Down(down)) => Err(Some(down.clone())),
            Err(_) => Err(None),
        }
    }

    /// Resolves, with why, once the link is down for good.
    pub async fn down(&self) -> S::Down {
        let mut state = self.state.clone();
        let down = match state.wait_for(|s| matches!(s, State::Down(_))).await {
            Ok(state) => match &*state {
                State::Down(down) => Some(down.clone()),
                State::Up(_) => None,
            },
            Err(_) => None,
        };
        match down {
            Some(down) => down,
            // The watcher was stopped: the link never goes down.
            None => std::future::pending().await,
        }
    }
}

/// Watches the connection in use; when it is lost, replaces it, or marks the link down.
async fn watch_link<S: Linked, A>(sender: watch::Sender<State<S>>, announce: A)
where
    A: Fn(&S, &S, &str) + Send + 'static,
{
    loop {
        let now = match &*sender.borrow() {
            State::Up(now) => now.clone(),
            State::Down(_) => return,
        };
        let why = now.session().transport().lost().await;
        match now.replacement().await {
            Ok(next) => {
                tracing::info!(%why, "reconnected");
                announce(&now, &next, &why);
                sender.send_replace(State::Up(next));
            }
            Err(down) => {
                sender.send_replace(State::Down(down));
                return;
            }
        }
    }
}
