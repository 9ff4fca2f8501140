//! The deployment files under `deploy/` hold together: `tests/deploy/check_deploy.py` parses
//! every YAML file, checks that every image is pinned, that every Deployment has its probes
//! and resources, that every environment variable is documented in `docs/operations.md`, and
//! runs `promtool check rules` and `promtool check config` (Debian's `prometheus` package,
//! installed by `make setup`). Needs no server.

use std::process::Command;

#[test]
fn deployment_files_are_pinned_probed_documented_and_valid() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let out = Command::new("python3")
        .arg("tests/deploy/check_deploy.py")
        .current_dir(root)
        .output()
        .expect("python3 runs (with PyYAML: apt-get install python3-yaml, or make setup)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "tests/deploy/check_deploy.py failed ({}):\n{stderr}{stdout}",
        out.status
    );
    println!("{stdout}");
}
