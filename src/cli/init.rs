//! `qraft init`: write a ready classroom network into a directory.
//!
//! ```text
//! DIR/
//!   genesis.toml      the game: symbols, participants, voters (edit it, then check it)
//!   node1.toml ...    one node configuration per node (voters, then learners)
//!   keys/             one key file per voter node, the admin, each trader and bot
//! ```
//!
//! Every key is new and random; key files are unencrypted PKCS#8 with mode 0600 in a
//! mode 0700 directory, ready to hand out (`qraft keys export --encrypt` encrypts one).

use std::fmt::{self, Write as _};
use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail, ensure};
use clap::Args;
use qraft_keys::Keypair;
use qraft_keys::keyfile::{IfExists, write_key_file};
use qraft_node::core::genesis::{Genesis, NodeSpec, Rules, to_toml};
use qraft_node::core::tx::{ParticipantSpec, SymbolSpec};
use qraft_node::core::types::{Cents, Role, Shares, Ticker, Ticks, format_cents};

/// Friendly names for the first traders; later ones are `trader21`, `trader22`, ...
const TRADER_NAMES: [&str; 20] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "kim",
    "leo", "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor",
];

/// The symbols of a new game, all with a one-cent tick: ticker, company name, reference
/// price in cents (so in ticks).
const SYMBOLS: [(&str, &str, Ticks); 4] = [
    ("ACME", "Acme Corporation", 1250),
    ("GLBX", "Globex Industries", 4800),
    ("INIT", "Initech", 725),
    ("UMBR", "Umbrella Pharmaceuticals", 10340),
];

/// Every participant's starting cash, in cents: $10,000.00.
const STARTING_CASH: Cents = 1_000_000;
/// Every participant's starting shares of each symbol, so that there is something to sell.
const STARTING_SHARES: Shares = 100;

/// The options of `qraft init` (its help text is on `Command::Init` in main.rs).
#[derive(Debug, Args)]
pub struct InitArgs {
    /// The directory to write into; created if it does not exist.
    dir: PathBuf,
    /// How many voter nodes (1 to 7). Three keep the game going when one laptop fails.
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u8).range(1..=7))]
    voters: u8,
    /// How many learner nodes: full, verifying replicas that do not vote (a laptop each).
    /// They are numbered after the voters and listen on the following ports.
    #[arg(long, value_name = "L", default_value_t = 0, value_parser = clap::value_parser!(u16).range(0..=200))]
    learners: u16,
    /// How many traders (people): alice, bob, carol, ...
    #[arg(long, value_name = "M", default_value_t = 4, value_parser = clap::value_parser!(u16).range(0..=1000))]
    participants: u16,
    /// How many bots: bot1, bot2, ...
    #[arg(long, value_name = "B", default_value_t = 2, value_parser = clap::value_parser!(u16).range(0..=1000))]
    bots: u16,
    /// The first voter's port; voter N listens on P + N - 1.
    #[arg(long, value_name = "P", default_value_t = 7801, value_parser = clap::value_parser!(u16).range(1..))]
    base_port: u16,
    /// Each node's host on the LAN (IP address or name), node1 first, comma-separated:
    /// one per node, voters then learners; a host may repeat (three voters on the
    /// teacher's laptop). The genesis then holds these addresses and every node listens on
    /// all interfaces. Without it, every node is on 127.0.0.1 (a game on one machine).
    #[arg(long, value_name = "HOST,...", value_delimiter = ',')]
    hosts: Vec<String>,
    /// The game's name, shown to every participant.
    #[arg(long, value_name = "NAME", default_value = "Classroom market")]
    game: String,
    /// Write into DIR even if it is not empty, replacing files of the same names.
    #[arg(long)]
    force: bool,
}

/// A participant or node to be: its name and new key.
struct Member {
    name: String,
    key: Keypair,
}

impl Member {
    fn new(name: String) -> Result<Member> {
        let key = Keypair::generate().context("cannot make a key")?;
        Ok(Member { name, key })
    }

    fn key_file(&self) -> String {
        format!("keys/{}.key", self.name)
    }
}

