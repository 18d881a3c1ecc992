//! Seeded simulation: three voters under message loss, delay, duplication, reordering,
//! partitions, crashes (leader included) and power cuts (every node at once), on disks
//! whose crashes lose every write not yet durable; checked after every round and after a
//! fault-free phase. A failing seed prints the command that replays it exactly. The
//! checks are shown to catch a runner that acknowledges before its writes are durable.
//!
//! `QRAFT_SIM_SEED=N` runs one seed; `QRAFT_SIM_SEEDS=N` runs seeds 0..N (default 24).

use qraft_node::api::MembershipChange;
use qraft_node::testkit::faults::{Faults, Partition};
use qraft_node::testkit::sim::Sim;
use qraft_node::testkit::sim_disk::DiskModel;
use rand::RngExt;

fn scenario(seed: u64) -> Result<Sim, String> {
    scenario_on(seed, DiskModel::Honest)
}

/// One seed's run on disks of `model`. Crashes strike in the middle of a round's load,
/// while writes are in flight, and one round in eight cuts the power to every node at
/// once: only what was durable survives.
fn scenario_on(seed: u64, model: DiskModel) -> Result<Sim, String> {
    // Frequent snapshots and a short log, so that a node left behind by a partition or a
    // crash must often catch up by snapshot.
    let mut sim = Sim::with_tuning(seed, 3, |config| {
        config.snapshot_every_blocks = 3;
        config.log_retention_entries = 2;
    });
    sim.disk_model = model;
    if !sim.run_until(10_000, |s| s.leader().is_some()) {
        return Err("no leader elected in 10 s".into());
    }
    let mut crashed: Vec<u64> = Vec::new();
    for round in 0..16 {
        let roll = sim.rng().random_range(0..8u32);
        let mut crash = None;
        match roll {
            0 => sim.faults = Faults::lossy(),
            1 | 2 => {
                // Isolate one node: the leader half the time.
                let victim = if roll == 1 {
                    sim.leader().unwrap_or(1)
                } else {
                    sim.random_node()
                };
                let others: Vec<u64> = sim
                    .node_ids()
                    .into_iter()
                    .filter(|&n| n != victim)
                    .collect();
                sim.partition = Partition::groups(vec![vec![victim], others]);
            }
            3 | 4 if crashed.is_empty() => {
                crash = Some(if roll == 3 {
                    vec![sim.leader().unwrap_or(1)]
                } else {
                    vec![sim.random_node()]
                });
            }
            7 if crashed.is_empty() => crash = Some(sim.node_ids()),
            5 => {
                sim.faults = Faults::lossy();
                sim.partition.heal();
            }
            _ => {
                sim.faults = Faults::none();
                sim.partition.heal();
            }
        }
        for _ in 0..25 {
            let id = sim.random_node();
            sim.submit_random(id);
        }
        let ms = sim.rng().random_range(200..2_000u64);
        match crash {
            Some(victims) => {
                let before = sim.rng().random_range(0..ms.min(300));
                sim.run_for(before);
                for &victim in &victims {
                    sim.crash(victim);
                }
                crashed.extend(victims);
                sim.run_for(ms - before);
            }
            None => sim.run_for(ms),
        }
        if sim.rng().random_bool(0.5) {
            for id in crashed.drain(..) {
                sim.restart(id);
            }
        }
        sim.check().map_err(|e| format!("round {round}: {e}"))?;
    }
    sim.settle(60_000)?;
    Ok(sim)
}

/// Runs `scenario_on` for one seed, a panic counted as a failure.
fn run_seed(seed: u64, model: DiskModel) -> Result<Sim, String> {
    std::panic::catch_unwind(|| scenario_on(seed, model)).unwrap_or_else(|panic| {
        let text = panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Err(format!("panicked: {text}"))
    })
}

