//! `cargo xtask spec-drift <PATH|URL>`: every step of the weekly spec-drift job that
//! changes the tree or judges it, in one place, so that the workflow and its rehearsal
//! (`cargo xtask rehearse-drift`) run the same code. The workflow adds only git and gh.
//!
//! The steps: `update` (extract, diff, regenerate); refresh the insta snapshots the
//! change moves (accepted into the tree, for review in the pull request; a build failure
//! is the verdict, never hidden); move the version and `CHANGELOG.md` by the policy in
//! CONTRIBUTING.md; `cargo semver-checks` where it is installed; then the test command
//! on the updated tree, whose verdict (green, or the first errors) goes into the report.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::report::Class;
use crate::{fetch, markdown, spec, update, version};

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

/// What `cargo semver-checks` said of the published library crates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SemverCheck {
    /// Whether it found a semver-major change; `None` when it did not complete.
    pub major: Option<bool>,
    /// Its findings, shortened.
    pub excerpt: String,
}

impl SemverCheck {
    /// Reads its exit status and output: a failed check names the major version it
    /// requires; any other failure is the tool's, not a verdict.
    pub fn read(success: bool, output: &str) -> Self {
        let major = if success {
            Some(false)
        } else if output.contains("requires new major version") {
            Some(true)
        } else {
            None
        };
        Self {
            major,
            excerpt: first_findings(output, 40),
        }
    }
}

/// Everything the job did.
#[derive(Debug)]
pub struct Job {
    /// The update (report, snapshots text, whether anything was written).
    pub updated: update::Updated,
    /// Snapshot files the refresh rewrote.
    pub snapshots: Vec<String>,
    /// The version before and after.
    pub version: Option<(String, String)>,
    /// Cloudflare's `info.version` before the update ("" when the fragment had none).
    pub api_before: String,
    /// `cargo semver-checks`, when installed and the tree is a git checkout.
    pub semver: Option<SemverCheck>,
    /// The test command's verdict.
    pub verdict: Verdict,
}

impl Job {
    /// The class that labels the pull request: the most serious change, or `respelled`
    /// when the fragment moved without an API change.
    pub fn class_word(&self) -> String {
        self.updated
            .report
            .worst()
            .map_or_else(|| "respelled".to_string(), |c| c.to_string())
    }

    /// Whether `cargo semver-checks` and the class disagree.
    pub fn semver_disagrees(&self) -> bool {
        let breaking = self.updated.report.worst() == Some(Class::Breaking);
        self.semver
            .as_ref()
            .and_then(|s| s.major)
            .is_some_and(|major| major != breaking)
    }

    /// `key=value` lines for `$GITHUB_OUTPUT`.
    pub fn outputs(&self) -> String {
        let short: String = self.updated.commit.chars().take(7).collect();
        let mut out = format!("changed={}\n", self.updated.written);
        if self.updated.written {
            let class = self.class_word();
            let _ = writeln!(out, "class={class}");
            let _ = writeln!(out, "verdict={}", self.verdict.word());
            if let Some((_, new)) = &self.version {
                let _ = writeln!(out, "version={new}");
            }
            // The branch is named for the in-scope text, not the upstream commit:
            // upstream moves every week for other products, and the same drift must
            // stay one pull request (with any fix a maintainer pushed to it).
            let fragment: String = self.updated.fragment_sha256.chars().take(12).collect();
            let _ = writeln!(out, "fragment={fragment}");
            let _ = writeln!(
                out,
                "title=Cloudflare spec drift ({class}) at api-schemas {short}"
            );
        }
        out
    }

