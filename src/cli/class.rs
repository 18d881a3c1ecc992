//! `qraft class`: the teacher's one command. Makes the class's game (or continues the one
//! in its folder), starts its three voters on this laptop, opens the enrollment port and
//! advertises the game on the LAN, then shows the teacher's dashboard with the Class panel
//! (the join code, this laptop's addresses, the roster to approve), or with --headless
//! prints the same as lines and takes `approve N`, `approve all`, `refuse N`, `close` and
//! `reopen` on stdin.
//!
//! - [`folder`]: the class's folder: a new game, or the one there.
//! - [`voters`]: the three voters.
//! - [`lines`]: the headless output and commands.

mod folder;
mod lines;
pub mod next;
mod voters;

use std::io::IsTerminal;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::Args;
use qraft_client::class::admit::Allowance;
use qraft_client::class::grant::{GrantVoter, VoterAddress};
use qraft_client::class::promote::LocalVoter;
use qraft_client::class::roster::ExpectedNames;
use qraft_client::class::service::{ClassOptions, ClassService};
use qraft_node::enroll::{JoinCode, Limits};
use qraft_node::net::discovery::{Advertisement, local_ipv4_addresses};
use qraft_node::net::tls::TlsIdentity;

use super::demo::bots::Bots;
use super::{logs, signal};
use folder::{ClassGame, NewClass};
use voters::Voters;

/// The enrollment port unless --port says otherwise; the voters take the next three.
pub const DEFAULT_PORT: u16 = 7800;

/// The options of `qraft class` (its help text is on `Command::Class` in main.rs).
#[derive(Debug, Args)]
pub struct ClassArgs {
    /// The class's folder: made if new, continued if an earlier `qraft class` made it.
    #[arg(long, value_name = "DIR", default_value = "qraft-class")]
    pub dir: PathBuf,
    /// The game's name, shown to students when they look for it (a new class only).
    #[arg(long, value_name = "NAME", default_value = "Stock market game")]
    pub name: String,
    /// A CSV file of the students' names (one column; a header `name` is skipped): those
    /// names are approved as they arrive, the others wait for you.
    #[arg(long, value_name = "FILE")]
    pub roster: Option<PathBuf>,
    /// Approve every student who proves the code, without asking.
    #[arg(long)]
    pub approve_all: bool,
    /// The UDP port students enroll on; the voters listen on the next three (a new class
    /// only).
    #[arg(long, value_name = "PORT", default_value_t = DEFAULT_PORT, value_parser = clap::value_parser!(u16).range(1..65_532))]
    pub port: u16,
    /// The join code to use instead of a fresh one (e.g. one already on the board).
    #[arg(long, value_name = "CODE")]
    pub code: Option<String>,
    /// Each student's starting cash, in whole dollars (a new class only).
    #[arg(long, value_name = "DOLLARS", default_value_t = 10_000)]
    pub cash: u32,
    /// Each student's starting shares of every symbol (a new class only).
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub shares: u32,
    /// Trading bots (market makers first, so students have prices to trade at; a new
    /// class only).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=20))]
    pub bots: u16,
    /// Do not advertise the game on the network: students type its address
    /// (`qraft join HOST:PORT`).
    #[arg(long)]
    pub no_advertise: bool,
    /// No dashboard: lines on stdout, commands on stdin (`approve N`, `approve all`,
    /// `refuse N`, `close`, `reopen`).
    #[arg(long)]
    pub headless: bool,
    /// A new class plays this scenario file (rounds, news, dividends at set times; see
    /// `qraft scenario check`). Write `start = "admin"` in it to start it when the class
    /// is ready, with `qraft admin start`.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Start the class's next game: the same students (names, keys, laptops: nobody
    /// types a code again), fresh balances, and the last game's scenario unless
    /// --scenario or --free-market says otherwise. The last game is kept in games/N/.
    #[arg(long)]
    pub next: bool,
    /// With --next: no scenario, a free market.
    #[arg(long, requires = "next", conflicts_with = "scenario")]
    pub free_market: bool,
}

