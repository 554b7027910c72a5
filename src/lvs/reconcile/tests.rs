//! Reconcile tests: the desired table against constructed kernel dumps.

#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use super::*;
use crate::lvs::table::{DestSpec, ServiceSpec};
use crate::wire::netlink::ipvs::{ForwardMethod, Protocol, Scheduler};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

fn svc(n: u8) -> ServiceKey {
    ServiceKey::Addr {
        protocol: Protocol::Tcp,
        addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)),
        port: 80,
    }
}

fn dest(n: u8, weight: u32) -> Dest {
    Dest::new(
        IpAddr::V4(Ipv4Addr::new(10, 0, 1, n)),
        80,
        ForwardMethod::Route,
        weight,
    )
}

fn spec(n: u8) -> ServiceSpec {
    ServiceSpec::new(Service::new(svc(n), Scheduler::Rr))
}

/// Loads services `svcs`, each with real servers 1..=dests (weight 1).
fn load(t: &mut Table, now: Instant, svcs: &[u8], dests: u8) {
    t.begin_load();
    for &s in svcs {
        t.put_service(spec(s)).unwrap();
        for d in 1..=dests {
            let ds = DestSpec {
                dest: dest(d, 1),
                inhibit_on_failure: false,
            };
            t.put_dest(&svc(s), ds, true).unwrap();
        }
    }
    t.end_load(now, Duration::from_secs(60));
}

/// The kernel state that `ops` produce from `k` (a tiny IPVS model for the tests).
fn apply(k: &mut KernelTable, ops: &[IpvsOp]) {
    for op in ops {
        match op {
            IpvsOp::NewService(s) | IpvsOp::SetService(s) => {
                k.services.retain(|x| x.key != s.key);
                k.services.push(s.clone());
            }
            IpvsOp::DelService(key) => {
                k.services.retain(|x| x.key != *key);
                k.dests.retain(|(s, _, _)| s != key);
            }
            IpvsOp::NewDest(key, d) | IpvsOp::SetDest(key, d) => {
                assert!(
                    k.services.iter().any(|s| s.key == *key),
                    "{op}: service missing"
                );
                let stats = k
                    .dests
                    .iter()
                    .find(|(s, x, _)| s == key && x.key == d.key)
                    .map(|e| e.2)
                    .unwrap_or_default();
                k.dests.retain(|(s, x, _)| !(s == key && x.key == d.key));
                k.dests.push((*key, *d, stats));
            }
            IpvsOp::DelDest(key, dk) => k.dests.retain(|(s, x, _)| !(s == key && x.key == *dk)),
        }
    }
}

fn run(t: &mut Table, k: &mut KernelTable, now: Instant) -> Plan {
    let mut plan = Plan::with_capacity(64);
    reconcile(t, k, now, &mut plan);
    plan
}

#[test]
fn empty_kernel_gets_services_before_their_dests() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[2, 1], 2);
    let mut k = KernelTable::default();
    let plan = run(&mut t, &mut k, now);
    let names: Vec<String> = plan.ops.iter().map(|o| o.to_string()).collect();
    assert_eq!(
        names,
        [
            "NewService TCP 10.0.0.1:80 rr",
            "NewDest 10.0.1.1:80 in TCP 10.0.0.1:80",
            "NewDest 10.0.1.2:80 in TCP 10.0.0.1:80",
            "NewService TCP 10.0.0.2:80 rr",
            "NewDest 10.0.1.1:80 in TCP 10.0.0.2:80",
            "NewDest 10.0.1.2:80 in TCP 10.0.0.2:80",
        ]
    );
    apply(&mut k, &plan.ops);
    // Converged: a second pass writes nothing and adopts everything.
    let again = run(&mut t, &mut k, now);
    assert!(again.ops.is_empty(), "{:?}", again.ops);
    assert_eq!(again.adopted, 6);
    // An unchanged reload writes nothing either.
    load(&mut t, now, &[1, 2], 2);
    assert!(run(&mut t, &mut k, now).ops.is_empty());
}

