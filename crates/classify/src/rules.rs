//! Life-safety keyword rules (fire, gas, medical emergency, fall, trapped people), read from a
//! TOML data file (`config/classify_rules.toml`). They are tried in file order before the model;
//! the first that fires decides, and its stable id goes on the incident.
//!
//! A rule fires when one of its `any` patterns occurs and the occurrence is not cancelled:
//! - a pattern is a literal (`煤气味`) or two literals with a gap (`摔…起不来`: the second at
//!   most `gap` characters after the first);
//! - `except` phrases contain the keyword and cancel an occurrence inside them (`打不着火`
//!   cancels `着火`; `没有煤气味` cancels `煤气味`);
//! - `veto` names marker sets: a marker shortly before the occurrence (`万一`, `担心`, `去年`,
//!   within its window and the same sentence) or right after it (`摔倒过`) cancels it;
//! - `with` (optional): one of these must also occur somewhere (`摔倒` needs an old person or
//!   `起不来`);
//! - `unless` (optional): any of these anywhere cancels the rule (`秸秆` for the fire rules:
//!   straw burning is the environment bureau's).
//!
//! All matching is on [`crate::text::normalize`]d text, in one scan over the text.

use crate::text::normalize;
use crate::ClassifyError;
use aho_corasick::AhoCorasick;
use cityops_core::catalogue::Catalogue;
use cityops_core::CategoryId;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The file's shape.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RulesFile {
    version: String,
    #[serde(default)]
    markers: BTreeMap<String, MarkerSetFile>,
    #[serde(default, rename = "rule")]
    rules: Vec<RuleFile>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MarkerSetFile {
    /// Default window (characters between the marker's end and the keyword's start).
    #[serde(default = "default_window")]
    window: usize,
    /// Markers before the keyword; `word:N` overrides the window for one marker.
    #[serde(default)]
    before: Vec<String>,
    /// Markers right after the keyword (at most `after_window` characters after it).
    #[serde(default)]
    after: Vec<String>,
    #[serde(default)]
    after_window: usize,
    #[serde(default)]
    description: Option<String>,
}

fn default_window() -> usize {
    8
}

fn default_gap() -> usize {
    12
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    category: String,
    #[serde(default)]
    description: Option<String>,
    any: Vec<String>,
    #[serde(default)]
    with: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    veto: Vec<String>,
    #[serde(default)]
    unless_veto: Vec<String>,
    #[serde(default = "default_gap")]
    gap: usize,
}

/// A pattern compiled to atom ids: one literal, or two with a gap.
#[derive(Debug, Clone)]
enum Pattern {
    Lit(usize),
    Gap(usize, usize),
}

impl Pattern {
    /// Whether every atom of the pattern occurs somewhere (needed for it to occur at all).
    fn atoms_occur(&self, occ: &Occurrences) -> bool {
        match *self {
            Pattern::Lit(a) => !occ.of(a).is_empty(),
            Pattern::Gap(a, b) => !occ.of(a).is_empty() && !occ.of(b).is_empty(),
        }
    }
}

#[derive(Debug, Clone)]
struct Marker {
    atom: usize,
    window: usize,
}

#[derive(Debug, Clone)]
struct MarkerSet {
    before: Vec<Marker>,
    after: Vec<Marker>,
}

/// One compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub category: CategoryId,
    pub description: Option<String>,
    any: Vec<Pattern>,
    with: Vec<Pattern>,
    except: Vec<usize>,
    unless: Vec<Pattern>,
    veto: Vec<usize>,
    unless_veto: Vec<usize>,
    gap: usize,
}

/// What fired.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleMatch {
    /// The rule's stable id (recorded on the incident), e.g. `gas_leak.smell`.
    pub rule_id: String,
    pub category: CategoryId,
    /// The text that triggered it (normalised).
    pub matched: String,
}

/// The compiled life-safety rules.
#[derive(Debug, Clone)]
pub struct RuleSet {
    version: String,
    rules: Vec<Rule>,
    marker_sets: Vec<MarkerSet>,
    /// Every atom (literal) of every pattern, marker and phrase, by atom id: one pass of this
    /// automaton finds all their occurrences in a text.
    atoms: AhoCorasick,
}

