//! A status value with something in every field, for the renderers' golden tests.

use super::*;
use crate::wire::netlink::ipvs::{
    flags, AddrFamily, ForwardMethod, Protocol, Scheduler, TrafficRates, TrafficStats,
    TrafficTotals,
};
use std::net::IpAddr;

fn hist(values_us: &[u64]) -> Histogram {
    let mut h = Histogram {
        count: values_us.len() as u64,
        sum_us: values_us.iter().sum(),
        max_us: values_us.iter().copied().max().unwrap_or(0),
        ..Histogram::default()
    };
    for (i, le) in HISTOGRAM_BOUNDS_US.iter().enumerate() {
        h.below[i] = values_us.iter().filter(|v| **v < *le).count() as u64;
    }
    h.p50_us = 40;
    h.p99_us = 300;
    h.p999_us = h.max_us;
    h
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn drops(pairs: &[(&'static str, u64)]) -> Vec<(&'static str, u64)> {
    crate::vrrp::receive::DropReason::ALL
        .iter()
        .map(|r| {
            let n = pairs
                .iter()
                .find(|(name, _)| *name == r.as_str())
                .map_or(0, |p| p.1);
            (r.as_str(), n)
        })
        .collect()
}

/// The sample.
pub fn status() -> Status {
    let vip = ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: ip("10.0.0.100"),
        port: 80,
    };
    let fwm = ServiceKey::Fwmark {
        af: AddrFamily::V4,
        mark: 7,
    };
    let mut rs1 = Dest::new(ip("10.0.0.11"), 80, ForwardMethod::Route, 1);
    rs1.weight = 1;
    let rs2 = Dest::new(ip("10.0.0.12"), 80, ForwardMethod::Route, 0);
    let mut svc = Service::new(vip, Scheduler::Rr);
    svc.flags = 0;
    let mut sh = Service::new(fwm, Scheduler::Sh).persistent(300, 24);
    sh.flags |= flags::SH_PORT;
    Status {
        version: "0.1.0".into(),
        uptime_s: 3725,
        start_time_unix: 1_796_300_000.5,
        config_path: "/etc/lvsd/lvsd.ini".into(),
        reload: Reload {
            count: 2,
            rejected: 1,
            last_success_unix: 1_796_303_000.25,
            last_result: "rejected: lvsd.ini:12: weight \"x\" is not a number".into(),
        },
        yields: 4,
        ipvs: Some(Ipvs {
            version: 0x01_02_01,
            conn_tab_size: 4096,
            dump_error: None,
            kernel: vec![
                KernelService {
                    service: svc,
                    stats: TrafficStats {
                        totals: TrafficTotals {
                            connections: 1501,
                            packets_in: 90_010,
                            packets_out: 0,
                            bytes_in: 7_200_800,
                            bytes_out: 0,
                        },
                        rates: TrafficRates {
                            connections: 2,
                            packets_in: 120,
                            packets_out: 0,
                            bytes_in: 9_600,
                            bytes_out: 0,
                        },
                    },
                    dests: vec![
                        (
                            rs1,
                            DestStats {
                                active_conns: 3,
                                inactive_conns: 12,
                                persist_conns: 0,
                                totals: TrafficTotals {
                                    connections: 1500,
                                    packets_in: 90_000,
                                    packets_out: 0,
                                    bytes_in: 7_200_000,
                                    bytes_out: 0,
                                },
                                rates: TrafficRates {
                                    connections: 2,
                                    packets_in: 120,
                                    packets_out: 0,
                                    bytes_in: 9_600,
                                    bytes_out: 0,
                                },
                            },
                        ),
                        (
                            rs2,
                            DestStats {
                                active_conns: 1,
                                inactive_conns: 0,
                                persist_conns: 0,
                                totals: TrafficTotals::default(),
                                rates: TrafficRates::default(),
                            },
                        ),
                    ],
                },
                KernelService {
                    service: sh,
                    stats: TrafficStats::default(),
                    dests: vec![],
                },
            ],
            services: vec![
                HealthService {
                    key: vip,
                    name: "web".into(),
                    quorum_up: true,
                    real_servers: vec![
                        RealServer {
                            key: rs1.key,
                            state: "alive",
                            alive: true,
                            weight: Some(1),
                            configured_weight: 1,
                            admin: Admin::None,
                            reason: "configured".into(),
                        },
                        RealServer {
                            key: rs2.key,
                            state: "alive",
                            alive: true,
                            weight: Some(0),
                            configured_weight: 1,
                            admin: Admin::Drain(std::time::Instant::now()),
                            reason: "TCP_CHECK 10.0.0.12:80 passed".into(),
                        },
                    ],
                },
                HealthService {
                    key: fwm,
                    name: "mark \"7\"".into(),
                    quorum_up: false,
                    real_servers: vec![RealServer {
                        key: DestKey {
                            addr: ip("fd00::13"),
                            port: 443,
                        },
                        state: "DEAD",
                        alive: false,
                        weight: None,
                        configured_weight: 5,
                        admin: Admin::Weight(9),
                        reason: "TCP_CHECK [fd00::13]:443 failed: timed out".into(),
                    }],
                },
            ],
            foreign: vec!["service UDP 10.0.0.200:53".into()],
            reconciles: 41,
            writes: 7,
            refused: 1,
            sync_daemon: "master",
            last_reconcile_us: 2_345,
            reconcile_duration: hist(&[900, 2_345, 40]),
            unacknowledged_writes: 3,
            totals: Some(TrafficStats {
                totals: TrafficTotals {
                    connections: 4_000,
                    packets_in: 250_000,
                    packets_out: 17,
                    bytes_in: 20_000_000,
                    bytes_out: 1_700,
                },
                rates: TrafficRates::default(),
            }),
        }),
        vrrp: vec![
            VrrpInstance {
                name: "VI_1".into(),
                vrid: 51,
                interface: "eth0".into(),
                state: "MASTER",
                priority: 150,
                configured_priority: 150,
                held: false,
                vips: vec!["10.0.0.100".into()],
                adverts_sent: 3700,
                adverts_received: 2,
                became_master: 1,
                released_master: 0,
                drops: drops(&[("bad_auth", 3), ("bad_ttl", 1)]),
                vip_mismatches: 1,
                answers_limited: 2,
                notify_coalesced: 0,
                advert_lateness: hist(&[10, 30, 35, 60, 300, 1_500]),
            },
            VrrpInstance {
                name: "VI_2".into(),
                vrid: 52,
                interface: "eth0".into(),
                state: "BACKUP",
                priority: 100,
                configured_priority: 100,
                held: true,
                vips: vec!["10.0.0.101".into(), "fd00::101".into()],
                adverts_sent: 10,
                adverts_received: 3600,
                became_master: 1,
                released_master: 1,
                drops: drops(&[]),
                vip_mismatches: 0,
                answers_limited: 0,
                notify_coalesced: 0,
                advert_lateness: Histogram::default(),
            },
        ],
        notifiers: vec![Notifier {
            label: "vrrp_instance VI_1".into(),
            runs: 2,
            failures: 1,
            dropped: 0,
            busy: true,
        }],
        scripts: vec![Script {
            name: "chk_nginx".into(),
            up: true,
            runs: 120,
            last: "Some(Exited(0))".into(),
        }],
        track_files: vec![("/run/lvsd/weight".into(), -10)],
        track_processes: vec![crate::status::TrackedProcess {
            name: "web".into(),
            count: 2,
            up: true,
            events: true,
        }],
        notify_fifo: Some((4, 1)),
        receivers: vec![
            Receiver {
                interface: "eth0".into(),
                ipv6: false,
                drops: drops(&[("unknown_vrid", 8)]),
                read_budget: 64,
                budget_reached: 3,
            },
            Receiver {
                interface: "eth0".into(),
                ipv6: true,
                drops: drops(&[]),
                read_budget: 64,
                budget_reached: 0,
            },
        ],
        checks: Some(Checks {
            probes: 3,
            run: 900,
            in_flight: 1,
            pool_capacity: 4096,
            pool_waits: 2,
            child_slot_waits: 5,
            pool_rejected: 0,
            pool_full_skips: 1,
            read_budget_yields: 6,
            timer_failures: 0,
            failures: vec![("connect", 5), ("timeout", 2), ("status", 0)],
            start_lateness: hist(&[900, 1_100, 2_000]),
            duration: hist(&[300, 450, 3_000_000]),
        }),
        process: Process {
            rss_bytes: 5_242_880,
            open_fds: 17,
            max_fds: 1024,
        },
        rtnetlink: Rtnetlink {
            overflows: 1,
            redumps: 2,
            pending_requests: 0,
            untracked: 3,
            undecodable: 0,
        },
        control: Control {
            clients: 1,
            accepted: 40,
            refused: 2,
            evicted: 1,
            timed_out: 0,
            turned_away: 0,
        },
        log_lines_lost: 6,
        announce: vec![
            Announced {
                address: "10.9.0.1".into(),
                group: "edge".into(),
                announced: true,
                reason: None,
            },
            Announced {
                address: "10.9.0.2".into(),
                group: "edge".into(),
                announced: false,
                reason: Some("quorum lost on TCP 10.9.0.2:80".into()),
            },
        ],
    }
}
