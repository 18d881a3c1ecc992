//! Writing the report's three files: report.csv and report.html first, their blake3
//! hashes into report.json's `files`, then report.json, whose hash is the report hash.

use std::path::{Path, PathBuf};

use qraft_node::core::hash::Hash32;

use super::model::Report;
use super::{csv, html};

pub const JSON: &str = "report.json";
pub const CSV: &str = "report.csv";
pub const HTML: &str = "report.html";

/// The domain of the report hash.
pub const REPORT_HASH_TAG: &str = "qraft/report";

/// The report hash: of report.json's bytes.
pub fn report_hash(json: &[u8]) -> Hash32 {
    Hash32::of(REPORT_HASH_TAG, json)
}

/// A file's hash as report.json's `files` names it: plain blake3, hex (`b3sum` agrees).
pub fn file_hash(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

/// Why the files could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}", path.display())]
pub struct WriteError {
    pub path: PathBuf,
    pub reason: String,
}

/// The three files' bytes: (csv, html, json), with `report.files` filled in.
pub fn render(report: &mut Report) -> (String, String, String) {
    let csv = csv::render(report);
    let html = html::render(report);
    report.files.insert(CSV.into(), file_hash(csv.as_bytes()));
    report.files.insert(HTML.into(), file_hash(html.as_bytes()));
    let mut json = serde_json::to_string_pretty(report).expect("a report always encodes");
    json.push('\n');
    (csv, html, json)
}

/// Writes the three files into `dir` (made if missing); returns the report hash.
pub fn write(report: &mut Report, dir: &Path) -> Result<Hash32, WriteError> {
    let (csv, html, json) = render(report);
    let fail = |path: PathBuf| {
        move |e: std::io::Error| WriteError {
            path,
            reason: e.to_string(),
        }
    };
    std::fs::create_dir_all(dir).map_err(fail(dir.to_path_buf()))?;
    for (name, bytes) in [(CSV, &csv), (HTML, &html), (JSON, &json)] {
        let path = dir.join(name);
        std::fs::write(&path, bytes).map_err(fail(path.clone()))?;
    }
    Ok(report_hash(json.as_bytes()))
}
