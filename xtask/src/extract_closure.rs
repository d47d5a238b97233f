//! The operations in scope cut out of Cloudflare's full document with the transitive
//! closure of what they reference, and nothing else, as upstream wrote it.

use std::collections::HashSet;

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use crate::refs;
use crate::spec::{self, METHODS, escape};

/// The fragment's top-level keys that are copied as they are (when present).
pub(crate) const COPIED_TOP_LEVEL: [&str; 3] = ["openapi", "info", "servers"];

/// Builds a fragment holding `operations` (by operationId) and the transitive closure
/// of everything they reference, and nothing else, as upstream wrote it (key order,
/// component names and `$ref`s kept).
pub fn extract_raw(doc: &Value, operations: &[String]) -> Result<Value> {
    check_scope(doc, operations)?;
    let wanted = |op: &Value| {
        op.get("operationId")
            .and_then(Value::as_str)
            .is_some_and(|id| operations.iter().any(|w| w == id))
    };
    let paths = wanted_paths(doc, wanted);
    let (needs_global_security, scheme_names) = security_schemes(doc, &paths);

    // The transitive closure of `$ref`s, from the kept paths and security schemes.
    let mut closure = Closure::new(doc);
    closure.walk(&Value::Object(paths.clone()), "#/paths")?;
    // A requirement is a scheme's name, not a `$ref`: one that names no scheme (upstream
    // published six such versions on 2023-08-04, every name prefixed, no scheme renamed)
    // is kept as written, and `diff` reports the auth alternative as changed.
    for name in &scheme_names {
        let pointer = format!("#/components/securitySchemes/{}", escape(name));
        if doc.pointer(&pointer[1..]).is_some() {
            closure.visit(&pointer, "a security requirement")?;
        }
    }
    Ok(Value::Object(assemble(
        doc,
        paths,
        &closure,
        needs_global_security,
    )))
}

/// Every operation asked for is in the document.
fn check_scope(doc: &Value, operations: &[String]) -> Result<()> {
    if operations.is_empty() {
        bail!("no operations to extract");
    }
    let all = spec::operations(doc);
    for id in operations {
        if !all
            .iter()
            .any(|o| o.op.get("operationId").and_then(Value::as_str) == Some(id))
        {
            bail!(
                "operationId {id:?} is not in the document ({} operations)",
                all.len()
            );
        }
    }
    Ok(())
}

/// The path items that hold a wanted operation: only the wanted methods, with the path
/// item's shared keys.
fn wanted_paths(doc: &Value, wanted: impl Fn(&Value) -> bool) -> Map<String, Value> {
    let mut paths = Map::new();
    for (path, item) in doc
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let Some(item) = item.as_object() else {
            continue;
        };
        if !METHODS.iter().any(|m| item.get(*m).is_some_and(&wanted)) {
            continue;
        }
        let mut kept = Map::new();
        for (key, value) in item {
            let is_method = METHODS.contains(&key.as_str());
            if !is_method || wanted(value) {
                kept.insert(key.clone(), value.clone());
            }
        }
        paths.insert(path.clone(), Value::Object(kept));
    }
    paths
}

/// The security schemes the kept operations name (each operation's requirement, or the
/// document's when it has none), and whether the document's requirement is needed.
fn security_schemes(doc: &Value, paths: &Map<String, Value>) -> (bool, Vec<String>) {
    let global_security = doc.get("security");
    let mut needs_global_security = false;
    let mut scheme_names: Vec<String> = Vec::new();
    for item in paths.values() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let requirement = match op.get("security") {
                Some(s) => s,
                None => {
                    needs_global_security = true;
                    match global_security {
                        Some(s) => s,
                        None => continue,
                    }
                }
            };
            for alternative in requirement.as_array().into_iter().flatten() {
                for name in alternative
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k)
                {
                    if !scheme_names.contains(name) {
                        scheme_names.push(name.clone());
                    }
                }
            }
        }
    }
    (needs_global_security, scheme_names)
}

