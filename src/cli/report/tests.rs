//! The report of a scripted game: two short rounds, a dividend, news, a tie, a bot and
//! a participant with a hostile name, played on the real ledger block by block.

use std::path::PathBuf;

use qraft_keys::Keypair;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
use qraft_node::core::ledger::{Batch, Ledger};
use qraft_node::core::scenario::{
    Event, Round, Scenario, ScenarioSecret, ScenarioStart, ScheduledEvent,
};
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, ParticipantSpec, Tx, TxBody};
use qraft_node::core::types::{Role, Side, Ticker};

use super::check::{CheckError, check};
use super::files::{self, report_hash};
use super::model::{Report, ReportBuilder};
use super::secret;

const T0: u64 = 1_700_000_000_000;
const HOSTILE: &str = "<script>alert(1)</script>";

fn the_secret() -> ScenarioSecret {
    ScenarioSecret {
        salt: [7; 16],
        text: "ACME was always worth $12 & BOLT <$15>".into(),
    }
}

struct Game {
    game: SampleGame,
    bot: Keypair,
    ledger: Ledger,
    builder: ReportBuilder,
    nonces: std::collections::HashMap<qraft_keys::PublicKey, u64>,
}

fn ticker(s: &str) -> Ticker {
    Ticker::new(s).unwrap()
}

impl Game {
    fn new() -> Game {
        let mut game = sample_game(&SampleOptions {
            traders: 5,
            symbols: 2,
            cash: 1_000_000,
            shares: 100,
            rules: qraft_node::core::genesis::Rules {
                open_at_start: false,
                commission_per_order: 100,
                ..Default::default()
            },
            ..SampleOptions::default()
        });
        game.genesis.participants[4].name = HOSTILE.into();
        let bot = Keypair::from_label("report/bot");
        game.genesis.participants.push(ParticipantSpec {
            name: "maker".into(),
            key: bot.public(),
            role: Role::Bot,
            cash: 1_000_000,
            holdings: vec![],
        });
        game.genesis.scenario = Some(Scenario {
            name: "Two quick rounds".into(),
            description: "A test.".into(),
            start: ScenarioStart::FirstBlock,
            rounds: vec![
                Round {
                    name: "Round 1".into(),
                    length_ms: 20_000,
                    break_ms: 5_000,
                },
                Round {
                    name: "Round 2".into(),
                    length_ms: 20_000,
                    break_ms: 0,
                },
            ],
            events: vec![
                ScheduledEvent {
                    at_ms: 2_000,
                    event: Event::News {
                        symbol: Some(ticker("ACME")),
                        headline: "ACME wins a <b>contract</b>".into(),
                        text: "A big one.".into(),
                    },
                },
                ScheduledEvent {
                    at_ms: 10_000,
                    event: Event::Dividend {
                        symbol: ticker("ACME"),
                        per_share: 50,
                    },
                },
            ],
            end_after_last_round: true,
            secret: Some(the_secret().commitment()),
        });
        let ledger = Ledger::new(&game.genesis).unwrap();
        Game {
            game,
            bot,
            ledger,
            builder: ReportBuilder::new(),
            nonces: Default::default(),
        }
    }

    fn trader(&self, i: usize) -> Keypair {
        self.game.traders[i].clone()
    }

    fn order(&mut self, key: &Keypair, side: Side, symbol: &str, qty: u64, price: u64) -> Tx {
        self.tx(
            key,
            TxBody::Order(NewOrder {
                symbol: ticker(symbol),
                side,
                quantity: qty,
                kind: OrderKind::Limit { price },
            }),
        )
    }

    fn tx(&mut self, key: &Keypair, body: TxBody) -> Tx {
        let nonce = self.nonces.entry(key.public()).or_default();
        *nonce += 1;
        Tx {
            signer: key.public(),
            nonce: *nonce,
            body,
        }
    }

    fn block(&mut self, at_ms: u64, txs: Vec<(Keypair, Tx)>) {
        let chain = self.ledger.chain_id();
        let applied = self.ledger.apply_batch(Batch {
            proposer: 1,
            timestamp_ms: T0 + at_ms,
            txs: txs.into_iter().map(|(k, tx)| tx.sign(&k, &chain)).collect(),
        });
        for receipt in &applied.receipts {
            assert!(
                matches!(receipt.outcome, Outcome::Accepted(_)),
                "{receipt:?}"
            );
        }
        self.builder.block(&self.ledger, &applied);
    }

    fn genesis(&self) -> &Genesis {
        &self.game.genesis
    }
}

