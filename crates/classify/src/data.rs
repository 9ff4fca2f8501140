//! Labelled tickets ([`Example`]), their loaders, the deterministic held-out [`split`], and the
//! check that every label exists in the catalogue.

use crate::ClassifyError;
use cityops_core::catalogue::Catalogue;
use cityops_core::{CategoryId, DepartmentId, ScenarioId};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One labelled 12345 ticket. The shared corpus and the project's own files
/// (`data/classify/*.jsonl`) have the same shape; only `id`, `text` and `category` are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    pub id: String,
    pub text: String,
    pub category: CategoryId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<ScenarioId>,
    /// The owner department as labelled (checked against the catalogue's owner).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub department: Option<DepartmentId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    /// Where the example comes from (file stem), filled in by the loaders.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

/// Reads a JSON-lines file of [`Example`]s (blank lines and lines starting with `//` are
/// skipped). Every example gets `source` = the file's stem unless it names one.
pub fn load_jsonl(path: impl AsRef<Path>) -> Result<Vec<Example>, ClassifyError> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|source| ClassifyError::Read {
        path: path.to_owned(),
        source,
    })?;
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with("//") {
            continue;
        }
        let mut ex: Example =
            serde_json::from_str(line).map_err(|e| ClassifyError::BadExample {
                path: path.to_owned(),
                line: i + 1,
                reason: e.to_string(),
            })?;
        if ex.text.trim().is_empty() {
            return Err(ClassifyError::BadExample {
                path: path.to_owned(),
                line: i + 1,
                reason: "empty text".into(),
            });
        }
        ex.source.get_or_insert_with(|| stem.clone());
        out.push(ex);
    }
    Ok(out)
}

/// Reads every `*.jsonl` file of a directory, in file-name order (not recursive).
pub fn load_dir(dir: impl AsRef<Path>) -> Result<Vec<Example>, ClassifyError> {
    let dir = dir.as_ref();
    let entries = std::fs::read_dir(dir).map_err(|source| ClassifyError::Read {
        path: dir.to_owned(),
        source,
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for f in files {
        out.extend(load_jsonl(&f)?);
    }
    Ok(out)
}

/// Checks every example against the catalogue: the category exists, and the scenario and
/// department, when given, are the category's. Returns every problem found.
pub fn validate(examples: &[Example], catalogue: &Catalogue) -> Result<(), ClassifyError> {
    let mut problems = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for ex in examples {
        if !seen.insert(ex.id.as_str()) {
            problems.push(format!("{}: duplicate id", ex.id));
        }
        let Some(cat) = catalogue.category(&ex.category) else {
            problems.push(format!("{}: unknown category {}", ex.id, ex.category));
            continue;
        };
        if let Some(s) = &ex.scenario {
            if *s != cat.scenario {
                problems.push(format!(
                    "{}: scenario {s} but category {} is in {}",
                    ex.id, cat.id, cat.scenario
                ));
            }
        }
        if let (Some(d), Some(owner)) = (&ex.department, &cat.owner) {
            if d != owner {
                problems.push(format!(
                    "{}: department {d} but category {} is owned by {owner}",
                    ex.id, cat.id
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(ClassifyError::Invalid(problems))
    }
}

/// How the shared corpus is cut into training and held-out tickets.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitConfig {
    /// Mixed into every id's hash: another seed, another split.
    pub seed: u64,
    /// Share of each category held out (rounded, at least one when a category has ≥ 3).
    pub heldout_fraction: f64,
}

impl Default for SplitConfig {
    fn default() -> Self {
        Self {
            seed: 12345,
            heldout_fraction: 0.3,
        }
    }
}

/// Training and held-out examples.
#[derive(Debug, Clone, Default)]
pub struct Split {
    pub train: Vec<Example>,
    pub heldout: Vec<Example>,
}

/// The split's hash of an id: FNV-1a 64 over the seed's bytes and the id, then a final mix.
pub fn split_hash(seed: u64, id: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.to_le_bytes().iter().chain(id.as_bytes()) {
        h = (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
    }
    // splitmix64 finaliser: FNV's low bits alone are poorly mixed for short ids.
    h = (h ^ (h >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    h = (h ^ (h >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    h ^ (h >> 31)
}

/// Deterministic, stratified split: within each category the examples are ordered by
/// [`split_hash`] of their id and the first `round(n × fraction)` are held out. It depends only
/// on the ids, the labels and the config, never on the input order.
pub fn split(examples: &[Example], cfg: &SplitConfig) -> Split {
    let mut by_cat: BTreeMap<&CategoryId, Vec<(u64, &Example)>> = BTreeMap::new();
    for ex in examples {
        by_cat
            .entry(&ex.category)
            .or_default()
            .push((split_hash(cfg.seed, &ex.id), ex));
    }
    let mut out = Split::default();
    for (_, mut exs) in by_cat {
        exs.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.id.cmp(&b.1.id)));
        let n = exs.len();
        let mut k = (n as f64 * cfg.heldout_fraction).round() as usize;
        if n >= 3 {
            k = k.max(1);
        }
        k = k.min(n.saturating_sub(1));
        for (i, (_, ex)) in exs.into_iter().enumerate() {
            if i < k {
                out.heldout.push(ex.clone());
            } else {
                out.train.push(ex.clone());
            }
        }
    }
    out.train.sort_by(|a, b| a.id.cmp(&b.id));
    out.heldout.sort_by(|a, b| a.id.cmp(&b.id));
    out
}
