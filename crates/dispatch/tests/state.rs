//! Partition state: event-sourced replay gives the same state; redelivered input is a no-op;
//! two instances splitting the streets never open a duplicate order; routing reasons.
#![allow(clippy::unwrap_used)]

mod common;

use cityops_core::{DepartmentUpdate, OrderStatus, TransitionKind, UpdateAction, WorkOrderEvent};
use cityops_dispatch::{
    command_from_update, order_id_for, route_incident, street_key_of, verify_all, Actor, Clock,
    Command, Decision, ManualClock, PartitionState, RejectionCode, Replayed,
};
use common::*;

/// A busy afternoon on two streets: new orders, duplicates, commands, rejections, warnings.
fn busy(s: &mut PartitionState, clock: &ManualClock) -> Vec<WorkOrderEvent> {
    let mut topic = Vec::new();
    let t = clock.now_ms();
    topic.extend(s.handle_incident(&incident("a", "gas_leak", t)));
    topic.extend(s.handle_incident(&device_incident("b", "gas_leak", "SY-GAS-1", t)));
    topic.extend(s.handle_incident(&incident("c", "garbage", t)));
    let mut d = incident("d", "street_vendor", t);
    d.street_code = Some("210106002".into());
    topic.extend(s.handle_incident(&d));
    topic.extend(s.handle_incident(&incident("e", "unclassified", t)));
    clock.advance(MIN);
    let gas_order = s.order_of_incident("a").unwrap().to_owned();
    topic.extend(
        s.handle_command(&gas_order, &gas(), Command::Accept { note: None })
            .into_event(),
    );
    topic.extend(
        s.handle_command(
            &gas_order,
            &Actor::Department("water".into()),
            Command::Accept { note: None },
        )
        .into_event(),
    );
    let garbage = s.order_of_incident("c").unwrap().to_owned();
    topic.extend(
        s.handle_command(
            &garbage,
            &Actor::Department("city_mgmt".into()),
            Command::Return {
                reason: note("已由街道处理"),
            },
        )
        .into_event(),
    );
    clock.advance(50 * MIN);
    topic.extend(s.tick());
    topic
}

#[test]
fn replaying_the_emitted_events_gives_the_same_state() {
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-20 16:00"));
    let mut live = state(&policy, &clock);
    let topic = busy(&mut live, &clock);
    assert!(topic.iter().any(|e| e.rejected));
    assert!(topic.iter().any(|e| e.kind == TransitionKind::Merged));
    assert!(topic.iter().any(|e| e.kind == TransitionKind::Escalated));
    assert!(verify_all(&topic).is_empty());

    let mut replayed = state(&policy, &clock);
    for e in &topic {
        assert_eq!(replayed.replay(e), Replayed::Applied);
    }
    assert!(replayed.same_state(&live));
    assert_eq!(replayed.entries(), live.entries());
    assert_eq!(replayed.handled_incidents(), live.handled_incidents());
    assert_eq!(replayed.pending_escalations(), live.pending_escalations());
    assert_eq!(replayed.merge_index(), live.merge_index());
    assert_eq!(
        replayed.open_orders().collect::<Vec<_>>(),
        live.open_orders().collect::<Vec<_>>()
    );

    // And they go on identically.
    clock.advance(HOUR);
    let next = incident("f", "gas_leak", clock.now_ms());
    assert_eq!(live.handle_incident(&next), replayed.handle_incident(&next));
    assert_eq!(live.tick(), replayed.tick());
    assert!(replayed.same_state(&live));
}

#[test]
fn redelivered_transitions_are_ignored_and_forks_lose() {
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-20 16:00"));
    let mut live = state(&policy, &clock);
    let topic = busy(&mut live, &clock);
    let mut s = state(&policy, &clock);
    s.replay_all(&topic);
    // At-least-once: the last transition of an order again.
    let last = topic.last().unwrap();
    assert_eq!(s.replay(last), Replayed::Duplicate);
    assert!(matches!(s.replay(&topic[0]), Replayed::Ignored { .. }));
    // A competing seq 1 written by another instance during a rebalance: the first wins.
    let mut fork = topic[0].clone();
    fork.at_ms += 1;
    assert!(matches!(s.replay(&fork), Replayed::Ignored { .. }));
    assert!(s.same_state(&live));
}

#[test]
fn a_broken_chain_is_reported_on_replay_but_the_topic_still_rules() {
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-20 16:00"));
    let mut live = state(&policy, &clock);
    let mut topic = busy(&mut live, &clock);
    let i = topic
        .iter()
        .position(|e| e.kind == TransitionKind::Accepted && !e.rejected)
        .unwrap();
    topic[i].note = Some("tampered".into());
    let mut s = state(&policy, &clock);
    let broken = s.replay_all(&topic);
    assert_eq!(broken.len(), 1);
    assert_eq!(broken[0].transition_id, topic[i].transition_id);
    assert_eq!(s.entries().len(), live.entries().len());
}

