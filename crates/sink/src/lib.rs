//! The sink service: every fact on the pipeline's topics into ClickHouse, exactly once as seen
//! by a query (`FINAL`), offsets stored only after ClickHouse acknowledged the insert covering
//! them. Bad rows are dead-lettered with the server's message; a struggling ClickHouse is
//! waited for with the consumer paused, so memory stays bounded and nothing is lost.

mod sink;
mod tables;

pub use sink::{Sink, SinkConfig, SinkSummary};

use cityops_avro::Codec;
use cityops_bus::{admin, BusError, Consumer, KafkaConfig, Producer};
use cityops_store::ClickHouseConfig;
use cityops_telemetry::Shutdown;

/// Why the sink stopped.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// Runs the sink until `shutdown`.
pub async fn run(
    kafka: &KafkaConfig,
    clickhouse: &ClickHouseConfig,
    config: SinkConfig,
    codec: Codec,
    shutdown: Shutdown,
) -> Result<SinkSummary, SinkError> {
    let topics = &kafka.topics;
    if let Err(e) = admin::ensure_topics(kafka, &topics.pipeline_topics()).await {
        tracing::warn!(error = %e, "could not ensure the sink's topics");
    }
    let producer = Producer::new(kafka, "sink")?;
    let mut sink = Sink::new(clickhouse.client(), topics, &config, codec, producer);
    let consumer = Consumer::new(
        &kafka.with_fetch_wait_max_ms(config.fetch_wait_max_ms),
        "sink",
        &config.consumer_group,
        &sink.topics(),
    )?;
    let summary = sink.run(&consumer, shutdown.wait()).await;
    consumer.close();
    Ok(summary)
}
