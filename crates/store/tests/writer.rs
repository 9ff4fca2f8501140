//! The batched writer against the local ClickHouse (18.16): flushes by rows, bytes and
//! period report the offsets they cover; failed inserts keep their batch and are classified.

#![allow(clippy::unwrap_used)]

mod common;

use cityops_store::{
    flush_timer, BatchConfig, BatchWriter, ClickHouseConfig, ErrorClass, EventRow, FlushReason,
};
use common::fixtures;
use std::time::Duration;

fn event_row(i: u32) -> EventRow {
    let mut e = fixtures::event(&format!("W-{i}"));
    e.occurred_at_ms += i64::from(i);
    EventRow::from(&e)
}

fn config(max_rows: usize, max_bytes: usize, period_ms: u64) -> BatchConfig {
    BatchConfig {
        max_rows,
        max_bytes,
        period_ms,
        insert_timeout_ms: 10_000,
    }
}

fn writer(config: &ClickHouseConfig, batch: BatchConfig) -> BatchWriter<EventRow> {
    BatchWriter::for_table(config.client(), batch)
}

#[tokio::test]
async fn a_flush_by_rows_reports_the_highest_offset_per_partition() {
    let ch = common::migrated().await;
    let mut w = writer(&ch, config(5, usize::MAX, 60_000));

    // Two partitions of one topic and a second topic, interleaved as a consumer sees them.
    let origins = [
        ("city.events.v1", 0, 10),
        ("city.events.v1", 1, 3),
        ("city.events.v1", 0, 11),
        ("other.v1", 0, 7),
    ];
    for (i, origin) in (0..).zip(origins) {
        assert!(w.push(event_row(i), origin, 100).await.unwrap().is_none());
    }
    w.mark_handled(("city.events.v1", 1, 4)); // e.g. a record that was dead-lettered
    let done = w
        .push(event_row(4), ("city.events.v1", 0, 12), 100)
        .await
        .unwrap()
        .expect("the fifth row reaches max_rows");
    assert_eq!(done.reason, FlushReason::Rows);
    assert_eq!(done.rows, 5);
    assert_eq!(
        done.covered.iter().collect::<Vec<_>>(),
        vec![
            ("city.events.v1", 0, 12),
            ("city.events.v1", 1, 4),
            ("other.v1", 0, 7)
        ]
    );
    assert_eq!(w.buffered_rows(), 0);
    assert!(w.is_empty());
    assert_eq!(common::count_final(&ch, "events").await, 5);

    // The next batch reports only its own offsets.
    w.push(event_row(5), ("city.events.v1", 0, 13), 100)
        .await
        .unwrap();
    let done = w.flush().await.unwrap().unwrap();
    assert_eq!(done.reason, FlushReason::Explicit);
    assert_eq!(
        done.covered.iter().collect::<Vec<_>>(),
        vec![("city.events.v1", 0, 13)]
    );
    assert!(w.flush().await.unwrap().is_none());

    common::drop_database(&ch).await;
}

#[tokio::test]
async fn a_flush_by_bytes() {
    let ch = common::migrated().await;
    let mut w = writer(&ch, config(1_000, 1_000, 60_000));
    assert!(w
        .push(event_row(0), ("t", 2, 100), 400)
        .await
        .unwrap()
        .is_none());
    assert!(w
        .push(event_row(1), ("t", 2, 101), 400)
        .await
        .unwrap()
        .is_none());
    let done = w
        .push(event_row(2), ("t", 2, 102), 400)
        .await
        .unwrap()
        .expect("1200 bytes reach max_bytes");
    assert_eq!(done.reason, FlushReason::Bytes);
    assert_eq!(done.rows, 3);
    assert_eq!(done.covered.get("t", 2), Some(102));
    assert_eq!(common::count_final(&ch, "events").await, 3);

    common::drop_database(&ch).await;
}

#[tokio::test]
async fn a_flush_by_period_without_busy_waiting() {
    let ch = common::migrated().await;
    let mut w = writer(&ch, config(1_000, usize::MAX, 300));
    assert_eq!(w.next_flush_at(), None);
    // Nothing buffered: the timer never fires and tick does nothing.
    assert!(
        tokio::time::timeout(Duration::from_millis(50), flush_timer(w.next_flush_at()))
            .await
            .is_err()
    );
    assert!(w.tick().await.unwrap().is_none());

    let pushed_at = tokio::time::Instant::now();
    w.push(event_row(0), ("t", 0, 40), 10).await.unwrap();
    w.push(event_row(1), ("t", 0, 41), 10).await.unwrap();
    assert!(w.tick().await.unwrap().is_none(), "not due yet");

    flush_timer(w.next_flush_at()).await;
    assert!(pushed_at.elapsed() >= Duration::from_millis(300));
    let done = w.tick().await.unwrap().expect("due after the period");
    assert_eq!(done.reason, FlushReason::Period);
    assert_eq!(done.rows, 2);
    assert_eq!(done.covered.get("t", 0), Some(41));
    assert_eq!(w.next_flush_at(), None);
    assert_eq!(common::count_final(&ch, "events").await, 2);

    common::drop_database(&ch).await;
}

