//! The single-threaded event loop: one `mio::Poll`, one deadline table, one
//! clock read per wake-up.
//!
//! # Token scheme
//!
//! Every registered source gets a [`mio::Token`] derived from a [`Source`]:
//!
//! | token range                | source                                      |
//! | -------------------------- | ------------------------------------------- |
//! | `0`                        | the loop's own timerfd (never seen by handlers) |
//! | `1`                        | signalfd (SIGTERM/SIGINT/SIGHUP/SIGCHLD)    |
//! | `2`                        | control socket listener                     |
//! | `3`                        | rtnetlink (link and address events)         |
//! | `4`                        | generic netlink (IPVS)                      |
//! | `5`                        | metrics listener                            |
//! | `6`                        | process events (`vrrp_track_process`)       |
//! | `0x100 + n`                | VRRP socket `n`                             |
//! | `0x1_0000 + n`             | control connection `n`                      |
//! | `0x10_0000 + n`            | health-check probe slot `n`                 |
//! | `0x100_0000 + n`           | child process slot `n` (pidfd)              |
//!
//! # Time
//!
//! The loop reads its [`Clock`] once per wake-up and hands that `now` to every
//! event and timer of the wake-up, and to [`Handler::on_wake`] before them.
//! A long wake-up (a burst of health-check I/O, a backlog of check timers
//! after the process was not scheduled) reads the clock again after every
//! [`RECHECK_EVERY`] dispatched events and timers and calls `on_wake` with the
//! new `now`, so a VRRP advert that falls due in the middle leaves within
//! that many dispatches instead of after the whole wake-up. Deadlines are met by arming a timerfd at
//! the earliest deadline with nanosecond precision (epoll's millisecond
//! timeout would add up to 1 ms of lateness to VRRP timers). I/O events of a
//! wake-up are dispatched before the timers that expired in it, so an advert
//! that arrived in time restarts a master-down timer before that timer fires.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};

use super::timerfd::TimerFd;
use super::timers::{TimerError, TimerId, Timers};

/// Events and timers dispatched between two `on_wake` calls of one wake-up.
pub const RECHECK_EVERY: u32 = 64;

/// The clock the loop reads once per wake-up (and once per
/// [`RECHECK_EVERY`] dispatches of a long one). Tests inject a fake one.
pub trait Clock {
    /// The current monotonic time.
    fn now(&mut self) -> Instant;
}

/// The real monotonic clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct MonotonicClock;

impl Clock for MonotonicClock {
    fn now(&mut self) -> Instant {
        Instant::now()
    }
}

/// What a token stands for (see the module docs for the numbering).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The loop's own timerfd.
    Timer,
    /// The signalfd.
    Signal,
    /// The control socket listener.
    ControlListener,
    /// The rtnetlink socket.
    Rtnetlink,
    /// The generic netlink (IPVS) socket.
    Genetlink,
    /// VRRP socket number `n`.
    Vrrp(usize),
    /// Control connection number `n`.
    ControlConn(usize),
    /// Health-check probe slot `n`.
    Probe(usize),
    /// Child process slot `n`.
    Child(usize),
    /// The metrics listener (`metrics_listen`).
    MetricsListener,
    /// Metrics connection number `n`.
    MetricsConn(usize),
    /// The process-events connector socket (`vrrp_track_process`).
    ProcEvents,
}

const VRRP_BASE: usize = 0x100;
const CONTROL_BASE: usize = 0x1_0000;
const METRICS_BASE: usize = 0x8_0000;
const PROBE_BASE: usize = 0x10_0000;
const CHILD_BASE: usize = 0x100_0000;
const CHILD_END: usize = 0x200_0000;

impl Source {
    /// The token this source is registered under.
    pub fn token(self) -> Token {
        Token(match self {
            Source::Timer => 0,
            Source::Signal => 1,
            Source::ControlListener => 2,
            Source::Rtnetlink => 3,
            Source::Genetlink => 4,
            Source::MetricsListener => 5,
            Source::ProcEvents => 6,
            Source::Vrrp(n) => VRRP_BASE + n.min(CONTROL_BASE - VRRP_BASE - 1),
            Source::ControlConn(n) => CONTROL_BASE + n.min(METRICS_BASE - CONTROL_BASE - 1),
            Source::MetricsConn(n) => METRICS_BASE + n.min(PROBE_BASE - METRICS_BASE - 1),
            Source::Probe(n) => PROBE_BASE + n.min(CHILD_BASE - PROBE_BASE - 1),
            Source::Child(n) => CHILD_BASE + n.min(CHILD_END - CHILD_BASE - 1),
        })
    }

