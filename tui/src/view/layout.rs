//! Where everything goes: the header, the page tabs, the panels and the bottom line, for
//! the size of the terminal. A small terminal (below [`WIDE`]) shows one page of panels
//! at a time; a large one shows the four pages at once, in a grid. The Class page (the
//! teacher's, under `qraft class`) has the whole screen on any terminal, and with a class
//! the page tabs always show, so that its key is in sight. The projector page has the
//! body to itself, without tabs.

use ratatui::layout::{Constraint, Layout, Rect};

use crate::state::panel::CLASS_PAGE;
use crate::state::{Mode, Panel, State};

/// The smallest size that shows every panel at once.
pub const WIDE: (u16, u16) = (120, 36);

/// The parts of the screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Screen {
    pub header: Rect,
    /// The page tabs, on a small terminal.
    pub tabs: Option<Rect>,
    pub body: Rect,
    pub footer: Rect,
    /// The page shown, on a small terminal or the Class page (`None`: all of them).
    pub page: Option<usize>,
    /// Each panel shown and its area.
    pub panels: Vec<(Panel, Rect)>,
    /// The Rules box (under the trades, when the Market page shows and has room for it).
    pub rules: Option<Rect>,
}

impl Screen {
    /// The area of `panel`, if it is shown.
    pub fn area_of(&self, panel: Panel) -> Option<Rect> {
        self.panels
            .iter()
            .find(|(p, _)| *p == panel)
            .map(|(_, r)| *r)
    }
}

/// Whether `area` shows every panel at once.
pub fn is_wide(area: Rect) -> bool {
    area.width >= WIDE.0 && area.height >= WIDE.1
}

/// The page a small terminal shows: the focused panel's, or the ticket's while it is
/// being filled in.
pub fn current_page(state: &State) -> usize {
    if state.mode == Mode::Ticket {
        Panel::Ticket.page()
    } else {
        state.focus.page()
    }
}

/// Lays out the screen.
pub fn screen(state: &State, area: Rect) -> Screen {
    let class_page = state.class.is_some() && current_page(state) == CLASS_PAGE;
    let wide = is_wide(area) && !class_page;
    let tabs_height =
        u16::from((!wide || state.class.is_some()) && area.height >= 6 && !state.projector);
    let [header, tabs, body, footer] = Layout::vertical([
        Constraint::Length(1),
        Constraint::Length(tabs_height),
        Constraint::Fill(1),
        Constraint::Length(1),
    ])
    .areas(area);
    let (page, panels, rules) = if state.projector {
        // The projector page has the body to itself.
        (None, Vec::new(), None)
    } else if wide {
        let [top, bottom] = Layout::vertical([
            Constraint::Length(top_height(state, body)),
            Constraint::Fill(1),
        ])
        .areas(body);
        let halves = |r: Rect| -> [Rect; 2] {
            Layout::horizontal([Constraint::Percentage(50), Constraint::Percentage(50)]).areas(r)
        };
        let [one, two] = halves(top);
        let [three, four] = halves(bottom);
        let mut panels = page_panels(state, 1, one);
        panels.extend(page_panels(state, 2, two));
        panels.extend(page_panels(state, 3, three));
        panels.extend(page_panels(state, 4, four));
        (None, panels, market_page(state, two).rules)
    } else {
        let page = current_page(state);
        let rules = (page == 2)
            .then(|| market_page(state, body).rules)
            .flatten();
        (Some(page), page_panels(state, page, body), rules)
    };
    Screen {
        header,
        tabs: (tabs_height > 0).then_some(tabs),
        body,
        footer,
        page,
        panels,
        rules,
    }
}

/// Rows of the grid's top half (the Trade and Market pages): 55% of the body, more if
/// the trade page needs it to show a few open orders under the ticket, as long as the
/// bottom half keeps [`MIN_BOTTOM`] rows.
fn top_height(state: &State, body: Rect) -> u16 {
    let share = body.height.saturating_mul(55) / 100;
    let trade_page = rows_for(state.market.symbols.len().max(1)) + TICKET_ROWS + ORDERS_ROWS;
    let most = body.height.saturating_sub(MIN_BOTTOM);
    share.max(trade_page.min(most))
}

/// The order ticket's rows, borders included.
const TICKET_ROWS: u16 = 8;
/// Open orders' rows wanted in the grid: borders, header and three orders.
const ORDERS_ROWS: u16 = 6;
/// The fewest rows the grid's bottom half keeps.
const MIN_BOTTOM: u16 = 12;

