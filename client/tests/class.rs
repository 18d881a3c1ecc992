//! The teacher's class service against an in-process three-voter game over real QUIC:
//! students enrolling by code through the real enrollment channel, approved by the list
//! or by the teacher, registered on the chain; a laptop enrolling again with its keys;
//! a second laptop taking a name in use; wrong codes counted and rate-limited; joining
//! closed and reopened with a new code.

use std::net::SocketAddr;
use std::time::Duration;

use qraft_client::class::admit::Allowance;
use qraft_client::class::grant::{GrantVoter, VoterAddress};
use qraft_client::class::join::{JoinError, Joined, enroll};
use qraft_client::class::promote::LocalVoter;
use qraft_client::class::roster::ExpectedNames;
use qraft_client::class::service::{ClassOptions, ClassService};
use qraft_client::class::{ClassCommand, ClassView, SeatState};
use qraft_keys::Keypair;
use qraft_node::config::Tuning;
use qraft_node::core::genesis::DIALS_OUT;
use qraft_node::core::genesis::sample::{SampleGame, SampleOptions};
use qraft_node::enroll::{EnrollError, EnrollRequest, JoinCode, Limits, Refusal};
use qraft_node::net::enroll::enroll_client_endpoint;
use qraft_node::net::node::NetNode;
use qraft_node::net::tls::TlsIdentity;
use qraft_node::testkit::quic::{loopback_game, start_voters};
use tokio::sync::watch;

const WAIT: Duration = Duration::from_secs(30);
const CODE: &str = "42-tulip-maple";

fn laptop(name: &str) -> EnrollRequest {
    EnrollRequest {
        name: name.to_owned(),
        participant: Keypair::generate().unwrap().public(),
        node: Keypair::generate().unwrap().public(),
    }
}

fn service(game: &SampleGame, nodes: &[NetNode]) -> ClassService {
    ClassService::start(ClassOptions {
        game: "Period 3".into(),
        genesis: game.genesis.clone(),
        admin: game.admin.clone(),
        local: nodes
            .iter()
            .map(|node| LocalVoter {
                handle: node.handle.clone(),
                locator: node.locator().unwrap(),
            })
            .collect(),
        voters: game
            .genesis
            .voters
            .iter()
            .map(|v| GrantVoter {
                id: v.id,
                address: VoterAddress::TeacherPort(7801),
            })
            .collect(),
        allowance: Allowance {
            cash: 500_000,
            shares: 7,
        },
        expected: ExpectedNames::parse("name\nAda\n", "roster.csv").unwrap(),
        listen: "127.0.0.1:0".parse().unwrap(),
        identity: TlsIdentity::from_keypair(&Keypair::generate().unwrap()).unwrap(),
        addresses: vec![],
        advertised: false,
        limits: Limits::default(),
        code: Some(CODE.parse().unwrap()),
        earlier: vec![],
    })
    .unwrap()
}

async fn join(at: SocketAddr, code: &str, request: &EnrollRequest) -> Result<Joined, JoinError> {
    let endpoint = enroll_client_endpoint().unwrap();
    let code: JoinCode = code.parse().unwrap();
    enroll(&endpoint, at, code, request.clone(), &|_| {}).await
}

/// Waits until the view satisfies `ready`.
async fn until(
    view: &mut watch::Receiver<ClassView>,
    ready: impl Fn(&ClassView) -> bool,
) -> ClassView {
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            {
                let now = view.borrow_and_update();
                if ready(&now) {
                    return now.clone();
                }
            }
            view.changed().await.unwrap();
        }
    })
    .await;
    waited.unwrap_or_else(|_| panic!("the class view never got there: {:?}", view.borrow()))
}

