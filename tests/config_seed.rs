//! The SEED.md scenario as INI loads, with every value as the article sets it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use lvsd::config::{self, *};

fn seed(file: &str) -> Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/examples")
        .join(file);
    match lvsd::io::config_file::load_file(&path) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn seed_master_values() {
    let c = seed("seed-master.ini");
    assert_eq!(c.global.router_id.as_deref(), Some("LVS_1"));
    assert_eq!(c.vrrp_instances.len(), 1);
    let i = &c.vrrp_instances[0];
    assert_eq!(i.name.as_str(), "VI_1");
    assert_eq!(i.state, VrrpState::Master);
    assert_eq!(i.interface.as_str(), "ens160");
    assert_eq!(i.lvs_sync_daemon_interface.as_deref(), Some("ens224"));
    assert_eq!(i.virtual_router_id, 51);
    assert_eq!(i.priority, 100);
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.version, VrrpVersion::V2);
    assert_eq!(
        i.authentication,
        Some(Authentication::Pass("1111".try_into().unwrap()))
    );
    assert_eq!(i.virtual_ipaddresses.len(), 1);
    assert_eq!(i.virtual_ipaddresses[0].address, v4(192, 168, 118, 110));
    assert_eq!(i.virtual_ipaddresses[0].prefix_len, 32);
    assert_eq!(i.virtual_ipaddresses[0].dev.as_str(), "ens160");
    assert!(!i.nopreempt);
    assert_eq!(i.down_timer_adverts, 3);
    assert_eq!(i.garp_master_repeat, 5);
    assert_eq!(i.garp_master_delay, Duration::from_secs(5));
    let sync = c.global.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!(sync.interface.as_str(), "ens224");
    assert_eq!(sync.instance.as_deref(), Some("VI_1"));
    assert_eq!(sync.sync_id, 51);
    assert_eq!(
        c.interfaces.iter().map(|n| n.as_str()).collect::<Vec<_>>(),
        ["ens160", "ens224"]
    );

    assert_eq!(c.virtual_servers.len(), 1);
    let vs = &c.virtual_servers[0];
    assert_eq!(
        vs.service,
        Service::Address(SocketAddr::new(v4(192, 168, 118, 110), 80))
    );
    assert_eq!(vs.protocol, Protocol::Tcp);
    assert_eq!(vs.scheduler, Scheduler::Rr);
    assert_eq!(vs.forward, ForwardMethod::Route);
    assert_eq!(vs.persistence_timeout, None);
    assert_eq!(vs.timing.delay_loop, Duration::from_secs(6));
    assert_eq!(vs.real_servers.len(), 2);
    let addrs: Vec<SocketAddr> = vs.real_servers.iter().map(|r| r.address).collect();
    assert_eq!(
        addrs,
        [
            SocketAddr::new(v4(192, 168, 118, 131), 80),
            SocketAddr::new(v4(192, 168, 118, 129), 80)
        ]
    );
    for rs in &vs.real_servers {
        assert_eq!(rs.weight, 1);
        assert_eq!(rs.checkers.len(), 1);
        let ch = &rs.checkers[0];
        assert_eq!(ch.kind, CheckKind::Tcp);
        assert_eq!(ch.connect_ip, rs.address.ip());
        assert_eq!(ch.connect_port, 80);
        assert_eq!(ch.timing.connect_timeout, Duration::from_secs(3));
        assert_eq!(ch.timing.retry, 3);
        assert_eq!(ch.timing.delay_before_retry, Duration::from_secs(3));
        // delay_loop inherited from the virtual server, warmup = delay_loop.
        assert_eq!(ch.timing.delay_loop, Duration::from_secs(6));
        assert_eq!(ch.timing.warmup, Duration::from_secs(6));
    }
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    let summary = c.summary();
    assert!(
        summary.contains("vrrp_instance VI_1 on ens160: vrid 51 MASTER priority 100"),
        "{summary}"
    );
    assert!(
        summary.contains("TCP 192.168.118.110:80 rr DR"),
        "{summary}"
    );
    assert!(
        summary.contains("-> 192.168.118.129:80 weight 1 TCP_CHECK"),
        "{summary}"
    );
}

#[test]
fn seed_backup_differs_in_state_priority_router_id() {
    let master = seed("seed-master.ini");
    let backup = seed("seed-backup.ini");
    assert_eq!(backup.global.router_id.as_deref(), Some("LVS_2"));
    let i = &backup.vrrp_instances[0];
    assert_eq!(i.state, VrrpState::Backup);
    assert_eq!(i.priority, 90);
    assert_eq!(
        i.virtual_router_id,
        master.vrrp_instances[0].virtual_router_id
    );
    assert_eq!(i.authentication, master.vrrp_instances[0].authentication);
    assert_eq!(backup.virtual_servers, master.virtual_servers);
}

#[test]
fn generated_256_by_32_loads() {
    let text = config::generate::generate(256, 32);
    let c = config::load_str(&text, "generated.ini").unwrap();
    assert_eq!(c.virtual_servers.len(), 256);
    assert!(c.virtual_servers.iter().all(|v| v.real_servers.len() == 32));
    let checkers: usize = c
        .virtual_servers
        .iter()
        .flat_map(|v| &v.real_servers)
        .map(|r| r.checkers.len())
        .sum();
    assert_eq!(checkers, 256 * 32);
    assert!(c.warnings.is_empty());
}
