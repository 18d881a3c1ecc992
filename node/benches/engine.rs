//! Benchmarks of the deterministic core.
//!
//! - `engine/mixed`: the exchange alone (signatures excluded) on a realistic mix: 1,000
//!   accounts, 10 symbols, about 60% limit orders near the touch, 25% cancels of live
//!   orders, 15% immediate-or-cancel and market orders; one `end_block` (digest) every
//!   1,000 transactions, as a node would.
//! - `engine/apply_only`: the same without folding the digest.
//! - `digest/end_block`: the per-block digest cost after a 1,000-transaction block.
//! - `ledger/apply_batch`: a whole 1,000-transaction block as a node applies it, with
//!   batch signature verification.
//!
//! Run: `cargo bench -p qraft-node --bench engine`.

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use qraft_keys::Keypair;
use qraft_node::core::exchange::receipt::Outcome;
use qraft_node::core::exchange::{Effect, Exchange};
use qraft_node::core::genesis::Rules;
use qraft_node::core::genesis::sample::{SampleOptions, sample_game};
use qraft_node::core::ledger::{Batch, Ledger};
use qraft_node::core::tx::{NewOrder, OrderKind, SignedTx, Tx, TxBody};
use qraft_node::core::types::{Side, Ticks};

const ACCOUNTS: usize = 1_000;
const SYMBOLS: usize = 10;
const BLOCK: usize = 1_000;

/// xorshift64*: a tiny deterministic generator for the workload (benches only).
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

struct Workload {
    start: Exchange,
    txs: Vec<Tx>,
    keys: Vec<Keypair>,
    genesis: qraft_node::core::genesis::Genesis,
}

/// Generates `count` transactions by running them through a generator exchange, so that
/// cancels always name orders that are live at that point. Replaying the same sequence
/// on a copy of `start` reproduces the same ids.
fn workload(count: usize) -> Workload {
    let game = sample_game(&SampleOptions {
        traders: ACCOUNTS,
        symbols: SYMBOLS,
        voters: 3,
        cash: 100_000_000_000, // $1,000,000,000.00
        shares: 1_000_000,
        rules: Rules {
            max_order_shares: 1_000,
            ..Rules::default()
        },
        scenario: None,
    });
    let mut generator = Exchange::from_genesis(&game.genesis).expect("sample genesis");
    let start = generator.clone();
    let tickers: Vec<_> = game.genesis.symbols.iter().map(|s| s.ticker).collect();
    let mut mids: Vec<Ticks> = game
        .genesis
        .symbols
        .iter()
        .map(|s| s.reference_price)
        .collect();
    let mut live: Vec<Vec<u64>> = vec![Vec::new(); ACCOUNTS];
    let mut nonces = vec![0u64; ACCOUNTS];
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut txs = Vec::with_capacity(count);
    generator.begin_block(1, 0);
    for i in 0..count {
        if i % BLOCK == 0 && i > 0 {
            generator.end_block();
            generator.begin_block((i / BLOCK + 1) as u64, i as u64);
        }
        let trader = rng.below(ACCOUNTS as u64) as usize;
        let roll = rng.below(100);
        live[trader].retain(|id| generator.open_order(*id).is_some());
        let body = if roll < 25 && !live[trader].is_empty() {
            let pick = rng.below(live[trader].len() as u64) as usize;
            TxBody::Cancel {
                order: live[trader].swap_remove(pick),
            }
        } else {
            let symbol = rng.below(SYMBOLS as u64) as usize;
            let side = if rng.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let quantity = 1 + rng.below(100);
            let mid = mids[symbol];
            // Near the touch: within 4 ticks of the mid, crossing now and then.
            let away = rng.below(5);
            let price = match side {
                Side::Buy => mid + 1 - away,
                Side::Sell => mid - 1 + away,
            };
            let kind = if roll >= 85 {
                if rng.below(2) == 0 {
                    OrderKind::Market
                } else {
                    OrderKind::ImmediateOrCancel { price }
                }
            } else {
                OrderKind::Limit { price }
            };
            TxBody::Order(NewOrder {
                symbol: tickers[symbol],
                side,
                quantity,
                kind,
            })
        };
        nonces[trader] += 1;
        let tx = Tx {
            signer: game.traders[trader].public(),
            nonce: nonces[trader],
            body,
        };
        match generator.apply(&tx) {
            Outcome::Accepted(Effect::Order(result)) => {
                if result.resting > 0 {
                    live[trader].push(result.order);
                }
                if let Some(last) = result.fills.last() {
                    let symbol = match &tx.body {
                        TxBody::Order(o) => tickers.iter().position(|t| *t == o.symbol).unwrap(),
                        _ => unreachable!(),
                    };
                    mids[symbol] = last.price;
                }
            }
            Outcome::Accepted(_) => {}
            Outcome::Rejected(reason) => panic!("workload tx rejected: {reason}"),
        }
        txs.push(tx);
    }
    Workload {
        start,
        txs,
        keys: game.traders.clone(),
        genesis: game.genesis,
    }
}

