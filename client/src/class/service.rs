//! The teacher's enrollment service: the enrollment endpoint (a separate QUIC port that
//! admits unknown keys for the join-code exchange only), the roster, and the admission of
//! approved students on the chain. It publishes a [`ClassView`] whenever something
//! changes and takes [`ClassCommand`]s (the Class panel's keys, or the headless roster).
//!
//! One task per connection runs the [`Teacher`] state machine over an [`EnrollStream`];
//! a student who proved the code takes a seat and waits for the teacher (or is approved
//! at once when their name is on the expected list, or when their keys are already on
//! the chain). Approval registers them ([`Admitter`]) and sends the sealed grant.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use qraft_keys::{ChainId, Keypair};
use qraft_node::api::Handle;
use qraft_node::core::genesis::Genesis;
use qraft_node::core::types::NodeId;
use qraft_node::enroll::returning::{self, ReturnRequest, Welcome};
use qraft_node::enroll::wire::RETURN_NONCE_LEN;
use qraft_node::enroll::{
    EnrollRequest, JoinCode, Limits, PendingGrant, Refusal, Teacher, os_seeded_rng,
};
use qraft_node::net::discovery::chain_prefix;
use qraft_node::net::enroll::{
    ChannelError, EnrollStream, MAX_ENROLL_CONNECTIONS, enroll_server_endpoint,
};
use qraft_node::net::tls::{TlsError, TlsIdentity};
use tokio::sync::{Semaphore, mpsc, oneshot, watch};

use super::admit::{Admitted, Admitter, Allowance, admitted_earlier};
use super::grant::{GrantPayload, GrantVoter};
use super::promote::{LocalVoter, Promoted, Promoter};
use super::roster::{ExpectedNames, Roster};
use super::view::{ClassCommand, ClassView, PromotionState, PromotionView, SeatState};

/// Commands queued from the panel, at most: a teacher presses keys, one at a time.
const COMMAND_QUEUE: usize = 64;

/// How to run the class.
pub struct ClassOptions {
    /// The game's name, shown to students.
    pub game: String,
    pub genesis: Genesis,
    /// The teacher's admin key: it signs every registration and never leaves this laptop.
    pub admin: Keypair,
    /// The voters in this process; registrations go through the first. Promotions
    /// ([`ClassCommand::Promote`]) read where laptops connect from, and propose
    /// membership changes, through them. Must not be empty.
    pub local: Vec<LocalVoter>,
    /// The voters, as students' nodes reach them.
    pub voters: Vec<GrantVoter>,
    pub allowance: Allowance,
    /// Names approved on arrival.
    pub expected: ExpectedNames,
    /// Where the enrollment endpoint listens.
    pub listen: SocketAddr,
    /// The enrollment endpoint's TLS identity (any key: the code proves the teacher).
    pub identity: TlsIdentity,
    /// The addresses shown for `qraft join HOST:PORT`, and whether the game is advertised.
    pub addresses: Vec<SocketAddr>,
    pub advertised: bool,
    pub limits: Limits,
    /// The join code; a fresh one when `None`.
    pub code: Option<JoinCode>,
    /// The class's earlier games: laptops that hold one of them move to this game
    /// without a code ([`qraft_node::enroll::returning`]).
    pub earlier: Vec<ChainId>,
}

/// Why the class could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClassError {
    #[error("cannot open the enrollment port: {0}")]
    Endpoint(#[from] TlsError),
}

/// The running service. Dropping it stops it.
pub struct ClassService {
    class: Arc<Class>,
    commands: mpsc::Sender<ClassCommand>,
    endpoint: quinn::Endpoint,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

/// The teacher's decision on one waiting seat.
#[derive(Debug)]
enum Decision {
    Approve,
    Refuse(String),
}

/// What the connection tasks and the command task share.
struct Class {
    teacher: Mutex<Teacher>,
    roster: Mutex<Roster>,
    /// The decision channel of each waiting seat.
    pending: Mutex<BTreeMap<u32, oneshot::Sender<Decision>>>,
    expected: ExpectedNames,
    admitter: Admitter,
    promoter: Promoter,
    /// A promotion is under way: one at a time (each changes the membership the next
    /// one starts from).
    promoting: std::sync::atomic::AtomicBool,
    game: String,
    genesis: Genesis,
    voters: Vec<GrantVoter>,
    view: watch::Sender<ClassView>,
    /// The teacher's admin key: it signs the handover to a returning laptop.
    admin: Keypair,
    /// The enrollment endpoint's TLS key, which a returning laptop's proof names.
    endpoint_key: qraft_keys::PublicKey,
    earlier: Vec<ChainId>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|p| p.into_inner())
}

