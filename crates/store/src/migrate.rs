//! Schema migrations: the `schemas/clickhouse/NNN_name.sql` files, applied in order and
//! recorded in `schema_migrations`.
//!
//! - The files are embedded in the binary ([`embedded`]) with `include_str!`, so a deployed
//!   binary carries exactly the schema it was built and tested with; a test checks that the
//!   embedded list is the directory's. [`ClickHouseConfig::migrations_dir`] (or
//!   [`from_dir`]) reads a directory instead.
//! - [`migrate`] creates the database when missing, then applies each file not yet recorded,
//!   statement by statement (ClickHouse's HTTP interface takes one statement per request;
//!   a file may hold several, separated by `;`), and records it with its SHA-256.
//! - It is idempotent (a second run applies nothing) and refuses to run when a recorded
//!   file has changed: an applied migration is history, a change goes into a new file.
//! - A file is recorded only after all its statements succeeded. If one fails, the next run
//!   runs the file again from its first statement, so statements must be re-runnable
//!   (`CREATE TABLE IF NOT EXISTS`, `CREATE MATERIALIZED VIEW IF NOT EXISTS`).

use crate::config::{ClickHouseConfig, ConfigError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

/// The table that records applied migrations (created by [`migrate`] itself).
pub const MIGRATIONS_TABLE: &str = "schema_migrations";

const CREATE_MIGRATIONS_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations
(
    version     UInt32,
    name        String,
    checksum    String,
    applied_at  DateTime('UTC')
)
ENGINE = ReplacingMergeTree()
ORDER BY version";

macro_rules! embed {
    ($($file:literal),* $(,)?) => {
        &[$(($file, include_str!(concat!("../../../schemas/clickhouse/", $file)))),*]
    };
}

/// The migration files compiled into the binary, in order. Adding a migration: create
/// `schemas/clickhouse/NNN_name.sql` and add its name here (a unit test fails until both
/// agree).
const EMBEDDED: &[(&str, &str)] = embed!(
    "001_events.sql",
    "002_incidents.sql",
    "003_telemetry.sql",
    "004_workorders.sql",
    "005_dead_letters.sql",
    "006_cockpit_views.sql",
    "007_department_kpis.sql",
    "008_drop_creation_day_kpis.sql",
);

/// One migration file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Migration {
    /// The `NNN` of `NNN_name.sql`.
    pub version: u32,
    /// The `name` of `NNN_name.sql`.
    pub name: String,
    /// The file name, `NNN_name.sql`.
    pub file: String,
    pub sql: String,
    /// Hex SHA-256 of the file ([`checksum`]).
    pub checksum: String,
}

impl Migration {
    /// A migration from its file name and contents. The name must be `NNN_name.sql`: three
    /// or more digits, `_`, then lowercase letters, digits and `_`.
    pub fn parse(file: &str, sql: &str) -> Result<Self, MigrationError> {
        let bad_name = || MigrationError::FileName {
            file: file.to_owned(),
        };
        let stem = file.strip_suffix(".sql").ok_or_else(bad_name)?;
        let (digits, name) = stem.split_once('_').ok_or_else(bad_name)?;
        let name_ok = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if digits.len() < 3 || !digits.chars().all(|c| c.is_ascii_digit()) || !name_ok {
            return Err(bad_name());
        }
        let version = digits.parse().map_err(|_| bad_name())?;
        let migration = Self {
            version,
            name: name.to_owned(),
            file: file.to_owned(),
            sql: sql.to_owned(),
            checksum: checksum(sql),
        };
        if migration.statements().is_empty() {
            return Err(MigrationError::Empty {
                file: file.to_owned(),
            });
        }
        Ok(migration)
    }

    /// The file's statements, in order, without their trailing `;`.
    pub fn statements(&self) -> Vec<&str> {
        split_statements(&self.sql)
    }
}

/// The migrations embedded in the binary, in version order.
pub fn embedded() -> Result<Vec<Migration>, MigrationError> {
    let migrations = EMBEDDED
        .iter()
        .map(|(file, sql)| Migration::parse(file, sql))
        .collect::<Result<Vec<_>, _>>()?;
    ordered(migrations)
}

