//! The SLA clocks in virtual time: yellow at 75% and red at 100% of each deadline, at the exact
//! instants, across a weekend and a holiday for working limits and in natural time for
//! critical ones; extensions, returns, restarts.
#![allow(clippy::unwrap_used)]

mod common;

use cityops_core::{DeadlineKind, OrderStatus, TransitionKind, WarningLevel, WorkOrderEvent};
use cityops_dispatch::{verify_chain, Actor, Clock, Command, ManualClock, PartitionState};
use common::*;
use DeadlineKind::{Accept, Resolve};
use WarningLevel::{Red, Yellow};

type Warning = (DeadlineKind, WarningLevel, String);

/// Runs virtual time up to `end` (local time), waking at each `next_wakeup` as a service
/// would; checks that nothing fires a millisecond early; returns the warnings with the local
/// time they were emitted at.
fn run_until(s: &mut PartitionState, clock: &ManualClock, end: &str) -> Vec<Warning> {
    let end = cst(end);
    let mut out = Vec::new();
    while let Some(w) = s.next_wakeup() {
        if w > end {
            break;
        }
        if w > clock.now_ms() {
            clock.set(w - 1);
            assert!(s.tick().is_empty(), "nothing before {}", show(w));
            clock.set(w);
        }
        let events = s.tick();
        assert!(!events.is_empty(), "the wake-up at {} emits", show(w));
        out.extend(events.iter().map(warning));
    }
    clock.set(end.max(clock.now_ms()));
    out.extend(s.tick().iter().map(warning));
    out
}

fn warning(e: &WorkOrderEvent) -> Warning {
    assert_eq!(e.kind, TransitionKind::Escalated);
    assert!(!e.rejected, "{e:?}");
    assert_eq!(e.actor, "dispatch");
    (e.deadline.unwrap(), e.warning.unwrap(), show(e.at_ms))
}

fn w(kind: DeadlineKind, level: WarningLevel, at: &str) -> Warning {
    (kind, level, at.to_owned())
}

/// Opens an order of `category` at local time `at`; returns the state and the order id.
fn open(category: &str, at: &str) -> (ManualClock, PartitionState, String) {
    let clock = ManualClock::new(cst(at));
    let mut s = state(&policy(), &clock);
    let events = s.handle_incident(&incident("inc-1", category, cst(at)));
    assert_eq!(events.len(), 2);
    let id = events[0].order_id.clone();
    (clock, s, id)
}

#[test]
fn a_working_limit_started_on_friday_afternoon_warns_on_monday() {
    // 占道经营 street_vendor: accept 2 working hours, resolve 1 working day (7 h).
    // Friday 2026-11-20 16:00: one working hour left on Friday, the rest from Monday 08:30.
    let (clock, mut s, id) = open("street_vendor", "2026-11-20 16:00");
    let o = s.order(&id).unwrap();
    assert_eq!(show(o.accept_deadline_ms.unwrap()), "2026-11-23 09:30:00");
    assert_eq!(show(o.resolve_deadline_ms.unwrap()), "2026-11-23 16:00:00");
    assert_eq!(
        run_until(&mut s, &clock, "2026-11-23 09:35"),
        vec![
            // 1.5 of 2 working hours: Friday 16:00–17:00 and Monday 08:30–09:00.
            w(Accept, Yellow, "2026-11-23 09:00:00"),
            w(Accept, Red, "2026-11-23 09:30:00"),
        ]
    );
    let owner = Actor::Department("city_mgmt".into());
    assert!(s
        .handle_command(&id, &owner, Command::Accept { note: None })
        .is_applied());
    assert_eq!(
        run_until(&mut s, &clock, "2026-11-24 12:00"),
        vec![
            // 5.25 of 7 working hours: Fri 1 h, Mon 08:30–11:30 and 13:00–14:15.
            w(Resolve, Yellow, "2026-11-23 14:15:00"),
            w(Resolve, Red, "2026-11-23 16:00:00"),
        ]
    );
    assert_eq!(s.next_wakeup(), None, "each level once");
}

#[test]
fn a_working_limit_across_national_day_and_its_make_up_saturday() {
    // 噪声扰民 noise: accept 2 working hours, resolve 3 working days (21 h). Dispatched Wed
    // 2026-09-30 16:30; 国庆 Oct 1–7 is off; Sat Oct 10 is a make-up working day.
    let (clock, mut s, id) = open("noise", "2026-09-30 16:30");
    let o = s.order(&id).unwrap();
    assert_eq!(show(o.accept_deadline_ms.unwrap()), "2026-10-08 10:00:00");
    assert_eq!(show(o.resolve_deadline_ms.unwrap()), "2026-10-10 16:30:00");
    assert_eq!(
        run_until(&mut s, &clock, "2026-10-08 09:29"),
        vec![],
        "silent through the holiday"
    );
    let owner = Actor::Department("ecology_env".into());
    assert_eq!(
        run_until(&mut s, &clock, "2026-10-08 10:05"),
        vec![
            w(Accept, Yellow, "2026-10-08 09:30:00"),
            w(Accept, Red, "2026-10-08 10:00:00"),
        ]
    );
    assert!(s
        .handle_command(&id, &owner, Command::Accept { note: None })
        .is_applied());
    assert_eq!(
        run_until(&mut s, &clock, "2026-10-12 00:00"),
        vec![
            // 15.75 of 21 h: 0.5 (Sep 30) + 7 (Oct 8) + 7 (Oct 9) + 1.25 on the Saturday.
            w(Resolve, Yellow, "2026-10-10 09:45:00"),
            w(Resolve, Red, "2026-10-10 16:30:00"),
        ]
    );
}

