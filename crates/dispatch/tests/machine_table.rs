//! The state machine over every (status × command) combination, for the right actor, the
//! wrong department, and the wrong role; rejections are recorded with the order unchanged.
#![allow(clippy::unwrap_used)]

mod common;

use cityops_core::{DeadlineKind, OrderStatus, WarningLevel};
use cityops_dispatch::chain::compute_hash;
use cityops_dispatch::{
    decide, status_name, Actor, ChainHead, Command, CommandKind, Context, Decision, Policy,
    RejectionCode, Role, ALL_STATUSES,
};
use common::*;
use std::collections::BTreeMap;
use OrderStatus::*;

const T0: &str = "2026-11-18 10:00";

/// An order in every status, reached by legal steps, for `category` (owner acting as
/// `owner`). A pending extension request where the status allows one, when `requested`.
fn heads(
    policy: &Policy,
    category: &str,
    owner: &Actor,
    requested: bool,
) -> BTreeMap<&'static str, ChainHead> {
    let t = cst(T0);
    let i = incident("inc-table", category, t);
    let created = created(policy, &i, t);
    let dispatched = step(policy, &created, &Actor::Dispatch, Command::Dispatch, t);
    let accepted = step(
        policy,
        &dispatched,
        owner,
        Command::Accept { note: None },
        t + MIN,
    );
    let in_progress = step(
        policy,
        &accepted,
        owner,
        Command::Progress {
            note: note("已到场"),
        },
        t + 2 * MIN,
    );
    let resolved = step(
        policy,
        &in_progress,
        owner,
        Command::Resolve {
            note: note("已处置"),
        },
        t + 3 * MIN,
    );
    let closed = step(
        policy,
        &resolved,
        &cc(),
        Command::Close {
            reason: None,
            note: None,
        },
        t + 4 * MIN,
    );
    let returned = step(
        policy,
        &dispatched,
        owner,
        Command::Return {
            reason: note("不属于本部门职责"),
        },
        t + MIN,
    );
    let reopened = step(
        policy,
        &resolved,
        &cc(),
        Command::Reopen {
            reason: note("核查未通过"),
        },
        t + 5 * MIN,
    );
    let mut all = BTreeMap::from([
        ("created", created),
        ("dispatched", dispatched),
        ("accepted", accepted),
        ("in_progress", in_progress),
        ("resolved", resolved),
        ("closed", closed),
        ("returned", returned),
        ("reopened", reopened),
    ]);
    if requested {
        for name in ["accepted", "in_progress", "reopened"] {
            let head = &all[name];
            if head.order.resolve_deadline_ms.is_some() {
                let h = step(
                    policy,
                    head,
                    owner,
                    Command::RequestExtension {
                        requested_deadline_ms: None,
                        reason: note("需更换管道"),
                    },
                    t + 6 * MIN,
                );
                all.insert(name, h);
            }
        }
    }
    for (name, h) in &all {
        assert_eq!(status_name(h.order.status), *name);
    }
    all
}

/// A command of `kind` with valid input, decided at `now`.
fn sample(kind: CommandKind, category: &str, now: i64) -> Command {
    match kind {
        CommandKind::Create => Command::Create {
            incident: Box::new(incident("inc-table", category, now)),
        },
        CommandKind::Dispatch => Command::Dispatch,
        CommandKind::Merge => Command::Merge {
            incident_id: "inc-dup".into(),
            reason: note("duplicate"),
        },
        CommandKind::EscalateAccept => Command::Escalate {
            deadline: DeadlineKind::Accept,
            level: WarningLevel::Yellow,
            due_at_ms: cst(T0),
        },
        CommandKind::EscalateResolve => Command::Escalate {
            deadline: DeadlineKind::Resolve,
            level: WarningLevel::Yellow,
            due_at_ms: cst(T0),
        },
        CommandKind::Accept => Command::Accept { note: None },
        CommandKind::Progress => Command::Progress {
            note: note("进展")
        },
        CommandKind::Resolve => Command::Resolve {
            note: note("办结")
        },
        CommandKind::Return => Command::Return {
            reason: note("非本部门职责"),
        },
        CommandKind::RequestExtension => Command::RequestExtension {
            requested_deadline_ms: None,
            reason: note("需协调"),
        },
        CommandKind::Redispatch => Command::Redispatch {
            owner: "fire_rescue".into(),
            category: None,
            reason: note("改派"),
        },
        CommandKind::GrantExtension => Command::GrantExtension {
            new_deadline_ms: Some(now + 3 * DAY),
            note: None,
        },
        CommandKind::Close => Command::Close {
            reason: note("重复举报, 无效工单"),
            note: None,
        },
        CommandKind::Reopen => Command::Reopen {
            reason: note("回访不满意"),
        },
        CommandKind::RecordSatisfaction => Command::RecordSatisfaction {
            score: Some(5),
            note: None,
        },
    }
}

