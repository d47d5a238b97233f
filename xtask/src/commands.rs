//! What each `cargo xtask` command does once its arguments are parsed (main.rs): the
//! calls into the modules, what it prints, and its exit code.

use std::path::Path;

use crate::{
    bench, bench_deps, diff, drift, extract, fetch, generate, history, markdown, rehearse, report,
    spec, surface, update,
};

/// How a change report is printed.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
    Markdown,
}

/// `generate [--check]`. Stale is a finding, not an error: exit 1, as CI expects.
pub fn generate(root: &Path, check: bool) -> anyhow::Result<u8> {
    if !check {
        let file = generate::GENERATED_FILE;
        match generate::write(root)? {
            generate::Outcome::Written => eprintln!("wrote {file}"),
            generate::Outcome::Unchanged => eprintln!("{file} is up to date"),
        }
        return Ok(0);
    }
    match generate::check(root) {
        Ok(()) => {
            eprintln!("{} matches openapi/", generate::GENERATED_FILE);
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            Ok(1)
        }
    }
}

/// `extract <UPSTREAM_SPEC>`.
pub fn extract(
    root: &Path,
    upstream: &Path,
    operations: &[String],
    commit: Option<&str>,
) -> anyhow::Result<u8> {
    let x = extract::run(root, upstream, operations, commit)?;
    eprintln!(
        "wrote openapi/ with {} from {}",
        x.operations.join(", "),
        upstream.display()
    );
    eprintln!(
        "next: cargo xtask generate, then review the snapshots (cargo test --workspace --test suites codegen::)"
    );
    Ok(0)
}

/// `spec-drift <PATH|URL>`.
pub fn spec_drift(
    root: &Path,
    options: &drift::Options,
    files: &drift::Files,
) -> anyhow::Result<u8> {
    let job = drift::run(root, options);
    // A job that could not finish still leaves a report saying why, for the
    // job summary; the error then fails the run.
    let job = job.inspect_err(|e| drift::write_failure(e, files))?;
    drift::write_files(&job, files)?;
    print!("{}", job.to_markdown());
    Ok(0)
}

/// `rehearse-drift`.
pub fn rehearse_drift(
    root: &Path,
    cases: &[String],
    verdict: drift::VerdictBy,
) -> anyhow::Result<u8> {
    let outcomes = rehearse::run(root, cases, verdict)?;
    let (table, ok) = rehearse::summary(&outcomes);
    print!("{table}");
    if !ok {
        anyhow::bail!("the spec-drift rehearsal found cases that did not hold (above)");
    }
    Ok(0)
}

/// `bench-extract`.
pub fn bench_extract(root: &Path, size_mb: usize, runs: usize) -> anyhow::Result<u8> {
    let base = extract::load_document(&root.join("tests/fixtures/upstream-openapi.json"))?;
    let ops = spec::load_provenance(root)?.operations;
    print!(
        "{}",
        bench::run(&base.doc, &ops, size_mb * 1_000_000, runs)?
    );
    Ok(0)
}

/// `bench-deps`.
pub fn bench_deps(root: &Path) -> anyhow::Result<u8> {
    print!("{}", bench_deps::run(root)?);
    Ok(0)
}

/// `replay-history`: `options.operations` empty means the default ones.
pub fn replay_history(mut options: history::Options, pairs: Option<&Path>) -> anyhow::Result<u8> {
    if options.operations.is_empty() {
        options.operations = history::DEFAULT_OPERATIONS.map(str::to_string).to_vec();
    }
    let ops = history::run(&options)?;
    if let Some(file) = pairs {
        std::fs::write(file, history::pairs_json(&ops))?;
    }
    print!("{}", history::table(&ops));
    Ok(0)
}

/// The bounded child's side (bounded.rs): render one fragment to a file.
pub fn render_fragment(
    input: &Path,
    output: &Path,
    name: String,
    sha256: String,
) -> anyhow::Result<u8> {
    let bytes = std::fs::read(input)?;
    let fragment = spec::Fragment {
        rel_path: name,
        sha256,
        doc: serde_json::from_slice(&bytes)?,
    };
    std::fs::write(output, generate::render_fragment(&fragment)?)?;
    Ok(0)
}

/// `surface`.
pub fn surface(root: &Path) -> anyhow::Result<u8> {
    let (_, fragment) = spec::load_fragment(root)?;
    print!("{}", surface::summary(&fragment.doc)?);
    Ok(0)
}

/// `diff <OLD> <NEW>`.
pub fn diff(
    root: &Path,
    old: &Path,
    new: &Path,
    operations: Vec<String>,
    format: Format,
) -> anyhow::Result<u8> {
    let old = extract::load_document(old)?;
    let new = extract::load_document(new)?;
    let scope = if operations.is_empty() {
        spec::load_provenance(root)?.operations
    } else {
        operations
    };
    let report = diff::judge_documents(&old.doc, &new.doc, &scope)?;
    print!("{}", render(&report, format));
    Ok(report.exit_code())
}

/// `provenance`.
pub fn provenance(root: &Path) -> anyhow::Result<u8> {
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
    Ok(0)
}

fn render(report: &report::Report, format: Format) -> String {
    match format {
        Format::Text => report.to_text(),
        Format::Json => report.to_json(),
        Format::Markdown => report.to_markdown(),
    }
}

/// `update <PATH|URL>`; the download bounds go with a URL only.
pub fn update(
    root: &Path,
    source: &str,
    operations: &[String],
    commit: Option<&str>,
    format: Format,
    timeout_secs: Option<f64>,
    max_mb: Option<u64>,
) -> anyhow::Result<u8> {
    let updated = if fetch::is_url(source) {
        update::run_url(
            root,
            source,
            operations,
            commit,
            limits(timeout_secs, max_mb),
        )?
    } else {
        if timeout_secs.is_some() || max_mb.is_some() {
            anyhow::bail!("--timeout and --max-mb go with a URL, not a file");
        }
        update::run(root, Path::new(source), operations, commit)?
    };
    match format {
        Format::Markdown => print!("{}", markdown::update_markdown(&updated)),
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

/// Download limits: the defaults, or the bounds given.
pub fn limits(timeout_secs: Option<f64>, max_mb: Option<u64>) -> fetch::Limits {
    let mut limits = fetch::Limits::default();
    if let Some(secs) = timeout_secs {
        limits.timeout = std::time::Duration::from_secs_f64(secs);
    }
    if let Some(mb) = max_mb {
        limits.max_bytes = mb * 1024 * 1024;
    }
    limits
}
