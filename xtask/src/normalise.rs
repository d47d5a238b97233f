//! Spec normalisations applied before progenitor sees the document.
//!
//! Each step is a small function over the JSON document, so that its effect can be unit
//! tested on its own and seen in the `--check` diff of the generated code. The steps
//! never change what goes over the wire; they change how progenitor names and shapes the
//! Rust types.

use anyhow::{Result, bail};
use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use crate::refs;
use crate::spec::METHODS;

/// Component sections whose entries are inlined by [`inline_refs`] and then dropped, so
/// that no Rust name comes from an upstream component name.
const INLINED_SECTIONS: [&str; 4] = ["schemas", "parameters", "responses", "requestBodies"];

/// Title given to the catch-all alternative of an opened enum; it becomes the variant name.
pub const UNKNOWN_VARIANT: &str = "Unknown";

/// Every normalisation, in the order `generate` applies them.
pub fn normalise(doc: &mut Value) -> Result<()> {
    inline_refs(doc)?;
    name_response_bodies(doc)?;
    open_response_enums(doc);
    Ok(())
}

/// Replaces every local `$ref` below `paths` by a copy of its target and drops the
/// inlined component sections (security schemes stay).
///
/// Upstream writes this operation with shared components whose names Cloudflare may
/// change at will; inlining makes the generated code depend only on the operation, so an
/// inlined fragment and a `$ref`-heavy one generate the same Rust. A `$ref` that points
/// nowhere, outside the document, or into a cycle is an error naming the pointer.
pub fn inline_refs(doc: &mut Value) -> Result<()> {
    if let Some(paths) = doc.get("paths") {
        let inlined = refs::inline(doc, paths)?;
        doc["paths"] = inlined;
    }
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        for section in INLINED_SECTIONS {
            components.remove(section);
        }
    }
    Ok(())
}

/// The Rust type name a response body gets: `{Operation}Response` for a 2xx body,
/// `{Operation}{Reason}Response` (e.g. `...NotFoundResponse`) for any other status.
pub fn response_type_name(operation_id: &str, status: &str) -> String {
    let op = operation_id.to_upper_camel_case();
    if status.starts_with('2') {
        return format!("{op}Response");
    }
    let reason = status
        .parse::<u16>()
        .ok()
        .and_then(status_reason)
        .map(str::to_string)
        .unwrap_or_else(|| format!("Status{status}"));
    format!("{op}{}Response", reason.to_upper_camel_case())
}

/// Canonical reason phrases for the statuses an API answers with.
fn status_reason(code: u16) -> Option<&'static str> {
    Some(match code {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => return None,
    })
}

/// Moves each inline JSON response body into `components.schemas` under a name derived
/// from the operation and status, and points the response at it.
///
/// progenitor names every inline response body `{Operation}Response`, so the 200 and
/// 404 bodies of one operation collapse into one type and the 404 body no longer
/// decodes. Naming them apart gives each status its own type.
pub fn name_response_bodies(doc: &mut Value) -> Result<()> {
    let mut hoisted: Vec<(String, Value)> = Vec::new();
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in METHODS {
                let Some(op) = item.get_mut(method) else {
                    continue;
                };
                let Some(op_id) = op.get("operationId").and_then(Value::as_str) else {
                    continue;
                };
                let op_id = op_id.to_string();
                let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
                    continue;
                };
                for (status, response) in responses.iter_mut() {
                    let Some(content) = response.get_mut("content").and_then(Value::as_object_mut)
                    else {
                        continue;
                    };
                    for (media, body) in content.iter_mut() {
                        if !is_json_media_type(media) {
                            continue;
                        }
                        let Some(schema) = body.get_mut("schema") else {
                            continue;
                        };
                        if schema.get("$ref").is_some() {
                            continue;
                        }
                        let name = response_type_name(&op_id, status);
                        if hoisted.iter().any(|(n, _)| *n == name) {
                            bail!("two response bodies would both be named {name}");
                        }
                        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
                        hoisted.push((name, std::mem::replace(schema, reference)));
                    }
                }
            }
        }
    }
    if hoisted.is_empty() {
        return Ok(());
    }
    let root = doc
        .as_object_mut()
        .ok_or_else(|| anyhow::anyhow!("document is not an object"))?;
    let components = root
        .entry("components")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(components) = components else {
        bail!("components is not an object");
    };
    let schemas = components
        .entry("schemas")
        .or_insert_with(|| Value::Object(Map::new()));
    let Value::Object(schemas) = schemas else {
        bail!("components.schemas is not an object");
    };
    for (name, schema) in hoisted {
        if schemas.contains_key(&name) {
            bail!("components.schemas.{name} already exists");
        }
        schemas.insert(name, schema);
    }
    Ok(())
}

