//! Property tests of the exchange's invariants, through the ledger as a node runs it.
//!
//! Random sequences of orders, cancels and market-session changes from several traders are
//! applied in random-sized blocks. After every transaction or block:
//! - cash and shares are conserved (trading only moves them), and nobody trades with
//!   themselves (self-trade prevention);
//! - no book is ever left crossed, and reservations equal exactly what open orders hold
//!   and are never negative (`check_invariants`);
//! - an order's fills are exactly a prefix of the opposite side's queue in price-time
//!   priority, never more than its quantity, and fills + resting + cancelled = quantity;
//! - the incremental digest equals a full recompute;
//! - two ledgers fed the same blocks agree on every header (same digest);
//! - a ledger restored from a snapshot at any point then fed the rest agrees with the
//!   original at every height.

use proptest::prelude::*;
use qraft_keys::Keypair;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::{Effect, QueuedOrder};
use qraft_node::core::genesis::Rules;
use qraft_node::core::genesis::sample::{SampleOptions, sample_game};
use qraft_node::core::ledger::{Batch, Ledger};
use qraft_node::core::tx::{AdminAction, NewOrder, OrderKind, Scope, SignedTx, Tx, TxBody};
use qraft_node::core::types::{Side, Ticker};

const TRADERS: usize = 4;
const SYMBOLS: usize = 2;

#[derive(Clone, Debug)]
enum Op {
    Order {
        trader: usize,
        symbol: usize,
        side: Side,
        quantity: u64,
        /// Offset from the symbol's reference price, in ticks.
        offset: i64,
        kind: u8,
    },
    Cancel {
        trader: usize,
        /// Picks one of the order ids seen so far.
        pick: usize,
    },
    CancelAll {
        trader: usize,
        symbol: Option<usize>,
    },
    Session(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        12 => (0..TRADERS, 0..SYMBOLS, any::<bool>(), 1u64..60, -8i64..8, 0u8..10).prop_map(
            |(trader, symbol, buy, quantity, offset, kind)| Op::Order {
                trader,
                symbol,
                side: if buy { Side::Buy } else { Side::Sell },
                quantity,
                offset,
                kind,
            }
        ),
        4 => (0..TRADERS, any::<usize>()).prop_map(|(trader, pick)| Op::Cancel { trader, pick }),
        1 => (0..TRADERS, proptest::option::of(0..SYMBOLS))
            .prop_map(|(trader, symbol)| Op::CancelAll { trader, symbol }),
        1 => (0u8..4).prop_map(Op::Session),
    ]
}

struct Harness {
    game: qraft_node::core::genesis::sample::SampleGame,
    tickers: Vec<Ticker>,
    nonces: Vec<u64>,
    admin_nonce: u64,
    seen_orders: Vec<u64>,
}

impl Harness {
    fn new(short_selling: bool) -> Harness {
        let rules = Rules {
            short_selling,
            max_short_shares: if short_selling { 40 } else { 0 },
            max_order_shares: 100,
            ..Rules::default()
        };
        let game = sample_game(&SampleOptions {
            traders: TRADERS,
            symbols: SYMBOLS,
            voters: 3,
            cash: 2_000_000, // $20,000.00
            shares: 200,
            rules,
            scenario: None,
        });
        let tickers = game.genesis.symbols.iter().map(|s| s.ticker).collect();
        Harness {
            game,
            tickers,
            nonces: vec![0; TRADERS],
            admin_nonce: 0,
            seen_orders: Vec::new(),
        }
    }

    fn sign(&mut self, ledger: &Ledger, op: &Op) -> SignedTx {
        let (key, nonce, body): (Keypair, u64, TxBody) = match op {
            Op::Order {
                trader,
                symbol,
                side,
                quantity,
                offset,
                kind,
            } => {
                let reference = self.game.genesis.symbols[*symbol].reference_price as i64;
                let price = (reference + offset).max(1) as u64;
                let kind = match kind {
                    0..=6 => OrderKind::Limit { price },
                    7 | 8 => OrderKind::ImmediateOrCancel { price },
                    _ => OrderKind::Market,
                };
                self.nonces[*trader] += 1;
                (
                    self.game.traders[*trader].clone(),
                    self.nonces[*trader],
                    TxBody::Order(NewOrder {
                        symbol: self.tickers[*symbol],
                        side: *side,
                        quantity: *quantity,
                        kind,
                    }),
                )
            }
            Op::Cancel { trader, pick } => {
                let order = if self.seen_orders.is_empty() {
                    1
                } else {
                    self.seen_orders[pick % self.seen_orders.len()]
                };
                self.nonces[*trader] += 1;
                (
                    self.game.traders[*trader].clone(),
                    self.nonces[*trader],
                    TxBody::Cancel { order },
                )
            }
            Op::CancelAll { trader, symbol } => {
                self.nonces[*trader] += 1;
                (
                    self.game.traders[*trader].clone(),
                    self.nonces[*trader],
                    TxBody::CancelAll {
                        symbol: symbol.map(|s| self.tickers[s]),
                    },
                )
            }
            Op::Session(which) => {
                self.admin_nonce += 1;
                let action = match which {
                    0 => AdminAction::Halt(Scope::All),
                    1 => AdminAction::Resume(Scope::All),
                    2 => AdminAction::Halt(Scope::Symbol(self.tickers[0])),
                    _ => AdminAction::Resume(Scope::Symbol(self.tickers[0])),
                };
                (
                    self.game.admin.clone(),
                    self.admin_nonce,
                    TxBody::Admin(action),
                )
            }
        };
        Tx {
            signer: key.public(),
            nonce,
            body,
        }
        .sign(&key, &ledger.chain_id())
    }
}

