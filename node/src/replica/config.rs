//! A replica's tunables, with defaults for a classroom LAN.

use crate::core::types::NodeId;

#[derive(Clone, Debug)]
pub struct ReplicaConfig {
    pub id: NodeId,
    /// One Raft tick, in ms.
    pub tick_ms: u64,
    /// Ticks without a heartbeat before a follower campaigns (randomized up to twice
    /// this, unless `fixed_election_ticks`).
    pub election_ticks: usize,
    pub heartbeat_ticks: usize,
    /// A fixed election timeout in ticks (no randomness), for the deterministic simulator.
    pub fixed_election_ticks: Option<usize>,
    /// A batch is cut when this many transactions wait...
    pub max_batch_txs: usize,
    /// ...or when the oldest has waited this long (ms).
    pub max_batch_delay_ms: u64,
    /// Transactions the mempool holds before it answers "busy".
    pub mempool_capacity: usize,
    /// Batches proposed but not yet applied, at most (pipelining depth).
    pub max_inflight_batches: usize,
    /// Submissions waiting for a leader to be known, at most, and for how long (ms).
    pub max_parked: usize,
    pub no_leader_grace_ms: u64,
    /// An exchange snapshot every this many blocks, then log compaction.
    pub snapshot_every_blocks: u64,
    /// Log entries kept behind a snapshot, so a follower a little behind catches up from
    /// the log rather than by snapshot.
    pub compaction_slack: u64,
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
            mempool_capacity: 100_000,
            max_inflight_batches: 64,
            max_parked: 10_000,
            no_leader_grace_ms: 3_000,
            snapshot_every_blocks: 1_000,
            compaction_slack: 200,
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
            ("max_size_per_msg", self.max_size_per_msg),
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
        config.election_ticks = 2;
        assert!(
            config
                .validate()
                .unwrap_err()
                .contains("election_ticks (2)")
        );
    }
}
