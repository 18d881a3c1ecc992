//! Waiting for the signals that ask a long-running command to stop cleanly.

/// Resolves on Ctrl-C or SIGTERM, and also on SIGHUP (the terminal went away) when
/// `hangup` is set: a command that cleans up after itself (a demo's temporary folder)
/// should not die of a closed terminal without doing so.
pub async fn stop_requested(hangup: bool) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let Ok(mut term) = signal(SignalKind::terminate()) else {
            let _ = tokio::signal::ctrl_c().await;
            return;
        };
        let mut hup = if hangup {
            signal(SignalKind::hangup()).ok()
        } else {
            None
        };
        let hung_up = async {
            match hup.as_mut() {
                Some(hup) => {
                    hup.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
            _ = hung_up => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = hangup;
        let _ = tokio::signal::ctrl_c().await;
    }
}
