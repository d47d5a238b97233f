//! `cargo xtask extract <UPSTREAM_SPEC>`: pull the operations this workspace cares about
//! out of Cloudflare's full OpenAPI document, with exactly the components they reference.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use crate::refs;
use crate::spec::{self, METHODS, escape};

/// What provenance says of the upstream commit when `--commit` was not given.
pub const UNRECORDED_COMMIT: &str = "unrecorded (pass --commit)";

/// The fragment's top-level keys that are copied as they are (when present).
const COPIED_TOP_LEVEL: [&str; 3] = ["openapi", "info", "servers"];

/// A document read from disk or downloaded, with the sha256 of its bytes.
pub struct Document {
    /// The parsed document.
    pub doc: Value,
    /// sha256 of the file's bytes.
    pub sha256: String,
}

/// Reads a JSON or YAML document (YAML when the name ends in `.yaml`/`.yml`, or when
/// the text is not JSON). Key order is kept.
pub fn load_document(path: &Path) -> Result<Document> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_document(&bytes, &path.to_string_lossy())
}

/// Parses a document's bytes; `name` (a path or URL) picks YAML by its extension and
/// names the document in errors.
pub fn parse_document(bytes: &[u8], name: &str) -> Result<Document> {
    let sha256 = spec::sha256_hex(bytes);
    let lower = name.to_ascii_lowercase();
    let yaml_by_name = lower.ends_with(".yaml") || lower.ends_with(".yml");
    let doc: Value = if yaml_by_name {
        serde_yaml_ng::from_slice(bytes).with_context(|| format!("parsing {name} as YAML"))?
    } else {
        match serde_json::from_slice(bytes) {
            Ok(doc) => doc,
            Err(json_err) => serde_yaml_ng::from_slice(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "parsing {name} as JSON: {json_err} (and it is not YAML either; it starts \
                     with {:?})",
                    String::from_utf8_lossy(bytes.get(..60).unwrap_or(bytes))
                )
            })?,
        }
    };
    if !doc.is_object() {
        bail!(
            "{name} is not an OpenAPI document (not a JSON or YAML object; it starts with {:?})",
            String::from_utf8_lossy(bytes.get(..60).unwrap_or(bytes))
        );
    }
    Ok(Document { doc, sha256 })
}

/// Builds the fragment `openapi/` holds: [`extract_raw`] in [`canonical`] form.
pub fn extract(doc: &Value, operations: &[String]) -> Result<Value> {
    canonical(extract_raw(doc, operations)?)
}

/// The canonical form of a fragment: what it means, not how upstream spelled it.
///
/// Every `$ref` below `paths` is replaced by its target and the inlined component
/// sections dropped (security schemes stay), the document's tag descriptions dropped, a
/// status range is written `4XX`, and every object's keys are sorted. So
/// a respelling of upstream's component names (`identifier-Q2dssoPE` →
/// `identifier-8mFIFaGM`, about every other week for an Access operation) or a
/// re-ordering of keys leaves every byte of the fragment, and so of the generated
/// code, as it was: the weekly job opens no pull request for it. Arrays keep their
/// order (an enum's values, `oneOf` alternatives and parameters are ordered).
/// A discriminator's mapping points at its alternatives within the fragment. Vendor
/// extensions (`x-…`) are kept as they are, `$ref`s inside them unfollowed.
pub fn canonical(mut fragment: Value) -> Result<Value> {
    mapping_to_members(&mut fragment);
    crate::normalise::inline_refs(&mut fragment)?;
    members_to_pointers(&mut fragment, "");
    crate::normalise::status_keys(&mut fragment);
    if let Some(components) = fragment.get("components").and_then(Value::as_object)
        && components.is_empty()
    {
        fragment.as_object_mut().map(|o| o.remove("components"));
    }
    // The document's descriptions of its tags reach no generated code and no request:
    // their changes upstream would be pull requests for nothing (the operation keeps
    // its own `tags` list).
    fragment.as_object_mut().map(|o| o.remove("tags"));
    Ok(sort_keys(fragment))
}

/// What a discriminator's mapping value says between [`mapping_to_members`] and
/// [`members_to_pointers`]: "the alternative at this index".
const MEMBER_MARK: &str = "#member:";

