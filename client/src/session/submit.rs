//! Submitting, in two parts: writing now and finishing later.
//!
//! [`Session::write`] signs a transaction and writes it on the connection's ordered
//! pipeline (in its [`Turn`], if it has one) and returns at once with a [`Sent`]: the
//! transaction as written, its answer to come. [`Session::finish`] awaits that answer
//! and applies the one retry policy ([`crate::retry::decide`]): a passing refusal or a
//! nonce setback is signed again and written again. [`Session::submit`] is the two in a
//! row. A program with many transactions in flight (a bot) writes each now and finishes
//! it when it likes.
//!
//! A [`Sent`] keeps its transaction in flight (what a successor on another node sends
//! again, [`Session::reconnect`]) until it is finished: answered, given up, or handed to
//! [`settle`](super::settle) in doubt. Dropped unfinished, it is no longer in flight
//! (the transaction may still be applied; nothing will send it again).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use qraft_node::api::Refusal;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::tx::{SignedTx, TxBody, TxHash};
use qraft_node::net::proto::CommittedView;

use super::transport::{PendingAnswer, Transport, Unanswered};
use super::{Progress, Session, SubmitError, Turn, lock};
use crate::retry::{self, Decision, RETRIES, Tries, decide};

/// What a session and its successors wrote and have no answer for, shared by them.
pub(super) struct Flight<E> {
    /// The transactions, as signed, by hash: what a successor sends again.
    pub txs: HashMap<TxHash, SignedTx>,
    /// The answers awaited for copies a successor sent again, until taken
    /// ([`Session::take_resent`]).
    pub resent: HashMap<TxHash, PendingAnswer<E>>,
}

impl<E> Default for Flight<E> {
    fn default() -> Self {
        Flight {
            txs: HashMap::new(),
            resent: HashMap::new(),
        }
    }
}

/// The in-flight table of a session and its successors.
pub(super) type Flights<E> = Arc<Mutex<Flight<E>>>;

/// A transaction's place in flight: given up when dropped, unless kept for settling.
pub(super) struct Flying<E> {
    /// `None`: not in flight (never written, or kept for settling).
    flight: Option<Flights<E>>,
    hash: TxHash,
}

impl<E> Flying<E> {
    /// A place for `hash`, given up when this is dropped.
    pub(super) fn of(flight: &Flights<E>, hash: TxHash) -> Flying<E> {
        Flying {
            flight: Some(flight.clone()),
            hash,
        }
    }

    fn none(hash: TxHash) -> Flying<E> {
        Flying { flight: None, hash }
    }

    /// Keeps the transaction in flight after this is dropped (it is in doubt: settling
    /// needs it, and ends it).
    fn keep(mut self) {
        self.flight = None;
    }
}

impl<E> Drop for Flying<E> {
    fn drop(&mut self) {
        if let Some(flight) = self.flight.take() {
            let mut flight = lock(&flight);
            flight.txs.remove(&self.hash);
            flight.resent.remove(&self.hash);
        }
    }
}

/// A transaction written on a session's ordered pipeline, its answer to come: what
/// [`Session::write`] returns and [`Session::finish`] takes. In flight until finished;
/// dropped unfinished, it gives its place up: no successor on another node sends it
/// again (it may still be applied).
#[must_use = "a transaction written is finished (or settled) by Session::finish"]
pub struct Sent<E> {
    tx: SignedTx,
    answer: PendingAnswer<E>,
    tries: Tries,
    flying: Flying<E>,
}

impl<E> Sent<E> {
    /// The transaction as signed and written.
    pub fn tx(&self) -> &SignedTx {
        &self.tx
    }

    pub fn hash(&self) -> TxHash {
        self.flying.hash
    }

    pub fn nonce(&self) -> u64 {
        self.tx.tx.nonce
    }
}

impl<E> std::fmt::Debug for Sent<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sent")
            .field("hash", &self.flying.hash)
            .field("nonce", &self.tx.tx.nonce)
            .finish_non_exhaustive()
    }
}

/// Whether a submission that ended so is in doubt: it may be applied.
fn in_doubt<E>(unanswered: &Unanswered<E>) -> bool {
    matches!(
        unanswered,
        Unanswered::InDoubt(_) | Unanswered::NodeTimedOut(_) | Unanswered::Stopped
    )
}

