#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cityops_cli::main().await
}