/// A discriminator's `mapping` names its alternatives by component (`"block":
/// "#/components/schemas/9fGtU9ik_BlockRule"`), which upstream respells and inlining
/// removes: each value that is one of the alternatives' `$ref`s becomes a mark of that
/// alternative, which [`members_to_pointers`] turns into a pointer into the fragment.
fn mapping_to_members(node: &mut Value) {
    match node {
        Value::Object(map) => {
            let key = ["oneOf", "anyOf"]
                .into_iter()
                .find(|k| map.contains_key(*k));
            let refs: Vec<Option<String>> = key
                .and_then(|k| map.get(k))
                .and_then(Value::as_array)
                .map(|members| {
                    members
                        .iter()
                        .map(|m| m.get("$ref").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if let (Some(key), Some(mapping)) = (
                key,
                map.get_mut("discriminator")
                    .and_then(|d| d.get_mut("mapping"))
                    .and_then(Value::as_object_mut),
            ) {
                for value in mapping.values_mut() {
                    let target = value.as_str().map(str::to_string);
                    if let Some(i) = refs.iter().position(|r| r.is_some() && *r == target) {
                        *value = Value::from(format!("{MEMBER_MARK}{key}/{i}"));
                    }
                }
            }
            map.values_mut().for_each(mapping_to_members);
        }
        Value::Array(items) => items.iter_mut().for_each(mapping_to_members),
        _ => {}
    }
}

/// Turns [`mapping_to_members`]' marks into JSON pointers to the alternatives where
/// they now are (`#/paths/…/oneOf/2`): a reference into the fragment itself, the same
/// whatever upstream called the component.
fn members_to_pointers(node: &mut Value, at: &str) {
    match node {
        Value::Object(map) => {
            if let Some(mapping) = map
                .get_mut("discriminator")
                .and_then(|d| d.get_mut("mapping"))
                .and_then(Value::as_object_mut)
            {
                for value in mapping.values_mut() {
                    if let Some(member) = value.as_str().and_then(|v| v.strip_prefix(MEMBER_MARK)) {
                        *value = Value::from(format!("#{at}/{member}"));
                    }
                }
            }
            for (key, child) in map.iter_mut() {
                members_to_pointers(child, &format!("{at}/{}", escape(key)));
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                members_to_pointers(child, &format!("{at}/{i}"));
            }
        }
        _ => {}
    }
}

/// `value` with every object's keys in byte order, recursively.
fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// Builds a fragment holding `operations` (by operationId) and the transitive closure
/// of everything they reference, and nothing else, as upstream wrote it (key order,
/// component names and `$ref`s kept).
pub fn extract_raw(doc: &Value, operations: &[String]) -> Result<Value> {
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
    let wanted = |op: &Value| {
        op.get("operationId")
            .and_then(Value::as_str)
            .is_some_and(|id| operations.iter().any(|w| w == id))
    };

    // paths: only the wanted methods, with the path item's shared keys.
    let mut paths = Map::new();
    if let Some(all_paths) = doc.get("paths").and_then(Value::as_object) {
        for (path, item) in all_paths {
            let Some(item) = item.as_object() else {
                continue;
            };
            if !METHODS.iter().any(|m| item.get(*m).is_some_and(wanted)) {
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
    }

    // Security: each kept operation's requirement, or the document's when it has none.
    let global_security = doc.get("security").cloned();
    let mut needs_global_security = false;
    let mut scheme_names: Vec<String> = Vec::new();
    for item in paths.values() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let requirement = match op.get("security") {
                Some(s) => s,
                None => {
                    needs_global_security = true;
                    match &global_security {
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
    Ok(Value::Object(out))
}

fn used_tags(paths: &Map<String, Value>) -> HashSet<String> {
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
struct Closure<'a> {
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

/// Serialises a fragment the way it is committed: 2-space JSON, trailing newline.
pub fn to_committed_text(fragment: &Value) -> Result<String> {
    let mut text = serde_json::to_string_pretty(fragment)?;
    text.push('\n');
    Ok(text)
}

/// What `extract` (or `update`) would write: the fragment and the provenance record,
/// computed without touching the tree.
pub struct Plan {
    /// The new fragment.
    pub fragment: Value,
    /// Its committed text.
    pub fragment_text: String,
    /// The new provenance record.
    pub provenance: spec::Provenance,
    /// The fragment as it is on disk now.
    pub previous: spec::Fragment,
    /// The provenance record as it is now.
    pub previous_provenance: spec::Provenance,
}

/// Where a document came from, for the provenance record.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The upstream commit (`--commit`, or read from a pinned URL).
    pub commit: Option<String>,
    /// The URL it was downloaded from.
    pub url: Option<String>,
}

impl Plan {
    /// Extracts `operations` (default: the recorded ones) from `source` for the tree
    /// below `root`.
    pub fn new(
        root: &Path,
        source: &Document,
        operations: &[String],
        from: &Source,
    ) -> Result<Self> {
        let (prov, previous) = spec::load_fragment(root)?;
        let operations: Vec<String> = if operations.is_empty() {
            prov.operations
                .iter()
                .map(|id| follow_rename(&previous.doc, &source.doc, id))
                .collect()
        } else {
            operations.to_vec()
        };
        let fragment = extract(&source.doc, &operations)?;
        let fragment_text = to_committed_text(&fragment)?;
        let mut provenance = prov.clone();
        provenance.operations = operations;
        provenance.source_sha256 = Some(source.sha256.clone());
        provenance.source_url = from.url.clone();
        provenance.fragment_sha256 = spec::sha256_hex(fragment_text.as_bytes());
        provenance.upstream.commit = from
            .commit
            .clone()
            .unwrap_or_else(|| UNRECORDED_COMMIT.to_string());
        Ok(Self {
            fragment,
            fragment_text,
            provenance,
            previous,
            previous_provenance: prov,
        })
    }

    /// Whether the fragment would be byte for byte what is committed, for the same
    /// operations: upstream changed nothing this workspace takes from it.
    pub fn is_unchanged(&self) -> bool {
        // The sha256 of the committed file's bytes against that of the new text.
        self.previous.sha256 == self.provenance.fragment_sha256
            && self.provenance.operations == self.previous_provenance.operations
    }

    /// The new fragment as `generate` loads it.
    pub fn new_fragment(&self) -> spec::Fragment {
        spec::Fragment {
            rel_path: self.previous.rel_path.clone(),
            sha256: self.provenance.fragment_sha256.clone(),
            doc: self.fragment.clone(),
        }
    }

    /// The files to write below `root`: the fragment and the provenance record.
    pub fn files(&self, root: &Path) -> Result<Vec<(std::path::PathBuf, String)>> {
        let mut prov_text = serde_json::to_string_pretty(&self.provenance)?;
        prov_text.push('\n');
        Ok(vec![
            (
                spec::fragment_path(root, &self.provenance),
                self.fragment_text.clone(),
            ),
            (
                root.join(spec::OPENAPI_DIR).join(spec::PROVENANCE_FILE),
                prov_text,
            ),
        ])
    }
}

/// The operationId `id` (of the committed fragment `before`) has in `upstream`: the
/// same, or, when upstream renamed it, the id of the operation at the same method and
/// path (3 of 12 Access operations were renamed in two years). `diff` reports the
/// rename; an id found nowhere stays, for `extract` to refuse by name.
pub fn follow_rename(before: &Value, upstream: &Value, id: &str) -> String {
    let ops = spec::operations(upstream);
    if ops.iter().any(|op| id_of(op.op) == Some(id)) {
        return id.to_string();
    }
    let Some(old) = spec::operations(before)
        .into_iter()
        .find(|op| id_of(op.op) == Some(id))
    else {
        return id.to_string();
    };
    // The same path, or one whose parameters upstream renamed (`{identifier}` →
    // `{account_id}` across the Access paths in 2023), as replay-history follows it.
    let shape = spec::path_shape(old.path);
    let same_method = ops.iter().filter(|op| op.method == old.method);
    same_method
        .clone()
        .find(|op| op.path == old.path)
        .or_else(|| {
            same_method
                .clone()
                .find(|op| spec::path_shape(op.path) == shape)
        })
        .and_then(|op| id_of(op.op))
        .unwrap_or(id)
        .to_string()
}

fn id_of(op: &Value) -> Option<&str> {
    op.get("operationId").and_then(Value::as_str)
}

/// What `extract` wrote.
pub struct Extracted {
    /// The fragment written.
    pub fragment: Value,
    /// The previous fragment, as it was on disk.
    pub previous: Value,
    /// The operations it holds.
    pub operations: Vec<String>,
}

/// Extracts from `upstream` into `root/openapi/` and updates the provenance record.
/// `operations` defaults to the ones already recorded; `commit` is the upstream commit.
pub fn run(
    root: &Path,
    upstream: &Path,
    operations: &[String],
    commit: Option<&str>,
) -> Result<Extracted> {
    let source = load_document(upstream)?;
    let from = Source {
        commit: commit.map(str::to_string),
        url: None,
    };
    let plan = Plan::new(root, &source, operations, &from)?;
    spec::write_all_or_nothing(&plan.files(root)?)?;
    Ok(Extracted {
        operations: plan.provenance.operations.clone(),
        fragment: plan.fragment,
        previous: plan.previous.doc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn upstream() -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "servers": [{"url": "https://x"}],
            "tags": [{"name": "A"}, {"name": "B"}],
            "paths": {
                "/a/{id}": {
                    "parameters": [{"$ref": "#/components/parameters/id"}],
                    "post": {"operationId": "a", "tags": ["A"], "security": [{"tok": []}],
                        "responses": {"200": {"$ref": "#/components/responses/ok"}}},
                    "get": {"operationId": "a-get", "responses": {"200": {"description": "x"}}}
                },
                "/b": {"get": {"operationId": "b", "tags": ["B"], "responses": {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Loop"}}}}}}}
            },
            "components": {
                "parameters": {"id": {"name": "id", "in": "path", "required": true, "schema": {"$ref": "#/components/schemas/Id"}}},
                "responses": {"ok": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}}},
                "schemas": {
                    "Id": {"type": "string"},
                    "Body": {"type": "object", "properties": {"id": {"$ref": "#/components/schemas/Id"}}},
                    "Loop": {"type": "object", "properties": {"next": {"$ref": "#/components/schemas/Loop"}}},
                    "Unused": {"type": "string"}
                },
                "securitySchemes": {"tok": {"type": "http", "scheme": "bearer"}, "other": {"type": "apiKey", "in": "header", "name": "K"}}
            }
        })
    }

    #[test]
    fn keeps_exactly_the_closure() {
        let f = extract_raw(&upstream(), &["a".to_string()]).unwrap();
        assert_eq!(
            f["paths"].as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["/a/{id}"]
        );
        assert!(
            f["paths"]["/a/{id}"].get("get").is_none(),
            "other methods of the path are dropped"
        );
        assert!(f["paths"]["/a/{id}"].get("parameters").is_some());
        let schemas: Vec<&String> = f["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(
            schemas,
            vec!["Id", "Body"],
            "upstream order, nothing unused, no cycle"
        );
        assert_eq!(
            f["components"]["securitySchemes"]
                .as_object()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(f["tags"], json!([{"name": "A"}]));
        assert_eq!(
            f.as_object().unwrap().keys().collect::<Vec<_>>(),
            vec!["openapi", "info", "servers", "tags", "paths", "components"]
        );
    }

    /// `upstream()` with every component name respelled and every object's keys in
    /// reverse order, as upstream's generator does from week to week.
    fn respelled(doc: &Value) -> Value {
        let text = serde_json::to_string(doc)
            .unwrap()
            .replace("schemas/Id\"", "schemas/identifier-Q2dssoPE\"")
            .replace("\"Id\":", "\"identifier-Q2dssoPE\":")
            .replace("Body", "body-8mFIFaGM")
            .replace("\"ok\":", "\"ok-response\":")
            .replace("/ok", "/ok-response");
        reversed(serde_json::from_str(&text).unwrap())
    }

    fn reversed(value: Value) -> Value {
        match value {
            Value::Object(map) => {
                let mut entries: Vec<(String, Value)> = map.into_iter().collect();
                entries.reverse();
                Value::Object(entries.into_iter().map(|(k, v)| (k, reversed(v))).collect())
            }
            Value::Array(items) => Value::Array(items.into_iter().map(reversed).collect()),
            other => other,
        }
    }

    #[test]
    fn respelled_components_and_reordered_keys_give_the_same_bytes() {
        let a = extract(&upstream(), &["a".to_string()]).unwrap();
        let b = extract(&respelled(&upstream()), &["a".to_string()]).unwrap();
        assert_ne!(
            to_committed_text(&extract_raw(&upstream(), &["a".to_string()]).unwrap()).unwrap(),
            to_committed_text(&extract_raw(&respelled(&upstream()), &["a".to_string()]).unwrap())
                .unwrap(),
            "the raw extracts differ"
        );
        assert_eq!(
            to_committed_text(&a).unwrap(),
            to_committed_text(&b).unwrap()
        );
        assert!(a.pointer("/components/schemas").is_none(), "{a}");
        assert_eq!(
            a.pointer(
                "/paths/~1a~1{id}/post/responses/200/content/application~1json/schema/properties/id"
            ),
            Some(&json!({"type": "string"}))
        );
        assert_eq!(extract(&a, &["a".to_string()]).unwrap(), a, "a fixed point");
    }

    #[test]
    fn a_discriminator_mapping_points_into_the_fragment_whatever_the_names() {
        let with = |name: &str| {
            let mut doc = upstream();
            doc["components"]["schemas"][name] = json!({"type": "object"});
            doc["components"]["schemas"]["Body"]["properties"]["rule"] = json!({
                "oneOf": [{"$ref": format!("#/components/schemas/{name}")}],
                "discriminator": {"propertyName": "kind",
                    "mapping": {"block": format!("#/components/schemas/{name}")}}
            });
            extract(&doc, &["a".to_string()]).unwrap()
        };
        let a = with("9fGtU9ik_BlockRule");
        assert_eq!(a, with("fvctMenq_BlockRule"));
        let rule =
            "/paths/~1a~1{id}/post/responses/200/content/application~1json/schema/properties/rule";
        assert_eq!(
            a.pointer(&format!("{rule}/discriminator/mapping/block")),
            Some(&json!(format!("#{rule}/oneOf/0")))
        );
    }

    #[test]
    fn a_renamed_operation_is_followed_even_where_its_path_parameter_was_renamed() {
        let before = upstream();
        let mut after = upstream();
        let paths = after["paths"].as_object_mut().unwrap();
        let mut item = paths.shift_remove("/a/{id}").unwrap();
        item["post"]["operationId"] = json!("a-renamed");
        paths.insert("/a/{account_id}".to_string(), item);
        assert_eq!(follow_rename(&before, &after, "a"), "a-renamed");
        assert_eq!(follow_rename(&before, &before, "a"), "a");
        assert_eq!(follow_rename(&before, &after, "nowhere"), "nowhere");
    }

    #[test]
    fn a_range_status_is_written_in_capitals() {
        let mut doc = upstream();
        let op = doc.pointer_mut("/paths/~1a~1{id}/post/responses").unwrap();
        op["4xx"] = json!({"description": "client error"});
        let f = extract(&doc, &["a".to_string()]).unwrap();
        let responses = f.pointer("/paths/~1a~1{id}/post/responses").unwrap();
        assert!(
            responses.get("4XX").is_some() && responses.get("4xx").is_none(),
            "{responses}"
        );
    }

    #[test]
    fn a_dangling_ref_in_a_vendor_extension_is_left_as_written() {
        let mut doc = upstream();
        doc.pointer_mut("/paths/~1a~1{id}/post").unwrap()["x-cfDeprecation"] =
            json!({"$ref": "#/components/x-deprecations/gone"});
        let f = extract(&doc, &["a".to_string()]).unwrap();
        assert_eq!(
            f.pointer("/paths/~1a~1{id}/post/x-cfDeprecation/$ref"),
            Some(&json!("#/components/x-deprecations/gone"))
        );
    }

    #[test]
    fn unknown_operation_is_an_error() {
        let err = extract(&upstream(), &["nope".to_string()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("\"nope\""), "{err}");
    }

    #[test]
    fn a_cycle_in_scope_is_an_error_naming_it() {
        let err = extract(&upstream(), &["b".to_string()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("cyclic $ref") && err.contains("#/components/schemas/Loop"),
            "{err}"
        );
    }

    #[test]
    fn dangling_ref_is_an_error_naming_pointer_and_place() {
        let mut doc = upstream();
        doc["components"]["schemas"]
            .as_object_mut()
            .unwrap()
            .remove("Id");
        let err = extract(&doc, &["a".to_string()]).unwrap_err().to_string();
        assert!(
            err.contains("#/components/schemas/Id") && err.contains("dangling"),
            "{err}"
        );
    }

    #[test]
    fn global_security_is_kept_when_an_operation_relies_on_it() {
        let mut doc = upstream();
        doc["security"] = json!([{"other": []}]);
        let f = extract(&doc, &["a-get".to_string()]).unwrap();
        assert_eq!(f["security"], json!([{"other": []}]));
        assert!(f["components"]["securitySchemes"].get("other").is_some());
    }
}
