//! One event → its incident (or, for a below-threshold reading, its telemetry): where it
//! happened (geography, gazetteer), what it is (device rules or the text classifier), how
//! severe, and whether anyone must act.

use cityops_classify::Classifier;
use cityops_core::catalogue::{Catalogue, ReadingError, ReadingVerdict};
use cityops_core::{
    CategoryId, CityEvent, Classification, ClassifiedBy, Incident, LocationPrecision, Reading,
    Source, OPEN311_SERVICE_TAG,
};
use cityops_geo::{Gazetteer, Geography, Resolved};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

/// The `[enrich]` section of the config.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct EnrichConfig {
    pub consumer_group: String,
    /// H3 resolution of `Incident::h3_cell` (9 ≈ 0.1 km² cells).
    pub h3_resolution: u8,
    /// The trained text model (`cityops classify train` writes it).
    pub model: PathBuf,
    /// The life-safety keyword rules.
    pub rules: PathBuf,
    /// Confidence under which a ticket goes to manual triage; `None`: the model's own.
    pub threshold: Option<f64>,
}

impl Default for EnrichConfig {
    fn default() -> Self {
        Self {
            consumer_group: "cityops-enrich".to_owned(),
            h3_resolution: cityops_geo::DEFAULT_H3_RESOLUTION,
            model: cityops_classify::MODEL_PATH.into(),
            rules: cityops_classify::RULES_PATH.into(),
            threshold: None,
        }
    }
}

/// Why the enricher could not be built.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("geography {dir}: {source}")]
    Geography {
        dir: PathBuf,
        source: cityops_geo::GeoError,
    },
    #[error(
        "text classifier ({model}, {rules}): {source} (train it with `cityops classify train`)"
    )]
    Classifier {
        model: PathBuf,
        rules: PathBuf,
        source: cityops_classify::ClassifyError,
    },
}

/// Why an event cannot be enriched (it is dead-lettered with this reason).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EnrichError {
    #[error("reading: {0}")]
    Reading(#[from] ReadingError),
    #[error("an IoT event without device_type: ingest should have refused it")]
    NoDeviceType,
    #[error("a {0} event without text: nothing to classify")]
    NoText(&'static str),
    #[error("category {0} is not in the catalogue")]
    UnknownCategory(CategoryId),
}

/// What an event becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Enriched {
    Incident(Box<Incident>),
    /// A reading under every threshold: kept for the cockpit and analysts.
    Telemetry(Box<Reading>),
}

/// Everything enrichment needs, loaded once at start.
pub struct Enricher {
    /// Swapped whole when the catalogue file changes ([`Enricher::set_catalogue`]).
    catalogue: RwLock<Arc<Catalogue>>,
    geography: Geography,
    gazetteer: Gazetteer,
    classifier: Classifier,
}

impl Enricher {
    /// Loads the geography and gazetteer under `geo_dir` and the classifier files.
    pub fn load(
        catalogue: Arc<Catalogue>,
        geo_dir: &Path,
        config: &EnrichConfig,
    ) -> Result<Self, LoadError> {
        let geo_err = |source| LoadError::Geography {
            dir: geo_dir.to_owned(),
            source,
        };
        let geography = Geography::load(geo_dir)
            .and_then(|g| g.with_h3_resolution(config.h3_resolution))
            .map_err(geo_err)?;
        let gazetteer_path = geo_dir.join(cityops_geo::GAZETTEER_FILE);
        let gazetteer = if gazetteer_path.exists() {
            Gazetteer::load(&gazetteer_path, &geography).map_err(geo_err)?
        } else {
            Gazetteer::from_geography(&geography)
        };
        let mut classifier =
            Classifier::load(&config.model, &config.rules, &catalogue).map_err(|source| {
                LoadError::Classifier {
                    model: config.model.clone(),
                    rules: config.rules.clone(),
                    source,
                }
            })?;
        if let Some(t) = config.threshold {
            classifier = classifier.with_threshold(t);
        }
        Ok(Self {
            catalogue: RwLock::new(catalogue),
            geography,
            gazetteer,
            classifier,
        })
    }

    /// The catalogue in force now.
    pub fn catalogue(&self) -> Arc<Catalogue> {
        self.catalogue
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Puts a new (validated) catalogue in force for the events enriched from now on.
    pub fn set_catalogue(&self, catalogue: Arc<Catalogue>) {
        *self.catalogue.write().unwrap_or_else(|e| e.into_inner()) = catalogue;
    }

    pub fn model_version(&self) -> &str {
        self.classifier.model().version()
    }

    /// Where an event happened.
    pub fn place(&self, event: &CityEvent) -> Resolved<'_> {
        self.geography.resolve(
            &self.gazetteer,
            event.location.map(|p| (p.lat, p.lon)),
            event.address.as_deref(),
            event.district_hint.as_deref(),
        )
    }

