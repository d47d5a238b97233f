//! A keep-alive HTTP/1.1 server on 127.0.0.1 that enforces a fixed-window rate limit
//! the way Cloudflare does: `Ratelimit` / `Ratelimit-Policy` headers on every answer,
//! 429 with `Retry-After` once the window's budget is spent.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Counters of what the server answered.
#[derive(Default)]
pub struct Counts {
    /// 200 answers.
    pub ok: AtomicUsize,
    /// 429 answers.
    pub limited: AtomicUsize,
    /// Server ids seen, in arrival order.
    pub ids: Mutex<Vec<String>>,
}

/// The running server.
pub struct RateLimitedServer {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// What it answered.
    pub counts: Arc<Counts>,
}

struct Window {
    started: Instant,
    used: usize,
}

impl RateLimitedServer {
    /// Allows `limit` requests per `window`.
    pub async fn start(limit: usize, window: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let counts = Arc::new(Counts::default());
        let state = Arc::new(Mutex::new(Window {
            started: Instant::now(),
            used: 0,
        }));
        let c = counts.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (counts, state) = (c.clone(), state.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                            match socket.read(&mut chunk).await {
                                Ok(0) | Err(_) => return,
                                Ok(n) => {
                                    buf.extend_from_slice(&chunk[..n]);
                                    continue;
                                }
                            }
                        };
                        let head = String::from_utf8_lossy(&buf[..end]).to_string();
                        buf.drain(..end + 4);
                        let id = head
                            .split("/servers/")
                            .nth(1)
                            .and_then(|r| r.split('/').next())
                            .unwrap_or("?")
                            .to_string();
                        let (allowed, remaining, reset) = {
                            let mut w = state.lock().expect("lock");
                            if w.started.elapsed() >= window {
                                w.started = Instant::now();
                                w.used = 0;
                            }
                            let reset = window.saturating_sub(w.started.elapsed());
                            let allowed = w.used < limit;
                            if allowed {
                                w.used += 1;
                            }
                            (allowed, limit - w.used, reset)
                        };
                        // Whole seconds, rounded up, as the headers carry them.
                        let secs = reset.as_millis().div_ceil(1000).max(1);
                        let common = format!(
                            "ratelimit: \"default\";r={remaining};t={secs}\r\nratelimit-policy: \"default\";q={limit};w={}\r\n",
                            window.as_secs().max(1)
                        );
                        let response = if allowed {
                            counts.ok.fetch_add(1, Ordering::Relaxed);
                            counts.ids.lock().expect("lock").push(id);
                            let body = r#"{"success":true,"errors":[],"messages":[],"result":{"status":"ready"}}"#;
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{common}content-length: {}\r\n\r\n{body}",
                                body.len()
                            )
                        } else {
                            counts.limited.fetch_add(1, Ordering::Relaxed);
                            let body = r#"{"success":false,"errors":[{"code":10100,"message":"rate limited"}]}"#;
                            format!(
                                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: {secs}\r\n{common}content-length: {}\r\n\r\n{body}",
                                body.len()
                            )
                        };
                        if socket.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        Self { base, counts }
    }
}
