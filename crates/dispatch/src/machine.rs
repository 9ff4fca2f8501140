//! The work-order lifecycle as a pure state machine: [`decide`] takes the head of an order's
//! history, a command and its context, and answers with the next transition — applied, or
//! rejected with a reason (recorded too, the order unchanged).
//!
//! ```text
//!            ┌──────── merge / escalate (status unchanged) ───────┐
//! created ─► dispatched ─► accepted ─► in_progress ─► resolved ─► closed
//!              │  ▲           │                        │  ▲  │      │
//!       return │  │ re-       │ return        reopen   │  │  │      │ reopen
//!              ▼  │ dispatch  ▼                        ▼  │  │      ▼
//!             returned ◄──────┘                     reopened ┘  (satisfaction 1–5 on
//!              │ close (invalid report)              (progress,   resolved / closed)
//!              ▼                                      resolve)
//!            closed
//! ```
//!
//! The full table of who may do what in which status is in docs/dispatch.md and is checked,
//! combination by combination, by `tests/machine_table.rs`.

use crate::chain::{seal, GENESIS_HASH};
use crate::command::{Actor, Command, CommandKind, Rejection, RejectionCode, Role};
use crate::ids::{order_id_for, transition_id_for};
use crate::merge::takes_duplicates;
use crate::policy::{place_department, Policy};
use crate::routing::route_incident;
use cityops_core::{
    DeadlineKind, Incident, OrderStatus, WarningLevel, WorkOrder, WorkOrderEvent, UNLOCATED_KEY,
};

/// Where an order's history stands: its current snapshot and its last transition's sequence
/// number and hash (rejected transitions included).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainHead {
    pub order: WorkOrder,
    pub seq: i64,
    pub hash: String,
}

impl ChainHead {
    /// The head after `event` (its snapshot is the order after it, unchanged when rejected).
    pub fn from_event(event: &WorkOrderEvent) -> Self {
        Self {
            order: event.order.clone(),
            seq: event.seq,
            hash: event.hash.clone(),
        }
    }
}

/// The circumstances of a command.
#[derive(Debug, Clone, Copy)]
pub struct Context<'a> {
    /// Dispatch's clock: the transition's `at_ms`.
    pub now_ms: i64,
    pub actor: &'a Actor,
    pub policy: &'a Policy,
    /// The order command being decided, recorded on the transition (`None` for what dispatch
    /// does itself).
    pub command_id: Option<&'a str>,
}

/// What became of a command.
#[derive(Debug, Clone, PartialEq)]
pub enum Decision {
    /// The transition to record; its `order` is the order after it.
    Applied(WorkOrderEvent),
    /// Illegal: the attempt to record (`rejected = true`, the order unchanged) and why.
    Rejected {
        event: WorkOrderEvent,
        rejection: Rejection,
    },
    /// Nothing to record: no such order, an incident that opens none, a repeated update.
    Refused(Rejection),
}

impl Decision {
    /// The transition to record, applied or rejected.
    pub fn event(&self) -> Option<&WorkOrderEvent> {
        match self {
            Decision::Applied(e) | Decision::Rejected { event: e, .. } => Some(e),
            Decision::Refused(_) => None,
        }
    }

    pub fn into_event(self) -> Option<WorkOrderEvent> {
        match self {
            Decision::Applied(e) | Decision::Rejected { event: e, .. } => Some(e),
            Decision::Refused(_) => None,
        }
    }

    pub fn is_applied(&self) -> bool {
        matches!(self, Decision::Applied(_))
    }

    /// Why it was not applied.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Decision::Applied(_) => None,
            Decision::Rejected { rejection, .. } | Decision::Refused(rejection) => Some(rejection),
        }
    }
}

/// A status as the transitions and the table name it.
pub fn status_name(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Created => "created",
        OrderStatus::Dispatched => "dispatched",
        OrderStatus::Accepted => "accepted",
        OrderStatus::InProgress => "in_progress",
        OrderStatus::Resolved => "resolved",
        OrderStatus::Closed => "closed",
        OrderStatus::Returned => "returned",
        OrderStatus::Reopened => "reopened",
    }
}

