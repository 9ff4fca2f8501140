//! Errors of loading, validating and generating geography.

use std::path::PathBuf;

/// Why a geography or gazetteer could not be loaded (or generated). Every validation error
/// names the file and the feature or entry at fault, so that a city replacing the default
/// files with its official boundaries sees what to fix.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: not a GeoJSON FeatureCollection: {message}")]
    NotFeatureCollection { file: String, message: String },
    #[error("{file}: feature #{index} ({feature}): {problem}")]
    Feature {
        file: String,
        /// Position of the feature in the collection, from 0.
        index: usize,
        /// The feature's code and name when it has them.
        feature: String,
        problem: String,
    },
    #[error("{file}: features #{first} and #{second} both have code {code}")]
    DuplicateCode {
        file: String,
        code: String,
        first: usize,
        second: usize,
    },
    #[error("{file}: {problem}")]
    Collection { file: String, problem: String },
    #[error("invalid H3 resolution {0}: must be 0..=15")]
    H3Resolution(u8),
    #[error("{file}: {entry}: {problem}")]
    Gazetteer {
        file: String,
        /// Which entry: its position and names.
        entry: String,
        problem: String,
    },
    #[error("{file}: not valid TOML: {message}")]
    GazetteerSyntax { file: String, message: String },
    #[error("generating the default geography failed: {0}")]
    Generate(String),
}
