//! The node thread's two inboxes, so client load cannot delay consensus.
//!
//! - The **control** inbox (an unbounded `std::sync::mpsc` channel of [`Input`]): peer
//!   messages, unreachable and snapshot reports, membership changes and backfilled blocks
//!   (as [`Input::Call`]s), shutdown. What comes here keeps Raft alive (heartbeats, votes,
//!   appends); its senders are the transport and the node's owner, whose own bounds limit
//!   it.
//! - The **client** inbox (a bounded `sync_channel` of `ClientInput`, [`CLIENT_QUEUE`]
//!   deep): submissions and queries. When it is full the sender (`ClientSender::try_send`)
//!   is told so at once, without the node thread: `api` refuses a submission busy and
//!   answers a query busy.
//!
//! Each turn the runner takes every control input waiting (up to
//! [`MAX_CONTROL_INPUTS_PER_TURN`], `Inboxes::next_control`) and handles them first,
//! then handles client inputs (`Inboxes::take_clients`) until
//! [`MAX_CLIENT_INPUTS_PER_TURN`] or [`MAX_CLIENT_WORK_PER_TURN`] of time is reached,
//! then lets the replica process. So however many client inputs wait, and however costly
//! each query, a peer's message waits at most about one turn.
//!
//! The thread blocks on the control inbox alone (std channels have no select). A client
//! sender wakes it with one [`Input::ClientsWaiting`] on the control inbox, sent only when
//! no wake is already pending (a flag the thread clears, with a swap, before it drains the
//! client inbox), so a flood of client inputs puts at most one wake at a time on the
//! control inbox. (`crossbeam-channel`'s biased select would do the same; it is not in
//! the dependency tree, and this keeps the control inbox's type, which the transports
//! use, unchanged.)

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{
    Receiver, RecvTimeoutError, Sender, SyncSender, TryRecvError, TrySendError, channel,
    sync_channel,
};
use std::time::{Duration, Instant};

use crate::core::tx::SignedTx;
use crate::core::types::NodeId;
use crate::replica::{PeerMessage, Replica, ReplicaError};

/// Client inputs waiting for the node thread, at most. A turn takes
/// [`MAX_CLIENT_INPUTS_PER_TURN`], so a full queue is four turns of work: enough that a
/// burst from many clients (each pipeline keeps at most 256 in flight) is absorbed, small
/// enough that a transaction at the back is reached within a second or so and that the
/// queue holds at most ~5 MB (about 300 bytes a transaction). Past it, clients are told
/// busy at once instead of waiting in an ever longer line.
pub const CLIENT_QUEUE: usize = 16_384;

/// Client inputs handled per turn, at most: two full batches (`max_batch_txs` is 2,000).
/// Verifying that many signatures in a batch takes tens of milliseconds, under one Raft
/// tick (100 ms), so control inputs and ticks are never held back by more than that.
pub const MAX_CLIENT_INPUTS_PER_TURN: usize = 4_000;

/// Time spent handling client inputs per turn, at most (checked between inputs, so one
/// query may overrun it by its own cost; queries are bounded in work). A fifth of a Raft
/// tick (100 ms): client load leaves the thread free most of each tick for Raft.
pub const MAX_CLIENT_WORK_PER_TURN: Duration = Duration::from_millis(20);

/// Control inputs handled per turn, at most, so a flood of peer messages still lets the
/// thread tick and process. Peer messages are cheap to take in (the replica queues them);
/// 20,000 is several full rounds of messages from every peer of a large cluster.
pub const MAX_CONTROL_INPUTS_PER_TURN: usize = 20_000;

/// Inputs to a node's thread on its control inbox. (Submissions and queries go through
/// the bounded client inbox, `ClientInput`.)
pub enum Input {
    Peer {
        from: NodeId,
        message: PeerMessage,
    },
    Unreachable(NodeId),
    /// Whether the snapshot this node sent to a peer arrived.
    SnapshotReport {
        peer: NodeId,
        delivered: bool,
    },
    /// Work that needs the replica mutably and answers on a channel of its own: a
    /// membership change, blocks the backfill fetched and checked to store (`crate::api`
    /// builds these).
    Call(ControlCall),
    Shutdown,
    /// Client inputs are waiting in the client inbox: a wake-up, nothing to handle.
    ClientsWaiting,
}

/// A call with the replica on the node thread, between two turns ([`Input::Call`]). It
/// returns its answer as a `CallReply`, which the runner sends once the writes the call
/// handed out are done; an error it returns is fatal to the node, like one from
/// `Replica::process`.
pub struct ControlCall(pub(crate) CallFn);

/// The work of a [`ControlCall`].
pub(crate) type CallFn = Box<dyn FnOnce(&mut Replica) -> Result<CallReply, ReplicaError> + Send>;

/// Sends a [`ControlCall`]'s answer.
pub(crate) type CallReply = Box<dyn FnOnce() + Send>;

