//! Signature verification throughput: one at a time, as a node checks a transaction on
//! arrival, and in batches, as it re-checks a block's transactions at apply time.
//!
//! `cargo bench -p qraft-keys --bench verify`; criterion reports elements/s, that is,
//! signatures verified per second.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::VerifyingKey;
use qraft_keys::signing::{BatchItem, signing_message};
use qraft_keys::{ChainId, Domain, Keypair, Signature, verify_batch, verify_one};

const BATCH_SIZES: [usize; 3] = [64, 256, 1024];

/// Signed transactions from distinct signers, as a block holds them.
struct Signed {
    keys: Vec<VerifyingKey>,
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
}

fn signed(count: usize, chain: &ChainId) -> Signed {
    let mut keys = Vec::with_capacity(count);
    let mut messages = Vec::with_capacity(count);
    let mut signatures = Vec::with_capacity(count);
    for i in 0..count {
        let key = Keypair::from_label(&format!("bench signer {i}"));
        // About the size of an encoded limit order.
        let payload = format!("order {i}: buy 10 ACME at 10125, good till cancelled");
        signatures.push(key.sign(Domain::Transaction, chain, payload.as_bytes()));
        messages.push(signing_message(
            Domain::Transaction,
            chain,
            payload.as_bytes(),
        ));
        keys.push(
            key.public()
                .verifying_key()
                .expect("generated keys are valid"),
        );
    }
    Signed {
        keys,
        messages,
        signatures,
    }
}

fn bench_verify_one(c: &mut Criterion) {
    let chain = ChainId([7; 32]);
    let key = Keypair::from_label("bench signer");
    let payload = b"order 1: buy 10 ACME at 10125, good till cancelled";
    let signature = key.sign(Domain::Transaction, &chain, payload);
    let public = key.public();

    let mut group = c.benchmark_group("verify_one");
    group.throughput(Throughput::Elements(1));
    group.bench_function("strict", |b| {
        b.iter(|| {
            verify_one(
                black_box(&public),
                Domain::Transaction,
                &chain,
                black_box(payload),
                black_box(&signature),
            )
        })
    });
    group.finish();
}

fn bench_verify_batch(c: &mut Criterion) {
    let chain = ChainId([7; 32]);
    let all = signed(BATCH_SIZES[BATCH_SIZES.len() - 1], &chain);

    let mut group = c.benchmark_group("verify_batch");
    for size in BATCH_SIZES {
        let items: Vec<BatchItem<'_>> = (0..size)
            .map(|i| BatchItem {
                key: &all.keys[i],
                message: &all.messages[i],
                signature: &all.signatures[i],
            })
            .collect();
        assert!(verify_batch(&items).iter().all(|&good| good));
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::from_parameter(size), &items, |b, items| {
            b.iter(|| verify_batch(black_box(items)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench_verify_one, bench_verify_batch);
criterion_main!(benches);
