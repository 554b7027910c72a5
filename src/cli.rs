//! Command-line parsing (lexopt) into a typed [`Command`], and the exit codes.

use std::ffi::OsString;
use std::fmt;
use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

pub use crate::genhash::GenhashArgs;

pub use crate::paths::{DEFAULT_CONFIG, DEFAULT_CONTROL_SOCKET};

/// Process exit codes; documented in `lvsd help` and docs/operations.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// Success.
    Ok = 0,
    /// A runtime error: the daemon failed, a probe failed, a syscall failed.
    Runtime = 1,
    /// The command line was wrong.
    Usage = 2,
    /// The configuration file is invalid or unreadable.
    Config = 3,
    /// A kernel feature lvsd needs is missing (IPVS module, netlink family).
    Kernel = 4,
}

impl From<&crate::daemon::DaemonError> for Exit {
    /// The one mapping from a daemon failure to the process exit code.
    fn from(e: &crate::daemon::DaemonError) -> Exit {
        use crate::daemon::DaemonError;
        match e {
            DaemonError::Config(_) => Exit::Config,
            DaemonError::Lvs(crate::daemon::lvs::LvsError::Unavailable(_)) => Exit::Kernel,
            DaemonError::Io { .. }
            | DaemonError::NoSuchGroup { .. }
            | DaemonError::Netlink { .. }
            | DaemonError::Vrrp(_)
            | DaemonError::Lvs(_)
            | DaemonError::Checks(_)
            | DaemonError::Announce(_)
            | DaemonError::Loop(_) => Exit::Runtime,
        }
    }
}

/// The exit-code table as printed by `lvsd help`.
pub const EXIT_CODES: &str = "\
exit codes:
  0  success
  1  runtime error (daemon failure, failed probe, unreachable daemon)
  2  usage error (bad command line)
  3  configuration error (file unreadable or invalid)
  4  kernel feature missing (IPVS module, netlink family)";

/// Where the daemon logs (`--log`): the config layer's type.
pub use crate::config::LogTarget;

/// What `lvsd realserver` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealserverAction {
    /// Put the VIPs on lo and set the ARP sysctls.
    Up,
    /// Undo exactly what `up` did.
    Down,
    /// Say what is set.
    Status,
}

/// `lvsd realserver` arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RealserverArgs {
    /// up, down or status.
    pub action: RealserverAction,
    /// The VIPs.
    pub vips: Vec<IpAddr>,
    /// The outward device whose ARP sysctls are set too.
    pub dev: Option<String>,
}

/// A parsed command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Run the daemon in the foreground.
    Run {
        /// The configuration file.
        config: PathBuf,
        /// Where logs go.
        log: LogTarget,
        /// Log debug lines too.
        verbose: bool,
        /// Simulate the IPVS table in memory.
        dry_run: bool,
    },
    /// Validate a configuration and print a summary.
    Check {
        /// The configuration file.
        config: PathBuf,
    },
    /// Ask a running daemon for its state.
    Status {
        /// The daemon's control socket.
        socket: PathBuf,
        /// The JSON view instead of the text.
        json: bool,
    },
    /// An operator command for a running daemon (`rs`, `vrrp`, `reload`).
    Control {
        /// The daemon's control socket.
        socket: PathBuf,
        /// The request.
        request: crate::command::Request,
    },
    /// Announce mode control: `withdraw`, `restore` or `status` [GROUP].
    Announce {
        /// The request sent to the daemon (`announce withdraw edge`).
        request: String,
        /// The daemon's control socket.
        socket: PathBuf,
    },
    /// Print the MD5 digest of a page, as keepalived's genhash.
    Genhash(GenhashArgs),
    /// The real-server helper.
    Realserver(RealserverArgs),
    /// Convert a keepalived.conf to lvsd INI.
    Import {
        /// The keepalived.conf to read.
        keepalived_conf: PathBuf,
        /// keepalived's `--config-id`: which `@ID` lines apply.
        config_id: Option<String>,
        /// Exit non-zero when anything with an effect is dropped.
        strict: bool,
    },
    /// Print help.
    Help,
    /// Print the version.
    Version,
}

