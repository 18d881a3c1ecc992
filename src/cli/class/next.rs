//! `qraft class --next`: the class's next game. Same class, fresh start:
//!
//! - everyone the last game knew keeps their name and key (students, the teacher, the
//!   house bots), and every student's laptop keeps its node (a learner of the new game
//!   from its first block, with the same id and key), so nobody types a code again;
//! - balances start afresh: students get the class's allowance, the teacher and the
//!   bots what the first game gave them;
//! - the scenario is the teacher's choice (`--scenario FILE`, `--free-market`, or the
//!   last game's again);
//! - the new genesis names the last game's chain and final block
//!   ([`PreviousGame`]), read from the voters' data by the same audit as `qraft verify`,
//!   so the new game starts where a checked chain ended.
//!
//! The last game moves to `games/N/` (its genesis, data, voters' keys and scenario
//! secret); the voters get new keys, so a laptop still on the old game can never reach
//! the new one's voters by mistake (its node would refuse their keys). Laptops move over
//! through the class's enrollment port ([`qraft_client::class::returning`]).

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use qraft_keys::Keypair;
use qraft_keys::keyfile::{IfExists, write_key_file};
use qraft_node::audit::{AuditError, AuditVisitor, audit_visiting};
use qraft_node::core::genesis::{Genesis, NodeSpec, PreviousGame, to_toml};
use qraft_node::core::ledger::Ledger;
use qraft_node::core::tx::ParticipantSpec;
use qraft_node::core::types::{Cents, Role, Shares};

use super::folder::{ClassGame, GAMES_DIR};
use crate::cli::demo::folder::{key_file, write};
use crate::cli::scenario;

/// The scenario the next game plays.
#[derive(Clone, Debug)]
pub enum NextScenario {
    /// The last game's again (its secret with it).
    Same,
    /// This file's.
    File(PathBuf),
    /// None: a free market.
    FreeMarket,
}

/// The class at the end of a game, as its chain holds it.
#[derive(Clone, Debug)]
pub struct FinalState {
    pub previous: PreviousGame,
    /// Every participant, in the order they joined.
    pub members: Vec<Member>,
    /// Every registered node the teacher did not remove, in registration order.
    pub nodes: Vec<NodeSpec>,
    /// Whether the game had ended, and whether its report's hash was recorded.
    pub ended: bool,
    pub report_recorded: bool,
}

/// One participant at the end of a game.
#[derive(Clone, Debug)]
pub struct Member {
    pub name: String,
    pub key: qraft_keys::PublicKey,
    pub role: Role,
    pub suspended: bool,
}

/// What the next game gives a participant the last genesis did not list: the class's
/// allowance.
pub struct Allowance {
    pub cash: Cents,
    pub shares: Shares,
}

/// Reads the last game's end from the voters' data: the longest chain among them that
/// checks out. A voter still running is an error (stop the class first).
pub fn final_state(game: &ClassGame) -> Result<FinalState> {
    let mut best: Option<FinalState> = None;
    let mut problems = Vec::new();
    for voter in &game.genesis.voters {
        let dir = game.data_dir(&voter.name);
        if !dir.exists() {
            continue;
        }
        let mut end = EndOf::default();
        match audit_visiting(&dir, |_, _| {}, &mut end) {
            Ok(report) => {
                let state = FinalState {
                    previous: PreviousGame {
                        chain: report.chain,
                        height: report.blocks,
                        block: report.head_hash,
                    },
                    members: end.members,
                    nodes: end.nodes,
                    ended: end.ended,
                    report_recorded: end.report_recorded,
                };
                if best
                    .as_ref()
                    .is_none_or(|b| b.previous.height < state.previous.height)
                {
                    best = Some(state);
                }
            }
            Err(AuditError::InUse { .. }) => bail!(
                "the class in {} is running (its voters hold their data): stop it (q, or \
                 Ctrl-C) before making its next game",
                game.dir.display()
            ),
            Err(err) => problems.push(format!("{}: {err}", voter.name)),
        }
    }
    match best {
        Some(state) => {
            for problem in problems {
                eprintln!("note: {problem} (another voter's chain is used)");
            }
            Ok(state)
        }
        None if problems.is_empty() => {
            bail!(
                "{} holds no voter's data: run the class at least once before its next game",
                game.dir.display()
            )
        }
        None => bail!(
            "no voter's chain checks out, so the next game has nothing to follow:\n  {}",
            problems.join("\n  ")
        ),
    }
}

/// Collects the members and nodes of the ledger after the last block.
#[derive(Default)]
struct EndOf {
    members: Vec<Member>,
    nodes: Vec<NodeSpec>,
    ended: bool,
    report_recorded: bool,
}

impl AuditVisitor for EndOf {
    fn end(&mut self, ledger: &Ledger) {
        let exchange = ledger.exchange();
        self.ended = exchange.is_game_over();
        self.report_recorded = exchange.report_hash().is_some();
        self.members = exchange
            .members()
            .map(|(key, name, role, suspended)| Member {
                name: name.to_owned(),
                key: *key,
                role,
                suspended,
            })
            .collect();
        self.nodes = exchange
            .nodes()
            .iter()
            .filter(|n| !exchange.is_node_removed(n.id))
            .cloned()
            .collect();
    }
}

