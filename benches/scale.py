#!/usr/bin/env python3
"""Scale figures for the checker and the VRRP loop (root; one network
namespace of its own with a veth pair and its own loopback).

    scale.py LVSD FARM FLOOD checks tcp N    N real servers, TCP_CHECK every 1 s
    scale.py LVSD FARM FLOOD checks http N   N real servers, HTTP_GET + digest every 1 s
    scale.py LVSD FARM FLOOD vrrp-idle N     N VRRPv3 instances, advert_int 0.1 s
    scale.py LVSD FARM FLOOD flood RATE      bad adverts at RATE/s against one instance

The checks runs also hold one VRRPv3 instance (advert_int 0.1 s) in the same
loop, so its advert lateness is measured under that check load. lvsd runs with
--dry-run (this host's kernel has no IPVS); everything else is real: sockets,
connects, HTTP, MD5, timers. Figures:

- CPU: lvsd's utime+stime over the window (/proc/PID/stat), % of one core.
- RSS: VmRSS at the end of the window and VmHWM (peak).
- check start lateness: lvsd's own histogram (clock read after the probe's
  connect went out, against the schedule).
- advert lateness: a tcpdump on the veth peer (gap between adverts minus
  advert_int) and lvsd's own histogram (clock read after the send).
- detection: servers stopped at random moments; the time from the farm
  closing the listener to lvsd's "is DOWN" log line, against the bound the
  configuration gives (delay_loop + retry x delay_before_retry).

Prints figures; asserts nothing. Everything it started is stopped and the
namespace deleted, also on failure.
"""

import hashlib
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

NS = f"lvsdscale{os.getpid()}"
PEER = f"lvsdscalep{os.getpid()}"
NET = "10.254.60"
procs = []
workdir = tempfile.mkdtemp(prefix="lvsd-scale.")
WINDOW = float(os.environ.get("WINDOW", "20"))


def sh(*args, check=True):
    return subprocess.run(args, check=check, capture_output=True, text=True)


def cleanup():
    for p in procs:
        if p.poll() is None:
            p.kill()
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    sh("ip", "netns", "del", NS, check=False)
    sh("ip", "netns", "del", PEER, check=False)
    shutil.rmtree(workdir, ignore_errors=True)


def raise_nofile():
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else min(65536, hard)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(want, hard)))
    except (ValueError, OSError):
        pass


def nsexec(*args, ns=None, **kw):
    p = subprocess.Popen(
        ["ip", "netns", "exec", ns or NS, *args], preexec_fn=raise_nofile, **kw
    )
    procs.append(p)
    return p


def setup_ns():
    """lvsd's namespace (v0, the farm on its loopback) and a peer namespace
    (v1: the capture and the flood; a packet from a local address would be
    dropped by the kernel as a martian before lvsd saw it)."""
    sh("ip", "netns", "add", NS)
    sh("ip", "netns", "add", PEER)
    sh("ip", "-n", NS, "link", "set", "lo", "up")
    sh("ip", "-n", NS, "link", "add", "v0", "type", "veth", "peer", "name", "v1", "netns", PEER)
    sh("ip", "-n", NS, "addr", "add", f"{NET}.1/24", "dev", "v0")
    sh("ip", "-n", PEER, "addr", "add", f"{NET}.2/24", "dev", "v1")
    sh("ip", "-n", NS, "link", "set", "v0", "up")
    sh("ip", "-n", PEER, "link", "set", "v1", "up")