/// Every status, in lifecycle order.
pub const ALL_STATUSES: [OrderStatus; 8] = [
    OrderStatus::Created,
    OrderStatus::Dispatched,
    OrderStatus::Accepted,
    OrderStatus::InProgress,
    OrderStatus::Resolved,
    OrderStatus::Closed,
    OrderStatus::Returned,
    OrderStatus::Reopened,
];

/// Decides `command` on the order whose history ends at `head` (`None`: no order yet, only
/// [`Command::Create`] makes sense). Pure: the same inputs give the same transition, hash
/// included.
pub fn decide(head: Option<&ChainHead>, command: &Command, ctx: &Context<'_>) -> Decision {
    match head {
        None => match command {
            Command::Create { incident } => create(incident, ctx),
            _ => Decision::Refused(Rejection::new(
                RejectionCode::UnknownOrder,
                "no such work order",
            )),
        },
        Some(head) => {
            let mut event = draft(head, command, ctx);
            match apply(&head.order, command, ctx, &mut event) {
                Ok(mut order) => {
                    order.version = head.order.version + 1;
                    order.updated_at_ms = ctx.now_ms;
                    event.status_after = order.status;
                    event.order = order;
                    seal(&mut event, &head.hash);
                    Decision::Applied(event)
                }
                Err(rejection) => {
                    event.rejected = true;
                    event.rejection_reason = Some(rejection.reason.clone());
                    seal(&mut event, &head.hash);
                    Decision::Rejected { event, rejection }
                }
            }
        }
    }
}

/// Records `command` on the order at `head` as rejected for `rejection` without deciding it:
/// for an attempt its channel already refused (an update on one department's topic naming
/// another department). `None`: no such order, nothing to record.
pub fn refuse(
    head: Option<&ChainHead>,
    command: &Command,
    ctx: &Context<'_>,
    rejection: Rejection,
) -> Decision {
    let Some(head) = head else {
        return Decision::Refused(Rejection::new(
            RejectionCode::UnknownOrder,
            "no such work order",
        ));
    };
    let mut event = draft(head, command, ctx);
    event.rejected = true;
    event.rejection_reason = Some(rejection.reason.clone());
    seal(&mut event, &head.hash);
    Decision::Rejected { event, rejection }
}

/// The transition as attempted: what the command says (kept for the audit trail also when
/// rejected), the order still unchanged.
fn draft(head: &ChainHead, command: &Command, ctx: &Context<'_>) -> WorkOrderEvent {
    let order_id = head.order.order_id.clone();
    let seq = head.seq + 1;
    let mut e = WorkOrderEvent {
        transition_id: transition_id_for(&order_id, seq),
        order_id,
        seq,
        kind: command.kind().transition_kind(),
        actor: ctx.actor.id(&ctx.policy.command_center).to_owned(),
        at_ms: ctx.now_ms,
        status_before: Some(head.order.status),
        status_after: head.order.status,
        incident_id: None,
        reason: None,
        note: None,
        deadline: None,
        warning: None,
        new_deadline_ms: None,
        satisfaction: None,
        rejected: false,
        rejection_reason: None,
        order: head.order.clone(),
        prev_hash: head.hash.clone(),
        hash: String::new(),
        command_id: ctx.command_id.map(str::to_owned),
    };
    match command {
        Command::Create { incident } => e.incident_id = Some(incident.incident_id.clone()),
        Command::Dispatch => {}
        Command::Merge {
            incident_id,
            reason,
        } => {
            e.incident_id = Some(incident_id.clone());
            e.reason = reason.clone();
        }
        Command::Escalate {
            deadline, level, ..
        } => {
            e.deadline = Some(*deadline);
            e.warning = Some(*level);
        }
        Command::Accept { note } | Command::Progress { note } | Command::Resolve { note } => {
            e.note = note.clone();
        }
        Command::Return { reason } | Command::Reopen { reason } => e.reason = reason.clone(),
        Command::RequestExtension {
            requested_deadline_ms,
            reason,
        } => {
            e.reason = reason.clone();
            e.new_deadline_ms = *requested_deadline_ms;
        }
        Command::Redispatch {
            owner,
            category,
            reason,
        } => {
            e.reason = reason.clone();
            e.note = Some(match category {
                Some(c) => format!("to {owner} as {c}"),
                None => format!("to {owner}"),
            });
        }
        Command::GrantExtension {
            new_deadline_ms,
            note,
        } => {
            e.new_deadline_ms = *new_deadline_ms;
            e.note = note.clone();
        }
        Command::Close { reason, note } => {
            e.reason = reason.clone();
            e.note = note.clone();
        }
        Command::RecordSatisfaction { score, note } => {
            e.satisfaction = *score;
            e.note = note.clone();
        }
    }
    e
}

