//! The Class panel's `v`: making the selected seat's machine a voter. A voter holds the
//! game's record and votes on every block, so the key asks first, in plain words, and says
//! what it changes for this laptop: whether one of its voters steps down, and whether the
//! game then goes on when the laptop stops. A seat that cannot be promoted (not joined, a
//! voter already, another promotion under way) gets a notice instead.

use qraft_client::class::{ClassCommand, ClassView, PromotionState, PromotionView, SeatState};

use super::ask;
use super::class::standing;
use crate::state::{ClassState, NoticeKind, OnYes, State};

/// `v` on the Class panel: asks before promoting the selected seat, or says why not.
pub(super) fn key(state: &mut State) {
    let Some(class) = &state.class else {
        return;
    };
    match check(class) {
        Ok((seat, question)) => ask(state, question, OnYes::Class(ClassCommand::Promote(seat))),
        Err((kind, text)) => state.say(kind, text),
    }
}

/// The notice for a promotion that ended since `before` (the footer still says it was
/// under way): done, or why not.
pub(super) fn ended(
    before: Option<&PromotionView>,
    view: &ClassView,
) -> Option<(NoticeKind, String)> {
    let now = view.promotion.as_ref()?;
    if before == Some(now) {
        return None;
    }
    match &now.state {
        PromotionState::Working(_) => None,
        PromotionState::Done { address, .. } => Some((
            NoticeKind::Info,
            format!("{}'s machine is a voter now, at {address}.", now.name),
        )),
        PromotionState::Failed(reason) => Some((
            NoticeKind::Error,
            format!("Could not make {} a voter: {reason}.", now.name),
        )),
    }
}

/// The seat to promote and the question to ask, or the notice saying why not.
fn check(class: &ClassState) -> Result<(u32, String), (NoticeKind, String)> {
    let view = &class.view;
    let Some(seat) = class.selected() else {
        return Err((NoticeKind::Info, "No one has joined yet.".into()));
    };
    let who = format!("{} (seat {})", seat.name, seat.seat);
    if !matches!(seat.state, SeatState::Joined { .. }) {
        let text = format!(
            "Only a joined machine can be made a voter: {who} {}.",
            standing(&seat.state)
        );
        return Err((NoticeKind::Warning, text));
    }
    if view.is_voter(seat) {
        let text = format!("{}'s machine is a voter already.", seat.name);
        return Err((NoticeKind::Info, text));
    }
    if let Some(promotion) = &view.promotion
        && let PromotionState::Working(step) = &promotion.state
    {
        let text = format!(
            "Wait for it: making {} a voter is under way ({step}); one machine at a time.",
            promotion.name
        );
        return Err((NoticeKind::Warning, text));
    }
    let question = format!(
        "Make {}'s machine (seat {}) a voter? Do this only for a machine you control: it \
         will hold the game's record and vote on every block.{}",
        seat.name,
        seat.seat,
        consequence(view)
    );
    Ok((seat.seat, question))
}

/// What promoting one more machine changes for this laptop, from the voters now (nothing
/// is said while they are not known): one of its voters steps down while more than one
/// runs here, and the game goes on without the laptop once the voters elsewhere are a
/// majority, or takes that many more machines.
fn consequence(view: &ClassView) -> String {
    if view.voters.is_empty() {
        return String::new();
    }
    let mut text = String::new();
    let here = view.voters_here();
    if here > 1 {
        text.push_str(" One of this laptop's voters steps down in its place.");
    }
    let mut now = promoted((here, view.voters.len() - here));
    let mut more = 0;
    while !survives(now) {
        now = promoted(now);
        more += 1;
    }
    match more {
        0 => text.push_str(" Then the game goes on if this laptop stops."),
        1 => text
            .push_str(" One more machine after this one lets the game go on without this laptop."),
        n => text.push_str(&format!(
            " {n} more machines after this one let the game go on without this laptop."
        )),
    }
    text
}

/// The voters (here, elsewhere) after one more machine is promoted: one of this laptop's
/// steps down while more than one runs here.
fn promoted((here, elsewhere): (usize, usize)) -> (usize, usize) {
    (if here > 1 { here - 1 } else { here }, elsewhere + 1)
}

/// Whether the voters elsewhere are a majority of all (here, elsewhere).
fn survives((here, elsewhere): (usize, usize)) -> bool {
    elsewhere * 2 > here + elsewhere
}
