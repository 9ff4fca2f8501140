use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{DeliveryFuture, FutureProducer, FutureRecord, Producer as _};
use std::time::Duration;

use crate::metrics_ctx::BusContext;
use crate::{BusError, KafkaConfig, OutRecord};

/// Where the broker stored a record it acknowledged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivered {
    pub partition: i32,
    pub offset: i64,
}

/// A record handed to the producer: await it for the broker's acknowledgement.
pub struct InFlight {
    wait: DeliveryFuture,
    labels: [(&'static str, String); 2],
    bytes: u64,
}

impl std::future::IntoFuture for InFlight {
    type Output = Result<Delivered, BusError>;
    type IntoFuture = futures::future::BoxFuture<'static, Self::Output>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            let InFlight {
                wait,
                labels,
                bytes,
            } = self;
            let result = match wait.await {
                Ok(Ok(d)) => Ok(d),
                Ok(Err((source, _))) => Err(source),
                // The producer was dropped before it delivered.
                Err(_) => Err(KafkaError::Canceled),
            };
            match result {
                Ok(d) => {
                    metrics::counter!("cityops_kafka_produced_messages_total", &labels)
                        .increment(1);
                    metrics::counter!("cityops_kafka_produced_bytes_total", &labels)
                        .increment(bytes);
                    Ok(Delivered {
                        partition: d.partition,
                        offset: d.offset,
                    })
                }
                Err(source) => {
                    metrics::counter!("cityops_kafka_produce_errors_total", &labels).increment(1);
                    Err(BusError::Delivery {
                        topic: labels[1].1.clone(),
                        source,
                    })
                }
            }
        })
    }
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
        self.enqueue(record).await?.await
    }

    /// Hands one record to the producer now and returns the wait for the broker's
    /// acknowledgement. Records handed over one after another keep their order on their
    /// partition (the producer is idempotent), so a caller may have many in flight and await
    /// them later. Waits only while the producer's queue is full.
    pub async fn enqueue(&self, record: &OutRecord) -> Result<InFlight, BusError> {
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
        let labels = || {
            [
                ("service", self.service.clone()),
                ("topic", record.topic.clone()),
            ]
        };
        loop {
            match self.inner.send_result(fr) {
                Ok(wait) => {
                    return Ok(InFlight {
                        wait,
                        labels: labels(),
                        bytes: record.payload.len() as u64,
                    })
                }
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    fr = back;
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err((source, _)) => {
                    metrics::counter!("cityops_kafka_produce_errors_total", &labels()).increment(1);
                    return Err(BusError::Delivery {
                        topic: record.topic.clone(),
                        source,
                    });
                }
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
