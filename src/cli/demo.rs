//! `qraft demo`: a live local game with no configuration.
//!
//! A new game (or the one an earlier `--dir` demo left) with three voter nodes in this
//! process on free loopback ports, bots from the example strategies trading every symbol,
//! and the dashboard as the participant "you" on node 1. `--headless` prints a line per
//! block instead. Quitting stops the bots, then the nodes, and removes a temporary folder:
//! nothing is left running.
//!
//! - [`lineup`]: the game: symbols, players, bot kinds (pure).
//! - [`folder`]: writing a new game into its folder, or loading the one there.
//! - [`cluster`]: the three nodes.
//! - [`bots`]: the bots' tasks.
//! - [`feed`]: the headless block lines.
//! - [`intro`]: what the demo says when it starts.

pub(crate) mod bots;
pub(crate) mod cluster;
pub(crate) mod feed;
pub(crate) mod folder;
mod intro;
pub(crate) mod lineup;

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use qraft_node::api::Handle;

use super::{logs, signal};
use bots::Bots;
use cluster::Cluster;
use feed::FeedEnd;
use folder::{DemoGame, Folder};
use intro::{Intro, shell_word};

/// Bots in a new game unless `--bots` says otherwise.
const DEFAULT_BOTS: u16 = 6;
/// The log of a dashboard demo in a temporary folder is kept here (in the temporary
/// directory) when the folder is removed.
const KEPT_LOG: &str = "qraft-demo.log";

/// The options of `qraft demo` (its help text is on `Command::Demo` in main.rs).
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Keep the game in DIR instead of a temporary folder. If DIR holds a game an earlier
    /// `qraft demo --dir` made, that game continues from its data.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// How many bots trade [default: 6 in a new game, all of a continued game's]. Bots
    /// take turns being a market maker, random traders, value traders and momentum
    /// traders.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(0..=40))]
    pub bots: Option<u16>,
    /// No dashboard: print a line per block (height, transactions, trades, hash) until
    /// Ctrl-C or SIGTERM; warnings go to stderr.
    #[arg(long)]
    pub headless: bool,
    /// The seed of the bots' random choices [default: from the clock].
    #[arg(long, value_name = "N")]
    pub seed: Option<u64>,
    /// Open the dashboard as the game's admin (the teacher view: open, halt, resume and
    /// close the market, publish news, add participants, end the game) instead of as "you".
    #[arg(long, conflicts_with = "headless")]
    pub teacher: bool,
    /// Play this scenario file in a new game instead of the built-in one ("A week on
    /// the floor": three three-minute rounds with news and dividends). `qraft scenario
    /// demo` prints the built-in one to start from.
    #[arg(long, value_name = "FILE", conflicts_with = "free_market")]
    pub scenario: Option<PathBuf>,
    /// A new game with no scenario: prices drift with the bots, no rounds, no news but
    /// the admin's.
    #[arg(long)]
    pub free_market: bool,
}

/// Runs `qraft demo`.
pub fn run(args: DemoArgs) -> Result<()> {
    if !args.headless && !std::io::stdout().is_terminal() {
        bail!(
            "the dashboard needs a terminal; to watch the demo as lines of text, run `qraft demo --headless`"
        );
    }
    let folder = match &args.dir {
        Some(dir) => Folder::Named(dir.clone()),
        None => Folder::temporary()?,
    };
    let wanted = usize::from(args.bots.unwrap_or(DEFAULT_BOTS));
    let story = match (&args.scenario, args.free_market) {
        (Some(path), _) => folder::Story::File(path.clone()),
        (None, true) => folder::Story::None,
        (None, false) => folder::Story::BuiltIn,
    };
    let game = folder::open_or_create(&folder, wanted, &story)?;
    let bots = bot_count(&game, args.bots)?;
    let log = game.dir.join("qraft.log");
    if args.headless {
        logs::to_stderr("warn");
    } else {
        logs::to_file(&log, "info")?;
    }
    let seed = args.seed.unwrap_or_else(clock_seed);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let dashboard_key = if args.teacher {
        super::keys::open_key(&game.dir.join("keys").join("admin.key"))
            .context("cannot open the demo's admin key")?
    } else {
        game.you.clone()
    };
    let session = Session {
        game: &game,
        dashboard_key,
        bots,
        seed,
        temporary: folder.is_temporary(),
        headless: args.headless,
    };
    let outcome = runtime.block_on(session.run());
    // Whatever the nodes' connections left behind stops here, before the folder goes.
    runtime.shutdown_timeout(Duration::from_secs(2));

    if !args.headless {
        println!("log: {}", keep_log(&log, &folder).display());
    }
    let dir = shell_word(folder.path());
    let temporary = folder.is_temporary();
    folder.remove()?;
    if temporary {
        eprintln!("removed the demo's temporary folder {dir}");
    } else if game.dir.join(folder::MARKER).exists() {
        eprintln!("the game is kept in {dir}: `qraft demo --dir {dir}` continues it");
    }
    outcome
}

