//! `cargo xtask rehearse-drift`: replays the spec-drift job (`drift::run`, the code the
//! workflow runs) in a scratch copy of this workspace, once per kind of upstream change,
//! against a document served on 127.0.0.1, and checks the outcome a maintainer relies
//! on: every non-breaking change gives a green tree with the right label and version,
//! a breaking one a red tree.
//!
//! The upstream documents are derived from the committed fragment, never from a
//! hand-kept copy: the fragment is read through the one `$ref` resolver (so its form
//! does not matter), changed, and written back the way Cloudflare writes it, with
//! `$ref`s into `components` ([`upstream_style`]).

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::drift::{self, Verdict, VerdictBy};
pub use crate::rehearse_cases::{Case, FORMATS, cases};
use crate::rehearse_cases::{UNCHANGED, format_types, formats_prefix};
pub use crate::rehearse_outcome::{Outcome, summary};
pub use crate::rehearse_scratch::forget_scratch_builds;
use crate::rehearse_scratch::{copy_workspace, mark_released, scratch, target_dir};
use crate::rehearse_upstream::Upstream;
pub use crate::rehearse_upstream::{resolved, upstream_style};
use crate::{fetch, spec};

/// Runs the cases named in `only` (all when empty) in one scratch copy of `root`
/// (reset before each, at one path so that cargo reuses what did not change).
pub fn run(root: &Path, only: &[String], verdict: VerdictBy) -> Result<Vec<Outcome>> {
    let all = cases();
    for name in only {
        if !all.iter().any(|c| c.name == name) {
            let names: Vec<&str> = all.iter().map(|c| c.name).collect();
            bail!(
                "no rehearsal case {name:?}; the cases are {}",
                names.join(", ")
            );
        }
    }
    let base = resolved(root)?;
    let mut outcomes = Vec::new();
    for case in all
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|n| n == c.name))
    {
        announce(&case);
        outcomes.push(match changed(&base, &[&case])? {
            Err(why) => skipped_case(case.name, why),
            Ok((doc, formats)) => {
                let job = job_on(root, &doc, verdict, &target_dir(root), true)
                    .with_context(|| format!("rehearsal {}: the job failed", case.name))?;
                judge_case(&case, &job, &scratch(root), verdict, formats.as_deref())
            }
        });
    }
    Ok(outcomes)
}

/// The name of the case CI builds for every change that must stay green, made together.
pub const EVERY_GREEN: &str = "every-green-change";

/// What CI replays, with as few builds as prove it: every case's label, version and
/// changelog without a build; then the test command's verdict once for every green
/// change made together (if the union passes untouched, so does each part) and once
/// for each breaking change alone (each must fail for its own reason). The scratch
/// copy builds in `target_dir`, sharing the workspace's compiled dependencies; see
/// [`forget_scratch_builds`] for what that asks of the caller.
pub fn run_ci(root: &Path, target_dir: &Path) -> Result<Vec<Outcome>> {
    let all = cases();
    let base = resolved(root)?;
    let mut outcomes = Vec::new();
    for case in &all {
        eprintln!("==> rehearsal (label and version): {}", case.name);
        outcomes.push(match changed(&base, &[case])? {
            Err(why) => skipped_case(case.name, why),
            Ok((doc, formats)) => {
                let job = job_on(root, &doc, VerdictBy::None, target_dir, false)
                    .with_context(|| format!("rehearsal {}: the job failed", case.name))?;
                judge_case(
                    case,
                    &job,
                    &scratch(root),
                    VerdictBy::None,
                    formats.as_deref(),
                )
            }
        });
    }
    let green: Vec<&Case> = all.iter().filter(|c| c.green).collect();
    let together = Case {
        name: EVERY_GREEN,
        class: green
            .iter()
            .map(|c| c.class)
            .max_by_key(|c| class_rank(c))
            .unwrap_or("respelled"),
        green: true,
        change: |_| Ok(()),
    };
    let built: Vec<(&Case, Vec<&Case>)> = std::iter::once((&together, green))
        .chain(all.iter().filter(|c| !c.green).map(|c| (c, vec![c])))
        .collect();
    for (case, changes) in built {
        announce(case);
        outcomes.push(match changed(&base, &changes)? {
            Err(why) => skipped_case(case.name, why),
            Ok((doc, formats)) => {
                let job = job_on(root, &doc, VerdictBy::Tests, target_dir, true)
                    .with_context(|| format!("rehearsal {}: the job failed", case.name))?;
                judge_case(
                    case,
                    &job,
                    &scratch(root),
                    VerdictBy::Tests,
                    formats.as_deref(),
                )
            }
        });
    }
    Ok(outcomes)
}

/// `unchanged` < `respelled` < `cosmetic` < `additive` < `needs-attention` < `breaking`.
fn class_rank(class: &str) -> usize {
    [
        UNCHANGED,
        "respelled",
        "cosmetic",
        "additive",
        "needs-attention",
        "breaking",
    ]
    .iter()
    .position(|c| *c == class)
    .unwrap_or(usize::MAX)
}

fn announce(case: &Case) {
    eprintln!(
        "==> rehearsal: {} (expect {}, {})",
        case.name,
        case.class,
        if case.green { "green" } else { "red" }
    );
}

fn skipped_case(name: &'static str, why: String) -> Outcome {
    eprintln!("    skipped: {why}");
    Outcome::skipped(name, why)
}