/// A command-line error; always exit code 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageError(pub String);

impl fmt::Display for UsageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl From<lexopt::Error> for UsageError {
    fn from(e: lexopt::Error) -> Self {
        UsageError(e.to_string())
    }
}

/// The text of `lvsd help`.
pub fn help_text() -> String {
    format!(
        "lvsd {version}: a highly available LVS director (VRRP + IPVS + health checks)

usage:
  lvsd run [-c FILE] [--syslog] [-v] [--dry-run]
                                          run the daemon in the foreground; --dry-run keeps
                                          the IPVS table in memory and leaves the kernel alone
  lvsd check [-c FILE]                    validate a config and summarise it
  lvsd status [--json] [--socket PATH]    show the IPVS table and health of a running daemon
                                          (--json: the versioned document of docs/status.schema.json)
  lvsd rs drain VS RS [SECONDS]           weight 0, then out when its active connections end
                                          (or after SECONDS, default 300)
  lvsd rs enable|disable VS RS            clear the override / take the server out at once
  lvsd rs weight VS RS N                  run the server with weight N
                                          (VS: section name, ADDR:PORT or fwmark:N; RS: ADDR:PORT;
                                          overrides survive a reload, not a restart)
  lvsd vrrp stepdown|resume INSTANCE      hand over for maintenance (priority 0) and stay BACKUP
                                          until resume
  lvsd reload                             reload the config and say whether it was applied
  lvsd announce withdraw|restore|status [GROUP] [--socket PATH]
                                          announce mode: withdraw or restore the routes of
                                          every announced address (or one group's)
  lvsd genhash -s HOST -p PORT -u PATH [-S] [-V VHOST] [-t SECS] [-v]
                                          print MD5SUM of a page (keepalived's genhash)
  lvsd realserver up|down|status --vip ADDR[,ADDR...] [--dev IFACE]
                                          real-server side of LVS-DR: VIPs on lo, ARP sysctls
  lvsd import-keepalived [--strict] [--config-id ID] FILE
                                          print a keepalived.conf as lvsd INI (notes on stderr);
                                          --strict: exit 3 when anything with an effect is dropped
  lvsd help | --help | -h                 this text
  lvsd --version | -V                     the version

defaults: config {DEFAULT_CONFIG}, control socket {DEFAULT_CONTROL_SOCKET}
signals to 'lvsd run': SIGHUP reloads the config, SIGTERM/SIGINT stop cleanly

{EXIT_CODES}
",
        version = env!("CARGO_PKG_VERSION")
    )
}

fn value_string(parser: &mut lexopt::Parser, flag: &str) -> Result<String, UsageError> {
    let v = parser.value()?;
    v.into_string()
        .map_err(|_| UsageError(format!("{flag}: value is not valid UTF-8")))
}

fn parse_num<T: std::str::FromStr>(text: &str, flag: &str, what: &str) -> Result<T, UsageError> {
    text.parse()
        .map_err(|_| UsageError(format!("{flag} {text:?}: {what}")))
}

/// Parses the arguments after the program name.
pub fn parse<I>(args: I) -> Result<Command, UsageError>
where
    I: IntoIterator,
    I::Item: Into<OsString>,
{
    use lexopt::prelude::*;
    let mut parser = lexopt::Parser::from_args(args);
    let sub = match parser.next()? {
        None => return Err(UsageError("no command given; try 'lvsd help'".into())),
        Some(Long("help") | Short('h')) => return Ok(Command::Help),
        Some(Long("version") | Short('V')) => return Ok(Command::Version),
        Some(Value(v)) => v
            .into_string()
            .map_err(|_| UsageError("command is not valid UTF-8".into()))?,
        Some(other) => return Err(other.unexpected().into()),
    };
    match sub.as_str() {
        "help" => no_more(parser, Command::Help),
        "version" => no_more(parser, Command::Version),
        "run" => parse_run(parser),
        "check" => parse_check(parser),
        "status" => parse_status(parser),
        "rs" | "vrrp" | "reload" => parse_control(parser, &sub),
        "genhash" => parse_genhash(parser),
        "announce" => parse_announce(parser),
        "import-keepalived" => parse_import(parser),
        "realserver" => parse_realserver(parser),
        other => Err(UsageError(format!(
            "unknown command {other:?}; commands: run, check, status, rs, vrrp, reload, announce, genhash, realserver, import-keepalived, help"
        ))),
    }
}

/// `lvsd run [-c FILE] [--syslog] [-v] [--dry-run]`
fn parse_run(mut parser: lexopt::Parser) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut config = PathBuf::from(DEFAULT_CONFIG);
    let mut log = LogTarget::Stderr;
    let mut verbose = false;
    let mut dry_run = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('c') | Long("config") => config = parser.value()?.into(),
            Long("syslog") => log = LogTarget::Syslog,
            Short('v') | Long("verbose") => verbose = true,
            Long("dry-run") => dry_run = true,
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(Command::Run {
        config,
        log,
        verbose,
        dry_run,
    })
}

/// `lvsd check [-c FILE]`
fn parse_check(mut parser: lexopt::Parser) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut config = PathBuf::from(DEFAULT_CONFIG);
    while let Some(arg) = parser.next()? {
        match arg {
            Short('c') | Long("config") => config = parser.value()?.into(),
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(Command::Check { config })
}

/// `lvsd status [-s SOCKET] [--json]`
fn parse_status(mut parser: lexopt::Parser) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut socket = PathBuf::from(DEFAULT_CONTROL_SOCKET);
    let mut json = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('s') | Long("socket") => socket = parser.value()?.into(),
            Long("json") => json = true,
            other => return Err(other.unexpected().into()),
        }
    }
    Ok(Command::Status { socket, json })
}

