//! Enrollment by join code, sans IO: a student's laptop that knows the code the teacher
//! shows (`42-tulip-maple`) receives the game (its genesis, the voters' addresses and keys,
//! its node id: an opaque grant here) and hands the teacher its name and public keys. This
//! module is the protocol only: bytes in, bytes out, time and randomness passed in. The
//! channel it runs over (a QUIC stream that admits unknown keys for this one exchange) and
//! the commands are wired elsewhere.
//!
//! # The exchange
//!
//! The student opens; each side consumes its state at each step, and the teacher may
//! answer any step with `Refused(reason)` instead, which ends the attempt:
//!
//! 1. student → teacher `Hello { version }`. The teacher refuses if joining is closed or
//!    the source is over its [rate limit](limit), and otherwise charges the attempt.
//! 2. teacher → student `Offer { version, chain_id, pake: B }`: the game and a fresh SPAKE2
//!    message (side B, a new secret scalar for every attempt).
//! 3. student → teacher `Proof { pake: A, confirm: c_s }`: the student's SPAKE2 message and
//!    its key confirmation. The teacher checks `c_s`: wrong code → `Refused(WrongCode)`,
//!    the charge stays; right → the charge is refunded.
//! 4. teacher → student `Confirm { confirm: c_t }`. The student checks `c_t`; a peer that
//!    does not know the code fails here, before anything about the student is sent.
//! 5. student → teacher `Request { sealed }`: name, participant key and node key, sealed.
//! 6. teacher → student `Grant { sealed }` (the caller's payload, sealed) once the teacher
//!    approves, or `Refused(Denied(reason))`.
//!
//! SPAKE2 runs over the Ed25519 group with the code's canonical text as the password and
//! the identities `qraft enroll v1 student <chain id>` (side A) and `qraft enroll v1
//! teacher <chain id>` (side B). Its output hashes the code, both identities and both
//! messages; BLAKE3 `derive_key` under four contexts turns it into `c_s`, `c_t`, the
//! request key and the grant key. Each key is used once, so ChaCha20-Poly1305 seals with
//! the zero nonce. Every message is postcard with a byte limit checked before decoding
//! ([`wire::MAX_HANDSHAKE_MESSAGE`] for all but the grant, [`wire::MAX_GRANT_MESSAGE`]).
//!
//! # Why this holds
//!
//! - **A passer-by without the code gets nothing but a refusal.** The teacher sends only
//!   the chain id (public: it names the game) and a SPAKE2 message, which is uniformly
//!   random without the code. `c_t` and the grant go out only after `c_s` proved the code.
//! - **Guessing is online only, and limited.** SPAKE2 gives an active attacker one guess
//!   of the code per exchange and no offline test of the transcript, so the code's 22.5
//!   bits ([`code`]) are enough against the [rate limits](limit): 30 failures a minute
//!   overall give about 1 chance in 3,300 in an hour of open joining.
//! - **A fake game captures nobody.** A laptop advertising a game without the code cannot
//!   produce `c_t`: the student stops at step 4 with [`EnrollError::TeacherUnproven`]
//!   having sent only its SPAKE2 message (one guess at the code for the fake teacher,
//!   which has no way to test it offline). Its name and keys never leave.
//! - **A man in the middle without the code** is a fake teacher to the student and a
//!   wrong-code student to the teacher: both exchanges fail. Identities that name the
//!   chain id and the role keep a session's messages from being replayed into another
//!   game's or the other role's.
//! - **The request and grant are sealed** under keys only the two sides hold: tampering
//!   is detected ([`EnrollError::Tampered`]), and eavesdroppers learn neither.
//! - **No secret reused across attempts:** every attempt has its own SPAKE2 secret on the
//!   teacher's side (from the injected RNG), so every attempt's keys are independent.
//! - **Closing expires the code:** [`Teacher::close`] refuses new attempts and every one
//!   under way at its next step; [`Teacher::reopen`] takes a new code.
//!
//! What it does not do: whoever knows the code can act as the teacher, and in a classroom
//! the code is read aloud. A classmate running a fake game with the real code would pass
//! step 4; the student's screen should then show the game's name and chain-id prefix
//! ([`StudentProved::chain_id`]) for comparison with the teacher's, and the teacher's
//! approval of each name on the roster stops a classmate enrolling as someone else.
//! SPAKE2 here is not constant-time; the code is short-lived, so timing reveals little.
//!
//! # Files
//!
//! - [`code`]: the [`JoinCode`], generated from an injected RNG, parsed leniently; its
//!   word list in `words`.
//! - [`wire`]: the messages and their limits.
//! - `session`: SPAKE2, key derivation and confirmation, sealing (private).
//! - [`request`]: the student's [`EnrollRequest`] and the [`Grant`] it receives.
//! - [`limit`]: the rate limiter for failed attempts.
//! - [`student`], [`teacher`]: the two state machines.
//! - [`error`]: [`CodeError`], [`EnrollError`], [`Refusal`].
//! - [`returning`]: a laptop of an earlier game of the class moving to the current one
//!   without a code (its keys, and the earlier game's admin's handover, prove both sides).

pub mod code;
pub mod error;
pub mod limit;
pub mod request;
pub mod returning;
mod session;
pub mod student;
pub mod teacher;
pub mod wire;
mod words;

#[cfg(test)]
mod tests;

pub use code::JoinCode;
pub use error::{CodeError, EnrollError, Refusal};
pub use limit::{Limits, RateLimiter};
pub use request::{EnrollRequest, Grant, MAX_NAME_BYTES};
pub use student::{Student, StudentHello, StudentProved, StudentRequested};
pub use teacher::{PendingGrant, Rejected, Teacher, TeacherAttempt, TeacherConfirmed};

/// A fresh CSPRNG for one attempt or one code, seeded from the operating system's
/// randomness (through rand's thread RNG, itself seeded by the OS).
pub fn os_seeded_rng() -> rand_chacha::ChaCha20Rng {
    use rand::SeedableRng;
    rand_chacha::ChaCha20Rng::from_seed(rand::random())
}
