//! A subscription that survives a lost node, written once: [`Follow`] opens it on a
//! [`Link`]'s session and, when that node is lost, opens it again on the session that
//! replaces it and says so ([`Followed::Moved`]). The CLI's `session --jsonl`
//! `subscribe`, `qraft blocks --follow` and the bots' event streams use it.

use std::fmt;
use std::future::Future;
use std::sync::Arc;

use qraft_node::net::client::{ClientError, Subscription};
use qraft_node::net::proto::{Event, Topics};

use super::{Link, Linked, Quic, Transport};

/// A connection that events can be subscribed to.
pub trait Subscribe: Transport {
    /// The events of one subscription.
    type Events: Events<Error = Self::Error>;

    /// Opens a subscription to `topics`: events from now on.
    fn subscribe(
        &self,
        topics: Topics,
    ) -> impl Future<Output = Result<Self::Events, Self::Error>> + Send;
}

/// The events of one subscription, in order.
pub trait Events: Send + 'static {
    type Error;

    /// The next event; `None` when the node ended the stream.
    fn next(&mut self) -> impl Future<Output = Result<Option<Event>, Self::Error>> + Send;
}

impl Subscribe for Quic {
    type Events = Subscription;

    async fn subscribe(&self, topics: Topics) -> Result<Subscription, ClientError> {
        self.client().subscribe(topics).await
    }
}

impl Events for Subscription {
    type Error = ClientError;

    async fn next(&mut self) -> Result<Option<Event>, ClientError> {
        Subscription::next(self).await
    }
}

/// How a [`Follow`] takes what ends a subscription while its connection serves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// A subscription the node dropped (it fell behind: [`Event::Closed`]) is opened
    /// again on the same node ([`Followed::Reopened`]); otherwise the event is handed on.
    pub reopen_dropped: bool,
    /// A stream that ends or fails is its node lost, and moves on to the next
    /// ([`Followed::Moved`]); otherwise it is [`Followed::Ended`] or
    /// [`FollowError::Failed`].
    pub end_is_loss: bool,
}

/// What came of following a subscription one step.
#[derive(Debug)]
pub enum Followed {
    /// An event from the node.
    Event(Event),
    /// The node dropped the subscription (it fell behind), and it is open again on the
    /// same node: events in between are missing.
    Reopened,
    /// The node was lost (why), and the subscription is open on the link's next session:
    /// events in between may be missing.
    Moved { why: String },
    /// The node ended the stream, its connection serving.
    Ended,
}

/// Why a subscription could not be opened on a serving connection.
#[derive(Debug)]
pub enum SubscribeError<E> {
    /// The node refused it, or the connection failed.
    Failed(E),
    /// No answer within the session's timeout.
    NoAnswer,
}

impl<E: fmt::Display> fmt::Display for SubscribeError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscribeError::Failed(err) => write!(f, "cannot subscribe: {err}"),
            SubscribeError::NoAnswer => f.write_str("cannot subscribe: no answer in time"),
        }
    }
}

/// Why a [`Follow`] ended.
pub enum FollowError<S: Linked> {
    /// It could not be opened on a connection that serves.
    Subscribe(SubscribeError<<S::Transport as Transport>::Error>),
    /// The stream failed, its connection serving (without [`Policy::end_is_loss`]).
    Failed(<S::Transport as Transport>::Error),
    /// The node was lost (`why`) and no session replaced `lost`: why (`None`: the
    /// link's watcher stopped).
    Down {
        lost: Arc<S>,
        why: String,
        down: Option<S::Down>,
    },
}

impl<S: Linked> fmt::Debug for FollowError<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FollowError::Subscribe(err) => f.debug_tuple("Subscribe").field(err).finish(),
            FollowError::Failed(err) => f.debug_tuple("Failed").field(err).finish(),
            FollowError::Down { why, down, .. } => f
                .debug_struct("Down")
                .field("why", why)
                .field("down", &down.as_ref().map(S::why_down))
                .finish(),
        }
    }
}

/// The most times opening a subscription moves on to the next session because its own
/// was lost meanwhile.
const MAX_AGAIN: u32 = 3;

