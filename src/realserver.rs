//! The real-server side of DR/TUN: VIPs on `lo` and the ARP sysctls.
