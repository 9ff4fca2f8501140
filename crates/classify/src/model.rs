//! The trained text model: a linear classifier over TF-IDF weighted jieba words and character
//! n-grams, trained either as multinomial logistic regression (SGD, L2) or as multinomial naive
//! Bayes. Both end as the same thing on disk and at run time: a weight per (feature, category)
//! and a bias per category, read through a softmax.
//!
//! Training is deterministic: the same examples and [`TrainConfig`] give the same model bytes
//! (no hash-map iteration order, no clock, a seeded shuffle).

use crate::data::Example;
use crate::text::{self, FeatureConfig};
use crate::ClassifyError;
use cityops_core::CategoryId;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};
use std::path::Path;

/// Which learner produced the weights.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Algorithm {
    /// Multinomial logistic regression, SGD with L2 regularisation.
    LogisticRegression,
    /// Multinomial naive Bayes over TF-IDF weights, Laplace/Lidstone smoothing.
    NaiveBayes,
}

impl Algorithm {
    pub fn short_name(self) -> &'static str {
        match self {
            Algorithm::LogisticRegression => "lr",
            Algorithm::NaiveBayes => "nb",
        }
    }
}

/// Everything that decides a trained model. Its defaults are the shipped model's settings
/// (see docs/classifier.md for the measurements behind them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub algorithm: Algorithm,
    pub features: FeatureConfig,
    /// A feature must occur in at least this many training tickets to enter the vocabulary.
    pub min_df: u32,
    /// SGD passes over the training set (logistic regression).
    pub epochs: u32,
    /// Initial SGD step (logistic regression); decays as `lr / (1 + lr·l2·t)`.
    pub learning_rate: f64,
    /// L2 regularisation strength (logistic regression).
    pub l2: f64,
    /// Weight each ticket by `(N / (K·n_class))^class_weight_power` so that small categories
    /// (the life-safety ones among them) are not drowned by large ones; 0 turns it off.
    pub class_weight_power: f64,
    /// Smoothing of naive Bayes.
    pub nb_alpha: f64,
    /// Seed of the SGD shuffle.
    pub seed: u64,
    /// Confidence threshold recorded in the model (below it: manual triage). `None`: chosen
    /// by cross-validation on the training set ([`choose_threshold`]).
    pub threshold: Option<f64>,
    /// For choosing the threshold: what a ticket sent to the wrong category costs, against 1
    /// for a ticket sent to manual triage (a misroute is returned by the department (退单) and
    /// then triaged anyway, late).
    pub misroute_cost: f64,
    /// Folds of the cross-validation that chooses the threshold.
    pub cv_folds: u32,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            algorithm: Algorithm::LogisticRegression,
            features: FeatureConfig::default(),
            min_df: 2,
            epochs: 30,
            learning_rate: 0.5,
            l2: 1e-6,
            class_weight_power: 0.5,
            nb_alpha: 0.1,
            seed: 20261121,
            threshold: None,
            misroute_cost: 2.0,
            cv_folds: 5,
        }
    }
}

/// What a model file says about itself (stored as JSON in the file's header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    pub format: u32,
    pub algorithm: Algorithm,
    /// Output categories, in weight-column order.
    pub labels: Vec<CategoryId>,
    pub features: FeatureConfig,
    /// Recommended confidence threshold (below it: manual triage).
    pub threshold: f64,
    /// How the threshold was chosen: out-of-fold accuracy of the model's first choice, and the
    /// triage rate and misroute rate at the threshold.
    #[serde(default)]
    pub cv: Option<CvSummary>,
    /// The training configuration.
    pub train: TrainConfig,
    /// Training tickets per source (file stem or corpus), for provenance.
    pub sources: BTreeMap<String, usize>,
    pub n_train: usize,
}

const MAGIC: &[u8] = b"CITYOPS-CLASSIFIER\n";
const FORMAT: u32 = 1;

