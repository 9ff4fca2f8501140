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
    let new: Vec<NewTopic<'_>> = topics
        .iter()
        .map(|t| {
            NewTopic::new(
                t,
                config.topics.partitions_of(t),
                TopicReplication::Fixed(replication),
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
