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
    /// status 1. A node that caught up from its leader's snapshot lacks the blocks before
    /// it: audit a node that holds every block.
    Verify(cli::verify::VerifyArgs),
    /// Run a node of the game from its configuration file.
    ///
    /// With --headless: no dashboard; logs to stderr (a line per block, RUST_LOG to
    /// change the level); Ctrl-C or SIGTERM stops it cleanly. Learners named in the
    /// genesis join the running cluster and catch up.
    Run(cli::run::RunArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::Init(args) => cli::init::run(args),
        Command::Genesis { command } => cli::genesis::run(command),
        Command::Keys(cmd) => cli::keys::run(cmd),
        Command::Verify(args) => cli::verify::run(args),
        Command::Run(args) => cli::run::run(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
