//! One rendering of everything a client shows, as text for people and as JSON for
//! programs (the types of [`qraft_client::protocol`]), shared by the one-shot commands
//! and `session --jsonl`, so both give the same JSON shapes (documented in
//! docs/session.md).

use std::fmt::Write as _;
use std::net::SocketAddr;

use qraft_client::describe;
use qraft_client::protocol;
use qraft_client::protocol::event::Fill as FillEvent;
use qraft_client::protocol::report::{
    BlockHeader, Blocks, Book, Leaderboard, Level, NodeStatus, OpenOrder, Peer, Portfolio,
    Position, Ranked, RoundRank, Trade, Trades,
};
use qraft_client::protocol::result::{
    AdminReport, CancelledOrder, Holding, OrderFill, OrderReport, TxAccepted,
};
use qraft_node::api::Status;
use qraft_node::core::exchange::receipt::{Effect, Fill, OrderResult, Outcome, PublicTrade};
use qraft_node::core::exchange::scoring::{Ranking, rerank};
use qraft_node::core::exchange::views::{
    AccountView, DepthLevel, DepthView, LeaderboardRow, SymbolView,
};
use qraft_node::core::genesis::Genesis;
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, Scope, TxBody};
use qraft_node::core::types::{Role, Ticker, Ticks};
use qraft_node::net::proto::{BlockSummary, CommittedView, Event, OwnFill};

use super::market::Prices;
use super::output::{Failure, Report, clock, count, date_time, dollars, usd, variant_name};

/// Hex digits of a hash shown to people.
const HASH_PREFIX: usize = 12;

fn cents_i64(cents: i128) -> i64 {
    cents.clamp(i64::MIN as i128, i64::MAX as i128) as i64
}

/// Symbols whose tick size rendering `body`'s outcome needs.
pub fn symbols_of(body: &TxBody, _committed: &CommittedView) -> Vec<Ticker> {
    match body {
        TxBody::Order(order) => vec![order.symbol],
        TxBody::CancelAll {
            symbol: Some(symbol),
        } => vec![*symbol],
        TxBody::Admin(AdminAction::ListSymbol(spec)) => vec![spec.ticker],
        _ => Vec::new(),
    }
}

// --- Transactions ------------------------------------------------------------------------

/// A transaction's receipt: accepted is a report, rejected a failure (exit 3) carrying the
/// same block coordinates.
pub fn outcome(prices: &Prices, body: &TxBody, c: &CommittedView) -> Result<Report, Failure> {
    let mut base = TxAccepted {
        status: "accepted".into(),
        tx: c.receipt.tx.to_hex(),
        height: c.height,
        block: c.block_hash.to_hex(),
        index: c.index,
        effect: String::new(),
        order: None,
        cancelled: None,
        admin: None,
    };
    let effect = match &c.receipt.outcome {
        Outcome::Rejected(rejection) => {
            return Err(Failure::rejected(rejection.to_string())
                .with("reason", variant_name(rejection))
                .with("tx", c.receipt.tx.to_hex())
                .with("height", c.height)
                .with("block", c.block_hash.to_hex())
                .with("index", c.index));
        }
        Outcome::Accepted(effect) => effect,
    };
    let human = match (effect, body) {
        (Effect::Order(result), TxBody::Order(order)) => {
            base.effect = "order".into();
            base.order = Some(order_json(prices, order, result));
            order_text(prices, order, result, c.height)
        }
        (Effect::Cancelled(cancelled), _) => {
            base.effect = "cancel".into();
            base.cancelled = Some(
                cancelled
                    .iter()
                    .map(|&(order, shares)| CancelledOrder { order, shares })
                    .collect(),
            );
            describe::cancel_text(cancelled, c.height)
        }
        (Effect::Admin, TxBody::Admin(action)) => {
            base.effect = "admin".into();
            base.admin = Some(admin_json(action));
            format!("{} (block {})", admin_text(action), c.height)
        }
        (effect, _) => {
            base.effect = variant_name(effect);
            format!("Accepted in block {}", c.height)
        }
    };
    Ok(Report::new(&base, human))
}

fn order_type(kind: OrderKind) -> (&'static str, Option<Ticks>) {
    match kind {
        OrderKind::Limit { price } => ("limit", Some(price)),
        OrderKind::ImmediateOrCancel { price } => ("ioc", Some(price)),
        OrderKind::Market => ("market", None),
    }
}

