//! `cargo xtask <command>`: see `cargo xtask help`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use xtask::{bench, ci, diff, drift, extract, fetch, generate, rehearse, spec, surface, update};

const USAGE: &str = "\
usage: cargo xtask <command>

commands:
  generate [--check]   write crates/generated/src/generated.rs from openapi/
                       (--check: compare only; exit 1 with a diff and the fix when stale)
  extract <UPSTREAM_SPEC> [--operation <operationId>]... [--commit <sha>]
                       write openapi/ from Cloudflare's full document (JSON or YAML): the
                       operations (default: those in openapi/) and what they reference
  diff <OLD> <NEW> [--operation <operationId>]... [--format text|json|markdown]
                       classify what changed for the operations in scope (default: those
                       in openapi/); exit 0 nothing, 1 non-breaking only, 2 breaking
  update <PATH|URL> [--operation <operationId>]... [--commit <sha>]
         [--format text|json|markdown] [--timeout <secs>] [--max-mb <n>]
                       extract + diff + generate from a file, or from an https:// URL
                       (downloaded under a size cap, default 64 MiB, and a timeout,
                       default 120 s; the commit is read from a pinned
                       .../api-schemas/<commit>/openapi.json URL); prints the report and
                       the snapshots to review; exits like diff. Nothing in scope
                       changed: exit 0 and nothing is written. Any error: nothing is
                       written
  spec-drift <PATH|URL> [--commit <sha>] [--timeout <secs>] [--max-mb <n>]
         [--verdict ci|tests|none] [--report <FILE>] [--outputs <FILE>]
                       the weekly job's steps: update, refresh the snapshots it moves,
                       move the version and CHANGELOG.md, cargo semver-checks (when
                       installed), then the test command on the new tree (default
                       --verdict ci: `cargo xtask ci`); writes the Markdown report
                       (--report) and appends changed/class/verdict/version/title to
                       --outputs ($GITHUB_OUTPUT); exit 0 whatever it found, 3 on error
  rehearse-drift [--case <name>]... [--verdict tests|ci|none]
                       replay spec-drift per kind of upstream change (derived from
                       openapi/, served on 127.0.0.1) in target/rehearse-drift and
                       check each: non-breaking green, breaking red (default --verdict
                       tests: generate --check and cargo test --workspace)
  bench-extract [--size-mb N] [--runs N]
                       time extract on a generated upstream-size document (default 16 MB)
                       beside the time to parse it alone
  bench-deps           cold release build and package count of a one-call crate on this
                       library beside one on cloudflare-rs 0.14, interleaved
  ci                   every check CI runs (the README's test command)
  provenance           print where the spec fragment came from and its sha256
  surface              print the API surface summary of openapi/ (what the snapshots hold)
  help                 this text

errors exit 3; usage mistakes exit 64.
";

const EXIT_ERROR: u8 = 3;
const EXIT_USAGE: u8 = 64;

/// How a change report is printed.
#[derive(Default, Clone, Copy, PartialEq, Eq)]
enum Format {
    #[default]
    Text,
    Json,
    Markdown,
}

/// Options shared by extract, diff and update.
#[derive(Default)]
struct Options {
    positional: Vec<String>,
    operations: Vec<String>,
    commit: Option<String>,
    format: Format,
    timeout_secs: Option<f64>,
    max_mb: Option<u64>,
    check: bool,
    size_mb: Option<usize>,
    runs: Option<usize>,
    verdict: Option<drift::VerdictBy>,
    report: Option<PathBuf>,
    outputs: Option<PathBuf>,
    cases: Vec<String>,
}

fn parse_options(args: &[&str]) -> Result<Options, String> {
    let mut o = Options::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match *arg {
            "--operation" => o.operations.push(
                it.next()
                    .ok_or("--operation needs an operationId")?
                    .to_string(),
            ),
            "--check" => o.check = true,
            "--commit" => o.commit = Some(it.next().ok_or("--commit needs a value")?.to_string()),
            "--format" => match it.next().copied() {
                Some("json") => o.format = Format::Json,
                Some("text") => o.format = Format::Text,
                Some("markdown") => o.format = Format::Markdown,
                other => {
                    return Err(format!(
                        "--format takes text, json or markdown, not {other:?}"
                    ));
                }
            },
            "--timeout" => {
                o.timeout_secs = Some(
                    it.next()
                        .and_then(|v| v.parse::<f64>().ok())
                        .filter(|v| *v > 0.0 && *v <= 3600.0)
                        .ok_or("--timeout needs a number of seconds (at most 3600)")?,
                )
            }
            "--max-mb" => {
                o.max_mb = Some(
                    it.next()
                        .and_then(|v| v.parse::<u64>().ok())
                        .filter(|v| (1..=1024).contains(v))
                        .ok_or("--max-mb needs a number from 1 to 1024")?,
                )
            }
            "--size-mb" => {
                o.size_mb = Some(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .ok_or("--size-mb needs a number")?,
                )
            }
            "--runs" => {
                o.runs = Some(
                    it.next()
                        .and_then(|v| v.parse().ok())
                        .ok_or("--runs needs a number")?,
                )
            }
            "--verdict" => {
                o.verdict = Some(match it.next().copied() {
                    Some("ci") => drift::VerdictBy::Ci,
                    Some("tests") => drift::VerdictBy::Tests,
                    Some("none") => drift::VerdictBy::None,
                    other => {
                        return Err(format!("--verdict takes ci, tests or none, not {other:?}"));
                    }
                })
            }
            "--report" => o.report = Some(user_path(it.next().ok_or("--report needs a file")?)),
            "--outputs" => o.outputs = Some(user_path(it.next().ok_or("--outputs needs a file")?)),
            "--case" => o
                .cases
                .push(it.next().ok_or("--case needs a name")?.to_string()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            value => o.positional.push(value.to_string()),
        }
    }
    Ok(o)
}

/// Paths on the command line are relative to where the user ran cargo, not to the
/// workspace root (cargo runs xtask from the root only when asked to).
fn user_path(p: &str) -> PathBuf {
    PathBuf::from(p)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = spec::workspace_root();
    let (command, rest) = match args.split_first() {
        Some((c, r)) => (*c, r),
        None => {
            eprint!("{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let options = match parse_options(rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}\n\n{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    if options.check && command != "generate" {
        eprintln!("error: --check goes with generate\n\n{USAGE}");
        return ExitCode::from(EXIT_USAGE);
    }
    let result: anyhow::Result<u8> = match (command, options.positional.len()) {
        ("generate", 0) if !options.check => generate::write(&root).map(|outcome| {
            let file = generate::GENERATED_FILE;
            match outcome {
                generate::Outcome::Written => eprintln!("wrote {file}"),
                generate::Outcome::Unchanged => eprintln!("{file} is up to date"),
            }
            0
        }),
        ("generate", 0) => match generate::check(&root) {
            Ok(()) => {
                eprintln!("{} matches openapi/", generate::GENERATED_FILE);
                Ok(0)
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                return ExitCode::FAILURE;
            }
        },
        ("extract", 1) => extract::run(&root, &user_path(&options.positional[0]), &options.operations, options.commit.as_deref())
            .map(|x| {
                eprintln!("wrote openapi/ with {} from {}", x.operations.join(", "), options.positional[0]);
                eprintln!("next: cargo xtask generate, then review the snapshots (cargo test -p workspace-tests --test codegen)");
                0
            }),
        ("diff", 2) => run_diff(&root, &options),
        ("update", 1) => run_update(&root, &options),
        ("spec-drift", 1) => run_spec_drift(&root, &options),
        ("rehearse-drift", 0) => run_rehearsal(&root, &options),
        ("ci", 0) if rest.is_empty() => ci::run().map(|()| 0),
        ("bench-extract", 0) => extract::load_document(&root.join("tests/fixtures/upstream-openapi.json"))
            .and_then(|base| {
                let ops = spec::load_provenance(&root)?.operations;
                bench::run(&base.doc, &ops, options.size_mb.unwrap_or(16) * 1_000_000, options.runs.unwrap_or(10))
            })
            .map(|report| {
                print!("{report}");
                0
            }),
        ("bench-deps", 0) if rest.is_empty() => xtask::bench_deps::run(&root).map(|report| {
            print!("{report}");
            0
        }),
        ("provenance", 0) if rest.is_empty() => print_provenance(&root).map(|()| 0),
        ("surface", 0) if rest.is_empty() => spec::load_fragment(&root)
            .and_then(|(_, f)| surface::summary(&f.doc))
            .map(|s| {
                print!("{s}");
                0
            }),
        ("help" | "--help" | "-h", _) => {
            print!("{USAGE}");
            Ok(0)
        }
        _ => {
            eprint!("{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

fn run_diff(root: &Path, options: &Options) -> anyhow::Result<u8> {
    let old = extract::load_document(&user_path(&options.positional[0]))?;
    let new = extract::load_document(&user_path(&options.positional[1]))?;
    let scope = if options.operations.is_empty() {
        spec::load_provenance(root)?.operations
    } else {
        options.operations.clone()
    };
    let report = diff::diff(&old.doc, &new.doc, &scope)?;
    print!("{}", render(&report, options.format));
    Ok(report.exit_code())
}

fn print_provenance(root: &Path) -> anyhow::Result<()> {
    let (prov, fragment) = spec::load_fragment(root)?;
    println!("fragment:    {}", fragment.rel_path);
    println!("operations:  {}", prov.operations.join(", "));
    println!("repository:  {}", prov.upstream.repository);
    println!("commit:      {}", prov.upstream.commit);
    println!("path:        {}", prov.upstream.path);
    if let Some(source) = &prov.source_sha256 {
        println!("source sha:  {source}");
    }
    println!("sha256:      {}", fragment.sha256);
    if fragment.sha256 != prov.fragment_sha256 {
        println!(
            "note:        the fragment differs from the one recorded at extraction ({})",
            prov.fragment_sha256
        );
    }
    Ok(())
}

fn render(report: &diff::Report, format: Format) -> String {
    match format {
        Format::Text => report.to_text(),
        Format::Json => report.to_json(),
        Format::Markdown => report.to_markdown(),
    }
}

fn run_update(root: &Path, options: &Options) -> anyhow::Result<u8> {
    let source = &options.positional[0];
    let updated = if fetch::is_url(source) {
        update::run_url(
            root,
            source,
            &options.operations,
            options.commit.as_deref(),
            limits(options),
        )?
    } else {
        if options.timeout_secs.is_some() || options.max_mb.is_some() {
            anyhow::bail!("--timeout and --max-mb go with a URL, not a file");
        }
        update::run(
            root,
            &user_path(source),
            &options.operations,
            options.commit.as_deref(),
        )?
    };
    match options.format {
        Format::Markdown => print!("{}", xtask::markdown::update_markdown(&updated)),
        format => print!("{}", render(&updated.report, format)),
    }
    if updated.written {
        eprintln!("wrote openapi/ and {}", generate::GENERATED_FILE);
        eprint!("{}", updated.snapshots);
    } else {
        eprintln!(
            "nothing in scope changed upstream ({source}); the tree was not touched \
             (openapi/ stays at commit {})",
            updated.commit
        );
    }
    Ok(updated.report.exit_code())
}

fn limits(options: &Options) -> fetch::Limits {
    let mut limits = fetch::Limits::default();
    if let Some(secs) = options.timeout_secs {
        limits.timeout = std::time::Duration::from_secs_f64(secs);
    }
    if let Some(mb) = options.max_mb {
        limits.max_bytes = mb * 1024 * 1024;
    }
    limits
}

fn run_spec_drift(root: &Path, options: &Options) -> anyhow::Result<u8> {
    let job = drift::run(
        root,
        &drift::Options {
            source: options.positional[0].clone(),
            commit: options.commit.clone(),
            limits: limits(options),
            verdict: options.verdict.unwrap_or(drift::VerdictBy::Ci),
            target_dir: None,
        },
    )?;
    drift::write_files(
        &job,
        &drift::Files {
            report: options.report.clone(),
            outputs: options.outputs.clone(),
        },
    )?;
    print!("{}", job.to_markdown());
    Ok(0)
}

fn run_rehearsal(root: &Path, options: &Options) -> anyhow::Result<u8> {
    let verdict = options.verdict.unwrap_or(drift::VerdictBy::Tests);
    let outcomes = rehearse::run(root, &options.cases, verdict)?;
    let (table, ok) = rehearse::summary(&outcomes);
    print!("{table}");
    if !ok {
        anyhow::bail!("the spec-drift rehearsal found cases that did not hold (above)");
    }
    Ok(0)
}
