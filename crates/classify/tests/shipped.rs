//! The shipped model and rules against the data: the acceptance figures on the held-out split
//! of the shared corpus (which training never sees), the generality set, and that the shipped
//! model file is exactly what `cityops classify train` produces from the data in the repository.

use cityops_classify::*;
use cityops_core::catalogue::Catalogue;
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| Catalogue::load(root().join("config/catalogue.toml")).expect("catalogue"))
}

fn data() -> &'static Datasets {
    static D: OnceLock<Datasets> = OnceLock::new();
    D.get_or_init(|| datasets(&Paths::under(root()), catalogue()).expect("datasets"))
}

fn shipped() -> &'static Classifier {
    static C: OnceLock<Classifier> = OnceLock::new();
    C.get_or_init(|| {
        let p = Paths::under(root());
        Classifier::load(&p.model, &p.rules, catalogue()).expect("the shipped model and rules load")
    })
}

const LIFE_SAFETY: [&str; 4] = ["fire", "gas_leak", "medical_emergency", "fall_alarm"];

#[test]
fn shipped_model_loads_and_names_catalogue_categories() {
    let c = shipped();
    let m = c.model();
    assert!(m.version().starts_with("lr-"), "{}", m.version());
    assert_eq!(m.version().len(), "lr-".len() + 12);
    for l in m.labels() {
        assert!(
            catalogue().category(l).is_some(),
            "label {l} not in catalogue"
        );
    }
    for l in LIFE_SAFETY {
        assert!(m.labels().iter().any(|x| x.as_str() == l), "{l} missing");
    }
    assert!(m.header().threshold > 0.0 && m.header().threshold < 1.0);
}

#[test]
fn heldout_split_meets_the_acceptance_figures() {
    let d = data();
    assert!(
        d.heldout.len() >= 100,
        "held-out has {} tickets",
        d.heldout.len()
    );
    let r = evaluate(shipped(), &d.heldout, catalogue());
    println!("{r}");
    for m in &r.misses {
        println!(
            "miss {} {} -> {} [{}]",
            m.id, m.expected, m.predicted, m.how
        );
    }
    assert!(
        r.scenario_accuracy() >= 0.92,
        "scenario accuracy {:.4}",
        r.scenario_accuracy()
    );
    assert!(
        r.department_accuracy() >= 0.90,
        "department accuracy {:.4}",
        r.department_accuracy()
    );
    for c in LIFE_SAFETY {
        let s = &r.per_category[&cityops_core::CategoryId::new(c)];
        assert!(s.support > 0, "no {c} ticket in the held-out split");
        assert_eq!(
            s.correct, s.support,
            "{c}: recall {}/{}",
            s.correct, s.support
        );
    }
}

#[test]
fn generality_set_stays_good() {
    let r = evaluate(shipped(), &data().generality, catalogue());
    println!("{r}");
    assert!(r.n >= 200);
    assert!(
        r.scenario_accuracy() >= 0.92,
        "{:.4}",
        r.scenario_accuracy()
    );
    assert!(
        r.department_accuracy() >= 0.90,
        "{:.4}",
        r.department_accuracy()
    );
    for c in LIFE_SAFETY {
        assert_eq!(r.recall(c), Some(1.0), "{c}");
    }
}

#[test]
fn training_never_sees_the_measured_sets() {
    let d = data();
    let train_ids: std::collections::HashSet<&str> =
        d.train.iter().map(|e| e.id.as_str()).collect();
    for e in d.heldout.iter().chain(&d.generality) {
        assert!(!train_ids.contains(e.id.as_str()), "{} is trained on", e.id);
    }
    // The held-out split is the corpus' own, and about 30% of it.
    assert!(d
        .heldout
        .iter()
        .all(|e| e.source.as_deref() == Some("hotline_corpus")));
    let corpus_train = d
        .train
        .iter()
        .filter(|e| e.source.as_deref() == Some("hotline_corpus"))
        .count();
    let frac = d.heldout.len() as f64 / (d.heldout.len() + corpus_train) as f64;
    assert!((0.25..=0.35).contains(&frac), "{frac}");
}

#[test]
fn shipped_model_is_what_training_produces() {
    // `cityops classify train` = train_and_save(Paths, catalogue, TrainConfig::default()).
    let fresh = train(&data().train, &TrainConfig::default()).expect("training");
    let file = std::fs::read(Paths::under(root()).model).expect("model file");
    assert!(
        fresh.to_bytes() == file,
        "config/models/hotline_classifier.bin is stale: retrain with \
         `cargo run --release -p cityops-classify --example classify -- train` \
         (or `cityops classify train`); fresh {} vs shipped {}",
        fresh.version(),
        shipped().model().version()
    );
    assert_eq!(fresh.version(), shipped().model().version());
}

#[test]
fn decisions_carry_the_evidence_for_the_incident() {
    let c = shipped();
    let d = c.classify("楼道里一股煤气味 呛人", catalogue());
    assert_eq!(d.category.as_str(), "gas_leak");
    assert_eq!(d.department.as_ref().map(|x| x.as_str()), Some("gas"));
    let cl = d.classification();
    assert_eq!(cl.method, cityops_core::ClassifiedBy::Rule);
    assert_eq!(cl.rule_id.as_deref(), Some("gas_leak.smell"));
    assert_eq!(cl.confidence, 1.0);
    assert_eq!(cl.model_version.as_deref(), Some(c.model().version()));

    let d = c.classify("小区门口垃圾堆成山了 一个礼拜没人清运 臭死了", catalogue());
    assert_eq!(d.category.as_str(), "garbage");
    assert_eq!(d.method, Method::Model);
    assert_eq!(d.classification().method, cityops_core::ClassifiedBy::Model);
    assert!(d.confidence >= c.config().threshold);
    assert!(!d.alternatives.is_empty());

    // Nothing to go on: the command centre's manual triage, never a guessed department.
    let d = c.classify("。。。", catalogue());
    assert_eq!(d.category, catalogue().triage_category().id);
    assert!(matches!(d.method, Method::Triage { .. }));
    assert_eq!(
        d.department.as_ref().map(|x| x.as_str()),
        Some("command_center")
    );
    assert_eq!(
        d.classification().method,
        cityops_core::ClassifiedBy::Triage
    );
}