impl ClassService {
    /// Opens the enrollment endpoint and starts serving. Must be called inside a tokio
    /// runtime.
    pub fn start(options: ClassOptions) -> Result<ClassService, ClassError> {
        assert!(
            !options.local.is_empty(),
            "a class runs its voters in its own process"
        );
        let endpoint = enroll_server_endpoint(options.listen, &options.identity)?;
        let chain_id = options.genesis.chain_id();
        let code = options
            .code
            .unwrap_or_else(|| JoinCode::generate(&mut os_seeded_rng()));
        let first = ClassView {
            game: options.game.clone(),
            chain_prefix: chain_prefix(&options.genesis.chain_id()),
            code: Some(code.to_string()),
            addresses: options.addresses,
            advertised: options.advertised,
            roster: Vec::new(),
            refused_attempts: 0,
            voters: Vec::new(),
            promotion: None,
        };
        let (view, _) = watch::channel(first);
        let class = Arc::new(Class {
            teacher: Mutex::new(Teacher::new(chain_id, code, options.limits)),
            roster: Mutex::new(Roster::default()),
            pending: Mutex::new(BTreeMap::new()),
            expected: options.expected,
            admitter: Admitter::new(
                options.local[0].handle.clone(),
                options.admin.clone(),
                options.genesis.clone(),
                options.allowance,
            ),
            promoter: Promoter::new(
                options.local.clone(),
                options.admin.clone(),
                options.genesis.clone(),
            ),
            promoting: std::sync::atomic::AtomicBool::new(false),
            game: options.game,
            genesis: options.genesis,
            voters: options.voters,
            view,
            admin: options.admin,
            endpoint_key: options.identity.public_key(),
            earlier: options.earlier,
        });
        let (commands, command_rx) = mpsc::channel(COMMAND_QUEUE);
        let tasks = vec![
            tokio::spawn(accept_loop(endpoint.clone(), class.clone())),
            tokio::spawn(command_loop(command_rx, class.clone())),
            tokio::spawn(keep_voters(class.clone(), options.local[0].handle.clone())),
            tokio::spawn(seat_earlier_students(
                class.clone(),
                options.local[0].handle.clone(),
            )),
        ];
        Ok(ClassService {
            class,
            commands,
            endpoint,
            tasks,
        })
    }

    /// The class as it is now, and as it changes.
    pub fn view(&self) -> watch::Receiver<ClassView> {
        self.class.view.subscribe()
    }

    /// Shows `addresses` as where students reach the class (this laptop's addresses
    /// changed: a new DHCP lease).
    pub fn set_addresses(&self, addresses: Vec<SocketAddr>) {
        self.class.view.send_if_modified(|view| {
            let changed = view.addresses != addresses;
            view.addresses = addresses;
            changed
        });
    }

    /// Where the teacher's commands go.
    pub fn commands(&self) -> mpsc::Sender<ClassCommand> {
        self.commands.clone()
    }

    /// Where the enrollment endpoint listens.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.endpoint.local_addr()
    }

    /// Stops serving: closes the endpoint and every exchange under way.
    pub fn stop(&mut self) {
        for task in self.tasks.drain(..) {
            task.abort();
        }
        self.endpoint.close(0u32.into(), b"the class is over");
    }
}

impl Drop for ClassService {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Class {
    /// Publishes the view again after `change`.
    fn publish(&self, change: impl FnOnce(&mut ClassView)) {
        self.view.send_modify(|view| {
            change(view);
            lock(&self.roster).fill(view);
        });
    }

    fn set_seat(&self, seat: u32, state: SeatState) {
        lock(&self.roster).set(seat, state);
        self.publish(|_| {});
    }

    /// The joined seat of `name` on node `node`, if there is one.
    fn seat_of(&self, name: &str, node: NodeId) -> Option<u32> {
        lock(&self.roster)
            .entries()
            .iter()
            .find(|e| e.name == name && e.state == SeatState::Joined { node })
            .map(|e| e.seat)
    }