/// The `*.sql` files of `dir`, in version order. Other files are ignored; a `.sql` file that
/// is not named `NNN_name.sql` is an error (rather than silently skipped).
pub fn from_dir(dir: &Path) -> Result<Vec<Migration>, MigrationError> {
    let read_err = |path: &Path, source| MigrationError::Read {
        path: path.to_owned(),
        source,
    };
    let mut migrations = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| read_err(dir, e))? {
        let path = entry.map_err(|e| read_err(dir, e))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("sql") {
            continue;
        }
        let file =
            path.file_name()
                .and_then(|n| n.to_str())
                .ok_or_else(|| MigrationError::FileName {
                    file: path.display().to_string(),
                })?;
        let sql = std::fs::read_to_string(&path).map_err(|e| read_err(&path, e))?;
        migrations.push(Migration::parse(file, &sql)?);
    }
    ordered(migrations)
}

/// The migrations [`migrate`] applies for `config`: its directory when set, else the
/// embedded ones.
pub fn configured(config: &ClickHouseConfig) -> Result<Vec<Migration>, MigrationError> {
    match &config.migrations_dir {
        Some(dir) => from_dir(dir),
        None => embedded(),
    }
}

fn ordered(mut migrations: Vec<Migration>) -> Result<Vec<Migration>, MigrationError> {
    migrations.sort_by(|a, b| a.version.cmp(&b.version).then(a.file.cmp(&b.file)));
    for pair in migrations.windows(2) {
        if pair[0].version == pair[1].version {
            return Err(MigrationError::DuplicateVersion {
                version: pair[0].version,
                first: pair[0].file.clone(),
                second: pair[1].file.clone(),
            });
        }
    }
    Ok(migrations)
}

/// Hex SHA-256 of a migration's text, with CRLF line ends read as LF (so a checkout on
/// Windows does not look like a changed migration).
pub fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.replace("\r\n", "\n").as_bytes()))
}

/// Splits SQL text into statements at `;`, ignoring `;` inside string literals, quoted
/// identifiers and comments. Each statement runs from its first to its last character of
/// code (comments before and after it are left out); statements that are only comments or
/// whitespace are dropped.
pub fn split_statements(sql: &str) -> Vec<&str> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        Code,
        Quoted(u8),
        LineComment,
        BlockComment,
    }
    let bytes = sql.as_bytes();
    let mut statements = Vec::new();
    let mut state = State::Code;
    // The current statement: its first code byte and the end of its last one.
    let mut span: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let next = bytes.get(i + 1).copied();
        match state {
            State::Code => match b {
                b';' => {
                    if let Some((start, end)) = span.take() {
                        statements.push(&sql[start..end]);
                    }
                }
                b'-' if next == Some(b'-') => {
                    state = State::LineComment;
                    i += 1;
                }
                b'/' if next == Some(b'*') => {
                    state = State::BlockComment;
                    i += 1;
                }
                b if b.is_ascii_whitespace() => {}
                _ => {
                    let start = span.map_or(i, |(s, _)| s);
                    span = Some((start, i + 1));
                    if matches!(b, b'\'' | b'"' | b'`') {
                        state = State::Quoted(b);
                    }
                }
            },
            State::Quoted(q) => {
                if b == b'\\' {
                    i += 1; // skip the escaped byte
                } else if b == q {
                    if next == Some(q) {
                        i += 1; // a doubled quote is an escaped quote
                    } else {
                        state = State::Code;
                    }
                }
                if let Some((start, _)) = span {
                    span = Some((start, (i + 1).min(bytes.len())));
                }
            }
            State::LineComment => {
                if b == b'\n' {
                    state = State::Code;
                }
            }
            State::BlockComment => {
                if b == b'*' && next == Some(b'/') {
                    state = State::Code;
                    i += 1;
                }
            }
        }
        i += 1;
    }
    if let Some((start, end)) = span {
        statements.push(&sql[start..end]);
    }
    statements
}

/// A migration recorded in `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq, clickhouse::Row, Serialize, Deserialize)]
pub struct AppliedMigration {
    pub version: u32,
    pub name: String,
    pub checksum: String,
    /// Seconds since the epoch, UTC.
    pub applied_at: u32,
}

/// What [`plan`] found: which migrations to apply, and what the database has that the
/// files do not.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// Versions to apply, in order.
    pub pending: Vec<u32>,
    /// Applied versions with no file (a database migrated by a newer binary).
    pub unknown: Vec<AppliedMigration>,
}

