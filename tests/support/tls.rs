//! A local https server with a self-signed certificate made on the spot, and a
//! recording `CONNECT` proxy that splices tunnels to it: enough to see what crosses a
//! proxy when the request itself is inside TLS.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rustls::pki_types::pem::PemObject;
use tokio::io::AsyncWriteExt;

use crate::read_head;
use tokio::net::{TcpListener, TcpStream};

/// An https server on 127.0.0.1 answering every request with one fixed response.
pub struct TlsServer {
    /// `https://127.0.0.1:<port>`
    pub base: String,
    /// The certificate (PEM), trusted by a client that reads it (e.g. `SSL_CERT_FILE`).
    pub cert_file: PathBuf,
    _dir: tempfile::TempDir,
    handshakes: Arc<Mutex<usize>>,
    heads: Arc<Mutex<Vec<String>>>,
}

/// The certificate a [`TlsServer`] presents (self-signed, so the client trusts it by
/// trusting the certificate itself).
pub enum ServerCert {
    /// A fresh end-entity certificate for 127.0.0.1 and localhost.
    Good,
    /// A fresh certificate for 127.0.0.1 that says it is a CA.
    CaAsEndEntity,
    /// The committed fixture signed with SHA-1 (`tests/fixtures/tls/sha1-*.pem`).
    Sha1,
}

impl ServerCert {
    /// The certificate as PEM and the private key as DER.
    fn make(&self) -> (String, rustls::pki_types::PrivateKeyDer<'static>) {
        let names = vec!["127.0.0.1".to_string(), "localhost".to_string()];
        let made = match self {
            Self::Good => rcgen::generate_simple_self_signed(names).expect("certificate"),
            Self::CaAsEndEntity => {
                let mut params = rcgen::CertificateParams::new(names).expect("params");
                params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
                let key = rcgen::KeyPair::generate().expect("key");
                let cert = params.self_signed(&key).expect("certificate");
                rcgen::CertifiedKey {
                    cert,
                    signing_key: key,
                }
            }
            Self::Sha1 => {
                let dir = crate::workspace_root().join("tests/fixtures/tls");
                let pem = std::fs::read_to_string(dir.join("sha1-cert.pem")).expect("cert");
                let key_pem = std::fs::read(dir.join("sha1-key.pem")).expect("key");
                let key =
                    rustls::pki_types::pem::PemObject::from_pem_slice(&key_pem).expect("PEM key");
                return (pem, key);
            }
        };
        let key = rustls::pki_types::PrivateKeyDer::try_from(made.signing_key.serialize_der())
            .expect("key");
        (made.cert.pem(), key)
    }
}

impl TlsServer {
    /// Starts serving `reply` (a whole HTTP response) over TLS.
    pub async fn start(reply: Vec<u8>) -> Self {
        Self::start_with(ServerCert::Good, reply).await
    }

    /// Starts serving `reply` over TLS with the certificate `cert`.
    pub async fn start_with(cert: ServerCert, reply: Vec<u8>) -> Self {
        crate::install_crypto_provider();
        let (pem, key) = cert.make();
        let dir = tempfile::tempdir().expect("temp dir");
        let cert_file = dir.path().join("cert.pem");
        std::fs::write(&cert_file, &pem).expect("write cert");
        let der = rustls::pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).expect("PEM");
        let config = rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![der], key)
            .expect("server config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("https://{}", listener.local_addr().expect("addr"));
        let handshakes = Arc::new(Mutex::new(0));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let (h, hd) = (handshakes.clone(), heads.clone());
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let (acceptor, reply, h, hd) =
                    (acceptor.clone(), reply.clone(), h.clone(), hd.clone());
                tokio::spawn(async move {
                    *h.lock().expect("lock") += 1;
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let Some(head) = read_head(&mut tls).await else {
                        return;
                    };
                    hd.lock().expect("lock").push(head);
                    let _ = tls.write_all(&reply).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        Self {
            base,
            cert_file,
            _dir: dir,
            handshakes,
            heads,
        }
    }

    /// TCP connections accepted (each one a handshake tried).
    pub fn connections(&self) -> usize {
        *self.handshakes.lock().expect("lock")
    }

    /// Request heads that arrived inside TLS, lower-cased.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }
}

/// A proxy that answers `CONNECT host:port` by splicing to that address, recording
/// every head it was sent (all it can read of a tunnelled request).
pub struct TunnelProxy {
    /// `http://127.0.0.1:<port>`
    pub url: String,
    heads: Arc<Mutex<Vec<String>>>,
}

impl TunnelProxy {
    /// Starts the proxy.
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let heads = Arc::new(Mutex::new(Vec::new()));
        let h = heads.clone();
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let h = h.clone();
                tokio::spawn(async move {
                    let Some(head) = read_head(&mut client).await else {
                        return;
                    };
                    h.lock().expect("lock").push(head.clone());
                    let target = head
                        .strip_prefix("connect ")
                        .and_then(|rest| rest.split_whitespace().next())
                        .map(str::to_string);
                    // Only loopback targets: this proxy never reaches past the machine.
                    let Some(target) = target.filter(|t| t.starts_with("127.0.0.1:")) else {
                        let _ = client
                            .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                            .await;
                        return;
                    };
                    let Ok(mut upstream) = TcpStream::connect(&target).await else {
                        return;
                    };
                    if client
                        .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
                        .await
                        .is_err()
                    {
                        return;
                    }
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                });
            }
        });
        Self { url, heads }
    }

    /// Every head the proxy was sent, lower-cased.
    pub fn heads(&self) -> Vec<String> {
        self.heads.lock().expect("lock").clone()
    }
}
