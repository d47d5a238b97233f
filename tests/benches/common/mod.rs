//! What both benchmarks share: a keep-alive HTTP/1.1 server on its own thread that
//! answers every request with a fixed sync body, and the raw-reqwest baseline call.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;

use cloudflare_mcp_sync_generated::types::McpPortalsApiSyncServerResponse;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderValue, USER_AGENT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The typical answer: ready, no failure.
pub const TYPICAL: &str =
    r#"{"success":true,"errors":[],"messages":[],"result":{"status":"ready"}}"#;
/// An answer with every optional field.
pub const FULL: &str = r#"{"success":true,"errors":[],"messages":[{"code":1000,"message":"synced"}],"result":{"status":"error","error":"MCP server returned an error","error_details":{"cause":"upstream closed the connection during initialize","is_upstream":true,"mcp_code":-32603,"retryable":true,"status_code":502}}}"#;

pub const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
pub const SERVER: &str = "my-mcp-server";

/// Starts the server on a dedicated thread (its own single-threaded runtime, so it does
/// not share the benchmark's workers) and returns its address.
pub fn start_server(body: &'static str) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(listener.local_addr().unwrap()).unwrap();
            let response: &'static [u8] = Box::leak(
                format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncf-ray: 8f1c2a3b4d5e6f70-SJC\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                )
                .into_bytes()
                .into_boxed_slice(),
            );
            loop {
                let Ok((mut socket, _)) = listener.accept().await else { continue };
                let _ = socket.set_nodelay(true);
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 8192];
                    let mut filled = 0;
                    loop {
                        match socket.read(&mut buf[filled..]).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => filled += n,
                        }
                        // Answer every complete request head in the buffer.
                        while let Some(end) = buf[..filled].windows(4).position(|w| w == b"\r\n\r\n") {
                            if socket.write_all(response).await.is_err() {
                                return;
                            }
                            buf.copy_within(end + 4..filled, 0);
                            filled -= end + 4;
                        }
                        if filled == buf.len() {
                            return;
                        }
                    }
                });
            }
        });
    });
    rx.recv().unwrap()
}

/// The baseline client: reqwest with the library's pool, TLS and redirect settings.
pub struct Raw {
    http: reqwest::Client,
    url: String,
    auth: HeaderValue,
}

impl Raw {
    pub fn new(addr: SocketAddr) -> Self {
        install_crypto_provider();
        Self {
            http: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(10))
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            url: format!(
                "http://{addr}/accounts/{ACCOUNT}/access/ai-controls/mcp/servers/{SERVER}/sync"
            ),
            auth: HeaderValue::from_static("Bearer bench-token"),
        }
    }

    /// One sync: send, read the body, decode into the generated type.
    pub async fn sync(&self) -> McpPortalsApiSyncServerResponse {
        let r = self
            .http
            .post(&self.url)
            .header(AUTHORIZATION, self.auth.clone())
            .header(ACCEPT, "application/json")
            .header(USER_AGENT, "bench-raw")
            .send()
            .await
            .unwrap();
        let body = r.bytes().await.unwrap();
        serde_json::from_slice(&body).unwrap()
    }
}

/// The library builds its TLS config with ring; a bare reqwest client takes the same
/// provider from the process default.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The library client pointed at the server, retries off (each call is one exchange).
pub fn library(addr: SocketAddr) -> cloudflare_mcp_sync::Client {
    cloudflare_mcp_sync::Client::builder()
        .credentials(cloudflare_mcp_sync::Credentials::api_token("bench-token"))
        .base_url(format!("http://{addr}"))
        .retry_policy(cloudflare_mcp_sync::RetryPolicy::disabled())
        .build()
        .unwrap()
}
