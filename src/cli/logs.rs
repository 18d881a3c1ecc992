//! Where a command's logs go: stderr for a headless node, a file while a dashboard owns
//! the terminal (nothing else may write to it then). `RUST_LOG` overrides the level.

use std::fs::{self, OpenOptions};
use std::path::Path;
use std::sync::Mutex;

use anyhow::{Context, Result};
use tracing_subscriber::EnvFilter;

fn filter(default_level: &str) -> EnvFilter {
    EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level))
}

/// Logs to stderr at `default_level` (`info`, `warn`, ...), coloured on a terminal.
pub fn to_stderr(default_level: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default_level))
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

/// Logs to the file at `path` (created with its folder, appended to) at `default_level`.
pub fn to_file(path: &Path, default_level: &str) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create the log folder {}", parent.display()))?;
    }
    let file = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the log file {}", path.display()))?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(default_level))
        .with_writer(Mutex::new(file))
        .with_ansi(false)
        .try_init();
    Ok(())
}
