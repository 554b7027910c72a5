//! Netlink attributes (`struct nlattr`): 4-byte alignment and a bounds-checked iterator
//! that never panics, with typed getters for the payload.

use super::msg::DecodeError;

/// `NLA_F_NESTED`: the payload is itself a list of attributes.
pub const NLA_F_NESTED: u16 = 0x8000;
/// `NLA_F_NET_BYTEORDER`: the payload is in network byte order.
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;
/// Mask that strips the two flag bits from an attribute type.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);
/// Length of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;

/// Rounds `len` up to the netlink alignment of 4 bytes (NLMSG_ALIGN / NLA_ALIGN).
pub const fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// One attribute: its type (flags stripped) and payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attr<'a> {
    /// Attribute type with NLA_F_NESTED / NLA_F_NET_BYTEORDER masked off.
    pub kind: u16,
    /// The payload (without padding).
    pub payload: &'a [u8],
}

impl<'a> Attr<'a> {
    fn exact<const N: usize>(&self, what: &'static str) -> Result<[u8; N], DecodeError> {
        self.payload
            .try_into()
            .map_err(|_| DecodeError::BadAttribute {
                what,
                len: self.payload.len(),
            })
    }

    /// The payload as a u8.
    pub fn u8(&self) -> Result<u8, DecodeError> {
        Ok(self.exact::<1>("u8")?[0])
    }

    /// The payload as a host-order u16.
    pub fn u16(&self) -> Result<u16, DecodeError> {
        Ok(u16::from_ne_bytes(self.exact("u16")?))
    }

    /// The payload as a network-order u16 (ports).
    pub fn be16(&self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.exact("be16")?))
    }

    /// The payload as a host-order u32.
    pub fn u32(&self) -> Result<u32, DecodeError> {
        Ok(u32::from_ne_bytes(self.exact("u32")?))
    }

    /// The payload as a host-order u64.
    pub fn u64(&self) -> Result<u64, DecodeError> {
        Ok(u64::from_ne_bytes(self.exact("u64")?))
    }

    /// The payload as a string, up to the first NUL (the NUL is optional).
    pub fn str(&self) -> Result<&'a str, DecodeError> {
        let end = self
            .payload
            .iter()
            .position(|&b| b == 0)
            .unwrap_or(self.payload.len());
        let bytes = self.payload.get(..end).unwrap_or(&[]);
        core::str::from_utf8(bytes).map_err(|_| DecodeError::BadValue("string attribute"))
    }

    /// The payload as a list of nested attributes.
    pub fn nested(&self) -> Attrs<'a> {
        Attrs::new(self.payload)
    }
}

/// Iterator over a run of attributes. Yields at most one error, then stops.
#[derive(Debug, Clone)]
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// Iterates over the attributes in `bytes`.
    pub fn new(bytes: &'a [u8]) -> Attrs<'a> {
        Attrs { rest: bytes }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<Attr<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = next_record(&mut self.rest, &NLATTR)?;
        Some(record.map(|r| Attr {
            kind: u16::from_ne_bytes([r.head[2], r.head[3]]) & NLA_TYPE_MASK,
            payload: r.payload,
        }))
    }
}

/// The layout of one kind of netlink record: a header that starts with the record's
/// own length, then the payload, padded to 4 bytes.
#[derive(Debug)]
pub(crate) struct RecordShape {
    /// Bytes of the header.
    pub header_len: usize,
    /// Reads the record's declared length (header included) from its header.
    pub length: fn(&[u8]) -> usize,
    /// The header's name in errors (`nlattr`).
    pub header: &'static str,
    /// The whole record's name in errors (`nlattr payload`).
    pub record: &'static str,
}

/// `struct nlattr`: a u16 length and a u16 type.
const NLATTR: RecordShape = RecordShape {
    header_len: NLA_HDRLEN,
    length: length_u16,
    header: "nlattr",
    record: "nlattr payload",
};

/// A record length in a u16 at the header's start (nlattr, rtnexthop).
pub(crate) fn length_u16(head: &[u8]) -> usize {
    usize::from(u16::from_ne_bytes([head[0], head[1]]))
}

/// One record of a walk: its header (exactly `header_len` bytes) and its payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Record<'a> {
    /// The header, length field included.
    pub head: &'a [u8],
    /// What follows the header, without padding.
    pub payload: &'a [u8],
}

/// The netlink TLV walk, shared by messages, attributes and multipath hops: splits the
/// next record off `rest` as header and payload and moves `rest` past its padding. `None`
/// when `rest` is empty; on an error `rest` is emptied, so a walk yields at most one.
pub(crate) fn next_record<'a>(
    rest: &mut &'a [u8],
    shape: &RecordShape,
) -> Option<Result<Record<'a>, DecodeError>> {
    if rest.is_empty() {
        return None;
    }
    let bytes = core::mem::take(rest);
    let Some(head) = bytes.get(..shape.header_len) else {
        return Some(Err(DecodeError::Truncated {
            what: shape.header,
            need: shape.header_len,
            have: bytes.len(),
        }));
    };
    let len = (shape.length)(head);
    if len < shape.header_len {
        return Some(Err(DecodeError::BadLength {
            what: shape.header,
            len,
        }));
    }
    let Some(payload) = bytes.get(shape.header_len..len) else {
        return Some(Err(DecodeError::Truncated {
            what: shape.record,
            need: len,
            have: bytes.len(),
        }));
    };
    *rest = bytes.get(align(len)..).unwrap_or(&[]);
    Some(Ok(Record { head, payload }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iterates_padded_attributes_and_masks_flags() {
        let bytes = [
            5, 0, 1, 0, 7, 0, 0, 0, // u8 7, padded
            8, 0, 2, 0x80, 6, 0, 3, 0, // nested containing a header-only attr (type 3)
            6, 0, 4, 0x40, 0x00, 0x50, // be16 80, last attr needs no padding
        ];
        let attrs: Vec<_> = Attrs::new(&bytes).map(|a| a.unwrap()).collect();
        assert_eq!(attrs.len(), 3);
        assert_eq!(attrs[0].kind, 1);
        assert_eq!(attrs[0].u8().unwrap(), 7);
        assert_eq!(attrs[1].kind, 2);
        let inner: Vec<_> = attrs[1].nested().collect();
        assert!(matches!(inner[0], Err(DecodeError::Truncated { .. })));
        assert_eq!(attrs[2].kind, 4);
        assert_eq!(attrs[2].be16().unwrap(), 80);
        assert!(attrs[2].u32().is_err());
    }

    #[test]
    fn bad_lengths_stop_the_iterator() {
        let zero = [0u8, 0, 1, 0, 9, 9, 9, 9];
        let mut it = Attrs::new(&zero);
        assert!(matches!(
            it.next(),
            Some(Err(DecodeError::BadLength { .. }))
        ));
        assert!(it.next().is_none());
        let long = [40u8, 0, 1, 0, 9, 9];
        let mut it = Attrs::new(&long);
        assert!(matches!(
            it.next(),
            Some(Err(DecodeError::Truncated { .. }))
        ));
        assert!(it.next().is_none());
        assert!(Attrs::new(&[1, 2]).next().unwrap().is_err());
    }

    #[test]
    fn strings_stop_at_nul_and_reject_bad_utf8() {
        let a = Attr {
            kind: 1,
            payload: b"rr\0\0",
        };
        assert_eq!(a.str().unwrap(), "rr");
        let b = Attr {
            kind: 1,
            payload: &[0xff, 0],
        };
        assert!(b.str().is_err());
    }
}
