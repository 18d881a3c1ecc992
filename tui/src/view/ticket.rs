//! The order ticket: side, symbol, quantity, price and IOC, the field being typed in
//! highlighted; under them what the checks say right now (the error, or what the order
//! is and roughly costs, and any warnings), then the answer to the last order sent.

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::style::{Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};

use qraft_node::core::types::Side;

use super::{frame, theme};
use crate::format;
use crate::state::ticket::{check, describe};
use crate::state::{Field, Mode, Panel, State, Ticket};

/// Where a field sits in the panel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Slot {
    field: Field,
    label: &'static str,
    row: u16,
    /// Column of the label.
    x: u16,
    /// Width of the value between the brackets.
    width: u16,
}

impl Slot {
    fn value_x(&self) -> u16 {
        self.x + self.label.len() as u16 + 2
    }
}

/// The fields flow left to right, onto the next line when the next one does not fit:
/// two lines in a panel of 44 columns or more, one field per line in a very narrow one.
fn slots(width: u16) -> Vec<Slot> {
    let fields = [
        (Field::Side, "Side", 4),
        (Field::Symbol, "Sym", 8),
        (Field::Quantity, "Qty", 8),
        (Field::Price, "Price", 10),
        (Field::Ioc, "IOC", 3),
    ];
    let mut out: Vec<Slot> = Vec::new();
    let (mut row, mut x) = (0, 1);
    for (field, label, w) in fields {
        // `Label [value]`
        let need = label.len() as u16 + 2 + w + 1;
        if !out.is_empty() && x + need > width {
            row += 1;
            x = 1;
        }
        out.push(Slot {
            field,
            label,
            row,
            x,
            width: w,
        });
        x += need + 2;
    }
    out
}

fn form_rows(width: u16) -> u16 {
    slots(width).last().map_or(0, |s| s.row + 1)
}

/// A field's text, and whether it is a placeholder.
fn value(ticket: &Ticket, field: Field) -> (String, bool) {
    match field {
        Field::Side => (
            match ticket.side {
                Side::Buy => "BUY".into(),
                Side::Sell => "SELL".into(),
            },
            false,
        ),
        Field::Symbol => (ticket.symbol.clone(), false),
        Field::Quantity => (ticket.quantity.clone(), false),
        Field::Price if ticket.price.is_empty() => ("market".into(), true),
        Field::Price => (ticket.price.clone(), false),
        Field::Ioc => ((if ticket.ioc { "yes" } else { "no" }).into(), false),
    }
}

/// The visible end of a text that may be longer than its box (one cell kept for the
/// cursor).
fn tail(text: &str, width: u16) -> String {
    let room = usize::from(width.saturating_sub(1));
    let len = text.chars().count();
    text.chars().skip(len.saturating_sub(room)).collect()
}

/// The ticket panel.
pub struct TicketPanel<'a>(pub &'a State);

impl Widget for TicketPanel<'_> {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let state = self.0;
        let editing = state.mode == Mode::Ticket;
        let focused = state.focus == Panel::Ticket || editing;
        let bottom = editing.then(|| frame::hint(&[("Enter", "send"), ("Esc", "close")]));
        let inner = frame::draw(
            area,
            buf,
            vec![Span::raw(Panel::Ticket.title())],
            bottom,
            focused,
        );
        if inner.is_empty() {
            return;
        }
        let ticket = &state.ticket;
        for slot in slots(inner.width) {
            let active = editing && ticket.field == slot.field;
            draw_slot(inner, buf, ticket, slot, active);
        }
        let rows = form_rows(inner.width);
        let below = Rect {
            x: inner.x.saturating_add(1).min(inner.right()),
            y: inner.y.saturating_add(rows).min(inner.bottom()),
            width: inner.width.saturating_sub(2),
            height: inner.height.saturating_sub(rows),
        };
        Paragraph::new(messages(state))
            .wrap(Wrap { trim: true })
            .render(below, buf);
    }
}

