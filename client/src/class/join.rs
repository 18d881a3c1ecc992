//! The student's side of enrollment: one attempt against one teacher's address, from the
//! dial to the checked grant, saying what it is doing as it goes (the teacher's approval
//! can take minutes, and a student should see what they wait for).

use std::net::SocketAddr;
use std::time::Duration;

use qraft_keys::ChainId;
use qraft_node::core::genesis::Genesis;
use qraft_node::enroll::{EnrollError, EnrollRequest, JoinCode, Student, os_seeded_rng};
use qraft_node::net::discovery::chain_prefix;
use qraft_node::net::enroll::{ChannelError, ENROLL_STEP_DEADLINE, EnrollStream};

use super::grant::{GrantError, GrantPayload};

/// How long a student waits for the teacher to approve them. A teacher approving thirty
/// names takes a few minutes; past half an hour the student should ask.
pub const APPROVAL_WAIT: Duration = Duration::from_secs(30 * 60);

/// What the attempt is doing, for the student's screen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JoinStep {
    /// Dialling the teacher's laptop.
    Dialling(SocketAddr),
    /// Connected; proving the code (and checking the teacher's proof).
    Proving,
    /// Both sides proved the code: the game's chain-id prefix, to compare with the
    /// teacher's screen, and the request is with the teacher.
    Waiting { chain_prefix: String },
}

/// A failed attempt.
#[derive(Debug, thiserror::Error)]
pub enum JoinError {
    #[error("{0}")]
    Channel(#[from] ChannelError),
    #[error("{0}")]
    Enroll(#[from] EnrollError),
    #[error("{0}")]
    Grant(#[from] GrantError),
    #[error("the teacher did not answer within {} minutes; ask them to approve you, then join again", .0.as_secs() / 60)]
    NoDecision(Duration),
}

/// What an enrolled laptop has: the game and its place in it.
#[derive(Clone, Debug)]
pub struct Joined {
    pub chain_id: ChainId,
    pub genesis: Genesis,
    pub payload: GrantPayload,
    /// The address the teacher's laptop was reached at (its voters' host).
    pub teacher: SocketAddr,
}

/// Enrolls at `teacher` with `code`, sending `request` once the teacher proved the code.
pub async fn enroll(
    endpoint: &quinn::Endpoint,
    teacher: SocketAddr,
    code: JoinCode,
    request: EnrollRequest,
    step: &(dyn Fn(JoinStep) + Sync),
) -> Result<Joined, JoinError> {
    step(JoinStep::Dialling(teacher));
    let node = request.node;
    let (hello_state, hello) = Student::start(code, request)?;
    let mut stream = EnrollStream::dial(endpoint, teacher).await?;
    step(JoinStep::Proving);
    stream.send(&hello).await?;
    let offer = stream.recv_from_teacher(ENROLL_STEP_DEADLINE).await?;
    let (proved, proof) = hello_state.offer(&offer, &mut os_seeded_rng())?;
    stream.send(&proof).await?;
    let confirm = stream.recv_from_teacher(ENROLL_STEP_DEADLINE).await?;
    let chain_id = proved.chain_id();
    let (requested, sealed) = proved.confirm(&confirm)?;
    stream.send(&sealed).await?;
    step(JoinStep::Waiting {
        chain_prefix: chain_prefix(&chain_id),
    });
    let answer = match stream.recv_from_teacher(APPROVAL_WAIT).await {
        Err(ChannelError::Silent { .. }) => return Err(JoinError::NoDecision(APPROVAL_WAIT)),
        other => other?,
    };
    let grant = requested.grant(&answer)?;
    stream.finish().await;
    let (payload, genesis) = GrantPayload::decode(&grant.payload, &grant.chain_id, &node)?;
    Ok(Joined {
        chain_id: grant.chain_id,
        genesis,
        payload,
        teacher,
    })
}
