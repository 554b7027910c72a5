//! Root-only: two lvsd directors in network namespaces (IPVS simulated with
//! --dry-run: the host kernel has no IPVS). Checks the views and the runtime
//! control of issue 13 with the real tools:
//! - `lvsd status --json` validates against docs/status.schema.json (python3 jsonschema);
//! - `GET /metrics` passes `promtool check metrics`;
//! - a real Prometheus server scrapes lvsd and PromQL returns the master's state;
//! - `lvsd vrrp stepdown` hands over within the skew time and holds until resume;
//! - `lvsd reload` answers accepted, or refused with file:line;
//! - `lvsd rs drain|weight|enable` show in status, JSON and metrics.
//!
//! Outside CI a missing prerequisite skips with the reason; with CI=true it fails.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const LVSD: &str = env!("CARGO_BIN_EXE_lvsd");

/// False (skip) outside CI, a failure in CI (`common::require_or_skip`).
fn prerequisite(ok: bool, what: &str) -> bool {
    common::require_or_skip(ok, what)
}

fn have(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

struct Proc {
    child: Option<Child>,
    log: PathBuf,
}

impl Proc {
    fn spawn(ns: &str, args: &[&str], log: PathBuf) -> Proc {
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .expect("spawn");
        Proc {
            child: Some(child),
            log,
        }
    }

    fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &c.id().to_string()])
                .status();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if let Ok(Some(_)) = c.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn config(dir: &Path, name: &str, priority: u8, state: &str, global_extra: &str) -> PathBuf {
    let path = dir.join(format!("{name}.ini"));
    std::fs::write(
        &path,
        format!(
            "[global]
router_id = {name}
control_socket = {sock}
{global_extra}

[vrrp_instance VI_1]
state = {state}
interface = eth0
virtual_router_id = 51
priority = {priority}
advert_int = 1
auth_type = PASS
auth_pass = 1111
virtual_ipaddress = 10.254.0.100

[virtual_server web]
address = 10.254.0.100
port = 80
protocol = TCP
lb_algo = rr
lb_kind = DR

[real_server web/10.254.0.11:80]
weight = 1

[real_server web/10.254.0.12:80]
weight = 2
",
            sock = dir.join(format!("{name}.sock")).display()
        ),
    )
    .unwrap();
    path
}

fn has_vip(ns: &str) -> bool {
    let out = Command::new("ip")
        .args(["-n", ns, "-o", "addr", "show", "dev", "eth0"])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).contains("inet 10.254.0.100/32")
}

fn wait_for(
    what: &str,
    limit: Duration,
    mut cond: impl FnMut() -> bool,
    logs: &dyn Fn() -> String,
) -> Duration {
    let start = Instant::now();
    while !cond() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for: {what}\n{}",
            logs()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    start.elapsed()
}

