//! The generated default geography of Shenyang.
//!
//! No official boundary file can be downloaded here, so the default boundaries are GENERATED,
//! plausible and labelled as such in every file (`"generated": true` on the collection and on
//! every feature). The names, codes and centres are real; the lines are not. A city replaces
//! the files with its official ones (see `docs/geography.md`).
//!
//! How: a lattice of cells 0.01° of longitude by 0.0075° of latitude (about 0.83 km × 0.83 km)
//! covers the city; cells whose centre lies inside a rough trace of the city outline belong to
//! the city. Each cell goes to a district by a power diagram around the real district centres
//! whose weights are balanced until every district has about its real area. Inside each
//! district, the streets are a weighted k-means clustering of its cells under a generated
//! population density (highest in the city centre and around each county seat), named outwards
//! from the district's most urban point. Each street gets a share of the district's grid count
//! in proportion to its population (铁西区: exactly 1,418); a street with at least as many grids as
//! cells splits each cell into rectangles (dense cells into more), a street with fewer grids
//! clusters its cells into that many grids. Boundaries are traced from the cells, so a grid lies
//! exactly inside its street and a street exactly inside its district, and nothing overlaps.
//!
//! Only `+ - * / sqrt` and integers are used (no `exp`/`cos` from the platform's libm) and
//! nothing iterates a hash map, so the output is the same, byte for byte, on every run.

mod spec;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::error::GeoError;
use crate::geography::{DISTRICTS_FILE, GRIDS_FILE, STREETS_FILE};
use spec::{DistrictSpec, CITY_CENTRE, DISTRICTS, OUTLINE};

/// Lattice origin and cell size, in micro-degrees.
const LON0: i64 = 122_400_000;
const LAT0: i64 = 41_180_000;
const DX: i64 = 10_000;
const DY: i64 = 7_500;
const COLS: usize = 150;
const ROWS: usize = 256;
/// Kilometres per degree at 41.8°N (cos 41.8° = 0.745476, written out: no libm).
const KM_LON: f64 = 111.32 * 0.745_476;
const KM_LAT: f64 = 110.57;
const NONE: u32 = u32::MAX;

/// The note carried by every generated file.
pub const GENERATED_NOTE: &str = "GENERATED boundaries, NOT official: plausible districts, \
streets and grids of Shenyang drawn around the real district centres with the real district \
codes and street names. Replace with official boundary files for production use.";

/// How to rebuild the files.
pub const GENERATOR_COMMAND: &str = "cargo run -p cityops-geo --example generate -- config/geo \
(or cityops_geo::generate::generate_default)";

/// The three generated GeoJSON documents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFiles {
    pub districts: String,
    pub streets: String,
    pub grids: String,
}

/// What [`generate_default`] wrote.
#[derive(Debug, Clone)]
pub struct GenerateSummary {
    pub districts: usize,
    pub streets: usize,
    pub grids: usize,
    /// (district code, district name, streets, grids)
    pub per_district: Vec<(String, String, usize, usize)>,
    /// The files written with their sizes in bytes.
    pub files: Vec<(PathBuf, u64)>,
}

/// Writes `districts.geojson`, `streets.geojson` and `grids.geojson` of the generated default
/// geography into `out_dir` (created if missing). The gazetteer is not touched. Deterministic:
/// the same bytes on every run.
pub fn generate_default(out_dir: impl AsRef<Path>) -> Result<GenerateSummary, GeoError> {
    let out_dir = out_dir.as_ref();
    std::fs::create_dir_all(out_dir).map_err(|source| GeoError::Write {
        path: out_dir.to_path_buf(),
        source,
    })?;
    let model = build()?;
    let files = model.render();
    let mut written = Vec::new();
    for (name, text) in [
        (DISTRICTS_FILE, &files.districts),
        (STREETS_FILE, &files.streets),
        (GRIDS_FILE, &files.grids),
    ] {
        let path = out_dir.join(name);
        std::fs::write(&path, text).map_err(|source| GeoError::Write {
            path: path.clone(),
            source,
        })?;
        written.push((path, text.len() as u64));
    }
    Ok(model.summary(written))
}

/// The generated default geography as GeoJSON text, without writing files.
pub fn default_geojson() -> Result<GeneratedFiles, GeoError> {
    Ok(build()?.render())
}

// ---------------------------------------------------------------------------------------------

#[derive(Clone, Copy)]
struct Cell {
    col: usize,
    row: usize,
    /// Kilometres east and north of the city centre.
    x: f64,
    y: f64,
    density: f64,
}

