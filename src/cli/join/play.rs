//! The joined laptop's node: a learner of the game that dials the teacher's voters (it
//! needs no open port and follows the teacher's laptop to a new address), with the
//! dashboard in front as the student, or headless with a line per block.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use qraft_node::config::Tuning;
use qraft_node::net::node::{NetNode, NetNodeOptions};

use super::advice;
use super::home::{Home, JoinedGame};
use super::{JoinArgs, say};
use crate::cli::demo::feed::{FeedEnd, print_blocks};
use crate::cli::game::registered;
use crate::cli::{logs, signal};

/// How long a headless join waits for its first block before it says the voters are
/// silent: catching up takes a second or two on a LAN.
const FIRST_BLOCK_PATIENCE: Duration = Duration::from_secs(15);

/// How a laptop's play ended.
pub enum Ended {
    /// The student quit (or a signal).
    Quit,
    /// The class moved on to its next game: play that one now (and what was said).
    Moved(Box<JoinedGame>, String),
}

/// Tries at the port the laptop had before taking any free one: a node that just stopped
/// (the game the laptop left for the class's next) frees its socket once its connections
/// have drained, within a few seconds; the student's own tools keep reaching the port
/// they know.
const PORT_RETRIES: usize = 25;
const PORT_RETRY_PAUSE: Duration = Duration::from_millis(200);

/// Starts the node and runs until the student quits (or a signal), or the class moves on
/// to its next game.
///
/// `greeting` is shown first on the dashboard's status line.
pub async fn run(
    home: &Home,
    mut game: JoinedGame,
    args: &JoinArgs,
    greeting: Option<String>,
) -> Result<Ended> {
    let identity = home.identity()?;
    if args.headless {
        logs::to_stderr("warn");
    } else {
        logs::to_file(&game.dir.join("qraft.log"), "info")?;
    }
    let port = args.port.unwrap_or(game.record.port);
    let voters = game.voter_addresses(&game.record.teacher);
    let start = |port: u16| {
        NetNode::start(NetNodeOptions {
            genesis: game.genesis.clone(),
            keypair: identity.node.clone(),
            data_dir: game.data_dir(),
            listen: SocketAddr::from((Ipv4Addr::UNSPECIFIED, port)),
            peers: voters.iter().cloned().collect(),
            tuning: Tuning::default(),
            submit_timeout: Duration::from_secs(10),
            id: Some(game.record.node_id),
            dial_out: true,
        })
    };
    let mut started = start(port).await;
    // The node of the game this laptop just left may still hold the port for a moment.
    for _ in 0..PORT_RETRIES {
        if started.is_ok() || port == 0 {
            break;
        }
        tokio::time::sleep(PORT_RETRY_PAUSE).await;
        started = start(port).await;
    }
    let node = match started {
        Ok(node) => node,
        // The port it had is taken now (another program): any free one will do.
        Err(_) if port != 0 => start(0).await?,
        Err(err) => return Err(err).context("cannot start this laptop's node"),
    };
    let listening = node.local_addr().context("the node's address")?;
    if listening.port() != game.record.port {
        game.record.port = listening.port();
    }
    home.write_record(&game.dir, &game.record)?;
    let moved = std::sync::Mutex::new(None);
    let moved_on = tokio::sync::Notify::new();
    let watch = async {
        let joined = super::next::watch(&identity, &node, &game).await;
        *moved.lock().unwrap_or_else(|p| p.into_inner()) = Some(joined);
        moved_on.notify_one();
        std::future::pending::<()>().await
    };
    let outcome = tokio::select! {
        outcome = face(&node, &game, &identity, &voters, args, greeting, moved_on.notified()) => outcome,
        () = watch => Ok(()),
        () = follow_the_teacher(&node, home, &game) => Ok(()),
        () = keep_registered_nodes(&node, &game) => Ok(()),
    };
    node.shutdown().await;
    outcome?;
    let moved = moved.lock().unwrap_or_else(|p| p.into_inner()).take();
    match moved {
        Some(joined) => {
            let (next, said) = super::next::move_to(home, &game, &joined)?;
            Ok(Ended::Moved(Box::new(next), said))
        }
        None => Ok(Ended::Quit),
    }
}

