//! Scenario tests: readable golden files for the matching rules and every rejection.
//!
//! Each file in `tests/scenarios/` is a script of commands, each followed by `----` and
//! the expected output, then a blank line. Every transaction is signed and applied as its
//! own block through the ledger, exactly as a node would. To accept new output after a
//! deliberate change, run `QRAFT_UPDATE_GOLDEN=1 cargo test -p qraft-node --test
//! scenarios` and review the diff.
//!
//! The game: symbols ACME (tick $0.01, reference $10.00) and BOLT (tick $0.05, reference
//! $20.00); traders alice, bob, carol, dave with $10,000.00, 100 ACME and 100 BOLT each;
//! an admin named admin. Anyone else (mallory) has a key that is not in the game.
//! `game key=value ...` before the first transaction changes the rules: `short=N`
//! (allow short selling up to N shares), `max_order=N`, `band_bps=N`, `closed` (market
//! closed at start), `cash=DOLLARS`, `scenario=FILE` (plays the game scenario in
//! `tests/scenarios/FILE`, read as `qraft` reads one).
//!
//! Game time: every transaction's block is one second after the one before it;
//! `wait DURATION` (`30s`, `1m30s`) makes an empty block that much later, as a leader
//! does when a scenario step falls due, and prints the news it brought. Queries for a
//! scenario: `round` (where the game is in its rounds) and `scores` (the leaderboard by
//! return and by round ranks). At the end of every script, the whole chain is replayed
//! from the genesis block by block, as `qraft verify` does, and must give the same
//! digests.
//!
//! Commands: `WHO buy|sell SYM QTY [@ PRICE] [ioc]`, `WHO buy|sell SYM QTY market`,
//! `WHO cancel #ID`, `WHO cancel-all [SYM]`, `WHO open|halt|resume|close [SYM]`,
//! `WHO news TEXT`, `WHO add NAME ROLE CASH`, `WHO suspend|reinstate NAME`,
//! `WHO list SYM TICK PRICE`, `WHO adjust NAME AMOUNT`, `WHO end-game`, `WHO replay`
//! (sends WHO's last transaction again), `WHO nonce N COMMAND` (explicit nonce),
//! `WHO tamper COMMAND` (signature damaged), `WHO other-chain COMMAND` (signed for
//! another game). Queries: `book SYM`, `account NAME`, `leaderboard`, `trades [SYM]`,
//! `news`, `symbols`, `round`, `scores`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use qraft_keys::{ChainId, Keypair};
use qraft_node::core::exchange::scoring::Ranking;
use qraft_node::core::exchange::{Effect, Receipt, receipt::Outcome};
use qraft_node::core::genesis::parse_scenario;
use qraft_node::core::genesis::{Genesis, Rules};
use qraft_node::core::ledger::{AppliedBlock, Batch, Ledger};
use qraft_node::core::scenario::duration::{format_duration, parse_duration};
use qraft_node::core::tx::{
    AdminAction, NewOrder, OrderKind, ParticipantSpec, Scope, SignedTx, SymbolSpec, Tx, TxBody,
};
use qraft_node::core::types::{Role, Side, Ticker, format_cents, parse_cents};

struct World {
    genesis: Genesis,
    /// Every block made, for the replay at the end.
    blocks: Vec<qraft_node::core::block::Block>,
    ledger: Ledger,
    keys: BTreeMap<String, Keypair>,
    nonces: BTreeMap<String, u64>,
    last_tx: BTreeMap<String, SignedTx>,
    clock_ms: u64,
}

fn ticker(s: &str) -> Ticker {
    Ticker::new(s).unwrap_or_else(|e| panic!("{e}"))
}

fn default_genesis(rules: Rules, cash: i64) -> (Genesis, BTreeMap<String, Keypair>) {
    let mut keys = BTreeMap::new();
    let symbols = vec![
        SymbolSpec {
            ticker: ticker("ACME"),
            name: "Acme Corporation".into(),
            tick_size: 1,
            reference_price: 1_000,
        },
        SymbolSpec {
            ticker: ticker("BOLT"),
            name: "Bolt Motors".into(),
            tick_size: 5,
            reference_price: 400,
        },
    ];
    let mut participants = Vec::new();
    for (name, role) in [
        ("admin", Role::Admin),
        ("alice", Role::Trader),
        ("bob", Role::Trader),
        ("carol", Role::Trader),
        ("dave", Role::Bot),
    ] {
        let key = Keypair::from_label(&format!("scenario/{name}"));
        participants.push(ParticipantSpec {
            name: name.into(),
            key: key.public(),
            role,
            cash: if role == Role::Admin { 0 } else { cash },
            holdings: if role == Role::Admin {
                vec![]
            } else {
                vec![(ticker("ACME"), 100), (ticker("BOLT"), 100)]
            },
        });
        keys.insert(name.to_string(), key);
    }
    let genesis = Genesis {
        game: "Scenario".into(),
        rules,
        symbols,
        participants,
        voters: vec![],
        learners: vec![],
        scenario: None,
        previous: None,
    };
    (genesis, keys)
}

