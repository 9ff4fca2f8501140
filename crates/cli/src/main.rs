/// mimalloc instead of glibc's malloc: the stages allocate many small, short-lived strings and
/// vectors per event, and glibc's malloc and free took about a sixth of their CPU (docs/bench.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    cityops_cli::main().await
}
