//! What a reload may change in place: the running daemon applies virtual
//! servers, real servers, checkers, `reconcile_interval`, `router_id` (the
//! SMTP HELO name) and the IPVS sync daemon; every other difference needs a
//! restart, and [`restart_keys`] names each one so the reload can be refused.
//!
//! Objects are matched by name, never by position, and line numbers are not
//! compared: moving a section or adding a comment changes nothing.

use super::model::{Config, Global, Notify, SyncGroup, VrrpInstance, VrrpScript, VrrpTrackProcess};

/// Every key of `new` that differs from `old` and that a reload cannot apply,
/// as `[section] key` texts in file order. Empty when the reload may go on.
pub fn restart_keys(old: &Config, new: &Config) -> Vec<String> {
    let mut out = Vec::new();
    global(&old.global, &new.global, &mut out);
    scripts(&old.vrrp_scripts, &new.vrrp_scripts, &mut out);
    processes(
        &old.vrrp_track_processes,
        &new.vrrp_track_processes,
        &mut out,
    );
    instances(old, new, &mut out);
    groups(old, new, &mut out);
    out
}

/// Pushes `[section] key` when `a != b`.
fn key<T: PartialEq>(out: &mut Vec<String>, section: &str, name: &str, a: &T, b: &T) {
    if a != b {
        differs(out, section, name);
    }
}

/// Pushes `[section] key` (one copy of the formatting for every key).
#[inline(never)]
fn differs(out: &mut Vec<String>, section: &str, name: &str) {
    out.push(format!("[{section}] {name}"));
}

/// One object's old and new version, and the keys found to differ.
struct Compare<'a, 'o, T> {
    section: &'a str,
    old: &'a T,
    new: &'a T,
    out: &'o mut Vec<String>,
}

impl<'a, T> Compare<'a, '_, T> {
    /// Pushes `[section] name` when the part `get` picks differs.
    fn key<V: PartialEq>(&mut self, name: &str, get: impl Fn(&'a T) -> V) {
        key(self.out, self.section, name, &get(self.old), &get(self.new));
    }
}

/// Routes and rules compare by their text (their lines may move).
fn route_texts(v: &[super::model::Route]) -> Vec<&str> {
    v.iter().map(|r| r.text.as_str()).collect()
}

fn rule_texts(v: &[super::model::Rule]) -> Vec<&str> {
    v.iter().map(|r| r.text.as_str()).collect()
}

fn global(old: &Global, new: &Global, out: &mut Vec<String>) {
    let mut c = Compare {
        section: "global",
        old,
        new,
        out,
    };
    c.key("script_user", |g| &g.script_user);
    c.key("enable_script_security", |g| g.enable_script_security);
    c.key("notify_fifo", |g| &g.notify_fifo);
    c.key("vrrp_strict", |g| g.vrrp_strict);
    c.key("notify_timeout", |g| g.notify_timeout);
    c.key("vrrp_garp_master_refresh_repeat", |g| {
        g.vrrp_garp_master_refresh_repeat
    });
    c.key("control_socket", |g| &g.control_socket);
    c.key("control_socket_mode", |g| g.control_socket_mode);
    c.key("control_socket_group", |g| &g.control_socket_group);
    // Capabilities dropped at start cannot be taken back by a reload.
    c.key("script_capabilities", |g| &g.script_capabilities);
    c.key("metrics_listen", |g| g.metrics_listen);
    c.key("static_routes", |g| route_texts(&g.static_routes));
    c.key("static_rules", |g| rule_texts(&g.static_rules));
    c.key("static_ipaddress", |g| {
        g.static_ipaddress
            .iter()
            .map(|a| {
                let mut a = a.clone();
                a.line = 0;
                a
            })
            .collect::<Vec<_>>()
    });
    // log_target, log_facility and log_format are applied on reload.
    // vrrp_garp_master_delay/repeat/refresh are defaults resolved into each
    // instance: a change shows there, on the instances it reaches.
    // router_id, reconcile_interval and lvs_sync_daemon are applied.
}

fn scripts(old: &[VrrpScript], new: &[VrrpScript], out: &mut Vec<String>) {
    for n in new {
        let s = format!("vrrp_script {}", n.name);
        let Some(o) = old.iter().find(|o| o.name == n.name) else {
            out.push(format!("[{s}] (added)"));
            continue;
        };
        key(out, &s, "script", &o.script, &n.script);
        key(out, &s, "interval", &o.interval, &n.interval);
        key(out, &s, "timeout", &o.timeout, &n.timeout);
        key(out, &s, "weight", &o.weight, &n.weight);
        key(out, &s, "rise", &o.rise, &n.rise);
        key(out, &s, "fall", &o.fall, &n.fall);
        key(out, &s, "user", &o.user, &n.user);
    }
    for o in old {
        if !new.iter().any(|n| n.name == o.name) {
            out.push(format!("[vrrp_script {}] (removed)", o.name));
        }
    }
}

