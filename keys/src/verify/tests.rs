use std::sync::LazyLock;

use curve25519_dalek::constants::EIGHT_TORSION;
use ed25519_dalek::Signer as _;
use proptest::prelude::*;

use super::*;
use crate::identity::{Keypair, PublicKey};
use crate::signing::{ChainId, Domain, signing_message, verify_one};

const CHAIN: ChainId = ChainId([7; 32]);

/// A signer whose expanded secret key is at hand, to build signatures by hand.
struct Signer {
    keypair: Keypair,
    key: VerifyingKey,
    /// The secret scalar `a`, with `A = [a]B`.
    a: Scalar,
    /// The second half of SHA-512(seed), from which nonces are derived.
    prefix: [u8; 32],
}

impl Signer {
    fn new(label: &str) -> Self {
        let keypair = Keypair::from_label(label);
        let expanded: [u8; 64] = Sha512::digest(keypair.seed().as_slice()).into();
        let mut scalar_bytes = [0u8; 32];
        scalar_bytes.copy_from_slice(&expanded[..32]);
        scalar_bytes[0] &= 248;
        scalar_bytes[31] &= 127;
        scalar_bytes[31] |= 64;
        let mut prefix = [0u8; 32];
        prefix.copy_from_slice(&expanded[32..]);
        let key = keypair.public().verifying_key().unwrap();
        Signer {
            keypair,
            key,
            a: Scalar::from_bytes_mod_order(scalar_bytes),
            prefix,
        }
    }

    /// The RFC 8032 nonce for `message`.
    fn nonce(&self, message: &[u8]) -> Scalar {
        let mut h = Sha512::new();
        h.update(self.prefix);
        h.update(message);
        Scalar::from_bytes_mod_order_wide(&h.finalize().into())
    }

    /// `(R, S)` with `S = r + k·a` for the given `R` point and nonce `r`, and the key
    /// encoding `key` hashed into `k`.
    fn sign_raw(
        &self,
        key: &[u8; 32],
        r_point: &EdwardsPoint,
        r: &Scalar,
        message: &[u8],
    ) -> Signature {
        let r_bytes = r_point.compress().to_bytes();
        let k = hram(&r_bytes, key, message);
        let s = r + k * self.a;
        Signature::from_components(r_bytes, s.to_bytes())
    }

    fn honest(&self, message: &[u8]) -> Signature {
        let r = self.nonce(message);
        self.sign_raw(
            self.key.as_bytes(),
            &EdwardsPoint::mul_base(&r),
            &r,
            message,
        )
    }

    /// A signature whose `R` has an order-8 component, valid under the cofactored
    /// equation and not under the cofactorless one.
    fn torsion_r(&self, message: &[u8], torsion: usize) -> Signature {
        let r = self.nonce(message);
        let r_point = EdwardsPoint::mul_base(&r) + EIGHT_TORSION[torsion];
        self.sign_raw(self.key.as_bytes(), &r_point, &r, message)
    }

    /// This signer's key with an order-8 component added, and a signature by it that
    /// satisfies the cofactored equation.
    fn torsion_key(&self, message: &[u8]) -> (VerifyingKey, Signature) {
        let key = VerifyingKey::from(self.key.to_edwards() + EIGHT_TORSION[1]);
        let r = self.nonce(message);
        let signature = self.sign_raw(key.as_bytes(), &EdwardsPoint::mul_base(&r), &r, message);
        (key, signature)
    }

    /// `R` of small order, with `S = k·a` so that the cofactored equation holds.
    fn small_order_r(&self, message: &[u8], torsion: usize) -> Signature {
        self.sign_raw(
            self.key.as_bytes(),
            &EIGHT_TORSION[torsion],
            &Scalar::ZERO,
            message,
        )
    }
}

fn hram(r: &[u8; 32], key: &[u8; 32], message: &[u8]) -> Scalar {
    let mut h = Sha512::new();
    h.update(r);
    h.update(key);
    h.update(message);
    Scalar::from_bytes_mod_order_wide(&h.finalize().into())
}

/// A small-order key and a signature by it (`R = [r]B`, `S = r`) that satisfies the
/// cofactored equation for any message.
fn small_order_key(message: &[u8], torsion: usize) -> (VerifyingKey, Signature) {
    let key = VerifyingKey::from(EIGHT_TORSION[torsion]);
    let r = Scalar::from(12345u64);
    let r_bytes = EdwardsPoint::mul_base(&r).compress().to_bytes();
    let _ = message;
    (key, Signature::from_components(r_bytes, r.to_bytes()))
}