#[test]
fn hand_edits_and_deletes_are_restored_minimally() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[1, 2], 2);
    let mut k = KernelTable::default();
    let first = run(&mut t, &mut k, now);
    apply(&mut k, &first.ops);
    // ipvsadm -e (weight 5), ipvsadm -E (wlc), ipvsadm -d, ipvsadm -D
    k.dests
        .iter_mut()
        .find(|(s, d, _)| *s == svc(1) && d.key == dest(1, 1).key)
        .unwrap()
        .1
        .weight = 5;
    k.services
        .iter_mut()
        .find(|s| s.key == svc(1))
        .unwrap()
        .scheduler = Scheduler::Wlc;
    k.dests
        .retain(|(s, d, _)| !(*s == svc(1) && d.key == dest(2, 1).key));
    apply(&mut k, &[IpvsOp::DelService(svc(2))]);
    let plan = run(&mut t, &mut k, now);
    assert_eq!(
        plan.ops,
        [
            IpvsOp::SetService(spec(1).service),
            IpvsOp::SetDest(svc(1), dest(1, 1)),
            IpvsOp::NewDest(svc(1), dest(2, 1)),
            IpvsOp::NewService(spec(2).service),
            IpvsOp::NewDest(svc(2), dest(1, 1)),
            IpvsOp::NewDest(svc(2), dest(2, 1)),
        ]
    );
    apply(&mut k, &plan.ops);
    assert!(run(&mut t, &mut k, now).ops.is_empty());
}

#[test]
fn foreign_entries_are_reported_never_touched() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[1], 1);
    let mut k = KernelTable::default();
    let first = run(&mut t, &mut k, now);
    apply(&mut k, &first.ops);
    apply(
        &mut k,
        &[
            IpvsOp::NewService(spec(9).service),
            IpvsOp::NewDest(svc(9), dest(1, 1)),
            IpvsOp::NewDest(svc(1), dest(7, 3)),
        ],
    );
    let plan = run(&mut t, &mut k, now);
    assert!(plan.ops.is_empty(), "{:?}", plan.ops);
    assert_eq!(
        plan.foreign,
        [
            Foreign::Dest(svc(1), dest(7, 3).key),
            Foreign::Service(svc(9))
        ]
    );
}

#[test]
fn dead_servers_are_deleted_after_all_adds() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[1, 2], 2);
    let mut k = KernelTable::default();
    let first = run(&mut t, &mut k, now);
    apply(&mut k, &first.ops);
    t.set_alive(&svc(1), &dest(1, 1).key, false).unwrap();
    // service 2 lost by hand; its dests come back before the delete of service 1's dead one
    apply(&mut k, &[IpvsOp::DelService(svc(2))]);
    let plan = run(&mut t, &mut k, now);
    assert_eq!(plan.ops.len(), 4);
    assert_eq!(plan.ops[3], IpvsOp::DelDest(svc(1), dest(1, 1).key));
    apply(&mut k, &plan.ops);
    assert!(run(&mut t, &mut k, now).ops.is_empty());
    // Back alive: added again.
    t.set_alive(&svc(1), &dest(1, 1).key, true).unwrap();
    assert_eq!(
        run(&mut t, &mut k, now).ops,
        [IpvsOp::NewDest(svc(1), dest(1, 1))]
    );
}

#[test]
fn reload_drains_a_removed_server_until_idle_or_timeout() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[1], 3);
    let mut k = KernelTable::default();
    let first = run(&mut t, &mut k, now);
    apply(&mut k, &first.ops);
    for e in k.dests.iter_mut() {
        e.2.active_conns = 4;
    }
    load(&mut t, now, &[1], 2); // server 3 removed
    let plan = run(&mut t, &mut k, now);
    assert_eq!(
        plan.ops,
        [IpvsOp::SetDest(svc(1), dest(3, 0))],
        "quiesce first"
    );
    apply(&mut k, &plan.ops);
    assert!(
        run(&mut t, &mut k, now + Duration::from_secs(1))
            .ops
            .is_empty(),
        "still busy"
    );
    // Connections end: delete.
    k.dests
        .iter_mut()
        .find(|e| e.1.key == dest(3, 0).key)
        .unwrap()
        .2 = DestStats::default();
    let plan = run(&mut t, &mut k, now + Duration::from_secs(2));
    assert_eq!(plan.ops, [IpvsOp::DelDest(svc(1), dest(3, 0).key)]);
    apply(&mut k, &plan.ops);
    assert!(run(&mut t, &mut k, now + Duration::from_secs(3))
        .ops
        .is_empty());
    assert_eq!(
        t.dests(&svc(1)).count(),
        2,
        "entry swept once gone from the kernel"
    );
    assert_eq!(t.poll_at(), None);

    // A busy server is cut at the drain timeout (60 s).
    load(&mut t, now, &[1], 1);
    assert_eq!(t.poll_at(), Some(now + Duration::from_secs(60)));
    let plan = run(&mut t, &mut k, now + Duration::from_secs(59));
    assert_eq!(plan.ops, [IpvsOp::SetDest(svc(1), dest(2, 0))]);
    apply(&mut k, &plan.ops);
    let plan = run(&mut t, &mut k, now + Duration::from_secs(60));
    assert_eq!(plan.ops, [IpvsOp::DelDest(svc(1), dest(2, 0).key)]);
}

