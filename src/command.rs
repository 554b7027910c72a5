//! Operator commands of the control socket, as text: one request line in,
//! one answer out. Parsing and the answer's form live here (pure); the
//! daemon carries the commands out (`daemon/commands.rs`) and `io::control`
//! moves the bytes. The CLI writes the same lines (`Request::line`).
//!
//! An answer starts with `ok` or `error:`; the client's exit code follows it.

#![forbid(unsafe_code)]

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// The default drain timeout of `lvsd rs drain`.
pub const DEFAULT_DRAIN_TIMEOUT: Duration = Duration::from_secs(300);
/// The longest drain timeout accepted.
pub const MAX_DRAIN_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The largest weight IPVS takes (a signed 32-bit value in the kernel).
pub const MAX_WEIGHT: u32 = i32::MAX as u32;

/// What to do with a real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsAction {
    /// Weight 0 until its active connections end or `timeout` passes, then out.
    Drain {
        /// The longest wait.
        timeout: Duration,
    },
    /// Clear the override: configuration and health decide again.
    Enable,
    /// Out of the table at once.
    Disable,
    /// This weight while the server is alive.
    Weight(u32),
}

/// A real server named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RsAddr {
    /// Address.
    pub addr: IpAddr,
    /// Port.
    pub port: u16,
}

/// One parsed request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `status`: the text view.
    Status,
    /// `status json`: the JSON view.
    StatusJson,
    /// `rs ACTION VS RS [N]`.
    Rs {
        /// What to do.
        action: RsAction,
        /// The virtual server: its section name, `ADDR:PORT` or `fwmark:N`.
        virtual_server: String,
        /// The real server.
        real_server: RsAddr,
    },
    /// `vrrp stepdown NAME`.
    StepDown(String),
    /// `vrrp resume NAME`.
    Resume(String),
    /// `reload`.
    Reload,
}