#[test]
fn a_critical_natural_limit_warns_at_2m15s_and_3_min() {
    // 燃气泄漏 gas_leak: accept 3 min natural, resolve 1 h natural.
    let (clock, mut s, id) = open("gas_leak", "2026-11-21 03:00");
    assert_eq!(
        run_until(&mut s, &clock, "2026-11-21 04:30"),
        vec![
            w(Accept, Yellow, "2026-11-21 03:02:15"),
            w(Accept, Red, "2026-11-21 03:03:00"),
            w(Resolve, Yellow, "2026-11-21 03:45:00"),
            w(Resolve, Red, "2026-11-21 04:00:00"),
        ]
    );
    let o = s.order(&id).unwrap();
    assert_eq!(
        (o.accept_warning, o.resolve_warning),
        (Some(Red), Some(Red))
    );
    assert!(s.tick().is_empty());
}

#[test]
fn acceptance_stops_the_accept_clock_and_resolution_the_resolve_clock() {
    let (clock, mut s, id) = open("gas_leak", "2026-11-21 03:00");
    clock.advance(2 * MIN);
    assert!(s
        .handle_command(&id, &gas(), Command::Accept { note: None })
        .is_applied());
    clock.advance(30 * MIN);
    assert!(s
        .handle_command(&id, &gas(), Command::Resolve { note: None })
        .is_applied());
    assert_eq!(run_until(&mut s, &clock, "2026-11-22 00:00"), vec![]);
    // A reopen after the deadline resumes the resolve clock: red, at once (yellow first).
    assert!(s
        .handle_command(
            &id,
            &cc(),
            Command::Reopen {
                reason: note("核查未通过")
            }
        )
        .is_applied());
    assert_eq!(
        run_until(&mut s, &clock, "2026-11-22 00:00"),
        vec![
            w(Resolve, Yellow, "2026-11-22 00:00:00"),
            w(Resolve, Red, "2026-11-22 00:00:00"),
        ]
    );
}

#[test]
fn the_triage_queue_has_only_the_accept_clock() {
    let (clock, mut s, id) = open("unclassified", "2026-11-21 10:00");
    assert_eq!(s.order(&id).unwrap().resolve_deadline_ms, None);
    assert_eq!(
        run_until(&mut s, &clock, "2026-11-21 10:40"),
        vec![
            w(Accept, Yellow, "2026-11-21 10:22:30"),
            w(Accept, Red, "2026-11-21 10:30:00"),
        ]
    );
    assert!(s
        .handle_command(&id, &cc(), Command::Accept { note: None })
        .is_applied());
    assert_eq!(run_until(&mut s, &clock, "2026-12-31 00:00"), vec![]);
}

#[test]
fn an_order_that_went_overdue_while_dispatch_was_down_escalates_at_the_first_tick() {
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-21 03:00"));
    let mut before = state(&policy, &clock);
    let mut topic = before.handle_incident(&incident("inc-1", "gas_leak", clock.now_ms()));
    clock.advance(2 * MIN + 15_000);
    topic.extend(before.tick()); // the accept yellow was emitted before the crash
    assert_eq!(topic.len(), 3);
    drop(before);

    // Down for two hours; a fresh instance replays the topic, then ticks.
    clock.set(cst("2026-11-21 05:00"));
    let mut after = state(&policy, &clock);
    assert!(after.replay_all(&topic).is_empty());
    assert_eq!(after.next_wakeup(), Some(cst("2026-11-21 03:03")));
    let events = after.tick();
    assert_eq!(
        events.iter().map(warning).collect::<Vec<_>>(),
        vec![
            // The accept yellow is not emitted again.
            w(Accept, Red, "2026-11-21 05:00:00"),
            w(Resolve, Yellow, "2026-11-21 05:00:00"),
            w(Resolve, Red, "2026-11-21 05:00:00"),
        ]
    );
    topic.extend(events);
    assert_eq!(verify_chain(&topic), Ok(()));
    assert!(after.tick().is_empty());
    assert_eq!(after.next_wakeup(), None);
}

