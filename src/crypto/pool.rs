//! Password hashing off the async workers, bounded (issue 12 #1). One
//! pool per process (in `state::App`), shared by Basic auth in the
//! transport and the console's sign-in form.
//!
//! An argon2 verification holds ~19 MiB for ~20–50 ms. [`Hasher`] runs
//! them on its own `max_concurrent_hashes` threads with at most
//! `hash_queue` more waiting; a check beyond that is refused at once
//! ([`Busy`], answered 503 with `Retry-After`) instead of queueing without
//! limit. Checks with the same key (the same credentials) arriving together
//! share one hash (single flight). After each hash the allocator is asked
//! to return freed memory (`memory::trim`): 200 parallel failures once
//! left a server at 3.7 GB.

use std::collections::HashMap;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::{oneshot, OnceCell};

/// Every hash slot and queue place is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Busy {
    /// When to try again.
    pub retry_after: Duration,
}

const RETRY_AFTER: Duration = Duration::from_secs(1);

type Job = Box<dyn FnOnce() + Send>;

/// One in-flight check that later identical ones wait for.
type Flight<R> = Arc<OnceCell<Result<R, Busy>>>;

/// The bounded hashing pool with single flight, for results of type `R`.
pub struct Hasher<R> {
    jobs: SyncSender<Job>,
    /// The receiving end until the threads start (at the first check).
    idle: Mutex<Option<Receiver<Job>>>,
    threads: usize,
    flights: Mutex<HashMap<[u8; 32], Flight<R>>>,
}

impl<R: Clone + Send + 'static> Hasher<R> {
    /// A pool of `threads` hashing threads (started at the first check)
    /// with `queue` places for waiting checks. The threads end when the
    /// hasher is dropped.
    pub fn new(threads: usize, queue: usize) -> Self {
        let (jobs, rx) = sync_channel::<Job>(queue);
        Self {
            jobs,
            idle: Mutex::new(Some(rx)),
            threads: threads.max(1),
            flights: Mutex::default(),
        }
    }

    /// Starts the threads if they have not started; `false` when none could.
    fn ensure_started(&self) -> bool {
        let Ok(mut idle) = self.idle.lock() else {
            return false;
        };
        let Some(rx) = idle.take() else {
            return true;
        };
        let rx = Arc::new(Mutex::new(rx));
        let mut started = 0;
        for i in 0..self.threads {
            let rx = rx.clone();
            match std::thread::Builder::new()
                .name(format!("calproxy-hash-{i}"))
                .spawn(move || worker(&rx))
            {
                Ok(_) => started += 1,
                Err(e) => tracing::error!(error = %e, "cannot start a password hashing thread"),
            }
        }
        started > 0
    }

    /// Runs `check` on the pool, unless a check with the same `key` is in
    /// flight: then its result is shared.
    pub async fn run(
        &self,
        key: [u8; 32],
        check: impl FnOnce() -> R + Send + 'static,
    ) -> Result<R, Busy> {
        let flight = match self.flights.lock() {
            Ok(mut m) => m.entry(key).or_default().clone(),
            Err(_) => Flight::default(),
        };
        let out = flight.get_or_init(|| self.submit(check)).await.clone();
        if let Ok(mut m) = self.flights.lock() {
            if m.get(&key).is_some_and(|f| Arc::ptr_eq(f, &flight)) {
                m.remove(&key);
            }
        }
        out
    }

    async fn submit(&self, check: impl FnOnce() -> R + Send + 'static) -> Result<R, Busy> {
        let busy = Busy {
            retry_after: RETRY_AFTER,
        };
        if !self.ensure_started() {
            return Err(busy);
        }
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            let r = check();
            super::memory::trim();
            let _ = tx.send(r);
        });
        match self.jobs.try_send(job) {
            Ok(()) => rx.await.map_err(|_| busy),
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(busy),
        }
    }
}

fn worker(rx: &Mutex<Receiver<Job>>) {
    loop {
        let job = match rx.lock() {
            Ok(rx) => rx.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // the hasher is gone
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn identical_checks_share_one_run_and_a_full_queue_is_busy() {
        let runs = Arc::new(AtomicUsize::new(0));
        let hasher = Arc::new(Hasher::<u32>::new(1, 1));
        let (release, gate) = std::sync::mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate));
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (h, runs, gate) = (hasher.clone(), runs.clone(), gate.clone());
            tasks.push(tokio::spawn(async move {
                h.run([1; 32], move || {
                    let _ = gate.lock().unwrap().recv();
                    runs.fetch_add(1, Ordering::SeqCst) as u32
                })
                .await
            }));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        // The pool's one thread is taken and its one queue place is not:
        // a second key queues, a third is refused at once.
        let h2 = hasher.clone();
        let queued = tokio::spawn(async move { h2.run([2; 32], || 7).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            hasher.run([3; 32], || 9).await,
            Err(Busy {
                retry_after: RETRY_AFTER
            })
        );
        release.send(()).unwrap();
        for t in tasks {
            assert_eq!(t.await.unwrap(), Ok(0));
        }
        assert_eq!(queued.await.unwrap(), Ok(7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }
}