fn actor_for(kind: CommandKind, owner: &Actor) -> Actor {
    match kind.role() {
        Role::Dispatch => Actor::Dispatch,
        Role::Owner => owner.clone(),
        Role::CommandCenter => cc(),
    }
}

/// The expected table for an ordinary order: (command, [(legal in, status after)]); every
/// other status rejects. `None` after = unchanged.
fn expected_ordinary() -> Vec<(CommandKind, Vec<(OrderStatus, OrderStatus)>)> {
    use CommandKind as K;
    let same = |ss: &[OrderStatus]| ss.iter().map(|s| (*s, *s)).collect::<Vec<_>>();
    vec![
        (K::Create, vec![]),
        (K::Dispatch, vec![(Created, Dispatched)]),
        (
            K::Merge,
            same(&[
                Created, Dispatched, Accepted, InProgress, Returned, Reopened,
            ]),
        ),
        (K::EscalateAccept, same(&[Dispatched])),
        (
            K::EscalateResolve,
            same(&[Dispatched, Accepted, InProgress, Reopened]),
        ),
        (K::Accept, vec![(Dispatched, Accepted)]),
        (
            K::Progress,
            vec![
                (Accepted, InProgress),
                (InProgress, InProgress),
                (Reopened, InProgress),
            ],
        ),
        (
            K::Resolve,
            vec![
                (Accepted, Resolved),
                (InProgress, Resolved),
                (Reopened, Resolved),
            ],
        ),
        (
            K::Return,
            vec![(Dispatched, Returned), (Accepted, Returned)],
        ),
        (K::RequestExtension, same(&[Accepted, InProgress, Reopened])),
        (K::Redispatch, vec![(Returned, Dispatched)]),
        (K::GrantExtension, same(&[Accepted, InProgress, Reopened])),
        (K::Close, vec![(Resolved, Closed), (Returned, Closed)]),
        (K::Reopen, vec![(Resolved, Reopened), (Closed, Reopened)]),
        (K::RecordSatisfaction, same(&[Resolved, Closed])),
    ]
}