#[test]
fn an_extension_moves_the_resolve_deadline_and_its_warnings() {
    // 供暖 heating: accept 2 h natural, resolve 24 h natural.
    let (clock, mut s, id) = open("heating", "2026-12-01 08:00");
    let heating = Actor::Department("heating".into());
    clock.advance(HOUR);
    assert!(s
        .handle_command(&id, &heating, Command::Accept { note: None })
        .is_applied());
    assert_eq!(
        run_until(&mut s, &clock, "2026-12-02 03:00"),
        vec![w(Resolve, Yellow, "2026-12-02 02:00:00")]
    );
    let wanted = cst("2026-12-03 08:00");
    assert!(s
        .handle_command(
            &id,
            &heating,
            Command::RequestExtension {
                requested_deadline_ms: Some(wanted),
                reason: note("需更换主管道阀门"),
            },
        )
        .is_applied());
    // Granted as requested (no deadline named: the requested one).
    let d = s.handle_command(
        &id,
        &cc(),
        Command::GrantExtension {
            new_deadline_ms: None,
            note: None,
        },
    );
    let e = d.event().unwrap();
    assert!(!e.rejected, "{e:?}");
    assert_eq!(e.new_deadline_ms, Some(wanted));
    let o = s.order(&id).unwrap();
    assert_eq!(o.resolve_deadline_ms, Some(wanted));
    assert_eq!(
        o.resolve_warning, None,
        "warnings start over for the new deadline"
    );
    assert_eq!(
        run_until(&mut s, &clock, "2026-12-04 00:00"),
        vec![
            // Nothing at the old deadline (Dec 2 08:00); 75% of the 48 h clock: 36 h.
            w(Resolve, Yellow, "2026-12-02 20:00:00"),
            w(Resolve, Red, "2026-12-03 08:00:00"),
        ]
    );
}

#[test]
fn an_extension_of_a_working_limit_counts_working_time_to_the_new_deadline() {
    // street_vendor resolve 1 working day from Mon 09:00 (Tue 09:00), extended to Wed 09:00:
    // 14 working hours from the dispatch; yellow after 10.5 of them (Tue 14:00).
    let (clock, mut s, id) = open("street_vendor", "2026-11-23 09:00");
    let owner = Actor::Department("city_mgmt".into());
    clock.advance(MIN);
    assert!(s
        .handle_command(&id, &owner, Command::Accept { note: None })
        .is_applied());
    assert!(s
        .handle_command(
            &id,
            &owner,
            Command::RequestExtension {
                requested_deadline_ms: None,
                reason: note("需协调业主")
            },
        )
        .is_applied());
    assert!(s
        .handle_command(
            &id,
            &cc(),
            Command::GrantExtension {
                new_deadline_ms: Some(cst("2026-11-25 09:00")),
                note: None
            },
        )
        .is_applied());
    assert_eq!(
        run_until(&mut s, &clock, "2026-11-26 00:00"),
        vec![
            w(Resolve, Yellow, "2026-11-24 14:00:00"),
            w(Resolve, Red, "2026-11-25 09:00:00"),
        ]
    );
}

#[test]
fn a_return_stops_the_clock_and_a_re_dispatch_starts_fresh_ones() {
    let (clock, mut s, id) = open("gas_leak", "2026-11-21 03:00");
    clock.advance(MIN);
    assert!(s
        .handle_command(
            &id,
            &gas(),
            Command::Return {
                reason: note("应由消防处置")
            }
        )
        .is_applied());
    assert_eq!(s.next_wakeup(), None);
    assert_eq!(run_until(&mut s, &clock, "2026-11-21 06:00"), vec![]);
    let d = s.handle_command(
        &id,
        &cc(),
        Command::Redispatch {
            owner: "fire_rescue".into(),
            category: None,
            reason: note("改派消防"),
        },
    );
    assert!(d.is_applied(), "{d:?}");
    let o = s.order(&id).unwrap();
    assert_eq!(o.status, OrderStatus::Dispatched);
    assert_eq!(show(o.accept_deadline_ms.unwrap()), "2026-11-21 06:03:00");
    assert_eq!(
        run_until(&mut s, &clock, "2026-11-21 06:04"),
        vec![
            w(Accept, Yellow, "2026-11-21 06:02:15"),
            w(Accept, Red, "2026-11-21 06:03:00"),
        ]
    );
}

#[test]
fn the_timers_are_a_function_of_the_orders() {
    // Rebuilt after a replay, a state has the same pending warnings at the same instants.
    let policy = policy();
    let clock = ManualClock::new(cst("2026-11-20 16:00"));
    let mut s = state(&policy, &clock);
    let mut topic = Vec::new();
    for (i, c) in ["street_vendor", "gas_leak", "unclassified", "noise"]
        .iter()
        .enumerate()
    {
        let mut inc = incident(&format!("inc-{i}"), c, clock.now_ms());
        inc.event.location = Some(north_of_here(1_000.0 * i as f64));
        topic.extend(s.handle_incident(&inc));
        clock.advance(MIN);
    }
    clock.advance(10 * MIN);
    topic.extend(s.tick());
    let mut fresh = state(&policy, &clock);
    fresh.replay_all(&topic);
    assert_eq!(fresh.pending_escalations(), s.pending_escalations());
    assert_eq!(fresh.next_wakeup(), s.next_wakeup());
    assert!(!s.pending_escalations().is_empty());
}