/// Why a request line was refused; each names the words it refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RequestError<'a> {
    /// No words at all.
    Empty,
    /// A first word (or `rs` alone) no request starts with; the line's
    /// first 64 characters.
    Unknown(&'a str),
    /// `vrrp VERB` with a verb other than stepdown or resume.
    VrrpVerb(&'a str),
    /// `vrrp stepdown|resume` without exactly one instance name.
    VrrpInstances(&'a str),
    /// An instance name that cannot be one.
    Instance(&'a str),
    /// `rs VERB` with the wrong number of words after it.
    RsArguments(&'a str),
    /// `rs VERB` with a verb that is not one.
    RsVerb(&'a str),
    /// `rs enable|disable` with a word after the real server.
    Unexpected {
        /// The verb.
        verb: &'a str,
        /// The extra word.
        word: &'a str,
    },
    /// A drain timeout that is not whole seconds.
    DrainTimeout(&'a str),
    /// A drain timeout outside 1..=MAX_DRAIN_TIMEOUT.
    DrainRange(u64),
    /// A weight that is not a whole number.
    Weight(&'a str),
    /// A weight above MAX_WEIGHT.
    WeightRange(u32),
    /// `rs weight VS RS` without the weight.
    WeightMissing,
    /// A virtual server that cannot be a section name, ADDR:PORT or fwmark:N.
    VirtualServer(&'a str),
    /// A real server that is not ADDR:PORT.
    RealServer(&'a str),
    /// A real server of port 0.
    PortZero(&'a str),
}

impl fmt::Display for RequestError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Empty => write!(f, "empty request; {USAGE}"),
            RequestError::Unknown(start) => write!(f, "unknown request {start:?}; {USAGE}"),
            RequestError::VrrpVerb(verb) => write!(f, "vrrp {verb:?}: must be stepdown or resume"),
            RequestError::VrrpInstances(verb) => {
                write!(f, "vrrp {verb}: say which instance (one name)")
            }
            RequestError::Instance(text) => {
                write!(f, "vrrp instance {text:?}: not an instance name")
            }
            RequestError::RsArguments(verb) => write!(
                f,
                "rs {verb}: expected VS RS{}",
                match *verb {
                    "weight" => " N",
                    "drain" => " [SECONDS]",
                    _ => "",
                }
            ),
            RequestError::RsVerb(verb) => {
                write!(f, "rs {verb:?}: must be drain, enable, disable or weight")
            }
            RequestError::Unexpected { verb, word } => write!(f, "rs {verb}: unexpected {word:?}"),
            RequestError::DrainTimeout(text) => {
                write!(f, "rs drain: timeout {text:?} must be whole seconds")
            }
            RequestError::DrainRange(secs) => write!(
                f,
                "rs drain: timeout {secs} must be 1..={} seconds",
                MAX_DRAIN_TIMEOUT.as_secs()
            ),
            RequestError::Weight(text) => {
                write!(
                    f,
                    "rs weight: {text:?} must be a whole number 0..={MAX_WEIGHT}"
                )
            }
            RequestError::WeightRange(weight) => {
                write!(f, "rs weight: {weight} must be 0..={MAX_WEIGHT}")
            }
            RequestError::WeightMissing => write!(f, "rs weight: say the weight N"),
            RequestError::VirtualServer(text) => write!(
                f,
                "virtual server {text:?}: must be its section name, ADDR:PORT or fwmark:N"
            ),
            RequestError::RealServer(text) => write!(
                f,
                "real server {text:?}: must be ADDR:PORT (IPv6 as [ADDR]:PORT)"
            ),
            RequestError::PortZero(text) => write!(f, "real server {text:?}: port 0 is not a port"),
        }
    }
}

impl std::error::Error for RequestError<'_> {}

const USAGE: &str = "requests: status | status json | rs drain VS RS [SECONDS] | rs enable VS RS | rs disable VS RS | rs weight VS RS N | vrrp stepdown INSTANCE | vrrp resume INSTANCE | reload";

/// Parses `ADDR:PORT` or `[V6]:PORT` (a bare IPv6 address needs brackets).
pub fn parse_rs(text: &str) -> Result<RsAddr, RequestError<'_>> {
    let sa: SocketAddr = text.parse().map_err(|_| RequestError::RealServer(text))?;
    if sa.port() == 0 {
        return Err(RequestError::PortZero(text));
    }
    Ok(RsAddr {
        addr: sa.ip(),
        port: sa.port(),
    })
}

fn check_vs(text: &str) -> Result<String, RequestError<'_>> {
    if text.is_empty() || text.len() > 128 || text.contains(char::is_control) {
        return Err(RequestError::VirtualServer(text));
    }
    Ok(text.to_owned())
}

fn check_instance(text: &str) -> Result<String, RequestError<'_>> {
    if text.is_empty()
        || text.len() > crate::limits::MAX_NAME_LEN
        || text.contains(char::is_control)
    {
        return Err(RequestError::Instance(text));
    }
    Ok(text.to_owned())
}

impl Request {
    /// Parses one request line (already without its newline).
    pub fn parse(line: &str) -> Result<Request, RequestError<'_>> {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["status"] => Ok(Request::Status),
            ["status", "json"] => Ok(Request::StatusJson),
            ["reload"] => Ok(Request::Reload),
            ["vrrp", "stepdown", name] => Ok(Request::StepDown(check_instance(name)?)),
            ["vrrp", "resume", name] => Ok(Request::Resume(check_instance(name)?)),
            ["vrrp", other, ..] if !["stepdown", "resume"].contains(other) => {
                Err(RequestError::VrrpVerb(other))
            }
            ["vrrp", verb, ..] => Err(RequestError::VrrpInstances(verb)),
            ["rs", verb, rest @ ..] => {
                let (vs, rs, extra) = match rest {
                    [vs, rs] => (*vs, *rs, None),
                    [vs, rs, n] => (*vs, *rs, Some(*n)),
                    _ => return Err(RequestError::RsArguments(verb)),
                };
                let action = match (*verb, extra) {
                    ("drain", None) => RsAction::Drain {
                        timeout: DEFAULT_DRAIN_TIMEOUT,
                    },
                    ("drain", Some(n)) => {
                        let secs: u64 = n.parse().map_err(|_| RequestError::DrainTimeout(n))?;
                        let timeout = Duration::from_secs(secs);
                        if secs == 0 || timeout > MAX_DRAIN_TIMEOUT {
                            return Err(RequestError::DrainRange(secs));
                        }
                        RsAction::Drain { timeout }
                    }
                    ("enable", None) => RsAction::Enable,
                    ("disable", None) => RsAction::Disable,
                    ("weight", Some(n)) => {
                        let w: u32 = n.parse().map_err(|_| RequestError::Weight(n))?;
                        if w > MAX_WEIGHT {
                            return Err(RequestError::WeightRange(w));
                        }
                        RsAction::Weight(w)
                    }
                    ("weight", None) => return Err(RequestError::WeightMissing),
                    ("enable" | "disable", Some(x)) => {
                        return Err(RequestError::Unexpected { verb, word: x })
                    }
                    (other, _) => return Err(RequestError::RsVerb(other)),
                };
                Ok(Request::Rs {
                    action,
                    virtual_server: check_vs(vs)?,
                    real_server: parse_rs(rs)?,
                })
            }
            [] => Err(RequestError::Empty),
            _ => Err(RequestError::Unknown(
                // The first 64 characters.
                line.char_indices()
                    .nth(64)
                    .map_or(line, |(end, _)| &line[..end]),
            )),
        }
    }

    /// The request line that [`Request::parse`] reads back.
    pub fn line(&self) -> String {
        match self {
            Request::Status => "status".into(),
            Request::StatusJson => "status json".into(),
            Request::Reload => "reload".into(),
            Request::StepDown(n) => format!("vrrp stepdown {n}"),
            Request::Resume(n) => format!("vrrp resume {n}"),
            Request::Rs {
                action,
                virtual_server,
                real_server,
            } => {
                let rs = crate::status::addr_port(real_server.addr, real_server.port);
                match action {
                    RsAction::Drain { timeout } => {
                        format!("rs drain {virtual_server} {rs} {}", timeout.as_secs())
                    }
                    RsAction::Enable => format!("rs enable {virtual_server} {rs}"),
                    RsAction::Disable => format!("rs disable {virtual_server} {rs}"),
                    RsAction::Weight(w) => format!("rs weight {virtual_server} {rs} {w}"),
                }
            }
        }
    }

    /// Whether the request changes the daemon (logged with the peer's uid).
    pub fn changes_state(&self) -> bool {
        !matches!(self, Request::Status | Request::StatusJson)
    }
}

/// An answer that starts with `ok`.
pub fn ok(text: impl fmt::Display) -> String {
    format!("ok: {text}\n")
}

/// An answer that starts with `error:`.
pub fn error(text: impl fmt::Display) -> String {
    format!("error: {text}\n")
}

/// True when an answer says the command failed.
pub fn is_error(answer: &str) -> bool {
    answer.starts_with("error:")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip() {
        for line in [
            "status",
            "status json",
            "reload",
            "vrrp stepdown VI_1",
            "vrrp resume VI_1",
            "rs drain web 10.0.0.11:80 30",
            "rs enable web 10.0.0.11:80",
            "rs disable 10.0.0.100:80 [fd00::1]:443",
            "rs weight fwmark:7 10.0.0.12:80 5",
        ] {
            let r = Request::parse(line).unwrap_or_else(|e| panic!("{line}: {e}"));
            assert_eq!(r.line(), line);
            assert_eq!(Request::parse(&r.line()).unwrap(), r);
        }
        assert_eq!(
            Request::parse("rs drain web 10.0.0.11:80").unwrap(),
            Request::Rs {
                action: RsAction::Drain {
                    timeout: DEFAULT_DRAIN_TIMEOUT
                },
                virtual_server: "web".into(),
                real_server: parse_rs("10.0.0.11:80").unwrap(),
            }
        );
        assert!(!Request::Status.changes_state());
        assert!(Request::Reload.changes_state());
    }

    #[test]
    fn bad_requests_say_what_is_wrong() {
        for (line, needle) in [
            ("", "empty request"),
            ("frobnicate", "unknown request \"frobnicate\""),
            ("rs", "unknown request"),
            ("rs drain web", "expected VS RS [SECONDS]"),
            ("rs weight web 10.0.0.1:80", "say the weight"),
            (
                "rs weight web 10.0.0.1:80 -1",
                "\"-1\" must be a whole number",
            ),
            ("rs weight web 10.0.0.1:80 4294967295", "must be 0..="),
            ("rs drain web 10.0.0.1:80 0", "timeout 0 must be"),
            ("rs drain web 10.0.0.1:80 x", "timeout \"x\""),
            ("rs enable web 10.0.0.1:80 3", "unexpected \"3\""),
            ("rs pause web 10.0.0.1:80", "\"pause\": must be drain"),
            ("rs disable web 10.0.0.1", "must be ADDR:PORT"),
            ("rs disable web fd00::1:80", "must be ADDR:PORT"),
            ("rs disable web 10.0.0.1:0", "port 0"),
            ("vrrp stepdown", "say which instance"),
            ("vrrp stepdown a b", "say which instance"),
            ("vrrp sleep VI_1", "must be stepdown or resume"),
        ] {
            let e = Request::parse(line).expect_err(line);
            assert!(
                e.to_string().contains(needle),
                "{line:?}: {e} lacks {needle:?}"
            );
        }
    }

    #[test]
    fn an_unknown_request_is_quoted_to_64_characters() {
        let line = "ü".repeat(70);
        let e = Request::parse(&line).unwrap_err();
        assert_eq!(e, RequestError::Unknown(&line[..128]));
        assert!(e.to_string().starts_with(&format!(
            "unknown request \"{}\"; requests:",
            "ü".repeat(64)
        )));
        let short = "ü".repeat(64);
        assert_eq!(Request::parse(&short), Err(RequestError::Unknown(&short)));
    }

    #[test]
    fn answers_start_with_ok_or_error() {
        assert_eq!(ok("drained"), "ok: drained\n");
        assert!(is_error(&error("no such instance")));
        assert!(!is_error(&ok("x")));
    }
}