fn traded_cents(prices: &Prices, symbol: Ticker, fills: &[Fill]) -> i128 {
    fills
        .iter()
        .map(|f| prices.cents(symbol, f.price) * f.quantity as i128)
        .sum()
}

/// The `order` object of an order's outcome.
pub fn order_json(prices: &Prices, order: &NewOrder, result: &OrderResult) -> OrderReport {
    let symbol = order.symbol;
    let (kind, limit) = order_type(order.kind);
    let filled = result.filled();
    let state = if filled >= order.quantity {
        "filled"
    } else if result.resting > 0 {
        "resting"
    } else {
        "cancelled"
    };
    let value = traded_cents(prices, symbol, &result.fills);
    OrderReport {
        id: result.order,
        symbol,
        side: order.side,
        kind: kind.into(),
        quantity: order.quantity,
        limit: limit.map(|p| prices.dollars(symbol, p)),
        limit_ticks: limit,
        state: state.into(),
        filled,
        resting: result.resting,
        cancelled: result.cancelled,
        cancel_reason: result.cancel_reason.map(variant_name),
        value: dollars(value),
        value_cents: cents_i64(value),
        fills: result
            .fills
            .iter()
            .map(|f| OrderFill {
                price: prices.dollars(symbol, f.price),
                price_ticks: f.price,
                quantity: f.quantity,
                resting_order: f.resting_order,
            })
            .collect(),
    }
}

/// What an accepted order did, in a sentence.
pub fn order_text(prices: &Prices, order: &NewOrder, result: &OrderResult, height: u64) -> String {
    describe::order_text(order, result, height, prices.tick(order.symbol))
}

fn scope_json(scope: &Scope) -> Option<Ticker> {
    match scope {
        Scope::All => None,
        Scope::Symbol(s) => Some(*s),
    }
}

/// The `admin` object of an administration transaction's outcome.
pub fn admin_json(action: &AdminAction) -> AdminReport {
    match action {
        AdminAction::Open(s) => AdminReport::Open {
            symbol: scope_json(s),
        },
        AdminAction::Halt(s) => AdminReport::Halt {
            symbol: scope_json(s),
        },
        AdminAction::Resume(s) => AdminReport::Resume {
            symbol: scope_json(s),
        },
        AdminAction::Close(s) => AdminReport::Close {
            symbol: scope_json(s),
        },
        AdminAction::AddParticipant(p) => AdminReport::AddParticipant {
            name: p.name.clone(),
            key: p.key.to_string(),
            role: p.role,
            cash: dollars(p.cash as i128),
            cash_cents: p.cash,
            holdings: p
                .holdings
                .iter()
                .map(|&(symbol, shares)| Holding { symbol, shares })
                .collect(),
        },
        AdminAction::News { headline } => AdminReport::News {
            headline: headline.clone(),
        },
        other => AdminReport::Other {
            action: variant_name(other),
        },
    }
}

/// What an administration transaction did: the dashboard's sentence for market sessions
/// and news; here also the new participant's key, and the action's name for the rest.
fn admin_text(action: &AdminAction) -> String {
    match action {
        AdminAction::Open(_)
        | AdminAction::Halt(_)
        | AdminAction::Resume(_)
        | AdminAction::Close(_)
        | AdminAction::News { .. }
        | AdminAction::RemoveNode { .. }
        | AdminAction::SetNodeAddress { .. }
        | AdminAction::SetRules(_) => describe::admin_text(action),
        AdminAction::AddParticipant(p) => format!(
            "Added {} ({}) with {} cash, key {}",
            p.name,
            p.role,
            usd(p.cash as i128),
            p.key
        ),
        AdminAction::SuspendParticipant { key } => format!(
            "Suspended {key}: every node closes their connections and refuses them until reinstated"
        ),
        AdminAction::ReinstateParticipant { key } => {
            format!("Reinstated {key}: they may connect and trade again")
        }
        other => format!("Done: {}", variant_name(other).replace('_', " ")),
    }
}

// --- Market data -------------------------------------------------------------------------

fn level_json(prices: &Prices, symbol: Ticker, level: &DepthLevel) -> Level {
    Level {
        price: prices.dollars(symbol, level.price),
        price_ticks: level.price,
        quantity: level.quantity,
        orders: level.orders,
    }
}

