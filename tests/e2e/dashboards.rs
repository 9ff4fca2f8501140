//! The Grafana dashboards of `dashboards/*.json` against what they read, so a dashboard cannot
//! ship broken:
//! - every panel, query and template variable uses one of the two provisioned datasources
//!   (`deploy/grafana/provisioning/datasources/cityops.yaml`);
//! - every ClickHouse query (panels' `rawSql`, ClickHouse variables' `query`) is expanded as
//!   the ClickHouse plugin (`grafana-clickhouse-datasource` v4) expands its macros, with each
//!   template variable set to `''` (全部 All) and to a real value, and runs over a few seeded
//!   rows in a fresh, migrated database on ClickHouse 18.16 (the local stack, `make up`) and
//!   on a current ClickHouse (chDB, through `scripts/chdb_run.py`, which `make setup` installs);
//!   with every variable set to All each query must return rows;
//! - every `cityops_*` metric a Prometheus query names is emitted by the code under `crates/`.
//!
//! Nothing here skips: without the server or without chdb a test fails and says what to run.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const CLICKHOUSE_UID: &str = "cityops-clickhouse";
const CLICKHOUSE_TYPE: &str = "grafana-clickhouse-datasource";
const PROMETHEUS_UID: &str = "cityops-prometheus";
const PROMETHEUS_TYPE: &str = "prometheus";

/// A real value of each template variable (present in [`SEED`]); `''` (All) is tried too.
/// A dashboard with a variable not listed here fails: add the variable and a value.
const SAMPLES: &[(&str, &str)] = &[("district", "210106"), ("department", "gas")];

/// The macros of the ClickHouse plugin the dashboards may use. `$__timeInterval(c)` expands to
/// `toStartOfInterval`, which ClickHouse 18.16 does not have: bucket with `$__interval_s`.
const MACROS: &[&str] = &[
    "timeFilter",
    "fromTime",
    "toTime",
    "timeInterval",
    "interval_s",
];

/// Rows for the queries to run over, relative to `$NOW` (unix seconds, replaced before they
/// are inserted): incidents today (one re-enriched, one unlocated) and three days ago, work
/// orders in every state the dashboards show (an older version of one), their transitions
/// (warnings, a return, an extension request, callbacks, a rejected attempt) and dead letters
/// (one input dead-lettered twice).
const SEED: &str = r##"INSERT INTO events (event_id, source, source_id, occurred_at, occurred_at_ms, received_at, received_at_ms, text, channel, request_type, reporter_hash) VALUES
('inc-1', 'hotline', 'T-1', toDateTime($NOW - 600), ($NOW - 600) * 1000, toDateTime($NOW - 590), ($NOW - 590) * 1000, '楼道里煤气味很重', 'phone', '求助', 'ab01'),
('inc-2', 'hotline', 'T-2', toDateTime($NOW - 300), ($NOW - 300) * 1000, toDateTime($NOW - 290), ($NOW - 290) * 1000, '路灯不亮', 'app', '投诉', 'ab02');

INSERT INTO incidents (incident_id, source, source_id, occurred_at, occurred_at_ms, received_at_ms, district_code, district_name, street_code, street_name, grid_code, location_precision, scenario, category, severity, actionable, classified_by, confidence, catalogue_version, enriched_at, enriched_at_ms, version) VALUES
('inc-1', 'hotline', 'T-1', toDateTime($NOW - 600), ($NOW - 600) * 1000, ($NOW - 590) * 1000, '210106', '铁西区', '210106001', '兴华街道', '210106001001', 'street', 'gas', 'gas_leak', 'urgent', 1, 'model', 0.9, '2026.1', toDateTime($NOW - 580), ($NOW - 580) * 1000, ($NOW - 580) * 1000),
('inc-1', 'hotline', 'T-1', toDateTime($NOW - 600), ($NOW - 600) * 1000, ($NOW - 590) * 1000, '210106', '铁西区', '210106001', '兴华街道', '210106001001', 'street', 'gas', 'gas_leak', 'critical', 1, 'rule', 1.0, '2026.1', toDateTime($NOW - 570), ($NOW - 570) * 1000, ($NOW - 570) * 1000),
('inc-2', 'hotline', 'T-2', toDateTime($NOW - 300), ($NOW - 300) * 1000, ($NOW - 290) * 1000, '210102', '和平区', '210102001', '太原街街道', NULL, 'street', 'city_management', 'streetlight', 'normal', 1, 'model', 0.91, '2026.1', toDateTime($NOW - 280), ($NOW - 280) * 1000, ($NOW - 280) * 1000),
('inc-3', 'iot', 'SY-HT-7@1', toDateTime($NOW - 120), ($NOW - 120) * 1000, ($NOW - 110) * 1000, '210106', '铁西区', '210106002', '重工街道', NULL, 'point', 'heating', 'heating_outage', 'urgent', 1, 'iot_rule', 1.0, '2026.1', toDateTime($NOW - 100), ($NOW - 100) * 1000, ($NOW - 100) * 1000),
('inc-4', 'hotline', 'T-4', toDateTime($NOW - 60), ($NOW - 60) * 1000, ($NOW - 50) * 1000, NULL, NULL, NULL, NULL, NULL, 'unlocated', 'command_center', 'unclassified', 'info', 0, 'triage', 0.2, '2026.1', toDateTime($NOW - 40), ($NOW - 40) * 1000, ($NOW - 40) * 1000),
('inc-5', 'hotline', 'T-5', toDateTime($NOW - 259200), ($NOW - 259200) * 1000, ($NOW - 259190) * 1000, '210106', '铁西区', '210106001', '兴华街道', NULL, 'street', 'gas', 'gas_smell', 'urgent', 1, 'model', 0.88, '2026.1', toDateTime($NOW - 259180), ($NOW - 259180) * 1000, ($NOW - 259180) * 1000);

