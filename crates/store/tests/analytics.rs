//! The analytics layer of `docs/analytics.md` on both engines: ClickHouse 18.16 (the local
//! stack, `make up`) and a current ClickHouse (chDB, in process, through
//! `scripts/chdb_run.py`; `make setup` installs it).
//!
//! A hand-made week of data (2025-12-01..07, Asia/Shanghai) goes through the store's row types:
//! events and incidents (some replayed, one re-enriched), telemetry, dead letters, and work
//! orders built transition by transition as dispatch would (accepted on time and late, missed,
//! escalated, returned and re-dispatched, extended, reopened after a bad callback, closed), each
//! transition written as the sink writes it: a `workorder_events` row and a `workorders`
//! snapshot. Then:
//! - `department_kpis_daily` must give exactly the figures computed by hand below, on both;
//! - every ```sql block of `docs/analytics.md` must run on both and give the same rows, and a
//!   few of them the rows worked out by hand.
//!
//! No test here skips: without the server or without chdb it fails and says what to run.

#![allow(clippy::unwrap_used)]

mod common;

use cityops_core::{
    event_id_for, CategoryId, CityEvent, Classification, ClassifiedBy, DeadlineKind, DepartmentId,
    GeoPoint, Incident, LocationPrecision, OrderStatus, Reading, ScenarioId, Severity, Source,
    TransitionKind, WarningLevel, WorkOrder, WorkOrderEvent,
};
use cityops_store::{
    BatchConfig, BatchWriter, ClickHouseConfig, DeadLetter, DeadLetterRow, EventRow, IncidentRow,
    PayloadPolicy, TableRow, TelemetryRow, WorkOrderEventRow, WorkOrderRow,
};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

// ---------------------------------------------------------------------------------------------
// Time: the example week is in Asia/Shanghai (UTC+8, no daylight saving time).
// ---------------------------------------------------------------------------------------------

const MIN: i64 = 60_000;
const HOUR: i64 = 60 * MIN;

/// Days since 1970-01-01 of a Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Milliseconds since the epoch of 2025-`m`-`d` `h`:`mi` local time in Asia/Shanghai.
fn local(m: i64, d: i64, h: i64, mi: i64) -> i64 {
    ((days_from_civil(2025, m, d) * 24 + h - 8) * 60 + mi) * MIN
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}

#[test]
fn local_time_is_utc_plus_8() {
    // 2025-12-01 08:00 in Shenyang is 2025-12-01 00:00 UTC.
    assert_eq!(local(12, 1, 8, 0), 1_764_547_200_000);
    assert_eq!(local(12, 4, 0, 0) - local(12, 3, 0, 0), 24 * HOUR);
}

// ---------------------------------------------------------------------------------------------
// Places
// ---------------------------------------------------------------------------------------------

struct Place {
    district: &'static str,
    district_name: &'static str,
    street: &'static str,
    street_name: &'static str,
    grid: &'static str,
}

/// 铁西区 兴华街道, grids 07 and 08.
const XINGHUA_07: Place = Place {
    district: "210106",
    district_name: "铁西区",
    street: "210106001",
    street_name: "兴华街道",
    grid: "210106001-07",
};
const XINGHUA_08: Place = Place {
    grid: "210106001-08",
    ..XINGHUA_07
};
/// 铁西区 兴顺街道.
const XINGSHUN_01: Place = Place {
    district: "210106",
    district_name: "铁西区",
    street: "210106002",
    street_name: "兴顺街道",
    grid: "210106002-01",
};
/// 和平区 太原街街道.
const TAIYUAN_03: Place = Place {
    district: "210102",
    district_name: "和平区",
    street: "210102001",
    street_name: "太原街街道",
    grid: "210102001-03",
};

// ---------------------------------------------------------------------------------------------
// Events and incidents
// ---------------------------------------------------------------------------------------------

/// One reported event and what enrichment made of it.
struct Report {
    id: &'static str,
    source: Source,
    at: i64,
    place: Option<&'static Place>,
    scenario: &'static str,
    category: &'static str,
    severity: Severity,
    actionable: bool,
    reporter: Option<&'static str>,
    device: Option<&'static str>,
}

impl Report {
    fn event(&self) -> CityEvent {
        let hotline = self.source == Source::Hotline;
        CityEvent {
            event_id: event_id_for(self.source, self.id),
            source: self.source,
            source_id: self.id.to_owned(),
            occurred_at_ms: self.at,
            received_at_ms: self.at + 2_000,
            location: self.place.map(|_| GeoPoint {
                lat: 41.79,
                lon: 123.36,
            }),
            address: None,
            district_hint: self.place.map(|p| p.district_name.to_owned()),
            text: hotline.then(|| format!("市民来电反映：{}", self.category)),
            channel: hotline.then(|| "phone".to_owned()),
            request_type: hotline.then(|| "投诉".to_owned()),
            device_id: self.device.map(str::to_owned),
            device_type: self.device.map(|_| "gas_detector".to_owned()),
            metrics: if self.device.is_some() {
                BTreeMap::from([("ch4_lel".to_owned(), 35.0)])
            } else {
                BTreeMap::new()
            },
            device_event: None,
            tags: BTreeMap::new(),
            reporter_hash: self.reporter.map(str::to_owned),
            attachments: Vec::new(),
        }
    }