/// How often a laptop cut off from every voter listens for its game on the network: the
/// teacher's laptop may have moved (a new DHCP lease). Rarely enough that thirty laptops
/// cost the network nothing.
const LOST_CHECK: Duration = Duration::from_secs(10);

/// While this laptop's node reaches none of the voters, listens now and then for the
/// game on the network; a teacher's laptop heard at another address is dialled there.
/// Only a laptop already cut off moves, so a look-alike advertising the game's code at
/// another address cannot pull a connected laptop away (and the voters' keys are pinned:
/// it could not pose as them).
async fn follow_the_teacher(node: &NetNode, home: &Home, game: &JoinedGame) {
    let prefix = game
        .dir
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    let on_teacher: Vec<(u64, u16)> = game
        .record
        .voters
        .iter()
        .filter(|v| v.address.is_none())
        .filter_map(|v| v.port.map(|port| (v.id, port)))
        .collect();
    let mut record = game.record.clone();
    loop {
        tokio::time::sleep(LOST_CHECK).await;
        if on_teacher.is_empty() || on_teacher.iter().any(|(id, _)| node.is_connected_to(*id)) {
            continue;
        }
        let wanted = prefix.clone();
        let heard = tokio::task::spawn_blocking(move || super::find::heard_at(&wanted))
            .await
            .ok()
            .flatten();
        let Some(ip) = heard.map(|ip| ip.to_string()) else {
            continue;
        };
        if ip == record.teacher {
            continue;
        }
        tracing::warn!(was = %record.teacher, now = %ip, "the teacher's laptop moved: following it");
        for (id, port) in &on_teacher {
            node.reach_peer_at(*id, super::home::host_port(&ip, *port));
        }
        record.teacher = ip;
        if let Err(err) = home.write_record(&game.dir, &record) {
            tracing::warn!(%err, "cannot record the teacher's new address");
        }
    }
}

/// How often the chain's registered nodes are read for `nodes.toml`: a node registered
/// or moved shows there within seconds; a read is one query to this laptop's node.
const REGISTRY_CHECK: Duration = Duration::from_secs(3);

/// Keeps `nodes.toml` beside the game's genesis in step with the nodes the chain
/// registered after the genesis (and did not remove), so the student's client commands
/// trust them: this laptop's own node, and the machines made voters, which go on when
/// the teacher's laptop leaves.
async fn keep_registered_nodes(node: &NetNode, game: &JoinedGame) {
    use qraft_node::api::Registration;
    let genesis_path = game.dir.join("genesis.toml");
    let in_genesis: Vec<u64> = game.genesis.nodes().map(|n| n.id).collect();
    let mut written = None;
    loop {
        if let Ok(nodes) = node.handle.nodes().await {
            let mut registered = Vec::new();
            for spec in nodes.into_iter().filter(|n| !in_genesis.contains(&n.id)) {
                if let Ok(Registration::Registered) = node.handle.node_registration(spec.id).await {
                    registered.push(spec);
                }
            }
            if written.as_ref() != Some(&registered) {
                match registered::write_beside(&genesis_path, &registered) {
                    Ok(()) => written = Some(registered),
                    Err(err) => tracing::warn!(%err, "cannot keep the registered nodes"),
                }
            }
        }
        tokio::time::sleep(REGISTRY_CHECK).await;
    }
}

/// The dashboard, or the headless lines, until the student quits or `until` is ready
/// (the class moved on).
async fn face(
    node: &NetNode,
    game: &JoinedGame,
    identity: &super::home::Identity,
    voters: &[(u64, String)],
    args: &JoinArgs,
    greeting: Option<String>,
    until: impl Future<Output = ()>,
) -> Result<()> {
    tokio::pin!(until);
    if args.headless {
        tokio::select! {
            outcome = headless(node, game, &identity.participant_file, voters) => outcome,
            () = &mut until => Ok(()),
        }
    } else {
        let me = identity.participant.public();
        let caught = tokio::select! {
            caught = caught_up(node, &me, voters) => caught,
            () = &mut until => false,
        };
        match caught {
            true => {
                let participant = identity.participant.clone();
                dashboard(node, game, participant, voters, greeting, until).await
            }
            false => Ok(()),
        }
    }
}

