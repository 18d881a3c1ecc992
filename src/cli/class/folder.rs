//! A class's folder: a new game written into it, or the one an earlier `qraft class`
//! left there (continued from its data, students and all).
//!
//! ```text
//! DIR/
//!   class.toml      marks the folder as a class (its name, ports, students' allowance)
//!   genesis.toml    the game
//!   keys/           node1..3.key, teacher.key (the admin key: it never leaves), bots'
//!   data/node1..3/  each voter's chain
//!   qraft.log       the log, while the dashboard owns the terminal
//! ```

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use qraft_keys::Keypair;
use qraft_node::core::genesis::{Genesis, to_toml};
use qraft_node::core::types::{Cents, Shares};

use crate::cli::demo::folder::{
    DemoBot, DemoGame, key_file, keys_of, prepare_empty, write, write_keys,
};
use crate::cli::demo::lineup::{self, BotKind};
use crate::cli::game::load_genesis;
use crate::cli::keys::open_key;
use crate::cli::scenario;

/// Where the class's earlier games are kept, one folder each by number (`games/1/`).
pub const GAMES_DIR: &str = "games";
/// The file that marks a class's folder.
pub const MARKER: &str = "class.toml";
/// The marker's format version.
const VERSION: i64 = 1;
/// The teacher's participant name (the game's admin).
pub const TEACHER: &str = "teacher";

/// What a new class is made with.
pub struct NewClass {
    pub name: String,
    /// The enrollment port; the voters listen on the next three.
    pub port: u16,
    pub bots: usize,
    pub cash: Cents,
    pub shares: Shares,
    /// The scenario file a new class plays, if any.
    pub scenario: Option<PathBuf>,
}

/// A class on disk, with the keys the teacher's laptop runs it with.
pub struct ClassGame {
    pub dir: PathBuf,
    pub name: String,
    pub genesis: Genesis,
    /// The voters' keys, in the genesis's order.
    pub nodes: Vec<Keypair>,
    pub teacher: Keypair,
    pub bots: Vec<DemoBot>,
    /// The enrollment port.
    pub port: u16,
    /// What each student starts with.
    pub cash: Cents,
    pub shares: Shares,
    pub continued: bool,
    /// Which of the class's games this is, from 1 (`qraft class --next` counts on).
    pub number: u32,
}

impl ClassGame {
    /// The name students see: the class's for its first game, the genesis's
    /// ("Period 3 · game 2") for the next ones.
    pub fn shown_name(&self) -> &str {
        if self.number > 1 {
            &self.genesis.game
        } else {
            &self.name
        }
    }

    pub fn data_dir(&self, node_name: &str) -> PathBuf {
        self.dir.join("data").join(node_name)
    }

    /// The voters' ports, in the genesis's order.
    pub fn voter_ports(&self) -> Result<Vec<u16>> {
        self.genesis
            .voters
            .iter()
            .map(|v| {
                v.address
                    .rsplit_once(':')
                    .and_then(|(_, port)| port.parse().ok())
                    .with_context(|| format!("{}'s address {:?} has no port", v.name, v.address))
            })
            .collect()
    }

    /// The game as the demo's bots run it.
    pub fn for_bots(&self) -> DemoGame {
        DemoGame {
            dir: self.dir.clone(),
            genesis: self.genesis.clone(),
            nodes: self.nodes.clone(),
            you: self.teacher.clone(),
            bots: self
                .bots
                .iter()
                .map(|b| DemoBot {
                    name: b.name.clone(),
                    kind: b.kind,
                    key: b.key.clone(),
                })
                .collect(),
            continued: self.continued,
        }
    }
}

/// The class in `dir`: the one already there, or a new one made with `new`.
pub fn open_or_create(dir: &Path, new: &NewClass, host: Ipv4Addr) -> Result<ClassGame> {
    if dir.join(MARKER).exists() {
        return load(dir);
    }
    prepare_empty(dir, MARKER, "class", "`qraft class`")?;
    create(dir, new, host)
}

