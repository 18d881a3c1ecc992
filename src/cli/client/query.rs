//! The read-only commands: `book`, `portfolio`, `trades`, `leaderboard`, `blocks`,
//! `status` and `receipt`.

use std::io::Write;
use std::sync::Arc;

use clap::Args;
use qraft_client::protocol::command::RankBy;
use qraft_client::query;
use qraft_client::session::{Follow, Followed, Link, Policy};
use qraft_node::core::hash::Hash32;
use qraft_node::core::types::Ticker;
use qraft_node::net::proto::{BlockSummary, CommittedView, Event, MAX_BLOCKS_PER_REQUEST, Topics};

use super::connect::{
    CommonArgs, Ctx, follow_failure, not_a_participant, reconnected_json, reconnected_note, run_cli,
};
use super::output::{Failure, Report, json_line};
use super::render;

/// The most blocks `qraft blocks --last` lists.
pub const MAX_LAST_BLOCKS: u64 = 1_000;

#[derive(Debug, Args)]
pub struct BookArgs {
    /// The symbol, like ACME.
    pub symbol: Ticker,
    /// How many price levels per side.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub levels: u32,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_book(args: BookArgs) -> anyhow::Result<()> {
    run_cli(args.common, |ctx| async move {
        book(&ctx, args.symbol, args.levels).await
    })
}

/// A symbol's book, with its last price and session.
pub async fn book(ctx: &Ctx, symbol: Ticker, levels: u32) -> Result<Report, Failure> {
    let (depth, symbols) = tokio::join!(
        ctx.query(query::depth(symbol, levels)),
        ctx.query(query::symbols())
    );
    let Some(depth) = depth? else {
        return Err(Failure::error(format!(
            "there is no symbol {symbol} in this game"
        )));
    };
    let info = match symbols {
        Ok(list) => {
            ctx.learn_symbols(&list);
            list.into_iter().find(|s| s.ticker == symbol)
        }
        Err(_) => None,
    };
    let prices = ctx.prices([symbol]).await;
    Ok(render::book(&prices, &depth, info.as_ref()))
}

#[derive(Debug, Args)]
pub struct PortfolioArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_portfolio(args: PortfolioArgs) -> anyhow::Result<()> {
    run_cli(args.common, |ctx| async move { portfolio(&ctx).await })
}

/// Your own account.
pub async fn portfolio(ctx: &Ctx) -> Result<Report, Failure> {
    let Some(account) = ctx.query(query::account()).await? else {
        return Err(not_a_participant());
    };
    ctx.saw_nonce(account.last_nonce);
    let symbols = account
        .positions
        .iter()
        .map(|p| p.symbol)
        .chain(account.open_orders.iter().map(|o| o.symbol))
        .collect::<Vec<_>>();
    let prices = ctx.prices(symbols).await;
    Ok(render::portfolio(&prices, &account))
}

#[derive(Debug, Args)]
pub struct TradesArgs {
    /// Only this symbol's trades.
    pub symbol: Option<Ticker>,
    /// How many of the most recent trades.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_trades(args: TradesArgs) -> anyhow::Result<()> {
    run_cli(args.common, |ctx| async move {
        trades(&ctx, args.symbol, args.limit).await
    })
}

/// The most recent public trades, newest first.
pub async fn trades(ctx: &Ctx, symbol: Option<Ticker>, limit: u32) -> Result<Report, Failure> {
    if let Some(symbol) = symbol {
        ctx.check_symbol(symbol).await?;
    }
    let trades = ctx.query(query::trades(symbol, limit)).await?;
    let prices = ctx.prices(trades.iter().map(|t| t.symbol)).await;
    Ok(render::trades(&prices, &trades))
}