fn processes(old: &[VrrpTrackProcess], new: &[VrrpTrackProcess], out: &mut Vec<String>) {
    for n in new {
        let s = format!("vrrp_track_process {}", n.name);
        match old.iter().find(|o| o.name == n.name) {
            None => out.push(format!("[{s}] (added)")),
            Some(o) => {
                let mut o = o.clone();
                o.line = n.line;
                if o != *n {
                    out.push(format!("[{s}] (changed)"));
                }
            }
        }
    }
    for o in old {
        if !new.iter().any(|n| n.name == o.name) {
            out.push(format!("[vrrp_track_process {}] (removed)", o.name));
        }
    }
}

fn notify(out: &mut Vec<String>, s: &str, old: &Notify, new: &Notify) {
    key(out, s, "notify_master", &old.master, &new.master);
    key(out, s, "notify_backup", &old.backup, &new.backup);
    key(out, s, "notify_fault", &old.fault, &new.fault);
    key(out, s, "notify_stop", &old.stop, &new.stop);
    key(out, s, "notify", &old.generic, &new.generic);
}

fn instances(old: &Config, new: &Config, out: &mut Vec<String>) {
    for n in &new.vrrp_instances {
        let s = format!("vrrp_instance {}", n.name);
        let Some(o) = old.vrrp_instances.iter().find(|o| o.name == n.name) else {
            out.push(format!("[{s}] (added)"));
            continue;
        };
        instance(o, n, &s, out);
    }
    for o in &old.vrrp_instances {
        if !new.vrrp_instances.iter().any(|n| n.name == o.name) {
            out.push(format!("[vrrp_instance {}] (removed)", o.name));
        }
    }
}

fn instance(o: &VrrpInstance, n: &VrrpInstance, s: &str, out: &mut Vec<String>) {
    let mut c = Compare {
        section: s,
        old: o,
        new: n,
        out,
    };
    c.key("state", |i| i.state);
    c.key("interface", |i| &i.interface);
    // lvs_sync_daemon_interface is applied (it resolves into [global]
    // lvs_sync_daemon, which the IPVS side follows by instance name).
    c.key("virtual_router_id", |i| i.virtual_router_id);
    c.key("priority", |i| i.priority);
    c.key("advert_int", |i| i.advert_int);
    c.key("version", |i| i.version);
    c.key("auth_type/auth_pass", |i| &i.authentication);
    c.key("virtual_ipaddress", |i| {
        i.virtual_ipaddresses
            .iter()
            .map(|v| (v.address, v.prefix_len, &v.dev, &v.label))
            .collect::<Vec<_>>()
    });
    c.key("virtual_routes", |i| route_texts(&i.virtual_routes));
    c.key("virtual_rules", |i| rule_texts(&i.virtual_rules));
    c.key("nopreempt", |i| i.nopreempt);
    c.key("preempt_delay", |i| i.preempt_delay);
    c.key("down_timer_adverts", |i| i.down_timer_adverts);
    c.key("mcast_src_ip", |i| i.mcast_src_ip);
    c.key("unicast_src_ip", |i| i.unicast_src_ip);
    c.key("unicast_peer", |i| &i.unicast_peers);
    c.key("track_interface", |i| &i.track_interfaces);
    // By script name and weight: the index moves when scripts are reordered.
    c.key("track_script", |i| {
        i.track_scripts
            .iter()
            .map(|t| (&t.name, t.weight))
            .collect::<Vec<_>>()
    });
    c.key("track_file", |i| &i.track_files);
    c.key("track_process", |i| {
        i.track_processes
            .iter()
            .map(|t| (&t.name, t.weight, t.reverse))
            .collect::<Vec<_>>()
    });
    c.key("garp_master_delay", |i| i.garp_master_delay);
    c.key("garp_master_repeat", |i| i.garp_master_repeat);
    c.key("garp_master_refresh", |i| i.garp_master_refresh);
    c.key("garp_master_refresh_repeat", |i| {
        i.garp_master_refresh_repeat
    });
    notify(c.out, s, &o.notify, &n.notify);
    c.key("native_ipv6", |i| i.native_ipv6);
    c.key("strict_mode", |i| i.strict_mode);
    c.key("use_vmac", |i| &i.use_vmac);
    c.key("vmac_xmit_base", |i| i.vmac_xmit_base);
}

