//! The student's side: [`Student::start`] → [`StudentHello`] → [`StudentProved`] →
//! [`StudentRequested`] → [`Grant`], consuming itself at each step. The request leaves
//! the laptop only after the teacher proved it knows the code.

use std::fmt;

use qraft_keys::ChainId;
use rand::CryptoRng;

use super::code::JoinCode;
use super::error::{EnrollError, Refusal};
use super::request::{EnrollRequest, Grant};
use super::session::{self, SessionKeys};
use super::wire::{
    self, MAX_GRANT_MESSAGE, MAX_HANDSHAKE_MESSAGE, PROTOCOL_VERSION, StudentMsg, TeacherMsg,
};

/// A student about to enroll.
pub struct Student;

impl Student {
    /// Starts an attempt with the code the student typed and the request to send once the
    /// teacher is proven: the state and the hello to send.
    pub fn start(
        code: JoinCode,
        request: EnrollRequest,
    ) -> Result<(StudentHello, Vec<u8>), EnrollError> {
        request.validate()?;
        let hello = wire::encode(&StudentMsg::Hello {
            version: PROTOCOL_VERSION,
        });
        Ok((StudentHello { code, request }, hello))
    }
}

/// Reads a teacher message of at most `limit` bytes; a refusal ends the attempt.
fn read(bytes: &[u8], limit: usize) -> Result<TeacherMsg, EnrollError> {
    match wire::decode::<TeacherMsg>(bytes, limit)? {
        TeacherMsg::Refused(refusal) => Err(EnrollError::Refused(refusal)),
        message => Ok(message),
    }
}

/// The hello is sent; waits for the teacher's offer.
pub struct StudentHello {
    code: JoinCode,
    request: EnrollRequest,
}

impl fmt::Debug for StudentHello {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StudentHello").finish_non_exhaustive()
    }
}

impl StudentHello {
    /// Reads the offer and answers with the student's SPAKE2 message (from `rng`) and key
    /// confirmation: the state and the proof to send.
    pub fn offer<R: CryptoRng + ?Sized>(
        self,
        offer: &[u8],
        rng: &mut R,
    ) -> Result<(StudentProved, Vec<u8>), EnrollError> {
        let TeacherMsg::Offer {
            version,
            chain_id,
            pake: theirs,
        } = read(offer, MAX_HANDSHAKE_MESSAGE)?
        else {
            return Err(EnrollError::Unexpected {
                expected: "the teacher's offer",
            });
        };
        if version != PROTOCOL_VERSION {
            return Err(EnrollError::Refused(Refusal::Version {
                ours: PROTOCOL_VERSION,
                theirs: version,
            }));
        }
        let (pake, ours) = session::start_student(&self.code, &chain_id, rng);
        let keys = SessionKeys::finish(pake, &theirs)?;
        let proof = wire::encode(&StudentMsg::Proof {
            pake: ours,
            confirm: keys.student_confirm(),
        });
        let proved = StudentProved {
            chain_id,
            keys,
            request: self.request,
        };
        Ok((proved, proof))
    }
}

/// The proof is sent; waits for the teacher's confirmation.
pub struct StudentProved {
    chain_id: ChainId,
    keys: SessionKeys,
    request: EnrollRequest,
}

impl fmt::Debug for StudentProved {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StudentProved")
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl StudentProved {
    /// The game the teacher offered (to show, and to compare with the teacher's screen).
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// Checks the teacher's confirmation; only if it proves the code does the sealed
    /// request go out: the state and the request to send.
    pub fn confirm(self, confirm: &[u8]) -> Result<(StudentRequested, Vec<u8>), EnrollError> {
        let TeacherMsg::Confirm { confirm } = read(confirm, MAX_HANDSHAKE_MESSAGE)? else {
            return Err(EnrollError::Unexpected {
                expected: "the teacher's confirmation",
            });
        };
        if !self.keys.check_teacher(&confirm) {
            return Err(EnrollError::TeacherUnproven);
        }
        let plain = zeroize::Zeroizing::new(wire::encode(&self.request));
        let request = wire::encode(&StudentMsg::Request {
            sealed: self.keys.seal_request(&plain),
        });
        let requested = StudentRequested {
            chain_id: self.chain_id,
            keys: self.keys,
        };
        Ok((requested, request))
    }
}

/// The request is sent; waits for the teacher's grant (or refusal), which may take as
/// long as the teacher takes to approve.
pub struct StudentRequested {
    chain_id: ChainId,
    keys: SessionKeys,
}

impl fmt::Debug for StudentRequested {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StudentRequested")
            .field("chain_id", &self.chain_id)
            .finish_non_exhaustive()
    }
}

impl StudentRequested {
    pub fn chain_id(&self) -> ChainId {
        self.chain_id
    }

    /// Opens the teacher's grant.
    pub fn grant(self, grant: &[u8]) -> Result<Grant, EnrollError> {
        let TeacherMsg::Grant { sealed } = read(grant, MAX_GRANT_MESSAGE)? else {
            return Err(EnrollError::Unexpected {
                expected: "the teacher's grant",
            });
        };
        let payload = self.keys.open_grant(&sealed)?;
        Ok(Grant {
            chain_id: self.chain_id,
            payload: payload.to_vec(),
        })
    }
}
