//! Scenarios from the command line: reading a teacher's file (with file:line errors),
//! the demo's built-in one, putting one into a new game, and `qraft scenario check`.
//!
//! A scenario goes into the genesis whole, so every node applies it; its secret does
//! not: the genesis holds a salted hash of it, and the text is kept beside the game in
//! [`SECRET_FILE`] for the teacher, to be revealed with the report.

pub mod check;
pub mod secret;

use std::path::Path;

use anyhow::{Context, Result, bail};
use qraft_node::core::genesis::{Genesis, ScenarioFile, parse_scenario};
use qraft_node::core::scenario::ScenarioSecret;

pub use secret::SECRET_FILE;

/// The demo's scenario: three three-minute rounds with news, dividends, a halt and a
/// rule change, for the demo's six symbols.
pub const DEMO_SCENARIO: &str = include_str!("demo.toml");

/// Reads and checks the scenario file at `path` for `genesis`'s symbols and rules.
pub fn load(path: &Path, genesis: &Genesis) -> Result<ScenarioFile> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the scenario {}", path.display()))?;
    parse_scenario(
        &text,
        &path.display().to_string(),
        &genesis.symbols,
        &genesis.rules,
    )
    .map_err(|problems| anyhow::anyhow!("{problems}"))
}

/// The demo's built-in scenario, for `genesis` (the demo's symbols).
pub fn demo(genesis: &Genesis) -> Result<ScenarioFile> {
    parse_scenario(
        DEMO_SCENARIO,
        "built-in demo scenario",
        &genesis.symbols,
        &genesis.rules,
    )
    .map_err(|problems| {
        anyhow::anyhow!("the built-in scenario does not fit this game:\n{problems}")
    })
}

/// Puts `file`'s scenario into `genesis`, with a fresh salted commitment to its secret,
/// and returns the secret to keep beside the game (none when the file has no secret).
pub fn embed(genesis: &mut Genesis, file: ScenarioFile) -> Result<Option<ScenarioSecret>> {
    let ScenarioFile {
        mut scenario,
        secret_text,
    } = file;
    let secret = match secret_text {
        Some(text) => Some(ScenarioSecret {
            salt: qraft_keys::random_bytes().context("cannot draw the secret's salt")?,
            text,
        }),
        None => None,
    };
    scenario.secret = secret.as_ref().map(ScenarioSecret::commitment);
    genesis.scenario = Some(scenario);
    if let Err(violations) = genesis.validate() {
        let problems: Vec<String> = violations.iter().map(ToString::to_string).collect();
        bail!(
            "the scenario does not fit the game: {}",
            problems.join("; ")
        );
    }
    Ok(secret)
}
