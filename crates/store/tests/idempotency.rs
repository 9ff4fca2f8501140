//! Rows against the local ClickHouse (18.16): every row type round-trips through its table,
//! and the same batch inserted twice leaves `count() ... FINAL` unchanged.

#![allow(clippy::unwrap_used)]

mod common;

use cityops_store::{
    Batch, BatchConfig, BatchWriter, DeadLetter, DeadLetterRow, EventRow, FlushReason, IncidentRow,
    Origin, PayloadPolicy, TableRow, TelemetryRow, WorkOrderEventRow, WorkOrderRow,
};
use common::fixtures;
use std::fmt::Debug;
use std::sync::Arc;

fn batch<T>(rows: Vec<T>) -> Batch<T> {
    let mut batch = Batch::new();
    for (offset, row) in (0..).zip(rows) {
        let origin = Origin {
            topic: Arc::from("t"),
            partition: 0,
            offset,
        };
        batch.push(row, origin, 100);
    }
    batch
}

async fn insert<T: TableRow>(config: &cityops_store::ClickHouseConfig, batch: &Batch<T>) {
    let writer = BatchWriter::<T>::for_table(config.client(), BatchConfig::default());
    let done = writer
        .insert_batch(batch, FlushReason::Explicit)
        .await
        .unwrap();
    assert_eq!(done.rows, batch.len());
}

/// Inserts `rows` and reads them back with `SELECT ?fields ... FINAL ORDER BY <order>`.
async fn round_trip<T>(config: &cityops_store::ClickHouseConfig, rows: Vec<T>, order: &str)
where
    T: TableRow + Clone + PartialEq + Debug + for<'a> serde::Deserialize<'a>,
{
    insert(config, &batch(rows.clone())).await;
    let read = config
        .client()
        .query(&format!(
            "SELECT ?fields FROM {} FINAL ORDER BY {order}",
            T::TABLE
        ))
        .fetch_all::<T>()
        .await
        .unwrap();
    assert_eq!(read, rows, "{}", T::TABLE);
}

#[tokio::test]
async fn every_row_type_round_trips_through_its_table() {
    let config = common::migrated().await;

    let mut e2 = fixtures::event("T-2");
    e2.location = None;
    e2.metrics.clear();
    e2.occurred_at_ms += 1;
    round_trip(
        &config,
        vec![EventRow::from(&fixtures::event("T-1")), EventRow::from(&e2)],
        "occurred_at_ms",
    )
    .await;

    round_trip(
        &config,
        vec![IncidentRow::from(&fixtures::incident("T-1"))],
        "incident_id",
    )
    .await;

    round_trip(
        &config,
        vec![
            TelemetryRow::from(&fixtures::reading("SY-GAS-1", fixtures::T0_MS)),
            TelemetryRow::from(&fixtures::reading("SY-GAS-2", fixtures::T0_MS)),
        ],
        "device_id",
    )
    .await;

    round_trip(
        &config,
        vec![
            WorkOrderEventRow::from(&fixtures::transition("WO-1", 1)),
            WorkOrderEventRow::from(&fixtures::transition("WO-1", 2)),
        ],
        "seq",
    )
    .await;

    round_trip(
        &config,
        vec![WorkOrderRow::from(&fixtures::order("WO-1", 4))],
        "order_id",
    )
    .await;

    let letter = DeadLetter {
        dlq_topic: "city.dlq.v1",
        dlq_partition: 0,
        dlq_offset: 9,
        at_ms: fixtures::T0_MS,
        stage: "ingest",
        error: "received_at is missing",
        source_topic: "city.raw.iot.v1",
        source_partition: Some(2),
        source_offset: Some(41),
        key: Some(b"SY-GAS-1"),
        payload: b"{}",
        payload_policy: PayloadPolicy::Keep,
    };
    round_trip(&config, vec![DeadLetterRow::from(&letter)], "dlq_offset").await;

    common::drop_database(&config).await;
}

