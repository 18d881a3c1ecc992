//! One attempt's cryptography: the SPAKE2 exchange (the student is side A, the teacher
//! side B, both identities naming the role and the game's chain id), the keys derived from
//! its shared secret, key confirmation, and sealing with ChaCha20-Poly1305.

use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Nonce};
use qraft_keys::ChainId;
use rand::CryptoRng;
use spake2::{Ed25519Group, Identity, Password, Spake2};
use zeroize::{Zeroize, Zeroizing};

use super::code::JoinCode;
use super::error::EnrollError;
use super::wire::CONFIRM_LEN;

/// A SPAKE2 exchange under way (single use: `finish` consumes it).
pub(super) type Pake = Spake2<Ed25519Group>;

/// The SPAKE2 identities: which role, in which game. A session between a student and a
/// teacher of another game (or a replayed teacher message from one) derives another key.
fn identities(chain_id: &ChainId) -> (Identity, Identity) {
    let id = |role: &[u8]| {
        let mut bytes = b"qraft enroll v1 ".to_vec();
        bytes.extend_from_slice(role);
        bytes.push(b' ');
        bytes.extend_from_slice(&chain_id.0);
        Identity::new(&bytes)
    };
    (id(b"student"), id(b"teacher"))
}

fn password(code: &JoinCode) -> Password {
    Password::new(Zeroizing::new(code.canonical()).as_bytes())
}

/// The student's side of SPAKE2 and its message.
pub(super) fn start_student<R: CryptoRng + ?Sized>(
    code: &JoinCode,
    chain_id: &ChainId,
    rng: &mut R,
) -> (Pake, Vec<u8>) {
    let (student, teacher) = identities(chain_id);
    Pake::start_a_with_rng(&password(code), &student, &teacher, rng)
}

/// The teacher's side of SPAKE2 and its message: a fresh secret scalar for every attempt.
pub(super) fn start_teacher<R: CryptoRng + ?Sized>(
    code: &JoinCode,
    chain_id: &ChainId,
    rng: &mut R,
) -> (Pake, Vec<u8>) {
    let (student, teacher) = identities(chain_id);
    Pake::start_b_with_rng(&password(code), &student, &teacher, rng)
}

/// The keys of one attempt, each derived from the SPAKE2 secret under its own BLAKE3
/// context, each used once. Zeroized on drop.
pub(super) struct SessionKeys {
    student_confirm: [u8; CONFIRM_LEN],
    teacher_confirm: [u8; CONFIRM_LEN],
    request_key: [u8; 32],
    grant_key: [u8; 32],
}

impl SessionKeys {
    /// Finishes SPAKE2 with the peer's message. Both sides get the same keys only if both
    /// used the same code, chain id and roles; a wrong code gives unrelated keys, which the
    /// key confirmation detects. The SPAKE2 secret already hashes the whole transcript
    /// (both identities, both messages, the code), so the keys are bound to it.
    pub(super) fn finish(pake: Pake, peer_message: &[u8]) -> Result<SessionKeys, EnrollError> {
        let shared = Zeroizing::new(
            pake.finish(peer_message)
                .map_err(|e| EnrollError::Garbled(format!("SPAKE2 message: {e}")))?,
        );
        let derive = |context: &str| blake3::derive_key(context, &shared);
        Ok(SessionKeys {
            student_confirm: derive("qraft enroll v1 student key confirmation"),
            teacher_confirm: derive("qraft enroll v1 teacher key confirmation"),
            request_key: derive("qraft enroll v1 student request seal"),
            grant_key: derive("qraft enroll v1 teacher grant seal"),
        })
    }

    pub(super) fn student_confirm(&self) -> [u8; CONFIRM_LEN] {
        self.student_confirm
    }

    pub(super) fn teacher_confirm(&self) -> [u8; CONFIRM_LEN] {
        self.teacher_confirm
    }

    /// Whether `claimed` is the student's confirmation (in constant time).
    pub(super) fn check_student(&self, claimed: &[u8; CONFIRM_LEN]) -> bool {
        blake3::Hash::from(self.student_confirm) == blake3::Hash::from(*claimed)
    }

    /// Whether `claimed` is the teacher's confirmation (in constant time).
    pub(super) fn check_teacher(&self, claimed: &[u8; CONFIRM_LEN]) -> bool {
        blake3::Hash::from(self.teacher_confirm) == blake3::Hash::from(*claimed)
    }

    pub(super) fn seal_request(&self, plaintext: &[u8]) -> Vec<u8> {
        seal(&self.request_key, plaintext)
    }

    pub(super) fn open_request(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnrollError> {
        open(&self.request_key, sealed)
    }

    pub(super) fn seal_grant(&self, plaintext: &[u8]) -> Vec<u8> {
        seal(&self.grant_key, plaintext)
    }

    pub(super) fn open_grant(&self, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnrollError> {
        open(&self.grant_key, sealed)
    }
}

impl Drop for SessionKeys {
    fn drop(&mut self) {
        self.student_confirm.zeroize();
        self.teacher_confirm.zeroize();
        self.request_key.zeroize();
        self.grant_key.zeroize();
    }
}

/// Each key seals exactly one message, so the all-zero nonce is never reused under a key.
fn nonce() -> Nonce {
    Nonce::default()
}

fn seal(key: &[u8; 32], plaintext: &[u8]) -> Vec<u8> {
    ChaCha20Poly1305::new(&(*key).into())
        .encrypt(&nonce(), plaintext)
        .expect("ChaCha20-Poly1305 seals any message under 256 GiB")
}

fn open(key: &[u8; 32], sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, EnrollError> {
    ChaCha20Poly1305::new(&(*key).into())
        .decrypt(&nonce(), sealed)
        .map(Zeroizing::new)
        .map_err(|_| EnrollError::Tampered)
}
