//! IPVS request encoders: table writes, dumps, sync daemon and timeout requests into
//! caller-provided buffers.

use std::net::IpAddr;

use super::constants::{cmd, cmd_attr, daemon_attr, dest_attr, flags, svc_attr, IPVS_GENL_VERSION};
use super::types::*;
use crate::wire::netlink::genl;
use crate::wire::netlink::msg::{EncodeError, MessageBuilder, NLM_F_ACK, NLM_F_DUMP};

fn addr_bytes(addr: &IpAddr) -> [u8; 16] {
    // union nf_inet_addr: IPv4 in the first 4 bytes, the rest zero.
    let mut out = [0u8; 16];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out = a.octets(),
    }
    out
}

fn begin(
    buf: &mut [u8],
    family: u16,
    command: u8,
    flags: u16,
    seq: u32,
) -> Result<MessageBuilder<'_>, EncodeError> {
    genl::begin(buf, family, command, IPVS_GENL_VERSION, flags, seq)
}

fn put_service_key(b: &mut MessageBuilder<'_>, key: &ServiceKey) -> Result<(), EncodeError> {
    b.attr_u16(svc_attr::AF, key.af().raw())?;
    match key {
        ServiceKey::Addr {
            protocol,
            addr,
            port,
        } => {
            b.attr_u16(svc_attr::PROTOCOL, protocol.raw())?;
            b.attr(svc_attr::ADDR, &addr_bytes(addr))?;
            b.attr_be16(svc_attr::PORT, *port)
        }
        ServiceKey::Fwmark { mark, .. } => b.attr_u32(svc_attr::FWMARK, *mark),
    }
}

fn put_service(
    b: &mut MessageBuilder<'_>,
    key: &ServiceKey,
    full: Option<&Service>,
) -> Result<(), EncodeError> {
    let nest = b.begin_nested(cmd_attr::SERVICE)?;
    put_service_key(b, key)?;
    if let Some(s) = full {
        b.attr_str(svc_attr::SCHED_NAME, s.scheduler.name())?;
        let fl = s.flags & flags::CONFIGURABLE;
        let mut pair = [0u8; 8];
        pair[..4].copy_from_slice(&fl.to_ne_bytes());
        pair[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        b.attr(svc_attr::FLAGS, &pair)?;
        b.attr_u32(svc_attr::TIMEOUT, s.timeout)?;
        match key.af() {
            AddrFamily::V4 => {
                let p = u32::from(s.prefix_len.min(32));
                let mask = if p == 0 { 0 } else { u32::MAX << (32 - p) };
                b.attr(svc_attr::NETMASK, &mask.to_be_bytes())?;
            }
            AddrFamily::V6 => b.attr_u32(svc_attr::NETMASK, u32::from(s.prefix_len.min(128)))?,
        }
        if let Some(pe) = &s.pe_name {
            b.attr_str(svc_attr::PE_NAME, pe)?;
        }
    }
    b.end_nested(nest)
}

fn put_dest(
    b: &mut MessageBuilder<'_>,
    key: &DestKey,
    full: Option<&Dest>,
) -> Result<(), EncodeError> {
    let nest = b.begin_nested(cmd_attr::DEST)?;
    b.attr(dest_attr::ADDR, &addr_bytes(&key.addr))?;
    b.attr_be16(dest_attr::PORT, key.port)?;
    b.attr_u16(dest_attr::ADDR_FAMILY, AddrFamily::of(&key.addr).raw())?;
    if let Some(d) = full {
        b.attr_u32(dest_attr::FWD_METHOD, d.forward.raw())?;
        b.attr_u32(dest_attr::WEIGHT, d.weight)?;
        b.attr_u32(dest_attr::U_THRESH, d.upper_threshold)?;
        b.attr_u32(dest_attr::L_THRESH, d.lower_threshold)?;
        if let ForwardMethod::Tunnel(tunnel) = d.forward {
            b.attr_u8(dest_attr::TUN_TYPE, tunnel.raw())?;
            b.attr_be16(dest_attr::TUN_PORT, tunnel.port())?;
            b.attr_u16(dest_attr::TUN_FLAGS, d.tunnel_flags)?;
        }
    }
    b.end_nested(nest)
}

/// Encodes one table write with NLM_F_ACK into `buf`; returns the message length.
pub fn encode_op(buf: &mut [u8], family: u16, seq: u32, op: &IpvsOp) -> Result<usize, EncodeError> {
    let command = match op {
        IpvsOp::NewService(_) => cmd::NEW_SERVICE,
        IpvsOp::SetService(_) => cmd::SET_SERVICE,
        IpvsOp::DelService(_) => cmd::DEL_SERVICE,
        IpvsOp::NewDest(..) => cmd::NEW_DEST,
        IpvsOp::SetDest(..) => cmd::SET_DEST,
        IpvsOp::DelDest(..) => cmd::DEL_DEST,
    };
    let mut b = begin(buf, family, command, NLM_F_ACK, seq)?;
    match op {
        IpvsOp::NewService(s) | IpvsOp::SetService(s) => put_service(&mut b, &s.key, Some(s))?,
        IpvsOp::DelService(k) => put_service(&mut b, k, None)?,
        IpvsOp::NewDest(k, d) | IpvsOp::SetDest(k, d) => {
            put_service(&mut b, k, None)?;
            put_dest(&mut b, &d.key, Some(d))?;
        }
        IpvsOp::DelDest(k, d) => {
            put_service(&mut b, k, None)?;
            put_dest(&mut b, d, None)?;
        }
    }
    Ok(b.finish())
}

/// Encodes a GET_INFO request.
pub fn encode_get_info(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_INFO, NLM_F_ACK, seq)?.finish())
}

