//! `qraft`: one executable for the whole game: node, dashboard, client and tools.
//!
//! Module map:
//! - `cli`: one file per command group (`keys`, `init`, `genesis`, ...), each a clap
//!   `Args`/`Subcommand` type and a `run` function.

mod cli;

use clap::{Parser, Subcommand};

/// QRaft: a permissioned blockchain, ordered by Raft, that runs a classroom stock market
/// game.
#[derive(Parser)]
#[command(name = "qraft", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a ready classroom network into a directory: genesis, node configs and keys.
    ///
    /// DIR gets genesis.toml (the game), one node configuration per voter (node1.toml,
    /// ...) and keys/ with a fresh key file (mode 0600) for every voter node, the admin,
    /// each trader and each bot. Everyone starts with $10,000.00 and 100 shares of each
    /// symbol; the market is open from the first block; voters listen on 127.0.0.1 at
    /// consecutive ports. Edit genesis.toml to taste (laptops as learners, real
    /// addresses), then check it with `qraft genesis check DIR/genesis.toml`.
    Init(cli::init::InitArgs),
    /// The genesis file: check a game's symbols, participants, rules and nodes.
    Genesis {
        #[command(subcommand)]
        command: cli::genesis::GenesisCommand,
    },
    /// Key files: make, show, import and export ed25519 keys.
    #[command(subcommand)]
    Keys(cli::keys::KeysCommand),
    /// Audit a stopped node's chain: replay it from genesis and check every block.
    ///
    /// Reads the node's data directory (the genesis is kept there) and replays every
    /// block from the first: hash links, every signature, every transaction's outcome and
    /// stored receipt, the Merkle roots and every state digest are recomputed and
    /// compared, and so is the node's latest snapshot. Prints a summary ending in the
    /// head hash, which should be the same on every node at the same height. If anything
    /// differs, prints `error: block N: ...` naming the first bad block and exits with
    /// status 1. A node that caught up from its leader's snapshot backfills the blocks
    /// before it from its peers: audit it once its status shows none missing.
    Verify(cli::verify::VerifyArgs),
    /// Scenarios: the story a game tells (rounds, news, values, dividends, halts, rule
    /// changes at set times). `qraft scenario check FILE` checks one and prints its
    /// timeline; `qraft scenario demo` prints the demo's, to start your own from.
    Scenario {
        #[command(subcommand)]
        command: cli::scenario::check::ScenarioCommand,
    },
    /// The end-of-game report a teacher grades from: report.csv, report.html, report.json.
    ///
    /// Replays (and audits) a stopped node's chain from --data DIR (or, without it, the
    /// chain a running node serves: --genesis, --key, --node) and writes into --out
    /// DIR (./qraft-report): report.csv (one row per student and bot: worth, profit,
    /// return, rank, round results, trades, volume, commissions, dividends), report.html
    /// (one self-contained printable page: ranking, net worth and price charts with the
    /// news) and report.json (everything, with the other two files' blake3 hashes). The
    /// report hash (of report.json) is printed. --secret FILE reveals the scenario's
    /// secret after checking it against the genesis. --record (with the admin's --key
    /// and --genesis) records the report hash on the chain once the game ended; --check
    /// FILE says whether FILE is the report the chain holds (exit 0) or not (exit 1).
    Report(cli::report::ReportArgs),
    /// A live local game, no configuration needed: three nodes and trading bots in this
    /// process, and the dashboard as you.
    ///
    /// Makes a new game in a temporary folder (removed on exit), or in --dir DIR (a game
    /// an earlier `qraft demo --dir DIR` left there continues from its data): six
    /// symbols, three voter nodes on free 127.0.0.1 ports, bots from the example
    /// strategies (market makers, random and momentum traders), you ("you", with
    /// $10,000.00 and 25 shares of each symbol) and an admin key in DIR/keys/ for trying
    /// `qraft admin ...` from another terminal. Quitting the dashboard (q) stops
    /// everything; its log is printed on exit. With --headless: a line per block on
    /// stdout (`block 42  17 txs  5 trades  a3f9c2e1`) until Ctrl-C or SIGTERM.
    Demo(cli::demo::DemoArgs),
    /// The teacher's one command: start a class that students join by code.
    ///
    /// Makes the class's game in --dir (or continues the one an earlier `qraft class`
    /// left there), starts its three voters on this laptop, takes enrollments on UDP
    /// --port (7800; the voters use the next three) and advertises the game on the
    /// network, then opens your dashboard as the game's admin with the Class panel: the
    /// join code to read aloud, this laptop's addresses, and the roster to approve. Students
    /// run `qraft join`. With --roster FILE, the names in it are approved on arrival; with
    /// --headless, lines on stdout and commands on stdin (`approve N`, `approve all`,
    /// `refuse N`, `close`, `reopen`, `roster`).
    Class(cli::class::ClassArgs),
    /// The student's one command: join the teacher's game and trade.
    ///
    /// Finds the game on this network (or at HOST:PORT, the address on the teacher's
    /// screen, when the network blocks discovery), asks for the join code and your name,
    /// makes this laptop's keys (kept in your data directory, or --home; they never leave
    /// it), and waits for the teacher to approve you. Then starts this laptop's node, which
    /// receives the game from the teacher's laptop (it connects out: no open port needed),
    /// and opens the dashboard as you. Run it again after a reboot to carry on where you
    /// were. With --headless --code CODE --name NAME: no questions and no dashboard.
    Join(cli::join::JoinArgs),
    /// Run a node of the game from its configuration file, with the dashboard in front.
    ///
    /// The dashboard trades as the participant whose key file is --key (or QRAFT_KEY);
    /// the node's own key is in its configuration. Logs go to a file beside the node's
    /// data directory (data/node1.log); quitting the dashboard stops the node cleanly.
    ///
    /// With --headless: no dashboard; logs to stderr (a line per block, RUST_LOG to
    /// change the level); Ctrl-C or SIGTERM stops it cleanly. Learners named in the
    /// genesis join the running cluster and catch up.
    Run(cli::run::RunArgs),
    /// Place an order: buy or sell SYMBOL, a market order or with a --limit price.
    ///
    /// Prints what happened: the fills, what rests in the book, or why it was rejected.
    /// JSON: {"ok":true,"status":"accepted","tx","height","block","index","effect":"order",
    /// "order":{"id","symbol","side","type","quantity","limit","state","filled","resting",
    /// "cancelled","cancel_reason","value","fills":[...]}} (see docs/session.md).
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Order(cli::client::order::OrderArgs),
    /// Cancel one of your open orders, or all of them (--all).
    ///
    /// JSON: {"ok":true,"effect":"cancel","cancelled":[{"order","shares"}],...}.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Cancel(cli::client::order::CancelArgs),
    /// A symbol's order book: bids and asks by price level, last price, session.
    ///
    /// JSON: {"ok":true,"symbol","name","session","last","bids":[{"price","price_ticks",
    /// "quantity","orders"}],"asks":[...]}.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Book(cli::client::query::BookArgs),
    /// Your account: cash, positions, open orders and net worth.
    ///
    /// JSON: {"ok":true,"name","role","cash","cash_cents","net_worth","positions":[...],
    /// "open_orders":[{"id","symbol","side","price","remaining",...}]}.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Portfolio(cli::client::query::PortfolioArgs),
    /// The most recent trades (anonymous), newest first.
    ///
    /// JSON: {"ok":true,"trades":[{"seq","height","time_ms","symbol","price","price_ticks",
    /// "quantity","aggressor"}]}.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Trades(cli::client::query::TradesArgs),
    /// Students and bots ranked apart, by return since the start (--by rounds: the average
    /// of each round's rank; --by worth: net worth).
    ///
    /// JSON: {"ok":true,"ranked_by","hidden","rows":[{"rank","name","role","net_worth",
    /// "net_worth_cents","cash","cash_cents","start_worth","start_worth_cents",
    /// "return_bps","return_pct","round_ranks","round_rank_average"}]}.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Leaderboard(cli::client::query::LeaderboardArgs),
    /// The rules in force (order size, position limit, orders a minute, short selling,
    /// price band), since which block, and every earlier set the game had.
    ///
    /// JSON: {"ok":true,"in_force":{...},"since_height","history":[{"height","rules"}]}.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Rules(cli::client::rules::RulesArgs),
    /// The latest blocks, one line each: height, transactions, hash, time; --follow keeps
    /// printing new ones until Ctrl-C.
    ///
    /// JSON: {"ok":true,"blocks":[{"height","txs","hash","prev_hash","time_ms","proposer",
    /// "state_digest"}]}; with --follow, one {"event":"block",...} object per line.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Blocks(cli::client::query::BlocksArgs),
    /// The connected node's role, term, leader, commit and applied indexes, height and
    /// peers.
    ///
    /// JSON: {"ok":true,"node","node_id","role","term","leader","commit_index",
    /// "applied_index","last_index","height","head_hash","voters","learners","peers",...}.
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Status(cli::client::query::StatusArgs),
    /// Look up a transaction's receipt by its hash (after exit code 4: outcome unknown).
    ///
    /// Exits 0 if it was accepted, 3 if rejected, 4 if this node has not applied it (yet).
    #[command(after_long_help = cli::client::EXIT_CODES_HELP)]
    Receipt(cli::client::query::ReceiptArgs),
    /// Run the game (admin key): open, halt, resume or close the market, publish news, add
    /// participants, change the cluster's membership.
    Admin {
        #[command(subcommand)]
        command: cli::client::admin::AdminCommand,
    },
    /// For bots: JSON commands on stdin, results and events on stdout, one object a line.
    ///
    /// Each line is a command like {"id":1,"cmd":"order","side":"buy","symbol":"ACME",
    /// "qty":10,"limit":"12.50"}; its result comes back as {"id":1,"ok":true,...} or
    /// {"id":1,"ok":false,"code":3,"error":"..."}. Commands run concurrently. Events
    /// ({"event":"block"|"trade"|"fill"|"book",...}) follow a "subscribe" command. The
    /// session ends cleanly (exit 0) at the end of stdin. The protocol: docs/session.md.
    #[command(after_long_help = cli::client::session::EXIT_CODES_HELP)]
    Session(cli::client::session::SessionArgs),
    /// Benchmark a local cluster: three `qraft` node processes over QUIC on loopback,
    /// driven by many clients with pre-signed orders. Prints committed orders per second
    /// and submit-to-receipt latency percentiles at a fixed offered rate.
    Bench(cli::bench::BenchArgs),
    /// Fault injection on a local 3-voter game (opt-in, minutes long): real node
    /// processes, traders on `qraft session --jsonl`, and cycle after cycle kill -9 of
    /// the leader and of a follower (restarted after 0.5-3 s) and SIGSTOP of a voter for
    /// 1-6 s. Then checks that every acknowledged order has the same receipt on every
    /// node, that the heads agree and that `qraft verify` passes on every node. Prints
    /// failover min/median/max and the counts of acknowledged, unknown, failed and lost
    /// orders; exits 1 when a check fails.
    Chaos(cli::chaos::ChaosArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Init(args) => cli::init::run(args),
        Command::Genesis { command } => cli::genesis::run(command),
        Command::Keys(cmd) => cli::keys::run(cmd),
        Command::Verify(args) => cli::verify::run(args),
        Command::Report(args) => cli::report::run(args),
        Command::Demo(args) => cli::demo::run(args),
        Command::Class(args) => cli::class::run(args),
        Command::Join(args) => cli::join::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Order(args) => cli::client::order::run_order(args),
        Command::Cancel(args) => cli::client::order::run_cancel(args),
        Command::Book(args) => cli::client::query::run_book(args),
        Command::Portfolio(args) => cli::client::query::run_portfolio(args),
        Command::Trades(args) => cli::client::query::run_trades(args),
        Command::Leaderboard(args) => cli::client::query::run_leaderboard(args),
        Command::Rules(args) => cli::client::rules::run(args),
        Command::Blocks(args) => cli::client::query::run_blocks(args),
        Command::Status(args) => cli::client::query::run_status(args),
        Command::Receipt(args) => cli::client::query::run_receipt(args),
        Command::Admin { command } => cli::client::admin::run(command),
        Command::Session(args) => cli::client::session::run(args),
        Command::Bench(args) => cli::bench::run(args),
        Command::Chaos(args) => cli::chaos::run(args),
        Command::Scenario { command } => cli::scenario::check::run(command),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            // Client commands say how they failed (docs: `qraft order --help`).
            std::process::ExitCode::from(cli::client::exit_code(&err))
        }
    }
}