/// Runs `qraft init`.
pub fn run(args: InitArgs) -> Result<()> {
    let node_count = u32::from(args.voters) + u32::from(args.learners);
    let last_port = u32::from(args.base_port) + node_count - 1;
    ensure!(
        last_port <= u32::from(u16::MAX),
        "--base-port {} leaves no room for {node_count} nodes: the last port would be {last_port}",
        args.base_port,
    );
    let hosts = node_hosts(&args.hosts, args.voters, args.learners)?;
    let nodes = (1..=node_count)
        .map(|i| Member::new(format!("node{i}")))
        .collect::<Result<Vec<_>>>()?;
    let mut players = vec![(Member::new("admin".to_string())?, Role::Admin)];
    for i in 0..usize::from(args.participants) {
        let name = match TRADER_NAMES.get(i) {
            Some(name) => name.to_string(),
            None => format!("trader{}", i + 1),
        };
        players.push((Member::new(name)?, Role::Trader));
    }
    for i in 1..=args.bots {
        players.push((Member::new(format!("bot{i}"))?, Role::Bot));
    }

    // Everything is decided and checked before anything is written.
    let genesis = build_genesis(&args, &hosts, &nodes, &players)?;
    prepare_directory(&args.dir, args.force)?;
    let if_exists = if args.force {
        IfExists::Replace
    } else {
        IfExists::Refuse
    };
    let keys_dir = args.dir.join("keys");
    if !keys_dir.is_dir() {
        DirBuilder::new()
            .mode(0o700)
            .create(&keys_dir)
            .with_context(|| format!("cannot create {}", keys_dir.display()))?;
    }
    let members = nodes.iter().chain(players.iter().map(|(member, _)| member));
    for member in members {
        let path = args.dir.join(member.key_file());
        write_key_file(&path, &member.key, None, if_exists)?;
    }
    write_file(&args.dir.join("genesis.toml"), &to_toml(&genesis))?;
    for (node, spec) in nodes.iter().zip(genesis.nodes()) {
        let listen = listen_address(&hosts, spec);
        let config = node_config(node, spec, &listen, genesis.voters.contains(spec));
        write_file(&args.dir.join(format!("{}.toml", node.name)), &config)?;
    }

    print!("{}", report(&args.dir, &genesis, &nodes, &players));
    Ok(())
}

/// Creates `dir` if needed; refuses one that has anything in it, unless `force`.
fn prepare_directory(dir: &Path, force: bool) -> Result<()> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() && !force {
                bail!(
                    "{} is not empty; choose another directory, or add --force to write into \
                     it anyway (files of the same names are replaced)",
                    dir.display()
                );
            }
            Ok(())
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))
        }
        Err(error) => {
            Err(error).with_context(|| format!("cannot use {} as the directory", dir.display()))
        }
    }
}

fn build_genesis(
    args: &InitArgs,
    hosts: &NodeHosts,
    nodes: &[Member],
    players: &[(Member, Role)],
) -> Result<Genesis> {
    let symbols: Vec<SymbolSpec> = SYMBOLS
        .iter()
        .map(|&(ticker, name, reference_price)| SymbolSpec {
            ticker: Ticker::new(ticker).expect("the default tickers are valid"),
            name: name.to_string(),
            tick_size: 1,
            reference_price,
        })
        .collect();
    let holdings: Vec<(Ticker, Shares)> = symbols
        .iter()
        .map(|symbol| (symbol.ticker, STARTING_SHARES))
        .collect();
    let participants = players
        .iter()
        .map(|(member, role)| ParticipantSpec {
            name: member.name.clone(),
            key: member.key.public(),
            role: *role,
            cash: STARTING_CASH,
            holdings: holdings.clone(),
        })
        .collect();
    let mut voters: Vec<NodeSpec> = nodes
        .iter()
        .zip(1u64..)
        .map(|(node, id)| NodeSpec {
            id,
            name: node.name.clone(),
            key: node.key.public(),
            address: hosts.address(id, u64::from(args.base_port) + id - 1),
        })
        .collect();
    let learners = voters.split_off(usize::from(args.voters));
    let genesis = Genesis {
        game: args.game.clone(),
        rules: Rules::default(),
        symbols,
        participants,
        voters,
        learners,
        scenario: None,
        previous: None,
    };
    if let Err(violations) = genesis.validate() {
        let problems: Vec<String> = violations.iter().map(ToString::to_string).collect();
        bail!("the game cannot be made: {}", problems.join("; "));
    }
    Ok(genesis)
}

/// Where the nodes are: all on this machine, or each on its LAN host.
enum NodeHosts {
    Loopback,
    /// Node N's host is entry N - 1.
    Lan(Vec<Host>),
}

enum Host {
    V4OrName(String),
    V6(std::net::Ipv6Addr),
}

impl NodeHosts {
    /// Node `id`'s `host:port`, as the other nodes reach it.
    fn address(&self, id: u64, port: u64) -> String {
        match self {
            NodeHosts::Loopback => format!("127.0.0.1:{port}"),
            NodeHosts::Lan(hosts) => match &hosts[id as usize - 1] {
                Host::V4OrName(host) => format!("{host}:{port}"),
                Host::V6(ip) => format!("[{ip}]:{port}"),
            },
        }
    }
}

/// Reads `--hosts`: one host per node, each an IP address or a DNS name.
fn node_hosts(hosts: &[String], voters: u8, learners: u16) -> Result<NodeHosts> {
    if hosts.is_empty() {
        return Ok(NodeHosts::Loopback);
    }
    let nodes = usize::from(voters) + usize::from(learners);
    ensure!(
        hosts.len() == nodes,
        "--hosts names {} but the network has {nodes} nodes ({} and {}): give one host per \
         node, node1 first",
        counted(hosts.len(), "host"),
        counted(voters.into(), "voter"),
        counted(learners.into(), "learner"),
    );
    hosts
        .iter()
        .zip(1..)
        .map(|(host, id)| parse_host(host.trim()).with_context(|| format!("--hosts, node{id}")))
        .collect::<Result<Vec<_>>>()
        .map(NodeHosts::Lan)
}