/// A hasher for keys that are already 64-bit hashes (feature keys), and for characters.
#[derive(Default)]
pub(crate) struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) ^ u64::from(*b) ^ (self.0 >> 56);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    /// Characters (the rules' first-character index): spread over all 64 bits, since the
    /// table reads its control bits from the top.
    fn write_u32(&mut self, n: u32) {
        self.0 = u64::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type KeyMap = HashMap<u64, u32, BuildHasherDefault<KeyHasher>>;

/// A trained linear text model.
#[derive(Debug, Clone)]
pub struct Model {
    header: ModelHeader,
    feature_names: Vec<String>,
    index: KeyMap,
    idf: Vec<f32>,
    /// Row-major: feature × label.
    weights: Vec<f32>,
    bias: Vec<f32>,
    version: String,
}

/// A sparse, L2-normalised TF-IDF vector: (feature index, value), sorted by index.
pub type SparseVec = Vec<(u32, f32)>;

/// The model's reading of a text: every label with its probability, most likely first.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction<'m> {
    /// The model's labels (borrowed: a prediction allocates no label strings).
    pub ranked: Vec<(&'m CategoryId, f64)>,
    /// How many of the text's features the model knows (0: it has nothing to go on).
    pub known_features: usize,
}

impl Prediction<'_> {
    pub fn top(&self) -> Option<(&CategoryId, f64)> {
        self.ranked.first().map(|(c, p)| (*c, *p))
    }
}

impl Model {
    pub fn header(&self) -> &ModelHeader {
        &self.header
    }

