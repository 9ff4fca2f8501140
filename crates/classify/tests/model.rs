//! Training, the model file, thresholds and rule precedence on a small labelled set.

use cityops_classify::*;
use cityops_core::catalogue::Catalogue;
use cityops_core::CategoryId;
use std::path::PathBuf;
use std::sync::OnceLock;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn catalogue() -> &'static Catalogue {
    static C: OnceLock<Catalogue> = OnceLock::new();
    C.get_or_init(|| Catalogue::load(root().join("config/catalogue.toml")).expect("catalogue"))
}

fn ex(id: &str, category: &str, text: &str) -> Example {
    Example {
        id: id.into(),
        text: text.into(),
        category: CategoryId::new(category),
        scenario: None,
        department: None,
        channel: None,
        request_type: None,
        address: None,
        district: None,
        source: Some("toy".into()),
    }
}

fn toy() -> Vec<Example> {
    let mut v = Vec::new();
    let sets: [(&str, &[&str]); 4] = [
        (
            "garbage",
            &[
                "垃圾没人收 臭死了",
                "小区垃圾桶满了没人清运",
                "路边堆了一堆垃圾",
                "垃圾站太埋汰了",
                "楼下垃圾堆成山",
                "垃圾车洒了一路垃圾",
            ],
        ),
        (
            "heating",
            &[
                "暖气不热 屋里十三度",
                "暖气片拔凉",
                "供暖温度不达标 暖气不热",
                "家里停暖了",
                "暖气忽冷忽热",
                "交了取暖费暖气还不热",
            ],
        ),
        (
            "noise",
            &[
                "工地半夜施工 吵得睡不着",
                "楼下烧烤店太吵了",
                "广场舞音响太吵",
                "KTV噪音扰民",
                "夜里施工噪音大",
                "装修噪音太吵了",
            ],
        ),
        (
            "unclassified",
            &["你好", "在吗", "打错了", "谢谢", "测试", "没事了"],
        ),
    ];
    for (cat, texts) in sets {
        for (i, t) in texts.iter().enumerate() {
            v.push(ex(&format!("{cat}-{i}"), cat, t));
        }
    }
    v
}

fn cfg() -> TrainConfig {
    TrainConfig {
        min_df: 1,
        threshold: Some(0.3),
        ..TrainConfig::default()
    }
}

fn empty_rules() -> RuleSet {
    RuleSet::from_toml_str("version = \"none\"").expect("empty rules")
}

fn fire_rule() -> RuleSet {
    RuleSet::from_toml_str(
        "version = \"t\"\n[[rule]]\nid = \"fire.flames\"\ncategory = \"fire\"\nany = [\"着火\"]\n",
    )
    .expect("one rule")
}

#[test]
fn training_is_deterministic() {
    let a = train(&toy(), &cfg()).unwrap();
    let b = train(&toy(), &cfg()).unwrap();
    assert_eq!(a.to_bytes(), b.to_bytes());
    assert_eq!(a.version(), b.version());
    // Input order does not matter to the vocabulary, but does to SGD: the order is the data's.
    let mut rev = toy();
    rev.reverse();
    let c = train(&rev, &cfg()).unwrap();
    assert_eq!(c.n_features(), a.n_features());
    // Another seed, another model.
    let d = train(&toy(), &TrainConfig { seed: 7, ..cfg() }).unwrap();
    assert_ne!(d.to_bytes(), a.to_bytes());
    // The threshold chosen by cross-validation is deterministic too.
    let auto = TrainConfig {
        threshold: None,
        ..cfg()
    };
    let e = train(&toy(), &auto).unwrap();
    let f = train(&toy(), &auto).unwrap();
    assert_eq!(e.to_bytes(), f.to_bytes());
    assert!(e.header().cv.is_some());
}

#[test]
fn model_file_round_trips() {
    let m = train(&toy(), &cfg()).unwrap();
    let dir = std::env::temp_dir().join(format!("cityops-classify-{}", std::process::id()));
    let path = dir.join("m.bin");
    m.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert_eq!(back.to_bytes(), m.to_bytes());
    assert_eq!(back.version(), m.version());
    assert_eq!(back.header(), m.header());
    for t in ["暖气不热", "垃圾没人收", "太吵了"] {
        assert_eq!(back.predict(t), m.predict(t));
    }
    let p = m.predict("暖气不热 屋里冷");
    assert_eq!(p.top().unwrap().0.as_str(), "heating");
    let sum: f64 = p.ranked.iter().map(|(_, p)| p).sum();
    assert!((sum - 1.0).abs() < 1e-6);
    assert!(!m
        .explain("暖气不热", &CategoryId::new("heating"), 3)
        .is_empty());

    let bytes = m.to_bytes();
    assert!(matches!(
        Model::from_bytes(b"nonsense"),
        Err(ClassifyError::BadModel(_))
    ));
    assert!(matches!(
        Model::from_bytes(&bytes[..bytes.len() - 3]),
        Err(ClassifyError::BadModel(_))
    ));
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(Model::from_bytes(&longer).is_err());
    assert!(matches!(
        Model::load("/nonexistent/m.bin"),
        Err(ClassifyError::Read { .. })
    ));
}