class Lvsd:
    """lvsd in the namespace; stderr lines stamped with monotonic time."""

    def __init__(self, binary, config_text):
        self.binary = binary
        self.sock = os.path.join(workdir, "lvsd.sock")
        self.cfg = os.path.join(workdir, "lvsd.ini")
        with open(self.cfg, "w") as f:
            f.write(f"[global]\ncontrol_socket = {self.sock}\n\n" + config_text)
        self.lines = []
        self.p = nsexec(
            binary, "run", "--dry-run", "-c", self.cfg,
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + 60
        while not os.path.exists(self.sock):
            if self.p.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("lvsd did not start:\n" + "".join(l for _, l in self.lines))
            time.sleep(0.05)

    def _read(self):
        for line in self.p.stderr:
            self.lines.append((time.monotonic(), line))

    def status(self):
        return subprocess.run(
            [self.binary, "status", "--socket", self.sock],
            capture_output=True, text=True, timeout=30,
        ).stdout

    def cpu_ticks(self):
        return sum(self.cpu_split())

    def cpu_split(self):
        """(user, system) clock ticks."""
        with open(f"/proc/{self.p.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]), int(fields[12])

    def mem(self):
        out = {}
        with open(f"/proc/{self.p.pid}/status") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("VmRSS", "VmHWM"):
                    out[k] = int(v.split()[0])
        return out

    def stop(self):
        self.p.send_signal(signal.SIGTERM)
        try:
            self.p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.p.kill()


def status_field(text, pattern, default=None):
    m = re.search(pattern, text)
    return m.group(1) if m else default


def measure_window(lvsd, seconds):
    """CPU % of one core and checks run per second over a window."""
    hz = os.sysconf("SC_CLK_TCK")
    r0 = int(status_field(lvsd.status(), r"run (\d+)", "0"))
    t0, (u0, s0) = time.monotonic(), lvsd.cpu_split()
    time.sleep(seconds)
    t1, (u1, s1) = time.monotonic(), lvsd.cpu_split()
    r1 = int(status_field(lvsd.status(), r"run (\d+)", "0"))
    user = (u1 - u0) / hz / (t1 - t0) * 100
    system = (s1 - s0) / hz / (t1 - t0) * 100
    lvsd.last_split = (user, system)
    return user + system, (r1 - r0) / (t1 - t0)


def pct(values, q):
    if not values:
        return float("nan")
    v = sorted(values)
    return v[min(len(v) - 1, max(0, int(q * len(v) + 0.999999) - 1))]


class Capture:
    """tcpdump of lvsd's adverts as they arrive on the veth peer."""

    def __init__(self):
        self.p = nsexec(
            "tcpdump", "-i", "v1", "-nn", "-tt", "-l", "--immediate-mode", "-s", "128", "-B", "8192",
            f"vrrp and src host {NET}.1", ns=PEER,
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        self.times = {}
        threading.Thread(target=self._read, daemon=True).start()
        time.sleep(1.0)

    def _read(self):
        for line in self.p.stdout:
            m = re.match(r"(\d+\.\d+) .*vrid (\d+)", line)
            if m:
                self.times.setdefault(int(m.group(2)), []).append(float(m.group(1)))

    def lateness_ms(self, interval, since=0.0):
        """Gap between consecutive adverts of each VRID minus the interval,
        for adverts sent after `since` (wall clock, as tcpdump stamps)."""
        late = []
        for ts in self.times.values():
            ts = [t for t in ts if t >= since]
            late += [(b - a - interval) * 1000 for a, b in zip(ts, ts[1:])]
        return late

    def stop(self):
        self.p.terminate()
        try:
            self.p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.p.kill()


def fmt_dist(values, unit="ms"):
    if not values:
        return "no samples"
    return (
        f"n={len(values)} min {min(values):.3f} p50 {pct(values, 0.5):.3f} "
        f"p99 {pct(values, 0.99):.3f} max {max(values):.3f} {unit}"
    )


def vrrp_section(name, vrid, prio=200, version=3, advert="0.1", auth=""):
    return (
        f"[vrrp_instance {name}]\nstate = MASTER\ninterface = v0\n"
        f"virtual_router_id = {vrid}\npriority = {prio}\nversion = {version}\n"
        f"advert_int = {advert}\n{auth}virtual_ipaddress = {NET}.{100 + vrid % 100}\n\n"
    )


def farm_start(farm, n, mode, body=None):
    args = [farm, "127.1.0.1", str(n), "80", mode] + ([body] if body else [])
    p = nsexec(
        *args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1
    )
    if p.stdout.readline().strip() != "ready":
        raise SystemExit("farm did not start")
    return p


def farm_cmd(p, line):
    p.stdin.write(line + "\n")
    p.stdin.flush()
    return p.stdout.readline().strip()


def addr(i):
    base = (127 << 24) | (1 << 16) | 1
    v = base + i
    return f"{v >> 24}.{(v >> 16) & 255}.{(v >> 8) & 255}.{v & 255}"


def checks(lvsd_bin, farm_bin, mode, n):
    delay_loop, retry, dbr, timeout = 1, 2, 1, 1
    body_path = None
    digest = None
    if mode == "http":
        body_path = os.path.join(workdir, "index.html")
        body = b"<html><body>lvsd scale farm</body></html>\n" * 4
        with open(body_path, "wb") as f:
            f.write(body)
        digest = hashlib.md5(body).hexdigest()
    farm = farm_start(farm_bin, n, mode, body_path)
    floor = None
    if mode == "tcp":
        # The same connects with nothing around them, before lvsd starts.
        connloop = os.path.join(os.path.dirname(farm_bin), "connloop")
        out = nsexec(
            connloop, "127.1.0.1", str(n), "80", str(n / delay_loop), str(min(WINDOW, 10)),
            stdout=subprocess.PIPE, text=True,
        ).communicate()[0].strip()
        floor = out
    per_vs = 64
    text = [vrrp_section("VI_LOAD", 1)]
    for v in range((n + per_vs - 1) // per_vs):
        text.append(
            f"[virtual_server vs{v}]\naddress = {NET}.101\nport = {10000 + v}\n"
            f"protocol = TCP\nlb_algo = rr\nlb_kind = NAT\ndelay_loop = {delay_loop}\n"
            f"connect_timeout = {timeout}\nretry = {retry}\ndelay_before_retry = {dbr}\n\n"
        )
        for i in range(v * per_vs, min(n, (v + 1) * per_vs)):
            a = addr(i)
            text.append(f"[real_server vs{v}/{a}:80]\nweight = 1\n\n")
            if mode == "tcp":
                text.append(f"[tcp_check vs{v}/{a}:80]\n\n")
            else:
                text.append(f"[http_get vs{v}/{a}:80]\nurl = path=/ digest={digest}\n\n")
    cap = Capture()
    lvsd = Lvsd(lvsd_bin, "".join(text))
    settle = delay_loop * 3 + 2
    time.sleep(settle)
    since = time.time()
    st = lvsd.status()
    down0 = st.count("DEAD")
    cpu, rate = measure_window(lvsd, WINDOW)
    mem = lvsd.mem()
    st = lvsd.status()
    label = "TCP_CHECK" if mode == "tcp" else "HTTP_GET+digest"
    print(f"{label} x {n} real servers, every {delay_loop} s (window {WINDOW:.0f} s after {settle} s):")
    print(f"  checks run: {rate:.0f}/s; servers DEAD before the stops: {down0}")
    user, system = lvsd.last_split
    print(
        f"  lvsd CPU: {cpu:.1f}% of one core (user {user:.1f}%, kernel {system:.1f}%) (target <= 15%)"
    )
    print(
        f"  lvsd RSS: {mem.get('VmRSS', 0) / 1024:.1f} MiB, peak {mem.get('VmHWM', 0) / 1024:.1f} MiB (target <= 16 MiB)"
    )
    if floor:
        print(f"  floor, a bare connect+close loop at the same rate on the same farm: {floor}")
    lat = status_field(st, r"start lateness: (.*)")
    print(f"  check start lateness since start (lvsd): {lat} (target p99 <= 20 ms)")
    pool = status_field(st, r"(in flight \d+, pool waits \d+ rejected \d+)")
    print(f"  pool: {pool}")
    adv = status_field(st, r"advert lateness: (.*)")
    print(f"  VRRP advert lateness under this load (lvsd): {adv} (target p99 <= 1 ms)")
    print(f"  VRRP advert gap - advert_int in the window (capture): {fmt_dist(cap.lateness_ms(0.1, since))}")

    # Detection: stop servers at random moments, time the DOWN log line.
    k = min(100, n // 10)
    victims = random.Random(7).sample(range(n), k)
    stopped = {}
    for i in victims:
        time.sleep(random.uniform(0, 3.0 / k))
        farm_cmd(farm, f"stop {i}")
        stopped[addr(i)] = time.monotonic()
    lo, hi = retry * dbr, delay_loop + retry * dbr
    time.sleep(hi + 3)
    found = {}
    for t, line in lvsd.lines:
        m = re.search(r"real server (\S+):80 in \S+ is DOWN", line)
        if m and m.group(1) in stopped and m.group(1) not in found:
            found[m.group(1)] = t - stopped[m.group(1)]
    det = sorted(found.values())
    print(
        f"  detection ({k} servers stopped at random moments, refused): "
        f"{fmt_dist(det, 's')}; bound [{lo}, {hi}] s (retry x delay_before_retry .. + delay_loop); "
        f"{sum(1 for d in det if d > hi + 0.05)} over the bound, {k - len(det)} never seen"
    )
    lvsd.stop()
    cap.stop()
    farm.stdin.close()


def vrrp_idle(lvsd_bin, n):
    text = "".join(vrrp_section(f"VI_{i}", i + 1) for i in range(n))
    cap = Capture()
    lvsd = Lvsd(lvsd_bin, text)
    time.sleep(5)
    since = time.time()
    cpu, _ = measure_window(lvsd, WINDOW)
    mem = lvsd.mem()
    st = lvsd.status()
    masters = st.count(": MASTER")
    print(f"{n} VRRPv3 instances, advert_int 0.1 s, all MASTER ({masters} seen) on one veth:")
    print(f"  lvsd CPU: {cpu:.2f}% of one core over {WINDOW:.0f} s")
    print(f"  lvsd RSS: {mem.get('VmRSS', 0) / 1024:.1f} MiB, peak {mem.get('VmHWM', 0) / 1024:.1f} MiB")
    print(f"  advert gap - advert_int in the window (capture): {fmt_dist(cap.lateness_ms(0.1, since))}")
    worst = max(
        (status_field(l, r"max=(\d+)us", "0") for l in st.splitlines() if "advert lateness" in l),
        key=int,
        default="0",
    )
    print(f"  advert lateness since start, worst instance's max (lvsd): {worst} us")
    lvsd.stop()
    cap.stop()


def flood(lvsd_bin, flood_bin, rate):
    auth = "auth_type = PASS\nauth_pass = 1111\n"
    text = vrrp_section("VI_1", 51, version=2, advert="1", auth=auth)
    cap = Capture()
    lvsd = Lvsd(lvsd_bin, text)
    time.sleep(5)
    since = time.time()
    hz = os.sysconf("SC_CLK_TCK")
    c0 = lvsd.cpu_ticks()
    t0 = time.monotonic()
    f = nsexec(
        flood_bin, "v1", str(rate), str(WINDOW), ns=PEER, stdout=subprocess.PIPE, text=True
    )
    out = f.communicate()[0].strip()
    cpu = (lvsd.cpu_ticks() - c0) / hz / (time.monotonic() - t0) * 100
    time.sleep(0.5)
    st = lvsd.status()
    print(f"bad-advert flood against one VRRPv2 instance (advert_int 1 s), {WINDOW:.0f} s:")
    print(f"  {out}")
    drops = status_field(st, r"  dropped: (.*)", "none")
    print(f"  lvsd dropped and counted for the instance: {drops}")
    other = status_field(st, r"vrrp receiver .*: dropped (.*)", "none")
    print(f"  lvsd dropped and counted on the socket (no instance to blame): {other}")
    print(f"  lvsd CPU during the flood: {cpu:.1f}% of one core")
    adv = status_field(st, r"advert lateness: (.*)")
    print(f"  own advert lateness (lvsd): {adv} (target: delayed by <= 5 ms)")
    print(f"  own advert gap - advert_int during the flood (capture): {fmt_dist(cap.lateness_ms(1.0, since))}")
    lvsd.stop()
    cap.stop()


def main():
    if len(sys.argv) < 6:
        print(__doc__)
        sys.exit(2)
    lvsd_bin, farm_bin, flood_bin, what, arg = sys.argv[1:6]
    try:
        setup_ns()
        if what == "checks":
            checks(os.path.abspath(lvsd_bin), os.path.abspath(farm_bin), arg, int(sys.argv[6]))
        elif what == "vrrp-idle":
            vrrp_idle(os.path.abspath(lvsd_bin), int(arg))
        elif what == "flood":
            flood(os.path.abspath(lvsd_bin), os.path.abspath(flood_bin), int(arg))
        else:
            print(__doc__)
            sys.exit(2)
    finally:
        cleanup()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    main()
