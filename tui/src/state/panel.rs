//! The panels, the order Tab visits them in, and how a small terminal pages them.

/// One panel of the dashboard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Panel {
    Watch,
    Book,
    Ticket,
    Orders,
    Chart,
    Tape,
    Portfolio,
    Leaders,
    News,
    Blocks,
    Cluster,
    Admin,
}

impl Panel {
    /// Tab order.
    pub const ORDER: [Panel; 12] = [
        Panel::Watch,
        Panel::Book,
        Panel::Ticket,
        Panel::Orders,
        Panel::Chart,
        Panel::Tape,
        Panel::Portfolio,
        Panel::Leaders,
        Panel::News,
        Panel::Blocks,
        Panel::Cluster,
        Panel::Admin,
    ];

    pub fn title(self) -> &'static str {
        match self {
            Panel::Watch => "Market",
            Panel::Book => "Book",
            Panel::Ticket => "Order ticket",
            Panel::Orders => "Open orders",
            Panel::Chart => "Chart",
            Panel::Tape => "Trades",
            Panel::Portfolio => "Portfolio",
            Panel::Leaders => "Leaderboard",
            Panel::News => "News",
            Panel::Blocks => "Blocks",
            Panel::Cluster => "Cluster",
            Panel::Admin => "Teacher",
        }
    }

    /// The page (1 to 4) that shows this panel on a small terminal.
    pub fn page(self) -> usize {
        match self {
            Panel::Watch | Panel::Book | Panel::Ticket | Panel::Orders => 1,
            Panel::Chart | Panel::Tape => 2,
            Panel::Portfolio | Panel::Leaders | Panel::News => 3,
            Panel::Blocks | Panel::Cluster | Panel::Admin => 4,
        }
    }

    /// The first panel of a page.
    pub fn first_of_page(page: usize) -> Option<Panel> {
        Panel::ORDER.into_iter().find(|p| p.page() == page)
    }
}

/// The names of the pages, for the header.
pub const PAGES: [&str; 4] = ["Trade", "Market", "Account", "Chain"];

/// Scroll offsets and cursors of the list panels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scrolls {
    pub tape: usize,
    pub news: usize,
    pub blocks: usize,
    pub leaders: usize,
    pub portfolio: usize,
}
