//! The Confluent framing against the testkit's stub schema registry, which answers
//! `POST /subjects/{subject}/versions` and `GET /schemas/ids/{id}` and counts the calls.
#![allow(clippy::unwrap_used)]

mod common;

use apache_avro::types::Value;
use apache_avro::writer::datum::GenericDatumWriter;
use apache_avro::Schema;
use axum::http::StatusCode;
use cityops_avro::{AvroError, Codec, Framing, TopicValue, REGISTRY_CONTENT_TYPE};
use cityops_core::{CityEvent, DepartmentUpdate, Reading, UpdateAction, WorkOrder};
use cityops_testkit::registry::{seed, stub_registry};
use common::*;

fn confluent(id: u32, datum: &[u8]) -> Vec<u8> {
    let mut bytes = vec![0];
    bytes.extend_from_slice(&id.to_be_bytes());
    bytes.extend_from_slice(datum);
    bytes
}

#[tokio::test]
async fn registers_once_per_subject_and_fetches_each_id_once() {
    let (url, stub) = stub_registry().await;
    let producer = Codec::with_registry(&url).unwrap();
    assert_eq!(producer.framing(), Framing::Confluent);
    assert_eq!(producer.registry_url(), Some(url.as_str()));

    let event = city_event_full();
    let first = producer.encode("city.events.v1", &event).await.unwrap();
    let second = producer
        .encode("city.events.v1", &city_event_min())
        .await
        .unwrap();
    assert_eq!(stub.lock().unwrap().posts, 1, "registered once");
    assert_eq!(first[0], 0x00);
    let id = u32::from_be_bytes(first[1..5].try_into().unwrap());
    assert_eq!(id, 1);
    assert_eq!(&second[..5], &first[..5]);
    {
        let stub = stub.lock().unwrap();
        assert_eq!(stub.subjects["city.events.v1-value"], vec![1]);
        assert_eq!(stub.content_types, vec![REGISTRY_CONTENT_TYPE]);
        // What was registered is the schema file, docs included.
        let registered: serde_json::Value = serde_json::from_str(&stub.schemas[0]).unwrap();
        let file: serde_json::Value =
            serde_json::from_str(CityEvent::value_schema().json()).unwrap();
        assert_eq!(registered, file);
    }
    // The datum is the same in both framings.
    let single = Codec::single_object()
        .encode_cached("city.events.v1", &event)
        .unwrap();
    assert_eq!(&first[5..], &single[10..]);

    // The producer knows its own ids: decoding needs no request.
    let back: CityEvent = producer.decode(&first).await.unwrap();
    assert_eq!(back, event);
    assert_eq!(stub.lock().unwrap().gets, 0);

    // A consumer fetches the id once, however many values and however concurrent.
    let consumer = Codec::with_registry(&url).unwrap();
    let err = consumer.decode_cached::<CityEvent>(&first).unwrap_err();
    assert!(
        matches!(err, AvroError::SchemaIdNotCached { id: 1, .. }),
        "{err}"
    );
    let mut tasks = tokio::task::JoinSet::new();
    for bytes in [first.clone(), second.clone(), first.clone(), second.clone()] {
        let consumer = consumer.clone();
        tasks.spawn(async move { consumer.decode::<CityEvent>(&bytes).await });
    }
    while let Some(result) = tasks.join_next().await {
        result.unwrap().unwrap();
    }
    assert_eq!(stub.lock().unwrap().gets, 1, "fetched once");
    let back: CityEvent = consumer.decode_cached(&second).unwrap();
    assert_eq!(back, city_event_min());
    assert_eq!(stub.lock().unwrap().gets, 1);

    // Another topic is another subject: registered once more, same schema id.
    producer
        .encode("city.events.replay.v1", &event)
        .await
        .unwrap();
    assert_eq!(stub.lock().unwrap().posts, 2);
    assert_eq!(
        stub.lock().unwrap().subjects["city.events.replay.v1-value"],
        vec![1]
    );
}

#[tokio::test]
async fn sync_encoding_needs_a_registration_first() {
    let (url, stub) = stub_registry().await;
    let codec = Codec::with_registry(&url).unwrap();
    let topic = "city.dept.fire_rescue.orders.v1";
    let err = codec.encode_cached(topic, &work_order_full()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "schema city.cityops.WorkOrder is not registered under subject \
         city.dept.fire_rescue.orders.v1-value yet; call the async Codec::register or \
         Codec::encode first"
    );
    let id = codec.register::<WorkOrder>(topic).await.unwrap().unwrap();
    assert_eq!(codec.register::<WorkOrder>(topic).await.unwrap(), Some(id));
    assert_eq!(stub.lock().unwrap().posts, 1);
    let bytes = codec.encode_cached(topic, &work_order_full()).unwrap();
    assert_eq!(&bytes[1..5], &id.to_be_bytes());
    assert_eq!(
        codec.decode_cached::<WorkOrder>(&bytes).unwrap(),
        work_order_full()
    );
    // Single-object values decode in registry mode too.
    let single = Codec::single_object()
        .encode_cached(topic, &work_order_min())
        .unwrap();
    assert_eq!(
        codec.decode::<WorkOrder>(&single).await.unwrap(),
        work_order_min()
    );
    assert_eq!(stub.lock().unwrap().gets, 0);
}

