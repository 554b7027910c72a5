//! The real-server side of LVS-DR/TUN (`lvsd realserver up|down|status`):
//! each VIP on `lo` as /32 or /128 over rtnetlink, and `arp_ignore=1`,
//! `arp_announce=2` on `lo` and on the outward device, so the real server
//! accepts traffic for the VIP but never answers ARP for it.
//!
//! `up` records in a state file exactly what it changed (the addresses it
//! added, each sysctl's previous value), so `down` undoes exactly that and
//! nothing else: an address or a sysctl that was already set stays. Both are
//! idempotent. IPv6 VIPs need no sysctl: Linux answers neighbour
//! solicitations only for addresses of the receiving interface.

use std::fmt::{self, Write as _};
use std::net::IpAddr;
use std::path::PathBuf;

use crate::cli::{RealserverAction, RealserverArgs};
use crate::io::netlink::Rtnl;
use crate::io::sysctl;
use crate::wire::netlink::rtnl::IfAddr;

/// The label VIPs get on `lo` (IPv4), like the article's `lo:10`.
const LABEL: &str = "lo:lvsd";

/// Why the helper failed.
#[derive(Debug)]
pub enum RealserverError {
    /// The outward device does not exist.
    NoDevice(String),
    /// A netlink request failed: what was asked, and the kernel's answer.
    Netlink {
        what: String,
        source: crate::io::netlink::NetlinkError,
    },
    /// The state file could not be read or written.
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The state file is not what `up` writes.
    BadState { path: PathBuf, source: StateError },
    /// A sysctl could not be read or written (the error names its /proc/sys path).
    Sysctl(std::io::Error),
}

impl fmt::Display for RealserverError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RealserverError::NoDevice(d) => write!(f, "--dev {d}: no such interface"),
            RealserverError::Netlink { what, source } => write!(f, "{what}: {source}"),
            RealserverError::File { path, source } => write!(f, "{}: {source}", path.display()),
            RealserverError::BadState { path, source } => {
                write!(f, "{}: {source}", path.display())
            }
            RealserverError::Sysctl(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for RealserverError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RealserverError::NoDevice(_) => None,
            RealserverError::Netlink { source, .. } => Some(source),
            RealserverError::File { source, .. } => Some(source),
            RealserverError::BadState { source, .. } => Some(source),
            RealserverError::Sysctl(e) => Some(e),
        }
    }
}

/// A line of the state file that `up` would not have written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    /// Line number, from 1.
    pub line: usize,
    /// The line's text.
    pub text: String,
    /// True when the line is an `addr` line whose address does not parse.
    pub bad_address: bool,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bad_address {
            write!(f, "line {}: bad address {:?}", self.line, self.text)
        } else {
            write!(f, "line {}: unrecognised {:?}", self.line, self.text)
        }
    }
}

impl std::error::Error for StateError {}

/// What `up` changed, as recorded in the state file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct State {
    /// VIPs `up` added to lo.
    pub added: Vec<IpAddr>,
    /// Sysctls `up` changed, with the value they had before.
    pub sysctls: Vec<(String, String)>,
}

impl State {
    /// Parses the state file; unknown or malformed lines are reported.
    pub fn parse(text: &str) -> Result<State, StateError> {
        let mut st = State::default();
        for (n, line) in text.lines().enumerate() {
            let mut words = line.split_whitespace();
            match (words.next(), words.next(), words.next(), words.next()) {
                (None, ..) => {}
                (Some(w), ..) if w.starts_with('#') => {}
                (Some("addr"), Some(a), None, None) => {
                    st.added.push(a.parse().map_err(|_| StateError {
                        line: n + 1,
                        text: a.to_owned(),
                        bad_address: true,
                    })?)
                }
                (Some("sysctl"), Some(k), Some(v), None) => st.sysctls.push((k.into(), v.into())),
                _ => {
                    return Err(StateError {
                        line: n + 1,
                        text: line.to_owned(),
                        bad_address: false,
                    })
                }
            }
        }
        Ok(st)
    }

    /// The state file's text.
    pub fn render(&self) -> String {
        let mut out =
            String::from("# written by 'lvsd realserver up'; 'down' undoes exactly this\n");
        for a in &self.added {
            let _ = writeln!(out, "addr {a}");
        }
        for (k, v) in &self.sysctls {
            let _ = writeln!(out, "sysctl {k} {v}");
        }
        out
    }
}

