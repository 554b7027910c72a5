//! Generic netlink: `struct genlmsghdr`, and CTRL_CMD_GETFAMILY request and reply parsing
//! (family id, version, multicast groups), per `/usr/include/linux/genetlink.h`.

use super::attr::{Attr, Attrs};
use super::msg::{DecodeError, EncodeError, MessageBuilder, NLM_F_ACK, NLM_F_REQUEST};

/// Length of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// `GENL_ID_CTRL`: the controller family, always present.
pub const GENL_ID_CTRL: u16 = 0x10;
/// `CTRL_CMD_NEWFAMILY`: the controller's reply command.
pub const CTRL_CMD_NEWFAMILY: u8 = 1;
/// `CTRL_CMD_GETFAMILY`: ask for a family by name.
pub const CTRL_CMD_GETFAMILY: u8 = 3;
/// `CTRL_ATTR_FAMILY_ID` (u16).
pub const CTRL_ATTR_FAMILY_ID: u16 = 1;
/// `CTRL_ATTR_FAMILY_NAME` (string).
pub const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// `CTRL_ATTR_VERSION` (u32).
pub const CTRL_ATTR_VERSION: u16 = 3;
/// `CTRL_ATTR_MCAST_GROUPS` (nested array of nested groups).
pub const CTRL_ATTR_MCAST_GROUPS: u16 = 7;
/// `CTRL_ATTR_MCAST_GRP_NAME` (string).
pub const CTRL_ATTR_MCAST_GRP_NAME: u16 = 1;
/// `CTRL_ATTR_MCAST_GRP_ID` (u32).
pub const CTRL_ATTR_MCAST_GRP_ID: u16 = 2;
/// Longest generic netlink family or group name (GENL_NAMSIZ - 1).
pub const GENL_NAME_MAX: usize = 15;
/// Multicast groups remembered per family.
pub const MAX_MCAST_GROUPS: usize = 8;

/// `struct genlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GenlHeader {
    /// Command.
    pub cmd: u8,
    /// Family interface version.
    pub version: u8,
}

impl GenlHeader {
    /// Splits a generic netlink message payload into its header and attribute bytes.
    pub fn parse(payload: &[u8]) -> Result<(GenlHeader, &[u8]), DecodeError> {
        match (payload.first(), payload.get(1), payload.get(GENL_HDRLEN..)) {
            (Some(&cmd), Some(&version), Some(rest)) => Ok((GenlHeader { cmd, version }, rest)),
            _ => Err(DecodeError::Truncated {
                what: "genlmsghdr",
                need: GENL_HDRLEN,
                have: payload.len(),
            }),
        }
    }

    /// The four header bytes (cmd, version, reserved u16).
    pub fn bytes(&self) -> [u8; GENL_HDRLEN] {
        [self.cmd, self.version, 0, 0]
    }
}

/// Starts a generic netlink request to `family` with `cmd` (NLM_F_REQUEST is added).
pub fn begin<'a>(
    buf: &'a mut [u8],
    family: u16,
    cmd: u8,
    version: u8,
    flags: u16,
    seq: u32,
) -> Result<MessageBuilder<'a>, EncodeError> {
    let mut b = MessageBuilder::new(buf, family, flags | NLM_F_REQUEST, seq)?;
    b.put_header(&GenlHeader { cmd, version }.bytes())?;
    Ok(b)
}

/// Encodes CTRL_CMD_GETFAMILY for `name` into `buf`; returns the message length.
pub fn encode_get_family(buf: &mut [u8], seq: u32, name: &str) -> Result<usize, EncodeError> {
    if name.len() > GENL_NAME_MAX {
        return Err(EncodeError::TooLong("generic netlink family name"));
    }
    let mut b = begin(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1, NLM_F_ACK, seq)?;
    b.attr_str(CTRL_ATTR_FAMILY_NAME, name)?;
    Ok(b.finish())
}

/// One multicast group of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct McastGroup {
    /// Group name.
    pub name: heapless::String<GENL_NAME_MAX>,
    /// Group id, for NETLINK_ADD_MEMBERSHIP.
    pub id: u32,
}

/// A decoded CTRL_CMD_NEWFAMILY reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// Family id: the nlmsg_type to use for requests.
    pub id: u16,
    /// Family name.
    pub name: heapless::String<GENL_NAME_MAX>,
    /// Family interface version.
    pub version: u32,
    /// Multicast groups (the first MAX_MCAST_GROUPS).
    pub mcast_groups: heapless::Vec<McastGroup, MAX_MCAST_GROUPS>,
}

impl Family {
    /// The id of the multicast group called `name`.
    pub fn mcast_group(&self, name: &str) -> Option<u32> {
        self.mcast_groups
            .iter()
            .find(|g| g.name == name)
            .map(|g| g.id)
    }
}