/// The current `DepartmentUpdate` schema with `edit` applied to its JSON.
fn department_update_variant(edit: impl FnOnce(&mut Vec<serde_json::Value>)) -> String {
    let mut json: serde_json::Value =
        serde_json::from_str(DepartmentUpdate::value_schema().json()).unwrap();
    edit(json["fields"].as_array_mut().unwrap());
    json.to_string()
}

fn encode_value(schema_json: &str, value: Value) -> Vec<u8> {
    let schema = Schema::parse_str(schema_json).unwrap();
    GenericDatumWriter::builder(&schema)
        .build()
        .unwrap()
        .write_value_to_vec(value)
        .unwrap()
}

#[tokio::test]
async fn values_written_with_older_and_newer_schemas_are_resolved() {
    let (url, stub) = stub_registry().await;
    // An older producer's schema: no `note`, no `requested_deadline_ms`.
    let older = department_update_variant(|fields| {
        fields.retain(|f| f["name"] != "note" && f["name"] != "requested_deadline_ms");
    });
    // A newer producer's schema: an extra field with a default.
    let newer = department_update_variant(|fields| {
        fields.push(serde_json::json!({
            "name": "photo_url", "type": ["null", "string"], "default": null, "doc": "new"
        }));
    });
    let older_id = seed(&stub, &older);
    let newer_id = seed(&stub, &newer);

    let older_datum = encode_value(
        &older,
        Value::Record(vec![
            ("update_id".into(), Value::String("u-7".into())),
            ("order_id".into(), Value::String("WO-7".into())),
            ("department".into(), Value::String("water".into())),
            ("action".into(), Value::Enum(3, "return".into())),
            (
                "reason".into(),
                Value::Union(1, Box::new(Value::String("not ours".into()))),
            ),
            ("at_ms".into(), Value::TimestampMillis(T0)),
        ]),
    );
    let newer_datum = encode_value(
        &newer,
        Value::Record(vec![
            ("update_id".into(), Value::String("u-8".into())),
            ("order_id".into(), Value::String("WO-8".into())),
            ("department".into(), Value::String("water".into())),
            ("action".into(), Value::Enum(2, "resolve".into())),
            ("note".into(), Value::Union(0, Box::new(Value::Null))),
            ("reason".into(), Value::Union(0, Box::new(Value::Null))),
            (
                "requested_deadline_ms".into(),
                Value::Union(1, Box::new(Value::TimestampMillis(T0 + 1))),
            ),
            ("at_ms".into(), Value::TimestampMillis(T0 + 2)),
            (
                "photo_url".into(),
                Value::Union(1, Box::new(Value::String("s3://p.jpg".into()))),
            ),
        ]),
    );

    let codec = Codec::with_registry(&url).unwrap();
    let from_older: DepartmentUpdate = codec
        .decode(&confluent(older_id, &older_datum))
        .await
        .unwrap();
    assert_eq!(
        from_older,
        DepartmentUpdate {
            update_id: "u-7".into(),
            order_id: "WO-7".into(),
            department: "water".into(),
            action: UpdateAction::Return,
            note: None,
            reason: Some("not ours".into()),
            requested_deadline_ms: None,
            at_ms: T0,
        }
    );
    let from_newer: DepartmentUpdate = codec
        .decode(&confluent(newer_id, &newer_datum))
        .await
        .unwrap();
    assert_eq!(from_newer.action, UpdateAction::Resolve);
    assert_eq!(from_newer.requested_deadline_ms, Some(T0 + 1));
    assert_eq!(from_newer.at_ms, T0 + 2);

    // A writer schema the current one cannot read: the error names it.
    let broken = department_update_variant(|fields| fields.retain(|f| f["name"] != "department"));
    let broken_id = seed(&stub, &broken);
    let broken_datum = encode_value(
        &broken,
        Value::Record(vec![
            ("update_id".into(), Value::String("u-9".into())),
            ("order_id".into(), Value::String("WO-9".into())),
            ("action".into(), Value::Enum(0, "accept".into())),
            ("note".into(), Value::Union(0, Box::new(Value::Null))),
            ("reason".into(), Value::Union(0, Box::new(Value::Null))),
            (
                "requested_deadline_ms".into(),
                Value::Union(0, Box::new(Value::Null)),
            ),
            ("at_ms".into(), Value::TimestampMillis(T0)),
        ]),
    );
    let err = codec
        .decode::<DepartmentUpdate>(&confluent(broken_id, &broken_datum))
        .await
        .unwrap_err();
    assert!(matches!(err, AvroError::Incompatible { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.starts_with(&format!(
            "writer schema city.cityops.DepartmentUpdate (registry id {broken_id}, fingerprint 0x"
        )),
        "{message}"
    );
    assert!(
        message
            .contains("cannot be read with the current schema city.cityops.DepartmentUpdate v1: "),
        "{message}"
    );
    assert!(!err.is_retryable());
}

#[tokio::test]
async fn a_registry_id_of_another_type_is_named_in_the_error() {
    let (url, _stub) = stub_registry().await;
    let codec = Codec::with_registry(&url).unwrap();
    let bytes = codec
        .encode("city.telemetry.v1", &reading_full())
        .await
        .unwrap();
    let err = codec.decode::<CityEvent>(&bytes).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "value was written with schema city.cityops.Reading v1 (registry id 1), cannot decode \
         it as city.cityops.CityEvent"
    );
    let back: Reading = codec.decode(&bytes).await.unwrap();
    assert_eq!(back, reading_full());
}

#[tokio::test]
async fn registry_failures_say_where_and_whether_to_retry() {
    // Nothing listens on a port that was just released.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let codec = Codec::with_registry(&format!("http://{addr}/")).unwrap();
    let err = codec
        .encode("city.events.v1", &city_event_min())
        .await
        .unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "schema registry unreachable at http://{addr}/subjects/city.events.v1-value/versions: "
        )),
        "{err}"
    );
    assert!(err.is_retryable());

    let (url, stub) = stub_registry().await;
    let codec = Codec::with_registry(&url).unwrap();
    let err = codec
        .decode::<CityEvent>(&confluent(42, &[]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "schema registry at {url}/schemas/ids/42 answered HTTP 404: \
             {{\"error_code\":40403,\"message\":\"Schema not found\"}}"
        )
    );
    assert!(!err.is_retryable());

    stub.lock().unwrap().fail_with = Some(StatusCode::INTERNAL_SERVER_ERROR);
    let err = codec
        .register::<Reading>("city.telemetry.v1")
        .await
        .unwrap_err();
    assert!(
        matches!(err, AvroError::RegistryStatus { status: 500, .. }),
        "{err}"
    );
    assert!(err.is_retryable());
    // A failure is not cached: the next call asks again and succeeds.
    stub.lock().unwrap().fail_with = None;
    assert_eq!(
        codec
            .register::<Reading>("city.telemetry.v1")
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(stub.lock().unwrap().posts, 2);
}

