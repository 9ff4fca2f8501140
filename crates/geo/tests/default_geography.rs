//! The shipped default geography (config/geo): loads, is what the generator writes, and
//! answers lookups and geocodes consistently.

use std::path::PathBuf;
use std::sync::OnceLock;

use cityops_geo::{Gazetteer, Geography, Level, LocationPrecision, MatchKind, GAZETTEER_FILE};

fn geo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../config/geo")
}

fn geography() -> &'static Geography {
    static GEO: OnceLock<Geography> = OnceLock::new();
    GEO.get_or_init(|| Geography::load(geo_dir()).expect("shipped geography loads"))
}

fn gazetteer() -> &'static Gazetteer {
    static GAZ: OnceLock<Gazetteer> = OnceLock::new();
    GAZ.get_or_init(|| {
        Gazetteer::load(geo_dir().join(GAZETTEER_FILE), geography()).expect("gazetteer loads")
    })
}

const DISTRICTS: [(&str, &str, f64, f64); 13] = [
    ("210102", "和平区", 41.7889, 123.3966),
    ("210103", "沈河区", 41.7963, 123.4466),
    ("210104", "大东区", 41.8250, 123.4950),
    ("210105", "皇姑区", 41.8330, 123.4120),
    ("210106", "铁西区", 41.7940, 123.3270),
    ("210111", "苏家屯区", 41.6000, 123.3400),
    ("210112", "浑南区", 41.7450, 123.5700),
    ("210113", "沈北新区", 42.0700, 123.5300),
    ("210114", "于洪区", 41.8450, 123.2350),
    ("210115", "辽中区", 41.5200, 122.7600),
    ("210123", "康平县", 42.7700, 123.2300),
    ("210124", "法库县", 42.4300, 123.3300),
    ("210181", "新民市", 41.9800, 122.8500),
];

#[test]
fn shipped_files_are_what_the_generator_writes() {
    let generated = cityops_geo::default_geojson().expect("generator runs");
    let dir = geo_dir();
    for (file, text) in [
        (cityops_geo::DISTRICTS_FILE, &generated.districts),
        (cityops_geo::STREETS_FILE, &generated.streets),
        (cityops_geo::GRIDS_FILE, &generated.grids),
    ] {
        let shipped = std::fs::read_to_string(dir.join(file)).expect("shipped file");
        assert!(
            shipped == *text,
            "config/geo/{file} differs from the generator's output: run \
             `cargo run -p cityops-geo --example generate -- config/geo`"
        );
    }
}

#[test]
fn thirteen_districts_with_real_codes_and_tiexi_has_1418_grids() {
    let g = geography();
    assert_eq!(g.districts().len(), 13);
    for (code, name, _, _) in DISTRICTS {
        let d = g.area(code).unwrap_or_else(|| panic!("{code} missing"));
        assert_eq!(d.name(), name);
        assert_eq!(d.level(), Level::District);
        assert!(d.generated());
    }
    let tiexi_grids = g
        .grids()
        .iter()
        .filter(|grid| {
            g.parent(grid)
                .and_then(|s| s.parent_code())
                .is_some_and(|d| d == "210106")
        })
        .count();
    assert_eq!(tiexi_grids, 1418);
    assert!(g.is_generated());
    // Every district has streets, every street has grids.
    for d in g.districts() {
        let streets: Vec<_> = g
            .streets()
            .iter()
            .filter(|s| s.parent_code() == Some(d.code()))
            .collect();
        assert!(
            streets.len() >= 10,
            "{} has {} streets",
            d.name(),
            streets.len()
        );
        for s in streets {
            assert!(s.code().starts_with(d.code()) && s.code().len() == 9);
            assert!(
                g.grids()
                    .iter()
                    .any(|gr| gr.parent_code() == Some(s.code())),
                "{} has no grids",
                s.name()
            );
        }
    }
    for grid in g.grids() {
        assert_eq!(grid.code().len(), 12);
        assert!(grid.code().starts_with(grid.parent_code().unwrap_or("-")));
    }
}