#[test]
fn two_instances_split_the_streets_and_a_rebalance_never_duplicates_an_order() {
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-20 16:00"));
    let t = clock.now_ms();
    // Streets 1 and 2 live on different partitions, owned by instances A and B.
    let on = |id: &str, street: &str| {
        let mut i = incident(id, "garbage", t);
        i.street_code = Some(street.into());
        i
    };
    let mut a = state(&policy, &clock);
    let mut b = state(&policy, &clock);
    let mut partition_1 = a.handle_incident(&on("x1", "210106001"));
    let mut partition_2 = b.handle_incident(&on("y1", "210106002"));
    assert_eq!(street_key_of(&partition_1[0].order_id), Some("210106001"));
    assert_eq!(street_key_of(&partition_2[0].order_id), Some("210106002"));

    // A dies after producing but before committing its input offset; B takes partition 1:
    // it replays partition 1 first, then gets x1 again (redelivered) and a duplicate x2.
    clock.advance(MIN);
    let mut b1 = state(&policy, &clock);
    b1.replay_all(&partition_1);
    assert!(b1.handle_incident(&on("x1", "210106001")).is_empty());
    let merged = b1.handle_incident(&on("x2", "210106001"));
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].kind, TransitionKind::Merged);
    assert_eq!(merged[0].order_id, partition_1[0].order_id);
    assert_eq!(merged[0].seq, 3, "continues the chain written by A");
    partition_1.extend(merged);
    partition_2.extend(b.handle_incident(&on("y2", "210106002")));
    let all: Vec<_> = partition_1.iter().chain(&partition_2).collect();
    let created: Vec<_> = all
        .iter()
        .filter(|e| e.kind == TransitionKind::Created)
        .collect();
    assert_eq!(created.len(), 2, "one order per street");
    assert!(verify_all(all.iter().copied()).is_empty());
    // The order id alone is enough to find where an order lives.
    assert_eq!(partition_1[0].order_id, order_id_for("210106001", "x1"));
}

#[test]
fn department_updates_are_applied_once_even_after_a_replay() {
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-20 16:00"));
    let mut s = state(&policy, &clock);
    let mut history = s.handle_incident(&incident("a", "gas_leak", clock.now_ms()));
    let order_id = s.order_of_incident("a").unwrap().to_owned();
    let update = DepartmentUpdate {
        update_id: "gas-0001".into(),
        order_id: order_id.clone(),
        department: "gas".into(),
        action: UpdateAction::Accept,
        note: Some("已签收".into()),
        reason: None,
        requested_deadline_ms: None,
        at_ms: clock.now_ms(),
    };
    let accept = command_from_update(&update, "gas");
    assert_eq!(accept.command_id, "gas:gas-0001");
    let d = s.handle_order_command(&accept);
    assert!(d.is_applied());
    assert_eq!(
        d.event().unwrap().command_id.as_deref(),
        Some("gas:gas-0001")
    );
    history.extend(d.into_event());
    let again = s.handle_order_command(&accept);
    assert!(matches!(&again, Decision::Refused(r) if r.code == RejectionCode::Duplicate));
    assert_eq!(s.entry(&order_id).unwrap().head.seq, 3);
    // Rebuilt from its history (a restart), the state still knows the command.
    let mut rebuilt = state(&policy, &clock);
    assert!(rebuilt.replay_all(history.iter()).is_empty());
    assert!(rebuilt.same_state(&s));
    assert_eq!(
        rebuilt
            .handle_order_command(&accept)
            .rejection()
            .unwrap()
            .code,
        RejectionCode::Duplicate
    );
    // The updates of another department on this order, on its own topic: not yours, recorded.
    let foreign = DepartmentUpdate {
        update_id: "w-1".into(),
        department: "water".into(),
        action: UpdateAction::Resolve,
        ..update.clone()
    };
    let d = s.handle_order_command(&command_from_update(&foreign, "water"));
    assert_eq!(d.rejection().unwrap().code, RejectionCode::NotYourOrder);
    assert_eq!(d.rejection().unwrap().code.http_status(), 403);
    assert_eq!(d.event().unwrap().actor, "water");
    // The same update on the gas topic but naming water: refused by the channel, recorded.
    let d = s.handle_order_command(&command_from_update(&foreign, "gas"));
    let rejection = d.rejection().unwrap();
    assert_eq!(rejection.code, RejectionCode::NotPermitted);
    assert!(
        rejection.reason.contains("names department water"),
        "{rejection:?}"
    );
    assert!(d.event().unwrap().rejected);
    assert_eq!(s.order(&order_id).unwrap().status, OrderStatus::Accepted);
    // A return without a reason is rejected and says so.
    let back = DepartmentUpdate {
        update_id: "gas-0002".into(),
        action: UpdateAction::Return,
        ..update.clone()
    };
    let d = s.handle_order_command(&command_from_update(&back, "gas"));
    assert_eq!(d.rejection().unwrap().code, RejectionCode::InvalidInput);
    assert_eq!(s.order(&order_id).unwrap().status, OrderStatus::Accepted);
    // A callback number written into a note is masked before it is recorded.
    let progress = DepartmentUpdate {
        update_id: "gas-0004".into(),
        action: UpdateAction::Progress,
        note: Some("已联系居民 138-0000-1234，明早上门".into()),
        ..update.clone()
    };
    let d = s.handle_order_command(&command_from_update(&progress, "gas"));
    assert!(d.is_applied(), "{d:?}");
    assert_eq!(
        d.event().unwrap().note.as_deref(),
        Some("已联系居民 [电话]，明早上门")
    );
    // Unknown orders are refused, not recorded.
    let lost = DepartmentUpdate {
        update_id: "gas-0003".into(),
        order_id: "WO-210106001-000000000000".into(),
        ..update
    };
    assert_eq!(
        s.handle_order_command(&command_from_update(&lost, "gas"))
            .rejection()
            .unwrap()
            .code,
        RejectionCode::UnknownOrder
    );
}