/// Runs `qraft class`.
pub fn run(args: ClassArgs) -> Result<()> {
    if !args.headless && !std::io::stdout().is_terminal() {
        bail!("the dashboard needs a terminal; to run the class as lines of text, add --headless");
    }
    let code = match &args.code {
        Some(text) => Some(
            text.parse::<JoinCode>()
                .with_context(|| format!("--code {text:?}"))?,
        ),
        None => None,
    };
    let expected = match &args.roster {
        Some(path) => ExpectedNames::read(path)?,
        None => ExpectedNames::default(),
    };
    let host = local_ipv4_addresses()
        .into_iter()
        .next()
        .unwrap_or(Ipv4Addr::LOCALHOST);
    let new = NewClass {
        name: args.name.clone(),
        port: args.port,
        bots: usize::from(args.bots),
        cash: i64::from(args.cash) * 100,
        shares: u64::from(args.shares),
        scenario: args.scenario.clone(),
    };
    if args.next {
        if !args.dir.join(folder::MARKER).exists() {
            bail!(
                "{} holds no class: --next starts the next game of a class an earlier \
                 `qraft class` made (give its folder with --dir)",
                args.dir.display()
            );
        }
        let last = folder::open_or_create(&args.dir, &new, host)?;
        let choice = match (&args.scenario, args.free_market) {
            (Some(path), _) => next::NextScenario::File(path.clone()),
            (None, true) => next::NextScenario::FreeMarket,
            (None, false) => next::NextScenario::Same,
        };
        next::make(&last, &choice, host)?;
    }
    let existing = args.dir.join(folder::MARKER).exists();
    if existing && !args.next && args.scenario.is_some() {
        eprintln!(
            "note: {} holds a class, whose game goes on as it was made: --scenario applies \
             to a new class, or with --next to the class's next game",
            args.dir.display()
        );
    }
    if existing && args.bots != 2 {
        eprintln!(
            "note: --bots applies to a new class; {} keeps its bots from game to game",
            args.dir.display()
        );
    }
    let mut game = folder::open_or_create(&args.dir, &new, host)?;
    // A next game starts now, from no block.
    game.continued &= !args.next;
    if args.headless {
        logs::to_stderr("warn");
    } else {
        logs::to_file(&game.dir.join("qraft.log"), "info")?;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // Read before the runtime starts: files, not work for its workers.
    let earlier = next::earlier_chains(&game.dir);
    let outcome = runtime.block_on(run_class(&game, code, expected, earlier, &args));
    runtime.shutdown_timeout(Duration::from_secs(2));
    outcome
}

async fn run_class(
    game: &ClassGame,
    code: Option<JoinCode>,
    expected: ExpectedNames,
    earlier: Vec<qraft_keys::ChainId>,
    args: &ClassArgs,
) -> Result<()> {
    let voters = Voters::start(game).await?;
    let ports = game.voter_ports()?;
    let bots = Bots::start(
        &game.for_bots(),
        &voters.loopback,
        game.bots.len(),
        clock_seed(),
    );
    let advertisement = match args.no_advertise {
        true => None,
        false => Some(Advertisement::start(
            game.shown_name(),
            &game.genesis.chain_id(),
            game.port,
        )),
    };
    let (advertised, advertise_problem) = match &advertisement {
        Some(Ok(_)) => (true, None),
        Some(Err(err)) => (false, Some(err.to_string())),
        None => (false, None),
    };
    let addresses: Vec<SocketAddr> = local_ipv4_addresses()
        .into_iter()
        .map(|ip| SocketAddr::from((ip, game.port)))
        .collect();
    let identity = TlsIdentity::from_keypair(&game.nodes[0]).context("the enrollment identity")?;
    let service = ClassService::start(ClassOptions {
        game: game.shown_name().to_owned(),
        genesis: game.genesis.clone(),
        admin: game.teacher.clone(),
        local: voters
            .nodes
            .iter()
            .filter_map(|node| {
                Some(LocalVoter {
                    handle: node.handle.clone(),
                    locator: node.locator()?,
                })
            })
            .collect(),
        voters: game
            .genesis
            .voters
            .iter()
            .zip(&ports)
            .map(|(v, port)| GrantVoter {
                id: v.id,
                address: VoterAddress::TeacherPort(*port),
            })
            .collect(),
        allowance: Allowance {
            cash: game.cash,
            shares: game.shares,
        },
        expected,
        listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, game.port)),
        identity,
        addresses,
        advertised,
        limits: Limits::default(),
        code,
        earlier,
    });
    let mut service = match service {
        Ok(service) => service,
        Err(err) => {
            bots.stop().await;
            voters.stop().await;
            return Err(err).with_context(|| {
                format!(
                    "cannot take enrollments on UDP port {}: another program may use it; \
                     choose another with --port in a new class folder",
                    game.port
                )
            });
        }
    };
    let face = async {
        if args.headless {
            lines::run(
                game,
                &service,
                advertise_problem.as_deref(),
                args.approve_all,
            )
            .await
        } else {
            dashboard(game, &voters, &service, args.approve_all).await
        }
    };
    let outcome = tokio::select! {
        outcome = face => outcome,
        () = keep_addresses(&service, game.port) => Ok(()),
    };
    service.stop();
    drop(advertisement);
    bots.stop().await;
    voters.stop().await;
    outcome
}

async fn dashboard(
    game: &ClassGame,
    voters: &Voters,
    service: &ClassService,
    approve_all: bool,
) -> Result<()> {
    let _approver = approve_all.then(|| lines::approve_arrivals(service));
    let addresses = game
        .genesis
        .voters
        .iter()
        .map(|v| v.id)
        .zip(voters.loopback.iter().cloned())
        .collect();
    let dashboard = qraft_tui::run_until(
        qraft_tui::Dashboard {
            handle: voters.nodes[0].handle.clone(),
            keypair: game.teacher.clone(),
            genesis: game.genesis.clone(),
            title: "node1".to_owned(),
            addresses,
            class: Some(qraft_tui::ClassLink {
                view: service.view(),
                commands: service.commands(),
            }),
            greeting: None,
        },
        // A signal ends the dashboard, which puts the terminal back.
        signal::stop_requested(true),
    );
    dashboard.await.context("the dashboard failed")
}

/// How often the addresses shown to students are checked: a new DHCP lease shows within
/// seconds, and a check is a look at this computer's interfaces.
const ADDRESS_CHECK: Duration = Duration::from_secs(5);

/// Keeps the addresses the class shows (`qraft join ADDRESS`) this laptop's own as they
/// change.
async fn keep_addresses(service: &ClassService, port: u16) {
    loop {
        tokio::time::sleep(ADDRESS_CHECK).await;
        let addresses = local_ipv4_addresses()
            .into_iter()
            .map(|ip| SocketAddr::from((ip, port)))
            .collect();
        service.set_addresses(addresses);
    }
}

fn clock_seed() -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos % 1_000_000
}
