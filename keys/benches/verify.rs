//! Signature verification throughput: one at a time, as a node checks a transaction on
//! arrival, and in batches, as it re-checks a block's transactions at apply time.
//!
//! `cargo bench -p qraft-keys --bench verify`; criterion reports elements/s, that is,
//! signatures verified per second.
//!
//! Groups:
//! - `verify_one`: [`verify_one`] (the crate's rule, cofactored) next to ed25519-dalek's
//!   `verify_strict`, both starting from the public key's bytes.
//! - `verify_batch`: [`verify_batch`] on blocks of honest signatures from distinct signers,
//!   next to `ed25519_dalek::verify_batch` (cofactorless; what the crate used before) on
//!   the same inputs.
//! - `verify_batch_repeated_signers`: 1024 signatures by 32 signers, whose key terms the
//!   batch merges.
//! - `verify_batch_with_bad`: 1024 signatures of which some are bad, found by bisection.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ed25519_dalek::VerifyingKey;
use qraft_keys::signing::{BatchItem, signing_message};
use qraft_keys::{ChainId, Domain, Keypair, Signature, verify_batch, verify_one};

const BATCH_SIZES: [usize; 3] = [64, 256, 1024];

/// Signed transactions, as a block holds them.
struct Signed {
    keys: Vec<VerifyingKey>,
    messages: Vec<Vec<u8>>,
    signatures: Vec<Signature>,
}

impl Signed {
    /// `count` transactions by `signers` distinct signers, in turn.
    fn new(count: usize, signers: usize, chain: &ChainId) -> Signed {
        let keypairs: Vec<Keypair> = (0..signers.min(count))
            .map(|i| Keypair::from_label(&format!("bench signer {i}")))
            .collect();
        let mut keys = Vec::with_capacity(count);
        let mut messages = Vec::with_capacity(count);
        let mut signatures = Vec::with_capacity(count);
        for i in 0..count {
            let key = &keypairs[i % keypairs.len()];
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

    fn items(&self, size: usize) -> Vec<BatchItem<'_>> {
        (0..size)
            .map(|i| BatchItem {
                key: &self.keys[i],
                message: &self.messages[i],
                signature: &self.signatures[i],
            })
            .collect()
    }
}

fn bench_verify_one(c: &mut Criterion) {
    let chain = ChainId([7; 32]);
    let key = Keypair::from_label("bench signer");
    let payload = b"order 1: buy 10 ACME at 10125, good till cancelled";
    let signature = key.sign(Domain::Transaction, &chain, payload);
    let public = key.public();
    let message = signing_message(Domain::Transaction, &chain, payload);

    let mut group = c.benchmark_group("verify_one");
    group.throughput(Throughput::Elements(1));
    group.bench_function("cofactored", |b| {
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
    group.bench_function("dalek_verify_strict", |b| {
        b.iter(|| {
            let key = black_box(&public)
                .verifying_key()
                .expect("generated keys are valid");
            key.verify_strict(black_box(&message), black_box(&signature))
        })
    });
    group.finish();
}

fn bench_verify_batch(c: &mut Criterion) {
    let chain = ChainId([7; 32]);
    let all = Signed::new(BATCH_SIZES[BATCH_SIZES.len() - 1], usize::MAX, &chain);

    let mut group = c.benchmark_group("verify_batch");
    for size in BATCH_SIZES {
        let items = all.items(size);
        assert!(verify_batch(&items).iter().all(|&good| good));
        group.throughput(Throughput::Elements(size as u64));
        group.bench_with_input(BenchmarkId::new("cofactored", size), &items, |b, items| {
            b.iter(|| verify_batch(black_box(items)))
        });
        let messages: Vec<&[u8]> = all.messages[..size].iter().map(Vec::as_slice).collect();
        let signatures = &all.signatures[..size];
        let keys = &all.keys[..size];
        assert!(ed25519_dalek::verify_batch(&messages, signatures, keys).is_ok());
        group.bench_with_input(BenchmarkId::new("dalek", size), &size, |b, _| {
            b.iter(|| {
                ed25519_dalek::verify_batch(
                    black_box(&messages),
                    black_box(signatures),
                    black_box(keys),
                )
            })
        });
    }
    group.finish();
}

fn bench_repeated_signers(c: &mut Criterion) {
    let chain = ChainId([7; 32]);
    let all = Signed::new(1024, 32, &chain);
    let items = all.items(1024);
    assert!(verify_batch(&items).iter().all(|&good| good));
    let mut group = c.benchmark_group("verify_batch_repeated_signers");
    group.throughput(Throughput::Elements(1024));
    group.bench_function("1024_by_32", |b| b.iter(|| verify_batch(black_box(&items))));
    group.finish();
}

fn bench_with_bad(c: &mut Criterion) {
    let chain = ChainId([7; 32]);
    let all = Signed::new(1024, usize::MAX, &chain);
    let mut group = c.benchmark_group("verify_batch_with_bad");
    group.throughput(Throughput::Elements(1024));
    for bad in [1usize, 4, 32, 1024] {
        let mut signatures = all.signatures.clone();
        // Spread evenly; a bad signature verifies another item's message.
        let stride = 1024 / bad;
        for i in (0..1024).step_by(stride).take(bad) {
            signatures[i] = all.signatures[(i + 1) % 1024];
        }
        let items: Vec<BatchItem<'_>> = (0..1024)
            .map(|i| BatchItem {
                key: &all.keys[i],
                message: &all.messages[i],
                signature: &signatures[i],
            })
            .collect();
        assert_eq!(
            verify_batch(&items).iter().filter(|&&good| !good).count(),
            bad
        );
        group.bench_with_input(BenchmarkId::from_parameter(bad), &items, |b, items| {
            b.iter(|| verify_batch(black_box(items)))
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    bench_verify_one,
    bench_verify_batch,
    bench_repeated_signers,
    bench_with_bad
);
criterion_main!(benches);