fn engine(c: &mut Criterion) {
    let work = workload(200_000);
    // Warm state: the first half builds realistic books; the second half is measured.
    let (warmup, measured) = work.txs.split_at(100_000);
    let mut warm = work.start.clone();
    for (i, chunk) in warmup.chunks(BLOCK).enumerate() {
        warm.begin_block(i as u64 + 1, i as u64);
        for tx in chunk {
            black_box(warm.apply(tx));
        }
        warm.end_block();
    }
    let first_height = (warmup.len() / BLOCK) as u64 + 1;
    println!(
        "warm state: {} resting orders across {SYMBOLS} symbols",
        warm.open_order_count()
    );

    let mut group = c.benchmark_group("engine");
    group.sample_size(10);
    group.throughput(Throughput::Elements(measured.len() as u64));
    group.bench_function("mixed", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut ex| {
                for (i, chunk) in measured.chunks(BLOCK).enumerate() {
                    ex.begin_block(first_height + i as u64, i as u64);
                    for tx in chunk {
                        black_box(ex.apply(tx));
                    }
                    black_box(ex.end_block());
                }
                ex
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("apply_only", |b| {
        b.iter_batched(
            || warm.clone(),
            |mut ex| {
                ex.begin_block(first_height, 0);
                for tx in measured {
                    black_box(ex.apply(tx));
                }
                ex
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();

    let mut group = c.benchmark_group("digest");
    group.throughput(Throughput::Elements(BLOCK as u64));
    group.bench_function("end_block", |b| {
        b.iter_batched(
            || {
                let mut ex = warm.clone();
                ex.begin_block(first_height, 0);
                for tx in &measured[..BLOCK] {
                    ex.apply(tx);
                }
                ex
            },
            |mut ex| black_box(ex.end_block()),
            BatchSize::LargeInput,
        )
    });
    group.finish();

    // A whole block through the ledger with signatures.
    let mut ledger = Ledger::new(&work.genesis).expect("sample genesis");
    let chain = ledger.chain_id();
    let index: std::collections::HashMap<_, _> =
        work.keys.iter().map(|k| (k.public(), k.clone())).collect();
    let sign = |tx: &Tx| -> SignedTx { tx.clone().sign(&index[&tx.signer], &chain) };
    for (i, chunk) in warmup.chunks(BLOCK).enumerate().take(20) {
        ledger.apply_batch(Batch {
            proposer: 1,
            timestamp_ms: i as u64,
            txs: chunk.iter().map(sign).collect(),
        });
    }
    let signed_block: Vec<SignedTx> = warmup[20 * BLOCK..21 * BLOCK].iter().map(sign).collect();
    let mut group = c.benchmark_group("ledger");
    group.sample_size(10);
    group.throughput(Throughput::Elements(BLOCK as u64));
    group.bench_function("apply_batch", |b| {
        b.iter_batched(
            || ledger.clone(),
            |mut l| {
                black_box(l.apply_batch(Batch {
                    proposer: 1,
                    timestamp_ms: 1_000_000,
                    txs: signed_block.clone(),
                }))
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, engine);
criterion_main!(benches);
