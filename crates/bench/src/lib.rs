//! The sample data and pure helpers of `make bench` (the `cityops-bench` binary and the
//! criterion benches of this crate). Nothing here talks to a server; the measurements live
//! in the binary's `main`, never in a test.

pub mod samples;
pub mod stats;
