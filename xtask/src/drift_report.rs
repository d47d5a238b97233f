//! What the spec-drift job did ([`Job`]) and its report: the job summary and pull
//! request body, in Markdown.

use std::fmt::Write as _;

use crate::drift_judge::Verdict;
use crate::drift_semver::SemverCheck;
use crate::report::Class;
use crate::{markdown, update};

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
                    markdown::fence_safe(&s.excerpt)
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
                    markdown::fence_safe(excerpt)
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