    fn incident(&self, enriched_after_ms: i64, severity: Severity) -> Incident {
        let event = self.event();
        Incident {
            incident_id: event.event_id.clone(),
            district_code: self.place.map(|p| p.district.to_owned()),
            district_name: self.place.map(|p| p.district_name.to_owned()),
            street_code: self.place.map(|p| p.street.to_owned()),
            street_name: self.place.map(|p| p.street_name.to_owned()),
            grid_code: self.place.map(|p| p.grid.to_owned()),
            location_precision: if self.place.is_some() {
                LocationPrecision::Point
            } else {
                LocationPrecision::Unlocated
            },
            h3_cell: None,
            scenario: ScenarioId::new(self.scenario),
            category: CategoryId::new(self.category),
            severity,
            actionable: self.actionable,
            classification: Classification {
                method: if self.device.is_some() {
                    ClassifiedBy::IotRule
                } else {
                    ClassifiedBy::Model
                },
                rule_id: None,
                confidence: 0.9,
                model_version: None,
            },
            catalogue_version: "2025.12".to_owned(),
            enriched_at_ms: self.at + enriched_after_ms,
            event,
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn report(
    id: &'static str,
    source: Source,
    at: i64,
    place: Option<&'static Place>,
    (scenario, category): (&'static str, &'static str),
    severity: Severity,
    reporter: Option<&'static str>,
    device: Option<&'static str>,
) -> Report {
    Report {
        id,
        source,
        at,
        place,
        scenario,
        category,
        severity,
        actionable: category != "occupancy",
        reporter,
        device,
    }
}

const HEATING: (&str, &str) = ("utilities", "heating");
const GAS_LEAK: (&str, &str) = ("emergency", "gas_leak");
const PARKING: (&str, &str) = ("parking", "illegal_parking");
const FIRE_LANE: (&str, &str) = ("parking", "fire_lane_blocked");
const OCCUPANCY: (&str, &str) = ("parking", "occupancy");
const TRIAGE: (&str, &str) = ("other", "unclassified");

/// The week's reports. Hand-counted facts the doc's queries must reproduce are noted where
/// they are used.
fn reports() -> Vec<Report> {
    use Severity::{Critical, Info, Normal, Urgent};
    use Source::{Hotline, Inspector, Iot};
    let x7 = Some(&XINGHUA_07);
    let x8 = Some(&XINGHUA_08);
    let s1 = Some(&XINGSHUN_01);
    let t3 = Some(&TAIYUAN_03);
    vec![
        // Heating complaints (供暖不热).
        report(
            "h-01",
            Hotline,
            local(12, 1, 8, 5),
            x7,
            HEATING,
            Normal,
            Some("rh_a"),
            None,
        ),
        report(
            "h-02",
            Hotline,
            local(12, 1, 8, 5),
            x7,
            HEATING,
            Normal,
            Some("rh_b"),
            None,
        ),
        report(
            "h-03",
            Hotline,
            local(12, 1, 19, 30),
            x8,
            HEATING,
            Normal,
            Some("rh_c"),
            None,
        ),
        report(
            "h-04",
            Hotline,
            local(12, 2, 7, 40),
            x7,
            HEATING,
            Normal,
            Some("rh_a"),
            None,
        ),
        report(
            "h-05",
            Hotline,
            local(12, 2, 7, 41),
            s1,
            HEATING,
            Normal,
            Some("rh_d"),
            None,
        ),
        report(
            "h-06",
            Hotline,
            local(12, 3, 8, 5),
            x7,
            HEATING,
            Normal,
            Some("rh_a"),
            None,
        ),
        report(
            "h-07",
            Hotline,
            local(12, 3, 8, 5),
            x8,
            HEATING,
            Normal,
            Some("rh_e"),
            None,
        ),
        // 07:00 local on Dec 4 is still Dec 3 in UTC: a local-day query counts it on Dec 4.
        report(
            "h-08",
            Hotline,
            local(12, 4, 7, 0),
            t3,
            HEATING,
            Normal,
            Some("rh_b"),
            None,
        ),
        // Outside the week.
        report(
            "h-09",
            Hotline,
            local(11, 30, 20, 0),
            x7,
            HEATING,
            Normal,
            Some("rh_a"),
            None,
        ),
        report(
            "h-10",
            Hotline,
            local(12, 8, 9, 0),
            x7,
            HEATING,
            Normal,
            Some("rh_c"),
            None,
        ),
        // Gas.
        report(
            "g-01",
            Iot,
            local(12, 3, 8, 5),
            x7,
            GAS_LEAK,
            Critical,
            None,
            Some("SY-GAS-000123"),
        ),
        report(
            "g-02",
            Hotline,
            local(12, 3, 8, 6),
            x7,
            GAS_LEAK,
            Urgent,
            Some("rh_f"),
            None,
        ),
        // Parking.
        report(
            "p-01",
            Hotline,
            local(12, 2, 10, 0),
            s1,
            PARKING,
            Normal,
            Some("rh_g"),
            None,
        ),
        report(
            "p-02",
            Hotline,
            local(12, 2, 10, 20),
            s1,
            PARKING,
            Normal,
            Some("rh_g"),
            None,
        ),
        report(
            "p-03",
            Hotline,
            local(12, 4, 9, 0),
            s1,
            FIRE_LANE,
            Urgent,
            Some("rh_h"),
            None,
        ),
        report(
            "p-04",
            Inspector,
            local(12, 5, 18, 0),
            t3,
            PARKING,
            Normal,
            None,
            None,
        ),
        report(
            "o-01",
            Iot,
            local(12, 3, 8, 5),
            x7,
            OCCUPANCY,
            Info,
            None,
            None,
        ),
        // Unlocated, not understood: the command centre's manual-triage queue.
        report(
            "u-01",
            Hotline,
            local(12, 3, 9, 0),
            None,
            TRIAGE,
            Normal,
            Some("rh_i"),
            None,
        ),
    ]
}

fn incident_id(id: &str) -> String {
    let source = match id {
        "g-01" | "o-01" => Source::Iot,
        "p-04" => Source::Inspector,
        _ => Source::Hotline,
    };
    event_id_for(source, id)
}

// ---------------------------------------------------------------------------------------------
// Work orders, transition by transition
// ---------------------------------------------------------------------------------------------

/// An order's history as dispatch would write it: each step is a transition carrying the
/// order as it stands after it, hash-chained.
struct Script {
    order: WorkOrder,
    seq: i64,
    prev_hash: String,
    transitions: Vec<WorkOrderEvent>,
}

fn chain_hash(prev_hash: &str, t: &WorkOrderEvent) -> String {
    let text = format!(
        "{prev_hash}|{}|{:?}|{}|{:?}|{}",
        t.transition_id, t.kind, t.at_ms, t.satisfaction, t.rejected
    );
    hex::encode(Sha256::digest(text.as_bytes()))
}

impl Script {
    /// Created from `incident` and dispatched to `owner` at `at`, with the given limits.
    #[allow(clippy::too_many_arguments)]
    fn new(
        order_id: &str,
        owner: &str,
        (scenario, category): (&str, &str),
        severity: Severity,
        place: Option<&Place>,
        incident: String,
        at: i64,
        accept_limit: Option<i64>,
        resolve_limit: Option<i64>,
    ) -> Self {
        let order = WorkOrder {
            order_id: order_id.to_owned(),
            incident_ids: vec![incident.clone()],
            street_key: place.map_or("unlocated", |p| p.street).to_owned(),
            district_code: place.map(|p| p.district.to_owned()),
            owner: DepartmentId::new(owner),
            co_departments: Vec::new(),
            scenario: ScenarioId::new(scenario),
            category: CategoryId::new(category),
            severity,
            status: OrderStatus::Created,
            location: None,
            device_id: None,
            created_at_ms: at,
            accept_deadline_ms: accept_limit.map(|l| at + l),
            resolve_deadline_ms: resolve_limit.map(|l| at + l),
            accepted_at_ms: None,
            resolved_at_ms: None,
            closed_at_ms: None,
            accept_warning: None,
            resolve_warning: None,
            extension_requested: false,
            satisfaction: None,
            routing_reason: format!("{category} → {owner}"),
            version: 0,
            updated_at_ms: at,
        };
        let mut script = Self {
            order,
            seq: 0,
            prev_hash: "0".repeat(64),
            transitions: Vec::new(),
        };
        script.step(TransitionKind::Created, at, "dispatch", |o, t| {
            o.status = OrderStatus::Created;
            t.incident_id = Some(incident);
        });
        script.step(TransitionKind::Dispatched, at, "dispatch", |o, _| {
            o.status = OrderStatus::Dispatched;
        });
        script
    }

    fn transition(&self, kind: TransitionKind, at: i64, actor: &str) -> WorkOrderEvent {
        WorkOrderEvent {
            transition_id: format!("{}#{}", self.order.order_id, self.seq + 1),
            order_id: self.order.order_id.clone(),
            seq: self.seq + 1,
            kind,
            actor: actor.to_owned(),
            at_ms: at,
            status_before: (self.seq > 0).then_some(self.order.status),
            status_after: self.order.status,
            incident_id: None,
            reason: None,
            note: None,
            deadline: None,
            warning: None,
            new_deadline_ms: None,
            satisfaction: None,
            rejected: false,
            rejection_reason: None,
            order: self.order.clone(),
            prev_hash: self.prev_hash.clone(),
            hash: String::new(),
            command_id: None,
        }
    }

    fn push(&mut self, mut t: WorkOrderEvent) {
        t.hash = chain_hash(&self.prev_hash, &t);
        self.seq = t.seq;
        self.prev_hash = t.hash.clone();
        self.order = t.order.clone();
        self.transitions.push(t);
    }

    /// An applied transition: `f` changes the order (and may fill the transition's fields).
    fn step(
        &mut self,
        kind: TransitionKind,
        at: i64,
        actor: &str,
        f: impl FnOnce(&mut WorkOrder, &mut WorkOrderEvent),
    ) -> &mut Self {
        let mut t = self.transition(kind, at, actor);
        let mut order = self.order.clone();
        order.version += 1;
        order.updated_at_ms = at;
        f(&mut order, &mut t);
        t.status_after = order.status;
        t.order = order;
        self.push(t);
        self
    }

    fn owner(&self) -> String {
        self.order.owner.as_str().to_owned()
    }

    fn accept(&mut self, at: i64) -> &mut Self {
        let owner = self.owner();
        self.step(TransitionKind::Accepted, at, &owner, |o, _| {
            o.status = OrderStatus::Accepted;
            o.accepted_at_ms = Some(at);
        })
    }

    fn progress(&mut self, at: i64, note: &str) -> &mut Self {
        let owner = self.owner();
        self.step(TransitionKind::ProgressReported, at, &owner, |o, t| {
            o.status = OrderStatus::InProgress;
            t.note = Some(note.to_owned());
        })
    }

    fn resolve(&mut self, at: i64) -> &mut Self {
        let owner = self.owner();
        self.step(TransitionKind::Resolved, at, &owner, |o, _| {
            o.status = OrderStatus::Resolved;
            o.resolved_at_ms = Some(at);
        })
    }

    fn close(&mut self, at: i64) -> &mut Self {
        self.step(TransitionKind::Closed, at, "command_center", |o, _| {
            o.status = OrderStatus::Closed;
            o.closed_at_ms = Some(at);
        })
    }

    /// The callback (回访): a score, or none when the citizen could not be reached.
    fn callback(&mut self, at: i64, score: Option<i32>) -> &mut Self {
        self.step(
            TransitionKind::SatisfactionRecorded,
            at,
            "command_center",
            |o, t| {
                t.satisfaction = score;
                if score.is_some() {
                    o.satisfaction = score;
                } else {
                    t.note = Some("回访电话未接通".to_owned());
                }
            },
        )
    }

    fn reopen(&mut self, at: i64, reason: &str) -> &mut Self {
        self.step(TransitionKind::Reopened, at, "command_center", |o, t| {
            o.status = OrderStatus::Reopened;
            o.resolved_at_ms = None;
            t.reason = Some(reason.to_owned());
        })
    }

    fn escalate(&mut self, at: i64, clock: DeadlineKind, level: WarningLevel) -> &mut Self {
        self.step(TransitionKind::Escalated, at, "dispatch", |o, t| {
            t.deadline = Some(clock);
            t.warning = Some(level);
            match clock {
                DeadlineKind::Accept => o.accept_warning = Some(level),
                DeadlineKind::Resolve => o.resolve_warning = Some(level),
            }
        })
    }

    /// 退单: the owner sends a wrongly assigned order back to the command centre.
    fn give_back(&mut self, at: i64, reason: &str) -> &mut Self {
        let owner = self.owner();
        self.step(TransitionKind::Returned, at, &owner, |o, t| {
            o.status = OrderStatus::Returned;
            t.reason = Some(reason.to_owned());
        })
    }

    /// Re-dispatched by the command centre to `owner`, with new clocks from `at`.
    fn redispatch(&mut self, at: i64, owner: &str, accept: i64, resolve: i64) -> &mut Self {
        self.step(TransitionKind::Dispatched, at, "command_center", |o, _| {
            o.status = OrderStatus::Dispatched;
            o.owner = DepartmentId::new(owner);
            o.accept_deadline_ms = Some(at + accept);
            o.resolve_deadline_ms = Some(at + resolve);
            o.accept_warning = None;
            o.resolve_warning = None;
        })
    }

    fn request_extension(&mut self, at: i64) -> &mut Self {
        let owner = self.owner();
        self.step(TransitionKind::ExtensionRequested, at, &owner, |o, t| {
            o.extension_requested = true;
            t.reason = Some("需更换主管道阀门".to_owned());
        })
    }

    fn grant_extension(&mut self, at: i64, new_deadline: i64) -> &mut Self {
        self.step(
            TransitionKind::ExtensionGranted,
            at,
            "command_center",
            |o, t| {
                o.extension_requested = false;
                o.resolve_deadline_ms = Some(new_deadline);
                t.new_deadline_ms = Some(new_deadline);
            },
        )
    }

    fn merge(&mut self, at: i64, incident: String) -> &mut Self {
        self.step(TransitionKind::Merged, at, "dispatch", |o, t| {
            o.incident_ids.push(incident.clone());
            t.incident_id = Some(incident);
        })
    }

    /// An illegal attempt: recorded with its reason, the order unchanged.
    fn rejected(&mut self, kind: TransitionKind, at: i64, reason: &str, score: Option<i32>) {
        let mut t = self.transition(kind, at, "command_center");
        t.rejected = true;
        t.rejection_reason = Some(reason.to_owned());
        t.satisfaction = score;
        self.push(t);
    }
}

/// The orders. The KPI figures they produce are worked out in
/// [`expected_department_kpis`].
fn orders(now: i64) -> Vec<Script> {
    use DeadlineKind::{Accept, Resolve};
    use Severity::{Critical, Normal, Urgent};
    use WarningLevel::{Red, Yellow};
    let x7 = Some(&XINGHUA_07);
    let s1 = Some(&XINGSHUN_01);
    let d3 = |h, mi| local(12, 3, h, mi);
    let d2 = |h, mi| local(12, 2, h, mi);
    let mut all = Vec::new();

    // gas (市燃气集团): accept within 30 min, resolve within 4 h.
    let gas = |id: &str, incident: String, at: i64| {
        Script::new(
            id,
            "gas",
            GAS_LEAK,
            Critical,
            x7,
            incident,
            at,
            Some(30 * MIN),
            Some(4 * HOUR),
        )
    };
    // G1: on time everywhere, a duplicate merged in, callback 5, closed Dec 3.
    let mut g1 = gas("G1", incident_id("g-01"), d3(8, 6));
    g1.merge(d3(8, 7), incident_id("g-02"))
        .accept(d3(8, 16))
        .progress(d3(9, 0), "已关阀")
        .resolve(d3(12, 0)) // deadline 12:06
        .callback(d3(14, 0), Some(5))
        .close(d3(15, 0));
    // G2: accepted late (10:45 > 10:30), resolved late (15:00 > 14:00), callback 3, closed.
    let mut g2 = gas("G2", "inc-G2".to_owned(), d3(10, 0));
    g2.escalate(d3(10, 22) + 30_000, Accept, Yellow)
        .escalate(d3(10, 30), Accept, Red)
        .accept(d3(10, 45))
        .escalate(d3(13, 0), Resolve, Yellow)
        .escalate(d3(14, 0), Resolve, Red)
        .resolve(d3(15, 0))
        .callback(d3(17, 0), Some(3))
        .close(d3(18, 0));
    // G3: never accepted (accept deadline 11:30, resolve deadline 15:00 both missed).
    let mut g3 = gas("G3", "inc-G3".to_owned(), d3(11, 0));
    g3.escalate(d3(11, 22) + 30_000, Accept, Yellow)
        .escalate(d3(11, 30), Accept, Red)
        .escalate(d3(14, 0), Resolve, Yellow)
        .escalate(d3(15, 0), Resolve, Red);
    // G4: created 20:00, resolve deadline at local midnight (Dec 4 00:00, still Dec 3 in UTC),
    // resolved 23:50, callback 4 and closed on Dec 4.
    let mut g4 = gas("G4", "inc-G4".to_owned(), d3(20, 0));
    g4.accept(d3(20, 20))
        .resolve(d3(23, 50))
        .callback(local(12, 4, 8, 30), Some(4))
        .close(local(12, 4, 9, 0));
    all.extend([g1, g2, g3, g4]);

    // heating (市供暖办): accept within 2 h, resolve within 24 h.
    let heat = |id: &str, incident: String, at: i64| {
        Script::new(
            id,
            "heating",
            HEATING,
            Normal,
            x7,
            incident,
            at,
            Some(2 * HOUR),
            Some(24 * HOUR),
        )
    };
    // H1: accepted on time, resolved, callback 2 → reopened; resolved again before its
    // deadline (Dec 3 08:00), callback 5, closed Dec 3.
    let mut h1 = heat("H1", incident_id("h-04"), d2(8, 0));
    h1.accept(d2(9, 0))
        .resolve(d2(18, 0))
        .callback(d2(19, 0), Some(2))
        .reopen(d2(19, 5), "回访不满意：室温仍低于18度")
        .progress(d2(20, 0), "更换循环泵")
        .resolve(d3(7, 0))
        .callback(d3(10, 0), Some(5))
        .close(d3(11, 0));
    // H2: accepted late (12:00 > 11:00), extension requested but never granted, still in
    // progress after its resolve deadline (Dec 3 09:00).
    let mut h2 = heat("H2", incident_id("h-05"), d2(9, 0));
    h2.accept(d2(12, 0))
        .progress(d2(16, 0), "等待配件")
        .request_extension(d2(15, 0))
        .escalate(d3(9, 0), Resolve, Red);
    // H3: accepted on time; extension granted (Dec 3 10:00 → Dec 5 10:00); a callback before
    // the resolution is refused; resolved Dec 4 15:00, callback unreachable, closed Dec 4.
    let mut h3 = heat("H3", "inc-H3".to_owned(), d2(10, 0));
    h3.accept(d2(10, 30))
        .request_extension(d3(8, 0))
        .grant_extension(d3(9, 0), local(12, 5, 10, 0));
    h3.rejected(
        TransitionKind::SatisfactionRecorded,
        local(12, 4, 14, 0),
        "回访须在办结之后",
        Some(1),
    );
    h3.resolve(local(12, 4, 15, 0))
        .callback(local(12, 4, 15, 30), None)
        .close(local(12, 4, 16, 0));
    all.extend([h1, h2, h3]);

    // command_center: the manual-triage queue (accept within 30 min, no resolve limit).
    let triage = |id: &str, incident: String, at: i64| {
        Script::new(
            id,
            "command_center",
            TRIAGE,
            Normal,
            None,
            incident,
            at,
            Some(30 * MIN),
            None,
        )
    };
    // T1: accepted 09:20 (deadline 09:31), closed without a resolution (no resolve limit).
    let mut t1 = triage("T1", incident_id("u-01"), d3(9, 1));
    t1.accept(d3(9, 20)).close(d3(10, 0));
    // T2: accepted late (10:00 > 09:40).
    let mut t2 = triage("T2", "inc-T2".to_owned(), d3(9, 10));
    t2.accept(d3(10, 0));
    all.extend([t1, t2]);

    // P1: routed to city_mgmt, returned (退单), re-dispatched to traffic_police (accept 30 min,
    // resolve 2 h from 10:15), accepted 10:40, resolved 11:50, closed 12:30 — all on time.
    let mut p1 = Script::new(
        "P1",
        "city_mgmt",
        PARKING,
        Normal,
        s1,
        incident_id("p-01"),
        d2(10, 1),
        Some(30 * MIN),
        Some(2 * HOUR),
    );
    p1.give_back(d2(10, 10), "非本部门职责")
        .redispatch(d2(10, 15), "traffic_police", 30 * MIN, 2 * HOUR)
        .accept(d2(10, 40))
        .resolve(d2(11, 50))
        .close(d2(12, 30));
    // P2: returned by fire_rescue and not re-dispatched yet: in no department's KPI.
    let mut p2 = Script::new(
        "P2",
        "fire_rescue",
        FIRE_LANE,
        Urgent,
        s1,
        incident_id("p-03"),
        local(12, 4, 9, 1),
        Some(10 * MIN),
        Some(HOUR),
    );
    p2.give_back(local(12, 4, 9, 5), "现场无消防通道");
    all.extend([p1, p2]);

    // N1: created, deadlines not set yet: in no KPI.
    let n1 = Script::new(
        "N1",
        "city_mgmt",
        ("city_management", "street_vendor"),
        Normal,
        x7,
        "inc-N1".to_owned(),
        d3(12, 0),
        None,
        None,
    );
    // W1: live, accepted, both deadlines still ahead: in no KPI yet.
    let mut w1 = Script::new(
        "W1",
        "water",
        ("utilities", "water_supply"),
        Normal,
        x7,
        "inc-W1".to_owned(),
        now - 10 * MIN,
        Some(30 * MIN),
        Some(24 * HOUR),
    );
    w1.accept(now - 5 * MIN);
    all.extend([n1, w1]);
    all
}

/// `department_kpis_daily`, worked out by hand from the transitions above. Columns: day,
/// department, accept_due, accepted_on_time, response_rate, resolve_due, resolved,
/// resolution_rate, scored, satisfied, satisfaction_rate, closed, closed_on_time,
/// on_time_closure_rate.
fn expected_department_kpis() -> Vec<Value> {
    vec![
        // Dec 2, heating. 响应率: accept deadlines on Dec 2: H1 10:00 (accepted 09:00 ✓),
        //   H2 11:00 (12:00 ✗), H3 12:00 (10:30 ✓) → 2/3.
        //   满意率: callbacks on Dec 2: H1 score 2 → 0/1.
        json!([
            "2025-12-02",
            "heating",
            3,
            2,
            2.0 / 3.0,
            0,
            0,
            null,
            1,
            0,
            0.0,
            0,
            0,
            null
        ]),
        // Dec 2, traffic_police (P1 after re-dispatch; city_mgmt, its first owner, gets nothing):
        //   accept deadline 10:45 (accepted 10:40 ✓) → 1/1; resolve deadline 12:15, closed → 1/1;
        //   closed 12:30, resolved 11:50 ≤ 12:15 → 1/1; no callback.
        json!([
            "2025-12-02",
            "traffic_police",
            1,
            1,
            1.0,
            1,
            1,
            1.0,
            0,
            0,
            null,
            1,
            1,
            1.0
        ]),
        // Dec 3, command_center: T1 09:31 (09:20 ✓), T2 09:40 (10:00 ✗) → 1/2; no resolve limit,
        //   so neither is due for 解决率 and T1's closing is not in 按时结案率.
        json!([
            "2025-12-03",
            "command_center",
            2,
            1,
            0.5,
            0,
            0,
            null,
            0,
            0,
            null,
            0,
            0,
            null
        ]),
        // Dec 3, gas. 响应率: G1 08:36 ✓, G2 10:30 ✗, G3 11:30 ✗ (never), G4 20:30 ✓ → 2/4.
        //   解决率: resolve deadlines on Dec 3: G1 12:06 (closed), G2 14:00 (closed),
        //   G3 15:00 (not resolved) → 2/3 (G4's deadline is Dec 4 00:00).
        //   满意率: G1 5 ✓, G2 3 ✗ → 1/2. 按时结案率: closed on Dec 3: G1 (12:00 ≤ 12:06 ✓),
        //   G2 (15:00 > 14:00 ✗) → 1/2.
        json!([
            "2025-12-03",
            "gas",
            4,
            2,
            0.5,
            3,
            2,
            2.0 / 3.0,
            2,
            1,
            0.5,
            2,
            1,
            0.5
        ]),
        // Dec 3, heating. 解决率: H1 08:00 (closed ✓), H2 09:00 (in progress ✗); H3 moved to
        //   Dec 5 by its extension → 1/2. 满意率: H1's second callback, 5 → 1/1.
        //   按时结案率: H1 closed 11:00, last resolved 07:00 ≤ 08:00 → 1/1.
        json!([
            "2025-12-03",
            "heating",
            0,
            0,
            null,
            2,
            1,
            0.5,
            1,
            1,
            1.0,
            1,
            1,
            1.0
        ]),
        // Dec 4, gas: G4 — resolve deadline Dec 4 00:00, closed → 1/1; callback 4 → 1/1;
        //   closed 09:00, resolved 23:50 ≤ 00:00 → 1/1.
        json!([
            "2025-12-04",
            "gas",
            0,
            0,
            null,
            1,
            1,
            1.0,
            1,
            1,
            1.0,
            1,
            1,
            1.0
        ]),
        // Dec 4, heating: H3 closed 16:00, resolved 15:00 ≤ Dec 5 10:00 (extended) → 1/1; its
        //   rejected callback (score 1) and its unreachable one (no score) are not scored.
        json!([
            "2025-12-04",
            "heating",
            0,
            0,
            null,
            0,
            0,
            null,
            0,
            0,
            null,
            1,
            1,
            1.0
        ]),
        // Dec 5, heating: H3's extended resolve deadline, closed → 1/1.
        json!([
            "2025-12-05",
            "heating",
            0,
            0,
            null,
            1,
            1,
            1.0,
            0,
            0,
            null,
            0,
            0,
            null
        ]),
        // Not anywhere: P2 (returned, awaiting re-dispatch), N1 (no deadlines), W1 (deadlines
        // ahead), city_mgmt (P1's first owner), fire_rescue, water.
    ]
}

const KPI_QUERY: &str = "SELECT day, department, accept_due, accepted_on_time, response_rate, \
     resolve_due, resolved, resolution_rate, scored, satisfied, satisfaction_rate, closed, \
     closed_on_time, on_time_closure_rate FROM department_kpis_daily ORDER BY day, department";

// ---------------------------------------------------------------------------------------------
// The seed: every row, as the sink writes it
// ---------------------------------------------------------------------------------------------

#[derive(Default)]
struct Seed {
    events: Vec<EventRow>,
    incidents: Vec<IncidentRow>,
    telemetry: Vec<TelemetryRow>,
    transitions: Vec<WorkOrderEventRow>,
    orders: Vec<WorkOrderRow>,
    dead_letters: Vec<DeadLetterRow>,
}

fn reading(device: &str, at: i64, ch4: f64) -> TelemetryRow {
    TelemetryRow::from(&Reading {
        event_id: event_id_for(Source::Iot, &format!("{device}@{at}")),
        device_id: device.to_owned(),
        device_type: "gas_detector".to_owned(),
        at_ms: at,
        location: None,
        metrics: BTreeMap::from([("ch4_lel".to_owned(), ch4), ("temp_c".to_owned(), -8.0)]),
        tags: BTreeMap::new(),
        district_code: Some(XINGHUA_07.district.to_owned()),
        street_code: Some(XINGHUA_07.street.to_owned()),
        grid_code: Some(XINGHUA_07.grid.to_owned()),
    })
}

fn dead_letter(
    offset: i64,
    at: i64,
    stage: &str,
    source_topic: &str,
    error: &str,
) -> DeadLetterRow {
    DeadLetterRow::from(&DeadLetter {
        dlq_topic: "city.dlq.v1",
        dlq_partition: 0,
        dlq_offset: offset,
        at_ms: at,
        stage,
        error,
        source_topic,
        source_partition: Some(0),
        source_offset: Some(offset * 10),
        key: Some(b"k".as_slice()),
        payload: b"{\"broken\":",
        payload_policy: PayloadPolicy::for_source_topic(source_topic),
    })
}

/// The rows of the week; `replays` are rows inserted a second time, as the sink does after a
/// crash (at-least-once), which `FINAL` must collapse.
fn seed(now: i64) -> (Seed, Seed) {
    let mut seed = Seed::default();
    let mut replays = Seed::default();
    for r in reports() {
        seed.events.push(EventRow::from(&r.event()));
        seed.incidents
            .push(IncidentRow::from(&r.incident(1_000, r.severity)));
        match r.id {
            // A replayed heating complaint: the same event and incident again.
            "h-06" => {
                replays.events.push(EventRow::from(&r.event()));
                replays
                    .incidents
                    .push(IncidentRow::from(&r.incident(1_000, r.severity)));
            }
            // Re-enriched a minute later as critical: FINAL keeps the later version; the
            // per-minute table has both (distinct ids: still one incident per minute).
            "g-02" => replays
                .incidents
                .push(IncidentRow::from(&r.incident(61_000, Severity::Critical))),
            _ => {}
        }
    }
    // Below-threshold readings of two gas detectors (max ch4_lel per day: 000123 on Dec 2:
    // 3.5 of 2 readings, on Dec 3: 4.0 of 2; 000124 on Dec 3: 0.5 of 1).
    seed.telemetry = vec![
        reading("SY-GAS-000123", local(12, 2, 9, 0), 2.0),
        reading("SY-GAS-000123", local(12, 2, 21, 0), 3.5),
        reading("SY-GAS-000123", local(12, 3, 7, 0), 4.0),
        reading("SY-GAS-000123", local(12, 3, 8, 0), 1.0),
        reading("SY-GAS-000124", local(12, 3, 8, 0), 0.5),
    ];
    replays.telemetry = vec![reading("SY-GAS-000123", local(12, 3, 7, 0), 4.0)];
    seed.dead_letters = vec![
        dead_letter(
            1,
            local(12, 3, 8, 0),
            "ingest",
            "city.raw.hotline.v1",
            "received_at missing",
        ),
        dead_letter(
            2,
            local(12, 3, 9, 0),
            "ingest",
            "city.raw.iot.v1",
            "metric ch4_lel missing",
        ),
        dead_letter(
            3,
            local(12, 4, 9, 0),
            "enrich",
            "city.events.v1",
            "unknown district",
        ),
    ];

    for script in orders(now) {
        for t in &script.transitions {
            seed.transitions.push(WorkOrderEventRow::from(t));
            seed.orders.push(WorkOrderRow::from(&t.order));
        }
        if script.order.order_id == "G1" {
            for t in &script.transitions {
                replays.transitions.push(WorkOrderEventRow::from(t));
                replays.orders.push(WorkOrderRow::from(&t.order));
            }
        }
    }
    // A rewritten history (虚假办结): G2's third entry was altered after the fact, so the next
    // entry's prev_hash no longer matches it.
    let forged = seed
        .transitions
        .iter_mut()
        .find(|t| t.order_id == "G2" && t.seq == 3)
        .unwrap();
    forged.hash = hex::encode(Sha256::digest(b"forged"));
    (seed, replays)
}

async fn insert_rows<T: TableRow + Clone>(config: &ClickHouseConfig, rows: &[T]) {
    if rows.is_empty() {
        return;
    }
    let mut writer = BatchWriter::<T>::for_table(config.client(), BatchConfig::default());
    for (offset, row) in (0..).zip(rows) {
        let flushed = writer
            .push(row.clone(), ("city.analytics.test", 0, offset), 512)
            .await
            .unwrap();
        assert!(flushed.is_none());
    }
    let done = writer.flush().await.unwrap().unwrap();
    assert_eq!(done.rows, rows.len(), "{}", T::TABLE);
}

async fn insert_seed(config: &ClickHouseConfig, seed: &Seed) {
    insert_rows(config, &seed.events).await;
    insert_rows(config, &seed.incidents).await;
    insert_rows(config, &seed.telemetry).await;
    insert_rows(config, &seed.transitions).await;
    insert_rows(config, &seed.orders).await;
    insert_rows(config, &seed.dead_letters).await;
}

fn ndjson_rows<T: TableRow + serde::Serialize>(out: &mut String, rows: &[T]) {
    for row in rows {
        let line = json!({"table": T::TABLE, "row": row});
        out.push_str(&line.to_string());
        out.push('\n');
    }
}

/// The seed as `scripts/chdb_run.py --seed` reads it.
fn ndjson(seeds: &[&Seed]) -> String {
    let mut out = String::new();
    for seed in seeds {
        ndjson_rows(&mut out, &seed.events);
        ndjson_rows(&mut out, &seed.incidents);
        ndjson_rows(&mut out, &seed.telemetry);
        ndjson_rows(&mut out, &seed.transitions);
        ndjson_rows(&mut out, &seed.orders);
        ndjson_rows(&mut out, &seed.dead_letters);
    }
    out
}

/// A fresh 18.16 database, migrated and seeded (replays included).
async fn seeded_18_16(now: i64) -> ClickHouseConfig {
    let config = common::migrated().await;
    let (seed, replays) = seed(now);
    insert_seed(&config, &seed).await;
    insert_seed(&config, &replays).await;
    config
}

// ---------------------------------------------------------------------------------------------
// Running queries on both engines
// ---------------------------------------------------------------------------------------------

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A query's result: column names and rows of JSON values.
#[derive(Debug, Clone)]
struct Answer {
    columns: Vec<String>,
    rows: Vec<Vec<Value>>,
}

impl Answer {
    fn from_json(v: &Value) -> Self {
        let columns = match v.get("columns") {
            Some(c) => serde_json::from_value(c.clone()).unwrap(),
            None => v["meta"]
                .as_array()
                .unwrap()
                .iter()
                .map(|m| m["name"].as_str().unwrap().to_owned())
                .collect(),
        };
        // chdb_run.py prints "rows"; ClickHouse's JSONCompact has "data" (and "rows": count).
        let rows_key = if v.get("data").is_some() {
            "data"
        } else {
            "rows"
        };
        let rows = serde_json::from_value(v[rows_key].clone()).unwrap();
        Self { columns, rows }
    }
}

/// Runs `sql` on 18.16 and returns its JSON result (64-bit integers as numbers).
async fn query_18_16(config: &ClickHouseConfig, sql: &str) -> Result<Answer, String> {
    let mut cursor = config
        .client()
        .query_raw(sql)
        .with_setting("output_format_json_quote_64bit_integers", "0")
        .fetch_bytes("JSONCompact")
        .map_err(|e| e.to_string())?;
    let mut body = Vec::new();
    while let Some(chunk) = cursor.next().await.map_err(|e| e.to_string())? {
        body.extend_from_slice(&chunk);
    }
    let v: Value = serde_json::from_slice(&body)
        .map_err(|e| format!("not JSON ({e}): {}", String::from_utf8_lossy(&body)))?;
    Ok(Answer::from_json(&v))
}

/// Fails the test, saying how to install it, when chdb is missing.
fn require_chdb() {
    let check = Command::new("python3")
        .args(["-c", "import chdb; print(chdb.__version__)"])
        .output();
    match check {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "chdb (PyPI `chdb`, a current ClickHouse in process) is not installed for python3: \
             run `make setup`, which pip-installs the pinned version.\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("cannot run python3 ({e}): install Python 3, then run `make setup`"),
    }
}

/// Runs every migration, the seed and `queries` (name, SQL) on chDB through
/// `scripts/chdb_run.py`; returns each query's answer by name. Fails the test on any error,
/// with the script's message (which names the failing SQL).
fn run_chdb(seed_ndjson: &str, queries: &[(String, String)]) -> BTreeMap<String, Answer> {
    require_chdb();
    let dir = std::env::temp_dir().join(cityops_testkit::unique_name("analytics_chdb"));
    std::fs::create_dir_all(&dir).unwrap();
    let seed_path = dir.join("seed.ndjson");
    std::fs::write(&seed_path, seed_ndjson).unwrap();
    let queries_path = dir.join("queries.json");
    let items: Vec<Value> = queries
        .iter()
        .map(|(name, sql)| json!({"name": name, "sql": sql}))
        .collect();
    std::fs::write(&queries_path, serde_json::to_string(&items).unwrap()).unwrap();
    let root = workspace();
    let out = Command::new("python3")
        .arg(root.join("scripts/chdb_run.py"))
        .arg("--migrations")
        .arg(root.join("schemas/clickhouse"))
        .arg("--seed")
        .arg(&seed_path)
        .arg("--queries")
        .arg(&queries_path)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "scripts/chdb_run.py failed on current ClickHouse (chDB):\n{stderr}\n{stdout}"
    );
    let answers: BTreeMap<String, Answer> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["ok"], json!(true), "{line}");
            (
                v["name"].as_str().unwrap().to_owned(),
                Answer::from_json(&v),
            )
        })
        .collect();
    assert_eq!(answers.len(), queries.len(), "{stderr}\n{stdout}");
    answers
}

