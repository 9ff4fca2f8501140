use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::util::Timeout;
use std::time::Duration;

use crate::metrics_ctx::BusContext;
use crate::{BusError, KafkaConfig, OutRecord};

/// Where the broker stored a record it acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// An idempotent producer (`enable.idempotence=true`, so `acks=all` and no duplicates from
/// its own retries). Cheap to clone; share one per process.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer<BusContext>,
    service: String,
}

impl Producer {
    pub fn new(config: &KafkaConfig, service: &str) -> Result<Self, BusError> {
        let mut c = config.client_config(service);
        c.set("message.timeout.ms", config.delivery_timeout_ms.to_string())
            .set("linger.ms", "5")
            .set("compression.type", "lz4");
        // `kafka.extra` tunes these (linger.ms, compression.type…); the delivery guarantee
        // itself is not negotiable.
        for (k, v) in &config.extra {
            c.set(k, v);
        }
        c.set("enable.idempotence", "true").set("acks", "all");
        let inner = c
            .create_with_context(BusContext {
                service: service.to_owned(),
                group: None,
                tracker: None,
            })
            .map_err(|source| BusError::Create {
                what: "producer",
                brokers: config.brokers.clone(),
                source,
            })?;
        Ok(Self {
            inner,
            service: service.to_owned(),
        })
    }

    /// Produces one record and waits until the broker acknowledged it (or the delivery
    /// timeout passed).
    pub async fn send(&self, record: &OutRecord) -> Result<Delivered, BusError> {
        let mut headers = OwnedHeaders::new_with_capacity(record.headers.len());
        for (k, v) in &record.headers {
            headers = headers.insert(Header {
                key: k,
                value: Some(v),
            });
        }
        let mut fr = FutureRecord::to(&record.topic)
            .payload(&record.payload)
            .headers(headers);
        if let Some(key) = &record.key {
            fr = fr.key(key);
        }
        match self.inner.send(fr, Timeout::Never).await {
            Ok(d) => {
                metrics::counter!("cityops_kafka_produced_messages_total", "service" => self.service.clone(), "topic" => record.topic.clone())
                    .increment(1);
                metrics::counter!("cityops_kafka_produced_bytes_total", "service" => self.service.clone(), "topic" => record.topic.clone())
                    .increment(record.payload.len() as u64);
                Ok(Delivered {
                    partition: d.partition,
                    offset: d.offset,
                })
            }
            Err((source, _)) => {
                metrics::counter!("cityops_kafka_produce_errors_total", "service" => self.service.clone(), "topic" => record.topic.clone())
                    .increment(1);
                Err(BusError::Delivery {
                    topic: record.topic.clone(),
                    source,
                })
            }
        }
    }

    /// Records waiting in the producer's queue (for the in-flight gauge and backpressure).
    pub fn in_flight(&self) -> i32 {
        self.inner.in_flight_count()
    }

    /// Waits until everything queued was delivered, up to `timeout`.
    pub fn flush(&self, timeout: Duration) -> Result<(), BusError> {
        self.inner
            .flush(timeout)
            .map_err(|source| BusError::Delivery {
                topic: "*".to_owned(),
                source,
            })
    }

    /// Asks the broker for cluster metadata: a readiness check.
    pub async fn check_broker(&self, timeout: Duration) -> Result<(), BusError> {
        let client = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            client
                .client()
                .fetch_metadata(None, timeout)
                .map(|_| ())
                .map_err(BusError::Metadata)
        })
        .await
        .map_err(|_| BusError::Metadata(rdkafka::error::KafkaError::Canceled))?
    }
}
