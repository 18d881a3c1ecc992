//! Writing a genesis file: a [`Genesis`] as commented TOML that people can read and edit;
//! and a scenario file ([`scenario_to_toml`]), the same scenario fields on their own.

use std::fmt::{self, Write as _};

use super::validate::{MAX_VOTERS, format_bps};
use super::{Genesis, NodeSpec};
use crate::core::scenario::duration::format_duration;
use crate::core::scenario::{
    Event, MAX_EVENTS, MAX_ROUNDS, RulesPatch, Scenario, ScenarioStart, ScheduledEvent,
};
use crate::core::tx::{MAX_NAME_BYTES, Scope, SymbolSpec};
use crate::core::types::format_cents;

/// The genesis as a TOML file with a comment explaining every section and field.
///
/// For every genesis that passes [`Genesis::validate`], [`parse_genesis`] reads the text
/// back to an equal value (and so the same chain id). A genesis that does not pass may
/// hold values the file cannot say (a candle length that is not whole seconds), which are
/// written rounded down.
///
/// [`parse_genesis`]: super::parse_genesis
pub fn to_toml(genesis: &Genesis) -> String {
    let mut out = String::new();
    write_genesis(&mut out, genesis).expect("writing to a String cannot fail");
    out
}

const HEADER: &str = "\
# QRaft genesis file: everything one game starts from.
#
# Every node of the game must use exactly this file. Its content (not its comments,
# spacing or the order of fields) is hashed into the game's chain id, and a transaction
# signed for one game is void in any other: once the game has started, do not edit it.
#
# Check it after every edit: qraft genesis check genesis.toml
#
# Money is dollars and cents in quotes (\"12.50\"); share counts are whole numbers.
";

/// A scenario as a scenario file of its own, with `secret_text` as its `[secret]`, for a
/// game with these `symbols` (a value is written as money, from the symbol's tick size).
///
/// For every scenario that passes the genesis's checks (and has no commitment: the file
/// holds the text instead), [`parse_scenario`] reads the text back to an equal value.
///
/// [`parse_scenario`]: super::parse_scenario
pub fn scenario_to_toml(
    scenario: &Scenario,
    secret_text: Option<&str>,
    symbols: &[SymbolSpec],
) -> String {
    let mut out = String::new();
    write_scenario_file(&mut out, scenario, secret_text, symbols)
        .expect("writing to a String cannot fail");
    out
}

const SCENARIO_HEADER: &str = "\
# QRaft scenario file: the story one game tells, in rounds and events at game times.
#
# The game's genesis holds the scenario (so it is part of the chain id, and every node
# applies it from block times); [secret] stays with you: the genesis holds only its
# commitment, and the game's report reveals the text.
#
# Times are game times from the scenario's start: \"90s\", \"2m\", \"1m30s\", \"1h15m\".
# Money is dollars and cents in quotes (\"12.50\").
";

fn write_scenario_file(
    out: &mut String,
    scenario: &Scenario,
    secret_text: Option<&str>,
    symbols: &[SymbolSpec],
) -> fmt::Result {
    out.push_str(SCENARIO_HEADER);
    writeln!(out)?;
    write_scenario_fields(out, scenario)?;
    write_scenario_lists(out, "", scenario, symbols)?;
    if let Some(text) = secret_text {
        writeln!(out)?;
        writeln!(
            out,
            "# What only you see until the report (the answer to the case, say)."
        )?;
        writeln!(out, "[secret]")?;
        writeln!(out, "text = {}", quote(text))?;
    }
    Ok(())
}

/// The scenario's own fields, in the table being written.
fn write_scenario_fields(out: &mut String, scenario: &Scenario) -> fmt::Result {
    writeln!(out, "# The scenario's name, shown to participants.")?;
    writeln!(out, "name = {}", quote(&scenario.name))?;
    writeln!(
        out,
        "# The briefing participants read before they trade (optional)."
    )?;
    writeln!(out, "description = {}", quote(&scenario.description))?;
    writeln!(
        out,
        "# When game time starts: \"first-block\" (with the game's first block) or \"admin\"\n\
         # (when an admin starts the scenario)."
    )?;
    let start = match scenario.start {
        ScenarioStart::FirstBlock => "first-block",
        ScenarioStart::ByAdmin => "admin",
    };
    writeln!(out, "start = {}", quote(start))?;
    writeln!(
        out,
        "# Whether the game ends when its last round closes (with rounds only)."
    )?;
    writeln!(
        out,
        "end_after_last_round = {}",
        scenario.end_after_last_round
    )
}