/// The sysctls a DR real server needs: (name, wanted value).
pub fn wanted_sysctls(dev: Option<&str>) -> Vec<(String, &'static str)> {
    let out_dev = dev.unwrap_or("all");
    vec![
        ("net.ipv4.conf.lo.arp_ignore".into(), "1"),
        ("net.ipv4.conf.lo.arp_announce".into(), "2"),
        (format!("net.ipv4.conf.{out_dev}.arp_ignore"), "1"),
        (format!("net.ipv4.conf.{out_dev}.arp_announce"), "2"),
    ]
}

fn state_path() -> PathBuf {
    let dir = std::env::var_os("LVSD_RUN_DIR").unwrap_or_else(|| "/run/lvsd".into());
    PathBuf::from(dir).join("realserver.state")
}

fn vip_on_lo(lo: u32, vip: IpAddr) -> IfAddr {
    let mut a = IfAddr::host(lo, vip);
    if vip.is_ipv4() {
        let mut label = crate::wire::netlink::rtnl::IfName::new();
        let _ = label.push_str(LABEL);
        a.label = Some(label);
    }
    a
}

fn netlink_err(what: &str) -> impl Fn(crate::io::netlink::NetlinkError) -> RealserverError + '_ {
    move |source| RealserverError::Netlink {
        what: what.to_owned(),
        source,
    }
}

fn lo_addresses(rtnl: &mut Rtnl, lo: u32) -> Result<Vec<IpAddr>, RealserverError> {
    let mut out = Vec::new();
    rtnl.addrs(None, |a| {
        if a.ifindex == lo {
            out.push(a.addr);
        }
    })
    .map_err(netlink_err("listing addresses"))?;
    Ok(out)
}

/// Runs `lvsd realserver`; returns the report to print.
pub fn run(args: &RealserverArgs) -> Result<String, RealserverError> {
    let mut rtnl = Rtnl::open().map_err(|e| RealserverError::Netlink {
        what: "rtnetlink".to_owned(),
        source: crate::io::netlink::NetlinkError::Io("socket", e),
    })?;
    let lo = rtnl
        .ifindex("lo")
        .map_err(netlink_err("looking up lo"))?
        .ok_or_else(|| RealserverError::NoDevice("lo".into()))?;
    if let Some(dev) = &args.dev {
        if rtnl
            .ifindex(dev)
            .map_err(netlink_err("looking up --dev"))?
            .is_none()
        {
            return Err(RealserverError::NoDevice(dev.clone()));
        }
    }
    let path = state_path();
    let mut state = load_state(&path)?;
    let mut report = String::new();
    match args.action {
        RealserverAction::Up => up(args, &mut rtnl, lo, &mut state, &mut report)?,
        RealserverAction::Down => down(args, &mut rtnl, lo, &mut state, &mut report)?,
        RealserverAction::Status => status(args, &mut rtnl, lo, &state, &mut report)?,
    }
    match args.action {
        RealserverAction::Status => {}
        // The sysctls went back and nothing is left to undo: no state file.
        RealserverAction::Down if state.added.is_empty() => remove_state(&path)?,
        RealserverAction::Up | RealserverAction::Down => save_state(&path, &state)?,
    }
    Ok(report)
}

fn io_err(path: &std::path::Path, e: std::io::Error) -> RealserverError {
    RealserverError::File {
        path: path.to_owned(),
        source: e,
    }
}

/// What an earlier `up` changed; none when it never ran.
fn load_state(path: &std::path::Path) -> Result<State, RealserverError> {
    match std::fs::read_to_string(path) {
        Ok(text) => State::parse(&text).map_err(|source| RealserverError::BadState {
            path: path.to_owned(),
            source,
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::default()),
        Err(e) => Err(io_err(path, e)),
    }
}

fn save_state(path: &std::path::Path, state: &State) -> Result<(), RealserverError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    }
    std::fs::write(path, state.render()).map_err(|e| io_err(path, e))
}

fn remove_state(path: &std::path::Path) -> Result<(), RealserverError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err(path, e)),
    }
}