/// The next game's genesis: `last`'s symbols and rules, `voters` (new keys), everyone
/// in `end` with a fresh balance, every node in `end` but the last game's voters as a
/// learner, no scenario (the caller sets it), and `end` as its previous game.
pub fn next_genesis(
    last: &Genesis,
    end: &FinalState,
    voters: Vec<NodeSpec>,
    allowance: &Allowance,
    name: String,
) -> Genesis {
    let participants = end
        .members
        .iter()
        .map(|member| {
            match last.participants.iter().find(|p| p.key == member.key) {
                // The teacher, the bots, anyone the first genesis listed: as it gave them.
                Some(listed) => listed.clone(),
                None => ParticipantSpec {
                    name: member.name.clone(),
                    key: member.key,
                    role: member.role,
                    cash: allowance.cash,
                    holdings: last
                        .symbols
                        .iter()
                        .map(|s| (s.ticker, allowance.shares))
                        .collect(),
                },
            }
        })
        .collect();
    let learners = end
        .nodes
        .iter()
        .filter(|n| !last.voters.iter().any(|v| v.id == n.id))
        .filter(|n| !voters.iter().any(|v| v.id == n.id || v.key == n.key))
        .cloned()
        .collect();
    Genesis {
        game: name,
        rules: last.rules.clone(),
        symbols: last.symbols.clone(),
        participants,
        voters,
        learners,
        scenario: None,
        previous: Some(end.previous.clone()),
    }
}

/// The next game's name: the class's, numbered.
pub fn game_name(class: &str, number: u32) -> String {
    format!("{class} · game {number}")
}