struct Street {
    district: usize,
    code: String,
    name: String,
    /// Lattice cell indices, ascending.
    cells: Vec<usize>,
    /// Representative cell (nearest the street's seed).
    center_cell: usize,
}

enum GridShape {
    /// A rectangle in micro-degrees: (x0, y0, x1, y1).
    Rect(i64, i64, i64, i64),
    /// A cluster of whole cells, traced (label into `cluster_labels`).
    Cluster(u32),
}

struct Grid {
    street: usize,
    code: String,
    name: String,
    shape: GridShape,
}

struct Model {
    cells: Vec<Cell>,
    district_of: Vec<u32>,
    street_of: Vec<u32>,
    cluster_of: Vec<u32>,
    clusters: usize,
    streets: Vec<Street>,
    grids: Vec<Grid>,
}

fn err(message: impl Into<String>) -> GeoError {
    GeoError::Generate(message.into())
}

fn to_km(lat: f64, lon: f64) -> (f64, f64) {
    (
        (lon - CITY_CENTRE.1) * KM_LON,
        (lat - CITY_CENTRE.0) * KM_LAT,
    )
}

fn cell_index(col: usize, row: usize) -> usize {
    row * COLS + col
}

/// Even-odd point-in-polygon on a (lon, lat) ring.
fn in_polygon(ring: &[(f64, f64)], lon: f64, lat: f64) -> bool {
    let mut inside = false;
    let n = ring.len();
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if (a.1 > lat) != (b.1 > lat) {
            let x = a.0 + (lat - a.1) * (b.0 - a.0) / (b.1 - a.1);
            if lon < x {
                inside = !inside;
            }
        }
    }
    inside
}

/// The generated population density (relative) at a point, in km from the city centre.
fn density(x: f64, y: f64) -> f64 {
    let d2 = x * x + y * y;
    let mut rho = 1.0 + 80.0 / (1.0 + d2 / 16.0);
    for d in DISTRICTS {
        if d.anchor != CITY_CENTRE {
            let (ax, ay) = to_km(d.anchor.0, d.anchor.1);
            let e2 = (x - ax) * (x - ax) + (y - ay) * (y - ay);
            rho += 12.0 / (1.0 + e2 / 6.0);
        }
    }
    rho
}

/// The area of one lattice cell in km² (constant: the scale is fixed at 41.8°N).
fn cell_km2() -> f64 {
    (DX as f64 / 1e6 * KM_LON) * (DY as f64 / 1e6 * KM_LAT)
}

