//! The enrichment service: `city.events.v1` → `city.incidents.v1` (keyed by street, else
//! district, else `unlocated`) and `city.telemetry.v1` (keyed by device), at-least-once, bad
//! records dead-lettered.

use cityops_avro::{AvroError, Codec};
use cityops_bus::{
    admin, run_stage_prepared, BusError, Consumer, DeadLetters, KafkaConfig, OutRecord, Outcome,
    Producer, Record, StageConfig, StageSummary,
};
use cityops_core::{CityEvent, Incident, Reading};
use cityops_telemetry::Shutdown;
use std::sync::Arc;

use crate::enricher::{EnrichConfig, Enriched, Enricher};

/// Why the enrichment service stopped.
#[derive(Debug, thiserror::Error)]
pub enum EnrichServiceError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error("cannot register the schemas enrichment writes: {0}")]
    Schema(#[from] AvroError),
}

/// What enrichment makes of one record of `city.events.v1`.
pub fn handle(
    enricher: &Enricher,
    codec: &Codec,
    kafka: &KafkaConfig,
    record: &Record,
    now_ms: i64,
) -> Outcome {
    let payload = record.payload.as_deref().unwrap_or_default();
    let event: CityEvent = match codec.decode_cached(payload) {
        Ok(e) => e,
        Err(e) => return Outcome::reject(format!("cannot decode the event: {e}")),
    };
    let topics = &kafka.topics;
    let out = match enricher.enrich(&event, now_ms) {
        Ok((Enriched::Incident(incident), _)) => codec
            .encode_cached(&topics.incidents, incident.as_ref())
            .map(|bytes| {
                OutRecord::new(topics.incidents.as_str(), incident.partition_key(), bytes)
            }),
        Ok((Enriched::Telemetry(reading), _)) => codec
            .encode_cached(&topics.telemetry, reading.as_ref())
            .map(|bytes| {
                OutRecord::new(topics.telemetry.as_str(), reading.device_id.as_str(), bytes)
            }),
        Err(e) => return Outcome::reject(format!("cannot enrich event {}: {e}", event.event_id)),
    };
    match out {
        Ok(out) => Outcome::Produce(vec![out]),
        Err(e) => Outcome::reject(format!("cannot encode: {e}")),
    }
}

/// Runs the enrichment stage until `shutdown`.
pub async fn run(
    kafka: &KafkaConfig,
    config: &EnrichConfig,
    enricher: Arc<Enricher>,
    codec: Codec,
    shutdown: Shutdown,
) -> Result<StageSummary, EnrichServiceError> {
    let topics = &kafka.topics;
    if let Err(e) = admin::ensure_topics(
        kafka,
        &[
            &topics.events,
            &topics.incidents,
            &topics.telemetry,
            &topics.dead_letter,
        ],
    )
    .await
    {
        tracing::warn!(error = %e, "could not ensure the enrichment topics");
    }
    // In registry mode the hot path encodes without the network: register first.
    codec
        .register_waiting::<Incident>(&topics.incidents)
        .await?;
    codec.register_waiting::<Reading>(&topics.telemetry).await?;
    let producer = Producer::new(kafka, "enrich")?;
    let consumer = Consumer::new(kafka, "enrich", &config.consumer_group, &[&topics.events])?;
    let dead_letters = DeadLetters::new(producer.clone(), topics.dead_letter.clone(), "enrich");
    tracing::info!(
        model = enricher.model_version(),
        catalogue = enricher.catalogue().version(),
        "enrichment running"
    );
    let summary = run_stage_prepared(
        &consumer,
        &producer,
        &dead_letters,
        &StageConfig::new("enrich"),
        |record| codec.writer_schema_wait(record.payload.as_deref()?),
        |record| handle(&enricher, &codec, kafka, record, now_ms()),
        shutdown.wait(),
    )
    .await;
    consumer.close();
    Ok(summary)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or_default()
}