fn illegal(kind: CommandKind, status: OrderStatus, why: &str) -> Rejection {
    Rejection::new(
        RejectionCode::IllegalTransition,
        format!(
            "cannot {kind} an order that is {}: {why}",
            status_name(status)
        ),
    )
}

fn invalid(why: impl Into<String>) -> Rejection {
    Rejection::new(RejectionCode::InvalidInput, why)
}

/// A required text: present and not blank.
fn required<'a>(text: &'a Option<String>, what: &str) -> Result<&'a str, Rejection> {
    match text.as_deref().map(str::trim) {
        Some(t) if !t.is_empty() => Ok(t),
        _ => Err(invalid(format!("{what} is required"))),
    }
}

/// Whether the actor may issue `kind` on `order` at all (role, then ownership).
fn authorize(order: &WorkOrder, kind: CommandKind, ctx: &Context<'_>) -> Result<(), Rejection> {
    let cc = &ctx.policy.command_center;
    match kind.role() {
        Role::Dispatch => match ctx.actor {
            Actor::Dispatch => Ok(()),
            _ => Err(Rejection::new(
                RejectionCode::NotPermitted,
                format!("only dispatch may {kind}"),
            )),
        },
        Role::CommandCenter => match ctx.actor {
            Actor::CommandCenter => Ok(()),
            _ => Err(Rejection::new(
                RejectionCode::NotPermitted,
                format!("only the command centre may {kind}"),
            )),
        },
        Role::Owner => match ctx.actor.department(cc) {
            None => Err(Rejection::new(
                RejectionCode::NotPermitted,
                format!("only the owning department may {kind}"),
            )),
            Some(d) if *d != order.owner => Err(Rejection::new(
                RejectionCode::NotYourOrder,
                format!(
                    "not your order: {} belongs to {}",
                    order.order_id, order.owner
                ),
            )),
            Some(_) => Ok(()),
        },
    }
}

