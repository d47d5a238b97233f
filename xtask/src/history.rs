//! `cargo xtask replay-history <API_SCHEMAS_GIT_DIR>`: the spec tooling run over
//! Cloudflare's real history instead of cases we wrote.
//!
//! It walks every readable `openapi.json` in a clone of `cloudflare/api-schemas` (oldest
//! first), follows each operation by method and path (its operationId may change), and
//! for each distinct fragment runs extract → bounded generate → `cargo check` of the
//! generated code, and `diff` on each consecutive pair, judged against what the
//! generated Rust API did. The table it prints is what CONTRIBUTING.md quotes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::bounded::{self, Bound, Failure};
use crate::report::Class;
use crate::rust_api::{self, Surface};
use crate::spec::{self, Fragment};
use crate::{compile, diff, extract};

/// Operations replayed when none is named: the twelve the issue tried, and their
/// siblings, by method and path (the id is read from each version).
pub const DEFAULT_OPERATIONS: [&str; 24] = [
    "GET /accounts/{account_id}/access/apps",
    "POST /accounts/{account_id}/access/apps",
    "PUT /accounts/{account_id}/access/apps/{app_id}",
    "DELETE /accounts/{account_id}/access/apps/{app_id}",
    "GET /accounts/{account_id}/access/apps/{app_id}/policies",
    "POST /accounts/{account_id}/access/apps/{app_id}/policies",
    "GET /accounts/{account_id}/access/groups",
    "POST /accounts/{account_id}/access/groups",
    "GET /accounts/{account_id}/access/identity_providers",
    "POST /accounts/{account_id}/access/identity_providers",
    "GET /accounts/{account_id}/access/service_tokens",
    "POST /accounts/{account_id}/access/service_tokens",
    "POST /accounts/{account_id}/access/service_tokens/{service_token_id}/refresh",
    "GET /accounts/{account_id}/access/organizations",
    "PUT /accounts/{account_id}/access/organizations",
    "GET /accounts/{account_id}/access/logs/access_requests",
    "GET /zones/{zone_id}/dns_records",
    "POST /zones/{zone_id}/dns_records",
    "PATCH /zones/{zone_id}/dns_records/{dns_record_id}",
    "PUT /accounts/{account_id}/workers/scripts/{script_name}",
    "GET /accounts/{account_id}/rulesets",
    "POST /accounts/{account_id}/rulesets",
    "PATCH /accounts/{account_id}/cfd_tunnel/{tunnel_id}",
    "GET /accounts/{account_id}/gateway/configuration",
];

/// What to replay.
#[derive(Debug, Clone)]
pub struct Options {
    /// A clone of cloudflare/api-schemas (its git directory or work tree).
    pub git_dir: PathBuf,
    /// `METHOD /path` of each operation.
    pub operations: Vec<String>,
    /// Only commits at or after this date (`git log --since`).
    pub since: Option<String>,
    /// Only commits before this date (`git log --until`).
    pub until: Option<String>,
    /// Compile the generated code (`cargo check`), besides generating it.
    pub compile: bool,
    /// Where fragments, generated code and the check crate go.
    pub work_dir: PathBuf,
    /// The xtask binary, for bounded generation.
    pub exe: PathBuf,
    /// The workspace (its lock file and the generated crate's dependencies).
    pub root: PathBuf,
}

/// One distinct fragment of one operation.
#[derive(Debug)]
pub struct Version {
    /// The first upstream commit that has it, and its date.
    pub commit: String,
    pub date: String,
    /// The operationId it carries.
    pub operation_id: String,
    /// Where the fragment was written.
    pub file: PathBuf,
    /// The generated code, or why there is none.
    pub generated: std::result::Result<String, Failure>,
    /// `cargo check` of the generated code: None when not compiled.
    pub compiled: Option<std::result::Result<(), String>>,
}

