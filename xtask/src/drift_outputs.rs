//! Where the spec-drift job leaves its results for the workflow: the Markdown report
//! file and the `key=value` lines of `$GITHUB_OUTPUT`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::drift_report::Job;
use crate::markdown;

impl Job {
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
            markdown::fence_safe(&format!("{error:#}"))
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
