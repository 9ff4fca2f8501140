use rdkafka::consumer::{CommitMode, Consumer as _, StreamConsumer};
use rdkafka::error::KafkaError;
use std::sync::{Arc, Mutex};

use crate::ack::{AckToken, AckTracker};
use crate::metrics_ctx::BusContext;
use crate::{BusError, KafkaConfig, Record};

/// A record handed out by a [`Consumer`], and the token that acknowledges it.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub record: Record,
    pub token: AckToken,
}

/// An at-least-once consumer.
///
/// Auto-commit is on but auto *store* is off: the consumer stores a partition's offset only
/// when every record up to it was acknowledged with [`Consumer::ack`], so a crash loses
/// nothing (unacknowledged records are delivered again), and a clean stop ([`Consumer::close`])
/// commits what was acknowledged, so nothing acknowledged comes back.
pub struct Consumer {
    inner: StreamConsumer<BusContext>,
    tracker: Arc<Mutex<AckTracker>>,
    service: String,
    group: String,
}

impl Consumer {
    /// Joins consumer group `group` and subscribes to `topics`. A group reading a topic for the
    /// first time starts at its beginning.
    pub fn new(
        config: &KafkaConfig,
        service: &str,
        group: &str,
        topics: &[&str],
    ) -> Result<Self, BusError> {
        Self::with_settings(config, service, group, topics, &[])
    }

    /// [`Consumer::new`] with further librdkafka settings, which win over cityops's own (e.g.
    /// the assignment strategy). A topic starting with `^` is a regular expression: every
    /// matching topic, also those created later (found within
    /// `topic.metadata.refresh.interval.ms`).
    pub fn with_settings(
        config: &KafkaConfig,
        service: &str,
        group: &str,
        topics: &[&str],
        settings: &[(&str, &str)],
    ) -> Result<Self, BusError> {
        let tracker = Arc::new(Mutex::new(AckTracker::new()));
        let mut c = config.client_config(service);
        c.set("group.id", group)
            .set("enable.auto.commit", "true")
            .set("enable.auto.offset.store", "false")
            .set("auto.commit.interval.ms", "1000")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", config.session_timeout_ms.to_string())
            .set("fetch.wait.max.ms", config.fetch_wait_max_ms.to_string())
            .set("enable.partition.eof", "false");
        for (k, v) in settings {
            c.set(*k, *v);
        }
        let inner: StreamConsumer<BusContext> = c
            .create_with_context(BusContext {
                service: service.to_owned(),
                group: Some(group.to_owned()),
                tracker: Some(tracker.clone()),
            })
            .map_err(|source| BusError::Create {
                what: "consumer",
                brokers: config.brokers.clone(),
                source,
            })?;
        inner
            .subscribe(topics)
            .map_err(|source| BusError::Subscribe {
                topics: topics.iter().map(|t| (*t).to_owned()).collect(),
                source,
            })?;
        Ok(Self {
            inner,
            tracker,
            service: service.to_owned(),
            group: group.to_owned(),
        })
    }

    /// The next record. Cancel-safe.
    pub async fn recv(&self) -> Result<Delivery, BusError> {
        let message = self.inner.recv().await.map_err(BusError::Receive)?.detach();
        let record = Record::from_message(&message);
        metrics::counter!("cityops_kafka_consumed_messages_total", "service" => self.service.clone(), "topic" => record.topic.clone())
            .increment(1);
        metrics::counter!("cityops_kafka_consumed_bytes_total", "service" => self.service.clone(), "topic" => record.topic.clone())
            .increment(record.approx_bytes() as u64);
        let token = self
            .lock()
            .handed_out(&record.topic, record.partition, record.offset);
        Ok(Delivery { record, token })
    }

    /// Acknowledges a record: what was made of it is safe. Stores the partition's offset when
    /// every earlier record of it was acknowledged too.
    pub fn ack(&self, token: &AckToken) {
        // Store under the lock so a concurrent revoke cannot interleave.
        let mut tracker = self.lock();
        if let Some(offset) = tracker.ack(token) {
            match self
                .inner
                .store_offset(&token.topic, token.partition, offset)
            {
                Ok(()) => {}
                // The partition was revoked meanwhile: its new owner will deliver it again.
                Err(KafkaError::StoreOffset(code)) => tracing::debug!(
                    topic = %token.topic, partition = token.partition, offset, ?code,
                    "offset not stored: partition no longer assigned"
                ),
                Err(e) => {
                    tracing::warn!(topic = %token.topic, partition = token.partition, offset, error = %e, "offset store failed")
                }
            }
        }
    }

    /// Records handed out and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.lock().in_flight()
    }

    /// Pauses fetching from every assigned partition (backpressure while a sink cannot write);
    /// records already handed out stay valid.
    pub fn pause(&self) -> Result<(), BusError> {
        let assignment = self.inner.assignment().map_err(BusError::Receive)?;
        self.inner.pause(&assignment).map_err(BusError::Receive)
    }

    pub fn resume(&self) -> Result<(), BusError> {
        let assignment = self.inner.assignment().map_err(BusError::Receive)?;
        self.inner.resume(&assignment).map_err(BusError::Receive)
    }

    /// Whether `topic`/`partition` is assigned to this member now.
    pub fn is_assigned(&self, topic: &str, partition: i32) -> bool {
        self.inner
            .assignment()
            .map(|tpl| tpl.find_partition(topic, partition).is_some())
            .unwrap_or(false)
    }

    /// The consumer group.
    pub fn group(&self) -> &str {
        &self.group
    }

    /// Commits the stored offsets now (auto-commit does it every second anyway).
    pub fn commit(&self) -> Result<(), BusError> {
        match self.inner.commit_consumer_state(CommitMode::Sync) {
            // NoOffset: nothing stored since the last commit.
            Ok(())
            | Err(KafkaError::ConsumerCommit(rdkafka::types::RDKafkaErrorCode::NoOffset)) => Ok(()),
            Err(e) => Err(BusError::Receive(e)),
        }
    }

    /// Commits what was acknowledged and leaves the group.
    pub fn close(self) {
        if let Err(e) = self.commit() {
            tracing::warn!(service = %self.service, error = %e, "final commit failed");
        }
        self.inner.unsubscribe();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, AckTracker> {
        self.tracker.lock().unwrap_or_else(|e| e.into_inner())
    }
}
