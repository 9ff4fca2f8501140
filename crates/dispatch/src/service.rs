//! The dispatch stage: incidents (`city.incidents.v1`, keyed by street) become work orders.
//! For each partition it owns, dispatch first replays that partition of
//! `city.workorders.events.v1` (the same key, so the same partition number) to rebuild the
//! orders, their clocks and the incidents already handled; then every incident is created,
//! dispatched or merged, each transition is produced to `city.workorders.events.v1` and the
//! order's snapshot to its departments' `city.dept.<dept>.orders.v1`, and only then is the
//! incident acknowledged. Warnings are emitted by the timers of the partitions it owns.

use cityops_avro::Codec;
use cityops_bus::{
    admin, replay, BusError, Consumer, DeadLetters, KafkaConfig, OutRecord, Producer, Record,
};
use cityops_core::{Incident, OrderStatus, WorkOrderEvent};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use crate::auth::TokenConfig;
use crate::clock::Clock;
use crate::command::{Actor, Command};
use crate::machine::Decision;
use crate::merge::MergeConfig;
use crate::policy::Policy;
use crate::state::PartitionState;

/// The `[dispatch]` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DispatchConfig {
    pub consumer_group: String,
    /// Duplicate merging (并单): distance and window.
    pub merge: MergeConfig,
    /// Bearer tokens of the departments and the command centre (SHA-256).
    pub tokens: TokenConfig,
    /// Longest a partition's replay may take, in milliseconds.
    pub replay_timeout_ms: u64,
    /// Longest pause between two looks at the timers, in milliseconds.
    pub max_tick_ms: u64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            consumer_group: "cityops-dispatch".to_owned(),
            merge: MergeConfig::default(),
            tokens: TokenConfig::default(),
            replay_timeout_ms: 120_000,
            max_tick_ms: 1_000,
        }
    }
}

/// Why dispatch stopped.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Bus(#[from] BusError),
}

/// What a dispatch run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchSummary {
    pub incidents: u64,
    pub transitions: u64,
    pub replayed: u64,
    pub dead_lettered: u64,
}

struct Stage<'a> {
    kafka: &'a KafkaConfig,
    config: &'a DispatchConfig,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
    codec: Codec,
    producer: Producer,
    dead_letters: DeadLetters,
    /// Per incidents partition: the assignment epoch it was built for, and its state.
    partitions: HashMap<i32, (u64, PartitionState)>,
    department_topics: HashSet<String>,
    summary: DispatchSummary,
}

/// Runs the dispatch stage until `shutdown`.
pub async fn run(
    kafka: &KafkaConfig,
    config: &DispatchConfig,
    policy: Arc<Policy>,
    clock: Arc<dyn Clock>,
    codec: Codec,
    shutdown: cityops_telemetry::Shutdown,
) -> Result<DispatchSummary, DispatchError> {
    let topics = &kafka.topics;
    if let Err(e) = admin::ensure_topics(
        kafka,
        &[
            &topics.incidents,
            &topics.workorder_events,
            &topics.dead_letter,
        ],
    )
    .await
    {
        tracing::warn!(error = %e, "could not ensure the dispatch topics");
    }
    let producer = Producer::new(kafka, "dispatch")?;
    let consumer = Consumer::new(
        kafka,
        "dispatch",
        &config.consumer_group,
        &[&topics.incidents],
    )?;
    let mut stage = Stage {
        kafka,
        config,
        policy,
        clock,
        codec,
        dead_letters: DeadLetters::new(producer.clone(), topics.dead_letter.clone(), "dispatch"),
        producer,
        partitions: HashMap::new(),
        department_topics: HashSet::new(),
        summary: DispatchSummary::default(),
    };
    let max_tick = Duration::from_millis(config.max_tick_ms);
    loop {
        let now = stage.clock.now_ms();
        let wake = stage
            .partitions
            .values()
            .filter_map(|(_, s)| s.next_wakeup())
            .min()
            .map(|at| Duration::from_millis(u64::try_from(at - now).unwrap_or(0)))
            .unwrap_or(max_tick)
            .min(max_tick);
        tokio::select! {
            biased;
            () = shutdown.wait() => break,
            () = tokio::time::sleep(wake) => stage.tick(&consumer).await,
            delivery = consumer.recv() => match delivery {
                Ok(d) => {
                    stage.handle(&d.record, d.token.epoch()).await;
                    consumer.ack(&d.token);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "dispatch consumer error");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            },
        }
    }
    consumer.close();
    tracing::info!(summary = ?stage.summary, "dispatch stopped");
    Ok(stage.summary)
}