/// `S + ℓ`: the same value mod ℓ, not canonical.
fn add_group_order(signature: &Signature) -> Signature {
    // ℓ = 2^252 + 27742317777372353535851937790883648493, little-endian.
    const ELL: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut s = *signature.s_bytes();
    let mut carry = 0u16;
    for (byte, ell) in s.iter_mut().zip(ELL) {
        let sum = u16::from(*byte) + u16::from(ell) + carry;
        *byte = sum as u8;
        carry = sum >> 8;
    }
    Signature::from_components(*signature.r_bytes(), s)
}

fn message(n: usize) -> Vec<u8> {
    signing_message(
        Domain::Transaction,
        &CHAIN,
        format!("order {n}: buy 10 ACME").as_bytes(),
    )
}

static SIGNERS: LazyLock<Vec<Signer>> = LazyLock::new(|| {
    (0..8)
        .map(|i| Signer::new(&format!("verify test {i}")))
        .collect()
});

/// An owned batch item.
struct Owned {
    key: VerifyingKey,
    message: Vec<u8>,
    signature: Signature,
}

impl Owned {
    fn item(&self) -> BatchItem<'_> {
        BatchItem {
            key: &self.key,
            message: &self.message,
            signature: &self.signature,
        }
    }
}

fn items(owned: &[Owned]) -> Vec<BatchItem<'_>> {
    owned.iter().map(Owned::item).collect()
}

fn singles(owned: &[Owned]) -> Vec<bool> {
    owned.iter().map(|o| o.item().verify().is_ok()).collect()
}

/// What can be done to an item; `valid` says whether the rule accepts the result.
#[derive(Clone, Copy, Debug)]
enum Kind {
    Honest,
    OtherMessage,
    OtherKey,
    SPlusOne,
    SPlusGroupOrder,
    TorsionR,
    TorsionKey,
    SmallOrderR,
    SmallOrderKey,
    NonCanonicalR,
}

impl Kind {
    const ALL: [Kind; 10] = [
        Kind::Honest,
        Kind::OtherMessage,
        Kind::OtherKey,
        Kind::SPlusOne,
        Kind::SPlusGroupOrder,
        Kind::TorsionR,
        Kind::TorsionKey,
        Kind::SmallOrderR,
        Kind::SmallOrderKey,
        Kind::NonCanonicalR,
    ];

    fn valid(self) -> bool {
        matches!(self, Kind::Honest | Kind::TorsionR | Kind::TorsionKey)
    }

    fn build(self, signer: usize, n: usize) -> Owned {
        let s = &SIGNERS[signer];
        let m = message(n);
        let (key, signature) = match self {
            Kind::Honest => (s.key, s.honest(&m)),
            Kind::OtherMessage => (s.key, s.honest(&message(n + 1_000_000))),
            Kind::OtherKey => (SIGNERS[(signer + 1) % SIGNERS.len()].key, s.honest(&m)),
            Kind::SPlusOne => {
                let sig = s.honest(&m);
                let bumped = Scalar::from_canonical_bytes(*sig.s_bytes()).unwrap() + Scalar::ONE;
                (
                    s.key,
                    Signature::from_components(*sig.r_bytes(), bumped.to_bytes()),
                )
            }
            Kind::SPlusGroupOrder => (s.key, add_group_order(&s.honest(&m))),
            Kind::TorsionR => (s.key, s.torsion_r(&m, 1 + n % 7)),
            Kind::TorsionKey => s.torsion_key(&m),
            Kind::SmallOrderR => (s.key, s.small_order_r(&m, n % 8)),
            Kind::SmallOrderKey => small_order_key(&m, n % 8),
            Kind::NonCanonicalR => {
                // The identity, y = 1, written as y = p + 1.
                let mut r = [0xffu8; 32];
                r[0] = 0xee;
                r[31] = 0x7f;
                let sig = s.honest(&m);
                (s.key, Signature::from_components(r, *sig.s_bytes()))
            }
        };
        Owned {
            key,
            message: m,
            signature,
        }
    }
}

#[test]
fn hand_made_signatures_match_the_library() {
    for (i, s) in SIGNERS.iter().enumerate() {
        let m = message(i);
        assert_eq!(s.honest(&m), s.keypair.signing_key().sign(&m));
    }
}

