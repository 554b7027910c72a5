//! Shared helpers for the VRRP netns tests: a bridge namespace with one veth
//! per director, directors (lvsd or keepalived) that are killed on drop, and waits.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{self, Namespaces};

/// True when netns tests can run; probes once per test binary (parallel
/// probes with the same name would collide and skip tests by mistake).
pub fn can_run() -> bool {
    static OK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *OK.get_or_init(common::can_use_netns)
}

/// A bridge in namespace `<prefix>br` and directors `<prefix>1..n`, each with
/// `eth0` on the bridge and address 10.254.<net>.<n>/24 (and IPv6 link-local).
pub struct Lan {
    /// The namespaces (deleted on drop).
    pub ns: Namespaces,
    /// Work directory (removed on drop).
    pub dir: PathBuf,
    /// Third octet of the test subnet.
    pub net: u8,
}

impl Lan {
    /// Builds the bridge and `n` directors.
    pub fn new(prefix: &str, net: u8, n: usize) -> Lan {
        let mut suffixes = vec!["br".to_owned()];
        for i in 1..=n {
            suffixes.push(format!("d{i}"));
        }
        let refs: Vec<&str> = suffixes.iter().map(String::as_str).collect();
        let ns = Namespaces::new(prefix, &refs);
        let br = ns.get("br").to_owned();
        common::sh(&format!(
            "ip -n {br} link add br0 type bridge
             ip -n {br} link set br0 up"
        ));
        for i in 1..=n {
            let d = ns.get(&format!("d{i}")).to_owned();
            common::sh(&format!(
                "ip netns exec {d} sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
                 ip link add eth0 netns {d} type veth peer name p{i} netns {br}
                 ip -n {br} link set p{i} master br0
                 ip -n {br} link set p{i} up
                 ip -n {d} addr add 10.254.{net}.{i}/24 dev eth0
                 ip -n {d} link set eth0 up"
            ));
        }
        let dir = std::env::temp_dir().join(format!("lvsd-{prefix}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        // Link-local addresses come up without DAD; give the kernel a moment.
        std::thread::sleep(Duration::from_millis(300));
        Lan { ns, dir, net }
    }

    /// Namespace of director `i` (1-based).
    pub fn d(&self, i: usize) -> String {
        self.ns.get(&format!("d{i}")).to_owned()
    }

    /// Namespace of the bridge.
    pub fn br(&self) -> String {
        self.ns.get("br").to_owned()
    }

    /// A lvsd director `i` with this INI text (`@SOCK@` is replaced by its control socket).
    pub fn lvsd(&self, i: usize, ini: &str) -> Director {
        let name = format!("d{i}");
        let sock = self.dir.join(format!("{name}.sock"));
        let config = self.dir.join(format!("{name}.ini"));
        std::fs::write(&config, ini.replace("@SOCK@", sock.to_str().unwrap())).unwrap();
        Director {
            ns: self.d(i),
            kind: Kind::Lvsd { config, sock },
            log: self.dir.join(format!("{name}.log")),
            env: Vec::new(),
            child: None,
        }
    }

    /// A keepalived director `i` (VRRP only) with this keepalived.conf text.
    pub fn keepalived(&self, i: usize, conf: &str) -> Director {
        let name = format!("k{i}");
        let config = self.dir.join(format!("{name}.conf"));
        std::fs::write(&config, conf).unwrap();
        Director {
            ns: self.d(i),
            kind: Kind::Keepalived {
                config,
                pid: self.dir.join(format!("{name}.pid")),
                vrrp_pid: self.dir.join(format!("{name}.vrrp.pid")),
            },
            log: self.dir.join(format!("{name}.log")),
            env: Vec::new(),
            child: None,
        }
    }
}

impl Drop for Lan {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What runs as a director.
pub enum Kind {
    /// lvsd with its INI file and control socket.
    Lvsd { config: PathBuf, sock: PathBuf },
    /// keepalived with its own pid files.
    Keepalived {
        config: PathBuf,
        pid: PathBuf,
        vrrp_pid: PathBuf,
    },
}

/// One director process inside its namespace; killed on drop.
pub struct Director {
    /// Namespace.
    pub ns: String,
    /// What it runs.
    pub kind: Kind,
    /// Its stderr / console log.
    pub log: PathBuf,
    /// Extra environment for the process (e.g. `LVSD_TEST_HOOKS`).
    pub env: Vec<(String, String)>,
    child: Option<Child>,
}

impl Director {
    /// Starts the process (the log is appended to).
    pub fn start(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.ns]);
        match &self.kind {
            Kind::Lvsd { config, .. } => {
                cmd.args([env!("CARGO_BIN_EXE_lvsd"), "run", "-v", "-c"])
                    .arg(config);
            }
            Kind::Keepalived {
                config,
                pid,
                vrrp_pid,
            } => {
                cmd.args(["keepalived", "--vrrp", "-n", "-l", "-D", "-G", "-f"])
                    .arg(config)
                    .arg("-p")
                    .arg(pid)
                    .arg("-r")
                    .arg(vrrp_pid);
            }
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("start director");
        self.child = Some(child);
    }

    /// Sends a signal and waits for the process to end.
    pub fn signal(&mut self, sig: &str) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args([sig, &child.id().to_string()])
                .status();
            let _ = child.wait();
        }
        if let Kind::Keepalived { vrrp_pid, .. } = &self.kind {
            // keepalived's VRRP child outlives a SIGKILLed parent: kill it too.
            if sig == "-KILL" {
                if let Ok(pid) = std::fs::read_to_string(vrrp_pid) {
                    let _ = Command::new("kill").args(["-KILL", pid.trim()]).status();
                }
            }
            let _ = std::fs::remove_file(vrrp_pid);
        }
    }

