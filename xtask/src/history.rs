//! `cargo xtask replay-history <API_SCHEMAS_GIT_DIR>`: the spec tooling run over
//! Cloudflare's real history instead of cases we wrote.
//!
//! It walks every readable `openapi.json` in a clone of `cloudflare/api-schemas` (oldest
//! first), follows each operation by method and path (its operationId may change), and
//! for each distinct fragment runs extract → bounded generate → `cargo check` of the
//! generated code, and `diff` on each consecutive pair, judged against what the
//! generated Rust API did. The table it prints is what CONTRIBUTING.md quotes.

use std::path::PathBuf;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::bounded::{self, Bound, Failure};
use crate::extract;
use crate::history_compile::compile_all;
use crate::history_git::{Cat, commits};
pub use crate::history_model::{Operation, Options, Pair, Version};
use crate::history_pairs::pairs;
pub use crate::history_table::{pairs_json, table};
use crate::spec::{self, Fragment};

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

/// Replays the history; one entry per operation.
pub fn run(options: &Options) -> Result<Vec<Operation>> {
    let commits = commits(options)?;
    eprintln!("{} readable versions of openapi.json", commits.len());
    let targets: Vec<(String, String)> = options
        .operations
        .iter()
        .map(|t| parse_target(t))
        .collect::<Result<_>>()?;
    let mut walk = Walk::new(options);
    let mut cat = Cat::start(&options.git_dir)?;
    for (n, (commit, date, blob)) in commits.iter().enumerate() {
        if n % 100 == 0 {
            eprintln!("  {n}/{} ({date})", commits.len());
        }
        let bytes = cat.read(blob)?;
        let Ok(doc) = serde_json::from_slice::<Value>(&bytes) else {
            continue;
        };
        for (i, (method, path)) in targets.iter().enumerate() {
            if let Some(id) = find(&doc, method, path) {
                walk.visit(i, commit, date, id, &doc)?;
            }
        }
    }
    let mut ops = walk.ops;
    if options.compile {
        compile_all(options, &mut ops)?;
    }
    for op in &mut ops {
        op.pairs = pairs(op)?;
    }
    Ok(ops)
}

/// What the walk through upstream's history keeps per operation: the versions found,
/// the last raw and canonical text (a repeat is no new version), and the generated
/// code of every fragment seen (upstream flips back and forth).
struct Walk<'a> {
    options: &'a Options,
    ops: Vec<Operation>,
    last_raw: Vec<Option<String>>,
    last_canonical: Vec<Option<String>>,
    cache: std::collections::HashMap<String, std::result::Result<String, Failure>>,
}

impl<'a> Walk<'a> {
    fn new(options: &'a Options) -> Self {
        let ops: Vec<Operation> = options
            .operations
            .iter()
            .map(|t| Operation {
                target: t.clone(),
                ..Operation::default()
            })
            .collect();
        let n = ops.len();
        Walk {
            options,
            ops,
            last_raw: vec![None; n],
            last_canonical: vec![None; n],
            cache: std::collections::HashMap::new(),
        }
    }

    /// Operation `i` as `doc` (upstream at `commit`) has it: extracted, and when its
    /// canonical form is new, written and generated as a new version.
    fn visit(&mut self, i: usize, commit: &str, date: &str, id: &str, doc: &Value) -> Result<()> {
        self.ops[i].seen += 1;
        let raw = match extract::extract_raw(doc, &[id.to_string()]) {
            Ok(raw) => raw,
            Err(e) => {
                record_extract_failure(&mut self.ops[i], commit, date, id, &e);
                return Ok(());
            }
        };
        let raw_text = extract::to_committed_text(&raw)?;
        if self.last_raw[i].as_deref() == Some(raw_text.as_str()) {
            return Ok(());
        }
        self.last_raw[i] = Some(raw_text);
        let canonical = match extract::canonical(raw) {
            Ok(c) => c,
            Err(e) => {
                record_extract_failure(&mut self.ops[i], commit, date, id, &e);
                return Ok(());
            }
        };
        let text = extract::to_committed_text(&canonical)?;
        if self.last_canonical[i].as_deref() == Some(text.as_str()) {
            self.ops[i].byte_only += 1;
            return Ok(());
        }
        self.last_canonical[i] = Some(text.clone());
        let dir = self.options.work_dir.join(slug(&self.ops[i].target));
        std::fs::create_dir_all(&dir)?;
        let file = dir.join(format!(
            "{:03}-{}.json",
            self.ops[i].versions.len(),
            commit.get(..8).unwrap_or(commit)
        ));
        std::fs::write(&file, &text)?;
        let fragment = Fragment {
            rel_path: "openapi/replay.json".to_string(),
            sha256: spec::sha256_hex(text.as_bytes()),
            doc: canonical,
        };
        let generated = self.generated(&fragment)?;
        self.ops[i].versions.push(Version {
            commit: commit.to_string(),
            date: date.to_string(),
            operation_id: id.to_string(),
            file,
            generated,
            compiled: None,
        });
        Ok(())
    }

    /// The fragment's generated code, rendered once however often upstream returns to
    /// it (an envelope in `allOf`, then `anyOf`, then `allOf` again).
    fn generated(&mut self, fragment: &Fragment) -> Result<std::result::Result<String, Failure>> {
        if let Some(done) = self.cache.get(&fragment.sha256) {
            return Ok(done.clone());
        }
        let done = bounded::render(
            &self.options.exe,
            fragment,
            &self.options.work_dir.join("scratch"),
            Bound::default(),
        )?;
        self.cache.insert(fragment.sha256.clone(), done.clone());
        Ok(done)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