/// Encodes a GET_SERVICE dump request (every service).
pub fn encode_dump_services(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_SERVICE, NLM_F_DUMP, seq)?.finish())
}

/// Encodes a GET_DEST dump request for the destinations of `service`.
pub fn encode_dump_dests(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    service: &ServiceKey,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::GET_DEST, NLM_F_DUMP, seq)?;
    put_service(&mut b, service, None)?;
    Ok(b.finish())
}

/// Encodes a GET_CONFIG request (connection timeouts).
pub fn encode_get_config(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_CONFIG, NLM_F_ACK, seq)?.finish())
}

/// Encodes a SET_CONFIG request; zero timeouts are left out (unchanged).
pub fn encode_set_config(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    t: &Timeouts,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::SET_CONFIG, NLM_F_ACK, seq)?;
    for (kind, v) in [
        (cmd_attr::TIMEOUT_TCP, t.tcp),
        (cmd_attr::TIMEOUT_TCP_FIN, t.tcp_fin),
        (cmd_attr::TIMEOUT_UDP, t.udp),
    ] {
        if v != 0 {
            b.attr_u32(kind, v)?;
        }
    }
    Ok(b.finish())
}

/// Encodes a NEW_DAEMON request starting `d`.
pub fn encode_new_daemon(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    d: &SyncDaemon,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::NEW_DAEMON, NLM_F_ACK, seq)?;
    let nest = b.begin_nested(cmd_attr::DAEMON)?;
    b.attr_u32(daemon_attr::STATE, d.state.raw())?;
    b.attr_str(daemon_attr::MCAST_IFN, &d.interface)?;
    b.attr_u32(daemon_attr::SYNC_ID, d.sync_id)?;
    if let Some(m) = d.max_len {
        b.attr_u16(daemon_attr::SYNC_MAXLEN, m)?;
    }
    match d.group {
        Some(IpAddr::V4(g)) => b.attr(daemon_attr::MCAST_GROUP, &g.octets())?,
        Some(IpAddr::V6(g)) => b.attr(daemon_attr::MCAST_GROUP6, &g.octets())?,
        None => {}
    }
    if let Some(p) = d.port {
        b.attr_u16(daemon_attr::MCAST_PORT, p)?;
    }
    if let Some(t) = d.ttl {
        b.attr_u8(daemon_attr::MCAST_TTL, t)?;
    }
    b.end_nested(nest)?;
    Ok(b.finish())
}

/// Encodes a DEL_DAEMON request stopping the daemon in `state`.
pub fn encode_del_daemon(
    buf: &mut [u8],
    family: u16,
    seq: u32,
    state: SyncState,
) -> Result<usize, EncodeError> {
    let mut b = begin(buf, family, cmd::DEL_DAEMON, NLM_F_ACK, seq)?;
    let nest = b.begin_nested(cmd_attr::DAEMON)?;
    b.attr_u32(daemon_attr::STATE, state.raw())?;
    b.end_nested(nest)?;
    Ok(b.finish())
}

/// Encodes a GET_DAEMON dump request.
pub fn encode_get_daemon(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::GET_DAEMON, NLM_F_DUMP, seq)?.finish())
}

/// Encodes FLUSH. The daemon flushes only when asked (`lvs_flush`, `lvs_flush_on_stop`).
pub fn encode_flush(buf: &mut [u8], family: u16, seq: u32) -> Result<usize, EncodeError> {
    Ok(begin(buf, family, cmd::FLUSH, NLM_F_ACK, seq)?.finish())
}
