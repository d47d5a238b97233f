//! `cargo xtask update <PATH|URL>`: take Cloudflare's document (from disk, or
//! downloaded), extract, diff against the committed fragment, regenerate, and say which
//! snapshots the reviewer will have to look at. Everything is computed first; the tree
//! is written only when all of it succeeded, and not at all when nothing in scope moved.

use std::path::Path;

use anyhow::Result;

use crate::extract::{self, Plan, Source};
use crate::report::Report;
use crate::{diff, fetch, generate, rust_api, spec, surface};

/// What an update did, for printing.
#[derive(Debug)]
pub struct Updated {
    /// The diff of the committed fragment against the new one.
    pub report: Report,
    /// Text telling which snapshots move and why.
    pub snapshots: String,
    /// Whether any file was written (false: upstream changed nothing in scope).
    pub written: bool,
    /// Where the document came from, as given.
    pub source: String,
    /// The upstream commit recorded.
    pub commit: String,
    /// sha256 of the fragment now in `openapi/`: the same in-scope API text gives the
    /// same value, whatever else moved upstream.
    pub fragment_sha256: String,
}

/// Runs the update below `root` from a local file.
pub fn run(
    root: &Path,
    upstream: &Path,
    operations: &[String],
    commit: Option<&str>,
) -> Result<Updated> {
    let document = extract::load_document(upstream)?;
    let name = upstream.display().to_string();
    fetch::check_openapi(&document.doc, &name)?;
    let from = Source {
        commit: commit.map(str::to_string),
        url: None,
    };
    apply(root, &document, operations, &from, name)
}

/// Runs the update below `root` from a URL (`https://`, or `http://` to loopback): the
/// commit is `commit`, else the one a pinned raw URL names.
pub fn run_url(
    root: &Path,
    url: &str,
    operations: &[String],
    commit: Option<&str>,
    limits: fetch::Limits,
) -> Result<Updated> {
    let bytes = fetch::download(url, limits)?;
    let document = extract::parse_document(&bytes, url)?;
    fetch::check_openapi(&document.doc, url)?;
    let from = Source {
        commit: commit
            .map(str::to_string)
            .or_else(|| fetch::commit_from_url(url)),
        url: Some(url.to_string()),
    };
    apply(root, &document, operations, &from, url.to_string())
}

fn apply(
    root: &Path,
    document: &extract::Document,
    operations: &[String],
    from: &Source,
    source: String,
) -> Result<Updated> {
    let plan = Plan::new(root, document, operations, from)?;
    let commit = plan.provenance.upstream.commit.clone();
    let fragment_sha256 = plan.provenance.fragment_sha256.clone();
    if plan.is_unchanged() {
        return Ok(Updated {
            report: Report::default(),
            snapshots: "no snapshot should change.\n".to_string(),
            written: false,
            source,
            commit: plan.previous_provenance.upstream.commit,
            fragment_sha256: plan.previous.sha256,
        });
    }
    let before_code = generate::render_auto(&plan.previous).ok();
    let after_code = generate::render_auto(&plan.new_fragment())?;
    // Judged by effect: the Rust API of both sides beside the JSON. The committed code
    // is the old side's surface when the old fragment no longer generates (an xtask
    // change), so that a drift is never judged against nothing.
    let before_surface = before_code
        .as_deref()
        .map(rust_api::Surface::of)
        .transpose()?
        .or_else(|| {
            std::fs::read_to_string(root.join(generate::GENERATED_FILE))
                .ok()
                .and_then(|code| rust_api::Surface::of(&code).ok())
        })
        .unwrap_or_default();
    let report = diff::judge(
        &plan.previous.doc,
        &plan.fragment,
        &plan.previous_provenance.operations,
        &before_surface,
        &rust_api::Surface::of(&after_code)?,
    )?;
    let snapshots = snapshots(&plan, before_code.as_deref(), &after_code)?;
    let mut files = plan.files(root)?;
    files.push((root.join(generate::GENERATED_FILE), after_code));
    spec::write_all_or_nothing(&files)?;
    Ok(Updated {
        report,
        snapshots,
        written: true,
        source,
        commit,
        fragment_sha256,
    })
}

/// Which snapshots will move, and why.
fn snapshots(plan: &Plan, before_code: Option<&str>, after_code: &str) -> Result<String> {
    let mut out = String::new();
    let old_surface = surface::summary(&plan.previous.doc).unwrap_or_default();
    let new_surface = surface::summary(&plan.fragment)?;
    if old_surface != new_surface {
        out.push_str(
            "tests/snapshots/suites__codegen__api_surface.snap will change; these lines move:\n",
        );
        for change in similar::TextDiff::from_lines(&old_surface, &new_surface).iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => continue,
            };
            out.push_str(&format!("  {sign} {}", change.value()));
        }
    }
    let strip_banner = |code: &str| code.lines().skip(1).collect::<Vec<_>>().join("\n");
    if before_code.map(strip_banner) != Some(strip_banner(after_code)) {
        out.push_str(&format!(
            "{} changed beyond its banner: tests/snapshots/suites__codegen__response_type_schemas.snap may change,\n  \
             and the ergonomic crate may need to follow (cargo build -p cloudflare-mcp-sync).\n",
            generate::GENERATED_FILE
        ));
    }
    if out.is_empty() {
        out.push_str("no snapshot should change.\n");
    } else {
        out.push_str("Review with: cargo test --workspace --test suites codegen::, then cargo insta review (or INSTA_UPDATE=always and read git diff).\n");
    }
    Ok(out)
}
