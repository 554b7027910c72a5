//! Generated configurations for benchmarks and tests (no randomness, no I/O).

use std::fmt::Write;

/// An INI text with one VRRP instance (one VIP, a port per service) and `virtual_servers` x `real_servers_per_vs`
/// servers, each real server with one TCP_CHECK. 256 x 32 is the bench size.
pub fn generate(virtual_servers: usize, real_servers_per_vs: usize) -> String {
    let mut out = String::with_capacity(virtual_servers * real_servers_per_vs * 120 + 1024);
    out.push_str("[global]\nrouter_id = BENCH\n\n[vrrp_instance VI_1]\nstate = BACKUP\ninterface = eth0\nvirtual_router_id = 1\npriority = 100\n");
    out.push_str("virtual_ipaddress = 10.100.0.1\n");
    for v in 0..virtual_servers {
        let _ = write!(
            out,
            "\n[virtual_server vs{v}]\naddress = 10.100.0.1\nport = {}\nprotocol = TCP\nlb_algo = wrr\nlb_kind = DR\ndelay_loop = 6\n",
            10_000 + v % 50_000
        );
        for r in 0..real_servers_per_vs {
            let port = 10_000 + v % 50_000;
            let ip = format!("172.{}.{}.{}", 16 + v / 256, v % 256, r + 2);
            let _ = write!(
                out,
                "\n[real_server vs{v}/{ip}:{port}]\nweight = 1\n\n[tcp_check vs{v}/{ip}:{port}]\nconnect_timeout = 3\nretry = 3\ndelay_before_retry = 3\n"
            );
        }
    }
    out
}
