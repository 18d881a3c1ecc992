//! The deterministic simulator: N replicas, one thread, a virtual clock, a seeded network.
//!
//! Every replica runs the production code (driver, store on real fjall, mempool,
//! ledger); time, the network and the disk are simulated. The simulator is each
//! replica's runner, in the node thread's order (send what may leave, perform the next
//! write, report it), and its disk ([`super::sim_disk`]) keeps across a crash only the
//! writes that were reported durable. Elections use fixed, per-node
//! staggered timeouts and the network's faults come from one seeded RNG, so a seed
//! replays the same run: a failure prints its seed, and the test reruns just that seed.
//!
//! What it checks ([`Sim::check`]): every node's blocks agree at every height (so do the
//! state digests the headers carry); at most one leader per term; every acknowledged
//! transaction is in the chain exactly once with the receipt its submitter got; no
//! transaction is accepted twice.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::PathBuf;

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::api::{MembershipChange, Role};
use crate::core::block::Block;
use crate::core::exchange::receipt::Receipt;
use crate::core::genesis::sample::{SampleGame, SampleOptions, sample_game};
use crate::core::ledger::Ledger;
use crate::core::tx::{SignedTx, TxHash};
use crate::core::types::NodeId;
use crate::raft::wire::WireMessageType;
use crate::replica::{Now, PeerMessage, Replica, ReplicaConfig, ReplicaEvent};

use super::faults::{Faults, Partition};
use super::sim_disk::{DiskModel, Performed, SimDisk};
use super::workload::OrderFlow;

/// The wall clock the simulation starts at (2026-01-01), for block timestamps.
const EPOCH_UNIX_MS: u64 = 1_767_225_600_000;

/// How long a simulated client waits for an answer before giving up.
pub const CLIENT_TIMEOUT_MS: u64 = 10_000;

/// A transaction whose submitter got its receipt.
#[derive(Clone, Debug)]
pub struct Acked {
    pub node: NodeId,
    pub height: u64,
    pub receipt: Receipt,
}

struct SimNode {
    replica: Option<Replica>,
    /// Its store in this life (a restart begins a new one from the durable writes).
    dir: PathBuf,
    config: ReplicaConfig,
    /// Has input since it last processed.
    touched: bool,
    disk: SimDisk,
    /// Peer messages that arrived during an fsync, for when it ends (the node thread's
    /// inbox holds them meanwhile).
    held: Vec<(NodeId, PeerMessage)>,
}

pub struct Sim {
    pub seed: u64,
    pub game: SampleGame,
    root: tempfile::TempDir,
    now_ms: u64,
    rng: ChaCha8Rng,
    pub faults: Faults,
    pub partition: Partition,
    nodes: BTreeMap<NodeId, SimNode>,
    /// Messages in flight: (arrival ms, sequence) -> (from, to, encoded message).
    queue: BinaryHeap<Reverse<(u64, u64)>>,
    messages: BTreeMap<u64, (NodeId, NodeId, Vec<u8>)>,
    next_seq: u64,
    flow: OrderFlow,
    /// Submitted and not yet answered, by hash: the node it was submitted to, and when.
    pending: BTreeMap<TxHash, (NodeId, u64)>,
    /// Submissions whose client gave up waiting (outcome unknown, as with a real timeout).
    pub timed_out: u64,
    pub acked: BTreeMap<TxHash, Acked>,
    pub refused: u64,
    leaders: BTreeMap<u64, NodeId>,
    violations: Vec<String>,
    pub delivered: u64,
    /// Snapshots installed from a leader, across nodes.
    pub snapshots_installed: u64,
    tune: fn(&mut ReplicaConfig),
    /// How the nodes' disks treat durable writes.
    pub disk_model: DiskModel,
}

impl Sim {
    /// A cluster of `voters` voters on a fresh sample game, every node's store in a new
    /// temp dir.
    pub fn new(seed: u64, voters: usize) -> Sim {
        Sim::with_tuning(seed, voters, |_| {})
    }

