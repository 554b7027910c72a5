//! Root-only: interop with Debian's keepalived 2.2.7 (VRRP only) as the peer on
//! a bridge, both ways round, VRRPv2 with PASS auth, VRRPv2 with AH auth
//! (IPsec AH, HMAC-MD5-96) and VRRPv3: each side accepts the other's adverts
//! and failover works in both directions. With AH, a wrong key is rejected
//! and counted by both.

mod common;
mod vrrp_netns;

use std::process::Command;
use std::time::Duration;

use vrrp_netns::{holds_for, logs, wait_for, Director, Lan};

const S: Duration = Duration::from_secs(1);

fn have_keepalived() -> bool {
    Command::new("keepalived")
        .arg("--version")
        .output()
        .map(|o| o.status.success() || !o.stderr.is_empty())
        .unwrap_or(false)
}

#[derive(Clone, Copy)]
enum Version {
    V2Pass,
    V2Ah,
    /// AH between unicast peers (keepalived then leaves the TTL out of the ICV).
    V2AhUnicast,
    V3,
}

/// 10.254.N of a VIP 10.254.N.100.
fn subnet(vip: &str) -> &str {
    vip.rsplit_once('.').map_or(vip, |(net, _)| net)
}

fn lvsd_ini(v: Version, priority: u8, vip: &str) -> String {
    let proto = match v {
        Version::V2Pass => {
            "version = 2\nadvert_int = 1\nauth_type = PASS\nauth_pass = s3cret".to_owned()
        }
        Version::V2Ah => {
            "version = 2\nadvert_int = 1\nauth_type = AH\nauth_pass = s3cret".to_owned()
        }
        Version::V2AhUnicast => format!(
            "version = 2\nadvert_int = 1\nauth_type = AH\nauth_pass = s3cret\nunicast_peer = {}.2",
            subnet(vip)
        ),
        Version::V3 => "version = 3\nadvert_int = 0.5".to_owned(),
    };
    format!(
        "[global]
control_socket = @SOCK@

[vrrp_instance VI_1]
state = BACKUP
interface = eth0
virtual_router_id = 51
priority = {priority}
{proto}
virtual_ipaddress = {vip}
"
    )
}

fn keepalived_conf(v: Version, priority: u8, vip: &str) -> String {
    let proto = match v {
        Version::V2Pass => {
            "version 2\n    advert_int 1\n    authentication {\n        auth_type PASS\n        auth_pass s3cret\n    }".to_owned()
        }
        Version::V2Ah => {
            "version 2\n    advert_int 1\n    authentication {\n        auth_type AH\n        auth_pass s3cret\n    }".to_owned()
        }
        Version::V2AhUnicast => format!(
            "version 2\n    advert_int 1\n    authentication {{\n        auth_type AH\n        auth_pass s3cret\n    }}\n    unicast_src_ip {net}.2\n    unicast_peer {{\n        {net}.1\n    }}",
            net = subnet(vip)
        ),
        Version::V3 => "version 3\n    advert_int 0.5".to_owned(),
    };
    format!(
        "global_defs {{
    router_id keepalived_peer
}}
vrrp_instance VI_1 {{
    state BACKUP
    interface eth0
    virtual_router_id 51
    priority {priority}
    {proto}
    virtual_ipaddress {{
        {vip}/32
    }}
}}
"
    )
}

/// Log lines of keepalived that mean it rejected something of ours.
fn keepalived_complaints(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            (l.contains("error")
                || l.contains("invalid")
                || l.contains("incorrect")
                || l.contains("check failed")
                || l.contains("bad ")
                || l.contains("mismatch")
                || l.contains("wrong"))
                && !l.contains("error 0")
        })
        .collect()
}

