//! Ed25519 signature verification with one rule for single signatures and batches.
//!
//! # The rule
//!
//! A signature `(R, S)` by key `A` on message `M` is valid when all of these hold:
//!
//! 1. `S` is canonical: `S < ℓ`, the order of the prime-order subgroup;
//! 2. `A` and `R` are canonical encodings (the y-coordinate is below `p = 2^255 - 19`, and
//!    the sign bit is clear when `x = 0`) of points on the curve;
//! 3. neither `A` nor `R` has small order (is one of the eight points of `E[8]`);
//! 4. the **cofactored** equation holds: `[8]([S]B - R - [k]A) = 0`, where
//!    `k = SHA-512(R || A || M) mod ℓ` exactly as RFC 8032 computes it.
//!
//! [`verify_message`] applies it to one signature, [`verify_batch`] to many; both give the
//! same verdict for every signature.
//!
//! # Why cofactored
//!
//! Batch verification checks a random linear combination of the equations:
//! `Σ zᵢ([Sᵢ]B - Rᵢ - [kᵢ]Aᵢ) = 0`. Without the factor 8, a signature whose `R` (or `A`)
//! has a component in the torsion subgroup leaves a point `Tᵢ` of order dividing 8 in its
//! own equation, and `zᵢTᵢ` vanishes exactly when `zᵢ` is a multiple of that order: such a
//! signature fails alone but passes in a batch with probability 1/8 (or 1/4, 1/2), which
//! depends on the coefficients, that is, on the other signatures in the batch. That is how
//! `ed25519_dalek::verify_batch` (cofactorless) paired with `verify_strict` behaves. A node
//! that caches verdicts, or splits a block's verification across threads, needs each
//! verdict to be a function of its own `(key, message, signature)` alone.
//!
//! Multiplying by the cofactor kills every torsion component, so the single and the batch
//! equations accept exactly the same signatures: if every signature satisfies its own
//! cofactored equation, any combination of them does (for every choice of coefficients);
//! if one does not, its term `[8]zᵢ(...)` is a non-zero point of prime order ℓ and the sum
//! is zero only with probability about 2⁻¹²⁸ over the coefficients. This is the choice made
//! by [ZIP-215] (Zcash) for the same reason, and recommended by Chalkias, Garillot and
//! Nikolaenko, "Taming the many EdDSAs" (2020). Unlike ZIP-215, this rule still refuses
//! non-canonical encodings and small-order `A` and `R`, as `verify_strict` does: a
//! small-order key makes a signature valid for any message, and keeping the encodings
//! canonical keeps signatures non-malleable.
//!
//! # How this differs from `verify_strict`
//!
//! `ed25519_dalek::VerifyingKey::verify_strict` checks the cofactorless equation
//! `[S]B = R + [k]A` (by recomputing `R` and comparing encodings), with the same checks on
//! `S` and on small-order `A` and `R`. Every signature it accepts is accepted here, except
//! one that names a non-canonically encoded key (`verify_strict` never looks at the key's
//! encoding; [`PublicKey::verifying_key`](crate::PublicKey::verifying_key) refuses such
//! keys anyway). The converse differs only in torsion: a signature whose `R` has a torsion
//! component but is not itself of small order (or, likewise, whose key `A` has one) fails
//! `verify_strict` for most messages, and is accepted here. Honest signers never produce
//! either: their `R = [r]B` and `A = [a]B` lie in the prime-order subgroup, and for such
//! signatures both rules agree.
//!
//! [ZIP-215]: https://zips.z.cash/zip-0215

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::LazyLock;

use curve25519_dalek::constants::{ED25519_BASEPOINT_POINT, EIGHT_TORSION};
use curve25519_dalek::edwards::{CompressedEdwardsY, EdwardsPoint};
use curve25519_dalek::scalar::Scalar;
use curve25519_dalek::traits::{IsIdentity, VartimeMultiscalarMul};
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha512};