fn rows_for(items: usize) -> u16 {
    u16::try_from(items).unwrap_or(u16::MAX).saturating_add(3)
}

/// The Market page's parts: the chart, and the trades with the Rules box under them.
pub struct MarketPage {
    pub chart: Rect,
    pub tape: Rect,
    pub rules: Option<Rect>,
}

/// The fewest rows the trades keep over the Rules box: borders, header, five trades.
pub const TAPE_MIN_ROWS: u16 = 8;
/// The fewest rows worth a Rules box: borders and two rules.
pub const RULES_MIN_ROWS: u16 = 4;

/// Lays out the Market page in `area`: the Rules box has the rows it wants under the
/// trades, as long as the trades keep [`TAPE_MIN_ROWS`]; with fewer than
/// [`RULES_MIN_ROWS`] left for it, no box.
pub fn market_page(state: &State, area: Rect) -> MarketPage {
    let [chart, right] =
        Layout::horizontal([Constraint::Min(24), Constraint::Length(38)]).areas(area);
    let room = right.height.saturating_sub(TAPE_MIN_ROWS);
    let rows = super::rules::rows_wanted(state, right.width).min(room);
    if rows < RULES_MIN_ROWS {
        return MarketPage {
            chart,
            tape: right,
            rules: None,
        };
    }
    let [tape, rules] =
        Layout::vertical([Constraint::Fill(1), Constraint::Length(rows)]).areas(right);
    MarketPage {
        chart,
        tape,
        rules: Some(rules),
    }
}

/// The panels of one page in `area`.
pub fn page_panels(state: &State, page: usize, area: Rect) -> Vec<(Panel, Rect)> {
    match page {
        1 => {
            let [watch, rest] = Layout::vertical([
                Constraint::Length(rows_for(state.market.symbols.len().max(1))),
                Constraint::Min(10),
            ])
            .areas(area);
            let split = if area.width >= 66 {
                [Constraint::Length(30), Constraint::Fill(1)]
            } else {
                [Constraint::Percentage(42), Constraint::Fill(1)]
            };
            let [book, right] = Layout::horizontal(split).areas(rest);
            let [ticket, orders] =
                Layout::vertical([Constraint::Length(TICKET_ROWS), Constraint::Min(3)])
                    .areas(right);
            vec![
                (Panel::Watch, watch),
                (Panel::Book, book),
                (Panel::Ticket, ticket),
                (Panel::Orders, orders),
            ]
        }
        2 => {
            let page = market_page(state, area);
            vec![(Panel::Chart, page.chart), (Panel::Tape, page.tape)]
        }
        3 => {
            let [portfolio, right] =
                Layout::horizontal([Constraint::Length(42), Constraint::Min(30)]).areas(area);
            let [leaders, news] = Layout::vertical([
                Constraint::Length(rows_for(state.market.leaderboard.len().max(1))),
                Constraint::Min(6),
            ])
            .areas(right);
            vec![
                (Panel::Portfolio, portfolio),
                (Panel::Leaders, leaders),
                (Panel::News, news),
            ]
        }
        CLASS_PAGE => vec![(Panel::Class, area)],
        _ => {
            let [cluster, rest] = Layout::vertical([
                Constraint::Length(rows_for(state.cluster.nodes.len().max(1))),
                Constraint::Min(5),
            ])
            .areas(area);
            if state.is_admin() {
                let [blocks, admin] =
                    Layout::horizontal([Constraint::Min(30), Constraint::Length(30)]).areas(rest);
                vec![
                    (Panel::Blocks, blocks),
                    (Panel::Cluster, cluster),
                    (Panel::Admin, admin),
                ]
            } else {
                vec![(Panel::Blocks, rest), (Panel::Cluster, cluster)]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::state::sample;
    use crate::view::tests::{buffer_lines, render};

    #[test]
    fn a_modest_grid_still_shows_my_open_orders() {
        let state = sample::state();
        let lines = buffer_lines(&render(&state, 130, 38));
        for order in ["#41 buy  ACME", "#42 sell ACME"] {
            assert!(
                lines.iter().any(|l| l.contains(order)),
                "{order} is not shown:\n{}",
                lines.join("\n")
            );
        }
        assert!(
            lines.iter().any(|l| l.contains("Blocks")),
            "{}",
            lines.join("\n")
        );
    }
}
