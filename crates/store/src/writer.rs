//! The batched writer: rows in, big inserts out, and after each acknowledged insert the
//! Kafka offsets it covers, so the sink stores an offset only once its row is in ClickHouse.
//!
//! ```no_run
//! # use cityops_store::{BatchConfig, BatchWriter, EventRow};
//! # async fn sink(client: clickhouse::Client, mut records: tokio::sync::mpsc::Receiver<(EventRow, String, i32, i64, usize)>) -> Result<(), Box<dyn std::error::Error>> {
//! let mut writer = BatchWriter::<EventRow>::for_table(client, BatchConfig::default());
//! loop {
//!     tokio::select! {
//!         record = records.recv() => {
//!             let Some((row, topic, partition, offset, size)) = record else { break };
//!             if let Some(done) = writer.push(row, (&topic, partition, offset), size).await? {
//!                 // store done.covered offsets (offset + 1 in Kafka's convention)
//!             }
//!         }
//!         // Sleeps until the period flush is due (forever when nothing is buffered).
//!         _ = cityops_store::flush_timer(writer.next_flush_at()) => {
//!             if let Some(done) = writer.tick().await? { /* store done.covered */ }
//!         }
//!     }
//! }
//! for done in writer.flush_all().await? { /* store done.covered */ }
//! # Ok(()) }
//! ```
//!
//! # Failures
//!
//! A failed insert loses nothing: the batch stays in the writer as its *failed batch*, and
//! no later batch is inserted (nor its offsets reported) until that one is resolved, so
//! offsets are only ever reported in order. The [`InsertError`] says what kind of failure it
//! was ([`ErrorClass`]); the caller then either retries ([`BatchWriter::flush`] inserts the
//! failed batch first) or takes the batch out ([`BatchWriter::take_failed`]) to isolate
//! and dead-letter bad rows (e.g. by inserting halves with [`BatchWriter::insert_batch`]).
//! Rows pushed meanwhile are buffered, not flushed.
//!
//! Retrying an insert that ClickHouse may have partly applied is safe: every table is a
//! `ReplacingMergeTree` keyed by deterministic ids, so duplicates collapse.

use crate::classify::{classify, ErrorClass};
use crate::rows::TableRow;
use clickhouse::{Client, RowOwned, RowWrite};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::time::Instant;

/// When a batch is flushed, and how long an insert may take. The sink's configuration may
/// embed it; every field has a default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BatchConfig {
    /// Flush when this many rows are buffered (default 10 000).
    pub max_rows: usize,
    /// Flush when the buffered rows' approximate size reaches this many bytes (default
    /// 8 MiB).
    pub max_bytes: usize,
    /// Flush when the oldest buffered row has waited this long, in milliseconds (default
    /// 1000): the bound on how stale the cockpit's data can be under low traffic.
    pub period_ms: u64,
    /// Give up on an insert (as a transient failure) after this many milliseconds
    /// (default 30 000).
    pub insert_timeout_ms: u64,
}

impl Default for BatchConfig {
    fn default() -> Self {
        Self {
            max_rows: 10_000,
            max_bytes: 8 * 1024 * 1024,
            period_ms: 1_000,
            insert_timeout_ms: 30_000,
        }
    }
}

impl BatchConfig {
    pub fn period(&self) -> Duration {
        Duration::from_millis(self.period_ms)
    }

    pub fn insert_timeout(&self) -> Duration {
        Duration::from_millis(self.insert_timeout_ms)
    }
}

/// Sleeps until `deadline` ([`BatchWriter::next_flush_at`]); never completes when there is
/// none. For `tokio::select!` beside the record stream: no polling, no busy-waiting.
pub async fn flush_timer(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Where a row came from: a Kafka record's position.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    pub topic: Arc<str>,
    pub partition: i32,
    pub offset: i64,
}

/// Per topic-partition, the highest offset that a finished insert covers. The sink may
/// commit `offset + 1` (Kafka's "next to read") for each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoveredOffsets(BTreeMap<(Arc<str>, i32), i64>);

