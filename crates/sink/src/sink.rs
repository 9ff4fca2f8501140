//! Every topic into ClickHouse: records are decoded into rows, batched per table, and a
//! record is acknowledged (its offset stored) only when every table it feeds has an
//! acknowledged insert covering it.

use cityops_avro::Codec;
use cityops_bus::ack::AckToken;
use cityops_bus::admin::OffsetRange;
use cityops_bus::{dlq_headers, Consumer, DeadLetters, Delivery, Producer, Record, TopicsConfig};
use cityops_core::{CityEvent, Incident, Reading, WorkOrderEvent};
use cityops_store::{
    flush_timer, BatchConfig, BatchWriter, CoveredOffsets, DeadLetter, DeadLetterRow, ErrorClass,
    EventRow, Flushed, IncidentRow, InsertError, PayloadPolicy, TelemetryRow, WorkOrderEventRow,
    WorkOrderRow,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::tables::{RejectedRow, Table};

/// The `[sink]` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SinkConfig {
    pub consumer_group: String,
    /// Batching of every table (rows, bytes, period).
    pub batch: BatchConfig,
    /// Longest pause between retries while ClickHouse fails, in milliseconds.
    pub max_retry_backoff_ms: u64,
    /// `kafka.fetch_wait_max_ms` for the sink. Rows wait for the batch period anyway, and on
    /// Tansu every fetch re-reads each partition it covers (the sink reads 25 with the
    /// default partitions) whenever the wait runs out.
    pub fetch_wait_max_ms: u32,
}

impl Default for SinkConfig {
    fn default() -> Self {
        Self {
            consumer_group: "cityops-sink".to_owned(),
            batch: BatchConfig::default(),
            max_retry_backoff_ms: 5_000,
            fetch_wait_max_ms: 250,
        }
    }
}

/// Indices of the tables.
const EVENTS: usize = 0;
const INCIDENTS: usize = 1;
const TELEMETRY: usize = 2;
const TRANSITIONS: usize = 3;
const ORDERS: usize = 4;
const DEAD_LETTERS: usize = 5;
const TABLES: usize = 6;

/// One typed writer per table.
struct Writers {
    events: BatchWriter<EventRow>,
    incidents: BatchWriter<IncidentRow>,
    telemetry: BatchWriter<TelemetryRow>,
    transitions: BatchWriter<WorkOrderEventRow>,
    orders: BatchWriter<WorkOrderRow>,
    dead_letters: BatchWriter<DeadLetterRow>,
}

impl Writers {
    fn get(&mut self, i: usize) -> &mut dyn Table {
        match i {
            EVENTS => &mut self.events,
            INCIDENTS => &mut self.incidents,
            TELEMETRY => &mut self.telemetry,
            TRANSITIONS => &mut self.transitions,
            ORDERS => &mut self.orders,
            _ => &mut self.dead_letters,
        }
    }

    fn get_ref(&self, i: usize) -> &dyn Table {
        match i {
            EVENTS => &self.events,
            INCIDENTS => &self.incidents,
            TELEMETRY => &self.telemetry,
            TRANSITIONS => &self.transitions,
            ORDERS => &self.orders,
            _ => &self.dead_letters,
        }
    }

    /// Buffers `row` in its table (which may flush); returns the table and the flush result.
    async fn push(
        &mut self,
        row: Row,
        origin: (&str, i32, i64),
        size: usize,
    ) -> (usize, Result<Option<Flushed>, InsertError>) {
        match row {
            Row::Event(r) => (EVENTS, self.events.push(r, origin, size).await),
            Row::Incident(r) => (INCIDENTS, self.incidents.push(r, origin, size).await),
            Row::Telemetry(r) => (TELEMETRY, self.telemetry.push(r, origin, size).await),
            Row::Transition(r) => (TRANSITIONS, self.transitions.push(r, origin, size).await),
            Row::Order(r) => (ORDERS, self.orders.push(r, origin, size).await),
            Row::DeadLetter(r) => (DEAD_LETTERS, self.dead_letters.push(r, origin, size).await),
        }
    }
}

/// The sink's state: tables, the topic → tables map, and what is waiting for acknowledgement.
pub struct Sink {
    tables: Writers,
    feeds: HashMap<String, Vec<usize>>,
    codec: Codec,
    dead_letters: DeadLetters,
    dlq_topic: String,
    /// Records handed out and not yet acknowledged, per partition in offset order.
    pending: BTreeMap<(String, i32), VecDeque<AckToken>>,
    /// Per table and partition, the highest offset an acknowledged insert covers.
    covered: HashMap<(usize, String, i32), i64>,
    max_backoff: Duration,
    /// A replay's target: the offsets every partition held when it started.
    stop_at: Option<BTreeMap<(String, i32), OffsetRange>>,
    /// Per partition, the highest offset acknowledged.
    acked: HashMap<(String, i32), i64>,
}

