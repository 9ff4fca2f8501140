//! The state of one partition: its orders (event-sourced from `city.workorders.events.v1`),
//! the incidents already handled, the merge index and the SLA timers.
//!
//! On start and on every partition assignment the service builds a fresh
//! [`PartitionState`] and [`PartitionState::replay`]s the partition of
//! `city.workorders.events.v1` from the beginning up to its end before it handles new input.
//! Everything else is derived from those transitions (each carries the order after it), so
//! the state after a replay is the state before the restart — and what the state emits
//! itself goes through the very same [`PartitionState::replay`] path, so "live" and "replayed"
//! cannot diverge.

use crate::chain::{compute_hash, BrokenLink, ChainVerifier};
use crate::clock::Clock;
use crate::command::{Actor, Command, Rejection, RejectionCode};
use crate::ids::order_id_for;
use crate::machine::{decide, refuse, ChainHead, Context, Decision};
use crate::merge::MergeIndex;
use crate::policy::Policy;
use crate::routing::route_incident;
use crate::timers::{Escalation, Timers};
use cityops_core::{
    Incident, OrderCommand, OrderStatus, TransitionKind, WorkOrder, WorkOrderEvent,
};
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};
use std::sync::Arc;

/// How many command ids a partition remembers to drop resent commands.
const REMEMBERED_COMMANDS: usize = 100_000;

/// What dispatch knows of one order.
#[derive(Debug, Clone, PartialEq)]
pub struct OrderEntry {
    /// The order now and where its chain stands.
    pub head: ChainHead,
    /// When its clocks started: its last (re-)dispatch.
    pub clock_start_ms: Option<i64>,
    /// When its latest incident was attached (creation or merge).
    pub last_report_at_ms: i64,
    /// The deadline of a pending extension request, when the department named one.
    pub requested_deadline_ms: Option<i64>,
}

/// What a replayed transition did to the state.
#[derive(Debug, Clone, PartialEq)]
pub enum Replayed {
    /// Adopted; the chain holds.
    Applied,
    /// Adopted (the topic is the system of record), but the chain does not hold at it: the
    /// service should raise an alarm.
    AppliedBrokenLink(BrokenLink),
    /// The order's current last transition again (at-least-once redelivery): ignored.
    Duplicate,
    /// Not after the order's last transition, and not a copy of it (a stale copy, or a
    /// competing write from another instance during a rebalance): ignored, the first written
    /// wins.
    Ignored { reason: String },
}

/// One partition's dispatch state. See the module documentation.
#[derive(Debug, Clone)]
pub struct PartitionState {
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
    orders: BTreeMap<String, OrderEntry>,
    /// Incident id → the order it opened or joined.
    incidents: BTreeMap<String, String>,
    merge: MergeIndex,
    timers: Timers,
    /// Escalations refused by the state machine (should never happen): not retried.
    suppressed: BTreeSet<(String, i64, String)>,
    /// Command ids recorded on transitions (bounded, oldest forgotten first).
    seen_commands: HashSet<String>,
    seen_order: VecDeque<String>,
}

