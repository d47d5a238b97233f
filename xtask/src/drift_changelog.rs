//! The spec-drift job's version move and `CHANGELOG.md` entry, by the policy in
//! CONTRIBUTING.md ("Versions and releases").

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};

use crate::drift_report::Job;
use crate::{markdown, spec, version};

/// Cloudflare's `info.version` in the fragment, or "".
pub fn api_version(root: &Path) -> Result<String> {
    let (_, fragment) = spec::load_fragment(root)?;
    Ok(fragment
        .doc
        .pointer("/info/version")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_string())
}

/// Moves the version and writes the changelog entry.
pub fn bump(root: &Path, job: &Job) -> Result<(String, String)> {
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
            "- {}: {}: {}",
            c.class,
            markdown::inline_code(&c.pointer),
            markdown::markdown_text(&c.message)
        );
    }
    files.push((log_path, version::changelog(&log, &old, &new, &entry)?));
    spec::write_all_or_nothing(&files)?;
    Ok((old, new))
}
