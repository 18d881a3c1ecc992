//! The command groups.

pub mod bench;
pub mod client;
pub mod game;
pub mod genesis;
pub mod init;
pub mod keys;
pub mod run;
pub mod verify;