#[test]
fn routing_names_owner_co_departments_and_the_rule() {
    let policy = policy();
    let t = cst("2026-11-20 16:00");
    let r = route_incident(&policy, &incident("a", "gas_leak", t)).unwrap();
    assert_eq!(r.owner.as_str(), "gas");
    assert_eq!(r.co_departments, vec!["fire_rescue".into()]);
    assert_eq!(
        r.reason,
        "燃气泄漏 → 市燃气集团, 联动 市消防救援支队: catalogue emergency/gas_leak"
    );
    // The street office is the incident's street's.
    let r = route_incident(&policy, &incident("b", "inactivity_alarm", t)).unwrap();
    assert_eq!(r.owner.as_str(), "street_office.210106001");
    assert!(r.reason.contains("兴华街道办事处"), "{}", r.reason);
    let r = route_incident(&policy, &incident("c", "fall_alarm", t)).unwrap();
    assert_eq!(r.owner.as_str(), "ems_120");
    assert_eq!(r.co_departments, vec!["street_office.210106001".into()]);
    // Street unknown: the command centre assigns the street office.
    let mut i = incident("d", "inactivity_alarm", t);
    i.street_code = None;
    i.street_name = None;
    let r = route_incident(&policy, &i).unwrap();
    assert_eq!(r.owner, policy.command_center);
    assert_eq!(r.category.as_str(), "inactivity_alarm");
    assert!(r.reason.contains("street unknown"), "{}", r.reason);
    // Triage and unknown categories.
    let r = route_incident(&policy, &incident("e", "unclassified", t)).unwrap();
    assert_eq!(r.owner.as_str(), "command_center");
    assert_eq!(
        r.reason,
        "待人工分拨 → 市城市运行管理中心(指挥中心): catalogue other/unclassified"
    );
    let r = route_incident(&policy, &incident("f", "teleportation", t)).unwrap();
    assert_eq!(r.owner.as_str(), "command_center");
    assert_eq!(r.category.as_str(), "unclassified");
    assert!(
        r.reason
            .starts_with("category teleportation is not in catalogue"),
        "{}",
        r.reason
    );
    let mut cockpit_only = incident("g", "occupancy", t);
    assert!(route_incident(&policy, &cockpit_only).is_none());
    cockpit_only.actionable = true; // enrichment with another catalogue thought so
    let r = route_incident(&policy, &cockpit_only).unwrap();
    assert_eq!(r.owner.as_str(), "command_center");
    assert!(r.reason.contains("has no time limit"), "{}", r.reason);
}

#[test]
fn every_order_records_its_routing_reason() {
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-20 16:00"));
    let mut s = state(&policy, &clock);
    let events = s.handle_incident(&incident("a", "gas_leak", clock.now_ms()));
    assert_eq!(events[0].kind, TransitionKind::Created);
    assert_eq!(events[0].status_before, None);
    assert_eq!(events[1].kind, TransitionKind::Dispatched);
    let reason = "燃气泄漏 → 市燃气集团, 联动 市消防救援支队: catalogue emergency/gas_leak";
    assert_eq!(events[0].reason.as_deref(), Some(reason));
    assert_eq!(events[1].order.routing_reason, reason);
    assert_eq!(
        events[1].note.as_deref(),
        Some("accept by 2026-11-20 16:03:00; resolve by 2026-11-20 17:00:00")
    );
    assert_eq!(events[1].order.version, 2);
    let _ = Clock::now_ms(&clock);
}
