//! A laptop of an earlier game of the class moving to the current one, the laptop's
//! side: it asks the teacher's enrollment port with the keys it has, proves its
//! participant key, and accepts the new game only with a handover signed by the teacher
//! of the game it holds ([`qraft_node::enroll::returning`] has the exchange and why it
//! holds).

use std::net::SocketAddr;

use qraft_keys::{Keypair, PublicKey};
use qraft_node::core::genesis::Genesis;
use qraft_node::enroll::EnrollError;
use qraft_node::enroll::returning::{
    Answer, ReturnRequest, proof_message, read_answer, read_moved, return_message,
};
use qraft_node::net::enroll::{ENROLL_STEP_DEADLINE, EnrollStream};

use super::grant::GrantPayload;
use super::join::{JoinError, Joined};

/// What the teacher's laptop said.
#[derive(Clone, Debug)]
pub enum Returned {
    /// The laptop's game is the class's current one.
    Current,
    /// The class moved on: the game to play now.
    Moved(Box<Joined>),
}

/// Asks the class at `teacher` (its enrollment port) whether it still plays `held`, and
/// moves to its current game when it does not.
pub async fn return_to_class(
    endpoint: &quinn::Endpoint,
    teacher: SocketAddr,
    held: &Genesis,
    participant: &Keypair,
    node: PublicKey,
) -> Result<Returned, JoinError> {
    let request = ReturnRequest {
        previous: held.chain_id(),
        participant: participant.public(),
        node,
    };
    let mut stream = EnrollStream::dial(endpoint, teacher).await?;
    let Some(teacher_key) = stream.peer_key() else {
        return Err(JoinError::Enroll(EnrollError::Garbled(
            "the teacher's laptop showed no usable certificate".into(),
        )));
    };
    stream.send(&return_message(&request)).await?;
    let answer = read_answer(&stream.recv_from_teacher(ENROLL_STEP_DEADLINE).await?)?;
    let (current, nonce) = match answer {
        Answer::Current => {
            stream.finish().await;
            return Ok(Returned::Current);
        }
        Answer::Challenge { chain_id, nonce } => (chain_id, nonce),
    };
    let proof = proof_message(
        participant,
        &current,
        &nonce,
        &teacher_key,
        &request.previous,
    );
    stream.send(&proof).await?;
    let moved = stream.recv_from_teacher(ENROLL_STEP_DEADLINE).await?;
    stream.finish().await;
    let payload = read_moved(&moved, held, &current)?;
    let (payload, genesis) = GrantPayload::decode(&payload, &current, &node)?;
    if !genesis
        .participants
        .iter()
        .any(|p| p.key == request.participant && p.name == payload.participant)
    {
        return Err(JoinError::Enroll(EnrollError::Garbled(
            "the new game does not list this laptop's participant under its name".into(),
        )));
    }
    Ok(Returned::Moved(Box::new(Joined {
        chain_id: current,
        genesis,
        payload,
        teacher,
    })))
}
