//! `Geography::locate` against the full default geography (config/geo): 13 districts, 199
//! streets, 9,938 grids. Points are uniform over the city's bounding box, so about half fall
//! outside every district (the slower path: every level is searched).
//!
//! cargo bench -p cityops-geo

use std::hint::black_box;
use std::path::PathBuf;

use cityops_geo::Geography;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

/// A small deterministic generator (no `rand` dependency).
struct SplitMix(u64);

impl SplitMix {
    fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn points(geo: &Geography, n: usize, inside_only: bool) -> Vec<(f64, f64)> {
    let bbox = geo.bbox();
    let mut rng = SplitMix(42);
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let lat = bbox.min().y + (bbox.max().y - bbox.min().y) * rng.next_f64();
        let lon = bbox.min().x + (bbox.max().x - bbox.min().x) * rng.next_f64();
        if !inside_only || geo.locate_quiet(lat, lon).is_some() {
            out.push((lat, lon));
        }
    }
    out
}

fn bench_locate(c: &mut Criterion) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/geo");
    let geo = Geography::load(dir).expect("default geography loads");
    let mut group = c.benchmark_group("locate");
    group.throughput(Throughput::Elements(1));
    for (name, pts) in [
        ("bbox_uniform", points(&geo, 10_000, false)),
        ("inside_city", points(&geo, 10_000, true)),
    ] {
        let mut i = 0;
        group.bench_function(name, |b| {
            b.iter(|| {
                let (lat, lon) = pts[i % pts.len()];
                i += 1;
                black_box(
                    geo.locate(black_box(lat), black_box(lon))
                        .map(|p| p.district.code().len()),
                )
            })
        });
    }
    let mut i = 0;
    let pts = points(&geo, 10_000, true);
    group.bench_function("h3_cell_index", |b| {
        b.iter(|| {
            let (lat, lon) = pts[i % pts.len()];
            i += 1;
            black_box(geo.h3_index(black_box(lat), black_box(lon)))
        })
    });
    group.finish();
}

criterion_group!(benches, bench_locate);
criterion_main!(benches);
