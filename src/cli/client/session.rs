//! `qraft session --jsonl`: commands on stdin, results and events on stdout, one JSON
//! object a line, so a bot in any language trades through one child process. The
//! protocol is documented in docs/session.md.
//!
//! Every command runs in its own task (a slow order never holds up a book query); its
//! result carries the command's `id`. A malformed line gets an error result and the
//! session goes on. At the end of stdin the session waits for the commands in flight,
//! then exits 0.
//!
//! When its node is lost, the session moves to another (see
//! [`qraft_client::session::Link`]): commands
//! that did nothing yet run again there, transactions that may have been sent are looked
//! up by hash, and the subscription is opened again.

use std::io::{BufRead, Write};
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use clap::Args;
use qraft_client::protocol::command::price_text;
use qraft_client::protocol::result::{Subscribed, TopicsReport, Unsubscribed};
use qraft_client::protocol::{self, AdminName, Command, ResultLine};
use qraft_client::session::{Follow, Followed, Link, Policy, Sequencer, Turn};
use qraft_node::api::MembershipChange;
use qraft_node::core::genesis::NodeSpec;
use qraft_node::core::types::Role;
use qraft_node::net::proto::Topics;
use serde::Serialize;
use serde_json::Value;
use tokio::sync::{Semaphore, mpsc};
use tokio::task::{JoinHandle, JoinSet};

use super::admin::{AdminOp, admin};
use super::connect::{
    ConnectArgs, Ctx, follow_ended, follow_failure, reconnected_json, runtime, watcher_down,
};
use super::order::{CancelTarget, OrderSpec, cancel, place};
use super::output::{Failure, Report, Status, json_line};
use super::query;
use super::render;
use super::settle::settle;

