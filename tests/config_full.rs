//! A configuration using every section and most keys: values, defaults and inheritance.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use lvsd::config::{self, *};

const FULL: &str = r#"
[global]
router_id = LVS_1
script_user = nobody
enable_script_security
notify_fifo = /run/lvsd.fifo
vrrp_garp_master_delay = 2
vrrp_garp_master_repeat = 3
vrrp_garp_master_refresh = 0
reconcile_interval = 500ms
control_socket = /run/lvsd/ctl.sock
log_target = syslog
lvs_sync_daemon = ens224 VI_6 id 7

[vrrp_script chk_nginx]
script = "/usr/bin/pgrep -x nginx"
interval = 2
weight = -20
fall = 3
rise = 2

[vrrp_instance VI_1]
state = BACKUP
interface = ens160
virtual_router_id = 51
priority = 150
advert_int = 1
auth_type = PASS
auth_pass = 1111
virtual_ipaddress = 192.168.118.110
virtual_ipaddress = 192.168.119.110/24 dev ens192 label ens192:1
nopreempt
preempt_delay = 30
down_timer_adverts = 5
unicast_src_ip = 192.168.40.128
unicast_peer = 192.168.40.130
track_interface = ens224 weight -30
track_interface = ens192
track_script = chk_nginx
track_script = chk_nginx weight 10
track_file = /run/lvsd/maint weight -100
garp_master_refresh = 30
notify_master = "/etc/lvsd/notify.sh master"
notify = /etc/lvsd/notify.sh

[vrrp_instance VI_6]
state = MASTER
priority = 255
interface = ens160
virtual_router_id = 51
native_ipv6
advert_int = 0.5
virtual_ipaddress = 2001:db8::10/64

[vrrp_sync_group G1]
group = VI_1
group = VI_6
notify_fault = /etc/lvsd/group-fault.sh

[virtual_server web]
address = 192.168.118.110
port = 443
protocol = tcp
lb_algo = wlc
lb_kind = NAT
persistence_timeout = 50
persistence_granularity = 255.255.255.0
delay_loop = 10
retry = 2
alpha
quorum = 2
hysteresis = 1
sorry_server = 192.168.118.200 8080
inhibit_on_failure = yes
virtualhost = www.example.com
ha_suspend

[real_server web/192.168.118.131:8443]
weight = 3
uthreshold = 1000
lthreshold = 800
notify_down = /etc/lvsd/rs-down.sh
connect_timeout = 4

[ssl_get web/192.168.118.131:8443]
url = path=/health digest=3740e2380a02b0ee94b02ba7016606e6 status_code=200,301-302
url = path /index.html status_code 200
http_protocol = 1.1
verify = yes
ca_file = /etc/ssl/certs/ca.pem
sni = www.example.com
warmup = 1

[misc_check web/192.168.118.131:8443]
misc_path = "/usr/local/bin/check.sh 192.168.118.131"
misc_dynamic = yes

[real_server web/192.168.118.129:8443]
weight = 0
inhibit_on_failure = no

[http_get web/192.168.118.129:8443]
url = path=/
connect_port = 8080
bindto = 192.168.118.128

[smtp_check web/192.168.118.129:8443]
connect_port = 25

[virtual_server mail]
fwmark = 7
lb_algo = sh
lb_kind = TUN
tun_type = gue port 6080
delay_loop = 20

[real_server mail/10.0.0.5]
weight = 2

[TCP_CHECK mail/10.0.0.5]
connect_port = 25
"#;