fn seeds() -> Vec<u64> {
    if let Ok(seed) = std::env::var("QRAFT_SIM_SEED") {
        return vec![seed.parse().expect("QRAFT_SIM_SEED is a number")];
    }
    let count = std::env::var("QRAFT_SIM_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(24);
    (0..count).collect()
}

#[test]
fn seeded_faults_keep_the_chain_safe_and_live() {
    let mut failures = Vec::new();
    let mut acked = 0;
    let mut installed = 0;
    for seed in seeds() {
        match run_seed(seed, DiskModel::Honest) {
            Ok(sim) => {
                eprintln!(
                    "seed {seed}: {} acknowledged, {} refused, {} timed out, heights {:?}, {} snapshots installed, {} messages delivered, {} ms simulated",
                    sim.acked.len(),
                    sim.refused,
                    sim.timed_out,
                    sim.heights(),
                    sim.snapshots_installed,
                    sim.delivered,
                    sim.now_ms()
                );
                acked += sim.acked.len();
                installed += sim.snapshots_installed;
            }
            Err(err) => failures.push(format!(
                "seed {seed}: {err}\n  rerun: QRAFT_SIM_SEED={seed} cargo test -p qraft-node --test sim seeded"
            )),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(acked > 0, "no transaction was acknowledged in any run");
    assert!(installed > 0, "no run made a node catch up by snapshot");
}

/// The mutation the simulation exists to catch: a disk (or runner) that reports durable
/// writes done before they are synced. Votes and acknowledgements then go out for
/// entries a power cut takes back, and acknowledged transactions vanish from the chain.
#[test]
fn a_disk_that_acknowledges_before_its_writes_are_durable_is_caught() {
    let caught: Vec<String> = (0..8)
        .filter_map(|seed| {
            run_seed(seed, DiskModel::AcknowledgesBeforeDurable)
                .err()
                .map(|err| format!("seed {seed}: {err}"))
        })
        .collect();
    eprintln!("{}", caught.join("\n"));
    assert!(
        caught.len() >= 2,
        "the safety checks missed a disk that acknowledges before durable: {caught:?}"
    );
}

#[test]
fn the_same_seed_replays_the_same_run() {
    let a = scenario(3).expect("seed 3 passes");
    let b = scenario(3).expect("seed 3 passes");
    assert_eq!(a.heights(), b.heights());
    assert_eq!(a.delivered, b.delivered);
    let heads = |s: &Sim| {
        s.node_ids()
            .into_iter()
            .map(|id| s.replica(id).map(|r| r.ledger().head().hash))
            .collect::<Vec<_>>()
    };
    assert_eq!(heads(&a), heads(&b));
}

#[test]
fn a_learner_added_late_catches_up_by_snapshot_after_compaction() {
    let mut sim = Sim::new(42, 3);
    assert!(sim.run_until(10_000, |s| s.leader().is_some()));
    // Enough blocks for several snapshots (every 40 blocks) and log compaction.
    for _ in 0..120 {
        let leader = sim.leader().expect("a leader");
        sim.submit_random(leader);
        sim.run_for(20);
    }
    assert!(sim.run_until(10_000, |s| s.pending() == 0));
    let height = sim.heights()[&1];
    assert!(height >= 100, "only {height} blocks");
    sim.add_node(4);
    sim.change_membership(MembershipChange::AddLearner(4))
        .expect("the leader takes the change");
    assert!(
        sim.run_until(20_000, |s| s.heights().get(&4) == Some(&height)),
        "the learner did not catch up: {:?}",
        sim.heights()
    );
    let learner = sim.replica(4).expect("up");
    assert!(
        learner.block(1).expect("store readable").is_none(),
        "the learner replayed from the log instead of installing a snapshot"
    );
    assert_eq!(learner.status().learners, vec![4]);
    sim.settle(30_000)
        .expect("the cluster settles with the learner");
}

#[test]
fn membership_changes_add_promote_and_remove_nodes() {
    let mut sim = Sim::new(7, 3);
    assert!(sim.run_until(10_000, |s| s.leader().is_some()));
    for _ in 0..30 {
        let leader = sim.leader().expect("a leader");
        sim.submit_random(leader);
        sim.run_for(20);
    }
    sim.add_node(4);
    sim.change_membership(MembershipChange::AddLearner(4))
        .expect("add learner");
    assert!(sim.run_until(20_000, |s| s.pending() == 0 && s.converged()));

    sim.change_membership(MembershipChange::Promote(4))
        .expect("promote");
    assert!(
        sim.run_until(10_000, |s| s.node_ids().iter().all(|&id| s
            .replica(id)
            .unwrap()
            .status()
            .voters
            == vec![1, 2, 3, 4])),
        "node 4 did not become a voter everywhere"
    );

    // Remove a follower that is not the leader, then retire it.
    let leader = sim.leader().expect("a leader");
    let victim = [1, 2, 3].into_iter().find(|&id| id != leader).unwrap();
    sim.change_membership(MembershipChange::Remove(victim))
        .expect("remove");
    assert!(
        sim.run_until(10_000, |s| s
            .node_ids()
            .iter()
            .filter(|&&id| id != victim)
            .all(|&id| !s.replica(id).unwrap().status().voters.contains(&victim))),
        "node {victim} was not removed"
    );
    sim.retire(victim);

    // Three voters remain (the promoted learner among them) and still commit; node 4
    // now votes, so losing one more voter leaves a quorum.
    let remaining: Vec<u64> = sim.node_ids();
    assert_eq!(remaining.len(), 3);
    let other = remaining
        .into_iter()
        .find(|&id| Some(id) != sim.leader())
        .unwrap();
    sim.crash(other);
    for _ in 0..10 {
        let leader = sim.leader().expect("a leader");
        sim.submit_random(leader);
    }
    assert!(
        sim.run_until(20_000, |s| s.pending() == 0),
        "two of three voters did not commit"
    );
    sim.settle(30_000).expect("settles");
}

/// The admin's `AddNode` transaction alone brings a node in: every replica registers it,
/// and the leader (here a new one, after the first leader crashes right after the
/// registering block) adds it as a learner, which catches up.
#[test]
fn a_node_registered_by_an_admin_transaction_joins_as_a_learner() {
    use qraft_keys::Keypair;
    use qraft_node::core::genesis::NodeSpec;
    use qraft_node::core::tx::{AdminAction, Tx, TxBody};

    let mut sim = Sim::new(11, 3);
    assert!(sim.run_until(10_000, |s| s.leader().is_some()));
    for _ in 0..20 {
        let leader = sim.leader().expect("a leader");
        sim.submit_random(leader);
        sim.run_for(20);
    }
    assert!(sim.run_until(10_000, |s| s.pending() == 0));
    let spec = NodeSpec {
        id: 4,
        name: "lab-4".into(),
        key: Keypair::from_label("sim/added-node-4").public(),
        address: "127.0.0.1:7804".into(),
    };
    let admin = sim.game.admin.clone();
    let chain = sim.game.genesis.chain_id();
    let tx = Tx {
        signer: admin.public(),
        nonce: 1,
        body: TxBody::Admin(AdminAction::AddNode(spec.clone())),
    }
    .sign(&admin, &chain);
    let leader = sim.leader().expect("a leader");
    sim.submit(leader, tx);
    assert!(sim.run_until(10_000, |s| s.pending() == 0));
    let registered = |s: &Sim, id: u64| {
        s.replica(id)
            .is_some_and(|r| r.ledger().exchange().node(4) == Some(&spec))
    };
    assert!(
        registered(&sim, leader),
        "the admin's transaction was not applied"
    );
    // The leader that applied the registration is gone; the next one must add the node.
    assert!(
        sim.replica(leader).unwrap().status().learners.is_empty(),
        "test premise: the membership change has not taken effect when the leader crashes"
    );
    sim.crash(leader);
    sim.add_node(4);
    let height_of_others = |s: &Sim| {
        s.heights()
            .iter()
            .filter(|(id, _)| **id != 4)
            .map(|(_, h)| *h)
            .max()
    };
    assert!(
        sim.run_until(20_000, |s| s.node_ids().iter().all(|&id| {
            id == leader
                || s.replica(id)
                    .is_some_and(|r| r.status().learners == vec![4])
        }) && s.heights().get(&4).copied()
            == height_of_others(s)),
        "node 4 did not join as a learner and catch up: {:?}",
        sim.heights()
    );
    assert!(
        registered(&sim, 4),
        "the new node knows itself from the ledger"
    );
    sim.restart(leader);
    sim.settle(30_000)
        .expect("the cluster settles with the new learner");
}