    /// `<algorithm>-<first 12 hex digits of the SHA-256 of the model file>`, e.g.
    /// `lr-3f2a9c0d11be`: recorded on every incident the model classifies.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn labels(&self) -> &[CategoryId] {
        &self.header.labels
    }

    pub fn n_features(&self) -> usize {
        self.feature_names.len()
    }

    /// The TF-IDF vector of a text over this model's vocabulary. Features the model does not
    /// know are dropped as they are extracted, and the known ones are counted by their index,
    /// which is the vector's order.
    pub fn vectorize(&self, text: &str) -> SparseVec {
        let norm = text::normalize(text);
        let mut known: Vec<u32> = Vec::with_capacity(norm.len() * 2);
        text::for_each_feature(&norm, &self.header.features, None, |k| {
            if let Some(&i) = self.index.get(&k) {
                known.push(i);
            }
        });
        known.sort_unstable();
        let mut v: SparseVec = known
            .chunk_by(|a, b| a == b)
            .map(|run| {
                let i = run[0];
                let tf = run.len() as f32;
                (i, (1.0 + tf.ln()) * self.idf[i as usize])
            })
            .collect();
        l2_normalize(&mut v);
        v
    }

    /// Class probabilities (softmax of the linear scores) of a vectorised text.
    pub fn probabilities(&self, v: &SparseVec) -> Vec<f64> {
        let k = self.header.labels.len();
        let mut z: Vec<f32> = self.bias.clone();
        for (i, x) in v {
            let row = &self.weights[*i as usize * k..(*i as usize + 1) * k];
            for (zc, w) in z.iter_mut().zip(row) {
                *zc += x * w;
            }
        }
        softmax(&z)
    }

    /// Predicts the category of a text.
    pub fn predict(&self, text: &str) -> Prediction<'_> {
        let v = self.vectorize(text);
        let p = self.probabilities(&v);
        let mut ranked: Vec<(&CategoryId, f64)> =
            self.header.labels.iter().zip(p).collect::<Vec<_>>();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        Prediction {
            ranked,
            known_features: v.len(),
        }
    }

    /// The features of a text that pushed most towards `label`, for explanations.
    pub fn explain(&self, text: &str, label: &CategoryId, top: usize) -> Vec<(String, f64)> {
        let Some(c) = self.header.labels.iter().position(|l| l == label) else {
            return Vec::new();
        };
        let k = self.header.labels.len();
        let mut contrib: Vec<(String, f64)> = self
            .vectorize(text)
            .iter()
            .map(|(i, x)| {
                let w = self.weights[*i as usize * k + c];
                (self.feature_names[*i as usize].clone(), f64::from(x * w))
            })
            .collect();
        contrib.sort_by(|a, b| b.1.total_cmp(&a.1));
        contrib.truncate(top);
        contrib
    }

    // ----- file format ------------------------------------------------------------------------

    /// The model file's bytes: magic line, u32 header length, JSON header, u32 feature count,
    /// the features (u8 length + UTF-8 name), then little-endian f32 idf values, weights
    /// (feature-major) and biases.
    pub fn to_bytes(&self) -> Vec<u8> {
        encode(
            &self.header,
            &self.feature_names,
            &self.idf,
            &self.weights,
            &self.bias,
        )
    }

    /// Reads a model from its bytes (see [`Model::to_bytes`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ClassifyError> {
        let bad = |reason: &str| ClassifyError::BadModel(reason.to_owned());
        let mut r = Reader { bytes, pos: 0 };
        if r.take(MAGIC.len())? != MAGIC {
            return Err(bad("not a cityops classifier model (bad magic)"));
        }
        let header_len = r.u32()? as usize;
        let header: ModelHeader = serde_json::from_slice(r.take(header_len)?)
            .map_err(|e| ClassifyError::BadModel(format!("bad header: {e}")))?;
        if header.format != FORMAT {
            return Err(ClassifyError::BadModel(format!(
                "model format {} but this build reads format {FORMAT}; retrain the model",
                header.format
            )));
        }
        let k = header.labels.len();
        if k == 0 {
            return Err(bad("the model has no labels"));
        }
        let n = r.u32()? as usize;
        let mut feature_names = Vec::with_capacity(n);
        let mut index = KeyMap::with_capacity_and_hasher(n, Default::default());
        for i in 0..n {
            let len = r.take(1)?[0] as usize;
            let name = std::str::from_utf8(r.take(len)?)
                .map_err(|_| bad("a feature name is not UTF-8"))?
                .to_owned();
            if index.insert(text::feature_key(&name), i as u32).is_some() {
                return Err(ClassifyError::BadModel(format!(
                    "feature {name:?} appears twice"
                )));
            }
            feature_names.push(name);
        }
        let idf = r.f32s(n)?;
        let weights = r.f32s(n * k)?;
        let bias = r.f32s(k)?;
        if r.pos != bytes.len() {
            return Err(bad("trailing bytes after the model"));
        }
        let version = version_of(header.algorithm, bytes);
        Ok(Model {
            header,
            feature_names,
            index,
            idf,
            weights,
            bias,
            version,
        })
    }

    /// Writes the model file (atomically: a temporary file renamed into place).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), ClassifyError> {
        let path = path.as_ref();
        let io = |source| ClassifyError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, self.to_bytes()).map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)
    }

    /// Reads a model file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ClassifyError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| ClassifyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_bytes(&bytes)
    }
}

fn version_of(algorithm: Algorithm, bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    format!("{}-{}", algorithm.short_name(), &hex::encode(digest)[..12])
}

fn encode(
    header: &ModelHeader,
    names: &[String],
    idf: &[f32],
    weights: &[f32],
    bias: &[f32],
) -> Vec<u8> {
    let header_json = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(
        MAGIC.len() + 8 + header_json.len() + names.len() * 12 + (idf.len() + weights.len()) * 4,
    );
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header_json.len() as u32).to_le_bytes());
    out.extend_from_slice(&header_json);
    out.extend_from_slice(&(names.len() as u32).to_le_bytes());
    for n in names {
        out.push(n.len() as u8);
        out.extend_from_slice(n.as_bytes());
    }
    for x in idf.iter().chain(weights).chain(bias) {
        out.extend_from_slice(&x.to_le_bytes());
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], ClassifyError> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| ClassifyError::BadModel("the model file is truncated".into()))?;
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, ClassifyError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn f32s(&mut self, n: usize) -> Result<Vec<f32>, ClassifyError> {
        let len = n
            .checked_mul(4)
            .ok_or_else(|| ClassifyError::BadModel("the model file is truncated".into()))?;
        let b = self.take(len)?;
        Ok(b.chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect())
    }
}

