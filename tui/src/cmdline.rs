//! The `:` command line: parses what is typed into a [`Cmd`] (pure), with messages that
//! say what was expected.
//!
//! ```text
//! buy ACME 10 @ 12.50        limit order (rests if not filled)
//! buy ACME 10 @ 12.50 ioc    immediate-or-cancel
//! sell ACME 5                market order
//! buy 10 @ 12.50             the selected symbol
//! cancel 42 | cancel all [ACME]
//! symbol ACME                select a symbol
//! open | halt | resume | close [ACME]            teacher
//! news TEXT | add-participant NAME qk1... CASH [trader|bot] | end-game
//! suspend qk1... | reinstate qk1...             teacher
//! help | quit
//! ```

use qraft_keys::PublicKey;
use qraft_node::core::tx::{MAX_NAME_BYTES, MAX_NEWS_BYTES, Scope};
use qraft_node::core::types::{Cents, OrderId, Role, Side, Ticker, parse_cents};

/// A session change the teacher can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionOp {
    Open,
    Halt,
    Resume,
    Close,
}

/// A parsed command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    Order {
        side: Side,
        /// `None`: the selected symbol.
        symbol: Option<String>,
        quantity: String,
        /// Empty: a market order.
        price: String,
        ioc: bool,
    },
    Cancel(OrderId),
    CancelAll(Option<Ticker>),
    Symbol(Ticker),
    Session(SessionOp, Scope),
    News(String),
    AddParticipant {
        name: String,
        key: PublicKey,
        cash: Cents,
        role: Role,
    },
    /// Cut a participant off on every node (after a confirmation).
    Suspend(PublicKey),
    /// Let a suspended participant in again.
    Reinstate(PublicKey),
    EndGame,
    Help,
    Quit,
}

impl Cmd {
    /// Whether only the game's admin may run it.
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Cmd::Session(..)
                | Cmd::News(_)
                | Cmd::AddParticipant { .. }
                | Cmd::Suspend(_)
                | Cmd::Reinstate(_)
                | Cmd::EndGame
        )
    }
}

const COMMANDS: &str = "buy, sell, cancel, symbol, help, quit (teacher: open, halt, resume, close, news, add-participant, suspend, reinstate, end-game)";

