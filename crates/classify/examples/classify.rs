//! Developer tool for the classifier (the same library calls as `cityops classify ...`).
//!
//! ```text
//! cargo run --release -p cityops-classify --example classify -- train      # write the shipped model
//! cargo run --release -p cityops-classify --example classify -- eval       # held-out + generality
//! cargo run --release -p cityops-classify --example classify -- rules FILE.jsonl
//! cargo run --release -p cityops-classify --example classify -- compare    # NB vs LR, features
//! cargo run --release -p cityops-classify --example classify -- bench
//! cargo run --release -p cityops-classify --example classify -- text "楼道里冒烟了"
//! ```

use cityops_classify::*;
use cityops_core::catalogue::Catalogue;
use std::path::PathBuf;
use std::time::Instant;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = root();
    let paths = Paths::under(&root);
    let catalogue = Catalogue::load(root.join("config/catalogue.toml"))?;
    match args.first().map(String::as_str) {
        Some("train") => {
            let t = Instant::now();
            let model = train_and_save(&paths, &catalogue, &TrainConfig::default())?;
            println!(
                "trained {} on {} tickets, {} features, in {:.2?}: {}",
                model.version(),
                model.header().n_train,
                model.n_features(),
                t.elapsed(),
                paths.model.display()
            );
        }
        Some("eval") => {
            let (heldout, generality) = evaluate_shipped(&paths, &catalogue)?;
            println!("== corpus held-out split ==\n{heldout}");
            print_misses(&heldout);
            println!("\n== generality set ==\n{generality}");
            print_misses(&generality);
        }
        Some("evalfile") => {
            let classifier = Classifier::load(&paths.model, &paths.rules, &catalogue)?;
            for f in &args[1..] {
                let exs = load_jsonl(f)?;
                let r = evaluate(&classifier, &exs, &catalogue);
                println!("== {f} ==\n{r}");
                print_misses(&r);
            }
        }
        Some("rules") => {
            let rules = RuleSet::load(&paths.rules)?;
            for f in &args[1..] {
                let exs = load_jsonl(f)?;
                let life: Vec<&str> = vec!["fire", "gas_leak", "medical_emergency", "fall_alarm"];
                let (mut tp, mut fp, mut miss) = (0, 0, 0);
                for ex in &exs {
                    let m = rules.check(&ex.text);
                    let is_life = life.contains(&ex.category.as_str());
                    match &m {
                        Some(m) if m.category == ex.category => tp += 1,
                        Some(m) => {
                            fp += 1;
                            println!(
                                "WRONG {} {} -> {} [{} {}] {}",
                                ex.id, ex.category, m.category, m.rule_id, m.matched, ex.text
                            );
                        }
                        None if is_life => {
                            miss += 1;
                            println!("MISS  {} {} {}", ex.id, ex.category, ex.text);
                        }
                        None => {}
                    }
                }
                println!(
                    "{f}: {} tickets, rule right {tp}, rule wrong {fp}, life-safety missed {miss}",
                    exs.len()
                );
            }
        }
        Some("compare") => compare(&paths, &catalogue)?,
        Some("cvconf") => {
            let data = datasets(&paths, &catalogue)?;
            let preds = model::cross_validate(&data.train, &TrainConfig::default())?;
            let mut per: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
            let mut conf: std::collections::BTreeMap<(String, String), usize> = Default::default();
            for p in &preds {
                let e = per.entry(p.label.to_string()).or_default();
                e.0 += 1;
                if p.predicted == p.label {
                    e.1 += 1;
                } else {
                    *conf
                        .entry((p.label.to_string(), p.predicted.to_string()))
                        .or_default() += 1;
                }
            }
            for (c, (n, ok)) in &per {
                println!("{c:22} {n:4} {:.2}", *ok as f64 / *n as f64);
            }
            let mut v: Vec<_> = conf.into_iter().collect();
            v.sort_by_key(|b| std::cmp::Reverse(b.1));
            for ((a, b), n) in v.iter().take(40) {
                println!("  {a} -> {b}: {n}");
            }
        }
        Some("baseline") => {
            // The seed corpus alone: its training split, no own data, with and without rules.
            let data = datasets(&paths, &catalogue)?;
            let corpus_train: Vec<Example> = data
                .train
                .iter()
                .filter(|e| e.source.as_deref() == Some("hotline_corpus"))
                .cloned()
                .collect();
            let m = train(&corpus_train, &TrainConfig::default())?;
            let none = RuleSet::from_toml_str("version = \"none\"")?;
            let rules = RuleSet::load(&paths.rules)?;
            for (name, set) in [("heldout", &data.heldout), ("generality", &data.generality)] {
                for (rn, r) in [("model only", &none), ("with rules", &rules)] {
                    let c = Classifier::new(m.clone(), r.clone());
                    let rep = evaluate(&c, set, &catalogue);
                    println!(
                        "corpus-only model ({} tickets, threshold {:.2}) on {name}, {rn}: scen {:.3} dept {:.3} triage {:.3} life-safety recall {:?}",
                        corpus_train.len(), m.header().threshold,
                        rep.scenario_accuracy(), rep.department_accuracy(), rep.triage_rate(),
                        rep.life_safety.iter().map(|c| format!("{c}={}/{}", rep.per_category[c].correct, rep.per_category[c].support)).collect::<Vec<_>>()
                    );
                }
            }
        }
        Some("curve") => {
            let data = datasets(&paths, &catalogue)?;
            let mut cfg = TrainConfig::default();
            if let Ok(v) = std::env::var("L2") {
                cfg.l2 = v.parse()?;
            }
            if let Ok(v) = std::env::var("EPOCHS") {
                cfg.epochs = v.parse()?;
            }
            if let Ok(v) = std::env::var("LR") {
                cfg.learning_rate = v.parse()?;
            }
            if let Ok(v) = std::env::var("CW") {
                cfg.class_weight_power = v.parse()?;
            }
            if std::env::var("NB").is_ok() {
                cfg.algorithm = Algorithm::NaiveBayes;
            }
            let preds = model::cross_validate(&data.train, &cfg)?;
            println!("threshold  cv-triage  cv-misroute  cv-right  cost(2:1)  cost(3:1)");
            for step in (5..=95).step_by(5) {
                let t = f64::from(step) / 100.0;
                let (mut tri, mut mis, mut ok) = (0, 0, 0);
                for p in &preds {
                    let d = if p.probability >= t {
                        p.predicted.as_str()
                    } else {
                        "unclassified"
                    };
                    if d == p.label.as_str() {
                        ok += 1
                    } else if d == "unclassified" {
                        tri += 1
                    } else {
                        mis += 1
                    }
                }
                let n = preds.len() as f64;
                println!(
                    "{t:9.2}  {:9.3}  {:11.3}  {:8.3}  {:9.1}  {:9.1}",
                    tri as f64 / n,
                    mis as f64 / n,
                    ok as f64 / n,
                    tri as f64 + 2.0 * mis as f64,
                    tri as f64 + 3.0 * mis as f64
                );
            }
        }
        Some("bench") => {
            let classifier = Classifier::load(&paths.model, &paths.rules, &catalogue)?;
            let data = datasets(&paths, &catalogue)?;
            let texts: Vec<&str> = data.heldout.iter().map(|e| e.text.as_str()).collect();
            for t in &texts {
                std::hint::black_box(classifier.classify(t, &catalogue));
            }
            let rounds = 50;
            let t = Instant::now();
            for _ in 0..rounds {
                for t in &texts {
                    std::hint::black_box(classifier.classify(t, &catalogue));
                }
            }
            let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * texts.len()) as f64;
            let avg_chars: f64 =
                texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / texts.len() as f64;
            println!("classify: {per:.1} µs per ticket (avg {avg_chars:.0} chars)");
            let t = Instant::now();
            for _ in 0..rounds {
                for t in &texts {
                    std::hint::black_box(classifier.rules().check(t));
                }
            }
            let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * texts.len()) as f64;
            println!("rules only: {per:.1} µs per ticket");
            let t = Instant::now();
            for _ in 0..rounds {
                for t in &texts {
                    std::hint::black_box(text::jieba().cut(t, false));
                }
            }
            let per = t.elapsed().as_secs_f64() * 1e6 / (rounds * texts.len()) as f64;
            println!("jieba cut only: {per:.1} µs per ticket");
            let t = Instant::now();
            let m = Model::load(&paths.model)?;
            println!("model load: {:.2?}", t.elapsed());
            let _ = m;
        }
        Some("text") => {
            let classifier = Classifier::load(&paths.model, &paths.rules, &catalogue)?;
            for t in &args[1..] {
                let d = classifier.classify(t, &catalogue);
                println!(
                    "{t}\n  -> {} / {} ({}) {}",
                    d.scenario,
                    d.category,
                    d.department.as_ref().map_or("-", |x| x.as_str()),
                    d.reason()
                );
                for (c, p) in &d.alternatives {
                    println!("     {c} {p:.3}");
                }
                for (f, w) in classifier.model().explain(t, &d.category, 8) {
                    println!("     {f} {w:+.3}");
                }
            }
        }
        _ => {
            eprintln!("usage: classify train|eval|rules FILE...|compare|bench|text TEXT...");
            std::process::exit(2);
        }
    }
    Ok(())
}

