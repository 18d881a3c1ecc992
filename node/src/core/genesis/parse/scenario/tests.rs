//! Reading scenarios: a full scenario file, round-relative times, one test per kind of
//! mistake (each checking the file, line, column and field of the report), and scenarios
//! inside a genesis.

use super::*;
use crate::core::genesis::sample::{SampleOptions, sample_game};
use crate::core::genesis::{Genesis, parse_genesis, scenario_to_toml, to_toml};
use crate::core::hash::Hash32;
use crate::core::scenario::SecretCommitment;

const FILE: &str = "scen.toml";

fn ticker(text: &str) -> Ticker {
    Ticker::new(text).unwrap()
}

/// ACME trades in cents, BETA in nickels.
fn symbols() -> Vec<SymbolSpec> {
    vec![
        SymbolSpec {
            ticker: ticker("ACME"),
            name: "Acme".into(),
            tick_size: 1,
            reference_price: 1250,
        },
        SymbolSpec {
            ticker: ticker("BETA"),
            name: "Beta".into(),
            tick_size: 5,
            reference_price: 40,
        },
    ]
}

fn parse(text: &str) -> Result<ScenarioFile, GenesisError> {
    parse_scenario(text, FILE, &symbols(), &Rules::default())
}

const EXAMPLE: &str = r#"name = "Acme's quarter"
description = """Acme reports this week.
Trade on what you learn."""
start = "admin"
end_after_last_round = true

[[rounds]]
name = "Opening"
length = "3m"
break = "30s"

[[rounds]]
length = "5m"

[[events]]
at = "1m30s"
news = "Acme wins a big contract"
text = "Longer story..."
symbol = "ACME"

[[events]]
at = "2m"
symbol = "ACME"
value = "14.00"

[[events]]
at = "30s"
round = 2
symbol = "BETA"
dividend = "0.50"

[[events]]
at = "1m"
halt = "all"

[[events]]
at = "1m20s"
resume = "BETA"

[[events]]
at = "4m"
rules = { short_selling = true, max_short_shares = 100, price_band = "5%", commission_per_share = "0.01", max_orders_per_minute = 30 }

[secret]
text = """ACME is really worth $16."""
"#;

fn example_scenario() -> Scenario {
    let at = |s: u64| s * 1000;
    Scenario {
        name: "Acme's quarter".into(),
        description: "Acme reports this week.\nTrade on what you learn.".into(),
        start: ScenarioStart::ByAdmin,
        rounds: vec![
            Round {
                name: "Opening".into(),
                length_ms: at(180),
                break_ms: at(30),
            },
            Round {
                name: "Round 2".into(),
                length_ms: at(300),
                break_ms: 0,
            },
        ],
        events: vec![
            ScheduledEvent {
                at_ms: at(60),
                event: Event::Halt(Scope::All),
            },
            ScheduledEvent {
                at_ms: at(80),
                event: Event::Resume(Scope::Symbol(ticker("BETA"))),
            },
            ScheduledEvent {
                at_ms: at(90),
                event: Event::News {
                    symbol: Some(ticker("ACME")),
                    headline: "Acme wins a big contract".into(),
                    text: "Longer story...".into(),
                },
            },
            ScheduledEvent {
                at_ms: at(120),
                event: Event::Value {
                    symbol: ticker("ACME"),
                    value: 1400,
                },
            },
            // Round 2 opens at 3m30s: 30s into it is 4m, as is the rule change after it
            // in the file, which stays after it.
            ScheduledEvent {
                at_ms: at(240),
                event: Event::Dividend {
                    symbol: ticker("BETA"),
                    per_share: 50,
                },
            },
            ScheduledEvent {
                at_ms: at(240),
                event: Event::Rules(RulesPatch {
                    short_selling: Some(true),
                    max_short_shares: Some(100),
                    price_band_bps: Some(500),
                    commission_per_share: Some(1),
                    max_orders_per_minute: Some(30),
                    ..RulesPatch::default()
                }),
            },
        ],
        end_after_last_round: true,
        secret: None,
    }
}

/// `FILE:LINE:COLUMN` of the one occurrence of `needle` in `text`.
fn place(text: &str, needle: &str) -> String {
    assert_eq!(
        text.matches(needle).count(),
        1,
        "{needle:?} must occur once in\n{text}"
    );
    let offset = text.find(needle).unwrap();
    let line = text[..offset].matches('\n').count() + 1;
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let column = text[line_start..offset].chars().count() + 1;
    format!("{FILE}:{line}:{column}")
}

