//! `cargo xtask ci`: the one test command. It runs, in order and stopping at the first
//! failure, every check a change must pass; each step prints the command that reproduces it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use anyhow::{Result, bail};

use crate::command::stdout_of;
use crate::dependency_policy::dependency_policy;
pub use crate::dependency_policy::{
    DENY, cargo_deny_install, cargo_deny_version, check_cargo_deny_version,
};
use crate::{drift, packaged, rehearse, spec};

/// The target directory, inside the workspace's, of the checks of the library alone
/// and of generated copies: this step's, the seam suite's and the corpus test's.
pub const SCRATCH_CHECK: &str = "scratch-check";

/// `scratch-check` in the target directory the running test binary was built in
/// (`<target>/<profile>/deps/<test>`): where the seam suite, the corpus test and the
/// codegen tests check their scratch crates.
pub fn scratch_check_of_this_test() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    exe.ancestors()
        .nth(3)
        .unwrap_or_else(|| Path::new("target"))
        .join(SCRATCH_CHECK)
}

/// One external step: a label, the cargo arguments, extra environment.
struct Step {
    label: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const STEPS: [Step; 4] = [
    Step {
        label: "format",
        args: &["fmt", "--all", "--check"],
        env: &[],
    },
    Step {
        label: "lint",
        args: &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--locked",
            // Diagnostics rendered as usual; the artifacts' JSON names the dep-info
            // files the package step reads.
            "--message-format=json-render-diagnostics",
            "--",
            "-D",
            "warnings",
        ],
        env: &[],
    },
    Step {
        label: "docs",
        args: &["doc", "--workspace", "--no-deps", "--locked"],
        env: &[("RUSTDOCFLAGS", "-D warnings")],
    },
    // The published crates as crates.io would receive them: the manifests here (a
    // version on every path dependency); then (`check_packages`) the library and the
    // command each compiled alone, with only their own features, and each package
    // holding every file its build read, from the lint step's dep-info (`packaged.rs`).
    // Uncommitted changes are packaged as they are.
    Step {
        label: "package",
        args: &[
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "workspace-tests",
            "--exclude",
            "library-benches",
            "--no-verify",
            "--locked",
            "--allow-dirty",
        ],
        env: &[],
    },
];

/// The test step: before the rehearsal, which reuses what it built.
const TESTS: Step = Step {
    label: "tests",
    args: &["test", "--workspace", "--locked"],
    env: &[("RUST_TEST_THREADS", drift::TEST_THREADS)],
};

/// The dep-info files of every target of each published package, gathered from the
/// lint step's JSON.
type DepInfos = BTreeMap<&'static str, BTreeSet<PathBuf>>;

/// Runs the lint step with its JSON on a pipe: diagnostics reach stderr rendered as
/// usual; each published package's dep-info files are kept for the package step.
fn run_linting(command: &mut Command, root: &Path) -> Result<(std::process::ExitStatus, DepInfos)> {
    use std::io::{BufRead, BufReader};
    let mut child = command.stdout(std::process::Stdio::piped()).spawn()?;
    let mut found = DepInfos::new();
    if let Some(out) = child.stdout.take() {
        // Read to the end whatever comes: the child must not be left writing to a
        // closed pipe, and its exit status is the step's verdict.
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some((name, file)) = packaged::artifact_dep_info(&line, root) {
                found.entry(name).or_default().insert(file);
            }
        }
    }
    Ok((child.wait()?, found))
}

