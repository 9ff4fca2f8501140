//! Duplicate merging (并单): distance, window, category, device; idempotent re-handling.
#![allow(clippy::unwrap_used)]

mod common;

use cityops_core::{OrderStatus, TransitionKind};
use cityops_dispatch::{Clock, Command, ManualClock, MergeConfig, PartitionState, Policy};
use common::*;
use std::sync::Arc;

fn setup() -> (ManualClock, PartitionState) {
    let clock = ManualClock::new(cst("2026-11-18 10:00"));
    let s = state(&policy(), &clock);
    (clock, s)
}

/// Handles `incident` as occurring now; returns the kinds emitted and the order it went to.
fn handle(s: &mut PartitionState, i: cityops_core::Incident) -> (Vec<TransitionKind>, String) {
    let events = s.handle_incident(&i);
    let kinds = events.iter().map(|e| e.kind).collect();
    let order = s
        .order_of_incident(&i.incident_id)
        .unwrap_or_default()
        .to_owned();
    (kinds, order)
}

const NEW: [TransitionKind; 2] = [TransitionKind::Created, TransitionKind::Dispatched];
const MERGED: [TransitionKind; 1] = [TransitionKind::Merged];

#[test]
fn inside_200_m_merges_outside_does_not() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    let (k, master) = handle(&mut s, incident("a", "garbage", t));
    assert_eq!(k, NEW);
    clock.advance(10 * MIN);
    let near = at(
        incident("b", "garbage", clock.now_ms()),
        Some(north_of_here(150.0)),
    );
    let (k, o) = handle(&mut s, near);
    assert_eq!(k, MERGED);
    assert_eq!(o, master);
    let at_limit = at(
        incident("b2", "garbage", clock.now_ms()),
        Some(north_of_here(199.0)),
    );
    assert_eq!(handle(&mut s, at_limit).0, MERGED);
    let far = at(
        incident("c", "garbage", clock.now_ms()),
        Some(north_of_here(250.0)),
    );
    let (k, o) = handle(&mut s, far);
    assert_eq!(k, NEW);
    assert_ne!(o, master);
    assert_eq!(s.order(&master).unwrap().incident_ids, ["a", "b", "b2"]);
}

#[test]
fn inside_the_2_h_window_merges_outside_does_not() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    let (_, master) = handle(&mut s, incident("a", "garbage", t));
    clock.set(t + 2 * HOUR);
    let (k, o) = handle(&mut s, incident("b", "garbage", t + 2 * HOUR));
    assert_eq!(
        (k.as_slice(), o.as_str()),
        (MERGED.as_slice(), master.as_str()),
        "2 h exactly is inside"
    );
    // The window runs from the latest report: b (at t+2h) keeps the order open to t+4h.
    clock.set(t + 4 * HOUR);
    assert_eq!(
        handle(&mut s, incident("c", "garbage", t + 4 * HOUR)).0,
        MERGED
    );
    clock.set(t + 6 * HOUR + 1);
    let (k, o) = handle(&mut s, incident("d", "garbage", t + 6 * HOUR + 1));
    assert_eq!(k, NEW, "just over 2 h after the latest report");
    assert_ne!(o, master);
}

#[test]
fn a_late_report_of_an_earlier_occurrence_still_merges_inside_the_window() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    handle(&mut s, incident("a", "garbage", t));
    clock.advance(5 * MIN);
    // Occurred 90 min before the order was opened, reported now.
    assert_eq!(
        handle(&mut s, incident("b", "garbage", t - 90 * MIN)).0,
        MERGED
    );
    assert_eq!(
        handle(&mut s, incident("c", "garbage", t - 3 * HOUR)).0,
        NEW
    );
}

#[test]
fn different_categories_at_one_place_stay_separate() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    let (_, a) = handle(&mut s, incident("a", "garbage", t));
    let (k, b) = handle(&mut s, incident("b", "road_damage", t));
    assert_eq!(k, NEW);
    assert_ne!(a, b);
    let (k, c) = handle(&mut s, incident("c", "road_damage", t));
    assert_eq!((k.as_slice(), c.as_str()), (MERGED.as_slice(), b.as_str()));
}

