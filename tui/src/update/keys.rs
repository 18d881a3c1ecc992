//! What the user's intents do: navigation, the ticket, the command line, confirmations.

use qraft_node::core::tx::TxBody;
use qraft_node::core::types::Side;

use super::{class, cmd, confirm, submit};
use crate::action::Action;
use crate::command::Command;
use crate::format::price;
use crate::state::ticket::{self, Field};
use crate::state::{AdminItem, Mode, NoticeKind, OnYes, Panel, State};

/// Rows PageUp and PageDown move.
const PAGE_ROWS: usize = 10;

pub(super) fn apply(state: &mut State, action: Action, out: &mut Vec<Command>) {
    match state.mode {
        Mode::Command => command_line(state, action, out),
        Mode::Ticket => ticket_entry(state, action, out),
        Mode::Help => match action {
            Action::ToggleHelp | Action::Back | Action::Select | Action::Char('q') => {
                state.mode = Mode::Normal
            }
            _ => {}
        },
        Mode::Confirm => match action {
            Action::Confirm(yes) => answer(state, yes, out),
            Action::Back => answer(state, false, out),
            _ => {}
        },
        Mode::Normal => normal(state, action, out),
    }
}

fn answer(state: &mut State, yes: bool, out: &mut Vec<Command>) {
    state.mode = Mode::Normal;
    let Some(confirm) = state.confirm.take() else {
        return;
    };
    match (yes, confirm.on_yes) {
        (true, OnYes::Submit(body)) => submit(state, body, false, out),
        (true, OnYes::Class(command)) => class::send(state, command, out),
        (false, OnYes::Submit(_)) => state.say(NoticeKind::Info, "Not sent."),
        (false, OnYes::Class(_)) => state.say(NoticeKind::Info, "Nothing changed."),
    }
}

fn normal(state: &mut State, action: Action, out: &mut Vec<Command>) {
    // The projector page gives way to the panels when asked for one (or the ticket).
    if state.projector
        && matches!(
            action,
            Action::Back
                | Action::FocusNext
                | Action::FocusPrev
                | Action::Focus(_)
                | Action::Page(_)
                | Action::OpenTicket(_)
        )
    {
        state.projector = false;
        if action == Action::Back {
            return;
        }
    }
    match action {
        Action::ToggleProjector => state.projector = !state.projector,
        Action::FocusNext => cycle_focus(state, 1),
        Action::FocusPrev => cycle_focus(state, -1),
        Action::Focus(panel) if state.panels().contains(&panel) => state.focus = panel,
        Action::Page(page) => {
            if let Some(panel) = Panel::first_of_page(page).filter(|p| state.panels().contains(p)) {
                state.focus = panel;
            }
        }
        Action::Up => move_cursor(state, -1, out),
        Action::Down => move_cursor(state, 1, out),
        Action::PageUp => move_cursor(state, -(PAGE_ROWS as i64), out),
        Action::PageDown => move_cursor(state, PAGE_ROWS as i64, out),
        Action::Home => move_cursor(state, i64::MIN / 2, out),
        Action::End => move_cursor(state, i64::MAX / 2, out),
        Action::Left => select_symbol(state, -1, out),
        Action::Right => select_symbol(state, 1, out),
        Action::Select => select(state, out),
        Action::Back => state.message = None,
        Action::OpenCommandLine => {
            state.prompt.open("");
            state.mode = Mode::Command;
        }
        Action::ToggleHelp => state.mode = Mode::Help,
        Action::OpenTicket(side) => open_ticket(state, side, None),
        Action::CancelSelected => cancel_selected(state, out),
        Action::CancelAll => cancel_all(state),
        Action::ApproveSelected
        | Action::RefuseSelected
        | Action::ApproveAllWaiting
        | Action::CloseJoining
        | Action::ReopenJoining
        | Action::PromoteSelected => class::key(state, action, out),
        Action::Paste(text) if text.trim_start().starts_with(':') => {
            state.prompt.open(text.trim().trim_start_matches(':'));
            state.mode = Mode::Command;
        }
        _ => {}
    }
}

fn cycle_focus(state: &mut State, step: isize) {
    let panels = state.panels();
    let at = panels.iter().position(|p| *p == state.focus).unwrap_or(0) as isize;
    let len = panels.len() as isize;
    state.focus = panels[((at + step).rem_euclid(len)) as usize];
}

/// Moves `value` by `delta` within `0..len`.
fn step(value: usize, delta: i64, len: usize) -> usize {
    if len == 0 {
        return 0;
    }
    (value as i64)
        .saturating_add(delta)
        .clamp(0, len as i64 - 1) as usize
}