impl Stage<'_> {
    /// The state of incidents partition `partition` for assignment `epoch`, replayed from
    /// the transitions topic when it is new (or the partition was reassigned).
    async fn state(&mut self, partition: i32, epoch: u64) -> &mut PartitionState {
        let fresh = !matches!(self.partitions.get(&partition), Some((e, _)) if *e == epoch);
        if fresh {
            let mut state = PartitionState::new(self.policy.clone(), self.clock.clone());
            let topic = &self.kafka.topics.workorder_events;
            let timeout = Duration::from_millis(self.config.replay_timeout_ms);
            let records = loop {
                match replay::read_partition(self.kafka, topic, partition, timeout).await {
                    Ok(r) => break r,
                    Err(e) => {
                        tracing::warn!(partition, error = %e, "replay failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            };
            let mut events = Vec::with_capacity(records.len());
            for r in &records {
                match self
                    .codec
                    .decode::<WorkOrderEvent>(r.payload.as_deref().unwrap_or_default())
                    .await
                {
                    Ok(e) => events.push(e),
                    Err(e) => {
                        tracing::error!(partition, offset = r.offset, error = %e, "an undecodable transition in the history is skipped")
                    }
                }
            }
            let broken = state.replay_all(events.iter());
            for link in &broken {
                tracing::error!(%link, "hash chain broken in the history");
            }
            self.summary.replayed += events.len() as u64;
            tracing::info!(
                partition,
                transitions = events.len(),
                orders = state.entries().len(),
                "partition replayed"
            );
            // An order created but not dispatched (a crash between the two) is dispatched now.
            let stuck: Vec<String> = state
                .entries()
                .values()
                .filter(|e| e.head.order.status == OrderStatus::Created)
                .map(|e| e.head.order.order_id.clone())
                .collect();
            let mut follow_up = Vec::new();
            for order_id in stuck {
                if let Decision::Applied(event) =
                    state.handle_command(&order_id, &Actor::Dispatch, Command::Dispatch)
                {
                    follow_up.push(event);
                }
            }
            self.partitions.insert(partition, (epoch, state));
            self.publish(&follow_up).await;
        }
        &mut self
            .partitions
            .get_mut(&partition)
            .expect("inserted above")
            .1
    }

    async fn handle(&mut self, record: &Record, epoch: u64) {
        self.summary.incidents += 1;
        let incident: Incident = match self
            .codec
            .decode(record.payload.as_deref().unwrap_or_default())
            .await
        {
            Ok(i) => i,
            Err(e) => {
                let reason = format!("cannot decode the incident: {e}");
                let mut pause = Duration::from_millis(100);
                while let Err(err) = self.dead_letters.send(record, &reason).await {
                    tracing::warn!(error = %err, "dead letter not delivered; retrying");
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(5));
                }
                self.summary.dead_lettered += 1;
                return;
            }
        };
        let events = self
            .state(record.partition, epoch)
            .await
            .handle_incident(&incident);
        self.publish(&events).await;
    }

    async fn tick(&mut self, consumer: &Consumer) {
        let topic = self.kafka.topics.incidents.clone();
        let mut out = Vec::new();
        for (partition, (_, state)) in &mut self.partitions {
            if consumer.is_assigned(&topic, *partition) {
                out.extend(state.tick());
            }
        }
        self.partitions
            .retain(|p, _| consumer.is_assigned(&topic, *p));
        self.publish(&out).await;
    }

    /// Produces each transition, then its order's snapshot to its departments' topics, in
    /// order, retrying until the broker acknowledges (the state already holds them; the topic
    /// is the record).
    async fn publish(&mut self, events: &[WorkOrderEvent]) {
        for event in events {
            let key = event.order.street_key.clone();
            let transition = match self
                .codec
                .encode(&self.kafka.topics.workorder_events, event)
                .await
            {
                Ok(bytes) => {
                    OutRecord::new(self.kafka.topics.workorder_events.as_str(), key, bytes)
                }
                Err(e) => {
                    tracing::error!(order = %event.order_id, error = %e, "cannot encode a transition");
                    continue;
                }
            };
            self.send(&transition).await;
            self.summary.transitions += 1;
            metrics::counter!("cityops_dispatch_transitions_total", "kind" => format!("{:?}", event.kind), "rejected" => event.rejected.to_string()).increment(1);
            if event.rejected {
                continue;
            }
            let mut departments = vec![event.order.owner.clone()];
            departments.extend(event.order.co_departments.iter().cloned());
            for dept in departments {
                let topic = self.kafka.topics.department_orders(dept.as_str());
                if self.department_topics.insert(topic.clone()) {
                    if let Err(e) = admin::ensure_topics(self.kafka, &[&topic]).await {
                        tracing::warn!(%topic, error = %e, "could not create a department topic");
                    }
                }
                match self.codec.encode(&topic, &event.order).await {
                    Ok(bytes) => {
                        self.send(&OutRecord::new(topic, event.order_id.as_str(), bytes))
                            .await
                    }
                    Err(e) => {
                        tracing::error!(order = %event.order_id, error = %e, "cannot encode a snapshot")
                    }
                }
            }
        }
    }

    async fn send(&self, record: &OutRecord) {
        let mut pause = Duration::from_millis(100);
        while let Err(e) = self.producer.send(record).await {
            tracing::warn!(topic = %record.topic, error = %e, retry_in = ?pause, "not delivered; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
    }
}
