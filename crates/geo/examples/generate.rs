//! Writes the generated default geography of Shenyang.
//!
//! ```text
//! cargo run -p cityops-geo --example generate -- config/geo
//! ```
//!
//! Writes districts.geojson, streets.geojson and grids.geojson (GENERATED, not official
//! boundaries); leaves gazetteer.toml alone.

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "config/geo".into());
    let summary = cityops_geo::generate_default(&out)?;
    println!(
        "{} districts, {} streets, {} grids",
        summary.districts, summary.streets, summary.grids
    );
    for (code, name, streets, grids) in &summary.per_district {
        println!("  {code} {name}: {streets} streets, {grids} grids");
    }
    for (path, bytes) in &summary.files {
        println!("  {} ({bytes} bytes)", path.display());
    }
    Ok(())
}