    /// The source a token stands for, or `None` for a token outside the scheme.
    pub fn from_token(token: Token) -> Option<Source> {
        let t = token.0;
        Some(match t {
            0 => Source::Timer,
            1 => Source::Signal,
            2 => Source::ControlListener,
            3 => Source::Rtnetlink,
            4 => Source::Genetlink,
            5 => Source::MetricsListener,
            6 => Source::ProcEvents,
            t if (VRRP_BASE..CONTROL_BASE).contains(&t) => Source::Vrrp(t - VRRP_BASE),
            t if (CONTROL_BASE..METRICS_BASE).contains(&t) => Source::ControlConn(t - CONTROL_BASE),
            t if (METRICS_BASE..PROBE_BASE).contains(&t) => Source::MetricsConn(t - METRICS_BASE),
            t if (PROBE_BASE..CHILD_BASE).contains(&t) => Source::Probe(t - PROBE_BASE),
            t if (CHILD_BASE..CHILD_END).contains(&t) => Source::Child(t - CHILD_BASE),
            _ => return None,
        })
    }
}

/// Readiness of one source in one wake-up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Readiness {
    /// Data can be read (or a listener can accept, or a peer closed).
    pub readable: bool,
    /// Data can be written (or a connect finished).
    pub writable: bool,
    /// The source reported an error or hang-up.
    pub error: bool,
}

/// What handlers may touch during a wake-up.
pub struct Context<'a, P: Copy> {
    /// The wake-up's time: the one clock read of this turn.
    pub now: Instant,
    /// The deadline table: arm, cancel and re-arm timers here.
    pub timers: &'a mut Timers<P>,
    /// Register and deregister sources here.
    pub registry: &'a Registry,
}

impl<P: Copy> Context<'_, P> {
    /// Arms a timer; a full table is reported to the caller, never a panic.
    pub fn arm(&mut self, deadline: Instant, payload: P) -> Result<TimerId, TimerError> {
        self.timers.insert(deadline, payload)
    }
}

