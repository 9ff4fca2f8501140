//! Changing the catalogue without a restart: the file named by `data.catalogue` is looked at
//! every `data.reload_check_ms` and on SIGHUP. A changed file is validated in full before it
//! takes effect; a broken one is refused (the reason logged, the old catalogue kept) and
//! looked at again only once it changes again.

use cityops_core::catalogue::Catalogue;
use sha2::{Digest, Sha256};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

/// Watches `path`; the receiver holds the catalogue in force.
pub fn watch_catalogue(
    path: PathBuf,
    initial: Arc<Catalogue>,
    every: Duration,
    shutdown: cityops_telemetry::Shutdown,
) -> watch::Receiver<Arc<Catalogue>> {
    let (tx, rx) = watch::channel(initial);
    tokio::spawn(async move {
        let digest = |bytes: &[u8]| Sha256::digest(bytes).to_vec();
        let mut seen = std::fs::read(&path).map(|b| digest(&b)).unwrap_or_default();
        #[cfg(unix)]
        let mut hangup =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
        loop {
            #[cfg(unix)]
            let hup = async {
                match hangup.as_mut() {
                    Some(h) => {
                        h.recv().await;
                    }
                    None => std::future::pending().await,
                }
            };
            #[cfg(not(unix))]
            let hup = std::future::pending::<()>();
            let forced = tokio::select! {
                () = shutdown.wait() => return,
                () = tokio::time::sleep(every) => false,
                () = hup => true,
            };
            let bytes = match std::fs::read(&path) {
                Ok(b) => b,
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "cannot read the catalogue; keeping the one in force");
                    continue;
                }
            };
            let d = digest(&bytes);
            if d == seen && !forced {
                continue;
            }
            seen = d;
            let in_force = tx.borrow().version().to_owned();
            let parsed = std::str::from_utf8(&bytes)
                .map_err(|e| format!("not UTF-8: {e}"))
                .and_then(|text| Catalogue::from_toml_str(text).map_err(|e| e.to_string()));
            match parsed {
                Ok(catalogue) => {
                    tracing::info!(path = %path.display(), version = catalogue.version(), previous = %in_force, "catalogue reloaded");
                    metrics::counter!("cityops_catalogue_reloads_total").increment(1);
                    let _ = tx.send(Arc::new(catalogue));
                }
                Err(reason) => {
                    tracing::error!(path = %path.display(), kept = %in_force, %reason, "catalogue rejected; the one in force is kept");
                    metrics::counter!("cityops_catalogue_reload_failures_total").increment(1);
                }
            }
        }
    });
    rx
}
