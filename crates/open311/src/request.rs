//! A service request filed with `POST requests` (form-encoded, as the specification says),
//! checked in the specification's order: the API key (403), the jurisdiction and the service
//! (404), then the request itself (400). Nothing is created for a refused request.

use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::config::Open311Config;
use crate::services::Services;

/// The longest description the specification allows, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 4000;

/// Why a request is refused, with the HTTP status the specification gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// 403: no API key, or not a valid one.
    #[error("{0}")]
    Forbidden(String),
    /// 404: an unknown jurisdiction, service, request or token.
    #[error("{0}")]
    NotFound(String),
    /// 400: anything else wrong with the request.
    #[error("{0}")]
    Bad(String),
}

impl RequestError {
    pub fn status(&self) -> u16 {
        match self {
            RequestError::Forbidden(_) => 403,
            RequestError::NotFound(_) => 404,
            RequestError::Bad(_) => 400,
        }
    }
}

/// A filed request that passed every check. The personal fields (`first_name`, `last_name`,
/// `email`, `phone`) are kept only to hash the phone and mask them in the description: they
/// never leave ingest.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FiledRequest {
    pub service_code: String,
    pub lat_long: Option<(f64, f64)>,
    pub address_string: Option<String>,
    pub address_id: Option<String>,
    pub description: Option<String>,
    pub media_url: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub phone: Option<String>,
    /// `attribute[CODE]` (and `attribute[CODE][]` for a multivaluelist) values.
    pub attributes: BTreeMap<String, Vec<String>>,
}

fn number(
    name: &str,
    value: &str,
    range: std::ops::RangeInclusive<f64>,
) -> Result<f64, RequestError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && range.contains(v))
        .ok_or_else(|| {
            RequestError::Bad(format!(
                "{name} must be a WGS-84 decimal degree from {} to {}, got {value:?}",
                range.start(),
                range.end()
            ))
        })
}

