//! The SLA clocks' pending warnings, derived purely from order state: yellow at 75% of a
//! clock, red at 100%, each emitted once (the order's `accept_warning` / `resolve_warning`
//! hold the highest level emitted, so a replayed state never emits a level twice).
//!
//! Because the timers are a function of the orders, rebuilding them after a restart is just
//! replaying the orders: a warning that fell due while dispatch was down is due at once.

use crate::command::Command;
use crate::policy::Policy;
use cityops_core::{DeadlineKind, OrderStatus, WarningLevel, WorkOrder};
use std::collections::{BTreeMap, BTreeSet};

/// A warning due on one clock of one order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escalation {
    pub order_id: String,
    pub deadline: DeadlineKind,
    pub level: WarningLevel,
    /// When it is due (UTC ms).
    pub due_at_ms: i64,
}

impl Escalation {
    /// The command that emits it.
    pub fn command(&self) -> Command {
        Command::Escalate {
            deadline: self.deadline,
            level: self.level,
            due_at_ms: self.due_at_ms,
        }
    }

    fn key(&self) -> TimerKey {
        (
            self.due_at_ms,
            self.order_id.clone(),
            clock_rank(self.deadline),
            self.level,
        )
    }
}

type TimerKey = (i64, String, u8, WarningLevel);

fn clock_rank(kind: DeadlineKind) -> u8 {
    match kind {
        DeadlineKind::Accept => 0,
        DeadlineKind::Resolve => 1,
    }
}

/// Whether the clock `kind` runs in `status`: the accept clock until acceptance, the resolve
/// clock from dispatch until resolution (again after a reopen); neither while the order is
/// back with the command centre (returned).
pub fn clock_runs(kind: DeadlineKind, status: OrderStatus) -> bool {
    use OrderStatus::*;
    match kind {
        DeadlineKind::Accept => status == Dispatched,
        DeadlineKind::Resolve => matches!(status, Dispatched | Accepted | InProgress | Reopened),
    }
}

/// The warnings still to come for `order`, whose clocks started at `clock_start_ms` (its last
/// dispatch), in due order.
pub fn pending_escalations(
    order: &WorkOrder,
    clock_start_ms: i64,
    policy: &Policy,
) -> Vec<Escalation> {
    let mut out = Vec::new();
    for (kind, deadline, warning) in [
        (
            DeadlineKind::Accept,
            order.accept_deadline_ms,
            order.accept_warning,
        ),
        (
            DeadlineKind::Resolve,
            order.resolve_deadline_ms,
            order.resolve_warning,
        ),
    ] {
        let Some(deadline_ms) = deadline else {
            continue;
        };
        if !clock_runs(kind, order.status) {
            continue;
        }
        let limit = policy.limit(&order.category, kind);
        for level in [WarningLevel::Yellow, WarningLevel::Red] {
            if warning.is_some_and(|w| w >= level) {
                continue;
            }
            out.push(Escalation {
                order_id: order.order_id.clone(),
                deadline: kind,
                level,
                due_at_ms: policy.warning_at(limit.as_ref(), clock_start_ms, deadline_ms, level),
            });
        }
    }
    out.sort_by_key(Escalation::key);
    out
}

/// The pending warnings of a partition's orders, ordered by due time.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Timers {
    by_order: BTreeMap<String, Vec<Escalation>>,
    queue: BTreeSet<TimerKey>,
}

impl Timers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The timers of `orders`, each with the start of its clocks (its last dispatch).
    pub fn rebuild<'a>(
        orders: impl IntoIterator<Item = (&'a WorkOrder, i64)>,
        policy: &Policy,
    ) -> Self {
        let mut timers = Self::new();
        for (order, start) in orders {
            timers.update(order, start, policy);
        }
        timers
    }

    /// Recomputes the warnings of `order` after a change.
    pub fn update(&mut self, order: &WorkOrder, clock_start_ms: i64, policy: &Policy) {
        self.remove(&order.order_id);
        let pending = pending_escalations(order, clock_start_ms, policy);
        if pending.is_empty() {
            return;
        }
        for e in &pending {
            self.queue.insert(e.key());
        }
        self.by_order.insert(order.order_id.clone(), pending);
    }

    /// Forgets the warnings of an order.
    pub fn remove(&mut self, order_id: &str) {
        if let Some(old) = self.by_order.remove(order_id) {
            for e in &old {
                self.queue.remove(&e.key());
            }
        }
    }

    /// The warnings due at `now_ms` (due time ≤ now), earliest first; for one clock yellow
    /// comes before red. They stay pending until the order's state says they were emitted.
    pub fn due(&self, now_ms: i64) -> Vec<Escalation> {
        self.queue
            .iter()
            .take_while(|(at, ..)| *at <= now_ms)
            .filter_map(|(at, order_id, rank, level)| {
                self.by_order.get(order_id)?.iter().find(|e| {
                    e.due_at_ms == *at && clock_rank(e.deadline) == *rank && e.level == *level
                })
            })
            .cloned()
            .collect()
    }

    /// When the next warning is due, if any.
    pub fn next_wakeup(&self) -> Option<i64> {
        self.queue.first().map(|(at, ..)| *at)
    }

    /// The pending warnings of one order.
    pub fn of(&self, order_id: &str) -> &[Escalation] {
        self.by_order.get(order_id).map_or(&[], Vec::as_slice)
    }

    /// Every pending warning, earliest first.
    pub fn all(&self) -> Vec<Escalation> {
        self.due(i64::MAX)
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}