fn build() -> Result<Model, GeoError> {
    // 1. The lattice and the city's cells.
    let mut cells = Vec::with_capacity(COLS * ROWS);
    let mut in_city = Vec::new();
    for row in 0..ROWS {
        for col in 0..COLS {
            let lon = (LON0 + col as i64 * DX + DX / 2) as f64 / 1e6;
            let lat = (LAT0 + row as i64 * DY + DY / 2) as f64 / 1e6;
            let (x, y) = to_km(lat, lon);
            cells.push(Cell {
                col,
                row,
                x,
                y,
                density: density(x, y),
            });
            if in_polygon(OUTLINE, lon, lat) {
                in_city.push(cell_index(col, row));
            }
        }
    }

    // 2. Districts: a power diagram balanced towards the real areas.
    let district_of = partition_districts(&cells, &in_city)?;

    // 3. Streets inside each district.
    let mut street_of = vec![NONE; cells.len()];
    let mut streets = Vec::new();
    for (di, spec) in DISTRICTS.iter().enumerate() {
        let members: Vec<usize> = in_city
            .iter()
            .copied()
            .filter(|&c| district_of[c] == di as u32)
            .collect();
        let k = spec.streets.len();
        if members.len() < k {
            return Err(err(format!("{} has fewer cells than streets", spec.name)));
        }
        let (labels, seeds) = kmeans(&cells, &members, k, 25);
        // Name the clusters outwards from the district's anchor.
        let (ax, ay) = to_km(spec.anchor.0, spec.anchor.1);
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| {
            let da = (seeds[a].0 - ax).powi(2) + (seeds[a].1 - ay).powi(2);
            let db = (seeds[b].0 - ax).powi(2) + (seeds[b].1 - ay).powi(2);
            da.total_cmp(&db).then(a.cmp(&b))
        });
        let base = streets.len();
        for (rank, &cluster) in order.iter().enumerate() {
            let mine: Vec<usize> = members
                .iter()
                .zip(&labels)
                .filter(|(_, &l)| l == cluster)
                .map(|(&c, _)| c)
                .collect();
            if mine.is_empty() {
                return Err(err(format!(
                    "{} street {} is empty",
                    spec.name, spec.streets[rank]
                )));
            }
            let (sx, sy) = seeds[cluster];
            let center_cell = nearest(&cells, &mine, sx, sy);
            for &c in &mine {
                street_of[c] = (base + rank) as u32;
            }
            streets.push(Street {
                district: di,
                code: format!("{}{:03}", spec.code, rank + 1),
                name: spec.streets[rank].to_string(),
                cells: mine,
                center_cell,
            });
        }
    }
    // Streets in code order (district order, then the name list).
    // (Already: districts in spec order, streets by rank.)

    // 4. Grids.
    let mut grids = Vec::new();
    let mut cluster_of = vec![NONE; cells.len()];
    let mut clusters = 0usize;
    for (di, spec) in DISTRICTS.iter().enumerate() {
        let mine: Vec<usize> = (0..streets.len())
            .filter(|&s| streets[s].district == di)
            .collect();
        let weights: Vec<f64> = mine
            .iter()
            .map(|&s| streets[s].cells.iter().map(|&c| cells[c].density).sum())
            .collect();
        let counts = apportion(spec.grids, &weights, 1);
        for (&s, &count) in mine.iter().zip(&counts) {
            if count > 999 {
                return Err(err(format!("{} has more than 999 grids", streets[s].name)));
            }
            let street = &streets[s];
            let mut seq = 0u32;
            let mut push = |shape: GridShape, grids: &mut Vec<Grid>| {
                seq += 1;
                grids.push(Grid {
                    street: s,
                    code: format!("{}{:03}", street.code, seq),
                    name: format!("{}第{}网格", street.name, seq),
                    shape,
                });
            };
            if count as usize >= street.cells.len() {
                let dens: Vec<f64> = street.cells.iter().map(|&c| cells[c].density).collect();
                let pieces = apportion(count, &dens, 1);
                for (&c, &k) in street.cells.iter().zip(&pieces) {
                    for rect in split_cell(cells[c].col, cells[c].row, k) {
                        push(GridShape::Rect(rect.0, rect.1, rect.2, rect.3), &mut grids);
                    }
                }
            } else {
                let (labels, _) = kmeans(&cells, &street.cells, count as usize, 15);
                // Number the clusters by their first cell.
                let mut first = vec![usize::MAX; count as usize];
                for (&c, &l) in street.cells.iter().zip(&labels) {
                    first[l] = first[l].min(c);
                }
                let mut order: Vec<usize> = (0..count as usize).collect();
                order.sort_by_key(|&l| first[l]);
                let mut label_of = vec![0u32; count as usize];
                for &l in &order {
                    label_of[l] = clusters as u32;
                    push(GridShape::Cluster(clusters as u32), &mut grids);
                    clusters += 1;
                }
                for (&c, &l) in street.cells.iter().zip(&labels) {
                    cluster_of[c] = label_of[l];
                }
            }
        }
    }
    Ok(Model {
        cells,
        district_of,
        street_of,
        cluster_of,
        clusters,
        streets,
        grids,
    })
}

