#!/usr/bin/env python3
"""The 10 ms frontier (issue 14 item 4), lvsd and keepalived side by side on
the host, in network namespaces of this run (root).

    frontier.py LVSD EXAMPLES    EXAMPLES holds farm, traffic and libka_noipvs.so

Topology (names carry the pid): a bridge namespace (the front LAN) joining
two directors and a client; a real-server namespace joined to each director
by a link of its own (the back end). The real servers are FRONTIER_RS
addresses (default 1,000) of a local route in that namespace, each with a
TCP listener on port 80 (examples/farm, one mio loop). Each director runs one
VRRPv3 instance (VRID 51, advert_int 0.01 s; dir1 MASTER 100, dir2 BACKUP
90) and TCP_CHECKs of every real server with delay_loop FRONTIER_RS /
FRONTIER_CHECKS (default 0.1 s: 10,000 checks/s per director), connect_timeout
1, retry 1, delay_before_retry 1, in 50-server virtual servers. Each
director also runs a small HTTP responder on 0.0.0.0:80 (examples/farm) that
names it, so the client's requests to the VIP go to whoever holds it: the
client sees the takeover without IPVS (this kernel has none: lvsd runs with
--dry-run; keepalived's checker gets IPVS answered by examples/ka_noipvs.rs,
which drops the table writes and nothing else).

For each daemon (lvsd, then keepalived, same topology, timers and checks):
start both directors, wait for dir1 to hold the VIP, settle, then for
FRONTIER_MIN minutes (default 10) count:

- false failovers: master changes without a fault: notify calls, the
  daemons' "MASTER/BACKUP" log lines, lvsd's status counters (became and
  released master), and adverts on the wire from the backup;
- advert lateness on the wire: a capture of the front bridge (every VRRP
  packet and ARP of the run): gap between the master's adverts minus
  advert_int (p50/p99/p99.9/max) and the gaps longer than the master down
  interval the backup waits (36.5 ms: such a gap alone makes a failover);
- lvsd's own loop figures (`lvsd status --json`): advert lateness and check
  start lateness since start, work put off behind VRRP timers;
- CPU of each director's daemon processes (utime+stime), and from
  /proc/PID/schedstat the share of the window they ran and the share they
  were runnable but waiting for a CPU; checks/s served by the real servers;
  the machine's CPU by kind (/proc/stat) and load average.

Then the traffic probe (examples/traffic.rs) starts in the client
(FRONTIER_RATE new HTTP requests/s to the VIP, default 1,000, 200 ms deadline
each), and the master's daemon gets SIGKILL; at the same instant its front
link goes down (a power cut: a killed daemon leaves its VIP and the
responder would keep serving, so the client would see nothing). Figures: the
outage window from the traffic (last success before the fault to the first
success after it) beside the protocol bound (3 x advert_int + skew = 36.5
ms) and the target (<= 40 ms), and from the capture the old master's last
advert to the new master's first advert and first gratuitous ARP.

Environment: FRONTIER_MIN, FRONTIER_CHECKS, FRONTIER_RS, FRONTIER_RATE,
FRONTIER_IMPLS ("lvsd keepalived"), FRONTIER_SETTLE (s before the window,
default 15), FRONTIER_SCHED (a command prefix for both daemons, default
none here, "chrt -f 10" from frontier.bench.sh), FRONTIER_TOOL_SCHED (the
same for the probe, the responders and the real servers; default "chrt -f 5"
when FRONTIER_SCHED is set), FRONTIER_KEEP=DIR
(keep configs, logs, captures and probe files there).

Prints figures; asserts nothing. Everything it started is stopped and every
namespace deleted, also on failure or a signal.
"""

import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

from benchlib import proc_stat, tcpdump_records

