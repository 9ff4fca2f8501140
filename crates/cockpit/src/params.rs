//! The query parameters of the cockpit API, validated before anything runs: a value must match
//! its pattern and be one the city knows (a district of the geography, a scenario of the
//! catalogue), numbers must be in range, and a parameter may appear once, only where the
//! endpoint takes it. Anything else is a [`BadRequest`] saying what to send instead.

use std::collections::BTreeMap;

/// A refused request: the message says what was wrong and what to send instead (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

/// A parameter an endpoint may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Param {
    District,
    Street,
    Scenario,
    Limit,
    Hours,
}

impl Param {
    fn name(self) -> &'static str {
        match self {
            Param::District => "district",
            Param::Street => "street",
            Param::Scenario => "scenario",
            Param::Limit => "limit",
            Param::Hours => "hours",
        }
    }

    fn from_name(name: &str) -> Option<Param> {
        Some(match name {
            "district" => Param::District,
            "street" => Param::Street,
            "scenario" => Param::Scenario,
            "limit" => Param::Limit,
            "hours" => Param::Hours,
            _ => return None,
        })
    }
}

/// What the filters may be: the district codes and scenario ids the city has.
pub trait Vocabulary {
    /// The name of district `code`, when it is one.
    fn district_name(&self, code: &str) -> Option<&str>;
    /// Every district, as `code (name)`, for messages.
    fn district_examples(&self) -> String;
    /// The name of street `code`, when it is one.
    fn street_name(&self, code: &str) -> Option<&str>;
    fn has_scenario(&self, id: &str) -> bool;
    /// Every scenario id, for messages.
    fn scenario_ids(&self) -> String;
}

/// Validated parameters of one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filters {
    pub district: Option<String>,
    pub street: Option<String>,
    pub scenario: Option<String>,
    pub limit: Option<u32>,
    pub hours: Option<u32>,
}

impl Filters {
    /// A stable key of these filters, for the answer cache.
    pub fn cache_key(&self) -> String {
        format!(
            "{}|{}|{}|{}|{}",
            self.district.as_deref().unwrap_or_default(),
            self.street.as_deref().unwrap_or_default(),
            self.scenario.as_deref().unwrap_or_default(),
            self.limit.unwrap_or_default(),
            self.hours.unwrap_or_default()
        )
    }
}

fn whole_number(name: &str, value: &str, max: u32, what: &str) -> Result<u32, BadRequest> {
    let refuse = || {
        BadRequest(format!(
            "{name} must be a whole number from 1 to {max}{what}, got {value}"
        ))
    };
    if value.is_empty() || value.len() > 6 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(refuse());
    }
    let n: u32 = value.parse().map_err(|_| refuse())?;
    if (1..=max).contains(&n) {
        Ok(n)
    } else {
        Err(refuse())
    }
}

/// Checks an area code (`district`, `street`): all digits, as many as `example` has, and
/// `known` to the geography; `instead` says what to send when it is not.
fn area_code(
    name: &str,
    value: &str,
    example: &str,
    known: bool,
    instead: impl FnOnce() -> String,
) -> Result<(), BadRequest> {
    let digits = example.len();
    if value.len() != digits || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(BadRequest(format!(
            "{name} must be a {digits}-digit {name} code such as {example}, got {value:?}"
        )));
    }
    if !known {
        return Err(BadRequest(format!(
            "{name} {value} is not a {name} of the city: {}",
            instead()
        )));
    }
    Ok(())
}

