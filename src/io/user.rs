//! Looking up users and groups in /etc/passwd and /etc/group (no NSS: the static binary
//! reads the files). [`require`] is the one script-user lookup of VRRP scripts and
//! checkers alike; each caller wraps its [`UserError`].

use std::io;

/// Why a script user could not be resolved; names the user.
#[derive(Debug)]
pub enum UserError {
    /// No such user in /etc/passwd.
    NoSuchUser(String),
    /// /etc/passwd could not be read.
    Io(String, io::Error),
}

impl std::fmt::Display for UserError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UserError::NoSuchUser(name) => {
                write!(f, "script user {name:?}: no such user in /etc/passwd")
            }
            UserError::Io(name, e) => write!(f, "script user {name:?}: reading /etc/passwd: {e}"),
        }
    }
}

impl std::error::Error for UserError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            UserError::NoSuchUser(_) => None,
            UserError::Io(_, e) => Some(e),
        }
    }
}

/// The uid and gid of a script user that must exist (`script_user`,
/// per-script users): one lookup for VRRP scripts and checkers alike.
pub fn require(name: &str) -> Result<(u32, u32), UserError> {
    match lookup(name) {
        Ok(Some(ids)) => Ok(ids),
        Ok(None) => Err(UserError::NoSuchUser(name.to_string())),
        Err(e) => Err(UserError::Io(name.to_string(), e)),
    }
}

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

/// A group from /etc/group: its gid and the names of its listed members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The group id.
    pub gid: u32,
    /// Members listed in the fourth field (users whose primary group it is are not listed).
    pub members: Vec<String>,
}

/// The group `name`, or `Ok(None)` when /etc/group has no such group.
pub fn lookup_group(name: &str) -> io::Result<Option<Group>> {
    lookup_group_in(&std::fs::read_to_string("/etc/group")?, name)
}

/// Looks `name` up in group-format `text`.
pub fn lookup_group_in(text: &str, name: &str) -> io::Result<Option<Group>> {
    for line in text.lines() {
        let mut fields = line.split(':');
        if fields.next() != Some(name) {
            continue;
        }
        let _password = fields.next();
        let Some(gid) = fields.next().and_then(|v| v.parse().ok()) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("/etc/group: malformed entry for {name:?}"),
            ));
        };
        let members = fields
            .next()
            .unwrap_or("")
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_owned)
            .collect();
        return Ok(Some(Group { gid, members }));
    }
    Ok(None)
}

/// The uid of every user in /etc/passwd whose name is in `names`.
pub fn uids_of(names: &[String]) -> io::Result<Vec<u32>> {
    let text = std::fs::read_to_string("/etc/passwd")?;
    let mut out = Vec::new();
    for name in names {
        if let Some((uid, _)) = lookup_in(&text, name)? {
            out.push(uid);
        }
    }
    Ok(out)
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

    #[test]
    fn finds_groups_and_their_members() {
        let group = "root:x:0:\nlvsops:x:990:alice,bob\nbad:x:zz:\n";
        assert_eq!(
            lookup_group_in(group, "lvsops").unwrap(),
            Some(Group {
                gid: 990,
                members: vec!["alice".into(), "bob".into()]
            })
        );
        assert_eq!(
            lookup_group_in(group, "root")
                .unwrap()
                .unwrap()
                .members
                .len(),
            0
        );
        assert_eq!(lookup_group_in(group, "ghost").unwrap(), None);
        assert!(lookup_group_in(group, "bad").is_err());
    }
}
