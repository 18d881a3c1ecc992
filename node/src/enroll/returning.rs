//! Returning to the class, sans IO: a laptop that joined an earlier game of the class
//! moves to the class's current game (`qraft class --next`) without a join code. Its keys
//! prove who it is, and the earlier game's admin key proves the new game is the class's.
//!
//! # The exchange
//!
//! On the same channel as enrollment, in place of `Hello`:
//!
//! 1. laptop → teacher `Return { version, previous, participant, node }`: the game it
//!    holds and its keys there.
//! 2. teacher → laptop `Current` when `previous` is the current game (nothing to do), or
//!    `Refused` when it is no game of this class or the keys are not in the current
//!    game, or `Challenge { chain_id, nonce }`: the current game, and 32 fresh random
//!    bytes.
//! 3. laptop → teacher `ReturnProof { signature }`: the participant key signs, in
//!    [`Domain::Return`] on the current chain, `nonce || teacher's TLS key || previous`.
//! 4. teacher → laptop `Moved { handover, payload }`: the grant payload (the genesis, the
//!    voters' addresses, the laptop's node id), and the handover: the teacher's admin key
//!    signing, in [`Domain::Handover`] on the chain `previous`, the current chain id.
//!
//! # Why this holds
//!
//! - **Only the class's members get the new game.** The teacher answers only keys the
//!   current genesis lists (a participant, and a learner node named after them), and
//!   sends the genesis only after the participant key signed this exchange's nonce.
//! - **A relay gains nothing.** The signature names the TLS key the laptop saw; a
//!   classmate relaying the exchange through their own endpoint presents another key, so
//!   the teacher refuses the forwarded proof.
//! - **A fake class captures nobody.** The laptop accepts the new game only with a
//!   handover signed by an admin of the game it already holds, for exactly that game's
//!   chain id and the new one's: no code, no classmate and no other teacher can make one.
//! - **The signatures are good for nothing else:** each domain has its own tag, and
//!   neither signs anything a transaction could be.
//!
//! What it does not hide: the channel is QUIC's (encrypted, but the teacher's endpoint
//! key is not known in advance), so an active attacker on the LAN who sat between a
//! laptop and the teacher could read the genesis the laptop receives; the genesis holds
//! nothing a member of the game cannot read anyway.

use qraft_keys::{ChainId, Domain, Keypair, PublicKey, Signature, verify_one};

use super::error::{EnrollError, Refusal};
use super::wire::{
    MAX_GRANT_MESSAGE, MAX_HANDSHAKE_MESSAGE, PROTOCOL_VERSION, RETURN_NONCE_LEN, StudentMsg,
    TeacherMsg, decode, encode,
};
use crate::core::genesis::Genesis;
use crate::core::types::Role;

/// What a returning laptop says it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReturnRequest {
    /// The game it holds.
    pub previous: ChainId,
    pub participant: PublicKey,
    pub node: PublicKey,
}

/// The laptop's opening message.
pub fn return_message(request: &ReturnRequest) -> Vec<u8> {
    encode(&StudentMsg::Return {
        version: PROTOCOL_VERSION,
        previous: request.previous,
        participant: request.participant,
        node: request.node,
    })
}

/// The teacher reads a first message: `Ok(Some)` when it is a returning laptop's,
/// `Ok(None)` when it is anything else (an enrollment's `Hello`, for the [`Teacher`]).
///
/// [`Teacher`]: super::Teacher
pub fn read_return(bytes: &[u8]) -> Result<Option<ReturnRequest>, Refusal> {
    match decode::<StudentMsg>(bytes, MAX_HANDSHAKE_MESSAGE) {
        Ok(StudentMsg::Return {
            version,
            previous,
            participant,
            node,
        }) => {
            if version != PROTOCOL_VERSION {
                return Err(Refusal::Version {
                    ours: PROTOCOL_VERSION,
                    theirs: version,
                });
            }
            Ok(Some(ReturnRequest {
                previous,
                participant,
                node,
            }))
        }
        _ => Ok(None),
    }
}

/// The teacher's answer to a returning laptop, before any proof.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Welcome {
    /// It holds the current game.
    Current,
    /// Prove the participant key against this nonce, for the current game.
    Challenge([u8; RETURN_NONCE_LEN]),
}