/// The order after `command`, or why not. May fill the transition's fields (notes, new
/// deadline, escalation reason).
fn apply(
    order: &WorkOrder,
    command: &Command,
    ctx: &Context<'_>,
    event: &mut WorkOrderEvent,
) -> Result<WorkOrder, Rejection> {
    use OrderStatus::*;
    let kind = command.kind();
    authorize(order, kind, ctx)?;
    let policy = ctx.policy;
    let now = ctx.now_ms;
    let status = order.status;
    let mut o = order.clone();
    let is_triage_queue = order.owner == policy.command_center;
    match command {
        Command::Create { .. } => {
            return Err(illegal(kind, status, "the order already exists"));
        }

        Command::Dispatch => {
            if status != Created {
                return Err(illegal(
                    kind,
                    status,
                    "only a created order is dispatched; a returned one is re-dispatched by the command centre",
                ));
            }
            o.status = Dispatched;
            start_clocks(&mut o, policy, now, event);
        }

        Command::Merge { incident_id, .. } => {
            if !takes_duplicates(status) {
                return Err(illegal(
                    kind,
                    status,
                    "a report about a resolved or closed order opens a new order",
                ));
            }
            if incident_id.trim().is_empty() {
                return Err(invalid("the merged incident id is required"));
            }
            if o.incident_ids.contains(incident_id) {
                return Err(invalid(format!(
                    "incident {incident_id} is already part of this order"
                )));
            }
            o.incident_ids.push(incident_id.clone());
        }

        Command::Escalate {
            deadline,
            level,
            due_at_ms,
        } => {
            let (running, deadline_ms, current) = match deadline {
                DeadlineKind::Accept => (
                    status == Dispatched,
                    order.accept_deadline_ms,
                    order.accept_warning,
                ),
                DeadlineKind::Resolve => (
                    matches!(status, Dispatched | Accepted | InProgress | Reopened),
                    order.resolve_deadline_ms,
                    order.resolve_warning,
                ),
            };
            let clock = match deadline {
                DeadlineKind::Accept => "accept",
                DeadlineKind::Resolve => "resolve",
            };
            if !running {
                return Err(illegal(
                    kind,
                    status,
                    &format!("the {clock} clock does not run in this status"),
                ));
            }
            let Some(deadline_ms) = deadline_ms else {
                return Err(illegal(
                    kind,
                    status,
                    &format!("the order has no {clock} deadline"),
                ));
            };
            if current.is_some_and(|c| c >= *level) {
                return Err(illegal(
                    kind,
                    status,
                    &format!(
                        "the {clock} clock already had its {} warning",
                        level_name(*level)
                    ),
                ));
            }
            let due = if *level == WarningLevel::Red {
                (*due_at_ms).max(deadline_ms)
            } else {
                *due_at_ms
            };
            if now < due {
                return Err(invalid(format!(
                    "the {} warning of the {clock} clock is not due before {}",
                    level_name(*level),
                    policy.local_time(due)
                )));
            }
            event.reason = Some(match level {
                WarningLevel::Yellow => format!(
                    "yellow: 75% of the {clock} time has run, deadline {}",
                    policy.local_time(deadline_ms)
                ),
                WarningLevel::Red => format!(
                    "red: the {clock} deadline {} has passed",
                    policy.local_time(deadline_ms)
                ),
            });
            match deadline {
                DeadlineKind::Accept => o.accept_warning = Some(*level),
                DeadlineKind::Resolve => o.resolve_warning = Some(*level),
            }
        }

        Command::Accept { .. } => {
            if status != Dispatched {
                return Err(illegal(
                    kind,
                    status,
                    match status {
                        Created => "it has not been dispatched yet",
                        Returned => {
                            "it was returned; wait for the command centre to re-dispatch it"
                        }
                        _ => "it has already been accepted",
                    },
                ));
            }
            o.status = Accepted;
            o.accepted_at_ms = Some(now);
        }

        Command::Progress { note } => {
            if !matches!(status, Accepted | InProgress | Reopened) {
                return Err(illegal(kind, status, accept_first_or_done(status)));
            }
            required(note, "a progress note")?;
            o.status = InProgress;
        }

        Command::Resolve { .. } => {
            if !matches!(status, Accepted | InProgress | Reopened) {
                return Err(illegal(kind, status, accept_first_or_done(status)));
            }
            o.status = Resolved;
            o.resolved_at_ms = Some(now);
            o.extension_requested = false;
        }

        Command::Return { reason } => {
            if !matches!(status, Dispatched | Accepted) {
                return Err(illegal(
                    kind,
                    status,
                    match status {
                        InProgress | Reopened => {
                            "work has started on it; report progress or ask the command centre"
                        }
                        Returned => "it has already been returned",
                        Created => "it has not been dispatched yet",
                        _ => "it is finished",
                    },
                ));
            }
            required(reason, "a reason for the return")?;
            o.status = Returned;
            o.extension_requested = false;
        }

        Command::RequestExtension {
            requested_deadline_ms,
            reason,
        } => {
            if !matches!(status, Accepted | InProgress | Reopened) {
                return Err(illegal(kind, status, accept_first_or_done(status)));
            }
            let Some(current) = order.resolve_deadline_ms else {
                return Err(illegal(kind, status, "the order has no resolve deadline"));
            };
            required(reason, "a reason for the extension")?;
            if let Some(wanted) = requested_deadline_ms {
                if *wanted <= current {
                    return Err(invalid(format!(
                        "the requested deadline {} is not after the current one {}",
                        policy.local_time(*wanted),
                        policy.local_time(current)
                    )));
                }
            }
            o.extension_requested = true;
        }

        Command::Redispatch {
            owner,
            category,
            reason,
        } => {
            let from_queue =
                is_triage_queue && matches!(status, Dispatched | Accepted | InProgress);
            if status != Returned && !from_queue {
                return Err(illegal(
                    kind,
                    status,
                    "only a returned order, or one in the command centre's own triage queue, is re-dispatched",
                ));
            }
            if !policy.is_assignable(owner) {
                return Err(invalid(format!(
                    "{owner} is not a department of the catalogue (a street office is written street_office.<street code>)"
                )));
            }
            if let Some(c) = category {
                match policy.catalogue.category(c) {
                    Some(cat) if cat.is_actionable() => {
                        o.scenario = cat.scenario.clone();
                        o.category = cat.id.clone();
                        o.severity = cat.severity;
                        let street = street_code_of(order);
                        o.co_departments = cat
                            .co_departments
                            .iter()
                            .map(|d| {
                                let place_resolved = policy
                                    .catalogue
                                    .department(d)
                                    .is_some_and(|d| d.place_resolved);
                                match street {
                                    Some(s) if place_resolved => place_department(d, s),
                                    _ => d.clone(),
                                }
                            })
                            .collect();
                    }
                    Some(_) => {
                        return Err(invalid(format!(
                            "category {c} opens no work order (it has no time limit)"
                        )))
                    }
                    None => return Err(invalid(format!("category {c} is not in the catalogue"))),
                }
            }
            o.owner = owner.clone();
            o.status = Dispatched;
            o.accepted_at_ms = None;
            o.resolved_at_ms = None;
            o.closed_at_ms = None;
            o.extension_requested = false;
            let why = reason
                .as_deref()
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .map(|r| format!(": {r}"))
                .unwrap_or_default();
            let category_name = policy
                .catalogue
                .category(&o.category)
                .map_or_else(|| o.category.to_string(), |c| c.name.clone());
            o.routing_reason = format!(
                "{category_name} → {}: re-dispatched by {}{why}",
                policy.department_label(owner),
                policy.department_label(&policy.command_center)
            );
            start_clocks(&mut o, policy, now, event);
        }

        Command::GrantExtension {
            new_deadline_ms, ..
        } => {
            if !matches!(status, Accepted | InProgress | Reopened) {
                return Err(illegal(
                    kind,
                    status,
                    "only an accepted order that is not resolved can be extended",
                ));
            }
            if !order.extension_requested {
                return Err(illegal(
                    kind,
                    status,
                    "the department has not requested an extension",
                ));
            }
            let Some(new_deadline) = *new_deadline_ms else {
                return Err(invalid("the new resolve deadline is required"));
            };
            let current = order.resolve_deadline_ms.unwrap_or(i64::MIN);
            if new_deadline <= current || new_deadline <= now {
                return Err(invalid(format!(
                    "the new deadline {} must be after the current one and in the future",
                    policy.local_time(new_deadline)
                )));
            }
            o.resolve_deadline_ms = Some(new_deadline);
            o.resolve_warning = None;
            o.extension_requested = false;
            event.new_deadline_ms = Some(new_deadline);
        }

        Command::Close { reason, .. } => match status {
            Resolved => {
                o.status = Closed;
                o.closed_at_ms = Some(now);
            }
            Returned => {
                required(reason, "a reason for closing a returned order")?;
                // An invalid report (无效工单): no department's, no deadline to meet or miss.
                o.status = Closed;
                o.closed_at_ms = Some(now);
                o.owner = policy.command_center.clone();
                o.accept_deadline_ms = None;
                o.resolve_deadline_ms = None;
            }
            _ => {
                return Err(illegal(
                    kind,
                    status,
                    match status {
                        Closed => "it is already closed",
                        _ => "only a resolved order (or a returned one, as invalid) is closed",
                    },
                ))
            }
        },

        Command::Reopen { reason } => {
            if !matches!(status, Resolved | Closed) {
                return Err(illegal(
                    kind,
                    status,
                    "only a resolved or closed order is reopened",
                ));
            }
            required(reason, "a reason for reopening")?;
            o.status = Reopened;
            o.resolved_at_ms = None;
            o.closed_at_ms = None;
        }

        Command::RecordSatisfaction { score, note } => {
            if !matches!(status, Resolved | Closed) {
                return Err(illegal(
                    kind,
                    status,
                    "the callback (回访) follows the resolution",
                ));
            }
            match score {
                Some(s) if !(1..=5).contains(s) => {
                    return Err(invalid(format!("a satisfaction score is 1 to 5, not {s}")))
                }
                Some(s) => o.satisfaction = Some(*s),
                None => {
                    required(note, "a note saying why there is no score")?;
                }
            }
        }
    }
    Ok(o)
}