    /// The process id (of lvsd or keepalived itself: `ip netns exec` execs it).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Whether `addr` (with its prefix, e.g. "10.254.0.100/32") is on `dev` here.
    pub fn has_addr(&self, dev: &str, addr: &str) -> bool {
        let out = Command::new("ip")
            .args(["-n", &self.ns, "-o", "addr", "show", "dev", dev])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        text.split_whitespace().any(|w| w == addr)
    }

    /// `lvsd status` of a lvsd director.
    pub fn status(&self) -> String {
        let Kind::Lvsd { sock, .. } = &self.kind else {
            return String::new();
        };
        let out = Command::new(env!("CARGO_BIN_EXE_lvsd"))
            .args(["status", "--socket"])
            .arg(sock)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The log so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Director {
    fn drop(&mut self) {
        self.signal("-KILL");
    }
}

/// Logs and status of several directors, for failure messages (owns the paths,
/// so the directors stay free to be started and signalled).
pub fn logs(ds: &[&Director]) -> impl Fn() -> String {
    let items: Vec<(PathBuf, Option<PathBuf>)> = ds
        .iter()
        .map(|d| {
            let sock = match &d.kind {
                Kind::Lvsd { sock, .. } => Some(sock.clone()),
                Kind::Keepalived { .. } => None,
            };
            (d.log.clone(), sock)
        })
        .collect();
    move || {
        let mut out = String::new();
        for (log, sock) in &items {
            out.push_str(&format!(
                "--- {} ---\n{}\n",
                log.display(),
                std::fs::read_to_string(log).unwrap_or_default()
            ));
            if let Some(sock) = sock {
                let st = Command::new(env!("CARGO_BIN_EXE_lvsd"))
                    .args(["status", "--socket"])
                    .arg(sock)
                    .output()
                    .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                    .unwrap_or_default();
                out.push_str(&st);
            }
        }
        out
    }
}

/// Waits until `cond` holds; panics with `ctx()` after `limit`. Returns the time taken.
pub fn wait_for(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    ctx: &dyn Fn() -> String,
) -> Duration {
    let start = Instant::now();
    while !cond() {
        if start.elapsed() > limit {
            panic!("timed out after {limit:?} waiting for: {what}\n{}", ctx());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// Asserts that `cond` holds for all of `span`.
pub fn holds_for(
    what: &str,
    span: Duration,
    mut cond: impl FnMut() -> bool,
    ctx: &dyn Fn() -> String,
) {
    let start = Instant::now();
    while start.elapsed() < span {
        assert!(cond(), "{what} stopped holding\n{}", ctx());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The directory of a path, as text.
pub fn text(p: &Path) -> &str {
    p.to_str().unwrap()
}