impl CoveredOffsets {
    /// Records `origin`, keeping the highest offset of its partition.
    pub fn record(&mut self, origin: &Origin) {
        let slot = self
            .0
            .entry((origin.topic.clone(), origin.partition))
            .or_insert(origin.offset);
        *slot = (*slot).max(origin.offset);
    }

    /// Adds `other`'s offsets, keeping the highest of each partition.
    pub fn merge(&mut self, other: &CoveredOffsets) {
        for ((topic, partition), offset) in &other.0 {
            self.record(&Origin {
                topic: topic.clone(),
                partition: *partition,
                offset: *offset,
            });
        }
    }

    /// The highest covered offset of `topic`/`partition`, if any.
    pub fn get(&self, topic: &str, partition: i32) -> Option<i64> {
        self.iter()
            .find(|(t, p, _)| *t == topic && *p == partition)
            .map(|(_, _, o)| o)
    }

    /// `(topic, partition, highest offset)`, ordered by topic and partition.
    pub fn iter(&self) -> impl Iterator<Item = (&str, i32, i64)> + '_ {
        self.0.iter().map(|((t, p), o)| (&**t, *p, *o))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Rows waiting to be inserted together, each with its [`Origin`], plus the positions of
/// records that produced no row but must be acknowledged in order with the rows
/// ([`BatchWriter::mark_handled`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Batch<T> {
    rows: Vec<T>,
    origins: Vec<Origin>,
    handled: Vec<Origin>,
    bytes: usize,
    opened_at: Option<Instant>,
}

impl<T> Default for Batch<T> {
    fn default() -> Self {
        Self {
            rows: Vec::new(),
            origins: Vec::new(),
            handled: Vec::new(),
            bytes: 0,
            opened_at: None,
        }
    }
}

impl<T> Batch<T> {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a row that came from `origin`; `approx_bytes` counts towards
    /// [`BatchConfig::max_bytes`] (the record's size is a good estimate).
    pub fn push(&mut self, row: T, origin: Origin, approx_bytes: usize) {
        self.opened_at.get_or_insert_with(Instant::now);
        self.rows.push(row);
        self.origins.push(origin);
        self.bytes = self.bytes.saturating_add(approx_bytes);
    }

    /// Adds the position of a record that produced no row.
    pub fn mark_handled(&mut self, origin: Origin) {
        self.opened_at.get_or_insert_with(Instant::now);
        self.handled.push(origin);
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// No rows and no handled positions.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty() && self.handled.is_empty()
    }

    /// Sum of the rows' `approx_bytes`.
    pub fn approx_bytes(&self) -> usize {
        self.bytes
    }

    pub fn rows(&self) -> &[T] {
        &self.rows
    }

    /// The origin of each row (same index as [`rows`](Self::rows)).
    pub fn origins(&self) -> &[Origin] {
        &self.origins
    }

    /// Positions of records that produced no row.
    pub fn handled(&self) -> &[Origin] {
        &self.handled
    }

    /// When the first row or position was added.
    pub fn opened_at(&self) -> Option<Instant> {
        self.opened_at
    }

    /// The offsets this batch covers once inserted.
    pub fn covered(&self) -> CoveredOffsets {
        let mut covered = CoveredOffsets::default();
        for origin in self.origins.iter().chain(&self.handled) {
            covered.record(origin);
        }
        covered
    }

    /// Splits off the rows from index `at` on into a new batch, which also takes the handled
    /// positions (so they are acknowledged with the later part). For isolating bad rows.
    pub fn split_off(&mut self, at: usize) -> Batch<T> {
        let at = at.min(self.rows.len());
        let rows = self.rows.split_off(at);
        let origins = self.origins.split_off(at);
        let share = if self.rows.is_empty() {
            self.bytes
        } else {
            self.bytes / (self.rows.len() + rows.len()) * rows.len()
        };
        self.bytes -= share;
        Batch {
            rows,
            origins,
            handled: std::mem::take(&mut self.handled),
            bytes: share,
            opened_at: self.opened_at,
        }
    }

    /// The rows with their origins, e.g. to dead-letter them one by one.
    pub fn into_rows(self) -> Vec<(T, Origin)> {
        self.rows.into_iter().zip(self.origins).collect()
    }
}