fn move_cursor(state: &mut State, delta: i64, out: &mut Vec<Command>) {
    match state.focus {
        Panel::Watch => select_symbol(state, delta, out),
        Panel::Book => {
            let len = state.market.ladder().len();
            state.market.book_cursor = step(state.market.book_cursor, delta, len);
        }
        Panel::Orders => {
            let len = state.account.orders().len();
            state.account.cursor = step(state.account.cursor, delta, len);
        }
        Panel::Tape => {
            let len = state.market.tape.len();
            state.scrolls.tape = step(state.scrolls.tape, delta, len);
        }
        Panel::News => {
            let len = state.market.news.len();
            state.scrolls.news = step(state.scrolls.news, delta, len);
        }
        Panel::Blocks => {
            let len = state.chain.blocks.len();
            state.scrolls.blocks = step(state.scrolls.blocks, delta, len);
        }
        Panel::Leaders => {
            let len = state.market.leaderboard.len();
            state.scrolls.leaders = step(state.scrolls.leaders, delta, len);
        }
        Panel::Portfolio => {
            let len = state.account.view.as_ref().map_or(0, |a| a.positions.len());
            state.scrolls.portfolio = step(state.scrolls.portfolio, delta, len);
        }
        Panel::Admin => {
            state.admin_cursor = step(state.admin_cursor, delta, AdminItem::ALL.len());
        }
        Panel::Class => {
            if let Some(class) = state.class.as_mut() {
                class.cursor = step(class.cursor, delta, class.view.roster.len());
            }
        }
        Panel::Ticket => {
            state.ticket.field = if delta < 0 {
                state.ticket.field.prev()
            } else {
                state.ticket.field.next()
            };
        }
        Panel::Chart | Panel::Cluster => {}
    }
}

/// Moves the symbol selection (up and down in the market watch; left and right from
/// any panel), following the new symbol.
fn select_symbol(state: &mut State, delta: i64, out: &mut Vec<Command>) {
    let before = state.market.selected;
    state.market.selected = step(before, delta, state.market.symbols.len());
    if state.market.selected != before {
        watch_selected(state, out);
    }
}

/// The selection changed: follow the new symbol's book and candles.
pub(super) fn watch_selected(state: &mut State, out: &mut Vec<Command>) {
    state.market.book_cursor = 0;
    if let Some(ticker) = state.market.selected_ticker() {
        out.push(Command::Watch(ticker));
    }
}

fn select(state: &mut State, out: &mut Vec<Command>) {
    match state.focus {
        Panel::Watch => open_ticket(state, None, None),
        Panel::Ticket => open_ticket(state, None, None),
        Panel::Book => {
            let ladder = state.market.ladder();
            let Some(&(is_ask, level, _, _)) = ladder.get(state.market.book_cursor) else {
                return open_ticket(state, None, None);
            };
            // Take the level: buy from an ask, sell into a bid.
            let side = if is_ask { Side::Buy } else { Side::Sell };
            open_ticket(state, Some(side), Some(level));
        }
        Panel::Orders => {
            if let Some(order) = state.account.selected_order() {
                let tick = state.market.tick_size(order.symbol);
                let question = format!(
                    "Cancel order #{}: {} {} {} @ ${}?",
                    order.id,
                    order.side,
                    order.remaining,
                    order.symbol,
                    price(order.price, tick)
                );
                confirm(state, question, TxBody::Cancel { order: order.id });
            }
        }
        Panel::Admin => {
            let item = AdminItem::ALL[state.admin_cursor.min(AdminItem::ALL.len() - 1)];
            if item.needs_typing() {
                state.prompt.open(item.command());
                state.mode = Mode::Command;
            } else {
                cmd::run_line(state, item.command(), out);
            }
        }
        _ => {}
    }
}

/// Opens the ticket for the selected symbol; `side` and `level` (a price in ticks)
/// prefill it.
fn open_ticket(state: &mut State, side: Option<Side>, level: Option<u64>) {
    state.focus = Panel::Ticket;
    state.mode = Mode::Ticket;
    let selected = state.market.selected_ticker();
    if let Some(ticker) = selected {
        if state.ticket.symbol != ticker.as_str() {
            state.ticket.price.clear();
        }
        state.ticket.symbol = ticker.as_str().to_string();
    }
    if let Some(side) = side {
        state.ticket.side = side;
    }
    if let (Some(level), Some(ticker)) = (level, selected) {
        state.ticket.price = price(level, state.market.tick_size(ticker)).replace(',', "");
    }
    state.ticket.field = Field::Quantity;
}

fn cancel_selected(state: &mut State, out: &mut Vec<Command>) {
    match state.account.selected_order() {
        Some(order) => {
            let id = order.id;
            submit(state, TxBody::Cancel { order: id }, false, out);
        }
        None => state.say(NoticeKind::Info, "You have no open order to cancel."),
    }
}