    /// The job summary and pull request body.
    pub fn to_markdown(&self) -> String {
        let mut out = markdown::update_markdown(&self.updated);
        if !self.updated.written {
            return out;
        }
        out.push_str("\n### What the maintainer does\n\n");
        out.push_str(&self.advice());
        if let Some((old, new)) = &self.version {
            let moved = if old == new {
                format!(
                    "`{old}` stays: it is already past the last release by at least this \
                     change, or nothing is released yet"
                )
            } else {
                format!("`{old}` → `{new}`")
            };
            let _ = write!(
                out,
                "\n### Version\n\n{moved} (CONTRIBUTING.md, \"Versions and releases\": \
                 moved from the last release); `CHANGELOG.md` has the entry.\n"
            );
        }
        if !self.snapshots.is_empty() {
            out.push_str("\n### Snapshots refreshed (review their diff)\n\n");
            for s in &self.snapshots {
                let _ = writeln!(out, "- `{s}`");
            }
        }
        out.push_str("\n### cargo semver-checks\n\n");
        match &self.semver {
            None => out.push_str("Not run (not installed here, or not a git checkout).\n"),
            Some(s) => {
                let _ = writeln!(
                    out,
                    "{}\n\n```text\n{}\n```",
                    match s.major {
                        Some(true) => "Found a semver-major change in the public API.",
                        Some(false) => "No semver-major change in the public API.",
                        None => "Did not complete (its output below); no verdict.",
                    },
                    fence_safe(&s.excerpt)
                );
                if self.semver_disagrees() {
                    let _ = writeln!(
                        out,
                        "\n**It disagrees with the class `{}`**: decide which is right before \
                         merging (the version above follows the class).",
                        self.class_word()
                    );
                }
            }
        }
        out.push_str("\n### Verdict of the test command on this tree\n\n");
        match &self.verdict {
            Verdict::NotRun => out.push_str("Not run.\n"),
            Verdict::Green => out.push_str("**green**: the pull request passes as it is.\n"),
            Verdict::Red { command, excerpt } => {
                let _ = writeln!(
                    out,
                    "**red**: `{command}` failed. First errors:\n\n```text\n{}\n```",
                    fence_safe(excerpt)
                );
            }
        }
        out
    }

    fn new_enum_values(&self) -> bool {
        self.updated
            .report
            .changes
            .iter()
            .any(|c| c.class == Class::NeedsAttention && c.message.starts_with("new enum value"))
    }

    fn advice(&self) -> String {
        let red = matches!(self.verdict, Verdict::Red { .. });
        match self.updated.report.worst() {
            Some(Class::Breaking) if red => {
                "A **breaking** change: the build or the tests show where the \
                ergonomic crate must follow (see the verdict). Push the fixes to this branch; \
                the version moves to the next major (minor while 0.x).\n"
                    .to_string()
            }
            Some(Class::Breaking) => "A **breaking** change to the generated crate's API \
                (the `rust:` rows): the library compiles and its tests pass as they are, so \
                nothing needs to follow, but callers of `cloudflare-mcp-sync-generated` do. \
                Merge with the version moved to the next major (minor while 0.x).\n"
                .to_string(),
            _ if red => "Not breaking, yet the tree is **red**: this is a bug in the drift loop \
                (xtask or the tests). Fix it on this branch and say so in the commit.\n"
                .to_string(),
            Some(Class::NeedsAttention) if self.new_enum_values() => "Read the table and merge: \
                new values reach users as they are (an unknown status arrives as \
                `SyncStatus::Unknown`). Then name each new status value in `SyncStatus` \
                (crates/ergonomic/src/report.rs) in a follow-up.\n"
                .to_string(),
            Some(Class::NeedsAttention) => "Read the table: each change is tolerated as it is \
                (a new response status is decoded like the others), but judge whether the \
                ergonomic crate should say more about it; then merge.\n"
                .to_string(),
            _ => "Read the table and the snapshot diffs, then merge.\n".to_string(),
        }
    }
}

/// A code fence cannot be closed by text inside it.
fn fence_safe(text: &str) -> String {
    text.replace("```", "'''")
}

/// Options of one job run.
#[derive(Debug, Clone)]
pub struct Options {
    /// A path or an `https://` (or loopback `http://`) URL.
    pub source: String,
    /// The upstream commit, when not read from the URL.
    pub commit: Option<String>,
    /// Download limits.
    pub limits: fetch::Limits,
    /// What judges the updated tree.
    pub verdict: VerdictBy,
    /// `CARGO_TARGET_DIR` for the nested cargo commands (default: cargo's own choice).
    pub target_dir: Option<PathBuf>,
}

/// Runs the job below `root`.
pub fn run(root: &Path, options: &Options) -> Result<Job> {
    let mut job = updated(root, options)?;
    if !job.updated.written {
        return Ok(job);
    }
    // Before the version moves: cargo-semver-checks reads the release type from it.
    job.semver = semver_checks(root, options);
    job.version = Some(bump(root, &job)?);
    let refresh = refresh_snapshots(root, options)?;
    job.snapshots = refresh.0;
    if let Some(red) = refresh.1 {
        job.verdict = red;
        return Ok(job);
    }
    job.verdict = judge(root, options)?;
    Ok(job)
}

