//! The CPU stages of the pipeline, one event at a time on one thread (so events/s here are
//! events/s per core), on the shipped configuration and tickets of the shipped corpus (each
//! iteration takes the next of 64 tickets, so texts and places vary):
//!
//! - `decode_event`: Avro single-object `CityEvent` → struct (enrich's and the sink's first step);
//! - `validate_ticket`: raw ticket JSON → `CityEvent` (ingest's parsing and validation);
//! - `ingest_record`: ingest's whole per-record work on the raw topic (`Intake::handle_raw`);
//! - `geo_place`: where a ticket happened (point in the R-tree, or address in the gazetteer);
//! - `classify_ticket`: life-safety rules, then the text model;
//! - `route`: category → owning department (the catalogue);
//! - `encode_incident`: `Incident` → Avro;
//! - `enrich_record`: enrich's whole per-record work (`cityops_enrich::handle`);
//! - `sink_row`: the sink's per-record work before the insert (decode, `EventRow`).
//! - `pipeline_ticket`: every CPU stage of one 12345 ticket in a row, as the pipeline does
//!   them: validate (raw JSON → `CityEvent`), decode (the `CityEvent` from its Avro on the
//!   events topic), geo + classify (`Enricher::enrich`), route (category → department);
//! - `pipeline_reading`: the same for the IoT readings of the mix below alone;
//! - `pipeline_mix`: the same per event over the simulator's mix (docs/simulator.md): 25%
//!   corpus tickets, 75% IoT readings of every catalogue device type in turn
//!   (`samples::raw_reading`), 1% of them alarms; a reading's route is taken only when it is an
//!   alarm (an incident), as in the pipeline.
//!
//! cargo bench -p cityops-bench

use cityops_avro::Codec;
use cityops_bench::samples;
use cityops_bus::{KafkaConfig, Outcome, Producer, Record};
use cityops_core::catalogue::Catalogue;
use cityops_core::routing::route;
use cityops_core::settings::Secret;
use cityops_core::{CityEvent, Incident};
use cityops_enrich::{EnrichConfig, Enriched, Enricher};
use cityops_ingest::raw::{reading_to_event, IntakeRules};
use cityops_ingest::{IngestConfig, Intake, ItemKind};
use cityops_store::EventRow;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use std::hint::black_box;
use std::sync::Arc;
use std::time::Duration;

/// The allocator of the `cityops` binary (crates/cli/src/main.rs), so that the stages are
/// measured as they run there.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const TICKETS: usize = 64;
/// Items of the simulator's mix cycled through by `pipeline_mix`.
const MIX: usize = 4_000;

fn record(topic: &str, payload: Vec<u8>) -> Record {
    Record {
        topic: topic.to_owned(),
        partition: 0,
        offset: 0,
        key: None,
        payload: Some(payload),
        headers: Vec::new(),
        timestamp_ms: None,
    }
}

