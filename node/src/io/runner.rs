//! The node thread: runs a [`Replica`] against real time, a [`Transport`] and an
//! [`EventSink`]. One OS thread per node; it blocks on its control inbox until an input
//! arrives or the replica's next deadline, takes every queued control input and then a
//! bounded number of client inputs (so signatures are verified in batches, and client
//! load never delays peer messages by more than a turn: see [`super::inbox`]),
//! processes, then sends what the replica produced and performs the writes it handed out
//! (the fsyncs happen here, never inside the replica: see [`crate::replica::write`]).
//!
//! The runner knows nothing of the node's clients: what the replica tells the world goes
//! to the [`EventSink`] it was started with (`crate::api` starts it with the node's
//! `Handle`, see `crate::api::start`).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::inbox::{ClientInput, Inboxes, Input, MAX_CLIENT_WORK_PER_TURN};
use crate::core::types::NodeId;
use crate::replica::{Now, PeerMessage, Replica, ReplicaError, ReplicaEvent};

/// Where the node thread reports: every event the replica produces, in order, and once,
/// when the thread ends for any reason (a shutdown, a fatal error, a panic), that it
/// stopped.
pub trait EventSink: Send + 'static {
    fn dispatch(&self, event: ReplicaEvent);
    fn stopped(&self);
}

/// Carries peer messages between nodes. `send` must not block for long: it is called
/// from the node's thread.
pub trait Transport: Send + Sync + 'static {
    fn send(&self, from: NodeId, to: NodeId, message: PeerMessage);
}

/// The wall clock and a monotonic clock, as the replica wants them.
pub struct Clock {
    start: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock {
            start: Instant::now(),
        }
    }
}

impl Clock {
    pub fn now(&self) -> Now {
        let unix_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        Now {
            mono_ms: self.start.elapsed().as_millis() as u64,
            unix_ms,
        }
    }
}

/// A node running on its own thread.
pub struct RunningNode {
    inbox: Sender<Input>,
    killed: Arc<AtomicBool>,
    thread: Option<JoinHandle<Result<(), ReplicaError>>>,
}

impl RunningNode {
    /// Starts `replica` on a new thread, taking its inputs from `receiver` (`inbox` is
    /// its control sender) and reporting to `events`.
    pub(crate) fn spawn(
        replica: Replica,
        transport: Arc<dyn Transport>,
        inbox: Sender<Input>,
        receiver: Inboxes,
        events: impl EventSink,
    ) -> std::io::Result<RunningNode> {
        let id = replica.id();
        let killed = Arc::new(AtomicBool::new(false));
        let thread_killed = killed.clone();
        let thread = std::thread::Builder::new()
            .name(format!("qraft-node-{id}"))
            .spawn(move || {
                // A panic (a bug, or raft-rs refusing a message it cannot make sense of)
                // stops this node like a fatal error: its handle says so, and the
                // process can exit and be restarted to recover from its data directory.
                let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    run(replica, receiver, transport, &events, thread_killed)
                }))
                .unwrap_or_else(|panic| {
                    let what = panic
                        .downcast_ref::<String>()
                        .cloned()
                        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                        .unwrap_or_default();
                    Err(ReplicaError::Panicked(what))
                });
                if let Err(err) = &result {
                    tracing::error!(node = id, %err, "node stopped on a fatal error");
                }
                events.stopped();
                result
            })?;
        Ok(RunningNode {
            inbox,
            killed,
            thread: Some(thread),
        })
    }

    /// Where the transport delivers this node's messages.
    pub fn inbox(&self) -> Sender<Input> {
        self.inbox.clone()
    }

    /// Stops the node as kill -9 would: whatever it has not yet made durable is lost,
    /// nothing more is sent. (Its store is closed when the thread ends.)
    pub fn kill(mut self) {
        self.killed.store(true, Ordering::Release);
        let _ = self.stop_inner();
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) -> Result<(), ReplicaError> {
        self.stop_inner()
    }

    fn stop_inner(&mut self) -> Result<(), ReplicaError> {
        let _ = self.inbox.send(Input::Shutdown);
        match self.thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| {
                tracing::error!("a node thread panicked");
                Ok(())
            }),
            None => Ok(()),
        }
    }
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.stop_inner();
    }
}

fn run(
    mut replica: Replica,
    mut inbox: Inboxes,
    transport: Arc<dyn Transport>,
    handle: &dyn EventSink,
    killed: Arc<AtomicBool>,
) -> Result<(), ReplicaError> {
    let clock = Clock::default();
    // A new store's first records.
    write_out(&mut replica, &*transport, &killed)?;
    loop {
        if killed.load(Ordering::Acquire) {
            return Ok(());
        }
        let now = clock.now();
        let wait = if replica.has_work() {
            Duration::ZERO
        } else {
            Duration::from_millis(replica.poll_timeout().saturating_sub(now.mono_ms))
        };
        let Ok(control) = inbox.next_control(wait) else {
            return Ok(());
        };
        for input in control {
            if !handle_input(&mut replica, input, &*transport, &killed)? {
                return Ok(());
            }
        }
        inbox.take_clients(MAX_CLIENT_WORK_PER_TURN, |input| {
            handle_client_input(&mut replica, input)
        });
        if killed.load(Ordering::Acquire) {
            return Ok(());
        }
        replica.process(clock.now())?;
        write_out(&mut replica, &*transport, &killed)?;
        while let Some(event) = replica.poll_event() {
            handle.dispatch(event);
        }
    }
}

/// Sends what may leave now and performs the replica's writes, in order: each write is
/// preceded by what may leave before it (the leader's appends overlap its fsync) and
/// reported once it is on disk (fsynced when durable), which releases what waited on it
/// (votes, acknowledgements, the next write). Stops at once when the node is killed: as
/// with kill -9, nothing more is sent or written.
fn write_out(
    replica: &mut Replica,
    transport: &dyn Transport,
    killed: &AtomicBool,
) -> Result<(), ReplicaError> {
    let id = replica.id();
    loop {
        if killed.load(Ordering::Acquire) {
            return Ok(());
        }
        while let Some((to, message)) = replica.poll_transmit() {
            if to != id {
                transport.send(id, to, message);
            }
        }
        let Some(write) = replica.poll_write() else {
            return Ok(());
        };
        replica.store_mut().commit(write.set)?;
        replica.handle_written(write.id)?;
    }
}

/// Feeds one control input to the replica; `false` to stop, an error if the replica
/// failed (fatal, as in `process`).
fn handle_input(
    replica: &mut Replica,
    input: Input,
    transport: &dyn Transport,
    killed: &AtomicBool,
) -> Result<bool, ReplicaError> {
    match input {
        Input::Peer { from, message } => replica.handle_peer(from, message),
        Input::Unreachable(peer) => replica.handle_unreachable(peer),
        Input::SnapshotReport { peer, delivered } => {
            replica.handle_snapshot_report(peer, delivered)
        }
        Input::Call(call) => {
            let reply = (call.0)(replica)?;
            // The caller hears back once what the call wrote is stored.
            write_out(replica, transport, killed)?;
            reply();
        }
        Input::Shutdown => return Ok(false),
        Input::ClientsWaiting => {}
    }
    Ok(true)
}

/// Feeds one client input to the replica.
fn handle_client_input(replica: &mut Replica, input: ClientInput) {
    match input {
        ClientInput::Submit(tx) => replica.handle_submit(tx),
        ClientInput::Query(job) => job(replica),
    }
}