/// The game played to its end (block 6); the report is built over it.
fn played() -> Game {
    let mut g = Game::new();
    let (t0, t1, t2) = (g.trader(0), g.trader(1), g.trader(2));
    let bot = g.bot.clone();
    // Round 1 opens at block 1: t0 sells t1 10 ACME at $10.80.
    let a = g.order(&t0, Side::Sell, "ACME", 10, 1_080);
    let b = g.order(&t1, Side::Buy, "ACME", 10, 1_080);
    g.block(0, vec![(t0.clone(), a), (t1.clone(), b)]);
    // The news (2 s); t2 sells the bot 5 BOLT at $15.00.
    let a = g.order(&t2, Side::Sell, "BOLT", 5, 1_500);
    let b = g.order(&bot, Side::Buy, "BOLT", 5, 1_500);
    g.block(3_000, vec![(t2, a), (bot, b)]);
    // The dividend (10 s), round 1's close (20 s), round 2's open (25 s).
    g.block(12_000, vec![]);
    g.block(21_000, vec![]);
    // Round 2: t1 sells t0 10 ACME at $11.80.
    let a = g.order(&t1, Side::Sell, "ACME", 10, 1_180);
    let b = g.order(&t0, Side::Buy, "ACME", 10, 1_180);
    g.block(26_000, vec![(t1, a), (t0, b)]);
    // Round 2 closes at 45 s, and the game ends.
    g.block(46_000, vec![]);
    g
}

fn report_of(g: Game) -> (Report, Game) {
    let mut g = g;
    let builder = std::mem::take(&mut g.builder);
    let reveal = secret::reveal(&the_secret(), g.genesis(), "secret.toml").unwrap();
    let report = builder.finish(g.genesis(), &g.ledger, Some(reveal));
    (report, g)
}

#[test]
fn returns_ranks_ties_trades_volume_commissions_and_dividends() {
    let (report, _) = report_of(played());
    assert!(report.game.game_over);
    assert_eq!(report.game.height, 6);
    let names: Vec<(&str, &str, u32)> = report
        .participants
        .iter()
        .map(|p| (p.name.as_str(), p.role.as_str(), p.rank))
        .collect();
    // Admins are left out; students first, then bots, each ranked from 1.
    assert_eq!(
        names,
        [
            ("t1", "student", 1),
            (HOSTILE, "student", 2),
            ("t4", "student", 2),
            ("t2", "student", 4),
            ("t0", "student", 5),
            ("maker", "bot", 1),
        ]
    );
    let p = |name: &str| report.participants.iter().find(|p| p.name == name).unwrap();
    let start = 1_000_000 + 100 * 1_000 + 100 * 1_500;
    for name in ["t0", "t1", "t2", "t4", HOSTILE] {
        assert_eq!(p(name).start_worth_cents, start);
    }
    // t0: sold 10 at $10.80, bought them back at $11.80, two orders at $1; a dividend on 90.
    let t0 = p("t0");
    assert_eq!((t0.trades, t0.volume), (2, 20));
    assert_eq!(t0.commissions_cents, 200);
    assert_eq!(t0.dividends_cents, 90 * 50);
    assert_eq!(
        t0.net_worth_cents,
        1_000_000 + 10_800 - 11_800 - 200 + 4_500 + 100 * 1_180 + 100 * 1_500
    );
    assert_eq!(t0.profit_cents, t0.net_worth_cents - start);
    assert_eq!(
        t0.return_bps,
        (t0.profit_cents as i128 * 10_000 / start as i128) as i64
    );
    let t1 = p("t1");
    assert_eq!(
        (t1.trades, t1.volume, t1.dividends_cents),
        (2, 20, 110 * 50)
    );
    let t2 = p("t2");
    assert_eq!((t2.trades, t2.volume, t2.commissions_cents), (1, 5, 100));
    // The tie: two untouched accounts share rank 2, listed by name.
    assert_eq!(p("t4").return_bps, p(HOSTILE).return_bps);
    assert_eq!(
        p("t4").net_worth_cents,
        1_000_000 + 100 * 50 + 100 * 1_180 + 100 * 1_500
    );
    assert_eq!(p("t4").trades, 0);
    let maker = p("maker");
    assert_eq!(
        (maker.trades, maker.volume, maker.dividends_cents),
        (1, 5, 0)
    );
    // Two closed rounds, each with a return and a rank.
    assert_eq!(t0.rounds.len(), 2);
    assert!(t0.round_rank_average.is_some());
    // Positions at the final price.
    let acme = t0.positions.iter().find(|x| x.symbol == "ACME").unwrap();
    assert_eq!(
        (acme.shares, acme.price_ticks, acme.value_cents),
        (100, 1_180, 118_000)
    );
    // Prices, news and net worth over time are there and bounded.
    let acme = &report.symbols[0];
    assert_eq!(acme.final_price_ticks, 1_180);
    assert_eq!(acme.prices.first().map(|p| p.1), Some(1_080));
    assert!(
        report
            .news
            .iter()
            .any(|n| n.headline == "ACME wins a <b>contract</b>")
    );
    assert_eq!(report.net_worth_times_ms.last(), Some(&(T0 + 46_000)));
    for p in &report.participants {
        assert_eq!(p.net_worth_history.len(), report.net_worth_times_ms.len());
        assert_eq!(p.net_worth_history.last(), Some(&Some(p.net_worth_cents)));
    }
    assert_eq!(
        report.secret.as_ref().map(|s| s.text.as_str()),
        Some("ACME was always worth $12 & BOLT <$15>")
    );
}