/// `base` with each of `changes` made to the sync operation, in order, and the prefix
/// of the `formats` case's fields when it is among them; `Err` says why a change cannot
/// be made to this operation.
fn changed(base: &Value, changes: &[&Case]) -> Result<Result<(Value, Option<String>), String>> {
    let mut doc = base.clone();
    let op = doc
        .pointer_mut(&sync_op_pointer(base)?)
        .context("the sync operation")?;
    let mut formats = None;
    for case in changes {
        if case.name == "formats" {
            formats = formats_prefix(&mut op.clone()).ok();
        }
        if let Err(why) = (case.change)(op) {
            return Ok(Err(format!("{}: {why}", case.name)));
        }
    }
    Ok(Ok((doc, formats)))
}

/// Copies the workspace to the scratch path, serves `doc` upstream-style on 127.0.0.1,
/// and runs the drift job on the copy (with its builds, or only what needs none).
fn job_on(
    root: &Path,
    doc: &Value,
    verdict: VerdictBy,
    target_dir: &Path,
    build: bool,
) -> Result<drift::Job> {
    let scratch = scratch(root);
    copy_workspace(root, &scratch)?;
    mark_released(&scratch)?;
    let body = serde_json::to_vec_pretty(&upstream_style(doc))?;
    let upstream = Upstream::start(body)?;
    let options = drift::Options {
        source: upstream.url.clone(),
        commit: None,
        limits: fetch::Limits::default(),
        verdict,
        target_dir: Some(target_dir.to_path_buf()),
    };
    if build {
        drift::run(&scratch, &options)
    } else {
        drift::run_without_builds(&scratch, &options)
    }
}

fn sync_op_pointer(doc: &Value) -> Result<String> {
    let ops = spec::operations(doc);
    let [op] = ops.as_slice() else {
        bail!(
            "the fragment holds {} operations; the rehearsal changes one",
            ops.len()
        );
    };
    Ok(format!("/paths/{}/{}", spec::escape(op.path), op.method))
}

fn judge_case(
    case: &Case,
    job: &drift::Job,
    scratch: &Path,
    by: VerdictBy,
    formats: Option<&str>,
) -> Outcome {
    let mut problems = Vec::new();
    if case.class == UNCHANGED {
        return unchanged_case(case, job);
    }
    if !job.updated.written {
        problems.push("the job saw no change".to_string());
    }
    let class = job.class_word();
    if class != case.class {
        problems.push(format!("labelled {class}, expected {}", case.class));
    }
    let outputs = job.outputs();
    if !outputs.contains(&format!("class={}\n", case.class)) {
        problems.push(format!("outputs lack class={}: {outputs}", case.class));
    }
    match (&job.verdict, case.green, by) {
        (_, _, VerdictBy::None) | (Verdict::Green, true, _) | (Verdict::Red { .. }, false, _) => {}
        (seen, _, _) => problems.push(format!(
            "verdict {}, expected {}{}",
            seen.word(),
            if case.green { "green" } else { "red" },
            match seen {
                Verdict::Red { command, excerpt } => format!(" ({command}):\n{excerpt}"),
                _ => String::new(),
            }
        )),
    }
    match &job.version {
        Some((old, new)) if old != new => {
            let log = std::fs::read_to_string(scratch.join("CHANGELOG.md")).unwrap_or_default();
            if !log.contains("### Spec drift: api-schemas `0123456`") {
                problems.push("CHANGELOG.md has no entry".to_string());
            }
        }
        _ => problems.push("the version did not move".to_string()),
    }
    if let Some(prefix) = formats {
        problems.extend(format_types(scratch, prefix));
    }
    let body = job.to_markdown();
    if !body.contains(&format!("**{}**", job.verdict.word())) && by != VerdictBy::None {
        problems.push("the report does not state the verdict".to_string());
    }
    if case.name == "status-value" && !body.contains("name each new status value") {
        problems.push("the report does not ask for the new value to be named".to_string());
    }
    Outcome {
        skipped: None,
        name: case.name,
        class: (case.class, class),
        verdict: (case.green, job.verdict.clone()),
        version: job.version.clone(),
        problems,
    }
}

/// A case that must be no change at all: nothing written, no version, `changed=false`.
fn unchanged_case(case: &Case, job: &drift::Job) -> Outcome {
    let mut problems = Vec::new();
    if job.updated.written {
        problems.push("the job wrote the tree for a change with no effect".to_string());
    }
    let outputs = job.outputs();
    if !outputs.contains("changed=false\n") {
        problems.push(format!("outputs lack changed=false: {outputs}"));
    }
    if job.version.as_ref().is_some_and(|(old, new)| old != new) {
        problems.push("the version moved".to_string());
    }
    Outcome {
        skipped: None,
        name: case.name,
        class: (case.class, UNCHANGED.to_string()),
        verdict: (case.green, job.verdict.clone()),
        version: job.version.clone(),
        problems,
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn every_case_finds_what_it_changes_and_only_respelled_changes_nothing() {
        // The cases use names no upstream document uses (`rehearsal_new…`, statuses
        // 498/499), so that each one changes the committed operation, even in the tree
        // of a drift pull request or of a rehearsal.
        let doc = resolved(&root()).unwrap();
        let pointer = sync_op_pointer(&doc).unwrap();
        let mut names = Vec::new();
        for case in cases() {
            let mut changed = doc.clone();
            (case.change)(changed.pointer_mut(&pointer).unwrap())
                .unwrap_or_else(|why| panic!("{}: {why}", case.name));
            assert_eq!(changed == doc, case.name == "respelled", "{}", case.name);
            assert!(!names.contains(&case.name), "{} twice", case.name);
            names.push(case.name);
        }
        let breaking = cases().iter().filter(|c| !c.green).count();
        assert!(breaking >= 1 && breaking < names.len());
    }
}
