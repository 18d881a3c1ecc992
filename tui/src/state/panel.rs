//! The panels, the order Tab visits them in, and how a small terminal pages them (the
//! Class panel, under `qraft class`, is a page of its own on every terminal).

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
    /// The teacher's class under `qraft class`: the join code and the roster.
    Class,
}

impl Panel {
    /// Tab order.
    pub const ORDER: [Panel; 13] = [
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
        Panel::Class,
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
            Panel::Class => "Class",
        }
    }

    /// The page (1 to 5) that shows this panel on a small terminal (the Class panel's,
    /// 5, on every terminal).
    pub fn page(self) -> usize {
        match self {
            Panel::Watch | Panel::Book | Panel::Ticket | Panel::Orders => 1,
            Panel::Chart | Panel::Tape => 2,
            Panel::Portfolio | Panel::Leaders | Panel::News => 3,
            Panel::Blocks | Panel::Cluster | Panel::Admin => 4,
            Panel::Class => CLASS_PAGE,
        }
    }

    /// The first panel of a page.
    pub fn first_of_page(page: usize) -> Option<Panel> {
        Panel::ORDER.into_iter().find(|p| p.page() == page)
    }
}

/// The names of the pages, for the header (the last only with a class).
pub const PAGES: [&str; 5] = ["Trade", "Market", "Account", "Chain", "Class"];

/// The Class panel's page.
pub const CLASS_PAGE: usize = 5;

/// Scroll offsets and cursors of the list panels.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Scrolls {
    pub tape: usize,
    pub news: usize,
    pub blocks: usize,
    pub leaders: usize,
    pub portfolio: usize,
}