/// What a sink run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SinkSummary {
    pub records: u64,
    pub rows_written: u64,
    pub dead_lettered: u64,
}

impl Sink {
    pub fn new(
        client: clickhouse::Client,
        topics: &TopicsConfig,
        config: &SinkConfig,
        codec: Codec,
        producer: Producer,
    ) -> Self {
        let b = config.batch;
        let tables = Writers {
            events: BatchWriter::for_table(client.clone(), b),
            incidents: BatchWriter::for_table(client.clone(), b),
            telemetry: BatchWriter::for_table(client.clone(), b),
            transitions: BatchWriter::for_table(client.clone(), b),
            orders: BatchWriter::for_table(client.clone(), b),
            dead_letters: BatchWriter::for_table(client, b),
        };
        let feeds = HashMap::from([
            (topics.events.clone(), vec![EVENTS]),
            (topics.incidents.clone(), vec![INCIDENTS]),
            (topics.telemetry.clone(), vec![TELEMETRY]),
            (topics.workorder_events.clone(), vec![TRANSITIONS, ORDERS]),
            (topics.dead_letter.clone(), vec![DEAD_LETTERS]),
        ]);
        Self {
            tables,
            feeds,
            codec,
            dead_letters: DeadLetters::new(producer, topics.dead_letter.clone(), "sink"),
            dlq_topic: topics.dead_letter.clone(),
            pending: BTreeMap::new(),
            covered: HashMap::new(),
            max_backoff: Duration::from_millis(config.max_retry_backoff_ms),
            stop_at: None,
            acked: HashMap::new(),
        }
    }

    /// A replay of `topic` alone (the tables it feeds): [`Sink::run`] stops once every record
    /// of `ranges` (what each partition held when the replay started) is written.
    pub fn replay(mut self, topic: &str, ranges: &[OffsetRange]) -> Self {
        self.feeds.retain(|t, _| t == topic);
        self.stop_at = Some(
            ranges
                .iter()
                .map(|r| ((topic.to_owned(), r.partition), *r))
                .collect(),
        );
        self
    }

    /// Whether a replay has written everything it was asked to.
    pub fn caught_up(&self) -> bool {
        self.stop_at.as_ref().is_some_and(|ranges| {
            ranges.iter().all(|(key, range)| {
                range.is_empty() || self.acked.get(key).is_some_and(|a| *a >= range.end - 1)
            })
        })
    }

    /// The topics the sink reads.
    pub fn topics(&self) -> Vec<&str> {
        let mut t: Vec<&str> = self.feeds.keys().map(String::as_str).collect();
        t.sort_unstable();
        t
    }