async fn headless(
    node: &NetNode,
    game: &JoinedGame,
    key_file: &std::path::Path,
    voters: &[(u64, String)],
) -> Result<()> {
    let genesis = game.dir.join("genesis.toml");
    // This laptop's node first: it forwards to whichever voters lead, the teacher's
    // laptop or not.
    let own = node
        .local_addr()
        .map(|a| format!(" --node 127.0.0.1:{}", a.port()))
        .unwrap_or_default();
    let nodes: String = own
        + &voters
            .iter()
            .map(|(_, a)| format!(" --node {a}"))
            .collect::<String>();
    say(&format!(
        "your node is following the game (a line per block below). Trade from another terminal, e.g.:\n  qraft order --genesis {} --key {}{nodes} buy {} 10",
        genesis.display(),
        key_file.display(),
        game.genesis
            .symbols
            .first()
            .map_or("ACME".to_owned(), |s| s.ticker.to_string())
    ));
    let events = node.handle.subscribe();
    let silent = async {
        tokio::time::sleep(FIRST_BLOCK_PATIENCE).await;
        let height = node.handle.status().await.map_or(0, |s| s.height);
        if height == 0 {
            let at = voters
                .iter()
                .map(|(_, a)| a.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            eprintln!("note: {}", advice::voters_silent(&at));
        }
        std::future::pending::<()>().await
    };
    tokio::select! {
        _ = signal::stop_requested(false) => Ok(()),
        () = silent => Ok(()),
        end = print_blocks(events) => match end {
            FeedEnd::OutputClosed => Ok(()),
            FeedEnd::NodeStopped => Err(anyhow!("this laptop's node stopped (see the messages above)")),
        },
    }
}

/// Waits until this laptop's node has caught up far enough to know the student (their
/// registration is in a block it has), saying so, and what may be wrong when it takes
/// long; false when the student gave up (Ctrl-C).
async fn caught_up(node: &NetNode, me: &qraft_keys::PublicKey, voters: &[(u64, String)]) -> bool {
    let mut told = false;
    let since = tokio::time::Instant::now();
    let mut warned = false;
    let stop = signal::stop_requested(false);
    tokio::pin!(stop);
    loop {
        if node
            .handle
            .role_of(*me)
            .await
            .is_ok_and(|role| role.is_some())
        {
            return true;
        }
        if !told {
            println!("catching up with the game...");
            told = true;
        }
        if !warned && since.elapsed() > FIRST_BLOCK_PATIENCE {
            let at = voters
                .iter()
                .map(|(_, a)| a.as_str())
                .collect::<Vec<_>>()
                .join(", ");
            println!("{}", advice::voters_silent(&at));
            warned = true;
        }
        tokio::select! {
            _ = &mut stop => return false,
            () = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}

async fn dashboard(
    node: &NetNode,
    game: &JoinedGame,
    participant: qraft_keys::Keypair,
    voters: &[(u64, String)],
    greeting: Option<String>,
    until: impl Future<Output = ()>,
) -> Result<()> {
    let mut addresses: std::collections::BTreeMap<u64, String> = voters.iter().cloned().collect();
    if let Ok(local) = node.local_addr() {
        addresses.insert(node.id, format!("127.0.0.1:{}", local.port()));
    }
    let dashboard = qraft_tui::run_until(
        qraft_tui::Dashboard {
            handle: node.handle.clone(),
            keypair: participant,
            genesis: game.genesis.clone(),
            title: game.record.node_name.clone(),
            addresses,
            class: None,
            greeting,
        },
        // A signal ends the dashboard too, which puts the terminal back.
        async {
            tokio::select! {
                () = until => {}
                () = signal::stop_requested(true) => {}
            }
        },
    );
    dashboard.await.context("the dashboard failed")
}