    fn refused_attempt(&self) {
        self.publish(|view| view.refused_attempts += 1);
    }
}

async fn command_loop(mut commands: mpsc::Receiver<ClassCommand>, class: Arc<Class>) {
    while let Some(command) = commands.recv().await {
        match command {
            ClassCommand::Approve(seat) => decide(&class, seat, Decision::Approve),
            ClassCommand::Refuse(seat) => decide(
                &class,
                seat,
                Decision::Refuse("the teacher did not approve this name".into()),
            ),
            ClassCommand::ApproveAll => {
                let waiting = lock(&class.roster).waiting();
                for seat in waiting {
                    decide(&class, seat, Decision::Approve);
                }
            }
            ClassCommand::Close => {
                lock(&class.teacher).close();
                tracing::info!("joining closed: the code no longer works");
                class.publish(|view| view.code = None);
            }
            ClassCommand::Reopen => {
                let code = JoinCode::generate(&mut os_seeded_rng());
                let text = code.to_string();
                lock(&class.teacher).reopen(code);
                tracing::info!("joining reopened with a new code");
                class.publish(|view| view.code = Some(text));
            }
            ClassCommand::Promote(seat) => promote(&class, seat),
        }
    }
}

/// Starts making seat `seat`'s machine a voter, unless one is under way or the seat has
/// not joined; the view follows its steps.
fn promote(class: &Arc<Class>, seat: u32) {
    let Some(entry) = lock(&class.roster).get(seat).cloned() else {
        return;
    };
    let show = |state: PromotionState| {
        let promotion = PromotionView {
            seat,
            name: entry.name.clone(),
            state,
        };
        class.publish(move |view| view.promotion = Some(promotion));
    };
    let SeatState::Joined { node } = entry.state else {
        show(PromotionState::Failed(format!(
            "seat {seat} has not joined: only a joined machine can be made a voter"
        )));
        return;
    };
    if class
        .promoting
        .swap(true, std::sync::atomic::Ordering::AcqRel)
    {
        show(PromotionState::Failed(
            "another machine is being made a voter; wait for it to finish".into(),
        ));
        return;
    }
    show(PromotionState::Working(
        "finding where it connects from".into(),
    ));
    let class = class.clone();
    tokio::spawn(async move {
        let name = entry.name.clone();
        let step = {
            let class = class.clone();
            let name = name.clone();
            move |step: String| {
                tracing::info!(%name, node, %step, "making a machine a voter");
                let promotion = PromotionView {
                    seat,
                    name: name.clone(),
                    state: PromotionState::Working(step),
                };
                class.publish(move |view| view.promotion = Some(promotion));
            }
        };
        let outcome = class.promoter.promote(&class.admitter, node, &step).await;
        let state = match outcome {
            Ok(Promoted { address, retired }) => {
                tracing::info!(%name, node, %address, ?retired, "a machine is a voter now");
                PromotionState::Done { address, retired }
            }
            Err(err) => {
                tracing::warn!(%name, node, %err, "a machine could not be made a voter");
                PromotionState::Failed(err.to_string())
            }
        };
        let voters = class.promoter.voters().await.ok();
        // Free before the end is shown: a teacher who reads it may promote the next.
        class
            .promoting
            .store(false, std::sync::atomic::Ordering::Release);
        class.publish(move |view| {
            view.promotion = Some(PromotionView { seat, name, state });
            if let Some(voters) = voters {
                view.voters = voters;
            }
        });
    });
}

/// Seats, joined, for the students an earlier `qraft class` in this folder admitted, so
/// a class that continues shows them (and its teacher can make their machines voters).
async fn seat_earlier_students(class: Arc<Class>, handle: Handle) {
    // A next game lists the students' nodes as learners: only its voters are no one's.
    let in_genesis: Vec<NodeId> = class.genesis.voters.iter().map(|n| n.id).collect();
    let (Ok(rows), Ok(nodes)) = (handle.leaderboard().await, handle.nodes().await) else {
        return;
    };
    let participants: Vec<String> = rows.into_iter().map(|row| row.name).collect();
    let earlier = admitted_earlier(&participants, &nodes, &in_genesis);
    if earlier.is_empty() {
        return;
    }
    {
        let mut roster = lock(&class.roster);
        for (name, node) in earlier {
            if !roster.name_in_use(&name, 0) {
                roster.arrive(&name, None, SeatState::Joined { node });
            }
        }
    }
    class.publish(|_| {});
}

/// How often the voters shown are read again without a membership event: a leader
/// change elsewhere, or events missed.
const VOTERS_REFRESH: std::time::Duration = std::time::Duration::from_secs(5);

/// Keeps the view's voters in step with the cluster's membership.
async fn keep_voters(class: Arc<Class>, handle: Handle) {
    let mut events = handle.subscribe();
    loop {
        if let Ok(voters) = class.promoter.voters().await {
            class.view.send_if_modified(|view| {
                let changed = view.voters != voters;
                view.voters = voters;
                changed
            });
        }
        let wake = async {
            loop {
                match events.recv().await {
                    Ok(qraft_node::api::NodeEvent::MembershipChanged { .. })
                    | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => return true,
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return false,
                }
            }
        };
        tokio::select! {
            open = wake => if !open { return },
            () = tokio::time::sleep(VOTERS_REFRESH) => {}
        }
    }
}

/// Hands `decision` to a waiting seat's exchange (nothing if it is not waiting).
fn decide(class: &Class, seat: u32, decision: Decision) {
    if let Some(waiter) = lock(&class.pending).remove(&seat) {
        let _ = waiter.send(decision);
    }
}

async fn accept_loop(endpoint: quinn::Endpoint, class: Arc<Class>) {
    let permits = Arc::new(Semaphore::new(MAX_ENROLL_CONNECTIONS));
    let per_address = PerAddress::default();
    while let Some(incoming) = endpoint.accept().await {
        let source = incoming.remote_address().ip().to_canonical();
        let Some(slot) = per_address.take(source) else {
            incoming.refuse();
            continue;
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            incoming.refuse();
            continue;
        };
        let class = class.clone();
        tokio::spawn(async move {
            let connection = match incoming.await {
                Ok(connection) => connection,
                Err(err) => {
                    tracing::debug!(%source, %err, "an enrollment handshake failed");
                    return;
                }
            };
            if let Err(err) = serve(connection, source, &class).await {
                tracing::debug!(%source, %err, "an enrollment exchange ended");
            }
            drop((permit, slot));
        });
    }
}

/// Enrollment connections one address may hold at once: a laptop enrolls on one, and a
/// student retrying after a failure holds a second for a moment; eight leave room for a
/// few laptops behind one address, while one program cannot take the endpoint's
/// [`MAX_ENROLL_CONNECTIONS`] for itself.
pub const MAX_CONNECTIONS_PER_ADDRESS: usize = 8;

/// Seats one address may have waiting for the teacher at once: a laptop waits on one;
/// a program that knows the code cannot flood the roster with names.
pub const MAX_WAITING_PER_ADDRESS: usize = 3;

/// The enrollment connections each address holds.
#[derive(Clone, Default)]
struct PerAddress {
    held: Arc<Mutex<BTreeMap<IpAddr, usize>>>,
}

/// One connection's place in its address's count, given back when dropped.
struct AddressSlot {
    held: Arc<Mutex<BTreeMap<IpAddr, usize>>>,
    address: IpAddr,
}

impl PerAddress {
    /// A place for one more connection from `address`, if it holds fewer than
    /// [`MAX_CONNECTIONS_PER_ADDRESS`].
    fn take(&self, address: IpAddr) -> Option<AddressSlot> {
        let mut held = lock(&self.held);
        let count = held.entry(address).or_insert(0);
        if *count >= MAX_CONNECTIONS_PER_ADDRESS {
            return None;
        }
        *count += 1;
        Some(AddressSlot {
            held: self.held.clone(),
            address,
        })
    }
}

impl Drop for AddressSlot {
    fn drop(&mut self) {
        let mut held = lock(&self.held);
        if let Some(count) = held.get_mut(&self.address) {
            *count -= 1;
            if *count == 0 {
                held.remove(&self.address);
            }
        }
    }
}

/// Why an exchange ended early (for the log).
#[derive(Debug, thiserror::Error)]
enum ServeError {
    #[error("{0}")]
    Channel(#[from] ChannelError),
    #[error("refused: {0}")]
    Refused(Refusal),
}

/// One student's exchange, from hello to grant or refusal.
async fn serve(
    connection: quinn::Connection,
    source: IpAddr,
    class: &Class,
) -> Result<(), ServeError> {
    let mut stream = EnrollStream::accept(connection).await?;
    let hello = stream.recv_from_student().await?;
    match returning::read_return(&hello) {
        Ok(Some(request)) => return serve_return(stream, class, request).await,
        Ok(None) => {}
        Err(refusal) => {
            let reply = returning::refusal_message(refusal.clone());
            return refuse(stream, class, reply, refusal).await;
        }
    }
    let begun = lock(&class.teacher).begin(source, Instant::now(), &hello, &mut os_seeded_rng());
    let (attempt, offer) = match begun {
        Ok(ok) => ok,
        Err(rejected) => return refuse(stream, class, rejected.reply, rejected.refusal).await,
    };
    stream.send(&offer).await?;
    let proof = stream.recv_from_student().await?;
    let proved = attempt.proof(&mut lock(&class.teacher), &proof);
    let (confirmed, confirm) = match proved {
        Ok(ok) => ok,
        Err(rejected) => return refuse(stream, class, rejected.reply, rejected.refusal).await,
    };
    stream.send(&confirm).await?;
    let request = stream.recv_from_student().await?;
    let requested = confirmed.request(&lock(&class.teacher), &request);
    let (request, pending) = match requested {
        Ok(ok) => ok,
        Err(rejected) => return refuse(stream, class, rejected.reply, rejected.refusal).await,
    };
    tracing::info!(name = %request.name, %source, "a student proved the join code");
    seat_and_answer(stream, source, class, request, pending).await
}

/// A laptop of an earlier game of the class: told it holds the current game, or moved
/// to it once its participant key signed the challenge.
async fn serve_return(
    mut stream: EnrollStream,
    class: &Class,
    request: ReturnRequest,
) -> Result<(), ServeError> {
    let Ok(nonce) = qraft_keys::random_bytes::<RETURN_NONCE_LEN>() else {
        let refusal = Refusal::Denied("the teacher's laptop has no randomness to offer".into());
        let reply = returning::refusal_message(refusal.clone());
        return refuse(stream, class, reply, refusal).await;
    };
    let current = class.genesis.chain_id();
    let (welcome, returner) =
        match returning::welcome(&request, &class.genesis, &class.earlier, nonce) {
            Ok(ok) => ok,
            Err(refusal) => {
                let reply = returning::refusal_message(refusal.clone());
                return refuse(stream, class, reply, refusal).await;
            }
        };
    stream
        .send(&returning::welcome_message(&welcome, &current))
        .await?;
    let (Welcome::Challenge(_), Some(returner)) = (welcome, returner) else {
        stream.finish().await;
        return Ok(());
    };
    let proof = stream.recv_from_student().await?;
    if let Err(refusal) =
        returning::check_proof(&proof, &request, &current, &nonce, &class.endpoint_key)
    {
        let reply = returning::refusal_message(refusal.clone());
        return refuse(stream, class, reply, refusal).await;
    }
    let payload = grant_payload(class, &returner.name, returner.node_id, &returner.node_name);
    let handover = returning::handover(&class.admin, &request.previous, &current);
    stream
        .send(&returning::moved_message(handover, payload.encode()))
        .await?;
    stream.finish().await;
    tracing::info!(name = %returner.name, node = returner.node_id, "a laptop moved to this game");
    Ok(())
}

async fn refuse(
    mut stream: EnrollStream,
    class: &Class,
    reply: Vec<u8>,
    refusal: Refusal,
) -> Result<(), ServeError> {
    if matches!(refusal, Refusal::WrongCode | Refusal::RateLimited { .. }) {
        class.refused_attempt();
    }
    stream.send(&reply).await?;
    stream.finish().await;
    Err(ServeError::Refused(refusal))
}

/// Seats a student who proved the code, waits for the teacher's decision (or approves at
/// once), registers them and sends the grant or the refusal.
async fn seat_and_answer(
    mut stream: EnrollStream,
    source: IpAddr,
    class: &Class,
    request: EnrollRequest,
    pending: PendingGrant,
) -> Result<(), ServeError> {
    // A laptop enrolling again with keys already on the chain is theirs: no new seat
    // decision is needed. (Public keys are public: a request naming someone else's keys
    // and name gets this path too, and with it nothing: no registration happens, and a
    // grant holds nothing secret, only what lets the keys' holder run their node.)
    let returning = class.admitter.returning(&request).await;
    if let Ok(Some(admitted)) = &returning
        && class.seat_of(&request.name, admitted.node_id).is_some()
    {
        // Her laptop enrolls again (it lost its grant): the seat she has is hers.
        let payload = grant_payload(class, &request.name, admitted.node_id, &admitted.node_name);
        if let Ok(grant) = pending.grant(&payload.encode()) {
            stream.send(&grant).await?;
        }
        stream.finish().await;
        return Ok(());
    }
    let auto = matches!(returning, Ok(Some(_))) || class.expected.contains(&request.name);
    let seated = {
        let mut roster = lock(&class.roster);
        let waiting_here = roster
            .entries()
            .iter()
            .filter(|e| e.from == Some(source) && e.state == SeatState::Waiting)
            .count();
        if waiting_here >= MAX_WAITING_PER_ADDRESS {
            Err("too many requests from this laptop are already waiting for the teacher".to_owned())
        } else if !matches!(returning, Ok(Some(_))) && roster.name_in_use(&request.name, 0) {
            Err(format!(
                "another laptop already uses the name {:?}; join again with another (add an initial)",
                request.name
            ))
        } else {
            let state = if auto {
                SeatState::Admitting
            } else {
                SeatState::Waiting
            };
            roster
                .arrive(&request.name, Some(source), state)
                .ok_or_else(|| "the class is full; ask the teacher".to_owned())
        }
    };
    let seat = match seated {
        Ok(seat) => seat,
        Err(reason) => {
            stream.send(&pending.refuse(&reason)).await?;
            stream.finish().await;
            return Ok(());
        }
    };
    class.publish(|_| {});
    if let Err(err) = returning {
        return fail(stream, class, seat, pending, err.to_string()).await;
    }
    if !auto {
        let (decided, decision) = oneshot::channel();
        lock(&class.pending).insert(seat, decided);
        let connection = stream.connection.clone();
        let decision = tokio::select! {
            decision = decision => decision.ok(),
            _ = connection.closed() => None,
        };
        lock(&class.pending).remove(&seat);
        match decision {
            None => {
                tracing::info!(name = %request.name, "a student left before the teacher decided");
                class.set_seat(seat, SeatState::Left);
                return Ok(());
            }
            Some(Decision::Refuse(reason)) => {
                class.set_seat(
                    seat,
                    SeatState::Refused {
                        reason: reason.clone(),
                    },
                );
                stream.send(&pending.refuse(&reason)).await?;
                stream.finish().await;
                return Ok(());
            }
            Some(Decision::Approve) => class.set_seat(seat, SeatState::Admitting),
        }
    }
    let admitted = match class.admitter.admit(&request).await {
        Ok(admitted) => admitted,
        Err(err) => return fail(stream, class, seat, pending, err.to_string()).await,
    };
    let Admitted {
        node_id, node_name, ..
    } = admitted;
    let payload = grant_payload(class, &request.name, node_id, &node_name);
    let grant = match pending.grant(&payload.encode()) {
        Ok(grant) => grant,
        Err(err) => {
            let reason = format!("the grant could not be sealed: {err}");
            class.set_seat(seat, SeatState::Failed { reason });
            return Ok(());
        }
    };
    stream.send(&grant).await?;
    stream.finish().await;
    tracing::info!(name = %request.name, node = node_id, "a student joined");
    class.set_seat(seat, SeatState::Joined { node: node_id });
    Ok(())
}

async fn fail(
    mut stream: EnrollStream,
    class: &Class,
    seat: u32,
    pending: PendingGrant,
    reason: String,
) -> Result<(), ServeError> {
    tracing::warn!(seat, %reason, "a student could not be registered");
    class.set_seat(
        seat,
        SeatState::Failed {
            reason: reason.clone(),
        },
    );
    stream.send(&pending.refuse(&reason)).await?;
    stream.finish().await;
    Ok(())
}

/// The grant of `name`, whose laptop's node is `node_id` (`node_name`), in this class's
/// game.
fn grant_payload(class: &Class, name: &str, node_id: NodeId, node_name: &str) -> GrantPayload {
    GrantPayload::new(
        &class.game,
        &class.genesis,
        name,
        node_id,
        node_name,
        class.voters.clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_holds_a_bounded_number_of_connections_and_gets_them_back() {
        let per_address = PerAddress::default();
        let eve: IpAddr = "10.0.0.66".parse().unwrap();
        let ada: IpAddr = "10.0.0.11".parse().unwrap();
        let held: Vec<AddressSlot> = (0..MAX_CONNECTIONS_PER_ADDRESS)
            .map(|_| per_address.take(eve).expect("room"))
            .collect();
        assert!(per_address.take(eve).is_none(), "the ninth is refused");
        assert!(per_address.take(ada).is_some(), "another address is not");
        drop(held);
        assert!(per_address.take(eve).is_some(), "given back when they end");
        assert!(lock(&per_address.held).len() <= 1);
    }
}
