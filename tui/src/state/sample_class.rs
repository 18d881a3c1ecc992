//! A fixed class for the tests of the Class panel: the sample state as the game's admin
//! (the teacher) under `qraft class`, with a roster in every state, and its voters on
//! this laptop, elsewhere, or being added.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use qraft_client::class::{
    ClassView, PromotionState, PromotionView, RosterEntry, SeatState, VoterView,
};
use qraft_node::core::types::Role;

use super::{ClassState, Panel, State, sample};

fn lan(last: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(192, 168, 1, last))
}

fn seat(seat: u32, name: &str, from: u8, state: SeatState) -> RosterEntry {
    RosterEntry {
        seat,
        name: name.into(),
        from: Some(lan(from)),
        state,
    }
}

fn voter(node: u64, name: &str, here: bool, address: &str) -> VoterView {
    VoterView {
        node,
        name: name.into(),
        here,
        address: address.into(),
    }
}

/// Voter `n` (1 to 3) of the three `qraft class` starts on this laptop.
fn here(n: u64) -> VoterView {
    voter(
        n,
        &format!("node{n}"),
        true,
        &format!("192.168.1.20:780{n}"),
    )
}

/// Joining just opened: the code, two addresses, no one yet; the three voters on this
/// laptop.
pub fn just_opened() -> ClassView {
    ClassView {
        game: "Sample game".into(),
        chain_prefix: "3f9a1c0d2e4b5a69".into(),
        code: Some("42-tulip-maple".into()),
        addresses: vec![
            SocketAddr::new(lan(20), 7400),
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, 5)), 7400),
        ],
        advertised: true,
        roster: Vec::new(),
        refused_attempts: 0,
        voters: (1..=3).map(here).collect(),
        promotion: None,
    }
}

/// A class under way: seats 1 and 2 joined, 3 and 7 waiting, 4 refused, 5 failed,
/// 6 left, 8 being admitted; three attempts refused before a seat.
pub fn under_way() -> ClassView {
    ClassView {
        roster: vec![
            seat(1, "Alice", 31, SeatState::Joined { node: 4 }),
            seat(2, "Bruno", 32, SeatState::Joined { node: 5 }),
            seat(3, "Chloé", 40, SeatState::Waiting),
            seat(
                4,
                "Dev",
                41,
                SeatState::Refused {
                    reason: "refused by the teacher".into(),
                },
            ),
            seat(
                5,
                "Emma",
                42,
                SeatState::Failed {
                    reason: "the name Emma is taken".into(),
                },
            ),
            seat(6, "Farid", 50, SeatState::Left),
            seat(7, "Gaby", 51, SeatState::Waiting),
            seat(8, "Hugo", 52, SeatState::Admitting),
        ],
        refused_attempts: 3,
        ..just_opened()
    }
}

/// The class under way once Alice's machine (node 4) and then Bruno's (node 5) were made
/// voters: one voter left on this laptop, node 2 having stepped down for Bruno.
pub fn with_voters() -> ClassView {
    ClassView {
        voters: vec![
            here(1),
            voter(4, "alice-4", false, "192.168.1.31:41234"),
            voter(5, "bruno-5", false, "192.168.1.32:40987"),
        ],
        promotion: Some(PromotionView {
            seat: 2,
            name: "Bruno".into(),
            state: PromotionState::Done {
                address: "192.168.1.32:40987".into(),
                retired: Some(2),
            },
        }),
        ..under_way()
    }
}

/// `view` with Alice's machine (seat 1) being made a voter, or failed to be: `state`.
pub fn promoting(view: ClassView, state: PromotionState) -> ClassView {
    ClassView {
        promotion: Some(PromotionView {
            seat: 1,
            name: "Alice".into(),
            state,
        }),
        ..view
    }
}

/// `view` with joining closed.
pub fn closed(view: ClassView) -> ClassView {
    ClassView { code: None, ..view }
}

/// The sample state as the teacher, the Class panel focused on `view`, the cursor on
/// row `cursor`.
pub fn teacher(view: ClassView, cursor: usize) -> State {
    let mut s = sample::state();
    s.me.role = Role::Admin;
    if let Some(account) = s.account.view.as_mut() {
        account.role = Role::Admin;
    }
    s.class = Some(ClassState { view, cursor });
    s.focus = Panel::Class;
    s
}
