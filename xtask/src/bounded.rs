//! Generation under a bound: progenitor (through typify) can take unbounded memory and
//! time on some compositions Cloudflare publishes (13.6 GB in 26 s, never finishing, on
//! one real version of `POST /accounts/{account_id}/access/apps`). `normalise` keeps
//! the known shapes small; this module makes sure that whatever it misses ends as an
//! error naming the fragment's operations instead of an OOM kill of the CI runner.
//!
//! The xtask binary runs the generation in a child of itself (the hidden
//! `render-fragment` command) whose address space is capped with `ulimit -v` and whose
//! run is timed; library callers without the binary (tests) render in process
//! (`generate::render_auto` chooses).

use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::spec::{self, Fragment};

/// What one generation may take.
#[derive(Debug, Clone, Copy)]
pub struct Bound {
    /// Address space of the child, in MiB (`ulimit -v`).
    pub memory_mib: u64,
    /// Wall-clock time.
    pub time: Duration,
}

impl Default for Bound {
    /// 1.5 GiB of address space (a normal generation of the largest real operation
    /// peaks near 200 MB resident) and 60 s (the slowest takes about 3 s on 2 cores).
    fn default() -> Self {
        Self {
            memory_mib: 1536,
            time: Duration::from_secs(60),
        }
    }
}

/// The hidden command the child runs; kept out of `cargo xtask help`.
pub const CHILD_COMMAND: &str = "render-fragment";

/// How a bounded generation ended when it produced no code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// The generator refused the fragment, saying why.
    Refused(String),
    /// The child ran out of its memory bound.
    Memory,
    /// The child ran past its time bound and was stopped.
    Time,
}

/// Generates `fragment` with the xtask binary at `exe` as a bounded child, in `scratch`
/// (a directory for the fragment and the output). `Err` is a failure of this machinery
/// (cannot spawn, cannot write); `Ok(Err(_))` is the fragment's own failure.
pub fn render(
    exe: &Path,
    fragment: &Fragment,
    scratch: &Path,
    bound: Bound,
) -> Result<std::result::Result<String, Failure>> {
    std::fs::create_dir_all(scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let input = scratch.join(format!("fragment-{}.json", std::process::id()));
    let output: PathBuf = scratch.join(format!("generated-{}.rs", std::process::id()));
    let _ = std::fs::remove_file(&output);
    std::fs::write(&input, serde_json::to_vec(&fragment.doc)?)
        .with_context(|| format!("writing {}", input.display()))?;
    // `ulimit -v` takes KiB. A shell that cannot set it still runs the child, timed.
    let script = format!(
        "ulimit -v {} 2>/dev/null; exec \"$0\" \"$@\"",
        bound.memory_mib.saturating_mul(1024)
    );
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(script)
        .arg(exe)
        .arg(CHILD_COMMAND)
        .arg(&input)
        .arg(&output)
        .arg(&fragment.rel_path)
        .arg(&fragment.sha256)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {} {CHILD_COMMAND}", exe.display()))?;
    // Read stderr on a thread so that a chatty child cannot block on a full pipe.
    let mut stderr = child.stderr.take().context("the child's stderr")?;
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        let _ = stderr.by_ref().take(64 * 1024).read_to_end(&mut text);
        let _ = std::io::copy(&mut stderr, &mut std::io::sink());
        String::from_utf8_lossy(&text).into_owned()
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().context("waiting for the generator")? {
            break Some(status);
        }
        if started.elapsed() >= bound.time {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap_or_default();
    let _ = std::fs::remove_file(&input);
    let Some(status) = status else {
        let _ = std::fs::remove_file(&output);
        return Ok(Err(Failure::Time));
    };
    if status.success() {
        let code = std::fs::read_to_string(&output)
            .with_context(|| format!("reading {}", output.display()))?;
        let _ = std::fs::remove_file(&output);
        return Ok(Ok(code));
    }
    let _ = std::fs::remove_file(&output);
    if stderr.contains("memory allocation of") || stderr.contains("out of memory") {
        return Ok(Err(Failure::Memory));
    }
    match status.code() {
        Some(_) => {
            let message = stderr
                .trim()
                .strip_prefix("error: ")
                .unwrap_or(stderr.trim());
            Ok(Err(Failure::Refused(message.to_string())))
        }
        // Killed by a signal other than our own timeout: the allocator's abort, or the
        // kernel's OOM killer.
        None => Ok(Err(Failure::Memory)),
    }
}

/// The error a caller reports for a [`Failure`]: names the fragment's operations and
/// the bound that was reached.
pub fn describe(failure: &Failure, fragment: &Fragment, bound: Bound) -> String {
    let ops: Vec<String> = spec::operations(&fragment.doc)
        .iter()
        .map(|op| {
            let id = op
                .op
                .get("operationId")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("(no operationId)");
            format!("{id} ({} {})", op.method.to_uppercase(), op.path)
        })
        .collect();
    let ops = ops.join(", ");
    match failure {
        Failure::Refused(message) => message.clone(),
        Failure::Memory => format!(
            "generating {} ({ops}) went past the memory bound of {} MiB and was stopped; \
             a composition in its schemas is too large for the generator (normalise it in \
             xtask/src/normalise.rs)",
            fragment.rel_path, bound.memory_mib
        ),
        Failure::Time => format!(
            "generating {} ({ops}) went past the time bound of {} s and was stopped; a \
             composition in its schemas is too large for the generator (normalise it in \
             xtask/src/normalise.rs)",
            fragment.rel_path,
            bound.time.as_secs()
        ),
    }
}

/// [`render`] with the failure as an error: what `generate`, `update` and `diff` use.
pub fn render_or_error(exe: &Path, fragment: &Fragment, scratch: &Path) -> Result<String> {
    let bound = Bound::default();
    match render(exe, fragment, scratch, bound)? {
        Ok(code) => Ok(code),
        Err(failure) => bail!("{}", describe(&failure, fragment, bound)),
    }
}

/// Whether `exe` is the xtask binary (which has the hidden child command), not a test
/// binary linking this library.
pub fn is_xtask(exe: &Path) -> bool {
    exe.file_stem().is_some_and(|s| s == "xtask")
}