impl World {
    fn new(rules: Rules, cash: i64, scenario: Option<&str>) -> World {
        let (mut genesis, keys) = default_genesis(rules, cash);
        if let Some(file) = scenario {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/scenarios")
                .join(file);
            let text = std::fs::read_to_string(&path).expect("read the game scenario");
            let read = parse_scenario(&text, file, &genesis.symbols, &genesis.rules)
                .unwrap_or_else(|e| panic!("{e}"));
            genesis.scenario = Some(read.scenario);
        }
        World {
            ledger: Ledger::new(&genesis).expect("scenario genesis is valid"),
            genesis,
            blocks: Vec::new(),
            keys,
            nonces: BTreeMap::new(),
            last_tx: BTreeMap::new(),
            clock_ms: 1_700_000_000_000,
        }
    }

    fn key(&mut self, name: &str) -> Keypair {
        self.keys
            .entry(name.to_string())
            .or_insert_with(|| Keypair::from_label(&format!("scenario/{name}")))
            .clone()
    }

    fn tick_size(&self, symbol: Ticker) -> i64 {
        self.ledger
            .exchange()
            .symbol(symbol)
            .map(|s| s.tick_size)
            .unwrap_or(1)
    }

    fn price(&self, symbol: Ticker, text: &str) -> u64 {
        let cents = parse_cents(text).unwrap_or_else(|| panic!("bad price {text}"));
        let tick = self.tick_size(symbol);
        assert!(
            cents % tick == 0,
            "price {text} is not a whole number of ticks"
        );
        (cents / tick) as u64
    }

    fn show_price(&self, symbol: Ticker, ticks: u64) -> String {
        format_cents(ticks as i128 * self.tick_size(symbol) as i128)
    }

    fn body(&mut self, words: &[&str]) -> TxBody {
        let scope = |words: &[&str]| match words.first() {
            Some(s) => Scope::Symbol(ticker(s)),
            None => Scope::All,
        };
        match words {
            [side @ ("buy" | "sell"), symbol, qty, rest @ ..] => {
                let symbol = ticker(symbol);
                let side = if *side == "buy" {
                    Side::Buy
                } else {
                    Side::Sell
                };
                let quantity = qty.parse().expect("quantity");
                let kind = match rest {
                    ["market"] => OrderKind::Market,
                    ["@", price] => OrderKind::Limit {
                        price: self.price(symbol, price),
                    },
                    ["@", price, "ioc"] => OrderKind::ImmediateOrCancel {
                        price: self.price(symbol, price),
                    },
                    other => panic!("bad order ending {other:?}"),
                };
                TxBody::Order(NewOrder {
                    symbol,
                    side,
                    quantity,
                    kind,
                })
            }
            ["cancel", id] => TxBody::Cancel {
                order: id.trim_start_matches('#').parse().expect("order id"),
            },
            ["cancel-all"] => TxBody::CancelAll { symbol: None },
            ["cancel-all", s] => TxBody::CancelAll {
                symbol: Some(ticker(s)),
            },
            ["open", rest @ ..] => TxBody::Admin(AdminAction::Open(scope(rest))),
            ["halt", rest @ ..] => TxBody::Admin(AdminAction::Halt(scope(rest))),
            ["resume", rest @ ..] => TxBody::Admin(AdminAction::Resume(scope(rest))),
            ["close", rest @ ..] => TxBody::Admin(AdminAction::Close(scope(rest))),
            ["news", rest @ ..] => TxBody::Admin(AdminAction::News {
                headline: rest.join(" "),
            }),
            ["add", name, role, cash] => {
                TxBody::Admin(AdminAction::AddParticipant(ParticipantSpec {
                    name: name.to_string(),
                    key: self.key(name).public(),
                    role: match *role {
                        "admin" => Role::Admin,
                        "bot" => Role::Bot,
                        _ => Role::Trader,
                    },
                    cash: parse_cents(cash).expect("cash"),
                    holdings: vec![],
                }))
            }
            ["suspend", name] => TxBody::Admin(AdminAction::SuspendParticipant {
                key: self.key(name).public(),
            }),
            ["reinstate", name] => TxBody::Admin(AdminAction::ReinstateParticipant {
                key: self.key(name).public(),
            }),
            ["list", symbol, tick, price] => {
                let tick_size = parse_cents(tick).expect("tick");
                TxBody::Admin(AdminAction::ListSymbol(SymbolSpec {
                    ticker: ticker(symbol),
                    name: format!("{symbol} Inc."),
                    tick_size,
                    reference_price: (parse_cents(price).expect("price") / tick_size.max(1)) as u64,
                }))
            }
            ["adjust", name, amount] => TxBody::Admin(AdminAction::AdjustCash {
                key: self.key(name).public(),
                amount: parse_cents(amount).expect("amount"),
            }),
            ["end-game"] => TxBody::Admin(AdminAction::EndGame),
            other => panic!("unknown command {other:?}"),
        }
    }