INSERT INTO workorders (order_id, incident_ids, street_key, district_code, owner, scenario, category, severity, status, created_at, created_at_ms, accept_deadline_ms, resolve_deadline_ms, accepted_at_ms, resolved_at_ms, closed_at_ms, accept_warning, resolve_warning, satisfaction, routing_reason, version, updated_at, updated_at_ms) VALUES
('WO-1', ['inc-5'], '210106001', '210106', 'gas', 'gas', 'gas_smell', 'urgent', 'dispatched', toDateTime($NOW - 10800), ($NOW - 10800) * 1000, ($NOW - 7200) * 1000, ($NOW - 3600) * 1000, NULL, NULL, NULL, NULL, NULL, NULL, 'catalogue gas/gas_smell', 2, toDateTime($NOW - 10790), ($NOW - 10790) * 1000),
('WO-1', ['inc-5'], '210106001', '210106', 'gas', 'gas', 'gas_smell', 'urgent', 'closed', toDateTime($NOW - 10800), ($NOW - 10800) * 1000, ($NOW - 7200) * 1000, ($NOW - 3600) * 1000, ($NOW - 9000) * 1000, ($NOW - 5400) * 1000, ($NOW - 4800) * 1000, NULL, NULL, 5, 'catalogue gas/gas_smell', 6, toDateTime($NOW - 4800), ($NOW - 4800) * 1000),
('WO-2', ['inc-1'], '210106001', '210106', 'gas', 'gas', 'gas_leak', 'critical', 'dispatched', toDateTime($NOW - 7200), ($NOW - 7200) * 1000, ($NOW - 3600) * 1000, ($NOW + 7200) * 1000, NULL, NULL, NULL, 'red', NULL, NULL, 'catalogue gas/gas_leak', 3, toDateTime($NOW - 3600), ($NOW - 3600) * 1000),
('WO-3', ['inc-2'], '210102001', '210102', 'city_mgmt', 'city_management', 'streetlight', 'normal', 'in_progress', toDateTime($NOW - 18000), ($NOW - 18000) * 1000, ($NOW - 14400) * 1000, ($NOW - 1800) * 1000, ($NOW - 15000) * 1000, NULL, NULL, NULL, 'red', NULL, 'catalogue city_management/streetlight', 5, toDateTime($NOW - 1800), ($NOW - 1800) * 1000),
('WO-4', ['inc-3'], '210106002', '210106', 'heating', 'heating', 'heating_outage', 'urgent', 'accepted', toDateTime($NOW - 3000), ($NOW - 3000) * 1000, ($NOW - 1200) * 1000, ($NOW + 600) * 1000, ($NOW - 2400) * 1000, NULL, NULL, NULL, 'yellow', NULL, 'catalogue heating/heating_outage', 4, toDateTime($NOW - 900), ($NOW - 900) * 1000),
('WO-5', ['inc-4'], '', NULL, 'command_center', 'command_center', 'unclassified', 'info', 'returned', toDateTime($NOW - 900), ($NOW - 900) * 1000, ($NOW + 1800) * 1000, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'manual triage', 3, toDateTime($NOW - 600), ($NOW - 600) * 1000),
('WO-6', ['inc-6', 'inc-7'], '210106001', '210106', 'gas', 'gas', 'gas_smell', 'normal', 'resolved', toDateTime($NOW - 172800), ($NOW - 172800) * 1000, ($NOW - 169200) * 1000, ($NOW - 86400) * 1000, ($NOW - 170000) * 1000, ($NOW - 90000) * 1000, NULL, 'yellow', NULL, NULL, 'catalogue gas/gas_smell', 4, toDateTime($NOW - 90000), ($NOW - 90000) * 1000);

