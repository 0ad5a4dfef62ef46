//! Worker pools for calls that may block: a bounded set of threads, started on demand,
//! fed from one queue. rvirtd keeps two of them, like libvirtd: the general pool for
//! ordinary calls and a small pool for libvirt's high-priority calls, so that drivers
//! blocked on a stubborn hypervisor never delay a lookup or a destroy.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};

type Job = Box<dyn FnOnce() + Send + 'static>;

struct Queue {
    jobs: VecDeque<Job>,
    /// Threads started so far (never more than `max`).
    threads: usize,
    /// Threads waiting for a job.
    idle: usize,
    stopping: bool,
}

struct Inner {
    name: &'static str,
    max: usize,
    queue: Mutex<Queue>,
    ready: Condvar,
}

/// A pool of at most `max` threads; cloning shares it.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

impl Pool {
    /// A pool named `name` (thread names are `name-N`) of at most `max` threads.
    pub fn new(name: &'static str, max: usize) -> Pool {
        Pool {
            inner: Arc::new(Inner {
                name,
                max: max.max(1),
                queue: Mutex::new(Queue {
                    jobs: VecDeque::new(),
                    threads: 0,
                    idle: 0,
                    stopping: false,
                }),
                ready: Condvar::new(),
            }),
        }
    }

    /// Queues `job`; starts a thread when none is idle and the pool is below its size.
    pub fn submit(&self, job: impl FnOnce() + Send + 'static) {
        let mut q = self.lock();
        if q.stopping {
            return;
        }
        q.jobs.push_back(Box::new(job));
        if q.idle >= q.jobs.len() {
            drop(q);
            self.inner.ready.notify_one();
            return;
        }
        if q.threads < self.inner.max {
            q.threads += 1;
            let n = q.threads;
            drop(q);
            self.spawn(n);
        }
    }

    /// Jobs waiting for a thread (for tests and diagnostics).
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.lock().jobs.len()
    }

    /// Lets the threads finish the queued jobs and exit.
    pub fn stop(&self) {
        self.lock().stopping = true;
        self.inner.ready.notify_all();
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.inner
            .queue
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn spawn(&self, n: usize) {
        let inner = self.inner.clone();
        let started = std::thread::Builder::new()
            .name(format!("{}-{n}", inner.name))
            .spawn(move || work(&inner));
        if let Err(e) = started {
            tracing::error!("cannot start a {} worker thread: {e}", self.inner.name);
            self.lock().threads -= 1;
        }
    }
}

fn work(inner: &Inner) {
    loop {
        let job = {
            let mut q = inner.queue.lock().unwrap_or_else(PoisonError::into_inner);
            loop {
                if let Some(job) = q.jobs.pop_front() {
                    break job;
                }
                if q.stopping {
                    q.threads -= 1;
                    return;
                }
                q.idle += 1;
                q = inner.ready.wait(q).unwrap_or_else(PoisonError::into_inner);
                q.idle -= 1;
            }
        };
        // A panicking job must not take the worker (and its queue) with it; drivers
        // already guard their own entry points, this guards the daemon's code.
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)).is_err() {
            tracing::error!("a {} job panicked", inner.name);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn runs_jobs_on_at_most_max_threads() {
        let pool = Pool::new("t", 2);
        let (gate_tx, gate_rx) = mpsc::channel::<()>();
        let gate = Arc::new(Mutex::new(gate_rx));
        let (done_tx, done_rx) = mpsc::channel();
        for i in 0..4 {
            let gate = gate.clone();
            let done = done_tx.clone();
            pool.submit(move || {
                let _ = gate.lock().unwrap().recv();
                done.send(i).unwrap();
            });
        }
        std::thread::sleep(Duration::from_millis(50));
        // Two threads hold two jobs (one blocked on the gate, one on its lock); the
        // other two wait in the queue.
        assert_eq!(pool.queued(), 2);
        for _ in 0..4 {
            gate_tx.send(()).unwrap();
        }
        let mut got: Vec<i32> = (0..4)
            .map(|_| done_rx.recv_timeout(Duration::from_secs(5)).unwrap())
            .collect();
        got.sort();
        assert_eq!(got, vec![0, 1, 2, 3]);
        assert_eq!(pool.lock().threads, 2);
    }

    #[test]
    fn a_panicking_job_keeps_the_pool_alive() {
        let pool = Pool::new("p", 1);
        pool.submit(|| panic!("driver bug"));
        let (tx, rx) = mpsc::channel();
        pool.submit(move || tx.send(7).unwrap());
        assert_eq!(rx.recv_timeout(Duration::from_secs(5)).unwrap(), 7);
    }

    #[test]
    fn a_blocked_pool_does_not_block_another() {
        let slow = Pool::new("slow", 1);
        let fast = Pool::new("fast", 1);
        let (block_tx, block_rx) = mpsc::channel::<()>();
        slow.submit(move || {
            let _ = block_rx.recv();
        });
        let (tx, rx) = mpsc::channel();
        fast.submit(move || tx.send(()).unwrap());
        assert!(rx.recv_timeout(Duration::from_secs(5)).is_ok());
        drop(block_tx);
    }
}
