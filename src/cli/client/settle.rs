//! Settling a transaction whose outcome is in doubt: sent on a connection that was lost
//! (or whose node did not answer in time) before its receipt came back.
//!
//! A transaction is applied at most once: it carries its signer's nonce, a node refuses
//! one whose nonce the game has passed, and a second copy that reaches a block anyway is
//! rejected there as stale without replacing the first copy's receipt. So the identical
//! signed transaction may be sent again, to the node the session moved to (the
//! successor connection sends every transaction left in flight first thing, see
//! `Ctx::reconnect`), and its outcome settled:
//!
//! - its receipt (from the copy sent again, or looked up by hash): accepted, or rejected
//!   by the exchange;
//! - or a definite "not applied": the game's last nonce from this key has passed the
//!   transaction's, and (asked after that, on the same node, which holds every block)
//!   the node holds no receipt for it. A transaction whose nonce has been passed can
//!   never be applied, so it never was. This is the one settle rule of every client
//!   ([`qraft_client::failover::look_up`]).
//!
//! Only when neither turns up within [`SETTLE_WAIT`] is the outcome unknown.

use std::future::Future;
use std::sync::Arc;

use qraft_client::failover::{SETTLE_RETRY_EVERY, SETTLE_WAIT, Settlement, look_up};
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::reject::Rejection;
use qraft_node::core::hash::Hash32;
use qraft_node::core::tx::{SignedTx, TxHash};
use qraft_node::net::client::ClientError;
use qraft_node::net::proto::CommittedView;

use super::connect::{CommonArgs, Ctx, run_cli};
use super::link::Link;
use super::output::{Failure, Report, Status};
use super::query;
use super::render;
use serde_json::Value;

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
/// failure naming it, `tx`) settled as a session settles it: its connection is watched
/// and replaced if the node is gone, and the answer is its receipt, "not applied", or
/// (rarely, after [`SETTLE_WAIT`]) still unknown. Every other result stands.
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
    let (link, watcher) = Link::start(ctx.clone(), |line| {
        let node = |key: &str| {
            line.get(key)
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string()
        };
        eprintln!(
            "note: node {} stopped answering; settling the transaction on node {}",
            node("lost"),
            node("node")
        );
    });
    let settled = settle(&link, ctx, &tx, failure).await;
    watcher.abort();
    settled
}

/// What one round of settling on one connection found.
enum Round {
    /// The outcome: a receipt (accepted is a report, rejected a failure) or not applied.
    Settled(Result<Report, Failure>),
    /// Nothing definite yet: why.
    NotYet(String),
}

/// The outcome of transaction `tx` (hash in hex), in doubt since `failure` on connection
/// `since`: settled on that connection if it still serves, else on the ones after it.
pub async fn settle(
    link: &Link,
    since: Arc<Ctx>,
    tx: &str,
    failure: Failure,
) -> Result<Report, Failure> {
    let Some(hash) = Hash32::from_hex(tx) else {
        return Err(failure);
    };
    let signed = since.unanswered(&hash);
    let wait = SETTLE_WAIT.min(since.timeout);
    let deadline = tokio::time::Instant::now() + wait;
    let first_node = since.node_name();
    let mut last = failure.message.clone();
    let origin = since.clone();
    let mut current = since;
    loop {
        let serving = !current.client.is_closed() && link.is_current(&current);
        let ctx = if serving {
            current.clone()
        } else {
            match tokio::time::timeout_at(deadline, link.after(&current)).await {
                Ok(Ok(next)) => next,
                Ok(Err(down)) => {
                    last = down.message;
                    break;
                }
                Err(_) => break,
            }
        };
        match tokio::time::timeout_at(deadline, round(&ctx, &hash, tx, signed.as_ref())).await {
            Ok(Round::Settled(result)) => {
                ctx.answered(&hash);
                origin.answered(&hash);
                return result;
            }
            Ok(Round::NotYet(why)) => last = why,
            Err(_) => break,
        }
        let closed = ctx.client.is_closed();
        current = ctx;
        if !closed {
            if tokio::time::Instant::now() + SETTLE_RETRY_EVERY >= deadline {
                break;
            }
            tokio::time::sleep(SETTLE_RETRY_EVERY).await;
        }
    }
    // Unknown: no connection sends it again from now on.
    origin.answered(&hash);
    current.answered(&hash);
    Err(Failure::unknown(format!(
        "transaction {tx} was in flight on {first_node} when it stopped answering ({}), and neither its receipt nor proof that it was not applied turned up within {}s ({last}): its outcome is unknown; look it up with `qraft receipt {tx}` before resubmitting",
        failure.message,
        wait.as_secs()
    ))
    .with("tx", tx))
}

/// One round on `ctx`: the receipt of the copy sent again on reconnecting, else the
/// nonce and the receipt by hash, else the transaction sent again.
async fn round(ctx: &Ctx, hash: &TxHash, tx: &str, signed: Option<&SignedTx>) -> Round {
    if let Some(pending) = ctx.take_resent(hash)
        && let Some(round) = from_copy(ctx, signed, pending.wait().await).await
    {
        return round;
    }
    let Some(signed) = signed else {
        // Not sent from here: only its receipt can tell.
        return match query::receipt(ctx, tx).await {
            Ok(report) => Round::Settled(Ok(report)),
            Err(found) if found.status == Status::Rejected => Round::Settled(Err(found)),
            Err(missing) if missing.status == Status::Unknown => {
                Round::NotYet(format!("{} has no receipt for it yet", ctx.node_name()))
            }
            Err(trouble) => Round::NotYet(trouble.message),
        };
    };
    // The one settle rule (whole chain and nonce first, then the receipt).
    match look_up(&ctx.client, *hash, signed.tx.nonce).await {
        Ok(Settlement::Applied(committed)) => {
            let body = &signed.tx.body;
            let prices = ctx.prices(render::symbols_of(body, &committed)).await;
            return Round::Settled(render::outcome(&prices, body, &committed));
        }
        Ok(Settlement::NotApplied) => return Round::Settled(Err(not_applied(tx))),
        Ok(Settlement::Unsettled) => {}
        Err(err) => return Round::NotYet(err.to_string()),
    }
    let answer = ctx.client.submit(signed.clone()).await;
    match from_copy(ctx, Some(signed), answer).await {
        Some(round) => round,
        None => Round::NotYet(format!(
            "{} has no receipt for it yet; it was sent again",
            ctx.node_name()
        )),
    }
}

/// The outcome, if definite, of a copy of the transaction sent again. A copy refused
/// (its nonce passed, a duplicate of one waiting, no leader) or rejected as stale says
/// nothing of the first copy: the lookup settles those.
async fn from_copy(
    ctx: &Ctx,
    signed: Option<&SignedTx>,
    answer: Result<CommittedView, ClientError>,
) -> Option<Round> {
    let committed = answer.ok()?;
    if matches!(
        committed.receipt.outcome,
        Outcome::Rejected(Rejection::StaleNonce { .. })
    ) {
        return None;
    }
    let body = &signed?.tx.body;
    let prices = ctx.prices(render::symbols_of(body, &committed)).await;
    Some(Round::Settled(render::outcome(&prices, body, &committed)))
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
