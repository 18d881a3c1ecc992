//! The typed queries of a game, written once: what to ask a node ([`Request`]) and what
//! its answer means ([`Response`]), for the CLI, the dashboard and bots.
//!
//! A [`Query`] is one request with the one reading of its answer: one function per query
//! ([`status`], [`symbols`], [`depth`], [`trades`], [`leaderboard`], [`account`],
//! [`blocks`], [`block`], [`receipt`], [`nodes`], [`membership`]) makes it, and
//! [`Query::ask`] (or [`Query::ask_within`], in time) asks it of a QUIC [`Client`].
//! A program that sends requests its own way (a bot asks again on the next node) sends
//! [`Query::request`] and reads the answer with [`Query::read`]. Whatever goes wrong is
//! a [`QueryError`].

use std::time::Duration;

use qraft_node::api::{MembershipChange, Status};
use qraft_node::core::block::Block;
use qraft_node::core::exchange::receipt::PublicTrade;
use qraft_node::core::exchange::rules::RuleChange;
use qraft_node::core::exchange::schedule::ScenarioView;
use qraft_node::core::exchange::views::{AccountView, DepthView, LeaderboardRow, SymbolView};
use qraft_node::core::genesis::NodeSpec;
use qraft_node::core::tx::TxHash;
use qraft_node::core::types::Ticker;
use qraft_node::net::client::{Client, ClientError};
use qraft_node::net::proto::{
    BlockSummary, ProtocolError, ReceiptView, RecordedReport, Request, Response,
};

/// Why a query has no answer.
#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    /// The node answered with another kind of answer: its first 120 characters.
    #[error("unexpected answer from the node: {0}")]
    Unexpected(String),
    /// The node refused the request.
    #[error("the node refused: {0}")]
    Refused(ProtocolError),
    /// No answer from `node` within `waited`.
    #[error("no answer from {node} within {}s", waited.as_secs())]
    NoAnswer { node: String, waited: Duration },
    /// The connection failed.
    #[error("{0}")]
    Connection(ClientError),
}

impl QueryError {
    /// `response`, unexpected: its first 120 characters.
    pub fn unexpected(response: &Response) -> QueryError {
        QueryError::Unexpected(format!("{response:?}").chars().take(120).collect())
    }
}

impl From<ClientError> for QueryError {
    fn from(err: ClientError) -> QueryError {
        match err {
            ClientError::Refused(err) => QueryError::Refused(err),
            err => QueryError::Connection(err),
        }
    }
}

impl From<QueryError> for ClientError {
    fn from(err: QueryError) -> ClientError {
        match err {
            QueryError::Unexpected(text) => ClientError::Unexpected(text),
            QueryError::Refused(err) => ClientError::Refused(err),
            err @ QueryError::NoAnswer { .. } => ClientError::Connection(err.to_string()),
            QueryError::Connection(err) => err,
        }
    }
}

/// The reading of an answer of kind `Response::$variant`: what it holds, or the
/// response back.
macro_rules! read {
    ($variant:ident) => {
        |response| match response {
            Response::$variant(answer) => Ok(answer),
            other => Err(Box::new(other)),
        }
    };
}

/// One query: the request, and the one reading of its answer.
#[derive(Clone, Debug)]
pub struct Query<T> {
    request: Request,
    /// The answer, or the response back if it is not this query's kind.
    read: fn(Response) -> Result<T, Box<Response>>,
}

impl<T> Query<T> {
    /// What to ask.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The answer in `response`; a response of another kind is
    /// [`QueryError::Unexpected`] (or [`QueryError::Refused`], a refusal).
    pub fn read(&self, response: Response) -> Result<T, QueryError> {
        match (self.read)(response) {
            Ok(answer) => Ok(answer),
            Err(other) => match *other {
                Response::Error(err) => Err(QueryError::Refused(err)),
                other => Err(QueryError::unexpected(&other)),
            },
        }
    }

    /// Asks `client`, and reads its answer.
    pub async fn ask(&self, client: &Client) -> Result<T, QueryError> {
        self.read(client.request(&self.request).await?)
    }

    /// [`Query::ask`], for at most `timeout` ([`QueryError::NoAnswer`] then).
    pub async fn ask_within(&self, client: &Client, timeout: Duration) -> Result<T, QueryError> {
        match tokio::time::timeout(timeout, self.ask(client)).await {
            Ok(answer) => answer,
            Err(_) => Err(QueryError::NoAnswer {
                node: client.node().to_string(),
                waited: timeout,
            }),
        }
    }
}

/// The node's role, term, leader, log indexes, height and peers.
pub fn status() -> Query<Status> {
    Query {
        request: Request::Status,
        read: read!(Status),
    }
}

/// Every symbol with its market summary.
pub fn symbols() -> Query<Vec<SymbolView>> {
    Query {
        request: Request::Symbols,
        read: read!(Symbols),
    }
}