/// A symbol's book, both sides, with its market summary when known.
pub fn book(prices: &Prices, depth: &DepthView, info: Option<&SymbolView>) -> Report {
    let symbol = depth.symbol;
    let levels = |side: &[DepthLevel]| -> Vec<Level> {
        side.iter().map(|l| level_json(prices, symbol, l)).collect()
    };
    let json = Book {
        symbol,
        name: info.map(|i| i.name.clone()),
        session: info.map(|i| i.session),
        tick_size_cents: prices.tick_size(symbol),
        last: info
            .and_then(|i| i.last_price)
            .map(|p| prices.dollars(symbol, p)),
        last_ticks: info.and_then(|i| i.last_price),
        volume: info.map(|i| i.volume),
        bids: levels(&depth.bids),
        asks: levels(&depth.asks),
    };
    let mut text = String::new();
    let _ = write!(text, "{symbol}");
    if let Some(info) = info {
        let _ = write!(text, "  {}  market {}", info.name, info.session);
        match info.last_price {
            Some(last) => {
                let _ = write!(text, "  last {}", prices.usd(symbol, last));
            }
            None => text.push_str("  no trades yet"),
        }
    }
    text.push('\n');
    if depth.bids.is_empty() && depth.asks.is_empty() {
        text.push_str("The book is empty.");
    } else {
        let _ = writeln!(
            text,
            "{:>6} {:>9} {:>11}  |  {:<11} {:>9} {:>6}",
            "orders", "shares", "bid", "ask", "shares", "orders"
        );
        for i in 0..depth.bids.len().max(depth.asks.len()) {
            let bid = depth.bids.get(i).map_or_else(
                || format!("{:>6} {:>9} {:>11}", "", "", ""),
                |l| {
                    format!(
                        "{:>6} {:>9} {:>11}",
                        l.orders,
                        count(l.quantity as i128),
                        prices.usd(symbol, l.price)
                    )
                },
            );
            let ask = depth.asks.get(i).map_or_else(String::new, |l| {
                format!(
                    "{:<11} {:>9} {:>6}",
                    prices.usd(symbol, l.price),
                    count(l.quantity as i128),
                    l.orders
                )
            });
            let _ = writeln!(text, "{bid}  |  {ask}");
        }
    }
    Report::new(json, text)
}

/// The caller's account: cash, positions, open orders, net worth.
pub fn portfolio(prices: &Prices, a: &AccountView) -> Report {
    let json = Portfolio {
        name: a.name.clone(),
        key: a.key.to_string(),
        role: a.role,
        suspended: a.suspended,
        cash: dollars(a.cash as i128),
        cash_cents: a.cash,
        cash_reserved: dollars(a.cash_reserved as i128),
        cash_reserved_cents: a.cash_reserved,
        net_worth: dollars(a.net_worth as i128),
        net_worth_cents: a.net_worth,
        last_nonce: a.last_nonce,
        positions: a
            .positions
            .iter()
            .map(|p| Position {
                symbol: p.symbol,
                shares: p.shares,
                reserved: p.reserved,
                mark_price: prices.dollars(p.symbol, p.mark_price),
                mark_price_ticks: p.mark_price,
                value: dollars(p.value as i128),
                value_cents: p.value,
            })
            .collect(),
        open_orders: a
            .open_orders
            .iter()
            .map(|o| OpenOrder {
                id: o.id,
                symbol: o.symbol,
                side: o.side,
                price: prices.dollars(o.symbol, o.price),
                price_ticks: o.price,
                remaining: o.remaining,
                original: o.original,
                placed_height: o.placed_height,
            })
            .collect(),
    };
    let mut text = String::new();
    let _ = write!(text, "{} ({})", a.name, a.role);
    if a.suspended {
        text.push_str("  SUSPENDED by the game's admin");
    }
    text.push('\n');
    let _ = write!(text, "Cash:        {}", usd(a.cash as i128));
    if a.cash_reserved > 0 {
        let _ = write!(
            text,
            " ({} held for open buy orders)",
            usd(a.cash_reserved as i128)
        );
    }
    text.push('\n');
    if a.positions.is_empty() {
        text.push_str("Positions:   none\n");
    } else {
        text.push_str("Positions:\n");
        for p in &a.positions {
            let _ = write!(
                text,
                "  {:<8} {:>9} shares at {:>11} = {:>15}",
                p.symbol.as_str(),
                count(p.shares as i128),
                prices.usd(p.symbol, p.mark_price),
                usd(p.value as i128)
            );
            if p.reserved > 0 {
                let _ = write!(
                    text,
                    "  ({} in open sell orders)",
                    count(p.reserved as i128)
                );
            }
            text.push('\n');
        }
    }
    if a.open_orders.is_empty() {
        text.push_str("Open orders: none\n");
    } else {
        text.push_str("Open orders:\n");
        for o in &a.open_orders {
            let _ = writeln!(
                text,
                "  #{:<5} {:<4} {:>6} {:<6} at {:>10}  ({} of {} open, since block {})",
                o.id,
                o.side.to_string(),
                count(o.remaining as i128),
                o.symbol.as_str(),
                prices.usd(o.symbol, o.price),
                count(o.remaining as i128),
                count(o.original as i128),
                o.placed_height
            );
        }
    }
    let _ = write!(text, "Net worth:   {}", usd(a.net_worth as i128));
    Report::new(json, text)
}