fn partition_districts(cells: &[Cell], in_city: &[usize]) -> Result<Vec<u32>, GeoError> {
    let n = DISTRICTS.len();
    let mut labels = vec![NONE; cells.len()];
    // The core districts: their hand-drawn outlines.
    let mut rest = Vec::new();
    for &c in in_city {
        let (lon, lat) = cell_lon_lat(&cells[c]);
        match DISTRICTS
            .iter()
            .position(|d| d.outline.is_some_and(|o| in_polygon(o, lon, lat)))
        {
            Some(i) => labels[c] = i as u32,
            None => rest.push(c),
        }
    }
    // The others: a power diagram around their centres, balanced towards their areas.
    let free: Vec<usize> = (0..n).filter(|&i| DISTRICTS[i].outline.is_none()).collect();
    let seeds: Vec<(f64, f64)> = free
        .iter()
        .map(|&i| to_km(DISTRICTS[i].center.0, DISTRICTS[i].center.1))
        .collect();
    let rest_area = rest.len() as f64 * cell_km2();
    let spec_total: f64 = free.iter().map(|&i| DISTRICTS[i].area_km2).sum();
    let targets: Vec<f64> = free
        .iter()
        .map(|&i| DISTRICTS[i].area_km2 * rest_area / spec_total)
        .collect();
    let m = free.len();
    let mut weights = vec![0.0f64; m];
    let assign = |weights: &[f64], labels: &mut [u32]| -> Vec<f64> {
        let mut area = vec![0.0; m];
        for &c in &rest {
            let cell = &cells[c];
            let mut best = (f64::INFINITY, 0usize);
            for (k, s) in seeds.iter().enumerate() {
                let d = (cell.x - s.0).powi(2) + (cell.y - s.1).powi(2) - weights[k];
                if d < best.0 {
                    best = (d, k);
                }
            }
            labels[c] = free[best.1] as u32;
            area[best.1] += cell_km2();
        }
        area
    };
    for _ in 0..2000 {
        let area = assign(&weights, &mut labels);
        let worst = (0..m)
            .map(|k| (area[k] - targets[k]).abs() / targets[k])
            .fold(0.0, f64::max);
        if worst < 0.015 {
            break;
        }
        for k in 0..m {
            weights[k] += 0.25 * (targets[k] - area[k]);
        }
        keep_centres(&seeds, &mut weights);
    }
    assign(&weights, &mut labels);
    // Every centre must lie in its own district.
    for (i, d) in DISTRICTS.iter().enumerate() {
        let c = lattice_cell(d.center.0, d.center.1)
            .ok_or_else(|| err(format!("{} centre is off the lattice", d.name)))?;
        if labels[c] != i as u32 {
            let owner = DISTRICTS
                .get(labels[c] as usize)
                .map_or("no district", |o| o.name);
            return Err(err(format!("{} centre falls in {owner}", d.name)));
        }
    }
    Ok(labels)
}

fn cell_lon_lat(cell: &Cell) -> (f64, f64) {
    (
        (LON0 + cell.col as i64 * DX + DX / 2) as f64 / 1e6,
        (LAT0 + cell.row as i64 * DY + DY / 2) as f64 / 1e6,
    )
}

