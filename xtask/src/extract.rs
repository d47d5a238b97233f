//! `cargo xtask extract <UPSTREAM_SPEC>`: pull the operations this workspace cares about
//! out of Cloudflare's full OpenAPI document, with exactly the components they reference.

use std::path::Path;

use anyhow::Result;
use serde_json::Value;

pub use crate::document::{Document, load_document, parse_document};
pub use crate::extract_canonical::canonical;
pub use crate::extract_closure::extract_raw;
use crate::spec;

/// What provenance says of the upstream commit when `--commit` was not given.
pub const UNRECORDED_COMMIT: &str = "unrecorded (pass --commit)";

/// Builds the fragment `openapi/` holds: [`extract_raw`] in [`canonical`] form.
pub fn extract(doc: &Value, operations: &[String]) -> Result<Value> {
    canonical(extract_raw(doc, operations)?)
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
