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

/// Ports tried before giving up on starting Prism.
pub const START_ATTEMPTS: usize = 3;

/// Why an attempt at starting Prism failed, with everything it printed.
enum NotStarted {
    /// Its output ended (it exited) before it said it listens.
    Exited(String),
    /// It said nothing of listening within [`START_TIMEOUT`].
    Silent(String),
}

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

/// A port on 127.0.0.1 free a moment ago (found by binding port 0, then released).
pub fn free_port() -> std::io::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
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
        Self::start_on_ports(root, spec, mode, &mut free_port)
    }

    /// [`Prism::start`] with the ports to try given by `next_port`. A port found free
    /// can be taken by another test's socket before Prism binds it: Prism then exits
    /// with `EADDRINUSE`, and the next port is tried, up to [`START_ATTEMPTS`] in all.
    pub fn start_on_ports(
        root: &Path,
        spec: &Path,
        mode: Mode,
        next_port: &mut dyn FnMut() -> std::io::Result<u16>,
    ) -> Result<Self> {
        let bin = ensure_installed(root)?;
        let mut taken = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = next_port()?;
            match Self::start_once(&bin, port, spec, mode)? {
                Ok(prism) => return Ok(prism),
                Err(NotStarted::Exited(log)) if log.contains("EADDRINUSE") => taken.push(port),
                Err(NotStarted::Exited(log)) => {
                    bail!("prism exited before it listened; its output:\n{log}")
                }
                Err(NotStarted::Silent(log)) => {
                    bail!("prism did not start within {START_TIMEOUT:?}; its output:\n{log}")
                }
            }
        }
        bail!("prism found each port it was given in use: {taken:?}")
    }

    /// One attempt on `port`: Prism listening, or why not with everything it printed.
    fn start_once(
        bin: &Path,
        port: u16,
        spec: &Path,
        mode: Mode,
    ) -> Result<Result<Self, NotStarted>> {
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
        // Only the readers hold a sender now: when Prism exits and its output ends,
        // the wait below ends at once instead of running out its timeout.
        drop(ready_tx);
        let prism = Self {
            child,
            base: format!("http://127.0.0.1:{port}"),
            log,
        };
        Ok(match ready_rx.recv_timeout(START_TIMEOUT) {
            Ok(()) => Ok(prism),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(NotStarted::Exited(prism.log())),
            Err(mpsc::RecvTimeoutError::Timeout) => Err(NotStarted::Silent(prism.log())),
        })
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
