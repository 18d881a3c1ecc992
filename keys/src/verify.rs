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
mod tests;
