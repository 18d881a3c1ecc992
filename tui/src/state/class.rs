//! The Class panel (the teacher's, under `qraft class`): the class service's latest
//! [`ClassView`] and the selected seat.

use qraft_client::class::{ClassView, RosterEntry, SeatState};

/// What the Class panel shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClassState {
    pub view: ClassView,
    /// The selected row of the roster (an index: seats are never reordered).
    pub cursor: usize,
}

impl ClassState {
    pub fn new(view: ClassView) -> ClassState {
        ClassState { view, cursor: 0 }
    }

    /// Takes a newer view, keeping the selection on the roster.
    pub fn replace(&mut self, view: ClassView) {
        self.view = view;
        self.cursor = self.cursor.min(self.view.roster.len().saturating_sub(1));
    }

    /// The selected seat, if the roster has any.
    pub fn selected(&self) -> Option<&RosterEntry> {
        self.view.roster.get(self.cursor)
    }

    /// How many seats wait for the teacher.
    pub fn waiting(&self) -> usize {
        self.view.count(SeatState::Waiting.label())
    }
}