fn totals(ledger: &Ledger, tickers: &[Ticker]) -> (i64, Vec<i64>) {
    let ex = ledger.exchange();
    let mut cash = 0;
    let mut shares = vec![0i64; tickers.len()];
    for key in ex.participant_keys() {
        let account = ex.account(key).expect("participant has an account");
        cash += account.cash;
        for p in &account.positions {
            let i = tickers
                .iter()
                .position(|t| *t == p.symbol)
                .expect("known symbol");
            shares[i] += p.shares;
        }
    }
    (cash, shares)
}

/// Applies one transaction as its own block and checks every per-order property.
fn apply_checked(
    ledger: &mut Ledger,
    harness: &mut Harness,
    tx: SignedTx,
) -> Result<(), TestCaseError> {
    let order = match &tx.tx.body {
        TxBody::Order(order) => Some(order.clone()),
        _ => None,
    };
    let queue_before: Vec<QueuedOrder> = match &order {
        Some(o) => ledger
            .exchange()
            .book_queue(o.symbol, o.side.opposite())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let applied = ledger.apply_batch(Batch {
        proposer: 1,
        timestamp_ms: 1_000 * (ledger.head().height + 1),
        txs: vec![tx],
    });
    let receipt = &applied.receipts[0];
    for trade in &applied.trades {
        prop_assert_ne!(
            trade.buyer,
            trade.seller,
            "a participant traded with itself"
        );
    }
    if let (Some(order), Outcome::Accepted(Effect::Order(result))) = (&order, &receipt.outcome) {
        harness.seen_orders.push(result.order);
        prop_assert_eq!(
            result.filled() + result.resting + result.cancelled,
            order.quantity,
            "fills + resting + cancelled must equal the quantity"
        );
        // Fills are exactly a prefix of the opposite queue in priority order.
        for (i, fill) in result.fills.iter().enumerate() {
            let queued = queue_before
                .get(i)
                .ok_or_else(|| TestCaseError::fail("more fills than resting orders"))?;
            prop_assert_eq!(
                fill.resting_order,
                queued.id,
                "fill {} skipped the queue",
                i
            );
            prop_assert_eq!(fill.price, queued.price);
            prop_assert!(
                fill.quantity <= queued.remaining,
                "filled more than the resting order had"
            );
            if i + 1 < result.fills.len() {
                prop_assert_eq!(
                    fill.quantity,
                    queued.remaining,
                    "only the last fill may be partial"
                );
            }
        }
    }
    ledger
        .exchange()
        .check_invariants()
        .map_err(TestCaseError::fail)?;
    prop_assert_eq!(
        ledger.exchange().recompute_digest(),
        applied.block.header.state_digest
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn trading_conserves_and_keeps_every_invariant(
        ops in proptest::collection::vec(op(), 1..120),
        short_selling in any::<bool>(),
    ) {
        let mut harness = Harness::new(short_selling);
        let mut ledger = Ledger::new(&harness.game.genesis).unwrap();
        let (cash0, shares0) = totals(&ledger, &harness.tickers);
        for op in &ops {
            let tx = harness.sign(&ledger, op);
            apply_checked(&mut ledger, &mut harness, tx)?;
            let (cash, shares) = totals(&ledger, &harness.tickers);
            prop_assert_eq!(cash, cash0, "cash was created or destroyed");
            prop_assert_eq!(&shares, &shares0, "shares were created or destroyed");
        }
        // Cancelling everything releases every reservation.
        for trader in 0..TRADERS {
            let tx = harness.sign(&ledger, &Op::CancelAll { trader, symbol: None });
            apply_checked(&mut ledger, &mut harness, tx)?;
            let account = ledger.exchange().account(&harness.game.traders[trader].public()).unwrap();
            prop_assert_eq!(account.cash_reserved, 0);
            prop_assert!(account.positions.iter().all(|p| p.reserved == 0));
            prop_assert!(account.open_orders.is_empty());
        }
    }

    #[test]
    fn same_blocks_same_chain_and_snapshots_change_nothing(
        ops in proptest::collection::vec(op(), 1..100),
        cuts in proptest::collection::vec(1usize..8, 1..40),
        snapshot_at in 0usize..40,
    ) {
        let mut harness = Harness::new(true);
        let mut a = Ledger::new(&harness.game.genesis).unwrap();
        let mut b = Ledger::new(&harness.game.genesis).unwrap();
        // Sign everything up front against `a` (signatures depend only on the chain id).
        let txs: Vec<SignedTx> = ops.iter().map(|op| harness.sign(&a, op)).collect();
        let mut batches = Vec::new();
        let mut rest = &txs[..];
        for cut in cuts.iter().cycle() {
            if rest.is_empty() { break; }
            let n = (*cut).min(rest.len());
            batches.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        let mut restored: Option<Ledger> = None;
        for (height, batch) in batches.into_iter().enumerate() {
            if height == snapshot_at {
                let bytes = a.snapshot();
                let copy = Ledger::restore(&bytes, a.chain_id()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(copy.head(), a.head());
                prop_assert_eq!(copy.exchange().digest(), a.exchange().recompute_digest());
                restored = Some(copy);
            }
            let batch = Batch { proposer: 2, timestamp_ms: 5_000 + height as u64 * 700, txs: batch };
            let block_a = a.apply_batch(batch.clone());
            let block_b = b.apply_batch(batch.clone());
            prop_assert_eq!(&block_a.block.header, &block_b.block.header);
            prop_assert_eq!(&block_a.receipts, &block_b.receipts);
            prop_assert_eq!(a.exchange().recompute_digest(), block_a.block.header.state_digest);
            if let Some(copy) = restored.as_mut() {
                let block_c = copy.apply_batch(batch);
                prop_assert_eq!(&block_c.block.header, &block_a.block.header);
                prop_assert_eq!(&block_c.receipts, &block_a.receipts);
            }
        }
    }
}

/// Any transaction body at all, with extreme numbers.
fn wild_body(tickers: Vec<Ticker>) -> impl Strategy<Value = TxBody> {
    let ticker = proptest::sample::select(tickers);
    let side = prop_oneof![Just(Side::Buy), Just(Side::Sell)];
    let number = prop_oneof![
        any::<u64>(),
        0u64..3,
        Just(u64::MAX),
        999_999_990u64..1_000_000_010
    ];
    let cents = prop_oneof![any::<i64>(), Just(i64::MIN), Just(i64::MAX), -5i64..5];
    let kind = prop_oneof![
        number.clone().prop_map(|price| OrderKind::Limit { price }),
        number
            .clone()
            .prop_map(|price| OrderKind::ImmediateOrCancel { price }),
        Just(OrderKind::Market),
    ];
    prop_oneof![
        (ticker.clone(), side, number.clone(), kind).prop_map(|(symbol, side, quantity, kind)| {
            TxBody::Order(NewOrder {
                symbol,
                side,
                quantity,
                kind,
            })
        }),
        number.clone().prop_map(|order| TxBody::Cancel { order }),
        proptest::option::of(ticker.clone()).prop_map(|symbol| TxBody::CancelAll { symbol }),
        (cents.clone(), 0usize..TRADERS).prop_map(|(amount, t)| TxBody::Admin(
            AdminAction::AdjustCash {
                key: Keypair::from_label(&format!("sample/trader/{t}")).public(),
                amount,
            }
        )),
        (cents, number.clone(), ticker).prop_map(|(tick_size, reference_price, t)| {
            TxBody::Admin(AdminAction::ListSymbol(qraft_node::core::tx::SymbolSpec {
                ticker: Ticker::new(&format!("X{}", &t.as_str()[..1])).unwrap(),
                name: "Wild".into(),
                tick_size,
                reference_price,
            }))
        }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Whatever a signer sends, with whatever numbers, the engine answers with a receipt
    /// and keeps its invariants: it never panics or overflows.
    #[test]
    fn extreme_transactions_never_break_the_engine(
        txs in proptest::collection::vec(
            (0usize..=TRADERS, wild_body(
                ["ACME", "BOLT", "ZZZ"].iter().map(|t| Ticker::new(t).unwrap()).collect()
            )),
            1..60,
        ),
    ) {
        let mut harness = Harness::new(true);
        let mut ledger = Ledger::new(&harness.game.genesis).unwrap();
        for (who, body) in txs {
            let (key, nonce) = if who == TRADERS {
                harness.admin_nonce += 1;
                (harness.game.admin.clone(), harness.admin_nonce)
            } else {
                harness.nonces[who] += 1;
                (harness.game.traders[who].clone(), harness.nonces[who])
            };
            let tx = Tx { signer: key.public(), nonce, body }.sign(&key, &ledger.chain_id());
            apply_checked(&mut ledger, &mut harness, tx)?;
        }
    }
}