#[tokio::test]
async fn services_wait_out_a_registry_outage_but_not_a_missing_id() {
    let (url, stub) = stub_registry().await;
    let producer = Codec::with_registry(&url).unwrap();
    let bytes = producer
        .encode("city.events.v1", &city_event_full())
        .await
        .unwrap();
    let consumer = Codec::with_registry(&url).unwrap();
    assert!(consumer.writer_schema_wait(&bytes).is_some());
    assert!(Codec::single_object().writer_schema_wait(&bytes).is_none());

    // Decoding: the consumer keeps asking while the registry fails, and decodes once it is back.
    stub.lock().unwrap().fail_with = Some(StatusCode::SERVICE_UNAVAILABLE);
    let waiting = tokio::spawn({
        let (consumer, bytes) = (consumer.clone(), bytes.clone());
        async move { consumer.decode_waiting::<CityEvent>(&bytes).await }
    });
    cityops_testkit::eventually(
        "three attempts at the failing registry",
        std::time::Duration::from_secs(20),
        || async { (stub.lock().unwrap().gets >= 3).then_some(()) },
    )
    .await;
    assert!(!waiting.is_finished(), "an outage must not fail the value");
    stub.lock().unwrap().fail_with = None;
    assert_eq!(waiting.await.unwrap().unwrap(), city_event_full());
    assert!(consumer.writer_schema_wait(&bytes).is_none());

    // An id the registry does not have is the value's own fault: an error at once.
    let unknown = confluent(99, &bytes[5..]);
    let err = consumer
        .decode_waiting::<CityEvent>(&unknown)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AvroError::RegistryStatus { status: 404, .. }),
        "{err}"
    );

    // Registering waits out an outage too, after which encoding needs no network.
    stub.lock().unwrap().fail_with = Some(StatusCode::SERVICE_UNAVAILABLE);
    let posts_before = stub.lock().unwrap().posts;
    let registering = tokio::spawn({
        let consumer = consumer.clone();
        async move {
            consumer
                .register_waiting::<Reading>("city.telemetry.v1")
                .await
        }
    });
    cityops_testkit::eventually(
        "two attempts at registering",
        std::time::Duration::from_secs(20),
        || async { (stub.lock().unwrap().posts >= posts_before + 2).then_some(()) },
    )
    .await;
    assert!(!registering.is_finished());
    stub.lock().unwrap().fail_with = None;
    registering.await.unwrap().unwrap();
    consumer
        .encode_cached("city.telemetry.v1", &reading_full())
        .unwrap();
}
