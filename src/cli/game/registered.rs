//! `nodes.toml` beside a joined game's genesis: the nodes the chain registered after the
//! genesis (students' laptops, machines made voters), as the laptop's own node knows them.
//! `qraft join` keeps it up to date; client commands run with that genesis trust those
//! nodes as the game's and, with no `--node`, try the reachable ones after the genesis's.
//! It is as trustworthy as the genesis beside it: both are written on this laptop, from
//! the teacher's grant and the chain its node checked.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use qraft_keys::PublicKey;
use qraft_node::core::genesis::NodeSpec;
use serde::{Deserialize, Serialize};

/// The most nodes the file may list: a class of thirty and their teacher's machines,
/// many times over; a bound on what a damaged file makes a command read.
const MAX_REGISTERED: usize = 1_000;

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    #[serde(default)]
    node: Vec<Entry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct Entry {
    id: u64,
    name: String,
    key: String,
    address: String,
}

/// Where the registered nodes of the game whose genesis is `genesis` are kept.
pub fn path_beside(genesis: &Path) -> PathBuf {
    genesis.with_file_name("nodes.toml")
}

/// The registered nodes kept beside `genesis`: none when there is no such file.
pub fn load_beside(genesis: &Path) -> Result<Vec<NodeSpec>> {
    let path = path_beside(genesis);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err).with_context(|| format!("cannot read {}", path.display())),
    };
    let file: File =
        toml::from_str(&text).with_context(|| format!("{} is damaged", path.display()))?;
    if file.node.len() > MAX_REGISTERED {
        anyhow::bail!(
            "{} lists {} nodes; the most it may list is {MAX_REGISTERED}",
            path.display(),
            file.node.len()
        );
    }
    file.node
        .into_iter()
        .enumerate()
        .map(|(index, entry)| {
            let key = entry.key.parse::<PublicKey>().with_context(|| {
                format!("{}: node #{} has a bad key", path.display(), index + 1)
            })?;
            Ok(NodeSpec {
                id: entry.id,
                name: entry.name,
                key,
                address: entry.address,
            })
        })
        .collect()
}

/// Keeps `nodes` beside `genesis` (replacing the file whole, so a reader never sees half).
pub fn write_beside(genesis: &Path, nodes: &[NodeSpec]) -> Result<()> {
    let file = File {
        node: nodes
            .iter()
            .take(MAX_REGISTERED)
            .map(|n| Entry {
                id: n.id,
                name: n.name.clone(),
                key: n.key.to_string(),
                address: n.address.clone(),
            })
            .collect(),
    };
    let text = format!(
        "# The nodes this game registered after its genesis, as this laptop's node knows\n\
         # them. Written by `qraft join`; client commands trust them as the game's.\n{}",
        toml::to_string(&file).context("encoding the registered nodes")?
    );
    let path = path_beside(genesis);
    let partial = path.with_extension("toml.partial");
    std::fs::write(&partial, text)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, &path).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_keys::Keypair;

    #[test]
    fn registered_nodes_are_kept_beside_the_genesis_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let genesis = dir.path().join("genesis.toml");
        assert!(load_beside(&genesis).unwrap().is_empty(), "no file: none");
        let nodes = vec![NodeSpec {
            id: 4,
            name: "lab-a-4".into(),
            key: Keypair::from_label("registered/4").public(),
            address: "10.77.0.11:7810".into(),
        }];
        write_beside(&genesis, &nodes).unwrap();
        assert_eq!(load_beside(&genesis).unwrap(), nodes);
        let bad_key = "[[node]]\nid = 4\nname = \"x\"\nkey = \"qk1nope\"\naddress = \"h:1\"\n";
        std::fs::write(path_beside(&genesis), bad_key).unwrap();
        let err = format!("{:#}", load_beside(&genesis).unwrap_err());
        assert!(err.contains("node #1 has a bad key"), "{err}");
    }
}