/// Lowers weights until every seed lies inside its own power cell with a margin:
/// `w_j <= w_i + d(i, j)² - MARGIN` for every pair.
fn keep_centres(seeds: &[(f64, f64)], weights: &mut [f64]) {
    const MARGIN_KM2: f64 = 4.0;
    for _ in 0..seeds.len() {
        let mut changed = false;
        for i in 0..seeds.len() {
            for j in 0..seeds.len() {
                if i == j {
                    continue;
                }
                let d2 = (seeds[i].0 - seeds[j].0).powi(2) + (seeds[i].1 - seeds[j].1).powi(2);
                let cap = weights[i] + d2 - MARGIN_KM2;
                if weights[j] > cap {
                    weights[j] = cap;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
}

fn lattice_cell(lat: f64, lon: f64) -> Option<usize> {
    let col = ((lon * 1e6 - LON0 as f64) / DX as f64).floor();
    let row = ((lat * 1e6 - LAT0 as f64) / DY as f64).floor();
    (col >= 0.0 && row >= 0.0 && (col as usize) < COLS && (row as usize) < ROWS)
        .then(|| cell_index(col as usize, row as usize))
}

fn nearest(cells: &[Cell], members: &[usize], x: f64, y: f64) -> usize {
    let mut best = (f64::INFINITY, members[0]);
    for &c in members {
        let d = (cells[c].x - x).powi(2) + (cells[c].y - y).powi(2);
        if d < best.0 {
            best = (d, c);
        }
    }
    best.1
}

/// Density-weighted k-means over the member cells, deterministic (k-means++ seeding with the
/// farthest weighted cell instead of a random one). Returns each member's cluster and the
/// cluster centres; every cluster is non-empty.
fn kmeans(
    cells: &[Cell],
    members: &[usize],
    k: usize,
    iterations: usize,
) -> (Vec<usize>, Vec<(f64, f64)>) {
    let pos = |c: usize| (cells[c].x, cells[c].y);
    let d2 = |a: (f64, f64), b: (f64, f64)| (a.0 - b.0).powi(2) + (a.1 - b.1).powi(2);
    // Seeding.
    let mut seeds: Vec<(f64, f64)> = Vec::with_capacity(k);
    let first = members
        .iter()
        .copied()
        .fold((f64::NEG_INFINITY, members[0]), |best, c| {
            if cells[c].density > best.0 {
                (cells[c].density, c)
            } else {
                best
            }
        })
        .1;
    seeds.push(pos(first));
    let mut nearest_d2: Vec<f64> = members.iter().map(|&c| d2(pos(c), seeds[0])).collect();
    while seeds.len() < k {
        let mut best = (f64::NEG_INFINITY, 0usize);
        for (i, &c) in members.iter().enumerate() {
            let score = cells[c].density * nearest_d2[i];
            if score > best.0 {
                best = (score, i);
            }
        }
        let s = pos(members[best.1]);
        seeds.push(s);
        for (i, &c) in members.iter().enumerate() {
            nearest_d2[i] = nearest_d2[i].min(d2(pos(c), s));
        }
    }
    let assign = |seeds: &[(f64, f64)]| -> Vec<usize> {
        members
            .iter()
            .map(|&c| {
                let p = pos(c);
                let mut best = (f64::INFINITY, 0usize);
                for (i, &s) in seeds.iter().enumerate() {
                    let d = d2(p, s);
                    if d < best.0 {
                        best = (d, i);
                    }
                }
                best.1
            })
            .collect()
    };
    let mut labels = assign(&seeds);
    for _ in 0..iterations {
        let mut sum = vec![(0.0f64, 0.0f64, 0.0f64); k];
        for (&c, &l) in members.iter().zip(&labels) {
            let w = cells[c].density;
            sum[l].0 += w * cells[c].x;
            sum[l].1 += w * cells[c].y;
            sum[l].2 += w;
        }
        for (i, s) in sum.iter().enumerate() {
            if s.2 > 0.0 {
                seeds[i] = (s.0 / s.2, s.1 / s.2);
            }
        }
        labels = assign(&seeds);
    }
    // Re-seed empty clusters at the farthest cell of the largest cluster.
    for _ in 0..k {
        let mut sizes = vec![0usize; k];
        for &l in &labels {
            sizes[l] += 1;
        }
        let Some(empty) = sizes.iter().position(|&s| s == 0) else {
            break;
        };
        let largest = (0..k)
            .max_by_key(|&i| (sizes[i], std::cmp::Reverse(i)))
            .unwrap_or(0);
        let mut far = (f64::NEG_INFINITY, members[0]);
        for (&c, &l) in members.iter().zip(&labels) {
            if l == largest {
                let d = d2(pos(c), seeds[largest]);
                if d > far.0 {
                    far = (d, c);
                }
            }
        }
        seeds[empty] = pos(far.1);
        labels = assign(&seeds);
    }
    (labels, seeds)
}

/// Splits `total` into integer shares proportional to `weights`, each at least `min`, by the
/// largest remainder (ties to the lower index).
fn apportion(total: u32, weights: &[f64], min: u32) -> Vec<u32> {
    let n = weights.len() as u32;
    let spare = total.saturating_sub(min * n);
    let sum: f64 = weights.iter().sum();
    let exact: Vec<f64> = weights.iter().map(|w| spare as f64 * w / sum).collect();
    let mut shares: Vec<u32> = exact.iter().map(|e| e.floor() as u32).collect();
    let mut left = spare - shares.iter().sum::<u32>();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    order.sort_by(|&a, &b| {
        let fa = exact[a] - exact[a].floor();
        let fb = exact[b] - exact[b].floor();
        fb.total_cmp(&fa).then(a.cmp(&b))
    });
    for &i in &order {
        if left == 0 {
            break;
        }
        shares[i] += 1;
        left -= 1;
    }
    shares.iter().map(|s| s + min).collect()
}

/// Splits a lattice cell into `k` rectangles (rows of near-equal columns), in micro-degrees.
fn split_cell(col: usize, row: usize, k: u32) -> Vec<(i64, i64, i64, i64)> {
    let x0 = LON0 + col as i64 * DX;
    let y0 = LAT0 + row as i64 * DY;
    let k = k.max(1) as i64;
    let mut rows = 1i64;
    while (rows + 1) * (rows + 1) <= k {
        rows += 1;
    }
    let mut out = Vec::with_capacity(k as usize);
    for r in 0..rows {
        let cols = k / rows + i64::from(r < k % rows);
        let (ya, yb) = (y0 + DY * r / rows, y0 + DY * (r + 1) / rows);
        for c in 0..cols {
            out.push((x0 + DX * c / cols, ya, x0 + DX * (c + 1) / cols, yb));
        }
    }
    out
}

// --- boundary tracing ---------------------------------------------------------------------

type V = (i64, i64);

/// Traces the boundary of every label's cells: per label, polygons as rings of lattice
/// vertices (exterior counter-clockwise first, then holes clockwise).
fn trace(labels: &[u32], n_labels: usize) -> Vec<Vec<Vec<Vec<V>>>> {
    let mut edges: Vec<Vec<(V, V)>> = vec![Vec::new(); n_labels];
    let label_at = |col: i64, row: i64| -> u32 {
        if col < 0 || row < 0 || col >= COLS as i64 || row >= ROWS as i64 {
            NONE
        } else {
            labels[cell_index(col as usize, row as usize)]
        }
    };
    for row in 0..ROWS as i64 {
        for col in 0..COLS as i64 {
            let l = label_at(col, row);
            if l == NONE {
                continue;
            }
            let list = &mut edges[l as usize];
            if label_at(col, row - 1) != l {
                list.push(((col, row), (col + 1, row)));
            }
            if label_at(col + 1, row) != l {
                list.push(((col + 1, row), (col + 1, row + 1)));
            }
            if label_at(col, row + 1) != l {
                list.push(((col + 1, row + 1), (col, row + 1)));
            }
            if label_at(col - 1, row) != l {
                list.push(((col, row + 1), (col, row)));
            }
        }
    }
    edges.iter().map(|e| rings_to_polygons(chain(e))).collect()
}

/// Chains directed boundary edges (interior on the left) into closed rings, turning left at
/// vertices where two boundaries touch, and drops collinear vertices.
fn chain(edges: &[(V, V)]) -> Vec<Vec<V>> {
    let mut out_of: HashMap<V, Vec<usize>> = HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        out_of.entry(e.0).or_default().push(i);
    }
    let mut used = vec![false; edges.len()];
    let mut rings = Vec::new();
    for start in 0..edges.len() {
        if used[start] {
            continue;
        }
        let mut ring = Vec::new();
        let mut cur = start;
        loop {
            used[cur] = true;
            ring.push(edges[cur].0);
            let (a, b) = edges[cur];
            let din = (b.0 - a.0, b.1 - a.1);
            let mut options: Vec<usize> = out_of
                .get(&b)
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|&e| !used[e] || e == start)
                        .collect()
                })
                .unwrap_or_default();
            if options.is_empty() {
                break;
            }
            // Prefer the left turn, then straight on, then right.
            options.sort_by_key(|&e| {
                let d = (edges[e].1 .0 - b.0, edges[e].1 .1 - b.1);
                let cross = din.0 * d.1 - din.1 * d.0;
                let dot = din.0 * d.0 + din.1 * d.1;
                if cross > 0 {
                    0
                } else if dot > 0 {
                    1
                } else {
                    2
                }
            });
            let next = options[0];
            if next == start {
                break;
            }
            cur = next;
        }
        rings.push(simplify(ring));
    }
    rings
}

