//! Netlink message framing: `struct nlmsghdr` encode into fixed buffers and a bounds-checked
//! iterator over the messages of one datagram, with NLMSG_ERROR/ACK/DONE decoding.
//!
//! Layouts follow `/usr/include/linux/netlink.h`. Netlink is host byte order; lvsd only
//! targets little-endian hosts but uses `to_ne_bytes` so the codec stays correct anyway.

use core::fmt;

use super::attr::{align, next_record, Attrs, RecordShape};

/// Length of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// `NLMSG_NOOP`: nothing, skip.
pub const NLMSG_NOOP: u16 = 1;
/// `NLMSG_ERROR`: an error or, with error 0, an acknowledgement.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`: end of a multipart dump.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`: data lost.
pub const NLMSG_OVERRUN: u16 = 4;

/// `NLM_F_REQUEST`: a request to the kernel.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`: part of a multipart reply ended by NLMSG_DONE.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`: ask for an acknowledgement.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP_INTR`: the dump was interrupted by a change (redo it).
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`): dump the whole table.
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_REPLACE` (new requests): replace an existing object.
pub const NLM_F_REPLACE: u16 = 0x100;
/// `NLM_F_EXCL` (new requests): fail if the object exists.
pub const NLM_F_EXCL: u16 = 0x200;
/// `NLM_F_CREATE` (new requests): create if missing.
pub const NLM_F_CREATE: u16 = 0x400;
/// `NLM_F_CAPPED` (on NLMSG_ERROR): the echoed request is cut to its header.
pub const NLM_F_CAPPED: u16 = 0x100;
/// `NLM_F_ACK_TLVS` (on NLMSG_ERROR): extended-ack attributes follow.
pub const NLM_F_ACK_TLVS: u16 = 0x200;
/// `NLMSGERR_ATTR_MSG`: extended ack error string.
pub const NLMSGERR_ATTR_MSG: u16 = 1;
/// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the request.
pub const NLMSGERR_ATTR_OFFS: u16 = 2;

/// Why bytes could not be decoded. Never a panic: every parser returns one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Fewer bytes than a header or the declared length needs.
    Truncated {
        /// What was being decoded.
        what: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// A declared length is smaller than its own header.
    BadLength {
        /// What was being decoded.
        what: &'static str,
        /// The declared length.
        len: usize,
    },
    /// An attribute has the wrong size for its type.
    BadAttribute {
        /// The attribute name.
        what: &'static str,
        /// The payload length found.
        len: usize,
    },
    /// A required attribute is missing.
    Missing(&'static str),
    /// A value is outside what lvsd understands.
    BadValue(&'static str),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated { what, need, have } => {
                write!(
                    f,
                    "netlink {what}: truncated, need {need} bytes, have {have}"
                )
            }
            DecodeError::BadLength { what, len } => {
                write!(f, "netlink {what}: bad length {len}")
            }
            DecodeError::BadAttribute { what, len } => {
                write!(f, "netlink attribute {what}: bad payload length {len}")
            }
            DecodeError::Missing(what) => write!(f, "netlink reply: missing attribute {what}"),
            DecodeError::BadValue(what) => write!(f, "netlink reply: bad value in {what}"),
        }
    }
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncodeError {
    /// The caller's buffer is too small for the message.
    BufferFull {
        /// Bytes needed so far.
        need: usize,
        /// Buffer size.
        have: usize,
    },
    /// A string or payload is longer than its field allows.
    TooLong(&'static str),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BufferFull { need, have } => {
                write!(
                    f,
                    "netlink encode: buffer of {have} bytes too small, need {need}"
                )
            }
            EncodeError::TooLong(what) => write!(f, "netlink encode: {what} too long"),
        }
    }
}

/// `struct nlmsghdr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Total message length including this header.
    pub len: u32,
    /// Message type (NLMSG_* or a family/protocol id).
    pub kind: u16,
    /// NLM_F_* flags.
    pub flags: u16,
    /// Sequence number.
    pub seq: u32,
    /// Sender port id (0 = kernel).
    pub port_id: u32,
}