/// After `cargo package --no-verify`: the library and the command each compile alone,
/// with only the features they declare (the lint step's compile has the whole
/// workspace's, tests' included), the library taking the generated crate without its
/// `client` feature as every crate that depends on it does; and each published package
/// holds every file its targets' compiles read. The generated crate with its default
/// `client` is the lint step's (with `schemars` beside it): checking it alone as well
/// rebuilt the stack with a third set of features, 14 s for no other code.
fn check_packages(cargo: &str, root: &Path, dep_infos: &DepInfos) -> Result<()> {
    let target = cargo_target_dir(cargo, root)?;
    check_library_alone(cargo, root, &target.join(SCRATCH_CHECK))?;
    let alone = ["check", "--locked", "-p", "cf-mcp-sync"];
    run_package_command(
        cargo,
        root,
        &alone,
        "cf-mcp-sync does not compile alone, with its own features",
    )?;
    let read = packaged::read_sources(dep_infos)?;
    let mut problems = Vec::new();
    for (name, dir) in packaged::PUBLISHED {
        let Some(read) = read.get(name) else {
            bail!("step 'package' failed: the lint step compiled nothing of {name}");
        };
        let listed = stdout_of(
            Command::new(cargo)
                .args(["package", "--list", "--locked", "--allow-dirty", "-p", name])
                .current_dir(root),
            &format!("step 'package': cargo package --list -p {name}"),
        )?;
        let listed = listed.lines().map(str::to_string).collect();
        problems.extend(packaged::misses(root, &target, dir, &listed, read));
    }
    if !problems.is_empty() {
        bail!(
            "step 'package' failed: a published crate would not build from its package:\n{}",
            problems.join("\n")
        );
    }
    Ok(())
}

/// `cargo check -p cloudflare-mcp-sync` alone, in `scratch`: the package step's, in the
/// directory where the seam suite (`tests/seam.rs`) checks its scratch copies of the
/// library alone, on the same dependencies with the same features, so that the seam
/// starts warm. Those copies sit at the same paths inside their workspace as the crates
/// here do, so cargo gives them the same artifacts and judges them by file times alone:
/// what a seam case built (a drifted spec's crates) would pass for this tree's. The
/// workspace's two crates are cleaned from `scratch` first; only dependencies are shared.
pub fn check_library_alone(cargo: &str, root: &Path, scratch: &Path) -> Result<()> {
    let scratch = scratch.display().to_string();
    let clean = [
        "clean",
        "--quiet",
        "--locked",
        "-p",
        "cloudflare-mcp-sync",
        "-p",
        "cloudflare-mcp-sync-generated",
        "--target-dir",
        &scratch,
    ];
    run_package_command(
        cargo,
        root,
        &clean,
        "cleaning the workspace's crates from the scratch build",
    )?;
    let check = [
        "check",
        "--locked",
        "-p",
        "cloudflare-mcp-sync",
        "--target-dir",
        &scratch,
    ];
    run_package_command(
        cargo,
        root,
        &check,
        "cloudflare-mcp-sync does not compile alone, with its own features",
    )
}

/// Runs one cargo command of the package step, announced; the error says what failed
/// and how to rerun it (an argument with a space quoted).
fn run_package_command(cargo: &str, root: &Path, args: &[&str], what: &str) -> Result<()> {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.contains(char::is_whitespace) {
                format!("'{a}'")
            } else {
                a.to_string()
            }
        })
        .collect();
    let shown = shown.join(" ");
    eprintln!("==> package: cargo {shown}");
    let status = Command::new(cargo).args(args).current_dir(root).status()?;
    if !status.success() {
        bail!("step 'package' failed: {what} ({status}); rerun it with: cargo {shown}");
    }
    Ok(())
}

/// Where cargo builds, as cargo itself resolves it (`CARGO_TARGET_DIR`,
/// `CARGO_BUILD_TARGET_DIR`, `build.target-dir`, relative or not).
fn cargo_target_dir(cargo: &str, root: &Path) -> Result<PathBuf> {
    let metadata = stdout_of(
        Command::new(cargo)
            .args(["metadata", "--format-version", "1", "--no-deps", "--locked"])
            .current_dir(root),
        "cargo metadata",
    )?;
    let metadata: serde_json::Value = serde_json::from_str(&metadata)?;
    match metadata["target_directory"].as_str() {
        Some(dir) => Ok(PathBuf::from(dir)),
        None => bail!("cargo metadata names no target_directory"),
    }
}