/// Makes the next game in the class's folder: archives the last one under
/// `games/N/`, writes the new voters' keys and genesis, and returns the class as it now
/// is. Says on stdout what it did.
pub fn make(game: &ClassGame, choice: &NextScenario, host: std::net::Ipv4Addr) -> Result<()> {
    let end = final_state(game)?;
    let number = game.number + 1;
    let new_nodes = game
        .genesis
        .voters
        .iter()
        .map(|_| Keypair::generate().context("cannot make a key"))
        .collect::<Result<Vec<_>>>()?;
    let ports = game.voter_ports()?;
    let voters: Vec<NodeSpec> = game
        .genesis
        .voters
        .iter()
        .zip(&new_nodes)
        .zip(&ports)
        .map(|((v, key), port)| NodeSpec {
            id: v.id,
            name: v.name.clone(),
            key: key.public(),
            address: format!("{host}:{port}"),
        })
        .collect();
    let allowance = Allowance {
        cash: game.cash,
        shares: game.shares,
    };
    let mut genesis = next_genesis(
        &game.genesis,
        &end,
        voters,
        &allowance,
        game_name(&game.name, number),
    );
    let archive = game.dir.join(GAMES_DIR).join(game.number.to_string());
    let last_secret = archive.join(scenario::SECRET_FILE);
    let secret = match choice {
        NextScenario::FreeMarket => None,
        NextScenario::File(path) => {
            let file = scenario::load(path, &genesis)?;
            scenario::embed(&mut genesis, file)?
        }
        NextScenario::Same => {
            genesis.scenario = game.genesis.scenario.clone();
            None
        }
    };
    if let Err(violations) = genesis.validate() {
        let problems: Vec<String> = violations.iter().map(ToString::to_string).collect();
        bail!("the next game would not be valid: {}", problems.join("; "));
    }

    archive_last(game, &archive)?;
    for (voter, key) in genesis.voters.iter().zip(&new_nodes) {
        let path = key_file(&game.dir, &voter.name);
        write_key_file(&path, key, None, IfExists::Refuse)
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    match (choice, secret) {
        (_, Some(secret)) => {
            scenario::secret::write(&game.dir.join(scenario::SECRET_FILE), &secret)?;
        }
        (NextScenario::Same, None) if last_secret.exists() => {
            fs::copy(&last_secret, game.dir.join(scenario::SECRET_FILE))
                .with_context(|| format!("cannot copy {}", last_secret.display()))?;
        }
        _ => {}
    }
    write(&game.dir.join("genesis.toml"), &to_toml(&genesis))?;
    super::folder::set_game_number(&game.dir, number)?;

    let students = genesis
        .participants
        .iter()
        .filter(|p| p.role == Role::Trader)
        .count();
    println!(
        "game {number} of {:?}: {} and {} carried over, fresh balances; game {} (to block {}, \
         {}) is kept in {}",
        game.name,
        count(students, "student"),
        count(genesis.learners.len(), "laptop"),
        game.number,
        end.previous.height,
        end.previous.block.short(12),
        archive.display()
    );
    let data = archive.join("data").join(&game.genesis.voters[0].name);
    if !end.ended {
        println!(
            "note: game {} had not ended; its report can still be written from its chain: \
             qraft report --data {}",
            game.number,
            data.display()
        );
    } else if !end.report_recorded {
        println!(
            "note: game {}'s report was not recorded on its chain, and no longer can be (its \
             voters are stopped); it can still be written: qraft report --data {}",
            game.number,
            data.display()
        );
    }
    for member in end.members.iter().filter(|m| m.suspended) {
        println!(
            "note: {} was suspended in game {}; they start this one like everyone else \
             (qraft admin suspend {:?} to suspend them again)",
            member.name, game.number, member.name
        );
    }
    Ok(())
}

/// "1 student", "2 students".
fn count(n: usize, what: &str) -> String {
    match n {
        1 => format!("1 {what}"),
        n => format!("{n} {what}s"),
    }
}

/// Moves the last game's files into `archive` (its genesis, data, voters' keys and
/// secret), so the folder's top is the class's current game.
fn archive_last(game: &ClassGame, archive: &Path) -> Result<()> {
    if archive.exists() {
        bail!(
            "{} already exists: an earlier `qraft class --next` was cut short; move it away \
             and run it again",
            archive.display()
        );
    }
    fs::create_dir_all(archive.join("keys"))
        .with_context(|| format!("cannot create {}", archive.display()))?;
    let mut moves: Vec<(PathBuf, PathBuf)> = vec![
        (game.dir.join("genesis.toml"), archive.join("genesis.toml")),
        (game.dir.join("data"), archive.join("data")),
        (
            game.dir.join(scenario::SECRET_FILE),
            archive.join(scenario::SECRET_FILE),
        ),
    ];
    for voter in &game.genesis.voters {
        moves.push((
            key_file(&game.dir, &voter.name),
            key_file(archive, &voter.name),
        ));
    }
    for (from, to) in moves {
        if from.exists() {
            fs::rename(&from, &to)
                .with_context(|| format!("cannot move {} to {}", from.display(), to.display()))?;
        }
    }
    Ok(())
}

/// Every earlier game of the class in `dir` (`games/N/genesis.toml`), oldest first: the
/// chains whose laptops the enrollment port moves to the current game.
pub fn earlier_chains(dir: &Path) -> Vec<qraft_keys::ChainId> {
    let mut games: Vec<(u32, qraft_keys::ChainId)> = fs::read_dir(dir.join(GAMES_DIR))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let number: u32 = entry.file_name().to_str()?.parse().ok()?;
            let genesis =
                crate::cli::game::load_genesis(&entry.path().join("genesis.toml")).ok()?;
            Some((number, genesis.chain_id()))
        })
        .collect();
    games.sort();
    games.into_iter().map(|(_, chain)| chain).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use qraft_node::core::genesis::DIALS_OUT;
    use qraft_node::core::genesis::sample::{SampleOptions, sample_game};
    use qraft_node::core::hash::Hash32;

    #[test]
    fn the_next_game_keeps_the_class_and_starts_it_afresh() {
        let first = sample_game(&SampleOptions::default());
        let last = &first.genesis;
        let ada = Keypair::from_label("next/ada");
        let ada_node = Keypair::from_label("next/ada-node");
        let mut members: Vec<Member> = last
            .participants
            .iter()
            .map(|p| Member {
                name: p.name.clone(),
                key: p.key,
                role: p.role,
                suspended: false,
            })
            .collect();
        members.push(Member {
            name: "Ada".into(),
            key: ada.public(),
            role: Role::Trader,
            suspended: true,
        });
        let mut nodes = last.voters.clone();
        nodes.push(NodeSpec {
            id: 4,
            name: "ada-4".into(),
            key: ada_node.public(),
            address: DIALS_OUT.into(),
        });
        let end = FinalState {
            previous: PreviousGame {
                chain: last.chain_id(),
                height: 812,
                block: Hash32([4; 32]),
            },
            members,
            nodes,
            ended: true,
            report_recorded: true,
        };
        let voters: Vec<NodeSpec> = last
            .voters
            .iter()
            .map(|v| NodeSpec {
                key: Keypair::from_label(&format!("next/{}", v.name)).public(),
                ..v.clone()
            })
            .collect();
        let allowance = Allowance {
            cash: 500_000,
            shares: 40,
        };
        let next = next_genesis(last, &end, voters.clone(), &allowance, game_name("P3", 2));
        assert_eq!(next.validate(), Ok(()));
        assert_eq!(next.game, "P3 · game 2");
        assert_eq!(next.previous, Some(end.previous.clone()));
        assert_eq!(next.voters, voters);
        // Everyone the first genesis listed, as it listed them, then the student.
        assert_eq!(
            &next.participants[..last.participants.len()],
            &last.participants[..]
        );
        let student = next.participants.last().unwrap();
        assert_eq!((student.name.as_str(), student.key), ("Ada", ada.public()));
        assert_eq!(student.cash, 500_000);
        assert!(student.holdings.iter().all(|(_, shares)| *shares == 40));
        assert_eq!(student.holdings.len(), last.symbols.len());
        // Her laptop's node, and none of the old voters.
        assert_eq!(next.learners.len(), 1);
        assert_eq!(next.learners[0].key, ada_node.public());
        assert_ne!(next.chain_id(), last.chain_id());
    }
}