fn print_misses(r: &Report) {
    println!("misses:");
    for m in &r.misses {
        let t: String = m.text.chars().take(70).collect();
        println!(
            "  {} {} -> {} [{}] {}",
            m.id, m.expected, m.predicted, m.how, t
        );
    }
}

/// Compares learners, features and thresholds: on the held-out split, on the generality set,
/// and by 5-fold cross-validation on the training set (what the defaults are chosen by).
fn compare(paths: &Paths, catalogue: &Catalogue) -> Result<(), Box<dyn std::error::Error>> {
    let data = datasets(paths, catalogue)?;
    let rules = RuleSet::load(&paths.rules)?;
    let empty_rules = RuleSet::from_toml_str("version = \"none\"")?;
    let base = TrainConfig::default();
    let mut configs: Vec<(String, TrainConfig)> = Vec::new();
    let spec = std::env::var("COMPARE").unwrap_or_default();
    let variants: Vec<&str> = if spec.is_empty() {
        vec![
            "lr", "nb", "lr-c23", "lr-words", "lr-chars", "lr-hmm", "lr-nocw", "lr-l2e3", "lr-l2e5",
        ]
    } else {
        spec.split(',').collect()
    };
    for v in variants {
        let mut c = base.clone();
        match v {
            "lr" => {}
            "nb" => c.algorithm = Algorithm::NaiveBayes,
            "nb-a1" => {
                c.algorithm = Algorithm::NaiveBayes;
                c.nb_alpha = 1.0;
            }
            "nb-a001" => {
                c.algorithm = Algorithm::NaiveBayes;
                c.nb_alpha = 0.01;
            }
            "lr-c23" => c.features.char_min = 2,
            "lr-c12" => c.features.char_max = 2,
            "lr-c14" => c.features.char_max = 4,
            "lr-words" => c.features.char_max = 0,
            "lr-chars" => c.features.words = false,
            "lr-hmm" => c.features.hmm = true,
            "lr-nocw" => c.class_weight_power = 0.0,
            "lr-cw1" => c.class_weight_power = 1.0,
            "lr-l2e3" => c.l2 = 1e-3,
            "lr-l2e5" => c.l2 = 1e-5,
            "lr-l2e6" => c.l2 = 1e-6,
            "lr-l2e7" => c.l2 = 1e-7,
            "lr-l2e6-ep60" => {
                c.l2 = 1e-6;
                c.epochs = 60;
            }
            "lr-l2e6-ep15" => {
                c.l2 = 1e-6;
                c.epochs = 15;
            }
            "lr-l2e6-cw1" => {
                c.l2 = 1e-6;
                c.class_weight_power = 1.0;
            }
            "lr-l2e6-cw0" => {
                c.l2 = 1e-6;
                c.class_weight_power = 0.0;
            }
            "lr-l2e6-chars" => {
                c.l2 = 1e-6;
                c.features.words = false;
            }
            "lr-l2e6-words" => {
                c.l2 = 1e-6;
                c.features.char_max = 0;
            }
            "lr-l2e6-c23" => {
                c.l2 = 1e-6;
                c.features.char_min = 2;
            }
            "lr-l2e6-hmm" => {
                c.l2 = 1e-6;
                c.features.hmm = true;
            }
            "lr-l2e6-df1" => {
                c.l2 = 1e-6;
                c.min_df = 1;
            }
            "lr-l2e6-lr02" => {
                c.l2 = 1e-6;
                c.learning_rate = 0.2;
            }
            "lr-l2e6-lr1" => {
                c.l2 = 1e-6;
                c.learning_rate = 1.0;
            }
            "lr-df1" => c.min_df = 1,
            "lr-df3" => c.min_df = 3,
            "lr-ep10" => c.epochs = 10,
            "lr-ep60" => c.epochs = 60,
            "lr-lr01" => c.learning_rate = 0.1,
            "lr-lr2" => c.learning_rate = 2.0,
            other => {
                eprintln!("unknown variant {other}");
                continue;
            }
        }
        configs.push((v.to_owned(), c));
    }
    println!(
        "{:10} {:>6} | {:>5} {:>5} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5}",
        "variant", "feats", "hTop1", "gTop1", "tTop1", "hScen", "hCat", "hDept", "hTri", "hLife", "gScen", "gCat", "gDept", "gTri", "gLife", "cvTop", "thr", "cvTri", "cvMis", "cost"
    );
    for (name, c) in &configs {
        let model = train(&data.train, c)?;
        let cv = model.header().cv.clone().unwrap_or(model::CvSummary {
            folds: 0,
            top1_accuracy: 0.0,
            triage_rate: 0.0,
            misroute_rate: 0.0,
        });
        let top1 = |set: &[Example]| {
            set.iter()
                .filter(|e| model.predict(&e.text).top().map(|t| t.0) == Some(&e.category))
                .count() as f64
                / set.len().max(1) as f64
        };
        let cl = Classifier::new(model.clone(), rules.clone());
        let h = evaluate(&cl, &data.heldout, catalogue);
        let g = evaluate(&cl, &data.generality, catalogue);
        let _ = &empty_rules;
        println!(
            "{:10} {:>6} | {:.3} {:.3} {:.3} | {:.3} {:.3} {:.3} {:.3} {:.3} | {:.3} {:.3} {:.3} {:.3} {:.3} | {:.3} {:.2} {:.3} {:.3} {:.3}",
            name, model.n_features(), top1(&data.heldout), top1(&data.generality), top1(&data.train),
            h.scenario_accuracy(), h.category_accuracy(), h.department_accuracy(), h.triage_rate(), h.life_safety_recall(),
            g.scenario_accuracy(), g.category_accuracy(), g.department_accuracy(), g.triage_rate(), g.life_safety_recall(),
            cv.top1_accuracy, model.header().threshold, cv.triage_rate, cv.misroute_rate,
            cv.triage_rate + c.misroute_cost * cv.misroute_rate
        );
    }
    Ok(())
}