#[tokio::test]
async fn the_same_events_inserted_twice_count_once() {
    let config = common::migrated().await;
    let rows: Vec<EventRow> = (0..50)
        .map(|i| {
            let mut e = fixtures::event(&format!("T-{i}"));
            // Spread over several months so duplicates must meet in their own partition.
            e.occurred_at_ms += i64::from(i) * 20 * 86_400_000;
            EventRow::from(&e)
        })
        .collect();
    let batch = batch(rows);

    insert(&config, &batch).await;
    assert_eq!(common::count_final(&config, "events").await, 50);
    insert(&config, &batch).await; // a replay after a crash before the offsets were stored
    assert_eq!(common::count_final(&config, "events").await, 50);

    let raw: u64 = config
        .client()
        .query("SELECT count() FROM events")
        .fetch_one()
        .await
        .unwrap();
    assert!(raw >= 50, "{raw}");

    // The same holds for incidents, and the per-minute view counts distinct incidents.
    let incidents = crate::batch(vec![
        IncidentRow::from(&fixtures::incident("T-1")),
        IncidentRow::from(&fixtures::incident("T-2")),
    ]);
    insert(&config, &incidents).await;
    insert(&config, &incidents).await;
    assert_eq!(common::count_final(&config, "incidents").await, 2);
    let per_minute: u64 = config
        .client()
        .query("SELECT uniqExactMerge(incidents) FROM incidents_per_minute")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(per_minute, 2);

    common::drop_database(&config).await;
}

#[derive(clickhouse::Row, serde::Deserialize, Debug, PartialEq)]
struct Current {
    order_id: String,
    version: u64,
    status: String,
}

#[tokio::test]
async fn workorders_keep_the_highest_version_through_replays() {
    let config = common::migrated().await;
    let versions = |order: &str, range: std::ops::RangeInclusive<i64>| {
        range
            .map(|v| {
                let mut o = fixtures::order(order, v);
                if v == 3 {
                    o.status = cityops_core::OrderStatus::Resolved;
                }
                WorkOrderRow::from(&o)
            })
            .collect::<Vec<_>>()
    };
    let mut rows = versions("WO-1", 1..=3);
    rows.extend(versions("WO-2", 1..=2));
    let batch = batch(rows);

    insert(&config, &batch).await;
    insert(&config, &batch).await;
    // A replay of older versions alone, too.
    insert(&config, &crate::batch(versions("WO-1", 1..=2))).await;

    assert_eq!(common::count_final(&config, "workorders").await, 2);
    let current = config
        .client()
        .query("SELECT ?fields FROM workorders FINAL ORDER BY order_id")
        .fetch_all::<Current>()
        .await
        .unwrap();
    assert_eq!(
        current,
        vec![
            Current {
                order_id: "WO-1".to_owned(),
                version: 3,
                status: "resolved".to_owned()
            },
            Current {
                order_id: "WO-2".to_owned(),
                version: 2,
                status: "in_progress".to_owned()
            },
        ]
    );
    // argMax gives the same answer without FINAL.
    let status: String = config
        .client()
        .query("SELECT argMax(status, version) FROM workorders WHERE order_id = 'WO-1'")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(status, "resolved");

    // Aggregates over FINAL count current states only.
    let kpis: (u64, u64, u64) = config
        .client()
        .query("SELECT count(), countIf(isNotNull(accepted_at_ms)), countIf(status IN ('resolved', 'closed')) FROM workorders FINAL")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(kpis, (2, 2, 1));

    // The transitions' table collapses replays as well.
    let transitions = crate::batch(
        (1..=3)
            .map(|seq| WorkOrderEventRow::from(&fixtures::transition("WO-1", seq)))
            .collect(),
    );
    insert(&config, &transitions).await;
    insert(&config, &transitions).await;
    assert_eq!(common::count_final(&config, "workorder_events").await, 3);

    common::drop_database(&config).await;
}
