//! The checker, run once the nodes have stopped: every acknowledged order has the same
//! receipt on every node (and the one its result line gave), the nodes' heads agree, and
//! `qraft verify` passes on every node's data directory.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result};
use qraft_node::api::StoredReceipt;
use qraft_node::core::block::{Block, BlockHash};
use qraft_node::core::hash::Hash32;
use qraft_node::io::store::Store;

use super::traders::Acknowledged;

/// One node's head: height and block hash.
pub type Head = (u64, BlockHash);

/// What the checker found on each node.
#[derive(Debug, Default)]
pub struct Findings {
    /// Each node's head, read from its store.
    pub heads: BTreeMap<u64, Head>,
    /// Acknowledged orders missing on some node, or different there from what was
    /// acknowledged or from another node.
    pub lost: u64,
    /// The first few of them, for people.
    pub lost_examples: Vec<String>,
    /// `qraft verify` on each node: `Ok(summary line)` or `Err(why)`.
    pub verify: BTreeMap<u64, Result<String, String>>,
}

/// The most lost orders described one by one.
const LOST_EXAMPLES: usize = 5;

impl Findings {
    pub fn heads_agree(&self) -> bool {
        let mut heads = self.heads.values();
        match heads.next() {
            Some(first) => heads.all(|h| h == first),
            None => false,
        }
    }

    pub fn verify_green(&self) -> bool {
        !self.verify.is_empty() && self.verify.values().all(Result::is_ok)
    }
}

/// Checks the stopped nodes `ids`, whose data directories `data_dir(id)` gives, against
/// the acknowledged orders; `exe` is the `qraft` that runs `verify`.
pub fn check(
    exe: &Path,
    ids: &[u64],
    data_dir: impl Fn(u64) -> std::path::PathBuf,
    acknowledged: &[Acknowledged],
) -> Result<Findings> {
    let mut findings = Findings::default();
    // For each acknowledged order: the first node's stored receipt, to compare the others
    // with.
    let mut first_seen: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for &id in ids {
        let dir = data_dir(id);
        let store = Store::open(&dir, Default::default())
            .with_context(|| format!("cannot open node {id}'s store in {}", dir.display()))?;
        findings.heads.insert(id, head(&store)?);
        let mut block_hashes: BTreeMap<u64, Option<BlockHash>> = BTreeMap::new();
        for ack in acknowledged {
            let problem = match receipt_problem(&store, ack, &mut block_hashes) {
                Ok(Some(bytes)) => match first_seen.get(ack.tx.as_str()) {
                    Some(first) if *first != bytes => {
                        Some("its stored receipt differs from another node's".to_string())
                    }
                    Some(_) => None,
                    None => {
                        first_seen.insert(&ack.tx, bytes);
                        None
                    }
                },
                Ok(None) => Some("no receipt".to_string()),
                Err(why) => Some(why),
            };
            if let Some(problem) = problem {
                findings.lost += 1;
                if findings.lost_examples.len() < LOST_EXAMPLES {
                    findings
                        .lost_examples
                        .push(format!("node {id}: order {}: {problem}", ack.tx));
                }
            }
        }
    }
    for &id in ids {
        findings.verify.insert(id, verify(exe, &data_dir(id)));
    }
    Ok(findings)
}

/// The node's last block: its height and hash.
fn head(store: &Store) -> Result<Head> {
    let Some(height) = store.last_block_height()? else {
        return Ok((0, Hash32::default()));
    };
    let bytes = store
        .block(height)?
        .context("the store lacks its own last block")?;
    let block: Block = postcard::from_bytes(&bytes).context("a stored block does not decode")?;
    Ok((height, block.hash()))
}

/// The stored receipt of `ack` (its bytes) if it matches what was acknowledged; `None`
/// if there is none; why not if it differs.
fn receipt_problem(
    store: &Store,
    ack: &Acknowledged,
    block_hashes: &mut BTreeMap<u64, Option<BlockHash>>,
) -> Result<Option<Vec<u8>>, String> {
    let hash = Hash32::from_hex(&ack.tx).ok_or("the acknowledged tx is not a hash")?;
    let Some(bytes) = store.receipt(&hash.0).map_err(|e| e.to_string())? else {
        return Ok(None);
    };
    let stored: StoredReceipt =
        postcard::from_bytes(&bytes).map_err(|e| format!("its receipt does not decode: {e}"))?;
    if stored.height != ack.height || u64::from(stored.index) != ack.index {
        return Err(format!(
            "stored at height {} index {}, acknowledged at height {} index {}",
            stored.height, stored.index, ack.height, ack.index
        ));
    }
    if stored.receipt.is_accepted() != ack.accepted {
        return Err("accepted on one side, rejected on the other".to_string());
    }
    let block_hash = match block_hashes.get(&stored.height) {
        Some(known) => *known,
        None => {
            let hash = store
                .block(stored.height)
                .map_err(|e| e.to_string())?
                .and_then(|bytes| postcard::from_bytes::<Block>(&bytes).ok())
                .map(|block| block.hash());
            block_hashes.insert(stored.height, hash);
            hash
        }
    };
    match block_hash {
        Some(hash) if hash.to_hex() == ack.block => Ok(Some(bytes)),
        Some(_) => Err(format!(
            "block {} differs from the acknowledged one",
            stored.height
        )),
        None => Err(format!("the node lacks block {}", stored.height)),
    }
}

/// `qraft verify DATA_DIR`: its head line, or why it failed.
fn verify(exe: &Path, dir: &Path) -> Result<String, String> {
    let output = Command::new(exe)
        .arg("verify")
        .arg(dir)
        .output()
        .map_err(|e| format!("cannot run qraft verify: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if output.status.success() {
        let head = stdout
            .lines()
            .find(|l| l.starts_with("head hash"))
            .unwrap_or("verified")
            .trim()
            .to_string();
        Ok(head)
    } else {
        Err(stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("failed")
            .trim()
            .to_string())
    }
}
