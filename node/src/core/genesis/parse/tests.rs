//! Reading genesis files: a valid file, the chain id's stability, and one test per kind of
//! mistake, each checking that the report names the right line and field.

use qraft_keys::{Keypair, PublicKey};

use super::*;

const FILE: &str = "demo/genesis.toml";

fn key(label: &str) -> String {
    Keypair::from_label(label).public().to_string()
}

/// A valid file using most of the format's freedoms: optional fields left out, money as
/// strings, integers and decimals, a quoted ticker with a '.', a learner.
fn valid() -> String {
    format!(
        r#"# A test game.
game = "Period 3"

[rules]
short_selling = false
max_order_shares = 500
price_band = "2.5%"
open_at_start = false
candle_seconds = 30
max_position_shares = 2000
max_orders_per_minute = 30
commission_per_order = "1.50"
commission_per_share = "0.01"
hide_leaderboard = true

[[symbols]]
ticker = "ACME"
name = "Acme Corporation"
tick_size = "0.05"
reference_price = "12.50"

[[symbols]]
ticker = "BRK.B"
name = "Berkshire B"
reference_price = 410

[[participants]]
name = "teacher"
key = "{teacher}"
role = "admin"
cash = "0"

[[participants]]
name = "alice"
key = "{alice}"
cash = "10,000.00"
holdings = {{ ACME = 100, "BRK.B" = 5 }}

[[participants]]
name = "bot1"
key = "{bot1}"
role = "bot"
cash = 2500.5
holdings = {{ "BRK.B" = 0 }}

[[voters]]
id = 1
name = "node1"
key = "{node1}"
address = "127.0.0.1:7801"

[[voters]]
id = 2
name = "node2"
key = "{node2}"
address = "laptop2.local:7801"

[[voters]]
id = 3
name = "node3"
key = "{node3}"
address = "[::1]:7803"

[[learners]]
id = 10
name = "laptop10"
key = "{laptop10}"
address = "192.168.1.30:7801"
"#,
        teacher = key("teacher"),
        alice = key("alice"),
        bot1 = key("bot1"),
        node1 = key("node1"),
        node2 = key("node2"),
        node3 = key("node3"),
        laptop10 = key("laptop10"),
    )
}

/// `text` with the one occurrence of `find` replaced.
fn edit(text: &str, find: &str, replace: &str) -> String {
    assert_eq!(text.matches(find).count(), 1, "{find:?} must occur once");
    text.replacen(find, replace, 1)
}

/// The 1-based line of the one occurrence of `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "{needle:?} must occur once"
    );
    let offset = text.find(needle).unwrap();
    text[..offset].matches('\n').count() + 1
}

fn diagnostics(text: &str) -> Vec<Diagnostic> {
    match parse_genesis(text, FILE) {
        Ok(genesis) => panic!("accepted a bad file: {genesis:?}\n{text}"),
        Err(error) => {
            assert_eq!(error.file(), FILE);
            error.diagnostics().to_vec()
        }
    }
}

/// Asserts that `text` has exactly one problem, on the line of `needle`, about `path`,
/// with a message containing `message`.
#[track_caller]
fn assert_one(text: &str, needle: &str, path: &str, message: &str) {
    let found = diagnostics(text);
    let summary = found
        .iter()
        .map(|d| format!("{FILE}:{d}"))
        .collect::<Vec<_>>();
    assert_eq!(found.len(), 1, "expected one problem, got {summary:#?}");
    let d = &found[0];
    assert_eq!(d.path, path, "{summary:#?}");
    assert_eq!(d.line, line_of(text, needle), "{summary:#?}");
    assert!(
        d.message.contains(message),
        "{:?} lacks {message:?}",
        d.message
    );
}