/// Asserts that reading `text` reports exactly one problem, shown as
/// `FILE:LINE:COLUMN: PATH: ...MESSAGE...` with the place of `needle`.
#[track_caller]
fn assert_one(text: &str, needle: &str, path: &str, message: &str) {
    let shown = match parse(text) {
        Ok(file) => panic!("accepted a bad file: {file:?}\n{text}"),
        Err(error) => error.to_string(),
    };
    let expected = format!("{}: {path}: ", place(text, needle));
    assert_eq!(
        shown.lines().count(),
        1,
        "expected one problem, got:\n{shown}"
    );
    assert!(
        shown.starts_with(&expected) && shown.contains(message),
        "expected {expected:?}...{message:?}, got:\n{shown}"
    );
}

/// Two rounds of 5m (the game ends at 10m), then `events`.
fn with_events(events: &str) -> String {
    format!(
        "name = \"Test\"\n\n[[rounds]]\nlength = \"5m\"\n\n[[rounds]]\nlength = \"5m\"\n\n\
         {events}"
    )
}

#[test]
fn a_full_scenario_file_parses() {
    let file = parse(EXAMPLE).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(file.scenario, example_scenario());
    assert_eq!(
        file.secret_text.as_deref(),
        Some("ACME is really worth $16.")
    );
}

#[test]
fn only_a_name_is_required() {
    let file = parse("name = \"Free market\"\n").unwrap();
    assert_eq!(
        file,
        ScenarioFile {
            scenario: Scenario {
                name: "Free market".into(),
                description: String::new(),
                start: ScenarioStart::FirstBlock,
                rounds: vec![],
                events: vec![],
                end_after_last_round: true,
                secret: None,
            },
            secret_text: None,
        }
    );
}

#[test]
fn round_relative_times_count_from_the_round_opening() {
    let text = with_events(
        "[[events]]\nat = \"1m\"\nround = 2\nnews = \"Second\"\n\n\
         [[events]]\nat = \"5m30s\"\nnews = \"First\"\n",
    );
    let events = parse(&text).unwrap().scenario.events;
    let times: Vec<u64> = events.iter().map(|e| e.at_ms).collect();
    assert_eq!(times, [330_000, 360_000]);
    assert!(matches!(&events[0].event, Event::News { headline, .. } if headline == "First"));
}

#[test]
fn standalone_round_trips_through_scenario_to_toml() {
    let scenario = example_scenario();
    let text = scenario_to_toml(&scenario, Some("The \"answer\"\nis $16."), &symbols());
    let back = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back.scenario, scenario, "{text}");
    assert_eq!(back.secret_text.as_deref(), Some("The \"answer\"\nis $16."));
    let without = scenario_to_toml(&scenario, None, &symbols());
    assert_eq!(parse(&without).unwrap().secret_text, None);
    assert!(!without.contains("\n[secret]"), "{without}");
}

// ----- Mistakes, each at its line and column -----

#[test]
fn toml_syntax_error_names_its_line() {
    let text = "name = \"Test\"\n\n[[rounds]]\nlength = \"5m\n";
    let error = parse(text).unwrap_err();
    let first = &error.diagnostics()[0];
    assert_eq!(first.line, 4, "{error}");
    assert_eq!(first.path, "");
    assert!(error.to_string().starts_with("scen.toml:4:"), "{error}");
}

#[test]
fn unknown_field_with_suggestion() {
    let text = with_events("[[events]]\nat = \"1m\"\nnews = \"Hi\"\nsymbl = \"ACME\"\n");
    assert_one(
        &text,
        "symbl",
        "events[0].symbl",
        "unknown field; did you mean `symbol`?",
    );
    assert_one(
        "name = \"T\"\nstrt = \"admin\"\n",
        "strt",
        "strt",
        "unknown field; did you mean `start`?",
    );
}

#[test]
fn wrong_type_and_unreadable_durations() {
    let text = "name = \"T\"\n\n[[rounds]]\nlength = 180\n";
    assert_one(
        text,
        "180",
        "rounds[0].length",
        "expected a time in quotes, like \"1m30s\", found an integer",
    );
    let text = with_events("[[events]]\nat = \"1.5m\"\nnews = \"Hi\"\n");
    assert_one(
        &text,
        "\"1.5m\"",
        "events[0].at",
        "\"1.5m\": whole numbers only",
    );
    let text = "name = \"T\"\nstart = \"now\"\n";
    assert_one(text, "\"now\"", "start", "\"now\" is not a start");
}

