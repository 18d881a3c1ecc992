//! The consensus role, by the name `replica`'s modules have used for it
//! (`super::status::Role`). The type is [`crate::api::Role`]: what a replica shows its
//! clients is defined in `api`. (Private: no client names it through here.)

pub(super) use crate::api::Role;
