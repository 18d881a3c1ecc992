//! [`Command`]: what [`crate::update::update`] asks the IO shell to do.

use qraft_client::class::ClassCommand;
use qraft_node::core::tx::TxBody;
use qraft_node::core::types::Ticker;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// Sign `body` with my key and the next nonce, submit it, and report the outcome of
    /// `request`.
    Submit { request: u64, body: TxBody },
    /// Follow this symbol's book and candles.
    Watch(Ticker),
    /// Send this to the class service, without waiting (the teacher's Class panel).
    Class(ClassCommand),
    /// Stop: the user quits.
    Quit,
}