fn draw_slot(inner: Rect, buf: &mut Buffer, ticket: &Ticket, slot: Slot, active: bool) {
    let (text, placeholder) = value(ticket, slot.field);
    let text = match slot.field {
        Field::Symbol | Field::Quantity | Field::Price if !placeholder => tail(&text, slot.width),
        _ => text,
    };
    let pad = usize::from(slot.width).saturating_sub(text.chars().count());
    let style = match slot.field {
        _ if placeholder => theme::muted(),
        Field::Side => theme::side(ticket.side).add_modifier(Modifier::BOLD),
        _ => theme::bold(),
    };
    let style = if active {
        style.add_modifier(Modifier::REVERSED)
    } else {
        style
    };
    let label_style = if active { theme::key() } else { theme::muted() };
    let line = Line::from(vec![
        Span::styled(slot.label, label_style),
        Span::styled(" [", theme::muted()),
        Span::styled(format!("{text}{}", " ".repeat(pad)), style),
        Span::styled("]", theme::muted()),
    ]);
    let x = inner.x.saturating_add(slot.x);
    let y = inner.y.saturating_add(slot.row);
    if x >= inner.right() || y >= inner.bottom() {
        return;
    }
    let width = inner.right() - x;
    line.render(Rect::new(x, y, width, 1), buf);
}

/// The live checks of the order, and the last answer.
fn messages(state: &State) -> Vec<Line<'static>> {
    let ticket = &state.ticket;
    let mut lines = Vec::new();
    let blank = ticket.symbol.trim().is_empty()
        && ticket.quantity.trim().is_empty()
        && ticket.price.trim().is_empty();
    if state.mode != Mode::Ticket && blank {
        lines.push(Line::from(vec![
            Span::styled("b", theme::key()),
            Span::styled(" buy or ", theme::muted()),
            Span::styled("s", theme::key()),
            Span::styled(" sell the selected symbol", theme::muted()),
        ]));
    } else {
        let checked = check(ticket.input(), &state.market, &state.account, &state.rules);
        match &checked.order {
            // An unfinished ticket is a prompt, not an error.
            Err(why) if ticket.quantity.trim().is_empty() || ticket.symbol.trim().is_empty() => {
                lines.push(Line::styled(format!("› {why}"), theme::muted()))
            }
            Err(why) => lines.push(Line::styled(format!("✗ {why}"), theme::error())),
            Ok(order) => {
                let tick = state.market.tick_size(order.symbol);
                let mut spans = vec![Span::styled(
                    describe(order, tick),
                    theme::side(order.side).add_modifier(Modifier::BOLD),
                )];
                if let Some(cents) = checked.estimate {
                    spans.push(Span::raw(format!(" ≈ {}", format::usd(i128::from(cents)))));
                }
                lines.push(Line::from(spans));
            }
        }
        for warning in &checked.warnings {
            lines.push(Line::styled(format!("! {warning}"), theme::warn()));
        }
    }
    if ticket.pending.is_some() {
        lines.push(Line::styled(
            "sending…",
            Style::new()
                .fg(theme::ACCENT)
                .add_modifier(Modifier::ITALIC),
        ));
    } else if let Some(result) = &ticket.result {
        lines.push(Line::styled(
            result.text.clone(),
            theme::notice(result.kind),
        ));
    }
    lines
}

/// Where the terminal cursor goes in a ticket whose panel is `area`: at the end of the
/// text field being typed in (`None` when no text field is, or it is not in view).
pub fn cursor(state: &State, area: Rect) -> Option<Position> {
    if state.mode != Mode::Ticket {
        return None;
    }
    let inner = area.inner(ratatui::layout::Margin::new(1, 1));
    let slot = slots(inner.width)
        .into_iter()
        .find(|s| s.field == state.ticket.field)?;
    let text = match slot.field {
        Field::Symbol => &state.ticket.symbol,
        Field::Quantity => &state.ticket.quantity,
        Field::Price => &state.ticket.price,
        Field::Side | Field::Ioc => return None,
    };
    let shown = tail(text, slot.width).chars().count() as u16;
    let position = Position::new(
        inner.x.saturating_add(slot.value_x()).saturating_add(shown),
        inner.y.saturating_add(slot.row),
    );
    inner.contains(position).then_some(position)
}

#[cfg(test)]
mod tests {
    use ratatui::style::Modifier;

    use super::*;
    use crate::state::{Notice, NoticeKind, sample};
    use crate::view::tests::{buffer_lines, render};