#[test]
fn a_valid_file_parses() {
    let genesis = parse_genesis(&valid(), FILE).unwrap();
    let acme = Ticker::new("ACME").unwrap();
    let brk = Ticker::new("BRK.B").unwrap();
    assert_eq!(genesis.game, "Period 3");
    assert_eq!(
        genesis.rules,
        Rules {
            short_selling: false,
            max_short_shares: 0,
            max_order_shares: 500,
            price_band_bps: 250,
            open_at_start: false,
            candle_ms: 30_000,
            max_position_shares: 2_000,
            max_orders_per_minute: 30,
            commission_per_order: 150,
            commission_per_share: 1,
            leaderboard_hidden: true,
        }
    );
    assert_eq!(
        genesis.symbols,
        vec![
            SymbolSpec {
                ticker: acme,
                name: "Acme Corporation".into(),
                tick_size: 5,
                reference_price: 250,
            },
            SymbolSpec {
                ticker: brk,
                name: "Berkshire B".into(),
                tick_size: 1,
                reference_price: 41_000,
            },
        ]
    );
    let p = &genesis.participants;
    assert_eq!(p.len(), 3);
    assert_eq!(
        (p[0].name.as_str(), p[0].role, p[0].cash),
        ("teacher", Role::Admin, 0)
    );
    assert_eq!(p[0].key, Keypair::from_label("teacher").public());
    assert!(p[0].holdings.is_empty());
    assert_eq!((p[1].role, p[1].cash), (Role::Trader, 1_000_000));
    assert_eq!(p[1].holdings, vec![(acme, 100), (brk, 5)]);
    assert_eq!((p[2].role, p[2].cash), (Role::Bot, 250_050));
    assert_eq!(p[2].holdings, vec![(brk, 0)]);
    let ids: Vec<_> = genesis.nodes().map(|n| n.id).collect();
    assert_eq!(ids, [1, 2, 3, 10]);
    assert_eq!(genesis.voters[2].address, "[::1]:7803");
    assert_eq!(
        genesis.learners[0].key,
        Keypair::from_label("laptop10").public()
    );
}

#[test]
fn rules_may_be_left_out() {
    let text = valid();
    let start = text.find("[rules]").unwrap();
    let end = text.find("[[symbols]]").unwrap();
    let without = format!("{}{}", &text[..start], &text[end..]);
    let genesis = parse_genesis(&without, FILE).unwrap();
    assert_eq!(genesis.rules, Rules::default());
}

// ----- The chain id -----

#[test]
fn chain_id_ignores_comments_spacing_key_order_and_spelling() {
    let original = parse_genesis(&valid(), FILE).unwrap().chain_id();
    let variants = [
        // Comments and blank lines.
        edit(
            &valid(),
            "[rules]\n",
            "\n\n# The rules.\n[rules]   # trailing comment\n\n",
        ),
        // Spacing.
        edit(
            &valid(),
            "max_order_shares = 500",
            "max_order_shares=500   ",
        ),
        // Key order inside a table.
        edit(
            &valid(),
            "name = \"alice\"\nkey = ",
            "cash = \"10,000.00\"\nname = \"alice\"\nkey = ",
        )
        .replacen("holdings = { ACME = 100, \"BRK.B\" = 5 }\n", "", 1)
        .replacen(
            "cash = \"10,000.00\"\n\n",
            "holdings = { \"BRK.B\" = 5, ACME = 100 }\n\n",
            1,
        ),
        // Table order: [rules] after everything else.
        {
            let text = valid();
            let start = text.find("[rules]").unwrap();
            let end = text.find("[[symbols]]").unwrap();
            format!("{}{}\n{}", &text[..start], &text[end..], &text[start..end])
        },
        // The same amounts and tickers, written differently.
        edit(&valid(), "cash = \"10,000.00\"", "cash = 10000"),
        edit(
            &valid(),
            "reference_price = 410",
            "reference_price = \"$410.00\"",
        ),
        edit(&valid(), "ticker = \"ACME\"", "ticker = \"acme\""),
        // A key split into groups, as it might be read aloud.
        {
            let alice = key("alice");
            let grouped: String = alice
                .chars()
                .enumerate()
                .flat_map(|(i, c)| {
                    if i > 0 && i % 6 == 0 {
                        vec!['-', c]
                    } else {
                        vec![c]
                    }
                })
                .collect();
            edit(&valid(), &alice, &grouped)
        },
    ];
    for variant in variants {
        let genesis = parse_genesis(&variant, FILE).unwrap_or_else(|e| panic!("{e}\n{variant}"));
        assert_eq!(genesis.chain_id(), original, "{variant}");
    }
}

