//! Shared by the integration tests: a fresh database on the local ClickHouse (`make up`).

#![allow(dead_code, clippy::unwrap_used)]

pub mod fixtures;

use cityops_store::{ClickHouseConfig, Compression};

/// A configuration for a database no other test uses, on the local ClickHouse 18.16
/// (validation and compression off, as 18.16 needs). Fails the test when the server is down.
pub async fn fresh_config() -> ClickHouseConfig {
    let url = cityops_testkit::require_clickhouse().await;
    ClickHouseConfig {
        url,
        database: cityops_testkit::unique_name("store_test"),
        validation: false,
        compression: Compression::None,
        ..ClickHouseConfig::default()
    }
}

/// A fresh database with every migration applied.
pub async fn migrated() -> ClickHouseConfig {
    let config = fresh_config().await;
    cityops_store::migrate(&config).await.unwrap();
    config
}

/// Drops the test's own database (only that one).
pub async fn drop_database(config: &ClickHouseConfig) {
    assert!(config.database.starts_with("store_test_"));
    config
        .server_client()
        .query_raw(&format!("DROP DATABASE IF EXISTS `{}`", config.database))
        .execute()
        .await
        .unwrap();
}

/// `SELECT count() FROM <table> FINAL`.
pub async fn count_final(config: &ClickHouseConfig, table: &str) -> u64 {
    config
        .client()
        .query_raw(&format!("SELECT count() FROM `{table}` FINAL"))
        .fetch_one::<u64>()
        .await
        .unwrap()
}
