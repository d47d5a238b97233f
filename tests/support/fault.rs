//! A scripted HTTP/1.1 server on 127.0.0.1 for fault tests: each accepted connection
//! plays the next step of a script (the last step repeats), so a test decides exactly
//! what every attempt of the client meets: a reset, a stall, a cut body, bad bytes.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

/// What one connection does after reading the request head.
#[derive(Clone, Debug)]
pub enum Step {
    /// Write these bytes (a whole response) and close.
    Raw(Vec<u8>),
    /// Reset the connection (RST) before any byte of the response.
    ResetBeforeHeaders,
    /// Write these bytes, then reset.
    ResetAfter(Vec<u8>),
    /// Wait this long before writing anything, then write the bytes.
    StallThen(Duration, Vec<u8>),
    /// Write the first bytes, wait, then write the rest.
    Split(Vec<u8>, Duration, Vec<u8>),
}

/// A response with a status line, headers and body; `content-length` and
/// `connection: close` are added.
pub fn response(status: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {status}\r\n").into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(body);
    out
}

/// A JSON response with a `cf-ray`.
pub fn json(status: &str, body: &str) -> Vec<u8> {
    response(
        status,
        &[("content-type", "application/json"), ("cf-ray", crate::RAY)],
        body.as_bytes(),
    )
}

/// The running server.
pub struct FaultServer {
    /// `http://127.0.0.1:<port>`
    pub base: String,
    seen: Seen,
}

/// What the server has seen, shared with each connection's task.
#[derive(Clone, Default)]
struct Seen {
    heads: Arc<Mutex<Vec<String>>>,
    arrived: Arc<Notify>,
    /// Requests read but not yet answered, and the most there ever were at once.
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl FaultServer {
    /// Starts serving `script` on a fresh port.
    pub async fn start(script: Vec<Step>) -> Self {
        assert!(!script.is_empty(), "a script needs at least one step");
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let seen = Seen::default();
        let shared = seen.clone();
        tokio::spawn(async move {
            let mut n = 0usize;
            while let Ok((socket, _)) = listener.accept().await {
                let step = script[n.min(script.len() - 1)].clone();
                n += 1;
                let seen = shared.clone();
                tokio::spawn(async move { serve(socket, step, seen).await });
            }
        });
        Self { base, seen }
    }

    /// The most requests the server held unanswered at once.
    pub fn peak_in_flight(&self) -> usize {
        self.seen.peak.load(Ordering::SeqCst)
    }

    /// How many requests arrived (complete request heads).
    pub fn requests(&self) -> usize {
        self.seen.heads.lock().expect("lock").len()
    }

    /// Every request head, lower-cased, in arrival order.
    pub fn heads(&self) -> Vec<String> {
        self.seen.heads.lock().expect("lock").clone()
    }

    /// Waits until at least `n` requests have arrived; fails after [`crate::HANG_LIMIT`].
    pub async fn wait_for_requests(&self, n: usize) {
        let wait = async {
            loop {
                let notified = self.seen.arrived.notified();
                if self.requests() >= n {
                    return;
                }
                notified.await;
            }
        };
        if tokio::time::timeout(crate::HANG_LIMIT, wait).await.is_err() {
            panic!("{n} requests never arrived; {} did", self.requests());
        }
    }
}

async fn serve(socket: TcpStream, step: Step, seen: Seen) {
    let mut socket = socket;
    let Some(head) = crate::read_head(&mut socket).await else {
        return;
    };
    seen.heads.lock().expect("lock").push(head);
    let now = seen.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    seen.peak.fetch_max(now, Ordering::SeqCst);
    seen.arrived.notify_waiters();
    // Out of the count before the first byte of the answer: a client that starts a
    // request only after an answer arrived is never counted twice.
    let answered = Answered(seen.in_flight.clone());
    match step {
        Step::Raw(bytes) => {
            drop(answered);
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
        Step::ResetBeforeHeaders => {
            drop(answered);
            reset(socket);
        }
        Step::ResetAfter(bytes) => {
            drop(answered);
            let _ = socket.write_all(&bytes).await;
            let _ = socket.flush().await;
            reset(socket);
        }
        Step::StallThen(delay, bytes) => {
            tokio::time::sleep(delay).await;
            drop(answered);
            let _ = socket.write_all(&bytes).await;
            let _ = socket.shutdown().await;
        }
        Step::Split(first, delay, rest) => {
            drop(answered);
            let _ = socket.write_all(&first).await;
            let _ = socket.flush().await;
            tokio::time::sleep(delay).await;
            let _ = socket.write_all(&rest).await;
            let _ = socket.shutdown().await;
        }
    }
}

/// Takes a request out of the in-flight count when dropped, just before its answer.
struct Answered(Arc<AtomicUsize>);

impl Drop for Answered {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Closes with RST rather than FIN.
fn reset(socket: TcpStream) {
    let _ = socket.set_zero_linger();
    drop(socket);
}
