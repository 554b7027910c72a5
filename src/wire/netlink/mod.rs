//! Netlink: message and attribute codecs, generic netlink, IPVS and rtnetlink.
