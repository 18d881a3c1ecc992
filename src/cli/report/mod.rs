//! `qraft report`: the end-of-game report a teacher grades from.
//!
//! The chain is replayed from its genesis with the real ledger (and audited on the way:
//! [`source`]); [`model`] watches every block and reads the final state into a
//! [`model::Report`]: each student's and bot's start and final worth, return, rank, round
//! returns and ranks, trades, volume, commissions, dividends and positions; each
//! symbol's price over time; the news; net worth over time. [`files`] writes it as
//! report.csv ([`csv`]), report.html ([`html`], charts by [`svg`]) and report.json, which
//! holds the other two files' hashes; the hash of report.json is the **report hash**.
//! With `--secret` the scenario's secret is checked against the genesis and revealed
//! ([`secret`]). `--record` has the admin record the report hash on the chain, and
//! `--check FILE` says whether FILE is the report the chain holds ([`check`]): from a
//! data directory, once the chain is replayed; from a running node, by asking it
//! (`Request::ReportHash`), with no replay.
//! Everything that decides the files' bytes is integer arithmetic: the same chain gives
//! byte-identical files.

pub mod check;
pub mod csv;
pub mod files;
pub mod html;
pub mod model;
pub mod money;
pub mod sample;
pub mod secret;
pub mod source;
pub mod svg;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Args;
use qraft_node::core::hash::Hash32;
use qraft_node::core::tx::{AdminAction, TxBody};
use qraft_node::net::proto::RecordedReport;

use super::client::connect::{CommonArgs, ConnectArgs};
use super::client::settle::run_transaction_cli;
use super::client::submit::transact;

/// The options of `qraft report` (its help text is on `Command::Report` in main.rs).
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A stopped node's data directory: its chain is replayed (and audited) from genesis.
    /// Without it, the chain is fetched from a running node (--genesis, --key, --node).
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Where to write report.csv, report.html and report.json.
    #[arg(long, value_name = "DIR", default_value = "qraft-report")]
    out: PathBuf,
    /// The scenario's secret (TOML: salt = "<32 hex>", text = "..."), checked against
    /// the genesis and revealed in the report.
    #[arg(long, value_name = "FILE")]
    secret: Option<PathBuf>,
    /// After writing the files, record the report hash on the chain (admin key, after
    /// the game ended): needs --genesis and --key.
    #[arg(long, conflicts_with = "check")]
    record: bool,
    /// Check FILE (report.json, or report.csv/report.html with report.json beside it)
    /// against the report hash the chain holds; writes nothing. Exits 0 if it is the
    /// report the chain holds, 1 if not. With --data the chain is replayed and audited;
    /// without, a running node is asked for the hash it holds (--genesis, --key, --node:
    /// a student checks against their own laptop's node).
    #[arg(long, value_name = "FILE")]
    check: Option<PathBuf>,
    #[command(flatten)]
    connect: ConnectArgs,
}

/// Runs `qraft report`.
pub fn run(args: ReportArgs) -> Result<()> {
    let secret = args
        .secret
        .as_ref()
        .map(|path| secret::read(path).map(|s| (s, path.display().to_string())))
        .transpose()?;
    if let (Some(file), None) = (&args.check, &args.data) {
        // A running node's word for the recorded hash: no need to replay the chain.
        let (recorded, node) = recorded_on_network(&args.connect)?;
        let at = check::check(
            file,
            recorded.hash.map(|hash| (hash, recorded.height)),
            recorded.height,
        )?;
        println!(
            "OK: {} is the report the chain holds (as node {node} holds it at block {at})",
            file.display()
        );
        return Ok(());
    }
    let replayed = match &args.data {
        Some(data) => {
            eprintln!("replaying and auditing the chain in {}", data.display());
            source::from_data_dir(data, |_, _| {})?
        }
        None => from_network(&args.connect)?,
    };
    if let Some(file) = &args.check {
        let at = check::check(file, replayed.recorded, replayed.report.game.height)?;
        println!(
            "OK: {} is the report the chain holds (recorded in block {at})",
            file.display()
        );
        return Ok(());
    }
    let mut report = replayed.report;
    if let Some((secret, path)) = &secret {
        report.secret = Some(secret::reveal(secret, &replayed.genesis, path)?);
    }
    if args.record {
        if !report.game.game_over {
            bail!(
                "the game has not ended at block {} of this chain: end it (`qraft admin` end-game, or its last round), stop a node, and report from its data",
                report.game.height
            );
        }
        if let Some((hash, at)) = replayed.recorded {
            bail!("block {at} already records a report ({hash}); it can be recorded once");
        }
    }
    let hash = files::write(&mut report, &args.out)?;
    println!(
        "wrote {} ({}, {}, {}): {} students, {} bots, block {}",
        args.out.display(),
        files::CSV,
        files::HTML,
        files::JSON,
        report
            .participants
            .iter()
            .filter(|p| p.role == "student")
            .count(),
        report
            .participants
            .iter()
            .filter(|p| p.role != "student")
            .count(),
        report.game.height
    );
    println!("report hash: {hash}");
    if args.record {
        record(args.connect, hash).context("recording the report hash")?;
    }
    Ok(())
}

/// The chain as a running node serves it (`--genesis`, `--key`, `--node`).
fn from_network(connect: &ConnectArgs) -> Result<source::Replayed> {
    crate::cli::logs::to_stderr("off");
    let runtime = super::client::connect::runtime()?;
    let replayed = runtime.block_on(async {
        let ctx = super::client::connect::Ctx::connect(connect).await?;
        eprintln!(
            "replaying the chain node {} serves, from the genesis",
            ctx.node_name()
        );
        let replayed = source::from_node(&ctx).await;
        ctx.close().await;
        replayed
    })?;
    Ok(replayed)
}

/// The report hash a running node holds (`--genesis`, `--key`, `--node`), and the
/// node's name.
fn recorded_on_network(connect: &ConnectArgs) -> Result<(RecordedReport, String)> {
    crate::cli::logs::to_stderr("off");
    let runtime = super::client::connect::runtime()?;
    runtime.block_on(async {
        let ctx = super::client::connect::Ctx::connect(connect).await?;
        let recorded = ctx.query(qraft_client::query::report_hash()).await;
        let node = ctx.node_name();
        ctx.close().await;
        Ok((recorded?, node))
    })
}

/// Submits `AdminAction::RecordReport { hash }` with the admin's key.
fn record(connect: ConnectArgs, hash: Hash32) -> Result<()> {
    let common = CommonArgs {
        connect,
        json: false,
    };
    run_transaction_cli(common, |ctx| async move {
        let mut turn = None;
        transact(
            &ctx,
            TxBody::Admin(AdminAction::RecordReport { hash }),
            &mut turn,
        )
        .await
    })
}