/// A public trade's JSON fields.
pub fn trade_json(prices: &Prices, t: &PublicTrade) -> Trade {
    Trade {
        seq: t.seq,
        height: t.height,
        time_ms: t.timestamp_ms,
        symbol: t.symbol,
        price: prices.dollars(t.symbol, t.price),
        price_ticks: t.price,
        quantity: t.quantity,
        aggressor: t.aggressor,
    }
}

/// Recent trades, newest first.
pub fn trades(prices: &Prices, trades: &[PublicTrade]) -> Report {
    let json = Trades {
        trades: trades.iter().map(|t| trade_json(prices, t)).collect(),
    };
    let mut text = String::new();
    if trades.is_empty() {
        text.push_str("No trades yet.");
    }
    for t in trades {
        let _ = writeln!(
            text,
            "#{:<6} {}  {:<8} {:>7} at {:>11}  ({} side took it, block {})",
            t.seq,
            clock(t.timestamp_ms),
            t.symbol.as_str(),
            count(t.quantity as i128),
            prices.usd(t.symbol, t.price),
            t.aggressor,
            t.height
        );
    }
    Report::new(json, text)
}

/// A return in basis points as a signed percentage with two decimals: `+12.50`.
pub fn percent_bps(bps: i64) -> String {
    let sign = if bps < 0 { "-" } else { "+" };
    let abs = bps.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// A round-rank average in hundredths as `1.50`.
fn hundredths(value: u32) -> String {
    format!("{}.{:02}", value / 100, value % 100)
}

/// What a ranking is called, in the JSON and the heading.
pub fn ranking_name(ranking: Ranking) -> &'static str {
    match ranking {
        Ranking::Return => "return",
        Ranking::RoundRanks => "rounds",
        Ranking::NetWorth => "worth",
    }
}