/// Starts both clocks at `now` (dispatch or re-dispatch): fresh deadlines from the category,
/// no warnings yet.
fn start_clocks(o: &mut WorkOrder, policy: &Policy, now: i64, event: &mut WorkOrderEvent) {
    let d = policy.deadlines(&o.category, now);
    o.accept_deadline_ms = d.accept_ms;
    o.resolve_deadline_ms = d.resolve_ms;
    o.accept_warning = None;
    o.resolve_warning = None;
    let mut note = Vec::new();
    if let Some(a) = d.accept_ms {
        note.push(format!("accept by {}", policy.local_time(a)));
    }
    match d.resolve_ms {
        Some(r) => note.push(format!("resolve by {}", policy.local_time(r))),
        None => note.push("no resolve deadline".to_owned()),
    }
    event.note = Some(note.join("; "));
}

fn accept_first_or_done(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::Created | OrderStatus::Dispatched => "accept it first",
        OrderStatus::Returned => "it was returned to the command centre",
        _ => "it is resolved or closed",
    }
}

fn level_name(level: WarningLevel) -> &'static str {
    match level {
        WarningLevel::Yellow => "yellow",
        WarningLevel::Red => "red",
    }
}

/// The street code of an order, when its key is one (not a district code, not unlocated).
fn street_code_of(order: &WorkOrder) -> Option<&str> {
    let key = order.street_key.as_str();
    (key != UNLOCATED_KEY && Some(key) != order.district_code.as_deref()).then_some(key)
}