    /// Enriches one event; `now_ms` stamps the incident.
    pub fn enrich(
        &self,
        event: &CityEvent,
        now_ms: i64,
    ) -> Result<(Enriched, String), EnrichError> {
        let place = self.place(event);
        let catalogue = self.catalogue();
        let (category, classification, reason) = match event.source {
            Source::Iot => {
                let device_type = event
                    .device_type
                    .as_deref()
                    .ok_or(EnrichError::NoDeviceType)?;
                match catalogue.evaluate_reading(
                    device_type,
                    &event.metrics,
                    event.device_event.as_deref(),
                    &event.tags,
                    event.occurred_at_ms,
                )? {
                    ReadingVerdict::Telemetry => {
                        let reading = Reading {
                            event_id: event.event_id.clone(),
                            device_id: event.device_id.clone().unwrap_or_default(),
                            device_type: device_type.to_owned(),
                            at_ms: event.occurred_at_ms,
                            location: event.location,
                            metrics: event.metrics.clone(),
                            tags: event.tags.clone(),
                            district_code: place.district.map(|a| a.code().to_owned()),
                            street_code: place.street.map(|a| a.code().to_owned()),
                            grid_code: place.grid.map(|a| a.code().to_owned()),
                        };
                        metrics::counter!("cityops_enrich_telemetry_total", "device_type" => device_type.to_owned()).increment(1);
                        return Ok((
                            Enriched::Telemetry(Box::new(reading)),
                            format!("{device_type} reading under every threshold"),
                        ));
                    }
                    ReadingVerdict::Incident { category, rule_id } => {
                        let reason = format!("device rule {rule_id}");
                        let c = Classification {
                            method: ClassifiedBy::IotRule,
                            rule_id: Some(rule_id),
                            confidence: 1.0,
                            model_version: None,
                        };
                        (category, c, reason)
                    }
                }
            }
            Source::Hotline | Source::Open311 | Source::Inspector => {
                let source = event.source.as_str();
                let text = event.text.as_deref().ok_or(EnrichError::NoText(source))?;
                let decision = self.classifier.classify(text, &catalogue);
                let classification = decision.classification();
                // An Open311 request names its service: the citizen's choice stands, unless
                // a life-safety rule fires on the text (a "parking" report of a fire).
                let chosen = (event.source == Source::Open311)
                    .then(|| event.tags.get(OPEN311_SERVICE_TAG))
                    .flatten()
                    .map(|code| CategoryId::new(code.as_str()))
                    .filter(|c| catalogue.category(c).is_some_and(|c| c.is_actionable()));
                match chosen {
                    Some(category) if classification.method != ClassifiedBy::Rule => {
                        let reason = format!("the citizen chose service {category} (Open311)");
                        let c = Classification {
                            method: ClassifiedBy::Rule,
                            rule_id: Some(OPEN311_SERVICE_TAG.to_owned()),
                            confidence: 1.0,
                            model_version: None,
                        };
                        (category, c, reason)
                    }
                    _ => (decision.category.clone(), classification, decision.reason()),
                }
            }
        };
        let cat = catalogue
            .category(&category)
            .ok_or_else(|| EnrichError::UnknownCategory(category.clone()))?;
        let incident = Incident {
            incident_id: event.event_id.clone(),
            event: event.clone(),
            district_code: place.district.map(|a| a.code().to_owned()),
            district_name: place.district.map(|a| a.name().to_owned()),
            street_code: place.street.map(|a| a.code().to_owned()),
            street_name: place.street.map(|a| a.name().to_owned()),
            grid_code: place.grid.map(|a| a.code().to_owned()),
            location_precision: place.precision,
            h3_cell: place.h3_cell.clone(),
            scenario: cat.scenario.clone(),
            category: cat.id.clone(),
            severity: cat.severity,
            actionable: cat.is_actionable(),
            classification,
            catalogue_version: catalogue.version().to_owned(),
            enriched_at_ms: now_ms,
        };
        let method = match incident.classification.method {
            ClassifiedBy::Rule => "rule",
            ClassifiedBy::Model => "model",
            ClassifiedBy::IotRule => "iot_rule",
            ClassifiedBy::Triage => "triage",
        };
        metrics::counter!("cityops_enrich_incidents_total", "scenario" => incident.scenario.to_string(), "method" => method).increment(1);
        if incident.location_precision == LocationPrecision::Unlocated {
            metrics::counter!("cityops_enrich_unlocated_incidents_total").increment(1);
        }
        Ok((Enriched::Incident(Box::new(incident)), reason))
    }
}
