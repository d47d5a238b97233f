//! `cargo xtask update <UPSTREAM_SPEC>`: extract, diff against the committed fragment,
//! regenerate, and say which snapshots the reviewer will have to look at.

use std::path::Path;

use anyhow::Result;

use crate::{diff, extract, generate, surface};

/// What an update did, for printing.
pub struct Updated {
    /// The diff of the committed fragment against the new one.
    pub report: diff::Report,
    /// Text telling which snapshots move and why.
    pub snapshots: String,
}

/// Runs the update below `root`.
pub fn run(
    root: &Path,
    upstream: &Path,
    operations: &[String],
    commit: Option<&str>,
) -> Result<Updated> {
    let before_code = generate::render(root).ok();
    let extracted = extract::run(root, upstream, operations, commit)?;
    let report = diff::diff(
        &extracted.previous,
        &extracted.fragment,
        &extracted.operations,
    )?;
    generate::write(root)?;
    let after_code = generate::render(root)?;

    let mut snapshots = String::new();
    let old_surface = surface::summary(&extracted.previous).unwrap_or_default();
    let new_surface = surface::summary(&extracted.fragment)?;
    if old_surface != new_surface {
        snapshots
            .push_str("tests/snapshots/codegen__api_surface.snap will change; these lines move:\n");
        for change in similar::TextDiff::from_lines(&old_surface, &new_surface).iter_all_changes() {
            let sign = match change.tag() {
                similar::ChangeTag::Delete => "-",
                similar::ChangeTag::Insert => "+",
                similar::ChangeTag::Equal => continue,
            };
            snapshots.push_str(&format!("  {sign} {}", change.value()));
        }
    }
    let strip_banner = |code: &str| code.lines().skip(1).collect::<Vec<_>>().join("\n");
    let code_moved = before_code.as_deref().map(strip_banner) != Some(strip_banner(&after_code));
    if code_moved {
        snapshots.push_str(&format!(
            "{} changed beyond its banner: tests/snapshots/codegen__response_type_schemas.snap may change,\n  \
             and the ergonomic crate may need to follow (cargo build -p cloudflare-mcp-sync).\n",
            generate::GENERATED_FILE
        ));
    }
    if snapshots.is_empty() {
        snapshots.push_str("no snapshot should change.\n");
    } else {
        snapshots.push_str("Review with: cargo test -p workspace-tests --test codegen, then cargo insta review (or INSTA_UPDATE=always and read git diff).\n");
    }
    Ok(Updated { report, snapshots })
}
