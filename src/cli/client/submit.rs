//! Submitting a transaction and waiting for its receipt: retries where nothing can have
//! happened, and the exit-code meaning of every way it can end.

use qraft_client::retry::{self, Decision, RETRIES, Tries, decide};
use qraft_node::api::Refusal;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::tx::TxBody;
use qraft_node::net::client::ClientError;
use qraft_node::net::proto::{CommittedView, SubmitFailure};

use super::connect::{Ctx, request_failure};
use super::output::{Failure, Report, variant_name};
use super::render;
use super::sequence::TURN;

/// Whether a submission that ended with `answer` may have reached the node without an
/// answer coming back: its outcome is unknown until settled. (A connection error means
/// the transaction was never written: it is signed again when run again.)
fn may_have_been_sent(
    answer: &Result<Result<CommittedView, ClientError>, tokio::time::error::Elapsed>,
) -> bool {
    matches!(
        answer,
        Err(_)
            | Ok(Err(ClientError::Frame(_)
                | ClientError::NoAnswer
                | ClientError::Submit(
                    SubmitFailure::Timeout(_) | SubmitFailure::Stopped
                )))
    )
}

/// Submits `body` and renders its receipt: accepted is a report, rejected a failure
/// (exit 3).
pub async fn transact(ctx: &Ctx, body: TxBody) -> Result<Report, Failure> {
    let committed = submit(ctx, &body).await?;
    let symbols = render::symbols_of(&body, &committed);
    let prices = ctx.prices(symbols).await;
    render::outcome(&prices, &body, &committed)
}

/// Signs and submits `body`, waiting for its receipt.
///
/// Signs again with a fresh nonce and resubmits when nothing can have happened, by the
/// shared policy ([`qraft_client::retry`]): a refusal for a passing reason (busy, no
/// leader for a moment), or a nonce refused or rejected as stale (another run of this
/// key got there first).
pub async fn submit(ctx: &Ctx, body: &TxBody) -> Result<CommittedView, Failure> {
    ctx.sync_nonce().await?;
    let mut tries = Tries::default();
    // A session's transaction keeps its place in line: signed and written on the
    // ordered pipeline once every earlier one has been (see `sequence`). Retries below
    // go on their own.
    let turn = TURN.try_with(|t| t.borrow_mut().take()).ok().flatten();
    let mut first = Some(turn);
    loop {
        let answer = match first.take() {
            Some(Some(turn)) => {
                turn.wait().await;
                let tx = ctx.sign(body.clone());
                let sent = ctx.pipeline().await?.submit(&tx).await;
                drop(turn);
                let answer = match sent {
                    Ok(pending) => {
                        // Written: if this connection is lost now, its successor sends
                        // the transaction again (see `Ctx::reconnect`).
                        ctx.sending(&tx);
                        tokio::time::timeout(ctx.timeout, pending.wait()).await
                    }
                    Err(err) => Ok(Err(err)),
                };
                (tx, answer)
            }
            _ => {
                let tx = ctx.sign(body.clone());
                tracing::debug!(tx = %tx.hash(), node = %ctx.node_name(), "sending the transaction");
                let answer = tokio::time::timeout(ctx.timeout, ctx.client.submit(tx.clone())).await;
                (tx, answer)
            }
        };
        let (tx, answer) = answer;
        let hash = tx.hash();
        if may_have_been_sent(&answer) {
            // Kept for settling its outcome after a lost connection (see `settle`).
            ctx.sending(&tx);
        } else {
            ctx.answered(&hash);
        }
        let failure = match answer {
            Err(_) => {
                return Err(Failure::unknown(format!(
                    "no answer within {}s: the outcome of transaction {hash} is unknown; look it up with `qraft receipt {hash}` before resubmitting",
                    ctx.timeout.as_secs()
                ))
                .with("tx", hash.to_hex()));
            }
            Ok(Ok(committed)) => {
                let setback = retry::applied(&committed.receipt.outcome);
                let decision = setback.map_or(Decision::Stop, |s| decide(s, tries, RETRIES));
                tries = tries.after(decision);
                if let (Decision::Resync, Outcome::Rejected(Rejection::StaleNonce { last, .. })) =
                    (decision, &committed.receipt.outcome)
                {
                    ctx.saw_nonce(*last);
                    continue;
                }
                return Ok(committed);
            }
            Ok(Err(ClientError::Submit(failure))) => failure,
            Ok(Err(err @ (ClientError::Frame(_) | ClientError::NoAnswer))) => {
                // The transaction may have reached the node before the stream failed.
                return Err(Failure::unknown(format!(
                    "{err}: the outcome of transaction {hash} is unknown; look it up with `qraft receipt {hash}` before resubmitting"
                ))
                .with("tx", hash.to_hex()));
            }
            Ok(Err(err)) => return Err(request_failure(err)),
        };
        if let SubmitFailure::Refused(refusal) = &failure {
            let setback = retry::refused(refusal);
            let decision = setback.map_or(Decision::Stop, |s| decide(s, tries, RETRIES));
            tries = tries.after(decision);
            match (decision, refusal) {
                (Decision::Resend { after }, _) => {
                    tokio::time::sleep(after).await;
                    continue;
                }
                (
                    Decision::Resync,
                    Refusal::StaleNonce { last, .. } | Refusal::NonceInUse { nonce: last },
                ) => {
                    ctx.saw_nonce(*last);
                    continue;
                }
                _ => {}
            }
        }
        match failure {
            SubmitFailure::Refused(refusal) => {
                return Err(Failure::refused(refusal.to_string())
                    .with("reason", variant_name(&refusal))
                    .with("retryable", refusal.is_retryable())
                    .with("tx", hash.to_hex()));
            }
            SubmitFailure::Timeout(hash) => {
                return Err(Failure::unknown(format!(
                    "{}; `qraft receipt {hash}` looks it up",
                    SubmitFailure::Timeout(hash)
                ))
                .with("tx", hash.to_hex()));
            }
            SubmitFailure::Stopped => {
                return Err(Failure::unknown(format!(
                    "the node stopped before answering: the outcome of transaction {hash} is unknown; look it up with `qraft receipt {hash}` on another node"
                ))
                .with("tx", hash.to_hex()));
            }
        }
    }
}