impl Header {
    /// Decodes a header from the first 16 bytes of `bytes`.
    pub fn parse(bytes: &[u8]) -> Result<Header, DecodeError> {
        let b: &[u8; NLMSG_HDRLEN] = bytes
            .get(..NLMSG_HDRLEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(DecodeError::Truncated {
                what: "nlmsghdr",
                need: NLMSG_HDRLEN,
                have: bytes.len(),
            })?;
        Ok(Header {
            len: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            kind: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
            port_id: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
        })
    }

    /// Writes the header into the first 16 bytes of `out` (caller checked the size).
    fn write(&self, out: &mut [u8; NLMSG_HDRLEN]) {
        out[0..4].copy_from_slice(&self.len.to_ne_bytes());
        out[4..6].copy_from_slice(&self.kind.to_ne_bytes());
        out[6..8].copy_from_slice(&self.flags.to_ne_bytes());
        out[8..12].copy_from_slice(&self.seq.to_ne_bytes());
        out[12..16].copy_from_slice(&self.port_id.to_ne_bytes());
    }
}

/// An open nested attribute; close it with [`MessageBuilder::end_nested`].
#[derive(Debug)]
#[must_use = "a nest must be closed with end_nested"]
pub struct Nest {
    start: usize,
}

/// Builds one netlink message into a caller-provided buffer. The header's length is fixed
/// up by [`MessageBuilder::finish`]. Several messages can share one buffer (a batch) by
/// building each one into the unused tail.
#[derive(Debug)]
pub struct MessageBuilder<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> MessageBuilder<'a> {
    /// Starts a message of `kind` with `flags` and `seq` (port id 0: the kernel fills it).
    pub fn new(
        buf: &'a mut [u8],
        kind: u16,
        flags: u16,
        seq: u32,
    ) -> Result<MessageBuilder<'a>, EncodeError> {
        let have = buf.len();
        let head: &mut [u8; NLMSG_HDRLEN] = buf
            .get_mut(..NLMSG_HDRLEN)
            .and_then(|s| s.try_into().ok())
            .ok_or(EncodeError::BufferFull {
                need: NLMSG_HDRLEN,
                have,
            })?;
        Header {
            len: 0,
            kind,
            flags,
            seq,
            port_id: 0,
        }
        .write(head);
        Ok(MessageBuilder {
            buf,
            pos: NLMSG_HDRLEN,
        })
    }

    fn reserve(&mut self, n: usize) -> Result<&mut [u8], EncodeError> {
        let end = self.pos + align(n);
        let have = self.buf.len();
        let out = self
            .buf
            .get_mut(self.pos..end)
            .ok_or(EncodeError::BufferFull { need: end, have })?;
        out.fill(0);
        self.pos = end;
        Ok(out)
    }

    /// Appends a fixed family header (genlmsghdr, ifaddrmsg, ...), padded to 4 bytes.
    pub fn put_header(&mut self, bytes: &[u8]) -> Result<(), EncodeError> {
        let out = self.reserve(bytes.len())?;
        out[..bytes.len()].copy_from_slice(bytes);
        Ok(())
    }

    /// Appends one attribute of type `kind` with `payload`, padded to 4 bytes.
    pub fn attr(&mut self, kind: u16, payload: &[u8]) -> Result<(), EncodeError> {
        let len = 4 + payload.len();
        let len16 = u16::try_from(len).map_err(|_| EncodeError::TooLong("attribute"))?;
        let out = self.reserve(len)?;
        out[0..2].copy_from_slice(&len16.to_ne_bytes());
        out[2..4].copy_from_slice(&kind.to_ne_bytes());
        out[4..len].copy_from_slice(payload);
        Ok(())
    }

    /// Appends a u8 attribute.
    pub fn attr_u8(&mut self, kind: u16, v: u8) -> Result<(), EncodeError> {
        self.attr(kind, &[v])
    }

    /// Appends a host-order u16 attribute.
    pub fn attr_u16(&mut self, kind: u16, v: u16) -> Result<(), EncodeError> {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a network-order (big-endian) u16 attribute, e.g. a port.
    pub fn attr_be16(&mut self, kind: u16, v: u16) -> Result<(), EncodeError> {
        self.attr(kind, &v.to_be_bytes())
    }

    /// Appends a host-order u32 attribute.
    pub fn attr_u32(&mut self, kind: u16, v: u32) -> Result<(), EncodeError> {
        self.attr(kind, &v.to_ne_bytes())
    }

    /// Appends a NUL-terminated string attribute.
    pub fn attr_str(&mut self, kind: u16, s: &str) -> Result<(), EncodeError> {
        let len = 4 + s.len() + 1;
        let len16 = u16::try_from(len).map_err(|_| EncodeError::TooLong("string attribute"))?;
        let out = self.reserve(len)?;
        out[0..2].copy_from_slice(&len16.to_ne_bytes());
        out[2..4].copy_from_slice(&kind.to_ne_bytes());
        out[4..4 + s.len()].copy_from_slice(s.as_bytes());
        Ok(())
    }

    /// Opens a nested attribute (NLA_F_NESTED is set, as the kernel's strict parsers want).
    pub fn begin_nested(&mut self, kind: u16) -> Result<Nest, EncodeError> {
        let start = self.pos;
        let out = self.reserve(4)?;
        out[2..4].copy_from_slice(&(kind | super::attr::NLA_F_NESTED).to_ne_bytes());
        Ok(Nest { start })
    }

    /// Closes a nested attribute, fixing up its length.
    pub fn end_nested(&mut self, nest: Nest) -> Result<(), EncodeError> {
        let len = self.pos - nest.start;
        let len16 = u16::try_from(len).map_err(|_| EncodeError::TooLong("nested attribute"))?;
        if let Some(out) = self.buf.get_mut(nest.start..nest.start + 2) {
            out.copy_from_slice(&len16.to_ne_bytes());
        }
        Ok(())
    }

    /// Bytes written so far.
    pub fn len(&self) -> usize {
        self.pos
    }

    /// True when only the header has been written.
    pub fn is_empty(&self) -> bool {
        self.pos == NLMSG_HDRLEN
    }

    /// Fixes up the message length and returns it.
    pub fn finish(self) -> usize {
        let len = self.pos as u32;
        if let Some(out) = self.buf.get_mut(0..4) {
            out.copy_from_slice(&len.to_ne_bytes());
        }
        self.pos
    }
}