/// A consecutive pair and how it was classed.
#[derive(Debug)]
pub struct Pair {
    /// Index of the newer version.
    pub to: usize,
    /// `diff`'s class, from the JSON and the generated Rust together (None: nothing).
    pub class: Option<Class>,
    /// What the generated Rust API did alone (None: unchanged).
    pub rust: Option<Class>,
    /// The JSON diff's class alone, as `diff` judged before it read the Rust API.
    pub json: Option<Class>,
    /// A breaking change on the wire that the Rust API does not show (auth, a
    /// parameter's or a request body's constraint): `judge` keeps such lines breaking
    /// while the Rust API holds.
    pub wire: bool,
    /// The operationId changed.
    pub renamed: bool,
    /// The older version's index.
    pub from: usize,
    /// `diff`'s lines: class, pointer, message.
    pub lines: Vec<String>,
}

/// Everything replayed for one operation.
#[derive(Debug, Default)]
pub struct Operation {
    /// `METHOD /path`.
    pub target: String,
    /// Upstream versions holding it.
    pub seen: usize,
    /// Of those, how many changed the raw extract while the canonical fragment stayed.
    pub byte_only: usize,
    /// Distinct canonical fragments, oldest first.
    pub versions: Vec<Version>,
    /// Consecutive pairs of versions that both generated.
    pub pairs: Vec<Pair>,
}

/// Replays the history; one entry per operation.
pub fn run(options: &Options) -> Result<Vec<Operation>> {
    let commits = commits(options)?;
    eprintln!("{} readable versions of openapi.json", commits.len());
    let targets: Vec<(String, String)> = options
        .operations
        .iter()
        .map(|t| parse_target(t))
        .collect::<Result<_>>()?;
    let mut ops: Vec<Operation> = options
        .operations
        .iter()
        .map(|t| Operation {
            target: t.clone(),
            ..Operation::default()
        })
        .collect();
    let mut last_raw: Vec<Option<String>> = vec![None; ops.len()];
    let mut last_canonical: Vec<Option<String>> = vec![None; ops.len()];
    let mut cat = Cat::start(&options.git_dir)?;
    let mut cache: std::collections::HashMap<String, std::result::Result<String, Failure>> =
        std::collections::HashMap::new();
    for (n, (commit, date, blob)) in commits.iter().enumerate() {
        if n % 100 == 0 {
            eprintln!("  {n}/{} ({date})", commits.len());
        }
        let bytes = cat.read(blob)?;
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        for (i, (method, path)) in targets.iter().enumerate() {
            let Some(id) = find(&doc, method, path) else {
                continue;
            };
            ops[i].seen += 1;
            let raw = match extract::extract_raw(&doc, &[id.to_string()]) {
                Ok(raw) => raw,
                Err(e) => {
                    record_extract_failure(&mut ops[i], commit, date, id, &e);
                    continue;
                }
            };
            let raw_text = extract::to_committed_text(&raw)?;
            if last_raw[i].as_deref() == Some(raw_text.as_str()) {
                continue;
            }
            last_raw[i] = Some(raw_text);
            let canonical = match extract::canonical(raw) {
                Ok(c) => c,
                Err(e) => {
                    record_extract_failure(&mut ops[i], commit, date, id, &e);
                    continue;
                }
            };
            let text = extract::to_committed_text(&canonical)?;
            if last_canonical[i].as_deref() == Some(text.as_str()) {
                ops[i].byte_only += 1;
                continue;
            }
            last_canonical[i] = Some(text.clone());
            let dir = options.work_dir.join(slug(&ops[i].target));
            std::fs::create_dir_all(&dir)?;
            let file = dir.join(format!(
                "{:03}-{}.json",
                ops[i].versions.len(),
                &commit[..8]
            ));
            std::fs::write(&file, &text)?;
            let fragment = Fragment {
                rel_path: "openapi/replay.json".to_string(),
                sha256: spec::sha256_hex(text.as_bytes()),
                doc: canonical,
            };
            // Upstream flips back and forth (an envelope in `allOf`, then `anyOf`, then
            // `allOf` again): a fragment seen before is not generated twice.
            let generated = match cache.get(&fragment.sha256) {
                Some(done) => done.clone(),
                None => {
                    let done = bounded::render(
                        &options.exe,
                        &fragment,
                        &options.work_dir.join("scratch"),
                        Bound::default(),
                    )?;
                    cache.insert(fragment.sha256.clone(), done.clone());
                    done
                }
            };
            ops[i].versions.push(Version {
                commit: commit.clone(),
                date: date.clone(),
                operation_id: id.to_string(),
                file,
                generated,
                compiled: None,
            });
        }
    }
    if options.compile {
        compile_all(options, &mut ops)?;
    }
    for op in &mut ops {
        op.pairs = pairs(op)?;
    }
    Ok(ops)
}

