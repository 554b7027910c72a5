//! Reading and writing sysctls under /proc/sys.

use std::io;
use std::path::PathBuf;

/// The /proc/sys path of a dotted or slashed sysctl name.
fn path_of(name: &str) -> PathBuf {
    PathBuf::from("/proc/sys").join(name.replace('.', "/"))
}

/// Reads a sysctl as a trimmed string.
pub fn read(name: &str) -> io::Result<String> {
    let path = path_of(name);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// Writes a sysctl.
pub fn write(name: &str, value: &str) -> io::Result<()> {
    let path = path_of(name);
    std::fs::write(&path, value)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}

/// The /proc/sys path of `net/<family>/conf/<interface>/<key>`: the interface
/// name is one path component, dots and all (`vrrp.51`), unlike the dotted form.
fn conf_path(family: &str, interface: &str, key: &str) -> PathBuf {
    PathBuf::from("/proc/sys/net")
        .join(family)
        .join("conf")
        .join(interface)
        .join(key)
}

/// Reads `net.<family>.conf.<interface>.<key>` as a number.
pub fn read_conf(family: &str, interface: &str, key: &str) -> io::Result<u32> {
    let path = conf_path(family, interface, key);
    let text = std::fs::read_to_string(&path)
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
    text.trim().parse().map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: not a number: {:?}", path.display(), text.trim()),
        )
    })
}

/// Writes `net.<family>.conf.<interface>.<key>`.
pub fn write_conf(family: &str, interface: &str, key: &str, value: u32) -> io::Result<()> {
    let path = conf_path(family, interface, key);
    std::fs::write(&path, value.to_string())
        .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
}