impl PartitionState {
    pub fn new(policy: Arc<Policy>, clock: Arc<dyn Clock>) -> Self {
        Self {
            policy,
            clock,
            orders: BTreeMap::new(),
            incidents: BTreeMap::new(),
            merge: MergeIndex::new(),
            timers: Timers::new(),
            suppressed: BTreeSet::new(),
            seen_commands: HashSet::new(),
            seen_order: VecDeque::new(),
        }
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Puts a new policy (a reloaded catalogue) in force for what this partition decides from
    /// now on. Orders keep the deadlines they were given; new orders, merges and routing
    /// follow the new catalogue.
    pub fn set_policy(&mut self, policy: Arc<Policy>) {
        self.policy = policy;
    }

    /// The injected clock's time.
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    // ----- replay ------------------------------------------------------------------------

    /// Adopts one transition read from `city.workorders.events.v1` (in partition order).
    pub fn replay(&mut self, event: &WorkOrderEvent) -> Replayed {
        let link = match self.orders.get(&event.order_id) {
            Some(entry) => {
                let head = &entry.head;
                if event.seq == head.seq && event.hash == head.hash {
                    return Replayed::Duplicate;
                }
                if event.seq <= head.seq {
                    return Replayed::Ignored {
                        reason: format!(
                            "seq {} is not after the order's last transition {} (first written wins)",
                            event.seq, head.seq
                        ),
                    };
                }
                ChainVerifier::resume(&event.order_id, head.seq, &head.hash).push(event)
            }
            None => ChainVerifier::new().push(event),
        };
        self.adopt(event);
        match link {
            Ok(()) => Replayed::Applied,
            Err(broken) => Replayed::AppliedBrokenLink(broken),
        }
    }

    /// Replays many transitions; returns the broken links met (empty when every chain holds).
    pub fn replay_all<'a>(
        &mut self,
        events: impl IntoIterator<Item = &'a WorkOrderEvent>,
    ) -> Vec<BrokenLink> {
        events
            .into_iter()
            .filter_map(|e| match self.replay(e) {
                Replayed::AppliedBrokenLink(b) => Some(b),
                _ => None,
            })
            .collect()
    }

    /// Folds a transition into the state (no checks: callers decided to adopt it).
    fn adopt(&mut self, e: &WorkOrderEvent) {
        if let Some(id) = &e.command_id {
            if self.seen_commands.insert(id.clone()) {
                self.seen_order.push_back(id.clone());
                while self.seen_order.len() > REMEMBERED_COMMANDS {
                    if let Some(old) = self.seen_order.pop_front() {
                        self.seen_commands.remove(&old);
                    }
                }
            }
        }
        let order_id = e.order_id.clone();
        let entry = self
            .orders
            .entry(order_id.clone())
            .or_insert_with(|| OrderEntry {
                head: ChainHead::from_event(e),
                clock_start_ms: None,
                last_report_at_ms: e.at_ms,
                requested_deadline_ms: None,
            });
        entry.head = ChainHead::from_event(e);
        if !e.rejected {
            match e.kind {
                TransitionKind::Created | TransitionKind::Merged => {
                    entry.last_report_at_ms = entry.last_report_at_ms.max(e.at_ms);
                }
                TransitionKind::Dispatched => {
                    entry.clock_start_ms = Some(e.at_ms);
                    entry.requested_deadline_ms = None;
                }
                TransitionKind::ExtensionRequested => {
                    entry.requested_deadline_ms = e.new_deadline_ms;
                }
                TransitionKind::ExtensionGranted
                | TransitionKind::Resolved
                | TransitionKind::Returned => entry.requested_deadline_ms = None,
                _ => {}
            }
        }
        let order = &entry.head.order;
        for incident in &order.incident_ids {
            self.incidents
                .entry(incident.clone())
                .or_insert_with(|| order_id.clone());
        }
        self.merge.update(
            order,
            entry.last_report_at_ms,
            &self.policy.triage_category().id,
        );
        // Without a recorded dispatch (history trimmed), the creation is the best start known.
        let start = entry.clock_start_ms.unwrap_or(order.created_at_ms);
        self.timers.update(order, start, &self.policy);
    }

    // ----- live input --------------------------------------------------------------------

