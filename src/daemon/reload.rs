//! `lvsd reload` and SIGHUP: the file read again, refused whole or swapped in.

use std::time::Instant;

use log::{error, info, warn};

use super::setup::{log_settings, parse, read_config};
use super::{checks, lvs, vrrp, Daemon, TimerKind};
use crate::config::{self, Config, ConfigError};
use crate::io::event_loop::Context;
use crate::io::stopwatch::{wall_now, Stopwatch};
use crate::vrrp::instance::NotifyState;

/// Why a reload left the running configuration in place.
#[derive(Debug)]
pub(super) enum ReloadError {
    /// The file changes keys that only a restart applies.
    NeedsRestart {
        /// The keys, as `lvsd check` names them.
        keys: Vec<String>,
    },
    /// The file could not be read or is invalid.
    Config(ConfigError),
    /// A command (quorum_up/down, notify_up/down) cannot be used.
    Command(vrrp::SetupError),
    /// The health checks could not be built.
    Checks(checks::SetupError),
    /// The IPVS table refused the file.
    Lvs(lvs::LvsError),
}

impl ReloadError {
    /// The status line's short form (`lvsd status`, "last reload").
    fn status_line(&self) -> String {
        match self {
            ReloadError::NeedsRestart { keys } => {
                format!("refused, needs a restart: {}", keys.join(", "))
            }
            other => format!("rejected: {}", other.cause()),
        }
    }

    /// What was wrong, without the "reload rejected" lead.
    fn cause(&self) -> &dyn std::fmt::Display {
        match self {
            ReloadError::NeedsRestart { .. } => &"",
            ReloadError::Config(e) => e,
            ReloadError::Command(e) => e,
            ReloadError::Checks(e) => e,
            ReloadError::Lvs(e) => e,
        }
    }
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadError::NeedsRestart { keys } => write!(
                f,
                "reload refused, the running configuration stays: these keys need a restart (`lvsd` applies VRRP and global changes only at start): {}",
                keys.join(", ")
            ),
            other => write!(
                f,
                "reload rejected, the running configuration stays: {}",
                other.cause()
            ),
        }
    }
}

impl std::error::Error for ReloadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReloadError::Config(e) => Some(e),
            ReloadError::Checks(e) => Some(e),
            ReloadError::Lvs(e) => Some(e),
            ReloadError::Command(e) => Some(e),
            ReloadError::NeedsRestart { .. } => None,
        }
    }
}

impl Daemon {
    /// Reloads the configuration file; the answer of `lvsd reload`.
    pub(super) fn reload(
        &mut self,
        cx: &mut Context<'_, TimerKind>,
    ) -> Result<String, ReloadError> {
        // Only for the log line's duration; `now` stays the wake-up's time.
        let started = Stopwatch::start();
        // Read once; the same bytes as the running configuration need no parse.
        let loaded = read_config(&self.config_path).and_then(|(bytes, digest)| {
            if digest == self.config_md5 {
                return Ok(None);
            }
            Ok(Some((parse(&self.config_path, &bytes)?, digest)))
        });
        if !matches!(loaded, Ok(None)) {
            // What a parse costs (the next SIGHUP's yield estimate).
            self.load_cost = started.elapsed();
        }
        match loaded {
            Ok(None) => {
                self.reloads += 1;
                Ok(self.reload_unchanged(true, started))
            }
            Ok(Some((new, digest))) => {
                self.reloads += 1;
                if new == self.config {
                    self.config_md5 = digest;
                    return Ok(self.reload_unchanged(false, started));
                }
                self.reload_changed(cx, new, digest, started)
            }
            Err(e) => self.reload_rejected(ReloadError::Config(e)),
        }
    }

    /// A reload that found the running configuration: nothing to do.
    /// `same_bytes`: the file's bytes were the same (no parse).
    pub(super) fn reload_unchanged(&mut self, same_bytes: bool, started: Stopwatch) -> String {
        let (last, note) = if same_bytes {
            ("unchanged (same bytes)", "same bytes, ")
        } else {
            ("unchanged", "")
        };
        self.last_reload = last.to_owned();
        self.last_load_wall = wall_now();
        let text = format!(
            "reload: {} unchanged ({note}{} ms)",
            self.config_path.display(),
            started.elapsed().as_millis()
        );
        info!("{text}");
        text
    }

    /// A reload that fails: the running configuration stays.
    pub(super) fn reload_rejected(&mut self, e: ReloadError) -> Result<String, ReloadError> {
        self.failed_reloads += 1;
        error!("{e}");
        self.last_reload = e.status_line();
        Err(e)
    }

