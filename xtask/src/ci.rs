//! `cargo xtask ci`: the one test command. It runs, in order and stopping at the first
//! failure, every check a change must pass; each step prints the command that reproduces it.

use std::process::Command;

use anyhow::{Result, bail};

use crate::{generate, spec};

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
    Step {
        label: "tests",
        args: &["test", "--workspace", "--locked"],
        env: &[],
    },
];

/// The example, run as a new user would: nothing configured, so it syncs against its
/// embedded mock. (arguments, expected exit code)
const EXAMPLE_RUNS: [(&[&str], i32); 2] = [
    (
        &[
            "my-mcp-server",
            "--account-id",
            "023e105f4ecef8ad9ca31a8372d0c353",
        ],
        0,
    ),
    (
        &[
            "Not-Valid",
            "--account-id",
            "023e105f4ecef8ad9ca31a8372d0c353",
        ],
        2,
    ),
];

/// Runs the `sync` example with no credentials in its environment and checks its exit
/// codes.
fn example_smoke(cargo: &str, root: &std::path::Path) -> Result<()> {
    for (args, expected) in EXAMPLE_RUNS {
        let shown = format!(
            "cargo run -q -p cloudflare-mcp-sync --example sync -- {}",
            args.join(" ")
        );
        eprintln!("==> example: {shown} (expect exit {expected})");
        let status = Command::new(cargo)
            .args([
                "run",
                "-q",
                "--locked",
                "-p",
                "cloudflare-mcp-sync",
                "--example",
                "sync",
                "--",
            ])
            .args(args)
            .env_remove("CLOUDFLARE_API_TOKEN")
            .env_remove("CLOUDFLARE_EMAIL")
            .env_remove("CLOUDFLARE_API_KEY")
            .env_remove("CLOUDFLARE_BASE_URL")
            .current_dir(root)
            .status()?;
        if status.code() != Some(expected) {
            bail!(
                "step 'example' failed: exit {status}, expected {expected}; rerun it with: {shown}"
            );
        }
    }
    Ok(())
}

/// Runs every check; the error names the failed step and how to rerun it.
pub fn run() -> Result<()> {
    let root = spec::workspace_root();
    eprintln!("==> generated code matches openapi/: cargo xtask generate --check");
    generate::check(&root)?;
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    for step in &STEPS {
        let shown = format!(
            "{}cargo {}",
            step.env
                .iter()
                .map(|(k, v)| format!("{k}='{v}' "))
                .collect::<String>(),
            step.args.join(" ")
        );
        if step.label == "tests" {
            example_smoke(&cargo, &root)?;
        }
        eprintln!("==> {}: {shown}", step.label);
        let mut command = Command::new(&cargo);
        command
            .args(step.args)
            .envs(step.env.iter().copied())
            .current_dir(&root);
        let counts_tests = step.label == "tests";
        let (status, tally) = if counts_tests {
            run_counting(&mut command)?
        } else {
            (command.status()?, Tally::default())
        };
        if !status.success() {
            bail!(
                "step '{}' failed ({status}); rerun it with: {shown}",
                step.label
            );
        }
        if counts_tests {
            if tally.passed == 0 {
                bail!("step 'tests' ran no test");
            }
            // One plain closing line for whoever reads the log's end.
            println!(
                "tests: {} passed, {} failed, {} ignored",
                tally.passed, tally.failed, tally.ignored
            );
        }
    }
    Ok(())
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
