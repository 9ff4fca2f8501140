//! The `cityops` program, built inside the e2e package (as `cityops-under-test`) so that its
//! tests can run it as a process.
#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cityops_cli::main().await
}