fn short_string(
    a: &Attr<'_>,
    what: &'static str,
) -> Result<heapless::String<GENL_NAME_MAX>, DecodeError> {
    let mut s = heapless::String::new();
    s.push_str(a.str()?)
        .map_err(|_| DecodeError::BadValue(what))?;
    Ok(s)
}

/// Parses the payload (after nlmsghdr) of a CTRL_CMD_NEWFAMILY reply.
pub fn parse_family(payload: &[u8]) -> Result<Family, DecodeError> {
    let (hdr, attrs) = GenlHeader::parse(payload)?;
    if hdr.cmd != CTRL_CMD_NEWFAMILY {
        return Err(DecodeError::BadValue("genl ctrl command"));
    }
    let mut id = None;
    let mut fam = Family {
        id: 0,
        name: heapless::String::new(),
        version: 0,
        mcast_groups: heapless::Vec::new(),
    };
    for a in Attrs::new(attrs) {
        let a = a?;
        match a.kind {
            CTRL_ATTR_FAMILY_ID => id = Some(a.u16()?),
            CTRL_ATTR_FAMILY_NAME => fam.name = short_string(&a, "family name")?,
            CTRL_ATTR_VERSION => fam.version = a.u32()?,
            CTRL_ATTR_MCAST_GROUPS => {
                for g in a.nested() {
                    let mut name = None;
                    let mut gid = None;
                    for f in g?.nested() {
                        let f = f?;
                        match f.kind {
                            CTRL_ATTR_MCAST_GRP_NAME => {
                                name = Some(short_string(&f, "group name")?)
                            }
                            CTRL_ATTR_MCAST_GRP_ID => gid = Some(f.u32()?),
                            _ => {}
                        }
                    }
                    if let (Some(name), Some(id)) = (name, gid) {
                        // More groups than we remember are ignored: lvsd needs none of them.
                        let _ = fam.mcast_groups.push(McastGroup { name, id });
                    }
                }
            }
            _ => {}
        }
    }
    fam.id = id.ok_or(DecodeError::Missing("CTRL_ATTR_FAMILY_ID"))?;
    Ok(fam)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::netlink::msg::{Header, NLMSG_HDRLEN};

    #[test]
    fn get_family_request_layout() {
        // Constructed from genetlink.h: nlmsghdr(type 0x10, REQUEST|ACK), genlmsghdr
        // (cmd 3, version 1), CTRL_ATTR_FAMILY_NAME "IPVS\0" padded to 12 bytes.
        let mut buf = [0u8; 64];
        let n = encode_get_family(&mut buf, 9, "IPVS").unwrap();
        assert_eq!(n, 16 + 4 + 12);
        let h = Header::parse(&buf).unwrap();
        assert_eq!((h.len, h.kind, h.flags, h.seq), (32, 0x10, 5, 9));
        assert_eq!(&buf[16..20], &[3, 1, 0, 0]);
        assert_eq!(
            &buf[20..32],
            &[9, 0, 2, 0, b'I', b'P', b'V', b'S', 0, 0, 0, 0]
        );
        assert!(encode_get_family(&mut buf, 1, "a-name-that-is-too-long").is_err());
    }

    #[test]
    fn parses_family_reply_with_groups() {
        let mut buf = [0u8; 256];
        let mut b = MessageBuilder::new(&mut buf, GENL_ID_CTRL, 0, 1).unwrap();
        b.put_header(&[CTRL_CMD_NEWFAMILY, 2, 0, 0]).unwrap();
        b.attr_str(CTRL_ATTR_FAMILY_NAME, "nlctrl").unwrap();
        b.attr_u16(CTRL_ATTR_FAMILY_ID, 0x10).unwrap();
        b.attr_u32(CTRL_ATTR_VERSION, 2).unwrap();
        let groups = b.begin_nested(CTRL_ATTR_MCAST_GROUPS).unwrap();
        let g = b.begin_nested(1).unwrap();
        b.attr_u32(CTRL_ATTR_MCAST_GRP_ID, 16).unwrap();
        b.attr_str(CTRL_ATTR_MCAST_GRP_NAME, "notify").unwrap();
        b.end_nested(g).unwrap();
        b.end_nested(groups).unwrap();
        let n = b.finish();
        let fam = parse_family(&buf[NLMSG_HDRLEN..n]).unwrap();
        assert_eq!(fam.id, 0x10);
        assert_eq!(fam.name, "nlctrl");
        assert_eq!(fam.version, 2);
        assert_eq!(fam.mcast_group("notify"), Some(16));
        for cut in NLMSG_HDRLEN..n {
            let _ = parse_family(&buf[NLMSG_HDRLEN..cut]);
        }
        assert!(matches!(
            parse_family(&buf[NLMSG_HDRLEN..NLMSG_HDRLEN + 4]),
            Err(DecodeError::Missing(_))
        ));
    }
}
