//! Fuzz target: every netlink reply parser (nlmsg framing, acks/errors, genl ctrl, IPVS
//! services/dests/daemons/config/info, rtnetlink links and addresses) over arbitrary bytes.
//! Run: `cargo +nightly fuzz run netlink_reply` from the repository root.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lvsd::wire::netlink::parse_datagram_all(data);
});