/// Compares the files with what the database recorded. Pure: no I/O.
///
/// Refuses ([`MigrationError::ChecksumMismatch`]) when an applied file changed.
pub fn plan(
    migrations: &[Migration],
    applied: &[AppliedMigration],
) -> Result<Plan, MigrationError> {
    let recorded: BTreeMap<u32, &AppliedMigration> =
        applied.iter().map(|a| (a.version, a)).collect();
    let mut plan = Plan::default();
    for m in migrations {
        match recorded.get(&m.version) {
            Some(a) if a.checksum != m.checksum => {
                return Err(MigrationError::ChecksumMismatch {
                    file: m.file.clone(),
                    recorded: a.checksum.clone(),
                    current: m.checksum.clone(),
                });
            }
            Some(_) => {}
            None => plan.pending.push(m.version),
        }
    }
    plan.unknown = applied
        .iter()
        .filter(|a| !migrations.iter().any(|m| m.version == a.version))
        .cloned()
        .collect();
    Ok(plan)
}

/// What a [`migrate`] run did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MigrationReport {
    pub database: String,
    /// Files applied by this run, in order.
    pub applied: Vec<String>,
    /// How many files were already applied.
    pub already_applied: usize,
    /// Applied versions that no file describes (see [`Plan::unknown`]); logged as a warning.
    pub unknown: Vec<AppliedMigration>,
}

/// Why migrations could not be applied. Nothing is recorded for a file that failed.
#[derive(Debug, thiserror::Error)]
pub enum MigrationError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot read migrations at {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "migration file {file:?} is not named NNN_name.sql (three or more digits, `_`, then \
         lowercase letters, digits or `_`): rename it"
    )]
    FileName { file: String },
    #[error("migration files {first} and {second} have the same version {version}: renumber one")]
    DuplicateVersion {
        version: u32,
        first: String,
        second: String,
    },
    #[error("migration file {file} holds no statement: remove it or add its statements")]
    Empty { file: String },
    #[error(
        "migration {file} was already applied with checksum {recorded}, but the file now has \
         checksum {current}. An applied migration must never change: restore the file as it \
         was applied and put the change in a new migration (the next NNN_name.sql)"
    )]
    ChecksumMismatch {
        file: String,
        recorded: String,
        current: String,
    },
    #[error(
        "cannot create database {database}: {source} (check clickhouse.url and that the user \
         may create databases, or create it yourself)"
    )]
    CreateDatabase {
        database: String,
        source: clickhouse::error::Error,
    },
    #[error(
        "cannot {action} {MIGRATIONS_TABLE} in database {database}: {source}{hint}",
        hint = crate::classify::old_server_hint(source)
    )]
    Bookkeeping {
        action: &'static str,
        database: String,
        source: clickhouse::error::Error,
    },
    #[error(
        "migration {file}, statement {number} ({preview}...) failed: {source}. The file is not \
         recorded as applied; fix it (or the server) and run again: statements already run \
         will run again, so each must be re-runnable (IF NOT EXISTS)"
    )]
    Statement {
        file: String,
        number: usize,
        preview: String,
        source: clickhouse::error::Error,
    },
}

/// Applies the migrations of `config` ([`configured`]) to its database.
pub async fn migrate(config: &ClickHouseConfig) -> Result<MigrationReport, MigrationError> {
    let migrations = configured(config)?;
    apply(config, &migrations).await
}

/// Runs every statement of every migration of `config` again, in order: recreates a table or
/// view that was dropped (every statement is idempotent: `IF NOT EXISTS` / `IF EXISTS`), so a
/// table can be rebuilt from its topic (`cityops replay`). Applies pending migrations first.
pub async fn repair(config: &ClickHouseConfig) -> Result<MigrationReport, MigrationError> {
    let migrations = configured(config)?;
    let report = apply(config, &migrations).await?;
    let client = config.client();
    for m in &migrations {
        for (index, statement) in m.statements().into_iter().enumerate() {
            client
                .query_raw(statement)
                .execute()
                .await
                .map_err(|source| MigrationError::Statement {
                    file: m.file.clone(),
                    number: index + 1,
                    preview: preview(statement),
                    source,
                })?;
        }
    }
    Ok(report)
}