/// Runs the table; returns the markdown rendering of what the machine does.
fn run_table(
    policy: &Policy,
    category: &str,
    owner: &Actor,
    expected: &[(CommandKind, Vec<(OrderStatus, OrderStatus)>)],
) -> String {
    let heads = heads(policy, category, owner, true);
    let now = cst(T0) + 10 * DAY;
    let mut md = String::from("| command | by |");
    for s in ALL_STATUSES {
        md.push_str(&format!(" {} |", status_name(s)));
    }
    md.push_str("\n|---|---|");
    md.push_str(&"---|".repeat(ALL_STATUSES.len()));
    md.push('\n');
    let mut combinations = 0;
    for (kind, legal) in expected {
        let by = match kind.role() {
            Role::Dispatch => "dispatch",
            Role::Owner => "owner",
            Role::CommandCenter => "command centre",
        };
        md.push_str(&format!("| {kind} | {by} |"));
        for status in ALL_STATUSES {
            combinations += 1;
            let head = &heads[status_name(status)];
            let actor = actor_for(*kind, owner);
            let ctx = Context {
                now_ms: now,
                actor: &actor,
                policy,
                command_id: None,
            };
            let command = sample(*kind, category, now);
            let decision = decide(Some(head), &command, &ctx);
            let event = decision
                .event()
                .expect("an existing order records every attempt");
            // Common to applied and rejected: the chain position and the hash.
            assert_eq!(event.seq, head.seq + 1);
            assert_eq!(event.prev_hash, head.hash);
            assert_eq!(event.hash, compute_hash(event));
            assert_eq!(
                event.transition_id,
                format!("{}#{}", head.order.order_id, head.seq + 1)
            );
            assert_eq!(event.kind, kind.transition_kind());
            assert_eq!(event.status_before, Some(status));
            assert_eq!(event.actor, actor.id(&policy.command_center));
            let want = legal
                .iter()
                .find(|(from, _)| *from == status)
                .map(|(_, to)| *to);
            match (&decision, want) {
                (Decision::Applied(e), Some(to)) => {
                    assert!(!e.rejected);
                    assert_eq!(e.status_after, to, "{kind} in {status:?}");
                    assert_eq!(e.order.status, to);
                    assert_eq!(e.order.version, head.order.version + 1);
                    assert_eq!(e.order.updated_at_ms, now);
                    if to == status {
                        md.push_str(" ✓ |");
                    } else {
                        md.push_str(&format!(" → {} |", status_name(to)));
                    }
                }
                (
                    Decision::Rejected {
                        event: e,
                        rejection,
                    },
                    None,
                ) => {
                    assert!(e.rejected);
                    assert_eq!(
                        rejection.code,
                        RejectionCode::IllegalTransition,
                        "{kind} in {status:?}: {rejection:?}"
                    );
                    assert_eq!(
                        e.rejection_reason.as_deref(),
                        Some(rejection.reason.as_str())
                    );
                    assert!(
                        rejection.reason.contains(status_name(status)),
                        "the reason names the status: {}",
                        rejection.reason
                    );
                    assert_eq!(
                        e.order, head.order,
                        "a rejection leaves the order unchanged"
                    );
                    assert_eq!(e.status_after, status);
                    md.push_str(" ✗ |");
                }
                (d, want) => panic!("{kind} in {status:?}: expected {want:?}, got {d:?}"),
            }
        }
        md.push('\n');
    }
    assert_eq!(combinations, 15 * 8);
    md
}

#[test]
fn every_status_and_command_of_an_ordinary_order() {
    let policy = policy();
    let md = run_table(&policy, "gas_leak", &gas(), &expected_ordinary());
    println!("{md}");
    let docs = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/dispatch.md"
    ))
    .unwrap_or_default();
    assert!(
        docs.contains(md.trim()),
        "docs/dispatch.md must carry the table as the machine runs it:\n{md}"
    );
}

#[test]
fn every_status_and_command_of_a_triage_order() {
    // The triage queue's order is owned by the command centre, has no resolve clock and may be
    // re-dispatched straight from the queue.
    use CommandKind as K;
    let policy = policy();
    let mut expected = expected_ordinary();
    for (kind, legal) in expected.iter_mut() {
        match kind {
            K::EscalateResolve | K::RequestExtension | K::GrantExtension => legal.clear(),
            K::Redispatch => {
                *legal = vec![
                    (Dispatched, Dispatched),
                    (Accepted, Dispatched),
                    (InProgress, Dispatched),
                    (Returned, Dispatched),
                ]
            }
            _ => {}
        }
    }
    let md = run_table(&policy, "unclassified", &cc(), &expected);
    println!("{md}");
}

#[test]
fn a_department_acting_on_an_order_it_does_not_own_is_told_not_your_order() {
    let policy = policy();
    let heads = heads(&policy, "gas_leak", &gas(), true);
    let now = cst(T0) + DAY;
    for stranger in [Actor::Department("water".into()), cc()] {
        for kind in CommandKind::ALL.iter().filter(|k| k.role() == Role::Owner) {
            for status in ALL_STATUSES {
                let head = &heads[status_name(status)];
                let ctx = Context {
                    now_ms: now,
                    actor: &stranger,
                    policy: &policy,
                    command_id: None,
                };
                let d = decide(Some(head), &sample(*kind, "gas_leak", now), &ctx);
                let Decision::Rejected { event, rejection } = &d else {
                    panic!("{kind} by {stranger:?} in {status:?}: {d:?}");
                };
                assert_eq!(rejection.code, RejectionCode::NotYourOrder);
                assert_eq!(rejection.code.http_status(), 403);
                assert!(
                    rejection.reason.starts_with("not your order"),
                    "{}",
                    rejection.reason
                );
                assert!(event.rejected);
                assert_eq!(event.actor, stranger.id(&policy.command_center));
                assert_eq!(event.order, head.order);
            }
        }
    }
}