    /// Like [`Sim::new`], with `tune` applied to every node's configuration after the
    /// simulator's own settings (fast ticks, fixed staggered election timeouts).
    pub fn with_tuning(seed: u64, voters: usize, tune: fn(&mut ReplicaConfig)) -> Sim {
        let game = sample_game(&SampleOptions {
            traders: 8,
            voters,
            ..SampleOptions::default()
        });
        let root = tempfile::tempdir().expect("a temp dir for the simulation");
        let flow = OrderFlow::new(&game.genesis, &game.traders, seed ^ 0x5eed);
        let mut sim = Sim {
            seed,
            root,
            now_ms: 0,
            rng: ChaCha8Rng::seed_from_u64(seed),
            faults: Faults::none(),
            partition: Partition::default(),
            nodes: BTreeMap::new(),
            queue: BinaryHeap::new(),
            messages: BTreeMap::new(),
            next_seq: 0,
            flow,
            pending: BTreeMap::new(),
            acked: BTreeMap::new(),
            refused: 0,
            timed_out: 0,
            leaders: BTreeMap::new(),
            violations: Vec::new(),
            delivered: 0,
            snapshots_installed: 0,
            tune,
            disk_model: DiskModel::default(),
            game,
        };
        let ids: Vec<NodeId> = sim.game.genesis.voters.iter().map(|n| n.id).collect();
        for id in ids {
            sim.add_node(id);
        }
        sim
    }

    /// Starts node `id` (a voter from genesis, or a new node to add as a learner).
    pub fn add_node(&mut self, id: NodeId) {
        let mut config = ReplicaConfig::new(id);
        config.tick_ms = 50;
        // Staggered, fixed election timeouts: deterministic, and never a tie.
        config.fixed_election_ticks = Some(10 + 3 * id as usize);
        config.max_batch_delay_ms = 5;
        config.snapshot_every_blocks = 40;
        config.log_retention_entries = 10;
        config.no_leader_grace_ms = 2_000;
        (self.tune)(&mut config);
        let dir = self.root.path().join(format!("node{id}"));
        let replica = Replica::open(config.clone(), &self.game.genesis, &dir)
            .unwrap_or_else(|e| panic!("node {id} failed to open: {e}"));
        self.nodes.insert(
            id,
            SimNode {
                replica: Some(replica),
                dir,
                config,
                touched: true,
                disk: SimDisk::default(),
                held: Vec::new(),
            },
        );
    }

    pub fn now_ms(&self) -> u64 {
        self.now_ms
    }

    pub fn node_ids(&self) -> Vec<NodeId> {
        self.nodes.keys().copied().collect()
    }

    pub fn is_up(&self, id: NodeId) -> bool {
        self.nodes.get(&id).is_some_and(|n| n.replica.is_some())
    }

    /// Node `id`'s data directory (its fjall store), e.g. to audit after crashing it.
    pub fn data_dir(&self, id: NodeId) -> Option<&std::path::Path> {
        self.nodes.get(&id).map(|n| n.dir.as_path())
    }

    pub fn replica(&self, id: NodeId) -> Option<&Replica> {
        self.nodes.get(&id).and_then(|n| n.replica.as_ref())
    }

    /// The current leader, if exactly one live node thinks it leads at the highest term.
    pub fn leader(&self) -> Option<NodeId> {
        let live: Vec<&Replica> = self
            .nodes
            .values()
            .filter_map(|n| n.replica.as_ref())
            .collect();
        let top = live.iter().map(|r| r.term()).max()?;
        live.iter()
            .find(|r| r.role() == Role::Leader && r.term() == top)
            .map(|r| r.id())
    }

    pub fn rng(&mut self) -> &mut ChaCha8Rng {
        &mut self.rng
    }

    // --- Faults ---------------------------------------------------------------------------

    /// Kills node `id` as kill -9 (or a power cut) would: its in-memory state is gone,
    /// and so is every write not yet durable; it restarts from the rest.
    pub fn crash(&mut self, id: NodeId) {
        if let Some(node) = self.nodes.get_mut(&id) {
            node.replica = None;
            node.disk.crash();
            node.held.clear();
        }
        // Its clients' submissions have no answer now.
        self.pending.retain(|_, (node, _)| *node != id);
    }

    /// Takes node `id` out of the simulation for good (after removing it from the
    /// cluster).
    pub fn retire(&mut self, id: NodeId) {
        self.crash(id);
        self.nodes.remove(&id);
    }

