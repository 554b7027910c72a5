//! Carries out operator commands (`crate::command::Request`) on the running
//! daemon and words their answers. The socket side is `io::control`; the
//! parsing is `crate::command`. Status and reload may be put off behind a
//! VRRP timer by the caller; everything here is quick.

use std::time::Instant;

use log::info;

use super::Daemon;
use crate::command::{self, Request, RsAction};
use crate::lvs::table::Admin;
use crate::vrrp::instance::State;
use crate::wire::netlink::ipvs::DestKey;

impl Daemon {
    /// Runs a quick command (not status or reload) and returns its answer.
    pub(super) fn run_command(&mut self, now: Instant, req: &Request) -> String {
        match req {
            Request::Rs {
                action,
                virtual_server,
                real_server,
            } => self.rs_command(now, *action, virtual_server, real_server),
            Request::StepDown(name) => {
                let Some(i) = self.vrrp.find(name) else {
                    return self.no_instance(name);
                };
                match self.vrrp.step_down(now, i) {
                    Some(State::Master) => {
                        info!("control: vrrp_instance {name}: stepped down (priority 0 sent); held in BACKUP until 'lvsd vrrp resume {name}'");
                        command::ok(format!(
                            "vrrp_instance {name} was MASTER: priority 0 sent, VIPs removed; held in BACKUP until 'lvsd vrrp resume {name}'"
                        ))
                    }
                    Some(other) => {
                        info!(
                            "control: vrrp_instance {name}: held in {} until resumed",
                            other.as_str()
                        );
                        command::ok(format!(
                            "vrrp_instance {name} is {}: it will not take over until 'lvsd vrrp resume {name}'",
                            other.as_str()
                        ))
                    }
                    None => self.no_instance(name),
                }
            }
            Request::Resume(name) => {
                let Some(i) = self.vrrp.find(name) else {
                    return self.no_instance(name);
                };
                match self.vrrp.resume(now, i) {
                    Some(true) => {
                        info!("control: vrrp_instance {name}: resumed");
                        command::ok(format!(
                            "vrrp_instance {name} resumed: it takes part in the election again"
                        ))
                    }
                    Some(false) => command::ok(format!(
                        "vrrp_instance {name} was not held; nothing changed"
                    )),
                    None => self.no_instance(name),
                }
            }
            Request::Status | Request::StatusJson | Request::Reload => {
                command::error("internal: status and reload are answered elsewhere")
            }
        }
    }

    fn no_instance(&self, name: &str) -> String {
        let names: Vec<&str> = self.vrrp.names().collect();
        command::error(format!(
            "no vrrp_instance {name:?}; configured: {}",
            if names.is_empty() {
                "none".to_owned()
            } else {
                names.join(", ")
            }
        ))
    }

    fn rs_command(
        &mut self,
        now: Instant,
        action: RsAction,
        vs: &str,
        rs: &command::RsAddr,
    ) -> String {
        let Some(lvs) = &mut self.lvs else {
            return command::error("this configuration has no virtual servers");
        };
        let Some(service) = lvs.find_service(vs) else {
            return command::error(format!(
                "no virtual server {vs:?} (give its section name, ADDR:PORT or fwmark:N)"
            ));
        };
        let dest = DestKey {
            addr: rs.addr,
            port: rs.port,
        };
        let rs_text = crate::status::addr_port(rs.addr, rs.port);
        let vs_text = crate::status::key_text(&service);
        if lvs.admin(&service, &dest).is_none() {
            return command::error(format!(
                "virtual server {vs_text}: no configured real server {rs_text}"
            ));
        }
        let (admin, what) = match action {
            RsAction::Drain { timeout } => (
                Admin::Drain(now + timeout),
                format!(
                    "draining: weight 0 now, removed when its active connections reach 0 or after {} s",
                    timeout.as_secs()
                ),
            ),
            RsAction::Enable => (
                Admin::None,
                "enabled: configuration and health decide again".to_owned(),
            ),
            RsAction::Disable => (
                Admin::Disabled,
                "disabled: removed from the table until 'lvsd rs enable'".to_owned(),
            ),
            RsAction::Weight(w) => (
                Admin::Weight(w),
                format!("weight {w} while alive, until 'lvsd rs enable'"),
            ),
        };
        match lvs.set_admin(&service, &dest, admin) {
            Ok(()) => {
                info!("control: virtual server {vs_text} real server {rs_text}: {what}");
                command::ok(format!("{vs_text} {rs_text} {what}"))
            }
            Err(e) => command::error(e),
        }
    }
}