/// Why a batch was flushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FlushReason {
    /// [`BatchConfig::max_rows`] reached.
    Rows,
    /// [`BatchConfig::max_bytes`] reached.
    Bytes,
    /// [`BatchConfig::period_ms`] elapsed since the batch's first row.
    Period,
    /// [`BatchWriter::flush`] or [`BatchWriter::flush_all`].
    Explicit,
    /// A retry of the failed batch.
    Retry,
}

impl FlushReason {
    pub fn as_str(self) -> &'static str {
        match self {
            FlushReason::Rows => "rows",
            FlushReason::Bytes => "bytes",
            FlushReason::Period => "period",
            FlushReason::Explicit => "explicit",
            FlushReason::Retry => "retry",
        }
    }
}

/// An insert ClickHouse acknowledged.
#[derive(Debug, Clone, PartialEq)]
pub struct Flushed {
    /// Rows inserted.
    pub rows: usize,
    pub reason: FlushReason,
    /// The offsets now safe to store.
    pub covered: CoveredOffsets,
    /// How long the insert took.
    pub elapsed: Duration,
}

/// A failed insert. The rows are not lost: see the [module docs](self).
#[derive(Debug, thiserror::Error)]
#[error(
    "inserting {rows} rows into {table} failed ({class}): {source}{hint}; {advice}",
    hint = crate::classify::old_server_hint(source),
    advice = class.advice()
)]
pub struct InsertError {
    pub table: String,
    pub rows: usize,
    pub class: ErrorClass,
    #[source]
    pub source: clickhouse::error::Error,
}

/// Buffers rows of type `T` for one table and inserts them in batches. See the
/// [module docs](self).
pub struct BatchWriter<T> {
    client: Client,
    table: String,
    config: BatchConfig,
    buffer: Batch<T>,
    failed: Option<Batch<T>>,
    topics: Vec<Arc<str>>,
}

impl<T> std::fmt::Debug for BatchWriter<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchWriter")
            .field("table", &self.table)
            .field("config", &self.config)
            .field("buffered_rows", &self.buffer.len())
            .field("failed_rows", &self.failed.as_ref().map(Batch::len))
            .finish_non_exhaustive()
    }
}

impl<T: RowOwned + RowWrite> BatchWriter<T> {
    /// A writer into `table` (in the client's database).
    pub fn new(client: Client, table: impl Into<String>, config: BatchConfig) -> Self {
        Self {
            client,
            table: table.into(),
            config,
            buffer: Batch::new(),
            failed: None,
            topics: Vec::new(),
        }
    }

