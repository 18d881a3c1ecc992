//! `qraft report --check FILE`: is FILE the report the chain holds? report.json is
//! compared by its hash with the hash the admin recorded; report.csv or report.html
//! needs the report.json beside it: that is checked against the chain, then FILE against
//! the json's `files` entry.

use std::path::{Path, PathBuf};

use qraft_node::core::hash::Hash32;

use super::files::{CSV, HTML, JSON, file_hash, report_hash};
use super::model::Report;

/// Why FILE is not the report the chain holds.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    #[error(
        "the chain holds no report hash (up to block {height}): the admin has not recorded one (`qraft report --record`)"
    )]
    NotRecorded { height: u64 },
    #[error(
        "{} is NOT the report the chain holds: its hash is {found}, the chain recorded {recorded} (block {height})",
        path.display()
    )]
    Differs {
        path: PathBuf,
        found: String,
        recorded: String,
        height: u64,
    },
    #[error("{} is not report.json, report.csv or report.html", path.display())]
    UnknownFile { path: PathBuf },
    #[error("{}: not a report.json: {reason}", path.display())]
    BadJson { path: PathBuf, reason: String },
    #[error(
        "{} is NOT the report's {name}: its blake3 is {found}, report.json says {expected}",
        path.display()
    )]
    FileDiffers {
        path: PathBuf,
        name: String,
        found: String,
        expected: String,
    },
}

fn read(path: &Path) -> Result<Vec<u8>, CheckError> {
    std::fs::read(path).map_err(|e| CheckError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}

/// Checks `file` against the report hash the chain `recorded` (and its block), the
/// chain having been read up to `height`. Returns the recording block.
pub fn check(file: &Path, recorded: Option<(Hash32, u64)>, height: u64) -> Result<u64, CheckError> {
    let (hash, at) = recorded.ok_or(CheckError::NotRecorded { height })?;
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let json_path = match name {
        JSON => file.to_path_buf(),
        CSV | HTML => file.with_file_name(JSON),
        _ => {
            return Err(CheckError::UnknownFile {
                path: file.to_path_buf(),
            });
        }
    };
    let json = read(&json_path)?;
    let found = report_hash(&json);
    if found != hash {
        return Err(CheckError::Differs {
            path: json_path,
            found: found.to_hex(),
            recorded: hash.to_hex(),
            height: at,
        });
    }
    if name != JSON {
        let report: Report = serde_json::from_slice(&json).map_err(|e| CheckError::BadJson {
            path: json_path.clone(),
            reason: e.to_string(),
        })?;
        let expected = report.files.get(name).cloned().unwrap_or_default();
        let found = file_hash(&read(file)?);
        if found != expected {
            return Err(CheckError::FileDiffers {
                path: file.to_path_buf(),
                name: name.to_string(),
                found,
                expected,
            });
        }
    }
    Ok(at)
}