fn bench(c: &mut Criterion) {
    let root = samples::workspace_root();
    let corpus = samples::corpus(&root, TICKETS).expect("the hotline corpus");
    let catalogue =
        Arc::new(Catalogue::load(root.join("config/catalogue.toml")).expect("catalogue"));
    let config = EnrichConfig {
        model: root.join(cityops_classify::MODEL_PATH),
        rules: root.join(cityops_classify::RULES_PATH),
        ..EnrichConfig::default()
    };
    let enricher = Enricher::load(catalogue.clone(), &root.join("config/geo"), &config)
        .expect("the shipped enrichment");
    let classifier = cityops_classify::Classifier::load(&config.model, &config.rules, &catalogue)
        .expect("the shipped classifier");
    let codec = Codec::single_object();
    let kafka = KafkaConfig {
        statistics_interval_ms: 0,
        ..KafkaConfig::default()
    };
    let topics = &kafka.topics;

    let now = samples::now_ms();
    let at = samples::received_at(now);
    let raw: Vec<serde_json::Value> = (0..TICKETS)
        .map(|i| samples::raw_ticket(&corpus, &format!("BENCH-{i:05}"), i, &at))
        .collect();
    let raw_bytes: Vec<Vec<u8>> = raw.iter().map(|v| v.to_string().into_bytes()).collect();
    let events: Vec<CityEvent> = raw
        .iter()
        .map(|v| samples::event_of(v, now).expect("valid ticket"))
        .collect();
    let event_bytes: Vec<Vec<u8>> = events
        .iter()
        .map(|e| codec.encode_cached(&topics.events, e).expect("encode"))
        .collect();
    let incidents: Vec<Incident> = events
        .iter()
        .map(|e| match enricher.enrich(e, now).expect("enrich") {
            (Enriched::Incident(i), _) => *i,
            (Enriched::Telemetry(_), _) => unreachable!("tickets become incidents"),
        })
        .collect();
    let raw_records: Vec<Record> = raw_bytes
        .iter()
        .map(|b| record(&topics.raw_hotline, b.clone()))
        .collect();
    let event_records: Vec<Record> = event_bytes
        .iter()
        .map(|b| record(&topics.events, b.clone()))
        .collect();
    // The intake's producer is never used here (handle_raw only builds the output record).
    let producer = Producer::new(&kafka, "bench").expect("producer");
    let intake = Intake::new(
        producer,
        Arc::new(codec.clone()),
        topics.events.clone(),
        catalogue.clone(),
        IngestConfig {
            reporter_secret: Secret::new("cityops-bench"),
            ..IngestConfig::default()
        },
    );

    // The simulator's mix: a quarter tickets, three quarters IoT readings of every device
    // type, 1% of the readings alarms.
    let mix_items: Vec<(bool, serde_json::Value)> = (0..MIX)
        .map(|i| {
            if i % 4 == 0 {
                let t = i / 4;
                let id = format!("BENCH-MIX-{t:05}");
                (true, samples::raw_ticket(&corpus, &id, t, &at))
            } else {
                let reading = samples::raw_reading(&catalogue, i - i / 4 - 1, &at, now, 100)
                    .expect("a device type");
                (false, reading)
            }
        })
        .collect();
    let rules = IntakeRules::default();
    let reporter = cityops_ingest::pii::ReporterKey::new("cityops-bench");
    // Ingest's validation of one raw item, as the pipeline does it.
    let validate = |is_ticket: bool, raw: &serde_json::Value| {
        if is_ticket {
            cityops_ingest::raw::ticket_to_event(
                raw,
                cityops_core::Source::Hotline,
                &rules,
                &reporter,
                now,
            )
        } else {
            reading_to_event(raw, &rules, &*catalogue, now)
        }
    };
    // (is a ticket, raw JSON bytes, the event's Avro bytes)
    let mix: Vec<(bool, Vec<u8>, Vec<u8>)> = mix_items
        .into_iter()
        .map(|(is_ticket, raw)| {
            let event = validate(is_ticket, &raw).expect("the mix passes intake");
            let bytes = codec.encode_cached(&topics.events, &event).expect("encode");
            (is_ticket, raw.to_string().into_bytes(), bytes)
        })
        .collect();
    let tickets_in_mix = mix.iter().filter(|m| m.0).count();
    eprintln!(
        "stages/pipeline_mix: {} items, {tickets_in_mix} tickets ({:.1}%)",
        mix.len(),
        100.0 * tickets_in_mix as f64 / mix.len() as f64
    );
    // validate → decode → geo + classify → route, for one event.
    let one_event = |is_ticket: bool, raw: &[u8], avro: &[u8]| {
        let v: serde_json::Value = serde_json::from_slice(raw).expect("JSON");
        let validated = validate(is_ticket, &v).expect("valid");
        let event: CityEvent = codec.decode_cached(avro).expect("decode");
        debug_assert_eq!(event.event_id, validated.event_id);
        match enricher.enrich(&event, now).expect("enrich") {
            (Enriched::Incident(i), _) => {
                let r = route(&catalogue, &i.category, i.street_name.as_deref());
                usize::from(r.owner.is_some())
            }
            (Enriched::Telemetry(t), _) => t.metrics.len(),
        }
    };

    let mut g = c.benchmark_group("stages");
    g.throughput(Throughput::Elements(1))
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    let mut i = 0usize;
    let mut next = move || {
        i = (i + 1) % TICKETS;
        i
    };
    g.bench_function("decode_event", |b| {
        b.iter(|| {
            codec
                .decode_cached::<CityEvent>(black_box(&event_bytes[next()]))
                .expect("decode")
        })
    });
    g.bench_function("validate_ticket", |b| {
        b.iter(|| {
            let v: serde_json::Value =
                serde_json::from_slice(black_box(&raw_bytes[next()])).expect("JSON");
            samples::event_of(&v, now).expect("valid")
        })
    });
    g.bench_function("ingest_record", |b| {
        b.iter(|| {
            let out = intake.handle_raw(ItemKind::Ticket, black_box(&raw_records[next()]));
            assert!(matches!(out, Outcome::Produce(_)));
            out
        })
    });
    g.bench_function("geo_place", |b| {
        b.iter(|| {
            enricher
                .place(black_box(&events[next()]))
                .district
                .map(|d| d.code().len())
        })
    });
    g.bench_function("classify_ticket", |b| {
        b.iter(|| {
            let text = events[next()].text.as_deref().unwrap_or_default();
            classifier.classify(black_box(text), &catalogue)
        })
    });
    g.bench_function("route", |b| {
        b.iter(|| {
            let i = &incidents[next()];
            route(&catalogue, black_box(&i.category), i.street_name.as_deref())
        })
    });
    g.bench_function("encode_incident", |b| {
        b.iter(|| {
            codec
                .encode_cached(&topics.incidents, black_box(&incidents[next()]))
                .expect("encode")
        })
    });
    g.bench_function("enrich_record", |b| {
        b.iter(|| {
            let out = cityops_enrich::handle(
                &enricher,
                &codec,
                &kafka,
                black_box(&event_records[next()]),
                now,
            );
            assert!(matches!(out, Outcome::Produce(_)));
            out
        })
    });
    g.bench_function("sink_row", |b| {
        b.iter(|| {
            let e: CityEvent = codec
                .decode_cached(black_box(&event_bytes[next()]))
                .expect("decode");
            EventRow::from(&e)
        })
    });
    g.bench_function("pipeline_ticket", |b| {
        b.iter(|| {
            let k = next();
            one_event(true, black_box(&raw_bytes[k]), black_box(&event_bytes[k]))
        })
    });
    let readings: Vec<&(bool, Vec<u8>, Vec<u8>)> = mix.iter().filter(|m| !m.0).collect();
    let mut r = 0usize;
    g.bench_function("pipeline_reading", |b| {
        b.iter(|| {
            r = (r + 1) % readings.len();
            let (is_ticket, raw, avro) = readings[r];
            one_event(*is_ticket, black_box(raw), black_box(avro))
        })
    });
    let mut m = 0usize;
    g.bench_function("pipeline_mix", |b| {
        b.iter(|| {
            m = (m + 1) % mix.len();
            let (is_ticket, raw, avro) = &mix[m];
            one_event(*is_ticket, black_box(raw), black_box(avro))
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