    /// A changed file: refused if it changes what only a restart applies;
    /// else hooks, checks and the IPVS table are built first (any failure
    /// leaves everything running as it was), then swapped in.
    pub(super) fn reload_changed(
        &mut self,
        cx: &mut Context<'_, TimerKind>,
        new: Config,
        digest: [u8; 16],
        started: Stopwatch,
    ) -> Result<String, ReloadError> {
        let now = cx.now;
        // VRRP and most global keys are built once at start: a file
        // that changes them is refused whole, naming each key, rather
        // than half applied and reported as accepted.
        let keys = config::diff::restart_keys(&self.config, &new);
        if !keys.is_empty() {
            return self.reload_rejected(ReloadError::NeedsRestart { keys });
        }
        // Commands next: a bad one rejects the file before anything
        // running is touched.
        let new_hooks =
            match lvs::Hooks::build(&new, &|line, what| self.vrrp.lvs_command(line, what)) {
                Ok(h) => h,
                Err(e) => return self.reload_rejected(ReloadError::Command(e)),
            };
        // New checks first: a checker that cannot be built rejects
        // the reload before anything running is touched.
        let new_checks = if new.virtual_servers != self.config.virtual_servers {
            match self.reload_checks(&new, now) {
                Ok(c) => Some(c),
                Err(e) => return self.reload_rejected(ReloadError::Checks(e)),
            }
        } else {
            None
        };
        if let Some(lvs) = &mut self.lvs {
            if let Err(e) = lvs.load(&new, now) {
                let rejected = self.reload_rejected(ReloadError::Lvs(e));
                // Put the running table back exactly as it was.
                if let Some(lvs) = &mut self.lvs {
                    if let Err(e) = lvs.load(&self.config, now) {
                        error!("restoring the running IPVS table: {e}");
                    }
                }
                return rejected;
            }
        }
        let new_checks_built = new_checks.is_some();
        if let Some(fresh) = new_checks {
            self.swap_checks(cx, fresh);
        }
        self.hooks = new_hooks;
        Ok(self.reload_applied(new, digest, new_checks_built, started))
    }

    /// The checks of a changed file, starting from the health the IPVS
    /// table already holds.
    pub(super) fn reload_checks(
        &self,
        new: &Config,
        now: Instant,
    ) -> Result<checks::Checks, checks::SetupError> {
        let lvs = &self.lvs;
        let known = |s: &crate::wire::netlink::ipvs::ServiceKey,
                     d: &crate::wire::netlink::ipvs::DestKey| {
            lvs.as_ref().and_then(|l| l.known_health(s, d))
        };
        checks::Checks::setup(new, now, &known)
    }

    /// Stops the running checks (and their timers) and starts `fresh`.
    pub(super) fn swap_checks(
        &mut self,
        cx: &mut Context<'_, TimerKind>,
        mut fresh: checks::Checks,
    ) {
        for id in self.checks.timers() {
            cx.timers.cancel(id);
        }
        self.checks.stop();
        fresh.touched.extend(0..fresh.len());
        self.checks = fresh;
        if let Some(lvs) = &mut self.lvs {
            lvs.clear_dynamic_weights();
        }
    }

    /// The last step of an accepted reload: `new` becomes the running
    /// configuration.
    pub(super) fn reload_applied(
        &mut self,
        new: Config,
        digest: [u8; 16],
        new_checks_built: bool,
        started: Stopwatch,
    ) -> String {
        let applied = if new_checks_built {
            "virtual servers, real servers and checks rebuilt; VRRP unchanged"
        } else {
            "global keys only (virtual servers and VRRP unchanged)"
        };
        let text = format!(
            "reload: {} accepted and applied in {} ms: {applied}",
            self.config_path.display(),
            started.elapsed().as_millis()
        );
        match &mut self.announce {
            Some(announce) => announce.load(&new),
            None if new.virtual_servers.iter().any(|v| v.announce.is_some()) => warn!(
                "reload: announce mode needs a restart to create its device; nothing is announced yet"
            ),
            None => {}
        }
        info!("{text}");
        crate::io::log::configure(log_settings(&new));
        self.last_reload = format!("applied: {applied}");
        self.config = new;
        self.follow_sync_instance();
        self.apply_ha_suspend();
        // Only an accepted file counts as the running one: after a
        // rejection the same bytes must be parsed (and refused) again.
        self.config_md5 = digest;
        self.last_load_wall = wall_now();
        text
    }

    /// After a reload: the sync daemon follows the instance it now names
    /// (by name), in that instance's present state.
    pub(super) fn follow_sync_instance(&mut self) {
        let Some(lvs) = &mut self.lvs else { return };
        for (name, state) in self.vrrp.states() {
            let state = match state {
                crate::vrrp::instance::State::Master => NotifyState::Master,
                crate::vrrp::instance::State::Backup => NotifyState::Backup,
                crate::vrrp::instance::State::Fault => NotifyState::Fault,
                _ => continue,
            };
            lvs.on_vrrp_state(name, state);
        }
    }
}