/// Parses one command line (without the leading `:`).
pub fn parse(line: &str) -> Result<Cmd, String> {
    let line = line.trim().trim_start_matches(':').trim();
    let (verb, rest) = match line.split_once(char::is_whitespace) {
        Some((verb, rest)) => (verb, rest.trim()),
        None => (line, ""),
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    match verb.to_ascii_lowercase().as_str() {
        "" => Err(format!("type a command: {COMMANDS}")),
        "buy" | "b" => order(Side::Buy, &words),
        "sell" | "s" => order(Side::Sell, &words),
        "cancel" | "c" => cancel(&words),
        "symbol" | "sym" | "watch" => match words.as_slice() {
            [one] => Ticker::new(one).map(Cmd::Symbol).map_err(|e| e.to_string()),
            _ => Err("which symbol? symbol ACME".into()),
        },
        "open" => session(SessionOp::Open, &words),
        "halt" => session(SessionOp::Halt, &words),
        "resume" => session(SessionOp::Resume, &words),
        "close" => session(SessionOp::Close, &words),
        "news" => news(rest),
        "add-participant" | "add" => add_participant(&words),
        "suspend" => participant_key("suspend", &words).map(Cmd::Suspend),
        "reinstate" => participant_key("reinstate", &words).map(Cmd::Reinstate),
        "end-game" | "endgame" => {
            if words.is_empty() {
                Ok(Cmd::EndGame)
            } else {
                Err("end-game takes nothing after it".into())
            }
        }
        "help" | "h" | "?" => Ok(Cmd::Help),
        "quit" | "q" | "exit" => Ok(Cmd::Quit),
        other => Err(format!("unknown command {other:?}: try {COMMANDS}")),
    }
}

/// The one participant key a teacher command names.
fn participant_key(verb: &str, words: &[&str]) -> Result<PublicKey, String> {
    match words {
        [key] => key
            .parse()
            .map_err(|e| format!("{verb} takes a participant's key (qk1...): {e}")),
        _ => Err(format!(
            "{verb} whom? {verb} qk1... (the participant's key)"
        )),
    }
}

fn is_number(word: &str) -> bool {
    let word = word.replace([',', '_'], "");
    !word.is_empty() && word.chars().all(|c| c.is_ascii_digit())
}

fn order(side: Side, words: &[&str]) -> Result<Cmd, String> {
    let example = format!(
        "{side} ACME 10 @ 12.50, {side} ACME 10 @ 12.50 ioc, or {side} ACME 10 for a market order"
    );
    // Split "@12.50" into "@" and "12.50".
    let mut tokens: Vec<String> = Vec::new();
    for word in words {
        match word.strip_prefix('@') {
            Some(rest) if !rest.is_empty() => {
                tokens.push("@".into());
                tokens.push(rest.into());
            }
            _ => tokens.push((*word).into()),
        }
    }
    let mut ioc = false;
    let mut market = false;
    tokens.retain(|t| match t.to_ascii_lowercase().as_str() {
        "ioc" => {
            ioc = true;
            false
        }
        "market" | "mkt" => {
            market = true;
            false
        }
        _ => true,
    });
    let mut rest = tokens.as_slice();
    let symbol = match rest.first() {
        Some(first) if !is_number(first) && first != "@" => {
            rest = &rest[1..];
            Some(first.clone())
        }
        _ => None,
    };
    let Some((quantity, after)) = rest.split_first() else {
        return Err(format!("{side} needs a quantity: {example}"));
    };
    if !is_number(quantity) {
        return Err(format!(
            "{quantity:?} is not a quantity (a whole number of shares): {example}"
        ));
    }
    let price = match after {
        [] => String::new(),
        [at, price] if at == "@" || at.eq_ignore_ascii_case("at") => price.clone(),
        [price] if price != "@" => price.clone(),
        [at] if at == "@" => return Err(format!("a price goes after @: {example}")),
        _ => {
            return Err(format!(
                "{:?} is more than {side} understands: {example}",
                after.join(" ")
            ));
        }
    };
    if market && !price.is_empty() {
        return Err("a market order has no price: drop the price or the word market".into());
    }
    Ok(Cmd::Order {
        side,
        symbol,
        quantity: quantity.clone(),
        price,
        ioc,
    })
}

fn cancel(words: &[&str]) -> Result<Cmd, String> {
    match words {
        [] => Err("cancel what? cancel 42 (an order number) or cancel all".into()),
        [all] if all.eq_ignore_ascii_case("all") => Ok(Cmd::CancelAll(None)),
        [all, symbol] if all.eq_ignore_ascii_case("all") => Ticker::new(symbol)
            .map(|t| Cmd::CancelAll(Some(t)))
            .map_err(|e| e.to_string()),
        [id] => id
            .trim_start_matches('#')
            .parse()
            .map(Cmd::Cancel)
            .map_err(|_| format!("{id:?} is not an order number: cancel 42 or cancel all")),
        _ => Err("cancel takes one order number, or all (and a symbol)".into()),
    }
}

fn session(op: SessionOp, words: &[&str]) -> Result<Cmd, String> {
    match words {
        [] => Ok(Cmd::Session(op, Scope::All)),
        [symbol] => Ticker::new(symbol)
            .map(|t| Cmd::Session(op, Scope::Symbol(t)))
            .map_err(|e| e.to_string()),
        _ => Err("give at most one symbol, or none for the whole market".into()),
    }
}

fn news(text: &str) -> Result<Cmd, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("news needs a headline: news ACME beats expectations".into());
    }
    if text.len() > MAX_NEWS_BYTES {
        return Err(format!(
            "a headline is at most {MAX_NEWS_BYTES} bytes; this one is {}",
            text.len()
        ));
    }
    Ok(Cmd::News(text.to_string()))
}