    /// Every node at once, as when the classroom's power goes out.
    pub fn power_cut(&mut self) {
        for id in self.node_ids() {
            self.crash(id);
        }
    }

    /// Restarts a crashed node from its durable writes.
    pub fn restart(&mut self, id: NodeId) {
        let genesis = &self.game.genesis;
        if let Some(node) = self.nodes.get_mut(&id)
            && node.replica.is_none()
        {
            node.dir = node
                .disk
                .restore(self.root.path(), id, Replica::initial_conf_state(genesis))
                .unwrap_or_else(|e| panic!("node {id}'s durable writes do not replay: {e}"));
            let replica = Replica::open(node.config.clone(), genesis, &node.dir)
                .unwrap_or_else(|e| panic!("node {id} failed to reopen: {e}"));
            node.replica = Some(replica);
            node.touched = true;
        }
    }

    /// Proposes a membership change through the current leader (once its fsync under
    /// way, if any, is done).
    pub fn change_membership(&mut self, change: MembershipChange) -> Result<(), String> {
        let leader = self.leader().ok_or("no leader")?;
        self.run_until(1_000, |s| s.nodes[&leader].disk.syncing_until().is_none());
        let node = self.nodes.get_mut(&leader).expect("the leader exists");
        node.touched = true;
        node.replica
            .as_mut()
            .expect("the leader is up")
            .handle_membership(change)
            .map_err(|e| e.to_string())
    }

    // --- Load -----------------------------------------------------------------------------

    /// Submits a new random order to node `id`.
    pub fn submit_random(&mut self, id: NodeId) {
        let tx = self.flow.next_tx();
        self.submit(id, tx);
    }

    pub fn submit(&mut self, id: NodeId, tx: SignedTx) {
        let Some(node) = self.nodes.get_mut(&id) else {
            return;
        };
        let Some(replica) = node.replica.as_mut() else {
            return;
        };
        self.pending.insert(tx.hash(), (id, self.now_ms));
        replica.handle_submit(tx);
        node.touched = true;
    }

    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    // --- Running --------------------------------------------------------------------------

    /// Runs the simulation for `ms` of virtual time.
    pub fn run_for(&mut self, ms: u64) {
        let until = self.now_ms + ms;
        while self.step(until) {}
        self.now_ms = until;
    }

    /// Runs until `done` holds (checked after every step) or `ms` pass; whether it held.
    pub fn run_until(&mut self, ms: u64, mut done: impl FnMut(&Sim) -> bool) -> bool {
        let until = self.now_ms + ms;
        loop {
            if done(self) {
                return true;
            }
            if !self.step(until) {
                self.now_ms = until;
                return done(self);
            }
        }
    }