/// Cell equality across engines: numbers within 1e-9 (relative), everything else exactly.
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap(), y.as_f64().unwrap());
            (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b))
        }
        _ => a == b,
    }
}

fn same_rows(a: &[Vec<Value>], b: &[Vec<Value>]) -> bool {
    a.len() == b.len()
        && a.iter()
            .zip(b)
            .all(|(x, y)| x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_value(a, b)))
}

fn assert_rows(what: &str, got: &Answer, expected: &[Value]) {
    let expected: Vec<Vec<Value>> = expected
        .iter()
        .map(|r| r.as_array().unwrap().clone())
        .collect();
    assert!(
        same_rows(&got.rows, &expected),
        "{what}: got\n{}\nexpected\n{}",
        pretty(&got.rows),
        pretty(&expected)
    );
}

fn pretty(rows: &[Vec<Value>]) -> String {
    rows.iter()
        .map(|r| serde_json::to_string(r).unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

// ---------------------------------------------------------------------------------------------
// docs/analytics.md
// ---------------------------------------------------------------------------------------------

/// One example of the doc: its `### Qn` heading line and its ```sql block.
#[derive(Debug)]
struct Example {
    id: String,
    question: String,
    sql: String,
}

/// Every ```sql block of docs/analytics.md, with the `### Q<n> ...` heading before it. A
/// block without such a heading (or two blocks under one) fails the test.
fn doc_examples() -> Vec<Example> {
    let path = workspace().join("docs/analytics.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut examples = Vec::new();
    let mut heading: Option<String> = None;
    let mut block: Option<String> = None;
    for line in text.lines() {
        if let Some(sql) = block.as_mut() {
            if line.trim_end() == "```" {
                let sql = block.take().unwrap();
                let question = heading.take().unwrap_or_else(|| {
                    panic!("a ```sql block of docs/analytics.md has no `### Q<n>` heading:\n{sql}")
                });
                let id = question
                    .trim_start_matches('#')
                    .split_whitespace()
                    .next()
                    .unwrap()
                    .trim_end_matches(['.', ':', '·'])
                    .to_owned();
                examples.push(Example {
                    id,
                    question,
                    sql: sql.trim().to_owned(),
                });
            } else {
                sql.push_str(line);
                sql.push('\n');
            }
        } else if line.trim_end() == "```sql" {
            block = Some(String::new());
        } else if line.starts_with("### Q") {
            heading = Some(line.to_owned());
        }
    }
    assert!(
        block.is_none(),
        "docs/analytics.md has an unterminated ```sql block"
    );
    examples
}

#[test]
fn the_doc_asks_at_least_12_questions_in_chinese_and_english() {
    let examples = doc_examples();
    assert!(examples.len() >= 12, "only {} examples", examples.len());
    let mut ids: Vec<&str> = examples.iter().map(|e| e.id.as_str()).collect();
    for e in &examples {
        let has_chinese = e
            .question
            .chars()
            .any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c));
        let has_english = e
            .question
            .split_whitespace()
            .filter(|w| w.is_ascii())
            .count()
            >= 4;
        assert!(
            has_chinese && has_english && e.question.contains('?'),
            "{}: the heading must ask the question in Chinese and in English",
            e.question
        );
        assert!(!e.sql.is_empty(), "{}: empty block", e.id);
    }
    ids.sort_unstable();
    let count = ids.len();
    ids.dedup();
    assert_eq!(ids.len(), count, "example ids repeat");
}

// ---------------------------------------------------------------------------------------------
// The tests over both engines
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn the_kpi_view_gives_the_hand_computed_figures_on_18_16_and_on_current_clickhouse() {
    require_chdb();
    let now = now_ms();
    let config = seeded_18_16(now).await;
    let expected = expected_department_kpis();

    let old = query_18_16(&config, KPI_QUERY).await.unwrap();
    assert_rows("department_kpis_daily on 18.16", &old, &expected);

    let (seed, replays) = seed(now);
    let current = run_chdb(
        &ndjson(&[&seed, &replays]),
        &[("kpis".to_owned(), KPI_QUERY.to_owned())],
    );
    assert_rows("department_kpis_daily on chDB", &current["kpis"], &expected);
    assert_eq!(old.columns, current["kpis"].columns);

    common::drop_database(&config).await;
}

/// Rows worked out by hand for some of the doc's questions (by example id).
fn expected_answers() -> BTreeMap<&'static str, Vec<Value>> {
    BTreeMap::from([
        // Top 3 actionable categories per street in the week (h-06's replay and h-09/h-10,
        // outside the week, not counted; ties by category name).
        (
            "Q1",
            vec![
                json!(["210102001", "太原街街道", "heating", 1]),
                json!(["210102001", "太原街街道", "illegal_parking", 1]),
                json!(["210106001", "兴华街道", "heating", 6]),
                json!(["210106001", "兴华街道", "gas_leak", 2]),
                json!(["210106002", "兴顺街道", "illegal_parking", 2]),
                json!(["210106002", "兴顺街道", "fire_lane_blocked", 1]),
                json!(["210106002", "兴顺街道", "heating", 1]),
            ],
        ),
        // Overdue right now: gas G3 (neither accepted nor resolved), heating H2 (accepted,
        // not resolved). P2 is returned (the command centre's), W1's deadlines are ahead.
        (
            "Q2",
            vec![
                json!(["gas", 1, 1, ["G3"]]),
                json!(["heating", 0, 1, ["H2"]]),
            ],
        ),
        // Heating complaints per grid and local day (h-08 at 07:00 on Dec 4 is Dec 4).
        (
            "Q3",
            vec![
                json!(["2025-12-01", "210106001-07", 2]),
                json!(["2025-12-01", "210106001-08", 1]),
                json!(["2025-12-02", "210106001-07", 1]),
                json!(["2025-12-02", "210106002-01", 1]),
                json!(["2025-12-03", "210106001-07", 1]),
                json!(["2025-12-03", "210106001-08", 1]),
                json!(["2025-12-04", "210102001-03", 1]),
            ],
        ),
        // Repeat callers in the week: rh_a 3 (h-01, h-04, h-06; h-09 is the week before),
        // rh_b 2 (h-02, h-08), rh_g 2 (p-01, p-02).
        (
            "Q4",
            vec![
                json!(["rh_a", 3, 3]),
                json!(["rh_b", 2, 2]),
                json!(["rh_g", 2, 1]),
            ],
        ),
        // Median minutes to accept, orders created in the week: command_center T1 19, T2 50;
        // gas 10, 45, 20 → 20; heating 60, 180, 30 → 60; traffic_police P1 39.
        (
            "Q5",
            vec![
                json!(["command_center", 2, 50.0]),
                json!(["gas", 3, 20.0]),
                json!(["heating", 3, 60.0]),
                json!(["traffic_police", 1, 39.0]),
            ],
        ),
        // The Dec 3 row of the KPI view (see expected_department_kpis).
        (
            "Q6",
            vec![
                json!([
                    "command_center",
                    2,
                    1,
                    0.5,
                    0,
                    0,
                    null,
                    0,
                    0,
                    null,
                    0,
                    0,
                    null
                ]),
                json!(["gas", 4, 2, 0.5, 3, 2, 0.667, 2, 1, 0.5, 2, 1, 0.5]),
                json!(["heating", 0, 0, null, 2, 1, 0.5, 1, 1, 1.0, 1, 1, 1.0]),
            ],
        ),
        // The week per department: sums of the daily counts, then the ratios.
        (
            "Q7",
            vec![
                json!(["command_center", 0.5, null, null, null]),
                json!(["gas", 0.5, 0.75, 0.667, 0.667]),
                json!(["heating", 0.667, 0.667, 0.5, 1.0]),
                json!(["traffic_police", 1.0, 1.0, null, 1.0]),
            ],
        ),
        // Per minute in 铁西区, Dec 3 08:00–09:00 local: 08:05 h-06 (replayed), h-07, g-01,
        // o-01 → 4; 08:06 g-02 (re-enriched: two severities, one incident) → 1.
        (
            "Q9",
            vec![
                json!(["2025-12-03 08:05:00", 4]),
                json!(["2025-12-03 08:06:00", 1]),
            ],
        ),
        // City-wide per day: the sums of the department rows of expected_department_kpis.
        (
            "Q8",
            vec![
                json!(["2025-12-02", 4, 0.75, 1, 1.0, 1, 0.0, 1, 1.0]),
                json!(["2025-12-03", 6, 0.5, 5, 0.6, 3, 0.667, 3, 0.667]),
                json!(["2025-12-04", 0, null, 1, 1.0, 1, 1.0, 2, 1.0]),
                json!(["2025-12-05", 0, null, 1, 1.0, 0, null, 0, null]),
            ],
        ),
        // Busiest minute on Dec 3 per street and scenario: 兴华街道 at 08:05 — utilities h-06,
        // h-07; emergency g-01 (ties with g-02 at 08:06: the earlier minute); parking o-01.
        (
            "Q10",
            vec![
                json!(["210106001", "emergency", "2025-12-03 08:05:00", 1]),
                json!(["210106001", "parking", "2025-12-03 08:05:00", 1]),
                json!(["210106001", "utilities", "2025-12-03 08:05:00", 2]),
            ],
        ),
        // Per local day and scenario, every incident of the week once.
        (
            "Q11",
            vec![
                json!(["2025-12-01", "utilities", 3]),
                json!(["2025-12-02", "parking", 2]),
                json!(["2025-12-02", "utilities", 2]),
                json!(["2025-12-03", "emergency", 2]),
                json!(["2025-12-03", "other", 1]),
                json!(["2025-12-03", "parking", 1]),
                json!(["2025-12-03", "utilities", 2]),
                json!(["2025-12-04", "parking", 1]),
                json!(["2025-12-04", "utilities", 1]),
                json!(["2025-12-05", "parking", 1]),
            ],
        ),
        // Returns: P1 by city_mgmt, P2 by fire_rescue.
        (
            "Q12",
            vec![
                json!(["city_mgmt", "非本部门职责", 1]),
                json!(["fire_rescue", "现场无消防通道", 1]),
            ],
        ),
        // Extensions: H2 and H3 asked, H3 granted.
        ("Q13", vec![json!(["heating", 2, 1])]),
        // Warnings: G2 and G3 yellow and red on both clocks; H2 red on resolve.
        (
            "Q14",
            vec![
                json!(["gas", "accept", 2, 2]),
                json!(["gas", "resolve", 2, 2]),
                json!(["heating", "resolve", 0, 1]),
            ],
        ),
        // Callbacks scored 3 or less: H1's first (2), G2's (3).
        (
            "Q15",
            vec![
                json!(["2025-12-02", "heating", "heating", "H1", 2]),
                json!(["2025-12-03", "gas", "gas_leak", "G2", 3]),
            ],
        ),
        // The forged history.
        ("Q16", vec![json!(["G2", 0])]),
        // G1 absorbed g-02.
        ("Q17", vec![json!(["gas_leak", 1, 1])]),
        // Current states of the week's orders (P1 under its new owner; W1 is not this week).
        (
            "Q18",
            vec![
                json!(["city_mgmt", "dispatched", 1]),
                json!(["command_center", "accepted", 1]),
                json!(["command_center", "closed", 1]),
                json!(["fire_rescue", "returned", 1]),
                json!(["gas", "closed", 3]),
                json!(["gas", "dispatched", 1]),
                json!(["heating", "closed", 2]),
                json!(["heating", "in_progress", 1]),
                json!(["traffic_police", "closed", 1]),
            ],
        ),
        // Triage queue: T1 19 min, T2 50 min → 34.5; T2 still open.
        ("Q19", vec![json!(["2025-12-03", 2, 2, 34.5, 1])]),
        // Creation to closure: gas G1 6.9 h, G2 8 h, G4 13 h → 9.3; heating H1 27 h, H3 54 h
        // → 40.5; P1 149 min → 2.48; T1 59 min → 0.98.
        (
            "Q20",
            vec![
                json!(["gas_leak", 3, 9.3]),
                json!(["heating", 2, 40.5]),
                json!(["illegal_parking", 1, 2.48]),
                json!(["unclassified", 1, 0.98]),
            ],
        ),
        // Gas detectors (one reading replayed).
        (
            "Q21",
            vec![
                json!(["SY-GAS-000123", "2025-12-02", 2, 3.5]),
                json!(["SY-GAS-000123", "2025-12-03", 2, 4.0]),
                json!(["SY-GAS-000124", "2025-12-03", 1, 0.5]),
            ],
        ),
        // Events per local day, source and channel (h-06's replay once; h-09/h-10 outside).
        (
            "Q22",
            vec![
                json!(["2025-12-01", "hotline", "phone", 3]),
                json!(["2025-12-02", "hotline", "phone", 4]),
                json!(["2025-12-03", "hotline", "phone", 4]),
                json!(["2025-12-03", "iot", "", 2]),
                json!(["2025-12-04", "hotline", "phone", 2]),
                json!(["2025-12-05", "inspector", "", 1]),
            ],
        ),
        // What the repeat callers of Q4 called about.
        (
            "Q23",
            vec![
                json!(["rh_a", "heating", 3]),
                json!(["rh_b", "heating", 2]),
                json!(["rh_g", "illegal_parking", 2]),
            ],
        ),
        // Dead letters: two from raw topics (payload omitted), one from enrich.
        (
            "Q24",
            vec![
                json!(["2025-12-03", "ingest", "city.raw.hotline.v1", 1, 1]),
                json!(["2025-12-03", "ingest", "city.raw.iot.v1", 1, 1]),
                json!(["2025-12-04", "enrich", "city.events.v1", 1, 0]),
            ],
        ),
    ])
}