/// A subscription on a [`Link`]'s session that goes on from the next session when its
/// node is lost.
pub struct Follow<S: Linked>
where
    S::Transport: Subscribe,
{
    link: Link<S>,
    topics: Topics,
    policy: Policy,
    /// The session the subscription is open on.
    session: Arc<S>,
    events: <S::Transport as Subscribe>::Events,
}

/// Opens a subscription to `topics` on `session`, within the session's timeout.
async fn subscribe<S: Linked>(
    session: &S,
    topics: Topics,
) -> Result<<S::Transport as Subscribe>::Events, SubscribeError<<S::Transport as Transport>::Error>>
where
    S::Transport: Subscribe,
{
    let session = session.session();
    let opened = session.transport().subscribe(topics);
    match tokio::time::timeout(session.timeout(), opened).await {
        Ok(Ok(events)) => Ok(events),
        Ok(Err(err)) => Err(SubscribeError::Failed(err)),
        Err(_) => Err(SubscribeError::NoAnswer),
    }
}

impl<S: Linked> Follow<S>
where
    S::Transport: Subscribe,
{
    /// Opens a subscription to `topics` on `session`, one of `link`'s; if its connection
    /// is lost meanwhile, on the session that replaces it.
    pub async fn open(
        link: Link<S>,
        session: Arc<S>,
        topics: Topics,
        policy: Policy,
    ) -> Result<Follow<S>, FollowError<S>> {
        let mut session = session;
        let mut again = 0;
        loop {
            match subscribe(&*session, topics).await {
                Ok(events) => {
                    return Ok(Follow {
                        link,
                        topics,
                        policy,
                        session,
                        events,
                    });
                }
                Err(err) if again < MAX_AGAIN && link.is_lost(&session) => {
                    again += 1;
                    session = match link.after(&session).await {
                        Ok(next) => next,
                        Err(down) => {
                            let why = err.to_string();
                            return Err(FollowError::Down {
                                lost: session,
                                why,
                                down,
                            });
                        }
                    };
                }
                Err(err) => return Err(FollowError::Subscribe(err)),
            }
        }
    }

    /// The session the subscription is open on.
    pub fn session(&self) -> &Arc<S> {
        &self.session
    }

    /// The next event, or how the subscription went on (see [`Followed`]).
    pub async fn next(&mut self) -> Result<Followed, FollowError<S>> {
        let item = self.events.next().await;
        let lost = self.session.session().transport().is_closed();
        let why = match item {
            Ok(Some(Event::Closed { reason })) if !lost && self.policy.reopen_dropped => {
                match subscribe(&*self.session, self.topics).await {
                    Ok(events) => {
                        self.events = events;
                        return Ok(Followed::Reopened);
                    }
                    Err(_) => reason,
                }
            }
            Ok(Some(event)) if !lost => return Ok(Followed::Event(event)),
            Ok(None) if !lost && !self.policy.end_is_loss => return Ok(Followed::Ended),
            Err(err) if !lost && !self.policy.end_is_loss => return Err(FollowError::Failed(err)),
            Ok(Some(_)) => "the connection was lost".to_string(),
            Ok(None) => "the node closed the subscription".to_string(),
            Err(err) => format!("the subscription failed: {err}"),
        };
        self.move_on(why.clone()).await?;
        Ok(Followed::Moved { why })
    }

    /// Gives up this session's connection (lost, `why`) and opens the subscription again
    /// on the session that replaces it: for a caller that found the node lost between
    /// events (asking it for something else).
    pub async fn move_on(&mut self, why: String) -> Result<(), FollowError<S>> {
        // A node ends subscriptions only when it stops: its connection is as good as
        // lost, and the link moves to another node.
        let transport = self.session.session().transport();
        transport.abandon("the subscription ended");
        loop {
            let next = match self.link.after(&self.session).await {
                Ok(next) => next,
                Err(down) => {
                    let lost = self.session.clone();
                    return Err(FollowError::Down { lost, why, down });
                }
            };
            self.session = next;
            match subscribe(&*self.session, self.topics).await {
                Ok(events) => {
                    self.events = events;
                    return Ok(());
                }
                // Lost again already: wait for the next session.
                Err(_) if self.session.session().transport().is_closed() => {}
                Err(err) => return Err(FollowError::Subscribe(err)),
            }
        }
    }
}