#[test]
fn each_role_keeps_to_its_commands() {
    let policy = policy();
    let heads = heads(&policy, "gas_leak", &gas(), true);
    let now = cst(T0) + DAY;
    for kind in CommandKind::ALL {
        let wrong: Vec<Actor> = match kind.role() {
            Role::Dispatch => vec![gas(), cc()],
            Role::Owner => vec![Actor::Dispatch],
            Role::CommandCenter => vec![gas(), Actor::Dispatch],
        };
        for actor in wrong {
            for status in ALL_STATUSES {
                let head = &heads[status_name(status)];
                let ctx = Context {
                    now_ms: now,
                    actor: &actor,
                    policy: &policy,
                    command_id: None,
                };
                let d = decide(Some(head), &sample(kind, "gas_leak", now), &ctx);
                let Decision::Rejected { rejection, event } = &d else {
                    panic!("{kind} by {actor:?} in {status:?}: {d:?}");
                };
                assert_eq!(
                    rejection.code,
                    RejectionCode::NotPermitted,
                    "{kind} by {actor:?}"
                );
                assert!(
                    rejection.reason.starts_with("only "),
                    "{}",
                    rejection.reason
                );
                assert_eq!(event.order, head.order);
            }
        }
    }
}

#[test]
fn rejections_are_recorded_in_the_chain_and_do_not_count_as_versions() {
    let policy = policy();
    let t = cst(T0);
    let h = created(&policy, &incident("inc-r", "gas_leak", t), t);
    let h = step(&policy, &h, &Actor::Dispatch, Command::Dispatch, t);
    let ctx = Context {
        now_ms: t + MIN,
        actor: &gas(),
        policy: &policy,
        command_id: None,
    };
    let d = decide(Some(&h), &Command::Resolve { note: None }, &ctx);
    let e = d.event().unwrap().clone();
    assert!(e.rejected);
    assert_eq!(e.seq, 3);
    assert_eq!(
        e.order.version, 2,
        "version counts applied transitions only"
    );
    assert_eq!(
        e.rejection_reason.as_deref(),
        Some("cannot resolve an order that is dispatched: accept it first")
    );
    // The next transition chains onto the rejected one.
    let after = ChainHead::from_event(&e);
    let h2 = step(
        &policy,
        &after,
        &gas(),
        Command::Accept { note: None },
        t + 2 * MIN,
    );
    assert_eq!(h2.seq, 4);
    assert_eq!(h2.order.version, 3);
}

fn rejection_of(
    policy: &Policy,
    head: &ChainHead,
    actor: &Actor,
    command: Command,
    now: i64,
) -> (RejectionCode, String) {
    let ctx = Context {
        now_ms: now,
        actor,
        policy,
        command_id: None,
    };
    match decide(Some(head), &command, &ctx) {
        Decision::Rejected { rejection, .. } => (rejection.code, rejection.reason),
        other => panic!("{command:?} not rejected: {other:?}"),
    }
}

