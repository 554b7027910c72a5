//! Announce mode wiring: feeds quorum from the IPVS table into the pure
//! [`Announcer`] and carries out its actions on the TUN device.

use log::{error, info, warn};

use crate::config::Config;
use crate::io::anycast::{AnycastDevice, AnycastError};
use crate::io::netlink::Rtnl;
use crate::lvs::announce::{AnnounceAction, Announcer};

use super::lvs::{service_key, Lvs};

/// The sysctl that lets a director forward a TCP flow whose SYN it never saw.
const SLOPPY_TCP: &str = "net.ipv4.vs.sloppy_tcp";

/// Announced addresses and their device.
pub struct Announce {
    announcer: Announcer,
    device: Option<AnycastDevice>,
    /// Its own blocking rtnetlink request socket (a few requests per change).
    rtnl: Option<Rtnl>,
}

fn services(cfg: &Config) -> impl Iterator<Item = (&str, crate::wire::netlink::ipvs::ServiceKey)> {
    cfg.virtual_servers
        .iter()
        .filter_map(|vs| vs.announce.as_ref().map(|g| (g.as_str(), service_key(vs))))
}

/// Why announce mode could not start.
#[derive(Debug)]
pub enum SetupError {
    /// Its rtnetlink socket could not be opened.
    Rtnetlink(std::io::Error),
    /// The device or an address on lo could not be set up (the error names it).
    Device(AnycastError),
}

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetupError::Rtnetlink(e) => write!(f, "announce: rtnetlink socket: {e}"),
            SetupError::Device(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SetupError::Rtnetlink(e) => Some(e),
            SetupError::Device(e) => Some(e),
        }
    }
}

impl Announce {
    /// Creates the device when any virtual server is announced (`None` otherwise).
    /// With `dry_run` nothing touches the system and nothing is announced.
    pub fn setup(cfg: &Config, dry_run: bool) -> Result<Option<Announce>, SetupError> {
        let mut announcer = Announcer::new();
        announcer.load(services(cfg), cfg.global.announce_maintenance);
        if announcer.is_empty() {
            return Ok(None);
        }
        if dry_run {
            info!("announce: --dry-run, nothing is announced");
            return Ok(Some(Announce {
                announcer,
                device: None,
                rtnl: None,
            }));
        }
        let mut rtnl = Rtnl::open().map_err(SetupError::Rtnetlink)?;
        let mut device = AnycastDevice::create(&cfg.global.announce_device, &mut rtnl)
            .map_err(SetupError::Device)?;
        for vip in announcer.addresses() {
            device.hold(&mut rtnl, vip).map_err(SetupError::Device)?;
        }
        match crate::io::sysctl::write(SLOPPY_TCP, "1") {
            Ok(()) => info!("announce: {SLOPPY_TCP} = 1 (flows that change director keep going)"),
            Err(e) => {
                error!("announce: setting {SLOPPY_TCP}: {e}; flows that change director will break")
            }
        }
        info!(
            "announce: device {} up; addresses are announced while their services hold quorum",
            device.name()
        );
        Ok(Some(Announce {
            announcer,
            device: Some(device),
            rtnl: Some(rtnl),
        }))
    }

    /// Reload: new groups, maintenance state; new addresses go on lo.
    pub fn load(&mut self, cfg: &Config) {
        self.announcer
            .load(services(cfg), cfg.global.announce_maintenance);
        if let (Some(device), Some(rtnl)) = (&mut self.device, &mut self.rtnl) {
            for vip in self.announcer.addresses() {
                if let Err(e) = device.hold(rtnl, vip) {
                    error!("announce: {e}");
                }
            }
        }
    }

    /// Brings quorum and table state in and applies what changed.
    pub fn sync(&mut self, lvs: Option<&Lvs>) {
        if let Some(lvs) = lvs {
            if lvs.reconciled() {
                self.announcer.set_table_ready();
            }
            self.announcer.sync_quorum(|key| lvs.quorum_up(key));
        }
        self.apply();
    }

    fn apply(&mut self) {
        while let Some(action) = self.announcer.poll_action() {
            let (Some(device), Some(rtnl)) = (&mut self.device, &mut self.rtnl) else {
                continue;
            };
            let result = match action {
                AnnounceAction::Announce(vip) => device.announce(rtnl, vip),
                AnnounceAction::Withdraw(vip, _) => device.withdraw(rtnl, vip),
            };
            match (result, action) {
                (Ok(()), AnnounceAction::Announce(vip)) => info!("announce: {vip} announced"),
                (Ok(()), AnnounceAction::Withdraw(vip, why)) => {
                    info!("announce: {vip} withdrawn ({why})")
                }
                (Err(e), _) => {
                    error!("announce: {e}; retried at the next event");
                    self.announcer.failed(action);
                    return;
                }
            }
        }
    }

    /// Clean stop: withdraw every address, then take the VIPs off lo.
    pub fn stop(&mut self) {
        self.announcer.stop();
        self.apply();
        if let (Some(device), Some(rtnl)) = (&mut self.device, &mut self.rtnl) {
            let vips: Vec<_> = self.announcer.addresses().collect();
            for vip in vips {
                if let Err(e) = device.release(rtnl, vip) {
                    warn!("announce: {e}");
                }
            }
        }
        // Dropping the device deletes it.
        self.device = None;
    }

    /// A control request `announce ...`; the answer text.
    pub fn request(&mut self, words: &[&str]) -> String {
        let group = words.get(1).copied();
        let answer = match words.first().copied() {
            Some(verb @ ("withdraw" | "restore")) => {
                let n = self.announcer.set_operator(group, verb == "withdraw");
                if n == 0 {
                    return format!(
                        "error: no announced address in group {}\n",
                        group.unwrap_or("(any)")
                    );
                }
                self.apply();
                format!("ok: {verb} {n} address(es)\n")
            }
            Some("status") | None => String::new(),
            Some(other) => {
                return format!(
                    "error: unknown announce request {other:?}; try withdraw, restore or status\n"
                )
            }
        };
        let mut out = answer;
        self.announcer.status(&mut out);
        out
    }

    /// The status model's entries.
    pub fn model(&self) -> Vec<crate::status::Announced> {
        self.announcer
            .states()
            .map(|(address, group, why)| crate::status::Announced {
                address: address.to_string(),
                group: group.to_owned(),
                announced: why.is_none(),
                reason: why.map(|w| w.to_string()),
            })
            .collect()
    }
}