/// Why a signature is invalid under this module's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    /// `S` is not below the group order ℓ (a malleated or garbage signature).
    #[error("signature scalar S is not canonical (not below the group order)")]
    NonCanonicalS,
    /// The public key's 32 bytes are not the canonical encoding of a point.
    #[error("public key is not a canonical point encoding")]
    NonCanonicalKey,
    /// The public key is one of the eight small-order points.
    #[error("public key has small order: signatures by it prove nothing")]
    SmallOrderKey,
    /// The signature's `R` is not the canonical encoding of a point.
    #[error("signature point R is not canonically encoded")]
    NonCanonicalR,
    /// The signature's `R` is not a point on the curve.
    #[error("signature point R is not on the curve")]
    InvalidR,
    /// The signature's `R` is one of the eight small-order points.
    #[error("signature point R has small order")]
    SmallOrderR,
    /// Everything is well formed, but `[8]([S]B - R - [k]A) ≠ 0`.
    #[error("signature does not satisfy the verification equation")]
    Equation,
}

/// One item of a batch: an already-decompressed key (callers cache these per account),
/// the full signed message (see [`signing_message`](crate::signing::signing_message)) and
/// the signature.
#[derive(Clone, Copy, Debug)]
pub struct BatchItem<'a> {
    pub key: &'a VerifyingKey,
    pub message: &'a [u8],
    pub signature: &'a Signature,
}

impl BatchItem<'_> {
    /// This item alone, under the same rule as [`verify_batch`].
    pub fn verify(&self) -> Result<(), VerifyError> {
        verify_message(self.key, self.message, self.signature)
    }
}

/// Verifies one signature on the full signed `message` under this module's rule.
pub fn verify_message(
    key: &VerifyingKey,
    message: &[u8],
    signature: &Signature,
) -> Result<(), VerifyError> {
    if Prepared::new(key, message, signature)?.holds() {
        Ok(())
    } else {
        Err(VerifyError::Equation)
    }
}

