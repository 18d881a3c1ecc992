//! What the node's answers and events do to the state.

use qraft_client::describe::rules_text;
use qraft_node::core::exchange::rules::RuleChange;

use crate::action::Action;
use crate::command::Command;
use crate::describe;
use crate::state::{Notice, NoticeKind, Reach, State};

pub(super) fn apply(state: &mut State, action: Action, out: &mut Vec<Command>) {
    match action {
        Action::Market {
            symbols,
            session,
            game_over,
        } => {
            let selected = state.market.selected_ticker();
            state.market.symbols = symbols;
            state.market.session = session;
            state.market.game_over = game_over;
            state.market.loaded = true;
            let len = state.market.symbols.len();
            state.market.selected = selected
                .and_then(|t| state.market.symbols.iter().position(|s| s.ticker == t))
                .unwrap_or(0)
                .min(len.saturating_sub(1));
            if state.market.selected_ticker() != selected
                && let Some(ticker) = state.market.selected_ticker()
            {
                out.push(Command::Watch(ticker));
            }
        }
        Action::Depth(depth) => {
            state.market.depth = Some(depth);
            let len = state.market.ladder().len();
            state.market.book_cursor = state.market.book_cursor.min(len.saturating_sub(1));
        }
        Action::Candles(ticker, candles) => {
            state.market.candles_of = Some(ticker);
            state.market.candles = candles;
        }
        Action::AllCandles(all) => state.market.all_candles = all.into_iter().collect(),
        Action::Scenario(view) => state.scenario = view.map(|v| *v),
        Action::Account(view) => {
            state.account.view = view;
            state.account.clamp_cursor();
        }
        Action::Leaderboard(rows) => state.market.leaderboard = rows,
        Action::TradesSnapshot(trades) => {
            state.market.tape = trades.into_iter().collect();
            state.market.tape.truncate(crate::state::market::TAPE_LEN);
        }
        Action::NewTrades(trades) => state.market.push_trades(&trades),
        Action::MyFills(fills) => {
            if let Some(text) = describe::fills(&fills, |t| state.market.tick_size(t)) {
                state.say(NoticeKind::Success, text);
            }
        }
        Action::News(items) => {
            let newest_before = state.market.news.first().map(|n| n.height);
            let fresh = items
                .first()
                .filter(|n| newest_before.is_some_and(|h| n.height > h))
                .map(|n| n.headline.clone());
            state.market.news = items;
            if let Some(headline) = fresh {
                state.say(NoticeKind::Info, format!("News: {headline}"));
            }
        }
        Action::Rules(changes) => rules(state, changes),
        Action::Block(line) => state.chain.push(line),
        Action::Blocks(lines) => {
            state.chain.blocks.clear();
            for line in lines {
                state.chain.push(line);
            }
        }
        Action::NodeStatus { id, result, at_ms } => node_status(state, id, result, at_ms),
        Action::NodeStopped => {
            state.cluster.stopped = true;
            state.say(
                NoticeKind::Error,
                "This dashboard's node has stopped: nothing more will arrive (see the log).",
            );
        }
        Action::Committed {
            request,
            height,
            receipt,
            latency_ms,
        } => {
            let Some(pending) = state.pending.remove(&request) else {
                return;
            };
            let (kind, text) = describe::outcome(&pending.body, &receipt, height, |t| {
                state.market.tick_size(t)
            });
            // (The block's line counts my transactions itself, by signer.)
            state.chain.record_latency(height, latency_ms);
            answer(state, request, pending.from_ticket, kind, text);
        }
        Action::SubmitFailed { request, reason } => {
            let Some(pending) = state.pending.remove(&request) else {
                return;
            };
            let text = format!("Not applied: {}: {reason}", pending.label);
            answer(state, request, pending.from_ticket, NoticeKind::Error, text);
        }
        Action::LookingForReceipt { request } => {
            if let Some(pending) = state.pending.get(&request) {
                let text = format!("{}: no answer yet; looking for its receipt…", pending.label);
                state.say(NoticeKind::Warning, text);
            }
        }
        Action::OutcomeUnknown { request, tx } => {
            let Some(pending) = state.pending.remove(&request) else {
                return;
            };
            let text = format!(
                "Outcome unknown: {}: no answer and no receipt yet (transaction {tx}); \
                 look at your orders before placing it again",
                pending.label
            );
            answer(state, request, pending.from_ticket, NoticeKind::Error, text);
        }
        Action::Retrying { request, reason } => {
            if let Some(pending) = state.pending.get(&request) {
                let text = format!("{}: {reason}; sending again…", pending.label);
                state.say(NoticeKind::Warning, text);
            }
        }
        _ => {}
    }
}

/// Keeps the rules history, puts its last rules in force (the ticket checks orders
/// against them), and announces rules that came into force since the last load.
fn rules(state: &mut State, changes: Vec<RuleChange>) {
    if let Some(latest) = changes.last() {
        state.rules = latest.rules.clone();
    }
    if let Some(new) = state.rule_history.load(changes) {
        let text = format!(
            "New rules from block {}: {}",
            new.height,
            rules_text(&new.rules)
        );
        state.say(NoticeKind::Info, text);
    }
}

/// Shows the answer to `request` on the status line, and in the ticket if it came from
/// there.
fn answer(state: &mut State, request: u64, from_ticket: bool, kind: NoticeKind, text: String) {
    if from_ticket && state.ticket.pending == Some(request) {
        state.ticket.pending = None;
        state.ticket.result = Some(Notice::new(kind, text.clone(), state.now_ms));
    }
    state.say(kind, text);
}

fn node_status(
    state: &mut State,
    id: u64,
    result: Result<qraft_node::api::Status, String>,
    at_ms: u64,
) {
    let local = state.cluster.local;
    let Some(row) = state.cluster.nodes.iter_mut().find(|n| n.id == id) else {
        return;
    };
    let was_down = matches!(row.reach, Reach::Down(_));
    let name = row.name.clone();
    match result {
        Ok(status) => {
            row.reach = Reach::Up;
            row.status = Some(status);
            row.heard_ms = Some(at_ms);
            if was_down {
                state.say(NoticeKind::Success, format!("{name} is reachable again."));
            }
        }
        Err(why) => {
            let newly = !was_down;
            row.reach = Reach::Down(why.clone());
            if newly && id == local {
                state.say(
                    NoticeKind::Error,
                    format!("Lost this dashboard's node: {why}"),
                );
            } else if newly {
                state.say(NoticeKind::Warning, format!("{name} is unreachable: {why}"));
            }
        }
    }
}
