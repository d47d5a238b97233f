//! `cargo xtask spec-drift <PATH|URL>`: every step of the weekly spec-drift job that
//! changes the tree or judges it, in one place, so that the workflow and its rehearsal
//! (`cargo xtask rehearse-drift`) run the same code. The workflow adds only git and gh.
//!
//! The steps: `update` (extract, diff, regenerate); refresh the insta snapshots the
//! change moves (accepted into the tree, for review in the pull request; a build failure
//! is the verdict, never hidden); move the version and `CHANGELOG.md` by the policy in
//! CONTRIBUTING.md; `cargo semver-checks` where it is installed; then the test command
//! on the updated tree, whose verdict (green, or the first errors) goes into the report.

use std::path::{Path, PathBuf};

use anyhow::Result;

use crate::drift_changelog::{api_version, bump};
pub use crate::drift_judge::{TEST_THREADS, Verdict, VerdictBy};
use crate::drift_judge::{judge, refresh_snapshots};
pub use crate::drift_outputs::{Files, write_failure, write_files};
pub use crate::drift_report::Job;
pub use crate::drift_semver::SemverCheck;
use crate::drift_semver::semver_checks;
pub use crate::findings::first_findings;
use crate::{fetch, update};

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
    job.semver = semver_checks(root, options.target_dir.as_deref());
    job.version = Some(bump(root, &job)?);
    let refresh = refresh_snapshots(root, options.target_dir.as_deref())?;
    job.snapshots = refresh.0;
    if let Some(red) = refresh.1 {
        job.verdict = red;
        return Ok(job);
    }
    job.verdict = judge(root, options.verdict, options.target_dir.as_deref())?;
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Class;

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