#[test]
fn honest_signatures_pass_alone_and_in_batches() {
    let owned: Vec<Owned> = (0..20).map(|n| Kind::Honest.build(n % 8, n)).collect();
    assert_eq!(singles(&owned), vec![true; 20]);
    assert_eq!(verify_batch(&items(&owned)), vec![true; 20]);
    for len in 0..5 {
        assert_eq!(verify_batch(&items(&owned[..len])), vec![true; len]);
    }
    let s = &SIGNERS[0];
    let payload = b"buy 10 ACME";
    let signature = s.keypair.sign(Domain::Transaction, &CHAIN, payload);
    verify_one(
        &s.keypair.public(),
        Domain::Transaction,
        &CHAIN,
        payload,
        &signature,
    )
    .unwrap();
}

#[test]
fn each_kind_gets_its_verdict_and_reason() {
    let cases = [
        (Kind::Honest, Ok(())),
        (Kind::OtherMessage, Err(VerifyError::Equation)),
        (Kind::OtherKey, Err(VerifyError::Equation)),
        (Kind::SPlusOne, Err(VerifyError::Equation)),
        (Kind::SPlusGroupOrder, Err(VerifyError::NonCanonicalS)),
        (Kind::TorsionR, Ok(())),
        (Kind::TorsionKey, Ok(())),
        (Kind::SmallOrderR, Err(VerifyError::SmallOrderR)),
        (Kind::SmallOrderKey, Err(VerifyError::SmallOrderKey)),
        (Kind::NonCanonicalR, Err(VerifyError::NonCanonicalR)),
    ];
    for (kind, expected) in cases {
        for n in 0..8 {
            let owned = kind.build(n % 8, n);
            assert_eq!(owned.item().verify(), expected, "{kind:?} #{n}");
        }
    }
}

#[test]
fn small_order_encodings_are_exactly_the_small_order_points() {
    for (i, point) in EIGHT_TORSION.iter().enumerate() {
        let bytes = point.compress().to_bytes();
        assert!(is_canonical_encoding(&bytes));
        assert!(is_small_order_encoding(&bytes), "#{i}");
        assert!(point.is_small_order());
    }
    let mut distinct = SMALL_ORDER_ENCODINGS.to_vec();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), 8);
    for n in 0..64u64 {
        let strong = EdwardsPoint::mul_base(&Scalar::from(n + 1));
        let mixed = strong + EIGHT_TORSION[(n % 8) as usize];
        for point in [strong, mixed] {
            assert!(!point.is_small_order());
            assert!(!is_small_order_encoding(&point.compress().to_bytes()));
        }
    }
}

#[test]
fn small_order_points_would_pass_the_equation_without_the_checks() {
    // What the small-order checks are for: these satisfy the cofactored equation.
    for n in 0..8 {
        for kind in [Kind::SmallOrderR, Kind::SmallOrderKey] {
            let o = kind.build(n, n);
            let r = CompressedEdwardsY(*o.signature.r_bytes())
                .decompress()
                .unwrap();
            let s = Scalar::from_canonical_bytes(*o.signature.s_bytes()).unwrap();
            let k = hram(o.signature.r_bytes(), o.key.as_bytes(), &o.message);
            let p = EdwardsPoint::mul_base(&s) - r - k * o.key.to_edwards();
            assert!(p.mul_by_cofactor().is_identity(), "{kind:?} #{n}");
        }
    }
}

#[test]
fn non_canonical_point_encodings_are_refused() {
    let s = &SIGNERS[0];
    let m = message(0);
    let sig = s.honest(&m);
    // The identity with its sign bit set (x = 0 is not negative).
    let mut r = [0u8; 32];
    r[0] = 1;
    r[31] = 0x80;
    assert!(!is_canonical_encoding(&r));
    let forged = Signature::from_components(r, *sig.s_bytes());
    assert_eq!(
        verify_message(&s.key, &m, &forged),
        Err(VerifyError::NonCanonicalR)
    );
    // The order-2 point (y = p - 1) with its sign bit set.
    let mut r = [0xffu8; 32];
    r[0] = 0xec;
    assert!(!is_canonical_encoding(&r));
    r[31] = 0x7f;
    assert!(is_canonical_encoding(&r));
    // y = p itself, and y = 2^255 - 1.
    let mut y = [0xffu8; 32];
    y[0] = 0xed;
    y[31] = 0x7f;
    assert!(!is_canonical_encoding(&y));
    y[0] = 0xff;
    assert!(!is_canonical_encoding(&y));
    // A non-canonical key: dalek decodes it, the rule refuses it.
    for small_y in 0u8..19 {
        let mut bytes = [0xffu8; 32];
        bytes[0] = small_y + 0xed;
        bytes[31] = 0x7f;
        if let Ok(key) = VerifyingKey::from_bytes(&bytes) {
            assert_eq!(
                verify_message(&key, &m, &sig),
                Err(VerifyError::NonCanonicalKey)
            );
        }
    }
    // And a signature is not valid for another encoding of its key.
    assert!(is_canonical_encoding(s.key.as_bytes()));
}

