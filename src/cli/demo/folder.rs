//! The demo's folder: a new game written into it, or the game an earlier demo left there.
//!
//! ```text
//! DIR/
//!   demo.toml       marks the folder as a demo game (and says how to continue it)
//!   genesis.toml    the game
//!   keys/           node1..3.key, admin.key, you.key, one key per bot (mode 0600)
//!   data/node1..3/  each node's chain, written as the game goes
//!   qraft.log       the log, when the dashboard owns the terminal
//! ```

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use qraft_keys::keyfile::{IfExists, write_key_file};
use qraft_keys::{Keypair, PublicKey};
use qraft_node::core::genesis::{Genesis, to_toml};
use qraft_node::core::types::Role;
use qraft_node::testkit::disk::free_port;

use super::lineup::{self, ADMIN, BotKind, Players, YOU};
use crate::cli::game::load_genesis;
use crate::cli::keys::open_key;
use crate::cli::scenario;

/// The file that marks a demo game's folder.
pub const MARKER: &str = "demo.toml";
/// The marker's format version.
const VERSION: i64 = 1;

/// A bot of the game: its participant name, strategy and key.
pub struct DemoBot {
    pub name: String,
    pub kind: BotKind,
    pub key: Keypair,
}

/// A demo game on disk, with the keys the demo runs it with.
pub struct DemoGame {
    pub dir: PathBuf,
    pub genesis: Genesis,
    /// The voters' keys, in the genesis's order.
    pub nodes: Vec<Keypair>,
    pub you: Keypair,
    pub bots: Vec<DemoBot>,
    /// Whether the game was already there (continued from its data).
    pub continued: bool,
}

impl DemoGame {
    pub fn data_dir(&self, node_name: &str) -> PathBuf {
        self.dir.join("data").join(node_name)
    }
}

/// The key file of the participant or node `name` in the game folder `dir`.
pub fn key_file(dir: &Path, name: &str) -> PathBuf {
    dir.join("keys").join(format!("{name}.key"))
}

/// Where the game lives: a temporary folder, removed when this is dropped, or the
/// user's own.
pub enum Folder {
    Temporary(tempfile::TempDir),
    Named(PathBuf),
}

impl Folder {
    /// A new temporary folder (under $TMPDIR, else /tmp).
    pub fn temporary() -> Result<Folder> {
        let dir = tempfile::Builder::new()
            .prefix("qraft-demo-")
            .tempdir()
            .context("cannot create a temporary folder for the demo")?;
        Ok(Folder::Temporary(dir))
    }

    pub fn path(&self) -> &Path {
        match self {
            Folder::Temporary(dir) => dir.path(),
            Folder::Named(path) => path,
        }
    }

    pub fn is_temporary(&self) -> bool {
        matches!(self, Folder::Temporary(_))
    }

    /// Removes a temporary folder now (a named one stays); what went wrong, if anything.
    pub fn remove(self) -> Result<()> {
        match self {
            Folder::Temporary(dir) => {
                let path = dir.path().to_path_buf();
                dir.close()
                    .with_context(|| format!("cannot remove the demo folder {}", path.display()))
            }
            Folder::Named(_) => Ok(()),
        }
    }
}

/// The story a new demo game tells.
#[derive(Clone, Debug)]
pub enum Story {
    /// The built-in scenario ([`scenario::DEMO_SCENARIO`]).
    BuiltIn,
    /// A scenario file.
    File(PathBuf),
    /// None: a free market.
    None,
}

/// The demo game in `folder`: the one already there, or a new one with `bots` bots
/// telling `story`.
pub fn open_or_create(folder: &Folder, bots: usize, story: &Story) -> Result<DemoGame> {
    let dir = folder.path();
    if dir.join(MARKER).exists() {
        return load(dir);
    }
    prepare_empty(dir, MARKER, "demo game", "`qraft demo --dir`")?;
    create(dir, bots, story)
}