/// The daemon side of the loop: it receives events and expired timers.
pub trait Handler<P: Copy> {
    /// A registered source is ready.
    fn on_ready(&mut self, cx: &mut Context<'_, P>, source: Source, readiness: Readiness);
    /// A timer expired; its payload says what it was for.
    fn on_timer(&mut self, cx: &mut Context<'_, P>, id: TimerId, payload: P);
    /// Once per wake-up, after the clock is read and before any I/O or timer
    /// of the wake-up is dispatched, and again with a fresh `now` after every
    /// [`RECHECK_EVERY`] dispatches of a long wake-up: the place for work
    /// that must not queue behind the rest (VRRP adverts behind a burst of
    /// health-check I/O). Timers it handles it cancels itself. It must be
    /// cheap when nothing is due. Default: nothing.
    fn on_wake(&mut self, _cx: &mut Context<'_, P>) {}
}

/// Counts a wake-up's dispatches and, every [`RECHECK_EVERY`], reads the
/// clock again and lets [`Handler::on_wake`] run with the new `now`.
#[derive(Default)]
struct Recheck {
    since: u32,
}

impl Recheck {
    fn tick<C: Clock, P: Copy>(
        &mut self,
        clock: &mut C,
        last_now: &mut Instant,
        cx: &mut Context<'_, P>,
        handler: &mut impl Handler<P>,
    ) {
        self.since += 1;
        if self.since == RECHECK_EVERY {
            self.since = 0;
            cx.now = clock.now();
            *last_now = cx.now;
            handler.on_wake(cx);
        }
    }
}

/// The event loop: poll, timers, timerfd and the clock.
pub struct EventLoop<C: Clock, P: Copy> {
    poll: Poll,
    events: Events,
    timers: Timers<P>,
    timerfd: TimerFd,
    clock: C,
    /// The deadline the timerfd is armed for, to skip redundant syscalls.
    armed: Option<Instant>,
    /// The `now` of the latest wake-up.
    last_now: Instant,
    /// Events seen with a token outside the scheme (should stay 0).
    pub unknown_tokens: u64,
}

impl<C: Clock, P: Copy> EventLoop<C, P> {
    /// Creates the loop with room for `timer_capacity` timers and
    /// `event_capacity` events per wake-up. All allocation happens here.
    pub fn new(mut clock: C, timer_capacity: usize, event_capacity: usize) -> io::Result<Self> {
        let poll = Poll::new()?;
        let timerfd = TimerFd::new()?;
        poll.registry().register(
            &mut SourceFd(&timerfd.as_raw_fd()),
            Source::Timer.token(),
            Interest::READABLE,
        )?;
        let last_now = clock.now();
        Ok(EventLoop {
            poll,
            events: Events::with_capacity(event_capacity),
            timers: Timers::with_capacity(timer_capacity),
            timerfd,
            clock,
            armed: None,
            last_now,
            unknown_tokens: 0,
        })
    }

    /// The registry, to register sources before the loop runs.
    pub fn registry(&self) -> &Registry {
        self.poll.registry()
    }

    /// The deadline table.
    pub fn timers(&mut self) -> &mut Timers<P> {
        &mut self.timers
    }

    /// The `now` of the latest wake-up (or of creation).
    pub fn now(&self) -> Instant {
        self.last_now
    }

    /// Runs one wake-up: wait for the earliest deadline or an event, read the
    /// clock once, dispatch events, then dispatch expired timers.
    pub fn turn(&mut self, handler: &mut impl Handler<P>) -> io::Result<()> {
        let timeout = match self.timers.next_deadline() {
            // Already due (for example armed for "now" during the last
            // dispatch): do not sleep at all.
            Some(deadline) if deadline <= self.last_now => Some(std::time::Duration::ZERO),
            Some(deadline) => {
                if self.armed != Some(deadline) {
                    self.timerfd.arm(deadline)?;
                    self.armed = Some(deadline);
                }
                None
            }
            None => {
                if self.armed.take().is_some() {
                    self.timerfd.disarm()?;
                }
                None
            }
        };
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
        let now = self.clock.now();
        self.last_now = now;
        let mut cx = Context {
            now,
            timers: &mut self.timers,
            registry: self.poll.registry(),
        };
        handler.on_wake(&mut cx);
        let mut recheck = Recheck::default();
        for event in self.events.iter() {
            recheck.tick(&mut self.clock, &mut self.last_now, &mut cx, handler);
            match Source::from_token(event.token()) {
                Some(Source::Timer) => {
                    self.timerfd.drain();
                    self.armed = None;
                }
                Some(source) => {
                    let readiness = Readiness {
                        readable: event.is_readable() || event.is_read_closed(),
                        writable: event.is_writable() || event.is_write_closed(),
                        error: event.is_error(),
                    };
                    handler.on_ready(&mut cx, source, readiness);
                }
                None => self.unknown_tokens += 1,
            }
        }
        // A handler that re-arms at `now` must not starve I/O: fire at most as
        // many timers as were pending when dispatch began; the rest are due at
        // once and run next turn without sleeping.
        let mut budget = cx.timers.len();
        while budget > 0 {
            // Before the pop: a timer `on_wake` cancels is never dispatched.
            recheck.tick(&mut self.clock, &mut self.last_now, &mut cx, handler);
            let Some((id, payload)) = cx.timers.pop_expired(now) else {
                break;
            };
            budget -= 1;
            handler.on_timer(&mut cx, id, payload);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::io::Write;
    use std::rc::Rc;
    use std::time::Duration;

    /// A clock the test moves by hand; it counts its reads.
    #[derive(Clone)]
    struct FakeClock {
        now: Rc<Cell<Instant>>,
        reads: Rc<Cell<u32>>,
    }

    impl Clock for FakeClock {
        fn now(&mut self) -> Instant {
            self.reads.set(self.reads.get() + 1);
            self.now.get()
        }
    }

    #[derive(Default)]
    struct Recorder {
        log: Vec<String>,
        nows: Vec<Instant>,
        rearm_forever: bool,
        /// A timer `on_wake` takes over (cancels and runs) when it is due.
        urgent: Option<(TimerId, Instant)>,
        /// Moved by 1 ms in every `on_timer`: a slow dispatch.
        slow: Option<FakeClock>,
    }

    impl Handler<u32> for Recorder {
        fn on_ready(&mut self, cx: &mut Context<'_, u32>, source: Source, r: Readiness) {
            self.log.push(format!("ready {source:?} r={}", r.readable));
            self.nows.push(cx.now);
        }
        fn on_timer(&mut self, cx: &mut Context<'_, u32>, _id: TimerId, payload: u32) {
            self.log.push(format!("timer {payload}"));
            self.nows.push(cx.now);
            if let Some(clock) = &self.slow {
                clock.now.set(clock.now.get() + Duration::from_millis(1));
            }
            if self.rearm_forever && payload == 1 {
                cx.arm(cx.now, 1).unwrap();
            }
        }
        fn on_wake(&mut self, cx: &mut Context<'_, u32>) {
            if let Some((id, at)) = self.urgent {
                if at <= cx.now {
                    let payload = cx.timers.cancel(id).unwrap();
                    self.urgent = None;
                    self.log.push(format!("urgent {payload}"));
                }
            }
        }
    }

    fn fake() -> (FakeClock, Instant) {
        let base = Instant::now();
        (
            FakeClock {
                now: Rc::new(Cell::new(base)),
                reads: Rc::new(Cell::new(0)),
            },
            base,
        )
    }

    #[test]
    fn token_scheme_round_trips() {
        for s in [
            Source::Timer,
            Source::Signal,
            Source::ControlListener,
            Source::Rtnetlink,
            Source::Genetlink,
            Source::Vrrp(0),
            Source::Vrrp(255),
            Source::ControlConn(7),
            Source::Probe(0),
            Source::Probe(20_000),
            Source::Child(255),
            Source::MetricsListener,
            Source::MetricsConn(63),
            Source::ProcEvents,
        ] {
            assert_eq!(Source::from_token(s.token()), Some(s), "{s:?}");
        }
        assert_eq!(Source::from_token(Token(7)), None);
        assert_eq!(Source::from_token(Token(usize::MAX)), None);
    }

    #[test]
    fn dispatches_expired_timers_in_order_with_one_clock_read() {
        let (clock, base) = fake();
        let mut ev: EventLoop<FakeClock, u32> = EventLoop::new(clock.clone(), 16, 16).unwrap();
        ev.timers()
            .insert(base + Duration::from_secs(2), 2)
            .unwrap();
        ev.timers()
            .insert(base + Duration::from_secs(1), 1)
            .unwrap();
        ev.timers()
            .insert(base + Duration::from_secs(5), 5)
            .unwrap();
        clock.now.set(base + Duration::from_secs(3));
        let reads_before = clock.reads.get();
        let mut h = Recorder::default();
        // The earliest deadline (1 s) is in the past of the fake clock, but the
        // loop only knows `now` after its wake-up: the real timerfd fires at
        // once because the mapped deadline is in the real past.
        ev.turn(&mut h).unwrap();
        assert_eq!(
            clock.reads.get() - reads_before,
            1,
            "one clock read per wake-up"
        );
        assert_eq!(h.log, vec!["timer 1", "timer 2"]);
        assert!(h.nows.iter().all(|n| *n == base + Duration::from_secs(3)));
        assert_eq!(ev.timers().len(), 1);
    }

    #[test]
    fn rearming_at_now_neither_livelocks_nor_sleeps() {
        let (clock, base) = fake();
        let mut ev: EventLoop<FakeClock, u32> = EventLoop::new(clock.clone(), 16, 16).unwrap();
        ev.timers().insert(base, 1).unwrap();
        ev.timers()
            .insert(base + Duration::from_secs(3600), 7)
            .unwrap();
        let mut h = Recorder {
            rearm_forever: true,
            ..Default::default()
        };
        // Each turn ends although the handler always re-arms for `now`...
        ev.turn(&mut h).unwrap();
        let after_first = h.log.len();
        assert!((1..=2).contains(&after_first), "{:?}", h.log);
        // ...and the next turn runs the re-armed timer at once: a zero-timeout
        // poll, far below the hour-long other deadline.
        let started = Instant::now();
        ev.turn(&mut h).unwrap();
        assert!(h.log.len() > after_first);
        assert!(h.log.iter().all(|l| l == "timer 1"));
        assert!(started.elapsed() < Duration::from_secs(5));
    }

    #[test]
    fn io_events_come_before_timers_of_the_same_wakeup() {
        let (clock, base) = fake();
        let mut ev: EventLoop<FakeClock, u32> = EventLoop::new(clock.clone(), 16, 16).unwrap();
        let (mut a, mut b) = mio::net::UnixStream::pair().unwrap();
        ev.registry()
            .register(&mut b, Source::Probe(42).token(), Interest::READABLE)
            .unwrap();
        a.write_all(b"x").unwrap();
        ev.timers().insert(base, 3).unwrap();
        clock.now.set(base + Duration::from_millis(10));
        let mut h = Recorder::default();
        ev.turn(&mut h).unwrap();
        assert_eq!(h.log, vec!["ready Probe(42) r=true", "timer 3"]);
        assert_eq!(h.nows, vec![base + Duration::from_millis(10); 2]);
    }

    #[test]
    fn a_long_wakeup_lets_on_wake_through_every_recheck_every_dispatches() {
        let (clock, base) = fake();
        let n = 2 * RECHECK_EVERY;
        let mut ev: EventLoop<FakeClock, u32> =
            EventLoop::new(clock.clone(), n as usize + 1, 16).unwrap();
        for i in 0..n {
            ev.timers().insert(base, i).unwrap();
        }
        // Not due when the wake-up begins; due after 10 slow dispatches.
        let at = base + Duration::from_millis(10);
        let id = ev.timers().insert(at, 999).unwrap();
        let mut h = Recorder {
            urgent: Some((id, at)),
            slow: Some(clock.clone()),
            ..Recorder::default()
        };
        let reads_before = clock.reads.get();
        ev.turn(&mut h).unwrap();
        let urgent = h.log.iter().position(|l| l == "urgent 999");
        // The first recheck comes before the pop of the 64th timer (63 ran).
        assert_eq!(urgent, Some(RECHECK_EVERY as usize - 1), "{:?}", h.log);
        assert_eq!(h.log.len(), n as usize + 1, "every ordinary timer ran once");
        // One read at the wake-up and one per recheck; later timers see the
        // fresh clock.
        assert_eq!(clock.reads.get() - reads_before, 3);
        assert_eq!(h.nows[0], base);
        assert_eq!(
            *h.nows.last().unwrap(),
            base + Duration::from_millis(2 * RECHECK_EVERY as u64 - 1)
        );
        assert_eq!(ev.timers().next_deadline(), None);
    }

    #[test]
    fn on_wake_runs_before_the_io_and_timers_of_its_wakeup() {
        let (clock, base) = fake();
        let mut ev: EventLoop<FakeClock, u32> = EventLoop::new(clock.clone(), 16, 16).unwrap();
        let (mut a, mut b) = mio::net::UnixStream::pair().unwrap();
        ev.registry()
            .register(&mut b, Source::Probe(42).token(), Interest::READABLE)
            .unwrap();
        a.write_all(b"x").unwrap();
        // An ordinary timer due before the urgent one still runs after it.
        ev.timers().insert(base, 3).unwrap();
        let at = base + Duration::from_millis(5);
        let id = ev.timers().insert(at, 9).unwrap();
        clock.now.set(base + Duration::from_millis(10));
        let mut h = Recorder {
            urgent: Some((id, at)),
            ..Recorder::default()
        };
        ev.turn(&mut h).unwrap();
        assert_eq!(h.log, vec!["urgent 9", "ready Probe(42) r=true", "timer 3"]);
        // Taken over by on_wake: nothing is left to fire a second time.
        assert_eq!(ev.timers().next_deadline(), None);
    }

    #[test]
    fn real_deadline_wakes_the_loop_precisely() {
        let mut ev: EventLoop<MonotonicClock, u32> = EventLoop::new(MonotonicClock, 4, 4).unwrap();
        let start = Instant::now();
        let deadline = start + Duration::from_micros(2500);
        ev.timers().insert(deadline, 1).unwrap();
        let mut h = Recorder::default();
        while h.log.is_empty() {
            ev.turn(&mut h).unwrap();
        }
        // Behaviour, not speed: the timer never fires early.
        assert!(h.nows[0] >= deadline);
    }
}