/// Who a returning laptop is in the current game.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Returner {
    pub name: String,
    pub node_id: crate::core::types::NodeId,
    pub node_name: String,
}

/// The teacher's decision on `request`: `current` is the class's game, `earlier` every
/// earlier game of the class. A laptop is welcome when it holds one of them and the
/// current genesis lists its participant key (not an admin's) and its node key as a
/// learner.
pub fn welcome(
    request: &ReturnRequest,
    current: &Genesis,
    earlier: &[ChainId],
    nonce: [u8; RETURN_NONCE_LEN],
) -> Result<(Welcome, Option<Returner>), Refusal> {
    if request.previous == current.chain_id() {
        return Ok((Welcome::Current, None));
    }
    if !earlier.contains(&request.previous) {
        return Err(Refusal::Denied(
            "this laptop's game is not one of this class's games; join with the code".into(),
        ));
    }
    let participant = current
        .participants
        .iter()
        .find(|p| p.key == request.participant && p.role != Role::Admin);
    let node = current.learners.iter().find(|n| n.key == request.node);
    match (participant, node) {
        (Some(participant), Some(node)) => Ok((
            Welcome::Challenge(nonce),
            Some(Returner {
                name: participant.name.clone(),
                node_id: node.id,
                node_name: node.name.clone(),
            }),
        )),
        _ => Err(Refusal::Denied(
            "this laptop is not in the class's new game (it joined after the last game \
             ended?); join with the code"
                .into(),
        )),
    }
}

/// The teacher's message for `welcome` in game `current`.
pub fn welcome_message(welcome: &Welcome, current: &ChainId) -> Vec<u8> {
    encode(&match welcome {
        Welcome::Current => TeacherMsg::Current,
        Welcome::Challenge(nonce) => TeacherMsg::Challenge {
            chain_id: *current,
            nonce: *nonce,
        },
    })
}

/// A refusal, as the teacher sends it.
pub fn refusal_message(refusal: Refusal) -> Vec<u8> {
    encode(&TeacherMsg::Refused(refusal))
}

/// What the laptop reads from the teacher's answer to `Return`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Answer {
    Current,
    Challenge {
        chain_id: ChainId,
        nonce: [u8; RETURN_NONCE_LEN],
    },
}

/// The laptop reads the teacher's answer to its `Return`.
pub fn read_answer(bytes: &[u8]) -> Result<Answer, EnrollError> {
    match decode::<TeacherMsg>(bytes, MAX_HANDSHAKE_MESSAGE)? {
        TeacherMsg::Current => Ok(Answer::Current),
        TeacherMsg::Challenge { chain_id, nonce } => Ok(Answer::Challenge { chain_id, nonce }),
        TeacherMsg::Refused(refusal) => Err(EnrollError::Refused(refusal)),
        _ => Err(EnrollError::Unexpected {
            expected: "Current, Challenge or Refused",
        }),
    }
}

/// The bytes the participant signs: the nonce, the TLS key of the endpoint the laptop
/// reached, and the game it holds.
fn proof_payload(
    nonce: &[u8; RETURN_NONCE_LEN],
    teacher_endpoint: &PublicKey,
    previous: &ChainId,
) -> Vec<u8> {
    let mut payload = Vec::with_capacity(RETURN_NONCE_LEN + 64);
    payload.extend_from_slice(nonce);
    payload.extend_from_slice(teacher_endpoint.as_bytes());
    payload.extend_from_slice(&previous.0);
    payload
}

/// The laptop's proof: `participant` signs the challenge of game `current`, naming the
/// TLS key `teacher_endpoint` of the endpoint it reached.
pub fn proof_message(
    participant: &Keypair,
    current: &ChainId,
    nonce: &[u8; RETURN_NONCE_LEN],
    teacher_endpoint: &PublicKey,
    previous: &ChainId,
) -> Vec<u8> {
    let payload = proof_payload(nonce, teacher_endpoint, previous);
    let signature = participant.sign(Domain::Return, current, &payload);
    encode(&StudentMsg::ReturnProof {
        signature: signature.to_bytes().to_vec(),
    })
}