    fn submit(&mut self, who: &str, words: &[&str]) -> String {
        let key = self.key(who);
        let signed = match words {
            ["replay"] => self.last_tx.get(who).expect("nothing to replay").clone(),
            _ => {
                // Variants: an explicit nonce, another game's chain id, a damaged signature.
                let (nonce, chain, tamper, command) = match words {
                    ["nonce", n, rest @ ..] => (Some(n.parse().expect("nonce")), None, false, rest),
                    ["other-chain", rest @ ..] => (None, Some(ChainId([0xee; 32])), false, rest),
                    ["tamper", rest @ ..] => (None, None, true, rest),
                    _ => (None, None, false, words),
                };
                let body = self.body(command);
                let nonce = nonce.unwrap_or_else(|| self.next_nonce(who));
                let chain = chain.unwrap_or_else(|| self.ledger.chain_id());
                let mut signed = Tx {
                    signer: key.public(),
                    nonce,
                    body,
                }
                .sign(&key, &chain);
                if tamper {
                    let mut bytes = signed.signature.to_bytes();
                    bytes[10] ^= 0x40;
                    signed.signature = qraft_keys::Signature::from_bytes(&bytes);
                }
                signed
            }
        };
        self.last_tx.insert(who.to_string(), signed.clone());
        self.clock_ms += 1_000;
        let applied = self.make_block(vec![signed]);
        assert_eq!(
            self.ledger.exchange().recompute_digest(),
            applied.block.header.state_digest,
            "incremental digest diverged from a full recompute"
        );
        self.ledger
            .exchange()
            .check_invariants()
            .unwrap_or_else(|e| panic!("invariant broken: {e}"));
        self.render_receipt(&applied.receipts[0], words)
    }

    /// Applies one block of `txs` at the clock's time, checking the digest and invariants.
    fn make_block(&mut self, txs: Vec<SignedTx>) -> AppliedBlock {
        let applied = self.ledger.apply_batch(Batch {
            proposer: 1,
            timestamp_ms: self.clock_ms,
            txs,
        });
        self.blocks.push(applied.block.clone());
        applied
    }

    /// `wait DURATION`: an empty block that much later, and the news it brought.
    fn wait(&mut self, duration: &str) -> String {
        self.clock_ms += parse_duration(duration).unwrap_or_else(|e| panic!("{e}"));
        let before = self.ledger.exchange().news().len();
        let applied = self.make_block(Vec::new());
        let news = self.ledger.exchange().news();
        let mut out = format!(
            "block {} took {} scenario step{}",
            applied.block.header.height,
            applied.scenario_steps,
            if applied.scenario_steps == 1 { "" } else { "s" }
        );
        let fresh = news.len().saturating_sub(before).min(news.len());
        for item in news[..fresh].iter().rev() {
            write!(out, "\n  news: {}", item.headline).unwrap();
        }
        out
    }

    /// Replays every block from the genesis, as `qraft verify` does.
    fn replay(&self) {
        let mut replica = Ledger::new(&self.genesis).expect("genesis");
        for block in &self.blocks {
            replica
                .replay_block(block)
                .unwrap_or_else(|e| panic!("replay: {e}"));
        }
        assert_eq!(
            replica.head(),
            self.ledger.head(),
            "the replay ends elsewhere"
        );
    }

    fn next_nonce(&mut self, who: &str) -> u64 {
        let key = self.key(who).public();
        let last = self.ledger.exchange().last_nonce(&key).unwrap_or(0);
        let ours = self.nonces.entry(who.to_string()).or_insert(0);
        *ours = (*ours).max(last) + 1;
        *ours
    }

