//! The dispatch service.
//!
//! - The stage: one consumer group reads `city.incidents.v1` and the order commands of
//!   `city.dispatch.commands.v1`, co-partitioned (same key, same partition count, range
//!   assignment), so partition `p` of both belongs to one instance, which owns the state of
//!   partition `p`. For each partition it owns, dispatch first replays that partition of
//!   `city.workorders.events.v1` (the same key, so the same partition number) to rebuild the
//!   orders, their clocks and the commands already handled; then every incident is created,
//!   dispatched or merged and every command decided, each transition is produced to
//!   `city.workorders.events.v1` and the order's snapshot to its departments'
//!   `city.dept.<dept>.orders.v1`, a command's outcome to `city.dispatch.outcomes.v1`, and
//!   only then is the input acknowledged. Warnings are emitted by the timers of the
//!   partitions it owns.
//! - [`forward`]: department updates topics → order commands.
//! - [`api`]: the HTTP API → order commands, answered with their outcomes.

pub mod api;
pub mod forward;

use cityops_avro::Codec;
use cityops_bus::{
    admin, replay, BusError, Consumer, DeadLetters, InFlight, KafkaConfig, OutRecord, Producer,
    Record,
};
use cityops_core::{CommandOutcome, Incident, OrderCommand, OrderStatus, WorkOrderEvent};
use cityops_store::ClickHouseConfig;
use futures::FutureExt;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;

use crate::auth::{AuthError, Authenticator, TokenConfig};
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
    /// Where the HTTP API for departments and the command centre listens.
    pub listen: String,
    /// Duplicate merging (并单): distance and window.
    pub merge: MergeConfig,
    /// Bearer tokens of the departments and the command centre (SHA-256).
    pub tokens: TokenConfig,
    /// Longest a partition's replay may take, in milliseconds.
    pub replay_timeout_ms: u64,
    /// Longest pause between two looks at the timers, in milliseconds.
    pub max_tick_ms: u64,
    /// How long an HTTP command waits for its outcome before answering 202 (queued).
    pub answer_timeout_ms: u64,
    /// How soon a department's new updates topic is noticed, in milliseconds.
    pub updates_discovery_ms: u64,
    /// `kafka.fetch_wait_max_ms` for the departments' updates topics. Updates are people's
    /// answers, where half a second does not matter, and on Tansu a fetch re-reads every
    /// partition it covers each time the wait runs out.
    pub updates_fetch_wait_ms: u32,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        Self {
            consumer_group: "cityops-dispatch".to_owned(),
            listen: "127.0.0.1:8083".to_owned(),
            merge: MergeConfig::default(),
            tokens: TokenConfig::default(),
            replay_timeout_ms: 120_000,
            max_tick_ms: 1_000,
            answer_timeout_ms: 10_000,
            updates_discovery_ms: 10_000,
            updates_fetch_wait_ms: 500,
        }
    }
}

impl DispatchConfig {
    /// The consumer group that reads the departments' updates topics.
    pub fn updates_group(&self) -> String {
        format!("{}-updates", self.consumer_group)
    }
}

/// Why dispatch stopped.
#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error(transparent)]
    Bus(#[from] BusError),
    #[error(transparent)]
    Auth(#[from] AuthError),
    #[error(transparent)]
    Telemetry(#[from] cityops_telemetry::TelemetryError),
    #[error("cannot register the schemas dispatch writes: {0}")]
    Schema(#[from] cityops_avro::AvroError),
    #[error(
        "{incidents} has {incidents_n} partitions, {other} has {other_n}: dispatch needs the \
         incidents, commands and work-order topics partitioned alike (see docs/operations.md)"
    )]
    Partitions {
        incidents: String,
        incidents_n: usize,
        other: String,
        other_n: usize,
    },
}

/// What a dispatch run did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct DispatchSummary {
    pub incidents: u64,
    pub commands: u64,
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
    /// Per partition number: the assignment epoch it was built for, and its state.
    partitions: HashMap<i32, (u64, PartitionState)>,
    department_topics: HashSet<String>,
    summary: DispatchSummary,
    /// The outputs of the current batch, handed to the producer in the order they were
    /// decided and not yet confirmed by the broker (see [`Stage::confirm`]).
    outbox: Vec<(OutRecord, Option<InFlight>)>,
}

/// Most inputs decided before their outputs are confirmed together: one broker round trip
/// per batch instead of one per output.
const MAX_BATCH: usize = 256;