fn record_extract_failure(
    op: &mut Operation,
    commit: &str,
    date: &str,
    id: &str,
    e: &anyhow::Error,
) {
    op.versions.push(Version {
        commit: commit.to_string(),
        date: date.to_string(),
        operation_id: id.to_string(),
        file: PathBuf::new(),
        generated: Err(Failure::Refused(format!("extract: {e:#}"))),
        compiled: None,
    });
}

/// The operationId of the operation at `method` and `path`, where a path parameter's
/// name may differ (upstream renamed `{identifier}` to `{account_id}` across the
/// Access paths in 2023).
fn find<'a>(doc: &'a Value, method: &str, path: &str) -> Option<&'a str> {
    let exact = doc
        .pointer(&format!(
            "/paths/{}/{method}/operationId",
            spec::escape(path)
        ))
        .and_then(Value::as_str);
    exact.or_else(|| {
        let shape = spec::path_shape(path);
        doc.get("paths")?
            .as_object()?
            .iter()
            .find(|(p, item)| spec::path_shape(p) == shape && item.get(method).is_some())
            .and_then(|(_, item)| item.get(method)?.get("operationId")?.as_str())
    })
}

/// `METHOD /path` → (`method`, `/path`).
fn parse_target(target: &str) -> Result<(String, String)> {
    let Some((method, path)) = target.split_once(' ') else {
        bail!("an operation is `METHOD /path`, got {target:?}");
    };
    if !path.starts_with('/') {
        bail!("an operation is `METHOD /path`, got {target:?}");
    }
    Ok((method.to_ascii_lowercase(), path.to_string()))
}

/// A directory name for an operation.
fn slug(target: &str) -> String {
    target
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '-'
            }
        })
        .collect::<String>()
        .split('-')
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("-")
}

