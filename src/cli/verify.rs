//! `qraft verify DATA_DIR`: audit a stopped node's chain by replaying it from genesis.

use std::fmt::{self, Write as _};
use std::io::{IsTerminal, Write as _};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use clap::Args;
use qraft_node::audit::{AuditError, AuditReport, AuditVisitor, audit_visiting};
use qraft_node::core::genesis::{Genesis, PreviousGame};
use qraft_node::core::hash::Hash32;
use qraft_node::core::ledger::{AppliedBlock, Ledger};
use serde_json::{Value, json};

/// The options of `qraft verify` (its help text is on `Command::Verify` in main.rs).
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// The node's data directory. Stop the node first.
    data_dir: PathBuf,
    /// Print the summary, or the failure, as one JSON object on standard output.
    #[arg(long)]
    json: bool,
    /// For a class's next game: the earlier game's data directory (`games/N/data/node1`
    /// in the class's folder). Checks that this game starts from that chain's block
    /// its genesis names, and that the earlier chain checks out too.
    #[arg(long, value_name = "DIR")]
    previous: Option<PathBuf>,
}

/// Runs `qraft verify`.
pub fn run(args: VerifyArgs) -> Result<()> {
    let mut progress = Progress::new(std::io::stderr().is_terminal());
    let mut checked = 0;
    let mut genesis = GenesisOf(None);
    let result = audit_visiting(
        &args.data_dir,
        |height, last| {
            checked = height;
            progress.show(height, last);
        },
        &mut genesis,
    );
    progress.clear();
    match result {
        Ok(report) => {
            let previous = genesis.0.and_then(|g| g.previous);
            let link = match (&previous, &args.previous) {
                (None, Some(dir)) => Err(anyhow::anyhow!(
                    "{} is a first game: it names no earlier game for --previous {} to check",
                    args.data_dir.display(),
                    dir.display()
                )),
                (Some(previous), Some(dir)) => check_link(previous, dir).map(Some),
                _ => Ok(None),
            };
            let link = match link {
                Ok(link) => link,
                Err(err) => {
                    if args.json {
                        let failure = json!({
                            "ok": false,
                            "data_dir": args.data_dir.display().to_string(),
                            "error": err.to_string(),
                        });
                        println!("{failure:#}");
                    }
                    return Err(err);
                }
            };
            if args.json {
                let mut json = report_json(&args.data_dir, &report);
                if let Some(previous) = &previous {
                    json["previous"] = json!({
                        "chain_id": previous.chain.to_string(),
                        "height": previous.height,
                        "block_hash": previous.block.to_hex(),
                        "checked_against": args
                            .previous
                            .as_ref()
                            .filter(|_| link.is_some())
                            .map(|d| d.display().to_string()),
                    });
                }
                println!("{json:#}");
            } else {
                print!("{}", report_text(&args.data_dir, &report));
                match (&previous, &link) {
                    (Some(_), Some(line)) => println!("{line}"),
                    (Some(p), None) => println!(
                        "follows:       game {}, block {} ({}); not checked: give --previous DIR",
                        p.chain,
                        p.height,
                        p.block.to_hex()
                    ),
                    _ => {}
                }
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

/// Keeps the genesis an audit replays from.
struct GenesisOf(Option<Genesis>);

impl AuditVisitor for GenesisOf {
    fn genesis(&mut self, genesis: &Genesis) {
        self.0 = Some(genesis.clone());
    }
}

/// Keeps the hash of the block at one height.
struct HashAt {
    height: u64,
    hash: Option<Hash32>,
}

impl AuditVisitor for HashAt {
    fn block(&mut self, ledger: &Ledger, _applied: &AppliedBlock) {
        if ledger.head().height == self.height {
            self.hash = Some(ledger.head().hash);
        }
    }
}

/// Audits the earlier game in `dir` and checks that `previous` names its block; the line
/// that says so.
fn check_link(previous: &PreviousGame, dir: &Path) -> Result<String> {
    let mut at = HashAt {
        height: previous.height,
        hash: None,
    };
    let report = audit_visiting(dir, |_, _| {}, &mut at)
        .map_err(|err| anyhow::anyhow!("the earlier game in {}: {err}", dir.display()))?;
    if report.chain != previous.chain {
        bail!(
            "{} holds game {}, but this game follows game {}",
            dir.display(),
            report.chain,
            previous.chain
        );
    }
    if previous.height == 0 {
        at.hash = Some(Hash32(report.chain.0));
    }
    match at.hash {
        None => bail!(
            "{} holds blocks up to {}; this game follows its block {}: verify a node that has it",
            dir.display(),
            report.blocks,
            previous.height
        ),
        Some(hash) if hash != previous.block => bail!(
            "block {} of {} is {}, but this game follows a block {} there: not the same chain",
            previous.height,
            dir.display(),
            hash.to_hex(),
            previous.block.to_hex()
        ),
        Some(_) => Ok(format!(
            "follows:       game {}, block {} ({}), checked: {} checks out to there{}",
            previous.chain,
            previous.height,
            previous.block.to_hex(),
            dir.display(),
            if report.blocks > previous.height {
                format!(
                    " (it holds {} blocks after it)",
                    report.blocks - previous.height
                )
            } else {
                String::new()
            }
        )),
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
