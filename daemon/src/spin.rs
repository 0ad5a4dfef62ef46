//! Adaptive polling on the I/O thread. A synchronous client sends its next request a few
//! tens of microseconds after it reads a reply; if the I/O thread is asleep in
//! `epoll_wait` by then, waking it costs a cross-CPU wake-up (~50 µs here), more than
//! the call. So after serving a request the I/O thread keeps polling its sockets,
//! without sleeping, for a short window: a task that yields makes tokio's current-thread
//! scheduler poll the I/O driver with a zero timeout and run whatever became ready.
//!
//! The window tunes itself: it follows twice the recent gap between a reply and the
//! next request (the spin that "paid off"), and spinning stops for a while when it has
//! not paid off recently, when the thread is being preempted (more runnable threads than
//! CPUs), when the host's run queue is longer than its CPU count, or while several
//! clients send requests at once (the thread then seldom sleeps, and spinning would only
//! take CPU from the clients). An idle daemon never
//! spins: only a served request arms the window.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Shortest window worth arming.
const MIN_WINDOW: Duration = Duration::from_micros(10);
/// Of the last spins, how many may end without a request before spinning pauses.
const HISTORY: u32 = 16;
const MAX_MISSES: u32 = 12;
/// Pause after spins stopped paying off, doubled while they keep failing.
const BACKOFF_MIN: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);
/// While paused, this many requests in a row that a spin would have caught end the pause:
/// the load changed (say, from listing thousands of domains to quick lookups).
const SHADOW_HITS: u32 = 8;
/// How often the host's run queue is looked at.
const LOAD_CHECK: Duration = Duration::from_millis(20);
/// Requests from two clients this close together mean several clients are busy: the I/O
/// thread then rarely sleeps long, and a spin would only take CPU from the clients.
const CONCURRENT_GAP: Duration = Duration::from_millis(2);
/// How long after the last sign of concurrency spinning stays off.
const CONCURRENT_HOLD: Duration = Duration::from_millis(50);

/// Shared by every session of the I/O thread.
pub struct Spinner {
    epoch: Instant,
    max_window_ns: u64,
    /// Nanoseconds since `epoch` until which the I/O thread polls (0: not armed).
    deadline: AtomicU64,
    spinning: AtomicBool,
    wake: Notify,
    tuning: Mutex<Tuning>,
}

struct Tuning {
    /// Smoothed gap between a reply and the next request, for requests that came in time.
    gap_ns: u64,
    /// Bit i set: the i-th most recent spin ended without a request.
    misses: u32,
    spins: u32,
    paused_until: Option<Instant>,
    /// While paused: when a window would have been armed, and how many requests in a row
    /// came inside the window that would have been.
    shadow_at: Option<Instant>,
    shadow_hits: u32,
    backoff: Duration,
    load_checked: Option<Instant>,
    overloaded: bool,
    /// When the current window was armed.
    armed_at: Option<Instant>,
    /// The client of the last request, and when it came.
    last_client: Option<(u64, Instant)>,
    /// Until when several clients count as busy at once.
    concurrent_until: Option<Instant>,
}

impl Spinner {
    /// A spinner with windows of at most `max`; `Duration::ZERO` disables polling.
    pub fn new(max: Duration) -> Arc<Spinner> {
        Arc::new(Spinner {
            epoch: Instant::now(),
            max_window_ns: max.as_nanos() as u64,
            deadline: AtomicU64::new(0),
            spinning: AtomicBool::new(false),
            wake: Notify::new(),
            tuning: Mutex::new(Tuning {
                gap_ns: max.as_nanos() as u64 / 2,
                misses: 0,
                spins: 0,
                paused_until: None,
                shadow_at: None,
                shadow_hits: 0,
                backoff: BACKOFF_MIN,
                load_checked: None,
                overloaded: false,
                armed_at: None,
                last_client: None,
                concurrent_until: None,
            }),
        })
    }

