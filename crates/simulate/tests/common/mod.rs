//! What the simulator's test files share: the shipped world, loaded once per test binary.

use cityops_simulate::World;
use std::sync::{Arc, OnceLock};

pub const ROOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");

/// The shipped catalogue and geography.
pub fn world() -> Arc<World> {
    static WORLD: OnceLock<Arc<World>> = OnceLock::new();
    WORLD
        .get_or_init(|| {
            Arc::new(
                World::load(
                    format!("{ROOT}/config/catalogue.toml"),
                    format!("{ROOT}/config/geo"),
                )
                .expect("the shipped catalogue and geography"),
            )
        })
        .clone()
}