#[test]
fn a_repeated_device_alarm_joins_its_open_order_and_opens_a_new_one_after_close() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    let (k, master) = handle(
        &mut s,
        device_incident("g1", "gas_leak", "SY-GAS-000123", t),
    );
    assert_eq!(k, NEW);
    // Hours later and without coordinates: still the same device, order still open.
    clock.set(t + 5 * HOUR);
    let repeat = at(
        device_incident("g2", "gas_leak", "SY-GAS-000123", t + 5 * HOUR),
        None,
    );
    let events = s.handle_incident(&repeat);
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].kind, TransitionKind::Merged);
    assert_eq!(events[0].order_id, master);
    assert_eq!(events[0].incident_id.as_deref(), Some("g2"));
    assert!(events[0]
        .reason
        .as_deref()
        .unwrap()
        .contains("repeated alarm of device SY-GAS-000123"));
    // Another device far away is not a duplicate.
    let other = at(
        device_incident("g3", "gas_leak", "SY-GAS-000999", t + 5 * HOUR),
        Some(north_of_here(500.0)),
    );
    assert_eq!(handle(&mut s, other).0, NEW);

    // Resolved (and closed): the next alarm of the device is a new problem.
    let gas = gas();
    for c in [
        Command::Accept { note: None },
        Command::Resolve {
            note: note("已处置"),
        },
    ] {
        assert!(s.handle_command(&master, &gas, c).is_applied());
    }
    let (k, o) = handle(
        &mut s,
        device_incident("g4", "gas_leak", "SY-GAS-000123", t + 5 * HOUR),
    );
    assert_eq!(k, NEW, "after resolution");
    assert_ne!(o, master);
    assert!(s
        .handle_command(
            &master,
            &cc(),
            Command::Close {
                reason: None,
                note: None
            }
        )
        .is_applied());
    clock.set(t + 6 * HOUR);
    let (k, o2) = handle(
        &mut s,
        device_incident("g5", "gas_leak", "SY-GAS-000123", t + 6 * HOUR),
    );
    assert_eq!(
        k, MERGED,
        "joins the new open order of the device, not the closed one"
    );
    assert_eq!(o2, o);
}

#[test]
fn a_returned_order_still_takes_duplicates() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    let (_, master) = handle(&mut s, incident("a", "illegal_construction", t));
    let city = cityops_dispatch::Actor::Department("city_mgmt".into());
    assert!(s
        .handle_command(
            &master,
            &city,
            Command::Return {
                reason: note("属住建局职责")
            }
        )
        .is_applied());
    assert_eq!(s.order(&master).unwrap().status, OrderStatus::Returned);
    assert_eq!(
        handle(&mut s, incident("b", "illegal_construction", t + MIN)).0,
        MERGED
    );
}

#[test]
fn triage_incidents_and_incidents_without_coordinates_do_not_merge_by_place() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    assert_eq!(handle(&mut s, incident("u1", "unclassified", t)).0, NEW);
    assert_eq!(handle(&mut s, incident("u2", "unclassified", t)).0, NEW);
    // An unknown category goes to triage too, and does not merge either.
    assert_eq!(handle(&mut s, incident("u3", "teleportation", t)).0, NEW);
    assert_eq!(handle(&mut s, at(incident("n1", "noise", t), None)).0, NEW);
    assert_eq!(handle(&mut s, at(incident("n2", "noise", t), None)).0, NEW);
}

#[test]
fn other_streets_are_other_orders() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    handle(&mut s, incident("a", "garbage", t));
    let mut b = incident("b", "garbage", t);
    b.street_code = Some("210106002".into());
    let (k, o) = handle(&mut s, b);
    assert_eq!(k, NEW);
    assert!(o.starts_with("WO-210106002-"));
}

#[test]
fn non_actionable_incidents_never_open_orders() {
    let (clock, mut s) = setup();
    let mut i = incident("p", "occupancy", clock.now_ms());
    assert!(!i.actionable);
    assert!(s.handle_incident(&i).is_empty());
    i.category = "congestion".into();
    assert!(s.handle_incident(&i).is_empty());
    assert_eq!(s.entries().len(), 0);
}

#[test]
fn handling_the_same_incident_twice_is_a_no_op() {
    let (clock, mut s) = setup();
    let t = clock.now_ms();
    let first = incident("a", "garbage", t);
    assert_eq!(s.handle_incident(&first).len(), 2);
    assert!(
        s.handle_incident(&first).is_empty(),
        "a redelivered incident"
    );
    let dup = incident("b", "garbage", t);
    assert_eq!(s.handle_incident(&dup).len(), 1);
    clock.advance(MIN);
    assert!(
        s.handle_incident(&dup).is_empty(),
        "a redelivered duplicate"
    );
    assert_eq!(s.entries().len(), 1);
    let order = s.open_orders().next().unwrap();
    assert_eq!(order.incident_ids, ["a", "b"]);
    assert_eq!(order.version, 3);
}

#[test]
fn the_distance_and_window_are_configurable() {
    let mut p = (*policy()).clone();
    p.merge = MergeConfig {
        distance_m: 50.0,
        window_ms: 10 * MIN,
    };
    let p: Arc<Policy> = Arc::new(p);
    let clock = ManualClock::new(cst("2026-11-18 10:00"));
    let mut s = state(&p, &clock);
    let t = clock.now_ms();
    handle(&mut s, incident("a", "garbage", t));
    assert_eq!(
        handle(
            &mut s,
            at(incident("b", "garbage", t), Some(north_of_here(80.0)))
        )
        .0,
        NEW
    );
    assert_eq!(
        handle(&mut s, incident("c", "garbage", t + 11 * MIN)).0,
        NEW
    );
    let cfg: MergeConfig = serde_json::from_str(r#"{"distance_m": 300}"#).unwrap();
    assert_eq!(
        cfg.window_ms,
        2 * HOUR,
        "defaults fill what a config leaves out"
    );
}