#[test]
fn missing_reasons_and_bad_input_are_rejected_with_the_field_named() {
    let policy = policy();
    let heads = heads(&policy, "gas_leak", &gas(), false);
    let now = cst(T0) + HOUR;
    let invalid = |h: &str, actor: &Actor, c: Command, words: &str| {
        let (code, reason) = rejection_of(&policy, &heads[h], actor, c, now);
        assert_eq!(code, RejectionCode::InvalidInput, "{reason}");
        assert!(reason.contains(words), "{reason:?} should say {words:?}");
    };
    invalid(
        "dispatched",
        &gas(),
        Command::Return { reason: None },
        "a reason for the return is required",
    );
    invalid(
        "dispatched",
        &gas(),
        Command::Return { reason: note("  ") },
        "a reason for the return is required",
    );
    invalid(
        "accepted",
        &gas(),
        Command::Progress { note: None },
        "a progress note is required",
    );
    invalid(
        "accepted",
        &gas(),
        Command::RequestExtension {
            requested_deadline_ms: None,
            reason: None,
        },
        "a reason for the extension is required",
    );
    invalid(
        "accepted",
        &gas(),
        Command::RequestExtension {
            requested_deadline_ms: Some(cst(T0)),
            reason: note("x"),
        },
        "is not after the current one",
    );
    invalid(
        "resolved",
        &cc(),
        Command::Reopen { reason: None },
        "a reason for reopening is required",
    );
    invalid(
        "returned",
        &cc(),
        Command::Close {
            reason: None,
            note: None,
        },
        "a reason for closing a returned order",
    );
    invalid(
        "resolved",
        &cc(),
        Command::RecordSatisfaction {
            score: Some(0),
            note: None,
        },
        "1 to 5, not 0",
    );
    invalid(
        "resolved",
        &cc(),
        Command::RecordSatisfaction {
            score: Some(6),
            note: None,
        },
        "1 to 5, not 6",
    );
    invalid(
        "resolved",
        &cc(),
        Command::RecordSatisfaction {
            score: None,
            note: None,
        },
        "why there is no score",
    );
    invalid(
        "returned",
        &cc(),
        Command::Redispatch {
            owner: "nobody".into(),
            category: None,
            reason: None,
        },
        "nobody is not a department",
    );
    invalid(
        "returned",
        &cc(),
        Command::Redispatch {
            owner: "street_office".into(),
            category: None,
            reason: None,
        },
        "street_office.<street code>",
    );
    invalid(
        "returned",
        &cc(),
        Command::Redispatch {
            owner: "gas".into(),
            category: Some("occupancy".into()),
            reason: None,
        },
        "opens no work order",
    );
    invalid(
        "dispatched",
        &Actor::Dispatch,
        Command::Merge {
            incident_id: "inc-table".into(),
            reason: None,
        },
        "already part of this order",
    );
    // An unscored callback with a note is fine (the citizen could not be reached).
    let h = step(
        &policy,
        &heads["resolved"],
        &cc(),
        Command::RecordSatisfaction {
            score: None,
            note: note("回访电话未接通"),
        },
        now,
    );
    assert_eq!(h.order.satisfaction, None);
}

#[test]
fn extensions_need_a_request_and_a_later_deadline() {
    let policy = policy();
    let heads = heads(&policy, "gas_leak", &gas(), false);
    let now = cst(T0) + 10 * MIN;
    let (code, reason) = rejection_of(
        &policy,
        &heads["accepted"],
        &cc(),
        Command::GrantExtension {
            new_deadline_ms: Some(now + DAY),
            note: None,
        },
        now,
    );
    assert_eq!(code, RejectionCode::IllegalTransition);
    assert!(
        reason.contains("has not requested an extension"),
        "{reason}"
    );

    let requested = step(
        &policy,
        &heads["accepted"],
        &gas(),
        Command::RequestExtension {
            requested_deadline_ms: Some(now + DAY),
            reason: note("需停气施工"),
        },
        now,
    );
    assert!(requested.order.extension_requested);
    let old = requested.order.resolve_deadline_ms.unwrap();
    let (code, _) = rejection_of(
        &policy,
        &requested,
        &cc(),
        Command::GrantExtension {
            new_deadline_ms: Some(old - 1),
            note: None,
        },
        now,
    );
    assert_eq!(code, RejectionCode::InvalidInput);
    let (code, _) = rejection_of(
        &policy,
        &requested,
        &cc(),
        Command::GrantExtension {
            new_deadline_ms: None,
            note: None,
        },
        now,
    );
    assert_eq!(code, RejectionCode::InvalidInput);
    let granted = step(
        &policy,
        &requested,
        &cc(),
        Command::GrantExtension {
            new_deadline_ms: Some(now + DAY),
            note: None,
        },
        now,
    );
    assert_eq!(granted.order.resolve_deadline_ms, Some(now + DAY));
    assert!(!granted.order.extension_requested);

    // The triage queue has no resolve clock to extend.
    let triage = super_heads_triage(&policy);
    let (code, reason) = rejection_of(
        &policy,
        &triage,
        &cc(),
        Command::RequestExtension {
            requested_deadline_ms: None,
            reason: note("x"),
        },
        now,
    );
    assert_eq!(code, RejectionCode::IllegalTransition);
    assert!(reason.contains("no resolve deadline"), "{reason}");
}

fn super_heads_triage(policy: &Policy) -> ChainHead {
    heads(policy, "unclassified", &cc(), false)["accepted"].clone()
}

