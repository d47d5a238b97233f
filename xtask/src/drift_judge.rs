//! How the spec-drift job judges the updated tree: the nested cargo commands (the
//! snapshot refresh, the test command), their output passed through to the job's log,
//! and the verdict they give.

use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::findings::first_findings;

/// Tests run at once in each test binary. Most of the suites' time is spent waiting on
/// sockets and timers, not the CPU: on 2 cores, 8 finish the suites in 22–24 s against
/// 29–31 s with 4 and ~49 s with libtest's default of one per core, and pass with two
/// CPU hogs beside them (36 s): no test relies on a quiet machine.
pub const TEST_THREADS: &str = "8";

/// What judges the updated tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VerdictBy {
    /// The README's test command, `cargo xtask ci` (what the pull request's CI runs).
    Ci,
    /// `cargo test --workspace --locked` (which checks the generated code against
    /// `openapi/` too): the part of the test command a spec change can move (the
    /// rehearsal's choice).
    Tests,
    /// Nothing: the verdict is "not run".
    None,
}

impl VerdictBy {
    fn commands(self) -> Vec<Vec<&'static str>> {
        match self {
            Self::Ci => vec![vec!["xtask", "ci"]],
            Self::Tests => vec![vec!["test", "--workspace", "--locked", "--no-fail-fast"]],
            Self::None => Vec::new(),
        }
    }
}

/// The updated tree's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Not judged.
    NotRun,
    /// Every command passed.
    Green,
    /// `command` failed; `excerpt` holds its first errors or failing tests.
    Red { command: String, excerpt: String },
}

impl Verdict {
    /// `green`, `red` or `not-run`.
    pub fn word(&self) -> &'static str {
        match self {
            Self::NotRun => "not-run",
            Self::Green => "green",
            Self::Red { .. } => "red",
        }
    }
}

/// `cargo` in `root`, building in `target_dir` when given (default: cargo's own choice).
pub fn cargo(root: &Path, target_dir: Option<&Path>) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
    command.current_dir(root);
    if let Some(dir) = target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    command
}

/// Runs the codegen snapshot tests with insta accepting every new value, so the pull
/// request carries them for review; returns the snapshot files that changed, and a red
/// verdict when the refresh itself failed (a build error is never hidden).
pub fn refresh_snapshots(
    root: &Path,
    target_dir: Option<&Path>,
) -> Result<(Vec<String>, Option<Verdict>)> {
    let dir = root.join("tests/snapshots");
    let before = snapshot_files(&dir);
    // `--workspace`, not `-p workspace-tests`: the features then unify as in the test
    // command's build, so the run after this one reuses what this one compiles.
    let args = [
        "test",
        "--workspace",
        "--test",
        "suites",
        "--locked",
        "codegen::",
    ];
    let mut command = cargo(root, target_dir);
    command
        .args(args)
        .env("INSTA_UPDATE", "always")
        .env("INSTA_FORCE_PASS", "1");
    let shown = format!(
        "INSTA_UPDATE=always INSTA_FORCE_PASS=1 cargo {}",
        args.join(" ")
    );
    let red = run_judged(&mut command, &shown)?;
    let after = snapshot_files(&dir);
    let changed = after
        .iter()
        .filter(|(name, bytes)| before.get(*name) != Some(bytes))
        .map(|(name, _)| format!("tests/snapshots/{name}"))
        .collect();
    Ok((changed, red))
}

fn snapshot_files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter(|e| e.path().extension().is_some_and(|x| x == "snap"))
        .filter_map(|e| {
            let bytes = std::fs::read(e.path()).ok()?;
            Some((e.file_name().to_string_lossy().into_owned(), bytes))
        })
        .collect()
}

/// Runs the verdict commands in order; the first failure is the verdict.
pub fn judge(root: &Path, verdict: VerdictBy, target_dir: Option<&Path>) -> Result<Verdict> {
    let commands = verdict.commands();
    if commands.is_empty() {
        return Ok(Verdict::NotRun);
    }
    for args in commands {
        let mut command = cargo(root, target_dir);
        command.args(&args);
        let mut shown = format!("cargo {}", args.join(" "));
        if verdict == VerdictBy::Tests {
            command.env("RUST_TEST_THREADS", TEST_THREADS);
            shown = format!("RUST_TEST_THREADS={TEST_THREADS} {shown}");
        }
        if let Some(red) = run_judged(&mut command, &shown)? {
            return Ok(red);
        }
    }
    Ok(Verdict::Green)
}

/// Runs `command`, passing its output through to stderr (the job's log), and returns a
/// red verdict with its first errors when it fails.
fn run_judged(command: &mut Command, shown: &str) -> Result<Option<Verdict>> {
    use std::io::{BufRead, BufReader};
    eprintln!("==> {shown}");
    let mut child = command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("starting {shown}"))?;
    let stderr = child.stderr.take();
    let echo = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in stderr
            .map(BufReader::new)
            .into_iter()
            .flat_map(BufRead::lines)
        {
            let Ok(line) = line else { break };
            eprintln!("{line}");
            lines.push(line);
        }
        lines
    });
    let mut lines = Vec::new();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            eprintln!("{line}");
            lines.push(line);
        }
    }
    let status = child.wait()?;
    lines.extend(echo.join().unwrap_or_default());
    if status.success() {
        return Ok(None);
    }
    Ok(Some(Verdict::Red {
        command: shown.to_string(),
        excerpt: first_findings(&lines.join("\n"), 60),
    }))
}
