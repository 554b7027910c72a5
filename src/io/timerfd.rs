//! A CLOCK_MONOTONIC timerfd armed at absolute deadlines, for sub-millisecond wake-ups.
//!
//! `epoll_wait` (and so `mio::Poll::poll`) only takes whole milliseconds and
//! rounds up, which would make every VRRP timer up to 1 ms late. The loop
//! instead arms this timerfd at the exact deadline (nanoseconds) and polls
//! without a timeout.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::{Duration, Instant};

/// A nonblocking monotonic timerfd plus the mapping from `Instant` to the
/// kernel's CLOCK_MONOTONIC timespec.
pub struct TimerFd {
    fd: OwnedFd,
    /// An `Instant` and the CLOCK_MONOTONIC reading taken right beside it.
    anchor_instant: Instant,
    anchor_monotonic: Duration,
}

impl TimerFd {
    /// Creates the timerfd (nonblocking, close-on-exec).
    pub fn new() -> io::Result<Self> {
        // SAFETY: timerfd_create takes no pointers; the result is checked below.
        let raw = unsafe {
            libc::timerfd_create(
                libc::CLOCK_MONOTONIC,
                libc::TFD_NONBLOCK | libc::TFD_CLOEXEC,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh, valid descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let anchor_instant = Instant::now();
        let anchor_monotonic = monotonic_now()?;
        Ok(TimerFd {
            fd,
            anchor_instant,
            anchor_monotonic,
        })
    }

    /// Arms the timer to fire at `deadline` (absolute). A deadline in the past
    /// fires at once.
    pub fn arm(&self, deadline: Instant) -> io::Result<()> {
        let at = match deadline.checked_duration_since(self.anchor_instant) {
            Some(after) => self.anchor_monotonic + after,
            None => self
                .anchor_monotonic
                .saturating_sub(self.anchor_instant - deadline),
        };
        // A zero it_value would disarm the timer; one nanosecond is "already due".
        let at = at.max(Duration::from_nanos(1));
        self.settime(at)
    }

    /// Disarms the timer.
    pub fn disarm(&self) -> io::Result<()> {
        self.settime(Duration::ZERO)
    }

    /// Consumes the expiry count so the fd stops being readable.
    pub fn drain(&self) {
        let mut buf = [0u8; 8];
        // SAFETY: `buf` is valid for 8 writable bytes, the size timerfd reads
        // need; the fd is owned by self. EAGAIN (not expired) is fine to ignore.
        let _ = unsafe { libc::read(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    }

    fn settime(&self, at: Duration) -> io::Result<()> {
        // SAFETY: itimerspec is plain data; all-zero is a valid (disarmed) value.
        let mut spec: libc::itimerspec = unsafe { std::mem::zeroed() };
        // The field types differ between glibc and musl; the values fit both
        // (seconds since boot, nanoseconds below 10^9).
        spec.it_value.tv_sec = at.as_secs().try_into().unwrap_or(i32::MAX.into());
        spec.it_value.tv_nsec = at.subsec_nanos().into();
        // SAFETY: `spec` is a valid itimerspec on the stack; the old value
        // pointer may be null; the fd is owned by self.
        let rc = unsafe {
            libc::timerfd_settime(
                self.fd.as_raw_fd(),
                libc::TFD_TIMER_ABSTIME,
                &spec,
                std::ptr::null_mut(),
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl AsRawFd for TimerFd {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}

/// Reads CLOCK_MONOTONIC as a duration since its (boot-time) origin.
fn monotonic_now() -> io::Result<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}