/// What clients ask of the node's thread.
pub(crate) enum ClientInput {
    Submit(SignedTx),
    Query(Box<dyn FnOnce(&Replica) + Send>),
}

/// Why a client input was not queued. (What a client is told is `api`'s business: busy,
/// or that the node stopped.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum EnqueueError {
    /// The client inbox holds `capacity` inputs already.
    Busy { capacity: usize },
    /// The node thread is gone: nothing takes inputs any more.
    Closed,
}

/// The sending side of the client inbox; cheap to clone.
#[derive(Clone)]
pub(crate) struct ClientSender {
    queue: SyncSender<ClientInput>,
    capacity: usize,
    control: Sender<Input>,
    wake_pending: Arc<AtomicBool>,
}

impl ClientSender {
    /// Queues `input` without blocking, and wakes the node thread if no wake is pending.
    pub(crate) fn try_send(&self, input: ClientInput) -> Result<(), EnqueueError> {
        match self.queue.try_send(input) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                return Err(EnqueueError::Busy {
                    capacity: self.capacity,
                });
            }
            Err(TrySendError::Disconnected(_)) => return Err(EnqueueError::Closed),
        }
        // AcqRel pairs with the thread's swap: if the thread cleared the flag after our
        // input was queued, it drains the queue after that and sees our input.
        if !self.wake_pending.swap(true, Ordering::AcqRel)
            && self.control.send(Input::ClientsWaiting).is_err()
        {
            return Err(EnqueueError::Closed);
        }
        Ok(())
    }
}

/// The control inbox closed: every sender is gone.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Disconnected;

/// The receiving side of both inboxes, owned by the node thread.
pub(crate) struct Inboxes {
    control: Receiver<Input>,
    clients: Receiver<ClientInput>,
    wake_pending: Arc<AtomicBool>,
    /// The last turn stopped at its client limit: more may wait, so do not block.
    clients_left: bool,
}

/// A control sender, a client sender with room for `capacity` inputs, and the inboxes
/// they feed.
pub(crate) fn inboxes(capacity: usize) -> (Sender<Input>, ClientSender, Inboxes) {
    let (control_sender, control) = channel();
    let (queue, clients) = sync_channel(capacity);
    let wake_pending = Arc::new(AtomicBool::new(false));
    let client_sender = ClientSender {
        queue,
        capacity,
        control: control_sender.clone(),
        wake_pending: wake_pending.clone(),
    };
    let inboxes = Inboxes {
        control,
        clients,
        wake_pending,
        clients_left: false,
    };
    (control_sender, client_sender, inboxes)
}

impl Inboxes {
    /// Waits up to `wait` for a control input (not at all if client inputs were left
    /// over from the last turn), then takes the control inputs waiting, at most
    /// [`MAX_CONTROL_INPUTS_PER_TURN`]. Wakes are not returned.
    pub(crate) fn next_control(&mut self, wait: Duration) -> Result<Vec<Input>, Disconnected> {
        let mut control = Vec::new();
        let first = if self.clients_left {
            self.try_control()?
        } else {
            match self.control.recv_timeout(wait) {
                Ok(input) => Some(input),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => return Err(Disconnected),
            }
        };
        let mut taken = 0;
        let mut next = first;
        while let Some(input) = next {
            if !matches!(input, Input::ClientsWaiting) {
                control.push(input);
            }
            taken += 1;
            next = if taken < MAX_CONTROL_INPUTS_PER_TURN {
                self.try_control()?
            } else {
                None
            };
        }
        Ok(control)
    }

    /// Hands waiting client inputs to `handle`, one at a time, until the inbox is empty,
    /// [`MAX_CLIENT_INPUTS_PER_TURN`] were handled, or `budget` has passed; returns how
    /// many were handled. If it stopped at a limit, the next turn does not wait.
    pub(crate) fn take_clients(
        &mut self,
        budget: Duration,
        mut handle: impl FnMut(ClientInput),
    ) -> usize {
        let start = Instant::now();
        // Cleared before draining, so an input queued after the drain wakes us again.
        self.wake_pending.swap(false, Ordering::AcqRel);
        let mut handled = 0;
        self.clients_left = loop {
            if handled == MAX_CLIENT_INPUTS_PER_TURN || start.elapsed() >= budget {
                break true;
            }
            match self.clients.try_recv() {
                Ok(input) => {
                    handle(input);
                    handled += 1;
                }
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break false,
            }
        };
        handled
    }

