//! What the teacher's Class panel shows and what it can ask: a [`ClassView`] snapshot
//! published by the class service whenever something changes, and the
//! [`ClassCommand`]s the panel sends back. Plain data: the dashboard draws it, the
//! headless `qraft class` prints it.

use std::net::SocketAddr;

/// A seat on the roster: one student's enrollment, from the moment their laptop proved
/// the code. Seats are numbered in arrival order and never renumbered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RosterEntry {
    /// The seat's number: what [`ClassCommand::Approve`] and [`ClassCommand::Refuse`]
    /// name.
    pub seat: u32,
    /// The name the student typed (checked: not blank, at most 64 bytes, no control
    /// characters).
    pub name: String,
    /// Where their laptop connected from.
    pub from: Option<std::net::IpAddr>,
    pub state: SeatState,
}

/// Where a seat stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SeatState {
    /// Proved the code; waits for the teacher to approve or refuse.
    Waiting,
    /// Approved: the chain is registering the participant and the node.
    Admitting,
    /// Registered on the chain (participant and node); the laptop has its grant.
    Joined { node: u64 },
    /// The teacher refused; the student was told why.
    Refused { reason: String },
    /// Approved, but registering failed (a name already taken, the chain unreachable);
    /// the student was told why.
    Failed { reason: String },
    /// The laptop went away before the teacher decided.
    Left,
}

impl SeatState {
    /// A word for the roster's state column.
    pub fn label(&self) -> &'static str {
        match self {
            SeatState::Waiting => "waiting",
            SeatState::Admitting => "admitting",
            SeatState::Joined { .. } => "joined",
            SeatState::Refused { .. } => "refused",
            SeatState::Failed { .. } => "failed",
            SeatState::Left => "left",
        }
    }
}

/// The class as the teacher sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassView {
    /// The game's name, as advertised on the LAN.
    pub game: String,
    /// The first 16 hex digits of the chain id: students see the same on their screen.
    pub chain_prefix: String,
    /// The join code while joining is open (`42-tulip-maple`); `None` once closed.
    pub code: Option<String>,
    /// Where students reach the enrollment service when discovery fails
    /// (`qraft join HOST:PORT`): this laptop's LAN addresses.
    pub addresses: Vec<SocketAddr>,
    /// Whether the game is advertised on the LAN by mDNS (false: multicast unavailable,
    /// students must type an address).
    pub advertised: bool,
    /// Every seat, in arrival order.
    pub roster: Vec<RosterEntry>,
    /// Attempts refused before a seat existed: a wrong code, or over the rate limit.
    pub refused_attempts: u64,
}

impl ClassView {
    /// How many seats are in `state`'s kind (by [`SeatState::label`]).
    pub fn count(&self, label: &str) -> usize {
        self.roster
            .iter()
            .filter(|e| e.state.label() == label)
            .count()
    }
}

/// What the teacher asks of the class service.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClassCommand {
    /// Approve the waiting seat: register its participant and node, then send its grant.
    Approve(u32),
    /// Refuse the waiting seat, telling the student.
    Refuse(u32),
    /// Approve every waiting seat.
    ApproveAll,
    /// Close joining: the code expires and attempts under way are refused.
    Close,
    /// Open joining again with a new code.
    Reopen,
}