#[test]
fn every_district_centre_locates_to_its_own_district() {
    let g = geography();
    for (code, name, lat, lon) in DISTRICTS {
        let place = g
            .locate(lat, lon)
            .unwrap_or_else(|| panic!("{name} centre unlocated"));
        assert_eq!(place.district_code(), code, "{name}");
        assert!(place.street.is_some() && place.grid.is_some(), "{name}");
        // And the district's representative point is its real centre.
        let (rlat, rlon) = g
            .area(code)
            .map(|a| a.representative_point())
            .unwrap_or_default();
        assert!(
            (rlat - lat).abs() < 1e-6 && (rlon - lon).abs() < 1e-6,
            "{name}"
        );
    }
    // A few well-known places.
    for (lat, lon, district) in [
        (41.7966, 123.4310, "210103"), // 市府广场 area
        (41.8430, 123.4260, "210105"), // 北陵公园 area
        (41.7960, 123.3550, "210106"), // 铁西广场 area
        (41.7200, 123.4500, "210112"), // 浑南新城
        (42.7410, 123.3530, "210123"), // 康平镇
    ] {
        let place = g.locate(lat, lon).expect("located");
        assert_eq!(place.district_code(), district, "({lat}, {lon})");
    }
}

#[test]
fn points_outside_the_city_are_none_not_errors() {
    let g = geography();
    for (lat, lon) in [
        (40.5, 121.5),       // the Bohai sea
        (39.9042, 116.4074), // Beijing
        (41.2, 123.9),       // inside the bbox corner, outside the city
        (0.0, 0.0),
        (f64::NAN, 123.4),
        (91.0, 500.0),
    ] {
        assert!(g.locate(lat, lon).is_none(), "({lat}, {lon})");
    }
    assert!(g.h3_cell(f64::NAN, 0.0).is_none());
}

/// A grid's street is the street containing the point, and the street's district the district
/// containing it, over a lattice of points across the city.
#[test]
fn grid_street_and_district_are_consistent() {
    let g = geography();
    let bbox = g.bbox();
    let (mut located, mut checked) = (0, 0);
    for i in 0..120 {
        for j in 0..70 {
            let lat = bbox.min().y + (bbox.max().y - bbox.min().y) * (i as f64 + 0.37) / 120.0;
            let lon = bbox.min().x + (bbox.max().x - bbox.min().x) * (j as f64 + 0.61) / 70.0;
            let in_district: Vec<_> = g
                .districts()
                .iter()
                .filter(|d| d.contains(lat, lon))
                .collect();
            assert!(
                in_district.len() <= 1,
                "({lat}, {lon}) in {} districts",
                in_district.len()
            );
            let Some(place) = g.locate(lat, lon) else {
                assert!(in_district.is_empty());
                continue;
            };
            located += 1;
            assert_eq!(in_district[0].code(), place.district_code());
            let street = place
                .street
                .expect("the generated streets tile the districts");
            let grid = place.grid.expect("the generated grids tile the streets");
            assert!(street.contains(lat, lon));
            assert!(grid.contains(lat, lon));
            assert_eq!(grid.parent_code(), Some(street.code()));
            assert_eq!(street.parent_code(), Some(place.district_code()));
            let streets_here = g.streets().iter().filter(|s| s.contains(lat, lon)).count();
            assert_eq!(streets_here, 1);
            checked += 1;
        }
    }
    assert!(located > 3000, "{located}");
    assert_eq!(located, checked);
}

#[test]
fn h3_cell_at_configured_resolution() {
    let g = geography();
    let cell = g.h3_cell(41.7962, 123.3589).expect("cell");
    assert_eq!(cell.len(), 15);
    let idx = g.h3_index(41.7962, 123.3589).expect("cell");
    assert_eq!(u8::from(idx.resolution()), 9);
    assert_eq!(idx.to_string(), cell);
    let g7 = Geography::load(geo_dir())
        .and_then(|g| g.with_h3_resolution(7))
        .expect("loads");
    assert_eq!(g7.h3_resolution(), 7);
    let c7 = g7.h3_index(41.7962, 123.3589).expect("cell");
    let direct = h3o::LatLng::new(41.7962, 123.3589)
        .expect("valid")
        .to_cell(h3o::Resolution::Seven);
    assert_eq!(c7, direct);
    assert!(Geography::load(geo_dir())
        .and_then(|g| g.with_h3_resolution(16))
        .is_err());
}