    /// One step: advance the clock to the next event (not past `until`), deliver what
    /// is due, process the nodes that have work. `false` once nothing is left before
    /// `until`.
    fn step(&mut self, until: u64) -> bool {
        let any_touched = self
            .nodes
            .values()
            .any(|n| n.touched && n.replica.is_some() && n.disk.syncing_until().is_none());
        if !any_touched {
            let next_message = self.queue.peek().map(|Reverse((at, _))| *at);
            let next_node = self
                .nodes
                .values()
                .filter_map(|n| {
                    let replica = n.replica.as_ref()?;
                    Some(n.disk.syncing_until().unwrap_or(replica.poll_timeout()))
                })
                .min();
            let next = match (next_message, next_node) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) | (None, Some(a)) => a,
                (None, None) => return false,
            };
            if next > until {
                return false;
            }
            self.now_ms = self.now_ms.max(next);
        }
        self.deliver_due();
        self.expire_pending();
        let now = Now {
            mono_ms: self.now_ms,
            unix_ms: EPOCH_UNIX_MS + self.now_ms,
        };
        let ids: Vec<NodeId> = self.nodes.keys().copied().collect();
        for id in ids {
            let node = self.nodes.get_mut(&id).expect("listed");
            node.disk.write_back_if_due(self.disk_model, self.now_ms);
            let Some(replica) = node.replica.as_mut() else {
                continue;
            };
            match node.disk.finish_sync(replica, self.now_ms) {
                Ok(false) => {}
                Ok(true) => {
                    // The node thread reads its inbox again.
                    for (from, message) in node.held.drain(..) {
                        replica.handle_peer(from, message);
                    }
                    node.touched = true;
                }
                Err(err) => {
                    self.violations
                        .push(format!("node {id} failed at {} ms: {err}", self.now_ms));
                    self.crash(id);
                    continue;
                }
            }
            if node.disk.syncing_until().is_some() {
                continue;
            }
            if !node.touched && replica.poll_timeout() > self.now_ms {
                continue;
            }
            node.touched = false;
            if let Err(err) = replica.process(now) {
                self.violations
                    .push(format!("node {id} failed at {} ms: {err}", self.now_ms));
                self.crash(id);
                continue;
            }
            self.drain(id);
        }
        true
    }

    /// Clients give up on submissions unanswered for [`CLIENT_TIMEOUT_MS`] (a forwarded
    /// transaction lost by the network has no answer): their outcome is unknown.
    fn expire_pending(&mut self) {
        let now = self.now_ms;
        let before = self.pending.len();
        self.pending
            .retain(|_, (_, since)| *since + CLIENT_TIMEOUT_MS > now);
        self.timed_out += (before - self.pending.len()) as u64;
    }

    fn deliver_due(&mut self) {
        while let Some(Reverse((at, seq))) = self.queue.peek().copied() {
            if at > self.now_ms {
                break;
            }
            self.queue.pop();
            let (from, to, bytes) = self.messages.remove(&seq).expect("queued");
            let Some(node) = self.nodes.get_mut(&to) else {
                continue;
            };
            let Some(replica) = node.replica.as_mut() else {
                continue;
            };
            let message: PeerMessage =
                postcard::from_bytes(&bytes).expect("the simulator encodes what it sends");
            if node.disk.syncing_until().is_some() {
                node.held.push((from, message));
            } else {
                replica.handle_peer(from, message);
            }
            node.touched = true;
            self.delivered += 1;
        }
    }

    fn drain(&mut self, id: NodeId) {
        let mut sends = Vec::new();
        let mut events = Vec::new();
        let mut failed = None;
        {
            let node = self.nodes.get_mut(&id).expect("draining a listed node");
            let replica = node.replica.as_mut().expect("draining a live node");
            // As the node thread: send what may leave, then perform the next write; a
            // durable one holds the node until its fsync ends.
            loop {
                while let Some(send) = replica.poll_transmit() {
                    sends.push(send);
                }
                if node.disk.syncing_until().is_some() {
                    break;
                }
                let Some(write) = replica.poll_write() else {
                    break;
                };
                match node
                    .disk
                    .perform(replica, write, self.disk_model, self.now_ms, &mut self.rng)
                {
                    Ok(Performed::Done) => {}
                    Ok(Performed::Syncing(_)) => break,
                    Err(err) => {
                        failed = Some(err);
                        break;
                    }
                }
            }
            while let Some(event) = replica.poll_event() {
                events.push(event);
            }
            node.touched |= replica.has_work();
        }
        if let Some(err) = failed {
            self.violations
                .push(format!("node {id} failed at {} ms: {err}", self.now_ms));
            self.crash(id);
            return;
        }
        let mut snapshot_reports = Vec::new();
        for (to, message) in sends {
            let is_snapshot = matches!(
                &message,
                PeerMessage::Raft(m) if m.msg_type == WireMessageType::MsgSnapshot
            );
            let fate = if self.partition.blocks(id, to) || !self.nodes.contains_key(&to) {
                Vec::new()
            } else {
                self.faults.fate(&mut self.rng)
            };
            if is_snapshot {
                snapshot_reports.push((to, !fate.is_empty()));
            }
            if fate.is_empty() {
                continue;
            }
            let bytes = postcard::to_stdvec(&message).expect("encoding into a Vec cannot fail");
            for delay in fate {
                let seq = self.next_seq;
                self.next_seq += 1;
                self.queue.push(Reverse((self.now_ms + delay, seq)));
                self.messages.insert(seq, (id, to, bytes.clone()));
            }
        }
        if !snapshot_reports.is_empty()
            && let Some(node) = self.nodes.get_mut(&id)
            && let Some(replica) = node.replica.as_mut()
        {
            // The sending side learns whether its snapshot went out, as a transport
            // that streams snapshots would tell it.
            for (to, delivered) in snapshot_reports {
                replica.handle_snapshot_report(to, delivered);
            }
            node.touched = true;
        }
        for event in events {
            self.observe(id, event);
        }
    }

    fn observe(&mut self, id: NodeId, event: ReplicaEvent) {
        match event {
            ReplicaEvent::Applied(block) => {
                let height = block.block.header.height;
                for receipt in &block.receipts {
                    if self.pending.get(&receipt.tx).map(|p| p.0) == Some(id) {
                        self.pending.remove(&receipt.tx);
                        self.acked.insert(
                            receipt.tx,
                            Acked {
                                node: id,
                                height,
                                receipt: receipt.clone(),
                            },
                        );
                    }
                }
            }
            ReplicaEvent::Refused { hash, refusal }
                if self.pending.get(&hash).map(|p| p.0) == Some(id) =>
            {
                if std::env::var("QRAFT_SIM_DEBUG").is_ok() {
                    eprintln!(
                        "{} ms node {id} refused {}: {refusal:?}",
                        self.now_ms,
                        hash.to_hex()
                    );
                }
                self.pending.remove(&hash);
                self.refused += 1;
            }
            ReplicaEvent::SnapshotInstalled { .. } => self.snapshots_installed += 1,
            ReplicaEvent::RoleChanged {
                role: Role::Leader,
                term,
                ..
            } => {
                if let Some(other) = self.leaders.insert(term, id)
                    && other != id
                {
                    self.violations.push(format!(
                        "two leaders in term {term}: nodes {other} and {id}"
                    ));
                }
            }
            _ => {}
        }
    }

    // --- Checking -------------------------------------------------------------------------

    /// Heights of the live nodes' chains.
    pub fn heights(&self) -> BTreeMap<NodeId, u64> {
        self.nodes
            .iter()
            .filter_map(|(id, n)| n.replica.as_ref().map(|r| (*id, r.ledger().head().height)))
            .collect()
    }

    /// Whether every live node has applied the same height.
    pub fn converged(&self) -> bool {
        let heights = self.heights();
        let mut values = heights.values();
        match values.next() {
            Some(first) => values.all(|h| h == first),
            None => true,
        }
    }

    /// Checks every safety property; the first violation, if any.
    pub fn check(&self) -> Result<(), String> {
        if let Some(v) = self.violations.first() {
            return Err(v.clone());
        }
        let live: Vec<&Replica> = self
            .nodes
            .values()
            .filter_map(|n| n.replica.as_ref())
            .collect();
        let top = live
            .iter()
            .map(|r| r.ledger().head().height)
            .max()
            .unwrap_or(0);
        // The chain, height by height, from whichever nodes have each block, replayed
        // from genesis: every block must reproduce its header exactly.
        let mut audit = Ledger::new(&self.game.genesis).map_err(|e| e.to_string())?;
        let mut receipts: BTreeMap<TxHash, Vec<(u64, Receipt)>> = BTreeMap::new();
        for height in 1..=top {
            let mut seen: Option<(NodeId, Block)> = None;
            for replica in &live {
                if replica.ledger().head().height < height {
                    continue;
                }
                let Some(block) = replica.block(height).map_err(|e| e.to_string())? else {
                    continue;
                };
                match &seen {
                    None => seen = Some((replica.id(), block)),
                    Some((first, first_block)) if first_block.hash() != block.hash() => {
                        return Err(format!(
                            "block {height} differs: node {first} has {}, node {} has {}",
                            first_block.hash().to_hex(),
                            replica.id(),
                            block.hash().to_hex()
                        ));
                    }
                    Some(_) => {}
                }
            }
            let Some((_, block)) = seen else {
                return Err(format!(
                    "block {height} is missing on every live node\n{}",
                    self.describe()
                ));
            };
            let applied = audit
                .replay_block(&block)
                .map_err(|e| format!("the chain does not replay: {e}"))?;
            for receipt in applied.receipts {
                receipts
                    .entry(receipt.tx)
                    .or_default()
                    .push((height, receipt));
            }
        }
        // Heads at equal height agree on the state digest.
        for a in &live {
            for b in &live {
                let (ha, hb) = (a.ledger().head(), b.ledger().head());
                if ha.height == hb.height && ha.state_digest != hb.state_digest {
                    return Err(format!(
                        "nodes {} and {} differ in state digest at height {}",
                        a.id(),
                        b.id(),
                        ha.height
                    ));
                }
            }
        }
        for (hash, list) in &receipts {
            let accepted = list.iter().filter(|(_, r)| r.is_accepted()).count();
            if accepted > 1 {
                return Err(format!(
                    "transaction {} was accepted {accepted} times",
                    hash.to_hex()
                ));
            }
        }
        for (hash, acked) in &self.acked {
            if acked.height > top {
                continue;
            }
            let Some(list) = receipts.get(hash) else {
                return Err(format!(
                    "acknowledged transaction {} (block {}) is not in the chain",
                    hash.to_hex(),
                    acked.height
                ));
            };
            let first = &list[0];
            if first.0 != acked.height || first.1 != acked.receipt {
                return Err(format!(
                    "acknowledged transaction {} differs: acknowledged at {} with {:?}, chain has it at {} with {:?}",
                    hash.to_hex(),
                    acked.height,
                    acked.receipt.outcome,
                    first.0,
                    first.1.outcome
                ));
            }
        }
        Ok(())
    }

    /// Heals the network, restarts every crashed node, and runs until all nodes agree on
    /// the height and nothing is pending; then checks that new transactions still commit.
    pub fn settle(&mut self, max_ms: u64) -> Result<(), String> {
        self.faults = Faults::none();
        self.partition.heal();
        for id in self.node_ids() {
            self.restart(id);
        }
        let ok = self.run_until(max_ms, |sim| {
            sim.pending.is_empty() && sim.leader().is_some() && sim.converged()
        });
        if !ok {
            return Err(format!(
                "no convergence within {max_ms} ms after healing: heights {:?}, {} pending, leader {:?}\n{}",
                self.heights(),
                self.pending.len(),
                self.leader(),
                self.describe()
            ));
        }
        // Liveness: a fault-free phase makes progress.
        let before = self.acked.len();
        let target = self.leader().expect("converged with a leader");
        // Each trader sends through one node, the leader for half of them: a trader's
        // later nonce sent straight to the leader could otherwise overtake an earlier one
        // forwarded by a follower, and be refused as stale through no fault of the game.
        let ids = self.node_ids();
        for _ in 0..20 {
            let tx = self.flow.next_tx();
            let key = tx.tx.signer.as_bytes()[0] as usize;
            let id = if key.is_multiple_of(2) {
                target
            } else {
                ids[(key / 2) % ids.len()]
            };
            self.submit(id, tx);
        }
        let ok = self.run_until(max_ms, |sim| sim.pending.is_empty() && sim.converged());
        if !ok || self.acked.len() < before + 20 {
            return Err(format!(
                "no progress in a fault-free phase: {} of 20 acknowledged, {} pending, heights {:?}",
                self.acked.len() - before,
                self.pending.len(),
                self.heights()
            ));
        }
        self.check()
    }

    /// One line per node: role, term, indexes, height, and the leader's view of peers.
    pub fn describe(&self) -> String {
        let mut lines = Vec::new();
        for (id, node) in &self.nodes {
            match &node.replica {
                None => lines.push(format!("  node {id}: down")),
                Some(r) => {
                    let s = r.status();
                    lines.push(format!(
                        "  node {id}: {} term {} leader {:?} commit {} applied {} last {} height {} missing {} writes {:?} peers {:?}",
                        s.role,
                        s.term,
                        s.leader,
                        s.commit_index,
                        s.applied_index,
                        s.last_index,
                        s.height,
                        s.missing_blocks,
                        node.disk.counts(),
                        s.peers
                            .iter()
                            .map(|p| (p.id, p.matched, p.next))
                            .collect::<Vec<_>>()
                    ));
                }
            }
        }
        lines.join("\n")
    }

    /// A random node id among those configured.
    pub fn random_node(&mut self) -> NodeId {
        let ids = self.node_ids();
        ids[self.rng.random_range(0..ids.len())]
    }
}
