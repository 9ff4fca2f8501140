//! The gazetteer: place names in address text → street.
//!
//! 12345 tickets often carry only an address (`铁西区兴华南街58号`) or only a district. The
//! gazetteer knows road (路/街/大街), community (小区/社区) and landmark (广场/医院/学校/公园/
//! 地铁站…) names, each with the street it lies in, plus every street's own name from the
//! geography. [`Gazetteer::geocode`] finds the names in an address:
//!
//! - the longest name found wins (then the earliest in the text);
//! - a name listed in several districts (`青年大街` in 和平区 and 沈河区) counts only with a
//!   district: the `district_hint` (the ticket's district field), else the first district named
//!   in the address; names inside a district's own name (`大东` in `大东区`) are ignored;
//! - with a district known, names listed only in other districts are ignored;
//! - nothing matched but a district known → the district, with [`LocationPrecision::District`].

use std::collections::HashMap;
use std::path::Path;

use cityops_core::model::LocationPrecision;
use serde::Deserialize;

use crate::error::GeoError;
use crate::geography::{short_district_name, Geography};

/// The gazetteer's file name inside the geography directory.
pub const GAZETTEER_FILE: &str = "gazetteer.toml";

/// What kind of name matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MatchKind {
    /// Only a district name (or the district hint).
    District,
    /// A street's own name from the geography (`兴华街道`, `胡台镇`).
    Street,
    /// A road: 路, 街, 大街, 巷…
    Road,
    /// A residential community: 小区, 社区, 家园, 花园…
    Community,
    /// A landmark: 广场, 医院, 学校, 公园, 地铁站, 市场…
    Landmark,
    /// Another name of a street (an old town name, a development zone…).
    Alias,
}

impl MatchKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchKind::District => "district",
            MatchKind::Street => "street",
            MatchKind::Road => "road",
            MatchKind::Community => "community",
            MatchKind::Landmark => "landmark",
            MatchKind::Alias => "alias",
        }
    }
}

/// Where an address points. Borrowed from the [`Gazetteer`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeocodeMatch<'g> {
    pub district_code: &'g str,
    pub district_name: &'g str,
    /// `None` when only the district is known.
    pub street_code: Option<&'g str>,
    pub street_name: Option<&'g str>,
    /// The gazetteer name (or district name) that decided.
    pub matched: &'g str,
    pub kind: MatchKind,
    /// [`LocationPrecision::Street`] or [`LocationPrecision::District`].
    pub precision: LocationPrecision,
    /// A representative point `(lat, lon)` inside the street (or district) for a map.
    pub point: (f64, f64),
}

#[derive(Debug, Clone)]
struct DistrictRec {
    code: String,
    name: String,
    short: String,
    point: (f64, f64),
}

#[derive(Debug, Clone)]
struct StreetRec {
    code: String,
    name: String,
    district: u32,
    point: (f64, f64),
}

#[derive(Debug, Clone)]
struct Entry {
    name: String,
    kind: MatchKind,
    street: u32,
}

