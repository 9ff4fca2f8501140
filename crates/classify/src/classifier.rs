//! The classifier the enrichment service calls per ticket: life-safety rules first, then the
//! model, and manual triage (`other/unclassified`) when the model is not confident enough.

use crate::model::Model;
use crate::rules::RuleSet;
use crate::ClassifyError;
use cityops_core::catalogue::Catalogue;
use cityops_core::{CategoryId, Classification, ClassifiedBy, DepartmentId, ScenarioId, Severity};
use serde::Serialize;
use std::path::Path;

/// How a [`Decision`] was made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Method {
    /// A life-safety keyword rule fired; it takes precedence over the model.
    Rule {
        rule_id: String,
        /// The words that triggered it.
        matched: String,
    },
    /// The model, at or above its confidence threshold.
    Model,
    /// Sent to the command centre's manual triage.
    Triage { reason: TriageReason },
}

/// Why a ticket went to manual triage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TriageReason {
    /// The model's best category is below the confidence threshold.
    LowConfidence,
    /// No word of the text is known to the model (empty, noise, another language).
    NoKnownFeatures,
    /// The model's (or a rule's) category is not in the loaded catalogue.
    NotInCatalogue,
}

/// What the classifier decided for one ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub category: CategoryId,
    pub scenario: ScenarioId,
    /// The category's owner in the catalogue (`command_center` for triage); `None` for a
    /// cockpit-only category.
    pub department: Option<DepartmentId>,
    /// 1.0 for a rule; the model's probability of the chosen category otherwise (for triage:
    /// of its best guess).
    pub confidence: f64,
    pub method: Method,
    /// The model's best categories with their probabilities, most likely first.
    pub alternatives: Vec<(CategoryId, f64)>,
    /// [`Model::version`] of the model consulted.
    pub model_version: String,
}

impl Decision {
    /// The evidence as recorded on an incident.
    pub fn classification(&self) -> Classification {
        let (method, rule_id) = match &self.method {
            Method::Rule { rule_id, .. } => (ClassifiedBy::Rule, Some(rule_id.clone())),
            Method::Model => (ClassifiedBy::Model, None),
            Method::Triage { .. } => (ClassifiedBy::Triage, None),
        };
        Classification {
            method,
            rule_id,
            confidence: self.confidence,
            model_version: Some(self.model_version.clone()),
        }
    }

    /// One line a dispatcher understands, e.g. `rule gas_leak.smell matched "煤气味"`.
    pub fn reason(&self) -> String {
        match &self.method {
            Method::Rule { rule_id, matched } => {
                format!("life-safety rule {rule_id} matched \"{matched}\"")
            }
            Method::Model => format!(
                "text model {} chose {} with confidence {:.2}",
                self.model_version, self.category, self.confidence
            ),
            Method::Triage { reason } => {
                let best = self
                    .alternatives
                    .first()
                    .map(|(c, p)| format!("; best guess {c} at {p:.2}"))
                    .unwrap_or_default();
                let why = match reason {
                    TriageReason::LowConfidence => "the text model is not confident",
                    TriageReason::NoKnownFeatures => "the text model knows none of its words",
                    TriageReason::NotInCatalogue => "the chosen category is not in the catalogue",
                };
                format!("manual triage: {why}{best}")
            }
        }
    }
}

/// Thresholds of a [`Classifier`].
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct ClassifierConfig {
    /// Below this probability the model's choice goes to manual triage.
    pub threshold: f64,
    /// Lower threshold for categories whose catalogue severity is `critical` (life-safety):
    /// a missed emergency costs more than a false alarm, which triage and merging absorb.
    pub critical_threshold: f64,
    /// How many model alternatives a decision carries.
    pub alternatives: usize,
}

impl Default for ClassifierConfig {
    fn default() -> Self {
        Self {
            threshold: 0.15,
            critical_threshold: 0.1,
            alternatives: 3,
        }
    }
}

/// Rules, model and thresholds.
#[derive(Debug, Clone)]
pub struct Classifier {
    model: Model,
    rules: RuleSet,
    config: ClassifierConfig,
}

impl Classifier {
    /// A classifier with the model's recommended threshold.
    pub fn new(model: Model, rules: RuleSet) -> Self {
        let config = ClassifierConfig {
            threshold: model.header().threshold,
            ..ClassifierConfig::default()
        };
        Self {
            model,
            rules,
            config,
        }
    }

    pub fn with_config(mut self, config: ClassifierConfig) -> Self {
        self.config = config;
        self
    }

    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.config.threshold = threshold;
        self
    }

    /// Loads the model and rules files, and checks the rules against the catalogue. Also warms
    /// up jieba's dictionary, so that the first ticket is not slow.
    pub fn load(
        model_path: impl AsRef<Path>,
        rules_path: impl AsRef<Path>,
        catalogue: &Catalogue,
    ) -> Result<Self, ClassifyError> {
        let model = Model::load(model_path)?;
        let rules = RuleSet::load(rules_path)?;
        rules.validate(catalogue)?;
        let _ = crate::text::jieba();
        Ok(Self::new(model, rules))
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    pub fn config(&self) -> &ClassifierConfig {
        &self.config
    }

    /// Classifies one ticket's text.
    pub fn classify(&self, text: &str, catalogue: &Catalogue) -> Decision {
        if let Some(m) = self.rules.check(text) {
            if let Some(cat) = catalogue.category(&m.category) {
                return Decision {
                    category: cat.id.clone(),
                    scenario: cat.scenario.clone(),
                    department: cat.owner.clone(),
                    confidence: 1.0,
                    method: Method::Rule {
                        rule_id: m.rule_id,
                        matched: m.matched,
                    },
                    alternatives: Vec::new(),
                    model_version: self.model.version().to_owned(),
                };
            }
        }
        let prediction = self.model.predict(text);
        let alternatives: Vec<(CategoryId, f64)> = prediction
            .ranked
            .iter()
            .take(self.config.alternatives.max(1))
            .map(|(c, p)| ((*c).clone(), *p))
            .collect();
        let triage = |reason, confidence| {
            let t = catalogue.triage_category();
            Decision {
                category: t.id.clone(),
                scenario: t.scenario.clone(),
                department: t.owner.clone(),
                confidence,
                method: Method::Triage { reason },
                alternatives: alternatives.clone(),
                model_version: self.model.version().to_owned(),
            }
        };
        let Some((best, p)) = prediction.top() else {
            return triage(TriageReason::NoKnownFeatures, 0.0);
        };
        if prediction.known_features == 0 {
            return triage(TriageReason::NoKnownFeatures, p);
        }
        let Some(cat) = catalogue.category(best) else {
            return triage(TriageReason::NotInCatalogue, p);
        };
        let threshold = if cat.severity == Severity::Critical {
            self.config.critical_threshold.min(self.config.threshold)
        } else {
            self.config.threshold
        };
        if p < threshold {
            return triage(TriageReason::LowConfidence, p);
        }
        Decision {
            category: cat.id.clone(),
            scenario: cat.scenario.clone(),
            department: cat.owner.clone(),
            confidence: p,
            method: Method::Model,
            alternatives,
            model_version: self.model.version().to_owned(),
        }
    }
}
