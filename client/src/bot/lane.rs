//! The bot's lane: its [`Session`] over QUIC, kept up by a [`Link`], shared by the
//! [`Bot`](super::Bot), its event streams and every [`Pending`](super::Pending) handle
//! it gave out.
//!
//! Everything a bot does to trade is the session's: signing with the key's next nonce,
//! writing on the ordered pipeline ([`Session::write`]), retrying
//! ([`Session::finish`]), sending again what was in flight on a new node
//! ([`Session::reconnect`]) and settling a transaction in doubt
//! ([`settle`](crate::session::settle)). The link's watcher notices a lost node
//! ([`Transport::lost`](crate::session::Transport::lost): a node killed outright sends
//! nothing, and QUIC alone would notice only after its idle timeout) and moves the lane
//! to another node of the game. The lane adds only what a bot's calls need of that: the
//! session to use now, and a call done again on the next one when its node is lost under
//! it before anything happened.

use std::sync::Arc;
use std::time::Duration;

use qraft_keys::Keypair;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::tx::TxBody;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::proto::{Request, Response};
use tokio::task::JoinHandle;

use crate::session::{
    Game, Link, Linked, Quic, QuicDial, ReconnectError, Sent, Session, SubmitError, SyncError,
    Transport,
};

use super::BotError;

/// How long a bot tries to reach another node of the game after losing its own, before
/// the call that needed it fails: long enough for a leader election and a restarted
/// laptop (a few seconds each), short enough that a bot with no game left says so. It is
/// also the bot's session timeout: the longest wait for one answer before its
/// transaction is settled instead.
pub const RECONNECT_WAIT: Duration = Duration::from_secs(20);

/// A bot's session.
pub(crate) type BotSession = Session<Quic>;

/// What the bot and its pending handles share.
pub(crate) struct Lane {
    link: Link<BotSession>,
    watcher: JoinHandle<()>,
    /// The first session, for a bot whose link is down.
    first: Arc<BotSession>,
}

impl Drop for Lane {
    fn drop(&mut self) {
        self.watcher.abort();
    }
}

/// How many times a call is made again on a new connection after losing its own before
/// anything happened (a request, or a transaction not written).
pub(crate) const MAX_AGAIN: u32 = 3;

impl Lane {
    /// Connects as `keypair` to the first of `nodes` that answers (the ones to come back
    /// to after a failure), and learns the key's last nonce.
    pub async fn connect(
        genesis: Genesis,
        keypair: Keypair,
        nodes: Vec<String>,
    ) -> Result<Lane, BotError> {
        let client = Client::connect(&genesis, keypair.clone(), &nodes).await?;
        let dial = QuicDial {
            genesis: genesis.clone(),
            registered: Vec::new(),
            keypair: keypair.clone(),
        };
        let session = Session::new(
            Quic::new(client),
            keypair,
            Game::new(genesis, nodes),
            RECONNECT_WAIT,
            Some(Arc::new(dial)),
        );
        session.sync_nonce().await.map_err(synced)?;
        let first = Arc::new(session);
        let (link, watcher) = Link::start(first.clone(), |lost, now, why| {
            tracing::info!(
                lost = lost.transport().address(),
                now = now.transport().address(),
                %why,
                "reconnected to another node of the game"
            );
        });
        Ok(Lane {
            link,
            watcher,
            first,
        })
    }

    pub fn link(&self) -> &Link<BotSession> {
        &self.link
    }

    /// The session in use, or the last one if no node answers any more (its connection
    /// may have been lost: see [`Lane::serving`]).
    pub fn latest(&self) -> Arc<BotSession> {
        self.link.current().unwrap_or_else(|_| self.first.clone())
    }

    /// The session in use (its connection may have been lost: see [`Lane::serving`]).
    pub fn current(&self) -> Result<Arc<BotSession>, BotError> {
        self.link
            .current()
            .map_err(|down| lost_with(&self.first, &down))
    }

    /// A session that serves: the one in use, or the one replacing it if it was lost.
    pub async fn serving(&self) -> Result<Arc<BotSession>, BotError> {
        let now = self.current()?;
        if now.transport().is_closed() {
            self.after(&now).await
        } else {
            Ok(now)
        }
    }

    /// The session that replaces `lost`, once there is one.
    pub async fn after(&self, lost: &Arc<BotSession>) -> Result<Arc<BotSession>, BotError> {
        self.link
            .after(lost)
            .await
            .map_err(|down| down_from(lost, down))
    }

    /// One request on a session that serves; if its connection is lost while it is
    /// asked, the request is asked again on the next one.
    pub async fn request(&self, request: &Request) -> Result<Response, BotError> {
        let mut session = self.serving().await?;
        let mut again = 0;
        loop {
            match session.transport().client().request(request).await {
                Err(_) if again < MAX_AGAIN && self.link.is_lost(&session) => {
                    again += 1;
                    session = self.after(&session).await?;
                }
                answer => return Ok(answer?),
            }
        }
    }

    /// Signs `body` with the next nonce and writes it on the ordered pipeline of a
    /// session that serves ([`Session::write`]); returns once it is written, with the
    /// session it went on. A connection lost before it was written: written on the next.
    pub async fn write(
        &self,
        body: &TxBody,
    ) -> Result<(Arc<BotSession>, Sent<ClientError>), BotError> {
        let mut session = self.serving().await?;
        let mut again = 0;
        loop {
            match session.write(body, None, &|_| {}).await {
                Ok(sent) => return Ok((session, sent)),
                Err(SubmitError::NotSent(_))
                    if again < MAX_AGAIN && self.link.is_lost(&session) =>
                {
                    again += 1;
                    session = self.after(&session).await?;
                }
                Err(err) => return Err(submit_error(err)),
            }
        }
    }
}

/// Why a session could not learn the key's last nonce, as a bot error.
fn synced(err: SyncError<ClientError>) -> BotError {
    match err {
        SyncError::NotParticipant => {
            BotError::Unexpected("this key is not a participant in this game".into())
        }
        SyncError::Silent { node, waited } => BotError::Lost {
            node,
            waited,
            why: "it did not answer".into(),
        },
        SyncError::Failed(err) => err.into(),
    }
}

/// Why no session replaced `lost` (`None`: the link's watcher stopped), as a bot error.
pub(crate) fn down_from(lost: &BotSession, down: Option<ReconnectError>) -> BotError {
    match down {
        Some(down) => lost_with(lost, &down),
        None => BotError::Lost {
            node: lost.transport().address(),
            waited: RECONNECT_WAIT,
            why: "the bot's connection watcher stopped".into(),
        },
    }
}

/// Why no node took over from `session`'s lost connection, as a bot error.
fn lost_with(session: &BotSession, down: &ReconnectError) -> BotError {
    BotError::Lost {
        node: session.transport().address(),
        waited: RECONNECT_WAIT,
        why: BotSession::why_down(down),
    }
}

/// A submission's end without a receipt, as a bot error (an answer in doubt is settled
/// before it gets here).
pub(crate) fn submit_error(err: SubmitError<ClientError>) -> BotError {
    use qraft_node::net::proto::SubmitFailure;
    match err {
        SubmitError::Refused { refusal, .. } => {
            ClientError::Submit(SubmitFailure::Refused(refusal)).into()
        }
        SubmitError::NoAnswer { tx, .. }
        | SubmitError::InDoubt { tx, .. }
        | SubmitError::NodeTimedOut { tx }
        | SubmitError::Stopped { tx } => BotError::Unanswered(tx),
        SubmitError::NotSent(err) => err.into(),
        SubmitError::Sync(err) => synced(err),
    }
}