fn load() -> Config {
    match config::load_str(FULL, "full.ini") {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

fn ip(text: &str) -> IpAddr {
    text.parse().unwrap()
}

#[test]
fn global_values() {
    let c = load();
    let g = &c.global;
    assert_eq!(g.router_id.as_deref(), Some("LVS_1"));
    assert_eq!(g.script_user.as_deref(), Some("nobody"));
    assert!(g.enable_script_security);
    assert_eq!(g.notify_fifo.as_deref(), Some("/run/lvsd.fifo"));
    assert_eq!(g.vrrp_garp_master_delay, Duration::from_secs(2));
    assert_eq!(g.vrrp_garp_master_repeat, 3);
    assert_eq!(g.vrrp_garp_master_refresh, None);
    assert_eq!(g.reconcile_interval, Duration::from_millis(500));
    assert_eq!(g.control_socket.as_str(), "/run/lvsd/ctl.sock");
    assert_eq!(g.log_target, LogTarget::Syslog);
    let d = g.lvs_sync_daemon.as_ref().unwrap();
    assert_eq!(
        (
            d.interface.as_str(),
            d.instance.as_deref().unwrap_or(""),
            d.sync_id
        ),
        ("ens224", "VI_6", 7)
    );
}

#[test]
fn instance_values_and_defaults() {
    let c = load();
    let i = &c.vrrp_instances[0];
    assert_eq!(i.priority, 150);
    assert!(i.nopreempt);
    assert_eq!(i.preempt_delay, Duration::from_secs(30));
    assert_eq!(i.down_timer_adverts, 5);
    assert_eq!(i.virtual_ipaddresses[1].prefix_len, 24);
    assert_eq!(i.virtual_ipaddresses[1].dev.as_str(), "ens192");
    assert_eq!(i.virtual_ipaddresses[0].dev.as_str(), "ens160");
    assert_eq!(i.virtual_ipaddresses[1].label.as_deref(), Some("ens192:1"));
    assert_eq!(i.unicast_src_ip, Some(ip("192.168.40.128")));
    assert_eq!(i.unicast_peers.as_slice(), [ip("192.168.40.130")]);
    assert_eq!(i.track_interfaces[0].weight, -30);
    assert_eq!(i.track_interfaces[1].weight, 0);
    // The script's own weight unless the track line overrides it.
    assert_eq!(i.track_scripts[0].weight, -20);
    assert_eq!(i.track_scripts[1].weight, 10);
    assert_eq!(i.track_scripts[0].script, 0);
    assert_eq!(i.track_files[0].weight, -100);
    // Global GARP defaults inherited, instance refresh overrides.
    assert_eq!(i.garp_master_delay, Duration::from_secs(2));
    assert_eq!(i.garp_master_repeat, 3);
    assert_eq!(i.garp_master_refresh, Some(Duration::from_secs(30)));
    assert_eq!(
        i.notify.master.as_deref(),
        Some("/etc/lvsd/notify.sh master")
    );
    assert_eq!(i.notify.generic.as_deref(), Some("/etc/lvsd/notify.sh"));
    let s = &c.vrrp_scripts[0];
    assert_eq!(s.script.as_str(), "/usr/bin/pgrep -x nginx");
    assert_eq!(s.timeout, Duration::from_secs(2));
    assert_eq!((s.rise, s.fall), (2, 3));

    // Same VRID on the same interface is fine across families.
    let v6 = &c.vrrp_instances[1];
    assert_eq!(v6.version, VrrpVersion::V3);
    assert!(v6.is_ipv6());
    assert_eq!(v6.advert_int, Duration::from_millis(500));
    assert_eq!(v6.priority, 255);
    let g = &c.sync_groups[0];
    assert_eq!(g.member_indices.as_slice(), [0, 1]);
    assert_eq!(g.notify.fault.as_deref(), Some("/etc/lvsd/group-fault.sh"));
    let names: Vec<&str> = c.interfaces.iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["ens160", "ens192", "ens224"]);
}

#[test]
fn virtual_server_and_inheritance() {
    let c = load();
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.persistence_timeout, Some(Duration::from_secs(50)));
    assert_eq!(vs.persistence_granularity, Some(24));
    assert_eq!(
        vs.sorry_server,
        Some(SocketAddr::new(ip("192.168.118.200"), 8080))
    );
    assert!(vs.alpha && vs.ha_suspend && vs.inhibit_on_failure);
    assert_eq!((vs.quorum, vs.hysteresis), (2, 1));
    let rs1 = &vs.real_servers[0];
    assert_eq!(rs1.address, SocketAddr::new(ip("192.168.118.131"), 8443));
    assert!(rs1.inhibit_on_failure, "inherited from the virtual server");
    assert_eq!((rs1.uthreshold, rs1.lthreshold), (1000, 800));
    let ssl = &rs1.checkers[0];
    // delay_loop and retry from the virtual server, connect_timeout from the real
    // server, warmup from the checker, delay_before_retry the HTTP default.
    assert_eq!(ssl.timing.delay_loop, Duration::from_secs(10));
    assert_eq!(ssl.timing.retry, 2);
    assert_eq!(ssl.timing.connect_timeout, Duration::from_secs(4));
    assert_eq!(ssl.timing.warmup, Duration::from_secs(1));
    assert_eq!(ssl.timing.delay_before_retry, Duration::from_secs(3));
    assert_eq!(ssl.connect_port, 8443);
    let CheckKind::Http(http) = &ssl.kind else {
        panic!("{:?}", ssl.kind)
    };
    assert_eq!(ssl.kind.keepalived_name(), "SSL_GET");
    assert_eq!(http.http_protocol, HttpVersion::Http11);
    assert_eq!(http.virtualhost.as_deref(), Some("www.example.com"));
    let tls = http.tls.as_ref().unwrap();
    assert!(tls.verify);
    assert_eq!(tls.sni.as_deref(), Some("www.example.com"));
    assert_eq!(http.urls.len(), 2);
    assert_eq!(http.urls[0].path.as_str(), "/health");
    assert_eq!(http.urls[0].digest.unwrap()[..2], [0x37, 0x40]);
    assert_eq!(http.urls[0].status_codes.as_slice(), [200..=200, 301..=302]);
    assert_eq!(http.urls[1].path.as_str(), "/index.html");
    assert_eq!(http.urls[1].status_codes.as_slice(), [200..=200]);
    let misc = &rs1.checkers[1];
    let CheckKind::Misc(m) = &misc.kind else {
        panic!()
    };
    assert_eq!(m.path.as_str(), "/usr/local/bin/check.sh 192.168.118.131");
    assert!(m.dynamic);
    assert_eq!(
        m.timeout,
        Duration::from_secs(10),
        "misc_timeout defaults to delay_loop"
    );
    assert_eq!(
        misc.timing.retry, 2,
        "inherited retry beats the MISC default of 0"
    );

    let rs2 = &vs.real_servers[1];
    assert!(!rs2.inhibit_on_failure);
    assert_eq!(rs2.weight, 0);
    let http = &rs2.checkers[0];
    assert_eq!(http.connect_port, 8080);
    assert_eq!(http.bindto, Some(ip("192.168.118.128")));
    assert_eq!(http.timing.connect_timeout, Duration::from_secs(5));
    let CheckKind::Http(h) = &http.kind else {
        panic!()
    };
    assert_eq!(
        h.urls[0].status_codes.as_slice(),
        [200..=299],
        "default 200-299"
    );
    assert!(h.tls.is_none());
    assert_eq!(
        rs2.checkers[1].kind,
        CheckKind::Smtp {
            helo_name: name("LVS_1")
        }
    );
    assert_eq!(
        rs2.checkers[1].timing.delay_before_retry,
        Duration::from_secs(1)
    );

    let mail = &c.virtual_servers[1];
    assert_eq!(
        mail.service,
        Service::Fwmark {
            mark: 7,
            ipv6: false
        }
    );
    assert_eq!(mail.protocol, Protocol::Tcp);
    assert_eq!(mail.scheduler, Scheduler::Sh);
    assert_eq!(
        mail.forward,
        ForwardMethod::Tunnel(TunnelType::Gue { port: 6080 })
    );
    let rs = &mail.real_servers[0];
    assert_eq!(rs.address, SocketAddr::new(ip("10.0.0.5"), 0));
    assert_eq!(rs.checkers[0].connect_port, 25);
    assert_eq!(rs.checkers[0].timing.delay_loop, Duration::from_secs(20));
    assert_eq!(rs.checkers[0].timing.retry, 1);
}

