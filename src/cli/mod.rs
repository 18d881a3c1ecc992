//! The command groups.

pub mod bench;
pub mod chaos;
pub mod class;
pub mod client;
pub mod demo;
pub mod game;
pub mod genesis;
pub mod init;
pub mod join;
pub mod keys;
pub mod logs;
pub mod report;
pub mod run;
pub mod scenario;
pub mod signal;
pub mod verify;