#[test]
fn the_rule_differs_from_verify_strict_only_on_torsion() {
    for n in 0..16 {
        for kind in Kind::ALL {
            let o = kind.build(n % 8, n);
            let ours = o.item().verify().is_ok();
            let strict = o.key.verify_strict(&o.message, &o.signature).is_ok();
            match kind {
                // Accepted here; verify_strict accepts an R with torsion never, and a
                // key with torsion only when 8 divides k.
                Kind::TorsionR => assert!(ours && !strict, "#{n}"),
                Kind::TorsionKey => assert!(ours, "#{n}"),
                _ => assert_eq!(ours, strict, "{kind:?} #{n}"),
            }
        }
    }
}

/// A tiny deterministic generator for test compositions.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

#[test]
fn a_torsion_signature_gets_one_verdict_in_every_batch() {
    let s = &SIGNERS[3];
    let payload = b"order 42: sell 5 ACME";
    let m = signing_message(Domain::Transaction, &CHAIN, payload);
    let crafted = Owned {
        key: s.key,
        message: m.clone(),
        signature: s.torsion_r(&m, 1),
    };
    // Alone: valid under the rule, invalid under verify_strict.
    let alone = verify_one(
        &s.keypair.public(),
        Domain::Transaction,
        &CHAIN,
        payload,
        &crafted.signature,
    );
    assert!(alone.is_ok());
    assert!(s.key.verify_strict(&m, &crafted.signature).is_err());

    let honest: Vec<Owned> = (0..40)
        .map(|n| Kind::Honest.build(n % 8, 100 + n))
        .collect();
    let bad: Vec<Owned> = (0..10)
        .map(|n| Kind::ALL[1 + n % 9].build(n % 8, 200 + n))
        .collect();
    let mut cofactorless_passes = 0;
    for composition in 0..50 {
        let mut rng = SplitMix(composition);
        let mut batch: Vec<&Owned> = Vec::new();
        for _ in 0..1 + rng.below(40) {
            batch.push(&honest[rng.below(honest.len())]);
        }
        let position = rng.below(batch.len() + 1);
        batch.insert(position, &crafted);

        let items: Vec<BatchItem<'_>> = batch.iter().map(|o| o.item()).collect();
        let verdicts = verify_batch(&items);
        assert!(verdicts[position], "composition {composition}");
        assert!(
            verdicts.iter().all(|&good| good),
            "composition {composition}"
        );

        // The cofactorless batch equation accepts it only for some compositions.
        let messages: Vec<&[u8]> = batch.iter().map(|o| o.message.as_slice()).collect();
        let signatures: Vec<Signature> = batch.iter().map(|o| o.signature).collect();
        let keys: Vec<VerifyingKey> = batch.iter().map(|o| o.key).collect();
        if ed25519_dalek::verify_batch(&messages, &signatures, &keys).is_ok() {
            cofactorless_passes += 1;
        }

        // With some bad items mixed in, too.
        for _ in 0..rng.below(4) {
            let at = rng.below(batch.len() + 1);
            batch.insert(at, &bad[rng.below(bad.len())]);
        }
        let items: Vec<BatchItem<'_>> = batch.iter().map(|o| o.item()).collect();
        let expected: Vec<bool> = batch.iter().map(|o| o.item().verify().is_ok()).collect();
        assert_eq!(verify_batch(&items), expected, "composition {composition}");
        // Reversed, the verdicts are reversed.
        let reversed: Vec<BatchItem<'_>> = items.iter().rev().copied().collect();
        let mut expected_reversed = expected.clone();
        expected_reversed.reverse();
        assert_eq!(verify_batch(&reversed), expected_reversed);
    }
    // The problem this module solves, for the record: the old verdict depended on the
    // batch (each composition passes with probability 1/8).
    assert!(
        0 < cofactorless_passes && cofactorless_passes < 50,
        "{cofactorless_passes}"
    );
}

