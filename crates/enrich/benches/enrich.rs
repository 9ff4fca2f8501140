//! Enrichment of one event, all steps (geography or gazetteer, device rules or life-safety
//! rules and the text model, incident assembly), on the shipped configuration.

use cityops_core::catalogue::Catalogue;
use cityops_core::{event_id_for, CityEvent, GeoPoint, Source};
use cityops_enrich::{EnrichConfig, Enricher};
use criterion::{criterion_group, criterion_main, Criterion};
use std::collections::BTreeMap;
use std::hint::black_box;
use std::path::PathBuf;
use std::sync::Arc;

fn event(
    text: Option<&str>,
    device: Option<(&str, &str, f64)>,
    point: Option<GeoPoint>,
    address: Option<&str>,
) -> CityEvent {
    CityEvent {
        event_id: event_id_for(Source::Hotline, "bench"),
        source: if device.is_some() {
            Source::Iot
        } else {
            Source::Hotline
        },
        source_id: "bench".into(),
        occurred_at_ms: 1_795_220_100_000,
        received_at_ms: 1_795_220_100_000,
        location: point,
        address: address.map(Into::into),
        district_hint: None,
        text: text.map(Into::into),
        channel: None,
        request_type: None,
        device_id: device.map(|_| "SY-1".into()),
        device_type: device.map(|(t, _, _)| t.into()),
        metrics: device
            .map(|(_, m, v)| BTreeMap::from([(m.to_owned(), v)]))
            .unwrap_or_default(),
        device_event: None,
        tags: BTreeMap::new(),
        reporter_hash: None,
        attachments: vec![],
    }
}

fn bench(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let catalogue =
        Arc::new(Catalogue::load(root.join("config/catalogue.toml")).expect("catalogue"));
    let config = EnrichConfig {
        model: root.join(cityops_classify::MODEL_PATH),
        rules: root.join(cityops_classify::RULES_PATH),
        ..EnrichConfig::default()
    };
    let enricher = Enricher::load(catalogue, &root.join("config/geo"), &config).expect("enricher");
    let tiexi = GeoPoint {
        lat: 41.7962,
        lon: 123.3589,
    };
    let ticket = event(
        Some("市民来电反映：兴华南街58号门前路灯已经坏了一个多星期，晚上漆黑一片，老人出门很不安全，希望尽快修复。"),
        None,
        None,
        Some("铁西区兴华南街58号"),
    );
    let reading = event(
        None,
        Some(("gas_detector", "ch4_lel", 35.0)),
        Some(tiexi),
        None,
    );
    let mut g = c.benchmark_group("enrich_one_event");
    g.bench_function("hotline_ticket_with_address", |b| {
        b.iter(|| enricher.enrich(black_box(&ticket), 0))
    });
    g.bench_function("iot_reading_with_point", |b| {
        b.iter(|| enricher.enrich(black_box(&reading), 0))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
