//! Measuring a [`Classifier`] on labelled tickets: accuracies, life-safety recall, triage rate
//! and confusion tables that read in a terminal.

use crate::classifier::{Classifier, Method};
use crate::data::Example;
use cityops_core::catalogue::Catalogue;
use cityops_core::{CategoryId, DepartmentId, ScenarioId, Severity};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// Per-category counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CategoryStats {
    /// Tickets labelled with the category.
    pub support: usize,
    /// Of them, classified as it.
    pub correct: usize,
    /// Tickets classified as it.
    pub predicted: usize,
}

impl CategoryStats {
    pub fn recall(&self) -> Option<f64> {
        (self.support > 0).then(|| self.correct as f64 / self.support as f64)
    }
    pub fn precision(&self) -> Option<f64> {
        (self.predicted > 0).then(|| self.correct as f64 / self.predicted as f64)
    }
}

/// A misclassified ticket.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Miss {
    pub id: String,
    pub expected: CategoryId,
    pub predicted: CategoryId,
    pub how: String,
    pub text: String,
}

/// What [`evaluate`] measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Report {
    pub n: usize,
    pub scenario_correct: usize,
    pub category_correct: usize,
    pub department_correct: usize,
    /// Tickets sent to the triage category (whatever their label).
    pub triaged: usize,
    /// Tickets decided by a rule, by the model, by triage.
    pub by_rule: usize,
    pub by_model: usize,
    pub by_triage: usize,
    /// Rule decisions whose category was wrong (false alarms included).
    pub rule_wrong: usize,
    pub per_category: BTreeMap<CategoryId, CategoryStats>,
    /// The catalogue's `critical` categories (fire, gas_leak, medical_emergency, fall_alarm).
    pub life_safety: Vec<CategoryId>,
    /// (expected, predicted) → count, categories. Serialised as `[expected, predicted, count]`
    /// triples (JSON maps need string keys).
    #[serde(serialize_with = "triples")]
    pub confusion: BTreeMap<(CategoryId, CategoryId), usize>,
    /// (expected, predicted) → count, scenarios.
    #[serde(serialize_with = "triples")]
    pub scenario_confusion: BTreeMap<(ScenarioId, ScenarioId), usize>,
    /// Scenario ids in catalogue order, for the table.
    pub scenarios: Vec<ScenarioId>,
    pub misses: Vec<Miss>,
}

fn triples<S: serde::Serializer, K: Serialize>(
    map: &BTreeMap<(K, K), usize>,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.collect_seq(map.iter().map(|((a, b), n)| (a, b, n)))
}

fn ratio(a: usize, n: usize) -> f64 {
    if n == 0 {
        0.0
    } else {
        a as f64 / n as f64
    }
}

impl Report {
    pub fn scenario_accuracy(&self) -> f64 {
        ratio(self.scenario_correct, self.n)
    }
    pub fn category_accuracy(&self) -> f64 {
        ratio(self.category_correct, self.n)
    }
    pub fn department_accuracy(&self) -> f64 {
        ratio(self.department_correct, self.n)
    }
    pub fn triage_rate(&self) -> f64 {
        ratio(self.triaged, self.n)
    }
    /// Recall of one category (`None` when the set has none of it).
    pub fn recall(&self, category: &str) -> Option<f64> {
        self.per_category
            .get(&CategoryId::new(category))
            .and_then(CategoryStats::recall)
    }
    /// Lowest recall over the life-safety categories present (1.0 when none is).
    pub fn life_safety_recall(&self) -> f64 {
        self.life_safety
            .iter()
            .filter_map(|c| self.per_category.get(c).and_then(CategoryStats::recall))
            .fold(1.0, f64::min)
    }

    /// The scenario × scenario confusion table (rows: label, columns: decision).
    pub fn scenario_table(&self) -> String {
        let mut out = String::new();
        let w = self
            .scenarios
            .iter()
            .map(|s| s.as_str().len())
            .max()
            .unwrap_or(8)
            + 3;
        let _ = write!(out, "{:w$} ", "");
        for (i, _) in self.scenarios.iter().enumerate() {
            let _ = write!(out, "{:>4}", i + 1);
        }
        out.push('\n');
        for (i, r) in self.scenarios.iter().enumerate() {
            let label = format!("{:>2} {}", i + 1, r);
            let _ = write!(out, "{label:w$} ");
            for c in &self.scenarios {
                let n = self
                    .scenario_confusion
                    .get(&(r.clone(), c.clone()))
                    .copied()
                    .unwrap_or(0);
                if n == 0 {
                    let _ = write!(out, "{:>4}", ".");
                } else {
                    let _ = write!(out, "{n:>4}");
                }
            }
            out.push('\n');
        }
        out
    }

    /// The category × category confusion table, compact: categories numbered, zeros as dots.
    pub fn category_table(&self) -> String {
        let cats: Vec<&CategoryId> = {
            let mut v: Vec<&CategoryId> = self.per_category.keys().collect();
            v.sort();
            v
        };
        let w = cats.iter().map(|c| c.as_str().len()).max().unwrap_or(8) + 3;
        let mut out = String::new();
        let _ = write!(out, "{:w$} ", "");
        for i in 0..cats.len() {
            let _ = write!(out, "{:>3}", i + 1);
        }
        out.push('\n');
        for (i, r) in cats.iter().enumerate() {
            let label = format!("{:>2} {}", i + 1, r);
            let _ = write!(out, "{label:w$} ");
            for c in &cats {
                let n = self
                    .confusion
                    .get(&((*r).clone(), (*c).clone()))
                    .copied()
                    .unwrap_or(0);
                if n == 0 {
                    let _ = write!(out, "{:>3}", ".");
                } else {
                    let _ = write!(out, "{n:>3}");
                }
            }
            out.push('\n');
        }
        out
    }

