//! Where the chain comes from: a stopped node's data directory, replayed and checked by
//! the audit ([`qraft_node::audit::audit_visiting`]) while the report watches; or a
//! running node, asked for whole blocks in bounded pages ([`from_node`]) and replayed
//! from the genesis file, each block checked to reproduce itself.

use std::path::Path;

use qraft_node::audit::{AuditError, AuditVisitor, audit_visiting};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::hash::Hash32;
use qraft_node::core::ledger::{AppliedBlock, Ledger};

use super::model::{Report, ReportBuilder};

/// What replaying a chain gave: the report (without its secret), the genesis, and the
/// report hash the chain records (with its block).
#[derive(Debug)]
pub struct Replayed {
    pub genesis: Genesis,
    pub report: Report,
    pub recorded: Option<(Hash32, u64)>,
}

#[derive(Default)]
struct Watcher {
    genesis: Option<Genesis>,
    builder: ReportBuilder,
    report: Option<Report>,
    recorded: Option<(Hash32, u64)>,
}

impl AuditVisitor for Watcher {
    fn genesis(&mut self, genesis: &Genesis) {
        self.genesis = Some(genesis.clone());
    }

    fn block(&mut self, ledger: &Ledger, applied: &AppliedBlock) {
        self.builder.block(ledger, applied);
    }

    fn end(&mut self, ledger: &Ledger) {
        if let Some(genesis) = &self.genesis {
            let builder = std::mem::take(&mut self.builder);
            self.recorded = builder.recorded();
            self.report = Some(builder.finish(genesis, ledger, None));
        }
    }
}

/// Replays and audits the chain in the stopped node's data directory `dir`, calling
/// `progress(height, last)` after each block.
pub fn from_data_dir(dir: &Path, progress: impl FnMut(u64, u64)) -> Result<Replayed, AuditError> {
    let mut watcher = Watcher::default();
    audit_visiting(dir, progress, &mut watcher)?;
    match (watcher.genesis, watcher.report) {
        (Some(genesis), Some(report)) => Ok(Replayed {
            genesis,
            report,
            recorded: watcher.recorded,
        }),
        _ => Err(AuditError::NoGenesis),
    }
}

/// Replays the chain a running node serves, up to its height when asked: blocks are
/// fetched at most `MAX_FULL_BLOCKS_PER_REQUEST` at a time (fewer when the node's
/// byte bound cuts an answer short) and each must replay to itself
/// ([`Ledger::replay_block`]: link, roots, digest) from `ctx`'s genesis.
pub async fn from_node(
    ctx: &crate::cli::client::connect::Ctx,
) -> Result<Replayed, crate::cli::client::output::Failure> {
    use crate::cli::client::output::Failure;
    use qraft_client::query;
    use qraft_node::net::proto::MAX_FULL_BLOCKS_PER_REQUEST;

    let genesis = ctx.genesis.clone();
    let mut ledger =
        Ledger::new(&genesis).map_err(|e| Failure::error(format!("the genesis: {e}")))?;
    let last = ctx.query(query::status()).await?.height;
    let mut builder = ReportBuilder::new();
    let mut height = 1;
    let mut to = last.min(MAX_FULL_BLOCKS_PER_REQUEST);
    while height <= last {
        // The node answers from `to` down, and may stop early (at its byte bound): then
        // ask again for the blocks below what it sent.
        let mut page = fetch(ctx, height, to).await?;
        page.sort_by_key(|full| full.block.header.height);
        match page.first().map(|full| full.block.header.height) {
            None => {
                return Err(Failure::error(format!(
                    "node {} does not hold block {height} whole (it caught up from a snapshot): ask another node with --node",
                    ctx.node_name()
                )));
            }
            Some(low) if low > height && low <= to => {
                to = low - 1;
                continue;
            }
            Some(_) => {}
        }
        for full in page {
            if full.block.header.height != height {
                return Err(Failure::error(format!(
                    "node {} sent block {} for block {height}",
                    ctx.node_name(),
                    full.block.header.height
                )));
            }
            let applied = ledger
                .replay_block(&full.block)
                .map_err(|e| Failure::error(format!("the chain does not replay: {e}")))?;
            builder.block(&ledger, &applied);
            height += 1;
            if height > to {
                break;
            }
        }
        to = last.min(height.saturating_add(MAX_FULL_BLOCKS_PER_REQUEST - 1));
    }
    let recorded = builder.recorded();
    let report = builder.finish(&genesis, &ledger, None);
    Ok(Replayed {
        genesis,
        report,
        recorded,
    })
}

/// Consecutive over-budget answers tolerated before giving up: a minute of pauses.
const MAX_OVER_BUDGET: u32 = 60;

/// Blocks `from..=to` as the node serves them, pausing while it says the key asks faster
/// than its share (full blocks are budgeted per key).
async fn fetch(
    ctx: &crate::cli::client::connect::Ctx,
    from: u64,
    to: u64,
) -> Result<Vec<qraft_node::net::proto::FullBlock>, crate::cli::client::output::Failure> {
    use qraft_client::query::{self, QueryError};
    use qraft_node::net::budget::OVER_BUDGET_PAUSE;
    use qraft_node::net::proto::ProtocolError;

    let mut refused = 0;
    loop {
        match query::full_blocks(from, to).ask(ctx.client()).await {
            Err(QueryError::Refused(ProtocolError::OverBudget)) if refused < MAX_OVER_BUDGET => {
                refused += 1;
                tokio::time::sleep(OVER_BUDGET_PAUSE).await;
            }
            other => return other.map_err(crate::cli::client::connect::query_failure),
        }
    }
}
