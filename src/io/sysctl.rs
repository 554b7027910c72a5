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