#[test]
fn chain_id_changes_with_any_content_change() {
    let changes = [
        ("game = \"Period 3\"", "game = \"Period 4\""),
        (
            "short_selling = false",
            "short_selling = true\nmax_short_shares = 1",
        ),
        ("max_order_shares = 500", "max_order_shares = 501"),
        ("price_band = \"2.5%\"", "price_band = \"2.51%\""),
        ("open_at_start = false", "open_at_start = true"),
        ("candle_seconds = 30", "candle_seconds = 31"),
        ("name = \"Acme Corporation\"", "name = \"Acme Corp\""),
        ("tick_size = \"0.05\"", "tick_size = \"0.01\""),
        ("reference_price = \"12.50\"", "reference_price = \"12.55\""),
        ("name = \"alice\"", "name = \"Alice\""),
        ("cash = \"10,000.00\"", "cash = \"10,000.01\""),
        ("ACME = 100", "ACME = 101"),
        ("role = \"bot\"", "role = \"trader\""),
        ("id = 10", "id = 11"),
        (
            "address = \"127.0.0.1:7801\"",
            "address = \"127.0.0.1:7800\"",
        ),
        ("name = \"laptop10\"", "name = \"laptop11\""),
    ];
    let original = parse_genesis(&valid(), FILE).unwrap().chain_id();
    let mut seen = vec![original];
    for (find, replace) in changes {
        let text = edit(&valid(), find, replace);
        let id = parse_genesis(&text, FILE)
            .unwrap_or_else(|e| panic!("{e}"))
            .chain_id();
        assert!(
            !seen.contains(&id),
            "{find} -> {replace} did not change the chain id"
        );
        seen.push(id);
    }
    // Keys, and the order of list entries.
    let swapped_key = valid().replace(&key("node3"), &key("node4"));
    let id = parse_genesis(&swapped_key, FILE).unwrap().chain_id();
    assert!(!seen.contains(&id));
    seen.push(id);
    let text = valid();
    let first = text.find("[[symbols]]").unwrap();
    let second = text[first + 1..].find("[[symbols]]").unwrap() + first + 1;
    let end = text.find("[[participants]]").unwrap();
    let reordered = format!(
        "{}{}{}{}",
        &text[..first],
        &text[second..end],
        &text[first..second],
        &text[end..]
    );
    let id = parse_genesis(&reordered, FILE).unwrap().chain_id();
    assert!(!seen.contains(&id));
}

// ----- How problems are reported -----

#[test]
fn report_names_file_line_column_and_field() {
    let alice = key("alice");
    // One wrong character: the checksum catches it.
    let last = alice.chars().last().unwrap();
    let typo = format!(
        "{}{}",
        &alice[..alice.len() - 1],
        if last == 'q' { 'p' } else { 'q' }
    );
    let text = edit(&valid(), &alice, &typo);
    let error = parse_genesis(&text, FILE).unwrap_err();
    let line = line_of(&text, &typo);
    assert_eq!(
        error.to_string(),
        format!(
            "{FILE}:{line}:7: participants[1].key: \"{typo}\" is not a QRaft public key: \
             checksum does not match: a character is wrong or missing"
        )
    );
}

#[test]
fn every_problem_is_reported_in_file_order() {
    let text = edit(&valid(), "candle_seconds = 30", "candle_seconds = 0");
    let text = edit(&text, "tick_size = \"0.05\"", "tick_size = \"0.0x\"");
    let text = edit(&text, "name = \"bot1\"", "name = \"ALICE\"");
    let text = edit(
        &text,
        "address = \"laptop2.local:7801\"",
        "address = \"laptop2.local\"",
    );
    let error = parse_genesis(&text, FILE).unwrap_err();
    let found: Vec<(usize, &str)> = error
        .diagnostics()
        .iter()
        .map(|d| (d.line, d.path.as_str()))
        .collect();
    assert_eq!(
        found,
        [
            (line_of(&text, "candle_seconds"), "rules.candle_seconds"),
            (line_of(&text, "0.0x"), "symbols[0].tick_size"),
            (line_of(&text, "ALICE"), "participants[2].name"),
            (line_of(&text, "laptop2.local\""), "voters[1].address"),
        ]
    );
    let lines: Vec<String> = error.to_string().lines().map(str::to_string).collect();
    assert_eq!(lines.len(), 4);
    for (line, d) in lines.iter().zip(error.diagnostics()) {
        assert!(
            line.starts_with(&format!("{FILE}:{}:{}: {}: ", d.line, d.column, d.path)),
            "{line}"
        );
    }
}