#[test]
fn escalations_come_once_per_level_and_not_before_they_are_due() {
    let policy = policy();
    let heads = heads(&policy, "gas_leak", &gas(), false);
    let d = &heads["dispatched"];
    let t = cst(T0);
    let deadline = d.order.accept_deadline_ms.unwrap();
    assert_eq!(deadline, t + 3 * MIN);
    let esc = |level, due| Command::Escalate {
        deadline: DeadlineKind::Accept,
        level,
        due_at_ms: due,
    };
    // Not yet due.
    let (code, reason) = rejection_of(
        &policy,
        d,
        &Actor::Dispatch,
        esc(WarningLevel::Yellow, t + 135_000),
        t + 134_999,
    );
    assert_eq!(code, RejectionCode::InvalidInput);
    assert!(
        reason.contains("not due before 2026-11-18 10:02:15"),
        "{reason}"
    );
    // Red is never before the deadline, whatever the command says.
    let (code, _) = rejection_of(
        &policy,
        d,
        &Actor::Dispatch,
        esc(WarningLevel::Red, t),
        deadline - 1,
    );
    assert_eq!(code, RejectionCode::InvalidInput);
    let y = step(
        &policy,
        d,
        &Actor::Dispatch,
        esc(WarningLevel::Yellow, t + 135_000),
        t + 135_000,
    );
    assert_eq!(y.order.accept_warning, Some(WarningLevel::Yellow));
    let (code, reason) = rejection_of(
        &policy,
        &y,
        &Actor::Dispatch,
        esc(WarningLevel::Yellow, t + 135_000),
        deadline,
    );
    assert_eq!(code, RejectionCode::IllegalTransition);
    assert!(
        reason.contains("already had its yellow warning"),
        "{reason}"
    );
    let r = step(
        &policy,
        &y,
        &Actor::Dispatch,
        esc(WarningLevel::Red, deadline),
        deadline,
    );
    assert_eq!(r.order.accept_warning, Some(WarningLevel::Red));
    let (code, _) = rejection_of(
        &policy,
        &r,
        &Actor::Dispatch,
        esc(WarningLevel::Red, deadline),
        deadline + 1,
    );
    assert_eq!(code, RejectionCode::IllegalTransition);
}

#[test]
fn unknown_orders_and_non_actionable_incidents_are_refused_unrecorded() {
    let policy = policy();
    let ctx = Context {
        now_ms: 0,
        actor: &gas(),
        policy: &policy,
        command_id: None,
    };
    let d = decide(None, &Command::Accept { note: None }, &ctx);
    assert!(matches!(&d, Decision::Refused(r) if r.code == RejectionCode::UnknownOrder));
    assert!(d.event().is_none());
    let ctx = Context {
        now_ms: 0,
        actor: &Actor::Dispatch,
        policy: &policy,
        command_id: None,
    };
    let mut i = incident("inc-p", "occupancy", 0);
    i.actionable = false;
    let d = decide(
        None,
        &Command::Create {
            incident: Box::new(i),
        },
        &ctx,
    );
    assert!(matches!(&d, Decision::Refused(r) if r.code == RejectionCode::NotActionable));
}