fn simplify(ring: Vec<V>) -> Vec<V> {
    let n = ring.len();
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (p, v, q) = (ring[(i + n - 1) % n], ring[i], ring[(i + 1) % n]);
        let cross = (v.0 - p.0) * (q.1 - v.1) - (v.1 - p.1) * (q.0 - v.0);
        if cross != 0 {
            out.push(v);
        }
    }
    out
}

fn signed_area2(ring: &[V]) -> i64 {
    let n = ring.len();
    (0..n)
        .map(|i| {
            let (a, b) = (ring[i], ring[(i + 1) % n]);
            a.0 * b.1 - b.0 * a.1
        })
        .sum()
}

fn ring_contains(ring: &[V], x: f64, y: f64) -> bool {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        let (ax, ay, bx, by) = (a.0 as f64, a.1 as f64, b.0 as f64, b.1 as f64);
        if (ay > y) != (by > y) && x < ax + (y - ay) * (bx - ax) / (by - ay) {
            inside = !inside;
        }
    }
    inside
}

fn rings_to_polygons(rings: Vec<Vec<V>>) -> Vec<Vec<Vec<V>>> {
    let (mut exteriors, mut holes): (Vec<Vec<V>>, Vec<Vec<V>>) = (Vec::new(), Vec::new());
    for r in rings {
        if signed_area2(&r) > 0 {
            exteriors.push(r);
        } else {
            holes.push(r);
        }
    }
    let mut polygons: Vec<Vec<Vec<V>>> = exteriors.into_iter().map(|e| vec![e]).collect();
    for hole in holes {
        // A point just left of the hole's first edge lies in the region.
        let (a, b) = (hole[0], hole[1]);
        let (mx, my) = ((a.0 + b.0) as f64 / 2.0, (a.1 + b.1) as f64 / 2.0);
        let (dx, dy) = ((b.0 - a.0).signum() as f64, (b.1 - a.1).signum() as f64);
        let (px, py) = (mx - dy * 0.25, my + dx * 0.25);
        let owner = polygons
            .iter()
            .enumerate()
            .filter(|(_, p)| ring_contains(&p[0], px, py))
            .min_by_key(|(_, p)| signed_area2(&p[0]))
            .map(|(i, _)| i);
        if let Some(i) = owner {
            polygons[i].push(hole);
        }
    }
    polygons
}