#[test]
fn a_broken_entry_does_not_cause_false_reports_about_others() {
    // alice holds ACME; with the ACME entry unreadable, that is not reported as an
    // unlisted symbol, and the unreadable admin does not make "no admin" appear.
    let text = edit(&valid(), "ticker = \"ACME\"", "ticker = \"AC ME\"");
    let text = edit(&text, "name = \"teacher\"", "name = 7");
    let found = diagnostics(&text);
    let paths: Vec<&str> = found.iter().map(|d| d.path.as_str()).collect();
    assert_eq!(paths, ["symbols[0].ticker", "participants[0].name"]);
}

// ----- Syntax and structure -----

#[test]
fn toml_syntax_error() {
    let text = edit(&valid(), "game = \"Period 3\"", "game = \"Period 3");
    let found = diagnostics(&text);
    assert!(!found.is_empty());
    assert_eq!(found[0].line, line_of(&text, "game ="));
    assert_eq!(found[0].path, "");
}

#[test]
fn unknown_field_with_suggestion() {
    let text = edit(&valid(), "role = \"admin\"", "rol = \"admin\"");
    let found = diagnostics(&text);
    let unknown = found
        .iter()
        .find(|d| d.path == "participants[0].rol")
        .unwrap();
    assert_eq!(unknown.line, line_of(&text, "rol ="));
    assert_eq!(unknown.column, 1);
    assert!(
        unknown.message.contains("did you mean `role`?"),
        "{}",
        unknown.message
    );
    // Without its role the teacher is a trader, so there is no admin either.
    assert!(found.iter().any(|d| d.path == "participants"), "{found:#?}");
}

#[test]
fn unknown_top_level_and_rules_fields() {
    let text = edit(&valid(), "game = ", "currency = \"USD\"\ngame = ");
    assert_one(&text, "currency", "currency", "unknown field");
    let text = edit(
        &valid(),
        "price_band = ",
        "price_band_percent = 5\nprice_band = ",
    );
    assert_one(
        &text,
        "price_band_percent",
        "rules.price_band_percent",
        "unknown field",
    );
}

#[test]
fn missing_field_points_at_its_table() {
    let text = edit(
        &valid(),
        "role = \"admin\"\ncash = \"0\"\n",
        "role = \"admin\"\n",
    );
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].path, "participants[0].cash");
    // The [[participants]] header of the teacher's entry.
    let header = text[..text.find("name = \"teacher\"").unwrap()]
        .matches('\n')
        .count();
    assert_eq!(found[0].line, header);
    assert!(found[0].message.contains("missing"));
}

#[test]
fn missing_game() {
    let text = edit(&valid(), "game = \"Period 3\"\n", "");
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!((found[0].line, found[0].path.as_str()), (1, "game"));
}

#[test]
fn wrong_type_with_hint() {
    let text = edit(
        &valid(),
        "max_order_shares = 500",
        "max_order_shares = \"500\"",
    );
    assert_one(
        &text,
        "max_order_shares",
        "rules.max_order_shares",
        "without quotes",
    );
    let text = edit(&valid(), "open_at_start = false", "open_at_start = \"no\"");
    assert_one(
        &text,
        "open_at_start",
        "rules.open_at_start",
        "expected true or false",
    );
    let text = edit(&valid(), "name = \"node1\"", "name = 1");
    assert_one(&text, "name = 1", "voters[0].name", "found an integer");
}

#[test]
fn single_table_where_a_list_belongs() {
    let text = edit(&valid(), "[[learners]]", "[learners]");
    assert_one(&text, "[learners]", "learners", "double brackets");
}

// ----- The game and its rules -----

#[test]
fn empty_game_name() {
    let text = edit(&valid(), "game = \"Period 3\"", "game = \"  \"");
    assert_one(&text, "game =", "game", "empty");
}

#[test]
fn max_order_shares_zero() {
    let text = edit(&valid(), "max_order_shares = 500", "max_order_shares = 0");
    assert_one(
        &text,
        "max_order_shares",
        "rules.max_order_shares",
        "at least 1",
    );
}

#[test]
fn price_band_out_of_range_or_unreadable() {
    for (band, message) in [
        ("\"0%\"", "between 0.01% and 100%"),
        ("\"100.01%\"", "between 0.01% and 100%"),
        ("\"10\"", "must end with %"),
        ("\"0.005%\"", "at most two decimals"),
        ("\"ten%\"", "only digits"),
        ("10", "a percentage in quotes"),
    ] {
        let text = edit(
            &valid(),
            "price_band = \"2.5%\"",
            &format!("price_band = {band}"),
        );
        assert_one(&text, "price_band", "rules.price_band", message);
    }
}