#[test]
fn the_snapshot_keeps_what_the_kpis_read() {
    // docs/analytics.md: accepted_at_ms is the current owner's acceptance (a re-dispatch
    // clears it and sets new deadlines), resolved_at_ms the latest resolution (a reopen
    // clears it), resolve_deadline_ms the one in force, satisfaction the latest score.
    let policy = policy();
    let t = cst(T0);
    let h = created(&policy, &incident("inc-k", "gas_leak", t), t);
    let h = step(&policy, &h, &Actor::Dispatch, Command::Dispatch, t);
    assert_eq!(h.order.accept_deadline_ms, Some(t + 3 * MIN));
    assert_eq!(h.order.resolve_deadline_ms, Some(t + HOUR));
    let h = step(&policy, &h, &gas(), Command::Accept { note: None }, t + MIN);
    assert_eq!(h.order.accepted_at_ms, Some(t + MIN));
    let h = step(
        &policy,
        &h,
        &gas(),
        Command::Return {
            reason: note("应由消防处置"),
        },
        t + 2 * MIN,
    );
    let r = t + 10 * MIN;
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::Redispatch {
            owner: "fire_rescue".into(),
            category: Some("fire".into()),
            reason: note("现场有明火"),
        },
        r,
    );
    assert_eq!(h.order.owner.as_str(), "fire_rescue");
    assert_eq!(h.order.category.as_str(), "fire");
    assert_eq!(h.order.co_departments, vec!["emergency_mgmt".into()]);
    assert_eq!(h.order.accepted_at_ms, None);
    assert_eq!(
        h.order.accept_deadline_ms,
        Some(r + MIN),
        "fire: accept 1 min natural"
    );
    assert_eq!(h.order.resolve_deadline_ms, Some(r + 30 * MIN));
    assert!(
        h.order.routing_reason.contains("re-dispatched by"),
        "{}",
        h.order.routing_reason
    );
    assert!(
        h.order.routing_reason.contains("市消防救援支队"),
        "{}",
        h.order.routing_reason
    );
    let fire = Actor::Department("fire_rescue".into());
    let h = step(&policy, &h, &fire, Command::Accept { note: None }, r + MIN);
    let h = step(
        &policy,
        &h,
        &fire,
        Command::Resolve { note: None },
        r + 20 * MIN,
    );
    assert_eq!(h.order.resolved_at_ms, Some(r + 20 * MIN));
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::RecordSatisfaction {
            score: Some(2),
            note: None,
        },
        r + HOUR,
    );
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::Reopen {
            reason: note("回访不满意"),
        },
        r + HOUR,
    );
    assert_eq!(h.order.resolved_at_ms, None);
    assert_eq!(h.order.satisfaction, Some(2));
    let h = step(
        &policy,
        &h,
        &fire,
        Command::Resolve { note: None },
        r + 2 * HOUR,
    );
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::Close {
            reason: None,
            note: None,
        },
        r + 3 * HOUR,
    );
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::RecordSatisfaction {
            score: Some(5),
            note: None,
        },
        r + 4 * HOUR,
    );
    assert_eq!(h.order.status, Closed);
    assert_eq!(h.order.closed_at_ms, Some(r + 3 * HOUR));
    assert_eq!(h.order.resolved_at_ms, Some(r + 2 * HOUR));
    assert_eq!(h.order.satisfaction, Some(5));
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::Reopen {
            reason: note("复查发现隐患"),
        },
        r + 5 * HOUR,
    );
    assert_eq!((h.order.closed_at_ms, h.order.resolved_at_ms), (None, None));
}

#[test]
fn closing_a_returned_order_as_invalid_leaves_no_department_with_it() {
    let policy = policy();
    let heads = heads(&policy, "gas_leak", &gas(), false);
    let h = step(
        &policy,
        &heads["returned"],
        &cc(),
        Command::Close {
            reason: note("重复举报"),
            note: None,
        },
        cst(T0) + HOUR,
    );
    assert_eq!(h.order.status, Closed);
    assert_eq!(h.order.owner, policy.command_center);
    assert_eq!(
        (h.order.accept_deadline_ms, h.order.resolve_deadline_ms),
        (None, None)
    );
}

#[test]
fn the_triage_queue_hands_an_order_to_a_department() {
    let policy = policy();
    let t = cst(T0);
    let h = created(&policy, &incident("inc-t", "unclassified", t), t);
    assert_eq!(h.order.owner, policy.command_center);
    let h = step(&policy, &h, &Actor::Dispatch, Command::Dispatch, t);
    assert_eq!(h.order.accept_deadline_ms, Some(t + 30 * MIN));
    assert_eq!(
        h.order.resolve_deadline_ms, None,
        "the triage queue has no resolve clock"
    );
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::Accept { note: None },
        t + 5 * MIN,
    );
    let h = step(
        &policy,
        &h,
        &cc(),
        Command::Redispatch {
            owner: format!("street_office.{STREET}").as_str().into(),
            category: Some("inactivity_alarm".into()),
            reason: note("独居老人多日未见"),
        },
        t + 6 * MIN,
    );
    assert_eq!(h.order.status, Dispatched);
    assert_eq!(h.order.category.as_str(), "inactivity_alarm");
    assert_eq!(h.order.scenario.as_str(), "elderly_care");
    assert_eq!(h.order.co_departments, vec!["civil_affairs".into()]);
    assert_eq!(h.order.resolve_deadline_ms, Some(t + 6 * MIN + 2 * HOUR));
    let office = Actor::Department(format!("street_office.{STREET}").as_str().into());
    let h = step(
        &policy,
        &h,
        &office,
        Command::Accept { note: None },
        t + 7 * MIN,
    );
    assert_eq!(h.order.status, Accepted);
}