fn cancel_all(state: &mut State) {
    let n = state.account.orders().len();
    if n == 0 {
        state.say(NoticeKind::Info, "You have no open orders.");
        return;
    }
    let question = format!(
        "Cancel all {n} open order{}?",
        if n == 1 { "" } else { "s" }
    );
    confirm(state, question, TxBody::CancelAll { symbol: None });
}

fn command_line(state: &mut State, action: Action, out: &mut Vec<Command>) {
    let prompt = &mut state.prompt;
    match action {
        Action::Char(c) => prompt.insert(c),
        Action::Paste(text) => text
            .chars()
            .filter(|c| !c.is_control())
            .for_each(|c| prompt.insert(c)),
        Action::Backspace => {
            if prompt.text.is_empty() {
                state.mode = Mode::Normal;
            } else {
                prompt.backspace();
            }
        }
        Action::Delete => prompt.delete(),
        Action::Left => prompt.left(),
        Action::Right => prompt.right(),
        Action::Home => prompt.home(),
        Action::End => prompt.end(),
        Action::Up => prompt.older(),
        Action::Down => prompt.newer(),
        Action::Back => state.mode = Mode::Normal,
        Action::Submit | Action::Select => {
            let line = prompt.take();
            state.mode = Mode::Normal;
            if !line.is_empty() {
                cmd::run_line(state, &line, out);
            }
        }
        _ => {}
    }
}

fn ticket_entry(state: &mut State, action: Action, out: &mut Vec<Command>) {
    let ticket = &mut state.ticket;
    match action {
        Action::Back => state.mode = Mode::Normal,
        Action::NextField | Action::Down => ticket.field = ticket.field.next(),
        Action::PrevField | Action::Up => ticket.field = ticket.field.prev(),
        Action::Left | Action::Right | Action::Char(' ') => toggle(state),
        Action::Char(c) => type_char(state, c),
        Action::Paste(text) => text.chars().for_each(|c| type_char(state, c)),
        Action::Backspace | Action::Delete => {
            if let Some(text) = ticket.text_mut() {
                text.pop();
            }
        }
        Action::Submit | Action::Select => send_ticket(state, out),
        _ => {}
    }
}

fn toggle(state: &mut State) {
    let ticket = &mut state.ticket;
    match ticket.field {
        Field::Side => {
            ticket.side = match ticket.side {
                Side::Buy => Side::Sell,
                Side::Sell => Side::Buy,
            }
        }
        Field::Ioc => ticket.ioc = !ticket.ioc,
        Field::Symbol | Field::Quantity | Field::Price => {}
    }
}

fn type_char(state: &mut State, c: char) {
    let ticket = &mut state.ticket;
    match ticket.field {
        Field::Side => match c.to_ascii_lowercase() {
            'b' => ticket.side = Side::Buy,
            's' => ticket.side = Side::Sell,
            _ => {}
        },
        Field::Ioc => match c.to_ascii_lowercase() {
            'y' | 'i' => ticket.ioc = true,
            'n' => ticket.ioc = false,
            _ => {}
        },
        Field::Symbol => {
            if c.is_ascii_alphanumeric() && ticket.symbol.len() < 8 {
                ticket.symbol.push(c.to_ascii_uppercase());
            }
        }
        Field::Quantity => {
            if (c.is_ascii_digit() || c == ',') && ticket.quantity.len() < 12 {
                ticket.quantity.push(c);
            }
        }
        Field::Price => {
            if (c.is_ascii_digit() || matches!(c, '.' | ',' | '$')) && ticket.price.len() < 14 {
                ticket.price.push(c);
            }
        }
    }
}

fn send_ticket(state: &mut State, out: &mut Vec<Command>) {
    if state.ticket.pending.is_some() {
        state.say(
            NoticeKind::Warning,
            "The last order from the ticket is still on its way; wait for its answer.",
        );
        return;
    }
    let checked = ticket::check(
        state.ticket.input(),
        &state.market,
        &state.account,
        &state.rules,
    );
    match checked.order {
        Err(why) => {
            state.ticket.result = Some(crate::state::Notice::new(
                NoticeKind::Error,
                why.clone(),
                state.now_ms,
            ));
            state.say(NoticeKind::Error, why);
        }
        Ok(order) => {
            submit(state, TxBody::Order(order), true, out);
            if let Some(warning) = checked.warnings.first() {
                state.say(NoticeKind::Warning, format!("Sent, but: {warning}"));
            }
            // Ready for the next order at the same price and side.
            state.ticket.quantity.clear();
            state.ticket.field = Field::Quantity;
        }
    }
}