TAG = os.environ.get("FRONTIER_TAG", f"lvfr{os.getpid()}")
NS_LAN, NS_D1, NS_D2, NS_C, NS_RS = (f"{TAG}{s}" for s in ("lan", "d1", "d2", "c", "rs"))
NAMESPACES = [NS_LAN, NS_D1, NS_D2, NS_C, NS_RS]
FRONT = "10.254.70"
VIP = f"{FRONT}.100"
ADDR = {NS_D1: f"{FRONT}.1", NS_D2: f"{FRONT}.2", NS_C: f"{FRONT}.10"}
# Back links: dir1 10.254.71.1 <-> .2 (rs), dir2 .5 <-> .6; real servers on
# a local route in the rs namespace (any address of it can be bound).
BACK = {NS_D1: ("10.254.71.1", "10.254.71.2"), NS_D2: ("10.254.71.5", "10.254.71.6")}
RS_NET = "10.254.80.0/20"
RS_FIRST = "10.254.80.1"
PER_VS = 50
ADVERT = 0.01
PRIO = {NS_D1: 100, NS_D2: 90}
SKEW = (256 - PRIO[NS_D2]) * ADVERT / 256
BOUND = 3 * ADVERT + SKEW
TARGET_MS = 40.0

MIN = float(os.environ.get("FRONTIER_MIN", "10"))
CHECKS = int(os.environ.get("FRONTIER_CHECKS", "10000"))
NRS = int(os.environ.get("FRONTIER_RS", "1000"))
RATE = int(os.environ.get("FRONTIER_RATE", "1000"))
SETTLE = float(os.environ.get("FRONTIER_SETTLE", "15"))
IMPLS = os.environ.get("FRONTIER_IMPLS", "lvsd keepalived").split()
SCHED = shlex.split(os.environ.get("FRONTIER_SCHED", ""))
# The instruments (the probe, the VIP responders, the real servers) run just
# below the daemons when these are realtime: a starved probe cannot send the
# requests that would see the takeover, and a starved real server fails checks.
TOOL_SCHED = shlex.split(os.environ.get("FRONTIER_TOOL_SCHED", "chrt -f 5" if SCHED else ""))
KEEP = os.environ.get("FRONTIER_KEEP", "")
DELAY_LOOP = NRS / CHECKS

procs = []  # every Popen this run started
work = tempfile.mkdtemp(prefix="lvsd-frontier.")


def sh(*args, check=True):
    r = subprocess.run(args, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")
    return r.stdout


def ns_sh(ns, *args, check=True):
    return sh("ip", "netns", "exec", ns, *args, check=check)


def spawn(ns, args, out=None, stdin=None, stdout=None, env=None):
    """Starts ARGS in namespace NS; stderr (and stdout unless piped) to OUT."""
    f = open(out, "ab") if out else subprocess.DEVNULL
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns] + args,
        stdin=stdin if stdin is not None else subprocess.DEVNULL,
        stdout=stdout if stdout is not None else f,
        stderr=f,
        env=env,
    )
    procs.append(p)
    return p


def stop(p, sig=signal.SIGTERM, wait=5.0):
    if p is None or p.poll() is not None:
        return
    try:
        p.send_signal(sig)
        p.wait(timeout=wait)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        p.kill()
        p.wait()


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
    for ns in NAMESPACES:
        # Anything still in a namespace (keepalived's children, notify
        # scripts) goes with it.
        r = subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
    if KEEP:
        os.makedirs(KEEP, exist_ok=True)
        for name in os.listdir(work):
            if os.path.isfile(os.path.join(work, name)):
                shutil.copy(os.path.join(work, name), KEEP)
    shutil.rmtree(work, ignore_errors=True)


def on_signal(signum, _frame):
    raise SystemExit(128 + signum)


# ------------------------------------------------------------------ topology