fn groups(old: &Config, new: &Config, out: &mut Vec<String>) {
    let find = |list: &'_ [SyncGroup], name: &str| list.iter().position(|g| g.name == name);
    for n in &new.sync_groups {
        let s = format!("vrrp_sync_group {}", n.name);
        let Some(o) = find(&old.sync_groups, &n.name).map(|i| &old.sync_groups[i]) else {
            out.push(format!("[{s}] (added)"));
            continue;
        };
        key(out, &s, "group", &o.members, &n.members);
        key(out, &s, "track_file", &o.track_files, &n.track_files);
        notify(out, &s, &o.notify, &n.notify);
    }
    for o in &old.sync_groups {
        if find(&new.sync_groups, &o.name).is_none() {
            out.push(format!("[vrrp_sync_group {}] (removed)", o.name));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::load_str;

    const BASE: &str = "[global]
router_id = R1

[vrrp_script chk]
script = /bin/true

[vrrp_instance VI_1]
interface = eth0
virtual_router_id = 51
priority = 100
virtual_ipaddress = 10.0.0.100
track_script = chk

[vrrp_instance VI_2]
interface = eth0
virtual_router_id = 52
virtual_ipaddress = 10.0.0.101

[virtual_server web]
address = 10.0.0.100
port = 80
protocol = TCP
lb_algo = rr
lb_kind = DR

[real_server web/10.0.1.1]
";

    fn load(text: &str) -> Config {
        load_str(text, "t.ini").unwrap()
    }

    #[test]
    fn virtual_server_changes_moves_and_comments_need_no_restart() {
        let old = load(BASE);
        let new = load(&BASE.replace("lb_algo = rr", "lb_algo = wrr"));
        assert_eq!(restart_keys(&old, &new), Vec::<String>::new());
        // Instances swapped in the file, a comment added: nothing to restart.
        let i1 = "[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 51\npriority = 100\nvirtual_ipaddress = 10.0.0.100\ntrack_script = chk\n";
        let i2 = "[vrrp_instance VI_2]\ninterface = eth0\nvirtual_router_id = 52\nvirtual_ipaddress = 10.0.0.101\n";
        let swapped = BASE
            .replace(i1, "")
            .replace(i2, &format!("# moved\n{i2}\n{i1}"));
        assert_ne!(swapped, BASE);
        let new = load(&swapped);
        assert_eq!(new.vrrp_instances[0].name, "VI_2");
        assert_eq!(restart_keys(&old, &new), Vec::<String>::new());
        // router_id only reaches the SMTP HELO name, rebuilt with the checks.
        let new = load(&BASE.replace("router_id = R1", "router_id = R2"));
        assert_eq!(restart_keys(&old, &new), Vec::<String>::new());
    }

    #[test]
    fn every_vrrp_and_global_change_is_named() {
        let old = load(BASE);
        let new = load(
            &BASE
                .replace("priority = 100", "priority = 150\nadvert_int = 2")
                .replace("router_id = R1", "router_id = R1\nnotify_timeout = 3"),
        );
        assert_eq!(
            restart_keys(&old, &new),
            [
                "[global] notify_timeout",
                "[vrrp_instance VI_1] priority",
                "[vrrp_instance VI_1] advert_int"
            ]
        );
        let new = load(&format!(
            "{}\n[vrrp_instance VI_3]\ninterface = eth0\nvirtual_router_id = 53\nvirtual_ipaddress = 10.0.0.102\n",
            BASE.replace("virtual_router_id = 52\nvirtual_ipaddress = 10.0.0.101\n", "virtual_router_id = 52\nvirtual_ipaddress = 10.0.0.109\n")
        ));
        assert_eq!(
            restart_keys(&old, &new),
            [
                "[vrrp_instance VI_2] virtual_ipaddress",
                "[vrrp_instance VI_3] (added)"
            ]
        );
        let new = load(&BASE.replace("script = /bin/true", "script = /bin/false"));
        assert_eq!(restart_keys(&old, &new), ["[vrrp_script chk] script"]);
    }

    #[test]
    fn route_rule_and_static_changes_need_a_restart_but_moves_do_not() {
        let with = |routes: &str| {
            BASE.replace("router_id = R1", &format!("router_id = R1\n{routes}"))
                .replace(
                    "track_script = chk",
                    "track_script = chk\nvirtual_routes = 10.9.0.0/16 dev eth0\nvirtual_rules = to 10.9.0.0/16 table 9 preference 9",
                )
        };
        let statics = "static_routes = 10.8.0.0/16 dev eth0\nstatic_rules = from 10.8.0.0/16 table 8 preference 8\nstatic_ipaddress = 192.0.2.1/32 dev eth1";
        let old = load(&with(statics));
        // Same lines, other line numbers.
        let moved = load(&format!("# a comment\n{}", with(statics)));
        assert_eq!(restart_keys(&old, &moved), Vec::<String>::new());
        let new = load(&with(
            &statics
                .replace("10.8.0.0/16 dev", "10.7.0.0/16 dev")
                .replace("192.0.2.1", "192.0.2.2"),
        ));
        assert_eq!(
            restart_keys(&old, &new),
            ["[global] static_routes", "[global] static_ipaddress"]
        );
        let new = load(&with(statics).replace("table 9", "table 10"));
        assert_eq!(
            restart_keys(&old, &new),
            ["[vrrp_instance VI_1] virtual_rules"]
        );
    }
}