/// `lvsd rs|vrrp|reload WORDS... [-s SOCKET]`: a runtime command.
fn parse_control(mut parser: lexopt::Parser, sub: &str) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut socket = PathBuf::from(DEFAULT_CONTROL_SOCKET);
    let mut words = vec![sub.to_string()];
    while let Some(arg) = parser.next()? {
        match arg {
            Short('s') | Long("socket") => socket = parser.value()?.into(),
            Value(v) => words.push(
                v.into_string()
                    .map_err(|_| UsageError(format!("{sub}: argument is not valid UTF-8")))?,
            ),
            other => return Err(other.unexpected().into()),
        }
    }
    let request =
        crate::command::Request::parse(&words.join(" ")).map_err(|e| UsageError(e.to_string()))?;
    Ok(Command::Control { socket, request })
}

/// `lvsd announce withdraw|restore|status [GROUP] [-s SOCKET]`
fn parse_announce(mut parser: lexopt::Parser) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut socket = PathBuf::from(DEFAULT_CONTROL_SOCKET);
    let mut words: Vec<String> = Vec::new();
    while let Some(arg) = parser.next()? {
        match arg {
            Short('s') | Long("socket") => socket = parser.value()?.into(),
            Value(v) if words.len() < 2 => words.push(v.string()?),
            other => return Err(other.unexpected().into()),
        }
    }
    match words.first().map(String::as_str) {
        Some("withdraw" | "restore" | "status") => {}
        Some(other) => {
            return Err(UsageError(format!(
                "announce {other:?}: must be withdraw, restore or status"
            )))
        }
        None => {
            return Err(UsageError(
                "announce: say withdraw, restore or status".into(),
            ))
        }
    }
    Ok(Command::Announce {
        request: format!("announce {}", words.join(" ")),
        socket,
    })
}

