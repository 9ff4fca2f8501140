//! The single-object framing and the codec's error messages (what a dead-lettered record
//! carries as its reason).
#![allow(clippy::unwrap_used)]

mod common;

use apache_avro::headers::{HeaderBuilder, RabinFingerprintHeader};
use cityops_avro::{AvroError, Codec, Fingerprint, Framing, TopicValue, ValueKind};
use cityops_core::{CityEvent, DepartmentUpdate, Reading};
use common::*;

#[test]
fn codec_is_shareable_across_tasks() {
    fn assert_send_sync_clone<T: Send + Sync + Clone + 'static>() {}
    assert_send_sync_clone::<Codec>();
    assert_eq!(Codec::single_object().framing(), Framing::SingleObject);
    assert_eq!(Codec::single_object().registry_url(), None);
}

#[test]
fn single_object_layout_is_magic_fingerprint_datum() {
    let codec = Codec::single_object();
    let event = city_event_full();
    let bytes = codec.encode_cached("city.events.v1", &event).unwrap();
    assert_eq!(&bytes[..2], &[0xc3, 0x01]);
    let fingerprint = CityEvent::value_schema().fingerprint();
    assert_eq!(&bytes[2..10], &fingerprint.to_le_bytes());
    // The datum is plain Avro binary: the first field is event_id, a zigzag-length string.
    assert_eq!(bytes[10], 36 * 2);
    assert_eq!(&bytes[11..47], event.event_id.as_bytes());
}

#[tokio::test]
async fn async_and_cached_paths_agree_in_single_object_mode() {
    let codec = Codec::single_object();
    let reading = reading_full();
    assert_eq!(
        codec
            .register::<Reading>("city.telemetry.v1")
            .await
            .unwrap(),
        None
    );
    let a = codec.encode("city.telemetry.v1", &reading).await.unwrap();
    let b = codec.encode_cached("city.telemetry.v1", &reading).unwrap();
    assert_eq!(a, b);
    let back: Reading = codec.decode(&a).await.unwrap();
    assert_eq!(back, reading);
}

#[test]
fn values_from_the_apache_avro_single_object_writer_are_accepted() {
    // apache-avro 0.22 computes a non-standard fingerprint for schemas with logical types; its
    // header is accepted as an alias of the standard one.
    let update = department_update_full();
    let ours = Codec::single_object()
        .encode_cached("city.dept.x.updates.v1", &update)
        .unwrap();
    let header = RabinFingerprintHeader::from_schema(DepartmentUpdate::value_schema().schema())
        .build_header();
    let mut theirs = header.clone();
    theirs.extend_from_slice(&ours[10..]);
    let back: DepartmentUpdate = Codec::single_object().decode_cached(&theirs).unwrap();
    assert_eq!(back, update);
}

#[test]
fn a_value_of_another_type_is_named_in_the_error() {
    let codec = Codec::single_object();
    let bytes = codec
        .encode_cached("city.telemetry.v1", &reading_full())
        .unwrap();
    let err = codec.decode_cached::<CityEvent>(&bytes).unwrap_err();
    assert!(matches!(err, AvroError::WrongSchema { .. }));
    assert_eq!(
        err.to_string(),
        "value was written with schema city.cityops.Reading v1, cannot decode it as \
         city.cityops.CityEvent"
    );
    assert!(!err.is_retryable());
}

#[test]
fn an_unknown_fingerprint_is_shown() {
    let mut bytes = Codec::single_object()
        .encode_cached("city.events.v1", &city_event_min())
        .unwrap();
    bytes[2..10].copy_from_slice(&0x0123_4567_89ab_cdef_u64.to_le_bytes());
    let err = Codec::single_object()
        .decode_cached::<CityEvent>(&bytes)
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown writer schema fingerprint 0x0123456789abcdef (CRC-64-AVRO): not the current \
         or a historical version of any cityops schema (expected a version of \
         city.cityops.CityEvent)"
    );
    assert!(matches!(
        err,
        AvroError::UnknownFingerprint {
            fingerprint: Fingerprint(0x0123_4567_89ab_cdef),
            ..
        }
    ));
}

#[test]
fn unknown_magic_bytes_are_shown_in_hex() {
    let err = Codec::single_object()
        .decode_cached::<CityEvent>(br#"{"ticket_id":"SY1"}"#)
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("unknown magic bytes: value starts with 7b 22 74 69 63 6b"),
        "{err}"
    );
    let err = Codec::single_object()
        .decode_cached::<CityEvent>(&[])
        .unwrap_err();
    assert!(err.to_string().contains("0 bytes (no bytes)"), "{err}");
}

#[test]
fn a_damaged_datum_names_its_schema() {
    let codec = Codec::single_object();
    let bytes = codec
        .encode_cached("city.events.v1", &city_event_full())
        .unwrap();

    let mut longer = bytes.clone();
    longer.push(0x00);
    let err = codec.decode_cached::<CityEvent>(&longer).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "datum does not match schema city.cityops.CityEvent v1: 1 trailing bytes after the \
             datum's {} bytes",
            bytes.len() - 10
        )
    );

    let shorter = &bytes[..bytes.len() - 3];
    let err = codec.decode_cached::<CityEvent>(shorter).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("datum does not match schema city.cityops.CityEvent v1: "),
        "{err}"
    );
    assert!(matches!(err, AvroError::Decode { .. }));

    // A header alone (no datum) is a damaged datum too, not a panic.
    let err = codec.decode_cached::<CityEvent>(&bytes[..10]).unwrap_err();
    assert!(matches!(err, AvroError::Decode { .. }), "{err}");
}

#[test]
fn confluent_values_need_a_registry() {
    let err = Codec::single_object()
        .decode_cached::<CityEvent>(&[0, 0, 0, 0, 7, 2, 3])
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "value is in the Confluent wire format (schema id 7) but this codec has no schema \
         registry configured"
    );
}

#[test]
fn every_kind_has_a_distinct_schema() {
    for kind in ValueKind::ALL {
        assert_eq!(
            cityops_avro::value_schema(kind).full_name(),
            format!("{}.{kind}", cityops_avro::NAMESPACE)
        );
    }
}