/// Runs `lvsd ARGS --socket SOCK`; returns (exit code, stdout, stderr).
fn lvsd(sock: &Path, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(LVSD)
        .args(args)
        .arg("--socket")
        .arg(sock)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An HTTP GET from inside `ns` (python3's urllib: no curl needed).
fn http_get(ns: &str, url: &str) -> String {
    let out = Command::new("ip")
        .args(["netns", "exec", ns, "python3", "-c"])
        .arg(format!(
            "import sys,urllib.request; sys.stdout.write(urllib.request.urlopen('{url}', timeout=5).read().decode())"
        ))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "GET {url}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn views_real_tools_stepdown_reload_and_drain() {
    if !prerequisite(common::can_use_netns(), "root with ip netns")
        || !prerequisite(have("python3"), "python3")
        || !prerequisite(
            Command::new("python3")
                .args(["-c", "import jsonschema"])
                .status()
                .is_ok_and(|s| s.success()),
            "python3 jsonschema (scripts/deps.sh)",
        )
        || !prerequisite(
            have("promtool"),
            "promtool (Debian package prometheus, scripts/deps.sh)",
        )
        || !prerequisite(have("prometheus"), "prometheus (Debian package prometheus)")
    {
        return;
    }
    let ns = common::Namespaces::new("lvsdob", &["1", "2"]);
    let (n1, n2) = (ns.get("1").to_owned(), ns.get("2").to_owned());
    common::sh(&format!(
        "ip link add eth0 netns {n1} type veth peer name eth0 netns {n2}
         ip -n {n1} addr add 10.254.0.1/24 dev eth0
         ip -n {n2} addr add 10.254.0.2/24 dev eth0
         ip -n {n1} link set eth0 up
         ip -n {n2} link set eth0 up"
    ));
    let dir = std::env::temp_dir().join(format!("lvsd-observe-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let c1 = config(
        &dir,
        "d1",
        100,
        "MASTER",
        "metrics_listen = 10.254.0.1:9180",
    );
    let c2 = config(&dir, "d2", 90, "BACKUP", "");
    let s1 = dir.join("d1.sock");
    let d2 = Proc::spawn(
        &n2,
        &[LVSD, "run", "-v", "--dry-run", "-c", c2.to_str().unwrap()],
        dir.join("d2.log"),
    );
    let d1 = Proc::spawn(
        &n1,
        &[LVSD, "run", "-v", "--dry-run", "-c", c1.to_str().unwrap()],
        dir.join("d1.log"),
    );
    let logs = || format!("--- d1 ---\n{}\n--- d2 ---\n{}", d1.logs(), d2.logs());
    wait_for(
        "d1 holds the VIP",
        Duration::from_secs(10),
        || has_vip(&n1),
        &logs,
    );

    // 1. JSON validates against the published schema.
    let (code, json, err) = lvsd(&s1, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc = dir.join("status.json");
    std::fs::write(&doc, &json).unwrap();
    let schema = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/status.schema.json");
    let check = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/check_status_json.py");
    let out = Command::new("python3")
        .arg(&check)
        .arg(&schema)
        .arg(&doc)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "status --json does not match the schema: {}\n{json}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(json.contains("\"state\":\"MASTER\""), "{json}");
    // ... and the validator can fail: a document with a wrong field is refused.
    std::fs::write(
        &doc,
        json.replace("\"state\":\"MASTER\"", "\"state\":\"LEADER\""),
    )
    .unwrap();
    let out = Command::new("python3")
        .arg(&check)
        .arg(&schema)
        .arg(&doc)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "a bad document passed the schema"
    );

    // 2. A real scrape passes promtool.
    let metrics = http_get(&n1, "http://10.254.0.1:9180/metrics");
    assert!(
        metrics.contains("keepalived_vrrp_state{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\",ip_address=\"10.254.0.100\"} 2"),
        "{metrics}"
    );
    let prom_file = dir.join("metrics.txt");
    std::fs::write(&prom_file, &metrics).unwrap();
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!("promtool check metrics < {}", prom_file.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "promtool check metrics: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // 3. A real Prometheus scrapes lvsd; PromQL sees the master and the backends.
    let prom_dir = dir.join("prometheus");
    std::fs::create_dir_all(&prom_dir).unwrap();
    let prom_conf = dir.join("prometheus.yml");
    std::fs::write(
        &prom_conf,
        "global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: lvsd\n    static_configs:\n      - targets: ['10.254.0.1:9180']\n",
    )
    .unwrap();
    let prom = Proc::spawn(
        &n1,
        &[
            "prometheus",
            &format!("--config.file={}", prom_conf.display()),
            &format!("--storage.tsdb.path={}", prom_dir.display()),
            "--web.listen-address=127.0.0.1:9090",
        ],
        dir.join("prometheus.log"),
    );
    let query = |q: &str| {
        http_get(
            &n1,
            &format!("http://127.0.0.1:9090/api/v1/query?query={q}"),
        )
    };
    let answer = std::cell::RefCell::new(String::new());
    wait_for(
        "Prometheus returns keepalived_vrrp_state == 2 for VI_1",
        Duration::from_secs(60),
        || {
            let ok = Command::new("ip")
                .args(["netns", "exec", &n1, "python3", "-c"])
                .arg("import urllib.request; urllib.request.urlopen('http://127.0.0.1:9090/-/ready', timeout=2)")
                .status()
                .is_ok_and(|s| s.success());
            if !ok {
                return false;
            }
            let a = query("keepalived_vrrp_state%7Biname%3D%22VI_1%22%7D");
            let done = a.contains("\"value\":[") && a.contains(",\"2\"]");
            *answer.borrow_mut() = a;
            done
        },
        &|| format!("{}\nlast answer: {}", prom.logs(), answer.borrow()),
    );
    let backends =
        query("node_ipvs_backend_connections_active%7Bremote_address%3D%2210.254.0.12%22%7D");
    assert!(
        backends.contains("\"remote_address\":\"10.254.0.12\"") && backends.contains(",\"0\"]"),
        "{backends}"
    );
    drop(prom);

    // 4. Runtime control of real servers.
    let (code, out, err) = lvsd(&s1, &["rs", "drain", "web", "10.254.0.12:80", "30"]);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.starts_with("ok: TCP 10.254.0.100:80 10.254.0.12:80 draining"),
        "{out}"
    );
    // No connections in a simulated table: drained at the next look.
    wait_for(
        "the drained server leaves the table",
        Duration::from_secs(5),
        || {
            let (_, s, _) = lvsd(&s1, &["status"]);
            s.contains("[operator: drained]") && !s.contains("  -> 10.254.0.12:80")
        },
        &logs,
    );
    let (_, json, _) = lvsd(&s1, &["status", "--json"]);
    assert!(
        json.contains("\"operator\":{\"mode\":\"drained\",\"weight\":null}"),
        "{json}"
    );
    let metrics = http_get(&n1, "http://10.254.0.1:9180/metrics");
    assert!(
        metrics.contains("lvsd_real_server_operator_override{local_address=\"10.254.0.100\",local_port=\"80\",remote_address=\"10.254.0.12\",remote_port=\"80\",proto=\"TCP\",local_mark=\"\",mode=\"drained\"} 1"),
        "{metrics}"
    );
    let (code, _, err) = lvsd(&s1, &["rs", "weight", "web", "10.254.0.11:80", "7"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = lvsd(&s1, &["rs", "disable", "web", "10.254.0.99:80"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no configured real server 10.254.0.99:80"),
        "{err}"
    );

    // 5. lvsd reload: the drain survives an accepted reload; a bad file is
    // refused with file:line and the running configuration stays.
    let good = std::fs::read_to_string(&c1).unwrap();
    std::fs::write(&c1, good.replace("weight = 1\n", "weight = 3\n")).unwrap();
    let (code, out, err) = lvsd(&s1, &["reload"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("ok: reload: ") && out.contains("accepted and applied"),
        "{out}"
    );
    let (_, s, _) = lvsd(&s1, &["status"]);
    assert!(
        s.contains("[operator: drained]"),
        "the drain must survive a reload:\n{s}"
    );
    assert!(s.contains("(reloads 1, rejected 0)"), "{s}");
    std::fs::write(&c1, format!("{good}\n[virtual_server broken\n")).unwrap();
    let (code, out, err) = lvsd(&s1, &["reload"]);
    assert_eq!(code, 1, "{out}");
    let line = good.lines().count() + 2;
    assert!(
        err.contains("error: reload rejected") && err.contains(&format!("d1.ini:{line}")),
        "{err}"
    );
    let (code, _, _) = lvsd(&s1, &["rs", "enable", "web", "10.254.0.12:80"]);
    assert_eq!(code, 0);
    wait_for(
        "enable brings the server back",
        Duration::from_secs(5),
        || lvsd(&s1, &["status"]).1.contains("  -> 10.254.0.12:80"),
        &logs,
    );

    // 6. Step-down: d1 sends priority 0, d2 takes over after its skew time
    // ((256 - 90) / 256 s = 0.65 s), and d1 stays BACKUP although it has the
    // higher priority, until resumed.
    let stepped = Instant::now();
    let (code, out, err) = lvsd(&s1, &["vrrp", "stepdown", "VI_1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("was MASTER: priority 0 sent"), "{out}");
    assert!(!has_vip(&n1), "a stepped-down master must drop the VIP");
    wait_for(
        "d2 takes over",
        Duration::from_secs(3),
        || has_vip(&n2),
        &logs,
    );
    let took = stepped.elapsed();
    println!("stepdown: backup holds the VIP {took:?} after the command");
    assert!(took < Duration::from_millis(2000), "handover took {took:?}");
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        !has_vip(&n1) && has_vip(&n2),
        "held d1 took the VIP back\n{}",
        logs()
    );
    let (_, s, _) = lvsd(&s1, &["status"]);
    assert!(
        s.contains("BACKUP priority 100") && s.contains("held by stepdown"),
        "{s}"
    );
    let (code, _, err) = lvsd(&s1, &["vrrp", "stepdown", "VI_9"]);
    assert_eq!(code, 1);
    assert!(
        err.contains("no vrrp_instance \"VI_9\"; configured: VI_1"),
        "{err}"
    );
    let resumed = Instant::now();
    let (code, _, err) = lvsd(&s1, &["vrrp", "resume", "VI_1"]);
    assert_eq!(code, 0, "{err}");
    wait_for(
        "d1 preempts back after resume",
        Duration::from_secs(8),
        || has_vip(&n1),
        &logs,
    );
    println!(
        "resume: d1 holds the VIP again {:?} after the command",
        resumed.elapsed()
    );
    wait_for(
        "d2 releases the VIP",
        Duration::from_secs(3),
        || !has_vip(&n2),
        &logs,
    );
    let metrics = http_get(&n1, "http://10.254.0.1:9180/metrics");
    assert!(
        metrics
            .contains("keepalived_become_master_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 2")
            && metrics.contains(
                "keepalived_release_master_total{iname=\"VI_1\",intf=\"eth0\",vrid=\"51\"} 1"
            ),
        "{metrics}"
    );
    drop(d1);
    drop(d2);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The metrics endpoint refuses what it does not serve and closes idle,
/// oversized and surplus connections without holding the loop.
#[test]
fn metrics_endpoint_bounds() {
    if !prerequisite(common::can_use_netns(), "root with ip netns")
        || !prerequisite(have("python3"), "python3")
    {
        return;
    }
    let ns = common::Namespaces::new("lvsdmb", &["1"]);
    let n1 = ns.get("1").to_owned();
    common::sh(&format!(
        "ip -n {n1} link add eth0 type veth peer name eth1
         ip -n {n1} addr add 10.254.0.1/24 dev eth0
         ip -n {n1} link set eth0 up
         ip -n {n1} link set eth1 up"
    ));
    let dir = std::env::temp_dir().join(format!("lvsd-metrics-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let c1 = config(&dir, "d1", 100, "MASTER", "metrics_listen = 127.0.0.1:9181");
    // 400 more real servers: an answer of about 700 KB, more than one
    // wake-up's write budget (256 KiB), so it must go on over several turns.
    let mut big = std::fs::read_to_string(&c1).unwrap();
    for v in 0..8 {
        big.push_str(&format!(
            "\n[virtual_server big{v}]\naddress = 10.253.0.{}\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n",
            v + 1
        ));
        for r in 0..50 {
            big.push_str(&format!(
                "\n[real_server big{v}/10.252.{v}.{}:80]\nweight = 1\n",
                r + 1
            ));
        }
    }
    std::fs::write(&c1, big).unwrap();
    let d1 = Proc::spawn(
        &n1,
        &[LVSD, "run", "--dry-run", "-c", c1.to_str().unwrap()],
        dir.join("d1.log"),
    );
    let logs = || d1.logs();
    wait_for(
        "d1 is master",
        Duration::from_secs(10),
        || has_vip(&n1),
        &logs,
    );
    let script = r#"
import socket, time
def ask(data, wait=5):
    s = socket.create_connection(("127.0.0.1", 9181), timeout=wait)
    s.sendall(data)
    out = b""
    while True:
        b = s.recv(65536)
        if not b: break
        out += b
    return out.split(b"\r\n")[0].decode()
print("404", ask(b"GET / HTTP/1.1\r\n\r\n"))
print("405", ask(b"POST /metrics HTTP/1.1\r\n\r\n"))
print("431", ask(b"GET /metrics HTTP/1.1\r\n" + b"X-Pad: " + b"a" * 2070 + b"\r\n"))
# Eight idle connections fill the table; a ninth is closed at once, and a
# scrape works again once the idle ones time out (10 s).
idle = [socket.create_connection(("127.0.0.1", 9181)) for _ in range(8)]
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", 9181), timeout=5)
s.sendall(b"GET /metrics HTTP/1.1\r\n\r\n")
try:
    r = s.recv(100)
except ConnectionResetError:
    r = b""
print("surplus", repr(r))
t = time.time()
for c in idle:
    c.settimeout(15)
    c.recv(10)
print("idle_closed_after", round(time.time() - t))
s = socket.create_connection(("127.0.0.1", 9181), timeout=5)
s.sendall(b"GET /metrics HTTP/1.0\r\n\r\n")
body = b""
while True:
    b = s.recv(1 << 16)
    if not b: break
    body += b
head, _, rest = body.partition(b"\r\n\r\n")
length = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")][0].split(b":")[1])
print("200", head.split(b"\r\n")[0].decode())
print("big", length, len(rest), length == len(rest) and length > 300000)
"#;
    let out = Command::new("ip")
        .args(["netns", "exec", &n1, "python3", "-c", script])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "404 HTTP/1.1 404 Not Found",
        "405 HTTP/1.1 405 Method Not Allowed",
        "431 HTTP/1.1 431 Request Header Fields Too Large",
        "surplus b''",
        "200 HTTP/1.1 200 OK",
        " True",
    ] {
        assert!(text.contains(want), "{want:?} missing:\n{text}\n{}", logs());
    }
    let idle: u64 = text
        .lines()
        .find_map(|l| l.strip_prefix("idle_closed_after "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        (8..=12).contains(&idle),
        "idle connections closed after {idle} s:\n{text}"
    );
    drop(d1);
    let _ = std::fs::remove_dir_all(&dir);
}