/// Where the atoms occur in one text: (atom id, byte start, byte end), sorted.
struct Occurrences {
    atoms: Vec<usize>,
    spans: Vec<(usize, usize)>,
}

impl Occurrences {
    /// The occurrences of one atom, (byte start, byte end) in text order.
    fn of(&self, atom: usize) -> &[(usize, usize)] {
        let from = self.atoms.partition_point(|&a| a < atom);
        let to = from + self.atoms[from..].partition_point(|&a| a == atom);
        &self.spans[from..to]
    }
}

/// An occurrence of a pattern: (byte start, byte end, byte start of its last part).
type Span = (usize, usize, usize);

const SENTENCE_END: &[char] = &['。', '！', '？', '!', '?', '；', ';', '\n'];

impl RuleSet {
    /// Reads and compiles the rules file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, ClassifyError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| ClassifyError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_toml_str(&text)
    }

    /// Compiles rules from TOML text; reports every problem at once.
    pub fn from_toml_str(text: &str) -> Result<Self, ClassifyError> {
        let file: RulesFile = toml::from_str(text)
            .map_err(|e| ClassifyError::BadRules(vec![format!("not a rules file: {e}")]))?;
        let mut problems = Vec::new();
        let mut atoms: Vec<String> = Vec::new();
        let mut atom_ids: HashMap<String, usize> = HashMap::new();
        let mut atom = |s: &str, problems: &mut Vec<String>, ctx: &str| -> usize {
            let s = normalize(s.trim());
            if s.is_empty() {
                problems.push(format!("{ctx}: empty pattern"));
            }
            *atom_ids.entry(s.clone()).or_insert_with(|| {
                atoms.push(s);
                atoms.len() - 1
            })
        };
        let mut set_ids = HashMap::new();
        let mut marker_sets = Vec::new();
        for (name, set) in &file.markers {
            let _ = &set.description;
            let mut parse = |list: &[String], default: usize, problems: &mut Vec<String>| {
                list.iter()
                    .map(|m| {
                        let (word, window) = match m.rsplit_once(':') {
                            Some((w, n))
                                if n.chars().all(|c| c.is_ascii_digit()) && !n.is_empty() =>
                            {
                                (w, n.parse().unwrap_or(default))
                            }
                            _ => (m.as_str(), default),
                        };
                        Marker {
                            atom: atom(word, problems, &format!("markers.{name}")),
                            window,
                        }
                    })
                    .collect::<Vec<_>>()
            };
            let before = parse(&set.before, set.window, &mut problems);
            let after = parse(&set.after, set.after_window, &mut problems);
            set_ids.insert(name.clone(), marker_sets.len());
            marker_sets.push(MarkerSet { before, after });
        }
        let mut rules = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for r in &file.rules {
            if !ids.insert(r.id.clone()) {
                problems.push(format!("rule {}: duplicate id", r.id));
            }
            if r.any.is_empty() {
                problems.push(format!("rule {}: `any` is empty", r.id));
            }
            let mut pats = |list: &[String], problems: &mut Vec<String>| {
                list.iter()
                    .map(|p| {
                        let ctx = format!("rule {}", r.id);
                        match p.split_once('…') {
                            Some((a, b)) => {
                                Pattern::Gap(atom(a, problems, &ctx), atom(b, problems, &ctx))
                            }
                            None => Pattern::Lit(atom(p, problems, &ctx)),
                        }
                    })
                    .collect::<Vec<_>>()
            };
            let any = pats(&r.any, &mut problems);
            let with = pats(&r.with, &mut problems);
            let unless = pats(&r.unless, &mut problems);
            let except = r
                .except
                .iter()
                .map(|e| atom(e, &mut problems, &format!("rule {}", r.id)))
                .collect();
            let sets = |names: &[String], field: &str, problems: &mut Vec<String>| {
                let mut out = Vec::new();
                for v in names {
                    match set_ids.get(v) {
                        Some(&i) => out.push(i),
                        None => problems.push(format!(
                            "rule {}: {field} names marker set {v:?}, which is not defined under \
                             [markers]",
                            r.id
                        )),
                    }
                }
                out
            };
            let veto = sets(&r.veto, "veto", &mut problems);
            let unless_veto = sets(&r.unless_veto, "unless_veto", &mut problems);
            rules.push(Rule {
                id: r.id.clone(),
                category: CategoryId::new(&r.category),
                description: r.description.clone(),
                any,
                with,
                except,
                unless,
                veto,
                unless_veto,
                gap: r.gap,
            });
        }
        if !problems.is_empty() {
            return Err(ClassifyError::BadRules(problems));
        }
        let atoms = AhoCorasick::new(&atoms)
            .map_err(|e| ClassifyError::BadRules(vec![format!("the rules' phrases: {e}")]))?;
        Ok(RuleSet {
            version: file.version,
            rules,
            marker_sets,
            atoms,
        })
    }

    /// The rules file's own version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Checks that every rule names an actionable category of the catalogue.
    pub fn validate(&self, catalogue: &Catalogue) -> Result<(), ClassifyError> {
        let problems: Vec<String> = self
            .rules
            .iter()
            .filter_map(|r| match catalogue.category(&r.category) {
                None => Some(format!(
                    "rule {}: category {} is not in the catalogue",
                    r.id, r.category
                )),
                Some(c) if !c.is_actionable() => Some(format!(
                    "rule {}: category {} opens no work order",
                    r.id, r.category
                )),
                Some(_) => None,
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(ClassifyError::BadRules(problems))
        }
    }

    /// The first rule that fires on `text`, if any.
    pub fn check(&self, text: &str) -> Option<RuleMatch> {
        let norm = normalize(text);
        let occ = self.scan(&norm);
        self.rules.iter().find_map(|r| self.fire(r, &norm, &occ))
    }

    /// Every rule that fires on `text`, in precedence order (for tests and explanations).
    pub fn check_all(&self, text: &str) -> Vec<RuleMatch> {
        let norm = normalize(text);
        let occ = self.scan(&norm);
        self.rules
            .iter()
            .filter_map(|r| self.fire(r, &norm, &occ))
            .collect()
    }

    fn scan(&self, norm: &str) -> Occurrences {
        let mut hits: Vec<(usize, usize, usize)> = self
            .atoms
            .find_overlapping_iter(norm)
            .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
            .collect();
        hits.sort_unstable();
        Occurrences {
            atoms: hits.iter().map(|h| h.0).collect(),
            spans: hits.iter().map(|h| (h.1, h.2)).collect(),
        }
    }

    /// Where a pattern occurs: (start, end, start of its last part), byte offsets.
    fn spans(&self, p: &Pattern, gap: usize, norm: &str, occ: &Occurrences) -> Vec<Span> {
        match p {
            Pattern::Lit(a) => occ.of(*a).iter().map(|&(s, e)| (s, e, s)).collect(),
            Pattern::Gap(a, b) => {
                let mut out = Vec::new();
                for &(s, e) in occ.of(*a) {
                    if let Some(&(bs, be)) = occ
                        .of(*b)
                        .iter()
                        .find(|(bs, _)| *bs >= e && chars_between(norm, e, *bs) <= gap)
                    {
                        out.push((s, be, bs));
                    }
                }
                out
            }
        }
    }

    /// Whether an occurrence is cancelled by an `except` phrase around it or a veto marker
    /// before it (before its first or, for a gap pattern, its last part) or right after it.
    fn vetoed(&self, rule: &Rule, norm: &str, occ: &Occurrences, span: Span) -> bool {
        let (s, e, _) = span;
        rule.except
            .iter()
            .any(|&x| occ.of(x).iter().any(|&(xs, xe)| xs <= s && e <= xe))
            || self.marked(&rule.veto, norm, occ, span)
    }

    /// Whether a marker of one of `sets` stands before or right after the occurrence.
    fn marked(&self, sets: &[usize], norm: &str, occ: &Occurrences, (s, e, last): Span) -> bool {
        sets.iter().any(|&set| {
            let set = &self.marker_sets[set];
            set.before.iter().any(|m| {
                occ.of(m.atom).iter().any(|&(ms, me)| {
                    [s, last].iter().any(|&at| {
                        me <= at && ms < at && same_sentence_within(norm, me, at, m.window)
                    })
                })
            }) || set.after.iter().any(|m| {
                occ.of(m.atom)
                    .iter()
                    .any(|&(ms, _)| ms >= e && same_sentence_within(norm, e, ms, m.window))
            })
        })
    }

    fn fire(&self, rule: &Rule, norm: &str, occ: &Occurrences) -> Option<RuleMatch> {
        // Most rules have none of their atoms in a text: answer those without building spans.
        let hit = rule
            .any
            .iter()
            .filter(|p| p.atoms_occur(occ))
            .find_map(|p| {
                self.spans(p, rule.gap, norm, occ)
                    .into_iter()
                    .find(|&span| !self.vetoed(rule, norm, occ, span))
            })?;
        if !rule.with.is_empty()
            && !rule
                .with
                .iter()
                .any(|p| p.atoms_occur(occ) && !self.spans(p, rule.gap, norm, occ).is_empty())
        {
            return None;
        }
        if rule.unless.iter().filter(|p| p.atoms_occur(occ)).any(|p| {
            self.spans(p, rule.gap, norm, occ)
                .into_iter()
                .any(|span| !self.marked(&rule.unless_veto, norm, occ, span))
        }) {
            return None;
        }
        Some(RuleMatch {
            rule_id: rule.id.clone(),
            category: rule.category.clone(),
            matched: norm[hit.0..hit.1].to_owned(),
        })
    }
}