/// Makes the keys and genesis of a new class; the voters are named at `host` (this
/// laptop's LAN address, where students' nodes reach them).
fn create(dir: &Path, new: &NewClass, host: Ipv4Addr) -> Result<ClassGame> {
    let new_key = || Keypair::generate().context("cannot make a key");
    let nodes = (0..3).map(|_| new_key()).collect::<Result<Vec<_>>>()?;
    let teacher = new_key()?;
    let mut bots = Vec::with_capacity(new.bots);
    for (name, kind) in lineup::bot_names(new.bots) {
        bots.push(DemoBot {
            name,
            kind,
            key: new_key()?,
        });
    }
    let addresses: Vec<_> = nodes
        .iter()
        .zip(1u16..)
        .map(|(key, i)| (key.public(), format!("{host}:{}", new.port + i)))
        .collect();
    let bot_keys: Vec<(String, BotKind, qraft_keys::PublicKey)> = bots
        .iter()
        .map(|b| (b.name.clone(), b.kind, b.key.public()))
        .collect();
    let mut genesis =
        lineup::class_genesis(&new.name, TEACHER, teacher.public(), &bot_keys, &addresses)?;
    if let Some(path) = &new.scenario {
        let file = scenario::load(path, &genesis)?;
        if let Some(secret) = scenario::embed(&mut genesis, file)? {
            scenario::secret::write(&dir.join(scenario::SECRET_FILE), &secret)?;
        }
    }

    let named = genesis
        .voters
        .iter()
        .map(|v| v.name.as_str())
        .zip(&nodes)
        .chain([(TEACHER, &teacher)])
        .chain(bots.iter().map(|b| (b.name.as_str(), &b.key)));
    write_keys(dir, named)?;
    write(&dir.join("genesis.toml"), &to_toml(&genesis))?;
    // Last: a folder whose writing was cut short is not taken for a class.
    write(&dir.join(MARKER), &marker_text(new))?;
    Ok(ClassGame {
        dir: dir.to_path_buf(),
        name: new.name.clone(),
        genesis,
        nodes,
        teacher,
        bots,
        port: new.port,
        cash: new.cash,
        shares: new.shares,
        continued: false,
        number: 1,
    })
}

/// The class an earlier `qraft class` left in `dir`.
fn load(dir: &Path) -> Result<ClassGame> {
    let marker = dir.join(MARKER);
    let text =
        fs::read_to_string(&marker).with_context(|| format!("cannot read {}", marker.display()))?;
    let table: toml::Table = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", marker.display()))?;
    let field = |name: &str| -> Result<&toml::Value> {
        table
            .get(name)
            .with_context(|| format!("{}: the field `{name}` is missing", marker.display()))
    };
    let integer = |name: &str| -> Result<i64> {
        field(name)?
            .as_integer()
            .with_context(|| format!("{}: `{name}` must be a whole number", marker.display()))
    };
    if integer("class")? != VERSION {
        bail!(
            "{}: `class` must be {VERSION} (a class made by another version of qraft); start a \
             new class in another folder",
            marker.display()
        );
    }
    let name = field("name")?
        .as_str()
        .with_context(|| format!("{}: `name` must be text", marker.display()))?
        .to_owned();
    let port = u16::try_from(integer("port")?)
        .ok()
        .filter(|p| *p > 0 && *p < u16::MAX - 3)
        .with_context(|| {
            format!(
                "{}: `port` must be a port from 1 to 65531",
                marker.display()
            )
        })?;
    let cash = integer("student_cash_cents")?;
    let shares = u64::try_from(integer("student_shares")?).with_context(|| {
        format!(
            "{}: `student_shares` must not be negative",
            marker.display()
        )
    })?;
    // Classes made before next games had one game, and no `game` field.
    let number = match table.get("game") {
        None => 1,
        Some(_) => u32::try_from(integer("game")?)
            .ok()
            .filter(|n| *n >= 1)
            .with_context(|| format!("{}: `game` must be 1 or more", marker.display()))?,
    };
    let genesis = load_genesis(&dir.join("genesis.toml"))?;
    let (nodes, bots) = keys_of(dir, &genesis)?;
    let teacher = open_key(&key_file(dir, TEACHER))?;
    Ok(ClassGame {
        dir: dir.to_path_buf(),
        name,
        genesis,
        nodes,
        teacher,
        bots,
        port,
        cash,
        shares,
        continued: true,
        number,
    })
}