/// The job's steps that need no build: update, then the version and changelog. What
/// the change is labelled and how the version moves are decided here; the rehearsal
/// checks them for every kind of change without a build per kind.
pub fn run_without_builds(root: &Path, options: &Options) -> Result<Job> {
    let mut job = updated(root, options)?;
    if job.updated.written {
        job.version = Some(bump(root, &job)?);
    }
    Ok(job)
}

/// `update` from the options' source, as a job not yet judged.
fn updated(root: &Path, options: &Options) -> Result<Job> {
    let api_before = api_version(root)?;
    let updated = if fetch::is_url(&options.source) {
        update::run_url(
            root,
            &options.source,
            &[],
            options.commit.as_deref(),
            options.limits,
        )?
    } else {
        update::run(
            root,
            Path::new(&options.source),
            &[],
            options.commit.as_deref(),
        )?
    };
    Ok(Job {
        updated,
        snapshots: Vec::new(),
        version: None,
        api_before,
        semver: None,
        verdict: Verdict::NotRun,
    })
}

fn cargo(root: &Path, options: &Options) -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()));
    command.current_dir(root);
    if let Some(dir) = &options.target_dir {
        command.env("CARGO_TARGET_DIR", dir);
    }
    command
}

/// Cloudflare's `info.version` in the fragment, or "".
fn api_version(root: &Path) -> Result<String> {
    let (_, fragment) = spec::load_fragment(root)?;
    Ok(fragment
        .doc
        .pointer("/info/version")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// Moves the version and writes the changelog entry.
fn bump(root: &Path, job: &Job) -> Result<(String, String)> {
    let old = version::current(root)?;
    let info = api_version(root)?;
    let log_path = root.join("CHANGELOG.md");
    let log = std::fs::read_to_string(&log_path).context("reading CHANGELOG.md")?;
    let released = version::last_released(&log);
    let new = version::next(&old, released.as_deref(), job.updated.report.worst())?;
    let mut files = if new == old {
        Vec::new()
    } else {
        version::bump_files(root, &old, &new)?
    };
    let short: String = job.updated.commit.chars().take(7).collect();
    let mut entry = format!(
        "### Spec drift: api-schemas `{short}` ({})\n",
        job.class_word()
    );
    // `info.version` is outside the operation (diff does not see it), but the client
    // sends it and the changelog is where a reader learns which API a release speaks.
    let api_moved = info != job.api_before;
    if api_moved {
        let _ = writeln!(
            entry,
            "- Cloudflare's API version (`info.version`) is now `{}`.",
            markdown::markdown_text(&info)
        );
    }
    if job.updated.report.changes.is_empty() && !api_moved {
        entry.push_str("- The operation is written differently upstream; its API is unchanged.\n");
    }
    for c in &job.updated.report.changes {
        // Spec text, so escaped: it cannot become markup, a link or a mention.
        let _ = writeln!(
            entry,
            "- {}: `{}`: {}",
            c.class,
            c.pointer.replace('`', "'"),
            markdown::markdown_text(&c.message)
        );
    }
    files.push((log_path, version::changelog(&log, &old, &new, &entry)?));
    spec::write_all_or_nothing(&files)?;
    Ok((old, new))
}

/// Runs the codegen snapshot tests with insta accepting every new value, so the pull
/// request carries them for review; returns the snapshot files that changed, and a red
/// verdict when the refresh itself failed (a build error is never hidden).
fn refresh_snapshots(root: &Path, options: &Options) -> Result<(Vec<String>, Option<Verdict>)> {
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
    let mut command = cargo(root, options);
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

/// `cargo semver-checks` on the two library crates against `HEAD`, when installed and
/// `root` is a git checkout.
fn semver_checks(root: &Path, options: &Options) -> Option<SemverCheck> {
    let installed = cargo(root, options)
        .args(["semver-checks", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let git = Command::new("git")
        .args(["rev-parse", "--verify", "HEAD"])
        .current_dir(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !installed || !git {
        return None;
    }
    let out = cargo(root, options)
        .args([
            "semver-checks",
            "check-release",
            "-p",
            "cloudflare-mcp-sync-generated",
            "-p",
            "cloudflare-mcp-sync",
            "--baseline-rev",
            "HEAD",
            // Only a major change fails: that is the question the report asks.
            "--release-type",
            "minor",
        ])
        .output()
        .ok()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    Some(SemverCheck::read(out.status.success(), &text))
}

/// Runs the verdict commands in order; the first failure is the verdict.
fn judge(root: &Path, options: &Options) -> Result<Verdict> {
    let commands = options.verdict.commands();
    if commands.is_empty() {
        return Ok(Verdict::NotRun);
    }
    for args in commands {
        let mut command = cargo(root, options);
        command.args(&args);
        let mut shown = format!("cargo {}", args.join(" "));
        if options.verdict == VerdictBy::Tests {
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

/// The lines a person needs first: compiler errors with their context, failing tests
/// and panics, xtask's own errors; at most `max` lines.
pub fn first_findings(text: &str, max: usize) -> String {
    let mut out: Vec<&str> = Vec::new();
    let mut context = 0usize;
    for line in text.lines() {
        let t = line.trim_start();
        let starts = t.starts_with("error")
            || t.starts_with("--- failure")
            || t.starts_with("---- ")
            || (t.starts_with("test ") && t.ends_with("FAILED"))
            || t.contains("panicked at");
        if starts {
            context = 8;
        }
        if context > 0 {
            out.push(line);
            context -= 1;
            if line.trim().is_empty() {
                context = 0;
            }
        }
        if out.len() >= max {
            out.push("…");
            break;
        }
    }
    if out.is_empty() {
        let all: Vec<&str> = text.lines().collect();
        return all[all.len().saturating_sub(max)..].join("\n");
    }
    out.join("\n")
}

/// Where the job writes its report and outputs, when asked.
#[derive(Debug, Default)]
pub struct Files {
    /// The Markdown report (job summary, pull request body).
    pub report: Option<PathBuf>,
    /// `key=value` outputs (append, as `$GITHUB_OUTPUT` wants).
    pub outputs: Option<PathBuf>,
}

/// Writes a report that says the job stopped and why, for the job summary, and the one
/// output `changed=false`, so that no pull request is proposed from a half-done tree.
/// Best effort: the error that stopped the job is what the run reports.
pub fn write_failure(error: &anyhow::Error, files: &Files) {
    if let Some(path) = &files.report {
        let body = format!(
            "## Cloudflare spec drift: the job stopped\n\n\
             `cargo xtask spec-drift` could not finish, so no pull request is proposed. \
             A maintainer should look: the cause is below, and \
             `cargo xtask update <URL>` reproduces it.\n\n```text\n{}\n```\n",
            fence_safe(&format!("{error:#}"))
        );
        let _ = std::fs::write(path, body);
    }
    if let Some(path) = &files.outputs {
        let _ = append_outputs(path, "changed=false\n");
    }
}

/// Appends `key=value` lines, as `$GITHUB_OUTPUT` wants.
fn append_outputs(path: &Path, lines: &str) -> Result<()> {
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?
        .write_all(lines.as_bytes())?;
    Ok(())
}

/// Writes the report and appends the outputs.
pub fn write_files(job: &Job, files: &Files) -> Result<()> {
    if let Some(path) = &files.report {
        std::fs::write(path, job.to_markdown())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    if let Some(path) = &files.outputs {
        append_outputs(path, &job.outputs())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn job(changes: Vec<crate::report::Change>, verdict: Verdict) -> Job {
        Job {
            updated: update::Updated {
                report: crate::report::Report { changes },
                snapshots: String::new(),
                written: true,
                source: "http://127.0.0.1/x".into(),
                commit: "0123456789abcdef".into(),
                fragment_sha256: "fedcba9876543210aa".into(),
            },
            snapshots: vec!["tests/snapshots/a.snap".into()],
            version: Some(("0.1.0".into(), "0.1.1".into())),
            api_before: "4.0.0".into(),
            semver: Some(SemverCheck::read(
                false,
                "--- failure x ---\nSummary semver requires new major version: 1 major",
            )),
            verdict,
        }
    }

    fn change(class: Class) -> crate::report::Change {
        crate::report::Change {
            class,
            pointer: "/paths/x".into(),
            message: "m".into(),
            was: None,
            now: None,
        }
    }

    #[test]
    fn outputs_carry_what_the_workflow_reads() {
        let j = job(vec![change(Class::Additive)], Verdict::Green);
        assert_eq!(
            j.outputs(),
            "changed=true\nclass=additive\nverdict=green\nversion=0.1.1\n\
             fragment=fedcba987654\n\
             title=Cloudflare spec drift (additive) at api-schemas 0123456\n"
        );
        let respelled = job(Vec::new(), Verdict::Green);
        assert!(respelled.outputs().contains("class=respelled\n"));
        let mut unchanged = job(Vec::new(), Verdict::NotRun);
        unchanged.updated.written = false;
        assert_eq!(unchanged.outputs(), "changed=false\n");
    }

    #[test]
    fn a_job_that_stops_leaves_a_report_saying_why_and_proposes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let files = Files {
            report: Some(dir.path().join("report.md")),
            outputs: Some(dir.path().join("outputs")),
        };
        let error = anyhow::anyhow!("progenitor cannot generate ```code```")
            .context("openapi/x.json cannot be generated from");
        write_failure(&error, &files);
        let report = std::fs::read_to_string(dir.path().join("report.md")).unwrap();
        assert!(report.contains("the job stopped"), "{report}");
        assert!(
            report.contains("openapi/x.json cannot be generated from: progenitor cannot generate"),
            "the whole cause: {report}"
        );
        assert_eq!(
            report.matches("```").count(),
            2,
            "one fence, not closed early"
        );
        let outputs = std::fs::read_to_string(dir.path().join("outputs")).unwrap();
        assert_eq!(outputs, "changed=false\n");
    }

    #[test]
    fn the_report_states_verdict_version_semver_and_advice() {
        let red = Verdict::Red {
            command: "cargo xtask ci".into(),
            excerpt: "error[E0063]: missing field ```".into(),
        };
        let body = job(vec![change(Class::Breaking)], red).to_markdown();
        assert!(body.contains("**red**: `cargo xtask ci` failed"), "{body}");
        assert!(body.contains("`0.1.0` → `0.1.1`"), "{body}");
        assert!(body.contains("Found a semver-major change"), "{body}");
        assert!(
            !body.contains("disagrees"),
            "semver and class agree: {body}"
        );
        assert!(body.contains("A **breaking** change"), "{body}");
        assert!(
            !body.contains("missing field ```"),
            "a fence cannot be closed: {body}"
        );

        let mut value = change(Class::NeedsAttention);
        value.message = "new enum value \"syncing\"".into();
        let body = job(vec![value], Verdict::Green).to_markdown();
        assert!(body.contains("**green**"), "{body}");
        assert!(
            body.contains("It disagrees with the class `needs-attention`"),
            "{body}"
        );
        assert!(body.contains("name each new status value"), "{body}");
        assert!(body.contains("- `tests/snapshots/a.snap`"), "{body}");

        let body = job(
            vec![change(Class::Cosmetic)],
            Verdict::Red {
                command: "c".into(),
                excerpt: "e".into(),
            },
        )
        .to_markdown();
        assert!(body.contains("a bug in the drift loop"), "{body}");
    }

    #[test]
    fn semver_checks_verdicts_are_read_apart_from_tool_failures() {
        assert_eq!(SemverCheck::read(true, "").major, Some(false));
        let major = "--- failure struct_missing ---\nSummary semver requires new major version: 1 major and 0 minor checks failed";
        assert_eq!(SemverCheck::read(false, major).major, Some(true));
        assert_eq!(
            SemverCheck::read(false, "error: rustdoc failed").major,
            None
        );
    }

    #[test]
    fn findings_keep_errors_and_failures_with_context() {
        let log = "   Compiling a\nerror[E0063]: missing field `force`\n  --> src/request.rs:4:5\n\nwarning: x\ntest a::b ... ok\ntest c::d ... FAILED\n---- c::d stdout ----\nthread 'c::d' panicked at x.rs:1:1:\nboom\n";
        let f = first_findings(log, 60);
        assert!(f.contains("missing field `force`"), "{f}");
        assert!(f.contains("src/request.rs:4:5"), "{f}");
        assert!(f.contains("test c::d ... FAILED"), "{f}");
        assert!(f.contains("panicked at"), "{f}");
        assert!(!f.contains("Compiling"), "{f}");
        assert!(!f.contains("test a::b ... ok"), "{f}");
        let capped = first_findings(&"error: x\n".repeat(100), 5);
        assert_eq!(capped.lines().count(), 6, "{capped}");
        assert_eq!(first_findings("a\nb\nc", 2), "b\nc");
    }
}