/// The session's exit codes, for its `--help`.
pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  the end of stdin was reached (whatever the commands' results were)
  1  could not connect (a JSON failure line on stdout says why), or lost the node and
     no node of the game answered within --timeout ({\"event\":\"disconnected\",...})
  2  usage error (wrong options)

When the node is lost the session moves to another one ({\"event\":\"reconnected\",...})
and every command still gets its one result line.

Each command's result carries its own \"code\" (1, 2, 3 or 4, as for the one-shot
commands). The protocol, with examples: docs/session.md.";

/// The most commands in flight at once; reading stdin waits beyond it.
const MAX_IN_FLIGHT: usize = 256;
/// The longest command line accepted, in bytes.
const MAX_LINE: usize = 64 * 1024;

#[derive(Debug, Args)]
pub struct SessionArgs {
    /// JSON lines on stdin and stdout (the only mode so far; required).
    #[arg(long, required = true)]
    pub jsonl: bool,
    #[command(flatten)]
    pub connect: ConnectArgs,
}

/// A parsed line: its id (echoed in the result), its command name, and the command or
/// why it is malformed.
#[derive(Debug)]
pub struct Line {
    pub id: Option<Value>,
    pub cmd: Option<String>,
    pub command: Result<Command, Failure>,
}

/// Parses one input line (see [`protocol::Line::parse`]). Never fails: a malformed line
/// becomes a usage failure to report.
pub fn parse_line(text: &str) -> Line {
    let line = protocol::Line::parse(text);
    Line {
        id: line.id,
        cmd: line.cmd,
        command: line.command.map_err(|err| Failure::usage(err.to_string())),
    }
}

/// A result line: the report or failure, with the command's id and name.
pub fn result_json(
    id: Option<Value>,
    cmd: Option<&str>,
    result: Result<Report, Failure>,
) -> ResultLine {
    let body = match result {
        Ok(report) => report.json,
        Err(failure) => failure.to_json(),
    };
    ResultLine {
        id,
        cmd: cmd.map(str::to_string),
        body,
    }
}

/// Lines for stdout, written in order by one thread.
#[derive(Clone)]
struct Out(std_mpsc::Sender<String>);

impl Out {
    fn start() -> (Out, std::thread::JoinHandle<()>) {
        let (sender, receiver) = std_mpsc::channel::<String>();
        let writer = std::thread::spawn(move || {
            let stdout = std::io::stdout();
            while let Ok(line) = receiver.recv() {
                let mut out = stdout.lock();
                if writeln!(out, "{line}").is_err() {
                    return;
                }
                // Write what else is waiting before flushing.
                while let Ok(line) = receiver.try_recv() {
                    if writeln!(out, "{line}").is_err() {
                        return;
                    }
                }
                if out.flush().is_err() {
                    return;
                }
            }
        });
        (Out(sender), writer)
    }

    fn send(&self, line: &impl Serialize) {
        let _ = self.0.send(json_line(line));
    }
}

/// Reads stdin on its own thread, a line at a time, into a channel (closed at EOF).
fn read_stdin() -> mpsc::Receiver<Result<String, String>> {
    let (sender, receiver) = mpsc::channel(64);
    std::thread::spawn(move || {
        let stdin = std::io::stdin();
        let mut input = stdin.lock();
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            let line = match input.read_until(b'\n', &mut buffer) {
                Ok(0) => return,
                Ok(_) if buffer.len() > MAX_LINE => Err(format!(
                    "the line is {} bytes; the most is {MAX_LINE}",
                    buffer.len()
                )),
                Ok(_) => String::from_utf8(std::mem::take(&mut buffer))
                    .map_err(|_| "the line is not UTF-8 text".to_string()),
                Err(err) => {
                    let _ = sender.blocking_send(Err(format!("cannot read stdin: {err}")));
                    return;
                }
            };
            if sender.blocking_send(line).is_err() {
                return;
            }
        }
    });
    receiver
}

pub fn run(args: SessionArgs) -> anyhow::Result<()> {
    let result = runtime().and_then(|runtime| runtime.block_on(session(args.connect)));
    result.map_err(anyhow::Error::new)
}

async fn session(connect: ConnectArgs) -> Result<(), Failure> {
    let (out, writer) = Out::start();
    let ctx = match Ctx::connect(&connect).await {
        Ok(ctx) => ctx,
        Err(failure) => {
            out.send(&failure.to_line());
            drop(out);
            let _ = writer.join();
            return Err(failure);
        }
    };
    out.send(&ready(&ctx));
    let announce = out.clone();
    let (link, watcher) = Link::start(ctx, move |lost: &Ctx, now: &Ctx, why: &str| {
        announce.send(&reconnected_json(lost, now, why));
    });
    let mut lines = read_stdin();
    let mut tasks = JoinSet::new();
    let permits = Arc::new(Semaphore::new(MAX_IN_FLIGHT));
    let sequencer = Sequencer::default();
    let mut subscription: Option<JoinHandle<()>> = None;
    let mut gave_up = None;
    loop {
        let line = tokio::select! {
            line = lines.recv() => line,
            failure = link.down() => {
                out.send(&disconnected(&failure));
                gave_up = Some(failure);
                break;
            }
        };
        let Some(line) = line else { break };
        while tasks.try_join_next().is_some() {}
        let line = match line {
            Ok(line) => line,
            Err(message) => {
                out.send(&result_json(None, None, Err(Failure::usage(message))));
                continue;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        let Line { id, cmd, command } = parse_line(&line);
        let command = match command {
            Ok(command) => command,
            Err(failure) => {
                out.send(&result_json(id, cmd.as_deref(), Err(failure)));
                continue;
            }
        };
        let name = command.name();
        match command {
            Command::Subscribe {
                blocks,
                trades,
                fills,
                book,
            } => {
                if let Some(old) = subscription.take() {
                    old.abort();
                }
                let topics = Topics {
                    blocks,
                    trades,
                    book,
                    fills,
                };
                let result = match subscribe(&link, topics, out.clone()).await {
                    Ok(task) => {
                        subscription = Some(task);
                        let topics = TopicsReport {
                            blocks,
                            trades,
                            fills,
                            book,
                        };
                        Ok(Report::new(Subscribed { topics }, ""))
                    }
                    Err(failure) => Err(failure),
                };
                out.send(&result_json(id, Some(name), result));
            }
            Command::Unsubscribe {} => {
                let was = subscription.take().inspect(JoinHandle::abort).is_some();
                out.send(&result_json(
                    id,
                    Some(name),
                    Ok(Report::new(
                        Unsubscribed {
                            was_subscribed: was,
                        },
                        "",
                    )),
                ));
            }
            command => {
                let permit = permits
                    .clone()
                    .acquire_owned()
                    .await
                    .expect("the semaphore is never closed");
                let link = link.clone();
                let out = out.clone();
                // Transactions keep the order their lines were read in.
                let turn = command.is_transaction().then(|| sequencer.turn());
                tasks.spawn(async move {
                    let result = run_command(&link, command, turn).await;
                    out.send(&result_json(id, Some(name), result));
                    drop(permit);
                });
            }
        }
    }
    // End of input (or no node left): finish what is in flight, then stop.
    while tasks.join_next().await.is_some() {}
    if let Some(task) = subscription.take() {
        task.abort();
        let _ = task.await;
    }
    watcher.abort();
    let _ = watcher.await;
    if let Ok(ctx) = link.current() {
        ctx.client().shutdown().await;
    }
    drop(out);
    let _ = writer.join();
    gave_up.map_or(Ok(()), Err)
}

/// `{"event":"ready",...}`: connected, reading commands.
fn ready(ctx: &Ctx) -> protocol::Event {
    protocol::Event::Ready {
        node: ctx.client().node().to_string(),
        key: ctx.key().to_string(),
        game: ctx.genesis.game.clone(),
        chain_id: ctx.genesis.chain_id().to_string(),
    }
}

/// `{"event":"disconnected","error":"..."}`: no node answered; the session ends.
fn disconnected(failure: &Failure) -> protocol::Event {
    protocol::Event::Disconnected {
        error: failure.message.clone(),
    }
}

/// `{"event":"closed","error":"..."}`: the subscription ended for good.
fn closed(error: &str) -> protocol::Event {
    protocol::Event::Closed {
        error: error.to_string(),
    }
}

/// How the session follows its subscription: a node that drops it (it fell behind) has
/// it opened again; any other end is the node lost, and it goes on from the next one.
const FOLLOW: Policy = Policy {
    reopen_dropped: true,
    end_is_loss: true,
};

/// Opens a subscription on the session's connection and forwards its events to stdout
/// until it ends; when the connection is replaced, opens it again on the new one.
async fn subscribe(link: &Link<Ctx>, topics: Topics, out: Out) -> Result<JoinHandle<()>, Failure> {
    let ctx = link.current()?;
    let follow = Follow::open(link.clone(), ctx, topics, FOLLOW).await;
    let follow = follow.map_err(follow_failure)?;
    Ok(tokio::spawn(forward(follow, out)))
}

/// Forwards events to stdout until the subscription ends for good (the link says when
/// it moved to another node).
async fn forward(mut follow: Follow<Ctx>, out: Out) {
    loop {
        match follow.next().await {
            Ok(Followed::Event(event)) => {
                let prices = follow.session().prices(render::event_symbols(&event)).await;
                out.send(&render::event_json(&prices, &event));
            }
            Ok(Followed::Reopened | Followed::Moved { .. } | Followed::Ended) => {}
            Err(err) => {
                out.send(&closed(&follow_ended(err)));
                return;
            }
        }
    }
}

/// The most times a command is run again on a new connection after losing its own.
const MAX_RERUNS: u32 = 3;

/// Runs `command` on the session's connection. When that connection is lost under it:
/// a command that did nothing yet (a query, a transaction not sent) runs again on the
/// next connection; a transaction that may have been sent is settled (see [`settle`]):
/// its result is its receipt, or that it was not applied, or (rarely) unknown. So is a
/// transaction whose node did not answer in time.
/// A transaction goes in `turn`: signed and written once every transaction read before
/// it has been; a rerun goes without it.
async fn run_command(
    link: &Link<Ctx>,
    command: Command,
    turn: Option<Turn>,
) -> Result<Report, Failure> {
    let mut turn = turn;
    let mut reruns = 0;
    loop {
        let ctx = link.current()?;
        let failure = match execute(&ctx, command.clone(), &mut turn).await {
            Err(failure) if is_lost(link, &ctx) => failure,
            // A transaction whose node did not answer in time: settled like one in flight
            // on a lost connection. (A `receipt` query's "unknown" is its answer.)
            Err(failure) if failure.status == Status::Unknown && command.is_transaction() => {
                failure
            }
            other => return other,
        };
        match after_loss(&failure) {
            AfterLoss::LookUp(tx) => return settle(link, ctx, &tx, failure).await,
            AfterLoss::Rerun if !is_lost(link, &ctx) => return Err(failure),
            AfterLoss::Rerun if reruns < MAX_RERUNS => {
                reruns += 1;
                // Wait for the next connection; none: this failure stands.
                if after(link, &ctx).await.is_err() {
                    return Err(failure);
                }
            }
            AfterLoss::Rerun | AfterLoss::Stands => return Err(failure),
        }
    }
}

/// Whether `ctx`'s connection is lost (closed, or replaced already).
fn is_lost(link: &Link<Ctx>, ctx: &Arc<Ctx>) -> bool {
    link.is_lost(ctx)
}

/// The connection that replaces `lost`, once there is one; or why there is none.
async fn after(link: &Link<Ctx>, lost: &Arc<Ctx>) -> Result<Arc<Ctx>, Failure> {
    link.after(lost).await.map_err(watcher_down)
}

/// What to do about a command that failed as its connection was lost.
#[derive(Debug, PartialEq)]
enum AfterLoss {
    /// A transaction that may have been sent: settle its outcome (hash in hex).
    LookUp(String),
    /// Nothing happened: run it again.
    Rerun,
    /// The failure is the answer (refused, rejected, or unknown without a hash).
    Stands,
}

fn after_loss(failure: &Failure) -> AfterLoss {
    match failure.status {
        Status::Unknown => match failure.details.get("tx").and_then(Value::as_str) {
            Some(tx) => AfterLoss::LookUp(tx.to_string()),
            None => AfterLoss::Stands,
        },
        // A failure to do something at all: nothing was sent, or the node answered that
        // it took nothing.
        Status::Error => AfterLoss::Rerun,
        Status::Usage | Status::Refused | Status::Rejected => AfterLoss::Stands,
    }
}

/// A price given as "12.50" or 12.5; anything else is a usage failure.
fn price(value: &Value) -> Result<String, Failure> {
    price_text(value).map_err(|err| Failure::usage(err.to_string()))
}

/// Runs one command (not subscribe/unsubscribe) with the shared client code.
async fn execute(ctx: &Ctx, command: Command, turn: &mut Option<Turn>) -> Result<Report, Failure> {
    match command {
        Command::Order {
            side,
            symbol,
            qty,
            limit,
            ioc,
        } => {
            let limit = limit
                .filter(|v| !v.is_null())
                .map(|v| price(&v))
                .transpose()?;
            place(
                ctx,
                OrderSpec {
                    side,
                    symbol,
                    quantity: qty,
                    limit,
                    ioc,
                },
                turn,
            )
            .await
        }
        Command::Cancel { order, all, symbol } => {
            let target = match (order, all) {
                (Some(order), false) if symbol.is_none() => CancelTarget::One(order),
                (None, true) => CancelTarget::All(symbol),
                _ => {
                    return Err(Failure::usage(
                        "cancel takes either \"order\": ID, or \"all\": true (with an optional \"symbol\")",
                    ));
                }
            };
            cancel(ctx, target, turn).await
        }
        Command::Book { symbol, levels } => {
            query::book(ctx, symbol, levels.unwrap_or(10).clamp(1, 100)).await
        }
        Command::Portfolio {} => query::portfolio(ctx).await,
        Command::Trades { symbol, limit } => {
            query::trades(ctx, symbol, limit.unwrap_or(20).clamp(1, 1000)).await
        }
        Command::Leaderboard { by } => query::leaderboard(ctx, by).await,
        Command::Rules {} => super::rules::rules(ctx).await,
        Command::Blocks { last } => {
            query::blocks(ctx, last.unwrap_or(10).clamp(1, query::MAX_LAST_BLOCKS)).await
        }
        Command::Status {} => query::status(ctx).await,
        Command::Receipt { tx } => query::receipt(ctx, &tx).await,
        Command::Admin {
            action,
            symbol,
            text,
            name,
            key,
            cash,
            role,
            holdings,
            node,
            address,
        } => {
            let need = |what: &str| Failure::usage(format!("admin {action:?} needs \"{what}\""));
            let node = || node.ok_or_else(|| need("node"));
            let op = match action {
                AdminName::Open => AdminOp::Open(symbol),
                AdminName::Halt => AdminOp::Halt(symbol),
                AdminName::Resume => AdminOp::Resume(symbol),
                AdminName::Close => AdminOp::Close(symbol),
                AdminName::News => AdminOp::News(text.ok_or_else(|| need("text"))?),
                AdminName::AddParticipant => {
                    let key = key.ok_or_else(|| need("key"))?;
                    AdminOp::AddParticipant {
                        name: name.ok_or_else(|| need("name"))?,
                        key: key
                            .parse()
                            .map_err(|e| Failure::usage(format!("\"key\": {e}")))?,
                        cash: price(&cash.ok_or_else(|| need("cash"))?)?,
                        role: role.unwrap_or(Role::Trader),
                        holdings,
                    }
                }
                AdminName::Suspend | AdminName::Reinstate => {
                    let who = key.or(name).ok_or_else(|| need("name\" or \"key"))?;
                    if action == AdminName::Suspend {
                        AdminOp::Suspend(who)
                    } else {
                        AdminOp::Reinstate(who)
                    }
                }
                AdminName::AddNode => {
                    let key = key.ok_or_else(|| need("key"))?;
                    AdminOp::AddNode(NodeSpec {
                        id: node()?,
                        name: name.ok_or_else(|| need("name"))?.trim().to_string(),
                        key: key
                            .parse()
                            .map_err(|e| Failure::usage(format!("\"key\": {e}")))?,
                        address: address.ok_or_else(|| need("address"))?.trim().to_string(),
                    })
                }
                AdminName::AddLearner => AdminOp::Membership(MembershipChange::AddLearner(node()?)),
                AdminName::Promote => AdminOp::Membership(MembershipChange::Promote(node()?)),
                AdminName::Remove => AdminOp::RemoveNode(node()?),
            };
            admin(ctx, op, turn).await
        }
        Command::Subscribe { .. } | Command::Unsubscribe {} => Err(Failure::usage(
            "subscribe and unsubscribe are handled by the session itself",
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn lines_parse_into_commands_or_usage_failures() {
        let line = parse_line(r#"{"id":1,"cmd":"book","symbol":"ACME","levels":2}"#);
        assert_eq!(line.id, Some(json!(1)));
        assert_eq!(line.cmd.as_deref(), Some("book"));
        assert!(matches!(
            line.command,
            Ok(Command::Book {
                levels: Some(2),
                ..
            })
        ));
        let line = parse_line("not json");
        assert_eq!(line.id, None);
        assert_eq!(line.command.unwrap_err().code(), 2);
        let line = parse_line(r#"{"id":9}"#);
        assert!(line.command.unwrap_err().message.contains("no \"cmd\""));
    }

    #[test]
    fn results_carry_id_and_cmd() {
        let ok = result_json(
            Some(json!(1)),
            Some("book"),
            Ok(Report::new(json!({"symbol": "ACME"}), "")),
        );
        assert_eq!(
            serde_json::to_value(&ok).unwrap(),
            json!({"id": 1, "cmd": "book", "ok": true, "symbol": "ACME"})
        );
        let err = result_json(
            Some(json!("a")),
            Some("order"),
            Err(Failure::rejected("the market is closed")),
        );
        assert_eq!(
            json_line(&err),
            r#"{"cmd":"order","code":3,"error":"the market is closed","id":"a","ok":false,"status":"rejected"}"#
        );
    }

    #[test]
    fn prices_may_be_strings_or_numbers() {
        assert_eq!(price(&json!("12.50")).unwrap(), "12.50");
        assert_eq!(price(&json!(12.5)).unwrap(), "12.5");
        assert_eq!(price(&json!(true)).unwrap_err().code(), 2);
    }
}
