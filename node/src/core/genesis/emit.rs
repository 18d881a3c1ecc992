//! Writing a genesis file: a [`Genesis`] as commented TOML that people can read and edit.

use std::fmt::{self, Write as _};

use super::validate::{MAX_VOTERS, format_bps};
use super::{Genesis, NodeSpec};
use crate::core::tx::MAX_NAME_BYTES;
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
    use qraft_keys::Keypair;

    use super::*;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::core::genesis::{Rules, parse_genesis};
    use crate::core::tx::{ParticipantSpec, SymbolSpec};
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
        ) -> Genesis {
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
                scenario: None,
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
        }
    }
}