/// Records in the class's marker that its current game is number `number`.
pub fn set_game_number(dir: &Path, number: u32) -> Result<()> {
    let marker = dir.join(MARKER);
    let text =
        fs::read_to_string(&marker).with_context(|| format!("cannot read {}", marker.display()))?;
    let mut lines: Vec<String> = text
        .lines()
        .filter(|line| !line.trim_start().starts_with("game ="))
        .filter(|line| !line.starts_with("# Which of the class's games"))
        .map(str::to_owned)
        .collect();
    lines.push(format!(
        "# Which of the class's games is in this folder (earlier ones are in games/N/).\n\
         game = {number}"
    ));
    write(&marker, &(lines.join("\n") + "\n"))
}

fn marker_text(new: &NewClass) -> String {
    let name = toml::Value::String(new.name.clone());
    format!(
        "# A QRaft class, made by `qraft class`. Running `qraft class` in the same folder\n\
         # continues it (its students stay joined); delete the folder to forget it.\n\
         # keys/teacher.key is the game's admin key: keep it on this laptop.\n\
         class = {VERSION}\n\
         name = {name}\n\
         # The enrollment port (UDP); the three voters listen on the next three ports.\n\
         port = {}\n\
         # What each student starts with: cash in cents, and shares of every symbol.\n\
         student_cash_cents = {}\n\
         student_shares = {}\n",
        new.port, new.cash, new.shares
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_class_is_continued_from_its_folder() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("class");
        let new = NewClass {
            name: "Period \"3\"".into(),
            port: 7900,
            bots: 2,
            cash: 500_000,
            shares: 40,
            scenario: None,
        };
        let first = open_or_create(&dir, &new, Ipv4Addr::new(10, 0, 0, 1)).unwrap();
        assert!(!first.continued);
        assert_eq!(first.voter_ports().unwrap(), vec![7901, 7902, 7903]);
        assert_eq!(first.genesis.voters[0].address, "10.0.0.1:7901");
        let again = open_or_create(&dir, &new, Ipv4Addr::new(10, 0, 0, 9)).unwrap();
        assert!(again.continued);
        assert_eq!(again.name, "Period \"3\"");
        assert_eq!(again.genesis.chain_id(), first.genesis.chain_id());
        assert_eq!((again.port, again.cash, again.shares), (7900, 500_000, 40));
        assert_eq!(again.bots.len(), 2);
        assert_eq!(again.teacher.public(), first.teacher.public());
    }

    #[test]
    fn a_damaged_marker_is_named_with_its_field() {
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("class");
        let new = NewClass {
            name: "P3".into(),
            port: 7900,
            bots: 0,
            cash: 1,
            shares: 1,
            scenario: None,
        };
        open_or_create(&dir, &new, Ipv4Addr::LOCALHOST).unwrap();
        let marker = dir.join(MARKER);
        let text = fs::read_to_string(&marker)
            .unwrap()
            .replace("port = 7900", "port = \"x\"");
        fs::write(&marker, text).unwrap();
        let err = open_or_create(&dir, &new, Ipv4Addr::LOCALHOST)
            .err()
            .unwrap();
        assert!(err.to_string().contains("`port` must be"), "{err:#}");
    }
}
