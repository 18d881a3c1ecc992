//! `qraft genesis`: work with a game's genesis file.

use std::fmt::{self, Write as _};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use qraft_node::core::genesis::validate::format_bps;
use qraft_node::core::genesis::{Genesis, GenesisError, NodeSpec, parse_genesis};
use qraft_node::core::types::{Role, format_cents};
use serde_json::{Value, json};

/// The genesis file: the game's symbols, participants, rules and nodes.
#[derive(Debug, Subcommand)]
pub enum GenesisCommand {
    /// Read and check a genesis file, and summarize the game.
    ///
    /// Prints the game, its chain id, symbols, participants by role, voters and learners.
    /// If the file has problems, prints every one as FILE:LINE:COLUMN: FIELD: PROBLEM and
    /// exits with status 1.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The genesis file to check.
    file: PathBuf,
    /// Print the summary, or the problems, as JSON on standard output.
    #[arg(long)]
    json: bool,
}

/// Runs a `qraft genesis` command.
pub fn run(command: GenesisCommand) -> Result<()> {
    match command {
        GenesisCommand::Check(args) => check(&args),
    }
}

fn check(args: &CheckArgs) -> Result<()> {
    let name = args.file.display().to_string();
    let text =
        std::fs::read_to_string(&args.file).with_context(|| format!("cannot read {name}"))?;
    match parse_genesis(&text, &name) {
        Ok(genesis) => {
            if args.json {
                println!("{:#}", summary_json(&name, &genesis));
            } else {
                print!("{}", summary_text(&name, &genesis));
            }
            Ok(())
        }
        Err(error) => {
            if args.json {
                println!("{:#}", errors_json(&error));
            } else {
                eprintln!("{error}");
            }
            let count = error.diagnostics().len();
            let problems = if count == 1 { "problem" } else { "problems" };
            bail!("{name} is not a valid genesis file ({count} {problems})")
        }
    }
}

fn role_counts(genesis: &Genesis) -> [(Role, Vec<&str>); 3] {
    [Role::Admin, Role::Trader, Role::Bot].map(|role| {
        let names = genesis
            .participants
            .iter()
            .filter(|p| p.role == role)
            .map(|p| p.name.as_str())
            .collect();
        (role, names)
    })
}

fn summary_text(file: &str, genesis: &Genesis) -> String {
    let mut out = String::new();
    write_summary(&mut out, file, genesis).expect("writing to a String cannot fail");
    out
}

fn write_summary(out: &mut String, file: &str, genesis: &Genesis) -> fmt::Result {
    let rules = &genesis.rules;
    writeln!(out, "{file}: a valid genesis")?;
    writeln!(out, "game:      {}", genesis.game)?;
    writeln!(out, "chain id:  {}", genesis.chain_id())?;
    let shorting = if rules.short_selling {
        format!("short selling up to {} shares", rules.max_short_shares)
    } else {
        "no short selling".to_string()
    };
    let opening = if rules.open_at_start {
        "open from the first block"
    } else {
        "opened by an admin"
    };
    writeln!(
        out,
        "rules:     market {opening}; orders up to {} shares; price band {}; {shorting}; \
         {} s candles",
        rules.max_order_shares,
        format_bps(rules.price_band_bps),
        rules.candle_ms / 1000
    )?;
    writeln!(out, "symbols ({}):", genesis.symbols.len())?;
    for symbol in &genesis.symbols {
        let reference = i128::from(symbol.tick_size) * i128::from(symbol.reference_price);
        writeln!(
            out,
            "  {:<8} {:<28} tick {:>8}  reference {:>12}",
            symbol.ticker,
            symbol.name,
            format_cents(symbol.tick_size.into()),
            format_cents(reference)
        )?;
    }
    writeln!(out, "participants ({}):", genesis.participants.len())?;
    for (role, names) in role_counts(genesis) {
        writeln!(
            out,
            "  {:<8} {:>4}  {}",
            format!("{role}s"),
            names.len(),
            names.join(", ")
        )?;
    }
    write_nodes(out, "voters", &genesis.voters)?;
    write_nodes(out, "learners", &genesis.learners)
}

fn write_nodes(out: &mut String, title: &str, nodes: &[NodeSpec]) -> fmt::Result {
    writeln!(out, "{title} ({}):", nodes.len())?;
    for node in nodes {
        writeln!(
            out,
            "  {:>3}  {:<16} {:<24} {}",
            node.id, node.name, node.address, node.key
        )?;
    }
    Ok(())
}

fn summary_json(file: &str, genesis: &Genesis) -> Value {
    let rules = &genesis.rules;
    let nodes = |nodes: &[NodeSpec]| -> Vec<Value> {
        nodes
            .iter()
            .map(|n| {
                json!({
                    "id": n.id,
                    "name": n.name,
                    "key": n.key.to_string(),
                    "address": n.address,
                })
            })
            .collect()
    };
    let by_role: serde_json::Map<String, Value> = role_counts(genesis)
        .into_iter()
        .map(|(role, names)| (role.to_string(), json!(names)))
        .collect();
    json!({
        "file": file,
        "valid": true,
        "game": genesis.game,
        "chain_id": genesis.chain_id().to_string(),
        "rules": {
            "short_selling": rules.short_selling,
            "max_short_shares": rules.max_short_shares,
            "max_order_shares": rules.max_order_shares,
            "price_band_bps": rules.price_band_bps,
            "open_at_start": rules.open_at_start,
            "candle_seconds": rules.candle_ms / 1000,
        },
        "symbols": genesis.symbols.iter().map(|s| json!({
            "ticker": s.ticker.as_str(),
            "name": s.name,
            "tick_size_cents": s.tick_size,
            "reference_price_ticks": s.reference_price,
        })).collect::<Vec<_>>(),
        "participants": genesis.participants.iter().map(|p| json!({
            "name": p.name,
            "role": p.role.to_string(),
            "key": p.key.to_string(),
            "cash_cents": p.cash,
            "holdings": p.holdings.iter()
                .map(|(ticker, shares)| (ticker.as_str().to_string(), json!(shares)))
                .collect::<serde_json::Map<_, _>>(),
        })).collect::<Vec<_>>(),
        "participants_by_role": by_role,
        "voters": nodes(&genesis.voters),
        "learners": nodes(&genesis.learners),
    })
}

fn errors_json(error: &GenesisError) -> Value {
    json!({
        "file": error.file(),
        "valid": false,
        "errors": error.diagnostics().iter().map(|d| json!({
            "line": d.line,
            "column": d.column,
            "field": d.path,
            "message": d.message,
        })).collect::<Vec<_>>(),
    })
}
