//! The loader takes any GeoJSON FeatureCollection with the documented properties, and says
//! which feature is wrong when one is.

use cityops_geo::{Gazetteer, GeoError, Geography, LocationPrecision};

fn square(x0: f64, y0: f64, s: f64) -> String {
    format!(
        "[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]",
        x1 = x0 + s,
        y1 = y0 + s
    )
}

fn feature(props: &str, geometry: &str) -> String {
    format!(r#"{{"type":"Feature","properties":{{{props}}},"geometry":{geometry}}}"#)
}

fn polygon(x0: f64, y0: f64, s: f64) -> String {
    format!(
        r#"{{"type":"Polygon","coordinates":{}}}"#,
        square(x0, y0, s)
    )
}

fn fc(features: &[String]) -> String {
    format!(
        r#"{{"type":"FeatureCollection","features":[{}]}}"#,
        features.join(",")
    )
}

/// Two districts side by side; streets and grids in the first.
fn small_city() -> (String, String, String) {
    let districts = fc(&[
        feature(r#""code":"100001","name":"东区""#, &polygon(0.0, 0.0, 1.0)),
        // A numeric code is accepted; a MultiPolygon too.
        feature(
            r#""code":100002,"name":"西区","center":[1.5,0.5]"#,
            &format!(
                r#"{{"type":"MultiPolygon","coordinates":[{}]}}"#,
                square(1.0, 0.0, 1.0)
            ),
        ),
    ]);
    let streets = fc(&[
        feature(
            r#""code":"100001001","name":"甲街道","parent_code":"100001""#,
            &polygon(0.0, 0.0, 0.5),
        ),
        feature(
            r#""code":"100001002","name":"乙街道","parent_code":"100001""#,
            &polygon(0.5, 0.0, 0.5),
        ),
    ]);
    let grids = fc(&[feature(
        r#""code":"100001001001","name":"甲街道第1网格","parent_code":"100001001""#,
        &polygon(0.0, 0.0, 0.25),
    )]);
    (districts, streets, grids)
}

#[test]
fn any_feature_collection_with_the_properties_loads() {
    let (d, s, g) = small_city();
    let geo = Geography::from_geojson(&d, Some(&s), Some(&g)).expect("loads");
    assert_eq!(geo.districts().len(), 2);
    assert!(!geo.is_generated());
    let p = geo.locate(0.1, 0.1).expect("in 东区");
    assert_eq!(
        (p.district_code(), p.street_code(), p.grid_code()),
        ("100001", Some("100001001"), Some("100001001001"))
    );
    // A street without grids there.
    let p = geo.locate(0.4, 0.4).expect("in 东区");
    assert_eq!((p.street_code(), p.grid_code()), (Some("100001001"), None));
    // A district without streets there.
    let p = geo.locate(0.9, 0.2).expect("in 东区");
    assert_eq!(p.street_code(), None);
    assert_eq!(p.district_name(), "东区");
    let p = geo.locate(0.5, 1.5).expect("in 西区");
    assert_eq!(p.district_code(), "100002");
    assert_eq!(
        geo.area("100002").map(|a| a.representative_point()),
        Some((0.5, 1.5))
    );
    assert!(geo.locate(0.5, 2.5).is_none());
    // On the shared edge x = 1: exactly one district.
    assert!(geo.locate(0.5, 1.0).is_some());
    // Districts only.
    let geo = Geography::from_geojson(&d, None, None).expect("loads");
    assert_eq!(geo.locate(0.1, 0.1).map(|p| p.street.is_none()), Some(true));
}

#[track_caller]
fn load_err(districts: &str, streets: Option<&str>, grids: Option<&str>) -> String {
    match Geography::from_geojson(districts, streets, grids) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn validation_errors_name_the_feature() {
    let ok = feature(r#""code":"1","name":"甲""#, &polygon(0.0, 0.0, 1.0));
    let (d, s, _) = small_city();

    let e = load_err(
        &fc(&[
            ok.clone(),
            feature(r#""name":"乙""#, &polygon(1.0, 0.0, 1.0)),
        ]),
        None,
        None,
    );
    assert_eq!(
        e,
        r#"districts.geojson: feature #1 ("乙", no code): missing property code"#
    );

    let e = load_err(
        &fc(&[feature(r#""code":"2""#, &polygon(1.0, 0.0, 1.0))]),
        None,
        None,
    );
    assert!(
        e.contains("feature #0 (code 2): missing property name"),
        "{e}"
    );

    let e = load_err(
        &fc(&[feature(r#""code":"2","name":7"#, &polygon(1.0, 0.0, 1.0))]),
        None,
        None,
    );
    assert!(
        e.contains("property name must be a non-empty string"),
        "{e}"
    );

    let e = load_err(&fc(&[ok.clone(), ok.clone()]), None, None);
    assert_eq!(e, "districts.geojson: features #0 and #1 both have code 1");

    let line = r#"{"type":"LineString","coordinates":[[0,0],[1,1]]}"#;
    let e = load_err(
        &fc(&[feature(r#""code":"3","name":"丙""#, line)]),
        None,
        None,
    );
    assert!(
        e.contains(
            r#"feature #0 (code 3 "丙"): geometry is a LineString, not a Polygon or MultiPolygon"#
        ),
        "{e}"
    );

    let open = r#"{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}"#;
    let e = load_err(
        &fc(&[feature(r#""code":"3","name":"丙""#, open)]),
        None,
        None,
    );
    assert!(e.contains("ring 0: not closed"), "{e}");

    let swapped = r#"{"type":"Polygon","coordinates":[[[0,0],[200,0],[200,1],[0,0]]]}"#;
    let e = load_err(
        &fc(&[feature(r#""code":"3","name":"丙""#, swapped)]),
        None,
        None,
    );
    assert!(e.contains("is not a valid [lon, lat]"), "{e}");

    let e = load_err(
        &fc(&[feature(
            r#""code":"3","name":"丙","center":[5,5]"#,
            &polygon(0.0, 0.0, 1.0),
        )]),
        None,
        None,
    );
    assert!(
        e.contains("center [5, 5] lies outside the feature's geometry"),
        "{e}"
    );

    let e = load_err(
        &fc(&[
            r#"{"type":"Feature","properties":{"code":"4","name":"丁"},"geometry":null}"#
                .to_string(),
        ]),
        None,
        None,
    );
    assert!(e.contains("feature #0 (code 4 \"丁\"): no geometry"), "{e}");

    let e = load_err(
        r#"{"type":"Feature","properties":{},"geometry":null}"#,
        None,
        None,
    );
    assert!(
        e.starts_with("districts.geojson: not a GeoJSON FeatureCollection"),
        "{e}"
    );

    let e = load_err(&fc(&[]), None, None);
    assert_eq!(e, "districts.geojson: no districts");

    // Streets need a parent_code naming a district.
    let orphan = fc(&[feature(
        r#""code":"100001009","name":"丙街道","parent_code":"999999""#,
        &polygon(0.0, 0.0, 0.5),
    )]);
    let e = load_err(&d, Some(&orphan), None);
    assert_eq!(
        e,
        r#"streets.geojson: feature #0 (code 100001009 "丙街道"): parent_code 999999 names no district"#
    );
    let no_parent = fc(&[feature(
        r#""code":"100001009","name":"丙街道""#,
        &polygon(0.0, 0.0, 0.5),
    )]);
    let e = load_err(&d, Some(&no_parent), None);
    assert!(
        e.contains("missing property parent_code (the code of its district)"),
        "{e}"
    );
    let bad_grid = fc(&[feature(
        r#""code":"1","name":"网格","parent_code":"100001""#,
        &polygon(0.0, 0.0, 0.1),
    )]);
    let e = load_err(&d, Some(&s), Some(&bad_grid));
    assert!(e.starts_with("grids.geojson: feature #0"), "{e}");
    assert!(e.contains("names no street"), "{e}");
    let e = load_err(&d, None, Some(&bad_grid));
    assert!(e.contains("grids need streets.geojson"), "{e}");

    // The same code on two levels.
    let clash = fc(&[feature(
        r#""code":"100001","name":"丙街道","parent_code":"100001""#,
        &polygon(0.0, 0.0, 0.5),
    )]);
    let e = load_err(&d, Some(&clash), None);
    assert!(
        e.contains("code 100001 is already used by a district"),
        "{e}"
    );
}

#[test]
fn missing_directory_is_a_read_error() {
    match Geography::load("/nonexistent/geo") {
        Err(GeoError::Read { path, .. }) => assert!(path.ends_with("districts.geojson")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn gazetteer_file_errors_name_the_entry() {
    let (d, s, g) = small_city();
    let geo = Geography::from_geojson(&d, Some(&s), Some(&g)).expect("loads");
    let good = r#"
[[street]]
district = "东区"
street = "甲街道"
roads = ["幸福路", "和平大街"]
landmarks = ["人民公园"]

[[street]]
code = "100001002"
communities = ["阳光小区"]
"#;
    let gz = Gazetteer::from_toml_str(good, "gazetteer.toml", &geo).expect("loads");
    let m = gz.geocode("东区幸福路1号", None).expect("match");
    assert_eq!(m.street_code, Some("100001001"));
    assert_eq!(m.precision, LocationPrecision::Street);
    let m = gz.geocode("阳光小区3号楼", None).expect("match");
    assert_eq!(m.street_code, Some("100001002"));

    let err = |text: &str| match Gazetteer::from_toml_str(text, "gazetteer.toml", &geo) {
        Ok(_) => panic!("expected an error"),
        Err(e) => e.to_string(),
    };
    let e = err("[[street]]\ndistrict = \"东区\"\nstreet = \"丁街道\"\nroads = [\"x路\"]\n");
    assert_eq!(
        e,
        "gazetteer.toml: [[street]] #1 (东区 丁街道): no street 丁街道 in 东区"
    );
    let e = err("[[street]]\ndistrict = \"北区\"\nstreet = \"甲街道\"\n");
    assert!(e.contains("no district 北区"), "{e}");
    let e = err("[[street]]\ncode = \"42\"\n");
    assert!(
        e.contains("[[street]] #1 (42): no street with code 42"),
        "{e}"
    );
    let e = err("[[street]]\nroads = [\"幸福路\"]\n");
    assert!(e.contains("needs code, or district and street"), "{e}");
    let e = err("[[street]]\ncode = \"100001001\"\nroads = [\"幸福路\"]\n[[street]]\ncode = \"100001002\"\nroads = [\"幸福路\"]\n");
    assert!(
        e.contains("[[street]] #2 (100001002): 幸福路 is already listed for 甲街道"),
        "{e}"
    );
    let e = err("[[street]]\ncode = \"100001001\"\nrodes = [\"幸福路\"]\n");
    assert!(e.starts_with("gazetteer.toml: not valid TOML"), "{e}");
    let e = err("[[street]]\ncode = \"100001001\"\nroads = [\"路\"]\n");
    assert!(e.contains("shorter than 2 characters"), "{e}");
}