/// The teacher checks the laptop's proof: `request`'s participant key signed `nonce`
/// for game `current`, naming this endpoint's own TLS key.
pub fn check_proof(
    bytes: &[u8],
    request: &ReturnRequest,
    current: &ChainId,
    nonce: &[u8; RETURN_NONCE_LEN],
    own_endpoint: &PublicKey,
) -> Result<(), Refusal> {
    let Ok(StudentMsg::ReturnProof { signature }) =
        decode::<StudentMsg>(bytes, MAX_HANDSHAKE_MESSAGE)
    else {
        return Err(Refusal::Garbled);
    };
    let signature = signature_from(&signature).ok_or(Refusal::Garbled)?;
    let payload = proof_payload(nonce, own_endpoint, &request.previous);
    verify_one(
        &request.participant,
        Domain::Return,
        current,
        &payload,
        &signature,
    )
    .map_err(|_| Refusal::Denied("the proof of this laptop's key does not check out".into()))
}

/// The handover: `admin` (an admin of the game on `previous`) says it continues as the
/// game on `current`.
pub fn handover(admin: &Keypair, previous: &ChainId, current: &ChainId) -> Vec<u8> {
    admin
        .sign(Domain::Handover, previous, &current.0)
        .to_bytes()
        .to_vec()
}

/// The teacher's last message: the handover and the grant payload.
pub fn moved_message(handover: Vec<u8>, payload: Vec<u8>) -> Vec<u8> {
    encode(&TeacherMsg::Moved { handover, payload })
}

/// The laptop reads the teacher's last message: the grant payload, once the handover
/// checks out against the game it holds (`held`: an admin of it signed that its game
/// continues as `current`).
pub fn read_moved(bytes: &[u8], held: &Genesis, current: &ChainId) -> Result<Vec<u8>, EnrollError> {
    let (handover, payload) = match decode::<TeacherMsg>(bytes, MAX_GRANT_MESSAGE)? {
        TeacherMsg::Moved { handover, payload } => (handover, payload),
        TeacherMsg::Refused(refusal) => return Err(EnrollError::Refused(refusal)),
        _ => {
            return Err(EnrollError::Unexpected {
                expected: "Moved or Refused",
            });
        }
    };
    let signature = signature_from(&handover)
        .ok_or_else(|| EnrollError::Garbled(format!("a handover of {} bytes", handover.len())))?;
    let chain = held.chain_id();
    let signed = held
        .participants
        .iter()
        .filter(|p| p.role == Role::Admin)
        .any(|admin| {
            verify_one(&admin.key, Domain::Handover, &chain, &current.0, &signature).is_ok()
        });
    if !signed {
        return Err(EnrollError::HandoverUnproven);
    }
    Ok(payload)
}