/// Every commit that changed `openapi.json` and whose blob is present (the newest
/// commits' large files may be absent from a copy), oldest first, with repeated blobs
/// left out: (commit, date, blob).
fn commits(options: &Options) -> Result<Vec<(String, String, String)>> {
    let mut log = Command::new("git");
    log.arg("-C")
        .arg(&options.git_dir)
        .args(["log", "--reverse", "--format=%H %cs"]);
    if let Some(since) = &options.since {
        log.arg(format!("--since={since}"));
    }
    if let Some(until) = &options.until {
        log.arg(format!("--until={until}"));
    }
    log.args(["--", "openapi.json"]);
    let listed = crate::command::stdout_of(&mut log, "git log")?;
    let mut check = Command::new("git")
        .arg("-C")
        .arg(&options.git_dir)
        .args(["cat-file", "--batch-check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting git cat-file --batch-check")?;
    let mut input = String::new();
    let lines: Vec<(&str, &str)> = listed.lines().filter_map(|l| l.split_once(' ')).collect();
    for (commit, _) in &lines {
        let _ = writeln!(input, "{commit}:openapi.json");
    }
    let mut stdin = check.stdin.take().context("git's stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut answers = String::new();
    check
        .stdout
        .take()
        .context("git's stdout")?
        .read_to_string(&mut answers)?;
    let _ = writer.join();
    check.wait()?;
    let mut out: Vec<(String, String, String)> = Vec::new();
    for ((commit, date), answer) in lines.iter().zip(answers.lines()) {
        // `<oid> blob <size>`, or `<name> missing`. Git LFS pointers are a few hundred
        // bytes; a real document is megabytes.
        let parts: Vec<&str> = answer.split(' ').collect();
        let [oid, "blob", size] = parts.as_slice() else {
            continue;
        };
        if size.parse::<u64>().unwrap_or(0) < 100_000 {
            continue;
        }
        if out.last().is_some_and(|(_, _, b)| b == oid) {
            continue;
        }
        out.push((commit.to_string(), date.to_string(), oid.to_string()));
    }
    Ok(out)
}

/// `git cat-file --batch`, kept running: one blob per request.
struct Cat {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Cat {
    fn start(git_dir: &Path) -> Result<Self> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(git_dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting git cat-file --batch")?;
        let out = BufReader::new(child.stdout.take().context("git's stdout")?);
        Ok(Self { child, out })
    }

    fn read(&mut self, oid: &str) -> Result<Vec<u8>> {
        let stdin = self.child.stdin.as_mut().context("git's stdin")?;
        writeln!(stdin, "{oid}")?;
        stdin.flush()?;
        let mut header = String::new();
        self.out.read_line(&mut header)?;
        let size: usize = header
            .split(' ')
            .nth(2)
            .and_then(|s| s.trim().parse().ok())
            .with_context(|| format!("git cat-file answered {header:?}"))?;
        let mut bytes = vec![0; size + 1];
        self.out.read_exact(&mut bytes)?;
        bytes.pop();
        Ok(bytes)
    }
}

impl Drop for Cat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Checks every generated version, in batches (one crate each, one cargo run per
/// batch). Versions whose code differs only in comments (upstream's prose) are checked
/// once: comments do not change what compiles.
fn compile_all(options: &Options, ops: &mut [Operation]) -> Result<()> {
    let mut shapes: BTreeMap<String, Vec<(usize, usize)>> = BTreeMap::new();
    for (o, op) in ops.iter().enumerate() {
        for (v, version) in op.versions.iter().enumerate() {
            if let Ok(code) = &version.generated {
                shapes.entry(code_shape(code)).or_default().push((o, v));
            }
        }
    }
    let unique: Vec<&Vec<(usize, usize)>> = shapes.values().collect();
    let checker = compile::Checker::new(&options.root, &options.work_dir.join("check"))?;
    let mut done = 0;
    for batch in unique.chunks(60) {
        let sources: Vec<&str> = batch
            .iter()
            .map(|users| {
                let (o, v) = users[0];
                ops[o].versions[v]
                    .generated
                    .as_ref()
                    .map(String::as_str)
                    .unwrap_or_default()
            })
            .collect();
        done += sources.len();
        eprintln!(
            "  compiling {done} of {} distinct generated versions",
            unique.len()
        );
        let results = checker.check(&sources)?;
        for (users, result) in batch.iter().zip(results) {
            for &(o, v) in users.iter() {
                ops[o].versions[v].compiled = Some(result.clone());
            }
        }
    }
    Ok(())
}

/// The code without its comments (doc comments carry upstream's descriptions), hashed.
fn code_shape(code: &str) -> String {
    let kept: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    spec::sha256_hex(kept.as_bytes())
}

/// Classes each consecutive pair of generated versions: `diff` of the fragments with
/// the generated code's surfaces, beside the surfaces' own verdict.
fn pairs(op: &Operation) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    let generated: Vec<(usize, &Version, &String)> = op
        .versions
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.generated.as_ref().ok().map(|code| (i, v, code)))
        .collect();
    for window in generated.windows(2) {
        let [(i, a, a_code), (j, b, b_code)] = window else {
            continue;
        };
        let old: Value = serde_json::from_str(&std::fs::read_to_string(&a.file)?)?;
        let new: Value = serde_json::from_str(&std::fs::read_to_string(&b.file)?)?;
        let (old_api, new_api) = (Surface::of(a_code)?, Surface::of(b_code)?);
        let rust = rust_api::compare(&old_api, &new_api).worst();
        let json = diff::diff(&old, &new, std::slice::from_ref(&a.operation_id))?;
        let report = diff::judge(
            &old,
            &new,
            std::slice::from_ref(&a.operation_id),
            &old_api,
            &new_api,
        )?;
        out.push(Pair {
            to: *j,
            class: report.worst(),
            json: json.worst(),
            rust,
            wire: json
                .changes
                .iter()
                .any(|c| c.class == Class::Breaking && is_wire(c)),
            renamed: a.operation_id != b.operation_id,
            from: *i,
            lines: report
                .changes
                .iter()
                .map(|c| format!("{} {} {}", c.class, c.pointer, c.message))
                .collect(),
        });
    }
    Ok(out)
}

/// Whether a line of the JSON diff is about the wire rather than a body's shape: auth,
/// the operation's path, method or id, a parameter, or a request body's constraint or
/// enum (the server enforces it whatever the types show). Read from the JSON alone, so
/// that the measure does not lean on `judge`'s own rule.
fn is_wire(change: &crate::report::Change) -> bool {
    let p = &change.pointer;
    p.contains("/security")
        || p.contains("securitySchemes")
        || p.contains("/parameters/")
        || p.ends_with("/operationId")
        || change.message.contains(" moved from ")
        || change.message.contains("operation ")
        || (p.contains("/requestBody")
            && (change.message.contains("tightened") || p.ends_with("/enum")))
}

/// Whether `diff`'s class agrees with what the generated Rust API and the wire did:
/// breaking exactly when the Rust API broke or a breaking line is about the wire (auth,
/// path, method, a parameter), which the Rust API does not show. The table also counts
/// the pairs whose class matches the Rust API alone.
fn agrees(pair: &Pair) -> bool {
    breaking(pair.class) == (breaking(pair.rust) || pair.wire)
}

fn breaking(class: Option<Class>) -> bool {
    class == Some(Class::Breaking)
}

/// The table the command prints: one row per operation, then the totals.
pub fn table(ops: &[Operation]) -> String {
    let mut out = String::from(
        "| operation | upstream versions | byte-only | distinct | generated | refused by name | runaway | compiled | pairs classed as the Rust API and the wire moved | as the Rust API alone | by the JSON alone | renames |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut totals = [0usize; 12];
    let mut failures: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for op in ops {
        let distinct = op.versions.len();
        let generated = op.versions.iter().filter(|v| v.generated.is_ok()).count();
        let refused = op
            .versions
            .iter()
            .filter(|v| matches!(v.generated, Err(Failure::Refused(_))))
            .count();
        let runaway = op
            .versions
            .iter()
            .filter(|v| matches!(v.generated, Err(Failure::Memory | Failure::Time)))
            .count();
        let compiled = op
            .versions
            .iter()
            .filter(|v| matches!(v.compiled, Some(Ok(()))))
            .count();
        let right = op.pairs.iter().filter(|p| agrees(p)).count();
        let renames = op.pairs.iter().filter(|p| p.renamed).count();
        let rust_alone = op
            .pairs
            .iter()
            .filter(|p| breaking(p.class) == breaking(p.rust))
            .count();
        let json_right = op
            .pairs
            .iter()
            .filter(|p| breaking(p.json) == breaking(p.rust))
            .count();
        for v in &op.versions {
            let why = match (&v.generated, &v.compiled) {
                (Err(Failure::Refused(m)), _) => first_line(m),
                (Err(Failure::Memory), _) => "runaway: memory bound".to_string(),
                (Err(Failure::Time), _) => "runaway: time bound".to_string(),
                (Ok(_), Some(Err(e))) => format!("compile: {}", first_line(e)),
                _ => continue,
            };
            failures.entry(op.target.clone()).or_default().push(format!(
                "{} {} {}: {why}",
                v.date,
                &v.commit[..8],
                v.operation_id
            ));
        }
        for p in op.pairs.iter().filter(|p| !agrees(p)) {
            let v = &op.versions[p.to];
            failures.entry(op.target.clone()).or_default().push(format!(
                "{} {} {}: classed {} while the Rust API moved {}",
                v.date,
                &v.commit[..8],
                v.operation_id,
                p.class.map_or("nothing".to_string(), |c| c.to_string()),
                p.rust.map_or("nothing".to_string(), |c| c.to_string()),
            ));
        }
        let row = [
            op.seen,
            op.byte_only,
            distinct,
            generated,
            refused,
            runaway,
            compiled,
            right,
            op.pairs.len(),
            rust_alone,
            json_right,
            renames,
        ];
        for (t, v) in totals.iter_mut().zip(row) {
            *t += v;
        }
        let _ = writeln!(out, "| {} | {} |", op.target, cells(&row));
    }
    let _ = writeln!(out, "| **all {}** | {} |", ops.len(), cells(&totals));
    for (op, lines) in failures {
        let _ = writeln!(out, "\n{op}:");
        for line in lines {
            let _ = writeln!(out, "  {line}");
        }
    }
    out
}

/// Every pair as JSON lines (operation, both files, the three classes, diff's lines),
/// for finding real examples of a kind of change.
pub fn pairs_json(ops: &[Operation]) -> String {
    let class = |c: Option<Class>| c.map_or("none".to_string(), |c| c.to_string());
    let mut out = String::new();
    for op in ops {
        for p in &op.pairs {
            let (a, b) = (&op.versions[p.from], &op.versions[p.to]);
            let line = serde_json::json!({
                "operation": op.target,
                "old": a.file, "new": b.file,
                "old_id": a.operation_id, "new_id": b.operation_id,
                "class": class(p.class), "rust": class(p.rust), "json": class(p.json),
                "wire": p.wire,
                "lines": p.lines,
            });
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

/// A row's numbers as table cells: the pairs classed right as "n of m".
fn cells(row: &[usize; 12]) -> String {
    let mut out: Vec<String> = row.iter().map(ToString::to_string).collect();
    let of = format!("{} of {}", row[7], row[8]);
    out.splice(7..9, [of]);
    out.join(" | ")
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.chars().take(240).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_of_the_table_has_the_headers_columns() {
        let version = |generated| Version {
            commit: "0123456789abcdef".to_string(),
            date: "2024-01-02".to_string(),
            operation_id: "op".to_string(),
            file: PathBuf::new(),
            generated,
            compiled: Some(Ok(())),
        };
        let op = Operation {
            target: "GET /x".to_string(),
            seen: 3,
            byte_only: 1,
            versions: vec![version(Ok(String::new())), version(Ok(String::new()))],
            pairs: vec![Pair {
                to: 1,
                from: 0,
                class: Some(Class::Breaking),
                rust: None,
                json: Some(Class::Breaking),
                wire: true,
                renamed: true,
                lines: Vec::new(),
            }],
        };
        let table = table(&[op]);
        let columns = |line: &str| line.matches(" | ").count();
        let lines: Vec<&str> = table.lines().take(4).collect();
        assert_eq!(columns(lines[0]), columns(lines[2]), "{table}");
        assert_eq!(columns(lines[0]), columns(lines[3]), "{table}");
        assert!(lines[2].ends_with("| 1 of 1 | 0 | 0 | 1 |"), "{table}");
    }

    #[test]
    fn a_path_is_followed_whatever_its_parameters_are_named() {
        assert_eq!(
            spec::path_shape("/accounts/{identifier}/apps/{uuid}"),
            "/accounts/{}/apps/{}"
        );
        let doc = serde_json::json!({"paths": {"/accounts/{identifier}/apps": {
            "get": {"operationId": "old-name"}}}});
        assert_eq!(
            find(&doc, "get", "/accounts/{account_id}/apps"),
            Some("old-name")
        );
        assert_eq!(find(&doc, "post", "/accounts/{account_id}/apps"), None);
    }
}
