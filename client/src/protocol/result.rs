//! What a command answers: one result line, a success or a failure, carrying the
//! command's `id` and `cmd` in a session. The one-shot commands print the same objects
//! with `--json`, without `id` and `cmd`.

use qraft_node::core::types::{Cents, NodeId, OrderId, Role, Shares, Side, Ticker, Ticks};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A session's result line: the command's `id` and `cmd` (when the line had them) and the
/// success or failure object's own fields.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultLine {
    /// The command's `id`, any JSON value, as it was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<Value>,
    /// The command's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    /// A [`Success`]'s or a [`FailureLine`]'s fields.
    #[serde(flatten)]
    pub body: Map<String, Value>,
}

/// A success: `"ok": true` and the command's own fields (a [`TxAccepted`], a
/// [`super::report::Book`], ...).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Success<T> {
    /// Always true.
    pub ok: bool,
    #[serde(flatten)]
    pub fields: T,
}

/// A failure: `{"ok":false,"code":N,"status":"...","error":"...", ...}` with
/// [`FailureDetails`] where they apply.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FailureLine {
    /// Always false.
    pub ok: bool,
    /// The exit code the one-shot command has: 1 error, 2 usage, 3 refused or rejected,
    /// 4 unknown.
    pub code: u8,
    /// `error`, `usage`, `refused`, `rejected` or `unknown`.
    pub status: String,
    /// A sentence for people.
    pub error: String,
    /// Details for programs.
    #[serde(flatten)]
    pub details: FailureDetails,
}

/// What a program may want to know about a failure, each only where it applies.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct FailureDetails {
    /// Why, in snake_case: a refusal (`busy`, `no_leader`, `over_share`, `not_admin`,
    /// `not_applied`, ...) or a rejection (`insufficient_cash`, `market_closed`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With a refusal: whether sending it again later can work.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retryable: Option<bool>,
    /// The transaction's hash, hex (to look its receipt up after an `unknown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tx: Option<String>,
    /// With a rejection: the block it is in, that block's hash, its position there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Any other detail, by name (none so far).
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl FailureDetails {
    /// The details named in `map`; a known name with a value of another type is kept
    /// in [`FailureDetails::other`], so nothing is lost.
    pub fn from_map(map: Map<String, Value>) -> FailureDetails {
        let mut details = FailureDetails::default();
        for (name, value) in map {
            let kept = match name.as_str() {
                "reason" => set(&mut details.reason, &value),
                "retryable" => set(&mut details.retryable, &value),
                "tx" => set(&mut details.tx, &value),
                "height" => set(&mut details.height, &value),
                "block" => set(&mut details.block, &value),
                "index" => set(&mut details.index, &value),
                _ => false,
            };
            if !kept {
                details.other.insert(name, value);
            }
        }
        details
    }
}

/// Sets `field` from `value` if it has the field's type; whether it did.
fn set<T: serde::de::DeserializeOwned>(field: &mut Option<T>, value: &Value) -> bool {
    match T::deserialize(value) {
        Ok(v) => {
            *field = Some(v);
            true
        }
        Err(_) => false,
    }
}

/// An accepted transaction: where it is in the chain and what it did (`effect`, with
/// the field named for it).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TxAccepted {
    /// Always `"accepted"`.
    pub status: String,
    /// The transaction's hash, hex.
    pub tx: String,
    /// The block it is in.
    pub height: u64,
    /// That block's hash, hex.
    pub block: String,
    /// Its position in the block.
    pub index: u32,
    /// `order`, `cancel`, `admin`, or another effect's name in snake_case.
    pub effect: String,
    /// With `effect` `order`: what the order did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<OrderReport>,
    /// With `effect` `cancel`: the orders cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelled: Option<Vec<CancelledOrder>>,
    /// With `effect` `admin`: what was done.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin: Option<AdminReport>,
}

/// What an accepted order did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderReport {
    pub id: OrderId,
    pub symbol: Ticker,
    pub side: Side,
    /// `limit`, `ioc` or `market`.
    #[serde(rename = "type")]
    pub kind: String,
    pub quantity: Shares,
    /// The limit in dollars (null for a market order).
    pub limit: Option<String>,
    pub limit_ticks: Option<Ticks>,
    /// `filled`, `resting` or `cancelled`.
    pub state: String,
    /// Shares traded, left in the book, and cancelled.
    pub filled: Shares,
    pub resting: Shares,
    pub cancelled: Shares,
    /// Why shares were cancelled: null, `no_more_liquidity`, `price_band`, `self_trade`.
    pub cancel_reason: Option<String>,
    /// Money traded, dollars and cents.
    pub value: String,
    pub value_cents: i64,
    pub fills: Vec<OrderFill>,
}

