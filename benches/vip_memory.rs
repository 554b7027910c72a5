//! Memory cost of VIPs (issue 12: more than 64 VIPs per instance): the size
//! of one configured VIP, of its rtnetlink form in the daemon, of a VRRP
//! instance (which keeps `MAX_ADVERT_VIPS` addresses inline), and the peak RSS
//! of `lvsd check` on one instance with 1, 256 and 1024 addresses. Prints
//! figures; asserts nothing.

use std::path::Path;
use std::process::{Command, Stdio};

use lvsd::config::VirtualIp;
use lvsd::io::measure;
use lvsd::limits::{MAX_ADVERT_VIPS, MAX_VIPS_PER_INSTANCE};
use lvsd::vrrp::instance::Instance;
use lvsd::wire::netlink::rtnl::IfAddr;

const BIN: &str = "target/x86_64-unknown-linux-musl/release/lvsd";

fn config(vips: usize) -> String {
    let mut s = String::from("[vrrp_instance VI_1]\ninterface = eth0\nvirtual_router_id = 51\n");
    for n in 0..vips {
        let key = if n < 255 {
            "virtual_ipaddress"
        } else {
            "virtual_ipaddress_excluded"
        };
        s += &format!(
            "{key} = 10.{}.{}.{}\n",
            n / 62500,
            (n / 250) % 250,
            n % 250 + 1
        );
    }
    s
}

fn main() {
    let sizes = format!(
        "size_of VirtualIp (configuration, per address): {} bytes; IfAddr (daemon, per address): {} bytes; \
         vrrp::Instance: {} bytes ({} advertised addresses inline)",
        std::mem::size_of::<VirtualIp>(),
        std::mem::size_of::<IfAddr>(),
        std::mem::size_of::<Instance>(),
        MAX_ADVERT_VIPS
    );
    if !std::env::args().any(|a| a == "--bench") {
        let cfg = lvsd::config::load_str(&config(MAX_VIPS_PER_INSTANCE), "v.ini")
            .expect("a full instance loads");
        assert_eq!(cfg.vrrp_instances[0].virtual_ipaddresses.len(), 255);
        println!("vip_memory: {sizes}; RSS figures come from `cargo bench`");
        return;
    }
    println!("{sizes}");
    if !Path::new(BIN).exists() {
        eprintln!("bench: {BIN} missing; run make build");
        std::process::exit(1);
    }
    let dir = std::env::temp_dir().join(format!("lvsd-vipbench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for vips in [1, 256, MAX_VIPS_PER_INSTANCE] {
        let path = dir.join(format!("{vips}.ini"));
        std::fs::write(&path, config(vips)).unwrap();
        let mut rss = 0;
        for _ in 0..5 {
            let m = measure::run(
                Command::new(BIN)
                    .args(["check", "-c"])
                    .arg(&path)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null()),
            )
            .expect("run lvsd check");
            rss = rss.max(m.max_rss_kib);
        }
        println!("lvsd check, one instance with {vips} addresses: peak RSS {rss} KiB");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