    /// Handles an incident from `city.incidents.v1`: nothing when it is not actionable or was
    /// already handled (a redelivery); a `merged` transition on the open order it duplicates;
    /// else `created` + `dispatched` of a new order. The returned transitions are already part
    /// of the state; the service produces them to `city.workorders.events.v1` (keyed by the
    /// order's street key) and each `order` snapshot to its owner's department topic.
    pub fn handle_incident(&mut self, incident: &Incident) -> Vec<WorkOrderEvent> {
        let now = self.clock.now_ms();
        if !incident.actionable || self.incidents.contains_key(&incident.incident_id) {
            return Vec::new();
        }
        let Some(routing) = route_incident(&self.policy, incident) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if let Some(m) = self
            .merge
            .find_master(incident, &routing.category, &self.policy.merge)
        {
            let command = Command::Merge {
                incident_id: incident.incident_id.clone(),
                reason: Some(m.reason),
            };
            let decision = self.decide_and_adopt(&m.order_id, &command, &Actor::Dispatch, now);
            let applied = decision.is_applied();
            out.extend(decision.into_event());
            if applied {
                return out;
            }
        }
        let order_id = order_id_for(incident.partition_key(), &incident.incident_id);
        if self.orders.contains_key(&order_id) {
            return out;
        }
        let create = Command::Create {
            incident: Box::new(incident.clone()),
        };
        let created = self.decide_and_adopt(&order_id, &create, &Actor::Dispatch, now);
        if !created.is_applied() {
            out.extend(created.into_event());
            return out;
        }
        out.extend(created.into_event());
        let dispatched =
            self.decide_and_adopt(&order_id, &Command::Dispatch, &Actor::Dispatch, now);
        out.extend(dispatched.into_event());
        out
    }

    /// Handles a command of an actor on an existing order. Applied and rejected attempts are
    /// recorded (part of the state and returned in the decision, to be produced); a refused
    /// one (unknown order) is not. A [`Command::GrantExtension`] without a deadline grants the
    /// one the department requested.
    pub fn handle_command(&mut self, order_id: &str, actor: &Actor, command: Command) -> Decision {
        self.handle_command_as(order_id, actor, command, None)
    }

    fn handle_command_as(
        &mut self,
        order_id: &str,
        actor: &Actor,
        command: Command,
        command_id: Option<&str>,
    ) -> Decision {
        let now = self.clock.now_ms();
        if let Command::Create { .. } = command {
            return Decision::Refused(Rejection::new(
                RejectionCode::InvalidInput,
                "orders are created from incidents (handle_incident)",
            ));
        }
        let command = match command {
            Command::GrantExtension {
                new_deadline_ms: None,
                note,
            } => Command::GrantExtension {
                new_deadline_ms: self
                    .orders
                    .get(order_id)
                    .and_then(|e| e.requested_deadline_ms),
                note,
            },
            other => other,
        };
        self.decide_and_adopt_as(order_id, &command, actor, now, command_id)
    }

    /// Handles an order command (from a department's updates topic or the HTTP API, via
    /// `city.dispatch.commands.v1`). The transition it causes, applied or rejected, carries its
    /// `command_id`; a command id already recorded (a resend, also across restarts: the ids
    /// are rebuilt from the history) is refused as a duplicate and not recorded again.
    pub fn handle_order_command(&mut self, command: &OrderCommand) -> Decision {
        if self.seen_commands.contains(&command.command_id) {
            return Decision::Refused(Rejection::new(
                RejectionCode::Duplicate,
                format!("command {} was already handled", command.command_id),
            ));
        }
        let actor = Actor::from_id(&command.actor, &self.policy.command_center);
        let order_id = command.order_id.as_str();
        let now = self.clock.now_ms();
        match &command.refusal {
            Some(reason) => {
                let ctx = Context {
                    now_ms: now,
                    actor: &actor,
                    policy: &self.policy,
                    command_id: Some(&command.command_id),
                };
                let head = self.orders.get(order_id).map(|e| &e.head);
                let decision = refuse(
                    head,
                    &Command::from_order_command(command),
                    &ctx,
                    Rejection::new(RejectionCode::NotPermitted, reason.clone()),
                );
                if let Some(e) = decision.event() {
                    let e = e.clone();
                    self.adopt(&e);
                }
                decision
            }
            None => self.handle_command_as(
                order_id,
                &actor,
                Command::from_order_command(command),
                Some(&command.command_id),
            ),
        }
    }