/// The weekly spec-drift job, replayed per kind of upstream change: every non-breaking
/// one must leave a green tree, every breaking one a red tree. The scratch copy builds
/// in the workspace's target directory (its dependencies are compiled already), and
/// what it built of the workspace's own packages is removed afterwards.
fn rehearsal(cargo: &str, root: &Path) -> Result<()> {
    eprintln!(
        "==> spec-drift rehearsal: labels of every case, then the test command on every green change together and on each breaking change (cargo xtask rehearse-drift runs each case in full)"
    );
    let target = cargo_target_dir(cargo, root)?;
    let outcomes = rehearse::run_ci(root, &target);
    let forgotten = rehearse::forget_scratch_builds(root, &target);
    let (table, ok) = rehearse::summary(&outcomes?);
    forgotten?;
    eprint!("{table}");
    if !ok {
        bail!(
            "step 'spec-drift rehearsal' failed (above); rerun it with: cargo xtask rehearse-drift"
        );
    }
    Ok(())
}

/// Runs every check; the error names the failed step and how to rerun it.
pub fn run() -> Result<()> {
    let root = spec::workspace_root();
    // `generate --check` and actionlint are tests (tests/codegen.rs, tests/workflows.rs):
    // the test step runs them, once.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut dep_infos = DepInfos::new();
    for step in &STEPS {
        let (mut command, shown) = step.command(&cargo, &root);
        let started = Instant::now();
        let status = if step.label == "lint" {
            let (status, found) = run_linting(&mut command, &root)?;
            dep_infos = found;
            status
        } else {
            command.status()?
        };
        if !status.success() {
            bail!(
                "step '{}' failed ({status}); rerun it with: {shown}",
                step.label
            );
        }
        if step.label == "package" {
            check_packages(&cargo, &root, &dep_infos)?;
        }
        took(step.label, started);
    }
    let started = Instant::now();
    dependency_policy(&cargo, &root)?;
    took("dependency policy", started);
    let (mut command, shown) = TESTS.command(&cargo, &root);
    let started = Instant::now();
    let (status, tally) = run_counting(&mut command)?;
    took(TESTS.label, started);
    if !status.success() {
        bail!("step 'tests' failed ({status}); rerun it with: {shown}");
    }
    if tally.passed == 0 {
        bail!("step 'tests' ran no test");
    }
    // Last: it needs the workspace's tests to have built the dependencies it shares.
    let started = Instant::now();
    rehearsal(&cargo, &root)?;
    took("spec-drift rehearsal", started);
    // One plain closing line for whoever reads the log's end.
    println!(
        "tests: {} passed, {} failed, {} ignored",
        tally.passed, tally.failed, tally.ignored
    );
    Ok(())
}

impl Step {
    /// The command, announced on stderr, and how to rerun it by hand.
    fn command(&self, cargo: &str, root: &Path) -> (Command, String) {
        let env: String = self
            .env
            .iter()
            .map(|(k, v)| format!("{k}='{v}' "))
            .collect();
        let shown = format!("{env}cargo {}", self.args.join(" "));
        eprintln!("==> {}: {shown}", self.label);
        let mut command = Command::new(cargo);
        command
            .args(self.args)
            .envs(self.env.iter().copied())
            .current_dir(root);
        (command, shown)
    }
}

/// Says how long a step took, so that a slow CI log shows where its minutes went.
fn took(label: &str, started: Instant) {
    eprintln!("<== {label}: {:.0}s", started.elapsed().as_secs_f64());
}

/// Totals over every `test result:` line cargo test prints.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed.
    pub failed: u64,
    /// Tests marked ignored.
    pub ignored: u64,
}

