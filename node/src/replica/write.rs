//! The replica's writes, handed to its runner in quinn-proto's manner: the replica never
//! writes to its store or syncs it. Each Raft `Ready` becomes a [`Write`] the runner takes
//! with [`Replica::poll_write`](super::Replica::poll_write), performs (fsyncing it when
//! [`WriteSet::durable`]), and reports with
//! [`Replica::handle_written`](super::Replica::handle_written).
//!
//! What may leave before a write is already in the outbox when the write is handed out
//! (the leader's appends: they need no persistence, so the followers' fsyncs overlap the
//! leader's); what depends on it (votes, append acknowledgements, the receipts of the
//! blocks it stores) is released only when it is reported. Committed entries are applied
//! in a step of their own, after what their Ready let go has left, so applying a batch
//! never delays an append or an acknowledgement. Until then Raft is not stepped, so a runner that
//! blocks on the write (the node thread) or delays it (the simulator's disk) sees the same
//! order of sends, writes and answers.

use std::collections::VecDeque;

use raft::eraftpb::Message;

use crate::io::store::WriteSet;

/// What one write must make true on disk, and its place in the order of writes.
#[derive(Debug)]
pub struct Write {
    pub id: WriteId,
    /// The write itself; `set.durable` says it must be fsynced before it is reported.
    pub set: WriteSet,
}

/// Names a [`Write`] when it is reported done. Writes are reported in the order they were
/// handed out.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct WriteId(pub u64);

/// What the replica does once a write is reported.
#[derive(Debug)]
pub(super) enum Then {
    /// A Ready's entries and hard state are durable: send these (votes, append
    /// acknowledgements) and advance Raft; what is committed is applied by the next
    /// `process`, once they have left.
    Persisted(Vec<Message>),
    /// The entries that advancing committed are applied and stored: tell Raft.
    Applied,
    /// Nothing waits on it (the replica's own records, backfilled blocks).
    Stored,
}

/// The writes handed out and not yet reported.
///
/// At most two wait on Raft at a time (a Ready's, then its applied entries'), and the
/// replica's own records add at most one each at open and per backfill segment, so the
/// queues stay tiny; [`MAX_WRITES_AWAITED`] turns a runner that stops reporting into a
/// fatal error instead of growth.
#[derive(Debug, Default)]
pub(super) struct Writes {
    next: u64,
    /// Handed out by `poll_write`, in order.
    out: VecDeque<Write>,
    /// Not yet reported, in order, with what follows each.
    awaited: VecDeque<(WriteId, Then)>,
}

/// Writes a replica lets wait unreported at most: a runner owes them in order, so more
/// means it lost track.
pub const MAX_WRITES_AWAITED: usize = 64;

impl Writes {
    /// Queues `set` to be written, `then` to run once it is reported; `false` if the
    /// runner already owes [`MAX_WRITES_AWAITED`] writes.
    pub(super) fn hand_out(&mut self, set: WriteSet, then: Then) -> bool {
        if self.awaited.len() >= MAX_WRITES_AWAITED {
            return false;
        }
        let id = WriteId(self.next);
        self.next += 1;
        self.out.push_back(Write { id, set });
        self.awaited.push_back((id, then));
        true
    }

    pub(super) fn poll(&mut self) -> Option<Write> {
        self.out.pop_front()
    }

    /// The continuation of write `id`, if it is the oldest one awaited.
    pub(super) fn reported(&mut self, id: WriteId) -> Option<Then> {
        match self.awaited.front() {
            Some((oldest, _)) if *oldest == id => self.awaited.pop_front().map(|(_, then)| then),
            _ => None,
        }
    }

    /// The oldest write awaited, if any (what a runner must report next).
    pub(super) fn oldest_awaited(&self) -> Option<WriteId> {
        self.awaited.front().map(|(id, _)| *id)
    }

    /// Raft waits for a write: it must not be stepped until that write is reported.
    pub(super) fn raft_waits(&self) -> bool {
        self.awaited
            .iter()
            .any(|(_, then)| !matches!(then, Then::Stored))
    }

    /// Any write is handed out and not yet reported.
    pub(super) fn any_awaited(&self) -> bool {
        !self.awaited.is_empty()
    }
}

/// Performs `replica`'s writes at once, as the node thread does, and returns what it sent
/// on the way: a runner for the unit tests.
#[cfg(test)]
pub(crate) fn write_through(
    replica: &mut super::Replica,
) -> Vec<(crate::core::types::NodeId, super::PeerMessage)> {
    let mut sent = Vec::new();
    loop {
        while let Some(send) = replica.poll_transmit() {
            sent.push(send);
        }
        let Some(write) = replica.poll_write() else {
            return sent;
        };
        replica
            .store_mut()
            .commit(write.set)
            .expect("the test store takes the write");
        replica.handle_written(write.id).expect("reported in order");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_reported_in_the_order_they_were_handed_out() {
        let mut writes = Writes::default();
        assert!(writes.hand_out(WriteSet::default(), Then::Stored));
        assert!(writes.hand_out(WriteSet::default(), Then::Applied));
        assert!(writes.raft_waits());
        let first = writes.poll().unwrap().id;
        let second = writes.poll().unwrap().id;
        assert!(writes.poll().is_none());
        assert!(writes.reported(second).is_none(), "out of order");
        assert!(matches!(writes.reported(first), Some(Then::Stored)));
        assert!(matches!(writes.reported(second), Some(Then::Applied)));
        assert!(!writes.any_awaited());
        assert!(!writes.raft_waits());
    }

    #[test]
    fn a_runner_that_stops_reporting_is_refused_more_writes() {
        let mut writes = Writes::default();
        for _ in 0..MAX_WRITES_AWAITED {
            assert!(writes.hand_out(WriteSet::default(), Then::Stored));
        }
        assert!(!writes.hand_out(WriteSet::default(), Then::Stored));
        assert!(!writes.raft_waits(), "only records wait");
    }
}