#[derive(Debug, Args)]
pub struct LeaderboardArgs {
    /// What to rank by: `return` since the start (the default), `rounds` (the average
    /// of each round's rank), or `worth` (net worth).
    #[arg(long, default_value = "return")]
    pub by: RankBy,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_leaderboard(args: LeaderboardArgs) -> anyhow::Result<()> {
    let by = args.by;
    run_cli(args.common, move |ctx| async move {
        leaderboard(&ctx, by).await
    })
}

pub async fn leaderboard(ctx: &Ctx, by: RankBy) -> Result<Report, Failure> {
    let rows = ctx.query(query::leaderboard()).await?;
    let hidden = rows.is_empty() && {
        let history = ctx.query(query::rules()).await?;
        history.last().is_some_and(|c| c.rules.leaderboard_hidden)
    };
    Ok(render::leaderboard(&rows, by.ranking(), hidden))
}

#[derive(Debug, Args)]
pub struct BlocksArgs {
    /// How many of the latest blocks to list.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=MAX_LAST_BLOCKS))]
    pub last: u64,
    /// Keep printing blocks as they arrive, until Ctrl-C. With --json: one
    /// {"event":"block",...} object per line. When the node is lost, carries on from
    /// another node of the game with no block missed or repeated (a note on stderr; with
    /// --json also an {"event":"reconnected",...} line); exits 1 when no node answers
    /// within --timeout.
    #[arg(long)]
    pub follow: bool,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_blocks(args: BlocksArgs) -> anyhow::Result<()> {
    let json = args.common.json;
    let (last, follow) = (args.last, args.follow);
    run_cli(args.common, |ctx| async move {
        if follow {
            follow_blocks(ctx, last, json).await
        } else {
            blocks(&ctx, last).await
        }
    })
}

/// The chain's height, as the connected node knows it.
async fn height(ctx: &Ctx) -> Result<u64, Failure> {
    Ok(ctx.query(query::status()).await?.height)
}

/// Blocks `from..=to`, in as many requests as it takes.
async fn block_range(ctx: &Ctx, from: u64, to: u64) -> Result<Vec<BlockSummary>, Failure> {
    let mut out = Vec::new();
    let mut next = from.max(1);
    while next <= to {
        let end = to.min(next + MAX_BLOCKS_PER_REQUEST - 1);
        let list = ctx.query(query::blocks(next, end)).await?;
        if list.is_empty() {
            break;
        }
        out.extend(list);
        next = end + 1;
    }
    Ok(out)
}

async fn latest_blocks(ctx: &Ctx, last: u64) -> Result<Vec<BlockSummary>, Failure> {
    let head = height(ctx).await?;
    if head == 0 {
        return Ok(Vec::new());
    }
    let last = last.clamp(1, MAX_LAST_BLOCKS);
    block_range(ctx, head.saturating_sub(last - 1), head).await
}

/// The latest `last` blocks, oldest first.
pub async fn blocks(ctx: &Ctx, last: u64) -> Result<Report, Failure> {
    Ok(render::blocks(&latest_blocks(ctx, last).await?))
}

/// Prints the latest blocks, then every new one as it arrives, until Ctrl-C (or
/// SIGTERM, or stdout closes).
///
/// When the node is lost, follows another (a [`Link`] keeps the connection up, and a
/// [`Follow`] the subscription), saying so on stderr (and with `--json`, as a
/// `{"event":"reconnected",...}` line on stdout), and carries on from the last block
/// printed: the blocks in between are fetched by height, so none is missed or printed
/// twice. Gives up (exit 1) when no node answers within `--timeout`.
async fn follow_blocks(ctx: Arc<Ctx>, last: u64, json: bool) -> Result<Report, Failure> {
    let mut printer = BlockPrinter { json, shown: 0 };
    if !json && !print_line(&render::blocks_header()) {
        return Ok(Report::done());
    }
    let (link, watcher) = Link::start(ctx, move |lost: &Ctx, now: &Ctx, why: &str| {
        eprintln!("{}", reconnected_note(lost, now));
        if json {
            print_line(&json_line(&reconnected_json(lost, now, why)));
        }
    });
    let stop = stop_signal();
    tokio::pin!(stop);
    let result = tokio::select! {
        () = &mut stop => Ok(Report::done()),
        followed = follow_link(&link, &mut printer, last) => followed,
    };
    watcher.abort();
    let _ = watcher.await;
    if let Ok(ctx) = link.current() {
        ctx.client().shutdown().await;
    }
    result
}

/// How `blocks --follow` follows: a node that drops the subscription (it fell behind)
/// has it opened again; any other end is the node lost, and it goes on from the next.
const FOLLOW_BLOCKS: Policy = Policy {
    reopen_dropped: true,
    end_is_loss: true,
};

/// Follows the blocks of the link's node, and of the next one when it is lost, until
/// stdout closes.
async fn follow_link(
    link: &Link<Ctx>,
    printer: &mut BlockPrinter,
    last: u64,
) -> Result<Report, Failure> {
    let topics = Topics {
        blocks: true,
        ..Topics::default()
    };
    let first = link.current()?;
    // Subscribe first, so no block falls between the listing and the stream.
    let follow = Follow::open(link.clone(), first, topics, FOLLOW_BLOCKS).await;
    let mut follow = follow.map_err(follow_failure)?;
    loop {
        let ctx = follow.session().clone();
        let asked = match catch_up(&ctx, printer, last).await {
            Ok(true) => print_new(&mut follow, printer).await?,
            other => other,
        };
        match asked {
            Ok(true) => {}
            Ok(false) => return Ok(Report::done()),
            // Asking the node failed as its connection was lost: go on from the next.
            Err(failure) if ctx.client().is_closed() => {
                let moved = follow.move_on(failure.message).await;
                moved.map_err(follow_failure)?;
            }
            Err(failure) => return Err(failure),
        }
    }
}

/// Prints the blocks since the last one printed (the latest ones at first); false once
/// stdout is closed.
async fn catch_up(ctx: &Ctx, printer: &mut BlockPrinter, last: u64) -> Result<bool, Failure> {
    let blocks = if printer.shown == 0 {
        latest_blocks(ctx, last).await?
    } else {
        block_range(ctx, printer.shown + 1, height(ctx).await?).await?
    };
    Ok(printer.print_all(&blocks))
}

/// Prints each new block `follow` brings (a gap, from a lagging subscription, filled by
/// height) until the subscription moves on or is opened again (`Ok(Ok(true))`: catch up
/// again) or stdout closes (`Ok(Ok(false))`). `Ok(Err(_))`: asking the node for a gap
/// failed; `Err(_)`: the subscription ended for good.
async fn print_new(
    follow: &mut Follow<Ctx>,
    printer: &mut BlockPrinter,
) -> Result<Result<bool, Failure>, Failure> {
    loop {
        let block = match follow.next().await.map_err(follow_failure)? {
            Followed::Event(Event::Block(block)) => block,
            Followed::Event(_) => continue,
            Followed::Reopened | Followed::Moved { .. } | Followed::Ended => return Ok(Ok(true)),
        };
        let height = block.header.height;
        if height > printer.shown + 1 {
            let ctx = follow.session().clone();
            let missing = match block_range(&ctx, printer.shown + 1, height - 1).await {
                Ok(missing) => missing,
                Err(failure) => return Ok(Err(failure)),
            };
            if !printer.print_all(&missing) {
                return Ok(Ok(false));
            }
        }
        if !printer.print(&block) {
            return Ok(Ok(false));
        }
    }
}

/// What `blocks --follow` has printed, and how it prints.
struct BlockPrinter {
    json: bool,
    /// The height of the last block printed (0: none yet).
    shown: u64,
}

impl BlockPrinter {
    /// Prints `block` unless it is not above the last one printed; false once stdout
    /// is closed.
    fn print(&mut self, block: &BlockSummary) -> bool {
        if block.header.height <= self.shown {
            return true;
        }
        let line = if self.json {
            json_line(&render::event_json(
                &Default::default(),
                &Event::Block(block.clone()),
            ))
        } else {
            render::block_line(block)
        };
        if !print_line(&line) {
            return false;
        }
        self.shown = block.header.height;
        true
    }