/// `up`: each VIP on lo, then (for IPv4) the ARP sysctls, remembering what
/// was there before.
fn up(
    args: &RealserverArgs,
    rtnl: &mut Rtnl,
    lo: u32,
    state: &mut State,
    report: &mut String,
) -> Result<(), RealserverError> {
    let present = lo_addresses(rtnl, lo)?;
    for vip in &args.vips {
        if present.contains(vip) {
            let _ = writeln!(report, "VIP {vip} already on lo");
            continue;
        }
        rtnl.add_addr(&vip_on_lo(lo, *vip))
            .map_err(netlink_err(&format!("adding VIP {vip} to lo")))?;
        if !state.added.contains(vip) {
            state.added.push(*vip);
        }
        let _ = writeln!(report, "VIP {vip} added to lo");
    }
    if !args.vips.iter().any(IpAddr::is_ipv4) {
        return Ok(());
    }
    for (name, want) in wanted_sysctls(args.dev.as_deref()) {
        let had = sysctl::read(&name).map_err(RealserverError::Sysctl)?;
        if had == want {
            continue;
        }
        sysctl::write(&name, want).map_err(RealserverError::Sysctl)?;
        if !state.sysctls.iter().any(|(k, _)| *k == name) {
            state.sysctls.push((name.clone(), had.clone()));
        }
        let _ = writeln!(report, "{name} = {want} (was {had})");
    }
    Ok(())
}

/// `down`: exactly what `up` did, undone; the sysctls go back only when no
/// VIP lvsd added remains.
fn down(
    args: &RealserverArgs,
    rtnl: &mut Rtnl,
    lo: u32,
    state: &mut State,
    report: &mut String,
) -> Result<(), RealserverError> {
    for vip in &args.vips {
        if !state.added.contains(vip) {
            let _ = writeln!(report, "VIP {vip} was not added by 'up'; left alone");
            continue;
        }
        rtnl.del_addr(&vip_on_lo(lo, *vip))
            .map_err(netlink_err(&format!("removing VIP {vip} from lo")))?;
        state.added.retain(|a| a != vip);
        let _ = writeln!(report, "VIP {vip} removed from lo");
    }
    if state.added.is_empty() {
        for (name, had) in &state.sysctls {
            sysctl::write(name, had).map_err(RealserverError::Sysctl)?;
            let _ = writeln!(report, "{name} = {had} (restored)");
        }
        state.sysctls.clear();
    }
    Ok(())
}

/// `status`: each VIP and sysctl, against what `up` would set.
fn status(
    args: &RealserverArgs,
    rtnl: &mut Rtnl,
    lo: u32,
    state: &State,
    report: &mut String,
) -> Result<(), RealserverError> {
    let present = lo_addresses(rtnl, lo)?;
    for vip in &args.vips {
        let on = present.contains(vip);
        let ours = state.added.contains(vip);
        let _ = writeln!(
            report,
            "VIP {vip}: {}{}",
            if on { "on lo" } else { "NOT on lo" },
            if ours { " (added by lvsd)" } else { "" }
        );
    }
    for (name, want) in wanted_sysctls(args.dev.as_deref()) {
        let value = sysctl::read(&name).unwrap_or_else(|e| format!("unreadable ({e})"));
        let mark = if value == want { "ok" } else { "NOT SET" };
        let _ = writeln!(report, "{name} = {value} ({mark}, want {want})");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_rejects_garbage() {
        let st = State {
            added: vec!["10.0.0.100".parse().unwrap(), "fd00::1".parse().unwrap()],
            sysctls: vec![("net.ipv4.conf.lo.arp_ignore".into(), "0".into())],
        };
        assert_eq!(State::parse(&st.render()).unwrap(), st);
        assert_eq!(
            State::parse("addr notanip\n").unwrap_err().to_string(),
            "line 1: bad address \"notanip\""
        );
        assert_eq!(
            State::parse("\n\nfrobnicate x\n").unwrap_err().to_string(),
            "line 3: unrecognised \"frobnicate x\""
        );
    }

    #[test]
    fn sysctls_cover_lo_and_the_device() {
        let names: Vec<String> = wanted_sysctls(Some("eth0"))
            .into_iter()
            .map(|x| x.0)
            .collect();
        assert!(names.contains(&"net.ipv4.conf.eth0.arp_announce".to_string()));
        assert!(names.contains(&"net.ipv4.conf.lo.arp_ignore".to_string()));
        let names: Vec<String> = wanted_sysctls(None).into_iter().map(|x| x.0).collect();
        assert!(names.contains(&"net.ipv4.conf.all.arp_ignore".to_string()));
    }
}
