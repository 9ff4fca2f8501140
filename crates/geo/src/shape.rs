//! Prepared polygons: the point-in-polygon test on the lookup hot path.
//!
//! A [`Shape`] keeps the non-horizontal edges of every ring of a (multi)polygon with their end
//! points in a canonical order (lower latitude first), and, for shapes with many edges, buckets
//! them by latitude band so that a test only looks at the edges of its band. The test is the
//! even-odd crossing rule with half-open edges: a point on an edge shared by two adjacent
//! polygons belongs to exactly one of them, because both compute the same crossing from the
//! same canonical edge.

use geo::{Coord, MultiPolygon};

#[derive(Debug, Clone, Copy)]
struct Edge {
    y0: f64,
    y1: f64,
    x0: f64,
    x1: f64,
}

impl Edge {
    /// Whether a ray from `(x, y)` towards +x crosses this edge (half-open in y).
    #[inline]
    fn crosses(&self, x: f64, y: f64) -> bool {
        if y < self.y0 || y >= self.y1 {
            return false;
        }
        let xi = self.x0 + (y - self.y0) * (self.x1 - self.x0) / (self.y1 - self.y0);
        x < xi
    }
}

/// Edges bucketed by latitude band, for shapes with many edges.
#[derive(Debug, Clone)]
struct Bands {
    y_min: f64,
    inv_height: f64,
    /// `offsets[b]..offsets[b + 1]` indexes `edges` for band `b`.
    offsets: Vec<u32>,
    edges: Vec<u32>,
}

impl Bands {
    #[inline]
    fn band(&self, y: f64) -> usize {
        let n = self.offsets.len() - 1;
        let b = ((y - self.y_min) * self.inv_height).floor();
        if b <= 0.0 {
            0
        } else {
            (b as usize).min(n - 1)
        }
    }
}

/// A polygon prepared for fast containment tests.
#[derive(Debug, Clone)]
pub(crate) struct Shape {
    edges: Vec<Edge>,
    bands: Option<Bands>,
}

/// Shapes with more edges than this get latitude bands.
const BAND_THRESHOLD: usize = 24;

impl Shape {
    pub(crate) fn new(geometry: &MultiPolygon<f64>) -> Shape {
        let mut edges = Vec::new();
        for polygon in geometry {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                for line in ring.lines() {
                    let (a, b) = (line.start, line.end);
                    if a.y == b.y {
                        continue; // horizontal edges never cross a horizontal ray
                    }
                    let (lo, hi) = if a.y < b.y { (a, b) } else { (b, a) };
                    edges.push(Edge {
                        y0: lo.y,
                        y1: hi.y,
                        x0: lo.x,
                        x1: hi.x,
                    });
                }
            }
        }
        let bands = (edges.len() > BAND_THRESHOLD).then(|| build_bands(&edges));
        Shape { edges, bands }
    }

    /// Whether the point lies inside (even-odd rule, half-open edges).
    #[inline]
    pub(crate) fn contains(&self, p: Coord<f64>) -> bool {
        let mut inside = false;
        match &self.bands {
            None => {
                for e in &self.edges {
                    if e.crosses(p.x, p.y) {
                        inside = !inside;
                    }
                }
            }
            Some(bands) => {
                let b = bands.band(p.y);
                let (from, to) = (bands.offsets[b] as usize, bands.offsets[b + 1] as usize);
                for &i in &bands.edges[from..to] {
                    if self.edges[i as usize].crosses(p.x, p.y) {
                        inside = !inside;
                    }
                }
            }
        }
        inside
    }
}

fn build_bands(edges: &[Edge]) -> Bands {
    let y_min = edges.iter().map(|e| e.y0).fold(f64::INFINITY, f64::min);
    let y_max = edges.iter().map(|e| e.y1).fold(f64::NEG_INFINITY, f64::max);
    let n = (edges.len() / 4).clamp(4, 1024);
    let height = ((y_max - y_min) / n as f64).max(f64::MIN_POSITIVE);
    let mut bands = Bands {
        y_min,
        inv_height: 1.0 / height,
        offsets: vec![0; n + 1],
        edges: Vec::new(),
    };
    let mut lists: Vec<Vec<u32>> = vec![Vec::new(); n];
    for (i, e) in edges.iter().enumerate() {
        let (b0, b1) = (bands.band(e.y0), bands.band(e.y1));
        for list in &mut lists[b0..=b1] {
            list.push(i as u32);
        }
    }
    for (b, list) in lists.iter().enumerate() {
        bands.edges.extend_from_slice(list);
        bands.offsets[b + 1] = bands.edges.len() as u32;
    }
    bands
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, MultiPolygon};

    fn square(x0: f64, y0: f64, s: f64) -> MultiPolygon<f64> {
        MultiPolygon(vec![polygon![
            (x: x0, y: y0), (x: x0 + s, y: y0), (x: x0 + s, y: y0 + s), (x: x0, y: y0 + s), (x: x0, y: y0)
        ]])
    }

    #[test]
    fn shared_edges_belong_to_exactly_one_side() {
        let left = Shape::new(&square(0.0, 0.0, 1.0));
        let right = Shape::new(&square(1.0, 0.0, 1.0));
        let above = Shape::new(&square(0.0, 1.0, 1.0));
        for p in [
            Coord { x: 1.0, y: 0.5 },
            Coord { x: 0.5, y: 1.0 },
            Coord { x: 1.0, y: 1.0 },
        ] {
            let n = [&left, &right, &above]
                .iter()
                .filter(|s| s.contains(p))
                .count();
            assert!(n <= 1, "{p:?} in {n} shapes");
        }
        assert!(left.contains(Coord { x: 0.5, y: 0.5 }));
        assert!(!left.contains(Coord { x: 1.5, y: 0.5 }));
    }

    #[test]
    fn banded_shape_agrees_with_plain_test() {
        // A staircase with many edges gets bands.
        let mut pts = vec![(0.0, 0.0)];
        for i in 0..40 {
            let x = i as f64 + 1.0;
            pts.push((x, i as f64));
            pts.push((x, i as f64 + 1.0));
        }
        pts.push((0.0, 40.0));
        pts.push((0.0, 0.0));
        let poly = geo::Polygon::new(pts.into(), vec![]);
        let mp = MultiPolygon(vec![poly]);
        let shape = Shape::new(&mp);
        assert!(shape.bands.is_some());
        let plain = Shape {
            edges: shape.edges.clone(),
            bands: None,
        };
        for i in 0..2000 {
            let p = Coord {
                x: (i % 47) as f64 * 0.93 - 1.0,
                y: (i / 47) as f64 * 0.97 - 1.0,
            };
            assert_eq!(shape.contains(p), plain.contains(p), "{p:?}");
        }
        assert!(shape.contains(Coord { x: 0.5, y: 20.5 }));
        assert!(!shape.contains(Coord { x: 30.5, y: 20.5 }));
    }
}