/// One fill of an order, against a resting order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OrderFill {
    pub price: String,
    pub price_ticks: Ticks,
    pub quantity: Shares,
    pub resting_order: OrderId,
}

/// An order a cancel took out of the book, with the shares that were still open.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CancelledOrder {
    pub order: OrderId,
    pub shares: Shares,
}

/// What an administration transaction did, by `action`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum AdminReport {
    /// The market, or one symbol (`symbol`, null for all), opened.
    Open { symbol: Option<Ticker> },
    /// Trading halted.
    Halt { symbol: Option<Ticker> },
    /// Trading resumed.
    Resume { symbol: Option<Ticker> },
    /// The market closed.
    Close { symbol: Option<Ticker> },
    /// News published.
    News { headline: String },
    /// A participant added.
    AddParticipant {
        name: String,
        key: String,
        role: Role,
        cash: String,
        cash_cents: Cents,
        holdings: Vec<Holding>,
    },
    /// Any other action, by its name in snake_case.
    #[serde(untagged)]
    Other { action: String },
}

/// Shares of a symbol a new participant starts with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Holding {
    pub symbol: Ticker,
    pub shares: Shares,
}

/// A membership change (`admin` `add_learner`, `promote`, `remove` by the leader) and
/// the configuration the leader showed last.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MembershipReport {
    /// `add_learner`, `promote` or `remove`.
    pub change: String,
    pub node: NodeId,
    /// The leader that took it (null if none answered).
    pub leader: Option<NodeId>,
    /// Whether it was seen in effect in time.
    pub applied: bool,
    pub voters: Option<Vec<NodeId>>,
    pub learners: Option<Vec<NodeId>>,
}

/// A node registered (`admin` `add_node`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NodeRegistered {
    pub registered: NodeId,
    pub name: String,
    pub address: String,
    /// The block the registration is in.
    pub height: u64,
    /// Whether the leader made it a learner in time.
    pub learner: bool,
}

/// The topics a `subscribe` started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Subscribed {
    pub topics: TopicsReport,
}

/// Which events a subscription gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicsReport {
    pub blocks: bool,
    pub trades: bool,
    pub fills: bool,
    pub book: bool,
}

/// What an `unsubscribe` stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Unsubscribed {
    /// Whether there was a subscription.
    pub was_subscribed: bool,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn admin_reports_are_tagged_by_action() {
        let halt = AdminReport::Halt { symbol: None };
        assert_eq!(
            serde_json::to_value(&halt).ok(),
            Some(json!({"action": "halt", "symbol": null}))
        );
        let other = AdminReport::Other {
            action: "suspend_participant".into(),
        };
        assert_eq!(
            serde_json::to_value(&other).ok(),
            Some(json!({"action": "suspend_participant"}))
        );
    }

    #[test]
    fn failure_details_are_typed_and_keep_the_unknown() {
        let mut map = Map::new();
        map.insert("reason".into(), json!("not_applied"));
        map.insert("retryable".into(), json!(true));
        map.insert("index".into(), json!("not a number"));
        map.insert("extra".into(), json!(1));
        let details = FailureDetails::from_map(map);
        assert_eq!(details.reason.as_deref(), Some("not_applied"));
        assert_eq!(details.retryable, Some(true));
        assert_eq!(details.index, None);
        let line = FailureLine {
            ok: false,
            code: 3,
            status: "refused".into(),
            error: "not applied".into(),
            details,
        };
        assert_eq!(
            serde_json::to_value(&line).ok(),
            Some(
                json!({"ok": false, "code": 3, "status": "refused", "error": "not applied",
                        "reason": "not_applied", "retryable": true,
                        "index": "not a number", "extra": 1})
            )
        );
        let back: Option<FailureLine> = serde_json::from_value(json!({
            "ok": false, "code": 4, "status": "unknown", "error": "no answer", "tx": "ab"
        }))
        .ok();
        assert_eq!(back.and_then(|b| b.details.tx).as_deref(), Some("ab"));
    }

    #[test]
    fn result_lines_flatten_their_body() {
        let mut body = Map::new();
        body.insert("ok".into(), json!(true));
        let line = ResultLine {
            id: Some(json!(1)),
            cmd: Some("status".into()),
            body,
        };
        assert_eq!(
            serde_json::to_value(&line).ok(),
            Some(json!({"id": 1, "cmd": "status", "ok": true}))
        );
    }
}
