//! `qraft scenario check FILE`: reads a scenario as a game would, and prints its timeline
//! or every problem with its file:line.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use qraft_node::core::genesis::{parse_genesis, parse_scenario};
use qraft_node::core::scenario::duration::format_duration;
use qraft_node::core::scenario::{Event, Scenario, ScenarioStart, Step, Timeline};
use qraft_node::core::tx::{Scope, SymbolSpec};
use qraft_node::core::types::{Ticks, format_cents};

use crate::cli::demo::lineup;

/// `qraft scenario ...`.
#[derive(Debug, Subcommand)]
pub enum ScenarioCommand {
    /// Checks a scenario file and prints what happens when, or every problem with its
    /// file:line.
    Check(CheckArgs),
    /// Prints the demo's built-in scenario: a file to start your own from.
    Demo,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The scenario file.
    pub file: PathBuf,
    /// Check it against this game's symbols and rules [default: the demo's and
    /// `qraft class`'s six symbols].
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
}

/// Runs `qraft scenario ...`.
pub fn run(command: ScenarioCommand) -> Result<()> {
    match command {
        ScenarioCommand::Check(args) => check(&args),
        ScenarioCommand::Demo => {
            print!("{}", super::DEMO_SCENARIO);
            Ok(())
        }
    }
}

fn check(args: &CheckArgs) -> Result<()> {
    let (symbols, rules) = match &args.genesis {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let genesis = parse_genesis(&text, &path.display().to_string())
                .map_err(|problems| anyhow::anyhow!("{problems}"))?;
            (genesis.symbols, genesis.rules)
        }
        None => (lineup::symbols(), lineup::rules()),
    };
    let text = std::fs::read_to_string(&args.file)
        .with_context(|| format!("cannot read the scenario {}", args.file.display()))?;
    let file = parse_scenario(&text, &args.file.display().to_string(), &symbols, &rules)
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    print!("{}", timeline(&file.scenario, &symbols));
    if file.secret_text.is_some() {
        println!(
            "\nSecret: yes. A game made from this file holds only its hash; the text stays in \
             {} beside the game until the report reveals it.",
            super::SECRET_FILE
        );
    }
    Ok(())
}

/// The scenario as lines of text: a summary, then every step at its game time.
pub fn timeline(scenario: &Scenario, symbols: &[SymbolSpec]) -> String {
    let mut out = String::new();
    let length = scenario
        .rounds_end_ms()
        .into_iter()
        .chain(scenario.events.iter().map(|e| e.at_ms))
        .max()
        .unwrap_or(0);
    let _ = writeln!(
        out,
        "{}: {} round{}, {} event{}, {} long; starts {}{}",
        scenario.name,
        scenario.rounds.len(),
        if scenario.rounds.len() == 1 { "" } else { "s" },
        scenario.events.len(),
        if scenario.events.len() == 1 { "" } else { "s" },
        format_duration(length),
        match scenario.start {
            ScenarioStart::FirstBlock => "at the first block",
            ScenarioStart::ByAdmin => "when the admin starts it (qraft admin start)",
        },
        if scenario.end_after_last_round && !scenario.rounds.is_empty() {
            "; the game ends after the last round"
        } else {
            ""
        }
    );
    let price = |ticker, ticks: Ticks| {
        let tick = symbols
            .iter()
            .find(|s| s.ticker == ticker)
            .map_or(1, |s| s.tick_size);
        format!("${}", format_cents(i128::from(ticks) * i128::from(tick)))
    };
    let timeline = Timeline::new(scenario);
    for i in 0..timeline.len() {
        let Some((at, step)) = timeline.get(i) else {
            break;
        };
        let what = match step {
            Step::OpenRound(n) => format!(
                "{} opens ({})",
                scenario.rounds[n].name,
                format_duration(scenario.rounds[n].length_ms)
            ),
            Step::CloseRound(n) => format!("{} closes and is scored", scenario.rounds[n].name),
            Step::Event(n) => match &scenario.events[n].event {
                Event::News {
                    symbol, headline, ..
                } => match symbol {
                    Some(symbol) => format!("news [{symbol}]: {headline}"),
                    None => format!("news: {headline}"),
                },
                Event::Value { symbol, value } => {
                    format!(
                        "{symbol} is worth {} (house bots trade toward it)",
                        price(*symbol, *value)
                    )
                }
                Event::Dividend { symbol, per_share } => format!(
                    "{symbol} pays a dividend of ${} a share",
                    format_cents(i128::from(*per_share))
                ),
                Event::Halt(scope) => format!("halt {}", scope_name(scope)),
                Event::Resume(scope) => format!("resume {}", scope_name(scope)),
                Event::Rules(_) => "the rules change".to_string(),
            },
        };
        let _ = writeln!(out, "  {:>8}  {what}", format_duration(at));
    }
    out
}

fn scope_name(scope: &Scope) -> String {
    match scope {
        Scope::All => "all trading".to_string(),
        Scope::Symbol(ticker) => ticker.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_scenario_fits_the_demo_and_reads_as_a_timeline() {
        let file = parse_scenario(
            super::super::DEMO_SCENARIO,
            "demo.toml",
            &lineup::symbols(),
            &lineup::rules(),
        )
        .unwrap();
        assert!(file.secret_text.is_some());
        let text = timeline(&file.scenario, &lineup::symbols());
        assert!(text.starts_with("A week on the floor: 3 rounds,"), "{text}");
        for line in [
            "       0s  Monday opens (3m)",
            "      30s  news [ACME]: Acme wins a $2 billion defense contract",
            "      30s  ACME is worth $15.00 (house bots trade toward it)",
            "    2m15s  INIT pays a dividend of $0.25 a share",
            "    3m20s  Wednesday opens (3m)",
            "    4m50s  halt GLBX",
            "    9m40s  Friday closes and is scored",
        ] {
            assert!(text.contains(line), "{line:?} missing:\n{text}");
        }
    }
}
