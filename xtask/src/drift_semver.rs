//! `cargo semver-checks` in the spec-drift job: run on the two library crates against
//! `HEAD` where it is installed, and its output read as a verdict or as the tool's own
//! failure.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::drift_judge::cargo;
use crate::findings::first_findings;

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

/// `cargo semver-checks` on the two library crates against `HEAD`, when installed and
/// `root` is a git checkout.
pub fn semver_checks(root: &Path, target_dir: Option<&Path>) -> Option<SemverCheck> {
    let installed = cargo(root, target_dir)
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
    let out = cargo(root, target_dir)
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