/// The scenario's rounds and events, as `[[{prefix}rounds]]` and `[[{prefix}events]]`.
fn write_scenario_lists(
    out: &mut String,
    prefix: &str,
    scenario: &Scenario,
    symbols: &[SymbolSpec],
) -> fmt::Result {
    writeln!(out)?;
    writeln!(
        out,
        "# The rounds, in order, at most {MAX_ROUNDS}: trading opens when one starts and closes when\n\
         # it ends, and every participant's result for it is recorded. None: the market\n\
         # follows the admin.\n\
         #   name:   optional, \"Round 1\", \"Round 2\"... if left out.\n\
         #   length: how long trading is open, at least 10s.\n\
         #   break:  the pause after it, market closed (optional, \"0s\")."
    )?;
    for round in &scenario.rounds {
        writeln!(out)?;
        writeln!(out, "[[{prefix}rounds]]")?;
        writeln!(out, "name = {}", quote(&round.name))?;
        writeln!(out, "length = {}", quote(&format_duration(round.length_ms)))?;
        writeln!(out, "break = {}", quote(&format_duration(round.break_ms)))?;
    }
    writeln!(out)?;
    writeln!(
        out,
        "# The events, at most {MAX_EVENTS}, each at a game time and doing exactly one thing:\n\
         #   at:       when, from the start (or from round `round`'s opening, with round = N).\n\
         #   news:     a headline everyone sees; text = \"...\" for the story, symbol = \"...\"\n\
         #             for the symbol it is about (both optional).\n\
         #   value:    what one share of `symbol` is worth from now on (a whole number of ticks).\n\
         #   dividend: cash per share paid to every holder of `symbol`.\n\
         #   halt:     stops trading in a symbol, or \"all\"; resume: starts it again.\n\
         #   rules:    changes some [rules], like {{ short_selling = true, max_short_shares = 100 }}."
    )?;
    for event in &scenario.events {
        write_event(out, prefix, event, symbols)?;
    }
    Ok(())
}

fn write_event(
    out: &mut String,
    prefix: &str,
    scheduled: &ScheduledEvent,
    symbols: &[SymbolSpec],
) -> fmt::Result {
    writeln!(out)?;
    writeln!(out, "[[{prefix}events]]")?;
    writeln!(out, "at = {}", quote(&format_duration(scheduled.at_ms)))?;
    match &scheduled.event {
        Event::News {
            symbol,
            headline,
            text,
        } => {
            writeln!(out, "news = {}", quote(headline))?;
            if !text.is_empty() {
                writeln!(out, "text = {}", quote(text))?;
            }
            if let Some(ticker) = symbol {
                writeln!(out, "symbol = {}", quote(ticker.as_str()))?;
            }
        }
        Event::Value { symbol, value } => {
            let tick_size = symbols
                .iter()
                .find(|spec| spec.ticker == *symbol)
                .map_or(1, |spec| spec.tick_size);
            let cents = i128::from(*value) * i128::from(tick_size);
            writeln!(out, "symbol = {}", quote(symbol.as_str()))?;
            writeln!(out, "value = {}", quote(&format_cents(cents)))?;
        }
        Event::Dividend { symbol, per_share } => {
            writeln!(out, "symbol = {}", quote(symbol.as_str()))?;
            writeln!(
                out,
                "dividend = {}",
                quote(&format_cents(i128::from(*per_share)))
            )?;
        }
        Event::Halt(scope) => writeln!(out, "halt = {}", quote(&scope_text(scope)))?,
        Event::Resume(scope) => writeln!(out, "resume = {}", quote(&scope_text(scope)))?,
        Event::Rules(patch) => writeln!(out, "rules = {{ {} }}", patch_text(patch))?,
    }
    Ok(())
}

fn scope_text(scope: &Scope) -> String {
    match scope {
        Scope::All => "all".to_string(),
        Scope::Symbol(ticker) => ticker.to_string(),
    }
}

