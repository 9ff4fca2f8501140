//! The services of GeoReport v2: every actionable category of the catalogue (the ones that
//! open a work order), except the manual-triage one, grouped by scenario, with the attributes
//! of `config/open311.toml` where a category needs them.

use cityops_core::catalogue::Catalogue;
use cityops_core::Severity;
use serde_json::{json, Value};

use crate::config::{Attribute, ServicesFile};

const DATATYPES: [&str; 6] = [
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
];

/// A problem in `config/open311.toml`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("config/open311.toml: {0}")]
pub struct ServicesError(pub String);

/// One service: a catalogue category citizens may report.
#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub code: String,
    pub name: String,
    /// The scenario's Chinese name.
    pub group: String,
    pub description: String,
    pub attributes: Vec<Attribute>,
}

/// The services offered.
#[derive(Debug, Clone, PartialEq)]
pub struct Services {
    services: Vec<Service>,
}

impl Services {
    pub fn new(catalogue: &Catalogue, file: &ServicesFile) -> Result<Self, ServicesError> {
        let triage = catalogue.triage_category().id.clone();
        // GeoReport v2 is for non-emergency issues: a life-threatening emergency is a call to
        // 110/119/120, never a form that waits in a queue.
        let mut services: Vec<Service> = catalogue
            .categories()
            .filter(|c| c.is_actionable() && c.id != triage && c.severity != Severity::Critical)
            .map(|c| {
                let group = catalogue
                    .scenario(&c.scenario)
                    .map_or_else(|| c.scenario.as_str().to_owned(), |s| s.name.clone());
                Service {
                    code: c.id.as_str().to_owned(),
                    name: c.name.clone(),
                    description: format!("{group}：{}", c.name),
                    group,
                    attributes: Vec::new(),
                }
            })
            .collect();
        for a in &file.attributes {
            let Some(service) = services.iter_mut().find(|s| s.code == a.service_code) else {
                return Err(ServicesError(format!(
                    "attribute {} names service {}, which is not an actionable category of the catalogue",
                    a.code, a.service_code
                )));
            };
            if !DATATYPES.contains(&a.datatype.as_str()) {
                return Err(ServicesError(format!(
                    "attribute {} of {}: datatype {} is not one of {}",
                    a.code,
                    a.service_code,
                    a.datatype,
                    DATATYPES.join(", ")
                )));
            }
            let is_list = a.datatype.ends_with("valuelist");
            if is_list == a.values.is_empty() {
                return Err(ServicesError(format!(
                    "attribute {} of {}: a list attribute needs values, and only a list attribute has them",
                    a.code, a.service_code
                )));
            }
            if a.order == 0
                || service
                    .attributes
                    .iter()
                    .any(|b| b.order == a.order || b.code == a.code)
            {
                return Err(ServicesError(format!(
                    "attribute {} of {}: code and order (a positive number) must be unique in the service",
                    a.code, a.service_code
                )));
            }
            service.attributes.push(a.clone());
        }
        for s in &mut services {
            s.attributes.sort_by_key(|a| a.order);
        }
        Ok(Self { services })
    }

    pub fn get(&self, code: &str) -> Option<&Service> {
        self.services.iter().find(|s| s.code == code)
    }

    pub fn all(&self) -> &[Service] {
        &self.services
    }

    /// `GET services`: one object per service.
    pub fn list(&self) -> Value {
        Value::Array(
            self.services
                .iter()
                .map(|s| {
                    json!({
                        "service_code": s.code,
                        "service_name": s.name,
                        "description": s.description,
                        "metadata": !s.attributes.is_empty(),
                        "type": "realtime",
                        "keywords": format!("{},{}", s.group, s.name),
                        "group": s.group,
                    })
                })
                .collect(),
        )
    }

    /// `GET services/{code}`: the service definition.
    pub fn definition(&self, code: &str) -> Option<Value> {
        let s = self.get(code)?;
        Some(json!({
            "service_code": s.code,
            "attributes": s.attributes.iter().map(|a| json!({
                "variable": true,
                "code": a.code,
                "datatype": a.datatype,
                "required": a.required,
                "datatype_description": a.datatype_description,
                "order": a.order,
                "description": a.description,
                "values": a.values,
            })).collect::<Vec<_>>(),
        }))
    }
}
