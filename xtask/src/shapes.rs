//! Schema shapes Cloudflare publishes that progenitor takes badly, rewritten before it
//! sees them (after `$ref`s are inlined). Like `normalise`, none of these changes what
//! goes over the wire; they keep the generator bounded and the Rust API stable.
//!
//! Found by `cargo xtask replay-history` on upstream's real history:
//! - `allOf` of plain objects (the envelope `allOf [common, {result}]`, an app type
//!   `allOf [base props, its own props]`) is merged here, so typify never merges them:
//!   its merging of nested compositions ran past 13 GB on `POST …/access/apps`. The
//!   merged object is the type typify would have made, and an envelope written inline
//!   or as `allOf` gives one Rust type.
//! - a composition of one member is that member (fields moved into a one-member
//!   `oneOf` leave the Rust API as it was);
//! - `title`s go: typify names types after them, so a title added upstream would
//!   rename a public type;
//! - a response schema's `default` goes: typify makes such a field non-optional, so a
//!   default added upstream would turn `Option<String>` into `String`; what the server
//!   omits stays `None`;
//! - `type: uuid` (written by upstream instead of `format: uuid`) is a string.

use anyhow::{Result, bail};
use serde_json::{Map, Value};

use crate::refs::NAMED_MAPS;
use crate::shapes_merge::{is_plain_object, merge_into};

/// Every rewrite, over each operation of an inlined document.
pub fn normalise(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for (key, op) in item.iter_mut() {
            if !crate::spec::METHODS.contains(&key.as_str()) {
                continue;
            }
            walk(op, false, false);
        }
        if let Some(params) = item.get_mut("parameters") {
            walk(params, false, false);
        }
    }
}

/// Request bodies as progenitor takes them: one media type, with a schema. Where JSON
/// is one of several, the JSON one is kept (the others are the same data in other
/// encodings, which this client never sends); several without JSON (a Workers upload:
/// multipart, JavaScript) are refused naming the operation and the media types. A JSON
/// body with no schema is any JSON value.
pub fn request_bodies(doc: &mut Value) -> Result<()> {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return Ok(());
    };
    for (path, item) in paths.iter_mut() {
        for method in crate::spec::METHODS {
            let Some(op) = item.get_mut(method) else {
                continue;
            };
            let id = op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("(no operationId)")
                .to_string();
            let Some(content) = op
                .get_mut("requestBody")
                .and_then(|b| b.get_mut("content"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            let json = content.keys().find(|k| is_json(k)).cloned();
            match json {
                Some(kept) => content.retain(|k, _| *k == kept),
                None if content.len() > 1 => bail!(
                    "operation {id} ({} {path}) takes a request body only as {}; the generator \
                     takes one media type and this client sends JSON (at /paths/{}/{method}/requestBody)",
                    method.to_uppercase(),
                    content.keys().cloned().collect::<Vec<_>>().join(", "),
                    crate::spec::escape(path),
                ),
                None => {}
            }
            for media in content.values_mut() {
                if let Some(media) = media.as_object_mut() {
                    media
                        .entry("schema")
                        .or_insert_with(|| Value::Object(Map::new()));
                }
            }
        }
    }
    Ok(())
}

fn is_json(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or_default().trim();
    essence.eq_ignore_ascii_case("application/json")
}

/// Rewrites every schema below `node`. `names`: the keys of `node` are names, not
/// keywords; `response`: inside a response (defaults go).
fn walk(node: &mut Value, names: bool, response: bool) {
    match node {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                // Values, not schemas: a default, an example or an enum's values are
                // data, whatever keys they hold, and so is a vendor extension.
                if !names && is_data(key) {
                    continue;
                }
                let holds_names = !names && NAMED_MAPS.contains(&key.as_str());
                let in_response = response || (!names && key == "responses");
                walk(child, holds_names, in_response);
            }
            if !names {
                rewrite(map, response);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|i| walk(i, false, response)),
        _ => {}
    }
}

/// Keywords whose value is data, never a schema to rewrite.
fn is_data(key: &str) -> bool {
    matches!(key, "default" | "enum" | "const" | "example" | "examples") || key.starts_with("x-")
}