impl<T: Transport> Session<T> {
    /// Signs and submits `body` on the ordered pipeline (in `turn`, if it has one: once
    /// every earlier turn has been written), and waits for its receipt: [`Session::write`]
    /// then [`Session::finish`] with the shared [`RETRIES`].
    ///
    /// Signs again with a fresh nonce and resends where nothing can have happened, by
    /// the one retry policy ([`crate::retry`]): a refusal for a passing reason, or a
    /// nonce refused or rejected as stale (another program with this key got there
    /// first). Retries go after every transaction written before them; `progress` is
    /// told of each send and retry. A transaction written and not answered stays in
    /// flight here (a successor sends it again) until it is answered or settled.
    pub async fn submit(
        &self,
        body: &TxBody,
        turn: Option<Turn>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<CommittedView, SubmitError<T::Error>> {
        let sent = self.write(body, turn, progress).await?;
        self.finish(sent, RETRIES, progress).await
    }

    /// The write-now part of [`Session::submit`]: learns the key's last nonce (once per
    /// connection), waits for `turn`, signs `body` with the next nonce and writes it on
    /// the ordered pipeline; returns once it is written, not once it is applied.
    ///
    /// [`SubmitError::NotSent`] (nothing happened) or [`SubmitError::Sync`]; any other
    /// trouble is the answer [`Session::finish`] finds.
    pub async fn write(
        &self,
        body: &TxBody,
        turn: Option<Turn>,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Sent<T::Error>, SubmitError<T::Error>> {
        self.sync_nonce().await.map_err(SubmitError::Sync)?;
        self.write_signed(body, turn, Tries::default(), progress)
            .await
    }

    /// Signs `body` and writes it, in `turn`; signing and writing go together under the
    /// session's write lock, so nonces reach the node in the order they were given out.
    async fn write_signed(
        &self,
        body: &TxBody,
        turn: Option<Turn>,
        tries: Tries,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<Sent<T::Error>, SubmitError<T::Error>> {
        if let Some(turn) = &turn {
            turn.wait().await;
        }
        let (tx, written) = {
            let _writing = self.writing.lock().await;
            let tx = self.sign(body.clone());
            progress(Progress::Sending(tx.hash()));
            let written = self.transport.send(&tx).await;
            (tx, written)
        };
        // Written (or given up): the next turn may go.
        drop(turn);
        let hash = tx.hash();
        let (answer, flying) = match written {
            // If this connection is lost now, a successor sends it again.
            Ok(answer) => (answer, self.sending(&tx)),
            Err(Unanswered::NotSent(err)) => return Err(SubmitError::NotSent(err)),
            // Kept for settling its outcome (see `settle`).
            Err(doubt) if in_doubt(&doubt) => (ready(Err(doubt)), self.sending(&tx)),
            Err(refused) => (ready(Err(refused)), Flying::none(hash)),
        };
        Ok(Sent {
            tx,
            answer,
            tries,
            flying,
        })
    }

    /// The finish-later part of [`Session::submit`]: awaits `sent`'s answer (for at most
    /// the session's timeout) and applies the one retry policy to it, at most `retries`
    /// resends after passing refusals, signing again and writing again on this session.
    /// An answer in doubt is an error naming the transaction
    /// ([`SubmitError::in_doubt`]), which stays in flight for [`settle`](super::settle).
    pub async fn finish(
        &self,
        sent: Sent<T::Error>,
        retries: u32,
        progress: &(dyn Fn(Progress) + Sync),
    ) -> Result<CommittedView, SubmitError<T::Error>> {
        let mut sent = sent;
        loop {
            let Sent {
                tx,
                answer,
                tries,
                flying,
            } = sent;
            let hash = tx.hash();
            let answer = tokio::time::timeout(self.timeout, answer).await;
            match &answer {
                Err(_) => flying.keep(),
                Ok(Err(unanswered)) if in_doubt(unanswered) => flying.keep(),
                // Answered: no longer in flight.
                Ok(_) => drop(flying),
            }
            let refusal = match answer {
                Err(_) => {
                    return Err(SubmitError::NoAnswer {
                        tx: hash,
                        waited: self.timeout,
                    });
                }
                Ok(Ok(committed)) => {
                    let setback = retry::applied(&committed.receipt.outcome);
                    let decision = setback.map_or(Decision::Stop, |s| decide(s, tries, retries));
                    if let (
                        Decision::Resync,
                        Outcome::Rejected(Rejection::StaleNonce { last, .. }),
                    ) = (decision, &committed.receipt.outcome)
                    {
                        self.saw_nonce(*last);
                        progress(Progress::Resyncing);
                        let tries = tries.after(decision);
                        sent = self
                            .write_signed(&tx.tx.body, None, tries, progress)
                            .await?;
                        continue;
                    }
                    return Ok(committed);
                }
                Ok(Err(Unanswered::Refused(refusal))) => refusal,
                Ok(Err(Unanswered::InDoubt(error))) => {
                    return Err(SubmitError::InDoubt { tx: hash, error });
                }
                Ok(Err(Unanswered::NodeTimedOut(_))) => {
                    return Err(SubmitError::NodeTimedOut { tx: hash });
                }
                Ok(Err(Unanswered::Stopped)) => return Err(SubmitError::Stopped { tx: hash }),
                Ok(Err(Unanswered::NotSent(err))) => return Err(SubmitError::NotSent(err)),
            };
            let setback = retry::refused(&refusal);
            let decision = setback.map_or(Decision::Stop, |s| decide(s, tries, retries));
            match (decision, &refusal) {
                (Decision::Resend { after }, _) => {
                    progress(Progress::Resending(refusal.clone()));
                    tokio::time::sleep(after).await;
                }
                (
                    Decision::Resync,
                    Refusal::StaleNonce { last, .. } | Refusal::NonceInUse { nonce: last },
                ) => {
                    self.saw_nonce(*last);
                    progress(Progress::Resyncing);
                }
                _ => return Err(SubmitError::Refused { tx: hash, refusal }),
            }
            let tries = tries.after(decision);
            sent = self
                .write_signed(&tx.tx.body, None, tries, progress)
                .await?;
        }
    }

    /// Notes that `tx` is being sent on this connection; its answer is awaited.
    fn sending(&self, tx: &SignedTx) -> Flying<T::Error> {
        let hash = tx.hash();
        lock(&self.flight).txs.insert(hash, tx.clone());
        Flying::of(&self.flight, hash)
    }

    /// A place in flight for transaction `hash` that is given up when dropped.
    pub(super) fn flying(&self, hash: TxHash) -> Flying<T::Error> {
        Flying::of(&self.flight, hash)
    }

    /// Notes that transaction `hash` got its answer (or was settled, or given up): no
    /// session of this key sends it again.
    pub fn answered(&self, hash: &TxHash) {
        let mut flight = lock(&self.flight);
        flight.txs.remove(hash);
        flight.resent.remove(hash);
    }

    /// The transaction `hash` as signed, if it was sent from this key's sessions and not
    /// answered.
    pub fn unanswered(&self, hash: &TxHash) -> Option<SignedTx> {
        lock(&self.flight).txs.get(hash).cloned()
    }

    /// How many transactions this key's sessions have in flight.
    pub fn in_flight(&self) -> usize {
        lock(&self.flight).txs.len()
    }

    /// The answer awaited for transaction `hash`, if a lost predecessor left it in
    /// flight and a successor sent it again.
    pub fn take_resent(&self, hash: &TxHash) -> Option<PendingAnswer<T::Error>> {
        lock(&self.flight).resent.remove(hash)
    }

    /// Sends again, on this connection's pipeline, every transaction in flight, in nonce
    /// order, before anything new is sent here: a transaction is applied at most once
    /// (its nonce makes a second copy stale), so a copy already in the chain costs
    /// nothing, and one a dead node took with it gets applied instead of left in doubt.
    /// Best effort: what cannot be sent is settled by lookup.
    pub(super) async fn resend_in_flight(&self) {
        let mut txs: Vec<SignedTx> = lock(&self.flight).txs.values().cloned().collect();
        txs.sort_by_key(|tx| tx.tx.nonce);
        let _writing = self.writing.lock().await;
        for tx in txs {
            let Ok(pending) = self.transport.send(&tx).await else {
                return;
            };
            let mut flight = lock(&self.flight);
            // Given up meanwhile: its answer is nobody's.
            if flight.txs.contains_key(&tx.hash()) {
                flight.resent.insert(tx.hash(), pending);
            }
        }
    }
}

/// An answer already known.
fn ready<E: Send + 'static>(answer: Result<CommittedView, Unanswered<E>>) -> PendingAnswer<E> {
    Box::pin(async move { answer })
}
