use crate::{BusError, Delivered, OutRecord, Producer, Record};

/// Header names of a dead letter on `city.dlq.v1`. The value is the original record's bytes,
/// its key the original key, and the original headers are kept.
pub mod headers {
    /// Why the record was rejected, in words an operator can act on.
    pub const ERROR: &str = "cityops.error";
    /// The stage that rejected it (`ingest`, `enrich`, `dispatch`, `sink`...).
    pub const STAGE: &str = "cityops.stage";
    pub const SOURCE_TOPIC: &str = "cityops.source.topic";
    pub const SOURCE_PARTITION: &str = "cityops.source.partition";
    pub const SOURCE_OFFSET: &str = "cityops.source.offset";
    /// When it was dead-lettered, ms since the epoch.
    pub const FAILED_AT_MS: &str = "cityops.failed_at_ms";
}

/// Sends rejected records to the dead-letter topic, so bad input never stops a partition and
/// is never dropped silently.
#[derive(Clone)]
pub struct DeadLetters {
    producer: Producer,
    topic: String,
    stage: String,
}

impl DeadLetters {
    pub fn new(producer: Producer, topic: impl Into<String>, stage: impl Into<String>) -> Self {
        Self {
            producer,
            topic: topic.into(),
            stage: stage.into(),
        }
    }

    /// The dead letter of `record` with `error` (not yet sent); `payload` replaces the
    /// original bytes when given.
    pub fn letter(&self, record: &Record, error: &str, payload: Option<&[u8]>) -> OutRecord {
        let mut out = OutRecord {
            topic: self.topic.clone(),
            key: record.key.clone(),
            payload: payload
                .map(<[u8]>::to_vec)
                .or_else(|| record.payload.clone())
                .unwrap_or_default(),
            headers: record
                .headers
                .iter()
                .filter(|(k, _)| !k.starts_with("cityops."))
                .cloned()
                .collect(),
        };
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or_default();
        out = out
            .with_header(headers::ERROR, error)
            .with_header(headers::STAGE, self.stage.as_str())
            .with_header(headers::SOURCE_TOPIC, record.topic.as_str())
            .with_header(headers::SOURCE_PARTITION, record.partition.to_string())
            .with_header(headers::SOURCE_OFFSET, record.offset.to_string())
            .with_header(headers::FAILED_AT_MS, now_ms.to_string());
        out
    }

    /// Dead-letters `record` and waits for the broker's acknowledgement; only then may the
    /// caller acknowledge the original.
    pub async fn send(&self, record: &Record, error: &str) -> Result<Delivered, BusError> {
        self.send_with_payload(record, error, None).await
    }

    /// Like [`DeadLetters::send`], with `payload` in place of the original bytes when given.
    pub async fn send_with_payload(
        &self,
        record: &Record,
        error: &str,
        payload: Option<&[u8]>,
    ) -> Result<Delivered, BusError> {
        tracing::warn!(
            stage = %self.stage, topic = %record.topic, partition = record.partition,
            offset = record.offset, error, "record dead-lettered"
        );
        metrics::counter!("cityops_dead_letters_total", "stage" => self.stage.clone(), "topic" => record.topic.clone())
            .increment(1);
        self.producer
            .send(&self.letter(record, error, payload))
            .await
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }
}