    fn filling(side: Side, symbol: &str, quantity: &str, price: &str) -> State {
        let mut s = sample::state();
        s.mode = Mode::Ticket;
        s.focus = Panel::Ticket;
        s.ticket.side = side;
        s.ticket.symbol = symbol.into();
        s.ticket.quantity = quantity.into();
        s.ticket.price = price.into();
        s.ticket.field = Field::Price;
        s
    }

    #[test]
    fn a_bad_price_shows_the_error_in_red() {
        let s = filling(Side::Buy, "BOLT", "20", "15.02");
        let buf = render(TicketPanel(&s), 50, 8);
        assert_eq!(
            buffer_lines(&buf)[1..5],
            [
                "┃ Side [BUY ]  Sym [BOLT    ]  Qty [20      ]    ┃",
                "┃ Price [15.02     ]  IOC [no ]                  ┃",
                "┃ ✗ $15.02 is not a whole number of BOLT's ticks ┃",
                "┃ ($0.05 each): try $15.00 or $15.05             ┃",
            ]
        );
        assert_eq!(buf[(2, 3)].fg, theme::LOSS);
        // The price field is the active one.
        assert!(buf[(9, 2)].modifier.contains(Modifier::REVERSED));
        assert!(!buf[(20, 1)].modifier.contains(Modifier::REVERSED));
        assert_eq!(
            cursor(&s, Rect::new(0, 0, 50, 8)),
            Some(Position::new(14, 2))
        );
    }

    #[test]
    fn a_good_order_shows_its_cost_and_warnings_in_yellow() {
        let mut s = filling(Side::Sell, "BOLT", "200", "15.05");
        s.ticket.pending = Some(7);
        let buf = render(TicketPanel(&s), 50, 8);
        let lines = buffer_lines(&buf);
        assert_eq!(
            lines[3..7],
            [
                "┃ sell 200 BOLT @ $15.05 ≈ $3,010.00             ┃",
                "┃ ! not enough shares: you want to sell 200 BOLT ┃",
                "┃ but have 100 free to sell                      ┃",
                "┃ sending…                                       ┃",
            ]
        );
        assert_eq!(buf[(2, 4)].fg, theme::WARN);
        assert_eq!(buf[(2, 3)].fg, theme::LOSS, "a sell is red");
    }

    #[test]
    fn the_last_answer_shows_under_the_checks() {
        let mut s = filling(Side::Buy, "ACME", "10", "12.50");
        s.mode = Mode::Normal;
        s.ticket.result = Some(Notice::new(
            NoticeKind::Success,
            "bought 10 ACME @ $12.50",
            0,
        ));
        let buf = render(TicketPanel(&s), 50, 8);
        let lines = buffer_lines(&buf);
        assert_eq!(
            lines[3],
            "┃ buy 10 ACME @ $12.50 ≈ $125.00                 ┃"
        );
        assert_eq!(
            lines[4],
            "┃ bought 10 ACME @ $12.50                        ┃"
        );
        assert_eq!(buf[(2, 4)].fg, theme::GAIN);
        // Not in ticket mode: no field highlighted and no cursor.
        assert!(!buf[(9, 2)].modifier.contains(Modifier::REVERSED));
        assert_eq!(cursor(&s, Rect::new(0, 0, 50, 8)), None);
    }

    #[test]
    fn fields_flow_onto_more_lines_when_narrow() {
        assert_eq!(
            slots(48).iter().map(|s| s.row).collect::<Vec<_>>(),
            [0, 0, 0, 1, 1]
        );
        assert_eq!(
            slots(33).iter().map(|s| s.row).collect::<Vec<_>>(),
            [0, 0, 1, 2, 2]
        );
        assert_eq!(
            slots(10).iter().map(|s| s.row).collect::<Vec<_>>(),
            [0, 1, 2, 3, 4]
        );
        let mut s = filling(Side::Buy, "ACME", "12345678901", "");
        s.ticket.field = Field::Quantity;
        // A long quantity shows its end, the cursor after it.
        let buf = render(TicketPanel(&s), 50, 8);
        assert!(buffer_lines(&buf)[1].contains("Qty [5678901 ]"));
        assert_eq!(
            cursor(&s, Rect::new(0, 0, 50, 8)),
            Some(Position::new(43, 1))
        );
    }
}