#[test]
fn district_by_name_accepts_names_short_names_and_codes() {
    let g = geography();
    assert_eq!(
        g.district_by_name("铁西区").map(|d| d.code()),
        Some("210106")
    );
    assert_eq!(g.district_by_name("铁西").map(|d| d.code()), Some("210106"));
    assert_eq!(g.district_by_name("沈北").map(|d| d.code()), Some("210113"));
    assert_eq!(g.district_by_name("新民").map(|d| d.code()), Some("210181"));
    assert_eq!(
        g.district_by_name("210124").map(|d| d.name()),
        Some("法库县")
    );
    assert!(g.district_by_name("朝阳区").is_none());
    assert!(g.district_by_name("").is_none());
}

#[test]
fn every_street_representative_point_lies_in_the_street() {
    let g = geography();
    for s in g.streets() {
        let (lat, lon) = s.representative_point();
        let place = g.locate(lat, lon).expect("located");
        assert_eq!(place.street_code(), Some(s.code()), "{}", s.name());
    }
}

// --- gazetteer -------------------------------------------------------------------------

#[test]
fn gazetteer_geocodes_streets_roads_and_landmarks() {
    let gz = gazetteer();
    assert!(gz.len() > 600, "{} names", gz.len());
    let m = gz
        .geocode("铁西区兴华南街58号", Some("铁西区"))
        .expect("match");
    assert_eq!(m.street_name, Some("兴华街道"));
    assert_eq!(m.district_code, "210106");
    assert_eq!(m.precision, LocationPrecision::Street);
    assert_eq!(m.kind, MatchKind::Road);
    assert_eq!(m.matched, "兴华南街");
    // Street names of the geography, with no district hint.
    let m = gz.geocode("新民市胡台镇胡台村", None).expect("match");
    assert_eq!(m.street_name, Some("胡台镇"));
    assert_eq!(m.district_name, "新民市");
    // The longest name wins: 重工街道 (4) over 重工街 (3).
    let m = gz.geocode("铁西区重工街道勋望小区", None).expect("match");
    assert_eq!(m.matched, "重工街道");
    assert_eq!(m.kind, MatchKind::Street);
    // The representative point lies in the street.
    let (lat, lon) = m.point;
    let place = geography().locate(lat, lon).expect("located");
    assert_eq!(place.street_code(), m.street_code);
    // A landmark.
    let m = gz
        .geocode("沈河区沈阳路171号沈阳故宫", None)
        .expect("match");
    assert_eq!(m.street_name, Some("皇城街道"));
    assert_eq!(m.kind, MatchKind::Landmark);
}

#[test]
fn ambiguous_names_need_a_district() {
    let gz = gazetteer();
    // 北陵街道 is a street of both 皇姑区 and 于洪区.
    let h = gz.geocode("北陵街道", Some("皇姑区")).expect("match");
    let y = gz.geocode("北陵街道", Some("于洪")).expect("match");
    assert_eq!(h.district_code, "210105");
    assert_eq!(y.district_code, "210114");
    assert_ne!(h.street_code, y.street_code);
    // The district named in the address decides when there is no hint.
    let y2 = gz
        .geocode("于洪区北陵街道怒江北街阳光小区", None)
        .expect("match");
    assert_eq!(y2.street_code, y.street_code);
    // 青年大街 is listed in 和平区 and 沈河区: without a district it places nothing.
    assert!(gz.geocode("青年大街186号门前", None).is_none());
    let s = gz
        .geocode("青年大街186号门前", Some("210103"))
        .expect("match");
    assert_eq!(s.district_name, "沈河区");
    let h = gz
        .geocode("青年大街186号门前", Some("和平区"))
        .expect("match");
    assert_eq!(h.district_name, "和平区");
    // The hint wins over a name found only in another district.
    let m = gz.geocode("兴华南街", Some("沈河区")).expect("district");
    assert_eq!(m.precision, LocationPrecision::District);
    assert_eq!(m.district_name, "沈河区");
}