#[test]
fn reload_removing_a_service_drains_then_deletes_only_the_service() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[1, 2], 2);
    let mut k = KernelTable::default();
    let first = run(&mut t, &mut k, now);
    apply(&mut k, &first.ops);
    k.dests[0].2.inactive_conns = 1; // svc 1, dest 1 busy
    load(&mut t, now, &[2], 2);
    let plan = run(&mut t, &mut k, now);
    assert_eq!(
        plan.ops,
        [
            IpvsOp::SetDest(svc(1), dest(1, 0)),
            IpvsOp::SetDest(svc(1), dest(2, 0))
        ]
    );
    apply(&mut k, &plan.ops);
    for e in k.dests.iter_mut() {
        e.2 = DestStats::default();
    }
    let plan = run(&mut t, &mut k, now);
    assert_eq!(
        plan.ops,
        [IpvsOp::DelService(svc(1))],
        "the kernel deletes its dests with it"
    );
    apply(&mut k, &plan.ops);
    assert!(run(&mut t, &mut k, now).ops.is_empty());
    assert_eq!(t.services().count(), 1);
}

#[test]
fn retired_service_with_a_foreign_dest_is_kept() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[1, 2], 1);
    let mut k = KernelTable::default();
    let first = run(&mut t, &mut k, now);
    apply(&mut k, &first.ops);
    apply(&mut k, &[IpvsOp::NewDest(svc(1), dest(8, 1))]);
    load(&mut t, now, &[], 0);
    let plan = run(&mut t, &mut k, now);
    // Idle dests are deleted at once: ours in svc 1 (foreign one kept), and svc 2 whole.
    assert_eq!(
        plan.ops,
        [
            IpvsOp::DelDest(svc(1), dest(1, 1).key),
            IpvsOp::DelService(svc(2))
        ],
        "dest deletes before service deletes"
    );
    assert_eq!(plan.kept_for_foreign, 1);
    assert_eq!(plan.foreign, [Foreign::Dest(svc(1), dest(8, 1).key)]);
    apply(&mut k, &plan.ops);
    let plan = run(&mut t, &mut k, now);
    assert!(plan.ops.is_empty());
}

#[test]
fn quorum_loss_swaps_pool_for_sorry_server() {
    let now = Instant::now();
    let mut t = Table::new();
    t.begin_load();
    let mut s = spec(1);
    s.quorum = 2;
    s.sorry_server = Some(dest(99, 1));
    t.put_service(s).unwrap();
    for d in 1..=2 {
        let ds = DestSpec {
            dest: dest(d, 1),
            inhibit_on_failure: false,
        };
        t.put_dest(&svc(1), ds, true).unwrap();
    }
    t.end_load(now, Duration::from_secs(60));
    let mut k = KernelTable::default();
    let plan = run(&mut t, &mut k, now);
    assert_eq!(plan.ops.len(), 3, "{:?}", plan.ops);
    apply(&mut k, &plan.ops);
    t.set_alive(&svc(1), &dest(1, 1).key, false).unwrap();
    let plan = run(&mut t, &mut k, now);
    assert_eq!(
        plan.ops,
        [
            IpvsOp::NewDest(svc(1), dest(99, 1)),
            IpvsOp::DelDest(svc(1), dest(1, 1).key),
            IpvsOp::DelDest(svc(1), dest(2, 1).key),
        ]
    );
}

