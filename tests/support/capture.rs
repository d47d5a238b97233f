//! Captures everything a `tracing` subscriber writes, at TRACE level, so tests can search
//! it for secrets and wait for a given event without sleeping.

use std::io::Write;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

/// A shared, growing log buffer.
#[derive(Clone, Default)]
pub struct Capture {
    buf: Arc<Mutex<Vec<u8>>>,
    written: Arc<Notify>,
}

impl Capture {
    /// A fresh, empty capture.
    pub fn new() -> Self {
        Self::default()
    }

    /// A dispatcher that writes every span and event, TRACE and up, into this capture.
    /// Tests that read it take [`one_at_a_time`] first.
    pub fn subscriber(&self) -> tracing::Dispatch {
        tracing::Dispatch::new(
            tracing_subscriber::fmt()
                .with_max_level(tracing::Level::TRACE)
                .with_span_events(tracing_subscriber::fmt::format::FmtSpan::FULL)
                .with_ansi(false)
                .with_writer(self.clone())
                .finish(),
        )
    }

    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().expect("lock")).into_owned()
    }

    /// Waits until the log contains `needle`; after [`crate::HANG_LIMIT`] the test fails
    /// with the log so far, rather than hanging the suite.
    pub async fn wait_for(&self, needle: &str) {
        let wait = async {
            loop {
                let written = self.written.notified();
                if self.text().contains(needle) {
                    return;
                }
                written.await;
            }
        };
        if tokio::time::timeout(crate::HANG_LIMIT, wait).await.is_err() {
            panic!("the log never said {needle:?}:\n{}", self.text());
        }
    }
}

/// Held by each test that reads its log: such tests run one at a time, so that no
/// callsite is first registered while another test's subscriber comes or goes (tracing
/// caches per callsite whether anyone listens, and that cache races with concurrent
/// registration: a line waited for could be lost).
pub async fn one_at_a_time() -> tokio::sync::MutexGuard<'static, ()> {
    static LOCK: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    LOCK.lock().await
}

/// The writer handed to the subscriber for each line.
pub struct CaptureWriter(Capture);

impl Write for CaptureWriter {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0.buf.lock().expect("lock").extend_from_slice(data);
        self.0.written.notify_waiters();
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = CaptureWriter;

    fn make_writer(&'a self) -> Self::Writer {
        CaptureWriter(self.clone())
    }
}