#[test]
fn an_event_does_exactly_one_thing() {
    let text = with_events("[[events]]\nat = \"1m\"\n");
    // A table is placed at its header.
    assert_one(
        &text,
        "[[events]]",
        "events[0]",
        "an event does exactly one thing: news, value, dividend, halt, resume or rules",
    );
    let text = with_events(
        "[[events]]\nat = \"1m\"\nnews = \"Hi\"\nsymbol = \"ACME\"\nvalue = \"14.00\"\n",
    );
    assert_one(
        &text,
        "\"14.00\"",
        "events[0].value",
        "an event does exactly one thing: news, value, dividend, halt, resume or rules; \
         this one has both news and value",
    );
}

#[test]
fn unknown_symbols_are_named() {
    let text = with_events("[[events]]\nat = \"1m\"\nsymbol = \"ZZZ\"\nvalue = \"14.00\"\n");
    assert_one(
        &text,
        "\"ZZZ\"",
        "events[0].symbol",
        "ZZZ is not a listed symbol (listed: ACME, BETA)",
    );
    let text = with_events("[[events]]\nat = \"1m\"\nhalt = \"ZZZ\"\n");
    assert_one(
        &text,
        "\"ZZZ\"",
        "events[0].halt",
        "ZZZ is not a listed symbol",
    );
    let text = with_events("[[events]]\nat = \"1m\"\nnews = \"Hi\"\nsymbol = \"ZZZ\"\n");
    assert_one(
        &text,
        "\"ZZZ\"",
        "events[0].symbol",
        "ZZZ is not a listed symbol",
    );
    let text = with_events("[[events]]\nat = \"1m\"\ndividend = \"0.50\"\n");
    assert_one(
        &text,
        "[[events]]",
        "events[0].symbol",
        "missing: add `symbol = ...`",
    );
}

#[test]
fn a_value_is_a_whole_number_of_ticks() {
    let text = with_events("[[events]]\nat = \"1m\"\nsymbol = \"BETA\"\nvalue = \"2.03\"\n");
    assert_one(
        &text,
        "\"2.03\"",
        "events[0].value",
        "2.03 is not a whole number of ticks of 0.05: the nearest prices are 2.00 and 2.05",
    );
    let text = with_events("[[events]]\nat = \"1m\"\nsymbol = \"ACME\"\nvalue = \"0\"\n");
    assert_one(&text, "\"0\"", "events[0].value", "is 0 ticks");
    let text = with_events("[[events]]\nat = \"1m\"\nsymbol = \"ACME\"\ndividend = \"-1\"\n");
    assert_one(
        &text,
        "\"-1\"",
        "events[0].dividend",
        "is -1.00; a dividend is more than 0.00",
    );
}

#[test]
fn a_round_must_exist() {
    let text = with_events("[[events]]\nat = \"1m\"\nround = 3\nnews = \"Hi\"\n");
    assert_one(
        &text,
        "3\n",
        "events[0].round",
        "there is no round 3: the rounds are 1 to 2",
    );
    let text = "name = \"T\"\n\n[[events]]\nat = \"1m\"\nround = 1\nnews = \"Hi\"\n";
    assert_one(text, "1\n", "events[0].round", "there is no round 1");
}

#[test]
fn nothing_happens_after_the_game_ends() {
    let text = with_events("[[events]]\nat = \"10m\"\nnews = \"Too late\"\n");
    assert_one(
        &text,
        "\"10m\"",
        "events[0].at",
        "is at 10m; the game ends at 10m, when its last round closes",
    );
    let text = with_events("[[events]]\nat = \"5m\"\nround = 2\nnews = \"Too late\"\n");
    assert_one(
        &text,
        "\"5m\"\nround",
        "events[0].at",
        "is at 10m; the game ends at 10m",
    );
    // Without end_after_last_round the market goes on.
    let text = format!(
        "end_after_last_round = false\n{}",
        with_events("[[events]]\nat = \"1h\"\nnews = \"Later\"\n")
    );
    assert_eq!(parse(&text).unwrap().scenario.events[0].at_ms, 3_600_000);
}