/// Students, then bots, each ranked on its own by `ranking` (rows as the node gave
/// them; ranked again here). `hidden`: the rules hide the leaderboard until the end.
pub fn leaderboard(rows: &[LeaderboardRow], ranking: Ranking, hidden: bool) -> Report {
    let mut rows = rows.to_vec();
    rerank(&mut rows, ranking);
    let json = Leaderboard {
        ranked_by: ranking_name(ranking).to_string(),
        hidden,
        rows: rows
            .iter()
            .map(|r| Ranked {
                rank: r.rank,
                name: r.name.clone(),
                role: r.role,
                net_worth: dollars(r.net_worth as i128),
                net_worth_cents: r.net_worth,
                cash: dollars(r.cash as i128),
                cash_cents: r.cash,
                start_worth: dollars(r.start_worth as i128),
                start_worth_cents: r.start_worth,
                return_pct: percent_bps(r.return_bps),
                return_bps: r.return_bps,
                round_rank_average: r.round_rank_average.map(hundredths),
                round_ranks: r
                    .round_ranks
                    .iter()
                    .map(|&(round, rank)| RoundRank {
                        round: u32::from(round) + 1,
                        rank,
                        return_pct: r
                            .round_returns
                            .iter()
                            .find(|(n, _)| *n == round)
                            .map_or_else(String::new, |&(_, bps)| percent_bps(bps)),
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut text = String::new();
    if hidden && rows.is_empty() {
        text.push_str("The game's admin has hidden the leaderboard until the game ends.");
        return Report::new(json, text);
    }
    if rows.is_empty() {
        text.push_str("Nobody is ranked yet.");
        return Report::new(json, text);
    }
    let width = rows.iter().map(|r| r.name.len()).max().unwrap_or(4).max(4);
    let by = match ranking {
        Ranking::Return => "by return since the start",
        Ranking::RoundRanks => "by average round rank",
        Ranking::NetWorth => "by net worth",
    };
    let any_rounds = rows.iter().any(|r| r.round_rank_average.is_some());
    for (title, role) in [("Students", Role::Trader), ("Bots", Role::Bot)] {
        let group: Vec<&LeaderboardRow> = rows.iter().filter(|r| r.role == role).collect();
        if group.is_empty() {
            continue;
        }
        if !text.is_empty() {
            text.push('\n');
        }
        let _ = writeln!(text, "{title}, {by}");
        let _ = write!(
            text,
            "{:>4}  {:<width$}  {:>9}  {:>16}",
            "rank", "name", "return", "net worth"
        );
        if any_rounds {
            let _ = write!(text, "  {:>10}", "round avg");
        }
        text.push('\n');
        for r in group {
            let _ = write!(
                text,
                "{:>4}  {:<width$}  {:>9}  {:>16}",
                r.rank,
                r.name,
                format!("{}%", percent_bps(r.return_bps)),
                usd(r.net_worth as i128),
            );
            if any_rounds {
                let avg = r.round_rank_average.map(hundredths).unwrap_or_default();
                let _ = write!(text, "  {avg:>10}");
            }
            text.push('\n');
        }
    }
    Report::new(json, text)
}

/// A block's JSON fields.
pub fn block_json(b: &BlockSummary) -> BlockHeader {
    let h = &b.header;
    BlockHeader {
        height: h.height,
        txs: h.tx_count,
        hash: b.hash.to_hex(),
        prev_hash: h.prev_hash.to_hex(),
        time_ms: h.timestamp_ms,
        proposer: h.proposer,
        state_digest: h.state_digest.to_hex(),
    }
}

/// "height  txs  hash-prefix  time".
pub fn block_line(b: &BlockSummary) -> String {
    format!(
        "{:>7}  {:>5}  {}  {}",
        b.header.height,
        b.header.tx_count,
        b.hash.short(HASH_PREFIX),
        date_time(b.header.timestamp_ms)
    )
}

pub fn blocks_header() -> String {
    format!(
        "{:>7}  {:>5}  {:<width$}  {}",
        "height",
        "txs",
        "hash",
        "time (UTC)",
        width = HASH_PREFIX
    )
}

/// Block headers, oldest first.
pub fn blocks(blocks: &[BlockSummary]) -> Report {
    let json = Blocks {
        blocks: blocks.iter().map(block_json).collect(),
    };
    let mut text = String::new();
    if blocks.is_empty() {
        text.push_str("No blocks yet.");
    } else {
        let _ = writeln!(text, "{}", blocks_header());
        for b in blocks {
            let _ = writeln!(text, "{}", block_line(b));
        }
    }
    Report::new(json, text)
}

fn node_name(genesis: &Genesis, id: u64) -> String {
    genesis.node(id).map_or_else(
        || format!("node {id}"),
        |n| format!("node {id} ({})", n.name),
    )
}

fn ids(list: &[u64]) -> String {
    if list.is_empty() {
        "none".into()
    } else {
        list.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The connected node's view of consensus and the chain.
pub fn status(s: &Status, node: SocketAddr, genesis: &Genesis) -> Report {
    let json = NodeStatus {
        node: node.to_string(),
        node_id: s.id,
        role: s.role.to_string(),
        term: s.term,
        leader: s.leader,
        commit_index: s.commit_index,
        applied_index: s.applied_index,
        last_index: s.last_index,
        height: s.height,
        head_hash: s.head_hash.to_hex(),
        state_digest: s.state_digest.to_hex(),
        voters: s.voters.clone(),
        learners: s.learners.clone(),
        mempool: s.mempool as u64,
        inflight_batches: s.inflight_batches as u64,
        peers: s
            .peers
            .iter()
            .map(|p| Peer {
                id: p.id,
                matched: p.matched,
                next: p.next,
                active: p.active,
            })
            .collect(),
        game: genesis.game.clone(),
        chain_id: genesis.chain_id().to_string(),
    };
    let mut text = String::new();
    let _ = writeln!(
        text,
        "{} at {node}: {}, term {}",
        node_name(genesis, s.id),
        s.role,
        s.term
    );
    let _ = writeln!(
        text,
        "Leader:   {}",
        s.leader
            .map_or_else(|| "none known".into(), |l| node_name(genesis, l))
    );
    let _ = writeln!(
        text,
        "Chain:    height {}, head {}",
        s.height,
        s.head_hash.short(HASH_PREFIX)
    );
    let _ = writeln!(
        text,
        "Log:      commit {}, applied {}, last {}",
        s.commit_index, s.applied_index, s.last_index
    );
    let _ = writeln!(text, "Voters:   {}", ids(&s.voters));
    let _ = writeln!(text, "Learners: {}", ids(&s.learners));
    let _ = writeln!(
        text,
        "Mempool:  {} waiting, {} batches in flight",
        s.mempool, s.inflight_batches
    );
    if !s.peers.is_empty() {
        let peers: Vec<String> = s
            .peers
            .iter()
            .map(|p| {
                format!(
                    "node {} matched {}{}",
                    p.id,
                    p.matched,
                    if p.active { "" } else { " (inactive)" }
                )
            })
            .collect();
        let _ = writeln!(text, "Peers:    {}", peers.join(", "));
    }
    let _ = write!(
        text,
        "Game:     {} (chain {})",
        genesis.game,
        genesis.chain_id()
    );
    Report::new(json, text)
}

// --- Events ------------------------------------------------------------------------------

fn fill_json(prices: &Prices, f: &OwnFill) -> FillEvent {
    FillEvent {
        height: f.height,
        time_ms: f.timestamp_ms,
        symbol: f.symbol,
        side: f.side,
        price: prices.dollars(f.symbol, f.price),
        price_ticks: f.price,
        quantity: f.quantity,
        order: f.order,
    }
}

/// Symbols whose tick size rendering `event` needs.
pub fn event_symbols(event: &Event) -> Vec<Ticker> {
    match event {
        Event::Trade(t) => vec![t.symbol],
        Event::Fill(f) => vec![f.symbol],
        _ => Vec::new(),
    }
}

/// A subscription event as its JSON line's type: `{"event": "block"|"trade"|"fill"|
/// "book"|"lagged"|"closed", ...}`.
pub fn event_json(prices: &Prices, event: &Event) -> protocol::Event {
    match event {
        Event::Block(b) => protocol::Event::Block(block_json(b)),
        Event::Trade(t) => protocol::Event::Trade(trade_json(prices, t)),
        Event::Fill(f) => protocol::Event::Fill(fill_json(prices, f)),
        Event::BookChanged { symbols, all } => protocol::Event::Book {
            symbols: symbols.clone(),
            all: *all,
        },
        Event::Lagged { missed } => protocol::Event::Lagged { missed: *missed },
        Event::Closed { reason } => protocol::Event::Closed {
            error: reason.clone(),
        },
    }
}

#[cfg(test)]
mod tests {
    use qraft_keys::Keypair;
    use qraft_node::core::exchange::receipt::{CancelReason, Receipt};
    use qraft_node::core::exchange::reject::Rejection;
    use qraft_node::core::hash::Hash32;
    use qraft_node::core::types::{Shares, Side};
    use serde_json::{Value, json};

    use super::*;

    fn acme() -> Ticker {
        Ticker::new("ACME").unwrap()
    }

    fn buy(quantity: Shares, kind: OrderKind) -> NewOrder {
        NewOrder {
            symbol: acme(),
            side: Side::Buy,
            quantity,
            kind,
        }
    }

    fn committed(outcome: Outcome) -> CommittedView {
        CommittedView {
            height: 17,
            block_hash: Hash32([0xab; 32]),
            index: 2,
            receipt: Receipt {
                tx: Hash32([0x01; 32]),
                outcome,
            },
        }
    }

    fn fill(price: Ticks, quantity: Shares) -> Fill {
        Fill {
            resting_order: 7,
            price,
            quantity,
            commission: 0,
        }
    }

    #[test]
    fn a_filled_order_renders_for_people_and_programs() {
        let order = buy(10, OrderKind::Limit { price: 1250 });
        let result = OrderResult {
            order: 42,
            fills: vec![fill(1250, 10)],
            resting: 0,
            cancelled: 0,
            cancel_reason: None,
        };
        let c = committed(Outcome::Accepted(Effect::Order(result)));
        let report = outcome(&Prices::default(), &TxBody::Order(order), &c).unwrap();
        assert_eq!(
            report.human,
            "Bought 10 ACME at $12.50 (order #42 filled in block 17)"
        );
        assert_eq!(
            Value::Object(report.json),
            json!({
                "ok": true,
                "status": "accepted",
                "tx": Hash32([0x01; 32]).to_hex(),
                "height": 17,
                "block": Hash32([0xab; 32]).to_hex(),
                "index": 2,
                "effect": "order",
                "order": {
                    "id": 42, "symbol": "ACME", "side": "buy", "type": "limit",
                    "quantity": 10, "limit": "12.50", "limit_ticks": 1250,
                    "state": "filled", "filled": 10, "resting": 0, "cancelled": 0,
                    "cancel_reason": null, "value": "125.00", "value_cents": 12500,
                    "fills": [{"price": "12.50", "price_ticks": 1250, "quantity": 10, "resting_order": 7}],
                },
            })
        );
    }

    #[test]
    fn resting_partial_and_cancelled_orders_read_plainly() {
        let prices = Prices::default();
        let resting = OrderResult {
            order: 43,
            fills: vec![],
            resting: 10,
            cancelled: 0,
            cancel_reason: None,
        };
        let order = buy(10, OrderKind::Limit { price: 1240 });
        assert_eq!(
            order_text(&prices, &order, &resting, 18),
            "Order #43 rests: buy 10 ACME at $12.40 (block 18)"
        );
        let partial = OrderResult {
            order: 44,
            fills: vec![fill(1245, 4), fill(1250, 2)],
            resting: 4,
            cancelled: 0,
            cancel_reason: None,
        };
        let order = buy(10, OrderKind::Limit { price: 1250 });
        assert_eq!(
            order_text(&prices, &order, &partial, 19),
            "Bought 6 ACME for $74.80: 4 at $12.45, 2 at $12.50; order #44 rests: buy 4 more at $12.50 (block 19)"
        );
        let ioc = OrderResult {
            order: 45,
            fills: vec![],
            resting: 0,
            cancelled: 10,
            cancel_reason: Some(CancelReason::NoMoreLiquidity),
        };
        let order = buy(10, OrderKind::ImmediateOrCancel { price: 1200 });
        assert_eq!(
            order_text(&prices, &order, &ioc, 20),
            "Nothing traded: no more orders to trade with at an acceptable price; order #45 to buy 10 ACME was cancelled (block 20)"
        );
        let json = order_json(&prices, &order, &ioc);
        assert_eq!(json.state, "cancelled");
        assert_eq!(json.kind, "ioc");
        assert_eq!(json.cancel_reason.as_deref(), Some("no_more_liquidity"));
    }

    #[test]
    fn a_rejection_is_a_failure_with_exit_code_3_and_its_reason() {
        let c = committed(Outcome::Rejected(Rejection::MarketClosed));
        let body = TxBody::Order(buy(1, OrderKind::Market));
        let failure = outcome(&Prices::default(), &body, &c).unwrap_err();
        assert_eq!(failure.code(), 3);
        assert_eq!(failure.to_string(), "rejected: the market is closed");
        let json = Value::Object(failure.to_json());
        assert_eq!(json["reason"], "market_closed");
        assert_eq!(json["height"], 17);
        assert_eq!(json["status"], "rejected");
        assert_eq!(json["ok"], false);
    }

    #[test]
    fn cancels_and_admin_actions_render() {
        let c = committed(Outcome::Accepted(Effect::Cancelled(vec![(1, 10), (2, 5)])));
        let report = outcome(&Prices::default(), &TxBody::CancelAll { symbol: None }, &c).unwrap();
        assert_eq!(
            report.human,
            "Cancelled 2 orders in block 17: #1 (10), #2 (5)"
        );
        assert_eq!(
            report.json["cancelled"],
            json!([{"order": 1, "shares": 10}, {"order": 2, "shares": 5}])
        );
        let c = committed(Outcome::Accepted(Effect::Admin));
        let body = TxBody::Admin(AdminAction::Halt(Scope::Symbol(acme())));
        let report = outcome(&Prices::default(), &body, &c).unwrap();
        assert_eq!(report.human, "Trading in ACME is halted (block 17)");
        assert_eq!(
            report.json["admin"],
            json!({"action": "halt", "symbol": "ACME"})
        );
    }

    #[test]
    fn books_portfolios_and_leaderboards_render() {
        let depth = DepthView {
            symbol: acme(),
            bids: vec![DepthLevel {
                price: 1240,
                quantity: 10,
                orders: 1,
            }],
            asks: vec![
                DepthLevel {
                    price: 1260,
                    quantity: 5,
                    orders: 1,
                },
                DepthLevel {
                    price: 1270,
                    quantity: 1_000,
                    orders: 2,
                },
            ],
        };
        let report = book(&Prices::default(), &depth, None);
        assert_eq!(
            report.json["bids"],
            json!([{"price": "12.40", "price_ticks": 1240, "quantity": 10, "orders": 1}])
        );
        assert_eq!(report.json["asks"][1]["quantity"], 1000);
        let lines: Vec<&str> = report.human.lines().collect();
        assert_eq!(lines[0], "ACME");
        assert!(lines[2].contains("$12.40  |  $12.60"), "{}", report.human);
        assert!(lines[3].contains("|  $12.70"), "{}", report.human);

        let row = |name: &str, role, net_worth, start_worth, return_bps| LeaderboardRow {
            rank: 1,
            name: String::from(name),
            role,
            net_worth,
            cash: 5,
            start_worth,
            return_bps,
            round_returns: vec![(0, return_bps)],
            round_ranks: vec![],
            round_rank_average: None,
        };
        let rows = vec![
            row("mm", Role::Bot, 90_000_000, 100_000_000, -1_000),
            row("alice", Role::Trader, 1_000_050, 1_000_000, 0),
            row("bob", Role::Trader, 1_100_000, 1_000_000, 1_000),
        ];
        let report = leaderboard(&rows, Ranking::Return, false);
        assert_eq!(report.json["rows"][0]["name"], "bob");
        assert_eq!(report.json["rows"][0]["return_pct"], "+10.00");
        assert_eq!(report.json["rows"][1]["net_worth"], "10000.50");
        assert_eq!(report.json["rows"][1]["net_worth_cents"], 1_000_050);
        assert_eq!(report.json["rows"][1]["round_ranks"][0]["rank"], 2);
        assert_eq!(report.json["rows"][2]["name"], "mm");
        assert_eq!(report.json["rows"][2]["rank"], 1, "bots are ranked apart");
        assert!(report.human.contains("$10,000.50"), "{}", report.human);
        assert!(
            report.human.starts_with("Students, by return"),
            "{}",
            report.human
        );
        assert!(
            report.human.contains("\nBots, by return"),
            "{}",
            report.human
        );
        assert!(report.human.contains("-10.00%"), "{}", report.human);
        let hidden = leaderboard(&[], Ranking::Return, true);
        assert!(hidden.human.contains("hidden"), "{}", hidden.human);
        assert_eq!(percent_bps(-5), "-0.05");

        let account = AccountView {
            key: Keypair::from_label("a").public(),
            name: "alice".into(),
            role: Role::Trader,
            suspended: false,
            cash: 100_000,
            cash_reserved: 12_400,
            last_nonce: 9,
            commissions_paid: 0,
            start_worth: 100_000,
            dividends: 0,
            positions: vec![],
            open_orders: vec![qraft_node::core::exchange::views::OrderView {
                id: 43,
                symbol: acme(),
                side: Side::Buy,
                price: 1240,
                remaining: 10,
                original: 10,
                placed_height: 18,
            }],
            net_worth: 100_000,
        };
        let report = portfolio(&Prices::default(), &account);
        assert_eq!(report.json["cash"], "1000.00");
        assert_eq!(report.json["open_orders"][0]["price"], "12.40");
        assert!(report.human.contains("#43"), "{}", report.human);
        assert!(
            report.human.contains("($124.00 held for open buy orders)"),
            "{}",
            report.human
        );
    }

    #[test]
    fn events_are_tagged_objects() {
        let trade = PublicTrade {
            seq: 1,
            height: 3,
            timestamp_ms: 5,
            symbol: acme(),
            price: 1250,
            quantity: 2,
            aggressor: Side::Sell,
        };
        let json =
            serde_json::to_value(event_json(&Prices::default(), &Event::Trade(trade))).unwrap();
        assert_eq!(
            json,
            json!({"event": "trade", "seq": 1, "height": 3, "time_ms": 5, "symbol": "ACME",
                   "price": "12.50", "price_ticks": 1250, "quantity": 2, "aggressor": "sell"})
        );
        let json =
            serde_json::to_value(event_json(&Prices::default(), &Event::Lagged { missed: 4 }))
                .unwrap();
        assert_eq!(json, json!({"event": "lagged", "missed": 4}));
        // As the session says it: the reason is the `error`.
        let closed = Event::Closed {
            reason: "gone".into(),
        };
        let json = serde_json::to_value(event_json(&Prices::default(), &closed)).unwrap();
        assert_eq!(json, json!({"event": "closed", "error": "gone"}));
    }
}