#[test]
fn batches_report_exactly_the_bad_items() {
    let mut owned: Vec<Owned> = (0..64).map(|n| Kind::Honest.build(n % 8, n)).collect();
    for (at, kind) in [
        (0, Kind::SPlusOne),
        (17, Kind::OtherMessage),
        (18, Kind::OtherKey),
        (63, Kind::SPlusOne),
    ] {
        owned[at] = kind.build(at % 8, at);
    }
    let expected: Vec<bool> = (0..64).map(|i| ![0, 17, 18, 63].contains(&i)).collect();
    assert_eq!(verify_batch(&items(&owned)), expected);
    // All bad: the budget falls back to single checks, still exact.
    let all_bad: Vec<Owned> = (0..64).map(|n| Kind::SPlusOne.build(n % 8, n)).collect();
    assert_eq!(verify_batch(&items(&all_bad)), vec![false; 64]);
}

#[test]
fn coefficients_are_non_zero_and_depend_on_the_batch() {
    let owned: Vec<Owned> = (0..4).map(|n| Kind::Honest.build(n, n)).collect();
    let prepare = |o: &[Owned]| -> Vec<Prepared> {
        o.iter()
            .map(|o| Prepared::new(&o.key, &o.message, &o.signature).unwrap())
            .collect()
    };
    let all = coefficients(&prepare(&owned));
    let first_three = coefficients(&prepare(&owned[..3]));
    assert!(all.iter().all(|z| *z != Scalar::ZERO));
    assert_ne!(all[..3], first_three[..]);
    assert_eq!(all, coefficients(&prepare(&owned)));
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Random batches, with random items made bad in random ways (or given torsion,
    /// which the rule accepts): the batch verdicts are the single verdicts.
    #[test]
    fn batch_verdicts_are_single_verdicts(
        spec in proptest::collection::vec((0usize..8, any::<bool>(), 0usize..Kind::ALL.len()), 0..40)
    ) {
        let owned: Vec<Owned> = spec
            .iter()
            .enumerate()
            .map(|(n, &(signer, corrupt, kind))| {
                let kind = if corrupt { Kind::ALL[kind] } else { Kind::Honest };
                kind.build(signer, n)
            })
            .collect();
        let expected: Vec<bool> = spec
            .iter()
            .map(|&(_, corrupt, kind)| !corrupt || Kind::ALL[kind].valid())
            .collect();
        prop_assert_eq!(&singles(&owned), &expected);
        prop_assert_eq!(&verify_batch(&items(&owned)), &expected);
    }

    /// For honest signatures on any message, the rule agrees with verify_strict.
    #[test]
    fn honest_signatures_agree_with_verify_strict(
        seed in any::<[u8; 32]>(),
        payload in proptest::collection::vec(any::<u8>(), 0..200),
    ) {
        let keypair = Keypair::from_seed(&seed);
        let signature = keypair.sign(Domain::Transaction, &CHAIN, &payload);
        let m = signing_message(Domain::Transaction, &CHAIN, &payload);
        let key = keypair.public().verifying_key().unwrap();
        prop_assert!(key.verify_strict(&m, &signature).is_ok());
        prop_assert!(verify_message(&key, &m, &signature).is_ok());
        prop_assert!(verify_one(&PublicKey::from(key), Domain::Transaction, &CHAIN, &payload, &signature).is_ok());
        let item = BatchItem { key: &key, message: &m, signature: &signature };
        prop_assert_eq!(verify_batch(&[item, item]), vec![true, true]);
    }

    /// No input bytes make verification panic, and single and batch verdicts agree.
    #[test]
    fn arbitrary_bytes_never_panic(
        key in any::<[u8; 32]>(),
        r in any::<[u8; 32]>(),
        s in any::<[u8; 32]>(),
    ) {
        let signature = Signature::from_components(r, s);
        let m = message(0);
        let honest = Kind::Honest.build(0, 0);
        if let Ok(key) = VerifyingKey::from_bytes(&key) {
            let single = verify_message(&key, &m, &signature).is_ok();
            let item = BatchItem { key: &key, message: &m, signature: &signature };
            prop_assert_eq!(verify_batch(&[honest.item(), item]), vec![true, single]);
        }
        let _ = verify_one(&PublicKey(key), Domain::Transaction, &CHAIN, b"x", &signature);
    }
}
