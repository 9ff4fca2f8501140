//! Reading one partition from its beginning to its current end: how an event-sourced stage
//! (dispatch) rebuilds its state for a partition before it handles new input.

use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::Message;
use rdkafka::{Offset, TopicPartitionList};
use std::time::{Duration, Instant};

use crate::{BusError, KafkaConfig, Record};

/// Every record of `topic`/`partition` from the beginning up to the end it had when the call
/// started, in order. Bounded by `timeout` (an error says how far it got).
pub async fn read_partition(
    config: &KafkaConfig,
    topic: &str,
    partition: i32,
    timeout: Duration,
) -> Result<Vec<Record>, BusError> {
    let mut c = config.client_config("replay");
    c.set("group.id", "cityops-replay")
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .set("statistics.interval.ms", "0");
    let consumer: BaseConsumer = c.create().map_err(|source| BusError::Create {
        what: "replay consumer",
        brokers: config.brokers.clone(),
        source,
    })?;
    let topic = topic.to_owned();
    tokio::task::spawn_blocking(move || {
        let started = Instant::now();
        let (low, high) = consumer
            .fetch_watermarks(&topic, partition, timeout)
            .map_err(BusError::Metadata)?;
        let mut out = Vec::with_capacity(usize::try_from(high - low).unwrap_or(0));
        if high <= low {
            return Ok(out);
        }
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(&topic, partition, Offset::Beginning)
            .map_err(BusError::Receive)?;
        consumer.assign(&tpl).map_err(BusError::Receive)?;
        let mut next = low;
        while next < high {
            if started.elapsed() > timeout {
                return Err(BusError::Admin {
                    topic: format!("{topic}/{partition}"),
                    reason: format!("replay read {next} of {high} records within {timeout:?}"),
                });
            }
            match consumer.poll(Duration::from_millis(200)) {
                Some(Ok(m)) => {
                    next = m.offset() + 1;
                    out.push(Record::from_message(&m.detach()));
                }
                Some(Err(e)) => return Err(BusError::Receive(e)),
                None => {}
            }
        }
        Ok(out)
    })
    .await
    .map_err(|_| BusError::Metadata(rdkafka::error::KafkaError::Canceled))?
}

/// Follows every partition of a topic from the end it had when [`Tail::follow`] was called,
/// without a consumer group: how a process waits for answers addressed to it (dispatch's HTTP
/// API waits for the outcome of the commands it sent).
pub struct Tail {
    consumer: rdkafka::consumer::StreamConsumer,
}

impl Tail {
    /// Starts following `topic` from its current end (every partition it has now).
    pub async fn follow(
        config: &KafkaConfig,
        topic: &str,
        timeout: Duration,
    ) -> Result<Self, BusError> {
        let mut c = config.client_config("tail");
        c.set("group.id", "cityops-tail")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", config.fetch_wait_max_ms.to_string())
            .set("statistics.interval.ms", "0");
        let probe: BaseConsumer = c.create().map_err(|source| BusError::Create {
            what: "tail consumer",
            brokers: config.brokers.clone(),
            source,
        })?;
        let name = topic.to_owned();
        let ends = tokio::task::spawn_blocking(move || {
            let metadata = probe
                .fetch_metadata(Some(&name), timeout)
                .map_err(BusError::Metadata)?;
            let partitions: Vec<i32> = metadata
                .topics()
                .iter()
                .filter(|t| t.name() == name)
                .flat_map(|t| t.partitions().iter().map(|p| p.id()))
                .collect();
            if partitions.is_empty() {
                return Err(BusError::Admin {
                    topic: name,
                    reason: "the topic has no partitions (does it exist?)".to_owned(),
                });
            }
            partitions
                .into_iter()
                .map(|p| {
                    let (_, high) = probe
                        .fetch_watermarks(&name, p, timeout)
                        .map_err(BusError::Metadata)?;
                    Ok((p, high))
                })
                .collect::<Result<Vec<_>, BusError>>()
        })
        .await
        .map_err(|_| BusError::Metadata(rdkafka::error::KafkaError::Canceled))??;
        let consumer: rdkafka::consumer::StreamConsumer =
            c.create().map_err(|source| BusError::Create {
                what: "tail consumer",
                brokers: config.brokers.clone(),
                source,
            })?;
        let mut tpl = TopicPartitionList::new();
        for (partition, high) in ends {
            tpl.add_partition_offset(topic, partition, Offset::Offset(high))
                .map_err(BusError::Receive)?;
        }
        consumer.assign(&tpl).map_err(BusError::Receive)?;
        Ok(Self { consumer })
    }

    /// The next record written to the topic. Cancel-safe.
    pub async fn recv(&self) -> Result<Record, BusError> {
        let message = self.consumer.recv().await.map_err(BusError::Receive)?;
        Ok(Record::from_message(&message.detach()))
    }
}
