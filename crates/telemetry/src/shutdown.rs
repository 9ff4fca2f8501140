use std::time::Duration;
use tokio::sync::watch;

/// A graceful-shutdown signal: triggered by SIGINT/SIGTERM (see [`Shutdown::on_signals`]) or
/// by hand, and awaited by any number of tasks.
#[derive(Clone)]
pub struct Shutdown {
    tx: std::sync::Arc<watch::Sender<bool>>,
    rx: watch::Receiver<bool>,
}

impl Default for Shutdown {
    fn default() -> Self {
        Self::new()
    }
}

impl Shutdown {
    pub fn new() -> Self {
        let (tx, rx) = watch::channel(false);
        Self {
            tx: std::sync::Arc::new(tx),
            rx,
        }
    }

    /// A shutdown that also triggers on SIGINT or SIGTERM. A second signal ends the process at
    /// once (exit code 130), and so does `telemetry.shutdown_grace_s` running out after the
    /// shutdown started (exit code 1), by a signal or by [`Shutdown::trigger`]: the ways out
    /// when the work in flight cannot finish, e.g. because the broker went away with the signal
    /// and librdkafka's consumer close waits for it, or a schema registry that is down.
    /// Nothing is lost by that: offsets are stored only for what was finished, so the rest is
    /// read again on restart.
    ///
    /// The signals are awaited on a thread and runtime of their own: a service's worker thread
    /// blocked in librdkafka (its consumer close blocks) cannot delay the second signal. They
    /// are listened for from the moment this returns.
    pub fn on_signals(config: &crate::TelemetryConfig) -> Self {
        let grace =
            (config.shutdown_grace_s > 0).then(|| Duration::from_secs(config.shutdown_grace_s));
        let shutdown = Self::new();
        let trigger = shutdown.clone();
        let (listening, listening_rx) = std::sync::mpsc::channel::<()>();
        let spawned = std::thread::Builder::new()
            .name("cityops-signals".to_owned())
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(r) => r,
                    Err(e) => {
                        tracing::error!(error = %e, "cannot listen for SIGINT and SIGTERM");
                        return;
                    }
                };
                runtime.block_on(async move {
                    let mut signals = Signals::new();
                    let _ = listening.send(());
                    tokio::select! {
                        () = signals.next() => {
                            tracing::info!(
                                "shutdown signal received; finishing work in flight (a second signal stops at once)"
                            );
                            trigger.trigger();
                        }
                        // Started from within (a service failed): the same grace holds.
                        () = trigger.wait() => {}
                    }
                    let deadline = async {
                        match grace {
                            Some(grace) => tokio::time::sleep(grace).await,
                            None => std::future::pending().await,
                        }
                    };
                    tokio::select! {
                        () = signals.next() => {
                            tracing::warn!(
                                "second shutdown signal: stopping at once; what was not finished will be read again"
                            );
                            std::process::exit(130);
                        }
                        () = deadline => {
                            tracing::error!(
                                grace_s = grace.map_or(0, |g| g.as_secs()),
                                "the graceful stop did not finish within telemetry.shutdown_grace_s: stopping now; what was not finished will be read again"
                            );
                            std::process::exit(1);
                        }
                    }
                });
            });
        match spawned {
            // Returns once listening (or once the thread gave up, having said why).
            Ok(_) => {
                let _ = listening_rx.recv();
            }
            Err(e) => tracing::error!(error = %e, "cannot start the signal listener thread"),
        }
        shutdown
    }

    /// Starts the shutdown.
    pub fn trigger(&self) {
        self.tx.send_replace(true);
    }

    pub fn is_triggered(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when the shutdown started.
    pub async fn wait(&self) {
        let mut rx = self.rx.clone();
        // An error means every sender is gone: nobody can trigger any more, so stop too.
        let _ = rx.wait_for(|triggered| *triggered).await;
    }
}

/// SIGINT and SIGTERM, each received in turn; a signal that arrives between two `next` calls
/// is kept for the next one. Created inside a runtime.
struct Signals {
    #[cfg(unix)]
    interrupt: Option<tokio::signal::unix::Signal>,
    #[cfg(unix)]
    terminate: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            let listen = |kind: SignalKind, name: &str| {
                signal(kind)
                    .map_err(|e| tracing::error!(error = %e, "cannot listen for {name}"))
                    .ok()
            };
            Self {
                interrupt: listen(SignalKind::interrupt(), "SIGINT"),
                terminate: listen(SignalKind::terminate(), "SIGTERM"),
            }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves on the next SIGINT or SIGTERM (never, if neither can be listened for).
    async fn next(&mut self) {
        #[cfg(unix)]
        {
            async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
                match s {
                    Some(s) => {
                        s.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
            tokio::select! {
                () = recv(&mut self.interrupt) => {},
                () = recv(&mut self.terminate) => {},
            }
        }
        #[cfg(not(unix))]
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn trigger_wakes_every_waiter() {
        let s = Shutdown::new();
        let a = tokio::spawn({
            let s = s.clone();
            async move { s.wait().await }
        });
        assert!(!s.is_triggered());
        s.trigger();
        a.await.expect("waiter");
        assert!(s.is_triggered());
        // Waiting after the fact returns at once.
        s.wait().await;
    }
}
