//! Stoplight Prism, the independent spec-driven mock server of the contract tests:
//! installed from `tests/contract/package-lock.json` with `npm ci` when missing, started
//! on 127.0.0.1 with request validation on, stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// Where the pinned Prism lives, relative to the workspace root.
pub const CONTRACT_DIR: &str = "tests/contract";

/// How long Prism may take to start (it takes about a second).
const START_TIMEOUT: Duration = Duration::from_secs(60);

static INSTALL: Mutex<()> = Mutex::new(());

/// Installs Prism with `npm ci` (the version the lockfile pins) unless it is there,
/// and returns the path of its executable.
pub fn ensure_installed(root: &Path) -> Result<PathBuf> {
    let _guard = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = root.join(CONTRACT_DIR);
    let bin = dir.join("node_modules/.bin/prism");
    if bin.exists() {
        return Ok(bin);
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(&dir)
        .status()
        .context("running npm (Node.js and npm are needed for the contract tests)")?;
    if !status.success() || !bin.exists() {
        bail!("`npm ci` in {CONTRACT_DIR} failed ({status}); Prism is not installed");
    }
    Ok(bin)
}

/// How Prism should answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// From the spec's examples, or a fixed example built from the schema.
    Static,
    /// Random valid responses from the schema (seeded, with extra unknown properties).
    Dynamic {
        /// The generator's seed, for reproducible runs.
        seed: u64,
    },
}

/// A running Prism; killed on drop.
pub struct Prism {
    child: Child,
    /// `http://127.0.0.1:<port>`
    pub base: String,
    log: Arc<Log>,
}

/// Prism's output lines, with a signal for each new one: Prism logs a request's
/// verdict after it has answered, so readers wait for the lines rather than race them.
#[derive(Default)]
struct Log {
    lines: Mutex<Vec<String>>,
    grew: Condvar,
}

impl Log {
    fn lines(&self) -> std::sync::MutexGuard<'_, Vec<String>> {
        self.lines.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How long [`Prism::wait_for_requests`] waits for log lines of answered requests.
const LOG_TIMEOUT: Duration = Duration::from_secs(20);

/// True for the line Prism prints last for a request, whatever its verdict.
fn ends_a_request(line: &str) -> bool {
    line.contains("> Responding with \"") || line.contains("Request terminated with error")
}

impl Prism {
    /// Starts `prism mock --errors` on `spec` and waits until it listens.
    pub fn start(root: &Path, spec: &Path, mode: Mode) -> Result<Self> {
        let bin = ensure_installed(root)?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let mut command = Command::new(bin);
        command
            .args([
                "mock",
                "--errors",
                "-h",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .arg(spec)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if let Mode::Dynamic { seed } = mode {
            command.args([
                "--dynamic",
                "--seed",
                &seed.to_string(),
                "--json-schema-faker-fillProperties=true",
            ]);
        }
        let mut child = command.spawn().context("starting prism")?;
        let log = Arc::new(Log::default());
        let (ready_tx, ready_rx) = mpsc::channel();
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let (log, ready_tx) = (log.clone(), ready_tx.clone());
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if line.contains("Prism is listening") {
                        let _ = ready_tx.send(());
                    }
                    log.lines().push(line);
                    log.grew.notify_all();
                }
            });
        }
        let prism = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        if ready_rx.recv_timeout(START_TIMEOUT).is_err() {
            bail!(
                "prism did not start within {START_TIMEOUT:?}; its output:\n{}",
                prism.log()
            );
        }
        Ok(prism)
    }

    /// Everything Prism printed so far.
    pub fn log(&self) -> String {
        self.log.lines().join("\n")
    }

    /// Waits until Prism has logged the end of `n` requests (it does so just after
    /// answering, so a client can hold its answer before the log says anything).
    pub fn wait_for_requests(&self, n: usize) -> Result<()> {
        let deadline = Instant::now() + LOG_TIMEOUT;
        let mut lines = self.log.lines();
        loop {
            let ended = lines.iter().filter(|l| ends_a_request(l)).count();
            if ended >= n {
                return Ok(());
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(lines);
                bail!(
                    "prism logged the end of {ended} of {n} requests within {LOG_TIMEOUT:?}; its output:\n{}",
                    self.log()
                );
            }
            lines = self
                .log
                .grew
                .wait_timeout(lines, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Lines where Prism reports a request or response that breaks the spec.
    pub fn violations(&self) -> Vec<String> {
        self.log
            .lines()
            .iter()
            .filter(|l| {
                l.contains("did not pass the validation") || l.contains("✖") || l.contains("violat")
            })
            .cloned()
            .collect()
    }

    /// How many requests Prism validated successfully.
    pub fn accepted(&self) -> usize {
        self.log
            .lines()
            .iter()
            .filter(|l| l.contains("The request passed the validation rules"))
            .count()
    }
}

impl Drop for Prism {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
