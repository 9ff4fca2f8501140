//! Topic creation with partition counts from config.

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;
use std::time::Duration;

use crate::{BusError, KafkaConfig};

/// Creates each of `topics` that does not exist yet, with its configured partition count.
/// Existing topics are left as they are.
pub async fn ensure_topics(config: &KafkaConfig, topics: &[&str]) -> Result<(), BusError> {
    let admin: AdminClient<DefaultClientContext> = config
        .client_config("admin")
        .set("statistics.interval.ms", "0")
        .create()
        .map_err(|source| BusError::Create {
            what: "admin client",
            brokers: config.brokers.clone(),
            source,
        })?;
    let replication = config.topics.replication_factor;
    let settings: Vec<Vec<(String, String)>> = topics
        .iter()
        .map(|t| config.topics.settings_of(t))
        .collect();
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .zip(&settings)
        .map(|(t, settings)| {
            settings.iter().fold(
                NewTopic::new(
                    t,
                    config.topics.partitions_of(t),
                    TopicReplication::Fixed(replication),
                ),
                |topic, (k, v)| topic.set(k, v),
            )
        })
        .collect();
    let opts = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics(&new, &opts)
        .await
        .map_err(|e| BusError::Admin {
            topic: topics.join(","),
            reason: e.to_string(),
        })?;
    for r in results {
        match r {
            Ok(topic) => tracing::info!(%topic, "topic created"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((topic, code)) => {
                return Err(BusError::Admin {
                    topic,
                    reason: code.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// The end offset (high watermark) of every partition of `topic`: how many records it holds
/// when nothing was deleted.
pub async fn end_offsets(config: &KafkaConfig, topic: &str) -> Result<Vec<(i32, i64)>, BusError> {
    Ok(offset_ranges(config, topic)
        .await?
        .into_iter()
        .map(|r| (r.partition, r.end))
        .collect())
}

/// The offsets one partition holds: `start..end` (low and high watermark).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OffsetRange {
    pub partition: i32,
    pub start: i64,
    pub end: i64,
}

impl OffsetRange {
    /// How many records the partition holds.
    pub fn len(&self) -> i64 {
        (self.end - self.start).max(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The range of offsets every partition of `topic` holds, in partition order. A topic the
/// broker does not know, or reports with an error or without partitions, is an error rather
/// than an empty list: a caller counting records must not mistake it for an empty topic.
pub async fn offset_ranges(
    config: &KafkaConfig,
    topic: &str,
) -> Result<Vec<OffsetRange>, BusError> {
    use rdkafka::consumer::{BaseConsumer, Consumer as _};
    let consumer: BaseConsumer = config
        .client_config("admin")
        .set("statistics.interval.ms", "0")
        .create()
        .map_err(|source| BusError::Create {
            what: "metadata client",
            brokers: config.brokers.clone(),
            source,
        })?;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let timeout = Duration::from_secs(10);
        let metadata = consumer
            .fetch_metadata(Some(&topic), timeout)
            .map_err(BusError::Metadata)?;
        let unknown = |reason: String| BusError::Admin {
            topic: topic.clone(),
            reason,
        };
        let t = metadata
            .topics()
            .iter()
            .find(|t| t.name() == topic)
            .ok_or_else(|| unknown("the broker did not describe the topic".to_owned()))?;
        if let Some(e) = t.error() {
            return Err(unknown(format!(
                "the broker describes the topic with an error: {:?}",
                RDKafkaErrorCode::from(e)
            )));
        }
        let mut partitions: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        if partitions.is_empty() {
            return Err(unknown(
                "the broker describes the topic without partitions (does it exist? `cityops topics` creates it)"
                    .to_owned(),
            ));
        }
        partitions.sort_unstable();
        partitions
            .into_iter()
            .map(|partition| {
                consumer
                    .fetch_watermarks(&topic, partition, timeout)
                    .map(|(start, end)| OffsetRange {
                        partition,
                        start,
                        end,
                    })
                    .map_err(BusError::Metadata)
            })
            .collect()
    })
    .await
    .map_err(|_| BusError::Metadata(rdkafka::error::KafkaError::Canceled))?
}
