//! Where the chain comes from: a stopped node's data directory, replayed and checked by
//! the audit ([`qraft_node::audit::audit_visiting`]) while the report watches.

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