/// Applies `migrations` (ordered, as [`embedded`] and [`from_dir`] return them) to the
/// database of `config`, creating it when missing.
pub async fn apply(
    config: &ClickHouseConfig,
    migrations: &[Migration],
) -> Result<MigrationReport, MigrationError> {
    config.validate()?;
    let database = config.database.clone();

    config
        .server_client()
        .query_raw(&format!("CREATE DATABASE IF NOT EXISTS `{database}`"))
        .execute()
        .await
        .map_err(|source| MigrationError::CreateDatabase {
            database: database.clone(),
            source,
        })?;

    let client = config.client();
    let bookkeeping = |action| {
        let database = database.clone();
        move |source| MigrationError::Bookkeeping {
            action,
            database,
            source,
        }
    };
    client
        .query_raw(CREATE_MIGRATIONS_TABLE)
        .execute()
        .await
        .map_err(bookkeeping("create"))?;
    let applied = client
        .query("SELECT ?fields FROM schema_migrations FINAL ORDER BY version")
        .fetch_all::<AppliedMigration>()
        .await
        .map_err(bookkeeping("read"))?;

    let plan = plan(migrations, &applied)?;
    for unknown in &plan.unknown {
        tracing::warn!(
            database = %database,
            version = unknown.version,
            name = %unknown.name,
            "database has a migration this binary does not know (migrated by a newer version?)"
        );
    }

    let mut report = MigrationReport {
        database: database.clone(),
        already_applied: migrations.len() - plan.pending.len(),
        unknown: plan.unknown.clone(),
        ..Default::default()
    };
    for m in migrations
        .iter()
        .filter(|m| plan.pending.contains(&m.version))
    {
        for (index, statement) in m.statements().into_iter().enumerate() {
            client
                .query_raw(statement)
                .execute()
                .await
                .map_err(|source| MigrationError::Statement {
                    file: m.file.clone(),
                    number: index + 1,
                    preview: preview(statement),
                    source,
                })?;
        }
        let record = AppliedMigration {
            version: m.version,
            name: m.name.clone(),
            checksum: m.checksum.clone(),
            applied_at: now_secs(),
        };
        let mut insert = client
            .insert::<AppliedMigration>(MIGRATIONS_TABLE)
            .await
            .map_err(bookkeeping("record a migration in"))?;
        insert
            .write(&record)
            .await
            .map_err(bookkeeping("record a migration in"))?;
        insert
            .end()
            .await
            .map_err(bookkeeping("record a migration in"))?;
        tracing::info!(database = %database, file = %m.file, "applied migration");
        report.applied.push(m.file.clone());
    }
    Ok(report)
}

fn preview(statement: &str) -> String {
    statement
        .split_whitespace()
        .take(6)
        .collect::<Vec<_>>()
        .join(" ")
}

