//! One probe per distinct (address, port, check definition): built at config load, shared by every real server that uses it.
//!
//! Built once when the configuration loads (allocation is allowed there), then
//! only read: a probe's verdict fans out to each checker slot that subscribed.

use std::collections::HashMap;
use std::hash::Hash;

/// Maps identical check definitions onto one probe each.
#[derive(Debug, Clone)]
pub struct ProbeSharing<K> {
    index: HashMap<K, u32>,
    subscribers: Vec<Vec<u32>>,
}

impl<K> Default for ProbeSharing<K> {
    fn default() -> Self {
        ProbeSharing {
            index: HashMap::new(),
            subscribers: Vec::new(),
        }
    }
}

impl<K: Hash + Eq> ProbeSharing<K> {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers checker slot `subscriber` with definition `key`; returns the probe index it shares.
    ///
    /// `key` must hold everything that changes what goes on the wire or how the
    /// verdict is reached: address, port, bindto, kind and its parameters, timing.
    pub fn subscribe(&mut self, key: K, subscriber: u32) -> u32 {
        let next = u32::try_from(self.subscribers.len()).unwrap_or(u32::MAX);
        let probe = *self.index.entry(key).or_insert(next);
        if probe == next {
            self.subscribers.push(Vec::new());
        }
        if let Some(list) = self.subscribers.get_mut(probe as usize) {
            list.push(subscriber);
        }
        probe
    }

    /// Distinct probes.
    pub fn probes(&self) -> usize {
        self.subscribers.len()
    }

    /// The checker slots fed by `probe`.
    pub fn subscribers(&self, probe: u32) -> &[u32] {
        self.subscribers
            .get(probe as usize)
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::SocketAddr;

    #[test]
    fn identical_definitions_share_one_probe() {
        let a: SocketAddr = "10.0.0.1:80".parse().unwrap();
        let b: SocketAddr = "10.0.0.2:80".parse().unwrap();
        let mut s = ProbeSharing::new();
        // Two virtual servers (80 and 443 VIPs) check the same real server the same way.
        assert_eq!(s.subscribe((a, "tcp", 3u32), 0), 0);
        assert_eq!(s.subscribe((b, "tcp", 3), 1), 1);
        assert_eq!(s.subscribe((a, "tcp", 3), 2), 0);
        // Same address, other timing: another probe.
        assert_eq!(s.subscribe((a, "tcp", 5), 3), 2);
        assert_eq!(s.probes(), 3);
        assert_eq!(s.subscribers(0), &[0, 2]);
        assert_eq!(s.subscribers(2), &[3]);
        assert!(s.subscribers(9).is_empty());
    }
}