/// The fragment: the document's top level in its own order, with the kept paths, the
/// tags they use and the components the closure reached.
fn assemble(
    doc: &Value,
    mut paths: Map<String, Value>,
    closure: &Closure<'_>,
    needs_global_security: bool,
) -> Map<String, Value> {
    // Before the loop: `paths` is moved out when its key comes, which upstream may put
    // before or after `tags`.
    let used = used_tags(&paths);
    let mut out = Map::new();
    for (key, value) in doc.as_object().into_iter().flatten() {
        match key.as_str() {
            k if COPIED_TOP_LEVEL.contains(&k) => {
                out.insert(key.clone(), value.clone());
            }
            "security" if needs_global_security => {
                out.insert(key.clone(), value.clone());
            }
            "tags" => {
                let kept: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| {
                        t.get("name")
                            .and_then(Value::as_str)
                            .is_some_and(|n| used.contains(n))
                    })
                    .cloned()
                    .collect();
                if !kept.is_empty() {
                    out.insert(key.clone(), Value::Array(kept));
                }
            }
            "paths" => {
                out.insert(key.clone(), Value::Object(std::mem::take(&mut paths)));
            }
            "components" => {
                let components = closure.components(value);
                if !components.is_empty() {
                    out.insert(key.clone(), Value::Object(components));
                }
            }
            _ => {}
        }
    }
    out
}

pub(crate) fn used_tags(paths: &Map<String, Value>) -> HashSet<String> {
    paths
        .values()
        .flat_map(|item| METHODS.iter().filter_map(move |m| item.get(*m)))
        .flat_map(|op| {
            op.get("tags")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter_map(|t| t.as_str().map(str::to_string))
        .collect()
}

/// Depth-first walk over `$ref`s that records every component reached and refuses
/// dangling, non-local and cyclic references.
pub(crate) struct Closure<'a> {
    doc: &'a Value,
    done: HashSet<String>,
    chain: refs::Chain,
}

impl<'a> Closure<'a> {
    fn new(doc: &'a Value) -> Self {
        Self {
            doc,
            done: HashSet::new(),
            chain: refs::Chain::default(),
        }
    }

    fn walk(&mut self, node: &Value, at: &str) -> Result<()> {
        self.walk_in(node, at, false)
    }

    /// `names`: the keys of `node` are names (of properties, statuses…), not keywords.
    fn walk_in(&mut self, node: &Value, at: &str, names: bool) -> Result<()> {
        match node {
            Value::Object(map) => {
                if let Some(Value::String(pointer)) = map.get("$ref") {
                    self.visit(pointer, at)?;
                }
                // A vendor extension's `$ref`s (`x-cfDeprecation`) are not the API's:
                // they are neither followed nor required to resolve.
                for (k, v) in map {
                    if k != "$ref" && (names || !k.starts_with("x-")) {
                        let holds_names = !names && refs::NAMED_MAPS.contains(&k.as_str());
                        self.walk_in(v, &format!("{at}/{}", escape(k)), holds_names)?;
                    }
                }
            }
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    self.walk(v, &format!("{at}/{i}"))?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn visit(&mut self, pointer: &str, from: &str) -> Result<()> {
        if self.done.contains(pointer) {
            return Ok(());
        }
        let target = refs::target(self.doc, pointer, from)?;
        // Extract copies whole components, so a reference must name one.
        let Some(local) = pointer.strip_prefix("#/components/") else {
            bail!(
                "$ref {pointer:?} at {from} does not point into #/components/; only local component references are supported"
            );
        };
        if local.split('/').count() != 2 {
            bail!(
                "$ref {pointer:?} at {from} must name one component (#/components/<section>/<name>)"
            );
        }
        self.chain.enter(pointer)?;
        self.walk(target, pointer)?;
        self.chain.leave();
        self.done.insert(pointer.to_string());
        Ok(())
    }

    /// The reached components, in upstream section and entry order.
    fn components(&self, upstream: &Value) -> Map<String, Value> {
        let mut out = Map::new();
        for (section, entries) in upstream.as_object().into_iter().flatten() {
            let mut kept = Map::new();
            for (name, value) in entries.as_object().into_iter().flatten() {
                let pointer = format!("#/components/{}/{}", escape(section), escape(name));
                if self.done.contains(&pointer) {
                    kept.insert(name.clone(), value.clone());
                }
            }
            if !kept.is_empty() {
                out.insert(section.clone(), Value::Object(kept));
            }
        }
        out
    }
}
