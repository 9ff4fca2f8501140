//! The simulator through the real stack: a short simulated span over HTTP with the department
//! and command-centre bots, then a shorter one straight to the raw topics. Every item the
//! simulator had accepted is found in ClickHouse (tickets and readings in `events`, tickets and
//! alarms in `incidents`, the other readings in `telemetry`), nothing is dead-lettered, and the
//! bots opened work orders through to their close.

use cityops_e2e::platform::Platform;
use cityops_simulate::{
    owner_departments, run, BotsConfig, SimulateConfig, Summary, Target, World,
};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");
const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/..");

fn world() -> Arc<World> {
    Arc::new(
        World::load(
            format!("{ROOT}/config/catalogue.toml"),
            format!("{ROOT}/config/geo"),
        )
        .expect("the shipped catalogue and geography load"),
    )
}

async fn column(platform: &Platform, sql: &str) -> BTreeSet<String> {
    platform
        .query(sql)
        .await
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits until every accepted item of `runs` is in ClickHouse where it belongs.
async fn await_accounted_for(platform: &Platform, runs: &[&Summary]) {
    let ids = |f: fn(&Summary) -> &Vec<String>| -> BTreeSet<String> {
        runs.iter().flat_map(|s| f(s).iter().cloned()).collect()
    };
    let tickets = ids(|s| &s.accepted_ticket_ids);
    let readings = ids(|s| &s.accepted_reading_ids);
    let alarms = ids(|s| &s.accepted_alarm_ids);
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let ev_t = column(
            platform,
            "SELECT source_id FROM events FINAL WHERE source = 'hotline'",
        )
        .await;
        let ev_r = column(
            platform,
            "SELECT source_id FROM events FINAL WHERE source = 'iot'",
        )
        .await;
        let inc_t = column(
            platform,
            "SELECT source_id FROM incidents FINAL WHERE source = 'hotline'",
        )
        .await;
        let inc_r = column(
            platform,
            "SELECT source_id FROM incidents FINAL WHERE source = 'iot'",
        )
        .await;
        let tel = column(
            platform,
            "SELECT concat(device_id, '@', toString(at_ms)) FROM telemetry FINAL",
        )
        .await;
        let missing = [
            ("tickets in events", tickets.difference(&ev_t).count()),
            ("readings in events", readings.difference(&ev_r).count()),
            ("tickets in incidents", tickets.difference(&inc_t).count()),
            ("alarms in incidents", alarms.difference(&inc_r).count()),
            (
                "other readings in telemetry",
                readings
                    .difference(&alarms)
                    .filter(|r| !tel.contains(*r))
                    .count(),
            ),
        ];
        if missing.iter().all(|(_, n)| *n == 0) {
            // Nothing beyond what was sent either (a fresh database).
            assert_eq!(ev_t, tickets, "events hold exactly the accepted tickets");
            assert_eq!(ev_r, readings, "events hold exactly the accepted readings");
            return;
        }
        assert!(
            Instant::now() < deadline,
            "accepted items missing in ClickHouse after 120 s: {missing:?}\n{}",
            platform.logs()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulated_span_is_accounted_for_in_clickhouse_and_orders_are_closed() {
    let kafka = cityops_e2e::kafka_config().await;
    let world = world();
    let mut bots = BotsConfig::default()
        .with_demo_tokens(owner_departments(&world).iter().map(String::as_str));
    let platform = Platform::start(CITYOPS, &kafka.brokers, &bots.dispatch_settings()).await;
    platform.await_dispatch_api().await;

    // Two simulated hours at 240× (30 s), ten items a second, the bots quick and lingering
    // 25 s after the last item so that orders get to their close.
    bots.dispatch_url = platform.dispatch_url.clone();
    bots.poll_interval_ms = 1_000;
    bots.accept_minutes = [1.0, 10.0];
    bots.resolve_minutes = [5.0, 40.0];
    bots.linger_s = 25.0;
    let over_http = SimulateConfig {
        seed: 11,
        speedup: 240.0,
        rate: 10.0,
        duration: "2h".to_owned(),
        devices: 1_000,
        ingest_url: platform.ingest_url.clone(),
        report_interval_s: 5.0,
        bots,
        ..SimulateConfig::default()
    };
    let http = run(&over_http, Arc::clone(&world), std::future::pending())
        .await
        .expect("the simulator runs over HTTP");
    println!(
        "over HTTP: {} tickets ({} repeat calls), {} readings ({} alarms); sent {}, accepted {}; episodes {:?}; bots {:?}",
        http.tickets, http.repeat_calls, http.readings, http.alarms, http.sent, http.accepted,
        http.episodes, http.bots.actions
    );
    // How many tickets two hours bring follows the hour of the day (the simulated clock
    // ends at the wall clock's time): 49 between 23:00 and 01:00 CST, 37 of them from the
    // episodes. Readings do not follow the hour.
    assert!(http.tickets > 0 && http.readings > 100, "{http:?}");
    assert_eq!(http.rejected, 0, "refused: {:?}", http.rejections);
    assert_eq!((http.accepted, http.unconfirmed), (http.sent, 0));
    assert!(
        http.episodes
            .iter()
            .any(|e| e.name == "rainstorm" && e.alarms > 0),
        "the rainstorm floods streets: {:?}",
        http.episodes
    );

    // Half an hour more, produced straight to the raw topics (no bots).
    let mut over_kafka = SimulateConfig {
        seed: 12,
        speedup: 240.0,
        rate: 10.0,
        duration: "30m".to_owned(),
        devices: 1_000,
        target: Target::Kafka,
        kafka: kafka.clone(),
        run_tag: Some("kafka".to_owned()),
        ..SimulateConfig::default()
    };
    over_kafka.bots.enabled = false;
    over_kafka.kafka.topics.raw_hotline = platform.topics.raw_hotline.clone();
    over_kafka.kafka.topics.raw_iot = platform.topics.raw_iot.clone();
    let direct = run(&over_kafka, Arc::clone(&world), std::future::pending())
        .await
        .expect("the simulator produces to the raw topics");
    assert!(direct.accepted > 20, "{direct:?}");
    assert_eq!((direct.accepted, direct.rejected), (direct.sent, 0));

    await_accounted_for(&platform, &[&http, &direct]).await;
    assert_eq!(
        platform.count("SELECT count() FROM dead_letters").await,
        0,
        "nothing the simulator makes is dead-lettered"
    );

    // The bots worked orders to their close: each order they closed has its closing in
    // ClickHouse, and the histories went through every step of the lifecycle.
    assert!(
        !http.bots.closed_order_ids.is_empty(),
        "the bots closed no order: {:?}",
        http.bots
    );
    let wanted: BTreeSet<String> = http.bots.closed_order_ids.iter().cloned().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        // Closed at least once: a bad callback may have reopened it since.
        let closed = column(
            &platform,
            "SELECT DISTINCT order_id FROM workorder_events WHERE kind = 'closed' AND rejected = 0",
        )
        .await;
        let missing = wanted.difference(&closed).count();
        if missing == 0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{missing} of the {} orders the bots closed have no closing in ClickHouse",
            wanted.len()
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let opened = platform.count("SELECT count() FROM workorders FINAL").await;
    assert!(opened > wanted.len() as u64 / 2, "{opened} orders opened");
    let kinds = column(
        &platform,
        "SELECT DISTINCT kind FROM workorder_events WHERE rejected = 0",
    )
    .await;
    for kind in [
        "created",
        "dispatched",
        "accepted",
        "resolved",
        "closed",
        "satisfaction_recorded",
    ] {
        assert!(kinds.contains(kind), "no {kind} transition among {kinds:?}");
    }
    println!(
        "{opened} orders opened, {} closed by the bots; transitions {kinds:?}",
        wanted.len()
    );
    platform.stop().await;
}