#[test]
fn an_order_rate_beyond_the_limit_is_named_at_its_line() {
    let text = edit(
        &valid(),
        "max_orders_per_minute = 30",
        "max_orders_per_minute = 601",
    );
    assert_one(
        &text,
        "max_orders_per_minute",
        "rules.max_orders_per_minute",
        "at most 600",
    );
    let text = edit(
        &valid(),
        "max_orders_per_minute = 30",
        "max_orders_per_minute = 5000000000",
    );
    assert_one(
        &text,
        "max_orders_per_minute",
        "rules.max_orders_per_minute",
        "at most 600",
    );
}

#[test]
fn candle_seconds_zero() {
    let text = edit(&valid(), "candle_seconds = 30", "candle_seconds = 0");
    assert_one(
        &text,
        "candle_seconds",
        "rules.candle_seconds",
        "at least 1",
    );
}

#[test]
fn short_limit_without_short_selling() {
    let text = edit(
        &valid(),
        "short_selling = false",
        "short_selling = false\nmax_short_shares = 50",
    );
    assert_one(
        &text,
        "max_short_shares",
        "rules.max_short_shares",
        "short_selling is false",
    );
}

#[test]
fn short_selling_without_a_limit() {
    let text = edit(&valid(), "short_selling = false", "short_selling = true");
    // The limit is left out, so the problem points at the [rules] table.
    assert_one(
        &text,
        "[rules]",
        "rules.max_short_shares",
        "short_selling is true",
    );
}

// ----- Symbols -----

#[test]
fn no_symbols() {
    let text = valid();
    let start = text.find("[[symbols]]").unwrap();
    let end = text.find("[[participants]]").unwrap();
    let text = format!("symbols = []\n{}{}", &text[..start], &text[end..])
        .replace("holdings = { ACME = 100, \"BRK.B\" = 5 }\n", "")
        .replace("holdings = { \"BRK.B\" = 0 }\n", "");
    assert_one(&text, "symbols = []", "symbols", "at least one");
}

#[test]
fn duplicate_ticker() {
    let text = edit(&valid(), "ticker = \"BRK.B\"", "ticker = \"acme\"");
    let text = text
        .replace("\"BRK.B\" = 5", "CASH = 5")
        .replace("\"BRK.B\" = 0", "CASH = 0");
    let found = diagnostics(&text);
    let duplicate = found
        .iter()
        .find(|d| d.path == "symbols[1].ticker")
        .unwrap();
    assert_eq!(duplicate.line, line_of(&text, "\"acme\""));
    assert!(
        duplicate
            .message
            .contains("ACME is listed twice (also at symbols[0])")
    );
}

#[test]
fn invalid_ticker() {
    let text = edit(&valid(), "ticker = \"ACME\"", "ticker = \"TOOLONGNAME\"");
    // alice's ACME holding is not checked against an incomplete list of symbols.
    assert_one(&text, "TOOLONGNAME", "symbols[0].ticker", "longer than 8");
}

#[test]
fn tick_size_zero() {
    let text = edit(&valid(), "tick_size = \"0.05\"", "tick_size = \"0.00\"");
    assert_one(&text, "tick_size", "symbols[0].tick_size", "at least 0.01");
}

#[test]
fn reference_price_not_a_whole_number_of_ticks() {
    let text = edit(
        &valid(),
        "reference_price = \"12.50\"",
        "reference_price = \"12.52\"",
    );
    assert_one(
        &text,
        "12.52",
        "symbols[0].reference_price",
        "12.52 is not a whole number of ticks of 0.05: the nearest prices are 12.50 and 12.55",
    );
}

#[test]
fn reference_price_zero_or_negative() {
    for price in ["\"0\"", "\"-1.00\""] {
        let line = format!("reference_price = {price}");
        let text = edit(&valid(), "reference_price = \"12.50\"", &line);
        assert_one(&text, &line, "symbols[0].reference_price", "more than 0.00");
    }
}

#[test]
fn unreadable_money() {
    for money in ["\"12.345\"", "\"twelve\"", "1e3", "[true]"] {
        let text = edit(&valid(), "cash = \"10,000.00\"", &format!("cash = {money}"));
        assert_one(&text, money, "participants[1].cash", "money");
    }
}

// ----- Participants -----

