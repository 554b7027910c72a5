//! `virtual_ipaddress` options (`brd`, `scope`, `label`, `no_track`,
//! `preferred_lft`), `virtual_ipaddress_excluded`, and long VIP lists, read
//! as keepalived 2.2.7's `alloc_ipaddress()` and `vrrp_complete_instance()` read them.

use std::net::{IpAddr, Ipv4Addr};

use lvsd::config::{self, Config};

fn instance(vips: &str) -> String {
    format!("[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 51\n{vips}\n")
}

fn load(vips: &str) -> Config {
    config::load_str(&instance(vips), "t.ini").unwrap_or_else(|e| panic!("refused: {e}"))
}

fn refused(vips: &str) -> String {
    match config::load_str(&instance(vips), "t.ini") {
        Ok(_) => panic!("{} was accepted", vips.lines().last().unwrap_or("")),
        Err(e) => e.to_string(),
    }
}

#[test]
fn ipv4_options() {
    let c = load(
        "virtual_ipaddress = 10.0.0.1/24 dev eth1 brd 10.0.0.255 scope link label eth1:vip no_track",
    );
    let v = &c.vrrp_instances[0].virtual_ipaddresses[0];
    assert_eq!(v.prefix_len, 24);
    assert_eq!(v.dev.as_str(), "eth1");
    assert_eq!(v.broadcast, Some(Ipv4Addr::new(10, 0, 0, 255)));
    assert_eq!(v.scope, 253);
    assert_eq!(v.label.as_deref(), Some("eth1:vip"));
    assert!(v.no_track);
    assert_eq!(v.preferred_lft, None);

    // `broadcast` is keepalived's long spelling; `+` / `-` set or clear the host bits.
    let c =
        load("virtual_ipaddress = 10.1.2.3/16 broadcast +\nvirtual_ipaddress = 10.9.8.7/30 brd -");
    let vips = &c.vrrp_instances[0].virtual_ipaddresses;
    assert_eq!(vips[0].broadcast, Some(Ipv4Addr::new(10, 1, 255, 255)));
    assert_eq!(vips[1].broadcast, Some(Ipv4Addr::new(10, 9, 8, 4)));
    assert!(!vips[0].no_track);

    for (name, value) in [
        ("host", 254),
        ("global", 0),
        ("universe", 0),
        ("site", 200),
        ("nowhere", 255),
        ("17", 17),
    ] {
        let c = load(&format!("virtual_ipaddress = 10.0.0.1 scope {name}"));
        assert_eq!(c.vrrp_instances[0].virtual_ipaddresses[0].scope, value);
    }
}

#[test]
fn ipv6_preferred_lft_defaults_as_keepalived() {
    // A /128 is deprecated by default (preferred_lft 0), a shorter prefix is not.
    let c = load("virtual_ipaddress = 2001:db8::1\nvirtual_ipaddress = 2001:db8::2/64");
    let vips = &c.vrrp_instances[0].virtual_ipaddresses;
    assert_eq!(vips[0].preferred_lft, Some(0));
    assert_eq!(vips[1].preferred_lft, None);
    let c = load(
        "virtual_ipaddress = 2001:db8::1 preferred_lft forever\nvirtual_ipaddress = 2001:db8::2/64 preferred_lft 30",
    );
    let vips = &c.vrrp_instances[0].virtual_ipaddresses;
    assert_eq!(vips[0].preferred_lft, None);
    assert_eq!(vips[1].preferred_lft, Some(30));
}

#[test]
fn options_keepalived_ignores_are_refused() {
    for (line, want) in [
        ("2001:db8::1 brd 2001:db8::ff", "IPv4 addresses only"),
        ("2001:db8::1 scope link", "IPv4 addresses only"),
        ("2001:db8::1 label eth0:1", "IPv4 addresses only"),
        ("10.0.0.1 preferred_lft 0", "IPv6 addresses only"),
        ("10.0.0.1/31 brd +", "at most /30"),
        ("10.0.0.1 brd banana", "brd must be"),
        ("10.0.0.1 scope galaxy", "scope must be"),
        ("10.0.0.1 label eth0:sixteen_bytes", "at most 15 bytes"),
        ("2001:db8::1 preferred_lft -1", "preferred_lft must be"),
        ("10.0.0.1 brd 10.0.0.255 brd 10.0.0.255", "must be `ADDRESS"),
        ("10.0.0.1 home", "must be `ADDRESS"),
        ("10.0.0.1 scope", "must be `ADDRESS"),
    ] {
        let e = refused(&format!("virtual_ipaddress = {line}"));
        assert!(e.contains(want), "{line}: {e}");
        assert!(e.contains("t.ini:4"), "{line}: {e}");
    }
}