/// Checks that the topics dispatch co-partitions have the same partition count.
async fn check_partitions(kafka: &KafkaConfig) -> Result<(), DispatchError> {
    let topics = &kafka.topics;
    let incidents_n = admin::end_offsets(kafka, &topics.incidents).await?.len();
    for other in [&topics.commands, &topics.workorder_events] {
        let other_n = admin::end_offsets(kafka, other).await?.len();
        if other_n != incidents_n {
            return Err(DispatchError::Partitions {
                incidents: topics.incidents.clone(),
                incidents_n,
                other: other.clone(),
                other_n,
            });
        }
    }
    Ok(())
}

/// Runs the dispatch service until `shutdown`: the stage, the department updates forwarder
/// and the HTTP API on `config.listen`.
pub async fn run(
    kafka: &KafkaConfig,
    clickhouse: &ClickHouseConfig,
    config: &DispatchConfig,
    mut policy_updates: tokio::sync::watch::Receiver<Arc<Policy>>,
    clock: Arc<dyn Clock>,
    codec: Codec,
    shutdown: cityops_telemetry::Shutdown,
) -> Result<DispatchSummary, DispatchError> {
    let topics = &kafka.topics;
    let policy = policy_updates.borrow_and_update().clone();
    // A malformed token hash stops dispatch before it touches anything.
    Authenticator::new(&config.tokens)?;
    if let Err(e) = admin::ensure_topics(
        kafka,
        &[
            &topics.incidents,
            &topics.workorder_events,
            &topics.commands,
            &topics.outcomes,
            &topics.dead_letter,
        ],
    )
    .await
    {
        tracing::warn!(error = %e, "could not ensure the dispatch topics");
    }
    check_partitions(kafka).await?;
    // In registry mode the updates forwarder encodes without the network: register first.
    codec
        .register_waiting::<OrderCommand>(&topics.commands)
        .await?;
    codec
        .register_waiting::<CommandOutcome>(&topics.outcomes)
        .await?;
    let producer = Producer::new(kafka, "dispatch")?;

    let api = api::Api::start(
        kafka,
        config,
        producer.clone(),
        codec.clone(),
        clickhouse.client(),
        policy.command_center.clone(),
        shutdown.clone(),
    )
    .await?;
    let http = tokio::spawn({
        let (listen, router, shutdown) = (config.listen.clone(), api.router(), shutdown.clone());
        async move { cityops_telemetry::serve(&listen, router, shutdown).await }
    });
    let forwarder = tokio::spawn({
        let (kafka, config, producer, codec, shutdown) = (
            kafka.clone(),
            config.clone(),
            producer.clone(),
            codec.clone(),
            shutdown.clone(),
        );
        async move { forward::run(&kafka, &config, producer, codec, shutdown.wait()).await }
    });

    let consumer = Consumer::with_settings(
        kafka,
        "dispatch",
        &config.consumer_group,
        &[&topics.incidents, &topics.commands],
        // Range assignment gives partition p of both topics to the same member.
        &[("partition.assignment.strategy", "range")],
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
        outbox: Vec::new(),
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
            () = tokio::time::sleep(wake) => {
                stage.follow(&mut policy_updates);
                stage.tick(&consumer).await;
                stage.confirm().await;
            }
            delivery = consumer.recv() => match delivery {
                Ok(first) => {
                    // What else is already fetched joins the batch. Rebalances happen while
                    // the consumer is polled, that is here, when the previous batch is
                    // confirmed: a revoked partition has no outputs in flight.
                    let mut batch = vec![first];
                    while batch.len() < MAX_BATCH {
                        match consumer.recv().now_or_never() {
                            Some(Ok(next)) => batch.push(next),
                            _ => break,
                        }
                    }
                    stage.follow(&mut policy_updates);
                    let span = tracing::info_span!("dispatch_batch", records = batch.len());
                    async {
                        for d in &batch {
                            if d.record.topic == topics.commands {
                                stage.handle_command(&d.record, d.token.epoch()).await;
                            } else {
                                stage.handle_incident(&d.record, d.token.epoch()).await;
                            }
                        }
                        let outputs = stage.outbox.len();
                        let decided = std::time::Instant::now();
                        stage.confirm().await;
                        let confirmed = decided.elapsed();
                        metrics::histogram!("cityops_dispatch_batch_records").record(batch.len() as f64);
                        metrics::histogram!("cityops_dispatch_confirm_seconds").record(confirmed.as_secs_f64());
                        tracing::debug!(records = batch.len(), outputs, confirm_ms = confirmed.as_millis() as u64, "batch confirmed");
                        for d in &batch {
                            consumer.ack(&d.token);
                        }
                    }
                    .instrument(span)
                    .await;
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
    match forwarder.await {
        Ok(Ok(summary)) => tracing::info!(?summary, "department updates forwarder stopped"),
        Ok(Err(e)) => tracing::error!(error = %e, "department updates forwarder failed"),
        Err(e) => tracing::error!(error = %e, "department updates forwarder task failed"),
    }
    match http.await {
        Ok(r) => r?,
        Err(e) => tracing::error!(error = %e, "dispatch HTTP API task failed"),
    }
    Ok(stage.summary)
}

impl Stage<'_> {
    /// Puts a reloaded catalogue's policy in force before the next decision.
    fn follow(&mut self, updates: &mut tokio::sync::watch::Receiver<Arc<Policy>>) {
        if !updates.has_changed().unwrap_or(false) {
            return;
        }
        let policy = updates.borrow_and_update().clone();
        tracing::info!(
            catalogue = policy.catalogue.version(),
            "dispatch follows the reloaded catalogue"
        );
        for (_, state) in self.partitions.values_mut() {
            state.set_policy(policy.clone());
        }
        self.policy = policy;
    }

    /// The state of incidents partition `partition` for assignment `epoch`, replayed from
    /// the transitions topic when it is new (or the partition was reassigned).
    async fn state(&mut self, partition: i32, epoch: u64) -> &mut PartitionState {
        let fresh = !matches!(self.partitions.get(&partition), Some((e, _)) if *e == epoch);
        if fresh {
            // The replay must see everything decided before it.
            self.confirm().await;
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
                    .decode_waiting::<WorkOrderEvent>(r.payload.as_deref().unwrap_or_default())
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

    async fn dead_letter(&mut self, record: &Record, reason: &str) {
        let mut pause = Duration::from_millis(100);
        while let Err(err) = self.dead_letters.send(record, reason).await {
            tracing::warn!(error = %err, "dead letter not delivered; retrying");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(5));
        }
        self.summary.dead_lettered += 1;
    }

    /// The value of `record`, or `None` once it is dead-lettered as undecodable (a registry
    /// outage is waited out, never taken for a bad record).
    async fn decode<T: cityops_avro::TopicValue>(
        &mut self,
        record: &Record,
        what: &str,
    ) -> Option<T> {
        match self
            .codec
            .decode_waiting(record.payload.as_deref().unwrap_or_default())
            .await
        {
            Ok(v) => Some(v),
            Err(e) => {
                self.dead_letter(record, &format!("cannot decode the {what}: {e}"))
                    .await;
                None
            }
        }
    }

    async fn handle_incident(&mut self, record: &Record, epoch: u64) {
        self.summary.incidents += 1;
        let Some(incident) = self.decode::<Incident>(record, "incident").await else {
            return;
        };
        let events = self
            .state(record.partition, epoch)
            .await
            .handle_incident(&incident);
        self.publish(&events).await;
    }

    /// Decides an order command, records its transition (applied or rejected) and answers it
    /// on the outcomes topic.
    async fn handle_command(&mut self, record: &Record, epoch: u64) {
        self.summary.commands += 1;
        let Some(command) = self.decode::<OrderCommand>(record, "order command").await else {
            return;
        };
        let state = self.state(record.partition, epoch).await;
        let decision = state.handle_order_command(&command);
        let now = state.now_ms();
        let order = decision
            .event()
            .map(|e| e.order.clone())
            .or_else(|| state.order(&command.order_id).cloned());
        let outcome = CommandOutcome {
            command_id: command.command_id.clone(),
            order_id: command.order_id.clone(),
            status: decision
                .rejection()
                .map_or(200, |r| i32::from(r.code.http_status())),
            applied: decision.is_applied(),
            reason: decision.rejection().map(|r| r.reason.clone()),
            transition_id: decision.event().map(|e| e.transition_id.clone()),
            order,
            at_ms: now,
        };
        if let Some(rejection) = decision.rejection() {
            tracing::info!(command = %command.command_id, order = %command.order_id, actor = %command.actor, reason = %rejection.reason, "order command refused");
            metrics::counter!("cityops_dispatch_commands_refused_total", "code" => format!("{:?}", rejection.code)).increment(1);
        }
        if let Some(event) = decision.event() {
            self.publish(std::slice::from_ref(event)).await;
        }
        let topic = self.kafka.topics.outcomes.as_str();
        match self.codec.encode_waiting(topic, &outcome).await {
            Ok(bytes) => {
                self.send(OutRecord::new(topic, command.command_id.as_str(), bytes))
                    .await
            }
            Err(e) => {
                tracing::error!(command = %command.command_id, error = %e, "cannot encode an outcome")
            }
        }
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

    /// Hands each transition, then its order's snapshot for its departments' topics, to the
    /// producer in order; [`Stage::confirm`] retries until the broker acknowledged them (the
    /// state already holds them; the topic is the record).
    async fn publish(&mut self, events: &[WorkOrderEvent]) {
        for (i, event) in events.iter().enumerate() {
            let key = event.order.street_key.clone();
            let transition = match self
                .codec
                .encode_waiting(&self.kafka.topics.workorder_events, event)
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
            self.send(transition).await;
            self.summary.transitions += 1;
            metrics::counter!("cityops_dispatch_transitions_total", "kind" => format!("{:?}", event.kind), "rejected" => event.rejected.to_string()).increment(1);
            if event.rejected {
                continue;
            }
            if let (Some(deadline), Some(warning)) = (event.deadline, event.warning) {
                // Yellow and red warnings per department and clock: what the alerts watch.
                metrics::counter!(
                    "cityops_dispatch_warnings_total",
                    "department" => event.order.owner.to_string(),
                    "deadline" => deadline.as_str(),
                    "warning" => warning.as_str()
                )
                .increment(1);
            }
            let departments = |e: &WorkOrderEvent| {
                let mut d = vec![e.order.owner.clone()];
                d.extend(e.order.co_departments.iter().cloned());
                d
            };
            let mine = departments(event);
            // One decision that changes an order twice (created, then dispatched) gives its
            // departments the order as the decision left it: a snapshot a later one of the
            // same call supersedes, for the same departments, is not sent.
            let superseded = events[i + 1..].iter().any(|later| {
                !later.rejected && later.order_id == event.order_id && departments(later) == mine
            });
            if superseded {
                continue;
            }
            for dept in mine {
                let topic = self.kafka.topics.department_orders(dept.as_str());
                if self.department_topics.insert(topic.clone()) {
                    // The department's updates topic comes with its orders topic, so the
                    // department can answer as soon as it has an order.
                    let updates = self.kafka.topics.department_updates(dept.as_str());
                    if let Err(e) = admin::ensure_topics(self.kafka, &[&topic, &updates]).await {
                        tracing::warn!(%topic, error = %e, "could not create a department's topics");
                    }
                }
                match self.codec.encode_waiting(&topic, &event.order).await {
                    Ok(bytes) => {
                        self.send(OutRecord::new(topic, event.order_id.as_str(), bytes))
                            .await
                    }
                    Err(e) => {
                        tracing::error!(order = %event.order_id, error = %e, "cannot encode a snapshot")
                    }
                }
            }
        }
    }

    /// Hands `record` to the producer after everything decided before it (the producer is
    /// idempotent, so their order holds on each partition); [`Stage::confirm`] waits for the
    /// broker's answer.
    async fn send(&mut self, record: OutRecord) {
        let in_flight = match self.producer.enqueue(&record).await {
            Ok(f) => Some(f),
            Err(e) => {
                tracing::warn!(topic = %record.topic, error = %e, "the producer refused a record; it is sent again");
                None
            }
        };
        self.outbox.push((record, in_flight));
    }

    /// Waits until the broker acknowledged every output handed over, and sends again, one
    /// after the other and in order, what it did not take: an idempotent producer that fails
    /// a record fails those behind it on its partition too, so the order of the decisions
    /// holds on each partition.
    async fn confirm(&mut self) {
        let mut refused = Vec::new();
        for (record, in_flight) in std::mem::take(&mut self.outbox) {
            let delivered = match in_flight {
                Some(in_flight) => in_flight.await.map_err(|e| {
                    tracing::warn!(topic = %record.topic, error = %e, "not delivered; it is sent again");
                }),
                None => Err(()),
            };
            if delivered.is_err() {
                refused.push(record);
            }
        }
        for record in refused {
            let mut pause = Duration::from_millis(100);
            while let Err(e) = self.producer.send(&record).await {
                tracing::warn!(topic = %record.topic, error = %e, retry_in = ?pause, "not delivered; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(5));
            }
        }
    }
}