/// Names → streets, built against a [`Geography`].
#[derive(Debug, Clone)]
pub struct Gazetteer {
    districts: Vec<DistrictRec>,
    streets: Vec<StreetRec>,
    entries: Vec<Entry>,
    index: HashMap<String, Vec<u32>>,
    max_chars: usize,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileToml {
    #[serde(default)]
    #[allow(dead_code)]
    note: Option<String>,
    #[serde(default, rename = "street")]
    streets: Vec<StreetToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StreetToml {
    /// The street's code; or `district` + `street` names.
    code: Option<String>,
    district: Option<String>,
    street: Option<String>,
    #[serde(default)]
    roads: Vec<String>,
    #[serde(default)]
    communities: Vec<String>,
    #[serde(default)]
    landmarks: Vec<String>,
    #[serde(default)]
    aliases: Vec<String>,
}

impl Gazetteer {
    /// Only the geography's own names: districts and streets.
    pub fn from_geography(geography: &Geography) -> Gazetteer {
        let districts: Vec<DistrictRec> = geography
            .districts()
            .iter()
            .map(|d| DistrictRec {
                code: d.code().to_string(),
                name: d.name().to_string(),
                short: short_district_name(d.name()).to_string(),
                point: d.representative_point(),
            })
            .collect();
        let streets: Vec<StreetRec> = geography
            .streets()
            .iter()
            .filter_map(|s| {
                let parent = s.parent_code()?;
                let district = districts.iter().position(|d| d.code == parent)? as u32;
                Some(StreetRec {
                    code: s.code().to_string(),
                    name: s.name().to_string(),
                    district,
                    point: s.representative_point(),
                })
            })
            .collect();
        let mut g = Gazetteer {
            districts,
            streets,
            entries: Vec::new(),
            index: HashMap::new(),
            max_chars: 0,
        };
        for i in 0..g.streets.len() {
            let name = g.streets[i].name.clone();
            g.add(name, MatchKind::Street, i as u32);
        }
        g
    }

    /// Reads a gazetteer file (see `docs/geography.md` for the format).
    pub fn load(path: impl AsRef<Path>, geography: &Geography) -> Result<Gazetteer, GeoError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| GeoError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        Gazetteer::from_toml_str(&text, &file, geography)
    }

    /// Parses gazetteer TOML; `file` names it in errors.
    pub fn from_toml_str(
        text: &str,
        file: &str,
        geography: &Geography,
    ) -> Result<Gazetteer, GeoError> {
        let parsed: FileToml = toml::from_str(text).map_err(|e| GeoError::GazetteerSyntax {
            file: file.into(),
            message: e.to_string(),
        })?;
        let mut g = Gazetteer::from_geography(geography);
        for (i, s) in parsed.streets.iter().enumerate() {
            let entry = format!(
                "[[street]] #{} ({})",
                i + 1,
                [
                    s.code.as_deref(),
                    s.district.as_deref(),
                    s.street.as_deref()
                ]
                .into_iter()
                .flatten()
                .collect::<Vec<_>>()
                .join(" ")
            );
            let fail = |problem: String| GeoError::Gazetteer {
                file: file.into(),
                entry: entry.clone(),
                problem,
            };
            let code = match (&s.code, &s.district, &s.street) {
                (Some(code), _, _) => code.clone(),
                (None, Some(district), Some(street)) => {
                    let d = geography
                        .district_by_name(district)
                        .ok_or_else(|| fail(format!("no district {district} in the geography")))?;
                    geography
                        .street_by_name(d.code(), street)
                        .ok_or_else(|| fail(format!("no street {street} in {}", d.name())))?
                        .code()
                        .to_string()
                }
                _ => return Err(fail("needs code, or district and street".into())),
            };
            let street = g
                .streets
                .iter()
                .position(|r| r.code == code)
                .ok_or_else(|| fail(format!("no street with code {code} in the geography")))?
                as u32;
            let lists = [
                (&s.roads, MatchKind::Road),
                (&s.communities, MatchKind::Community),
                (&s.landmarks, MatchKind::Landmark),
                (&s.aliases, MatchKind::Alias),
            ];
            for (names, kind) in lists {
                for name in names {
                    let name = name.trim();
                    if name.chars().count() < 2 {
                        return Err(fail(format!("name {name:?} is shorter than 2 characters")));
                    }
                    if let Some(other) = g.conflict(name, street) {
                        return Err(fail(format!(
                            "{name} is already listed for {} in the same district",
                            g.streets[other as usize].name
                        )));
                    }
                    g.add(name.to_string(), kind, street);
                }
            }
        }
        Ok(g)
    }

    /// Another street of the same district already listed under this name.
    fn conflict(&self, name: &str, street: u32) -> Option<u32> {
        let district = self.streets[street as usize].district;
        self.index
            .get(name)?
            .iter()
            .map(|&e| self.entries[e as usize].street)
            .find(|&s| s != street && self.streets[s as usize].district == district)
    }

    fn add(&mut self, name: String, kind: MatchKind, street: u32) {
        let list = self.index.entry(name.clone()).or_default();
        if list
            .iter()
            .any(|&e| self.entries[e as usize].street == street)
        {
            return; // the same name for the same street twice
        }
        list.push(self.entries.len() as u32);
        self.max_chars = self.max_chars.max(name.chars().count());
        self.entries.push(Entry { name, kind, street });
    }

    /// Number of names (entries) known, streets' own names included.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every name with its kind and street code.
    pub fn entries(&self) -> impl Iterator<Item = (&str, MatchKind, &str)> {
        self.entries.iter().map(|e| {
            (
                e.name.as_str(),
                e.kind,
                self.streets[e.street as usize].code.as_str(),
            )
        })
    }

    fn district_of_hint(&self, hint: &str) -> Option<u32> {
        let hint = hint.trim();
        if hint.is_empty() {
            return None;
        }
        self.districts
            .iter()
            .position(|d| d.name == hint || d.code == hint)
            .or_else(|| self.districts.iter().position(|d| d.short == hint))
            .map(|i| i as u32)
    }

    /// Geocodes address text to a street, or at least a district. `district_hint` is the
    /// ticket's district (a name like `铁西区` or `铁西`, or a code), used to choose between
    /// names that exist in several districts. `None` when neither a street nor a district can
    /// be told.
    pub fn geocode(&self, address: &str, district_hint: Option<&str>) -> Option<GeocodeMatch<'_>> {
        // Districts named in the address, and their spans (names inside them are ignored).
        let mut spans: [(usize, usize); 4] = [(0, 0); 4];
        let mut n_spans = 0;
        let mut named: Option<(usize, u32)> = None;
        for (i, d) in self.districts.iter().enumerate() {
            for (pos, m) in address.match_indices(d.name.as_str()) {
                if n_spans < spans.len() {
                    spans[n_spans] = (pos, pos + m.len());
                    n_spans += 1;
                }
                if named.is_none_or(|(p, _)| pos < p) {
                    named = Some((pos, i as u32));
                }
            }
        }
        let district = district_hint
            .and_then(|h| self.district_of_hint(h))
            .or(named.map(|(_, d)| d));
        let spans = &spans[..n_spans];

        // (chars, start, entry)
        let mut best: Option<(usize, usize, u32)> = None;
        for (start, _) in address.char_indices() {
            let rest = &address[start..];
            let mut chars = 0;
            for (offset, ch) in rest.char_indices() {
                chars += 1;
                if chars > self.max_chars {
                    break;
                }
                if chars < 2 {
                    continue;
                }
                let end = start + offset + ch.len_utf8();
                let Some(list) = self.index.get(&address[start..end]) else {
                    continue;
                };
                if spans.iter().any(|&(a, b)| start < b && a < end) {
                    continue;
                }
                let Some(entry) = self.pick(list, district) else {
                    continue;
                };
                let better = match best {
                    None => true,
                    Some((c, s, _)) => chars > c || (chars == c && start < s),
                };
                if better {
                    best = Some((chars, start, entry));
                }
            }
        }
        if let Some((_, _, e)) = best {
            let entry = &self.entries[e as usize];
            let street = &self.streets[entry.street as usize];
            let d = &self.districts[street.district as usize];
            return Some(GeocodeMatch {
                district_code: &d.code,
                district_name: &d.name,
                street_code: Some(&street.code),
                street_name: Some(&street.name),
                matched: &entry.name,
                kind: entry.kind,
                precision: LocationPrecision::Street,
                point: street.point,
            });
        }
        let d = &self.districts[district? as usize];
        Some(GeocodeMatch {
            district_code: &d.code,
            district_name: &d.name,
            street_code: None,
            street_name: None,
            matched: &d.name,
            kind: MatchKind::District,
            precision: LocationPrecision::District,
            point: d.point,
        })
    }

    /// The one entry a name stands for, given the district (if known); `None` when the name
    /// belongs elsewhere or is ambiguous.
    fn pick(&self, list: &[u32], district: Option<u32>) -> Option<u32> {
        let mut chosen: Option<u32> = None;
        for &e in list {
            let street = self.entries[e as usize].street;
            if let Some(d) = district {
                if self.streets[street as usize].district != d {
                    continue;
                }
            }
            match chosen {
                None => chosen = Some(e),
                Some(c) if self.entries[c as usize].street == street => {}
                Some(_) => return None,
            }
        }
        chosen
    }
}
