//! The teacher's side: a [`Teacher`] holds the game, the code, whether joining is open and
//! the rate limiter; each connection is one attempt that moves through
//! [`TeacherAttempt`] → [`TeacherConfirmed`] → [`PendingGrant`], consuming itself at each
//! step. Every step that fails hands back a [`Rejected`] with the refusal to send.

use std::fmt;
use std::net::IpAddr;
use std::time::Instant;

use qraft_keys::ChainId;
use rand::CryptoRng;

use super::code::JoinCode;
use super::error::{EnrollError, Refusal};
use super::limit::{Charge, Limits, RateLimiter};
use super::request::EnrollRequest;
use super::session::{self, Pake, SessionKeys};
use super::wire::{
    self, MAX_GRANT_PAYLOAD, MAX_HANDSHAKE_MESSAGE, PROTOCOL_VERSION, StudentMsg, TeacherMsg,
};

/// The most characters of a refusal reason the teacher sends.
const MAX_REASON_CHARS: usize = 200;

/// A failed step: why (for the teacher's log and roster) and the refusal message to send
/// the student before closing the channel.
#[derive(Debug, thiserror::Error)]
#[error("{cause}")]
pub struct Rejected {
    /// What went wrong, in detail (a garbled message says how).
    pub cause: EnrollError,
    /// What the student is told.
    pub refusal: Refusal,
    /// The encoded [`TeacherMsg::Refused`] to send.
    pub reply: Vec<u8>,
}

impl Rejected {
    fn new(refusal: Refusal, cause: EnrollError) -> Rejected {
        let reply = wire::encode(&TeacherMsg::Refused(refusal.clone()));
        Rejected {
            cause,
            refusal,
            reply,
        }
    }

    fn refused(refusal: Refusal) -> Rejected {
        Rejected::new(refusal.clone(), EnrollError::Refused(refusal))
    }

    fn garbled(cause: EnrollError) -> Rejected {
        Rejected::new(Refusal::Garbled, cause)
    }
}

/// The teacher's enrollment state for one game.
pub struct Teacher {
    chain_id: ChainId,
    code: JoinCode,
    open: bool,
    /// Bumped by every [`Teacher::reopen`]: an attempt begun under an earlier code fails.
    generation: u64,
    limiter: RateLimiter,
}

impl fmt::Debug for Teacher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Teacher")
            .field("chain_id", &self.chain_id)
            .field("open", &self.open)
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl Teacher {
    /// Joining open for `chain_id` with `code`.
    pub fn new(chain_id: ChainId, code: JoinCode, limits: Limits) -> Teacher {
        Teacher {
            chain_id,
            code,
            open: true,
            generation: 0,
            limiter: RateLimiter::new(limits),
        }
    }

    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// The code, to show on the teacher's screen.
    pub fn code(&self) -> &JoinCode {
        &self.code
    }

    pub fn is_open(&self) -> bool {
        self.open
    }

    /// How many sources hold charges against the rate limit.
    #[cfg(test)]
    pub(super) fn limiter_sources(&self) -> usize {
        self.limiter.sources()
    }

    /// Closes joining: the code expires, and every attempt (new or under way) is refused
    /// with [`Refusal::Closed`] from its next step on.
    pub fn close(&mut self) {
        self.open = false;
        self.generation += 1;
    }

    /// Opens joining again with a new code (the old one never works again).
    pub fn reopen(&mut self, code: JoinCode) {
        self.code = code;
        self.open = true;
        self.generation += 1;
    }

    /// A new attempt from `source`: reads the student's hello and answers with the offer
    /// (the chain id and a fresh SPAKE2 message from `rng`).
    pub fn begin<R: CryptoRng + ?Sized>(
        &mut self,
        source: IpAddr,
        now: Instant,
        hello: &[u8],
        rng: &mut R,
    ) -> Result<(TeacherAttempt, Vec<u8>), Rejected> {
        if !self.open {
            return Err(Rejected::refused(Refusal::Closed));
        }
        let charge = self
            .limiter
            .charge(source, now)
            .map_err(|retry_after| Rejected::refused(Refusal::RateLimited { retry_after }))?;
        match wire::decode::<StudentMsg>(hello, MAX_HANDSHAKE_MESSAGE) {
            Ok(StudentMsg::Hello { version }) if version == PROTOCOL_VERSION => {}
            Ok(StudentMsg::Hello { version }) => {
                // Not a guess: an honest student with another release.
                self.limiter.refund(charge);
                return Err(Rejected::refused(Refusal::Version {
                    ours: PROTOCOL_VERSION,
                    theirs: version,
                }));
            }
            Ok(_) => return Err(Rejected::garbled(unexpected("a hello"))),
            Err(e) => return Err(Rejected::garbled(e)),
        }
        let (pake, message) = session::start_teacher(&self.code, &self.chain_id, rng);
        let offer = wire::encode(&TeacherMsg::Offer {
            version: PROTOCOL_VERSION,
            chain_id: self.chain_id,
            pake: message,
        });
        let attempt = TeacherAttempt {
            pake,
            charge,
            generation: self.generation,
        };
        Ok((attempt, offer))
    }

    fn check_open(&self, generation: u64) -> Result<(), Rejected> {
        if self.open && self.generation == generation {
            Ok(())
        } else {
            Err(Rejected::refused(Refusal::Closed))
        }
    }
}

