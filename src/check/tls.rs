//! SSL_GET's TLS layer: rustls client configs (keepalived-style no verification, or a CA file) and a sans-IO session wrapper.
//!
//! Without a CA file the certificate chain and name are not checked (keepalived's
//! SSL_GET does not check them either), but the handshake signatures still are, so
//! the peer must hold the key of the certificate it shows.

use core::fmt;
use std::io::{self, Read, Write};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, IpAddr, ServerName, UnixTime};
use rustls::{
    ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, SignatureScheme,
};

/// Why a TLS config or session could not be made or went wrong.
#[derive(Debug, Clone, PartialEq)]
pub enum TlsError {
    /// The CA file holds no usable certificate.
    NoCaCertificate,
    /// The SNI name is not a valid DNS name or IP address.
    BadServerName,
    /// rustls refused the configuration or the peer.
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::NoCaCertificate => f.write_str("ssl ca file: no PEM certificate found"),
            TlsError::BadServerName => f.write_str("ssl sni: not a DNS name or IP address"),
            TlsError::Rustls(e) => write!(f, "TLS: {e}"),
        }
    }
}

impl core::error::Error for TlsError {}

impl From<rustls::Error> for TlsError {
    fn from(e: rustls::Error) -> Self {
        TlsError::Rustls(e)
    }
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Accepts any certificate chain and name, but checks handshake signatures.
#[derive(Debug)]
struct AnyCertificate {
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// A client config that does not verify the server certificate (keepalived's SSL_GET default).
pub fn insecure_client_config() -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let config = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(AnyCertificate { provider }))
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A client config that verifies the chain against the PEM certificates in `ca_pem` (a CA file's bytes).
pub fn verifying_client_config(ca_pem: &[u8]) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem).flatten() {
        // A certificate webpki cannot use is skipped; an empty store is an error.
        let _ = roots.add(cert);
    }
    if roots.is_empty() {
        return Err(TlsError::NoCaCertificate);
    }
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// The name to verify and send as SNI: `sni` when set, else the server's address (no SNI is sent for an address).
pub fn server_name(
    sni: Option<&str>,
    server: core::net::IpAddr,
) -> Result<ServerName<'static>, TlsError> {
    match sni {
        Some(name) => ServerName::try_from(name)
            .map(|n| n.to_owned())
            .map_err(|_| TlsError::BadServerName),
        None => Ok(ServerName::IpAddress(IpAddr::from(server))),
    }
}

/// One TLS client session over a byte stream the caller moves (sans-IO).
pub struct TlsSession {
    conn: ClientConnection,
}

impl fmt::Debug for TlsSession {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsSession")
            .field("handshaking", &self.conn.is_handshaking())
            .finish()
    }
}

/// What reading plaintext gave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Plaintext {
    /// This many bytes were copied.
    Data(usize),
    /// Nothing available yet.
    Empty,
    /// The peer sent close_notify.
    Closed,
}

impl TlsSession {
    /// Starts a handshake with `config` for `name`.
    pub fn new(config: Arc<ClientConfig>, name: ServerName<'static>) -> Result<Self, TlsError> {
        Ok(TlsSession {
            conn: ClientConnection::new(config, name)?,
        })
    }

    /// Whether the handshake is still running.
    pub fn is_handshaking(&self) -> bool {
        self.conn.is_handshaking()
    }

    /// Whether TLS records wait to be sent.
    pub fn wants_write(&self) -> bool {
        self.conn.wants_write()
    }

    /// Whether rustls can take more ciphertext.
    pub fn wants_read(&self) -> bool {
        self.conn.wants_read()
    }

    /// Takes ciphertext read from the socket and processes it; returns how much was taken.
    ///
    /// Call again with the rest after draining plaintext: rustls takes at most one
    /// buffer's worth at a time.
    pub fn read_ciphertext(&mut self, mut data: &[u8]) -> Result<usize, TlsError> {
        let before = data.len();
        if let Err(e) = self.conn.read_tls(&mut data) {
            return Err(TlsError::Rustls(rustls::Error::General(e.to_string())));
        }
        self.conn.process_new_packets()?;
        Ok(before - data.len())
    }

    /// Ciphertext to send: writes pending TLS records into `out` (e.g. a socket).
    pub fn write_ciphertext(&mut self, out: &mut dyn Write) -> io::Result<usize> {
        self.conn.write_tls(out)
    }

    /// Queues plaintext for sending; returns how much was taken.
    pub fn write_plaintext(&mut self, data: &[u8]) -> usize {
        self.conn.writer().write(data).unwrap_or(0)
    }

    /// Reads decrypted plaintext into `buf`.
    pub fn read_plaintext(&mut self, buf: &mut [u8]) -> Result<Plaintext, TlsError> {
        match self.conn.reader().read(buf) {
            Ok(0) => Ok(Plaintext::Closed),
            Ok(n) => Ok(Plaintext::Data(n)),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(Plaintext::Empty),
            // UnexpectedEof: the peer closed without close_notify; HTTP framing decides.
            Err(_) => Ok(Plaintext::Closed),
        }
    }

    /// Queues a close_notify alert.
    pub fn close(&mut self) {
        self.conn.send_close_notify();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configs_and_names() {
        assert!(insecure_client_config().is_ok());
        assert_eq!(
            verifying_client_config(b"not a pem").err(),
            Some(TlsError::NoCaCertificate)
        );
        assert!(server_name(Some("www.example.org"), [127, 0, 0, 1].into()).is_ok());
        assert!(server_name(Some("bad name!"), [127, 0, 0, 1].into()).is_err());
        assert_eq!(
            server_name(None, [127, 0, 0, 1].into()).unwrap(),
            ServerName::IpAddress(IpAddr::from(core::net::IpAddr::from([127, 0, 0, 1])))
        );
    }

    #[test]
    fn session_starts_with_client_hello_and_rejects_garbage() {
        let mut s = TlsSession::new(
            insecure_client_config().unwrap(),
            server_name(None, [127, 0, 0, 1].into()).unwrap(),
        )
        .unwrap();
        assert!(s.is_handshaking() && s.wants_write());
        let mut out = Vec::new();
        let n = s.write_ciphertext(&mut out).unwrap();
        assert!(n > 0);
        assert_eq!(out[0], 0x16, "handshake record");
        assert!(s
            .read_ciphertext(b"HTTP/1.0 400 Bad Request\r\n\r\n")
            .is_err());
    }
}
