//! The views: the whole screen drawn from a [`State`], nothing else (pure).
//!
//! `impl Widget for &State` draws the screen; [`cursor`] says where the terminal cursor
//! goes while something is typed. The screen is laid out by [`layout`]: one page of
//! panels at a time on a small terminal, every panel on a large one, or the projector page
//! (`P`, the game big for a classroom, [`projector`]) instead of the panels. Each panel,
//! the Rules box (under the trades on the Market page), the header, the bottom line and
//! the overlays have a file of their own.

pub mod admin;
pub mod big;
pub mod blocks;
pub mod book;
pub mod chart;
pub mod class;
pub mod cluster;
pub mod columns;
pub mod confirm;
pub mod footer;
pub mod frame;
pub mod header;
pub mod help;
pub mod hints;
pub mod layout;
pub mod leaders;
pub mod news;
pub mod orders;
pub mod popup;
pub mod portfolio;
pub mod projector;
pub mod roster;
pub mod rows;
pub mod rules;
pub mod tabs;
pub mod tape;
pub mod theme;
pub mod ticket;
pub mod voters;
pub mod watch;

#[cfg(test)]
mod class_tests;
#[cfg(test)]
mod projector_tests;
#[cfg(test)]
mod rules_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod voters_tests;

use ratatui::buffer::Buffer;
use ratatui::layout::{Position, Rect};
use ratatui::widgets::Widget;

use crate::state::{Mode, Panel, State};

impl Widget for &State {
    fn render(self, area: Rect, buf: &mut Buffer) {
        let area = area.intersection(*buf.area());
        if area.is_empty() {
            return;
        }
        let screen = layout::screen(self, area);
        header::Header(self).render(screen.header, buf);
        if let Some(tabs) = screen.tabs {
            tabs::Tabs {
                page: screen.page,
                pages: self.pages(),
            }
            .render(tabs, buf);
        }
        if self.projector {
            projector::Projector(self).render(screen.body, buf);
        }
        for (panel, rect) in &screen.panels {
            render_panel(self, *panel, *rect, buf);
        }
        if let Some(rect) = screen.rules {
            rules::RulesBox(self).render(rect, buf);
        }
        footer::Footer(self).render(screen.footer, buf);
        match self.mode {
            Mode::Help => help::Help(self).render(screen.body, buf),
            Mode::Confirm => confirm::ConfirmBox(self).render(screen.body, buf),
            Mode::Normal | Mode::Command | Mode::Ticket => {}
        }
    }
}

/// Draws one panel in `area`.
pub fn render_panel(state: &State, panel: Panel, area: Rect, buf: &mut Buffer) {
    match panel {
        Panel::Watch => watch::Watch(state).render(area, buf),
        Panel::Book => book::Book(state).render(area, buf),
        Panel::Ticket => ticket::TicketPanel(state).render(area, buf),
        Panel::Orders => orders::Orders(state).render(area, buf),
        Panel::Chart => chart::Chart(state).render(area, buf),
        Panel::Tape => tape::Tape(state).render(area, buf),
        Panel::Portfolio => portfolio::Portfolio(state).render(area, buf),
        Panel::Leaders => leaders::Leaders(state).render(area, buf),
        Panel::News => news::News(state).render(area, buf),
        Panel::Blocks => blocks::Blocks(state).render(area, buf),
        Panel::Cluster => cluster::Cluster(state).render(area, buf),
        Panel::Admin => admin::Admin(state).render(area, buf),
        Panel::Class => class::Class(state).render(area, buf),
    }
}

/// Where the terminal cursor should be on a screen of `area` (the same area the state
/// is rendered into): on the command line while one is typed, at the end of the ticket's
/// text field while the ticket is filled in; `None` otherwise (hide the cursor).
pub fn cursor(state: &State, area: Rect) -> Option<Position> {
    if area.is_empty() {
        return None;
    }
    let screen = layout::screen(state, area);
    match state.mode {
        Mode::Command => footer::cursor(state, screen.footer),
        Mode::Ticket => ticket::cursor(state, screen.area_of(Panel::Ticket)?),
        Mode::Normal | Mode::Help | Mode::Confirm => None,
    }
}
