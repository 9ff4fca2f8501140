//! The geography: districts, streets and grids loaded from GeoJSON into R-trees, and the
//! lookup of a point to its places.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::Path;

use geo::{BoundingRect, Centroid, Coord, InteriorPoint, LineString, MultiPolygon, Polygon, Rect};
use geojson::{FeatureCollection, GeometryValue, JsonObject, JsonValue};
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::RTree;

use crate::error::GeoError;
use crate::shape::Shape;

/// File names inside a geography directory.
pub const DISTRICTS_FILE: &str = "districts.geojson";
/// Streets (街道, 镇, 乡): optional.
pub const STREETS_FILE: &str = "streets.geojson";
/// Grids (网格): optional; needs streets.
pub const GRIDS_FILE: &str = "grids.geojson";

/// The H3 resolution used unless configured otherwise (cells of about 0.1 km²).
pub const DEFAULT_H3_RESOLUTION: u8 = 9;

/// The counter incremented for every point that lies outside every district.
pub const UNLOCATED_METRIC: &str = "cityops_geo_unlocated_total";

/// The three levels of the city's administrative geography.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    /// 区/县/市: a district or county.
    District,
    /// 街道/镇/乡: a street office or township.
    Street,
    /// 网格: a grid, the unit of a grid worker (about 300 households).
    Grid,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::District => "district",
            Level::Street => "street",
            Level::Grid => "grid",
        }
    }
}

/// A district, street or grid: its codes, names and shape.
#[derive(Debug, Clone)]
pub struct Area {
    level: Level,
    code: String,
    name: String,
    parent_code: Option<String>,
    /// Index of the parent in the level above (streets: district, grids: street).
    parent: Option<u32>,
    generated: bool,
    geometry: MultiPolygon<f64>,
    bbox: Rect<f64>,
    representative: Coord<f64>,
    shape: Shape,
}

impl Area {
    pub fn level(&self) -> Level {
        self.level
    }
    pub fn code(&self) -> &str {
        &self.code
    }
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The code of the district (for a street) or street (for a grid) this area belongs to.
    pub fn parent_code(&self) -> Option<&str> {
        self.parent_code.as_deref()
    }
    /// Whether the feature says its boundary is generated rather than official.
    pub fn generated(&self) -> bool {
        self.generated
    }
    /// The boundary (WGS-84, x = longitude, y = latitude).
    pub fn geometry(&self) -> &MultiPolygon<f64> {
        &self.geometry
    }
    /// The bounding box (x = longitude, y = latitude).
    pub fn bbox(&self) -> Rect<f64> {
        self.bbox
    }
    /// A point inside the area, `(lat, lon)`: the feature's `center` property when it has one,
    /// else the centroid when that lies inside, else an interior point. Use it to place an
    /// event known only to the street or district on a map.
    pub fn representative_point(&self) -> (f64, f64) {
        (self.representative.y, self.representative.x)
    }
    /// Whether the point `(lat, lon)` lies inside the area.
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        self.shape.contains(Coord { x: lon, y: lat })
    }
}

/// Areas are equal when they are the same area: same level and code.
impl PartialEq for Area {
    fn eq(&self, other: &Area) -> bool {
        self.level == other.level && self.code == other.code
    }
}

/// Where a point is: its district and, where the geography covers it, street and grid.
/// Borrowed from the [`Geography`]: looking a point up allocates nothing.
#[derive(Debug, Clone, Copy)]
pub struct Place<'g> {
    pub district: &'g Area,
    pub street: Option<&'g Area>,
    pub grid: Option<&'g Area>,
}

impl Place<'_> {
    pub fn district_code(&self) -> &str {
        self.district.code()
    }
    pub fn district_name(&self) -> &str {
        self.district.name()
    }
    pub fn street_code(&self) -> Option<&str> {
        self.street.map(Area::code)
    }
    pub fn street_name(&self) -> Option<&str> {
        self.street.map(Area::name)
    }
    pub fn grid_code(&self) -> Option<&str> {
        self.grid.map(Area::code)
    }
    pub fn grid_name(&self) -> Option<&str> {
        self.grid.map(Area::name)
    }
}

