//! Keep-alive HTTP/1.1 servers on 127.0.0.1 that enforce a rate limit the ways an API
//! can: a sliding window, a fixed window (the quota resets at window boundaries), each
//! with IETF `Ratelimit: "default";r=<remaining>;t=<seconds>` and
//! `Ratelimit-Policy: "default";q=<quota>;w=<window>` on every answer, and a silent
//! fixed window that sends no rate-limit header at all. Over the quota: 429 with
//! `Retry-After` (whole seconds, rounded up).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// How the server counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limiter {
    /// At most `quota` requests in any `window`; `t` is when the oldest counted request
    /// leaves the window.
    Sliding,
    /// `quota` requests per window, the count reset at each boundary; `t` is the time to
    /// the next boundary.
    Fixed,
    /// As [`Limiter::Fixed`], but no rate-limit header: only 429 and `Retry-After`.
    Silent,
}

/// Counters of what the server answered.
#[derive(Default)]
pub struct Counts {
    /// 200 answers.
    pub ok: AtomicUsize,
    /// 429 answers.
    pub limited: AtomicUsize,
    /// Server ids seen, in arrival order.
    pub ids: Mutex<Vec<String>>,
    /// For each 429: since the server started, and the remaining wait it named.
    pub limited_at: Mutex<Vec<(Duration, Duration)>>,
    /// For each request: since the server started, its server id, and whether it was
    /// admitted.
    pub arrivals: Mutex<Vec<(Duration, String, bool)>>,
}

/// The running server.
pub struct RateLimitedServer {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    /// What it answered.
    pub counts: Arc<Counts>,
    state: Arc<Mutex<State>>,
    kind: Limiter,
    quota: usize,
    window: Duration,
}

/// The limiter's memory: when each counted request arrived (sliding), or the current
/// window's start and count (fixed).
struct State {
    started: Instant,
    arrivals: VecDeque<Instant>,
    window_start: Instant,
    used: usize,
}

impl State {
    /// Counts a request if the quota allows it: (allowed, remaining, time to `t`).
    fn admit(&mut self, kind: Limiter, quota: usize, window: Duration) -> (bool, usize, Duration) {
        let now = Instant::now();
        match kind {
            Limiter::Sliding => {
                while self
                    .arrivals
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= window)
                {
                    self.arrivals.pop_front();
                }
                let allowed = self.arrivals.len() < quota;
                if allowed {
                    self.arrivals.push_back(now);
                }
                let until_oldest_leaves = self.arrivals.front().map_or(Duration::ZERO, |t| {
                    window.saturating_sub(now.duration_since(*t))
                });
                (allowed, quota - self.arrivals.len(), until_oldest_leaves)
            }
            Limiter::Fixed | Limiter::Silent => {
                // Boundaries at start + k·window, whatever the traffic.
                let elapsed = now.duration_since(self.started);
                let k = (elapsed.as_nanos() / window.as_nanos().max(1)) as u32;
                let boundary = self.started + window * k;
                if boundary > self.window_start {
                    self.window_start = boundary;
                    self.used = 0;
                }
                let allowed = self.used < quota;
                if allowed {
                    self.used += 1;
                }
                let next = self.window_start + window;
                (
                    allowed,
                    quota - self.used,
                    next.saturating_duration_since(now),
                )
            }
        }
    }
}

impl RateLimitedServer {
    /// A fixed window of `quota` requests per `window`, with headers.
    pub async fn start(quota: usize, window: Duration) -> Self {
        Self::start_limiter(Limiter::Fixed, quota, window).await
    }

    /// A server enforcing `kind` with `quota` requests per `window`.
    pub async fn start_limiter(kind: Limiter, quota: usize, window: Duration) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let counts = Arc::new(Counts::default());
        let now = Instant::now();
        let state = Arc::new(Mutex::new(State {
            started: now,
            arrivals: VecDeque::new(),
            window_start: now,
            used: 0,
        }));
        let (c, shared) = (counts.clone(), state.clone());
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let (counts, state) = (c.clone(), shared.clone());
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    loop {
                        // Keep-alive: several requests per connection, each head in turn.
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
                        let (allowed, remaining, reset, since_start) = {
                            let mut state = state.lock().expect("lock");
                            let (a, r, t) = state.admit(kind, quota, window);
                            (a, r, t, state.started.elapsed())
                        };
                        if !allowed {
                            counts
                                .limited_at
                                .lock()
                                .expect("lock")
                                .push((since_start, reset));
                        }
                        counts.arrivals.lock().expect("lock").push((
                            since_start,
                            id.clone(),
                            allowed,
                        ));
                        // Whole seconds, rounded up, as the headers carry them.
                        let secs = reset.as_millis().div_ceil(1000).max(1);
                        let headers = if kind == Limiter::Silent {
                            String::new()
                        } else {
                            format!(
                                "ratelimit: \"default\";r={remaining};t={secs}\r\nratelimit-policy: \"default\";q={quota};w={}\r\n",
                                window.as_secs().max(1)
                            )
                        };
                        let response = if allowed {
                            counts.ok.fetch_add(1, Ordering::Relaxed);
                            counts.ids.lock().expect("lock").push(id);
                            let body = r#"{"success":true,"errors":[],"messages":[],"result":{"status":"ready"}}"#;
                            format!(
                                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n{headers}content-length: {}\r\n\r\n{body}",
                                body.len()
                            )
                        } else {
                            counts.limited.fetch_add(1, Ordering::Relaxed);
                            let body = r#"{"success":false,"errors":[{"code":10100,"message":"rate limited"}]}"#;
                            format!(
                                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\nretry-after: {secs}\r\n{headers}content-length: {}\r\n\r\n{body}",
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
        Self {
            base,
            counts,
            state,
            kind,
            quota,
            window,
        }
    }

    /// Spends what is left of the current window, as another client of the account
    /// would have (not counted in [`Counts`]).
    pub fn spend_window(&self) {
        let mut state = self.state.lock().expect("lock");
        while state.admit(self.kind, self.quota, self.window).0 {}
    }
}
