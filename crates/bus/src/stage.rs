//! The loop every Kafka-to-Kafka stage runs: consume, handle, produce, acknowledge — with bad
//! records dead-lettered and the partition going on.

use futures::stream::{FuturesUnordered, StreamExt};
use futures::FutureExt;
use std::future::Future;
use std::time::Duration;
use tracing::Instrument;

use crate::ack::AckToken;
use crate::{BusError, Consumer, DeadLetters, OutRecord, Producer, Record};

/// What a stage makes of one input record.
#[derive(Debug)]
pub enum Outcome {
    /// Produce these records; the input is acknowledged when the broker acknowledged them all.
    Produce(Vec<OutRecord>),
    /// The input is bad: dead-letter it with this reason, then acknowledge it. `payload`, when
    /// given, is dead-lettered in place of the original bytes (e.g. with personal data
    /// removed).
    Reject {
        reason: String,
        payload: Option<Vec<u8>>,
    },
}

impl Outcome {
    /// Dead-letters the input as it came, with `reason`.
    pub fn reject(reason: impl Into<String>) -> Self {
        Outcome::Reject {
            reason: reason.into(),
            payload: None,
        }
    }
}

/// Tuning of [`run_stage`].
#[derive(Debug, Clone)]
pub struct StageConfig {
    /// Stage name, for dead letters, metrics and logs.
    pub name: String,
    /// Input records handed out and not yet acknowledged, at most (bounds memory).
    pub max_in_flight: usize,
    /// Records taken from the consumer per batch (one tracing span each).
    pub batch_size: usize,
    /// Longest pause between retries of an undeliverable output.
    pub max_retry_backoff: Duration,
    /// On shutdown, how long to wait for outputs already in flight before stopping.
    pub drain_timeout: Duration,
}

