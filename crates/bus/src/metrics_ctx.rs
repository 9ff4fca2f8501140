//! librdkafka callbacks turned into Prometheus metrics and tracing events.

use rdkafka::client::ClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, ConsumerContext, Rebalance};
use rdkafka::error::KafkaError;
use rdkafka::statistics::Statistics;
use std::sync::{Arc, Mutex};

use crate::ack::AckTracker;

/// Context of every cityops Kafka client: logs through `tracing`, publishes consumer lag from
/// librdkafka's statistics, and (for consumers) keeps the [`AckTracker`] in step with
/// rebalances.
pub(crate) struct BusContext {
    pub(crate) service: String,
    pub(crate) group: Option<String>,
    pub(crate) tracker: Option<Arc<Mutex<AckTracker>>>,
}

impl ClientContext for BusContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        match level {
            RDKafkaLogLevel::Emerg
            | RDKafkaLogLevel::Alert
            | RDKafkaLogLevel::Critical
            | RDKafkaLogLevel::Error => {
                tracing::error!(target: "librdkafka", service = %self.service, fac, "{message}")
            }
            RDKafkaLogLevel::Warning => {
                tracing::warn!(target: "librdkafka", service = %self.service, fac, "{message}")
            }
            _ => tracing::debug!(target: "librdkafka", service = %self.service, fac, "{message}"),
        }
    }

    fn error(&self, error: KafkaError, reason: &str) {
        tracing::warn!(service = %self.service, %error, reason, "Kafka client error");
        metrics::counter!("cityops_kafka_client_errors_total", "service" => self.service.clone())
            .increment(1);
    }

    fn stats(&self, stats: Statistics) {
        let Some(group) = &self.group else { return };
        for (topic, t) in &stats.topics {
            for (partition, p) in &t.partitions {
                // -1 is librdkafka's "unknown" (partition not fetched by this member).
                if p.partition < 0 || p.consumer_lag < 0 {
                    continue;
                }
                metrics::gauge!(
                    "cityops_kafka_consumer_lag_messages",
                    "group" => group.clone(),
                    "topic" => topic.clone(),
                    "partition" => partition.to_string()
                )
                .set(p.consumer_lag as f64);
            }
        }
    }
}

impl ConsumerContext for BusContext {
    fn pre_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let (Rebalance::Revoke(tpl), Some(tracker)) = (rebalance, &self.tracker) {
            let mut tracker = tracker.lock().unwrap_or_else(|e| e.into_inner());
            for e in tpl.elements() {
                tracker.revoke(e.topic(), e.partition());
            }
            tracing::info!(service = %self.service, partitions = tpl.count(), "partitions revoked");
        }
    }

    fn post_rebalance(&self, _consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        match rebalance {
            Rebalance::Assign(tpl) => {
                if let Some(tracker) = &self.tracker {
                    let elements = tpl.elements();
                    tracker
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .assigned(elements.iter().map(|e| (e.topic(), e.partition())));
                }
                tracing::info!(service = %self.service, partitions = tpl.count(), "partitions assigned")
            }
            Rebalance::Error(e) => {
                tracing::warn!(service = %self.service, error = %e, "rebalance failed")
            }
            Rebalance::Revoke(_) => {}
        }
    }
}