#[test]
fn dump_order_does_not_change_the_plan() {
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[1, 2, 3], 3);
    let mut k = KernelTable::default();
    let first = run(&mut t, &mut k, now);
    apply(&mut k, &first.ops);
    for e in k.dests.iter_mut() {
        e.1.weight = 9;
    }
    let mut k2 = k.clone();
    k2.services.reverse();
    k2.dests.reverse();
    let a = run(&mut t, &mut k, now);
    let b = run(&mut t, &mut k2, now);
    assert_eq!(a.ops.len(), 9);
    assert_eq!(a.ops, b.ops);
}

/// `lvsd rs drain`: weight 0 while active connections last, then out of the
/// kernel; the entry stays (status shows it drained), survives a reload, and
/// `enable` brings it back. `weight` and `disable` act at once.
#[test]
fn operator_drain_weight_disable_and_enable() {
    use crate::lvs::table::Admin;
    let now = Instant::now();
    let mut t = Table::new();
    load(&mut t, now, &[100], 2);
    let mut k = KernelTable::default();
    let mut plan = Plan::default();
    reconcile(&mut t, &mut k, now, &mut plan);
    apply(&mut k, &plan.ops);
    let key = dest(1, 1).key;
    let deadline = now + Duration::from_secs(30);
    t.set_admin(&svc(100), &key, Admin::Drain(deadline))
        .unwrap();
    assert_eq!(t.poll_at(), Some(deadline));
    // Connections still active: weight 0, kept.
    k.dests
        .iter_mut()
        .find(|(_, d, _)| d.key == key)
        .unwrap()
        .2
        .active_conns = 3;
    reconcile(&mut t, &mut k, now, &mut plan);
    assert_eq!(plan.ops, [IpvsOp::SetDest(svc(100), dest(1, 0))]);
    apply(&mut k, &plan.ops);
    // Inactive connections alone do not hold an operator's drain.
    let st = &mut k.dests.iter_mut().find(|(_, d, _)| d.key == key).unwrap().2;
    st.active_conns = 0;
    st.inactive_conns = 7;
    reconcile(&mut t, &mut k, now, &mut plan);
    assert_eq!(plan.ops, [IpvsOp::DelDest(svc(100), key)]);
    apply(&mut k, &plan.ops);
    let admin = |t: &Table| {
        t.dests(&svc(100))
            .find(|d| d.dest.key == key)
            .unwrap()
            .admin
    };
    assert_eq!(admin(&t), Admin::Drained);
    assert_eq!(
        t.poll_at(),
        None,
        "a finished drain asks for no more wake-ups"
    );
    // Stays out, also across a reload that keeps the server.
    load(&mut t, now, &[100], 2);
    reconcile(&mut t, &mut k, now, &mut plan);
    assert!(plan.ops.is_empty(), "{:?}", plan.ops);
    assert_eq!(admin(&t), Admin::Drained);
    // enable: back with its configured weight.
    t.set_admin(&svc(100), &key, Admin::None).unwrap();
    reconcile(&mut t, &mut k, now, &mut plan);
    assert_eq!(plan.ops, [IpvsOp::NewDest(svc(100), dest(1, 1))]);
    apply(&mut k, &plan.ops);
    // weight N: at once; disable: removed at once.
    t.set_admin(&svc(100), &key, Admin::Weight(9)).unwrap();
    reconcile(&mut t, &mut k, now, &mut plan);
    assert_eq!(plan.ops, [IpvsOp::SetDest(svc(100), dest(1, 9))]);
    apply(&mut k, &plan.ops);
    t.set_admin(&svc(100), &key, Admin::Disabled).unwrap();
    reconcile(&mut t, &mut k, now, &mut plan);
    assert_eq!(plan.ops, [IpvsOp::DelDest(svc(100), key)]);
    apply(&mut k, &plan.ops);
    // A drain whose deadline passed ends even with active connections.
    t.set_admin(&svc(100), &dest(2, 1).key, Admin::Drain(now))
        .unwrap();
    k.dests[0].2.active_conns = 50;
    reconcile(&mut t, &mut k, now, &mut plan);
    assert!(plan
        .ops
        .contains(&IpvsOp::DelDest(svc(100), dest(2, 1).key)));
    // Unknown server: a typed error.
    assert!(t
        .set_admin(&svc(100), &dest(9, 1).key, Admin::Disabled)
        .is_err());
}