fn signature_from(bytes: &[u8]) -> Option<Signature> {
    let bytes: &[u8; 64] = bytes.try_into().ok()?;
    Some(Signature::from_bytes(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::genesis::sample::{SampleOptions, sample_game};
    use crate::core::genesis::{DIALS_OUT, NodeSpec, PreviousGame};
    use crate::core::hash::Hash32;
    use crate::core::tx::ParticipantSpec;

    struct Class {
        first: Genesis,
        admin: Keypair,
        second: Genesis,
        ada: Keypair,
        ada_node: Keypair,
    }

    fn class() -> Class {
        let game = sample_game(&SampleOptions::default());
        let ada = Keypair::from_label("return/ada");
        let ada_node = Keypair::from_label("return/ada-node");
        let mut second = game.genesis.clone();
        second.participants.push(ParticipantSpec {
            name: "Ada".into(),
            key: ada.public(),
            role: Role::Trader,
            cash: 100,
            holdings: vec![],
        });
        second.learners.push(NodeSpec {
            id: 9,
            name: "ada-9".into(),
            key: ada_node.public(),
            address: DIALS_OUT.into(),
        });
        second.previous = Some(PreviousGame {
            chain: game.genesis.chain_id(),
            height: 3,
            block: Hash32([1; 32]),
        });
        Class {
            first: game.genesis,
            admin: game.admin,
            second,
            ada,
            ada_node,
        }
    }

    fn request(class: &Class) -> ReturnRequest {
        ReturnRequest {
            previous: class.first.chain_id(),
            participant: class.ada.public(),
            node: class.ada_node.public(),
        }
    }

    #[test]
    fn a_member_of_an_earlier_game_moves_to_the_current_one() {
        let class = class();
        let current = class.second.chain_id();
        let earlier = [class.first.chain_id()];
        let teacher_endpoint = Keypair::from_label("return/endpoint").public();
        let request = request(&class);

        let opening = return_message(&request);
        assert_eq!(read_return(&opening), Ok(Some(request.clone())));
        let (welcome, returner) = welcome(&request, &class.second, &earlier, [7; 32]).unwrap();
        assert_eq!(welcome, Welcome::Challenge([7; 32]));
        let returner = returner.unwrap();
        assert_eq!((returner.name.as_str(), returner.node_id), ("Ada", 9));

        let answer = read_answer(&welcome_message(&welcome, &current)).unwrap();
        let Answer::Challenge { chain_id, nonce } = answer else {
            panic!("{answer:?}");
        };
        assert_eq!(chain_id, current);
        let proof = proof_message(
            &class.ada,
            &chain_id,
            &nonce,
            &teacher_endpoint,
            &request.previous,
        );
        check_proof(&proof, &request, &current, &[7; 32], &teacher_endpoint).unwrap();

        let sealed = moved_message(
            handover(&class.admin, &request.previous, &current),
            b"payload".to_vec(),
        );
        assert_eq!(
            read_moved(&sealed, &class.first, &current).unwrap(),
            b"payload"
        );
    }

    #[test]
    fn strangers_relays_and_fake_classes_are_refused() {
        let class = class();
        let current = class.second.chain_id();
        let earlier = [class.first.chain_id()];
        let endpoint = Keypair::from_label("return/endpoint").public();
        let request = request(&class);

        // The current game: nothing to do.
        let on_current = ReturnRequest {
            previous: current,
            ..request.clone()
        };
        assert_eq!(
            welcome(&on_current, &class.second, &earlier, [0; 32])
                .unwrap()
                .0,
            Welcome::Current
        );
        // Another class's game.
        let elsewhere = ReturnRequest {
            previous: ChainId([5; 32]),
            ..request.clone()
        };
        assert!(welcome(&elsewhere, &class.second, &earlier, [0; 32]).is_err());
        // Keys the new game does not list, or only half of them.
        let stranger = ReturnRequest {
            participant: Keypair::from_label("return/eve").public(),
            ..request.clone()
        };
        assert!(welcome(&stranger, &class.second, &earlier, [0; 32]).is_err());
        let other_node = ReturnRequest {
            node: Keypair::from_label("return/eve-node").public(),
            ..request.clone()
        };
        assert!(welcome(&other_node, &class.second, &earlier, [0; 32]).is_err());
        // The admin's key is not a returning student's.
        let admin = ReturnRequest {
            participant: class.admin.public(),
            ..request.clone()
        };
        assert!(welcome(&admin, &class.second, &earlier, [0; 32]).is_err());

        // A proof by another key, for another nonce, or naming another endpoint (a relay).
        let eve = Keypair::from_label("return/eve");
        let by_eve = proof_message(&eve, &current, &[7; 32], &endpoint, &request.previous);
        assert!(check_proof(&by_eve, &request, &current, &[7; 32], &endpoint).is_err());
        let proof = proof_message(&class.ada, &current, &[7; 32], &endpoint, &request.previous);
        assert!(check_proof(&proof, &request, &current, &[8; 32], &endpoint).is_err());
        let relay = Keypair::from_label("return/relay").public();
        assert!(check_proof(&proof, &request, &current, &[7; 32], &relay).is_err());
        assert_eq!(
            check_proof(b"\x00junk", &request, &current, &[7; 32], &endpoint),
            Err(Refusal::Garbled)
        );

        // A handover not by the held game's admin, or for another game.
        let fake = moved_message(handover(&eve, &request.previous, &current), vec![]);
        assert_eq!(
            read_moved(&fake, &class.first, &current),
            Err(EnrollError::HandoverUnproven)
        );
        let other = moved_message(
            handover(&class.admin, &request.previous, &ChainId([6; 32])),
            vec![],
        );
        assert_eq!(
            read_moved(&other, &class.first, &current),
            Err(EnrollError::HandoverUnproven)
        );
        let short = moved_message(vec![1, 2, 3], vec![]);
        assert!(matches!(
            read_moved(&short, &class.first, &current),
            Err(EnrollError::Garbled(_))
        ));
    }
}
