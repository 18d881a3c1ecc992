//! An in-memory transport between node threads, with seeded faults: drop, delay (and so
//! reorder), duplicate, partition. Messages are encoded to bytes and decoded on delivery,
//! as on a real network, so the wire form is exercised too.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc::Sender;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

use crate::core::types::NodeId;
use crate::raft::wire::WireMessageType;
use crate::replica::PeerMessage;
use crate::testkit::faults::{Faults, Partition};

use crate::io::inbox::Input;
use crate::io::runner::Transport;

/// Counters for what the network did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NetStats {
    pub sent: u64,
    pub delivered: u64,
    pub dropped: u64,
    pub duplicated: u64,
    pub blocked: u64,
}

struct State {
    inboxes: FxHashMap<NodeId, Sender<Input>>,
    faults: Faults,
    partition: Partition,
    rng: ChaCha8Rng,
    stats: NetStats,
}

struct Delayed {
    heap: BinaryHeap<Reverse<(Instant, u64)>>,
    items: FxHashMap<u64, (NodeId, NodeId, Arc<Vec<u8>>)>,
    next: u64,
    stop: bool,
}

struct Inner {
    state: Mutex<State>,
    delayed: Mutex<Delayed>,
    wake: Condvar,
}

pub struct MemNet {
    inner: Arc<Inner>,
    timer: Option<JoinHandle<()>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl MemNet {
    pub fn new(seed: u64, faults: Faults) -> Arc<MemNet> {
        let inner = Arc::new(Inner {
            state: Mutex::new(State {
                inboxes: FxHashMap::default(),
                faults,
                partition: Partition::default(),
                rng: ChaCha8Rng::seed_from_u64(seed),
                stats: NetStats::default(),
            }),
            delayed: Mutex::new(Delayed {
                heap: BinaryHeap::new(),
                items: FxHashMap::default(),
                next: 0,
                stop: false,
            }),
            wake: Condvar::new(),
        });
        let timer_inner = inner.clone();
        let timer = std::thread::Builder::new()
            .name("qraft-memnet".into())
            .spawn(move || deliver_delayed(&timer_inner))
            .expect("spawning the memnet timer thread");
        Arc::new(MemNet {
            inner,
            timer: Some(timer),
        })
    }

    /// Node `id` receives at `inbox` from now on.
    pub fn register(&self, id: NodeId, inbox: Sender<Input>) {
        lock(&self.inner.state).inboxes.insert(id, inbox);
    }

    /// Node `id` is gone: messages to it are dropped.
    pub fn unregister(&self, id: NodeId) {
        lock(&self.inner.state).inboxes.remove(&id);
    }

    pub fn set_faults(&self, faults: Faults) {
        lock(&self.inner.state).faults = faults;
    }

    pub fn set_partition(&self, partition: Partition) {
        lock(&self.inner.state).partition = partition;
    }

    pub fn heal(&self) {
        let mut state = lock(&self.inner.state);
        state.partition.heal();
        state.faults = Faults::none();
    }

    pub fn stats(&self) -> NetStats {
        lock(&self.inner.state).stats
    }
}

impl Transport for MemNet {
    fn send(&self, from: NodeId, to: NodeId, message: PeerMessage) {
        let is_snapshot = matches!(
            &message,
            PeerMessage::Raft(m) if m.msg_type == WireMessageType::MsgSnapshot
        );
        let delivered = self.route(from, to, message);
        if is_snapshot && let Some(sender) = lock(&self.inner.state).inboxes.get(&from) {
            let _ = sender.send(Input::SnapshotReport {
                peer: to,
                delivered,
            });
        }
    }
}

impl MemNet {
    /// Sends copies of `message` as the faults decide; whether any copy goes out.
    fn route(&self, from: NodeId, to: NodeId, message: PeerMessage) -> bool {
        let (delays, inbox) = {
            let mut state = lock(&self.inner.state);
            state.stats.sent += 1;
            if state.partition.blocks(from, to) {
                state.stats.blocked += 1;
                return false;
            }
            let State {
                faults, rng, stats, ..
            } = &mut *state;
            let delays = faults.fate(rng);
            match delays.len() {
                0 => stats.dropped += 1,
                2 => stats.duplicated += 1,
                _ => {}
            }
            (delays, state.inboxes.get(&to).cloned())
        };
        if delays.is_empty() {
            return false;
        }
        let Some(inbox) = inbox else {
            // Nobody there: tell the sender, as a failed connection would.
            if let Some(sender) = lock(&self.inner.state).inboxes.get(&from) {
                let _ = sender.send(Input::Unreachable(to));
            }
            return false;
        };
        let bytes =
            Arc::new(postcard::to_stdvec(&message).expect("encoding into a Vec cannot fail"));
        for delay in delays {
            if delay == 0 {
                deliver(&self.inner, &inbox, from, &bytes);
            } else {
                let mut delayed = lock(&self.inner.delayed);
                let seq = delayed.next;
                delayed.next += 1;
                let at = Instant::now() + Duration::from_millis(delay);
                delayed.heap.push(Reverse((at, seq)));
                delayed.items.insert(seq, (from, to, bytes.clone()));
                self.inner.wake.notify_one();
            }
        }
        true
    }
}

fn deliver(inner: &Inner, inbox: &Sender<Input>, from: NodeId, bytes: &[u8]) {
    match postcard::from_bytes::<PeerMessage>(bytes) {
        Ok(message) => {
            if inbox.send(Input::Peer { from, message }).is_ok() {
                lock(&inner.state).stats.delivered += 1;
            }
        }
        Err(err) => tracing::warn!(from, %err, "memnet: dropping an undecodable message"),
    }
}

fn deliver_delayed(inner: &Inner) {
    let mut delayed = lock(&inner.delayed);
    loop {
        if delayed.stop {
            return;
        }
        let now = Instant::now();
        match delayed.heap.peek().copied() {
            Some(Reverse((at, seq))) if at <= now => {
                delayed.heap.pop();
                let (from, to, bytes) = delayed.items.remove(&seq).expect("scheduled");
                drop(delayed);
                let inbox = lock(&inner.state).inboxes.get(&to).cloned();
                if let Some(inbox) = inbox {
                    deliver(inner, &inbox, from, &bytes);
                }
                delayed = lock(&inner.delayed);
            }
            Some(Reverse((at, _))) => {
                delayed = inner
                    .wake
                    .wait_timeout(delayed, at - now)
                    .unwrap_or_else(|p| p.into_inner())
                    .0;
            }
            None => {
                delayed = inner.wake.wait(delayed).unwrap_or_else(|p| p.into_inner());
            }
        }
    }
}

impl Drop for MemNet {
    fn drop(&mut self) {
        lock(&self.inner.delayed).stop = true;
        self.inner.wake.notify_all();
        if let Some(timer) = self.timer.take() {
            let _ = timer.join();
        }
    }
}
