//! Process figures for the status and metrics: resident memory, open file
//! descriptors and their limit, read from /proc/self and getrlimit.

use std::io;

/// Resident set size in bytes (`/proc/self/statm`, second field, in pages).
pub fn rss_bytes() -> io::Result<u64> {
    let text = std::fs::read_to_string("/proc/self/statm")?;
    let pages: u64 = text
        .split_whitespace()
        .nth(1)
        .and_then(|f| f.parse().ok())
        .ok_or_else(|| {
            io::Error::new(io::ErrorKind::InvalidData, "/proc/self/statm: no RSS field")
        })?;
    // SAFETY: sysconf only reads a constant of the running system.
    let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    Ok(pages * u64::try_from(page).unwrap_or(4096))
}

/// Open file descriptors (entries of `/proc/self/fd`, minus the one the
/// listing itself holds).
pub fn open_fds() -> io::Result<u64> {
    let n = std::fs::read_dir("/proc/self/fd")?.count() as u64;
    Ok(n.saturating_sub(1))
}

/// The soft limit of open file descriptors (RLIMIT_NOFILE).
pub fn max_fds() -> io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit writes one rlimit into the struct we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(lim.rlim_cur)
}

/// The text of `/proc/net/ip_vs_stats` (the IPVS totals of this network
/// namespace; a few hundred bytes). Decoded by
/// `wire::netlink::ipvs::parse_proc_stats`.
pub fn ipvs_stats_text() -> io::Result<String> {
    use std::io::Read;
    let mut text = String::with_capacity(512);
    std::fs::File::open("/proc/net/ip_vs_stats")?
        .take(4096)
        .read_to_string(&mut text)?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_of_this_process_are_plausible() {
        let rss = rss_bytes().unwrap();
        assert!(rss > 100 * 1024, "rss {rss}");
        // Other tests open files at the same time: only bounds are certain.
        let fds = open_fds().unwrap();
        assert!(fds >= 3, "stdin, stdout and stderr at least: {fds}");
        assert!(max_fds().unwrap() >= fds);
    }
}