#[test]
fn duplicate_participant_name_ignoring_case() {
    let text = edit(&valid(), "name = \"bot1\"", "name = \"Alice\"");
    assert_one(
        &text,
        "\"Alice\"",
        "participants[2].name",
        "taken (by participants[1]",
    );
}

#[test]
fn participant_name_too_long_or_blank() {
    let long = "x".repeat(crate::core::tx::MAX_NAME_BYTES + 1);
    let text = edit(&valid(), "name = \"bot1\"", &format!("name = \"{long}\""));
    assert_one(
        &text,
        &long,
        "participants[2].name",
        "33 bytes long; the limit is 32",
    );
    let text = edit(&valid(), "name = \"bot1\"", "name = \" bot1\"");
    assert_one(
        &text,
        "\" bot1\"",
        "participants[2].name",
        "spaces at the start or end",
    );
}

#[test]
fn duplicate_participant_key() {
    let text = edit(&valid(), &key("bot1"), &key("alice"));
    let line = line_of(&text, "role = \"bot\"") - 1;
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].line, found[0].path.as_str()),
        (line, "participants[2].key")
    );
    assert!(found[0].message.contains("already participants[1]'s"));
}

#[test]
fn weak_key_is_refused_and_says_so() {
    let mut identity = [0u8; 32];
    identity[0] = 1;
    let weak = PublicKey(identity).to_string();
    let text = edit(&valid(), &key("bot1"), &weak);
    assert_one(
        &text,
        &weak,
        "participants[2].key",
        "weak ed25519 public key",
    );
}

#[test]
fn key_that_is_not_a_key() {
    let text = edit(&valid(), &key("bot1"), "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5");
    assert_one(
        &text,
        "ssh-ed25519",
        "participants[2].key",
        "is not a QRaft public key",
    );
}

#[test]
fn no_admin() {
    let text = edit(&valid(), "role = \"admin\"", "role = \"trader\"");
    let first = text.find("[[participants]]").unwrap();
    let line = text[..first].matches('\n').count() + 1;
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(
        (found[0].line, found[0].path.as_str()),
        (line, "participants")
    );
    assert!(found[0].message.contains("admin"));
}

#[test]
fn unknown_role() {
    let text = edit(&valid(), "role = \"bot\"", "role = \"robot\"");
    assert_one(
        &text,
        "robot",
        "participants[2].role",
        "\"admin\", \"trader\" or \"bot\"",
    );
}

#[test]
fn negative_cash() {
    let text = edit(&valid(), "cash = \"10,000.00\"", "cash = \"-5\"");
    assert_one(&text, "-5", "participants[1].cash", "must not be negative");
}

#[test]
fn holding_of_an_unlisted_symbol() {
    let text = edit(&valid(), "ACME = 100,", "ACME = 100, ZZZ = 1,");
    assert_one(
        &text,
        "ZZZ",
        "participants[1].holdings.ZZZ",
        "ZZZ is not a listed symbol",
    );
}

#[test]
fn negative_holding() {
    let text = edit(&valid(), "ACME = 100", "ACME = -3");
    assert_one(
        &text,
        "ACME = -3",
        "participants[1].holdings.ACME",
        "must not be negative",
    );
}

#[test]
fn holding_listed_twice_by_case() {
    let text = edit(&valid(), "ACME = 100,", "ACME = 100, acme = 1,");
    assert_one(
        &text,
        "acme = 1",
        "participants[1].holdings.ACME",
        "listed twice",
    );
}

#[test]
fn unquoted_dotted_ticker_in_holdings() {
    let text = edit(&valid(), "{ \"BRK.B\" = 0 }", "{ BRK.B = 0 }");
    assert_one(
        &text,
        "BRK.B = 0",
        "participants[2].holdings.BRK",
        "goes in quotes",
    );
}

// ----- Nodes -----

#[test]
fn no_voters_or_too_many() {
    let text = valid();
    let start = text.find("[[voters]]").unwrap();
    let end = text.find("[[learners]]").unwrap();
    let none = format!("voters = []\n{}{}", &text[..start], &text[end..]);
    assert_one(&none, "voters = []", "voters", "1 to 7 voters");

    let mut many = text[..end].to_string();
    for i in 4..=8 {
        many.push_str(&format!(
            "[[voters]]\nid = {i}\nname = \"node{i}\"\nkey = \"{}\"\naddress = \"127.0.0.1:{}\"\n\n",
            key(&format!("node{i}")),
            7800 + i
        ));
    }
    many.push_str(&text[end..]);
    let found = diagnostics(&many);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].path, "voters");
    assert!(found[0].message.contains("there are 8"));
}