    /// Emits every warning due now (yellow at 75%, red at 100% of a clock), as `escalated`
    /// transitions. After a replay this catches up at once on what fell due while dispatch
    /// was down (yellow before red).
    pub fn tick(&mut self) -> Vec<WorkOrderEvent> {
        let now = self.clock.now_ms();
        let mut out = Vec::new();
        for esc in self.timers.due(now) {
            let key = suppress_key(&esc);
            if self.suppressed.contains(&key) {
                continue;
            }
            let decision =
                self.decide_and_adopt(&esc.order_id, &esc.command(), &Actor::Dispatch, now);
            if !decision.is_applied() {
                self.suppressed.insert(key);
            }
            out.extend(decision.into_event());
        }
        out
    }

    /// When [`PartitionState::tick`] should run next (the earliest pending warning).
    pub fn next_wakeup(&self) -> Option<i64> {
        self.timers.next_wakeup()
    }

    fn decide_and_adopt(
        &mut self,
        order_id: &str,
        command: &Command,
        actor: &Actor,
        now: i64,
    ) -> Decision {
        self.decide_and_adopt_as(order_id, command, actor, now, None)
    }

    fn decide_and_adopt_as(
        &mut self,
        order_id: &str,
        command: &Command,
        actor: &Actor,
        now: i64,
        command_id: Option<&str>,
    ) -> Decision {
        let ctx = Context {
            now_ms: now,
            actor,
            policy: &self.policy,
            command_id,
        };
        let head = self.orders.get(order_id).map(|e| &e.head);
        let decision = decide(head, command, &ctx);
        if let Some(e) = decision.event() {
            debug_assert_eq!(e.hash, compute_hash(e));
            let e = e.clone();
            self.adopt(&e);
        }
        decision
    }

    // ----- views -------------------------------------------------------------------------

    /// An order as it stands.
    pub fn order(&self, order_id: &str) -> Option<&WorkOrder> {
        self.orders.get(order_id).map(|e| &e.head.order)
    }

    /// Everything known of an order.
    pub fn entry(&self, order_id: &str) -> Option<&OrderEntry> {
        self.orders.get(order_id)
    }

    /// Every order of the partition (closed ones included), by id.
    pub fn entries(&self) -> &BTreeMap<String, OrderEntry> {
        &self.orders
    }

    /// The orders not closed, by id.
    pub fn open_orders(&self) -> impl Iterator<Item = &WorkOrder> {
        self.orders
            .values()
            .map(|e| &e.head.order)
            .filter(|o| o.status != OrderStatus::Closed)
    }

    /// The order an incident opened or joined, when it was handled.
    pub fn order_of_incident(&self, incident_id: &str) -> Option<&str> {
        self.incidents.get(incident_id).map(String::as_str)
    }

    /// Incident id → order id, for every handled incident.
    pub fn handled_incidents(&self) -> &BTreeMap<String, String> {
        &self.incidents
    }

    pub fn timers(&self) -> &Timers {
        &self.timers
    }

    pub fn merge_index(&self) -> &MergeIndex {
        &self.merge
    }

    /// The pending warnings, earliest first.
    pub fn pending_escalations(&self) -> Vec<Escalation> {
        self.timers.all()
    }

    /// Whether two states hold the same orders, incidents, merge index and timers (what a
    /// replay must reproduce).
    pub fn same_state(&self, other: &PartitionState) -> bool {
        self.orders == other.orders
            && self.incidents == other.incidents
            && self.merge == other.merge
            && self.timers == other.timers
            && self.seen_commands == other.seen_commands
    }
}

fn suppress_key(e: &Escalation) -> (String, i64, String) {
    (
        e.order_id.clone(),
        e.due_at_ms,
        format!("{:?}/{:?}", e.deadline, e.level),
    )
}
