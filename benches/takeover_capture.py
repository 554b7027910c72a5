#!/usr/bin/env python3
"""Takeover figures from a tcpdump text capture (vrrp_takeover.bench.sh).

    takeover_capture.py measure CAPTURE OLD NEW VIP VER ADVERT PRIO SIG
        prints "takeover_s bound_s garp_after_s" (garp -1 when none), or "fail"
    takeover_capture.py row IMPL VER ADVERT SIG RUN TAKEOVER BOUND GARP
        prints one row of the bench's table

The capture is `tcpdump -l -n -tt` of "ip proto 112 or arp": field 1 is the
time, field 3 the source address. The takeover is the gap from the old
master's last advert to the new master's first; the bound is the protocol's
(3 adverts + skew after a kill, the skew alone after a priority-0 goodbye).
"""
import sys

from benchlib import tcpdump_records


def measure(path, old, new, vip, ver, adv, prio, sig):
    last_old = first_new = garp = None
    for t, src, line in tcpdump_records(path):
        if "VRRP" in line and first_new is None:
            if src == old:
                last_old = t
            elif src == new:
                first_new = t
        elif "ARP" in line and first_new is not None and garp is None:
            if f"tell {vip}," in line:
                garp = t
    if first_new is None or last_old is None:
        return "fail"
    skew = (256 - prio) * adv / 256 if ver == 3 else (256 - prio) / 256
    bound = 3 * adv + skew if sig == "KILL" else skew
    g = garp - first_new if garp is not None else -1
    return f"{first_new - last_old:.6f} {bound:.6f} {g:.6f}"


def row(impl, ver, adv, sig, run, takeover, bound, garp):
    t, b, g = float(takeover), float(bound), float(garp)
    garp_ms = "none" if g < 0 else f"{g * 1000:.3f}"
    return f"{impl:<10} {ver:<4} {adv:<7} {sig:<5} {run:<4} {t:12.6f} {b:12.6f} {(t - b) * 1000:+12.3f} {garp_ms:>14}"


def main(argv):
    if len(argv) == 10 and argv[1] == "measure":
        _, _, path, old, new, vip, ver, adv, prio, sig = argv
        print(measure(path, old, new, vip, int(ver), float(adv), int(prio), sig))
    elif len(argv) == 10 and argv[1] == "row":
        print(row(*argv[2:]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
