//! The one sweeper every server store runs, whatever its backend: a task on the app's tokio runtime
//! that calls [`Backend::sweep`] on an interval.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::server::ServerStore;
use crate::store::server::backend::Backend;

/// The shortest interval a sweeper takes: a shorter one would keep a core busy for nothing.
const MIN_INTERVAL: Duration = Duration::from_millis(10);

/// A store's background sweeper, from [`ServerStore::spawn_sweeper`]; dropping it stops the task
/// (a sweep in flight then completes on its own), [`Sweeper::stop`] stops it and waits for that.
#[derive(Debug)]
pub struct Sweeper {
    task: Option<tokio::task::JoinHandle<()>>,
    stop: Arc<Notify>,
}

impl Sweeper {
    /// Whether the sweeper has stopped on its own: its backend has nothing to sweep.
    pub fn is_finished(&self) -> bool {
        self.task
            .as_ref()
            .is_none_or(tokio::task::JoinHandle::is_finished)
    }

    /// Stops the sweeper, at once if it is waiting for its next sweep, else after the sweep in
    /// flight: once this returns, nothing it started is still removing sessions.
    pub async fn stop(mut self) {
        self.stop.notify_one();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Sweeper {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// A sweeper could not start: it runs on the app's tokio runtime, and there was none.
#[derive(Debug, thiserror::Error)]
#[error(
    "a session sweeper runs on the app's tokio runtime: call `spawn_sweeper` from within one (in `#[tokio::main]`, or under `Runtime::enter`)"
)]
pub struct NoRuntime;

impl<B: Backend> ServerStore<B> {
    /// Sweeps every `interval` (at least 10 ms) on a task of the current tokio runtime, until the
    /// returned handle is dropped: [`ServerStore::sweep`], the same on every backend. A sweep that
    /// fails is logged, and the next runs on time; on a backend with nothing to sweep (Redis) the
    /// task ends after its first sweep, saying so in a debug log.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use sessions::Key;
    /// use sessions::store::MemoryStore;
    ///
    /// let store = MemoryStore::new(Key::generate());
    /// // Expired sessions are removed while `sweeper` lives.
    /// let sweeper = store.spawn_sweeper(std::time::Duration::from_secs(600)).unwrap();
    /// # drop(sweeper); }
    /// ```
    pub fn spawn_sweeper(&self, interval: Duration) -> Result<Sweeper, NoRuntime> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| NoRuntime)?;
        let store = self.clone();
        let interval = interval.max(MIN_INTERVAL);
        let stop = Arc::new(Notify::new());
        let stopped = Arc::clone(&stop);
        let task = runtime.spawn(async move {
            loop {
                // Waits for the interval, or for `stop` (a stop asked during a sweep is kept, and
                // ends the wait that follows at once).
                if tokio::time::timeout(interval, stopped.notified()).await.is_ok() {
                    return;
                }
                // Each sweep on a task of its own: one that panics is logged, and the next runs.
                let store = store.clone();
                match tokio::spawn(async move { store.sweep().await }).await {
                    Ok(Ok(Some(swept))) => tracing::debug!(?swept, "swept the session store"),
                    Ok(Ok(None)) => {
                        tracing::debug!("the session store's backend has nothing to sweep; the sweeper ends");
                        return;
                    }
                    Ok(Err(error)) => {
                        tracing::warn!(error = %crate::ErrorChain(&error), "sweeping the session store failed");
                    }
                    Err(_) => tracing::error!("sweeping the session store panicked; sweeping on"),
                }
            }
        });
        Ok(Sweeper {
            task: Some(task),
            stop,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use crate::key::Key;
    use crate::store::MemoryStore;

    /// `stop` does not wait out the interval: a sweeper waiting an hour for its next sweep stops at
    /// once (bounded here by a timeout far below the hour, not by a sleep).
    #[tokio::test]
    async fn stop_ends_a_waiting_sweeper_at_once() {
        let store = MemoryStore::new(Key::generate());
        let sweeper = store.spawn_sweeper(Duration::from_secs(3600)).unwrap();
        let stopped = tokio::time::timeout(Duration::from_secs(5), sweeper.stop()).await;
        assert!(stopped.is_ok(), "stop waited for the next sweep");
    }
}