    fn now_ns(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    fn tuning(&self) -> std::sync::MutexGuard<'_, Tuning> {
        self.tuning.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A request of `client` arrived: if a window was armed, it paid off.
    pub fn request_arrived(&self, client: u64) {
        if self.max_window_ns == 0 {
            return;
        }
        let now = Instant::now();
        let mut t = self.tuning();
        if let Some((last, at)) = t.last_client {
            if last != client && now.duration_since(at) < CONCURRENT_GAP {
                t.concurrent_until = Some(now + CONCURRENT_HOLD);
            }
        }
        t.last_client = Some((client, now));
        if let Some(at) = t.shadow_at.take() {
            t.shadow_request(now.duration_since(at), self.max_window_ns);
        }
        if let Some(armed) = t.armed_at.take() {
            let gap = armed.elapsed().as_nanos() as u64;
            let deadline = self.deadline.load(Ordering::Relaxed);
            if self.now_ns() <= deadline {
                t.gap_ns = (t.gap_ns * 7 + gap) / 8;
                t.record(false);
            }
        }
    }

    /// A request was served: poll for the next one for a while.
    pub fn arm(&self) {
        if self.max_window_ns == 0 {
            return;
        }
        let now = Instant::now();
        let mut t = self.tuning();
        let concurrent = t.concurrent_until.is_some_and(|c| now < c);
        if concurrent || t.host_overloaded(now) {
            return;
        }
        if t.paused_until.is_some_and(|p| now < p) {
            t.shadow_at = Some(now);
            return;
        }
        let window = t.window_ns(self.max_window_ns);
        t.armed_at = Some(now);
        drop(t);
        self.deadline
            .store(self.now_ns() + window, Ordering::Relaxed);
        if !self.spinning.load(Ordering::Relaxed) {
            self.wake.notify_one();
        }
    }

    /// The polling task; runs for the daemon's life on the I/O thread.
    pub async fn run(self: Arc<Self>) {
        if self.max_window_ns == 0 {
            return;
        }
        loop {
            self.wake.notified().await;
            self.spinning.store(true, Ordering::Relaxed);
            let preempted_before = involuntary_switches();
            while self.now_ns() < self.deadline.load(Ordering::Relaxed) {
                tokio::task::yield_now().await;
            }
            self.spinning.store(false, Ordering::Relaxed);
            let preempted = involuntary_switches() > preempted_before;
            self.window_ended(preempted);
        }
    }

    /// A window ran out: unless a request took it, that spin was wasted.
    fn window_ended(&self, preempted: bool) {
        let mut t = self.tuning();
        if t.armed_at.take().is_some() {
            t.record(true);
        }
        let now = Instant::now();
        if preempted || t.recent_misses() > MAX_MISSES {
            t.paused_until = Some(now + t.backoff);
            t.backoff = (t.backoff * 2).min(BACKOFF_MAX);
            t.misses = 0;
            t.spins = 0;
        } else if t.recent_misses() < MAX_MISSES / 2 {
            t.backoff = BACKOFF_MIN;
        }
    }
}

impl Tuning {
    /// The window to poll for: twice the recent gap between a reply and the next request.
    fn window_ns(&self, max_window_ns: u64) -> u64 {
        (self.gap_ns * 2).clamp(MIN_WINDOW.as_nanos() as u64, max_window_ns)
    }
    /// While paused, a request came `gap` after the reply before it.
    fn shadow_request(&mut self, gap: Duration, max_window_ns: u64) {
        if (gap.as_nanos() as u64) > self.window_ns(max_window_ns) {
            self.shadow_hits = 0;
            return;
        }
        self.shadow_hits += 1;
        if self.shadow_hits >= SHADOW_HITS {
            self.paused_until = None;
            self.backoff = BACKOFF_MIN;
            self.shadow_hits = 0;
        }
    }

    fn record(&mut self, missed: bool) {
        self.misses = (self.misses << 1) | u32::from(missed);
        self.spins = (self.spins + 1).min(HISTORY);
    }

    fn recent_misses(&self) -> u32 {
        if self.spins < HISTORY {
            return 0;
        }
        (self.misses & ((1 << HISTORY) - 1)).count_ones()
    }

    /// More runnable threads on the host than CPUs: spinning would steal a CPU.
    fn host_overloaded(&mut self, now: Instant) -> bool {
        if self
            .load_checked
            .is_none_or(|c| now.duration_since(c) >= LOAD_CHECK)
        {
            self.load_checked = Some(now);
            self.overloaded = runnable_threads().is_some_and(|r| r > online_cpus());
        }
        self.overloaded
    }
}

/// Runnable threads on the host, from `/proc/loadavg` ("0.00 0.01 0.05 R/T PID").
fn runnable_threads() -> Option<usize> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    let field = text.split_whitespace().nth(3)?;
    field.split('/').next()?.parse().ok()
}

fn online_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Involuntary context switches of the calling thread so far.
fn involuntary_switches() -> i64 {
    use nix::sys::resource::{getrusage, UsageWho};
    getrusage(UsageWho::RUSAGE_THREAD).map_or(0, |u| u.involuntary_context_switches())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spins_that_never_pay_off_pause_spinning() {
        let s = Spinner::new(Duration::from_micros(200));
        for _ in 0..HISTORY + 1 {
            s.tuning().armed_at = Some(Instant::now());
            s.window_ended(false);
        }
        assert!(s.tuning().paused_until.is_some());
        s.arm();
        assert_eq!(s.deadline.load(Ordering::Relaxed), 0, "paused: not armed");
    }

    #[test]
    fn the_window_follows_the_gap_between_requests() {
        let s = Spinner::new(Duration::from_micros(500));
        s.tuning().load_checked = Some(Instant::now());
        for _ in 0..64 {
            s.arm();
            s.tuning().armed_at = Some(Instant::now() - Duration::from_micros(20));
            s.request_arrived(1);
        }
        let gap = s.tuning().gap_ns;
        assert!(
            (20_000..60_000).contains(&gap),
            "gap {gap} ns should approach the 20 µs seen"
        );
    }

    #[test]
    fn quick_requests_during_a_pause_end_it() {
        let s = Spinner::new(Duration::from_micros(200));
        s.tuning().load_checked = Some(Instant::now());
        s.tuning().paused_until = Some(Instant::now() + Duration::from_secs(2));
        for _ in 0..SHADOW_HITS {
            s.arm();
            assert_eq!(s.deadline.load(Ordering::Relaxed), 0, "paused");
            s.request_arrived(1);
        }
        assert!(s.tuning().paused_until.is_none());
        s.arm();
        assert_ne!(s.deadline.load(Ordering::Relaxed), 0, "spinning again");
    }

    #[test]
    fn several_busy_clients_turn_spinning_off() {
        let s = Spinner::new(Duration::from_micros(200));
        s.tuning().load_checked = Some(Instant::now());
        s.request_arrived(1);
        s.request_arrived(2);
        s.arm();
        assert_eq!(s.deadline.load(Ordering::Relaxed), 0, "two clients at once");
        let mut t = s.tuning();
        t.concurrent_until = Some(Instant::now() - Duration::from_millis(1));
        t.last_client = None;
        drop(t);
        s.request_arrived(1);
        s.arm();
        assert_ne!(s.deadline.load(Ordering::Relaxed), 0, "one client again");
    }

    #[test]
    fn a_disabled_spinner_never_arms() {
        let s = Spinner::new(Duration::ZERO);
        s.arm();
        assert_eq!(s.deadline.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn the_run_queue_is_read() {
        assert!(runnable_threads().is_some_and(|r| r >= 1));
    }
}
