//! Which offset may be stored, given what was handed out and what was acknowledged.
//!
//! Per partition, offsets are handed out in increasing order and may be acknowledged in any
//! order; the storable offset is the highest one below which *every* handed-out offset was
//! acknowledged. A partition that is revoked forgets its pending offsets, and acknowledgements
//! from before the revoke (an older *epoch*) are ignored, so a late ack can never store an
//! offset for an assignment it does not belong to.

use std::collections::{HashMap, VecDeque};

/// What a caller hands back to acknowledge one record.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AckToken {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    epoch: u64,
}

impl AckToken {
    /// Which assignment of its partition this record belongs to: it changes when the
    /// partition is revoked and assigned again, so state built for a partition can tell that
    /// it must be rebuilt.
    pub fn epoch(&self) -> u64 {
        self.epoch
    }
}

#[derive(Debug)]
struct PartitionState {
    epoch: u64,
    /// Handed-out offsets, ascending, with their acknowledged flag.
    pending: VecDeque<(i64, bool)>,
}

/// The bookkeeping of an at-least-once consumer. Pure: storing is the caller's job.
#[derive(Debug, Default)]
pub struct AckTracker {
    partitions: HashMap<(String, i32), PartitionState>,
    next_epoch: u64,
}

impl AckTracker {
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `offset` of `topic`/`partition` was handed to the caller.
    pub fn handed_out(&mut self, topic: &str, partition: i32, offset: i64) -> AckToken {
        let next_epoch = &mut self.next_epoch;
        let state = self
            .partitions
            .entry((topic.to_owned(), partition))
            .or_insert_with(|| {
                *next_epoch += 1;
                PartitionState {
                    epoch: *next_epoch,
                    pending: VecDeque::new(),
                }
            });
        // A redelivery after a seek can go backwards: forget what was pending above it.
        while state.pending.back().is_some_and(|(o, _)| *o >= offset) {
            state.pending.pop_back();
        }
        state.pending.push_back((offset, false));
        AckToken {
            topic: topic.to_owned(),
            partition,
            offset,
            epoch: state.epoch,
        }
    }

    /// Acknowledges one record. Returns the offset to store (the highest offset below which
    /// all were acknowledged) when it advanced, `None` otherwise.
    pub fn ack(&mut self, token: &AckToken) -> Option<i64> {
        let state = self
            .partitions
            .get_mut(&(token.topic.clone(), token.partition))?;
        if state.epoch != token.epoch {
            return None;
        }
        let idx = state
            .pending
            .binary_search_by_key(&token.offset, |(o, _)| *o)
            .ok()?;
        state.pending[idx].1 = true;
        let mut storable = None;
        while let Some(&(offset, true)) = state.pending.front() {
            storable = Some(offset);
            state.pending.pop_front();
        }
        storable
    }

    /// Records the partitions of one rebalance's assignment: they share one new epoch, so
    /// records of the same partition number of two co-partitioned topics (assigned together)
    /// carry the same epoch. A partition still held (an incremental assignment) keeps its own.
    pub fn assigned<'a>(&mut self, partitions: impl IntoIterator<Item = (&'a str, i32)>) {
        self.next_epoch += 1;
        let epoch = self.next_epoch;
        for (topic, partition) in partitions {
            self.partitions
                .entry((topic.to_owned(), partition))
                .or_insert_with(|| PartitionState {
                    epoch,
                    pending: VecDeque::new(),
                });
        }
    }

    /// Forgets a revoked partition: its pending records will be redelivered to whoever owns it
    /// next, and acknowledgements still to come for them are ignored.
    pub fn revoke(&mut self, topic: &str, partition: i32) {
        self.partitions.remove(&(topic.to_owned(), partition));
    }

    /// Records handed out and not yet acknowledged, over all partitions.
    pub fn in_flight(&self) -> usize {
        self.partitions
            .values()
            .map(|s| s.pending.iter().filter(|(_, done)| !done).count())
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partitions_assigned_together_share_an_epoch_until_reassigned() {
        let mut t = AckTracker::new();
        t.assigned([("incidents", 1), ("commands", 1), ("incidents", 0)]);
        let i = t.handed_out("incidents", 1, 7);
        let c = t.handed_out("commands", 1, 3);
        assert_eq!(i.epoch(), c.epoch());
        t.revoke("incidents", 1);
        t.revoke("commands", 1);
        t.assigned([("incidents", 1), ("commands", 1), ("incidents", 0)]);
        let i2 = t.handed_out("incidents", 1, 7);
        assert_ne!(i2.epoch(), i.epoch(), "a new assignment is a new epoch");
        assert_eq!(i2.epoch(), t.handed_out("commands", 1, 3).epoch());
        // Partition 0 was never revoked: it keeps its epoch.
        assert_eq!(t.handed_out("incidents", 0, 1).epoch(), i.epoch());
        // A late ack of the old assignment stores nothing.
        assert_eq!(t.ack(&i), None);
    }

    #[test]
    fn in_order_acks_store_each_offset() {
        let mut t = AckTracker::new();
        let a = t.handed_out("t", 0, 10);
        let b = t.handed_out("t", 0, 11);
        assert_eq!(t.ack(&a), Some(10));
        assert_eq!(t.ack(&b), Some(11));
        assert_eq!(t.in_flight(), 0);
    }

    #[test]
    fn out_of_order_acks_wait_for_the_gap() {
        let mut t = AckTracker::new();
        let a = t.handed_out("t", 0, 1);
        let b = t.handed_out("t", 0, 2);
        let c = t.handed_out("t", 0, 3);
        assert_eq!(t.ack(&c), None);
        assert_eq!(t.ack(&b), None);
        assert_eq!(t.in_flight(), 1);
        assert_eq!(t.ack(&a), Some(3));
    }

    #[test]
    fn partitions_are_independent() {
        let mut t = AckTracker::new();
        let a0 = t.handed_out("t", 0, 5);
        let a1 = t.handed_out("t", 1, 7);
        let b0 = t.handed_out("t", 0, 6);
        assert_eq!(t.ack(&a1), Some(7));
        assert_eq!(t.ack(&b0), None);
        assert_eq!(t.ack(&a0), Some(6));
    }

    #[test]
    fn acks_from_before_a_revoke_are_ignored() {
        let mut t = AckTracker::new();
        let old = t.handed_out("t", 0, 1);
        t.revoke("t", 0);
        assert_eq!(t.ack(&old), None);
        // Reassigned: the same offset is redelivered under a new epoch.
        let new = t.handed_out("t", 0, 1);
        assert_eq!(t.ack(&old), None);
        assert_eq!(t.ack(&new), Some(1));
    }

    #[test]
    fn double_ack_is_harmless() {
        let mut t = AckTracker::new();
        let a = t.handed_out("t", 0, 1);
        let b = t.handed_out("t", 0, 2);
        assert_eq!(t.ack(&a), Some(1));
        assert_eq!(t.ack(&a), None);
        assert_eq!(t.ack(&b), Some(2));
    }

    #[test]
    fn redelivery_after_seek_replaces_pending_tail() {
        let mut t = AckTracker::new();
        let a = t.handed_out("t", 0, 1);
        let _b = t.handed_out("t", 0, 2);
        let b2 = t.handed_out("t", 0, 2);
        assert_eq!(t.ack(&a), Some(1));
        assert_eq!(t.ack(&b2), Some(2));
    }
}