#[test]
fn limits_on_length_and_counts() {
    let text = "name = \"T\"\n\n[[rounds]]\nlength = \"200h\"\n";
    assert_one(
        text,
        "[[rounds]]",
        "rounds",
        "the rounds last 200h; a scenario may last at most 168h",
    );
    let text = "name = \"T\"\n\n[[events]]\nat = \"169h\"\nnews = \"Hi\"\n";
    assert_one(
        text,
        "\"169h\"",
        "events[0].at",
        "a scenario may last at most 168h",
    );
    let text = format!(
        "name = \"T\"\n{}",
        "[[rounds]]\nlength = \"10s\"\n".repeat(51)
    );
    let shown = parse(&text).unwrap_err().to_string();
    assert!(
        shown.starts_with("scen.toml:2:1: rounds: 51 rounds; a scenario may have at most 50"),
        "{shown}"
    );
    let text = format!(
        "name = \"T\"\n{}",
        "[[events]]\nat = \"1s\"\nnews = \"Hi\"\n".repeat(501)
    );
    let shown = parse(&text).unwrap_err().to_string();
    assert!(
        shown.starts_with("scen.toml:2:1: events: 501 events; a scenario may have at most 500"),
        "{shown}"
    );
    let text = "name = \"T\"\n\n[[rounds]]\nlength = \"9s\"\n";
    assert_one(
        text,
        "\"9s\"",
        "rounds[0].length",
        "is 9s; a round lasts at least 10s",
    );
}

#[test]
fn rule_changes_are_checked_against_the_rules_in_force() {
    // The game's rules allow no short selling (max_short_shares = 0).
    let text = with_events("[[events]]\nat = \"1m\"\nrules = { short_selling = true }\n");
    assert_one(
        &text,
        "{ short",
        "events[0].rules.max_short_shares",
        "short_selling is true but max_short_shares is 0",
    );
    // A later change applies to the rules an earlier one made.
    let text = with_events(
        "[[events]]\nat = \"1m\"\nrules = { short_selling = true, max_short_shares = 50 }\n\n\
         [[events]]\nat = \"2m\"\nrules = { short_selling = false }\n",
    );
    assert_one(
        &text,
        "{ short_selling = false",
        "events[1].rules.max_short_shares",
        "is 50 but short_selling is false",
    );
    let text = with_events("[[events]]\nat = \"1m\"\nrules = { price_band = \"150%\" }\n");
    assert_one(&text, "\"150%\"", "events[0].rules.price_band", "is 150%");
    let text = with_events("[[events]]\nat = \"1m\"\nrules = { candle_seconds = 30 }\n");
    assert_one(
        &text,
        "30 }",
        "events[0].rules.candle_seconds",
        "a scenario cannot change candle_seconds",
    );
    let text = with_events("[[events]]\nat = \"1m\"\nrules = {}\n");
    assert_one(&text, "{}", "events[0].rules", "changes no rule");
    let text = with_events("[[events]]\nat = \"1m\"\nrules = { max_order_shares = 10000 }\n");
    assert_one(&text, "{ max", "events[0].rules", "changes nothing");
}

#[test]
fn news_text_and_headline() {
    let text = with_events(
        "[[events]]\nat = \"1m\"\nsymbol = \"ACME\"\nvalue = \"14.00\"\ntext = \"Why\"\n",
    );
    assert_one(
        &text,
        "\"Why\"",
        "events[0].text",
        "`text` goes only with `news`",
    );
    let text = with_events("[[events]]\nat = \"1m\"\nnews = \"\"\n");
    assert_one(&text, "\"\"", "events[0].news", "the headline is empty");
    let long = "x".repeat(281);
    let text = with_events(&format!("[[events]]\nat = \"1m\"\nnews = \"{long}\"\n"));
    assert_one(
        &text,
        &format!("\"{long}"),
        "events[0].news",
        "the headline is 281 bytes long; the limit is 280",
    );
}