/// One message of a datagram: its header and the payload after the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    /// The message header.
    pub header: Header,
    /// Bytes after the header, up to `header.len`.
    pub payload: &'a [u8],
}

/// What a received message means to a requester.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply<'a> {
    /// A data message (a dump entry or a GET reply).
    Data(Message<'a>),
    /// An acknowledgement (NLMSG_ERROR with error 0) for request `seq`.
    Ack {
        /// Sequence number of the acknowledged request.
        seq: u32,
    },
    /// An error reply to request `seq`.
    Error(ErrorReply<'a>),
    /// End of a dump (NLMSG_DONE).
    Done {
        /// Sequence number of the dump request.
        seq: u32,
        /// The error carried by NLMSG_DONE (0 for a complete dump).
        error: i32,
    },
    /// NLMSG_NOOP or NLMSG_OVERRUN (skip, counted by the caller).
    Other(u16),
}

/// A decoded NLMSG_ERROR with a non-zero error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorReply<'a> {
    /// Sequence number of the failed request.
    pub seq: u32,
    /// Positive errno (the kernel sends it negated).
    pub errno: i32,
    /// The failed request's header, echoed by the kernel.
    pub request: Option<Header>,
    /// The extended-ack message, when the kernel gave one.
    pub message: Option<&'a str>,
}

impl<'a> Message<'a> {
    /// Classifies this message as data, ack, error or done.
    pub fn reply(&self) -> Result<Reply<'a>, DecodeError> {
        match self.header.kind {
            NLMSG_ERROR => parse_error(self.header, self.payload),
            NLMSG_DONE => {
                let error = match self.payload.get(0..4) {
                    Some(b) => i32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
                    None => 0,
                };
                Ok(Reply::Done {
                    seq: self.header.seq,
                    error: error.wrapping_neg(),
                })
            }
            NLMSG_NOOP | NLMSG_OVERRUN => Ok(Reply::Other(self.header.kind)),
            _ => Ok(Reply::Data(*self)),
        }
    }
}

fn parse_error<'a>(header: Header, payload: &'a [u8]) -> Result<Reply<'a>, DecodeError> {
    let b = payload.get(0..4).ok_or(DecodeError::Truncated {
        what: "nlmsgerr",
        need: 4,
        have: payload.len(),
    })?;
    let code = i32::from_ne_bytes([b[0], b[1], b[2], b[3]]);
    let request = payload.get(4..).and_then(|r| Header::parse(r).ok());
    if code == 0 {
        return Ok(Reply::Ack { seq: header.seq });
    }
    let mut message = None;
    if header.flags & NLM_F_ACK_TLVS != 0 {
        // The TLVs follow the echoed request: only its header when capped, else all of it.
        let echoed = match request {
            Some(r) if header.flags & NLM_F_CAPPED == 0 => align(r.len as usize),
            Some(_) => NLMSG_HDRLEN,
            None => 0,
        };
        if let Some(tlvs) = payload.get(4 + echoed..) {
            for attr in Attrs::new(tlvs).flatten() {
                if attr.kind == NLMSGERR_ATTR_MSG {
                    message = attr.str().ok();
                }
            }
        }
    }
    Ok(Reply::Error(ErrorReply {
        seq: header.seq,
        errno: code.wrapping_neg(),
        request,
        message,
    }))
}