/// The top `levels` price levels of each side of `symbol`'s book (`None`: no such
/// symbol).
pub fn depth(symbol: Ticker, levels: u32) -> Query<Option<DepthView>> {
    Query {
        request: Request::Depth { symbol, levels },
        read: read!(Depth),
    }
}

/// The `limit` most recent trades of `symbol` (of every symbol with `None`), newest
/// first.
pub fn trades(symbol: Option<Ticker>, limit: u32) -> Query<Vec<PublicTrade>> {
    Query {
        request: Request::Trades { symbol, limit },
        read: read!(Trades),
    }
}

/// The participants ranked by net worth.
pub fn leaderboard() -> Query<Vec<LeaderboardRow>> {
    Query {
        request: Request::Leaderboard,
        read: read!(Leaderboard),
    }
}

/// The asking key's own account (`None`: the key is not a participant).
pub fn account() -> Query<Option<AccountView>> {
    Query {
        request: Request::Account,
        read: read!(Account),
    }
}

/// Block headers `from..=to` (at most
/// [`MAX_BLOCKS_PER_REQUEST`](qraft_node::net::proto::MAX_BLOCKS_PER_REQUEST); `to` is
/// capped at the head).
/// Whole blocks `from..=to` with their receipts (at most
/// [`MAX_FULL_BLOCKS_PER_REQUEST`](qraft_node::net::proto::MAX_FULL_BLOCKS_PER_REQUEST)
/// a request); the answer stops early at a block the node does not hold whole.
pub fn full_blocks(from: u64, to: u64) -> Query<Vec<qraft_node::net::proto::FullBlock>> {
    Query {
        request: Request::FullBlocks { from, to },
        read: read!(FullBlocks),
    }
}

pub fn blocks(from: u64, to: u64) -> Query<Vec<BlockSummary>> {
    Query {
        request: Request::Blocks { from, to },
        read: read!(Blocks),
    }
}

/// One whole block (`None`: the node lacks it).
pub fn block(height: u64) -> Query<Option<Block>> {
    Query {
        request: Request::Block { height },
        read: read!(Block),
    }
}

/// Transaction `hash`'s receipt (`None`: not applied, as far as the node knows).
pub fn receipt(hash: TxHash) -> Query<Option<ReceiptView>> {
    Query {
        request: Request::Receipt { hash },
        read: read!(Receipt),
    }
}

/// The node registry: every node that may join.
pub fn nodes() -> Query<Vec<NodeSpec>> {
    Query {
        request: Request::Nodes,
        read: read!(Nodes),
    }
}

/// Every set of rules the game has had, the genesis's first; the last is in force.
pub fn rules() -> Query<Vec<RuleChange>> {
    Query {
        request: Request::Rules,
        read: read!(Rules),
    }
}

/// The game's scenario and how far it has run; none for a free market.
pub fn scenario() -> Query<Option<Box<ScenarioView>>> {
    Query {
        request: Request::Scenario,
        read: read!(Scenario),
    }
}

/// The end-of-game report's hash the admin recorded, if any, at the node's head.
pub fn report_hash() -> Query<RecordedReport> {
    Query {
        request: Request::ReportHash,
        read: read!(ReportHash),
    }
}

/// Admin only, on the leader: proposes `change` to the cluster's membership.
pub fn membership(change: MembershipChange) -> Query<()> {
    Query {
        request: Request::Membership(change),
        read: |response| match response {
            Response::MembershipProposed => Ok(()),
            other => Err(Box::new(other)),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_of_its_kind_is_read() {
        let query = leaderboard();
        assert_eq!(query.request(), &Request::Leaderboard);
        assert_eq!(
            query.read(Response::Leaderboard(Vec::new())).unwrap(),
            vec![]
        );
        assert_eq!(account().read(Response::Account(None)).unwrap(), None);
        membership(MembershipChange::Promote(2))
            .read(Response::MembershipProposed)
            .unwrap();
    }

    #[test]
    fn an_answer_of_another_kind_is_unexpected() {
        let err = symbols().read(Response::Subscribed).unwrap_err();
        assert!(matches!(&err, QueryError::Unexpected(text) if text == "Subscribed"));
        assert_eq!(
            err.to_string(),
            "unexpected answer from the node: Subscribed"
        );
        let err = status().read(Response::Symbols(Vec::new())).unwrap_err();
        assert!(matches!(err, QueryError::Unexpected(_)));
    }

    #[test]
    fn a_refusal_is_refused() {
        let err = status()
            .read(Response::Error(ProtocolError::NotAdmin))
            .unwrap_err();
        assert!(matches!(err, QueryError::Refused(ProtocolError::NotAdmin)));
        let client: ClientError = err.into();
        assert!(matches!(
            client,
            ClientError::Refused(ProtocolError::NotAdmin)
        ));
    }

    #[test]
    fn unexpected_answers_are_cut_at_120_characters() {
        let long = Response::Error(ProtocolError::Invalid("x".repeat(500)));
        let QueryError::Unexpected(text) = QueryError::unexpected(&long) else {
            unreachable!()
        };
        assert_eq!(text.chars().count(), 120);
    }
}
