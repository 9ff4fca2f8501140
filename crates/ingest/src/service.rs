//! The ingest service: config → telemetry → stages.

use cityops_avro::Codec;
use cityops_bus::{
    admin, run_stage, BusError, Consumer, DeadLetters, KafkaConfig, Producer, StageConfig,
};
use cityops_core::catalogue::Catalogue;
use cityops_telemetry::{
    health_router, serve, Readiness, ReadinessCheck, Shutdown, TelemetryError,
};
use metrics_exporter_prometheus::PrometheusHandle;
use std::sync::Arc;

use crate::intake::{IngestConfig, Intake, ItemKind};

/// What the Open311 endpoints need beyond the intake.
pub struct Open311Setup {
    pub config: cityops_open311::Open311Config,
    pub services: cityops_open311::Services,
    /// Where filed requests and their work orders are read back.
    pub clickhouse: clickhouse::Client,
}

/// Why the ingest service stopped.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Telemetry(#[from] TelemetryError),
    #[error("cannot register the schema ingest writes: {0}")]
    Schema(#[from] cityops_avro::AvroError),
}

/// Runs the ingest service until `shutdown`: the HTTP intake (with `/livez`, `/readyz`,
/// `/metrics`) on `config.listen`, and the consumers of the raw topics.
pub async fn run(
    kafka: &KafkaConfig,
    config: IngestConfig,
    catalogue: Arc<Catalogue>,
    codec: Arc<Codec>,
    prometheus: PrometheusHandle,
    open311: Open311Setup,
    shutdown: Shutdown,
) -> Result<(), IngestError> {
    let topics = &kafka.topics;
    if let Err(e) = admin::ensure_topics(
        kafka,
        &[
            &topics.raw_hotline,
            &topics.raw_iot,
            &topics.events,
            &topics.dead_letter,
        ],
    )
    .await
    {
        // Not fatal: the broker may be down now and back later; producing will tell.
        tracing::warn!(error = %e, "could not ensure the ingest topics");
    }
    // In registry mode the intake encodes without the network: register first.
    codec
        .register_waiting::<cityops_core::CityEvent>(&topics.events)
        .await?;
    let producer = Producer::new(kafka, "ingest")?;
    let intake = Intake::new(
        producer.clone(),
        codec,
        topics.events.clone(),
        catalogue.clone(),
        config.clone(),
    );

    let watch = tokio::spawn(intake.clone().watch_broker(shutdown.clone()));

    let readiness = Readiness::new().with(ReadinessCheck::new("kafka", {
        let intake = intake.clone();
        move || {
            let up = intake.broker_up();
            async move {
                if up {
                    Ok(())
                } else {
                    Err("broker unreachable".to_owned())
                }
            }
        }
    }));
    let open311 = crate::open311::Open311::new(
        intake.clone(),
        open311.config,
        open311.services,
        catalogue.clone(),
        open311.clickhouse,
    );
    let router = intake.router().merge(open311.router()).merge(health_router(
        readiness,
        prometheus,
        shutdown.clone(),
    ));
    let http = tokio::spawn({
        let (listen, shutdown) = (config.listen.clone(), shutdown.clone());
        async move { serve(&listen, router, shutdown).await }
    });

    let consumer = Consumer::new(
        kafka,
        "ingest",
        &config.consumer_group,
        &[&topics.raw_hotline, &topics.raw_iot],
    )?;
    let dead_letters = DeadLetters::new(producer.clone(), topics.dead_letter.clone(), "ingest");
    let hotline_topic = topics.raw_hotline.clone();
    let summary = run_stage(
        &consumer,
        &producer,
        &dead_letters,
        &StageConfig::new("ingest"),
        |record| {
            let kind = if record.topic == hotline_topic {
                ItemKind::Ticket
            } else {
                ItemKind::Reading
            };
            intake.handle_raw(kind, record)
        },
        shutdown.wait(),
    )
    .await;
    consumer.close();
    tracing::info!(?summary, "raw-topic intake stopped");
    let _ = watch.await;
    match http.await {
        Ok(r) => r?,
        Err(e) => tracing::error!(error = %e, "HTTP intake task failed"),
    }
    Ok(())
}