#[test]
fn excluded_addresses_are_held_not_advertised() {
    let c = load(
        "virtual_ipaddress = 10.0.0.1\nvirtual_ipaddress_excluded = 2001:db8::5/64\nvirtual_ipaddress_excluded = 10.0.0.2 no_track",
    );
    let i = &c.vrrp_instances[0];
    assert_eq!(i.virtual_ipaddresses.len(), 1);
    let ex: Vec<IpAddr> = i
        .virtual_ipaddresses_excluded
        .iter()
        .map(|v| v.address)
        .collect();
    assert_eq!(
        ex,
        [
            "2001:db8::5".parse::<IpAddr>().unwrap(),
            "10.0.0.2".parse().unwrap()
        ]
    );
    assert!(!i.is_ipv6(), "excluded addresses do not decide the family");
    assert!(c
        .summary()
        .contains("excluded (not advertised): 2001:db8::5/64 10.0.0.2/32"));
    let e = refused("virtual_ipaddress = 10.0.0.1\nvirtual_ipaddress_excluded = 10.0.0.1");
    assert!(e.contains("listed twice (line 4)"), "{e}");
}

fn many(prefix: &str, count: usize, v6: bool) -> String {
    (0..count)
        .map(|n| {
            if v6 {
                format!("{prefix} = 2001:db8::{:x}\n", n + 1)
            } else {
                format!(
                    "{prefix} = 10.{}.{}.{}\n",
                    n / 62500,
                    (n / 250) % 250,
                    n % 250 + 1
                )
            }
        })
        .collect()
}

#[test]
fn long_lists_spill_into_excluded_as_keepalived() {
    // 255 IPv4 addresses fit in one advert (the count is 8 bits).
    let c = load(&many("virtual_ipaddress", 255, false));
    assert_eq!(c.vrrp_instances[0].virtual_ipaddresses.len(), 255);
    assert!(c.warnings.is_empty(), "{:?}", c.warnings);

    // 256: the last moves to the excluded list, with a warning.
    let c = load(&many("virtual_ipaddress", 256, false));
    let i = &c.vrrp_instances[0];
    assert_eq!(i.virtual_ipaddresses.len(), 255);
    assert_eq!(i.virtual_ipaddresses_excluded.len(), 1);
    assert_eq!(
        i.virtual_ipaddresses_excluded[0].address,
        IpAddr::V4(Ipv4Addr::new(10, 0, 1, 6))
    );
    let w = c.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert!(
        w.iter()
            .any(|w| w.contains("256 addresses do not fit") && w.contains("t.ini:259")),
        "{w:?}"
    );

    // IPv6 at MTU 1500: (1500 - 14 - 40 - 8) / 16 = 89.
    let c = load(&many("virtual_ipaddress", 100, true));
    let i = &c.vrrp_instances[0];
    assert_eq!(
        (
            i.virtual_ipaddresses.len(),
            i.virtual_ipaddresses_excluded.len()
        ),
        (89, 11)
    );

    // The capacity counts both lists.
    let text =
        many("virtual_ipaddress", 1000, false) + &many("virtual_ipaddress_excluded", 24, true);
    let c = load(&text);
    let i = &c.vrrp_instances[0];
    assert_eq!(
        i.virtual_ipaddresses.len() + i.virtual_ipaddresses_excluded.len(),
        1024
    );
    let e = refused(&(text + "virtual_ipaddress_excluded = 10.200.0.1\n"));
    assert!(e.contains("MAX_VIPS_PER_INSTANCE"), "{e}");
}

/// `use_vmac` with unicast peers sends from the interface (keepalived's
/// vrrp_end_handler sets `vmac_xmit_base` with a warning); without peers
/// nothing changes.
#[test]
fn use_vmac_with_unicast_sets_xmit_base_with_a_warning() {
    let c = load("virtual_ipaddress = 10.0.0.1\nuse_vmac\nunicast_peer = 10.0.0.2");
    let i = &c.vrrp_instances[0];
    assert_eq!((i.use_vmac.clone(), i.vmac_xmit_base), (Some(None), true));
    let w = c.warnings.iter().map(|w| w.to_string()).collect::<Vec<_>>();
    assert!(
        w.iter()
            .any(|w| w.contains("need vmac_xmit_base: set") && w.contains("t.ini:5")),
        "{w:?}"
    );
    let c = load("virtual_ipaddress = 10.0.0.1\nuse_vmac = gw0");
    let i = &c.vrrp_instances[0];
    assert_eq!(i.use_vmac.clone().unwrap().unwrap(), "gw0");
    assert!(
        !i.vmac_xmit_base && c.warnings.is_empty(),
        "{:?}",
        c.warnings
    );
    let c = load("virtual_ipaddress = 10.0.0.1\nuse_vmac = no");
    assert_eq!(c.vrrp_instances[0].use_vmac, None);
    for bad in [
        "use_vmac = .",
        "use_vmac = a/b",
        "use_vmac = eth0",
        "use_vmac = 0123456789abcdef",
    ] {
        let e = refused(&format!("virtual_ipaddress = 10.0.0.1\n{bad}"));
        assert!(e.contains("use_vmac"), "{bad}: {e}");
    }
}
