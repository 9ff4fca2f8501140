//! The city the simulator plays in: the catalogue and the geography (with the gazetteer's road
//! and community names), and the places it draws from — streets weighted by their grids (a
//! grid is about 300 households, so grids stand for people), points inside them, and
//! addresses made of the street's real road names with made-up house numbers.

use cityops_core::catalogue::Catalogue;
use cityops_geo::{Area, Gazetteer, Geography, MatchKind, GAZETTEER_FILE};
use std::collections::HashMap;
use std::path::Path;

use crate::error::SimulateError;
use crate::rng::{hash64, Rng};

/// The catalogue, the geography and its gazetteer.
#[derive(Debug)]
pub struct World {
    pub catalogue: Catalogue,
    pub geography: Geography,
    pub gazetteer: Gazetteer,
}

impl World {
    pub fn new(catalogue: Catalogue, geography: Geography, gazetteer: Gazetteer) -> Self {
        Self {
            catalogue,
            geography,
            gazetteer,
        }
    }

    /// Loads the catalogue file and the geography directory (with its `gazetteer.toml` when
    /// there is one), as `[data] catalogue` and `geo_dir` name them.
    pub fn load(
        catalogue: impl AsRef<Path>,
        geo_dir: impl AsRef<Path>,
    ) -> Result<Self, SimulateError> {
        let (catalogue, geo_dir) = (catalogue.as_ref(), geo_dir.as_ref());
        let cat = Catalogue::load(catalogue).map_err(|e| SimulateError::Data {
            what: "the catalogue",
            path: catalogue.display().to_string(),
            reason: e.to_string(),
        })?;
        let geography = Geography::load(geo_dir).map_err(|e| SimulateError::Data {
            what: "the geography",
            path: geo_dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let gaz_path = geo_dir.join(GAZETTEER_FILE);
        let gazetteer = if gaz_path.is_file() {
            Gazetteer::load(&gaz_path, &geography).map_err(|e| SimulateError::Data {
                what: "the gazetteer",
                path: gaz_path.display().to_string(),
                reason: e.to_string(),
            })?
        } else {
            Gazetteer::from_geography(&geography)
        };
        Ok(Self::new(cat, geography, gazetteer))
    }
}

/// Every department that may own a work order: the catalogue's departments that own a
/// category (the command centre included, as `command_center`), with a place-resolved one
/// (`street_office`) expanded to each street (`street_office.<street code>`). The ids the
/// bots need tokens for.
pub fn owner_departments(world: &World) -> Vec<String> {
    let cat = &world.catalogue;
    let mut out: Vec<String> = Vec::new();
    let mut push = |d: String| {
        if !out.contains(&d) {
            out.push(d);
        }
    };
    for c in cat.categories() {
        let Some(owner) = &c.owner else { continue };
        match cat.department(owner) {
            Some(d) if d.place_resolved => {
                for s in world.geography.streets() {
                    push(format!("{}.{}", owner, s.code()));
                }
            }
            _ => push(owner.to_string()),
        }
    }
    out
}

/// A street (街道/镇/乡) as the simulator uses it.
#[derive(Debug, Clone)]
pub struct Street {
    pub code: String,
    pub name: String,
    pub district_code: String,
    pub district_name: String,
    /// Road names of the gazetteer in this street (may be empty).
    pub roads: Vec<String>,
    /// Community names of the gazetteer in this street (may be empty).
    pub communities: Vec<String>,
    /// Indices into `Geography::grids()`.
    pub grids: Vec<usize>,
    /// Index into `Geography::streets()`.
    pub area: usize,
}

/// A point of the city and where it lies.
#[derive(Debug, Clone, PartialEq)]
pub struct Spot {
    /// Index into [`Places::streets`].
    pub street: usize,
    /// Index into `Geography::grids()`, when the street has grids.
    pub grid: Option<usize>,
    pub lat: f64,
    pub lon: f64,
}

/// An address as a citizen gives it.
#[derive(Debug, Clone, PartialEq)]
pub struct Address {
    /// With the district: `铁西区兴华南街58号`.
    pub full: String,
    /// Without it, for the ticket text: `兴华南街58号`.
    pub local: String,
    /// A road of the street (or the street's name).
    pub road: String,
    /// A community (小区) of the place.
    pub community: String,
}

/// The streets with their names and grids.
#[derive(Debug, Clone)]
pub struct Places {
    pub streets: Vec<Street>,
    by_code: HashMap<String, usize>,
    /// Every grid with its street (index into `streets`).
    grid_street: Vec<(usize, usize)>,
}

const COMMUNITY_HEADS: &[&str] = &[
    "阳光", "幸福", "锦绣", "和顺", "康乐", "惠民", "盛世", "明珠", "丽景", "祥和", "富民", "瑞安",
    "东方", "金桥", "翠湖", "枫林", "新华", "春晖", "怡景", "宏发", "嘉禾", "兴隆", "福安", "世纪",
];
const COMMUNITY_TAILS: &[&str] = &[
    "小区", "家园", "花园", "新村", "雅苑", "名苑", "里", "嘉园", "新城", "公寓",
];

impl Places {
    pub fn new(world: &World) -> Result<Self, SimulateError> {
        let geo = &world.geography;
        if geo.streets().is_empty() {
            return Err(SimulateError::Unusable(
                "the geography has no streets (streets.geojson): the simulator places devices and \
                 callers in streets; add the street boundaries to the geo directory"
                    .into(),
            ));
        }
        let mut streets = Vec::with_capacity(geo.streets().len());
        let mut by_code = HashMap::new();
        for (i, s) in geo.streets().iter().enumerate() {
            let district = s.parent_code().and_then(|c| geo.area(c));
            by_code.insert(s.code().to_owned(), streets.len());
            streets.push(Street {
                code: s.code().to_owned(),
                name: s.name().to_owned(),
                district_code: district.map(|d| d.code().to_owned()).unwrap_or_default(),
                district_name: district.map(|d| d.name().to_owned()).unwrap_or_default(),
                roads: Vec::new(),
                communities: Vec::new(),
                grids: Vec::new(),
                area: i,
            });
        }
        for (name, kind, street_code) in world.gazetteer.entries() {
            let Some(&i) = by_code.get(street_code) else {
                continue;
            };
            match kind {
                MatchKind::Road => streets[i].roads.push(name.to_owned()),
                MatchKind::Community => streets[i].communities.push(name.to_owned()),
                _ => {}
            }
        }
        let mut grid_street = Vec::new();
        for (g, grid) in geo.grids().iter().enumerate() {
            if let Some(&i) = grid.parent_code().and_then(|c| by_code.get(c)) {
                streets[i].grids.push(g);
                grid_street.push((g, i));
            }
        }
        Ok(Self {
            streets,
            by_code,
            grid_street,
        })
    }

    pub fn street_index(&self, code: &str) -> Option<usize> {
        self.by_code.get(code).copied()
    }

    /// A random place of the city, weighted by people: a uniformly chosen grid (each about 300
    /// households), else a uniformly chosen street when the geography has no grids.
    pub fn random_spot(&self, geo: &Geography, rng: &mut Rng) -> Spot {
        if let Some(&(g, s)) = rng.pick(&self.grid_street) {
            return self.spot_in_grid(geo, s, g, rng);
        }
        let s = rng.index(self.streets.len());
        self.spot_in_street(geo, s, rng)
    }

    /// A random place inside street `s` (in one of its grids when it has any).
    pub fn spot_in_street(&self, geo: &Geography, s: usize, rng: &mut Rng) -> Spot {
        let street = &self.streets[s];
        if let Some(&g) = rng.pick(&street.grids) {
            return self.spot_in_grid(geo, s, g, rng);
        }
        let (lat, lon) = point_in(&geo.streets()[street.area], rng);
        Spot {
            street: s,
            grid: None,
            lat,
            lon,
        }
    }

    /// A random place inside grid `g` of street `s`.
    pub fn spot_in_grid(&self, geo: &Geography, s: usize, g: usize, rng: &mut Rng) -> Spot {
        let (lat, lon) = point_in(&geo.grids()[g], rng);
        Spot {
            street: s,
            grid: Some(g),
            lat,
            lon,
        }
    }

    /// A place within about `radius_m` of `spot`, in the same street (the spot itself when no
    /// such point is found quickly).
    pub fn near(&self, geo: &Geography, spot: &Spot, radius_m: f64, rng: &mut Rng) -> Spot {
        let area = &geo.streets()[self.streets[spot.street].area];
        for _ in 0..32 {
            let r = radius_m * rng.f64().sqrt();
            let a = rng.range(0.0, std::f64::consts::TAU);
            let dlat = r * a.cos() / 111_320.0;
            let dlon = r * a.sin() / (111_320.0 * spot.lat.to_radians().cos().max(0.1));
            let (lat, lon) = (round6(spot.lat + dlat), round6(spot.lon + dlon));
            if area.contains(lat, lon) {
                let grid = spot
                    .grid
                    .filter(|&g| geo.grids()[g].contains(lat, lon))
                    .or_else(|| {
                        self.streets[spot.street]
                            .grids
                            .iter()
                            .copied()
                            .find(|&g| geo.grids()[g].contains(lat, lon))
                    });
                return Spot {
                    street: spot.street,
                    grid,
                    lat,
                    lon,
                };
            }
        }
        spot.clone()
    }

    /// The community (小区) of a place: one of the gazetteer's communities of the street, or a
    /// made-up name that stays the same for the grid.
    pub fn community(&self, geo: &Geography, spot: &Spot) -> String {
        let street = &self.streets[spot.street];
        let key = match spot.grid {
            Some(g) => geo.grids()[g].code().to_owned(),
            None => format!("{}:{:.3}:{:.3}", street.code, spot.lat, spot.lon),
        };
        let h = hash64(&key);
        if !street.communities.is_empty() && h.is_multiple_of(3) {
            return street.communities[(h / 3) as usize % street.communities.len()].clone();
        }
        let head = COMMUNITY_HEADS[(h >> 8) as usize % COMMUNITY_HEADS.len()];
        let tail = COMMUNITY_TAILS[(h >> 24) as usize % COMMUNITY_TAILS.len()];
        format!("{head}{tail}")
    }

    /// An address of `spot` as a caller would say it: a real road of the street with a made-up
    /// house number, a crossing of two of its roads, or a community and building.
    pub fn address(&self, geo: &Geography, spot: &Spot, rng: &mut Rng) -> Address {
        let street = &self.streets[spot.street];
        let community = self.community(geo, spot);
        let road = rng
            .pick(&street.roads)
            .cloned()
            .unwrap_or_else(|| street.name.clone());
        let form = rng.index(10);
        let local = if street.roads.len() >= 2 && form < 2 {
            let mut other = road.clone();
            for _ in 0..4 {
                if let Some(r) = rng.pick(&street.roads) {
                    if *r != road {
                        other = r.clone();
                        break;
                    }
                }
            }
            if other == road {
                format!("{road}{}号", rng.int(1, 299))
            } else {
                format!("{road}与{other}交汇处")
            }
        } else if !street.roads.is_empty() && form < 6 {
            format!("{road}{}号", rng.int(1, 299))
        } else {
            format!("{}{community}{}号楼", street.name, rng.int(1, 24))
        };
        Address {
            full: format!("{}{local}", street.district_name),
            local,
            road,
            community,
        }
    }

    /// Streets in the denser half of the city (most grids), for the episodes.
    pub fn dense_streets(&self) -> Vec<usize> {
        let mut counts: Vec<usize> = self.streets.iter().map(|s| s.grids.len()).collect();
        counts.sort_unstable();
        let median = counts.get(counts.len() / 2).copied().unwrap_or(0);
        let dense: Vec<usize> = (0..self.streets.len())
            .filter(|&i| self.streets[i].grids.len() >= median.max(1))
            .collect();
        if dense.is_empty() {
            (0..self.streets.len()).collect()
        } else {
            dense
        }
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// A random point inside `area` (`(lat, lon)`, 6 decimals): rejection sampling in its bounding
/// box, the representative point if that fails.
pub fn point_in(area: &Area, rng: &mut Rng) -> (f64, f64) {
    let b = area.bbox();
    for _ in 0..64 {
        let lon = round6(rng.range(b.min().x, b.max().x));
        let lat = round6(rng.range(b.min().y, b.max().y));
        if area.contains(lat, lon) {
            return (lat, lon);
        }
    }
    let (lat, lon) = area.representative_point();
    (round6(lat), round6(lon))
}