fn l2_normalize(v: &mut SparseVec) {
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in v.iter_mut() {
            *x /= norm;
        }
    }
}

fn softmax(z: &[f32]) -> Vec<f64> {
    let max = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e: Vec<f64> = z.iter().map(|x| f64::from(x - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.into_iter().map(|x| x / sum).collect()
}

// ---------------------------------------------------------------------------------------------
// Training
// ---------------------------------------------------------------------------------------------

/// A small deterministic PRNG (xorshift64*), for the SGD shuffle.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// Trains a model on `examples` (their `category` is the label). The label set is the sorted
/// set of categories present.
pub fn train(examples: &[Example], cfg: &TrainConfig) -> Result<Model, ClassifyError> {
    if examples.is_empty() {
        return Err(ClassifyError::Train("no training examples".into()));
    }
    let labels: Vec<CategoryId> = {
        let mut l: Vec<CategoryId> = examples.iter().map(|e| e.category.clone()).collect();
        l.sort();
        l.dedup();
        l
    };
    if labels.len() < 2 {
        return Err(ClassifyError::Train(
            "training needs at least two categories".into(),
        ));
    }
    let label_index: BTreeMap<&CategoryId, usize> =
        labels.iter().enumerate().map(|(i, l)| (l, i)).collect();
    let y: Vec<usize> = examples.iter().map(|e| label_index[&e.category]).collect();

    // Vocabulary: document frequency per feature key, with one readable name per key.
    let mut per_doc: Vec<Vec<(u64, u32)>> = Vec::with_capacity(examples.len());
    let mut df: BTreeMap<u64, (String, u32)> = BTreeMap::new();
    for ex in examples {
        let norm = text::normalize(&ex.text);
        let mut keys = Vec::new();
        let mut names = Vec::new();
        text::for_each_feature(&norm, &cfg.features, Some(&mut names), |k| keys.push(k));
        let mut first_name: BTreeMap<u64, &str> = BTreeMap::new();
        for (k, n) in keys.iter().zip(&names) {
            first_name.entry(*k).or_insert(n);
        }
        for (k, n) in first_name {
            if n.len() > usize::from(u8::MAX) {
                continue;
            }
            df.entry(k).or_insert_with(|| (n.to_owned(), 0)).1 += 1;
        }
        per_doc.push(text::count_sorted(keys));
    }
    let n_docs = examples.len() as f64;
    let mut feature_names = Vec::new();
    let mut idf = Vec::new();
    let mut index = KeyMap::default();
    for (k, (name, d)) in &df {
        if *d >= cfg.min_df {
            index.insert(*k, feature_names.len() as u32);
            feature_names.push(name.clone());
            idf.push((((1.0 + n_docs) / (1.0 + f64::from(*d))).ln() + 1.0) as f32);
        }
    }
    let xs: Vec<SparseVec> = per_doc
        .iter()
        .map(|counts| {
            let mut v: SparseVec = counts
                .iter()
                .filter_map(|(k, tf)| {
                    index.get(k).map(|&i| {
                        let w = (1.0 + (*tf as f32).ln()) * idf[i as usize];
                        (i, w)
                    })
                })
                .collect();
            l2_normalize(&mut v);
            v.sort_unstable_by_key(|(i, _)| *i);
            v
        })
        .collect();

    let k = labels.len();
    let n_feat = feature_names.len();
    let mut class_n = vec![0usize; k];
    for &c in &y {
        class_n[c] += 1;
    }
    let sample_w: Vec<f64> = y
        .iter()
        .map(|&c| (n_docs / (k as f64 * class_n[c] as f64)).powf(cfg.class_weight_power))
        .collect();

    let (weights, bias) = match cfg.algorithm {
        Algorithm::LogisticRegression => train_lr(&xs, &y, &sample_w, k, n_feat, cfg),
        Algorithm::NaiveBayes => train_nb(&xs, &y, &sample_w, k, n_feat, cfg),
    };

    let mut sources: BTreeMap<String, usize> = BTreeMap::new();
    for ex in examples {
        *sources
            .entry(ex.source.clone().unwrap_or_else(|| "unknown".into()))
            .or_default() += 1;
    }
    let (threshold, cv) = match cfg.threshold {
        Some(t) => (t, None),
        None => {
            let preds = cross_validate(examples, cfg)?;
            let (t, mut summary) = choose_threshold(&preds, cfg.misroute_cost);
            summary.folds = cfg.cv_folds.max(2);
            (t, Some(summary))
        }
    };
    let header = ModelHeader {
        format: FORMAT,
        algorithm: cfg.algorithm,
        labels,
        features: cfg.features.clone(),
        threshold,
        cv,
        train: cfg.clone(),
        sources,
        n_train: examples.len(),
    };
    let bytes = encode(&header, &feature_names, &idf, &weights, &bias);
    let version = version_of(cfg.algorithm, &bytes);
    Ok(Model {
        header,
        feature_names,
        index,
        idf,
        weights,
        bias,
        version,
    })
}

fn train_lr(
    xs: &[SparseVec],
    y: &[usize],
    sample_w: &[f64],
    k: usize,
    n_feat: usize,
    cfg: &TrainConfig,
) -> (Vec<f32>, Vec<f32>) {
    let mut w = vec![0f64; n_feat * k];
    let mut b = vec![0f64; k];
    let mut scale = 1f64;
    let mut rng = Rng::new(cfg.seed);
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let mut z = vec![0f64; k];
    let mut t = 0f64;
    for _ in 0..cfg.epochs {
        for i in (1..order.len()).rev() {
            let j = rng.below(i + 1);
            order.swap(i, j);
        }
        for &i in &order {
            let eta = cfg.learning_rate / (1.0 + cfg.learning_rate * cfg.l2 * t);
            t += 1.0;
            let x = &xs[i];
            z.copy_from_slice(&b);
            for (f, v) in x {
                let row = &w[*f as usize * k..(*f as usize + 1) * k];
                let v = f64::from(*v) * scale;
                for (zc, wc) in z.iter_mut().zip(row) {
                    *zc += v * wc;
                }
            }
            let max = z.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let mut sum = 0.0;
            for zc in z.iter_mut() {
                *zc = (*zc - max).exp();
                sum += *zc;
            }
            // z now holds the gradient of the loss w.r.t. the scores: p − onehot.
            for zc in z.iter_mut() {
                *zc /= sum;
            }
            z[y[i]] -= 1.0;
            let sw = sample_w[i];
            scale *= 1.0 - eta * cfg.l2;
            for (f, v) in x {
                let row = &mut w[*f as usize * k..(*f as usize + 1) * k];
                let step = eta * sw * f64::from(*v) / scale;
                for (wc, g) in row.iter_mut().zip(&z) {
                    *wc -= step * g;
                }
            }
            for (bc, g) in b.iter_mut().zip(&z) {
                *bc -= eta * sw * g;
            }
            if scale < 1e-6 {
                for wc in w.iter_mut() {
                    *wc *= scale;
                }
                scale = 1.0;
            }
        }
    }
    (
        w.iter().map(|x| (x * scale) as f32).collect(),
        b.iter().map(|x| *x as f32).collect(),
    )
}

fn train_nb(
    xs: &[SparseVec],
    y: &[usize],
    sample_w: &[f64],
    k: usize,
    n_feat: usize,
    cfg: &TrainConfig,
) -> (Vec<f32>, Vec<f32>) {
    let mut counts = vec![0f64; n_feat * k];
    let mut totals = vec![0f64; k];
    let mut prior = vec![0f64; k];
    for ((x, &c), sw) in xs.iter().zip(y).zip(sample_w) {
        prior[c] += sw;
        for (f, v) in x {
            counts[*f as usize * k + c] += f64::from(*v);
            totals[c] += f64::from(*v);
        }
    }
    let prior_sum: f64 = prior.iter().sum();
    let alpha = cfg.nb_alpha;
    let mut w = vec![0f32; n_feat * k];
    for f in 0..n_feat {
        for c in 0..k {
            let theta = (counts[f * k + c] + alpha) / (totals[c] + alpha * n_feat as f64);
            w[f * k + c] = theta.ln() as f32;
        }
    }
    let b = prior.iter().map(|p| (p / prior_sum).ln() as f32).collect();
    (w, b)
}

// ---------------------------------------------------------------------------------------------
// Cross-validation and the confidence threshold
// ---------------------------------------------------------------------------------------------

/// An out-of-fold prediction: the label, the model's first choice and its probability.
#[derive(Debug, Clone, PartialEq)]
pub struct CvPrediction {
    pub label: CategoryId,
    pub predicted: CategoryId,
    pub probability: f64,
}

/// What cross-validation said about a threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvSummary {
    pub folds: u32,
    /// Out-of-fold accuracy of the model's first choice (no threshold, no rules).
    pub top1_accuracy: f64,
    /// At the chosen threshold: share of tickets sent to triage, share sent to a wrong category.
    pub triage_rate: f64,
    pub misroute_rate: f64,
}

/// The category of manual triage in the training labels.
const TRIAGE_LABEL: &str = "unclassified";

/// Out-of-fold predictions of the model's first choice: the examples are cut into
/// `cfg.cv_folds` folds by a hash of their id, each fold predicted by a model trained on the
/// others (with `cfg`, the threshold fixed so that it does not recurse).
pub fn cross_validate(
    examples: &[Example],
    cfg: &TrainConfig,
) -> Result<Vec<CvPrediction>, ClassifyError> {
    let folds = u64::from(cfg.cv_folds.max(2));
    let inner = TrainConfig {
        threshold: Some(0.0),
        ..cfg.clone()
    };
    let mut out = Vec::with_capacity(examples.len());
    for fold in 0..folds {
        let fold_of = |e: &Example| crate::data::split_hash(cfg.seed, &e.id) % folds;
        let train_set: Vec<Example> = examples
            .iter()
            .filter(|e| fold_of(e) != fold)
            .cloned()
            .collect();
        let model = train(&train_set, &inner)?;
        for e in examples.iter().filter(|e| fold_of(e) == fold) {
            let p = model.predict(&e.text);
            if let Some((c, prob)) = p.top() {
                out.push(CvPrediction {
                    label: e.category.clone(),
                    predicted: c.clone(),
                    probability: prob,
                });
            }
        }
    }
    Ok(out)
}

/// The threshold (0.05–0.95 in steps of 0.01) that minimises the cost of the out-of-fold
/// decisions: 0 for a right category, 1 for manual triage of a ticket that had a category,
/// `misroute_cost` for a wrong category. Ties go to the lowest threshold.
pub fn choose_threshold(preds: &[CvPrediction], misroute_cost: f64) -> (f64, CvSummary) {
    let n = preds.len().max(1) as f64;
    let mut best: Option<(f64, f64, usize, usize)> = None;
    for step in 5..=95 {
        let t = f64::from(step) / 100.0;
        let (mut cost, mut triaged, mut wrong) = (0.0, 0usize, 0usize);
        for p in preds {
            let decided = if p.probability >= t {
                p.predicted.as_str()
            } else {
                TRIAGE_LABEL
            };
            if decided == p.label.as_str() {
                continue;
            }
            if decided == TRIAGE_LABEL {
                cost += 1.0;
                triaged += 1;
            } else {
                cost += misroute_cost;
                wrong += 1;
            }
        }
        if best.is_none_or(|b| cost < b.1 - 1e-9) {
            best = Some((t, cost, triaged, wrong));
        }
    }
    let (t, _, triaged, wrong) = best.unwrap_or((0.5, 0.0, 0, 0));
    let top1 = preds.iter().filter(|p| p.predicted == p.label).count() as f64 / n;
    (
        t,
        CvSummary {
            folds: 0,
            top1_accuracy: top1,
            triage_rate: triaged as f64 / n,
            misroute_rate: wrong as f64 / n,
        },
    )
}
