//! The kernel's process events connector (NETLINK_CONNECTOR, CN_IDX_PROC):
//! the subscribe message and the events `vrrp_track_process` follows.
//!
//! Layout (linux/connector.h, linux/cn_proc.h): a netlink header (16 bytes),
//! `struct cn_msg` (id.idx, id.val, seq, ack: u32; len, flags: u16; 20 bytes),
//! then `struct proc_event`: what, cpu (u32), timestamp_ns (u64), and the
//! event data at offset 16. The kernel sends one event per datagram.
//! Native byte order. Nothing here panics, whatever the bytes.

use super::msg::{NLMSG_DONE, NLMSG_ERROR, NLMSG_HDRLEN, NLMSG_NOOP};

/// `CN_IDX_PROC`: the connector id (and multicast group) of process events.
pub const CN_IDX_PROC: u32 = 1;
/// `CN_VAL_PROC`.
pub const CN_VAL_PROC: u32 = 1;
/// `PROC_CN_MCAST_LISTEN`.
pub const PROC_CN_MCAST_LISTEN: u32 = 1;
/// `PROC_CN_MCAST_IGNORE`.
pub const PROC_CN_MCAST_IGNORE: u32 = 2;

const CN_MSG_LEN: usize = 20;
const EVENT_DATA: usize = NLMSG_HDRLEN + CN_MSG_LEN + 16;

const PROC_EVENT_NONE: u32 = 0;
const PROC_EVENT_FORK: u32 = 1;
const PROC_EVENT_EXEC: u32 = 2;
const PROC_EVENT_COMM: u32 = 0x200;
const PROC_EVENT_EXIT: u32 = 0x8000_0000;

/// Length of the subscribe / unsubscribe message.
pub const LISTEN_LEN: usize = NLMSG_HDRLEN + CN_MSG_LEN + 4;

/// The message that starts (`listen`) or stops the events for this socket.
pub fn listen_message(listen: bool, port_id: u32) -> [u8; LISTEN_LEN] {
    let mut m = [0u8; LISTEN_LEN];
    let op = if listen {
        PROC_CN_MCAST_LISTEN
    } else {
        PROC_CN_MCAST_IGNORE
    };
    m[0..4].copy_from_slice(&(LISTEN_LEN as u32).to_ne_bytes());
    m[4..6].copy_from_slice(&NLMSG_DONE.to_ne_bytes());
    m[12..16].copy_from_slice(&port_id.to_ne_bytes());
    m[16..20].copy_from_slice(&CN_IDX_PROC.to_ne_bytes());
    m[20..24].copy_from_slice(&CN_VAL_PROC.to_ne_bytes());
    m[32..34].copy_from_slice(&4u16.to_ne_bytes());
    m[36..40].copy_from_slice(&op.to_ne_bytes());
    m
}

/// One process event (threads are reported too: `pid != tgid`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProcEvent {
    /// The answer to the subscribe message: 0 or an errno (EPERM without
    /// CAP_NET_ADMIN, or outside the initial namespaces).
    Ack {
        /// errno, 0 on success.
        err: u32,
    },
    /// `fork()` / `clone()`: a new process when `child_pid == child_tgid`.
    Fork {
        /// Parent's process id (thread-group id).
        parent_tgid: u32,
        /// Child's thread id.
        child_pid: u32,
        /// Child's process id.
        child_tgid: u32,
    },
    /// `execve()`.
    Exec {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
    },
    /// `prctl(PR_SET_NAME)` or a write to /proc/PID/comm.
    Comm {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
        /// The new name, up to its first NUL (at most 16 bytes).
        comm: [u8; 16],
        /// Bytes of `comm` used.
        len: u8,
    },
    /// A thread or process ended.
    Exit {
        /// Thread id.
        pid: u32,
        /// Process id.
        tgid: u32,
    },
    /// Any other event (uid, gid, sid, ptrace, coredump, ...).
    Other,
}

/// Why a datagram is not a process event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Shorter than its headers say.
    Truncated,
    /// Not from the process-events connector.
    NotProcEvent,
    /// A netlink NOOP / ERROR message (not an event).
    Control,
}

fn u32_at(b: &[u8], at: usize) -> Result<u32, Malformed> {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_ne_bytes)
        .ok_or(Malformed::Truncated)
}