/// Makes the keys and genesis of a new game and writes them into the empty `dir`.
fn create(dir: &Path, bot_count: usize, story: &Story) -> Result<DemoGame> {
    let new_key = || Keypair::generate().context("cannot make a key");
    let nodes = (0..3).map(|_| new_key()).collect::<Result<Vec<_>>>()?;
    let admin = new_key()?;
    let you = new_key()?;
    let mut bots = Vec::with_capacity(bot_count);
    for (name, kind) in lineup::bot_names(bot_count) {
        bots.push(DemoBot {
            name,
            kind,
            key: new_key()?,
        });
    }
    let addresses = nodes
        .iter()
        .map(|key| Ok((key.public(), format!("127.0.0.1:{}", free_port()?))))
        .collect::<Result<Vec<_>>>()
        .context("cannot find a free port on 127.0.0.1")?;
    let bot_keys: Vec<(String, BotKind, PublicKey)> = bots
        .iter()
        .map(|b| (b.name.clone(), b.kind, b.key.public()))
        .collect();
    let players = Players {
        admin: admin.public(),
        you: you.public(),
        bots: &bot_keys,
    };
    let mut genesis = lineup::genesis(&players, &addresses)?;
    let file = match story {
        Story::BuiltIn => Some(scenario::demo(&genesis)?),
        Story::File(path) => Some(scenario::load(path, &genesis)?),
        Story::None => None,
    };
    if let Some(file) = file
        && let Some(secret) = scenario::embed(&mut genesis, file)?
    {
        scenario::secret::write(&dir.join(scenario::SECRET_FILE), &secret)?;
    }

    let named = genesis
        .voters
        .iter()
        .map(|v| v.name.as_str())
        .zip(&nodes)
        .chain([(ADMIN, &admin), (YOU, &you)])
        .chain(bots.iter().map(|b| (b.name.as_str(), &b.key)));
    write_keys(dir, named)?;
    write(&dir.join("genesis.toml"), &to_toml(&genesis))?;
    // Last: a folder whose writing was cut short is not taken for a game.
    write(&dir.join(MARKER), &marker_text())?;
    Ok(DemoGame {
        dir: dir.to_path_buf(),
        genesis,
        nodes,
        you,
        bots,
        continued: false,
    })
}

/// The game an earlier demo left in `dir`.
fn load(dir: &Path) -> Result<DemoGame> {
    let marker = dir.join(MARKER);
    let text =
        fs::read_to_string(&marker).with_context(|| format!("cannot read {}", marker.display()))?;
    let version = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|table| table.get("demo").and_then(toml::Value::as_integer));
    if version != Some(VERSION) {
        bail!(
            "{} is not a demo marker this qraft knows (expected `demo = {VERSION}`); \
             start a new demo in another folder",
            marker.display()
        );
    }
    let genesis = load_genesis(&dir.join("genesis.toml"))?;
    let (nodes, bots) = keys_of(dir, &genesis)?;
    let you = open_key(&key_file(dir, YOU))?;
    Ok(DemoGame {
        dir: dir.to_path_buf(),
        genesis,
        nodes,
        you,
        bots,
        continued: true,
    })
}

/// Makes sure `dir` can take a new game: it is created if missing, and must be empty
/// if not (one holding `marker` is a game and is loaded, not made). `what` and `made_by`
/// name the game and the command that makes one, for the message.
pub fn prepare_empty(dir: &Path, marker: &str, what: &str, made_by: &str) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                bail!(
                    "{} holds files but no {what} (no {marker}): give `--dir` a new or empty \
                     folder, or one an earlier {made_by} made",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
        }
        Err(err) => {
            Err(err).with_context(|| format!("cannot use {} for the {what}", dir.display()))
        }
    }
}