INSERT INTO workorder_events (transition_id, order_id, seq, kind, actor, at, at_ms, status_before, status_after, reason, deadline, warning, new_deadline_ms, satisfaction, rejected, rejection_reason, prev_hash, hash, street_key, district_code, owner, scenario, category, severity, accept_deadline_ms, resolve_deadline_ms, order_created_at_ms, order_version) VALUES
('WO-1#1', 'WO-1', 1, 'created', 'dispatch', toDateTime($NOW - 10800), ($NOW - 10800) * 1000, NULL, 'created', NULL, NULL, NULL, NULL, NULL, 0, NULL, '0', 'h1', '210106001', '210106', 'gas', 'gas', 'gas_smell', 'urgent', ($NOW - 7200) * 1000, ($NOW - 3600) * 1000, ($NOW - 10800) * 1000, 1),
('WO-1#6', 'WO-1', 6, 'satisfaction_recorded', 'command_center', toDateTime($NOW - 4900), ($NOW - 4900) * 1000, 'resolved', 'resolved', NULL, NULL, NULL, NULL, 5, 0, NULL, 'h5', 'h6', '210106001', '210106', 'gas', 'gas', 'gas_smell', 'urgent', ($NOW - 7200) * 1000, ($NOW - 3600) * 1000, ($NOW - 10800) * 1000, 6),
('WO-2#3', 'WO-2', 3, 'escalated', 'dispatch', toDateTime($NOW - 3600), ($NOW - 3600) * 1000, 'dispatched', 'dispatched', NULL, 'accept', 'red', NULL, NULL, 0, NULL, 'h2', 'h3', '210106001', '210106', 'gas', 'gas', 'gas_leak', 'critical', ($NOW - 3600) * 1000, ($NOW + 7200) * 1000, ($NOW - 7200) * 1000, 3),
('WO-3#4', 'WO-3', 4, 'extension_requested', 'city_mgmt', toDateTime($NOW - 3000), ($NOW - 3000) * 1000, 'in_progress', 'in_progress', '需要更换灯杆', NULL, NULL, NULL, NULL, 0, NULL, 'h3', 'h4', '210102001', '210102', 'city_mgmt', 'city_management', 'streetlight', 'normal', ($NOW - 14400) * 1000, ($NOW - 1800) * 1000, ($NOW - 18000) * 1000, 4),
('WO-3#5', 'WO-3', 5, 'escalated', 'dispatch', toDateTime($NOW - 1800), ($NOW - 1800) * 1000, 'in_progress', 'in_progress', NULL, 'resolve', 'red', NULL, NULL, 0, NULL, 'h4', 'h5', '210102001', '210102', 'city_mgmt', 'city_management', 'streetlight', 'normal', ($NOW - 14400) * 1000, ($NOW - 1800) * 1000, ($NOW - 18000) * 1000, 5),
('WO-4#4', 'WO-4', 4, 'escalated', 'dispatch', toDateTime($NOW - 900), ($NOW - 900) * 1000, 'accepted', 'accepted', NULL, 'resolve', 'yellow', NULL, NULL, 0, NULL, 'h3', 'h4', '210106002', '210106', 'heating', 'heating', 'heating_outage', 'urgent', ($NOW - 1200) * 1000, ($NOW + 600) * 1000, ($NOW - 3000) * 1000, 4),
('WO-5#3', 'WO-5', 3, 'returned', 'street_office', toDateTime($NOW - 600), ($NOW - 600) * 1000, 'dispatched', 'returned', '不属于本部门职责', NULL, NULL, NULL, NULL, 0, NULL, 'h2', 'h3', '', NULL, 'command_center', 'command_center', 'unclassified', 'info', ($NOW + 1800) * 1000, NULL, ($NOW - 900) * 1000, 3),
('WO-6#4', 'WO-6', 4, 'satisfaction_recorded', 'command_center', toDateTime($NOW - 86000), ($NOW - 86000) * 1000, 'resolved', 'reopened', NULL, NULL, NULL, NULL, 2, 0, NULL, 'h3', 'h4', '210106001', '210106', 'gas', 'gas', 'gas_smell', 'normal', ($NOW - 169200) * 1000, ($NOW - 86400) * 1000, ($NOW - 172800) * 1000, 4),
('WO-6#5', 'WO-6', 5, 'accepted', 'water', toDateTime($NOW - 85000), ($NOW - 85000) * 1000, 'reopened', 'reopened', NULL, NULL, NULL, NULL, NULL, 1, 'not the owner', 'h4', 'h5', '210106001', '210106', 'gas', 'gas', 'gas_smell', 'normal', ($NOW - 169200) * 1000, ($NOW - 86400) * 1000, ($NOW - 172800) * 1000, 4);

INSERT INTO dead_letters (dlq_topic, dlq_partition, dlq_offset, at, at_ms, stage, error, source_topic, source_partition, source_offset, record_key, payload_size, payload_sha256, payload_omitted, payload_hex) VALUES
('city.dlq.v1', 0, 17, toDateTime($NOW - 700), ($NOW - 700) * 1000, 'ingest', 'received_at is not a time', 'city.raw.hotline.v1', 1, 42, 'T-9', 120, 'ff00', 1, ''),
('city.dlq.v1', 0, 18, toDateTime($NOW - 650), ($NOW - 650) * 1000, 'ingest', 'received_at is not a time', 'city.raw.hotline.v1', 1, 42, 'T-9', 120, 'ff00', 1, ''),
('city.dlq.v1', 1, 5, toDateTime($NOW - 200), ($NOW - 200) * 1000, 'enrich', 'undecodable Avro', 'city.events.v1', 0, 7, NULL, 3, 'aa11', 0, '000102');"##;

// ---------------------------------------------------------------------------------------------
// The dashboards
// ---------------------------------------------------------------------------------------------

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct Dashboard {
    /// `dashboards/<name>.json`
    file: String,
    json: Value,
}

