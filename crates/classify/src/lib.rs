//! cityops-classify: what a 12345 ticket's text is about.
//!
//! A ticket is classified into a catalogue category (and so its scenario and owner
//! department) in three steps:
//! 1. **life-safety rules** ([`rules`], data in `config/classify_rules.toml`): fire, gas,
//!    medical emergency, fall, trapped people. The first rule that fires decides, whatever the
//!    model thinks; its stable id goes on the incident.
//! 2. **the text model** ([`model`], file `config/models/hotline_classifier.bin`): a linear
//!    model (logistic regression by default) over TF-IDF weighted jieba words and character
//!    1–3-grams.
//! 3. **manual triage**: a model choice below the confidence threshold goes to the catalogue's
//!    triage category (`other/unclassified`, the command centre), never to a guessed
//!    department.
//!
//! Training data is the shared corpus' training split ([`data::split`], a deterministic hash
//! of the ticket id) plus the project's own labelled tickets (`data/classify/train/*.jsonl`);
//! the held-out split and the generality set (`data/classify/generality.jsonl`) are never
//! trained on. See docs/classifier.md for measurements and how to retrain.
//!
//! ```no_run
//! # use cityops_classify::*;
//! # use cityops_core::catalogue::Catalogue;
//! let catalogue = Catalogue::load("config/catalogue.toml")?;
//! let classifier = Classifier::load(MODEL_PATH, RULES_PATH, &catalogue)?;
//! let d = classifier.classify("楼道里一股煤气味 呛人", &catalogue);
//! assert_eq!(d.category.as_str(), "gas_leak");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod classifier;
pub mod data;
pub mod eval;
pub mod model;
pub mod rules;
pub mod text;

pub use classifier::{Classifier, ClassifierConfig, Decision, Method, TriageReason};
pub use data::{load_dir, load_jsonl, split, validate, Example, Split, SplitConfig};
pub use eval::{evaluate, Report};
pub use model::{train, Algorithm, Model, ModelHeader, Prediction, TrainConfig};
pub use rules::{RuleMatch, RuleSet};

use std::path::{Path, PathBuf};

/// The shipped model file, relative to the workspace root.
pub const MODEL_PATH: &str = "config/models/hotline_classifier.bin";
/// The life-safety rules file, relative to the workspace root.
pub const RULES_PATH: &str = "config/classify_rules.toml";
/// The shared labelled corpus, relative to the workspace root.
pub const CORPUS_PATH: &str = "data/classify/hotline_corpus.jsonl";
/// The project's own training tickets (every `*.jsonl` in it), relative to the workspace root.
pub const OWN_TRAIN_DIR: &str = "data/classify/train";
/// The project's own held-out tickets (never trained on), relative to the workspace root.
pub const GENERALITY_PATH: &str = "data/classify/generality.jsonl";

/// Why something failed.
#[derive(Debug, thiserror::Error)]
pub enum ClassifyError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a labelled ticket: {reason}")]
    BadExample {
        path: PathBuf,
        line: usize,
        reason: String,
    },
    #[error("labelled tickets disagree with the catalogue:\n  {}", .0.join("\n  "))]
    Invalid(Vec<String>),
    #[error("bad model file: {0}")]
    BadModel(String),
    #[error("bad rules file:\n  {}", .0.join("\n  "))]
    BadRules(Vec<String>),
    #[error("cannot train: {0}")]
    Train(String),
}

/// Where the classifier's files are, all relative to one workspace root by default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    pub corpus: PathBuf,
    pub own_train_dir: PathBuf,
    pub generality: PathBuf,
    pub model: PathBuf,
    pub rules: PathBuf,
}

impl Paths {
    /// The default layout under a workspace root.
    pub fn under(root: impl AsRef<Path>) -> Self {
        let root = root.as_ref();
        Self {
            corpus: root.join(CORPUS_PATH),
            own_train_dir: root.join(OWN_TRAIN_DIR),
            generality: root.join(GENERALITY_PATH),
            model: root.join(MODEL_PATH),
            rules: root.join(RULES_PATH),
        }
    }
}

/// The three sets: what the model is trained on, and the two it is measured on.
#[derive(Debug, Clone)]
pub struct Datasets {
    /// Corpus training split + the project's own training tickets.
    pub train: Vec<Example>,
    /// The corpus' held-out split: never trained on.
    pub heldout: Vec<Example>,
    /// The project's own differently worded held-out tickets: never trained on.
    pub generality: Vec<Example>,
}

/// Loads and splits the data (default [`SplitConfig`]), checking every label against the
/// catalogue, and that no held-out text is also a training text.
pub fn datasets(
    paths: &Paths,
    catalogue: &cityops_core::catalogue::Catalogue,
) -> Result<Datasets, ClassifyError> {
    let corpus = load_jsonl(&paths.corpus)?;
    let own = load_dir(&paths.own_train_dir)?;
    let generality = load_jsonl(&paths.generality)?;
    let mut all = corpus.clone();
    all.extend(own.iter().cloned());
    all.extend(generality.iter().cloned());
    validate(&all, catalogue)?;
    let Split { mut train, heldout } = split(&corpus, &SplitConfig::default());
    train.extend(own);
    let train_texts: std::collections::HashSet<String> = train
        .iter()
        .map(|e| text::normalize(e.text.trim()))
        .collect();
    let leaks: Vec<String> = heldout
        .iter()
        .chain(&generality)
        .filter(|e| train_texts.contains(&text::normalize(e.text.trim())))
        .map(|e| format!("{}: its text is also a training text", e.id))
        .collect();
    if !leaks.is_empty() {
        return Err(ClassifyError::Invalid(leaks));
    }
    Ok(Datasets {
        train,
        heldout,
        generality,
    })
}

/// What `cityops classify train` does: train on [`Datasets::train`] with `config` and write the
/// model file. Returns the model.
pub fn train_and_save(
    paths: &Paths,
    catalogue: &cityops_core::catalogue::Catalogue,
    config: &TrainConfig,
) -> Result<Model, ClassifyError> {
    let data = datasets(paths, catalogue)?;
    let model = train(&data.train, config)?;
    model.save(&paths.model)?;
    Ok(model)
}

/// What `cityops classify eval` does: load the model and rules and measure them on the
/// held-out split and the generality set.
pub fn evaluate_shipped(
    paths: &Paths,
    catalogue: &cityops_core::catalogue::Catalogue,
) -> Result<(Report, Report), ClassifyError> {
    let data = datasets(paths, catalogue)?;
    let classifier = Classifier::load(&paths.model, &paths.rules, catalogue)?;
    Ok((
        evaluate(&classifier, &data.heldout, catalogue),
        evaluate(&classifier, &data.generality, catalogue),
    ))
}