#[derive(clickhouse::Row, serde::Serialize, Debug, Clone, PartialEq)]
struct Probe {
    id: String,
}

#[tokio::test]
async fn bad_rows_are_bad_data_and_the_batch_is_kept_for_isolation() {
    let ch = common::migrated().await;
    // A column computed from the row: ClickHouse rejects a row whose id is not a number
    // (code 6, CANNOT_PARSE_TEXT), as a CHECK constraint would on a current server.
    ch.client()
        .query_raw(
            "CREATE TABLE probe (id String, n UInt64 MATERIALIZED toUInt64(id)) \
             ENGINE = ReplacingMergeTree() ORDER BY id",
        )
        .execute()
        .await
        .unwrap();
    let mut w = BatchWriter::<Probe>::new(ch.client(), "probe", config(4, usize::MAX, 60_000));
    let ids = ["1", "2", "x", "4"];
    for (offset, id) in (0..3).zip(ids) {
        assert!(w
            .push(Probe { id: id.to_owned() }, ("t", 0, offset), 10)
            .await
            .unwrap()
            .is_none());
    }
    let err = w
        .push(Probe { id: "4".to_owned() }, ("t", 0, 3), 10)
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::BadData, "{err}");
    assert_eq!(err.rows, 4);
    assert!(err.to_string().contains("dead-letter"), "{err}");

    // Nothing lost, nothing reported, and nothing flushed past the failure.
    let failed = w.failed_batch().unwrap();
    let ids_kept: Vec<&str> = failed.rows().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids_kept, ids);
    assert_eq!(failed.covered().get("t", 0), Some(3));
    assert_eq!(w.next_flush_at(), None);
    assert!(w
        .push(Probe { id: "5".to_owned() }, ("t", 0, 4), 10)
        .await
        .unwrap()
        .is_none());
    assert_eq!(w.buffered_rows(), 1);

    // A retry fails the same way and keeps the batch.
    let again = w.flush().await.unwrap_err();
    assert_eq!(again.class, ErrorClass::BadData);
    assert!(w.failed_batch().is_some());

    // The sink's way out: take the batch, insert rows alone, dead-letter the bad one.
    let batch = w.take_failed().unwrap();
    let mut dead = Vec::new();
    for (row, origin) in batch.into_rows() {
        let mut single = cityops_store::Batch::new();
        single.push(row.clone(), origin.clone(), 10);
        if let Err(e) = w.insert_batch(&single, FlushReason::Retry).await {
            assert_eq!(e.class, ErrorClass::BadData);
            dead.push((row.id, origin.offset));
        }
    }
    assert_eq!(dead, vec![("x".to_owned(), 2)]);
    // Flushing resumes with what was buffered meanwhile.
    let done = w.flush().await.unwrap().unwrap();
    assert_eq!(done.covered.get("t", 0), Some(4));
    assert_eq!(common::count_final(&ch, "probe").await, 4);

    common::drop_database(&ch).await;
}

#[tokio::test]
async fn a_missing_table_is_misconfigured_not_bad_data() {
    let ch = common::fresh_config().await; // no migrations: `events` does not exist
    ch.server_client()
        .query_raw(&format!("CREATE DATABASE `{}`", ch.database))
        .execute()
        .await
        .unwrap();
    let mut w = writer(&ch, config(1_000, usize::MAX, 60_000));
    w.push(event_row(0), ("t", 0, 1), 10).await.unwrap();
    let err = w.flush().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Misconfigured, "{err}");
    assert!(err.to_string().contains("migrations"), "{err}");
    assert_eq!(w.failed_batch().unwrap().len(), 1);

    // Once the migrations are applied, the retry succeeds with the same rows.
    cityops_store::migrate(&ch).await.unwrap();
    let done = w.flush().await.unwrap().unwrap();
    assert_eq!(done.reason, FlushReason::Retry);
    assert_eq!(done.covered.get("t", 0), Some(1));
    assert!(w.is_empty());

    common::drop_database(&ch).await;
}

#[tokio::test]
async fn an_unreachable_server_is_transient() {
    // Port 9 (discard) on loopback: nothing listens there, the connection is refused.
    let ch = ClickHouseConfig {
        url: "http://127.0.0.1:9".to_owned(),
        validation: false,
        compression: cityops_store::Compression::None,
        ..ClickHouseConfig::default()
    };
    let mut w = writer(&ch, config(1, usize::MAX, 60_000));
    let err = w.push(event_row(0), ("t", 0, 1), 10).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient, "{err}");
    assert_eq!(w.failed_batch().unwrap().len(), 1);
}