fn refusal(result: Result<Joined, JoinError>) -> Refusal {
    match result {
        Err(JoinError::Enroll(EnrollError::Refused(refusal))) => refusal,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn students_enroll_by_code_and_the_chain_registers_them() {
    let game = loopback_game(&SampleOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_voters(&game, dir.path(), Tuning::default())
        .await
        .unwrap();
    let handle = nodes[0].handle.clone();
    let mut class = service(&game, &nodes);
    let at = class.local_addr().unwrap();
    let mut view = class.view();
    let commands = class.commands();

    // Ada is on the list: approved on arrival, registered, granted.
    let ada = laptop("Ada");
    let joined = join(at, CODE, &ada).await.unwrap();
    assert_eq!(joined.chain_id, game.genesis.chain_id());
    assert_eq!(joined.payload.participant, "Ada");
    let node_id = joined.payload.node_id;
    assert_eq!(node_id, 4, "the next id after the three voters");
    let account = handle
        .account(ada.participant)
        .await
        .unwrap()
        .expect("Ada's account");
    assert_eq!((account.name.as_str(), account.cash), ("Ada", 500_000));
    assert!(
        account.positions.iter().all(|p| p.shares == 7),
        "{account:?}"
    );
    let registered = handle.node(node_id).await.unwrap().expect("Ada's node");
    assert_eq!(
        (registered.key, registered.address.as_str()),
        (ada.node, DIALS_OUT)
    );
    until(&mut view, |v| {
        v.roster
            .iter()
            .any(|e| e.state == SeatState::Joined { node: 4 })
    })
    .await;

    // Her laptop lost its grant and enrolls again with the same keys: the same node.
    let again = join(at, CODE, &ada).await.unwrap();
    assert_eq!(again.payload.node_id, node_id);
    assert_eq!(view.borrow().roster.len(), 1, "her seat, not a second one");
    assert_eq!(
        handle.nodes().await.unwrap().len(),
        4,
        "nothing new registered"
    );

    // Another laptop takes her name: refused, saying why.
    let other = refusal(join(at, CODE, &laptop("ada")).await);
    assert!(
        matches!(&other, Refusal::Denied(why) if why.contains("already uses the name")),
        "{other}"
    );

    // Bob is not on the list: he waits for the teacher, who approves everyone waiting.
    let bob = laptop("Bob");
    let bob_joins = tokio::spawn(async move { join(at, CODE, &bob).await });
    until(&mut view, |v| {
        v.roster
            .iter()
            .any(|e| e.name == "Bob" && e.state == SeatState::Waiting)
    })
    .await;
    // One address may have three seats waiting, no more (a program that knows the code
    // cannot flood the roster).
    let mut waiting = vec![bob_joins];
    for name in ["Dan", "Fay"] {
        let student = laptop(name);
        waiting.push(tokio::spawn(async move { join(at, CODE, &student).await }));
        until(&mut view, |v| {
            v.roster
                .iter()
                .any(|e| e.name == name && e.state == SeatState::Waiting)
        })
        .await;
    }
    let flood = refusal(join(at, CODE, &laptop("Gus")).await);
    assert!(
        matches!(&flood, Refusal::Denied(why) if why.contains("too many requests")),
        "{flood}"
    );
    commands.send(ClassCommand::ApproveAll).await.unwrap();
    let mut ids = Vec::new();
    for joining in waiting {
        ids.push(joining.await.unwrap().unwrap().payload.node_id);
    }
    ids.sort_unstable();
    assert_eq!(ids, vec![5, 6, 7]);

    // Closing expires the code; reopening makes a new one, which works.
    commands.send(ClassCommand::Close).await.unwrap();
    until(&mut view, |v| v.code.is_none()).await;
    assert_eq!(
        refusal(join(at, CODE, &laptop("Cy")).await),
        Refusal::Closed
    );
    commands.send(ClassCommand::Reopen).await.unwrap();
    let reopened = until(&mut view, |v| v.code.is_some()).await;
    let code = reopened.code.unwrap();
    assert_ne!(code, CODE);
    // (Cy is not on the list: approved by the teacher.)
    let cy = laptop("Cy");
    let cy_joins = tokio::spawn(async move { join(at, &code, &cy).await });
    until(&mut view, |v| {
        v.roster
            .iter()
            .any(|e| e.name == "Cy" && e.state == SeatState::Waiting)
    })
    .await;
    let seat = view
        .borrow()
        .roster
        .iter()
        .find(|e| e.name == "Cy")
        .unwrap()
        .seat;
    commands.send(ClassCommand::Approve(seat)).await.unwrap();
    assert_eq!(cy_joins.await.unwrap().unwrap().payload.node_id, 8);

    // Wrong codes from one address: refused five times, then held back (last: every
    // laptop here shares 127.0.0.1, and the limit is per address).
    let eve = laptop("Eve");
    for _ in 0..5 {
        assert_eq!(
            refusal(join(at, "43-tulip-maple", &eve).await),
            Refusal::WrongCode
        );
    }
    assert!(matches!(
        refusal(join(at, "43-tulip-maple", &eve).await),
        Refusal::RateLimited { .. }
    ));
    until(&mut view, |v| v.refused_attempts == 6).await;

    class.stop();
    for node in nodes {
        node.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_greedy_or_silent_laptop_holds_the_enrollment_port_for_seconds_at_most() {
    use qraft_client::class::service::MAX_CONNECTIONS_PER_ADDRESS;
    use qraft_node::net::enroll::ENROLL_STEP_DEADLINE;

    let game = loopback_game(&SampleOptions::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let nodes = start_voters(&game, dir.path(), Tuning::default())
        .await
        .unwrap();
    let mut class = service(&game, &nodes);
    let at = class.local_addr().unwrap();
    let endpoint = enroll_client_endpoint().unwrap();
    let dial = || async { endpoint.connect(at, "enroll.qraft").unwrap().await };

    // A laptop that says hello, hears the offer and then nothing more...
    let (_, hello) =
        qraft_node::enroll::Student::start(CODE.parse().unwrap(), laptop("Zed")).unwrap();
    let mut stream = qraft_node::net::enroll::EnrollStream::dial(&endpoint, at)
        .await
        .unwrap();
    stream.send(&hello).await.unwrap();
    stream
        .recv_from_teacher(Duration::from_secs(5))
        .await
        .expect("the offer");

    // ... and others that say nothing at all: one address holds a bounded number of
    // connections, and the next is refused at once.
    let mut held = vec![stream.connection.clone()];
    while held.len() < MAX_CONNECTIONS_PER_ADDRESS {
        held.push(dial().await.expect("room for this one"));
    }
    assert!(
        dial().await.is_err(),
        "one connection too many was accepted"
    );

    // The teacher closes every one of them within a step's deadline...
    for connection in &held {
        tokio::time::timeout(
            ENROLL_STEP_DEADLINE + Duration::from_secs(5),
            connection.closed(),
        )
        .await
        .expect("a silent connection was kept open");
    }
    // ... and their places are free again.
    let again = dial()
        .await
        .expect("a place after the silent ones were closed");
    drop(again);

    class.stop();
    for node in nodes {
        node.shutdown().await;
    }
}