fn is_json_media_type(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// Turns every string `enum` inside the named response bodies into an open enum:
/// `oneOf: [<the known values, titled {Type}Known>, <any string, titled Unknown>]`.
///
/// progenitor makes a closed Rust enum of a string `enum`, so one value Cloudflare adds
/// tomorrow (`"syncing"`) would fail the whole response. With the open form progenitor
/// emits an untagged enum whose last variant, `Unknown(String)`, keeps the raw value.
/// Request parameters keep their closed enums: what we send stays strict.
pub fn open_response_enums(doc: &mut Value) {
    let Some(schemas) = doc
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    else {
        return;
    };
    for (name, schema) in schemas.iter_mut() {
        open_enums_in(schema, name);
    }
}

fn open_enums_in(schema: &mut Value, type_name: &str) {
    let Value::Object(map) = schema else { return };
    let is_string_enum = map.get("type").and_then(Value::as_str) == Some("string")
        && map.get("enum").is_some_and(Value::is_array);
    if is_string_enum {
        let mut known = Map::new();
        known.insert("title".into(), Value::String(format!("{type_name}Known")));
        known.insert("type".into(), Value::String("string".into()));
        if let Some(values) = map.remove("enum") {
            known.insert("enum".into(), values);
        }
        map.remove("type");
        let unknown = json!({ "title": UNKNOWN_VARIANT, "type": "string" });
        map.insert(
            "oneOf".into(),
            Value::Array(vec![Value::Object(known), unknown]),
        );
        return;
    }
    if let Some(Value::Object(props)) = map.get_mut("properties") {
        for (prop, sub) in props.iter_mut() {
            open_enums_in(sub, &format!("{type_name}{}", prop.to_upper_camel_case()));
        }
    }
    if let Some(items) = map.get_mut("items") {
        open_enums_in(items, &format!("{type_name}Item"));
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(subs)) = map.get_mut(key) {
            for sub in subs {
                open_enums_in(sub, type_name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op_doc(responses: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "info": {"title": "t", "version": "1"},
            "paths": {"/x/{id}": {"post": {"operationId": "do-thing", "responses": responses}}}
        })
    }

    #[test]
    fn response_names_come_from_the_operation_and_status() {
        assert_eq!(response_type_name("do-thing", "200"), "DoThingResponse");
        assert_eq!(
            response_type_name("do-thing", "404"),
            "DoThingNotFoundResponse"
        );
        assert_eq!(
            response_type_name("do-thing", "429"),
            "DoThingTooManyRequestsResponse"
        );
        assert_eq!(
            response_type_name("do-thing", "499"),
            "DoThingStatus499Response"
        );
        assert_eq!(
            response_type_name("do-thing", "default"),
            "DoThingStatusdefaultResponse"
        );
    }

    #[test]
    fn bodies_of_different_statuses_get_different_schemas() {
        let body = |p: &str| json!({"content": {"application/json": {"schema": {"type": "object", "properties": {p: {"type": "string"}}}}}});
        let mut doc = op_doc(json!({"200": body("ok"), "404": body("errors")}));
        name_response_bodies(&mut doc).unwrap();
        let ok = doc
            .pointer("/paths/~1x~1{id}/post/responses/200/content/application~1json/schema/$ref");
        let nf = doc
            .pointer("/paths/~1x~1{id}/post/responses/404/content/application~1json/schema/$ref");
        assert_eq!(ok, Some(&json!("#/components/schemas/DoThingResponse")));
        assert_eq!(
            nf,
            Some(&json!("#/components/schemas/DoThingNotFoundResponse"))
        );
        assert!(
            doc.pointer("/components/schemas/DoThingResponse/properties/ok")
                .is_some()
        );
        assert!(
            doc.pointer("/components/schemas/DoThingNotFoundResponse/properties/errors")
                .is_some()
        );
    }

    #[test]
    fn naming_refuses_to_overwrite_an_existing_schema() {
        let mut doc = op_doc(
            json!({"200": {"content": {"application/json": {"schema": {"type": "object"}}}}}),
        );
        doc["components"] = json!({"schemas": {"DoThingResponse": {"type": "string"}}});
        let err = name_response_bodies(&mut doc).unwrap_err().to_string();
        assert!(err.contains("DoThingResponse already exists"), "{err}");
    }

    #[test]
    fn string_enums_in_responses_become_open() {
        let mut doc = json!({"components": {"schemas": {"R": {"type": "object", "properties": {
            "result": {"type": "object", "properties": {"status": {"type": "string", "description": "d", "enum": ["a", "b"]}}}
        }}}}});
        open_response_enums(&mut doc);
        let status = doc
            .pointer("/components/schemas/R/properties/result/properties/status")
            .unwrap();
        assert_eq!(
            status,
            &json!({"description": "d", "oneOf": [
                {"title": "RResultStatusKnown", "type": "string", "enum": ["a", "b"]},
                {"title": "Unknown", "type": "string"}
            ]})
        );
    }

    #[test]
    fn non_string_enums_are_left_alone() {
        let mut doc = json!({"components": {"schemas": {"R": {"type": "object", "properties": {
            "success": {"type": "boolean", "enum": [false]}
        }}}}});
        let before = doc.clone();
        open_response_enums(&mut doc);
        assert_eq!(doc, before);
    }

    #[test]
    fn refs_are_inlined_and_components_dropped() {
        let mut doc = op_doc(json!({"200": {"$ref": "#/components/responses/Ok"}}));
        doc["components"] = json!({
            "responses": {"Ok": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Body"}}}}},
            "schemas": {"Body": {"type": "object", "properties": {"n": {"$ref": "#/components/schemas/N"}}}, "N": {"type": "number"}},
            "securitySchemes": {"t": {"type": "http", "scheme": "bearer"}}
        });
        inline_refs(&mut doc).unwrap();
        let schema = doc
            .pointer("/paths/~1x~1{id}/post/responses/200/content/application~1json/schema")
            .unwrap();
        assert_eq!(
            schema,
            &json!({"type": "object", "properties": {"n": {"type": "number"}}})
        );
        assert_eq!(
            doc["components"],
            json!({"securitySchemes": {"t": {"type": "http", "scheme": "bearer"}}})
        );
    }

    #[test]
    fn dangling_ref_is_an_error_naming_the_pointer() {
        let mut doc = op_doc(json!({"200": {"$ref": "#/components/responses/Gone"}}));
        let err = inline_refs(&mut doc).unwrap_err().to_string();
        assert!(err.contains("#/components/responses/Gone"), "{err}");
    }

    #[test]
    fn cyclic_ref_is_an_error_naming_the_cycle() {
        let mut doc = op_doc(
            json!({"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/A"}}}}}),
        );
        doc["components"] = json!({"schemas": {
            "A": {"type": "object", "properties": {"b": {"$ref": "#/components/schemas/B"}}},
            "B": {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}
        }});
        let err = inline_refs(&mut doc).unwrap_err().to_string();
        assert!(
            err.contains("cyclic $ref: #/components/schemas/A -> #/components/schemas/B -> #/components/schemas/A"),
            "{err}"
        );
    }

    #[test]
    fn external_ref_is_refused() {
        let mut doc = op_doc(json!({"200": {"$ref": "other.json#/x"}}));
        let err = inline_refs(&mut doc).unwrap_err().to_string();
        assert!(err.contains("outside the document"), "{err}");
    }
}