/// An attempt that has sent its offer and waits for the student's proof. Dropping it
/// (the student went away) leaves its charge counted as a failure.
pub struct TeacherAttempt {
    pake: Pake,
    charge: Charge,
    generation: u64,
}

impl fmt::Debug for TeacherAttempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeacherAttempt")
            .field("charge", &self.charge)
            .finish_non_exhaustive()
    }
}

impl TeacherAttempt {
    /// Reads the student's SPAKE2 message and key confirmation. A wrong code is refused
    /// (and stays counted against the source); the right one is refunded and answered with
    /// the teacher's own confirmation.
    pub fn proof(
        self,
        teacher: &mut Teacher,
        proof: &[u8],
    ) -> Result<(TeacherConfirmed, Vec<u8>), Rejected> {
        teacher.check_open(self.generation)?;
        let (pake, confirm) = match wire::decode::<StudentMsg>(proof, MAX_HANDSHAKE_MESSAGE) {
            Ok(StudentMsg::Proof { pake, confirm }) => (pake, confirm),
            Ok(_) => return Err(Rejected::garbled(unexpected("a proof"))),
            Err(e) => return Err(Rejected::garbled(e)),
        };
        let keys = SessionKeys::finish(self.pake, &pake).map_err(Rejected::garbled)?;
        if !keys.check_student(&confirm) {
            return Err(Rejected::refused(Refusal::WrongCode));
        }
        teacher.limiter.refund(self.charge);
        let reply = wire::encode(&TeacherMsg::Confirm {
            confirm: keys.teacher_confirm(),
        });
        let confirmed = TeacherConfirmed {
            keys,
            generation: self.generation,
        };
        Ok((confirmed, reply))
    }
}

/// Both sides proved the code; waits for the student's sealed request.
pub struct TeacherConfirmed {
    keys: SessionKeys,
    generation: u64,
}

impl fmt::Debug for TeacherConfirmed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TeacherConfirmed").finish_non_exhaustive()
    }
}

impl TeacherConfirmed {
    /// Opens and checks the student's request. The caller then decides (roster, the
    /// teacher's approval) and answers through the [`PendingGrant`].
    pub fn request(
        self,
        teacher: &Teacher,
        request: &[u8],
    ) -> Result<(EnrollRequest, PendingGrant), Rejected> {
        teacher.check_open(self.generation)?;
        let sealed = match wire::decode::<StudentMsg>(request, MAX_HANDSHAKE_MESSAGE) {
            Ok(StudentMsg::Request { sealed }) => sealed,
            Ok(_) => return Err(Rejected::garbled(unexpected("a request"))),
            Err(e) => return Err(Rejected::garbled(e)),
        };
        let plain = self.keys.open_request(&sealed).map_err(Rejected::garbled)?;
        let request: EnrollRequest =
            wire::decode(&plain, MAX_HANDSHAKE_MESSAGE).map_err(Rejected::garbled)?;
        if let Err(invalid) = request.validate() {
            let refusal = Refusal::Denied(invalid.to_string());
            return Err(Rejected::new(refusal, invalid));
        }
        Ok((request, PendingGrant { keys: self.keys }))
    }
}

/// A checked request waiting for the teacher's decision.
pub struct PendingGrant {
    keys: SessionKeys,
}

impl fmt::Debug for PendingGrant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PendingGrant").finish_non_exhaustive()
    }
}

impl PendingGrant {
    /// Seals `payload` (at most [`MAX_GRANT_PAYLOAD`] bytes) for the student: the message
    /// to send.
    pub fn grant(self, payload: &[u8]) -> Result<Vec<u8>, EnrollError> {
        if payload.len() > MAX_GRANT_PAYLOAD {
            return Err(EnrollError::TooLarge {
                len: payload.len(),
                limit: MAX_GRANT_PAYLOAD,
            });
        }
        Ok(wire::encode(&TeacherMsg::Grant {
            sealed: self.keys.seal_grant(payload),
        }))
    }

    /// Refuses the request with `reason` (for the student to read; cut to 200
    /// characters): the message to send.
    pub fn refuse(self, reason: &str) -> Vec<u8> {
        let reason: String = reason.chars().take(MAX_REASON_CHARS).collect();
        wire::encode(&TeacherMsg::Refused(Refusal::Denied(reason)))
    }
}

fn unexpected(expected: &'static str) -> EnrollError {
    EnrollError::Unexpected { expected }
}