impl StageConfig {
    pub fn new(name: impl Into<String>) -> Self {
        Self {
            name: name.into(),
            max_in_flight: 1024,
            batch_size: 256,
            max_retry_backoff: Duration::from_secs(5),
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// What a stage did before it stopped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StageSummary {
    pub consumed: u64,
    pub produced: u64,
    pub dead_lettered: u64,
}

/// Runs a stage until `shutdown` resolves. Outputs that the broker does not acknowledge are
/// retried with backoff (the input stays unacknowledged meanwhile, so a crash redelivers it).
/// On shutdown it stops taking input and waits up to `drain_timeout` for the outputs in
/// flight; whatever is still unacknowledged then is delivered again to the next run.
pub async fn run_stage<H>(
    consumer: &Consumer,
    producer: &Producer,
    dead_letters: &DeadLetters,
    config: &StageConfig,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> StageSummary
where
    H: FnMut(&Record) -> Outcome,
{
    let nothing_to_prepare = |_: &Record| None::<std::future::Ready<Result<(), String>>>;
    run_stage_prepared(
        consumer,
        producer,
        dead_letters,
        config,
        nothing_to_prepare,
        handler,
        shutdown,
    )
    .await
}

/// [`run_stage`] with an asynchronous step before the handler, for what the handler needs and
/// may have to wait for (a schema from the registry). `prepare` answers `None` when there is
/// nothing to wait for (the usual case: no allocation, no await), else a future that the stage
/// awaits before it takes more input; its `Err(e)` dead-letters the record with `e` as the
/// reason instead of handling it.
pub async fn run_stage_prepared<P, F, E, H>(
    consumer: &Consumer,
    producer: &Producer,
    dead_letters: &DeadLetters,
    config: &StageConfig,
    mut prepare: P,
    mut handler: H,
    shutdown: impl Future<Output = ()>,
) -> StageSummary
where
    P: FnMut(&Record) -> Option<F>,
    F: Future<Output = Result<(), E>>,
    E: std::fmt::Display,
    H: FnMut(&Record) -> Outcome,
{
    let mut summary = StageSummary::default();
    let mut pending = FuturesUnordered::new();
    let mut recv_backoff = Duration::ZERO;
    tokio::pin!(shutdown);
    loop {
        let room = pending.len() < config.max_in_flight;
        tokio::select! {
            biased;
            () = &mut shutdown => break,
            Some(done) = pending.next(), if !pending.is_empty() => {
                settle(consumer, &mut summary, done);
            }
            first = consumer.recv(), if room => {
                let first = match first {
                    Ok(d) => {
                        recv_backoff = Duration::ZERO;
                        d
                    }
                    Err(e) => {
                        // librdkafka reports broker trouble here and recovers by itself: the
                        // stage waits and goes on, it never stops for it.
                        recv_backoff = (recv_backoff * 2).clamp(Duration::from_millis(100), config.max_retry_backoff);
                        tracing::warn!(stage = %config.name, error = %e, retry_in = ?recv_backoff, "consumer error");
                        metrics::counter!("cityops_stage_consumer_errors_total", "stage" => config.name.clone()).increment(1);
                        tokio::time::sleep(recv_backoff).await;
                        continue;
                    }
                };
                let mut batch = vec![first];
                while batch.len() < config.batch_size && pending.len() + batch.len() < config.max_in_flight {
                    match consumer.recv().now_or_never() {
                        Some(Ok(next)) => batch.push(next),
                        _ => break,
                    }
                }
                let span = tracing::info_span!("stage_batch", stage = %config.name, records = batch.len());
                let mut stopping = false;
                for delivery in batch {
                    let prepared = match prepare(&delivery.record) {
                        // A shutdown does not wait for it: the record is read again next time.
                        Some(wait) => tokio::select! {
                            r = wait.instrument(span.clone()) => r,
                            () = &mut shutdown => {
                                stopping = true;
                                break;
                            }
                        },
                        None => Ok(()),
                    };
                    summary.consumed += 1;
                    let outcome = match prepared {
                        Ok(()) => span.in_scope(|| handler(&delivery.record)),
                        Err(e) => Outcome::reject(e.to_string()),
                    };
                    let producer = producer.clone();
                    let dead_letters = dead_letters.clone();
                    let backoff = config.max_retry_backoff;
                    let stage = config.name.clone();
                    pending.push(
                        async move {
                            let (produced, rejected) = match outcome {
                                Outcome::Produce(outs) => {
                                    for out in &outs {
                                        deliver(&stage, backoff, || producer.send(out)).await;
                                    }
                                    (outs.len() as u64, false)
                                }
                                Outcome::Reject { reason, payload } => {
                                    deliver(&stage, backoff, || {
                                        dead_letters.send_with_payload(&delivery.record, &reason, payload.as_deref())
                                    })
                                    .await;
                                    (0, true)
                                }
                            };
                            (delivery.token, produced, rejected)
                        }
                        .instrument(span.clone()),
                    );
                }
                if stopping {
                    break;
                }
            }
        }
    }
    let drain = async {
        while let Some(done) = pending.next().await {
            settle(consumer, &mut summary, done);
        }
    };
    if tokio::time::timeout(config.drain_timeout, drain)
        .await
        .is_err()
    {
        tracing::warn!(stage = %config.name, "outputs still undelivered at shutdown; their inputs will be redelivered");
    }
    tracing::info!(stage = %config.name, ?summary, "stage stopped");
    summary
}

fn settle(consumer: &Consumer, summary: &mut StageSummary, done: (AckToken, u64, bool)) {
    let (token, produced, rejected) = done;
    consumer.ack(&token);
    summary.produced += produced;
    summary.dead_lettered += u64::from(rejected);
}

/// Retries `send` with exponential backoff until the broker acknowledges.
async fn deliver<F, Fut, T>(stage: &str, max_backoff: Duration, mut send: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, BusError>>,
{
    let mut pause = Duration::from_millis(100);
    loop {
        match send().await {
            Ok(_) => return,
            Err(e) => {
                tracing::warn!(stage, error = %e, retry_in = ?pause, "output not delivered; retrying");
                metrics::counter!("cityops_stage_delivery_retries_total", "stage" => stage.to_owned())
                    .increment(1);
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(max_backoff);
            }
        }
    }
}