#[test]
fn defaults_when_keys_are_absent() {
    let text = "[vrrp_instance A]\ninterface = eth0\nvirtual_router_id = 1\nvirtual_ipaddress = 10.0.0.1\n\
                [virtual_server v]\naddress = 10.0.0.1\nport = 80\nprotocol = UDP\n\
                [real_server v/10.0.1.1]\n[tcp_check v/10.0.1.1]\n[misc_check v/10.0.1.1]\nmisc_path = /bin/true\n";
    let c = config::load_str(text, "d.ini").unwrap();
    let i = &c.vrrp_instances[0];
    assert_eq!(
        (i.state, i.priority, i.version),
        (VrrpState::Backup, 100, VrrpVersion::V2)
    );
    assert_eq!(i.advert_int, Duration::from_secs(1));
    assert_eq!(i.garp_master_refresh, Some(Duration::from_secs(60)));
    let vs = &c.virtual_servers[0];
    assert_eq!(vs.scheduler, Scheduler::Wlc);
    assert_eq!(vs.forward, ForwardMethod::Masq);
    let rs = &vs.real_servers[0];
    assert_eq!(rs.address.port(), 80, "port defaults to the service's");
    assert_eq!(rs.weight, 1);
    let tcp = rs.checkers[0].timing;
    assert_eq!(tcp.delay_loop, Duration::from_secs(60));
    assert_eq!(tcp.connect_timeout, Duration::from_secs(5));
    assert_eq!(tcp.retry, 1);
    assert_eq!(tcp.delay_before_retry, Duration::from_secs(1));
    assert_eq!(tcp.warmup, Duration::from_secs(60));
    assert_eq!(rs.checkers[1].timing.retry, 0, "MISC_CHECK retry default");
    // Quiet keepalived defaults are loud: lb_algo and lb_kind warnings, with lines.
    let keys: Vec<(usize, Option<&str>)> = c
        .warnings
        .iter()
        .map(|w| (w.line, w.key.as_deref()))
        .collect();
    assert_eq!(keys, [(5, Some("lb_algo")), (5, Some("lb_kind"))]);
    assert!(c.warnings[0]
        .to_string()
        .starts_with("d.ini:5: warning: [virtual_server v] lb_algo"));
}