    fn render_receipt(&self, receipt: &Receipt, words: &[&str]) -> String {
        let symbol = words.iter().find_map(|w| {
            Ticker::new(w)
                .ok()
                .filter(|t| self.ledger.exchange().symbol(*t).is_some())
        });
        match &receipt.outcome {
            Outcome::Rejected(reason) => format!("rejected: {reason}"),
            Outcome::Accepted(Effect::Admin) => "accepted".into(),
            Outcome::Accepted(Effect::Cancelled(orders)) => {
                let list: Vec<String> = orders
                    .iter()
                    .map(|(id, open)| format!("#{id} ({open} open)"))
                    .collect();
                format!("accepted: cancelled {}", list.join(", "))
            }
            Outcome::Accepted(Effect::Order(result)) => {
                let symbol = symbol.expect("order names a symbol");
                let mut out = format!("accepted: order #{}", result.order);
                for fill in &result.fills {
                    write!(
                        out,
                        "\n  filled {} @ {} against #{}",
                        fill.quantity,
                        self.show_price(symbol, fill.price),
                        fill.resting_order
                    )
                    .unwrap();
                }
                if result.resting > 0 {
                    write!(out, "\n  rests {}", result.resting).unwrap();
                }
                if result.cancelled > 0 {
                    write!(
                        out,
                        "\n  cancelled {}: {}",
                        result.cancelled,
                        result.cancel_reason.expect("a reason with a cancel")
                    )
                    .unwrap();
                }
                out
            }
        }
    }

