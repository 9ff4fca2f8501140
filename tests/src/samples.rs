//! Domain values for the tests (from `cityops_testkit::samples`), and the ClickHouse client of a
//! test database.

use cityops_store::{ClickHouseConfig, Compression};
pub use cityops_testkit::samples::{reading, ticket};

/// A client of `database` on the ClickHouse at `url`, set for the local 18.16.
pub fn clickhouse(url: &str, database: &str) -> clickhouse::Client {
    ClickHouseConfig {
        url: url.to_owned(),
        database: database.to_owned(),
        validation: false,
        compression: Compression::None,
        ..ClickHouseConfig::default()
    }
    .client()
}