#[test]
fn the_secret_goes_as_text_in_a_file_and_as_a_commitment_in_a_genesis() {
    let hex = "ab".repeat(32);
    let text = format!("name = \"T\"\nsecret = \"{hex}\"\n");
    assert_one(
        &text,
        &format!("\"{hex}\""),
        "secret",
        "a scenario file holds the secret's text",
    );
    let genesis = to_toml(&sample_game(&SampleOptions::default()).genesis);
    let text = format!("{genesis}\n[scenario]\nname = \"T\"\n\n[scenario.secret]\ntext = \"x\"\n");
    let shown = parse_genesis(&text, "genesis.toml")
        .unwrap_err()
        .to_string();
    assert!(
        shown.contains("scenario.secret: a genesis holds only the secret's commitment"),
        "{shown}"
    );
    let text = format!("{genesis}\n[scenario]\nname = \"T\"\nsecret = \"{hex}\"\n");
    let scenario = parse_genesis(&text, "genesis.toml")
        .unwrap()
        .scenario
        .unwrap();
    assert_eq!(
        scenario.secret,
        Some(SecretCommitment(Hash32::from_hex(&hex).unwrap()))
    );
    let text = format!("{genesis}\n[scenario]\nname = \"T\"\nsecret = \"abc\"\n");
    let shown = parse_genesis(&text, "genesis.toml")
        .unwrap_err()
        .to_string();
    assert!(
        shown.contains("scenario.secret: \"abc\" is not a secret's commitment"),
        "{shown}"
    );
}

#[test]
fn every_problem_is_reported_together_in_file_order() {
    let text = with_events(
        "[[events]]\nat = \"1m\"\nsymbol = \"ZZZ\"\nvalue = \"1\"\n\n\
         [[events]]\nat = \"soon\"\nnews = \"Hi\"\n\n\
         [[events]]\nat = \"11m\"\nhalt = \"all\"\nresume = \"all\"\n",
    );
    let error = parse(&text).unwrap_err();
    let paths: Vec<&str> = error
        .diagnostics()
        .iter()
        .map(|d| d.path.as_str())
        .collect();
    assert_eq!(
        paths,
        ["events[0].symbol", "events[1].at", "events[2].resume"],
        "{error}"
    );
}

// ----- In a genesis -----

fn sample_with(scenario: Scenario) -> Genesis {
    let mut genesis = sample_game(&SampleOptions::default()).genesis;
    genesis.scenario = Some(scenario);
    genesis
}

fn sample_scenario() -> Scenario {
    let mut scenario = example_scenario();
    scenario.secret = Some(SecretCommitment(Hash32::of("test", b"secret")));
    // The sample game has no BETA: make those events about its second symbol, whose
    // tick is a cent.
    for event in &mut scenario.events {
        match &mut event.event {
            Event::Resume(Scope::Symbol(t)) | Event::Dividend { symbol: t, .. } => {
                *t = ticker("BOLT")
            }
            _ => {}
        }
    }
    scenario
}

#[test]
fn a_genesis_with_a_scenario_round_trips() {
    let genesis = sample_with(sample_scenario());
    assert_eq!(genesis.validate(), Ok(()));
    let text = to_toml(&genesis);
    assert!(text.contains("[scenario]"), "{text}");
    assert!(text.contains("[[scenario.events]]"), "{text}");
    let back = parse_genesis(&text, "genesis.toml").unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(back, genesis);
}

#[test]
fn a_genesis_scenario_is_checked_against_its_symbols() {
    let genesis = to_toml(&sample_game(&SampleOptions::default()).genesis);
    let text = format!(
        "{genesis}\n[scenario]\nname = \"T\"\n\n[[scenario.events]]\nat = \"1m\"\n\
         symbol = \"BETA\"\nvalue = \"2.00\"\n"
    );
    let error = parse_genesis(&text, "genesis.toml").unwrap_err();
    let shown = error.to_string();
    let line = text.lines().count() - 1;
    assert_eq!(
        shown,
        format!(
            "genesis.toml:{line}:10: scenario.events[0].symbol: BETA is not a listed symbol \
             (listed: ACME, BOLT, CHIP)"
        )
    );
}

#[test]
fn validate_checks_a_scenario_built_in_code() {
    let mut scenario = sample_scenario();
    scenario.events[2].event = Event::News {
        symbol: Some(ticker("ZZZ")),
        headline: String::new(),
        text: String::new(),
    };
    scenario.events[4].at_ms = 1_000;
    scenario.rounds[1].length_ms = 5_500;
    let violations = sample_with(scenario).validate().unwrap_err();
    let paths: Vec<&str> = violations.iter().map(|v| v.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "scenario.rounds[1].length",
            "scenario.rounds[1].length",
            "scenario.events[2].news",
            "scenario.events[2].symbol",
            "scenario.events[4].at",
            // The rounds are shorter now: the game ends at 3m35.5s.
            "scenario.events[5].at",
        ],
        "{violations:#?}"
    );
}
