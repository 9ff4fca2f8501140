//! What the cockpit calls things: districts, streets and grids from the geography files, scenarios,
//! categories, severities and departments from the catalogue.

use cityops_core::catalogue::Catalogue;
use cityops_core::{CategoryId, DepartmentId, ScenarioId};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use crate::params::Vocabulary;

/// Why the cockpit cannot start.
#[derive(Debug, thiserror::Error)]
pub enum NamesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path} is not a GeoJSON FeatureCollection of areas with code and name: {source}")]
    Parse {
        path: String,
        source: serde_json::Error,
    },
}

#[derive(Deserialize)]
struct Collection {
    features: Vec<Feature>,
}

#[derive(Deserialize)]
struct Feature {
    properties: Properties,
}

#[derive(Deserialize)]
struct Properties {
    code: String,
    name: String,
}

/// One geography file: its bytes as served, and its areas' names by code (in file order).
#[derive(Debug, Clone)]
pub struct Areas {
    pub geojson: Arc<str>,
    pub names: Vec<(String, String)>,
}

/// A geography file's text, and what it parses into.
fn read_geojson<T: serde::de::DeserializeOwned>(path: &Path) -> Result<(String, T), NamesError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| NamesError::Read {
        path: shown.clone(),
        source,
    })?;
    let parsed = serde_json::from_str(&text).map_err(|source| NamesError::Parse {
        path: shown,
        source,
    })?;
    Ok((text, parsed))
}

impl Areas {
    pub fn load(path: &Path) -> Result<Self, NamesError> {
        let (text, parsed): (String, Collection) = read_geojson(path)?;
        Ok(Self {
            names: parsed
                .features
                .into_iter()
                .map(|f| (f.properties.code, f.properties.name))
                .collect(),
            geojson: text.into(),
        })
    }

    fn name(&self, code: &str) -> Option<&str> {
        self.names
            .iter()
            .find(|(c, _)| c == code)
            .map(|(_, n)| n.as_str())
    }
}

/// The grids (网格) of each street, from `grids.geojson`: per street code, a GeoJSON
/// FeatureCollection of its grids as the file has them. Empty when the geography has no grids
/// file (it is optional).
#[derive(Debug, Clone, Default)]
pub struct Grids {
    by_street: BTreeMap<String, Arc<str>>,
}

impl Grids {
    pub fn load(path: &Path) -> Result<Self, NamesError> {
        if !path.exists() {
            return Ok(Self::default());
        }
        let (_, parsed): (String, serde_json::Value) = read_geojson(path)?;
        let mut features: BTreeMap<String, Vec<&serde_json::Value>> = BTreeMap::new();
        for feature in parsed["features"].as_array().into_iter().flatten() {
            // A street code may be written as a string or as an integer.
            let street = match &feature["properties"]["parent_code"] {
                serde_json::Value::String(code) => code.clone(),
                serde_json::Value::Number(code) => code.to_string(),
                _ => continue,
            };
            features.entry(street).or_default().push(feature);
        }
        Ok(Self {
            by_street: features
                .into_iter()
                .map(|(street, features)| {
                    let collection =
                        serde_json::json!({"type": "FeatureCollection", "features": features});
                    (street, collection.to_string().into())
                })
                .collect(),
        })
    }

    /// The grids of `street` as a FeatureCollection (empty when it has none).
    pub fn of_street(&self, street: &str) -> Arc<str> {
        self.by_street
            .get(street)
            .cloned()
            .unwrap_or_else(|| Arc::from(r#"{"type":"FeatureCollection","features":[]}"#))
    }
}

/// The names the cockpit shows.
#[derive(Debug, Clone)]
pub struct Names {
    pub city: String,
    pub catalogue: Arc<Catalogue>,
    pub districts: Areas,
    pub streets: Areas,
    pub grids: Grids,
    street_index: BTreeMap<String, String>,
}

impl Names {
    pub fn load(city: &str, catalogue: Arc<Catalogue>, geo_dir: &Path) -> Result<Self, NamesError> {
        let districts = Areas::load(&geo_dir.join("districts.geojson"))?;
        let streets = Areas::load(&geo_dir.join("streets.geojson"))?;
        let grids = Grids::load(&geo_dir.join("grids.geojson"))?;
        let street_index = streets.names.iter().cloned().collect();
        Ok(Self {
            city: city.to_owned(),
            catalogue,
            districts,
            streets,
            grids,
            street_index,
        })
    }

    pub fn street_name(&self, code: &str) -> Option<&str> {
        self.street_index.get(code).map(String::as_str)
    }

    /// A category's name, or its id when the catalogue does not know it.
    pub fn category_name(&self, id: &str) -> String {
        self.catalogue
            .category(&CategoryId::new(id))
            .map_or_else(|| id.to_owned(), |c| c.name.clone())
    }

    /// A department's name; a street office is named after its street (`兴华街道办事处`).
    pub fn department_name(&self, id: &str) -> String {
        if let Some(code) = id.strip_prefix("street_office.") {
            return match self.street_name(code) {
                Some(street) => format!("{street}办事处"),
                None => format!("属地街道办事处 {code}"),
            };
        }
        self.catalogue
            .department(&DepartmentId::new(id))
            .map_or_else(|| id.to_owned(), |d| d.name.clone())
    }

    /// A device type's name, or its id.
    pub fn device_type_name(&self, id: &str) -> String {
        self.catalogue
            .device_type(id)
            .map_or_else(|| id.to_owned(), |d| d.name.clone())
    }

    /// The catalogue's scenarios, in catalogue order.
    pub fn scenarios(&self) -> Vec<(String, String)> {
        self.catalogue
            .scenarios()
            .map(|s| (s.id.as_str().to_owned(), s.name.clone()))
            .collect()
    }

    pub fn scenario_name(&self, id: &str) -> Option<String> {
        self.catalogue
            .scenario(&ScenarioId::new(id))
            .map(|s| s.name.clone())
    }
}

impl Vocabulary for Names {
    fn district_name(&self, code: &str) -> Option<&str> {
        self.districts.name(code)
    }

    fn street_name(&self, code: &str) -> Option<&str> {
        Names::street_name(self, code)
    }

    fn district_examples(&self) -> String {
        let all: Vec<String> = self
            .districts
            .names
            .iter()
            .map(|(c, n)| format!("{c} ({n})"))
            .collect();
        format!(
            "the {} district codes listed by /api/v1/meta: {}",
            all.len(),
            all.join(", ")
        )
    }

    fn has_scenario(&self, id: &str) -> bool {
        self.catalogue.scenario(&ScenarioId::new(id)).is_some()
    }

    fn scenario_ids(&self) -> String {
        self.scenarios()
            .into_iter()
            .map(|(id, _)| id)
            .collect::<Vec<_>>()
            .join(", ")
    }
}
