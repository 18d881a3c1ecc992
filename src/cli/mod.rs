//! The command groups.

pub mod genesis;
pub mod init;
pub mod keys;