/// `lvsd import-keepalived FILE [--config-id ID] [--strict]`
fn parse_import(mut parser: lexopt::Parser) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut file = None;
    let mut config_id = None;
    let mut strict = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Long("strict") => strict = true,
            Short('i') | Long("config-id") => {
                config_id = Some(parser.value()?.string()?);
            }
            Value(v) if file.is_none() => file = Some(PathBuf::from(v)),
            other => return Err(other.unexpected().into()),
        }
    }
    let Some(keepalived_conf) = file else {
        return Err(UsageError(
            "import-keepalived: say which keepalived.conf to read".into(),
        ));
    };
    Ok(Command::Import {
        keepalived_conf,
        config_id,
        strict,
    })
}

fn no_more(mut parser: lexopt::Parser, cmd: Command) -> Result<Command, UsageError> {
    match parser.next()? {
        None => Ok(cmd),
        Some(other) => Err(other.unexpected().into()),
    }
}

fn parse_genhash(mut parser: lexopt::Parser) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut server: Option<String> = None;
    let mut port = None;
    let mut path = None;
    let mut tls = false;
    let mut virtualhost = None;
    let mut timeout = Duration::from_secs(5);
    let mut verbose = false;
    while let Some(arg) = parser.next()? {
        match arg {
            Short('s') | Long("server") => {
                let v = value_string(&mut parser, "-s")?;
                if v.is_empty() || v.len() > 253 || v.contains(char::is_whitespace) {
                    return Err(UsageError(format!(
                        "-s {v:?}: must be an address or a host name"
                    )));
                }
                server = Some(v);
            }
            Short('p') | Long("port") => {
                let v = value_string(&mut parser, "-p")?;
                let p: u16 = parse_num(&v, "-p", "must be a port 1..=65535")?;
                if p == 0 {
                    return Err(UsageError("-p 0: must be a port 1..=65535".into()));
                }
                port = Some(p);
            }
            Short('u') | Long("url") => {
                let v = value_string(&mut parser, "-u")?;
                if !v.starts_with('/') {
                    return Err(UsageError(format!(
                        "-u {v:?}: a URL path must start with '/'"
                    )));
                }
                path = Some(v);
            }
            Short('S') | Long("ssl") => tls = true,
            Short('V') | Long("virtualhost") => {
                virtualhost = Some(value_string(&mut parser, "-V")?);
            }
            Short('t') | Long("timeout") => {
                let v = value_string(&mut parser, "-t")?;
                let secs: u32 = parse_num(&v, "-t", "must be whole seconds 1..=3600")?;
                if !(1..=3600).contains(&secs) {
                    return Err(UsageError(format!(
                        "-t {secs}: must be whole seconds 1..=3600"
                    )));
                }
                timeout = Duration::from_secs(u64::from(secs));
            }
            Short('v') | Long("verbose") => verbose = true,
            other => return Err(other.unexpected().into()),
        }
    }
    let server = server.ok_or_else(|| UsageError("genhash: -s SERVER is required".into()))?;
    let port = port.ok_or_else(|| UsageError("genhash: -p PORT is required".into()))?;
    let path = path.ok_or_else(|| UsageError("genhash: -u PATH is required".into()))?;
    Ok(Command::Genhash(GenhashArgs {
        server,
        port,
        url: path,
        ssl: tls,
        virtual_host: virtualhost,
        timeout,
        verbose,
    }))
}