/// Decodes one datagram from the connector socket.
pub fn parse_event(datagram: &[u8]) -> Result<ProcEvent, Malformed> {
    let len = u32_at(datagram, 0)? as usize;
    if len < NLMSG_HDRLEN || len > datagram.len() {
        return Err(Malformed::Truncated);
    }
    let msg = &datagram[..len];
    let kind = msg
        .get(4..6)
        .map(|s| u16::from_ne_bytes([s[0], s[1]]))
        .ok_or(Malformed::Truncated)?;
    if kind == NLMSG_NOOP || kind == NLMSG_ERROR {
        return Err(Malformed::Control);
    }
    let idx = u32_at(msg, NLMSG_HDRLEN)?;
    let val = u32_at(msg, NLMSG_HDRLEN + 4)?;
    if idx != CN_IDX_PROC || val != CN_VAL_PROC {
        return Err(Malformed::NotProcEvent);
    }
    let ack = u32_at(msg, NLMSG_HDRLEN + 12)?;
    let what = u32_at(msg, NLMSG_HDRLEN + CN_MSG_LEN)?;
    // keepalived's rule: PROC_EVENT_NONE is an ack, and only it.
    if (what == PROC_EVENT_NONE) != (ack != 0) {
        return Err(Malformed::NotProcEvent);
    }
    let data = |i: usize| u32_at(msg, EVENT_DATA + 4 * i);
    Ok(match what {
        PROC_EVENT_NONE => ProcEvent::Ack { err: data(0)? },
        PROC_EVENT_FORK => ProcEvent::Fork {
            parent_tgid: data(1)?,
            child_pid: data(2)?,
            child_tgid: data(3)?,
        },
        PROC_EVENT_EXEC => ProcEvent::Exec {
            pid: data(0)?,
            tgid: data(1)?,
        },
        PROC_EVENT_COMM => {
            let raw = msg
                .get(EVENT_DATA + 8..EVENT_DATA + 24)
                .ok_or(Malformed::Truncated)?;
            let mut comm = [0u8; 16];
            comm.copy_from_slice(raw);
            let len = comm.iter().position(|&b| b == 0).unwrap_or(16) as u8;
            ProcEvent::Comm {
                pid: data(0)?,
                tgid: data(1)?,
                comm,
                len,
            }
        }
        PROC_EVENT_EXIT => ProcEvent::Exit {
            pid: data(0)?,
            tgid: data(1)?,
        },
        _ => ProcEvent::Other,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Captured from Linux 6.1 (x86_64) with a Python NETLINK_CONNECTOR
    // socket subscribed as lvsd subscribes, while `/bin/sleep 0.2` ran as
    // pid 8468 (0x2114), child of pid 8423 (0x20e7).
    const ACK: &str = "4c00000003000000ce8d0000000000000100000001000000ce8d0000010000002800000000000000010000001f09b486800b0000000000000000000000000000000000000000000000000000";
    const FORK: &str = "4c00000003000000cf8d0000000000000100000001000000cf8d000000000000280000000100000001000000d3ceb586800b0000e7200000e720000014210000142100000000000000000000";
    const EXEC: &str = "4c00000003000000d08d0000000000000100000001000000d08d000000000000280000000200000001000000582dd986800b0000142100001421000000000000000000000000000000000000";
    const EXIT: &str = "4c00000003000000d18d0000000000000100000001000000d18d000000000000280000000000008001000000fe5ace92800b000014210000142100000000000011000000e7200000e7200000";

    #[test]
    fn listen_message_matches_the_kernel_layout() {
        // What keepalived and the Python capture sent (port id 0).
        let want =
            hex("28000000030000000000000000000000010000000100000000000000000000000400000001000000");
        assert_eq!(listen_message(true, 0).as_slice(), want.as_slice());
        assert_eq!(listen_message(false, 7)[36], 2);
        assert_eq!(listen_message(false, 7)[12], 7);
    }

    #[test]
    fn captured_events_decode() {
        assert_eq!(parse_event(&hex(ACK)), Ok(ProcEvent::Ack { err: 0 }));
        assert_eq!(
            parse_event(&hex(FORK)),
            Ok(ProcEvent::Fork {
                parent_tgid: 0x20e7,
                child_pid: 0x2114,
                child_tgid: 0x2114
            })
        );
        assert_eq!(
            parse_event(&hex(EXEC)),
            Ok(ProcEvent::Exec {
                pid: 0x2114,
                tgid: 0x2114
            })
        );
        assert_eq!(
            parse_event(&hex(EXIT)),
            Ok(ProcEvent::Exit {
                pid: 0x2114,
                tgid: 0x2114
            })
        );
    }

    #[test]
    fn comm_and_bad_input() {
        let mut comm = hex(EXEC);
        comm[36..40].copy_from_slice(&PROC_EVENT_COMM.to_ne_bytes());
        comm[60..66].copy_from_slice(b"nginx\0");
        match parse_event(&comm) {
            Ok(ProcEvent::Comm {
                comm, len, tgid, ..
            }) => {
                assert_eq!((&comm[..len as usize], tgid), (&b"nginx"[..], 0x2114));
            }
            other => panic!("{other:?}"),
        }
        let exec = hex(EXEC);
        for cut in 0..exec.len() {
            assert!(parse_event(&exec[..cut]).is_err(), "cut at {cut}");
        }
        let mut other = exec.clone();
        other[16] = 9;
        assert_eq!(parse_event(&other), Err(Malformed::NotProcEvent));
        let mut acked = exec.clone();
        acked[28] = 1;
        assert_eq!(parse_event(&acked), Err(Malformed::NotProcEvent));
        let mut noop = exec;
        noop[4] = 1;
        assert_eq!(parse_event(&noop), Err(Malformed::Control));
        // Any bytes: never a panic.
        for n in 0..200u8 {
            let junk: Vec<u8> = (0..n).map(|i| i.wrapping_mul(37) ^ n).collect();
            let _ = parse_event(&junk);
        }
    }
}
