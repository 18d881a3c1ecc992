//! A replica's tunables, with defaults for a classroom LAN.

use crate::core::types::NodeId;

/// Bytes of transactions in one batch by default: 2,000 ordinary orders (about 300
/// bytes each) fit, and so do 500 of the largest transactions a node accepts; a Raft
/// entry of one batch stays far below an append's budget (`max_size_per_msg`).
pub const DEFAULT_MAX_BATCH_BYTES: usize = 1 << 20;

/// The mempool's bytes by default: its 100,000 transactions at about 300 bytes each, so
/// a pool of the largest transactions (2 KiB each) holds 16,000 of them, not 200 MB.
pub const DEFAULT_MEMPOOL_BYTES: usize = 32 << 20;

/// Raft log entries a node keeps behind its latest snapshot by default (see
/// [`ReplicaConfig::log_retention_entries`]). A busy lesson (30 students and a few bots,
/// some 100 transactions a second) makes up to one entry per transaction when batches
/// are cut every few milliseconds: 50,000 entries are about eight minutes of it, so a
/// laptop that slept or a voter restarted within "a few minutes" catches up by plain
/// appends instead of a whole snapshot (and a backfill of the blocks before it).
pub const DEFAULT_LOG_RETENTION_ENTRIES: u64 = 50_000;

/// Bytes of Raft log entries a node keeps behind its latest snapshot by default, at most
/// (see [`ReplicaConfig::log_retention_bytes`]). The classroom minutes above are some
/// 20 MB (one order, about 400 bytes, an entry); under bot load (thousands of orders a
/// second, entries of up to a megabyte) the same minutes would be gigabytes, which every
/// node would hold on disk (the store keeps only each entry's term in memory): 64 MiB
/// caps that, and a node away for longer than the log covers takes a snapshot and
/// backfills.
pub const DEFAULT_LOG_RETENTION_BYTES: u64 = 64 << 20;

/// Transactions applied between two snapshots by default: a restart applies them again
/// (checking every signature) before it is back where it stopped, about 25,000 a second
/// on one core of a classroom laptop, so this keeps that under a second; a snapshot costs
/// a few milliseconds of the node thread (the exchange's state, not the chain's).
pub const DEFAULT_SNAPSHOT_EVERY_TXS: u64 = 20_000;

/// Room for what an append message carries besides its entries' data (headers, each
/// entry's term, index and context).
const APPEND_OVERHEAD: u64 = 64 << 10;

#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    pub id: NodeId,
    /// One Raft tick, in ms. 100 ms: the unit of the timing below, fine enough for it,
    /// and ten wake-ups a second of an idle node.
    pub tick_ms: u64,
    /// Ticks without a heartbeat before a follower campaigns (randomized up to twice
    /// this, unless `fixed_election_ticks`). 10, so 1-2 s on a LAN: five heartbeats
    /// lost in a row (a Wi-Fi stall of a second) do not start an election, and a dead
    /// leader is replaced about 1.3 s after its last heartbeat (the earlier of two
    /// followers' random timeouts), well inside the 2 s failover budget; a vote
    /// then takes one round trip. etcd's defaults are the same (100 ms heartbeat, 1 s
    /// election).
    pub election_ticks: usize,
    /// Ticks between a leader's heartbeats. 2 (200 ms): five to an election timeout,
    /// and a learner's or follower's lag is noticed within a fifth of a second.
    pub heartbeat_ticks: usize,
    /// A fixed election timeout in ticks (no randomness), for the deterministic simulator.
    pub fixed_election_ticks: Option<usize>,
    /// A batch is cut when this many transactions wait...
    pub max_batch_txs: usize,
    /// ...or when the oldest has waited this long (ms). A batch also never holds more
    /// than `max_batch_bytes` of encoded transactions, so every entry fits in an append.
    pub max_batch_delay_ms: u64,
    pub max_batch_bytes: usize,
    /// Transactions the mempool holds before it answers "busy".
    pub mempool_capacity: usize,
    /// Bytes of transactions the mempool holds before it answers "busy". Each signer
    /// may hold a share of both limits (see [`crate::replica::mempool`]).
    pub mempool_bytes: usize,
    /// Batches proposed but not yet applied, at most (pipelining depth).
    pub max_inflight_batches: usize,
    /// Submissions waiting for a leader to be known, at most, and for how long (ms).
    pub max_parked: usize,
    pub no_leader_grace_ms: u64,
    /// An exchange snapshot every this many blocks, then log compaction...
    pub snapshot_every_blocks: u64,
    /// ...or every this many transactions applied, whichever comes first: a restart
    /// applies again what came after the last snapshot, so this bounds its time whatever
    /// the size of the blocks.
    pub snapshot_every_txs: u64,
    /// Log entries kept when the log is compacted behind a snapshot: the last this many
    /// up to the applied index, so a node that was away for a few minutes catches up from
    /// the log rather than by snapshot ([`DEFAULT_LOG_RETENTION_ENTRIES`] says why this
    /// many). Fewer are kept when they are more than `log_retention_bytes`.
    pub log_retention_entries: u64,
    /// Bytes of entries (their data and context) kept when the log is compacted, at most:
    /// bounds the disk and memory the retained log takes under heavy load
    /// ([`DEFAULT_LOG_RETENTION_BYTES`]).
    pub log_retention_bytes: u64,
    /// A snapshot sent to a peer whose delivery is not reported within this long (ms)
    /// counts as lost, and Raft sends another.
    pub snapshot_report_timeout_ms: u64,
    /// Signatures remembered between admission and application, at most.
    pub verified_cache_capacity: usize,
    /// Bytes of entries per append message, at most.
    pub max_size_per_msg: u64,
}