#[test]
fn every_scheduler_name_is_accepted() {
    for scheduler in Scheduler::KNOWN {
        let name = scheduler.name();
        let text = format!(
            "[virtual_server v]\naddress = 10.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = {name}\nlb_kind = DR\n"
        );
        let c = config::load_str(&text, "s.ini").unwrap();
        assert_eq!(c.virtual_servers[0].scheduler, scheduler);
    }
}

#[test]
fn dr_port_mismatch_and_no_checker_warn() {
    let text = "[virtual_server v]\naddress = 10.0.0.1\nport = 80\nprotocol = TCP\nlb_algo = rr\nlb_kind = DR\n\
                [real_server v/10.0.1.1:8080]\n";
    let c = config::load_str(text, "w.ini").unwrap();
    assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
    assert!(c.warnings.iter().all(|w| w.line == 7));
}

#[test]
fn unused_script_and_backup_owner_warn() {
    let text = "[vrrp_script chk]\nscript = /bin/true\n\n[vrrp_instance A]\ninterface = eth0\n\
                virtual_router_id = 1\npriority = 255\nvirtual_ipaddress = 10.0.0.1\n";
    let c = config::load_str(text, "u.ini").unwrap();
    let lines: Vec<(usize, Option<&str>)> = c
        .warnings
        .iter()
        .map(|w| (w.line, w.key.as_deref()))
        .collect();
    assert_eq!(lines, [(1, None), (4, Some("priority"))]);
}
