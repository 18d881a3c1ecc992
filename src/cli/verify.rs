//! `qraft verify DATA_DIR`: audit a stopped node's chain by replaying it from genesis.

use std::fmt::{self, Write as _};
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use qraft_node::audit::{AuditError, AuditReport, audit};
use serde_json::{Value, json};

/// The options of `qraft verify` (its help text is on `Command::Verify` in main.rs).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The node's data directory. Stop the node first.
    data_dir: PathBuf,
    /// Print the summary, or the failure, as one JSON object on standard output.
    #[arg(long)]
    json: bool,
}

/// Runs `qraft verify`.
pub fn run(args: VerifyArgs) -> Result<()> {
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let mut checked = 0;
    let result = audit(&args.data_dir, |height, last| {
        checked = height;
        progress.show(height, last);
    });
    progress.clear();
    match result {
        Ok(report) => {
            if args.json {
                println!("{:#}", report_json(&args.data_dir, &report));
            } else {
                print!("{}", report_text(&args.data_dir, &report));
            }
            Ok(())
        }
        Err(err) => {
            if args.json {
                println!("{:#}", error_json(&args.data_dir, &err, checked));
            }
            bail!("{err}")
        }
    }
}

fn report_text(dir: &Path, report: &AuditReport) -> String {
    let mut out = String::new();
    write_report(&mut out, dir, report).expect("writing to a String cannot fail");
    out
}

fn write_report(out: &mut String, dir: &Path, r: &AuditReport) -> fmt::Result {
    writeln!(out, "data dir:      {}", dir.display())?;
    writeln!(out, "game:          {}", r.game)?;
    writeln!(out, "chain id:      {}", r.chain)?;
    writeln!(out, "blocks:        {}", r.blocks)?;
    writeln!(
        out,
        "transactions:  {} ({} accepted, {} rejected)",
        r.txs, r.accepted, r.rejected
    )?;
    writeln!(out, "trades:        {}", r.trades)?;
    writeln!(out, "head hash:     {}", r.head_hash)?;
    writeln!(out, "state digest:  {}", r.state_digest)?;
    if let Some(height) = r.snapshot_height {
        writeln!(out, "snapshot:      at block {height}, matches the chain")?;
    }
    writeln!(
        out,
        "OK: every block, signature, receipt and state digest checks out"
    )
}

fn report_json(dir: &Path, r: &AuditReport) -> Value {
    json!({
        "ok": true,
        "data_dir": dir.display().to_string(),
        "game": r.game,
        "chain_id": r.chain.to_string(),
        "blocks": r.blocks,
        "transactions": r.txs,
        "accepted": r.accepted,
        "rejected": r.rejected,
        "trades": r.trades,
        "head_hash": r.head_hash.to_hex(),
        "head_timestamp_ms": r.head_timestamp_ms,
        "state_digest": r.state_digest.to_hex(),
        "snapshot_height": r.snapshot_height,
    })
}

fn error_json(dir: &Path, err: &AuditError, checked: u64) -> Value {
    json!({
        "ok": false,
        "data_dir": dir.display().to_string(),
        "error": err.to_string(),
        "height": err.height(),
        "blocks_checked": checked,
    })
}

/// "verifying block N of M" on a terminal, a few times a second.
struct Progress {
    enabled: bool,
    last_shown: Option<Instant>,
}

impl Progress {
    const EVERY: Duration = Duration::from_millis(200);

    fn new(enabled: bool) -> Progress {
        Progress {
            enabled,
            last_shown: None,
        }
    }

    fn show(&mut self, height: u64, last: u64) {
        if !self.enabled || self.last_shown.is_some_and(|t| t.elapsed() < Self::EVERY) {
            return;
        }
        self.last_shown = Some(Instant::now());
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a failed write to the terminal is not an audit failure.
        let _ = write!(err, "\rverifying block {height} of {last}\x1b[K");
        let _ = err.flush();
    }

    fn clear(&mut self) {
        if self.enabled && self.last_shown.is_some() {
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[K");
            let _ = err.flush();
        }
    }
}