    fn print_all(&mut self, blocks: &[BlockSummary]) -> bool {
        blocks.iter().all(|block| self.print(block))
    }
}

fn print_line(line: &str) -> bool {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{line}").and_then(|()| out.flush()).is_ok()
}

/// Resolves on Ctrl-C or SIGTERM.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_status(args: StatusArgs) -> anyhow::Result<()> {
    run_cli(args.common, |ctx| async move { status(&ctx).await })
}

/// The connected node's role, term, leader, log indexes, height and peers.
pub async fn status(ctx: &Ctx) -> Result<Report, Failure> {
    let status = ctx.query(query::status()).await?;
    Ok(render::status(&status, ctx.client().node(), &ctx.genesis))
}

#[derive(Debug, Args)]
pub struct ReceiptArgs {
    /// The transaction's hash (64 hex digits), as a command that timed out printed it.
    pub tx: String,
    #[command(flatten)]
    pub common: CommonArgs,
}

pub fn run_receipt(args: ReceiptArgs) -> anyhow::Result<()> {
    run_cli(
        args.common,
        |ctx| async move { receipt(&ctx, &args.tx).await },
    )
}

/// A transaction's receipt, rendered as its submission would have been: accepted (exit
/// 0), rejected (exit 3), or not applied (yet) on this node (exit 4).
pub async fn receipt(ctx: &Ctx, tx: &str) -> Result<Report, Failure> {
    let hash = Hash32::from_hex(tx).ok_or_else(|| {
        Failure::error(format!("{tx:?} is not a transaction hash (64 hex digits)"))
    })?;
    let Some(found) = ctx.query(query::receipt(hash)).await? else {
        return Err(Failure::unknown(format!(
            "{} has no receipt for transaction {hash}: it has not been applied (yet); ask again, or ask another node",
            ctx.client().node()
        ))
        .with("tx", hash.to_hex()));
    };
    let Some(block) = ctx.query(query::block(found.height)).await? else {
        return Err(Failure::error(format!(
            "the node lacks block {} that holds the receipt",
            found.height
        )));
    };
    let body = block
        .txs
        .get(found.index as usize)
        .map(|t| t.tx.body.clone())
        .ok_or_else(|| Failure::error("the receipt points past the end of its block"))?;
    let committed = CommittedView {
        height: found.height,
        block_hash: block.hash(),
        index: found.index,
        receipt: found.receipt,
    };
    let prices = ctx.prices(render::symbols_of(&body, &committed)).await;
    render::outcome(&prices, &body, &committed)
}
