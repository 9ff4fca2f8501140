//! The `cityops` program, built inside the e2e package so its tests can run it as a process.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cityops_cli::main().await
}