/// The first transition of a new order: `created`, from an actionable incident.
fn create(incident: &Incident, ctx: &Context<'_>) -> Decision {
    if *ctx.actor != Actor::Dispatch {
        return Decision::Refused(Rejection::new(
            RejectionCode::NotPermitted,
            "only dispatch may create",
        ));
    }
    let Some(routing) = route_incident(ctx.policy, incident) else {
        return Decision::Refused(Rejection::new(
            RejectionCode::NotActionable,
            format!(
                "incident {} ({}) is not actionable: it opens no work order",
                incident.incident_id, incident.category
            ),
        ));
    };
    let street_key = incident.partition_key().to_owned();
    let order_id = order_id_for(&street_key, &incident.incident_id);
    let order = WorkOrder {
        order_id: order_id.clone(),
        incident_ids: vec![incident.incident_id.clone()],
        street_key,
        district_code: incident.district_code.clone(),
        owner: routing.owner,
        co_departments: routing.co_departments,
        scenario: routing.scenario,
        category: routing.category,
        severity: routing.severity,
        status: OrderStatus::Created,
        location: incident.event.location,
        device_id: incident.event.device_id.clone(),
        created_at_ms: ctx.now_ms,
        accept_deadline_ms: None,
        resolve_deadline_ms: None,
        accepted_at_ms: None,
        resolved_at_ms: None,
        closed_at_ms: None,
        accept_warning: None,
        resolve_warning: None,
        extension_requested: false,
        satisfaction: None,
        routing_reason: routing.reason,
        version: 1,
        updated_at_ms: ctx.now_ms,
    };
    let mut event = WorkOrderEvent {
        transition_id: transition_id_for(&order_id, 1),
        order_id,
        seq: 1,
        kind: cityops_core::TransitionKind::Created,
        actor: ctx.actor.id(&ctx.policy.command_center).to_owned(),
        at_ms: ctx.now_ms,
        status_before: None,
        status_after: OrderStatus::Created,
        incident_id: Some(incident.incident_id.clone()),
        reason: Some(order.routing_reason.clone()),
        note: None,
        deadline: None,
        warning: None,
        new_deadline_ms: None,
        satisfaction: None,
        rejected: false,
        rejection_reason: None,
        order,
        prev_hash: String::new(),
        hash: String::new(),
        command_id: ctx.command_id.map(str::to_owned),
    };
    seal(&mut event, GENESIS_HASH);
    Decision::Applied(event)
}