/// Parses and checks a `POST requests` body.
pub fn parse_filed(
    body: &[u8],
    config: &Open311Config,
    services: &Services,
) -> Result<FiledRequest, RequestError> {
    let mut fields: BTreeMap<String, String> = BTreeMap::new();
    let mut attributes: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (k, v) in form_urlencoded::parse(body) {
        let v = v.trim().to_owned();
        if v.is_empty() {
            continue; // An empty parameter is an absent one.
        }
        if let Some(rest) = k.strip_prefix("attribute[") {
            let code = rest
                .strip_suffix("][]")
                .or_else(|| rest.strip_suffix(']'))
                .unwrap_or(rest);
            attributes.entry(code.to_owned()).or_default().push(v);
        } else {
            fields.insert(k.into_owned(), v);
        }
    }
    let api_key = fields.get("api_key").ok_or_else(|| {
        RequestError::Forbidden(
            "api_key is required to file a request: ask the city for one".into(),
        )
    })?;
    if !config.key_allowed(api_key) {
        return Err(RequestError::Forbidden(
            "invalid api_key: the key is not known to this server".into(),
        ));
    }
    if let Some(j) = fields.get("jurisdiction_id") {
        if *j != config.jurisdiction_id {
            return Err(RequestError::NotFound(format!(
                "jurisdiction_id {j} is not served here (this server is {})",
                config.jurisdiction_id
            )));
        }
    }
    let code = fields
        .get("service_code")
        .ok_or_else(|| RequestError::Bad("service_code is required: see services.json".into()))?;
    let service = services.get(code).ok_or_else(|| {
        RequestError::NotFound(format!(
            "service_code {code} is not a service of this city: see services.json"
        ))
    })?;
    let lat_long = match (fields.get("lat"), fields.get("long")) {
        (Some(lat), Some(long)) => Some((
            number("lat", lat, -90.0..=90.0)?,
            number("long", long, -180.0..=180.0)?,
        )),
        (None, None) => None,
        _ => {
            return Err(RequestError::Bad(
                "lat and long go together: send both, or an address_string instead".into(),
            ))
        }
    };
    let address_string = fields.get("address_string").cloned();
    let address_id = fields.get("address_id").cloned();
    if lat_long.is_none() && address_string.is_none() && address_id.is_none() {
        return Err(RequestError::Bad(
            "a location is required: lat and long, or address_string, or address_id".into(),
        ));
    }
    let description = fields.get("description").cloned();
    if let Some(d) = &description {
        let n = d.chars().count();
        if n > MAX_DESCRIPTION_CHARS {
            return Err(RequestError::Bad(format!(
                "description is {n} characters; at most {MAX_DESCRIPTION_CHARS} are accepted"
            )));
        }
    }
    for a in &service.attributes {
        let given = attributes.get(&a.code);
        if a.required && given.is_none() {
            return Err(RequestError::Bad(format!(
                "attribute[{}] is required for {} ({})",
                a.code, service.code, a.description
            )));
        }
        if let (Some(values), false) = (given, a.values.is_empty()) {
            if let Some(bad) = values
                .iter()
                .find(|v| !a.values.iter().any(|k| &k.key == *v))
            {
                return Err(RequestError::Bad(format!(
                    "attribute[{}] = {bad:?} is not one of its values: {}",
                    a.code,
                    a.values
                        .iter()
                        .map(|v| v.key.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
            if a.datatype == "singlevaluelist" && values.len() > 1 {
                return Err(RequestError::Bad(format!(
                    "attribute[{}] takes one value",
                    a.code
                )));
            }
        }
    }
    attributes.retain(|code, _| service.attributes.iter().any(|a| &a.code == code));
    Ok(FiledRequest {
        service_code: service.code.clone(),
        lat_long,
        address_string,
        address_id,
        description,
        media_url: fields.get("media_url").cloned(),
        first_name: fields.get("first_name").cloned(),
        last_name: fields.get("last_name").cloned(),
        phone: fields.get("phone").cloned(),
        attributes,
    })
}

impl FiledRequest {
    /// The request as a 12345 ticket of ingest (the same validation, hashing and masking),
    /// under `service_request_id`, received at `received_at` (RFC 3339). Without a
    /// description, the service's name is the text.
    pub fn to_ticket(
        &self,
        service_request_id: &str,
        received_at: &str,
        service_name: &str,
    ) -> Value {
        let name = match (&self.last_name, &self.first_name) {
            (Some(l), Some(f)) => Some(format!("{l}{f}")),
            (l, f) => l.clone().or_else(|| f.clone()),
        };
        let mut ticket = json!({
            "ticket_id": service_request_id,
            "received_at": received_at,
            "channel": "open311",
            "request_type": "open311",
            "content": self.description.clone().unwrap_or_else(|| service_name.to_owned()),
            "attachments": self.media_url.iter().collect::<Vec<_>>(),
        });
        let t = ticket.as_object_mut().expect("a JSON object");
        if let Some((lat, lon)) = self.lat_long {
            t.insert("lat".into(), json!(lat));
            t.insert("lon".into(), json!(lon));
        }
        if let Some(a) = self.address_string.as_ref().or(self.address_id.as_ref()) {
            t.insert("address".into(), json!(a));
        }
        if let Some(p) = &self.phone {
            t.insert("caller_phone".into(), json!(p));
        }
        if let Some(n) = name {
            t.insert("caller_name".into(), json!(n));
        }
        ticket
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ServicesFile;
    use cityops_core::catalogue::Catalogue;
    use sha2::{Digest, Sha256};

    fn setup() -> (Open311Config, Services) {
        let catalogue = Catalogue::load(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../config/catalogue.toml"
        ))
        .unwrap();
        let file: ServicesFile = toml::from_str(
            &std::fs::read_to_string(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../config/open311.toml"
            ))
            .unwrap(),
        )
        .unwrap();
        let config = Open311Config {
            api_keys_sha256: vec![hex::encode(Sha256::digest(b"k"))],
            ..Open311Config::default()
        };
        (config, Services::new(&catalogue, &file).unwrap())
    }

    fn parse(body: &str) -> Result<FiledRequest, RequestError> {
        let (c, s) = setup();
        parse_filed(body.as_bytes(), &c, &s)
    }

    #[test]
    fn a_good_request_is_taken_with_its_attributes() {
        let r = parse("api_key=k&service_code=illegal_parking&lat=41.7962&long=123.3589&description=%E8%BF%9D%E5%81%9C+%E5%A0%B5%E8%B7%AF&attribute%5Bplate%5D=%E8%BE%BDA12345&first_name=%E6%98%8E&last_name=%E6%9D%8E&phone=13800001234&email=").unwrap();
        assert_eq!(r.service_code, "illegal_parking");
        assert_eq!(r.lat_long, Some((41.7962, 123.3589)));
        assert_eq!(r.description.as_deref(), Some("违停 堵路"));
        assert_eq!(r.attributes["plate"], vec!["辽A12345".to_owned()]);
        let t = r.to_ticket("SY311-1", "2026-11-22T08:00:00+08:00", "违章停车");
        assert_eq!(t["caller_name"], "李明");
        assert_eq!(t["caller_phone"], "13800001234");
        assert_eq!(t["content"], "违停 堵路");
        assert_eq!(t["lon"], 123.3589);
    }

    #[test]
    fn bad_requests_get_the_specifications_errors() {
        for (body, status, says) in [
            (
                "service_code=illegal_parking&lat=41&long=123",
                403,
                "api_key is required",
            ),
            (
                "api_key=x&service_code=illegal_parking&lat=41&long=123",
                403,
                "invalid api_key",
            ),
            (
                "api_key=k&service_code=teleport&lat=41&long=123",
                404,
                "not a service",
            ),
            (
                "api_key=k&service_code=unclassified&lat=41&long=123",
                404,
                "not a service",
            ),
            (
                "api_key=k&jurisdiction_id=beijing&service_code=illegal_parking&lat=41&long=123",
                404,
                "jurisdiction",
            ),
            ("api_key=k&lat=41&long=123", 400, "service_code is required"),
            (
                "api_key=k&service_code=illegal_parking&description=x",
                400,
                "a location is required",
            ),
            (
                "api_key=k&service_code=illegal_parking&lat=41",
                400,
                "go together",
            ),
            (
                "api_key=k&service_code=illegal_parking&lat=91&long=123",
                400,
                "lat must be",
            ),
            (
                "api_key=k&service_code=illegal_parking&lat=abc&long=123",
                400,
                "lat must be",
            ),
        ] {
            let e = parse(body).expect_err(body);
            assert_eq!(e.status(), status, "{body}: {e}");
            assert!(e.to_string().contains(says), "{body}: {e}");
        }
        let long = format!(
            "api_key=k&service_code=illegal_parking&address_string=x&description={}",
            "长".repeat(4001)
        );
        let e = parse(&long).unwrap_err();
        assert_eq!(e.status(), 400);
        assert!(e.to_string().contains("4001 characters"), "{e}");
        let ok = format!(
            "api_key=k&service_code=illegal_parking&address_string=x&description={}",
            "长".repeat(4000)
        );
        assert!(parse(&ok).is_ok());
    }
}
