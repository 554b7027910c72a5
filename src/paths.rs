//! Default paths that several layers share (the command line, the config
//! defaults, the daemon). A leaf module: it imports nothing.

/// The default configuration file.
pub const DEFAULT_CONFIG: &str = "/etc/lvsd/lvsd.ini";
/// The default control socket of a running daemon.
pub const DEFAULT_CONTROL_SOCKET: &str = "/run/lvsd/lvsd.sock";
