//! Submitting a transaction through the participant's session
//! ([`qraft_client::session::Session::submit`]: signing, the ordered pipeline, the one
//! retry policy) and the exit-code meaning of every way it can end.

use qraft_client::session::{Progress, SubmitError, SyncError, Turn};
use qraft_node::core::tx::TxBody;
use qraft_node::net::client::ClientError;
use qraft_node::net::proto::{CommittedView, SubmitFailure};

use super::connect::{Ctx, not_a_participant, request_failure};
use super::output::{Failure, Report, variant_name};
use super::render;

/// Submits `body` (in `turn`, if the caller has one: a session keeps its transactions in
/// the order they were read) and renders its receipt: accepted is a report, rejected a
/// failure (exit 3).
pub async fn transact(ctx: &Ctx, body: TxBody, turn: &mut Option<Turn>) -> Result<Report, Failure> {
    let committed = submit(ctx, &body, turn).await?;
    let symbols = render::symbols_of(&body, &committed);
    let prices = ctx.prices(symbols).await;
    render::outcome(&prices, &body, &committed)
}

/// Signs and submits `body`, waiting for its receipt; the turn is used up when the
/// transaction is written.
pub async fn submit(
    ctx: &Ctx,
    body: &TxBody,
    turn: &mut Option<Turn>,
) -> Result<CommittedView, Failure> {
    let log = |progress: Progress| {
        if let Progress::Sending(tx) = progress {
            tracing::debug!(%tx, node = %ctx.node_name(), "sending the transaction");
        }
    };
    ctx.session()
        .submit(body, turn.take(), &log)
        .await
        .map_err(|err| failure(ctx, err))
}

/// How a submission without a receipt is reported: refused (exit 3), unknown (exit 4,
/// naming the transaction), or trouble (exit 1).
fn failure(ctx: &Ctx, err: SubmitError<ClientError>) -> Failure {
    let unknown = |text: String, hash: qraft_node::core::tx::TxHash| {
        Failure::unknown(text).with("tx", hash.to_hex())
    };
    match err {
        SubmitError::Refused { tx, refusal } => Failure::refused(refusal.to_string())
            .with("reason", variant_name(&refusal))
            .with("retryable", refusal.is_retryable())
            .with("tx", tx.to_hex()),
        SubmitError::NoAnswer { tx, waited } => unknown(
            format!(
                "no answer within {}s: the outcome of transaction {tx} is unknown; look it up with `qraft receipt {tx}` before resubmitting",
                waited.as_secs()
            ),
            tx,
        ),
        // The transaction may have reached the node before the stream failed.
        SubmitError::InDoubt { tx, error } => unknown(
            format!(
                "{error}: the outcome of transaction {tx} is unknown; look it up with `qraft receipt {tx}` before resubmitting"
            ),
            tx,
        ),
        SubmitError::NodeTimedOut { tx } => unknown(
            format!(
                "{}; `qraft receipt {tx}` looks it up",
                SubmitFailure::Timeout(tx)
            ),
            tx,
        ),
        SubmitError::Stopped { tx } => unknown(
            format!(
                "the node stopped before answering: the outcome of transaction {tx} is unknown; look it up with `qraft receipt {tx}` on another node"
            ),
            tx,
        ),
        SubmitError::NotSent(err) | SubmitError::Sync(SyncError::Failed(err)) => {
            request_failure(err)
        }
        SubmitError::Sync(SyncError::NotParticipant) => not_a_participant(),
        SubmitError::Sync(SyncError::Silent { waited, .. }) => Failure::error(format!(
            "no answer from {} within {}s",
            ctx.client().node(),
            waited.as_secs()
        )),
    }
}
