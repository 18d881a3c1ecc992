//! `qraft admin`: running the game (sessions, news, participants) and the cluster's
//! membership. The exchange decides who is an admin; its refusal is shown as it is.

use std::time::Duration;

use clap::{Args, Subcommand, ValueEnum};
use qraft_client::protocol::result::{MembershipReport, NodeRegistered};
use qraft_client::query;
use qraft_client::session::Turn;
use qraft_keys::PublicKey;
use qraft_node::api::MembershipChange;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::genesis::{Genesis, NodeSpec, promotion_refusal};
use qraft_node::core::tx::{
    AdminAction, MAX_NAME_BYTES, MAX_NEWS_BYTES, ParticipantSpec, Scope, TxBody,
};
use qraft_node::core::types::{Role, Shares, Ticker, parse_cents};
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::proto::ProtocolError;

use super::connect::{CommonArgs, Ctx, connect_client, query_failure, request_failure};
use super::output::{EXIT_CODES_HELP, Failure, Report};
use super::settle::run_transaction_cli;
use super::submit::{submit, transact};

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Open the market for trading (or only SYMBOL).
    #[command(after_long_help = EXIT_CODES_HELP)]
    Open(ScopeArgs),
    /// Pause trading (or only SYMBOL's); cancels still work.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Halt(ScopeArgs),
    /// Continue trading after a halt (or only SYMBOL's).
    #[command(after_long_help = EXIT_CODES_HELP)]
    Resume(ScopeArgs),
    /// Stop trading (or only SYMBOL's); resting orders stay for the next open.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Close(ScopeArgs),
    /// Publish a headline every participant sees.
    #[command(after_long_help = EXIT_CODES_HELP)]
    News(NewsArgs),
    /// Add a participant (a trader or a bot) to the running game.
    #[command(after_long_help = EXIT_CODES_HELP)]
    AddParticipant(AddParticipantArgs),
    /// Register a node the genesis does not name; the leader then adds it to the cluster
    /// as a learner (a replica that does not vote), which catches up from a snapshot.
    /// Start it with `id = ID` in its node configuration.
    #[command(after_long_help = EXIT_CODES_HELP)]
    AddNode(AddNodeArgs),
    /// Add a registered node (in the genesis, or added with `add-node`) to the cluster
    /// as a learner (a replica that does not vote).
    #[command(after_long_help = EXIT_CODES_HELP)]
    AddLearner(NodeArgs),
    /// Make a learner a voter.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Promote(NodeArgs),
    /// Remove a node from the game for good: every node cuts it off when the block
    /// applies, and the leader takes it out of the cluster.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Remove(NodeArgs),
    /// Suspend a participant: every node closes their connections and refuses their
    /// handshakes and transactions, and their resting orders are cancelled.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Suspend(ParticipantArgs),
    /// Let a suspended participant in again.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Reinstate(ParticipantArgs),
    /// Put new rules in force from the next block on; only what the options name
    /// changes. Orders already resting keep what they were accepted under.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Rules(super::rules::SetRulesArgs),
    /// Start the game's scenario, when it waits for the admin (`start = "admin"`): game
    /// time, its rounds and events count from this block.
    #[command(after_long_help = EXIT_CODES_HELP)]
    Start(OnlyCommonArgs),
    /// End the game: cancels every order, stops all trading and freezes the leaderboard.
    #[command(after_long_help = EXIT_CODES_HELP)]
    End(OnlyCommonArgs),
}

