//! Looking up the script user in /etc/passwd (no NSS: the static binary reads the file).

use std::io;

/// The uid and gid of `name`, or `Ok(None)` when /etc/passwd has no such user.
pub fn lookup(name: &str) -> io::Result<Option<(u32, u32)>> {
    lookup_in(&std::fs::read_to_string("/etc/passwd")?, name)
}

/// Looks `name` up in passwd-format `text`.
pub fn lookup_in(text: &str, name: &str) -> io::Result<Option<(u32, u32)>> {
    for line in text.lines() {
        let mut fields = line.split(':');
        if fields.next() != Some(name) {
            continue;
        }
        let _password = fields.next();
        let uid = fields.next().and_then(|v| v.parse().ok());
        let gid = fields.next().and_then(|v| v.parse().ok());
        return match (uid, gid) {
            (Some(u), Some(g)) => Ok(Some((u, g))),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/etc/passwd: malformed entry for {name:?}"),
            )),
        };
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_users_and_reports_bad_lines() {
        let passwd =
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\nbad:x:zz:1\n";
        assert_eq!(lookup_in(passwd, "nobody").unwrap(), Some((65534, 65534)));
        assert_eq!(lookup_in(passwd, "root").unwrap(), Some((0, 0)));
        assert_eq!(lookup_in(passwd, "ghost").unwrap(), None);
        assert!(lookup_in(passwd, "bad").is_err());
    }
}