    /// Off-diagonal cells of the category confusion, largest first.
    pub fn confusions(&self) -> Vec<(&CategoryId, &CategoryId, usize)> {
        let mut v: Vec<_> = self
            .confusion
            .iter()
            .filter(|((a, b), _)| a != b)
            .map(|((a, b), n)| (a, b, *n))
            .collect();
        v.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (a.0, a.1).cmp(&(b.0, b.1))));
        v
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "tickets                {}", self.n)?;
        writeln!(
            f,
            "scenario accuracy      {:.4} ({}/{})",
            self.scenario_accuracy(),
            self.scenario_correct,
            self.n
        )?;
        writeln!(
            f,
            "category accuracy      {:.4} ({}/{})",
            self.category_accuracy(),
            self.category_correct,
            self.n
        )?;
        writeln!(
            f,
            "department accuracy    {:.4} ({}/{})",
            self.department_accuracy(),
            self.department_correct,
            self.n
        )?;
        writeln!(
            f,
            "triage rate            {:.4} ({}/{})",
            self.triage_rate(),
            self.triaged,
            self.n
        )?;
        writeln!(
            f,
            "decided by             rule {} (wrong {}), model {}, triage {}",
            self.by_rule, self.rule_wrong, self.by_model, self.by_triage
        )?;
        writeln!(f, "life-safety recall:")?;
        for c in &self.life_safety {
            let s = self.per_category.get(c).cloned().unwrap_or_default();
            match s.recall() {
                Some(r) => writeln!(
                    f,
                    "  {:20} {:.3} ({}/{}), precision {}",
                    c.as_str(),
                    r,
                    s.correct,
                    s.support,
                    s.precision().map_or("-".to_owned(), |p| format!(
                        "{p:.3} ({}/{})",
                        s.correct, s.predicted
                    ))
                )?,
                None => writeln!(f, "  {:20} - (none in this set)", c.as_str())?,
            }
        }
        writeln!(f, "\nscenario confusion (rows: label, columns: decision):")?;
        f.write_str(&self.scenario_table())?;
        writeln!(f, "\ncategory confusion (rows: label, columns: decision):")?;
        f.write_str(&self.category_table())?;
        let conf = self.confusions();
        if !conf.is_empty() {
            writeln!(f, "\nmisrouted categories (label -> decision: count):")?;
            for (a, b, n) in conf {
                writeln!(f, "  {a} -> {b}: {n}")?;
            }
        }
        writeln!(f, "\nper category (support, recall, precision):")?;
        for (c, s) in &self.per_category {
            writeln!(
                f,
                "  {:22} {:>4} {:>6} {:>6}",
                c.as_str(),
                s.support,
                s.recall().map_or("-".to_owned(), |r| format!("{r:.2}")),
                s.precision().map_or("-".to_owned(), |p| format!("{p:.2}")),
            )?;
        }
        Ok(())
    }
}

/// Classifies every example and compares with its label. A decision's department is the
/// catalogue owner of its category (`command_center` for triage); it is right when it equals
/// the label's department (or, unlabelled, the owner of the labelled category).
pub fn evaluate(classifier: &Classifier, examples: &[Example], catalogue: &Catalogue) -> Report {
    let mut r = Report {
        n: examples.len(),
        scenarios: catalogue.scenarios().map(|s| s.id.clone()).collect(),
        life_safety: catalogue
            .categories()
            .filter(|c| c.severity == Severity::Critical)
            .map(|c| c.id.clone())
            .collect(),
        ..Report::default()
    };
    let triage = catalogue.triage_category().id.clone();
    for ex in examples {
        let d = classifier.classify(&ex.text, catalogue);
        let truth = catalogue.category(&ex.category);
        let expected_scenario = ex
            .scenario
            .clone()
            .or_else(|| truth.map(|c| c.scenario.clone()))
            .unwrap_or_else(|| ScenarioId::new("?"));
        let expected_dept: Option<DepartmentId> = ex
            .department
            .clone()
            .or_else(|| truth.and_then(|c| c.owner.clone()));
        if d.scenario == expected_scenario {
            r.scenario_correct += 1;
        }
        if d.category == ex.category {
            r.category_correct += 1;
        }
        if d.department.is_some() && d.department == expected_dept {
            r.department_correct += 1;
        }
        if d.category == triage {
            r.triaged += 1;
        }
        match &d.method {
            Method::Rule { .. } => {
                r.by_rule += 1;
                if d.category != ex.category {
                    r.rule_wrong += 1;
                }
            }
            Method::Model => r.by_model += 1,
            Method::Triage { .. } => r.by_triage += 1,
        }
        r.per_category
            .entry(ex.category.clone())
            .or_default()
            .support += 1;
        r.per_category
            .entry(d.category.clone())
            .or_default()
            .predicted += 1;
        if d.category == ex.category {
            r.per_category
                .entry(ex.category.clone())
                .or_default()
                .correct += 1;
        } else {
            let how = match &d.method {
                Method::Rule { rule_id, matched } => format!("rule {rule_id} ({matched})"),
                Method::Model => format!("model {:.2}", d.confidence),
                Method::Triage { .. } => format!(
                    "triage (best {} {:.2})",
                    d.alternatives.first().map_or("-", |(c, _)| c.as_str()),
                    d.confidence
                ),
            };
            r.misses.push(Miss {
                id: ex.id.clone(),
                expected: ex.category.clone(),
                predicted: d.category.clone(),
                how,
                text: ex.text.clone(),
            });
        }
        *r.confusion
            .entry((ex.category.clone(), d.category.clone()))
            .or_default() += 1;
        *r.scenario_confusion
            .entry((expected_scenario, d.scenario.clone()))
            .or_default() += 1;
    }
    r
}
