//! The command groups.

pub mod keys;