/// Iterator over the messages in one received datagram. Yields at most one error, then stops.
#[derive(Debug, Clone)]
pub struct Messages<'a> {
    rest: &'a [u8],
}

impl<'a> Messages<'a> {
    /// Iterates over the messages in `datagram`.
    pub fn new(datagram: &'a [u8]) -> Messages<'a> {
        Messages { rest: datagram }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<Message<'a>, DecodeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let record = next_record(&mut self.rest, &NLMSGHDR)?;
        Some(record.and_then(|r| {
            Ok(Message {
                header: Header::parse(r.head)?,
                payload: r.payload,
            })
        }))
    }
}

/// `struct nlmsghdr`: a u32 length, then type, flags, sequence and port id.
const NLMSGHDR: RecordShape = RecordShape {
    header_len: NLMSG_HDRLEN,
    length: |head| u32::from_ne_bytes([head[0], head[1], head[2], head[3]]) as usize,
    header: "nlmsghdr",
    record: "netlink message",
};

/// Renders a positive errno as `Name (ENAME)` for error messages, e.g. `File exists (EEXIST)`.
pub fn errno_name(errno: i32) -> (&'static str, &'static str) {
    match errno {
        1 => ("Operation not permitted", "EPERM"),
        2 => ("No such file or directory", "ENOENT"),
        3 => ("No such process", "ESRCH"),
        12 => ("Cannot allocate memory", "ENOMEM"),
        13 => ("Permission denied", "EACCES"),
        16 => ("Device or resource busy", "EBUSY"),
        17 => ("File exists", "EEXIST"),
        19 => ("No such device", "ENODEV"),
        22 => ("Invalid argument", "EINVAL"),
        34 => ("Numerical result out of range", "ERANGE"),
        90 => ("Message too long", "EMSGSIZE"),
        93 => ("Protocol not supported", "EPROTONOSUPPORT"),
        95 => ("Operation not supported", "EOPNOTSUPP"),
        97 => ("Address family not supported by protocol", "EAFNOSUPPORT"),
        99 => ("Cannot assign requested address", "EADDRNOTAVAIL"),
        105 => ("No buffer space available", "ENOBUFS"),
        _ => ("Unknown error", "E?"),
    }
}

/// Formats a positive errno the way lvsd logs it: `File exists (EEXIST)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (text, name) = errno_name(self.0);
        if name == "E?" {
            write!(f, "errno {}", self.0)
        } else {
            write!(f, "{text} ({name})")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_layout_matches_struct_nlmsghdr() {
        let mut buf = [0xffu8; 64];
        let mut b = MessageBuilder::new(&mut buf, 0x1234, NLM_F_REQUEST | NLM_F_ACK, 7).unwrap();
        b.put_header(&[1, 2, 3]).unwrap();
        let len = b.finish();
        assert_eq!(len, 20);
        // nlmsg_len u32, nlmsg_type u16, nlmsg_flags u16, nlmsg_seq u32, nlmsg_pid u32
        let mut want = [0u8; 20];
        want[0..4].copy_from_slice(&20u32.to_ne_bytes());
        want[4..6].copy_from_slice(&0x1234u16.to_ne_bytes());
        want[6..8].copy_from_slice(&5u16.to_ne_bytes());
        want[8..12].copy_from_slice(&7u32.to_ne_bytes());
        want[16..19].copy_from_slice(&[1, 2, 3]);
        assert_eq!(&buf[..20], &want);
    }

    #[test]
    fn attributes_are_padded_and_nested_lengths_fixed() {
        let mut buf = [0u8; 64];
        let mut b = MessageBuilder::new(&mut buf, 16, 0, 1).unwrap();
        let n = b.begin_nested(1).unwrap();
        b.attr_u8(2, 9).unwrap();
        b.attr_str(3, "rr").unwrap();
        b.end_nested(n).unwrap();
        let len = b.finish();
        assert_eq!(len, 16 + 4 + 8 + 8);
        let body = &buf[16..len];
        assert_eq!(&body[0..4], &[20, 0, 1, 0x80]);
        assert_eq!(&body[4..12], &[5, 0, 2, 0, 9, 0, 0, 0]);
        assert_eq!(&body[12..20], &[7, 0, 3, 0, b'r', b'r', 0, 0]);
    }

    #[test]
    fn buffer_full_is_an_error_not_a_panic() {
        let mut buf = [0u8; 20];
        let mut b = MessageBuilder::new(&mut buf, 16, 0, 1).unwrap();
        assert!(matches!(
            b.attr_u32(1, 5),
            Err(EncodeError::BufferFull { need: 24, have: 20 })
        ));
        let mut tiny = [0u8; 8];
        assert!(MessageBuilder::new(&mut tiny, 1, 0, 0).is_err());
    }

    fn push_msg(out: &mut [u8], kind: u16, flags: u16, seq: u32, payload: &[u8]) -> usize {
        let mut b = MessageBuilder::new(out, kind, flags, seq).unwrap();
        b.put_header(payload).unwrap();
        b.finish()
    }

    #[test]
    fn ack_error_and_done_are_classified() {
        let mut buf = [0u8; 256];
        // ack for seq 5: error 0 + echoed header
        let mut p = [0u8; 20];
        p[4..8].copy_from_slice(&16u32.to_ne_bytes());
        let mut n = push_msg(&mut buf, NLMSG_ERROR, 0, 5, &p);
        // error EEXIST for seq 6, capped, with ext-ack message "exists"
        let mut e = [0u8; 32];
        e[0..4].copy_from_slice(&(-17i32).to_ne_bytes());
        e[4..8].copy_from_slice(&40u32.to_ne_bytes());
        e[20..22].copy_from_slice(&11u16.to_ne_bytes());
        e[22..24].copy_from_slice(&NLMSGERR_ATTR_MSG.to_ne_bytes());
        e[24..31].copy_from_slice(b"exists\0");
        n += push_msg(
            &mut buf[n..],
            NLMSG_ERROR,
            NLM_F_CAPPED | NLM_F_ACK_TLVS,
            6,
            &e,
        );
        n += push_msg(
            &mut buf[n..],
            NLMSG_DONE,
            NLM_F_MULTI,
            7,
            &0i32.to_ne_bytes(),
        );
        n += push_msg(&mut buf[n..], 0x20, NLM_F_MULTI, 7, &[1, 2, 3, 4]);
        let replies: Vec<_> = Messages::new(&buf[..n])
            .map(|m| m.unwrap().reply().unwrap())
            .collect();
        assert_eq!(replies[0], Reply::Ack { seq: 5 });
        match replies[1] {
            Reply::Error(er) => {
                assert_eq!(er.seq, 6);
                assert_eq!(er.errno, 17);
                assert_eq!(er.request.unwrap().len, 40);
                assert_eq!(er.message, Some("exists"));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(replies[2], Reply::Done { seq: 7, error: 0 });
        assert!(matches!(replies[3], Reply::Data(m) if m.payload == [1, 2, 3, 4]));
        assert_eq!(Errno(17).to_string(), "File exists (EEXIST)");
    }

    #[test]
    fn malformed_datagrams_give_one_error_then_stop() {
        let mut buf = [0u8; 16];
        buf[0..4].copy_from_slice(&8u32.to_ne_bytes());
        let mut it = Messages::new(&buf);
        assert!(matches!(
            it.next(),
            Some(Err(DecodeError::BadLength { .. }))
        ));
        assert!(it.next().is_none());
        buf[0..4].copy_from_slice(&100u32.to_ne_bytes());
        let mut it = Messages::new(&buf);
        assert!(matches!(
            it.next(),
            Some(Err(DecodeError::Truncated { .. }))
        ));
        assert!(it.next().is_none());
        assert!(matches!(
            Messages::new(&buf[..5]).next(),
            Some(Err(DecodeError::Truncated { .. }))
        ));
        // every prefix of a valid message decodes without panicking
        let mut ok = [0u8; 64];
        let n = push_msg(&mut ok, NLMSG_ERROR, NLM_F_ACK_TLVS, 1, &[0xff; 24]);
        for cut in 0..=n {
            for m in Messages::new(&ok[..cut]).flatten() {
                let _ = m.reply();
            }
        }
    }
}