    fn query(&mut self, words: &[&str]) -> Option<String> {
        let ex = self.ledger.exchange();
        let out = match words {
            ["book", s] => {
                let symbol = ticker(s);
                let depth = ex.depth(symbol, 10)?;
                let view = ex.symbol(symbol)?;
                let mut out = format!(
                    "{} {} last {}",
                    symbol,
                    view.session,
                    view.last_price
                        .map(|p| self.show_price(symbol, p))
                        .unwrap_or_else(|| "-".into())
                );
                let sides = [
                    ("asks", depth.asks.iter().rev().collect::<Vec<_>>()),
                    ("bids", depth.bids.iter().collect()),
                ];
                for (name, levels) in sides {
                    write!(out, "\n  {name}:").unwrap();
                    for level in levels {
                        write!(
                            out,
                            "\n    {} x {} ({})",
                            self.show_price(symbol, level.price),
                            level.quantity,
                            plural(level.orders, "order")
                        )
                        .unwrap();
                    }
                }
                out
            }
            ["account", name] => {
                let key = self.keys.get(*name)?.public();
                let a = ex.account(&key)?;
                let mut out = format!(
                    "{} ({}{}): cash {} (held {}), net worth {}",
                    a.name,
                    a.role,
                    if a.suspended { ", suspended" } else { "" },
                    format_cents(a.cash as i128),
                    format_cents(a.cash_reserved as i128),
                    format_cents(a.net_worth as i128)
                );
                for p in &a.positions {
                    write!(out, "\n  {} {} (held {})", p.symbol, p.shares, p.reserved).unwrap();
                }
                for o in &a.open_orders {
                    write!(
                        out,
                        "\n  open #{} {} {} {} @ {} (of {})",
                        o.id,
                        o.side,
                        o.symbol,
                        o.remaining,
                        self.show_price(o.symbol, o.price),
                        o.original
                    )
                    .unwrap();
                }
                out
            }
            ["leaderboard"] => ex
                .leaderboard()
                .iter()
                .map(|r| {
                    format!(
                        "{}. {} {}",
                        r.rank,
                        r.name,
                        format_cents(r.net_worth as i128)
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            ["trades", rest @ ..] => ex
                .recent_trades(rest.first().map(|s| ticker(s)), 20)
                .iter()
                .map(|t| {
                    format!(
                        "{} {} {} @ {} ({} aggressor)",
                        t.seq,
                        t.symbol,
                        t.quantity,
                        self.show_price(t.symbol, t.price),
                        t.aggressor
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            ["news"] => ex
                .news()
                .iter()
                .map(|n| format!("[{}] {}", n.height, n.headline))
                .collect::<Vec<_>>()
                .join("\n"),
            ["round"] => match ex.scenario() {
                None => "no scenario".to_string(),
                Some(view) => format!(
                    "{:?}; {} of {} events done; next step {}",
                    view.phase,
                    view.events_done,
                    view.events_total,
                    match (view.next_step_ms, view.started_ms) {
                        (Some(next), Some(start)) =>
                            format!("at {}", format_duration(next - start)),
                        _ => "none".to_string(),
                    }
                ),
            },
            ["scores"] => {
                let mut out = String::new();
                for ranking in [Ranking::Return, Ranking::RoundRanks] {
                    write!(out, "by {ranking:?}:").unwrap();
                    for r in ex.scores(ranking) {
                        write!(
                            out,
                            "\n  {}. {} ({:?}) return {} bps; rounds {:?}; average rank {}",
                            r.rank,
                            r.name,
                            r.role,
                            r.return_bps,
                            r.round_returns,
                            r.round_rank_average.map_or("-".to_string(), |a| format!(
                                "{}.{:02}",
                                a / 100,
                                a % 100
                            ))
                        )
                        .unwrap();
                    }
                    out.push('\n');
                }
                out.trim_end().to_string()
            }
            ["symbols"] => ex
                .symbols()
                .iter()
                .map(|s| {
                    format!(
                        "{} {:?} {} tick {} last {}",
                        s.ticker,
                        s.name,
                        s.session,
                        format_cents(s.tick_size as i128),
                        s.last_price
                            .map(|p| self.show_price(s.ticker, p))
                            .unwrap_or_else(|| "-".into())
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            _ => return None,
        };
        Some(out)
    }

    fn run(&mut self, command: &str) -> String {
        let words: Vec<&str> = command.split_whitespace().collect();
        if let Some(out) = self.query(&words) {
            return out;
        }
        if let ["wait", duration] = words.as_slice() {
            return self.wait(duration);
        }
        match words.as_slice() {
            [who, rest @ ..] if !rest.is_empty() => self.submit(who, rest),
            _ => panic!("cannot run {command:?}"),
        }
    }
}

fn plural(n: u32, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn game_world(options: &[&str]) -> World {
    let mut rules = Rules::default();
    let mut cash = 1_000_000;
    let mut scenario = None;
    for option in options {
        match option.split_once('=') {
            Some(("short", n)) => {
                rules.short_selling = true;
                rules.max_short_shares = n.parse().expect("short");
            }
            Some(("max_order", n)) => rules.max_order_shares = n.parse().expect("max_order"),
            Some(("band_bps", n)) => rules.price_band_bps = n.parse().expect("band_bps"),
            Some(("cash", n)) => cash = parse_cents(n).expect("cash"),
            Some(("scenario", file)) => scenario = Some(file),
            None if *option == "closed" => rules.open_at_start = false,
            _ => panic!("unknown game option {option}"),
        }
    }
    World::new(rules, cash, scenario)
}

/// Runs one script and returns it with the actual outputs in place of the expected ones.
fn run_script(text: &str) -> String {
    let mut world = game_world(&[]);
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    let mut started = false;
    while let Some(line) = lines.next() {
        if line.trim().is_empty() || line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
            continue;
        }
        if let Some(options) = line.strip_prefix("game") {
            assert!(!started, "`game` must come before the first command");
            world = game_world(&options.split_whitespace().collect::<Vec<_>>());
            out.push_str(line);
            out.push('\n');
            continue;
        }
        started = true;
        out.push_str(line);
        out.push('\n');
        // Skip the expected block.
        if lines.peek().map(|l| l.trim()) == Some("----") {
            lines.next();
            while let Some(l) = lines.peek() {
                if l.trim().is_empty() {
                    break;
                }
                lines.next();
            }
        }
        let actual = world.run(line.trim());
        out.push_str("----\n");
        out.push_str(&actual);
        out.push('\n');
    }
    world.replay();
    out
}

#[test]
fn scenarios_match_their_golden_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let update = std::env::var_os("QRAFT_UPDATE_GOLDEN").is_some();
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("scenario directory")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "txt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no scenario files in {}", dir.display());
    let mut failures = Vec::new();
    for file in &files {
        let expected = std::fs::read_to_string(file).expect("read scenario");
        let actual = run_script(&expected);
        if actual != expected {
            if update {
                std::fs::write(file, &actual).expect("write scenario");
            } else {
                failures.push(format!(
                    "{}:\n{}",
                    file.display(),
                    first_difference(&expected, &actual)
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "scenario output differs (rerun with QRAFT_UPDATE_GOLDEN=1 to accept):\n{}",
        failures.join("\n")
    );
}

fn first_difference(expected: &str, actual: &str) -> String {
    for (i, (e, a)) in expected.lines().zip(actual.lines()).enumerate() {
        if e != a {
            return format!("line {}:\n  expected: {e}\n  actual:   {a}", i + 1);
        }
    }
    format!(
        "lengths differ: expected {} lines, actual {}",
        expected.lines().count(),
        actual.lines().count()
    )
}
