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
