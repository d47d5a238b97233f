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

const STEPS: [Step; 3] = [
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

/// One run of the `sync` example: environment, arguments, expected exit code, and a
/// text its stdout must contain.
struct ExampleRun<'a> {
    what: &'a str,
    env: Vec<(&'a str, &'a str)>,
    args: Vec<String>,
    exit: i32,
    stdout_has: &'a str,
}

/// Runs the `sync` example as users would: with nothing configured (embedded mock),
/// against Prism in both auth modes, and into each failure class, checking exit codes.
fn example_smoke(cargo: &str, root: &std::path::Path) -> Result<()> {
    const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
    let prov = spec::load_provenance(root)?;
    let prism = crate::prism::Prism::start(
        root,
        &spec::fragment_path(root, &prov),
        crate::prism::Mode::Static,
    )?;
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let closed = format!("http://127.0.0.1:{closed_port}");
    let args = |server: &str, base: Option<&str>| {
        let mut a = vec![
            server.to_string(),
            "--account-id".to_string(),
            ACCOUNT.to_string(),
        ];
        if let Some(b) = base {
            a.extend(["--base-url".to_string(), b.to_string()]);
        }
        a
    };
    let token = ("CLOUDFLARE_API_TOKEN", "example-token");
    let runs = [
        ExampleRun {
            what: "nothing configured: embedded mock",
            env: vec![],
            args: args("my-mcp-server", None),
            exit: 0,
            stdout_has: "\"status\": \"ready\"",
        },
        ExampleRun {
            what: "token, against Prism",
            env: vec![token],
            args: args("my-mcp-server", Some(&prism.base)),
            exit: 3,
            stdout_has: "\"status\": \"waiting\"",
        },
        ExampleRun {
            what: "email + key, against Prism",
            env: vec![
                ("CLOUDFLARE_EMAIL", "user@example.com"),
                ("CLOUDFLARE_API_KEY", "example-key"),
            ],
            args: args("my-mcp-server", Some(&prism.base)),
            exit: 3,
            stdout_has: "\"http_status\": 200",
        },
        ExampleRun {
            what: "request fails (connection refused)",
            env: vec![token],
            args: args("my-mcp-server", Some(&closed)),
            exit: 1,
            stdout_has: "",
        },
        ExampleRun {
            what: "invalid server id",
            env: vec![],
            args: args("Not-Valid", None),
            exit: 2,
            stdout_has: "",
        },
        ExampleRun {
            what: "conflicting credentials",
            env: vec![token, ("CLOUDFLARE_API_KEY", "example-key")],
            args: args("my-mcp-server", None),
            exit: 2,
            stdout_has: "",
        },
    ];
    for run in runs {
        let shown = format!(
            "cargo run -q -p cloudflare-mcp-sync --example sync -- {}",
            run.args.join(" ")
        );
        eprintln!(
            "==> example ({}): {shown} (expect exit {})",
            run.what, run.exit
        );
        let output = Command::new(cargo)
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
            .args(&run.args)
            .env_remove("CLOUDFLARE_API_TOKEN")
            .env_remove("CLOUDFLARE_EMAIL")
            .env_remove("CLOUDFLARE_API_KEY")
            .env_remove("CLOUDFLARE_BASE_URL")
            .envs(run.env.iter().copied())
            .current_dir(root)
            .stderr(std::process::Stdio::inherit())
            .output()?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        if output.status.code() != Some(run.exit) || !stdout.contains(run.stdout_has) {
            bail!(
                "step 'example' ({}) failed: exit {}, expected {}; stdout:\n{stdout}\nrerun it with: {shown}",
                run.what,
                output.status,
                run.exit
            );
        }
        for (_, secret) in &run.env {
            if stdout.contains(secret) {
                bail!(
                    "step 'example' ({}): a credential appeared on stdout",
                    run.what
                );
            }
        }
    }
    if !prism.violations().is_empty() {
        bail!(
            "step 'example': Prism reported violations:\n{}",
            prism.violations().join("\n")
        );
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
    example_smoke(&cargo, &root)?;
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