impl ReplicaConfig {
    pub fn new(id: NodeId) -> ReplicaConfig {
        ReplicaConfig {
            id,
            tick_ms: 100,
            election_ticks: 10,
            heartbeat_ticks: 2,
            fixed_election_ticks: None,
            max_batch_txs: 2_000,
            max_batch_delay_ms: 2,
            max_batch_bytes: DEFAULT_MAX_BATCH_BYTES,
            mempool_capacity: 100_000,
            mempool_bytes: DEFAULT_MEMPOOL_BYTES,
            max_inflight_batches: 64,
            max_parked: 10_000,
            no_leader_grace_ms: 3_000,
            snapshot_every_blocks: 1_000,
            log_retention_entries: DEFAULT_LOG_RETENTION_ENTRIES,
            log_retention_bytes: DEFAULT_LOG_RETENTION_BYTES,
            snapshot_every_txs: DEFAULT_SNAPSHOT_EVERY_TXS,
            snapshot_report_timeout_ms: 30_000,
            verified_cache_capacity: 400_000,
            max_size_per_msg: 4 << 20,
        }
    }
}

impl ReplicaConfig {
    /// Checks the settings make sense together; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        let positive = [
            ("id", self.id),
            ("tick_ms", self.tick_ms),
            ("max_batch_txs", self.max_batch_txs as u64),
            ("mempool_capacity", self.mempool_capacity as u64),
            ("max_inflight_batches", self.max_inflight_batches as u64),
            ("snapshot_every_blocks", self.snapshot_every_blocks),
            ("snapshot_every_txs", self.snapshot_every_txs),
            ("max_size_per_msg", self.max_size_per_msg),
            ("max_batch_bytes", self.max_batch_bytes as u64),
            ("mempool_bytes", self.mempool_bytes as u64),
        ];
        for (field, value) in positive {
            if value == 0 {
                return Err(format!("{field} must be at least 1"));
            }
        }
        if self.heartbeat_ticks == 0 || self.election_ticks <= self.heartbeat_ticks {
            return Err(format!(
                "election_ticks ({}) must be greater than heartbeat_ticks ({}), which must be at least 1",
                self.election_ticks, self.heartbeat_ticks
            ));
        }
        // An append holds entries up to `max_size_per_msg`, or one entry alone when it is
        // larger: both must fit in one peer frame, whatever the postcard encoding adds.
        let frame = crate::net::frame::MAX_PEER_FRAME as u64;
        if self.max_size_per_msg > frame / 2 {
            return Err(format!(
                "max_size_per_msg ({}) must be at most half a peer frame ({} bytes)",
                self.max_size_per_msg,
                frame / 2
            ));
        }
        if (self.max_batch_bytes as u64).saturating_add(APPEND_OVERHEAD) > self.max_size_per_msg {
            return Err(format!(
                "max_batch_bytes ({}) must leave {APPEND_OVERHEAD} bytes under max_size_per_msg ({})",
                self.max_batch_bytes, self.max_size_per_msg
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_nonsense_is_named() {
        assert_eq!(ReplicaConfig::new(1).validate(), Ok(()));
        let mut config = ReplicaConfig::new(1);
        config.max_batch_txs = 0;
        assert_eq!(
            config.validate(),
            Err("max_batch_txs must be at least 1".into())
        );
        let mut config = ReplicaConfig::new(1);
        config.max_batch_bytes = config.max_size_per_msg as usize;
        assert!(
            config
                .validate()
                .unwrap_err()
                .starts_with("max_batch_bytes")
        );
        let mut config = ReplicaConfig::new(1);
        config.max_size_per_msg = 8 << 20;
        assert!(
            config
                .validate()
                .unwrap_err()
                .starts_with("max_size_per_msg")
        );
        let mut config = ReplicaConfig::new(1);
        config.election_ticks = 2;
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("election_ticks (2)")
        );
    }
}
