//! Netlink: message and attribute codecs, generic netlink, IPVS and rtnetlink.

pub mod attr;
pub mod genl;
pub mod ipvs;
pub mod msg;
pub mod rtnl;