/// How many bots run: all that were asked for, or as many as a continued game has.
fn bot_count(game: &DemoGame, asked: Option<u16>) -> Result<usize> {
    let available = game.bots.len();
    match asked {
        Some(n) if usize::from(n) > available => {
            eprintln!(
                "note: this game has {available} bots (a game's players are fixed when it is \
                 made); running those"
            );
            Ok(available)
        }
        Some(n) => Ok(usize::from(n)),
        None => Ok(available),
    }
}

/// Where the dashboard's log can be read after the demo: in the game's folder, or, for
/// a temporary folder that is about to go, a copy in the temporary directory.
fn keep_log(log: &Path, folder: &Folder) -> PathBuf {
    if !folder.is_temporary() {
        return log.to_path_buf();
    }
    let kept = std::env::temp_dir().join(KEPT_LOG);
    match std::fs::copy(log, &kept) {
        Ok(_) => kept,
        Err(err) => {
            eprintln!("note: cannot keep the log as {}: {err}", kept.display());
            log.to_path_buf()
        }
    }
}

fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    (nanos ^ u64::from(std::process::id())) % 1_000_000
}

/// One run of the demo, inside the runtime.
struct Session<'a> {
    game: &'a DemoGame,
    /// Who the dashboard trades as: "you", or the admin with --teacher.
    dashboard_key: qraft_keys::Keypair,
    bots: usize,
    seed: u64,
    temporary: bool,
    headless: bool,
}

impl Session<'_> {
    async fn run(self) -> Result<()> {
        let cluster = Cluster::start(self.game).await?;
        let handles: Vec<Handle> = cluster.nodes.iter().map(|n| n.handle.clone()).collect();
        let events = handles[0].subscribe();
        let height = match self.game.continued {
            true => handles[0].status().await.map_or(0, |s| s.height),
            false => 0,
        };
        let bots = Bots::start(self.game, &cluster.addresses, self.bots, self.seed);
        let names: Vec<String> = self
            .game
            .bots
            .iter()
            .take(bots.len())
            .map(|b| b.name.clone())
            .collect();
        let intro = Intro {
            game: self.game,
            addresses: &cluster.addresses,
            moved: cluster.moved,
            temporary: self.temporary,
            bots: &names,
            seed: self.seed,
            height,
        };
        print!("{}", intro.text());
        let outcome = if self.headless {
            println!("Ctrl-C to stop.");
            headless(events, &handles).await
        } else {
            self.dashboard(&handles[0], &cluster.addresses)
                .await
                .and_then(|()| match handles.iter().find(|h| h.is_stopped()) {
                    Some(h) => Err(anyhow!(
                        "node {} stopped on a fatal error (see the log)",
                        h.id()
                    )),
                    None => Ok(()),
                })
        };
        bots.stop().await;
        let height = handles[0].status().await.map_or(0, |s| s.height);
        cluster.stop().await;
        if outcome.is_ok() {
            println!("stopped at height {height}");
        }
        outcome
    }

    async fn dashboard(&self, handle: &Handle, addresses: &[String]) -> Result<()> {
        let addresses = self
            .game
            .genesis
            .voters
            .iter()
            .map(|v| v.id)
            .zip(addresses.iter().cloned())
            .collect();
        let dashboard = qraft_tui::run_until(
            qraft_tui::Dashboard {
                handle: handle.clone(),
                keypair: self.dashboard_key.clone(),
                genesis: self.game.genesis.clone(),
                title: "node1".to_string(),
                addresses,
                class: None,
                greeting: None,
            },
            // A signal ends the dashboard, which puts the terminal back.
            signal::stop_requested(true),
        );
        dashboard.await.context("the dashboard failed")
    }
}

/// The headless demo: block lines until a signal, a closed stdout or a failed node.
async fn headless(
    events: tokio::sync::broadcast::Receiver<qraft_node::api::NodeEvent>,
    handles: &[Handle],
) -> Result<()> {
    tokio::select! {
        _ = signal::stop_requested(true) => Ok(()),
        end = feed::print_blocks(events) => match end {
            FeedEnd::OutputClosed => Ok(()),
            FeedEnd::NodeStopped => Err(anyhow!("node 1 stopped")),
        },
        id = node_failure(handles) => {
            Err(anyhow!("node {id} stopped on a fatal error (see the messages above)"))
        }
    }
}

/// Resolves with the id of the first node that stops by itself.
async fn node_failure(handles: &[Handle]) -> u64 {
    let mut every = tokio::time::interval(Duration::from_millis(500));
    loop {
        every.tick().await;
        if let Some(stopped) = handles.iter().find(|h| h.is_stopped()) {
            return stopped.id();
        }
    }
}