type Indexed = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// Districts, streets and grids with their R-trees.
///
/// Lookup goes finest level first: the grid containing the point, then its street and district
/// by `parent_code`; where no grid covers the point, the street containing it; then the
/// district. So the codes of a [`Place`] are always consistent with each other.
#[derive(Debug)]
pub struct Geography {
    districts: Vec<Area>,
    streets: Vec<Area>,
    grids: Vec<Area>,
    district_tree: RTree<Indexed>,
    street_tree: RTree<Indexed>,
    grid_tree: RTree<Indexed>,
    by_code: HashMap<String, (Level, u32)>,
    h3_resolution: h3o::Resolution,
}

impl Geography {
    /// Loads `districts.geojson` and, when present, `streets.geojson` and `grids.geojson` from
    /// a directory. The H3 resolution is [`DEFAULT_H3_RESOLUTION`].
    pub fn load(dir: impl AsRef<Path>) -> Result<Geography, GeoError> {
        let dir = dir.as_ref();
        let read = |name: &str, required: bool| -> Result<Option<String>, GeoError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(Some(text)),
                Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(source) => Err(GeoError::Read { path, source }),
            }
        };
        let districts = read(DISTRICTS_FILE, true)?.unwrap_or_default();
        let streets = read(STREETS_FILE, false)?;
        let grids = read(GRIDS_FILE, false)?;
        Geography::from_geojson(&districts, streets.as_deref(), grids.as_deref())
    }

    /// Builds a geography from GeoJSON text: a FeatureCollection each for districts and,
    /// optionally, streets and grids. See `docs/geography.md` for the properties.
    pub fn from_geojson(
        districts: &str,
        streets: Option<&str>,
        grids: Option<&str>,
    ) -> Result<Geography, GeoError> {
        if grids.is_some() && streets.is_none() {
            return Err(GeoError::Collection {
                file: GRIDS_FILE.into(),
                problem: format!("grids need {STREETS_FILE}, which is missing"),
            });
        }
        let mut by_code = HashMap::new();
        let districts = parse_level(
            districts,
            DISTRICTS_FILE,
            Level::District,
            None,
            &mut by_code,
        )?;
        if districts.is_empty() {
            return Err(GeoError::Collection {
                file: DISTRICTS_FILE.into(),
                problem: "no districts".into(),
            });
        }
        let streets = match streets {
            Some(text) => parse_level(
                text,
                STREETS_FILE,
                Level::Street,
                Some(&districts),
                &mut by_code,
            )?,
            None => Vec::new(),
        };
        let grids = match grids {
            Some(text) => parse_level(text, GRIDS_FILE, Level::Grid, Some(&streets), &mut by_code)?,
            None => Vec::new(),
        };
        Ok(Geography {
            district_tree: tree(&districts),
            street_tree: tree(&streets),
            grid_tree: tree(&grids),
            districts,
            streets,
            grids,
            by_code,
            h3_resolution: h3o::Resolution::Nine,
        })
    }

    /// Sets the H3 resolution of [`Geography::h3_cell`] (0..=15).
    pub fn with_h3_resolution(mut self, resolution: u8) -> Result<Geography, GeoError> {
        self.h3_resolution = h3o::Resolution::try_from(resolution)
            .map_err(|_| GeoError::H3Resolution(resolution))?;
        Ok(self)
    }

    /// The configured H3 resolution.
    pub fn h3_resolution(&self) -> u8 {
        u8::from(self.h3_resolution)
    }

    /// The district, street and grid of a WGS-84 point; `None` for a point outside every
    /// district (or not a valid coordinate), which also increments
    /// `cityops_geo_unlocated_total`. Allocation-free.
    pub fn locate(&self, lat: f64, lon: f64) -> Option<Place<'_>> {
        let place = self.locate_quiet(lat, lon);
        if place.is_none() {
            metrics::counter!(UNLOCATED_METRIC).increment(1);
        }
        place
    }

    /// [`Geography::locate`] without counting unlocated points.
    pub fn locate_quiet(&self, lat: f64, lon: f64) -> Option<Place<'_>> {
        if !lat.is_finite() || !lon.is_finite() {
            return None;
        }
        let p = Coord { x: lon, y: lat };
        if let Some(g) = find(&self.grid_tree, &self.grids, p) {
            let grid = &self.grids[g];
            let street = &self.streets[grid.parent? as usize];
            let district = &self.districts[street.parent? as usize];
            return Some(Place {
                district,
                street: Some(street),
                grid: Some(grid),
            });
        }
        if let Some(s) = find(&self.street_tree, &self.streets, p) {
            let street = &self.streets[s];
            let district = &self.districts[street.parent? as usize];
            return Some(Place {
                district,
                street: Some(street),
                grid: None,
            });
        }
        let d = find(&self.district_tree, &self.districts, p)?;
        Some(Place {
            district: &self.districts[d],
            street: None,
            grid: None,
        })
    }

    /// The H3 cell of a point at the configured resolution, e.g. `"891e9a1d8d7ffff"`.
    pub fn h3_cell(&self, lat: f64, lon: f64) -> Option<String> {
        self.h3_index(lat, lon).map(|c| c.to_string())
    }

    /// The H3 cell of a point at the configured resolution, as an index.
    pub fn h3_index(&self, lat: f64, lon: f64) -> Option<h3o::CellIndex> {
        h3o::LatLng::new(lat, lon)
            .ok()
            .map(|ll| ll.to_cell(self.h3_resolution))
    }

    /// A district by name (`铁西区`), short name (`铁西`, `沈北`) or code (`210106`).
    pub fn district_by_name(&self, name: &str) -> Option<&Area> {
        let name = name.trim();
        if name.is_empty() {
            return None;
        }
        self.districts
            .iter()
            .find(|d| d.name == name || d.code == name)
            .or_else(|| {
                self.districts
                    .iter()
                    .find(|d| short_district_name(&d.name) == name)
            })
    }

    /// A street of a district by name.
    pub fn street_by_name(&self, district_code: &str, name: &str) -> Option<&Area> {
        self.streets
            .iter()
            .find(|s| s.name == name && s.parent_code.as_deref() == Some(district_code))
    }

    /// Any area by code.
    pub fn area(&self, code: &str) -> Option<&Area> {
        let &(level, i) = self.by_code.get(code)?;
        Some(&self.level(level)[i as usize])
    }

    /// The parent of an area (a street's district, a grid's street).
    pub fn parent(&self, area: &Area) -> Option<&Area> {
        let i = area.parent? as usize;
        match area.level {
            Level::District => None,
            Level::Street => self.districts.get(i),
            Level::Grid => self.streets.get(i),
        }
    }

    pub fn districts(&self) -> &[Area] {
        &self.districts
    }
    pub fn streets(&self) -> &[Area] {
        &self.streets
    }
    pub fn grids(&self) -> &[Area] {
        &self.grids
    }
    /// All areas of one level.
    pub fn level(&self, level: Level) -> &[Area] {
        match level {
            Level::District => &self.districts,
            Level::Street => &self.streets,
            Level::Grid => &self.grids,
        }
    }
    /// Whether any feature is marked as generated (not official).
    pub fn is_generated(&self) -> bool {
        self.districts
            .iter()
            .chain(&self.streets)
            .chain(&self.grids)
            .any(|a| a.generated)
    }
    /// The bounding box of all districts (x = longitude, y = latitude).
    pub fn bbox(&self) -> Rect<f64> {
        let mut it = self.districts.iter().map(|d| d.bbox);
        let first = it.next().unwrap_or(Rect::new((0.0, 0.0), (0.0, 0.0)));
        it.fold(first, |a, b| {
            Rect::new(
                (a.min().x.min(b.min().x), a.min().y.min(b.min().y)),
                (a.max().x.max(b.max().x), a.max().y.max(b.max().y)),
            )
        })
    }
}