#[test]
fn below_the_threshold_goes_to_manual_triage() {
    let m = train(&toy(), &cfg()).unwrap();
    let text = "暖气不热 屋里冷";
    let confident = Classifier::new(m.clone(), empty_rules()).with_threshold(0.0);
    let d = confident.classify(text, catalogue());
    assert_eq!(d.category.as_str(), "heating");
    assert_eq!(d.method, Method::Model);
    assert_eq!(d.department.as_ref().unwrap().as_str(), "heating");

    let strict = Classifier::new(m, empty_rules()).with_threshold(0.999);
    let d = strict.classify(text, catalogue());
    assert_eq!(d.category, catalogue().triage_category().id);
    assert_eq!(
        d.method,
        Method::Triage {
            reason: TriageReason::LowConfidence
        }
    );
    assert_eq!(d.department.as_ref().unwrap().as_str(), "command_center");
    // The best guess is kept for the dispatcher, but not acted on.
    assert_eq!(d.alternatives[0].0.as_str(), "heating");
    assert!(d.reason().contains("manual triage"), "{}", d.reason());

    // Unknown words only: triage whatever the threshold.
    let d = confident.classify("zzzz qqqq", catalogue());
    assert_eq!(
        d.method,
        Method::Triage {
            reason: TriageReason::NoKnownFeatures
        }
    );
}

#[test]
fn rules_take_precedence_over_the_model() {
    let m = train(&toy(), &cfg()).unwrap();
    let text = "楼下垃圾堆着火了 垃圾没人收";
    // The model alone says garbage (it has never seen a fire) ...
    let model_only = Classifier::new(m.clone(), empty_rules()).with_threshold(0.0);
    assert_eq!(
        model_only.classify(text, catalogue()).category.as_str(),
        "garbage"
    );
    // ... the rule says fire, whatever the model thinks.
    let c = Classifier::new(m, fire_rule()).with_threshold(0.0);
    let d = c.classify(text, catalogue());
    assert_eq!(d.category.as_str(), "fire");
    assert_eq!(d.scenario.as_str(), "emergency");
    assert_eq!(d.department.as_ref().unwrap().as_str(), "fire_rescue");
    assert_eq!(d.confidence, 1.0);
    assert_eq!(
        d.method,
        Method::Rule {
            rule_id: "fire.flames".into(),
            matched: "着火".into()
        }
    );
}

#[test]
fn evaluation_counts_departments_through_the_catalogue() {
    let m = train(&toy(), &cfg()).unwrap();
    let c = Classifier::new(m, fire_rule()).with_threshold(0.0);
    let set = vec![
        ex("a", "heating", "暖气不热"),
        ex("b", "fire", "着火了"),
        ex("c", "noise", "暖气不热"), // wrong on purpose
    ];
    let r = evaluate(&c, &set, catalogue());
    assert_eq!(r.n, 3);
    assert_eq!(r.category_correct, 2);
    assert_eq!(r.department_correct, 2);
    assert_eq!(r.scenario_correct, 2);
    assert_eq!(r.by_rule, 1);
    assert_eq!(r.recall("fire"), Some(1.0));
    assert_eq!(r.recall("noise"), Some(0.0));
    assert_eq!(r.misses.len(), 1);
    let text = r.to_string();
    assert!(text.contains("scenario confusion"), "{text}");
    let json = serde_json::to_value(&r).expect("a report serialises");
    assert!(json["confusion"]
        .as_array()
        .expect("triples")
        .contains(&serde_json::json!(["noise", "heating", 1])));
    assert!(text.contains("noise -> heating: 1"), "{text}");
}

#[test]
fn split_is_deterministic_stratified_and_order_free() {
    let mut all = toy();
    let s1 = split(&all, &SplitConfig::default());
    all.reverse();
    let s2 = split(&all, &SplitConfig::default());
    let ids = |v: &[Example]| v.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&s1.heldout), ids(&s2.heldout));
    assert_eq!(ids(&s1.train), ids(&s2.train));
    assert_eq!(s1.heldout.len() + s1.train.len(), all.len());
    // 30% of 6 rounds to 2 per category.
    for cat in ["garbage", "heating", "noise", "unclassified"] {
        assert_eq!(
            s1.heldout
                .iter()
                .filter(|e| e.category.as_str() == cat)
                .count(),
            2,
            "{cat}"
        );
    }
    let other = split(
        &all,
        &SplitConfig {
            seed: 1,
            ..SplitConfig::default()
        },
    );
    assert_ne!(ids(&other.heldout), ids(&s1.heldout));
}

#[test]
fn labels_are_checked_against_the_catalogue() {
    let mut bad = toy();
    bad.push(ex("x", "ufo_sighting", "天上有飞碟"));
    let mut wrong_owner = ex("y", "fire", "着火了");
    wrong_owner.department = Some("gas".into());
    bad.push(wrong_owner);
    bad.push(ex("x", "fire", "duplicate id"));
    let err = validate(&bad, catalogue()).unwrap_err().to_string();
    assert!(err.contains("unknown category ufo_sighting"), "{err}");
    assert!(err.contains("owned by fire_rescue"), "{err}");
    assert!(err.contains("duplicate id"), "{err}");
    validate(&toy(), catalogue()).unwrap();
}
