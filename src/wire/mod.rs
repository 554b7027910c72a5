//! Bytes <-> typed packets and messages: VRRP, ARP/NA, netlink, IPVS, HTTP/SMTP
//! reply lines. No I/O and no allocation; nothing here panics on any input.
#![forbid(unsafe_code)]
#![deny(clippy::disallowed_methods, clippy::disallowed_types)]

pub mod ah;
pub mod arp;
pub mod checksum;
pub mod http;
pub mod ndisc;
pub mod netlink;
pub mod smtp;
pub mod vrrp;
