//! A send-only AF_PACKET socket for whole Ethernet frames: gratuitous ARP and
//! unsolicited neighbour advertisements for the VIPs.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Sends prebuilt Ethernet frames out of one interface.
pub struct PacketSender {
    fd: OwnedFd,
    ifindex: u32,
}

impl PacketSender {
    /// Opens the socket for interface `ifindex`. Protocol 0: it receives nothing.
    pub fn open(ifindex: u32) -> io::Result<Self> {
        // SAFETY: plain socket(2) call; the result is checked.
        let raw = unsafe {
            libc::socket(
                libc::AF_PACKET,
                libc::SOCK_RAW | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
                0,
            )
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        Ok(PacketSender { fd, ifindex })
    }

    /// Sends one frame whose first six bytes are the destination MAC.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        let Some(dst) = frame.get(..6) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "frame shorter than a MAC",
            ));
        };
        let ethertype = match frame.get(12..14) {
            Some(t) => u16::from_be_bytes([t[0], t[1]]),
            None => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "frame shorter than an Ethernet header",
                ))
            }
        };
        // SAFETY: sockaddr_ll is plain data; all-zero is valid, fields set below.
        let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        sll.sll_family = libc::AF_PACKET as u16;
        sll.sll_protocol = ethertype.to_be();
        sll.sll_ifindex = self.ifindex as i32;
        sll.sll_halen = 6;
        sll.sll_addr[..6].copy_from_slice(dst);
        // SAFETY: `frame` and `sll` are live for the call and their sizes are passed.
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&sll as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(())
    }
}

impl AsRawFd for PacketSender {
    fn as_raw_fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }
}