#[test]
fn node_id_zero() {
    let text = edit(&valid(), "id = 2", "id = 0");
    assert_one(&text, "id = 0", "voters[1].id", "at least 1");
}

#[test]
fn node_id_shared_by_a_voter_and_a_learner() {
    let text = edit(&valid(), "id = 10", "id = 3");
    assert_one(
        &text,
        "id = 3\nname = \"laptop10\"",
        "learners[0].id",
        "already voters[2]'s",
    );
}

#[test]
fn node_key_shared_with_a_participant() {
    let text = edit(&valid(), &key("node2"), &key("teacher"));
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].path, "voters[1].key");
    assert_eq!(found[0].line, line_of(&text, "name = \"node2\"") + 1);
    assert!(found[0].message.contains("also participants[0]'s key"));
}

#[test]
fn node_key_shared_by_two_nodes() {
    let text = edit(&valid(), &key("laptop10"), &key("node1"));
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].path, "learners[0].key");
    assert!(found[0].message.contains("already voters[0]'s"));
}

#[test]
fn bad_addresses() {
    for (address, message) in [
        ("localhost", "no port"),
        ("127.0.0.1:99999", "1 to 65535"),
        ("::1:7801", "in brackets"),
        ("my laptop:7801", "neither a host name nor an IP address"),
    ] {
        let text = edit(
            &valid(),
            "address = \"127.0.0.1:7801\"",
            &format!("address = \"{address}\""),
        );
        assert_one(&text, address, "voters[0].address", message);
    }
}

#[test]
fn duplicate_address() {
    let text = edit(
        &valid(),
        "address = \"[::1]:7803\"",
        "address = \"127.0.0.1:7801\"",
    );
    let found = diagnostics(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
    assert_eq!(found[0].path, "voters[2].address");
    assert!(found[0].message.contains("already voters[0]'s address"));
}

#[test]
fn percentages() {
    assert_eq!(parse_percentage("10%"), Ok(1000));
    assert_eq!(parse_percentage(" 2.5 %"), Ok(250));
    assert_eq!(parse_percentage("0.01%"), Ok(1));
    assert_eq!(parse_percentage(".5%"), Ok(50));
    assert!(parse_percentage("%").is_err());
    assert!(parse_percentage("-1%").is_err());
    assert!(parse_percentage("99999999999%").is_err());
}

#[test]
fn suggestions_only_for_near_misses() {
    assert_eq!(closest("rol", PARTICIPANT_FIELDS), Some("role"));
    assert_eq!(closest("Cash", PARTICIPANT_FIELDS), Some("cash"));
    assert_eq!(closest("reference", SYMBOL_FIELDS), None);
    assert_eq!(
        closest("refrence_price", SYMBOL_FIELDS),
        Some("reference_price")
    );
    assert_eq!(closest("colour", PARTICIPANT_FIELDS), None);
}

#[test]
fn a_next_games_previous_game_is_read_and_its_mistakes_named() {
    let chain = "ab".repeat(32);
    let block = "cd".repeat(32);
    let previous =
        format!("\n[previous]\nchain = \"{chain}\"\nheight = 812\nblock = \"{block}\"\n");
    let text = valid() + &previous;
    let genesis = parse_genesis(&text, FILE).unwrap();
    let read = genesis.previous.clone().expect("a previous game");
    assert_eq!(read.chain.to_string(), chain);
    assert_eq!(read.height, 812);
    assert_eq!(read.block.to_hex(), block);
    // Written back, read back the same.
    assert_eq!(
        parse_genesis(&crate::core::genesis::to_toml(&genesis), FILE),
        Ok(genesis)
    );

    let short = edit(&text, &format!("chain = \"{chain}\""), "chain = \"abc\"");
    assert_one(&short, "chain = \"abc\"", "previous.chain", "is not a hash");
    let negative = edit(&text, "height = 812", "height = -1");
    assert_one(&negative, "height = -1", "previous.height", "");
    let misspelt = edit(&text, "height = 812", "hieght = 812");
    let found = diagnostics(&misspelt);
    assert!(
        found
            .iter()
            .any(|d| d.path == "previous.hieght" && d.message.contains("did you mean `height`")),
        "{found:#?}"
    );
}