/// One schema (or keyword object), its children already rewritten.
fn rewrite(map: &mut Map<String, Value>, response: bool) {
    if map.get("title").is_some_and(Value::is_string) && looks_like_schema(map) {
        map.remove("title");
    }
    if response && looks_like_schema(map) {
        map.remove("default");
        // An enum of arrays or objects (rulesets' `errors: {enum: [[]]}`, "always
        // empty") becomes a newtype typify compares with `==`, on item types it derives
        // no `PartialEq` for: the code does not compile. A response is read as sent.
        let composite = map
            .get("enum")
            .and_then(Value::as_array)
            .is_some_and(|values| values.iter().any(|v| v.is_array() || v.is_object()));
        if composite {
            map.remove("enum");
        }
    }
    // A default the schema itself refuses (`default: "true"` on a boolean, in a
    // ruleset's rules) stops typify ("value does not conform"); the server applies its
    // default whether the schema says it right or not.
    if map.get("default").is_some_and(|d| !conforms(d, map)) {
        map.remove("default");
    }
    // A parameter with neither `schema` nor `content` (DNS records' presence flags,
    // `comment.present`) is any string.
    if map.get("in").is_some_and(Value::is_string)
        && map.get("name").is_some_and(Value::is_string)
        && !map.contains_key("schema")
        && !map.contains_key("content")
        && !map.contains_key("$ref")
    {
        map.insert("schema".into(), serde_json::json!({"type": "string"}));
    }
    if map.get("type").and_then(Value::as_str) == Some("uuid") {
        map.insert("type".into(), Value::from("string"));
        map.entry("format").or_insert_with(|| Value::from("uuid"));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        let single = map
            .get(key)
            .and_then(Value::as_array)
            .filter(|members| members.len() == 1)
            .and_then(|members| members.first())
            .and_then(Value::as_object)
            .cloned();
        if let Some(member) = single
            && merge_into(map, &member, key)
        {
            map.remove(key);
        }
    }
    let plain = map
        .get("allOf")
        .and_then(Value::as_array)
        .is_some_and(|members| members.iter().all(is_plain_object));
    if plain {
        let members = map
            .get("allOf")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut merged = map.clone();
        merged.remove("allOf");
        if members
            .iter()
            .filter_map(Value::as_object)
            .all(|m| merge_into(&mut merged, m, "allOf"))
        {
            *map = merged;
        }
    }
}