#[tokio::test]
async fn every_query_of_the_analytics_doc_runs_on_18_16_and_on_current_clickhouse_alike() {
    require_chdb();
    let examples = doc_examples();
    let now = now_ms();
    let config = seeded_18_16(now).await;

    let mut old = BTreeMap::new();
    let mut failures = Vec::new();
    for e in &examples {
        match query_18_16(&config, &e.sql).await {
            Ok(answer) => {
                old.insert(e.id.clone(), answer);
            }
            Err(err) => failures.push(format!("{} on 18.16: {err}\n{}", e.question, e.sql)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));

    let (seed, replays) = seed(now);
    let queries: Vec<(String, String)> = examples
        .iter()
        .map(|e| (e.id.clone(), e.sql.clone()))
        .collect();
    let current = run_chdb(&ndjson(&[&seed, &replays]), &queries);

    for e in &examples {
        let (a, b) = (&old[&e.id], &current[&e.id]);
        assert_eq!(a.columns, b.columns, "{}: column names differ", e.question);
        assert!(
            same_rows(&a.rows, &b.rows),
            "{}: 18.16 and current ClickHouse disagree\n18.16:\n{}\nchDB:\n{}",
            e.question,
            pretty(&a.rows),
            pretty(&b.rows)
        );
        assert!(
            !a.rows.is_empty(),
            "{}: no rows on the example data",
            e.question
        );
    }
    let expected_answers = expected_answers();
    for e in &examples {
        assert!(
            expected_answers.contains_key(e.id.as_str()),
            "{}: add the rows it must give on the example data to expected_answers()",
            e.question
        );
    }
    for (id, expected) in expected_answers {
        let answer = old
            .get(id)
            .unwrap_or_else(|| panic!("docs/analytics.md has no example {id}"));
        assert_rows(id, answer, &expected);
    }

    common::drop_database(&config).await;
}

#[test]
fn chdb_run_exits_non_zero_and_names_the_failing_sql() {
    require_chdb();
    let dir = std::env::temp_dir().join(cityops_testkit::unique_name("analytics_chdb_bad"));
    std::fs::create_dir_all(&dir).unwrap();
    let queries = dir.join("queries.json");
    std::fs::write(
        &queries,
        r#"[{"name": "good", "sql": "SELECT count() AS n FROM workorders"},
            {"name": "bad", "sql": "SELECT no_such_column FROM workorders"}]"#,
    )
    .unwrap();
    let root = workspace();
    let out = Command::new("python3")
        .arg(root.join("scripts/chdb_run.py"))
        .arg("--migrations")
        .arg(root.join("schemas/clickhouse"))
        .arg("--queries")
        .arg(&queries)
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SELECT no_such_column FROM workorders"),
        "{stderr}"
    );
    assert!(stdout.contains(r#""name": "good", "ok": true"#), "{stdout}");
    assert!(stdout.contains(r#""name": "bad", "ok": false"#), "{stdout}");
}