/// Verifies many signatures at once and says which ones are good.
///
/// Returns one `bool` per item, in order, `true` for a good signature. Each verdict equals
/// [`verify_message`]'s for that item alone: it does not depend on the other items or on
/// their order (up to a 2⁻¹²⁸-ish chance, over coefficients derived by hashing the whole
/// batch, that a bad signature slips through a combined check).
///
/// Items that fail the cheap checks (encodings, small order) are settled first. The rest
/// are checked with one multiscalar multiplication, `[8](Σ zᵢ([Sᵢ]B - Rᵢ - [kᵢ]Aᵢ)) = 0`,
/// with 128-bit coefficients `zᵢ` derived deterministically (blake3) from every item's
/// `SHA-512(R || A || M)` and `S`; the terms of items signed by the same key are merged
/// into one. If that fails, the batch is halved: a half that passes is good; a half that
/// fails is halved again, and when the half that was checked passes, the other is known to
/// hold a bad item without checking it. To bound the work when many items are bad, once
/// bisection has spent about two batches' worth of points, the remaining undecided items
/// are checked one by one. Measured on 1024 items (`benches/verify.rs`, a 2-core machine):
/// all good 12 ms; one bad 28 ms; four bad 46 ms; 32 to 1024 bad 55 to 64 ms, against
/// about 54 ms for a failed batch followed by checking every item alone.
pub fn verify_batch(items: &[BatchItem<'_>]) -> Vec<bool> {
    let mut verdicts = vec![false; items.len()];
    let mut positions = Vec::with_capacity(items.len());
    let mut prepared = Vec::with_capacity(items.len());
    for (position, item) in items.iter().enumerate() {
        if let Ok(p) = Prepared::new(item.key, item.message, item.signature) {
            positions.push(position);
            prepared.push(p);
        }
    }
    if prepared.is_empty() {
        return verdicts;
    }
    let coefficients = coefficients(&prepared);
    let mut search = Search {
        prepared: &prepared,
        coefficients: &coefficients,
        good: vec![false; prepared.len()],
        spent: 0,
        // The first check of the whole batch is not counted.
        budget: 2 * prepared.len(),
    };
    search.settle(0, prepared.len(), false, true);
    for (position, good) in positions.into_iter().zip(search.good) {
        verdicts[position] = good;
    }
    verdicts
}

/// Whether `bytes` is the canonical encoding of a curve point's y-coordinate and sign,
/// assuming it decompresses: y < p, and no sign bit on the two points with x = 0
/// (y = 1 and y = p - 1).
pub(crate) fn is_canonical_encoding(bytes: &[u8; 32]) -> bool {
    let sign = bytes[31] & 0x80 != 0;
    let top = bytes[31] & 0x7f;
    let middle_all_ff = bytes[1..31].iter().all(|&b| b == 0xff);
    let middle_all_zero = bytes[1..31].iter().all(|&b| b == 0);
    // p - 1 = 2^255 - 20: 0xec, then 30 bytes of 0xff, then 0x7f.
    if top == 0x7f && middle_all_ff {
        if bytes[0] >= 0xed {
            return false; // y >= p
        }
        if bytes[0] == 0xec && sign {
            return false; // y = p - 1 (x = 0) with the sign bit set
        }
    }
    // y = 1 (the identity, x = 0) with the sign bit set.
    !(sign && top == 0 && middle_all_zero && bytes[0] == 1)
}

/// The canonical encodings of the eight points of small order (the torsion subgroup `E[8]`).
static SMALL_ORDER_ENCODINGS: LazyLock<[[u8; 32]; 8]> =
    LazyLock::new(|| EIGHT_TORSION.map(|point| point.compress().to_bytes()));

/// Whether a canonical encoding is that of a point of small order. For canonical encodings
/// this is exactly `EdwardsPoint::is_small_order` of the decoded point (each of the eight
/// points has one canonical encoding), for the price of eight comparisons instead of three
/// doublings.
fn is_small_order_encoding(bytes: &[u8; 32]) -> bool {
    SMALL_ORDER_ENCODINGS.contains(bytes)
}

/// A signature that passed the cheap checks, ready for the equation.
struct Prepared {
    key: [u8; 32],
    a: EdwardsPoint,
    r: EdwardsPoint,
    s: Scalar,
    k: Scalar,
    /// `SHA-512(R || A || M)`, which binds R, A and M into the batch coefficients.
    hram: [u8; 64],
}

impl Prepared {
    fn new(key: &VerifyingKey, message: &[u8], signature: &Signature) -> Result<Self, VerifyError> {
        let s = Option::<Scalar>::from(Scalar::from_canonical_bytes(*signature.s_bytes()))
            .ok_or(VerifyError::NonCanonicalS)?;

        let key_bytes = key.as_bytes();
        if !is_canonical_encoding(key_bytes) {
            return Err(VerifyError::NonCanonicalKey);
        }
        let a = key.to_edwards();
        if is_small_order_encoding(key_bytes) {
            return Err(VerifyError::SmallOrderKey);
        }

        let r_bytes = signature.r_bytes();
        if !is_canonical_encoding(r_bytes) {
            return Err(VerifyError::NonCanonicalR);
        }
        let r = CompressedEdwardsY(*r_bytes)
            .decompress()
            .ok_or(VerifyError::InvalidR)?;
        if is_small_order_encoding(r_bytes) {
            return Err(VerifyError::SmallOrderR);
        }

        let mut hasher = Sha512::new();
        hasher.update(r_bytes);
        hasher.update(key_bytes);
        hasher.update(message);
        let hram: [u8; 64] = hasher.finalize().into();
        let k = Scalar::from_bytes_mod_order_wide(&hram);

        Ok(Prepared {
            key: *key_bytes,
            a,
            r,
            s,
            k,
            hram,
        })
    }

    /// The cofactored equation for this signature alone: `[8]([S]B - R - [k]A) = 0`.
    fn holds(&self) -> bool {
        let sb_minus_ka =
            EdwardsPoint::vartime_double_scalar_mul_basepoint(&self.k, &-self.a, &self.s);
        (sb_minus_ka - self.r).mul_by_cofactor().is_identity()
    }
}

/// Domain separation for the batch coefficients (a blake3 key-derivation context).
const COEFFICIENTS_CONTEXT: &str =
    "qraft 2025-06 ed25519 cofactored batch verification coefficients v1";

/// One 128-bit, non-zero coefficient per item, from a hash of the whole batch: a forger
/// cannot pick inputs knowing the coefficients they will be weighed with.
fn coefficients(prepared: &[Prepared]) -> Vec<Scalar> {
    let mut hasher = blake3::Hasher::new_derive_key(COEFFICIENTS_CONTEXT);
    hasher.update(&(prepared.len() as u64).to_le_bytes());
    for p in prepared {
        hasher.update(&p.hram);
        hasher.update(p.s.as_bytes());
    }
    let mut stream = hasher.finalize_xof();
    prepared
        .iter()
        .map(|_| {
            let mut bytes = [0u8; 16];
            stream.fill(&mut bytes);
            // Zero would drop the item from the sum; any z in [1, 2^128) < ℓ keeps
            // [z]P ≠ 0 for every non-zero P of order ℓ.
            Scalar::from(u128::from_le_bytes(bytes).max(1))
        })
        .collect()
}

/// Whether `[8](Σ zᵢ([Sᵢ]B - Rᵢ - [kᵢ]Aᵢ)) = 0` over `prepared`.
///
/// For a single item this is exact: `[8]zP = 0` iff `[8]P = 0`, since `[8]P` has order 1
/// or ℓ and `0 < z < ℓ`. It is nevertheless only called with two or more items.
fn combination_holds(prepared: &[Prepared], coefficients: &[Scalar]) -> bool {
    let mut scalars = Vec::with_capacity(2 * prepared.len() + 1);
    let mut points = Vec::with_capacity(2 * prepared.len() + 1);
    let mut b_coefficient = Scalar::ZERO;
    let mut key_scalars: Vec<Scalar> = Vec::with_capacity(prepared.len());
    let mut key_points: Vec<Option<EdwardsPoint>> = Vec::with_capacity(prepared.len());
    let mut key_slots: HashMap<[u8; 32], usize> = HashMap::with_capacity(prepared.len());
    for (p, z) in prepared.iter().zip(coefficients) {
        b_coefficient -= z * p.s;
        scalars.push(*z);
        points.push(Some(p.r));
        let zk = z * p.k;
        match key_slots.entry(p.key) {
            Entry::Occupied(slot) => key_scalars[*slot.get()] += zk,
            Entry::Vacant(slot) => {
                slot.insert(key_scalars.len());
                key_scalars.push(zk);
                key_points.push(Some(p.a));
            }
        }
    }
    scalars.push(b_coefficient);
    points.push(Some(ED25519_BASEPOINT_POINT));
    scalars.extend(key_scalars);
    points.extend(key_points);
    // Σ zR + Σ zkA - (Σ zS)B = -Σ z([S]B - R - [k]A); every point is Some, so the result is.
    EdwardsPoint::optional_multiscalar_mul(&scalars, points)
        .is_some_and(|sum| sum.mul_by_cofactor().is_identity())
}

/// Bisection over the prepared items to find the bad ones.
struct Search<'p> {
    prepared: &'p [Prepared],
    coefficients: &'p [Scalar],
    good: Vec<bool>,
    /// Items' worth of combined checks done so far (after the first).
    spent: usize,
    budget: usize,
}

