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
    /// The game's voters now, by node id.
    pub voters: Vec<VoterView>,
    /// The latest making of a joined machine into a voter, under way or ended.
    pub promotion: Option<PromotionView>,
}

/// One of the game's voters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VoterView {
    pub node: u64,
    /// Its registered name (`node1`, `lab-pc-7`).
    pub name: String,
    /// It runs in this `qraft class`, on the teacher's laptop.
    pub here: bool,
    /// Where other nodes reach it (`host:port`).
    pub address: String,
}

/// Making a joined machine a voter ([`ClassCommand::Promote`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromotionView {
    pub seat: u32,
    /// The student's (or machine's) name on the seat.
    pub name: String,
    pub state: PromotionState,
}

/// Where a promotion stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PromotionState {
    /// Under way: what it does now (`registering its address 10.0.0.5:41234`).
    Working(String),
    /// It is a voter, reached at `address`; `retired` is the teacher laptop's voter that
    /// stepped down to learner in its place, if one did.
    Done {
        address: String,
        retired: Option<u64>,
    },
    /// It is not a voter, and why (nothing changed, or what did is said).
    Failed(String),
}

impl ClassView {
    /// How many voters run on this laptop.
    pub fn voters_here(&self) -> usize {
        self.voters.iter().filter(|v| v.here).count()
    }

    /// Whether the game goes on when the teacher's laptop stops: the voters elsewhere
    /// are a majority.
    pub fn survives_this_laptop(&self) -> bool {
        let elsewhere = self.voters.len() - self.voters_here();
        elsewhere > self.voters.len() / 2
    }

    /// Whether seat `entry`'s machine is a voter.
    pub fn is_voter(&self, entry: &RosterEntry) -> bool {
        matches!(entry.state, SeatState::Joined { node } if self.voters.iter().any(|v| v.node == node))
    }

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
    /// Make the joined seat's machine a voter (one the teacher trusts: it holds the game's
    /// record and votes on it), registering the address its connections come from;
    /// one of this laptop's voters steps down to learner in its place while more than
    /// one runs here.
    Promote(u32),
}