/// Writes each (name, key) as `dir`/keys/NAME.key (mode 0600, in a folder of mode 0700),
/// refusing to overwrite one.
pub fn write_keys<'k>(
    dir: &Path,
    named: impl Iterator<Item = (&'k str, &'k Keypair)>,
) -> Result<()> {
    let keys_dir = dir.join("keys");
    DirBuilder::new()
        .mode(0o700)
        .create(&keys_dir)
        .with_context(|| format!("cannot create {}", keys_dir.display()))?;
    for (name, key) in named {
        let path = key_file(dir, name);
        write_key_file(&path, key, None, IfExists::Refuse)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// The keys in `dir`/keys of `genesis`'s voters (in its order) and of its bots.
pub fn keys_of(dir: &Path, genesis: &Genesis) -> Result<(Vec<Keypair>, Vec<DemoBot>)> {
    let key = |name: &str| open_key(&key_file(dir, name));
    let nodes = genesis
        .voters
        .iter()
        .map(|v| key(&v.name))
        .collect::<Result<Vec<_>>>()?;
    let mut bots = Vec::new();
    for participant in &genesis.participants {
        let kind = BotKind::from_name(&participant.name);
        if let (Role::Bot, Some(kind)) = (participant.role, kind) {
            bots.push(DemoBot {
                name: participant.name.clone(),
                kind,
                key: key(&participant.name)?,
            });
        }
    }
    Ok((nodes, bots))
}

fn marker_text() -> String {
    format!(
        "# A QRaft demo game, made by `qraft demo`. `qraft demo --dir THIS_FOLDER` continues it\n\
         # from its data (data/); delete the folder to forget it.\n\
         # keys/you.key is yours, keys/admin.key is the game's admin: use them with the client\n\
         # commands from this folder while the demo runs (`qraft portfolio --key keys/you.key`).\n\
         demo = {VERSION}\n"
    )
}

/// Writes `contents` to `path`, naming it when that fails.
pub fn write(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_game_is_continued_from_its_folder() {
        let parent = tempfile::tempdir().unwrap();
        let folder = Folder::Named(parent.path().join("game"));
        let first = open_or_create(&folder, 5, &Story::BuiltIn).unwrap();
        assert!(!first.continued);
        // The built-in scenario is in the genesis; its secret only beside it.
        let scenario = first.genesis.scenario.as_ref().expect("a scenario");
        assert_eq!(scenario.name, "A week on the floor");
        let secret =
            crate::cli::report::secret::read(&first.dir.join(scenario::SECRET_FILE)).unwrap();
        assert!(secret.matches(&scenario.secret.expect("a commitment")));
        let written = fs::read_to_string(first.dir.join("genesis.toml")).unwrap();
        assert!(!written.contains("What the house knew"), "{written}");
        assert_eq!(first.bots.len(), 5);
        for name in [
            "node1", "node2", "node3", "admin", "you", "maker1", "maker2",
        ] {
            assert!(key_file(&first.dir, name).exists(), "{name}.key");
        }
        let again = open_or_create(&folder, 2, &Story::None).unwrap();
        assert!(again.continued);
        assert_eq!(again.genesis, first.genesis);
        assert_eq!(again.you.public(), first.you.public());
        let names: Vec<&str> = again.bots.iter().map(|b| b.name.as_str()).collect();
        assert_eq!(
            names,
            ["maker1", "random1", "value1", "momentum1", "maker2"]
        );
    }

    fn refusal(folder: &Folder) -> String {
        match open_or_create(folder, 2, &Story::None) {
            Ok(_) => panic!("the folder was taken for a demo game"),
            Err(err) => err.to_string(),
        }
    }

    #[test]
    fn a_folder_with_other_files_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("notes.txt"), "mine").unwrap();
        let folder = Folder::Named(dir.path().to_path_buf());
        let err = refusal(&folder);
        assert!(err.contains("no demo game"), "{err}");
        fs::write(dir.path().join(MARKER), "demo = 99\n").unwrap();
        let err = refusal(&folder);
        assert!(err.contains("demo = 1"), "{err}");
    }

    #[test]
    fn a_temporary_folder_is_removed() {
        let folder = Folder::temporary().unwrap();
        let path = folder.path().to_path_buf();
        assert!(path.is_dir() && folder.is_temporary());
        folder.remove().unwrap();
        assert!(!path.exists());
    }
}