    /// A writer into `T`'s own table ([`TableRow::TABLE`]).
    pub fn for_table(client: Client, config: BatchConfig) -> Self
    where
        T: TableRow,
    {
        Self::new(client, T::TABLE, config)
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    pub fn config(&self) -> &BatchConfig {
        &self.config
    }

    /// Rows buffered (not counting a failed batch).
    pub fn buffered_rows(&self) -> usize {
        self.buffer.len()
    }

    /// Nothing buffered and no failed batch.
    pub fn is_empty(&self) -> bool {
        self.buffer.is_empty() && self.failed.is_none()
    }

    /// The batch whose insert failed, kept until it is retried or taken.
    pub fn failed_batch(&self) -> Option<&Batch<T>> {
        self.failed.as_ref()
    }

    /// Takes the failed batch out of the writer: the caller now answers for its rows
    /// (dead-letter them, or isolate the bad ones with [`insert_batch`](Self::insert_batch)).
    /// Flushing resumes with the buffered rows.
    pub fn take_failed(&mut self) -> Option<Batch<T>> {
        self.failed.take()
    }

    /// Puts back a batch taken with [`take_failed`](Self::take_failed) as the failed batch
    /// (e.g. when isolating bad rows met a server failure instead); it is retried first.
    /// A batch already pending is merged behind it.
    pub fn restore_failed(&mut self, mut batch: Batch<T>) {
        if let Some(pending) = self.failed.take() {
            for origin in pending.handled().to_vec() {
                batch.mark_handled(origin);
            }
            for (row, origin) in pending.into_rows() {
                batch.push(row, origin, 0);
            }
        }
        self.failed = Some(batch);
    }

    fn origin(&mut self, (topic, partition, offset): (&str, i32, i64)) -> Origin {
        let topic = match self.topics.iter().find(|t| &***t == topic) {
            Some(t) => t.clone(),
            None => {
                let t: Arc<str> = Arc::from(topic);
                self.topics.push(t.clone());
                t
            }
        };
        Origin {
            topic,
            partition,
            offset,
        }
    }

    /// Buffers `row` from Kafka position `origin` = `(topic, partition, offset)`; flushes when
    /// the batch reaches [`BatchConfig::max_rows`] or [`BatchConfig::max_bytes`] (or its
    /// period has passed) and returns what that flush covers. While a failed batch is
    /// pending, only buffers.
    ///
    /// On error the rows (this one included) stay in the writer.
    pub async fn push(
        &mut self,
        row: T,
        origin: (&str, i32, i64),
        approx_bytes: usize,
    ) -> Result<Option<Flushed>, InsertError> {
        let origin = self.origin(origin);
        self.buffer.push(row, origin, approx_bytes);
        self.tick().await
    }

    /// Records that the record at `origin` needs no row (e.g. it was dead-lettered), so its
    /// offset is reported with the next flush, in order with the rows around it.
    pub fn mark_handled(&mut self, origin: (&str, i32, i64)) {
        let origin = self.origin(origin);
        self.buffer.mark_handled(origin);
    }

    /// Why the buffer should be flushed at `now`, if it should. `None` while a failed batch
    /// is pending (the caller decides when to retry).
    pub fn due(&self, now: Instant) -> Option<FlushReason> {
        if self.failed.is_some() || self.buffer.is_empty() {
            return None;
        }
        if self.buffer.len() >= self.config.max_rows {
            Some(FlushReason::Rows)
        } else if self.buffer.approx_bytes() >= self.config.max_bytes {
            Some(FlushReason::Bytes)
        } else if self.next_flush_at().is_some_and(|deadline| now >= deadline) {
            Some(FlushReason::Period)
        } else {
            None
        }
    }

    /// When the period flush of the buffered rows is due: sleep until then and call
    /// [`tick`](Self::tick). `None` when nothing is buffered or a failed batch is pending.
    pub fn next_flush_at(&self) -> Option<Instant> {
        if self.failed.is_some() {
            return None;
        }
        self.buffer
            .opened_at()
            .map(|opened| opened + self.config.period())
    }

    /// Flushes the buffer if a limit or the period is reached; cheap when not.
    pub async fn tick(&mut self) -> Result<Option<Flushed>, InsertError> {
        match self.due(Instant::now()) {
            Some(reason) => self.flush_buffer(reason).await.map(Some),
            None => Ok(None),
        }
    }

    /// Inserts one batch now: the failed batch if one is pending (a retry), else the
    /// buffered rows. `Ok(None)` when there is nothing to insert. Call
    /// [`flush_all`](Self::flush_all) to empty the writer.
    pub async fn flush(&mut self) -> Result<Option<Flushed>, InsertError> {
        if let Some(batch) = self.failed.take() {
            return match self.insert_batch(&batch, FlushReason::Retry).await {
                Ok(done) => Ok(Some(done)),
                Err(e) => {
                    self.failed = Some(batch);
                    Err(e)
                }
            };
        }
        if self.buffer.is_empty() {
            return Ok(None);
        }
        self.flush_buffer(FlushReason::Explicit).await.map(Some)
    }

    /// Inserts everything (the failed batch, then the buffer): what to do before shutting
    /// down or giving up partitions. Returns each acknowledged insert, in order; on error,
    /// what was not written stays in the writer.
    pub async fn flush_all(&mut self) -> Result<Vec<Flushed>, InsertError> {
        let mut done = Vec::new();
        while let Some(flushed) = self.flush().await? {
            done.push(flushed);
        }
        Ok(done)
    }

    async fn flush_buffer(&mut self, reason: FlushReason) -> Result<Flushed, InsertError> {
        let batch = std::mem::take(&mut self.buffer);
        match self.insert_batch(&batch, reason).await {
            Ok(done) => Ok(done),
            Err(e) => {
                self.failed = Some(batch);
                Err(e)
            }
        }
    }

    /// Inserts `batch` as one insert, outside the writer's buffer (for retries and for
    /// isolating bad rows). Records the metrics; on success returns what it covers.
    pub async fn insert_batch(
        &self,
        batch: &Batch<T>,
        reason: FlushReason,
    ) -> Result<Flushed, InsertError> {
        let started = Instant::now();
        let result = if batch.rows.is_empty() {
            Ok(())
        } else {
            match tokio::time::timeout(self.config.insert_timeout(), self.insert_rows(&batch.rows))
                .await
            {
                Ok(result) => result,
                Err(_elapsed) => Err(clickhouse::error::Error::TimedOut),
            }
        };
        let elapsed = started.elapsed();
        let table = self.table.clone();
        match result {
            Ok(()) => {
                if !batch.rows.is_empty() {
                    metrics::counter!("cityops_store_rows_written_total", "table" => table.clone())
                        .increment(batch.rows.len() as u64);
                    metrics::histogram!("cityops_store_insert_duration_seconds", "table" => table)
                        .record(elapsed.as_secs_f64());
                }
                tracing::debug!(
                    table = %self.table,
                    rows = batch.rows.len(),
                    reason = reason.as_str(),
                    elapsed_ms = elapsed.as_millis() as u64,
                    "inserted batch"
                );
                Ok(Flushed {
                    rows: batch.rows.len(),
                    reason,
                    covered: batch.covered(),
                    elapsed,
                })
            }
            Err(source) => {
                let class = classify(&source);
                metrics::counter!(
                    "cityops_store_insert_failures_total",
                    "table" => table,
                    "class" => class.as_str()
                )
                .increment(1);
                let error = InsertError {
                    table: self.table.clone(),
                    rows: batch.rows.len(),
                    class,
                    source,
                };
                tracing::warn!(error = %error, "insert failed; the batch is kept");
                Err(error)
            }
        }
    }

    async fn insert_rows(&self, rows: &[T]) -> Result<(), clickhouse::error::Error> {
        let mut insert = self.client.insert::<T>(&self.table).await?;
        for row in rows {
            insert.write(row).await?;
        }
        insert.end().await
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn origin(topic: &str, partition: i32, offset: i64) -> Origin {
        Origin {
            topic: Arc::from(topic),
            partition,
            offset,
        }
    }

    #[test]
    fn covered_keeps_the_highest_offset_per_partition() {
        let mut b = Batch::new();
        b.push(1u32, origin("a", 0, 5), 10);
        b.push(2, origin("a", 0, 7), 10);
        b.push(3, origin("a", 1, 2), 10);
        b.push(4, origin("b", 0, 9), 10);
        b.mark_handled(origin("a", 1, 3));
        let c = b.covered();
        assert_eq!(
            c.iter().collect::<Vec<_>>(),
            vec![("a", 0, 7), ("a", 1, 3), ("b", 0, 9)]
        );
        assert_eq!(c.get("a", 1), Some(3));
        assert_eq!(c.get("c", 0), None);
        assert_eq!(b.len(), 4);
        assert_eq!(b.approx_bytes(), 40);
    }

    #[test]
    fn merge_of_covered_offsets() {
        let mut a = CoveredOffsets::default();
        a.record(&origin("t", 0, 5));
        let mut b = CoveredOffsets::default();
        b.record(&origin("t", 0, 3));
        b.record(&origin("t", 1, 8));
        a.merge(&b);
        assert_eq!(a.iter().collect::<Vec<_>>(), vec![("t", 0, 5), ("t", 1, 8)]);
    }

    #[test]
    fn split_off_keeps_handled_positions_with_the_later_part() {
        let mut b = Batch::new();
        for i in 0..4 {
            b.push(i, origin("t", 0, i64::from(i)), 100);
        }
        b.mark_handled(origin("t", 0, 4));
        let tail = b.split_off(2);
        assert_eq!(b.rows(), &[0, 1]);
        assert_eq!(tail.rows(), &[2, 3]);
        assert!(b.handled().is_empty());
        assert_eq!(tail.covered().get("t", 0), Some(4));
        assert_eq!(b.covered().get("t", 0), Some(1));
        assert_eq!(b.approx_bytes() + tail.approx_bytes(), 400);
        let rows = tail.into_rows();
        assert_eq!(rows[1], (3, origin("t", 0, 3)));
    }

    #[derive(clickhouse::Row, serde::Serialize)]
    struct Probe {
        id: u32,
    }

    fn writer(config: BatchConfig) -> BatchWriter<Probe> {
        // Never contacted: these tests stay below every limit.
        BatchWriter::new(
            Client::default().with_url("http://127.0.0.1:9"),
            "probe",
            config,
        )
    }

    #[tokio::test]
    async fn period_deadline_starts_with_the_first_row() {
        let config = BatchConfig {
            max_rows: 100,
            max_bytes: 1 << 20,
            period_ms: 250,
            insert_timeout_ms: 1_000,
        };
        let mut w = writer(config);
        assert_eq!(w.next_flush_at(), None);
        assert_eq!(w.due(Instant::now()), None);

        let before = Instant::now();
        assert!(w
            .push(Probe { id: 1 }, ("t", 0, 1), 10)
            .await
            .unwrap()
            .is_none());
        let deadline = w.next_flush_at().unwrap();
        assert!(deadline >= before + Duration::from_millis(250));
        assert!(deadline <= Instant::now() + Duration::from_millis(250));

        // A second row does not move the deadline.
        assert!(w
            .push(Probe { id: 2 }, ("t", 0, 2), 10)
            .await
            .unwrap()
            .is_none());
        assert_eq!(w.next_flush_at(), Some(deadline));
        assert_eq!(w.due(deadline - Duration::from_millis(1)), None);
        assert_eq!(w.due(deadline), Some(FlushReason::Period));
        assert_eq!(w.buffered_rows(), 2);
    }

    #[tokio::test]
    async fn limits_decide_the_reason() {
        let w = |max_rows, max_bytes| {
            writer(BatchConfig {
                max_rows,
                max_bytes,
                period_ms: 60_000,
                insert_timeout_ms: 1_000,
            })
        };
        let mut by_rows = w(2, 1 << 20);
        by_rows.buffer.push(Probe { id: 1 }, origin("t", 0, 1), 1);
        by_rows.buffer.push(Probe { id: 2 }, origin("t", 0, 2), 1);
        assert_eq!(by_rows.due(Instant::now()), Some(FlushReason::Rows));

        let mut by_bytes = w(100, 50);
        by_bytes.buffer.push(Probe { id: 1 }, origin("t", 0, 1), 60);
        assert_eq!(by_bytes.due(Instant::now()), Some(FlushReason::Bytes));

        // A pending failed batch stops automatic flushes.
        by_bytes.failed = Some(Batch::new());
        assert_eq!(by_bytes.due(Instant::now()), None);
        assert_eq!(by_bytes.next_flush_at(), None);
    }

    #[test]
    fn marked_positions_alone_start_the_clock() {
        let mut w = writer(BatchConfig::default());
        w.mark_handled(("t", 3, 17));
        assert!(w.next_flush_at().is_some());
        assert_eq!(w.buffer.covered().get("t", 3), Some(17));
        assert!(!w.is_empty());
    }

    #[test]
    fn topics_are_interned() {
        let mut w = writer(BatchConfig::default());
        let a = w.origin(("city.events.v1", 0, 1));
        let b = w.origin(("city.events.v1", 1, 2));
        assert!(Arc::ptr_eq(&a.topic, &b.topic));
    }

    #[test]
    fn insert_error_says_what_to_do() {
        let e = InsertError {
            table: "events".to_owned(),
            rows: 3,
            class: ErrorClass::Transient,
            source: clickhouse::error::Error::TimedOut,
        };
        let text = e.to_string();
        assert!(text.contains("3 rows into events"), "{text}");
        assert!(text.contains("retry"), "{text}");
    }
}