impl Tally {
    /// Adds one `test result: ok. 3 passed; 0 failed; 1 ignored; ...` line.
    pub fn add_line(&mut self, line: &str) {
        let Some(rest) = line.trim().strip_prefix("test result: ") else {
            return;
        };
        for part in rest.split(';') {
            let mut words = part.split_whitespace().rev();
            let (Some(kind), Some(n)) = (words.next(), words.next()) else {
                continue;
            };
            let Ok(n) = n.parse::<u64>() else { continue };
            match kind {
                "passed" => self.passed += n,
                "failed" => self.failed += n,
                "ignored" => self.ignored += n,
                _ => {}
            }
        }
    }
}

/// Runs `command` echoing its stdout, and counts the tests it reports.
fn run_counting(command: &mut Command) -> Result<(std::process::ExitStatus, Tally)> {
    use std::io::{BufRead, BufReader};
    let mut child = command.stdout(std::process::Stdio::piped()).spawn()?;
    let mut tally = Tally::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines() {
            let line = line?;
            println!("{line}");
            tally.add_line(&line);
        }
    }
    Ok((child.wait()?, tally))
}

#[cfg(test)]
mod tests {
    use super::{Tally, cargo_deny_version, check_cargo_deny_version, check_library_alone};

    /// Found by attack: the seam suite's drifted builds of the workspace's crates, in the
    /// scratch directory, passed for this tree's (same artifacts, newer files), so a second
    /// `cargo xtask ci` failed. The workspace's crates are cleaned from it before the
    /// check, in that order, both in that directory (a cargo that records its arguments).
    #[cfg(unix)]
    #[test]
    fn the_library_is_checked_alone_after_cleaning_the_workspace_s_crates_from_scratch() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("calls");
        let cargo = dir.path().join("cargo");
        std::fs::write(
            &cargo,
            format!("#!/bin/sh\necho \"$*\" >> '{}'\n", log.display()),
        )
        .expect("write the stand-in");
        std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let scratch = dir.path().join("target dir/scratch-check");
        check_library_alone(cargo.to_str().expect("utf-8"), dir.path(), &scratch)
            .expect("the stand-in succeeds");
        let calls = std::fs::read_to_string(&log).expect("calls");
        let at = scratch.display();
        assert_eq!(
            calls.lines().collect::<Vec<_>>(),
            [
                format!(
                    "clean --quiet --locked -p cloudflare-mcp-sync -p cloudflare-mcp-sync-generated --target-dir {at}"
                ),
                format!("check --locked -p cloudflare-mcp-sync --target-dir {at}"),
            ]
        );
    }

    #[test]
    fn a_missing_or_other_cargo_deny_is_refused_naming_the_install_command() {
        let wanted = cargo_deny_version();
        assert!(
            wanted.split('.').count() == 3 && wanted.split('.').all(|n| n.parse::<u32>().is_ok()),
            "{wanted:?}"
        );
        let install = format!("cargo install --locked cargo-deny --version {wanted}");
        check_cargo_deny_version(Some(&format!("cargo-deny {wanted}\n"))).unwrap();
        let missing = check_cargo_deny_version(None).unwrap_err().to_string();
        assert!(missing.contains("cargo-deny is not installed"), "{missing}");
        assert!(missing.ends_with(&install), "{missing}");
        let other = check_cargo_deny_version(Some("cargo-deny 0.14.0"))
            .unwrap_err()
            .to_string();
        assert!(
            other.contains("\"cargo-deny 0.14.0\" is installed"),
            "{other}"
        );
        assert!(other.ends_with(&install), "{other}");
    }

    #[test]
    fn tally_sums_result_lines_and_ignores_the_rest() {
        let mut t = Tally::default();
        t.add_line("test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.09s");
        t.add_line(
            "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out",
        );
        t.add_line("running 5 tests");
        assert_eq!(
            t,
            Tally {
                passed: 15,
                failed: 2,
                ignored: 1
            }
        );
    }
}