/// Parses and validates the raw query string of `endpoint`, which takes `allowed`.
pub fn parse(
    endpoint: &str,
    raw_query: Option<&str>,
    allowed: &[Param],
    vocabulary: &dyn Vocabulary,
) -> Result<Filters, BadRequest> {
    let mut seen: BTreeMap<Param, String> = BTreeMap::new();
    let takes = || {
        if allowed.is_empty() {
            "no parameters".to_owned()
        } else {
            allowed
                .iter()
                .map(|p| p.name())
                .collect::<Vec<_>>()
                .join(" and ")
        }
    };
    for (name, value) in form_urlencoded::parse(raw_query.unwrap_or_default().as_bytes()) {
        let Some(param) = Param::from_name(&name) else {
            return Err(BadRequest(format!(
                "unknown parameter {name:?} for {endpoint}: it takes {}",
                takes()
            )));
        };
        if !allowed.contains(&param) {
            return Err(BadRequest(format!(
                "{endpoint} takes no {name}: it takes {}",
                takes()
            )));
        }
        if value.is_empty() {
            return Err(BadRequest(format!(
                "{name} is empty: send a value, or leave {name} out"
            )));
        }
        if seen.insert(param, value.into_owned()).is_some() {
            return Err(BadRequest(format!("{name} is given twice: send it once")));
        }
    }
    let mut filters = Filters::default();
    for (param, value) in seen {
        match param {
            Param::District => {
                let known = vocabulary.district_name(&value).is_some();
                area_code("district", &value, "210106", known, || {
                    format!(
                        "send one of {}, or leave district out for the whole city",
                        vocabulary.district_examples()
                    )
                })?;
                filters.district = Some(value);
            }
            Param::Street => {
                let known = vocabulary.street_name(&value).is_some();
                area_code("street", &value, "210106001", known, || {
                    "send a street code listed by /api/v1/geo/streets".to_owned()
                })?;
                filters.street = Some(value);
            }
            Param::Scenario => {
                let shaped = value.len() <= 64
                    && value.starts_with(|c: char| c.is_ascii_lowercase())
                    && value
                        .bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
                if !shaped || !vocabulary.has_scenario(&value) {
                    return Err(BadRequest(format!(
                        "scenario {value:?} is not a scenario of the catalogue: send one of {}, or leave scenario out for all",
                        vocabulary.scenario_ids()
                    )));
                }
                filters.scenario = Some(value);
            }
            Param::Limit => filters.limit = Some(whole_number("limit", &value, 500, "")?),
            Param::Hours => filters.hours = Some(whole_number("hours", &value, 168, " (7 days)")?),
        }
    }
    Ok(filters)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct City;
    impl Vocabulary for City {
        fn district_name(&self, code: &str) -> Option<&str> {
            (code == "210106").then_some("铁西区")
        }
        fn district_examples(&self) -> String {
            "210106 (铁西区)".into()
        }
        fn street_name(&self, code: &str) -> Option<&str> {
            (code == "210106001").then_some("兴华街道")
        }
        fn has_scenario(&self, id: &str) -> bool {
            id == "emergency"
        }
        fn scenario_ids(&self) -> String {
            "emergency".into()
        }
    }

    const ALL: &[Param] = &[
        Param::District,
        Param::Street,
        Param::Scenario,
        Param::Limit,
        Param::Hours,
    ];

    fn p(q: &str) -> Result<Filters, BadRequest> {
        parse("/api/v1/incidents", Some(q), ALL, &City)
    }

    #[test]
    fn good_parameters_are_taken() {
        let f =
            p("district=210106&street=210106001&scenario=emergency&limit=500&hours=168").unwrap();
        assert_eq!(f.district.as_deref(), Some("210106"));
        assert_eq!(f.street.as_deref(), Some("210106001"));
        assert_eq!(f.scenario.as_deref(), Some("emergency"));
        assert_eq!((f.limit, f.hours), (Some(500), Some(168)));
        assert_eq!(p("").unwrap(), Filters::default());
        assert_eq!(parse("/x", None, &[], &City).unwrap(), Filters::default());
    }

    #[test]
    fn hostile_parameters_are_refused_with_what_to_send() {
        for (q, says) in [
            ("district=210106'%20OR%201=1--", "6-digit"),
            ("district=210199", "not a district"),
            ("street=210106", "9-digit"),
            ("street=210106999", "not a street"),
            ("district=%E9%93%81%E8%A5%BF%E5%8C%BA", "6-digit"),
            (
                "scenario=emergency;DROP%20TABLE%20incidents",
                "not a scenario",
            ),
            ("scenario=fire", "not a scenario"),
            ("limit=1000", "1 to 500"),
            ("limit=0", "1 to 500"),
            ("limit=-1", "1 to 500"),
            ("limit=1e3", "1 to 500"),
            ("limit=99999999999999999999", "1 to 500"),
            ("hours=169", "1 to 168"),
            ("hours=0", "1 to 168"),
            ("district=", "empty"),
            ("district=210106&district=210106", "twice"),
            ("distict=210106", "unknown parameter"),
        ] {
            let e = p(q).expect_err(q);
            assert!(e.0.contains(says), "{q}: {e}");
        }
        let e = parse(
            "/api/v1/orders/triage",
            Some("district=210106"),
            &[Param::Limit],
            &City,
        )
        .unwrap_err();
        assert!(e.0.contains("takes no district"), "{e}");
    }
}