/// `铁西区` → `铁西`, `沈北新区` → `沈北`, `新民市` → `新民`, `康平县` → `康平`.
pub(crate) fn short_district_name(name: &str) -> &str {
    for suffix in ["新区", "区", "县", "市"] {
        if let Some(short) = name.strip_suffix(suffix) {
            if short.chars().count() >= 2 {
                return short;
            }
        }
    }
    name
}

fn tree(areas: &[Area]) -> RTree<Indexed> {
    RTree::bulk_load(
        areas
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let (min, max) = (a.bbox.min(), a.bbox.max());
                GeomWithData::new(
                    Rectangle::from_corners([min.x, min.y], [max.x, max.y]),
                    i as u32,
                )
            })
            .collect(),
    )
}

#[inline]
fn find(tree: &RTree<Indexed>, areas: &[Area], p: Coord<f64>) -> Option<usize> {
    let found = tree.locate_all_at_point_int([p.x, p.y], |obj| {
        let i = obj.data as usize;
        if areas[i].shape.contains(p) {
            ControlFlow::Break(i)
        } else {
            ControlFlow::Continue(())
        }
    });
    match found {
        ControlFlow::Break(i) => Some(i),
        ControlFlow::Continue(()) => None,
    }
}

/// Parses and validates one level's FeatureCollection.
fn parse_level(
    text: &str,
    file: &str,
    level: Level,
    parents: Option<&[Area]>,
    by_code: &mut HashMap<String, (Level, u32)>,
) -> Result<Vec<Area>, GeoError> {
    let collection: FeatureCollection =
        serde_json::from_str(text).map_err(|e| GeoError::NotFeatureCollection {
            file: file.into(),
            message: e.to_string(),
        })?;
    let parent_index: HashMap<&str, u32> = parents
        .unwrap_or_default()
        .iter()
        .enumerate()
        .map(|(i, a)| (a.code.as_str(), i as u32))
        .collect();
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    let mut areas = Vec::with_capacity(collection.features.len());
    for (index, feature) in collection.features.iter().enumerate() {
        let props = feature.properties.as_ref();
        let code = props.and_then(|p| text_property(p, "code"));
        let name = props.and_then(|p| match p.get("name") {
            Some(JsonValue::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
            _ => None,
        });
        let label = match (&code, &name) {
            (Some(c), Some(n)) => format!("code {c} \"{n}\""),
            (Some(c), None) => format!("code {c}"),
            (None, Some(n)) => format!("\"{n}\", no code"),
            (None, None) => "no code".into(),
        };
        let fail = |problem: String| GeoError::Feature {
            file: file.into(),
            index,
            feature: label.clone(),
            problem,
        };
        let Some(props) = props else {
            return Err(fail("no properties: needs code and name".into()));
        };
        let code = match props.get("code") {
            None | Some(JsonValue::Null) => return Err(fail("missing property code".into())),
            Some(_) => code.ok_or_else(|| {
                fail("property code must be a non-empty string or integer".into())
            })?,
        };
        let name = match props.get("name") {
            None | Some(JsonValue::Null) => return Err(fail("missing property name".into())),
            Some(_) => {
                name.ok_or_else(|| fail("property name must be a non-empty string".into()))?
            }
        };
        let parent_code = text_property(props, "parent_code");
        let parent = match (parents, &parent_code) {
            (None, _) => None,
            (Some(_), None) => {
                return Err(fail(format!(
                    "missing property parent_code (the code of its {})",
                    if level == Level::Street {
                        "district"
                    } else {
                        "street"
                    }
                )))
            }
            (Some(_), Some(pc)) => Some(*parent_index.get(pc.as_str()).ok_or_else(|| {
                fail(format!(
                    "parent_code {pc} names no {}",
                    if level == Level::Street {
                        "district"
                    } else {
                        "street"
                    }
                ))
            })?),
        };
        let generated = match props.get("generated") {
            None | Some(JsonValue::Null) => false,
            Some(JsonValue::Bool(b)) => *b,
            Some(_) => return Err(fail("property generated must be true or false".into())),
        };
        let geometry = feature
            .geometry
            .as_ref()
            .ok_or_else(|| fail("no geometry".into()))?;
        let geometry = to_multipolygon(&geometry.value).map_err(&fail)?;
        let bbox = geometry
            .bounding_rect()
            .ok_or_else(|| fail("empty geometry".into()))?;
        let shape = Shape::new(&geometry);
        let contains = |c: Coord<f64>| shape.contains(c);
        let representative = match props.get("center") {
            None | Some(JsonValue::Null) => geometry
                .centroid()
                .map(|c| c.0)
                .filter(|&c| contains(c))
                .or_else(|| geometry.interior_point().map(|p| p.0))
                .ok_or_else(|| fail("geometry has no interior point".into()))?,
            Some(v) => {
                let c =
                    position(v).ok_or_else(|| fail("property center must be [lon, lat]".into()))?;
                if !contains(c) {
                    return Err(fail(format!(
                        "center [{}, {}] lies outside the feature's geometry (is it [lon, lat]?)",
                        c.x, c.y
                    )));
                }
                c
            }
        };
        if let Some(&first) = first_seen.get(&code) {
            return Err(GeoError::DuplicateCode {
                file: file.into(),
                code,
                first,
                second: index,
            });
        }
        if let Some((other, _)) = by_code.get(&code) {
            return Err(fail(format!(
                "code {code} is already used by a {}",
                other.as_str()
            )));
        }
        first_seen.insert(code.clone(), index);
        by_code.insert(code.clone(), (level, areas.len() as u32));
        areas.push(Area {
            level,
            code,
            name,
            parent_code: if parents.is_some() { parent_code } else { None },
            parent,
            generated,
            geometry,
            bbox,
            representative,
            shape,
        });
    }
    Ok(areas)
}

/// A string property, or an integer one as its decimal text; `None` when missing or empty.
fn text_property(props: &JsonObject, key: &str) -> Option<String> {
    match props.get(key)? {
        JsonValue::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        JsonValue::Number(n) if n.is_u64() || n.is_i64() => Some(n.to_string()),
        _ => None,
    }
}

fn position(v: &JsonValue) -> Option<Coord<f64>> {
    let a = v.as_array()?;
    if a.len() < 2 {
        return None;
    }
    let (x, y) = (a[0].as_f64()?, a[1].as_f64()?);
    valid_lon_lat(x, y).then_some(Coord { x, y })
}

fn valid_lon_lat(x: f64, y: f64) -> bool {
    x.is_finite() && y.is_finite() && (-180.0..=180.0).contains(&x) && (-90.0..=90.0).contains(&y)
}

fn to_multipolygon(value: &GeometryValue) -> Result<MultiPolygon<f64>, String> {
    match value {
        GeometryValue::Polygon { coordinates } => {
            Ok(MultiPolygon(vec![polygon(coordinates, None)?]))
        }
        GeometryValue::MultiPolygon { coordinates } => {
            if coordinates.is_empty() {
                return Err("empty MultiPolygon".into());
            }
            coordinates
                .iter()
                .enumerate()
                .map(|(i, p)| polygon(p, Some(i)))
                .collect::<Result<Vec<_>, _>>()
                .map(MultiPolygon)
        }
        other => Err(format!(
            "geometry is a {}, not a Polygon or MultiPolygon",
            other.type_name()
        )),
    }
}

fn polygon(rings: &geojson::PolygonType, which: Option<usize>) -> Result<Polygon<f64>, String> {
    let at = |ring: usize| match which {
        Some(p) => format!("polygon {p} ring {ring}"),
        None => format!("ring {ring}"),
    };
    if rings.is_empty() {
        return Err(format!("{}: polygon without rings", at(0)));
    }
    let mut out = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        if ring.len() < 4 {
            return Err(format!(
                "{}: {} positions, a ring needs at least 4",
                at(r),
                ring.len()
            ));
        }
        let mut coords = Vec::with_capacity(ring.len());
        for (k, pos) in ring.iter().enumerate() {
            let s = pos.as_slice();
            if s.len() < 2 || !valid_lon_lat(s[0], s[1]) {
                return Err(format!(
                    "{}: position {k} {s:?} is not a valid [lon, lat] (WGS-84 degrees)",
                    at(r)
                ));
            }
            coords.push(Coord { x: s[0], y: s[1] });
        }
        if coords.first() != coords.last() {
            return Err(format!(
                "{}: not closed (first and last positions differ)",
                at(r)
            ));
        }
        out.push(LineString(coords));
    }
    let exterior = out.remove(0);
    Ok(Polygon::new(exterior, out))
}
