//! The dashboard's colours and text styles, in one place: green for bids, buys and gains,
//! red for asks, sells and losses, yellow for warnings, cyan for what has the focus.

use ratatui::style::{Color, Modifier, Style};

use qraft_node::core::types::{Session, Side};

use crate::state::NoticeKind;

pub const GAIN: Color = Color::Green;
pub const LOSS: Color = Color::Red;
pub const WARN: Color = Color::Yellow;
pub const ACCENT: Color = Color::Cyan;
pub const MUTED: Color = Color::DarkGray;

pub fn plain() -> Style {
    Style::new()
}

pub fn bold() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// Labels, column headers, hints: quieter than the data.
pub fn muted() -> Style {
    Style::new().fg(MUTED)
}

/// A row whose data is stale (an unreachable node).
pub fn stale() -> Style {
    Style::new().fg(MUTED).add_modifier(Modifier::DIM)
}

pub fn header() -> Style {
    Style::new().add_modifier(Modifier::BOLD)
}

/// Column headers of tables.
pub fn column() -> Style {
    Style::new().fg(MUTED).add_modifier(Modifier::BOLD)
}

pub fn gain() -> Style {
    Style::new().fg(GAIN)
}

pub fn loss() -> Style {
    Style::new().fg(LOSS)
}

pub fn warn() -> Style {
    Style::new().fg(WARN)
}

pub fn error() -> Style {
    Style::new().fg(LOSS)
}

pub fn side(side: Side) -> Style {
    match side {
        Side::Buy => gain(),
        Side::Sell => loss(),
    }
}

/// Green above zero, red below, plain at zero.
pub fn signed(value: i128) -> Style {
    match value.signum() {
        1 => gain(),
        -1 => loss(),
        _ => plain(),
    }
}

pub fn session(session: Session) -> Style {
    match session {
        Session::Open => gain().add_modifier(Modifier::BOLD),
        Session::Halted => warn().add_modifier(Modifier::BOLD),
        Session::Closed => loss().add_modifier(Modifier::BOLD),
    }
}

pub fn notice(kind: NoticeKind) -> Style {
    match kind {
        NoticeKind::Info => plain(),
        NoticeKind::Success => gain(),
        NoticeKind::Warning => warn(),
        NoticeKind::Error => error().add_modifier(Modifier::BOLD),
    }
}

/// The selected row of a list: reversed while its panel has the focus, bold otherwise.
pub fn selected(focused: bool) -> Style {
    if focused {
        Style::new().add_modifier(Modifier::REVERSED)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

/// The border of a panel.
pub fn border(focused: bool) -> Style {
    if focused {
        Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
    } else {
        muted()
    }
}

/// The title of a panel.
pub fn title(focused: bool) -> Style {
    if focused {
        Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
    } else {
        Style::new().add_modifier(Modifier::BOLD)
    }
}

/// A key in the hints and the help.
pub fn key() -> Style {
    Style::new().fg(ACCENT).add_modifier(Modifier::BOLD)
}

/// The banner when the node is gone.
pub fn banner() -> Style {
    Style::new()
        .fg(Color::White)
        .bg(LOSS)
        .add_modifier(Modifier::BOLD)
}
