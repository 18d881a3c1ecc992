//! Loading what every networked command needs: the genesis file and a key.
//!
//! - [`registered`]: the nodes registered after the genesis, kept beside a joined game's.

pub mod registered;

use std::path::Path;

use anyhow::{Context, Result, anyhow};
use qraft_node::core::genesis::{Genesis, parse_genesis};

/// Reads and validates the genesis file at `path`; every problem is listed with its
/// line and field.
pub fn load_genesis(path: &Path) -> Result<Genesis> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the genesis file {}", path.display()))?;
    parse_genesis(&text, &path.display().to_string()).map_err(|err| anyhow!("{err}"))
}