    /// Runs until `shutdown`; on shutdown makes one attempt to write what is buffered.
    pub async fn run(
        &mut self,
        consumer: &Consumer,
        shutdown: impl Future<Output = ()>,
    ) -> SinkSummary {
        let mut summary = SinkSummary::default();
        tokio::pin!(shutdown);
        let mut recv_backoff = Duration::ZERO;
        loop {
            if self.caught_up() {
                break;
            }
            let next_flush = (0..TABLES)
                .filter_map(|i| self.tables.get_ref(i).next_flush_at())
                .min();
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                () = flush_timer(next_flush) => {
                    for i in 0..TABLES {
                        let result = self.tables.get(i).tick().await;
                        if !self.settle(i, result, consumer, &mut summary, &mut shutdown).await {
                            return summary;
                        }
                    }
                }
                delivery = consumer.recv() => {
                    let delivery = match delivery {
                        Ok(d) => {
                            recv_backoff = Duration::ZERO;
                            d
                        }
                        Err(e) => {
                            recv_backoff = (recv_backoff * 2).clamp(Duration::from_millis(100), self.max_backoff);
                            tracing::warn!(error = %e, retry_in = ?recv_backoff, "sink consumer error");
                            tokio::time::sleep(recv_backoff).await;
                            continue;
                        }
                    };
                    summary.records += 1;
                    for (i, result) in self.accept(delivery, &mut summary).await {
                        if !self.settle(i, result, consumer, &mut summary, &mut shutdown).await {
                            return summary;
                        }
                    }
                }
            }
        }
        for i in 0..TABLES {
            loop {
                match self.tables.get(i).flush().await {
                    Ok(Some(done)) => {
                        summary.rows_written += done.rows as u64;
                        self.advance(i, &done.covered, consumer);
                    }
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!(error = %e, "final flush failed; the records will be read again");
                        break;
                    }
                }
            }
        }
        tracing::info!(?summary, "sink stopped");
        summary
    }

    /// Decodes a record into its rows and buffers them; returns each table's flush result.
    async fn accept(
        &mut self,
        delivery: Delivery,
        summary: &mut SinkSummary,
    ) -> Vec<(usize, Result<Option<Flushed>, InsertError>)> {
        let Delivery { record, token } = delivery;
        let Some(tables) = self.feeds.get(&record.topic).cloned() else {
            tracing::warn!(topic = %record.topic, "record of a topic the sink does not map");
            return Vec::new();
        };
        self.pending
            .entry((record.topic.clone(), record.partition))
            .or_default()
            .push_back(token);
        let origin = (record.topic.as_str(), record.partition, record.offset);
        let size = record.approx_bytes();
        let mut results = Vec::new();
        match self.rows_of(&record).await {
            Ok(rows) => {
                for row in rows {
                    results.push(self.tables.push(row, origin, size).await);
                }
            }
            Err(reason) => {
                // Not decodable: dead-letter it, then count it as handled in its tables.
                self.dead_letter(&record, &reason, None).await;
                summary.dead_lettered += 1;
                for &i in &tables {
                    self.tables.get(i).mark_handled(origin);
                }
            }
        }
        results
    }

    async fn rows_of(&self, record: &Record) -> Result<Vec<Row>, String> {
        let payload = record.payload.as_deref().unwrap_or_default();
        let index = self
            .feeds
            .get(&record.topic)
            .and_then(|t| t.first())
            .copied();
        let decode_err = |e: cityops_avro::AvroError| format!("cannot decode the value: {e}");
        Ok(match index {
            Some(EVENTS) => vec![Row::Event(EventRow::from(
                &self
                    .codec
                    .decode_waiting::<CityEvent>(payload)
                    .await
                    .map_err(decode_err)?,
            ))],
            Some(INCIDENTS) => vec![Row::Incident(IncidentRow::from(
                &self
                    .codec
                    .decode_waiting::<Incident>(payload)
                    .await
                    .map_err(decode_err)?,
            ))],
            Some(TELEMETRY) => vec![Row::Telemetry(TelemetryRow::from(
                &self
                    .codec
                    .decode_waiting::<Reading>(payload)
                    .await
                    .map_err(decode_err)?,
            ))],
            Some(TRANSITIONS) => {
                let t = self
                    .codec
                    .decode_waiting::<WorkOrderEvent>(payload)
                    .await
                    .map_err(decode_err)?;
                vec![
                    Row::Transition(WorkOrderEventRow::from(&t)),
                    Row::Order(WorkOrderRow::from(&t.order)),
                ]
            }
            Some(DEAD_LETTERS) => vec![Row::DeadLetter(dead_letter_row(record))],
            _ => Vec::new(),
        })
    }

    /// Handles the result of a flush of table `i`: advance offsets, or resolve the failure.
    /// Returns false when shutdown interrupted a retry.
    async fn settle(
        &mut self,
        i: usize,
        mut result: Result<Option<Flushed>, InsertError>,
        consumer: &Consumer,
        summary: &mut SinkSummary,
        shutdown: &mut Pin<&mut impl Future<Output = ()>>,
    ) -> bool {
        let mut backoff = Duration::from_millis(200);
        let mut paused = false;
        let ok = loop {
            match result {
                Ok(Some(done)) => {
                    summary.rows_written += done.rows as u64;
                    self.advance(i, &done.covered, consumer);
                    break true;
                }
                Ok(None) => break true,
                Err(e) if e.class == ErrorClass::BadData => {
                    match self.tables.get(i).isolate_bad().await {
                        Ok((rejected, covered)) => {
                            for r in &rejected {
                                self.dead_letter_row(r).await;
                                summary.dead_lettered += 1;
                            }
                            self.advance(i, &covered, consumer);
                            // What was buffered meanwhile goes on.
                            result = self.tables.get(i).tick().await;
                        }
                        Err(e) => result = Err(e),
                    }
                }
                Err(e) => {
                    // ClickHouse is down, slow or misconfigured: keep everything, stop
                    // reading (bounded memory), retry with backoff.
                    if !paused {
                        if let Err(pe) = consumer.pause() {
                            tracing::warn!(error = %pe, "could not pause the consumer");
                        }
                        paused = true;
                    }
                    tracing::warn!(table = self.tables.get(i).name(), error = %e, class = e.class.as_str(), retry_in = ?backoff, "insert failed; retrying");
                    metrics::counter!("cityops_sink_insert_retries_total", "table" => self.tables.get(i).name().to_owned()).increment(1);
                    tokio::select! {
                        () = shutdown.as_mut() => break false,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(self.max_backoff);
                    result = self.tables.get(i).flush().await;
                }
            }
        };
        if paused {
            if let Err(e) = consumer.resume() {
                tracing::warn!(error = %e, "could not resume the consumer");
            }
        }
        ok
    }

    /// Table `i` covers `covered`: acknowledge every record all of whose tables cover it.
    fn advance(&mut self, i: usize, covered: &CoveredOffsets, consumer: &Consumer) {
        for (topic, partition, offset) in covered.iter() {
            let key = (i, topic.to_owned(), partition);
            let entry = self.covered.entry(key).or_insert(offset);
            *entry = (*entry).max(offset);
            let Some(tables) = self.feeds.get(topic) else {
                continue;
            };
            let safe = tables
                .iter()
                .map(|t| {
                    self.covered
                        .get(&(*t, topic.to_owned(), partition))
                        .copied()
                })
                .min()
                .flatten();
            let Some(safe) = safe else { continue };
            if let Some(queue) = self.pending.get_mut(&(topic.to_owned(), partition)) {
                while queue.front().is_some_and(|t| t.offset <= safe) {
                    if let Some(token) = queue.pop_front() {
                        consumer.ack(&token);
                        let acked = self.acked.entry((token.topic.clone(), token.partition));
                        let a = acked.or_insert(token.offset);
                        *a = (*a).max(token.offset);
                    }
                }
            }
        }
    }

    async fn dead_letter(&self, record: &Record, reason: &str, payload: Option<&[u8]>) {
        if record.topic == self.dlq_topic {
            // Never loop a dead letter back into its own topic.
            tracing::error!(
                partition = record.partition,
                offset = record.offset,
                reason,
                "a dead letter could not be stored"
            );
            return;
        }
        let mut pause = Duration::from_millis(100);
        while let Err(e) = self
            .dead_letters
            .send_with_payload(record, reason, payload)
            .await
        {
            tracing::warn!(error = %e, "dead letter not delivered; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(self.max_backoff);
        }
    }

    async fn dead_letter_row(&self, r: &RejectedRow) {
        let record = Record {
            topic: r.origin.topic.to_string(),
            partition: r.origin.partition,
            offset: r.origin.offset,
            key: None,
            payload: None,
            headers: Vec::new(),
            timestamp_ms: None,
        };
        let reason = format!("ClickHouse refused the row: {}", r.error);
        self.dead_letter(&record, &reason, Some(&r.row_json)).await;
    }
}

/// A decoded row, on its way to its table.
enum Row {
    Event(EventRow),
    Incident(IncidentRow),
    Telemetry(TelemetryRow),
    Transition(WorkOrderEventRow),
    Order(WorkOrderRow),
    DeadLetter(DeadLetterRow),
}

fn header<'a>(record: &'a Record, name: &str) -> Option<&'a str> {
    record
        .header(name)
        .and_then(|v| std::str::from_utf8(v).ok())
}

/// The `dead_letters` row of a record of the dead-letter topic.
fn dead_letter_row(record: &Record) -> DeadLetterRow {
    let source_topic = header(record, dlq_headers::SOURCE_TOPIC).unwrap_or("");
    let at_ms = header(record, dlq_headers::FAILED_AT_MS)
        .and_then(|v| v.parse().ok())
        .or(record.timestamp_ms)
        .unwrap_or_default();
    DeadLetterRow::from(&DeadLetter {
        dlq_topic: &record.topic,
        dlq_partition: record.partition,
        dlq_offset: record.offset,
        at_ms,
        stage: header(record, dlq_headers::STAGE).unwrap_or("unknown"),
        error: header(record, dlq_headers::ERROR).unwrap_or("no reason given"),
        source_topic,
        source_partition: header(record, dlq_headers::SOURCE_PARTITION)
            .and_then(|v| v.parse().ok()),
        source_offset: header(record, dlq_headers::SOURCE_OFFSET).and_then(|v| v.parse().ok()),
        key: record.key.as_deref(),
        payload: record.payload.as_deref().unwrap_or_default(),
        payload_policy: PayloadPolicy::for_source_topic(source_topic),
    })
}