/// The rules a patch changes, as the inside of an inline table, in `[rules]`'s order.
fn patch_text(patch: &RulesPatch) -> String {
    let money = |cents: i64| quote(&format_cents(i128::from(cents)));
    let fields: [(&str, Option<String>); 9] = [
        ("short_selling", patch.short_selling.map(|v| v.to_string())),
        (
            "max_short_shares",
            patch.max_short_shares.map(|v| v.to_string()),
        ),
        (
            "max_order_shares",
            patch.max_order_shares.map(|v| v.to_string()),
        ),
        (
            "price_band",
            patch.price_band_bps.map(|v| quote(&format_bps(v))),
        ),
        (
            "max_position_shares",
            patch.max_position_shares.map(|v| v.to_string()),
        ),
        (
            "max_orders_per_minute",
            patch.max_orders_per_minute.map(|v| v.to_string()),
        ),
        (
            "commission_per_order",
            patch.commission_per_order.map(money),
        ),
        (
            "commission_per_share",
            patch.commission_per_share.map(money),
        ),
        (
            "hide_leaderboard",
            patch.leaderboard_hidden.map(|v| v.to_string()),
        ),
    ];
    fields
        .into_iter()
        .filter_map(|(name, value)| value.map(|value| format!("{name} = {value}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn write_genesis(out: &mut String, genesis: &Genesis) -> fmt::Result {
    out.push_str(HEADER);
    writeln!(out)?;
    writeln!(out, "# The game's name, shown to every participant.")?;
    writeln!(out, "game = {}", quote(&genesis.game))?;

    let rules = &genesis.rules;
    writeln!(out)?;
    writeln!(out, "[rules]")?;
    writeln!(
        out,
        "# May participants sell shares they do not own (go short)?"
    )?;
    writeln!(out, "short_selling = {}", rules.short_selling)?;
    writeln!(
        out,
        "# With short_selling, the most shares of one symbol a participant may be short\n\
         # (more than 0); without it, 0."
    )?;
    writeln!(out, "max_short_shares = {}", rules.max_short_shares)?;
    writeln!(out, "# The most shares one order may be for.")?;
    writeln!(out, "max_order_shares = {}", rules.max_order_shares)?;
    writeln!(
        out,
        "# A market order never trades further than this from the last price\n\
         # (from \"0.01%\" to \"100%\")."
    )?;
    writeln!(
        out,
        "price_band = {}",
        quote(&format_bps(rules.price_band_bps))
    )?;
    writeln!(
        out,
        "# true: trading starts with the first block. false: an admin opens the market."
    )?;
    writeln!(out, "open_at_start = {}", rules.open_at_start)?;
    writeln!(
        out,
        "# The length of one candle in the price charts, in seconds."
    )?;
    writeln!(out, "candle_seconds = {}", rules.candle_ms / 1000)?;
    writeln!(
        out,
        "# The most shares of one symbol a participant may hold, open buys counted (0: no limit)."
    )?;
    writeln!(out, "max_position_shares = {}", rules.max_position_shares)?;
    writeln!(
        out,
        "# The most orders a participant may place in a minute (0: no limit)."
    )?;
    writeln!(
        out,
        "max_orders_per_minute = {}",
        rules.max_orders_per_minute
    )?;
    writeln!(
        out,
        "# Cash an order pays the first time it trades, and for each share it trades."
    )?;
    writeln!(
        out,
        "commission_per_order = \"{}\"",
        format_cents(i128::from(rules.commission_per_order))
    )?;
    writeln!(
        out,
        "commission_per_share = \"{}\"",
        format_cents(i128::from(rules.commission_per_share))
    )?;
    writeln!(
        out,
        "# Whether participants see the leaderboard only when the game ends."
    )?;
    writeln!(out, "hide_leaderboard = {}", rules.leaderboard_hidden)?;

    writeln!(out)?;
    writeln!(
        out,
        "# The symbols that trade, one [[symbols]] entry each.\n\
         #   ticker:          1 to 8 letters, digits or '.', starting with a letter.\n\
         #   name:            the company's name.\n\
         #   tick_size:       the smallest price step (\"0.01\" if left out).\n\
         #   reference_price: where the price band is centred before the first trade;\n\
         #                    a whole number of ticks."
    )?;
    for symbol in &genesis.symbols {
        let reference = i128::from(symbol.tick_size) * i128::from(symbol.reference_price);
        writeln!(out)?;
        writeln!(out, "[[symbols]]")?;
        writeln!(out, "ticker = {}", quote(symbol.ticker.as_str()))?;
        writeln!(out, "name = {}", quote(&symbol.name))?;
        writeln!(
            out,
            "tick_size = {}",
            quote(&format_cents(symbol.tick_size.into()))
        )?;
        writeln!(out, "reference_price = {}", quote(&format_cents(reference)))?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "# Who plays, one [[participants]] entry each.\n\
         #   name:     unique (ignoring case), at most {MAX_NAME_BYTES} bytes; on the leaderboard.\n\
         #   key:      the participant's public key (qk1...), from their key file.\n\
         #   role:     \"admin\" (runs the game: open, halt, news...; not ranked),\n\
         #             \"trader\" (a person) or \"bot\" (a program; ranked, marked as a bot).\n\
         #             At least one admin. \"trader\" if left out.\n\
         #   cash:     starting cash.\n\
         #   holdings: starting shares per ticker, like {{ ACME = 100 }}; a ticker with a '.'\n\
         #             goes in quotes: {{ \"BRK.B\" = 10 }}. Optional."
    )?;
    for participant in &genesis.participants {
        writeln!(out)?;
        writeln!(out, "[[participants]]")?;
        writeln!(out, "name = {}", quote(&participant.name))?;
        writeln!(out, "key = {}", quote(&participant.key.to_string()))?;
        writeln!(out, "role = {}", quote(&participant.role.to_string()))?;
        writeln!(
            out,
            "cash = {}",
            quote(&format_cents(participant.cash.into()))
        )?;
        if !participant.holdings.is_empty() {
            let holdings = participant
                .holdings
                .iter()
                .map(|(ticker, shares)| format!("{} = {shares}", key(ticker.as_str())))
                .collect::<Vec<_>>()
                .join(", ");
            writeln!(out, "holdings = {{ {holdings} }}")?;
        }
    }

    writeln!(out)?;
    writeln!(
        out,
        "# The voters: the nodes that order transactions with Raft, 1 to {MAX_VOTERS}. Every\n\
         # block needs a majority of them: 3 keep going when one is down, 5 when two are.\n\
         #   id:      a Raft id: unique among voters and learners, at least 1.\n\
         #   name:    unique (ignoring case).\n\
         #   key:     the node's own public key (qk1...); no participant's key.\n\
         #   address: where the other nodes reach it, host:port (\"[::1]:7801\" for IPv6)."
    )?;
    for node in &genesis.voters {
        write_node(out, "voters", node)?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "# The learners: full, verifying copies of the chain that do not vote (every\n\
         # other laptop), with the same fields as voters."
    )?;
    if genesis.learners.is_empty() {
        writeln!(
            out,
            "# None yet; add one like this:\n\
             #\n\
             # [[learners]]\n\
             # id = 10\n\
             # name = \"laptop10\"\n\
             # key = \"qk1...\"\n\
             # address = \"192.168.1.30:7801\""
        )?;
    }
    for node in &genesis.learners {
        write_node(out, "learners", node)?;
    }

    if let Some(previous) = &genesis.previous {
        writeln!(out)?;
        writeln!(
            out,
            "# The game this one follows: this class's earlier game, and the hash of its final\n\
             # block (qraft verify --previous DIR checks it against that game's chain)."
        )?;
        writeln!(out, "[previous]")?;
        writeln!(out, "chain = {}", quote(&previous.chain.to_string()))?;
        writeln!(out, "height = {}", previous.height)?;
        writeln!(out, "block = {}", quote(&previous.block.to_hex()))?;
    }

    writeln!(out)?;
    writeln!(
        out,
        "# The scenario: the story the game tells, in rounds and events at game times (\"90s\",\n\
         # \"1m30s\", from the scenario's start), applied by every node from block times."
    )?;
    match &genesis.scenario {
        None => writeln!(
            out,
            "# None: the market follows the admin. A scenario goes in a [scenario] table."
        )?,
        Some(scenario) => {
            writeln!(out, "[scenario]")?;
            write_scenario_fields(out, scenario)?;
            if let Some(secret) = &scenario.secret {
                writeln!(
                    out,
                    "# The commitment to the secret only the author sees until the report,\n\
                     # which anyone can check the revealed text against."
                )?;
                writeln!(out, "secret = {}", quote(&secret.0.to_hex()))?;
            }
            write_scenario_lists(out, "scenario.", scenario, &genesis.symbols)?;
        }
    }
    Ok(())
}

fn write_node(out: &mut String, list: &str, node: &NodeSpec) -> fmt::Result {
    writeln!(out)?;
    writeln!(out, "[[{list}]]")?;
    writeln!(out, "id = {}", node.id)?;
    writeln!(out, "name = {}", quote(&node.name))?;
    writeln!(out, "key = {}", quote(&node.key.to_string()))?;
    writeln!(out, "address = {}", quote(&node.address))
}

/// `text` as a TOML string, escaped as needed.
fn quote(text: &str) -> String {
    toml::Value::String(text.to_string()).to_string()
}

/// `name` as a TOML key: bare when it can be, quoted otherwise (a '.' in a bare key would
/// make a dotted key).
fn key(name: &str) -> String {
    if !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    {
        name.to_string()
    } else {
        quote(name)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use qraft_keys::{ChainId, Keypair};

    use super::*;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::core::genesis::{PreviousGame, Rules, parse_genesis, parse_scenario};
    use crate::core::hash::Hash32;
    use crate::core::scenario::{MAX_DIVIDEND, Round, SecretCommitment};
    use crate::core::tx::ParticipantSpec;
    use crate::core::types::{Role, Ticker};

    fn round_trip(genesis: &Genesis) {
        genesis
            .validate()
            .expect("the genesis under test must be valid");
        let text = to_toml(genesis);
        match parse_genesis(&text, "written.toml") {
            Ok(back) => assert_eq!(&back, genesis, "{text}"),
            Err(error) => panic!("{error}\n{text}"),
        }
    }

    #[test]
    fn sample_games_round_trip() {
        round_trip(&sample_game(&SampleOptions::default()).genesis);
        round_trip(
            &sample_game(&SampleOptions {
                traders: 0,
                symbols: 12,
                voters: 7,
                cash: 0,
                shares: 0,
                rules: Rules {
                    short_selling: true,
                    max_short_shares: 1_000,
                    max_order_shares: 1,
                    price_band_bps: 1,
                    open_at_start: false,
                    candle_ms: 1_000,
                    max_position_shares: 5_000,
                    max_orders_per_minute: 30,
                    commission_per_order: 150,
                    commission_per_share: 1,
                    leaderboard_hidden: true,
                },
                scenario: None,
            })
            .genesis,
        );
    }

    #[test]
    fn the_file_explains_itself_and_shows_where_learners_go() {
        let text = to_toml(&sample_game(&SampleOptions::default()).genesis);
        for expected in [
            "qraft genesis check",
            "[rules]",
            "price_band = \"10%\"",
            "[[symbols]]",
            "[[participants]]",
            "[[voters]]",
            "# [[learners]]",
        ] {
            assert!(text.contains(expected), "{expected:?} missing from\n{text}");
        }
    }

    #[test]
    fn awkward_text_is_escaped() {
        let mut genesis = sample_game(&SampleOptions::default()).genesis;
        genesis.game = "The \"Big\" game \\ #1 = 'fun' é".to_string();
        genesis.symbols[0].ticker = Ticker::new("BRK.B").unwrap();
        genesis.symbols[0].name = "Berkshire\tB".replace('\t', " ");
        for participant in &mut genesis.participants {
            for (ticker, _) in &mut participant.holdings {
                if ticker.as_str() == "ACME" {
                    *ticker = Ticker::new("BRK.B").unwrap();
                }
            }
            participant.holdings.sort();
        }
        round_trip(&genesis);
    }

    fn text() -> impl Strategy<Value = String> {
        // Quotes, backslashes, '#', '=', non-ASCII: everything TOML must escape or keep.
        "[a-zA-Z0-9_ \"'\\\\#=é€-]{0,12}[a-z]"
    }

    prop_compose! {
        fn rules()(
            short_selling in any::<bool>(),
            max_short in 1u64..1_000_000,
            max_order_shares in 1u64..1_000_000_000,
            price_band_bps in 1u32..=10_000,
            open_at_start in any::<bool>(),
            candle_seconds in 1u64..1_000_000,
            max_position_shares in 0u64..1_000_000,
            max_orders_per_minute in 0u32..=600,
            commission_per_order in 0i64..=100_000,
            commission_per_share in 0i64..=100_000,
            leaderboard_hidden in any::<bool>(),
        ) -> Rules {
            Rules {
                short_selling,
                max_short_shares: if short_selling { max_short } else { 0 },
                max_order_shares,
                price_band_bps,
                open_at_start,
                candle_ms: candle_seconds * 1000,
                max_position_shares,
                max_orders_per_minute,
                commission_per_order,
                commission_per_share,
                leaderboard_hidden,
            }
        }
    }

    prop_compose! {
        fn symbols()(
            tickers in proptest::sample::subsequence(
                vec!["ACME", "BRK.B", "X", "Z9", "LONGNAME", "A.B.C"], 1..=6),
            details in proptest::collection::vec((text(), 1i64..10_000, 1u64..10_000_000), 6),
        ) -> Vec<SymbolSpec> {
            tickers
                .into_iter()
                .zip(details)
                .map(|(ticker, (name, tick_size, reference_price))| SymbolSpec {
                    ticker: Ticker::new(ticker).unwrap(),
                    name: format!("S{name}"),
                    tick_size,
                    reference_price,
                })
                .collect()
        }
    }

    /// What a scenario is made of, before it is fitted to a game's symbols and rules.
    type ScenarioParts = (
        (String, String, bool, bool, Option<[u8; 32]>),
        Vec<(String, u64, u64)>,
        Vec<(u64, u8, proptest::sample::Index, u64, String)>,
    );

    fn scenario_parts() -> impl Strategy<Value = ScenarioParts> {
        (
            (
                text(),
                "[a-z \n\"]{0,40}",
                any::<bool>(),
                any::<bool>(),
                proptest::option::of(any::<[u8; 32]>()),
            ),
            proptest::collection::vec((text(), 10u64..600, 0u64..60), 0..4),
            proptest::collection::vec(
                (
                    0u64..10_000,
                    0u8..6,
                    any::<proptest::sample::Index>(),
                    any::<u64>(),
                    text(),
                ),
                0..8,
            ),
        )
    }

    /// A valid scenario for a game with `symbols` and `rules`, from `parts`.
    fn fit_scenario(parts: ScenarioParts, symbols: &[SymbolSpec], rules: &Rules) -> Scenario {
        let ((name, description, by_admin, end_after_last_round, secret), rounds, events) = parts;
        let rounds: Vec<Round> = rounds
            .into_iter()
            .map(|(name, length, pause)| Round {
                name: format!("R{name}"),
                length_ms: length * 1000,
                break_ms: pause * 1000,
            })
            .collect();
        let mut scenario = Scenario {
            name: format!("S{name}"),
            description,
            start: if by_admin {
                ScenarioStart::ByAdmin
            } else {
                ScenarioStart::FirstBlock
            },
            rounds,
            events: Vec::new(),
            end_after_last_round,
            secret: secret.map(|bytes| SecretCommitment(Hash32(bytes))),
        };
        let end_s = scenario
            .rounds_end_ms()
            .filter(|_| end_after_last_round)
            .map(|end| end / 1000);
        let mut events: Vec<ScheduledEvent> = events
            .into_iter()
            .map(|(at, kind, pick, amount, words)| {
                let at = end_s.map_or(at, |end| at % end);
                let ticker = pick.get(symbols).ticker;
                let scope = if amount % 2 == 0 {
                    Scope::All
                } else {
                    Scope::Symbol(ticker)
                };
                let event = match kind {
                    0 => Event::News {
                        symbol: (amount % 3 > 0).then_some(ticker),
                        headline: format!("H{words}"),
                        text: if amount % 2 == 0 {
                            String::new()
                        } else {
                            format!("{words}\nmore")
                        },
                    },
                    1 => Event::Value {
                        symbol: ticker,
                        value: 1 + amount % 1_000_000,
                    },
                    2 => Event::Dividend {
                        symbol: ticker,
                        per_share: 1 + (amount % MAX_DIVIDEND as u64) as i64,
                    },
                    3 => Event::Halt(scope),
                    4 => Event::Resume(scope),
                    // Filled in below, in time order, from the rules in force then.
                    _ => Event::Rules(RulesPatch {
                        price_band_bps: Some(1 + (amount % 10_000) as u32),
                        commission_per_share: (amount % 3 == 0).then_some((amount % 100) as i64),
                        short_selling: (amount % 5 == 0).then_some(true),
                        leaderboard_hidden: (amount % 7 == 0).then_some(amount % 2 == 0),
                        ..RulesPatch::default()
                    }),
                };
                ScheduledEvent {
                    at_ms: at * 1000,
                    event,
                }
            })
            .collect();
        events.sort_by_key(|event| event.at_ms);
        let mut in_force = rules.clone();
        for event in &mut events {
            if let Event::Rules(patch) = &mut event.event {
                // Always a change: the most shares an order may be for moves.
                patch.max_order_shares = Some(in_force.max_order_shares % 1_000_000 + 1);
                if patch.short_selling.is_some() {
                    patch.short_selling = Some(!in_force.short_selling);
                    patch.max_short_shares = Some(if in_force.short_selling { 0 } else { 100 });
                }
                in_force = patch.applied_to(&in_force);
            }
        }
        scenario.events = events;
        scenario
    }

    prop_compose! {
        fn genesis()(
            game in text(),
            rules in rules(),
            symbols in symbols(),
            seed in any::<u64>(),
            people in proptest::collection::vec(
                (text(), 0u8..3, 0i64..1_000_000_000_000, proptest::collection::vec(
                    (any::<proptest::sample::Index>(), 0u64..1_000_000), 0..4)),
                1..6),
            voters in 1usize..=7,
            learners in 0usize..4,
            ipv6 in any::<bool>(),
            scenario in proptest::option::of(scenario_parts()),
            previous in proptest::option::of((any::<[u8; 32]>(), 0u64..1 << 53, any::<[u8; 32]>())),
        ) -> Genesis {
            let scenario = scenario.map(|parts| fit_scenario(parts, &symbols, &rules));
            let participants = people
                .into_iter()
                .enumerate()
                .map(|(i, (name, role, cash, picks))| {
                    let mut holdings: Vec<_> = picks
                        .into_iter()
                        .map(|(pick, shares)| (pick.get(&symbols).ticker, shares))
                        .collect();
                    holdings.sort_by_key(|&(ticker, _)| ticker);
                    holdings.dedup_by_key(|&mut (ticker, _)| ticker);
                    ParticipantSpec {
                        // The index keeps names unique; '/' keeps "p1/2x" and "p12/x" apart.
                        name: format!("p{i}/{name}"),
                        key: Keypair::from_label(&format!("prop/{seed}/participant/{i}")).public(),
                        // The first participant is the admin the game needs.
                        role: match (i, role) {
                            (0, _) | (_, 0) => Role::Admin,
                            (_, 1) => Role::Trader,
                            _ => Role::Bot,
                        },
                        cash,
                        holdings,
                    }
                })
                .collect();
            let node = |i: usize| NodeSpec {
                id: i as u64 + 1,
                name: format!("node{i}"),
                key: Keypair::from_label(&format!("prop/{seed}/node/{i}")).public(),
                address: if ipv6 {
                    format!("[fe80::{i:x}]:{}", 7000 + i)
                } else {
                    format!("host-{i}.example:{}", 7000 + i)
                },
            };
            Genesis {
                game: format!("G{game}"),
                rules,
                symbols,
                participants,
                voters: (0..voters).map(node).collect(),
                learners: (voters..voters + learners).map(node).collect(),
                scenario,
                previous: previous.map(|(chain, height, block)| PreviousGame {
                    chain: ChainId(chain),
                    height,
                    block: Hash32(block),
                }),
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn written_files_read_back_equal(genesis in genesis()) {
            prop_assert_eq!(genesis.validate(), Ok(()));
            let text = to_toml(&genesis);
            let back = parse_genesis(&text, "written.toml");
            prop_assert_eq!(back.as_ref(), Ok(&genesis), "{}", text);
            if let Some(scenario) = &genesis.scenario {
                // On its own, the scenario holds the secret's text, not its commitment.
                let mut scenario = scenario.clone();
                let secret_text = scenario.secret.take().map(|c| format!("secret {}", c.0));
                let text = scenario_to_toml(&scenario, secret_text.as_deref(), &genesis.symbols);
                let back = parse_scenario(&text, "written.toml", &genesis.symbols, &genesis.rules);
                prop_assert_eq!(
                    back.as_ref().map(|file| (&file.scenario, file.secret_text.as_deref())),
                    Ok((&scenario, secret_text.as_deref())),
                    "{}",
                    text
                );
            }
        }
    }
}