fn interop(prefix: &str, net: u8, v: Version, lvsd_is_master: bool) {
    if !common::require_or_skip(vrrp_netns::can_run(), "root and `ip netns` (iproute2)")
        || !common::require_or_skip(have_keepalived(), "keepalived (apt package keepalived)")
    {
        return;
    }
    let lan = Lan::new(prefix, net, 2);
    let vip = format!("10.254.{net}.100");
    let vip32 = format!("{vip}/32");
    let (lp, kp) = if lvsd_is_master { (100, 90) } else { (90, 100) };
    let mut lvsd = lan.lvsd(1, &lvsd_ini(v, lp, &vip));
    let mut ka = lan.keepalived(2, &keepalived_conf(v, kp, &vip));
    let ctx = logs(&[&lvsd, &ka]);
    let (master, backup): (&mut Director, &mut Director) = if lvsd_is_master {
        (&mut lvsd, &mut ka)
    } else {
        (&mut ka, &mut lvsd)
    };
    backup.start();
    std::thread::sleep(Duration::from_millis(300));
    master.start();
    wait_for(
        "the higher priority holds the VIP",
        15 * S,
        || master.has_addr("eth0", &vip32),
        &ctx,
    );
    holds_for(
        "the other stays backup",
        3 * S,
        || !backup.has_addr("eth0", &vip32) && master.has_addr("eth0", &vip32),
        &ctx,
    );
    // SIGKILL of the master: the backup takes over after the down interval.
    master.signal("-KILL");
    wait_for(
        "the backup takes over after SIGKILL",
        10 * S,
        || backup.has_addr("eth0", &vip32),
        &ctx,
    );
    // The killed master left its VIP behind; both lvsd and keepalived remove
    // stale VIPs at start, then preempt back.
    master.start();
    wait_for(
        "the restarted master preempts back",
        15 * S,
        || master.has_addr("eth0", &vip32) && !backup.has_addr("eth0", &vip32),
        &ctx,
    );
    let check_lvsd = |st: &str| {
        assert!(
            st.contains("vrrp_instance VI_1") && !st.contains("received 0"),
            "lvsd heard no adverts from keepalived:\n{st}\n{}",
            ctx()
        );
        assert!(
            !st.contains("dropped"),
            "lvsd dropped keepalived's adverts:\n{st}\n{}",
            ctx()
        );
    };
    check_lvsd(&lvsd.status());
    // SIGTERM: priority 0, the backup takes over after the skew time.
    let (master, backup): (&mut Director, &mut Director) = if lvsd_is_master {
        (&mut lvsd, &mut ka)
    } else {
        (&mut ka, &mut lvsd)
    };
    master.signal("-TERM");
    wait_for(
        "the backup takes over after SIGTERM",
        5 * S,
        || backup.has_addr("eth0", &vip32),
        &ctx,
    );
    assert!(!master.has_addr("eth0", &vip32), "{}", ctx());
    if !lvsd_is_master {
        check_lvsd(&lvsd.status());
    }
    let klog = ka.logs();
    let bad = keepalived_complaints(&klog);
    assert!(bad.is_empty(), "keepalived complained: {bad:#?}\n{}", ctx());
    assert!(
        klog.contains("Entering MASTER STATE") && klog.contains("Entering BACKUP STATE"),
        "{}",
        ctx()
    );
}

#[test]
fn v2_pass_lvsd_master_keepalived_backup() {
    interop("lvk2m", 20, Version::V2Pass, true);
}

#[test]
fn v2_pass_keepalived_master_lvsd_backup() {
    interop("lvk2b", 21, Version::V2Pass, false);
}

#[test]
fn v2_ah_lvsd_master_keepalived_backup() {
    interop("lvkam", 24, Version::V2Ah, true);
}

#[test]
fn v2_ah_keepalived_master_lvsd_backup() {
    interop("lvkab", 25, Version::V2Ah, false);
}

#[test]
fn v2_ah_unicast_lvsd_master_keepalived_backup() {
    interop("lvkaum", 27, Version::V2AhUnicast, true);
}

#[test]
fn v2_ah_unicast_keepalived_master_lvsd_backup() {
    interop("lvkaub", 28, Version::V2AhUnicast, false);
}

/// AH with different keys: neither side accepts the other's adverts, both
/// count them as authentication failures, and both become master (the
/// split brain a wrong key causes, which the counters make visible).
#[test]
fn v2_ah_wrong_key_is_rejected_and_counted_by_both() {
    if !common::require_or_skip(vrrp_netns::can_run(), "root and `ip netns` (iproute2)")
        || !common::require_or_skip(have_keepalived(), "keepalived (apt package keepalived)")
    {
        return;
    }
    let net = 26;
    let lan = Lan::new("lvkaw", net, 2);
    let vip = format!("10.254.{net}.100");
    let vip32 = format!("{vip}/32");
    let mut lvsd = lan.lvsd(1, &lvsd_ini(Version::V2Ah, 90, &vip));
    let other = keepalived_conf(Version::V2Ah, 100, &vip).replace("s3cret", "0ther");
    let mut ka = lan.keepalived(2, &other);
    let ctx = logs(&[&lvsd, &ka]);
    ka.start();
    wait_for(
        "keepalived becomes master",
        15 * S,
        || ka.has_addr("eth0", &vip32),
        &ctx,
    );
    lvsd.start();
    // lvsd hears nothing it can verify: it takes over after its down interval.
    wait_for(
        "lvsd, deaf to the wrong key, becomes master too",
        10 * S,
        || lvsd.has_addr("eth0", &vip32),
        &ctx,
    );
    let st = lvsd.status();
    let bad_auth = st
        .split_whitespace()
        .find_map(|w| w.strip_prefix("bad_auth="))
        .and_then(|n| n.parse::<u64>().ok())
        .unwrap_or(0);
    assert!(
        bad_auth >= 2,
        "lvsd did not count keepalived's adverts as bad_auth:\n{st}\n{}",
        ctx()
    );
    assert!(
        st.contains("received 0"),
        "lvsd accepted an advert with the wrong key:\n{st}\n{}",
        ctx()
    );
    // keepalived rejects ours the same way ("invalid IPSEC HMAC-MD5 value").
    wait_for(
        "keepalived logs the bad ICV of lvsd's adverts",
        5 * S,
        || ka.logs().contains("IPSEC HMAC-MD5"),
        &ctx,
    );
}

#[test]
fn v3_lvsd_master_keepalived_backup() {
    interop("lvk3m", 22, Version::V3, true);
}

#[test]
fn v3_keepalived_master_lvsd_backup() {
    interop("lvk3b", 23, Version::V3, false);
}