fn add_participant(words: &[&str]) -> Result<Cmd, String> {
    let usage =
        "add-participant NAME qk1... CASH [trader|bot], like add-participant lab7 qk1... 10000";
    let (name, key, cash, role) = match words {
        [name, key, cash] => (name, key, cash, "trader"),
        [name, key, cash, role] => (name, key, cash, *role),
        _ => return Err(format!("usage: {usage}")),
    };
    if name.len() > MAX_NAME_BYTES {
        return Err(format!("a name is at most {MAX_NAME_BYTES} bytes"));
    }
    let key: PublicKey = key
        .parse()
        .map_err(|e| format!("{key:?} is not a public key ({e}): paste the qk1... text"))?;
    let cash = parse_cents(cash)
        .filter(|c| *c >= 0)
        .ok_or_else(|| format!("{cash:?} is not an amount of dollars, like 10000 or 10,000.00"))?;
    let role = match role.to_ascii_lowercase().as_str() {
        "trader" => Role::Trader,
        "bot" => Role::Bot,
        other => return Err(format!("{other:?} is not a role: trader or bot")),
    };
    Ok(Cmd::AddParticipant {
        name: name.to_string(),
        key,
        cash,
        role,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_of(line: &str) -> (Side, Option<String>, String, String, bool) {
        match parse(line).unwrap() {
            Cmd::Order {
                side,
                symbol,
                quantity,
                price,
                ioc,
            } => (side, symbol, quantity, price, ioc),
            other => panic!("{line}: {other:?}"),
        }
    }

    #[test]
    fn orders_in_their_usual_spellings() {
        let acme = Some("ACME".to_string());
        assert_eq!(
            order_of("buy ACME 10 @ 12.50"),
            (Side::Buy, acme.clone(), "10".into(), "12.50".into(), false)
        );
        assert_eq!(
            order_of(":buy ACME 10 @12.50 ioc"),
            (Side::Buy, acme.clone(), "10".into(), "12.50".into(), true)
        );
        assert_eq!(
            order_of("sell ACME 5"),
            (Side::Sell, acme.clone(), "5".into(), String::new(), false)
        );
        assert_eq!(
            order_of("sell acme 5 market"),
            (
                Side::Sell,
                Some("acme".into()),
                "5".into(),
                String::new(),
                false
            )
        );
        assert_eq!(
            order_of("buy 10 at $12.5"),
            (Side::Buy, None, "10".into(), "$12.5".into(), false)
        );
        assert_eq!(
            order_of("b ACME 1,000 12.50"),
            (Side::Buy, acme, "1,000".into(), "12.50".into(), false)
        );
    }

    #[test]
    fn orders_that_do_not_parse_say_what_was_expected() {
        let err = |l| parse(l).unwrap_err();
        assert!(err("buy").starts_with("buy needs a quantity: buy ACME 10 @ 12.50"));
        assert!(err("buy ACME").starts_with("buy needs a quantity"));
        assert!(err("sell ACME ten").starts_with("\"ten\" is not a quantity"));
        assert!(err("buy ACME 10 @").starts_with("a price goes after @"));
        assert!(err("buy ACME 10 @ 12 13").contains("is more than buy understands"));
        assert!(err("buy ACME 10 12.50 market").starts_with("a market order has no price"));
    }

    #[test]
    fn cancels() {
        assert_eq!(parse("cancel 42"), Ok(Cmd::Cancel(42)));
        assert_eq!(parse("cancel #42"), Ok(Cmd::Cancel(42)));
        assert_eq!(parse("cancel all"), Ok(Cmd::CancelAll(None)));
        assert_eq!(
            parse("cancel all acme"),
            Ok(Cmd::CancelAll(Some(Ticker::new("ACME").unwrap())))
        );
        assert!(parse("cancel").unwrap_err().starts_with("cancel what?"));
        assert_eq!(
            parse("cancel x").unwrap_err(),
            "\"x\" is not an order number: cancel 42 or cancel all"
        );
    }

    #[test]
    fn teacher_commands() {
        assert_eq!(parse("open"), Ok(Cmd::Session(SessionOp::Open, Scope::All)));
        assert_eq!(
            parse("halt ACME"),
            Ok(Cmd::Session(
                SessionOp::Halt,
                Scope::Symbol(Ticker::new("ACME").unwrap())
            ))
        );
        assert_eq!(
            parse("resume"),
            Ok(Cmd::Session(SessionOp::Resume, Scope::All))
        );
        assert_eq!(
            parse("close"),
            Ok(Cmd::Session(SessionOp::Close, Scope::All))
        );
        assert_eq!(
            parse("news  ACME beats  estimates "),
            Ok(Cmd::News("ACME beats  estimates".into()))
        );
        assert!(
            parse("news")
                .unwrap_err()
                .starts_with("news needs a headline")
        );
        assert!(
            parse(&format!("news {}", "x".repeat(300)))
                .unwrap_err()
                .contains("at most 280")
        );
        let key = qraft_keys::Keypair::from_label("cmdline/suspend").public();
        assert_eq!(parse(&format!("suspend {key}")), Ok(Cmd::Suspend(key)));
        assert_eq!(parse(&format!("reinstate {key}")), Ok(Cmd::Reinstate(key)));
        assert!(parse("suspend").unwrap_err().contains("suspend whom?"));
        assert!(
            parse("suspend alice")
                .unwrap_err()
                .contains("participant's key")
        );
        assert!(Cmd::Suspend(key).is_admin());
        assert_eq!(parse("end-game"), Ok(Cmd::EndGame));
        assert!(parse("open").unwrap().is_admin());
        assert!(!parse("cancel all").unwrap().is_admin());
    }

    #[test]
    fn add_participant_checks_each_part() {
        let key = qraft_keys::Keypair::from_label("lab7").public();
        let line = format!("add-participant lab7 {key} 10,000");
        assert_eq!(
            parse(&line),
            Ok(Cmd::AddParticipant {
                name: "lab7".into(),
                key,
                cash: 1_000_000,
                role: Role::Trader,
            })
        );
        let bot = format!("add-participant b1 {key} 50 bot");
        assert!(matches!(
            parse(&bot),
            Ok(Cmd::AddParticipant {
                role: Role::Bot,
                ..
            })
        ));
        assert!(
            parse("add-participant lab7")
                .unwrap_err()
                .starts_with("usage:")
        );
        assert!(
            parse("add-participant lab7 qk1nope 10")
                .unwrap_err()
                .contains("is not a public key")
        );
        let bad_cash = format!("add-participant lab7 {key} lots");
        assert!(
            parse(&bad_cash)
                .unwrap_err()
                .contains("not an amount of dollars")
        );
    }

    #[test]
    fn other_commands_and_unknown_words() {
        assert_eq!(parse("q"), Ok(Cmd::Quit));
        assert_eq!(parse("help"), Ok(Cmd::Help));
        assert_eq!(
            parse("symbol bolt"),
            Ok(Cmd::Symbol(Ticker::new("BOLT").unwrap()))
        );
        assert!(
            parse("buyy ACME 1")
                .unwrap_err()
                .starts_with("unknown command \"buyy\": try buy, sell")
        );
        assert!(parse("").unwrap_err().starts_with("type a command"));
    }
}