def build():
    for ns in NAMESPACES:
        sh("ip", "netns", "add", ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", NS_LAN, "link", "add", "br0", "type", "bridge")
    sh("ip", "-n", NS_LAN, "link", "set", "br0", "up")
    for i, ns in enumerate((NS_D1, NS_D2, NS_C)):
        port = f"p{i}"
        sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", port, "netns", NS_LAN)
        sh("ip", "-n", NS_LAN, "link", "set", port, "master", "br0")
        sh("ip", "-n", NS_LAN, "link", "set", port, "up")
        sh("ip", "-n", ns, "addr", "add", f"{ADDR[ns]}/24", "dev", "eth0")
        sh("ip", "-n", ns, "link", "set", "eth0", "up")
    for i, ns in enumerate((NS_D1, NS_D2)):
        mine, theirs = BACK[ns]
        peer = f"b{i}"
        sh("ip", "link", "add", "eth1", "netns", ns, "type", "veth", "peer", "name", peer, "netns", NS_RS)
        sh("ip", "-n", ns, "addr", "add", f"{mine}/30", "dev", "eth1")
        sh("ip", "-n", ns, "link", "set", "eth1", "up")
        sh("ip", "-n", NS_RS, "addr", "add", f"{theirs}/30", "dev", peer)
        sh("ip", "-n", NS_RS, "link", "set", peer, "up")
        sh("ip", "-n", ns, "route", "add", RS_NET, "via", theirs)
        # Checks open 10,000 connections a second: room for ports in TIME_WAIT.
        ns_sh(ns, "sysctl", "-qw", "net.ipv4.ip_local_port_range=1024 65000")
    sh("ip", "-n", NS_RS, "route", "add", "local", RS_NET, "dev", "lo")


def has_vip(ns):
    out = sh("ip", "-n", ns, "-o", "-4", "addr", "show", "dev", "eth0", check=False)
    return f" {VIP}/32 " in out


def wait_for(pred, seconds, step=0.05):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(step)
    return pred()


def farm(ns, args, name):
    """examples/farm in NS; returns the Popen once it said ready."""
    p = spawn(ns, TOOL_SCHED + [FARM] + args, out=f"{work}/{name}.err", stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    line = p.stdout.readline().decode().strip()
    if line != "ready":
        raise RuntimeError(f"{name}: farm not ready: {line!r} {open(f'{work}/{name}.err').read()[-300:]}")
    return p


def farm_stats(p):
    p.stdin.write(b"stats\n")
    p.stdin.flush()
    m = re.search(r"accepted (\d+)", p.stdout.readline().decode())
    return int(m.group(1)) if m else 0


# ------------------------------------------------------------------ configs


def rs_addr(i):
    a = [int(x) for x in RS_FIRST.split(".")]
    n = (a[0] << 24 | a[1] << 16 | a[2] << 8 | a[3]) + i
    return f"{n >> 24}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def lvsd_conf(ns, state, name):
    lines = [
        "[global]",
        f"router_id = {name}",
        f"control_socket = {work}/{name}.sock",
        "",
        "[vrrp_instance VI_1]",
        f"state = {state}",
        "interface = eth0",
        "virtual_router_id = 51",
        f"priority = {PRIO[ns]}",
        "version = 3",
        f"advert_int = {ADVERT}",
        f"virtual_ipaddress = {VIP}",
        f"notify = {work}/notify-{name}.sh",
    ]
    for i in range(NRS):
        vs, a = i // PER_VS, rs_addr(i)
        if i % PER_VS == 0:
            lines += ["", f"[virtual_server f{vs}]", f"address = 10.9.0.{vs + 1}", "port = 80",
                      "protocol = TCP", f"delay_loop = {DELAY_LOOP:.3f}", "lb_algo = rr", "lb_kind = DR"]
        lines += ["", f"[real_server f{vs}/{a}:80]", "weight = 1",
                  "", f"[tcp_check f{vs}/{a}:80]", "connect_timeout = 1", "retry = 1",
                  "delay_before_retry = 1"]
    return "\n".join(lines) + "\n"


def keepalived_conf(ns, state, name):
    lines = [
        "global_defs {", f"    router_id {name}", "    script_user root", "}",
        "vrrp_instance VI_1 {", f"    state {state}", "    interface eth0",
        "    virtual_router_id 51", f"    priority {PRIO[ns]}", "    version 3",
        f"    advert_int {ADVERT}", "    virtual_ipaddress {", f"        {VIP}/32", "    }",
        f"    notify {work}/notify-{name}.sh", "}",
    ]
    for i in range(NRS):
        vs, a = i // PER_VS, rs_addr(i)
        if i % PER_VS == 0:
            if i > 0:
                lines.append("}")
            lines += [f"virtual_server 10.9.0.{vs + 1} 80 {{", f"    delay_loop {DELAY_LOOP:.3f}",
                      "    lb_algo rr", "    lb_kind DR", "    protocol TCP"]
        lines += [f"    real_server {a} 80 {{", "        weight 1", "        TCP_CHECK {",
                  "            connect_timeout 1", "            retry 1",
                  "            delay_before_retry 1", "        }", "    }"]
    lines.append("}")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ daemons


class Director:
    def __init__(self, impl, ns, name, state):
        self.impl, self.ns, self.name, self.state = impl, ns, name, state
        self.log = f"{work}/{impl}-{name}.log"
        self.notify_log = f"{work}/{impl}-{name}.notify"
        self.proc = None
        script = f"{work}/notify-{name}.sh"
        with open(script, "w") as f:
            f.write(f'#!/bin/sh\necho "$(date +%s.%N) $*" >> {self.notify_log}\n')
        os.chmod(script, 0o755)

    def start(self):
        if self.impl == "lvsd":
            cfg = f"{work}/{self.name}.ini"
            with open(cfg, "w") as f:
                f.write(lvsd_conf(self.ns, self.state, self.name))
            args = SCHED + [LVSD, "run", "--dry-run", "-c", cfg]
            self.proc = spawn(self.ns, args, out=self.log)
        else:
            cfg = f"{work}/{self.name}.conf"
            with open(cfg, "w") as f:
                f.write(keepalived_conf(self.ns, self.state, self.name))
            env = dict(os.environ, LD_PRELOAD=SHIM)
            base = f"{work}/ka-{self.name}"
            args = SCHED + ["keepalived", "-n", "-l", "-D", "-f", cfg, "-p", f"{base}.pid",
                            "-r", f"{base}.vrrp.pid", "-c", f"{base}.chk.pid"]
            self.proc = spawn(self.ns, args, out=self.log, env=env)

    def pids(self):
        """The daemon's processes (keepalived: parent, VRRP and checker)."""
        if self.proc is None or self.proc.poll() is not None:
            return []
        out = [self.proc.pid]
        if self.impl == "keepalived":
            for pid in os.listdir("/proc"):
                if not pid.isdigit():
                    continue
                stat = proc_stat(pid)
                if stat is None:
                    continue
                name, fields = stat
                if int(fields[1]) == self.proc.pid and "keepalived" in name:
                    out.append(int(pid))
        return out

    def cpu_ticks(self):
        return sum(proc_ticks(pid) for pid in self.pids())

    def schedstat(self):
        """(ns on a CPU, ns runnable but waiting for one) of its processes."""
        run = wait = 0
        for pid in self.pids():
            try:
                with open(f"/proc/{pid}/schedstat") as f:
                    v = f.read().split()
            except OSError:
                continue
            run, wait = run + int(v[0]), wait + int(v[1])
        return run, wait

    def status(self):
        if self.impl != "lvsd":
            return None
        r = subprocess.run([LVSD, "status", "--json", "--socket", f"{work}/{self.name}.sock"],
                           capture_output=True, text=True, timeout=10)
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def kill(self, pids):
        # Children first: keepalived's children get SIGTERM when their parent
        # dies (PR_SET_PDEATHSIG), and the VRRP child would then send its
        # priority-0 goodbye before our SIGKILL reached it.
        for pid in reversed(pids):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def stop(self):
        stop(self.proc, signal.SIGTERM, 10)
        for pid in self.pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def log_size(self):
        try:
            return os.path.getsize(self.log)
        except OSError:
            return 0

    def log_transitions(self, start, end):
        """State-change log lines between two offsets of the log."""
        with open(self.log, "rb") as f:
            f.seek(start)
            text = f.read(end - start).decode(errors="replace")
        # lvsd: "VRRP_Instance(VI_1) Entering MASTER STATE ...";
        # keepalived: "(VI_1) Entering MASTER STATE".
        pat = re.compile(r"VI_1\) Entering (MASTER|BACKUP|FAULT) STATE")
        return [m.group(1) for m in map(pat.search, text.splitlines()) if m]

    def notifies(self, t0, t1):
        """(time, state) of each notify call with t0 <= time < t1."""
        out = []
        try:
            with open(self.notify_log) as f:
                for line in f:
                    parts = line.split()
                    if len(parts) >= 4 and t0 <= float(parts[0]) < t1:
                        out.append((float(parts[0]), parts[3]))
        except OSError:
            pass
        return out


# ------------------------------------------------------------------ capture


def parse_capture(path, t0, t1, t_fault):
    """VRRP and ARP lines of `tcpdump -l -n -tt` on the front bridge.
    Returns the figures of the window [t0, t1) and of the takeover."""
    adverts = {ADDR[NS_D1]: [], ADDR[NS_D2]: []}
    garps = []
    for t, src, line in tcpdump_records(path):
        if "VRRP" in line and src in adverts:
            m = re.search(r"prio (\d+)", line)
            adverts[src].append((t, int(m.group(1)) if m else -1))
        elif "ARP" in line and (f"tell {VIP}," in line or f"Reply {VIP} is-at" in line):
            garps.append(t)
    m = [t for t, _ in adverts[ADDR[NS_D1]] if t0 <= t < t1]
    gaps = sorted((b - a) - ADVERT for a, b in zip(m, m[1:]))
    backup_in_window = [t for t, _ in adverts[ADDR[NS_D2]] if t0 <= t < t1]
    # Bursts of backup adverts: separate takeovers (a gap of > 1 s between).
    bursts = 0
    prev = None
    for t in backup_in_window:
        if prev is None or t - prev > 1.0:
            bursts += 1
        prev = t
    new_first = min((t for t, _ in adverts[ADDR[NS_D2]] if t >= t_fault - 0.005), default=None)
    old_last = max((t for t, _ in adverts[ADDR[NS_D1]] if new_first and t < new_first), default=None)
    garp = min((t for t in garps if new_first is not None and t >= new_first), default=None)

    def pct(p):
        if not gaps:
            return float("nan")
        return gaps[min(len(gaps) - 1, max(0, int(round(p * len(gaps) + 0.5)) - 1))]

    return {
        "adverts": len(m),
        "expected": (t1 - t0) / ADVERT,
        "late_p50": pct(0.50), "late_p99": pct(0.99), "late_p999": pct(0.999),
        "late_max": gaps[-1] if gaps else float("nan"),
        "gaps_over_bound": sum(1 for g in gaps if g + ADVERT > BOUND),
        "gaps_over_2": sum(1 for g in gaps if g + ADVERT > 2 * ADVERT),
        "backup_adverts": len(backup_in_window),
        "backup_bursts": bursts,
        "wire_takeover": (new_first - old_last) if (new_first and old_last) else None,
        "garp_after_fault": (garp - t_fault) if garp else None,
        "first_advert_after_fault": (new_first - t_fault) if new_first else None,
        "old_last_before_fault": (t_fault - old_last) if old_last else None,
    }


# ------------------------------------------------------------------ probe


def probe_figures(ev_path):
    """From the probe's event file: the fault mark and the requests around it."""
    mark = None
    reqs = []
    skipped = 0
    with open(ev_path, errors="replace") as f:
        for line in f:
            p = line.split()
            if not p:
                continue
            if p[0] == "M" and len(p) >= 3 and p[2] == "fault":
                mark = int(p[1])
            elif p[0] == "S" and len(p) >= 3:
                skipped += int(p[2])
            elif p[0] == "R" and len(p) >= 4:
                reqs.append((int(p[1]), int(p[2]), p[3] == "ok", p[4] if len(p) > 4 else ""))
    if mark is None:
        return None
    reqs.sort()
    before = [r for r in reqs if r[0] < mark]
    after = [r for r in reqs if r[0] >= mark]
    last_ok = max((r[0] for r in before if r[2]), default=None)
    first_ok_new = next((r for r in after if r[2] and r[3] == "dir2"), None)
    failed = [r for r in reqs if not r[2] and r[0] >= mark - 200_000]
    reasons = {}
    for r in failed:
        reasons[r[3]] = reasons.get(r[3], 0) + 1
    served_after = [r for r in after if r[2]]
    return {
        "requests": len([r for r in reqs if r[0] >= mark - 200_000]),
        "failed": len(failed),
        "reasons": reasons,
        "outage_ms": (first_ok_new[0] - last_ok) / 1000 if (first_ok_new and last_ok is not None) else None,
        "from_fault_ms": (first_ok_new[0] - mark) / 1000 if first_ok_new else None,
        "dir1_after": sum(1 for r in served_after if r[3] == "dir1"),
        "skipped": skipped,
    }


def probe_report(ev_path):
    r = subprocess.run([TRAFFIC, "report", ev_path, "--fault", "fault"], capture_output=True, text=True)
    m = re.search(r"^RESULT.*", r.stdout, re.M)
    res = dict(kv.split("=", 1) for kv in m.group(0).split()[1:] if "=" in kv) if m else {}
    return res, r.stdout


# ------------------------------------------------------------------ one daemon


def proc_ticks(pid):
    """utime + stime of one process, in ticks (0 when it is gone)."""
    stat = proc_stat(pid)
    if stat is None:
        return 0
    fields = stat[1]
    return int(fields[11]) + int(fields[12])


def cpu_stat():
    """The machine's CPU time by kind (/proc/stat's cpu line), in ticks."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    names = ["user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal"]
    return dict(zip(names, v))


def load():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def hist_text(h):
    if not h or not h.get("count"):
        return "-"
    return (f"n={h['count']} p50={h['p50_us']}us p99={h['p99_us']}us p999={h['p999_us']}us "
            f"max={h['max_us']}us")


def run_impl(impl, rs_farm):
    d1 = Director(impl, NS_D1, "dir1", "MASTER")
    d2 = Director(impl, NS_D2, "dir2", "BACKUP")
    dirs = (d1, d2)
    cap = probe = tcpdump = None
    try:
        d1.start()
        d2.start()
        if not wait_for(lambda: has_vip(NS_D1), 60, 0.2):
            print(f"  {impl}: dir1 never took the VIP; log: {open(d1.log, errors='replace').read()[-600:]}")
            return None
        time.sleep(SETTLE)
        if not has_vip(NS_D1) or has_vip(NS_D2):
            print(f"  {impl}: after settling the VIP is on dir1 {has_vip(NS_D1)}, dir2 {has_vip(NS_D2)}")
        cap = f"{work}/{impl}.cap"
        tcpdump = spawn(NS_LAN, ["tcpdump", "-l", "-n", "-tt", "--time-stamp-precision=nano", "-i", "br0",
                                 "ip proto 112 or arp"], out=f"{work}/{impl}.tcpdump.err",
                        stdout=open(cap, "wb"))
        time.sleep(1.0)
        hz = os.sysconf("SC_CLK_TCK")
        logs0 = [d.log_size() for d in dirs]
        cpu0 = [d.cpu_ticks() for d in dirs]
        ss0 = [d.schedstat() for d in dirs]
        st0 = [d.status() for d in dirs]
        acc0 = farm_stats(rs_farm)
        farm0 = proc_ticks(rs_farm.pid)
        mach0 = cpu_stat()
        load0 = load()
        t0 = time.time()
        m0 = time.monotonic()
        time.sleep(MIN * 60)
        el = time.monotonic() - m0
        t1 = time.time()
        cpu1 = [d.cpu_ticks() for d in dirs]
        ss1 = [d.schedstat() for d in dirs]
        st1 = [d.status() for d in dirs]
        acc1 = farm_stats(rs_farm)
        farm1 = proc_ticks(rs_farm.pid)
        mach1 = cpu_stat()
        logs1 = [d.log_size() for d in dirs]
        load1 = load()
        # The fault, measured from the traffic.
        ev = f"{work}/{impl}.ev"
        probe = spawn(NS_C, TOOL_SCHED + [TRAFFIC, "run", "--vip", VIP, "--rate", str(RATE), "--long", "0",
                             "--timeout-ms", "200", "--out", ev], out=f"{work}/{impl}.probe.err",
                      stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        line = probe.stdout.readline().decode().strip()
        if line != "ready":
            print(f"  {impl}: probe not ready: {line!r}")
            return None
        # The fault must be one instant: the pids are read and the link
        # command is loaded beforehand (`ip -batch -` runs each line as it
        # comes).
        link = subprocess.Popen(["ip", "-n", NS_D1, "-batch", "-"], stdin=subprocess.PIPE)
        procs.append(link)
        pids = d1.pids()
        time.sleep(2.0)
        probe.stdin.write(b"mark fault\n")
        probe.stdin.flush()
        t_fault = time.time()
        d1.kill(pids)
        link.stdin.write(b"link set eth0 down\n")
        link.stdin.close()
        took = wait_for(lambda: has_vip(NS_D2), 10, 0.01)
        t_vip = time.time()
        time.sleep(2.0)
        probe.stdin.write(b"stop\n")
        probe.stdin.flush()
        probe.wait(timeout=20)
        time.sleep(0.3)
        stop(tcpdump, signal.SIGINT)
        # Figures.
        w = parse_capture(cap, t0, t1, t_fault)
        pf = probe_figures(ev)
        res, rep_text = probe_report(ev)
        with open(f"{work}/{impl}.report", "w") as f:
            f.write(rep_text)
        notif = [d.notifies(t0, t1) for d in dirs]
        logtr = [d.log_transitions(a, b) for d, a, b in zip(dirs, logs0, logs1)]
        cpu = [100.0 * (b - a) / hz / el for a, b in zip(cpu0, cpu1)]
        checks = (acc1 - acc0) / el / 2
        row = {
            "impl": impl, "minutes": el / 60, "load": f"{load0} -> {load1}", "w": w, "probe": pf,
            "report": res, "notify": notif, "logtr": logtr, "cpu": cpu, "checks": checks,
            "took": took, "vip_after": t_vip - t_fault,
            "sched": [(100.0 * (b[0] - a[0]) / 1e9 / el, 100.0 * (b[1] - a[1]) / 1e9 / el) for a, b in zip(ss0, ss1)],
            "farm_cpu": 100.0 * (farm1 - farm0) / hz / el,
            "machine": {k: 100.0 * (mach1[k] - mach0[k]) / hz / el for k in mach0},
        }
        if impl == "lvsd" and all(st0) and all(st1):
            v0 = [s["vrrp"][0] for s in st0]
            v1 = [s["vrrp"][0] for s in st1]
            row["lvsd_changes"] = [
                (b["became_master"] - a["became_master"]) + (b["released_master"] - a["released_master"])
                for a, b in zip(v0, v1)
            ]
            row["lvsd_adv"] = hist_text(v1[0].get("advert_lateness"))
            row["lvsd_chk"] = hist_text((st1[0].get("checks") or {}).get("start_lateness"))
            row["lvsd_put_off"] = st1[0].get("work_put_off")
            row["lvsd_run"] = [((b.get("checks") or {}).get("run", 0) - (a.get("checks") or {}).get("run", 0)) / el
                               for a, b in zip(st0, st1)]
        return row
    finally:
        for p in (probe, tcpdump):
            stop(p, signal.SIGKILL)
        for d in dirs:
            d.stop()
        subprocess.run(["ip", "-n", NS_D1, "link", "set", "eth0", "up"], capture_output=True)
        for d in dirs:
            subprocess.run(["ip", "-n", d.ns, "addr", "del", f"{VIP}/32", "dev", "eth0"], capture_output=True)


def ms(v):
    return "-" if v is None or v != v else f"{v * 1000:.1f}"


def print_row(r):
    impl, w, pf, res = r["impl"], r["w"], r["probe"], r["report"]
    n1, n2 = (len(x) for x in r["notify"])
    l1, l2 = (len(x) for x in r["logtr"])
    print(f"{impl}: {r['minutes']:.1f} min, load {r['load']}")
    print(f"  false failovers: notify calls dir1 {n1} dir2 {n2}; log state lines dir1 {l1} dir2 {l2}"
          + (f"; status became/released master dir1 {r['lvsd_changes'][0]} dir2 {r['lvsd_changes'][1]}"
             if "lvsd_changes" in r else "")
          + f"; backup adverts on the wire {w['backup_adverts']} in {w['backup_bursts']} burst(s)")
    print(f"  master adverts on the wire {w['adverts']} of {w['expected']:.0f}; lateness (gap - 10 ms) "
          f"p50 {ms(w['late_p50'])} p99 {ms(w['late_p99'])} p99.9 {ms(w['late_p999'])} max {ms(w['late_max'])} ms; "
          f"gaps > 20 ms {w['gaps_over_2']}, > bound {BOUND * 1000:.1f} ms {w['gaps_over_bound']}")
    if "lvsd_adv" in r:
        print(f"  lvsd's own (since start, master): advert lateness {r['lvsd_adv']}; "
              f"check start lateness {r['lvsd_chk']}; work put off behind VRRP timers {r['lvsd_put_off']}; "
              f"checks run/s dir1 {r['lvsd_run'][0]:.0f} dir2 {r['lvsd_run'][1]:.0f}")
    print(f"  CPU (utime+stime, % of one core): dir1 {r['cpu'][0]:.1f} dir2 {r['cpu'][1]:.1f}; "
          f"checks served/s per director {r['checks']:.0f}; real servers' farm {r['farm_cpu']:.1f}")
    (r1, w1), (r2, w2) = r["sched"]
    print(f"  scheduler (/proc/PID/schedstat, % of the window): on a CPU dir1 {r1:.1f} dir2 {r2:.1f}; "
          f"runnable but waiting for a CPU dir1 {w1:.2f} dir2 {w2:.2f}")
    mc = r["machine"]
    print("  machine over the window (% of one core, " + f"{os.cpu_count()} cores): "
          + ", ".join(f"{k} {mc[k]:.0f}" for k in ("user", "nice", "system", "softirq", "steal", "idle")))
    if pf is None:
        print("  takeover: no fault mark in the probe's file")
        return
    print(f"  takeover after SIGKILL (+ link down) from the traffic: outage window {res.get('outage_ms', '-')} ms "
          f"(traffic report: last success before the failures -> first success after); fault -> first success from dir2 "
          f"{ms(pf['from_fault_ms'] and pf['from_fault_ms'] / 1000)} ms; failed {pf['failed']}/{pf['requests']} {pf['reasons']}; "
          f"probe slots skipped (probe late) {pf['skipped']}")
    print(f"  on the wire: fault -> new master's first advert {ms(w['first_advert_after_fault'])} ms, -> first GARP "
          f"{ms(w['garp_after_fault'])} ms; old master's last advert -> new master's first {ms(w['wire_takeover'])} ms "
          f"(bound {BOUND * 1000:.1f} ms); target from the traffic <= {TARGET_MS:.0f} ms")


def main(argv):
    global LVSD, FARM, TRAFFIC, SHIM
    if len(argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    LVSD = os.path.abspath(argv[1])
    ex = os.path.abspath(argv[2])
    FARM, TRAFFIC, SHIM = f"{ex}/farm", f"{ex}/traffic", f"{ex}/libka_noipvs.so"
    impls = [i for i in IMPLS if i != "keepalived" or shutil.which("keepalived")]
    if impls != IMPLS:
        print("  keepalived not installed: lvsd only")
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    if TOOL_SCHED:
        # The driver too: the fault it sends must not wait for a CPU.
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(5))
    try:
        build()
        for ns, name in ((NS_D1, "dir1"), (NS_D2, "dir2")):
            with open(f"{work}/{name}.html", "w") as f:
                f.write(f"{name}\n")
        rs_farm = farm(NS_RS, [RS_FIRST, str(NRS), "80", "tcp"], "rs")
        for ns, name in ((NS_D1, "dir1"), (NS_D2, "dir2")):
            farm(ns, ["0.0.0.0", "1", "80", "http", f"{work}/{name}.html"], f"{name}-www")
        sched = " ".join(SCHED) if SCHED else "ordinary (SCHED_OTHER, nice 0)"
        print(f"  {CHECKS} TCP checks/s per director: {NRS} real servers, delay_loop {DELAY_LOOP:.3f} s, "
              f"connect_timeout 1, retry 1; VRRPv3 advert_int {ADVERT} s, priorities 100/90, bound "
              f"3 x 10 + {SKEW * 1000:.2f} = {BOUND * 1000:.1f} ms; {MIN:g} min per daemon; probe {RATE} requests/s; "
              f"scheduling {sched} (probe, responders, real servers: {' '.join(TOOL_SCHED) or 'ordinary'}); "
              f"{os.cpu_count()} CPUs")
        for impl in impls:
            r = run_impl(impl, rs_farm)
            if r:
                print_row(r)
            sys.stdout.flush()
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