fn golden(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("src/cli/report/golden")
        .join(name)
}

fn compare_golden(name: &str, actual: &str) {
    let path = golden(name);
    if std::env::var_os("QRAFT_UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (QRAFT_UPDATE_GOLDEN=1 makes it)", path.display()));
    assert!(
        expected == actual,
        "{name} differs from {} (QRAFT_UPDATE_GOLDEN=1 to accept):\n{actual}",
        path.display()
    );
}

#[test]
fn the_files_match_the_goldens_byte_for_byte_and_are_deterministic() {
    let (mut first, _) = report_of(played());
    let (mut second, _) = report_of(played());
    let a = files::render(&mut first);
    let b = files::render(&mut second);
    assert_eq!(a, b, "the same chain gives the same bytes");
    compare_golden("report.csv", &a.0);
    compare_golden("report.json", &a.2);
    // The json names the other files' hashes.
    assert_eq!(first.files["report.csv"], files::file_hash(a.0.as_bytes()));
    assert_eq!(first.files["report.html"], files::file_hash(a.1.as_bytes()));
}

#[test]
fn html_escapes_hostile_names_headlines_and_the_secret() {
    let (mut report, _) = report_of(played());
    let (_, html, _) = files::render(&mut report);
    assert!(!html.contains("<script>"), "a name became markup");
    assert!(!html.contains("<b>contract"), "a headline became markup");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("ACME wins a &lt;b&gt;contract&lt;/b&gt;"));
    assert!(html.contains("worth $12 &amp; BOLT &lt;$15&gt;"));
    assert!(!html.contains("<script"), "no script at all");
    assert!(!html.contains(" src="), "nothing fetched");
}

#[test]
fn a_mismatched_secret_is_refused() {
    let g = Game::new();
    let mut wrong = the_secret();
    wrong.text.push('!');
    let err = secret::reveal(&wrong, g.genesis(), "s.toml").unwrap_err();
    assert!(err.to_string().contains("not this game's secret"), "{err}");
    let parsed = secret::parse(
        "salt = \"07070707070707070707070707070707\"\ntext = \"ACME was always worth $12 & BOLT <$15>\"\n",
        "s.toml",
    )
    .unwrap();
    assert!(secret::reveal(&parsed, g.genesis(), "s.toml").is_ok());
    assert!(secret::parse("salt = \"07\"\ntext = \"x\"", "s.toml").is_err());
}

#[test]
fn check_accepts_the_recorded_report_and_refuses_a_one_byte_change() {
    let (mut report, mut g) = report_of(played());
    let dir = tempfile::tempdir().unwrap();
    let hash = files::write(&mut report, dir.path()).unwrap();
    assert_eq!(
        hash,
        report_hash(&std::fs::read(dir.path().join("report.json")).unwrap())
    );
    // Before it is recorded: nothing to check against.
    assert!(matches!(
        check(&dir.path().join("report.json"), None, 6),
        Err(CheckError::NotRecorded { .. })
    ));
    // The admin records it in block 7.
    let admin = g.game.admin.clone();
    let tx = g.tx(&admin, TxBody::Admin(AdminAction::RecordReport { hash }));
    g.block(47_000, vec![(admin, tx)]);
    let recorded = g.builder.recorded();
    assert_eq!(recorded, Some((hash, 7)));
    for name in ["report.json", "report.csv", "report.html"] {
        assert_eq!(check(&dir.path().join(name), recorded, 7).unwrap(), 7);
    }
    // One byte changed in the csv: the csv is refused, the json still stands.
    let csv = dir.path().join("report.csv");
    let mut bytes = std::fs::read(&csv).unwrap();
    let at = bytes.iter().position(|&b| b == b'1').unwrap();
    bytes[at] = b'2';
    std::fs::write(&csv, &bytes).unwrap();
    assert!(matches!(
        check(&csv, recorded, 7),
        Err(CheckError::FileDiffers { .. })
    ));
    // One byte changed in the json: it and every file beside it are refused.
    let json = dir.path().join("report.json");
    let mut bytes = std::fs::read(&json).unwrap();
    let at = bytes.iter().position(|&b| b == b'0').unwrap();
    bytes[at] = b'9';
    std::fs::write(&json, &bytes).unwrap();
    for name in ["report.json", "report.html"] {
        let err = check(&dir.path().join(name), recorded, 7).unwrap_err();
        assert!(matches!(err, CheckError::Differs { .. }), "{err}");
        assert!(
            err.to_string()
                .contains("is NOT the report the chain holds")
        );
    }
}