/// Every `dashboards/*.json`, parsed, in file-name order.
fn dashboards() -> Vec<Dashboard> {
    let dir = root().join("dashboards");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
        .map(|entry| {
            entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .path()
        })
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no dashboards/*.json");
    files
        .iter()
        .map(|path| {
            let file = format!(
                "dashboards/{}",
                path.file_name().unwrap_or_default().to_string_lossy()
            );
            let text =
                std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {file}: {e}"));
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{file} is not valid JSON: {e}"));
            Dashboard { file, json }
        })
        .collect()
}

/// The dashboard's panels, those inside (collapsed) rows included, rows themselves excluded.
fn panels(dashboard: &Value) -> Vec<&Value> {
    fn walk<'a>(list: &'a Value, out: &mut Vec<&'a Value>) {
        for panel in list.as_array().into_iter().flatten() {
            if panel["type"] != "row" {
                out.push(panel);
            }
            walk(&panel["panels"], out);
        }
    }
    let mut out = Vec::new();
    walk(&dashboard["panels"], &mut out);
    out
}

fn variables(dashboard: &Value) -> Vec<&Value> {
    dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .collect()
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

fn uid(v: &Value) -> &str {
    v["datasource"]["uid"].as_str().unwrap_or_default()
}

/// The SQL of a ClickHouse variable: a plain string, or an object with `rawSql` (newer
/// plugin versions save that shape).
fn variable_sql(variable: &Value) -> &str {
    match &variable["query"] {
        Value::String(s) => s,
        other => other["rawSql"].as_str().unwrap_or_default(),
    }
}

/// One ClickHouse query of a dashboard, as written.
struct ChQuery {
    file: String,
    /// `panel "<title>"` or `variable "<name>"`.
    place: String,
    sql: String,
    /// The plugin's format: 0 time series, 1 table (variables: table).
    format: i64,
}

fn clickhouse_queries(dashboard: &Dashboard) -> Vec<ChQuery> {
    let mut out = Vec::new();
    for variable in variables(&dashboard.json) {
        if uid(variable) == CLICKHOUSE_UID {
            out.push(ChQuery {
                file: dashboard.file.clone(),
                place: format!("variable \"{}\"", text(variable, "name")),
                sql: variable_sql(variable).to_owned(),
                format: 1,
            });
        }
    }
    for panel in panels(&dashboard.json) {
        for target in panel["targets"].as_array().into_iter().flatten() {
            if let Some(sql) = target["rawSql"].as_str() {
                out.push(ChQuery {
                    file: dashboard.file.clone(),
                    place: format!(
                        "panel \"{}\" ({})",
                        text(panel, "title"),
                        text(target, "refId")
                    ),
                    sql: sql.to_owned(),
                    format: target["format"].as_i64().unwrap_or(-1),
                });
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Macro expansion, as the ClickHouse plugin does it (pkg/macros/macros.go)
// ---------------------------------------------------------------------------------------------

/// What a query is expanded with: the time range (unix seconds), Grafana's interval in
/// seconds, and the template variables' values.
struct Expansion {
    from: i64,
    to: i64,
    interval_s: i64,
    values: BTreeMap<String, String>,
}

fn identifier_len(s: &str) -> usize {
    s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len())
}

/// The argument of a macro call: `s` starts with `(`; returns what is inside the matching `)`
/// (trimmed) and the text after it.
fn macro_argument(s: &str) -> Option<(&str, &str)> {
    if !s.starts_with('(') {
        return None;
    }
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return Some((s[1..i].trim(), &s[i + 1..]));
                }
            }
            _ => {}
        }
    }
    None
}

/// `sql` with the plugin's macros and the template variables (`${name}` and `$name`) replaced.
/// Anything else that starts with `$` is an error: a macro the dashboards may not use, a
/// variable format (`${x:singlequote}`), an unknown variable.
fn expand(sql: &str, x: &Expansion) -> Result<String, String> {
    let mut out = String::with_capacity(sql.len() + 128);
    let mut rest = sql;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$__") {
            let name = &after[..identifier_len(after)];
            let after_name = &after[name.len()..];
            rest = after_name;
            match name {
                "timeFilter" | "timeInterval" => {
                    let (column, remaining) = macro_argument(after_name)
                        .filter(|(column, _)| !column.is_empty())
                        .ok_or_else(|| format!("$__{name} takes one column: $__{name}(column)"))?;
                    if name == "timeFilter" {
                        out.push_str(&format!(
                            "{column} >= toDateTime({}) AND {column} <= toDateTime({})",
                            x.from, x.to
                        ));
                    } else {
                        out.push_str(&format!(
                            "toStartOfInterval(toDateTime({column}), INTERVAL {} second)",
                            x.interval_s
                        ));
                    }
                    rest = remaining;
                }
                "fromTime" => out.push_str(&format!("toDateTime({})", x.from)),
                "toTime" => out.push_str(&format!("toDateTime({})", x.to)),
                "interval_s" => out.push_str(&x.interval_s.to_string()),
                _ => {
                    return Err(format!(
                        "macro $__{name} is not one the dashboards may use (only $__{})",
                        MACROS.join(", $__")
                    ))
                }
            }
        } else if let Some(after) = tail.strip_prefix("${") {
            let end = after
                .find('}')
                .ok_or_else(|| "unterminated ${".to_owned())?;
            let name = &after[..end];
            if name.contains(':') {
                return Err(format!(
                    "${{{name}}}: variable formats are not used; write '${{{}}}'",
                    name.split(':').next().unwrap_or_default()
                ));
            }
            let value = x
                .values
                .get(name)
                .ok_or_else(|| format!("${{{name}}} is not a variable of this dashboard"))?;
            out.push_str(value);
            rest = &after[end + 1..];
        } else {
            let after = &tail[1..];
            let name = &after[..identifier_len(after)];
            let value = x.values.get(name).ok_or_else(|| {
                format!("${name} is not a variable of this dashboard (a lone `$` cannot be used)")
            })?;
            out.push_str(value);
            rest = &after[name.len()..];
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[test]
fn macros_expand_as_the_plugin_expands_them() {
    let x = Expansion {
        from: 1_764_547_200,
        to: 1_764_633_600,
        interval_s: 60,
        values: BTreeMap::from([("district".to_owned(), "210106".to_owned())]),
    };
    let sql = "SELECT $__timeInterval(at) AS t FROM e WHERE $__timeFilter(minute) \
               AND day >= toDate($__fromTime) AND day <= toDate($__toTime) \
               AND ('${district}' = '' OR d = '$district') AND n = $__interval_s";
    assert_eq!(
        expand(sql, &x).unwrap(),
        "SELECT toStartOfInterval(toDateTime(at), INTERVAL 60 second) AS t FROM e \
         WHERE minute >= toDateTime(1764547200) AND minute <= toDateTime(1764633600) \
         AND day >= toDate(toDateTime(1764547200)) AND day <= toDate(toDateTime(1764633600)) \
         AND ('210106' = '' OR d = '210106') AND n = 60"
    );
    assert_eq!(
        expand("$__timeFilter( toDateTime(x) )", &x).unwrap(),
        "toDateTime(x) >= toDateTime(1764547200) AND toDateTime(x) <= toDateTime(1764633600)"
    );
    for bad in [
        "$__timeFilter_ms(at)",
        "$__conditionalAll(a, $district)",
        "$__timeFilter",
        "${district:singlequote}",
        "$department",
        "'$'",
    ] {
        assert!(expand(bad, &x).is_err(), "{bad} should not expand");
    }
}

/// One run of a dashboard's ClickHouse queries: every variable All, at the plugin's smallest
/// interval (1 s); then every variable at its sample value, at an interval of an hour.
struct Variant {
    label: String,
    all: bool,
    expansion: Expansion,
}

fn variants(dashboard: &Dashboard, now: i64) -> Vec<Variant> {
    let names: Vec<&str> = variables(&dashboard.json)
        .iter()
        .map(|v| text(v, "name"))
        .collect();
    let sample = |name: &str| {
        SAMPLES
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| (*v).to_owned())
            .unwrap_or_else(|| {
                panic!(
                    "{}: variable {name} has no sample value: add one to SAMPLES (and rows with it \
                     to SEED) in tests/e2e/dashboards.rs",
                    dashboard.file
                )
            })
    };
    let range = |interval_s: i64| (now - 7 * 86_400, now + 60, interval_s);
    [(true, range(1)), (false, range(3_600))]
        .into_iter()
        .map(|(all, (from, to, interval_s))| {
            let values: BTreeMap<String, String> = names
                .iter()
                .map(|n| ((*n).to_owned(), if all { String::new() } else { sample(n) }))
                .collect();
            let label = values
                .iter()
                .map(|(k, v)| format!("{k} = '{v}'"))
                .chain([format!("interval {interval_s} s")])
                .collect::<Vec<_>>()
                .join(", ");
            Variant {
                label,
                all,
                expansion: Expansion {
                    from,
                    to,
                    interval_s,
                    values,
                },
            }
        })
        .collect()
}

/// A query ready to run: where it comes from, and its SQL with everything expanded.
struct Expanded {
    name: String,
    sql: String,
    format: i64,
    /// Run with every variable All: it must return rows.
    all: bool,
    /// For a variable's own query: its name and the sample value its options must include.
    variable: Option<(String, String)>,
}

/// Every ClickHouse query of every dashboard, expanded for every variant. Fails the test on a
/// query that does not expand.
fn expanded_queries(now: i64) -> Vec<Expanded> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    let mut errors = Vec::new();
    for dashboard in dashboards() {
        let queries = clickhouse_queries(&dashboard);
        for variant in variants(&dashboard, now) {
            for q in &queries {
                let name = format!("{}, {} [{}]", q.file, q.place, variant.label);
                match expand(&q.sql, &variant.expansion) {
                    Ok(sql) => {
                        if !seen.insert((q.file.clone(), q.place.clone(), sql.clone())) {
                            continue;
                        }
                        let variable = q.place.strip_prefix("variable \"").map(|v| {
                            let v = v.trim_end_matches('"').to_owned();
                            let sample = SAMPLES
                                .iter()
                                .find(|(n, _)| *n == v)
                                .map(|(_, s)| (*s).to_owned())
                                .unwrap_or_default();
                            (v, sample)
                        });
                        out.push(Expanded {
                            name,
                            sql,
                            format: q.format,
                            all: variant.all,
                            variable,
                        });
                    }
                    Err(e) => errors.push(format!("{name}: {e}\n--- SQL ---\n{}", q.sql)),
                }
            }
        }
    }
    assert!(
        errors.is_empty(),
        "queries that do not expand:\n\n{}",
        errors.join("\n\n")
    );
    assert!(!out.is_empty(), "the dashboards have no ClickHouse query");
    out
}

fn now_s() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_else(|e| panic!("clock before 1970: {e}"));
    i64::try_from(since.as_secs()).unwrap_or_else(|e| panic!("clock: {e}"))
}

/// Within a few minutes after local midnight (Asia/Shanghai, UTC+8) "today" holds only part of
/// the seeded rows, so a panel of today's figures may rightly be empty: emptiness is not
/// checked then.
fn near_local_midnight(now: i64) -> bool {
    (now + 8 * 3_600).rem_euclid(86_400) < 10 * 60
}

fn seed_statements(now: i64) -> Vec<String> {
    let seed = SEED.replace("$NOW", &now.to_string());
    cityops_store::migrate::split_statements(&seed)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// What a query returned: its column types and how many rows.
struct Answer {
    types: Vec<String>,
    rows: Vec<Value>,
}

/// Checks an answer against what the panel needs; returns the problem, if any.
fn check_answer(q: &Expanded, answer: &Answer, check_empty: bool) -> Option<String> {
    if q.format == 0 && !answer.types.iter().any(|t| t.starts_with("Date")) {
        return Some(format!(
            "a time series query (format 0) needs a DateTime column; got {:?}",
            answer.types
        ));
    }
    if check_empty && q.all && answer.rows.is_empty() {
        return Some(
            "returned no rows over the seeded data with every variable All: fix the query, or \
             add rows it should find to SEED in tests/e2e/dashboards.rs"
                .to_owned(),
        );
    }
    if let Some((variable, sample)) = &q.variable {
        let options: Vec<String> = answer
            .rows
            .iter()
            .map(|row| match row {
                Value::Array(cells) => cells.first().cloned().unwrap_or_default(),
                Value::Object(cells) => cells.values().next().cloned().unwrap_or_default(),
                other => other.clone(),
            })
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| v.to_string())
            })
            .collect();
        if options.first().map(String::as_str) != Some("") {
            return Some(format!(
                "variable {variable}: its first option must be '' (全部 All), got {options:?}"
            ));
        }
        if !options.contains(sample) {
            return Some(format!(
                "variable {variable}: its options {options:?} do not include the seeded {sample:?}"
            ));
        }
    }
    None
}

// ---------------------------------------------------------------------------------------------
// ClickHouse 18.16 (the local stack)
// ---------------------------------------------------------------------------------------------

async fn run_18_16(client: &clickhouse::Client, sql: &str) -> Result<Answer, String> {
    let mut cursor = client
        .query_raw(sql)
        .fetch_bytes("JSONCompact")
        .map_err(|e| e.to_string())?;
    let body = cursor.collect().await.map_err(|e| e.to_string())?;
    // An exception after the first rows arrives inside a 200 answer: then it is not JSON.
    let v: Value = serde_json::from_slice(&body).map_err(|e| {
        format!(
            "answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&body)
        )
    })?;
    let types = v["meta"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| text(m, "type").to_owned())
        .collect();
    let rows = v["data"].as_array().cloned().unwrap_or_default();
    Ok(Answer { types, rows })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_clickhouse_query_runs_on_clickhouse_18_16() {
    let now = now_s();
    // First, so that a query that does not expand leaves no database behind.
    let queries = expanded_queries(now);
    let url = cityops_testkit::require_clickhouse().await;
    let config = cityops_store::ClickHouseConfig {
        url,
        database: cityops_testkit::unique_name("dashboards"),
        validation: false,
        compression: cityops_store::Compression::None,
        ..cityops_store::ClickHouseConfig::default()
    };
    cityops_store::migrate(&config)
        .await
        .unwrap_or_else(|e| panic!("migrating {}: {e}", config.database));
    let client = config.client();
    for statement in seed_statements(now) {
        client
            .query_raw(&statement)
            .execute()
            .await
            .unwrap_or_else(|e| panic!("seeding: {e}\n--- SQL ---\n{statement}"));
    }

    let check_empty = !near_local_midnight(now);
    let mut failures = Vec::new();
    for q in &queries {
        let problem = match run_18_16(&client, &q.sql).await {
            Ok(answer) => check_answer(q, &answer, check_empty),
            Err(e) => Some(e),
        };
        if let Some(p) = problem {
            failures.push(format!("{}:\n{p}\n--- SQL ---\n{}", q.name, q.sql));
        }
    }

    config
        .server_client()
        .query_raw(&format!("DROP DATABASE IF EXISTS `{}`", config.database))
        .execute()
        .await
        .unwrap_or_else(|e| panic!("dropping {}: {e}", config.database));
    assert!(
        failures.is_empty(),
        "{} of {} dashboard queries fail on ClickHouse 18.16:\n\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Current ClickHouse (chDB)
// ---------------------------------------------------------------------------------------------

/// Fails the test, saying how to install it, when chdb is missing.
fn require_chdb() {
    let check = Command::new("python3")
        .args(["-c", "import chdb; print(chdb.__version__)"])
        .output();
    match check {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!(
            "chdb (PyPI `chdb`, a current ClickHouse in process) is not installed for python3: \
             run `make setup`, which pip-installs the pinned version.\n{}",
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(e) => panic!("cannot run python3 ({e}): install Python 3, then run `make setup`"),
    }
}

#[test]
fn every_clickhouse_query_runs_on_current_clickhouse() {
    require_chdb();
    let now = now_s();
    let queries = expanded_queries(now);
    let dir = std::env::temp_dir().join(cityops_testkit::unique_name("dashboards_chdb"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("creating {}: {e}", dir.display()));
    let seed_path = dir.join("seed.sql");
    let seed = seed_statements(now)
        .iter()
        .map(|s| format!("{s};\n"))
        .collect::<String>();
    std::fs::write(&seed_path, seed).unwrap_or_else(|e| panic!("writing the seed: {e}"));
    let queries_path = dir.join("queries.json");
    let items: Vec<Value> = queries
        .iter()
        .map(|q| serde_json::json!({"name": q.name, "sql": q.sql}))
        .collect();
    std::fs::write(&queries_path, Value::Array(items).to_string())
        .unwrap_or_else(|e| panic!("writing the queries: {e}"));
    let root = root();
    let out = Command::new("python3")
        .arg(root.join("scripts/chdb_run.py"))
        .arg("--migrations")
        .arg(root.join("schemas/clickhouse"))
        .arg("--sql")
        .arg(&seed_path)
        .arg("--queries")
        .arg(&queries_path)
        .output()
        .unwrap_or_else(|e| panic!("running scripts/chdb_run.py: {e}"));
    std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("removing {}: {e}", dir.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);

    let answers: BTreeMap<String, Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| {
                panic!("chdb_run.py printed a line that is not JSON ({e}): {line}")
            });
            (text(&v, "name").to_owned(), v)
        })
        .collect();
    let check_empty = !near_local_midnight(now);
    let mut failures = Vec::new();
    for q in &queries {
        let Some(v) = answers.get(&q.name) else {
            failures.push(format!("{}: no answer from chDB", q.name));
            continue;
        };
        let problem = if v["ok"] == Value::Bool(true) {
            let answer = Answer {
                types: v["types"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|t| t.as_str().unwrap_or_default().to_owned())
                    .collect(),
                rows: v["rows"].as_array().cloned().unwrap_or_default(),
            };
            check_answer(q, &answer, check_empty)
        } else {
            Some(text(v, "error").to_owned())
        };
        if let Some(p) = problem {
            failures.push(format!("{}:\n{p}\n--- SQL ---\n{}", q.name, q.sql));
        }
    }
    assert!(
        failures.is_empty() && answers.len() == queries.len(),
        "{} of {} dashboard queries fail on current ClickHouse (chDB):\n\n{}\n\n\
         scripts/chdb_run.py said:\n{stderr}",
        failures.len(),
        queries.len(),
        failures.join("\n\n")
    );
}

// ---------------------------------------------------------------------------------------------
// Datasources and Prometheus metrics
// ---------------------------------------------------------------------------------------------

#[test]
fn dashboards_use_only_the_provisioned_datasources() {
    let mut problems = Vec::new();
    let mut uids = BTreeSet::new();
    for dashboard in dashboards() {
        let d = &dashboard.json;
        let file = &dashboard.file;
        if d["schemaVersion"] != 39 {
            problems.push(format!("{file}: schemaVersion must be 39"));
        }
        if !uids.insert(text(d, "uid").to_owned()) || text(d, "uid").is_empty() {
            problems.push(format!("{file}: uid {:?} is empty or not unique", d["uid"]));
        }
        let mut ids = BTreeSet::new();
        for panel in panels(d) {
            let title = text(panel, "title");
            if !ids.insert(panel["id"].as_i64().unwrap_or(-1)) {
                problems.push(format!(
                    "{file}: panel \"{title}\": id missing or not unique"
                ));
            }
            let panel_uid = uid(panel);
            if panel_uid != CLICKHOUSE_UID && panel_uid != PROMETHEUS_UID {
                problems.push(format!(
                    "{file}: panel \"{title}\": datasource uid {panel_uid:?} is neither \
                     {CLICKHOUSE_UID} nor {PROMETHEUS_UID}"
                ));
            }
            let targets = panel["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{file}: panel \"{title}\" has no query"));
            }
            for t in &targets {
                let (want_type, ok) = match uid(t) {
                    CLICKHOUSE_UID => (
                        CLICKHOUSE_TYPE,
                        t["editorType"] == "sql"
                            && matches!(t["format"].as_i64(), Some(0 | 1))
                            && !text(t, "rawSql").trim().is_empty(),
                    ),
                    PROMETHEUS_UID => (PROMETHEUS_TYPE, !text(t, "expr").trim().is_empty()),
                    other => {
                        problems.push(format!(
                            "{file}: panel \"{title}\": query datasource uid {other:?} is neither \
                             {CLICKHOUSE_UID} nor {PROMETHEUS_UID}"
                        ));
                        continue;
                    }
                };
                if t["datasource"]["type"] != want_type {
                    problems.push(format!(
                        "{file}: panel \"{title}\": datasource {} must have type {want_type}",
                        uid(t)
                    ));
                }
                if !ok {
                    problems.push(format!(
                        "{file}: panel \"{title}\": a ClickHouse query needs editorType \"sql\", \
                         format 0 or 1 and rawSql; a Prometheus query needs expr"
                    ));
                }
            }
        }
        for variable in variables(d) {
            let name = text(variable, "name");
            if variable["type"] == "query" {
                let u = uid(variable);
                if u != CLICKHOUSE_UID && u != PROMETHEUS_UID {
                    problems.push(format!(
                        "{file}: variable {name}: datasource uid {u:?} is neither \
                         {CLICKHOUSE_UID} nor {PROMETHEUS_UID}"
                    ));
                }
            }
            // Grafana takes an empty custom all value for none and then substitutes every
            // option, which the ClickHouse plugin joins as 'a','b': broken SQL inside '...'.
            // "All" is the variable's own '' option instead.
            if variable["includeAll"] == true && text(variable, "allValue").is_empty() {
                problems.push(format!(
                    "{file}: variable {name}: includeAll without a custom all value does not \
                     work in '${{{name}}}'; make '' (全部 All) the query's first option"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_provisioning_declares_both_datasources_and_the_dashboards() {
    let dir = root().join("deploy/grafana/provisioning");
    let read = |p: &str| {
        std::fs::read_to_string(dir.join(p)).unwrap_or_else(|e| panic!("reading {p}: {e}"))
    };
    let datasources = read("datasources/cityops.yaml");
    for needle in [
        format!("uid: {CLICKHOUSE_UID}"),
        format!("type: {CLICKHOUSE_TYPE}"),
        format!("uid: {PROMETHEUS_UID}"),
        format!("type: {PROMETHEUS_TYPE}"),
    ] {
        assert!(
            datasources.contains(&needle),
            "datasources/cityops.yaml lacks `{needle}`"
        );
    }
    let providers = read("dashboards/cityops.yaml");
    assert!(
        providers.contains("path: /var/lib/grafana/dashboards"),
        "dashboards/cityops.yaml does not load /var/lib/grafana/dashboards"
    );
}

/// Every `"cityops_..."` string literal of the `.rs` files under `crates/`.
fn emitted_metric_names() -> BTreeSet<String> {
    fn walk(dir: &Path, out: &mut BTreeSet<String>) {
        let entries =
            std::fs::read_dir(dir).unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()));
        for entry in entries {
            let path = entry
                .unwrap_or_else(|e| panic!("reading {}: {e}", dir.display()))
                .path();
            if path.is_dir() {
                if path.file_name().is_some_and(|n| n != "target") {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|x| x == "rs") {
                let source = std::fs::read_to_string(&path)
                    .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
                for (at, _) in source.match_indices("\"cityops_") {
                    let name = &source[at + 1..];
                    let len = identifier_len(name);
                    if name[len..].starts_with('"') {
                        out.insert(name[..len].to_owned());
                    }
                }
            }
        }
    }
    let mut out = BTreeSet::new();
    walk(&root().join("crates"), &mut out);
    out
}

/// The `cityops_*` names an expression uses.
fn metric_names(expr: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = expr;
    while let Some(at) = rest.find("cityops_") {
        let boundary = !rest[..at]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':');
        let len = identifier_len(&rest[at..]);
        if boundary {
            out.push(&rest[at..at + len]);
        }
        rest = &rest[at + len..];
    }
    out
}

#[test]
fn every_prometheus_metric_is_emitted_by_the_code() {
    let emitted = emitted_metric_names();
    assert!(
        emitted.contains("cityops_kafka_consumed_messages_total"),
        "found no metric names under crates/ (searched {})",
        root().join("crates").display()
    );
    let mut unknown = Vec::new();
    let mut used = 0;
    for dashboard in dashboards() {
        for panel in panels(&dashboard.json) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let Some(expr) = target["expr"].as_str() else {
                    continue;
                };
                for name in metric_names(expr) {
                    used += 1;
                    let base = ["_bucket", "_sum", "_count"]
                        .iter()
                        .find_map(|suffix| name.strip_suffix(suffix));
                    if !emitted.contains(name) && !base.is_some_and(|b| emitted.contains(b)) {
                        unknown.push(format!(
                            "{}, panel \"{}\": {name} (in `{expr}`)",
                            dashboard.file,
                            text(panel, "title")
                        ));
                    }
                }
            }
        }
    }
    assert!(used > 0, "the dashboards query no cityops_* metric");
    assert!(
        unknown.is_empty(),
        "metrics that no code under crates/ emits (counters end in _total; histograms are \
         name_bucket/_sum/_count):\n{}\nemitted: {emitted:?}",
        unknown.join("\n")
    );
}

#[test]
fn metric_names_are_found_in_expressions() {
    assert_eq!(
        metric_names(
            "histogram_quantile(0.99, sum by (le) (rate(cityops_store_insert_duration_seconds_bucket[5m]))) \
             / on() x:cityops_rule + cityops_kafka_consumer_lag_messages{topic=\"a\"}"
        ),
        [
            "cityops_store_insert_duration_seconds_bucket",
            "cityops_kafka_consumer_lag_messages"
        ]
    );
}