/// Whether `value` has the schema's `type` and is one of its `enum` values, where it
/// says them (the cheap part of JSON Schema validation typify does on defaults).
fn conforms(value: &Value, schema: &Map<String, Value>) -> bool {
    let typed = match schema.get("type").and_then(Value::as_str) {
        Some("string") => value.is_string(),
        Some("boolean") => value.is_boolean(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        _ => true,
    };
    let listed = schema
        .get("enum")
        .and_then(Value::as_array)
        .is_none_or(|values| values.contains(value));
    typed && listed
}

/// Whether a map is a schema (it has a schema keyword), not e.g. an `info` object.
fn looks_like_schema(map: &Map<String, Value>) -> bool {
    [
        "type",
        "properties",
        "items",
        "allOf",
        "anyOf",
        "oneOf",
        "enum",
        "format",
        "nullable",
        "additionalProperties",
    ]
    .iter()
    .any(|k| map.contains_key(*k))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(response: Value) -> Value {
        json!({"paths": {"/x": {"get": {"operationId": "x", "responses": {"200": {
            "description": "ok",
            "content": {"application/json": {"schema": response}}}}}}}})
    }

    fn schema(doc: &Value) -> &Value {
        doc.pointer("/paths/~1x/get/responses/200/content/application~1json/schema")
            .unwrap()
    }

    #[test]
    fn an_envelope_in_all_of_is_one_object() {
        let mut doc = op(json!({"allOf": [
            {"type": "object", "properties": {"success": {"type": "boolean"}}, "required": ["success"]},
            {"properties": {"result": {"type": "string"}}}
        ]}));
        normalise(&mut doc);
        assert_eq!(
            schema(&doc),
            &json!({"type": "object", "properties": {"success": {"type": "boolean"},
                "result": {"type": "string"}}, "required": ["success"]})
        );
    }

    #[test]
    fn a_property_restated_with_other_prose_merges() {
        let mut doc = op(json!({"allOf": [
            {"type": "object", "properties": {"kind": {"type": "string", "description": "base"}}},
            {"properties": {"kind": {"type": "string", "example": "ssh", "description": "ssh"}}}
        ]}));
        normalise(&mut doc);
        assert_eq!(
            schema(&doc),
            &json!({"type": "object", "properties": {"kind": {"type": "string",
                "description": "base", "example": "ssh"}}})
        );
    }

    #[test]
    fn the_envelopes_generic_result_gives_way_to_the_operations_own() {
        let mut doc = op(json!({"allOf": [
            {"type": "object", "properties": {"result": {"anyOf": [
                {"type": "object"}, {"type": "array", "items": {}}, {"type": "string"}]}}},
            {"properties": {"result": {"type": "object", "properties": {"id": {"type": "string"}}}}}
        ]}));
        normalise(&mut doc);
        assert_eq!(
            schema(&doc),
            &json!({"type": "object", "properties": {"result": {"type": "object",
                "properties": {"id": {"type": "string"}}}}})
        );
    }

    #[test]
    fn members_that_disagree_stay_a_composition() {
        let original = json!({"allOf": [
            {"properties": {"a": {"type": "string"}}},
            {"properties": {"a": {"type": "integer"}}}
        ]});
        let mut doc = op(original.clone());
        normalise(&mut doc);
        assert_eq!(schema(&doc), &original);
    }

    #[test]
    fn titles_and_response_defaults_go_and_a_property_named_title_stays() {
        let mut doc = op(json!({"type": "object", "title": "Renames the type",
            "properties": {"title": {"type": "string", "default": "x", "title": "T"}}}));
        normalise(&mut doc);
        assert_eq!(
            schema(&doc),
            &json!({"type": "object", "properties": {"title": {"type": "string"}}})
        );
    }

    #[test]
    fn a_default_the_schema_refuses_goes_and_a_parameter_without_schema_is_a_string() {
        let mut doc = json!({"paths": {"/x": {"post": {"operationId": "x",
            "parameters": [{"in": "query", "name": "comment.present"}],
            "requestBody": {"content": {"application/json": {"schema": {"type": "object",
                "properties": {"enabled": {"type": "boolean", "default": "true"},
                               "kind": {"type": "string", "enum": ["a"], "default": "a"}}}}}},
            "responses": {}}}}});
        normalise(&mut doc);
        let op = &doc["paths"]["/x"]["post"];
        assert_eq!(op["parameters"][0]["schema"], json!({"type": "string"}));
        let props = &op["requestBody"]["content"]["application/json"]["schema"]["properties"];
        assert_eq!(props["enabled"], json!({"type": "boolean"}));
        assert_eq!(
            props["kind"]["default"],
            json!("a"),
            "a default that conforms stays"
        );
    }

    #[test]
    fn values_are_data_and_left_as_they_are() {
        let value = json!({"type": "uuid", "title": "Main", "in": "header", "name": "X-Key",
            "allOf": [{"properties": {"a": {}}}]});
        let mut doc = json!({"paths": {"/x": {"post": {"operationId": "x",
            "requestBody": {"content": {"application/json": {"schema": {"type": "object",
                "properties": {"cfg": {"type": "object", "default": value.clone(),
                    "example": value.clone(), "x-sample": value.clone()}}}}}},
            "responses": {}}}}});
        normalise(&mut doc);
        let cfg = &doc["paths"]["/x"]["post"]["requestBody"]["content"]["application/json"]["schema"]
            ["properties"]["cfg"];
        assert_eq!(cfg["default"], value);
        assert_eq!(cfg["example"], value);
        assert_eq!(cfg["x-sample"], value);
    }

    #[test]
    fn a_response_enum_of_arrays_goes() {
        let mut doc = op(json!({"type": "object", "properties": {"errors": {
            "type": "array", "enum": [[]], "items": {"type": "object"}}}}));
        normalise(&mut doc);
        assert_eq!(
            schema(&doc)["properties"]["errors"],
            json!({"type": "array", "items": {"type": "object"}})
        );
    }

    #[test]
    fn a_one_member_one_of_is_its_member_and_uuid_is_a_string() {
        let mut doc = op(json!({"oneOf": [{"type": "uuid"}]}));
        normalise(&mut doc);
        assert_eq!(schema(&doc), &json!({"type": "string", "format": "uuid"}));
    }
}
