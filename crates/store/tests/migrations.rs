//! Migrations against the local ClickHouse (18.16): they apply on a fresh database, a second
//! run applies nothing, and a changed applied file is refused.

#![allow(clippy::unwrap_used)]

mod common;

use cityops_store::migrate::{self, MigrationError};
use std::path::PathBuf;

#[derive(clickhouse::Row, serde::Deserialize, Debug)]
struct TableInfo {
    name: String,
    engine: String,
}

#[tokio::test]
async fn every_migration_applies_on_a_fresh_database_and_a_second_run_is_a_no_op() {
    let config = common::fresh_config().await;
    let files: Vec<String> = migrate::embedded()
        .unwrap()
        .into_iter()
        .map(|m| m.file)
        .collect();

    let first = cityops_store::migrate(&config).await.unwrap();
    assert_eq!(first.applied, files);
    assert_eq!(first.already_applied, 0);
    assert_eq!(first.database, config.database);

    let second = cityops_store::migrate(&config).await.unwrap();
    assert!(second.applied.is_empty(), "{second:?}");
    assert_eq!(second.already_applied, files.len());

    let client = config.client();
    let tables = client
        .query("SELECT name, engine FROM system.tables WHERE database = ? ORDER BY name")
        .bind(&config.database)
        .fetch_all::<TableInfo>()
        .await
        .unwrap();
    let engine = |name: &str| {
        tables
            .iter()
            .find(|t| t.name == name)
            .map(|t| t.engine.as_str())
            .unwrap_or_else(|| panic!("table {name} missing from {tables:?}"))
    };
    for table in [
        "events",
        "incidents",
        "telemetry",
        "workorder_events",
        "workorders",
        "dead_letters",
        "schema_migrations",
    ] {
        assert_eq!(engine(table), "ReplacingMergeTree", "{table}");
    }
    assert_eq!(engine("incidents_per_minute"), "AggregatingMergeTree");
    assert_eq!(engine("incidents_per_minute_mv"), "MaterializedView");
    assert_eq!(engine("department_kpis_daily"), "View");

    let recorded: u64 = client
        .query("SELECT count() FROM schema_migrations FINAL")
        .fetch_one()
        .await
        .unwrap();
    assert_eq!(recorded, files.len() as u64);

    common::drop_database(&config).await;
}

/// A directory holding copies of the embedded migrations, for changing one.
struct TempMigrations(PathBuf);

impl TempMigrations {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(cityops_testkit::unique_name("store_migrations"));
        std::fs::create_dir_all(&dir).unwrap();
        for m in migrate::embedded().unwrap() {
            std::fs::write(dir.join(&m.file), &m.sql).unwrap();
        }
        Self(dir)
    }
}

impl Drop for TempMigrations {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[tokio::test]
async fn a_changed_applied_migration_is_refused() {
    let mut config = common::fresh_config().await;
    let dir = TempMigrations::new();
    config.migrations_dir = Some(dir.0.clone());
    cityops_store::migrate(&config).await.unwrap();

    // Someone edits an applied file instead of adding a migration.
    let file = "003_telemetry.sql";
    let path = dir.0.join(file);
    let original = std::fs::read_to_string(&path).unwrap();
    let recorded = migrate::checksum(&original);
    let edited = original.replace("grid_code       Nullable(String)", "grid_code String");
    assert_ne!(edited, original);
    std::fs::write(&path, &edited).unwrap();

    let err = cityops_store::migrate(&config).await.unwrap_err();
    match &err {
        MigrationError::ChecksumMismatch {
            file: f,
            recorded: r,
            current,
        } => {
            assert_eq!(f, file);
            assert_eq!(r, &recorded);
            assert_eq!(current, &migrate::checksum(&edited));
        }
        other => panic!("expected a checksum mismatch, got {other}"),
    }
    let message = err.to_string();
    assert!(message.contains(file), "{message}");
    assert!(message.contains(&recorded), "{message}");
    assert!(message.contains("new migration"), "{message}");

    // A new migration beside the restored file is the way: it applies.
    std::fs::write(&path, &original).unwrap();
    let firmware = format!("{:03}_telemetry_firmware.sql", next_version());
    std::fs::write(
        dir.0.join(&firmware),
        "-- firmware version of the reporting device\n\
         ALTER TABLE telemetry ADD COLUMN firmware String DEFAULT '';",
    )
    .unwrap();
    let report = cityops_store::migrate(&config).await.unwrap();
    assert_eq!(report.applied, vec![firmware]);

    common::drop_database(&config).await;
}

#[tokio::test]
async fn a_failing_statement_names_the_file_and_records_nothing() {
    let mut config = common::fresh_config().await;
    let dir = TempMigrations::new();
    let broken = format!("{:03}_broken.sql", next_version());
    std::fs::write(
        dir.0.join(&broken),
        "CREATE TABLE IF NOT EXISTS fine (x UInt8) ENGINE = MergeTree() ORDER BY x;\n\
         CREATE TABLE oops (x UInt8) ENGINE = NoSuchEngine;",
    )
    .unwrap();
    config.migrations_dir = Some(dir.0.clone());

    let err = cityops_store::migrate(&config).await.unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(&err, MigrationError::Statement { file, number: 2, .. } if *file == broken),
        "{message}"
    );
    assert!(message.contains("re-runnable"), "{message}");

    // Fixed, it applies: its first statement runs again harmlessly.
    std::fs::write(
        dir.0.join(&broken),
        "CREATE TABLE IF NOT EXISTS fine (x UInt8) ENGINE = MergeTree() ORDER BY x;",
    )
    .unwrap();
    let report = cityops_store::migrate(&config).await.unwrap();
    assert_eq!(report.applied, vec![broken]);
    assert_eq!(report.already_applied, migrate::embedded().unwrap().len());

    common::drop_database(&config).await;
}

/// The version a new migration would take after the shipped ones.
fn next_version() -> u32 {
    migrate::embedded().unwrap().last().unwrap().version + 1
}