    fn try_control(&self) -> Result<Option<Input>, Disconnected> {
        match self.control.try_recv() {
            Ok(input) => Ok(Some(input)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(Disconnected),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Longer than any test takes: the time budget never cuts these turns short.
    const NO_BUDGET: Duration = Duration::from_secs(3600);

    fn query() -> ClientInput {
        ClientInput::Query(Box::new(|_| {}))
    }

    fn peer_ids(control: &[Input]) -> Vec<u64> {
        control
            .iter()
            .map(|input| match input {
                Input::Unreachable(id) => *id,
                _ => panic!("only Unreachable inputs were sent"),
            })
            .collect()
    }

    /// One turn as the runner takes it: control inputs, then client inputs, in the order
    /// they are handled (peer ids, then 0 for each client input).
    fn turn(inboxes: &mut Inboxes, wait: Duration, budget: Duration) -> Vec<u64> {
        let mut handled = peer_ids(&inboxes.next_control(wait).unwrap());
        inboxes.take_clients(budget, |_| handled.push(0));
        handled
    }

    #[test]
    fn control_inputs_come_first_however_many_client_inputs_wait() {
        let (control, clients, mut inboxes) = inboxes(CLIENT_QUEUE);
        let mut queued = 0;
        while clients.try_send(query()).is_ok() {
            queued += 1;
        }
        assert_eq!(queued, CLIENT_QUEUE);
        for peer in [2, 3, 4] {
            control.send(Input::Unreachable(peer)).unwrap();
        }

        let handled = turn(&mut inboxes, NO_BUDGET, NO_BUDGET);
        assert_eq!(handled[..3], [2, 3, 4]);
        assert_eq!(handled.len(), 3 + MAX_CLIENT_INPUTS_PER_TURN);

        // A peer input that arrives while clients are still queued is taken in the next
        // turn, before the clients left over; the turn does not wait for it.
        control.send(Input::Unreachable(5)).unwrap();
        let handled = turn(&mut inboxes, NO_BUDGET, NO_BUDGET);
        assert_eq!(handled[..1], [5]);
        assert_eq!(handled.len(), 1 + MAX_CLIENT_INPUTS_PER_TURN);

        let mut rest = 0;
        while rest < CLIENT_QUEUE - 2 * MAX_CLIENT_INPUTS_PER_TURN {
            let handled = turn(&mut inboxes, NO_BUDGET, NO_BUDGET);
            assert!(!handled.is_empty(), "left-over clients are not waited for");
            assert!(handled.iter().all(|&h| h == 0));
            rest += handled.len();
        }
        assert_eq!(rest, CLIENT_QUEUE - 2 * MAX_CLIENT_INPUTS_PER_TURN);
        assert!(turn(&mut inboxes, Duration::ZERO, NO_BUDGET).is_empty());
    }

    #[test]
    fn a_spent_time_budget_leaves_client_inputs_for_the_next_turn() {
        let (control, clients, mut inboxes) = inboxes(100);
        for _ in 0..10 {
            clients.try_send(query()).unwrap();
        }
        control.send(Input::Unreachable(2)).unwrap();
        // No time at all: control inputs still go, client inputs wait.
        assert_eq!(turn(&mut inboxes, NO_BUDGET, Duration::ZERO), [2]);
        // Left over, so the next turn does not block on the (empty) control inbox.
        assert_eq!(turn(&mut inboxes, NO_BUDGET, NO_BUDGET), [0; 10]);
    }

    #[test]
    fn a_full_client_queue_is_busy_and_a_closed_one_stopped() {
        let (_control, clients, inboxes) = inboxes(3);
        for _ in 0..3 {
            clients.try_send(query()).unwrap();
        }
        assert_eq!(
            clients.try_send(query()).unwrap_err(),
            EnqueueError::Busy { capacity: 3 }
        );
        drop(inboxes);
        assert_eq!(clients.try_send(query()).unwrap_err(), EnqueueError::Closed);
    }

    #[test]
    fn one_wake_is_pending_at_a_time() {
        let (_control, clients, mut inboxes) = inboxes(100);
        for _ in 0..10 {
            clients.try_send(query()).unwrap();
        }
        let wakes = inboxes
            .control
            .try_iter()
            .filter(|i| matches!(i, Input::ClientsWaiting))
            .count();
        assert_eq!(wakes, 1);
        // The wake was taken above; the turn still drains the clients and clears the flag.
        assert_eq!(turn(&mut inboxes, Duration::ZERO, NO_BUDGET).len(), 10);
        // The turn cleared the flag: the next input wakes the thread again, once, and
        // the wake itself is not handed on.
        clients.try_send(query()).unwrap();
        clients.try_send(query()).unwrap();
        assert_eq!(turn(&mut inboxes, NO_BUDGET, NO_BUDGET), [0, 0]);
        clients.try_send(query()).unwrap();
        assert_eq!(inboxes.control.try_iter().count(), 1);
    }

    #[test]
    fn the_control_inbox_closing_ends_the_turns() {
        let (control, clients, mut inboxes) = inboxes(4);
        drop(control);
        drop(clients);
        assert_eq!(
            inboxes.next_control(Duration::ZERO).err(),
            Some(Disconnected)
        );
    }
}