fn now_secs() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs).unwrap_or(u32::MAX)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn embedded_list_is_the_directory() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/clickhouse");
        let on_disk = from_dir(&dir).unwrap();
        let embedded = embedded().unwrap();
        let names = |ms: &[Migration]| ms.iter().map(|m| m.file.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(&embedded),
            names(&on_disk),
            "add every schemas/clickhouse/*.sql file to EMBEDDED in crates/store/src/migrate.rs"
        );
        assert_eq!(embedded, on_disk);
    }

    #[test]
    fn embedded_migrations_avoid_what_18_16_lacks() {
        for m in embedded().unwrap() {
            for statement in m.statements() {
                let code: String = statement
                    .lines()
                    .map(|l| l.split("--").next().unwrap_or(""))
                    .collect::<Vec<_>>()
                    .join("\n")
                    .to_uppercase();
                for word in [
                    "DATETIME64",
                    "MAP(",
                    "LOWCARDINALITY",
                    "TTL",
                    " BOOL",
                    "JSON",
                ] {
                    assert!(!code.contains(word), "{} uses {word}", m.file);
                }
            }
        }
    }

    #[test]
    fn file_names() {
        let m = Migration::parse("007_add_index.sql", "SELECT 1").unwrap();
        assert_eq!((m.version, m.name.as_str()), (7, "add_index"));
        for bad in [
            "7_x.sql",
            "007-x.sql",
            "007_.sql",
            "007_X.sql",
            "007_x.txt",
            "abc_x.sql",
        ] {
            assert!(
                matches!(
                    Migration::parse(bad, "SELECT 1"),
                    Err(MigrationError::FileName { .. })
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Migration::parse("008_empty.sql", "-- nothing here\n"),
            Err(MigrationError::Empty { .. })
        ));
    }

    #[test]
    fn duplicate_versions_are_refused() {
        let a = Migration::parse("001_a.sql", "SELECT 1").unwrap();
        let b = Migration::parse("001_b.sql", "SELECT 2").unwrap();
        let e = ordered(vec![b, a]).unwrap_err();
        assert!(e.to_string().contains("001_a.sql and 001_b.sql"), "{e}");
    }

    #[test]
    fn splits_statements_outside_strings_and_comments() {
        let sql = "-- header; with a semicolon and the order's apostrophe\n\
                   CREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory;\n\
                   /* block; comment */\n\
                   SELECT 'it''s; fine', \"odd;name\", `q;`, 'esc\\';' FROM b ;\n\
                   -- trailing comment only; still only a comment\n";
        assert_eq!(
            split_statements(sql),
            vec![
                "CREATE TABLE a (x String DEFAULT 'a;b') ENGINE = Memory",
                "SELECT 'it''s; fine', \"odd;name\", `q;`, 'esc\\';' FROM b",
            ]
        );
        assert_eq!(split_statements("SELECT 1"), vec!["SELECT 1"]);
        assert_eq!(
            split_statements("SELECT 1 -- done\n-- bye\n"),
            vec!["SELECT 1"]
        );
        assert_eq!(
            split_statements("SELECT 1, -- one\n 2 /* two */;"),
            vec!["SELECT 1, -- one\n 2"]
        );
        assert!(split_statements(" ;; -- x\n /* y */ ").is_empty());
    }

    #[test]
    fn every_embedded_file_splits_into_ddl_statements() {
        for m in embedded().unwrap() {
            for s in m.statements() {
                assert!(
                    ["CREATE ", "DROP TABLE IF EXISTS ", "ALTER TABLE "]
                        .iter()
                        .any(|p| s.starts_with(p)),
                    "{}: {s}",
                    m.file
                );
            }
        }
    }

    #[test]
    fn checksum_ignores_crlf_only() {
        assert_eq!(checksum("SELECT 1\r\n"), checksum("SELECT 1\n"));
        assert_ne!(checksum("SELECT 1\n"), checksum("SELECT 2\n"));
        assert_eq!(checksum("").len(), 64);
    }

    fn applied(m: &Migration, checksum: &str) -> AppliedMigration {
        AppliedMigration {
            version: m.version,
            name: m.name.clone(),
            checksum: checksum.to_owned(),
            applied_at: 0,
        }
    }

    #[test]
    fn plan_applies_what_is_missing() {
        let a = Migration::parse("001_a.sql", "SELECT 1").unwrap();
        let b = Migration::parse("002_b.sql", "SELECT 2").unwrap();
        let p = plan(&[a.clone(), b.clone()], &[]).unwrap();
        assert_eq!(p.pending, vec![1, 2]);
        let p = plan(&[a.clone(), b.clone()], &[applied(&a, &a.checksum)]).unwrap();
        assert_eq!(p.pending, vec![2]);
        let all = [applied(&a, &a.checksum), applied(&b, &b.checksum)];
        assert_eq!(
            plan(&[a.clone(), b.clone()], &all).unwrap(),
            Plan::default()
        );
        // A database migrated further than these files.
        let p = plan(std::slice::from_ref(&a), &all).unwrap();
        assert!(p.pending.is_empty());
        assert_eq!(p.unknown, vec![applied(&b, &b.checksum)]);
    }

    #[test]
    fn plan_refuses_a_changed_file_naming_both_checksums() {
        let a = Migration::parse("001_a.sql", "SELECT 1").unwrap();
        let old = "0".repeat(64);
        let e = plan(std::slice::from_ref(&a), &[applied(&a, &old)]).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("001_a.sql"), "{text}");
        assert!(text.contains(&old), "{text}");
        assert!(text.contains(&a.checksum), "{text}");
        assert!(text.contains("new migration"), "{text}");
    }
}