// --- output -----------------------------------------------------------------------------

fn lattice_to_udeg(v: V) -> V {
    (LON0 + v.0 * DX, LAT0 + v.1 * DY)
}

/// Micro-degrees as the shortest exact decimal degrees.
fn deg(v: i64) -> String {
    let sign = if v < 0 { "-" } else { "" };
    let v = v.abs();
    let (int, frac) = (v / 1_000_000, v % 1_000_000);
    if frac == 0 {
        return format!("{sign}{int}");
    }
    let frac = format!("{frac:06}");
    format!("{sign}{int}.{}", frac.trim_end_matches('0'))
}

fn write_ring(out: &mut String, ring: &[V]) {
    out.push('[');
    for (i, &(x, y)) in ring.iter().chain(ring.first()).enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(out, "[{},{}]", deg(x), deg(y));
    }
    out.push(']');
}

/// Polygons in micro-degrees as a GeoJSON MultiPolygon geometry.
fn write_multipolygon(out: &mut String, polygons: &[Vec<Vec<V>>]) {
    out.push_str("{\"type\":\"MultiPolygon\",\"coordinates\":[");
    for (i, polygon) in polygons.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('[');
        for (j, ring) in polygon.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_ring(out, ring);
        }
        out.push(']');
    }
    out.push_str("]}");
}

fn json_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

struct FeatureText<'a> {
    code: &'a str,
    name: &'a str,
    level: &'a str,
    parent_code: &'a str,
    center: Option<(i64, i64)>,
}

fn write_feature(out: &mut String, f: &FeatureText<'_>, geometry: &str) {
    let _ = write!(
        out,
        "{{\"type\":\"Feature\",\"properties\":{{\"code\":{},\"name\":{},\"level\":\"{}\",\"parent_code\":{},\"generated\":true",
        json_str(f.code),
        json_str(f.name),
        f.level,
        json_str(f.parent_code),
    );
    if let Some((x, y)) = f.center {
        let _ = write!(out, ",\"center\":[{},{}]", deg(x), deg(y));
    }
    let _ = write!(out, "}},\"geometry\":{geometry}}}");
}

