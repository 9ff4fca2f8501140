//! Enrichment over the real stack: events on `city.events.v1` (produced by the test, as ingest
//! would) become the expected incidents on `city.incidents.v1`, keyed by street, else
//! district, else `unlocated`; readings under every threshold go to `city.telemetry.v1`.

use cityops_avro::Codec;
use cityops_bus::{OutRecord, Producer};
use cityops_core::*;
use cityops_e2e::platform::Platform;
use cityops_e2e::samples;
use cityops_e2e::{kafka_config, read_n};
use std::collections::HashMap;

const CITYOPS: &str = env!("CARGO_BIN_EXE_cityops-under-test");

const AT: i64 = 1_795_220_100_000;

fn ticket(
    id: &str,
    text: &str,
    address: Option<&str>,
    district: Option<&str>,
    point: Option<GeoPoint>,
) -> CityEvent {
    let mut e = samples::ticket(id, text, AT);
    e.address = address.map(Into::into);
    e.district_hint = district.map(Into::into);
    e.location = point;
    e
}

fn reading(
    device: &str,
    device_type: &str,
    metric: &str,
    value: f64,
    point: GeoPoint,
) -> CityEvent {
    samples::reading(device, device_type, metric, value, point, AT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_become_incidents_keyed_by_place() {
    let kafka = kafka_config().await;
    let platform = Platform::start(CITYOPS, &kafka.brokers, &[]).await;
    let codec = Codec::single_object();
    let producer = Producer::new(&kafka, "test").expect("producer");
    let tiexi = GeoPoint {
        lat: 41.7962,
        lon: 123.3589,
    };
    let events = vec![
        ticket(
            "E2E-FIRE",
            "三楼冒出浓烟，好像着火了",
            Some("和平区太原街"),
            Some("和平区"),
            None,
        ),
        ticket(
            "E2E-HEAT",
            "家里暖气不热，室温只有十四度",
            None,
            Some("大东区"),
            None,
        ),
        ticket(
            "E2E-FAR",
            "路灯不亮",
            None,
            None,
            Some(GeoPoint {
                lat: 31.23,
                lon: 121.47,
            }),
        ),
        reading("SY-GAS-9", "gas_detector", "ch4_lel", 42.0, tiexi),
        reading("SY-GAS-10", "gas_detector", "ch4_lel", 2.0, tiexi),
    ];
    for e in &events {
        let bytes = codec
            .encode(&platform.topics.events, e)
            .await
            .expect("encode");
        producer
            .send(&OutRecord::new(
                platform.topics.events.as_str(),
                e.event_id.as_str(),
                bytes,
            ))
            .await
            .expect("produce");
    }

    let records = read_n(&kafka, &platform.topics.incidents, 4).await;
    let mut by_source: HashMap<String, (Incident, String)> = HashMap::new();
    for r in &records {
        let i: Incident = codec
            .decode(r.payload.as_deref().unwrap_or_default())
            .await
            .expect("an Incident");
        let key = String::from_utf8(r.key.clone().unwrap_or_default()).expect("utf8 key");
        by_source.insert(i.event.source_id.clone(), (i, key));
    }

    let (fire, key) = &by_source["E2E-FIRE"];
    assert_eq!(fire.category, CategoryId::from("fire"));
    assert_eq!(fire.severity, Severity::Critical);
    assert_eq!(fire.classification.method, ClassifiedBy::Rule);
    assert_eq!(fire.location_precision, LocationPrecision::Street);
    assert_eq!(
        key,
        fire.street_code.as_deref().expect("street"),
        "keyed by street"
    );

    let (heat, key) = &by_source["E2E-HEAT"];
    assert_eq!(heat.category, CategoryId::from("heating"));
    assert_eq!(heat.location_precision, LocationPrecision::District);
    assert_eq!(key, "210104", "keyed by district when there is no street");

    let (far, key) = &by_source["E2E-FAR"];
    assert_eq!(far.district_code, None);
    assert_eq!(key, UNLOCATED_KEY);

    let (gas, key) = &by_source["SY-GAS-9@1795220100000"];
    assert_eq!(gas.category, CategoryId::from("gas_leak"));
    assert_eq!(gas.classification.method, ClassifiedBy::IotRule);
    assert_eq!(gas.district_code.as_deref(), Some("210106"));
    assert_eq!(key, gas.street_code.as_deref().expect("street"));
    for (i, _) in by_source.values() {
        assert!(!i.catalogue_version.is_empty());
        if i.event.source == Source::Hotline {
            assert!(
                i.classification.model_version.is_some(),
                "model version on every ticket's incident"
            );
        }
    }

    let telemetry = read_n(&kafka, &platform.topics.telemetry, 1).await;
    let reading: Reading = codec
        .decode(telemetry[0].payload.as_deref().unwrap_or_default())
        .await
        .expect("a Reading");
    assert_eq!(reading.device_id, "SY-GAS-10");
    assert_eq!(telemetry[0].key.as_deref(), Some(&b"SY-GAS-10"[..]));
    platform.stop().await;
}