fn parse_realserver(mut parser: lexopt::Parser) -> Result<Command, UsageError> {
    use lexopt::prelude::*;
    let mut action = None;
    let mut vips = Vec::new();
    let mut dev = None;
    while let Some(arg) = parser.next()? {
        match arg {
            Value(v) if action.is_none() => {
                action = Some(match v.to_str() {
                    Some("up" | "start") => RealserverAction::Up,
                    Some("down" | "stop") => RealserverAction::Down,
                    Some("status") => RealserverAction::Status,
                    _ => {
                        return Err(UsageError(format!(
                            "realserver {v:?}: must be up, down or status"
                        )))
                    }
                });
            }
            Long("vip") => {
                let v = value_string(&mut parser, "--vip")?;
                for part in v.split(',').filter(|p| !p.is_empty()) {
                    let ip: IpAddr = parse_num(part, "--vip", "must be an IPv4 or IPv6 address")?;
                    if ip.is_unspecified() || ip.is_multicast() {
                        return Err(UsageError(format!(
                            "--vip {ip}: not a usable unicast address"
                        )));
                    }
                    if !vips.contains(&ip) {
                        vips.push(ip);
                    }
                }
            }
            Long("dev") => {
                let d = value_string(&mut parser, "--dev")?;
                if d.is_empty()
                    || d.len() > 15
                    || d.contains('/')
                    || d.contains(char::is_whitespace)
                {
                    return Err(UsageError(format!(
                        "--dev {d:?}: not a valid interface name"
                    )));
                }
                dev = Some(d);
            }
            other => return Err(other.unexpected().into()),
        }
    }
    let action = action.ok_or_else(|| UsageError("realserver: say up, down or status".into()))?;
    if vips.is_empty() {
        return Err(UsageError(
            "realserver: --vip ADDR[,ADDR...] is required".into(),
        ));
    }
    Ok(Command::Realserver(RealserverArgs { action, vips, dev }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Result<Command, UsageError> {
        parse(args.iter().copied())
    }

    #[test]
    fn run_and_check_defaults_and_flags() {
        assert_eq!(
            p(&["run"]).unwrap(),
            Command::Run {
                config: DEFAULT_CONFIG.into(),
                log: LogTarget::Stderr,
                verbose: false,
                dry_run: false
            }
        );
        assert_eq!(
            p(&["run", "-c", "/tmp/x.ini", "--syslog", "-v", "--dry-run"]).unwrap(),
            Command::Run {
                config: "/tmp/x.ini".into(),
                log: LogTarget::Syslog,
                verbose: true,
                dry_run: true
            }
        );
        assert_eq!(
            p(&["check", "--config=/a.ini"]).unwrap(),
            Command::Check {
                config: "/a.ini".into()
            }
        );
        assert_eq!(p(&["--version"]).unwrap(), Command::Version);
        assert_eq!(p(&["help"]).unwrap(), Command::Help);
    }

    #[test]
    fn operator_commands_become_requests() {
        use crate::command::{Request, RsAction};
        assert_eq!(
            p(&["status", "--json", "-s", "/tmp/s.sock"]).unwrap(),
            Command::Status {
                socket: "/tmp/s.sock".into(),
                json: true
            }
        );
        let Command::Control { socket, request } =
            p(&["rs", "weight", "web", "10.0.0.11:80", "5", "--socket", "/x"]).unwrap()
        else {
            panic!("not a control command")
        };
        assert_eq!(socket, PathBuf::from("/x"));
        assert!(matches!(
            request,
            Request::Rs {
                action: RsAction::Weight(5),
                ..
            }
        ));
        assert_eq!(
            p(&["vrrp", "stepdown", "VI_1"]).unwrap(),
            Command::Control {
                socket: DEFAULT_CONTROL_SOCKET.into(),
                request: Request::StepDown("VI_1".into())
            }
        );
        assert_eq!(
            p(&["reload"]).unwrap(),
            Command::Control {
                socket: DEFAULT_CONTROL_SOCKET.into(),
                request: Request::Reload
            }
        );
    }

    #[test]
    fn genhash_flags_like_keepalived() {
        let Command::Genhash(g) = p(&[
            "genhash", "-s", "10.0.0.2", "-p", "80", "-u", "/", "-S", "-V", "www", "-t", "3", "-v",
        ])
        .unwrap() else {
            panic!("not genhash")
        };
        assert_eq!(g.server, "10.0.0.2");
        assert_eq!(
            (g.port, g.url.as_str(), g.ssl, g.verbose),
            (80, "/", true, true)
        );
        assert_eq!(g.virtual_host.as_deref(), Some("www"));
        assert_eq!(g.timeout, Duration::from_secs(3));
    }

    #[test]
    fn realserver_parses_vip_lists() {
        let Command::Realserver(r) = p(&[
            "realserver",
            "up",
            "--vip",
            "10.0.0.100,fd00::100,10.0.0.100",
            "--dev",
            "eth0",
        ])
        .unwrap() else {
            panic!("not realserver")
        };
        assert_eq!(r.action, RealserverAction::Up);
        assert_eq!(r.vips.len(), 2, "duplicates folded");
        assert_eq!(r.dev.as_deref(), Some("eth0"));
    }

    #[test]
    fn announce_requests() {
        assert_eq!(
            p(&["announce", "withdraw", "edge", "--socket", "/s"]).unwrap(),
            Command::Announce {
                request: "announce withdraw edge".into(),
                socket: "/s".into()
            }
        );
        assert_eq!(
            p(&["announce", "status"]).unwrap(),
            Command::Announce {
                request: "announce status".into(),
                socket: DEFAULT_CONTROL_SOCKET.into()
            }
        );
        assert!(p(&["announce", "sideways"])
            .unwrap_err()
            .0
            .contains("must be withdraw"));
        assert!(p(&["announce"]).is_err());
        assert!(p(&["announce", "withdraw", "a", "b"]).is_err());
    }

    #[test]
    fn usage_errors_name_the_flag() {
        for (args, needle) in [
            (&["frobnicate"][..], "unknown command \"frobnicate\""),
            (&[][..], "no command given"),
            (
                &["genhash", "-s", "no host", "-p", "80", "-u", "/"][..],
                "-s \"no host\"",
            ),
            (
                &["genhash", "-s", "1.2.3.4", "-p", "0", "-u", "/"][..],
                "-p 0",
            ),
            (
                &["genhash", "-s", "1.2.3.4", "-p", "70000", "-u", "/"][..],
                "-p \"70000\"",
            ),
            (
                &["genhash", "-s", "1.2.3.4", "-p", "80", "-u", "x"][..],
                "must start with '/'",
            ),
            (
                &["genhash", "-s", "1.2.3.4", "-p", "80"][..],
                "-u PATH is required",
            ),
            (
                &["genhash", "-s", "1.2.3.4", "-p", "80", "-u", "/", "-t", "0"][..],
                "-t 0",
            ),
            (
                &["realserver", "sideways", "--vip", "1.2.3.4"][..],
                "must be up, down or status",
            ),
            (&["realserver", "up"][..], "--vip ADDR"),
            (
                &["realserver", "up", "--vip", "224.0.0.1"][..],
                "not a usable unicast",
            ),
            (
                &["realserver", "up", "--vip", "1.2.3.4", "--dev", "a/b"][..],
                "--dev \"a/b\"",
            ),
            (&["run", "--bogus"][..], "--bogus"),
            (&["check", "-c"][..], "-c"),
            (&["help", "extra"][..], "extra"),
            (&["rs", "drain", "web"][..], "expected VS RS"),
            (&["vrrp", "nap", "VI_1"][..], "must be stepdown or resume"),
            (&["reload", "now"][..], "unknown request"),
            (&["status", "--yaml"][..], "--yaml"),
        ] {
            let err = p(args).expect_err(&format!("{args:?} should fail"));
            assert!(err.0.contains(needle), "{args:?}: {err} lacks {needle:?}");
        }
    }

    #[test]
    fn help_lists_every_command_and_exit_code() {
        let h = help_text();
        for word in [
            "run",
            "check",
            "status",
            "genhash",
            "realserver",
            "3  configuration error",
            "4  kernel",
        ] {
            assert!(h.contains(word), "help lacks {word}");
        }
    }
}