fn parse_host(host: &str) -> Result<Host> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(match ip {
            std::net::IpAddr::V4(ip) => Host::V4OrName(ip.to_string()),
            std::net::IpAddr::V6(ip) => Host::V6(ip),
        });
    }
    let is_name = !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    ensure!(
        is_name,
        "{host:?} is neither an IP address nor a host name (give the host alone, without a \
         port: the ports follow --base-port)"
    );
    Ok(Host::V4OrName(host.to_ascii_lowercase()))
}

/// What a node listens on: its own address on one machine; all interfaces on a LAN.
fn listen_address(hosts: &NodeHosts, spec: &NodeSpec) -> String {
    let port = spec.address.rsplit(':').next().unwrap_or_default();
    match hosts {
        NodeHosts::Loopback => spec.address.clone(),
        NodeHosts::Lan(_) if spec.address.starts_with('[') => format!("[::]:{port}"),
        NodeHosts::Lan(_) => format!("0.0.0.0:{port}"),
    }
}

/// A node's configuration file. Paths in it are relative to the file's own directory.
fn node_config(node: &Member, spec: &NodeSpec, listen: &str, voter: bool) -> String {
    let quote = |text: &str| toml::Value::String(text.to_string()).to_string();
    format!(
        "# QRaft node configuration for {name} ({kind}, Raft id {id}).\n\
         # Relative paths are relative to the directory of this file.\n\
         \n\
         # The game's genesis file. Every node of the game uses the same one.\n\
         genesis = {genesis}\n\
         \n\
         # This node's private key file. Its public key is the genesis entry of {name}.\n\
         key = {key}\n\
         \n\
         # Where this node keeps its Raft log, blocks and snapshots.\n\
         data_dir = {data_dir}\n\
         \n\
         # The address (host:port) to listen on for other nodes and for clients. The other\n\
         # nodes reach this one at its address in the genesis file.\n\
         listen = {listen}\n",
        name = node.name,
        kind = if voter { "voter" } else { "learner" },
        id = spec.id,
        genesis = quote("genesis.toml"),
        key = quote(&node.key_file()),
        data_dir = quote(&format!("data/{}", node.name)),
        listen = quote(listen),
    )
}

/// "1 voter", "3 voters".
fn counted(count: usize, noun: &str) -> String {
    let plural = if count == 1 { "" } else { "s" };
    format!("{count} {noun}{plural}")
}

fn write_file(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

/// What was written, and what to do next.
fn report(dir: &Path, genesis: &Genesis, nodes: &[Member], players: &[(Member, Role)]) -> String {
    let mut out = String::new();
    write_report(&mut out, dir, genesis, nodes, players).expect("writing to a String cannot fail");
    out
}

fn write_report(
    out: &mut String,
    dir: &Path,
    genesis: &Genesis,
    nodes: &[Member],
    players: &[(Member, Role)],
) -> fmt::Result {
    let dir = dir.display();
    let count = |role: Role| players.iter().filter(|(_, r)| *r == role).count();
    writeln!(out, "Wrote the game {:?} to {dir}/:", genesis.game)?;
    writeln!(
        out,
        "  genesis.toml           {} symbols; {} participants ({} admin, {} traders, {} bots), \
         each with ${} and {STARTING_SHARES} shares of each symbol; {}, {}",
        genesis.symbols.len(),
        players.len(),
        count(Role::Admin),
        count(Role::Trader),
        count(Role::Bot),
        format_cents(STARTING_CASH.into()),
        counted(genesis.voters.len(), "voter"),
        counted(genesis.learners.len(), "learner"),
    )?;
    for (node, spec) in nodes.iter().zip(genesis.nodes()) {
        writeln!(
            out,
            "  {:<22} node configuration: reached at {}, key {}",
            format!("{}.toml", node.name),
            spec.address,
            node.key_file()
        )?;
    }
    writeln!(out, "  keys/ (mode 0600, unencrypted):")?;
    for node in nodes {
        writeln!(out, "    {:<20} node key", format!("{}.key", node.name))?;
    }
    for (member, role) in players {
        writeln!(
            out,
            "    {:<20} {role}, {}",
            format!("{}.key", member.name),
            member.key.public()
        )?;
    }
    writeln!(out, "Chain id: {}", genesis.chain_id())?;
    writeln!(out)?;
    writeln!(
        out,
        "Give each participant their own key file (keys/NAME.key) and keep the node keys. \
         To change addresses, edit genesis.toml; a laptop not in it joins later with \
         `qraft admin add-node`."
    )?;
    let on_one_machine = genesis
        .nodes()
        .all(|node| node.address.starts_with("127.0.0.1:"));
    if on_one_machine {
        writeln!(
            out,
            "Every node is on this machine (127.0.0.1). For a classroom over a LAN, run init \
             again with --hosts: each node's host, node1 first."
        )?;
    }
    writeln!(out, "Next: qraft genesis check {dir}/genesis.toml")
}
