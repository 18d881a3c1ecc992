//! IO: storage, transports and the runner — the only code that touches disk, network and time.

pub mod store;