impl Search<'_> {
    /// Decides the items `lo..hi`. `known_bad`: a bad item is certainly among them (a
    /// check of a superset failed and the check of the rest of it passed). `free`: this is
    /// the first, unbudgeted check of the whole batch.
    fn settle(&mut self, lo: usize, hi: usize, known_bad: bool, free: bool) {
        let len = hi - lo;
        if len == 1 {
            self.good[lo] = !known_bad && self.prepared[lo].holds();
            return;
        }
        if !known_bad {
            if !self.affordable(len, free) {
                return self.one_by_one(lo, hi);
            }
            if self.holds(lo, hi, free) {
                self.good[lo..hi].fill(true);
                return;
            }
            // Now a bad item is certainly among them: a combination of good items holds
            // whatever the coefficients.
        }
        let mid = lo + len / 2;
        if !self.affordable(mid - lo, false) {
            self.one_by_one(lo, hi);
        } else if self.holds(lo, mid, false) {
            self.good[lo..mid].fill(true);
            self.settle(mid, hi, true, false);
        } else {
            self.settle(lo, mid, true, false);
            self.settle(mid, hi, false, false);
        }
    }

    /// Whether a combined check of `len` items fits the budget.
    fn affordable(&self, len: usize, free: bool) -> bool {
        free || len == 1 || self.spent + len <= self.budget
    }

    fn one_by_one(&mut self, lo: usize, hi: usize) {
        for i in lo..hi {
            self.good[i] = self.prepared[i].holds();
        }
    }

    fn holds(&mut self, lo: usize, hi: usize, free: bool) -> bool {
        if !free {
            self.spent += hi - lo;
        }
        if hi - lo == 1 {
            self.prepared[lo].holds()
        } else {
            combination_holds(&self.prepared[lo..hi], &self.coefficients[lo..hi])
        }
    }
}

#[cfg(test)]
mod tests {
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
            0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9,
            0xde, 0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
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
                    let bumped =
                        Scalar::from_canonical_bytes(*sig.s_bytes()).unwrap() + Scalar::ONE;
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
}
