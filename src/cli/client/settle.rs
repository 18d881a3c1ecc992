//! A one-shot transaction command whose outcome is in doubt (its node was lost, or did
//! not answer in time, before its receipt came back) settled as a session settles it,
//! by [`qraft_client::session::settle`] (the one settle rule), and reported: its receipt,
//! "not applied", or (rarely) unknown.

use std::future::Future;
use std::sync::Arc;

use qraft_client::session::{Link, Settled, settle as settle_on};
use qraft_node::core::hash::Hash32;
use serde_json::Value;

use super::connect::{CommonArgs, Ctx, run_cli};
use super::output::{Failure, Report, Status};
use super::query;
use super::render;

/// Runs a one-shot command that sends a transaction (`order`, `cancel`, `admin`): as
/// [`run_cli`], with its node watched while the command waits (a node silent for
/// [`WATCH_QUIET`](qraft_client::failover::WATCH_QUIET) is left, as a session leaves it) and a transaction left in doubt
/// settled on another node (see [`settle_in_doubt`]), so the command ends with the
/// receipt or a definite "not applied" instead of "unknown".
pub fn run_transaction_cli<F, Fut>(common: CommonArgs, op: F) -> anyhow::Result<()>
where
    F: FnOnce(Arc<Ctx>) -> Fut,
    Fut: Future<Output = Result<Report, Failure>>,
{
    run_cli(common, |ctx| async move {
        let watched = ctx.clone();
        let watcher = tokio::spawn(async move { watched.lost().await });
        let result = op(ctx.clone()).await;
        watcher.abort();
        settle_in_doubt(ctx, result).await
    })
}

/// A one-shot command's result, with a transaction whose outcome is in doubt (an unknown
/// failure naming it, `tx`) settled: its connection is watched and replaced if the node
/// is gone. Every other result stands.
async fn settle_in_doubt(
    ctx: Arc<Ctx>,
    result: Result<Report, Failure>,
) -> Result<Report, Failure> {
    let failure = match result {
        Err(failure) if failure.status == Status::Unknown => failure,
        other => return other,
    };
    let Some(tx) = failure.details.get("tx").and_then(Value::as_str) else {
        return Err(failure);
    };
    let tx = tx.to_string();
    let (link, watcher) = Link::start(ctx.clone(), |lost: &Ctx, now: &Ctx, _why: &str| {
        eprintln!(
            "note: node {} stopped answering; settling the transaction on node {}",
            lost.client().node(),
            now.client().node()
        );
    });
    let settled = settle(&link, ctx, &tx, failure).await;
    watcher.abort();
    settled
}

/// The outcome of transaction `tx` (hash in hex), in doubt since `failure` on connection
/// `since`, as a report or failure: settled on that connection if it still serves, else
/// on the ones after it.
pub async fn settle(
    link: &Link<Ctx>,
    since: Arc<Ctx>,
    tx: &str,
    failure: Failure,
) -> Result<Report, Failure> {
    let Some(hash) = Hash32::from_hex(tx) else {
        return Err(failure);
    };
    match settle_on(link, since, hash, failure.message.clone()).await {
        Settled::Applied {
            committed,
            body: Some(body),
            on,
        } => {
            let prices = on.prices(render::symbols_of(&body, &committed)).await;
            render::outcome(&prices, &body, &committed)
        }
        // Not sent from here: its receipt as `qraft receipt` shows it.
        Settled::Applied { body: None, on, .. } => query::receipt(&on, tx).await,
        Settled::NotApplied => Err(not_applied(tx)),
        Settled::Unknown {
            first_node,
            last,
            waited,
        } => Err(Failure::unknown(format!(
            "transaction {tx} was in flight on {first_node} when it stopped answering ({}), and neither its receipt nor proof that it was not applied turned up within {}s ({last}): its outcome is unknown; look it up with `qraft receipt {tx}` before resubmitting",
            failure.message,
            waited.as_secs()
        ))
        .with("tx", tx)),
    }
}

/// The answer for a transaction that was not applied and never will be.
fn not_applied(tx: &str) -> Failure {
    Failure::refused(format!(
        "transaction {tx} was not applied, and never will be: the game has passed its nonce without it; nothing happened, send it again to retry"
    ))
    .with("reason", "not_applied")
    .with("retryable", true)
    .with("tx", tx)
}