fn collection(name: &str, features: &[String]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{{\"type\":\"FeatureCollection\",\"name\":{},\"generated\":true,\"note\":{},\"generator\":{},\"features\":[",
        json_str(name),
        json_str(GENERATED_NOTE),
        json_str(GENERATOR_COMMAND),
    );
    for (i, f) in features.iter().enumerate() {
        out.push_str(f);
        out.push_str(if i + 1 < features.len() { ",\n" } else { "\n" });
    }
    out.push_str("]}\n");
    out
}

impl Model {
    fn cell_center(&self, c: usize) -> (i64, i64) {
        let cell = &self.cells[c];
        (
            LON0 + cell.col as i64 * DX + DX / 2,
            LAT0 + cell.row as i64 * DY + DY / 2,
        )
    }

    fn render(&self) -> GeneratedFiles {
        let to_udeg = |polys: &Vec<Vec<Vec<V>>>| -> Vec<Vec<Vec<V>>> {
            polys
                .iter()
                .map(|p| {
                    p.iter()
                        .map(|r| r.iter().map(|&v| lattice_to_udeg(v)).collect())
                        .collect()
                })
                .collect()
        };

        let district_shapes = trace(&self.district_of, DISTRICTS.len());
        let mut features = Vec::new();
        for (i, d) in DISTRICTS.iter().enumerate() {
            let mut geometry = String::new();
            write_multipolygon(&mut geometry, &to_udeg(&district_shapes[i]));
            let center = (
                (d.center.1 * 1e6).round() as i64,
                (d.center.0 * 1e6).round() as i64,
            );
            let mut f = String::new();
            write_feature(
                &mut f,
                &FeatureText {
                    code: d.code,
                    name: d.name,
                    level: "district",
                    parent_code: "210100",
                    center: Some(center),
                },
                &geometry,
            );
            features.push(f);
        }
        let districts = collection("Shenyang districts and counties (generated)", &features);

        let street_shapes = trace(&self.street_of, self.streets.len());
        let mut features = Vec::new();
        for (i, s) in self.streets.iter().enumerate() {
            let mut geometry = String::new();
            write_multipolygon(&mut geometry, &to_udeg(&street_shapes[i]));
            let mut f = String::new();
            write_feature(
                &mut f,
                &FeatureText {
                    code: &s.code,
                    name: &s.name,
                    level: "street",
                    parent_code: DISTRICTS[s.district].code,
                    center: Some(self.cell_center(s.center_cell)),
                },
                &geometry,
            );
            features.push(f);
        }
        let streets = collection("Shenyang streets and towns (generated)", &features);

        let cluster_shapes = trace(&self.cluster_of, self.clusters);
        let mut features = Vec::new();
        for g in &self.grids {
            let mut geometry = String::new();
            match g.shape {
                GridShape::Rect(x0, y0, x1, y1) => {
                    let ring = vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1)];
                    write_multipolygon(&mut geometry, &[vec![ring]]);
                }
                GridShape::Cluster(l) => {
                    write_multipolygon(&mut geometry, &to_udeg(&cluster_shapes[l as usize]));
                }
            }
            let mut f = String::new();
            write_feature(
                &mut f,
                &FeatureText {
                    code: &g.code,
                    name: &g.name,
                    level: "grid",
                    parent_code: &self.streets[g.street].code,
                    center: None,
                },
                &geometry,
            );
            features.push(f);
        }
        let grids = collection("Shenyang grids (generated)", &features);
        GeneratedFiles {
            districts,
            streets,
            grids,
        }
    }

    fn summary(&self, files: Vec<(PathBuf, u64)>) -> GenerateSummary {
        let per_district = DISTRICTS
            .iter()
            .enumerate()
            .map(|(i, d): (usize, &DistrictSpec)| {
                let streets = self.streets.iter().filter(|s| s.district == i).count();
                let grids = self
                    .grids
                    .iter()
                    .filter(|g| self.streets[g.street].district == i)
                    .count();
                (d.code.to_string(), d.name.to_string(), streets, grids)
            })
            .collect();
        GenerateSummary {
            districts: DISTRICTS.len(),
            streets: self.streets.len(),
            grids: self.grids.len(),
            per_district,
            files,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apportion_is_exact() {
        assert_eq!(apportion(10, &[1.0, 1.0, 1.0], 1), vec![4, 3, 3]);
        assert_eq!(
            apportion(1418, &[3.0, 2.0, 0.001], 1).iter().sum::<u32>(),
            1418
        );
        assert_eq!(apportion(3, &[5.0, 1.0, 1.0], 1), vec![1, 1, 1]);
    }

    #[test]
    fn split_cell_tiles_the_cell() {
        for k in 1..=30 {
            let rects = split_cell(3, 4, k);
            assert_eq!(rects.len(), k as usize);
            let area: i64 = rects.iter().map(|r| (r.2 - r.0) * (r.3 - r.1)).sum();
            assert_eq!(area, DX * DY, "k = {k}");
        }
    }

    #[test]
    fn trace_handles_pinches_and_holes() {
        // A 3×3 ring of cells around a hole, plus a cell touching it at a corner.
        let mut labels = vec![NONE; COLS * ROWS];
        for (c, r) in [
            (1, 1),
            (2, 1),
            (3, 1),
            (1, 2),
            (3, 2),
            (1, 3),
            (2, 3),
            (3, 3),
            (4, 4),
        ] {
            labels[cell_index(c, r)] = 0;
        }
        let polys = &trace(&labels, 1)[0];
        assert_eq!(polys.len(), 2);
        let with_hole = polys
            .iter()
            .find(|p| p.len() == 2)
            .expect("polygon with a hole");
        assert_eq!(with_hole[0].len(), 4);
        assert_eq!(with_hole[1].len(), 4);
        assert!(signed_area2(&with_hole[1]) < 0);
    }

    #[test]
    fn degrees_are_exact_and_short() {
        assert_eq!(deg(123_400_000), "123.4");
        assert_eq!(deg(41_187_500), "41.1875");
        assert_eq!(deg(123_000_000), "123");
        assert_eq!(deg(41_000_001), "41.000001");
    }
}