fn chars_between(norm: &str, a: usize, b: usize) -> usize {
    norm.get(a..b).map_or(usize::MAX, |s| s.chars().count())
}

/// Whether `a..b` holds at most `window` characters and no sentence end.
fn same_sentence_within(norm: &str, a: usize, b: usize, window: usize) -> bool {
    match norm.get(a..b) {
        Some(s) => !s.contains(SENTENCE_END) && s.chars().count() <= window,
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOY: &str = r#"
version = "t1"

[markers.hypo]
before = ["万一", "怕:0"]
after = ["过一"]

[markers.neg]
window = 2
before = ["不是"]

[[rule]]
id = "fire.flames"
category = "fire"
any = ["着火", "火…很大"]
except = ["打不着火"]
unless = ["秸秆"]
unless_veto = ["neg"]
veto = ["hypo"]
gap = 3

[[rule]]
id = "fall.old"
category = "fall_alarm"
any = ["摔倒"]
with = ["老人", "起不来"]
veto = ["hypo"]
"#;

    fn toy() -> RuleSet {
        RuleSet::from_toml_str(TOY).unwrap()
    }

    fn id(text: &str) -> Option<String> {
        toy().check(text).map(|m| m.rule_id)
    }

    #[test]
    fn literals_and_gaps() {
        assert_eq!(id("家里着火了").as_deref(), Some("fire.flames"));
        assert_eq!(id("火真的很大").as_deref(), Some("fire.flames"));
        // The second part too far away.
        assert_eq!(id("火在那边烧得很大"), None);
        assert_eq!(toy().check("火真的很大").unwrap().matched, "火真的很大");
    }

    #[test]
    fn except_veto_with_unless() {
        assert_eq!(id("热水器打不着火"), None);
        assert_eq!(
            id("热水器打不着火 厨房着火了").as_deref(),
            Some("fire.flames")
        );
        assert_eq!(id("万一着火了怎么办"), None);
        assert_eq!(id("怕着火"), None);
        assert_eq!(id("可怕的是 着火了"), Some("fire.flames".into()));
        // A marker in another sentence does not count.
        assert_eq!(id("万一呢。现在着火了"), Some("fire.flames".into()));
        assert_eq!(id("地里烧秸秆 着火了"), None);
        assert_eq!(id("不是秸秆 是房子着火了"), Some("fire.flames".into()));
        assert_eq!(id("有人摔倒了"), None);
        assert_eq!(id("老人摔倒了").as_deref(), Some("fall.old"));
        assert_eq!(id("老人摔倒过一次"), None);
        // Full-width and case are folded.
        assert_eq!(id("着火！"), Some("fire.flames".into()));
    }

    #[test]
    fn problems_are_all_reported() {
        let bad = r#"
version = "x"
[[rule]]
id = "a"
category = "fire"
any = []
veto = ["nope"]
[[rule]]
id = "a"
category = "fire"
any = ["火"]
"#;
        let err = RuleSet::from_toml_str(bad).unwrap_err().to_string();
        assert!(err.contains("`any` is empty"), "{err}");
        assert!(err.contains("\"nope\""), "{err}");
        assert!(err.contains("duplicate id"), "{err}");
        assert!(RuleSet::from_toml_str("version = 1").is_err());
    }
}