#[test]
fn district_only_addresses_resolve_to_the_district() {
    let gz = gazetteer();
    let m = gz
        .geocode("于洪区（来电人未提供详细地址）", None)
        .expect("district");
    assert_eq!(m.precision, LocationPrecision::District);
    assert_eq!(m.kind, MatchKind::District);
    assert_eq!(m.district_code, "210114");
    assert_eq!(m.street_code, None);
    let (lat, lon) = m.point;
    assert_eq!(
        geography()
            .locate(lat, lon)
            .map(|p| p.district_code().to_string()),
        Some("210114".into())
    );
    // Only the hint.
    let m = gz.geocode("", Some("康平县")).expect("district");
    assert_eq!(m.district_code, "210123");
    assert_eq!(m.precision, LocationPrecision::District);
    // Nothing at all.
    assert!(gz.geocode("某小区门口", None).is_none());
    assert!(gz.geocode("", None).is_none());
    assert!(gz.geocode("", Some("火星区")).is_none());
    // A name inside a district's own name does not count: 大东区 is not the road 大东路.
    let m = gz.geocode("大东区", None).expect("district");
    assert_eq!(m.precision, LocationPrecision::District);
}

/// What fraction of the hotline corpus's addresses geocode to a street.
#[test]
fn corpus_addresses_geocode() {
    let gz = gazetteer();
    let text = include_str!("fixtures/corpus_addresses.tsv");
    let (mut total, mut street, mut district, mut wrong_district) = (0, 0, 0, 0);
    let mut unmatched = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let mut cols = line.split('\t');
        let (_, hint, address) = (
            cols.next(),
            cols.next().unwrap_or(""),
            cols.next().unwrap_or(""),
        );
        total += 1;
        let hint = (!hint.is_empty()).then_some(hint);
        match gz.geocode(address, hint) {
            Some(m) if m.precision == LocationPrecision::Street => {
                street += 1;
                if hint.is_some_and(|h| h != m.district_name) {
                    wrong_district += 1;
                }
            }
            Some(_) => {
                district += 1;
                unmatched.push(address);
            }
            None => unmatched.push(address),
        }
    }
    let share = street as f64 / total as f64;
    println!(
        "corpus: {total} addresses, {street} to a street ({:.1}%), {district} to a district only",
        share * 100.0
    );
    println!("not to a street: {unmatched:?}");
    assert_eq!(total, 420);
    assert_eq!(wrong_district, 0);
    assert_eq!(
        street + district,
        total,
        "every corpus address has at least its district"
    );
    assert!(
        share >= 0.97,
        "only {:.1}% geocode to a street",
        share * 100.0
    );
}

#[test]
fn resolve_prefers_coordinates_then_address_then_district() {
    let g = geography();
    let gz = gazetteer();
    let r = g.resolve(
        gz,
        Some((41.7962, 123.3589)),
        Some("铁西区兴华南街58号"),
        Some("铁西区"),
    );
    assert_eq!(r.precision, LocationPrecision::Point);
    assert_eq!(r.district.map(|d| d.code()), Some("210106"));
    assert!(r.grid.is_some() && r.h3_cell.is_some());
    let r = g.resolve(gz, None, Some("铁西区兴华南街58号"), Some("铁西区"));
    assert_eq!(r.precision, LocationPrecision::Street);
    assert_eq!(r.street.map(|s| s.name()), Some("兴华街道"));
    assert!(r.grid.is_none() && r.h3_cell.is_none() && r.point.is_some());
    let r = g.resolve(gz, None, Some("（未提供详细地址）"), Some("法库县"));
    assert_eq!(r.precision, LocationPrecision::District);
    assert_eq!(r.district.map(|d| d.name()), Some("法库县"));
    // Coordinates outside the city and no text: unlocated, with the point's H3 cell.
    let r = g.resolve(gz, Some((39.9042, 116.4074)), None, None);
    assert_eq!(r.precision, LocationPrecision::Unlocated);
    assert!(r.district.is_none() && r.h3_cell.is_some());
    // Outside, but the address places it.
    let r = g.resolve(
        gz,
        Some((39.9042, 116.4074)),
        Some("皇姑区塔湾街62号"),
        None,
    );
    assert_eq!(r.precision, LocationPrecision::Street);
    assert_eq!(r.street.map(|s| s.name()), Some("塔湾街道"));
}
