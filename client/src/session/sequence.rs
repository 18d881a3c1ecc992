//! Keeping transactions prepared concurrently in the order they were asked for.
//!
//! A program's commands may run concurrently (a `session --jsonl`'s lines, the
//! dashboard's keys), but transactions must reach the node in the order they were asked
//! for (a cancel-all must not overtake the order before it). Each transaction takes a
//! [`Turn`] when it is asked for, and the turn travels with it as a value, into
//! [`Session::submit`](super::Session::submit) (or [`Session::write`](super::Session::write)):
//! its task prepares the transaction
//! (prices, checks) in parallel with the others, then waits for its turn to sign it and
//! write it on the connection's ordered pipeline, and only then lets the next one go.
//! Receipts are awaited in parallel.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use tokio::sync::watch;

/// Hands out turns in reading order.
pub struct Sequencer {
    inner: Arc<Inner>,
}

struct Inner {
    next: Mutex<u64>,
    /// Every turn below this one has been sent (or given up).
    sent_below: watch::Sender<u64>,
    /// Turns finished out of order, waiting for those before them.
    finished: Mutex<BTreeSet<u64>>,
}

impl Default for Sequencer {
    fn default() -> Self {
        Sequencer {
            inner: Arc::new(Inner {
                next: Mutex::new(0),
                sent_below: watch::channel(0).0,
                finished: Mutex::new(BTreeSet::new()),
            }),
        }
    }
}

impl Sequencer {
    /// The next turn, in the order this is called.
    pub fn turn(&self) -> Turn {
        let mut next = self.inner.next.lock().expect("sequencer lock");
        let number = *next;
        *next += 1;
        Turn {
            inner: self.inner.clone(),
            number,
            finished: false,
        }
    }
}

/// One transaction's place in line. Dropping it (sent, or failed before sending) lets
/// the next one go.
pub struct Turn {
    inner: Arc<Inner>,
    number: u64,
    finished: bool,
}

impl Turn {
    /// Waits until every earlier turn has been sent or given up.
    pub async fn wait(&self) {
        let mut sent = self.inner.sent_below.subscribe();
        let _ = sent.wait_for(|below| *below >= self.number).await;
    }

    fn finish(&mut self) {
        if self.finished {
            return;
        }
        self.finished = true;
        let mut finished = self.inner.finished.lock().expect("sequencer lock");
        finished.insert(self.number);
        let mut below = *self.inner.sent_below.borrow();
        while finished.remove(&below) {
            below += 1;
        }
        self.inner.sent_below.send_replace(below);
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        self.finish();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn turns_go_in_order_even_when_later_ones_are_ready_first() {
        let sequencer = Sequencer::default();
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for i in 0..5u64 {
            let turn = sequencer.turn();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                // Later turns are ready sooner.
                tokio::time::sleep(Duration::from_millis(5 * (5 - i))).await;
                turn.wait().await;
                order.lock().unwrap().push(i);
                drop(turn);
            }));
        }
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![0, 1, 2, 3, 4]);
    }

    #[tokio::test]
    async fn a_turn_given_up_without_sending_lets_the_next_go() {
        let sequencer = Sequencer::default();
        let first = sequencer.turn();
        let second = sequencer.turn();
        drop(first);
        tokio::time::timeout(Duration::from_secs(1), second.wait())
            .await
            .expect("the second turn goes once the first is given up");
    }
}
