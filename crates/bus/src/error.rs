use rdkafka::error::KafkaError;

/// What went wrong talking to Kafka.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    #[error("cannot create the Kafka {what} for brokers {brokers}: {source}")]
    Create {
        what: &'static str,
        brokers: String,
        source: KafkaError,
    },
    #[error("cannot subscribe to {topics:?}: {source}")]
    Subscribe {
        topics: Vec<String>,
        source: KafkaError,
    },
    #[error("the broker did not acknowledge a record for topic {topic}: {source} (is Kafka reachable at the configured brokers?)")]
    Delivery { topic: String, source: KafkaError },
    #[error("receiving from Kafka failed: {0}")]
    Receive(KafkaError),
    #[error("topic administration failed for {topic}: {reason}")]
    Admin { topic: String, reason: String },
    #[error("Kafka metadata request failed: {0} (is the broker running? `make up` starts the local one)")]
    Metadata(KafkaError),
}