#[derive(Debug, Args)]
pub struct OnlyCommonArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ParticipantArgs {
    /// The participant: their name in the genesis, or their public key (`qk1...`, as
    /// `qraft keys show` prints it) for anyone.
    pub participant: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct ScopeArgs {
    /// Only this symbol; without it, the whole market.
    pub symbol: Option<Ticker>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct NewsArgs {
    /// The headline (the words are joined with spaces; at most 280 bytes).
    #[arg(required = true, num_args = 1.., value_name = "TEXT")]
    pub text: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Trader,
    Bot,
}

#[derive(Debug, Args)]
pub struct AddParticipantArgs {
    /// The participant's name, unique in the game (at most 32 bytes).
    pub name: String,
    /// Their public key, as `qraft keys show` prints it.
    #[arg(long = "key-pub", value_name = "qk1...")]
    pub key_pub: PublicKey,
    /// Starting cash in dollars, like 10000 or 10,000.00.
    #[arg(long, value_name = "DOLLARS")]
    pub cash: String,
    /// trader (a person) or bot (a program).
    #[arg(long, value_enum, default_value = "trader")]
    pub role: RoleArg,
    /// Starting shares of a symbol, SYMBOL=SHARES; repeat for more symbols.
    #[arg(long = "holding", value_name = "SYMBOL=SHARES")]
    pub holdings: Vec<String>,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct AddNodeArgs {
    /// The new node's id: a number from 1 up that no node has yet.
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    pub id: u64,
    /// The node's name, unique among nodes (at most 32 bytes).
    #[arg(long)]
    pub name: String,
    /// The node's public key, as `qraft keys show` prints it.
    #[arg(long = "key-pub", value_name = "qk1...")]
    pub key_pub: PublicKey,
    /// Where other nodes reach it, host:port (like 192.168.1.31:7801), or `dials-out`
    /// for a laptop others cannot reach: it dials the voters (`dial_out = true` in its
    /// node configuration) and can only be a learner.
    #[arg(long)]
    pub address: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    /// The node's id, as the genesis (or `add-node`) registered it.
    #[arg(value_parser = clap::value_parser!(u64).range(1..))]
    pub id: u64,
    #[command(flatten)]
    pub common: CommonArgs,
}

/// An administration request, as the CLI and sessions describe it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AdminOp {
    Open(Option<Ticker>),
    Halt(Option<Ticker>),
    Resume(Option<Ticker>),
    Close(Option<Ticker>),
    News(String),
    AddParticipant {
        name: String,
        key: PublicKey,
        cash: String,
        role: Role,
        holdings: Vec<String>,
    },
    AddNode(NodeSpec),
    Membership(MembershipChange),
    /// Removes a node for good, through the ledger: every node cuts it off when the
    /// block applies, and the leader takes it out of the Raft membership.
    RemoveNode(u64),
    /// Suspends a participant, by genesis name or key.
    Suspend(String),
    /// Reinstates a suspended participant, by genesis name or key.
    Reinstate(String),
    /// Starts a scenario that waits for the admin.
    StartScenario,
    /// Ends the game.
    EndGame,
}

pub fn run(command: AdminCommand) -> anyhow::Result<()> {
    let (op, common) = match command {
        AdminCommand::Rules(args) => return super::rules::run_set(args),
        AdminCommand::Open(a) => (AdminOp::Open(a.symbol), a.common),
        AdminCommand::Halt(a) => (AdminOp::Halt(a.symbol), a.common),
        AdminCommand::Resume(a) => (AdminOp::Resume(a.symbol), a.common),
        AdminCommand::Close(a) => (AdminOp::Close(a.symbol), a.common),
        AdminCommand::News(a) => (AdminOp::News(a.text.join(" ")), a.common),
        AdminCommand::AddParticipant(a) => (
            AdminOp::AddParticipant {
                name: a.name,
                key: a.key_pub,
                cash: a.cash,
                role: match a.role {
                    RoleArg::Trader => Role::Trader,
                    RoleArg::Bot => Role::Bot,
                },
                holdings: a.holdings,
            },
            a.common,
        ),
        AdminCommand::AddNode(a) => (
            AdminOp::AddNode(NodeSpec {
                id: a.id,
                name: a.name.trim().to_string(),
                key: a.key_pub,
                address: a.address.trim().to_string(),
            }),
            a.common,
        ),
        AdminCommand::AddLearner(a) => (
            AdminOp::Membership(MembershipChange::AddLearner(a.id)),
            a.common,
        ),
        AdminCommand::Promote(a) => (
            AdminOp::Membership(MembershipChange::Promote(a.id)),
            a.common,
        ),
        AdminCommand::Remove(a) => (AdminOp::RemoveNode(a.id), a.common),
        AdminCommand::Suspend(a) => (AdminOp::Suspend(a.participant), a.common),
        AdminCommand::Reinstate(a) => (AdminOp::Reinstate(a.participant), a.common),
        AdminCommand::Start(a) => (AdminOp::StartScenario, a.common),
        AdminCommand::End(a) => (AdminOp::EndGame, a.common),
    };
    run_transaction_cli(
        common,
        |ctx| async move { admin(&ctx, op, &mut None).await },
    )
}

fn scope(symbol: Option<Ticker>) -> Scope {
    symbol.map_or(Scope::All, Scope::Symbol)
}

/// Does an administration request and reports it; a session's transaction goes in
/// `turn` (see [`Turn`]).
pub async fn admin(ctx: &Ctx, op: AdminOp, turn: &mut Option<Turn>) -> Result<Report, Failure> {
    let symbol = match &op {
        AdminOp::Open(s) | AdminOp::Halt(s) | AdminOp::Resume(s) | AdminOp::Close(s) => *s,
        _ => None,
    };
    if let Some(symbol) = symbol {
        ctx.check_symbol(symbol).await?;
    }
    let action = match op {
        AdminOp::Open(s) => AdminAction::Open(scope(s)),
        AdminOp::Halt(s) => AdminAction::Halt(scope(s)),
        AdminOp::Resume(s) => AdminAction::Resume(scope(s)),
        AdminOp::Close(s) => AdminAction::Close(scope(s)),
        AdminOp::News(text) => {
            let headline = text.trim().to_string();
            if headline.is_empty() {
                return Err(Failure::error("the headline is empty"));
            }
            if headline.len() > MAX_NEWS_BYTES {
                return Err(Failure::error(format!(
                    "the headline is {} bytes; the most is {MAX_NEWS_BYTES}",
                    headline.len()
                )));
            }
            AdminAction::News { headline }
        }
        AdminOp::AddParticipant {
            name,
            key,
            cash,
            role,
            holdings,
        } => {
            AdminAction::AddParticipant(participant(ctx, name, key, &cash, role, &holdings).await?)
        }
        AdminOp::RemoveNode(id) => AdminAction::RemoveNode { id },
        AdminOp::Suspend(who) => AdminAction::SuspendParticipant {
            key: participant_key(&ctx.genesis, &who)?,
        },
        AdminOp::Reinstate(who) => AdminAction::ReinstateParticipant {
            key: participant_key(&ctx.genesis, &who)?,
        },
        AdminOp::StartScenario => AdminAction::StartScenario,
        AdminOp::EndGame => AdminAction::EndGame,
        AdminOp::Membership(change) => return membership(ctx, change).await,
        AdminOp::AddNode(spec) => return add_node(ctx, spec, turn).await,
    };
    transact(ctx, TxBody::Admin(action), turn).await
}

/// A participant's key: `who` as a key (`qk1...`), or the genesis participant of that
/// name (any case).
fn participant_key(genesis: &Genesis, who: &str) -> Result<PublicKey, Failure> {
    let who = who.trim();
    if let Ok(key) = who.parse::<PublicKey>() {
        return Ok(key);
    }
    let folded = who.to_lowercase();
    genesis
        .participants
        .iter()
        .find(|p| p.name.to_lowercase() == folded)
        .map(|p| p.key)
        .ok_or_else(|| {
            Failure::error(format!(
                "the genesis names no participant {who:?}; give their key (qk1..., as `qraft keys show` prints it)"
            ))
        })
}

async fn participant(
    ctx: &Ctx,
    name: String,
    key: PublicKey,
    cash: &str,
    role: Role,
    holdings: &[String],
) -> Result<ParticipantSpec, Failure> {
    let name = name.trim().to_string();
    if name.is_empty() || name.len() > MAX_NAME_BYTES {
        return Err(Failure::error(format!(
            "a participant's name must be 1 to {MAX_NAME_BYTES} bytes"
        )));
    }
    let cash = parse_cents(cash).filter(|c| *c >= 0).ok_or_else(|| {
        Failure::error(format!(
            "{cash:?} is not an amount of dollars, like 10000 or 10,000.00"
        ))
    })?;
    let mut parsed: Vec<(Ticker, Shares)> = Vec::new();
    for holding in holdings {
        let (symbol, shares) = holding.split_once('=').ok_or_else(|| {
            Failure::error(format!("{holding:?} is not SYMBOL=SHARES, like ACME=100"))
        })?;
        let symbol = Ticker::new(symbol).map_err(|e| Failure::error(e.to_string()))?;
        let shares: Shares = shares.trim().parse().map_err(|_| {
            Failure::error(format!(
                "{holding:?}: {shares:?} is not a whole number of shares"
            ))
        })?;
        ctx.check_symbol(symbol).await?;
        if parsed.iter().any(|(s, _)| *s == symbol) {
            return Err(Failure::error(format!("{symbol} is given twice")));
        }
        parsed.push((symbol, shares));
    }
    Ok(ParticipantSpec {
        name,
        key,
        role,
        cash,
        holdings: parsed,
    })
}

/// How often to retry while no leader is known, and how many leader redirects to follow.
const NO_LEADER_RETRY: Duration = Duration::from_millis(200);
const MAX_REDIRECTS: u32 = 5;
/// How long to wait for a proposed membership change to show in the leader's status.
const APPLY_WAIT: Duration = Duration::from_secs(10);

fn change_name(change: MembershipChange) -> (&'static str, u64) {
    match change {
        MembershipChange::AddLearner(id) => ("add_learner", id),
        MembershipChange::Promote(id) => ("promote", id),
        MembershipChange::Remove(id) => ("remove", id),
    }
}

fn applied(change: MembershipChange, voters: &[u64], learners: &[u64]) -> bool {
    match change {
        MembershipChange::AddLearner(id) => learners.contains(&id),
        MembershipChange::Promote(id) => voters.contains(&id),
        MembershipChange::Remove(id) => !voters.contains(&id) && !learners.contains(&id),
    }
}

/// Proposes a membership change to the leader (following redirects to the leader's
/// genesis address), then waits briefly for it to take effect.
pub async fn membership(ctx: &Ctx, change: MembershipChange) -> Result<Report, Failure> {
    let (name, node) = change_name(change);
    let registry = registry(ctx).await?;
    let Some(spec) = registry.iter().find(|n| n.id == node) else {
        return Err(Failure::error(format!(
            "no node {node} is registered: the genesis names the nodes, and `qraft admin add-node` registers more"
        )));
    };
    if let MembershipChange::Promote(_) = change
        && let Some(why) = promotion_refusal(spec)
    {
        return Err(Failure::error(why));
    }
    let node_name = format!("node {node} ({})", spec.name);
    let deadline = tokio::time::Instant::now() + ctx.timeout;
    let mut leader_client: Option<Client> = None;
    let mut redirects = 0;
    loop {
        let client = leader_client.as_ref().unwrap_or(ctx.client());
        let proposal = query::membership(change);
        let answer = tokio::time::timeout_at(deadline, client.request(proposal.request())).await;
        match answer {
            Err(_) => {
                close(leader_client).await;
                return Err(Failure::unknown(format!(
                    "no answer within {}s: whether the change was proposed is unknown; check `qraft status`",
                    ctx.timeout.as_secs()
                )));
            }
            Ok(Ok(response)) => match proposal.read(response) {
                Ok(()) => break,
                Err(err) => {
                    close(leader_client).await;
                    return Err(query_failure(err));
                }
            },
            Ok(Err(ClientError::Refused(ProtocolError::NotLeader { leader: Some(id) })))
                if redirects < MAX_REDIRECTS =>
            {
                redirects += 1;
                let Some(spec) = registry.iter().find(|n| n.id == id) else {
                    close(leader_client).await;
                    return Err(Failure::error(format!(
                        "the leader is node {id}, which is not registered"
                    )));
                };
                let address = spec.address.clone();
                close(leader_client.take()).await;
                leader_client = Some(
                    connect_client(
                        &ctx.genesis,
                        &ctx.registered,
                        ctx.keypair(),
                        &[address],
                        ctx.timeout,
                    )
                    .await?,
                );
            }
            Ok(Err(ClientError::Refused(ProtocolError::NotLeader { .. })))
                if tokio::time::Instant::now() < deadline =>
            {
                tokio::time::sleep(NO_LEADER_RETRY).await;
            }
            Ok(Err(ClientError::Refused(err @ ProtocolError::NotLeader { .. }))) => {
                close(leader_client).await;
                return Err(Failure::error(format!("cannot reach the leader: {err}")));
            }
            Ok(Err(err)) => {
                close(leader_client).await;
                return Err(request_failure(err));
            }
        }
    }
    // Proposed: wait (briefly) until the leader's configuration shows it.
    let client = leader_client.as_ref().unwrap_or(ctx.client());
    let last = wait_for_membership(ctx, client, change).await;
    close(leader_client).await;
    let is_applied = last
        .as_ref()
        .is_some_and(|s| applied(change, &s.voters, &s.learners));
    let leader = last.as_ref().map(|s| s.id);
    let json = MembershipReport {
        change: name.to_string(),
        node,
        leader,
        applied: is_applied,
        voters: last.as_ref().map(|s| s.voters.clone()),
        learners: last.as_ref().map(|s| s.learners.clone()),
    };
    let what = match change {
        MembershipChange::AddLearner(_) => format!("{node_name} is a learner"),
        MembershipChange::Promote(_) => format!("{node_name} is a voter"),
        MembershipChange::Remove(_) => format!("{node_name} is removed from the cluster"),
    };
    let by = leader.map_or_else(String::new, |l| format!(" (by the leader, node {l})"));
    let human = if is_applied {
        format!("Done: {what}{by}")
    } else {
        format!(
            "Proposed{by}: {} {node_name}; not in effect yet, check `qraft status`",
            name.replace('_', " ")
        )
    };
    Ok(Report::new(json, human))
}

/// Waits (briefly) until `client`'s node shows `change` in effect; its last status.
async fn wait_for_membership(
    ctx: &Ctx,
    client: &Client,
    change: MembershipChange,
) -> Option<qraft_node::api::Status> {
    let wait_until = tokio::time::Instant::now() + APPLY_WAIT.min(ctx.timeout);
    let mut last = None;
    loop {
        if let Ok(Ok(status)) =
            tokio::time::timeout_at(wait_until, query::status().ask(client)).await
        {
            let done = applied(change, &status.voters, &status.learners);
            last = Some(status);
            if done {
                break;
            }
        }
        if tokio::time::Instant::now() >= wait_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    last
}

/// The nodes the ledger knows (genesis's and those the admin registered).
async fn registry(ctx: &Ctx) -> Result<Vec<NodeSpec>, Failure> {
    ctx.query(query::nodes()).await
}

/// Registers a node with an admin transaction, then waits (briefly) for the leader to
/// make it a learner.
async fn add_node(ctx: &Ctx, spec: NodeSpec, turn: &mut Option<Turn>) -> Result<Report, Failure> {
    if spec.name.is_empty() || spec.name.len() > MAX_NAME_BYTES {
        return Err(Failure::error(format!(
            "a node's name must be 1 to {MAX_NAME_BYTES} bytes"
        )));
    }
    let (id, name, address) = (spec.id, spec.name.clone(), spec.address.clone());
    let committed = submit(ctx, &TxBody::Admin(AdminAction::AddNode(spec)), turn).await?;
    if let Outcome::Rejected(reason) = &committed.receipt.outcome {
        return Err(Failure::rejected(reason.to_string()));
    }
    let status = wait_for_membership(ctx, ctx.client(), MembershipChange::AddLearner(id)).await;
    let is_learner = status.as_ref().is_some_and(|s| s.learners.contains(&id));
    let json = NodeRegistered {
        registered: id,
        name: name.clone(),
        address,
        height: committed.height,
        learner: is_learner,
    };
    let human = if is_learner {
        format!(
            "Done: node {id} ({name}) is registered in block {} and is a learner; start it with `id = {id}` in its node configuration",
            committed.height
        )
    } else {
        format!(
            "Registered node {id} ({name}) in block {}; the leader is adding it as a learner (check `qraft status`). Start it with `id = {id}` in its node configuration",
            committed.height
        )
    };
    Ok(Report::new(json, human))
}

async fn close(client: Option<Client>) {
    if let Some(client) = client {
        client.close().await;
    }
}
