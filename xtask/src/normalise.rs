//! Spec normalisations applied before progenitor sees the document.
//!
//! Each step is a small function over the JSON document, so that its effect can be unit
//! tested on its own and seen in the `--check` diff of the generated code. The steps
//! never change what goes over the wire; they change how progenitor names and shapes the
//! Rust types.

use anyhow::Result;
use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

pub use crate::normalise_bodies::{name_response_bodies, response_type_name};
use crate::refs;
use crate::spec::METHODS;

/// Component sections whose entries are inlined by [`inline_refs`] and then dropped, so
/// that no Rust name comes from an upstream component name.
const INLINED_SECTIONS: [&str; 8] = [
    "schemas",
    "parameters",
    "responses",
    "requestBodies",
    "headers",
    "examples",
    "links",
    "callbacks",
];

/// Title given to the catch-all alternative of an opened enum; it becomes the variant name.
pub const UNKNOWN_VARIANT: &str = "Unknown";

/// Suffix of the title (and so of the Rust type) of an opened enum's known values.
pub const KNOWN_SUFFIX: &str = "Known";

/// A response's status key as OpenAPI spells it: a range (`4xx`) in capitals (`4XX`).
pub fn status_key(code: &str) -> String {
    let bytes = code.as_bytes();
    if bytes.len() == 3 && bytes[0].is_ascii_digit() && code[1..].eq_ignore_ascii_case("xx") {
        code.to_ascii_uppercase()
    } else {
        code.to_string()
    }
}

/// Respells every response's range key in capitals (`4xx` → `4XX`), so that the type
/// named after it stays one name whichever way upstream writes it.
pub fn status_keys(doc: &mut Value) {
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for item in paths.values_mut() {
        for method in METHODS {
            let Some(responses) = item
                .get_mut(method)
                .and_then(|op| op.get_mut("responses"))
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            if responses.keys().all(|k| status_key(k) == *k) {
                continue;
            }
            // `4xx` beside `4XX` is one range written twice: keep both rather than lose
            // one (generation then refuses the document by name).
            let mut keys: Vec<String> = responses.keys().map(|k| status_key(k)).collect();
            keys.sort();
            if keys.windows(2).any(|w| w[0] == w[1]) {
                continue;
            }
            let respelled: Map<String, Value> = std::mem::take(responses)
                .into_iter()
                .map(|(k, v)| (status_key(&k), v))
                .collect();
            *responses = respelled;
        }
    }
}

/// Every normalisation, in the order `generate` applies them.
pub fn normalise(doc: &mut Value) -> Result<()> {
    inline_refs(doc)?;
    status_keys(doc);
    crate::shapes::request_bodies(doc)?;
    crate::shapes::normalise(doc);
    name_response_bodies(doc)?;
    open_response_enums(doc);
    plain_formats(doc);
    if let Some(schemas) = doc.pointer_mut("/components/schemas") {
        loose_bounds(schemas);
    }
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

/// Constraints that make progenitor pick a narrower type (`u64`, `NonZeroU64`) or a
/// checked newtype for a value.
const BOUNDS: [&str; 10] = [
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "pattern",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
];

/// Drops value constraints inside the response bodies (`components.schemas` once
/// [`name_response_bodies`] has moved them there): a server value outside a documented
/// bound is still read as sent, instead of failing the whole result. Parameters keep
/// theirs: what we send stays checked.
pub fn loose_bounds(value: &mut Value) {
    match value {
        Value::Object(map) => {
            if map.get("type").is_some_and(Value::is_string) {
                for key in BOUNDS {
                    if map.get(key).is_some_and(|v| v.is_number() || v.is_string()) {
                        map.remove(key);
                    }
                }
            }
            map.values_mut().for_each(loose_bounds);
        }
        Value::Array(items) => items.iter_mut().for_each(loose_bounds),
        _ => {}
    }
}

/// String formats whose Rust type would need a crate or refuse text the server sends.
const TEXT_FORMATS: [&str; 6] = ["date", "date-time", "uuid", "ip", "ipv4", "ipv6"];

/// Drops the `format`s that would make progenitor pick a narrower or foreign Rust type:
/// `date`, `date-time`, `uuid`, `ip`, `ipv4` and `ipv6` strings stay `String`, every
/// integer is `i64` and every number `f64`.
///
/// Cloudflare adds fields with these formats; with them progenitor would need `chrono`
/// and `uuid` in every user's build (the generated crate does not compile without them),
/// and a value that does not parse (`2026-11-29T12:00:00 +0100`, an `int32` that grew)
/// would fail the whole result instead of one field. What is received is a description,
/// so it is kept as sent; a caller parses it with the crate it already uses. What goes
/// over the wire does not change (`uri` and `email` already are `String`).
pub fn plain_formats(value: &mut Value) {
    match value {
        Value::Object(map) => {
            let ty = map.get("type").and_then(Value::as_str);
            let format = map.get("format").and_then(Value::as_str);
            let plain = match (ty, format) {
                (Some("string"), Some(f)) => TEXT_FORMATS.contains(&f),
                (Some("integer"), Some(_)) => true,
                (Some("number"), Some(f)) => f != "double",
                _ => false,
            };
            if plain {
                map.remove("format");
            }
            map.values_mut().for_each(plain_formats);
        }
        Value::Array(items) => items.iter_mut().for_each(plain_formats),
        _ => {}
    }
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

/// The Rust variant name progenitor derives from an enum value (close enough to tell
/// two values apart: `"ready"`, `"Ready"` and `"READY"` all give `Ready`).
pub fn variant_key(value: &str) -> String {
    value.to_upper_camel_case()
}

/// The values of a response enum without those whose variant name an earlier value
/// already takes: progenitor cannot name both, and a dropped value (upstream adding
/// `"Ready"` beside `"ready"`) still arrives, as `Unknown("Ready")`.
fn distinct_variants(values: Value) -> Value {
    let Value::Array(values) = values else {
        return values;
    };
    let mut seen = std::collections::BTreeSet::new();
    Value::Array(
        values
            .into_iter()
            .filter(|v| v.as_str().is_none_or(|s| seen.insert(variant_key(s))))
            .collect(),
    )
}

fn open_enums_in(schema: &mut Value, type_name: &str) {
    let Value::Object(map) = schema else { return };
    let is_string_enum = map.get("type").and_then(Value::as_str) == Some("string")
        && map.get("enum").is_some_and(Value::is_array);
    if is_string_enum {
        let mut known = Map::new();
        known.insert(
            "title".into(),
            Value::String(format!("{type_name}{KNOWN_SUFFIX}")),
        );
        known.insert("type".into(), Value::String("string".into()));
        if let Some(values) = map.remove("enum") {
            known.insert("enum".into(), distinct_variants(values));
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

    fn body(p: &str) -> Value {
        json!({"content": {"application/json": {"schema": {"type": "object", "properties": {p: {"type": "string"}}}}}})
    }

    fn body_ref(doc: &Value, status: &str) -> Option<String> {
        doc.pointer(&format!(
            "/paths/~1x~1{{id}}/post/responses/{status}/content/application~1json/schema/$ref"
        ))
        .and_then(Value::as_str)
        .map(|r| r.trim_start_matches("#/components/schemas/").to_string())
    }

    #[test]
    fn equal_error_bodies_share_the_lowest_status_type() {
        let mut doc = op_doc(
            json!({"200": body("ok"), "409": body("errors"), "404": body("errors"), "4XX": body("errors")}),
        );
        name_response_bodies(&mut doc).unwrap();
        for status in ["404", "409", "4XX"] {
            assert_eq!(
                body_ref(&doc, status).as_deref(),
                Some("DoThingNotFoundResponse"),
                "{status}"
            );
        }
        let names: Vec<&String> = doc["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names, ["DoThingResponse", "DoThingNotFoundResponse"]);
    }

    #[test]
    fn different_error_bodies_become_one_of_under_one_name() {
        let mut doc =
            op_doc(json!({"200": body("ok"), "404": body("errors"), "409": body("conflict")}));
        name_response_bodies(&mut doc).unwrap();
        assert_eq!(
            body_ref(&doc, "404").as_deref(),
            Some("DoThingErrorResponse")
        );
        assert_eq!(
            body_ref(&doc, "409").as_deref(),
            Some("DoThingErrorResponse")
        );
        let one_of = doc
            .pointer("/components/schemas/DoThingErrorResponse/oneOf")
            .unwrap();
        assert_eq!(one_of.as_array().unwrap().len(), 2);
    }

    #[test]
    fn what_would_give_a_kind_a_second_type_leaves_the_document() {
        let responses = |doc: &Value| -> Vec<String> {
            doc.pointer("/paths/~1x~1{id}/post/responses")
                .and_then(Value::as_object)
                .map(|r| r.keys().cloned().collect())
                .unwrap_or_default()
        };
        // A success body that differs from the lowest status's; one that is the same stays.
        let mut doc =
            op_doc(json!({"200": body("ok"), "202": body("accepted"), "201": body("ok")}));
        name_response_bodies(&mut doc).unwrap();
        assert_eq!(responses(&doc), ["200", "201"]);
        assert_eq!(body_ref(&doc, "201").as_deref(), Some("DoThingResponse"));
        // `default`, and responses without a JSON body beside typed ones of their kind.
        let none = json!({"description": "no body"});
        let text = json!({"content": {"text/plain": {"schema": {"type": "string"}}}});
        let mut doc = op_doc(
            json!({"200": body("ok"), "204": none, "404": body("errors"),
            "429": text, "default": body("errors")}),
        );
        name_response_bodies(&mut doc).unwrap();
        assert_eq!(responses(&doc), ["200", "404"]);
        // A kind with no JSON body at all is left as it is.
        let mut doc = op_doc(json!({"204": {"description": "no body"}, "404": body("errors")}));
        name_response_bodies(&mut doc).unwrap();
        assert_eq!(responses(&doc), ["204", "404"]);
    }

    #[test]
    fn bounds_inside_response_bodies_are_dropped_and_property_names_kept() {
        let mut schemas = json!({"R": {"type": "object", "properties": {
            "n": {"type": "integer", "minimum": 1, "maximum": 9},
            "s": {"type": "string", "pattern": "^a$", "maxLength": 3},
            "pattern": {"type": "string"},
            "l": {"type": "array", "minItems": 1, "items": {"type": "number", "exclusiveMinimum": 0}}
        }}});
        loose_bounds(&mut schemas);
        assert_eq!(
            schemas,
            json!({"R": {"type": "object", "properties": {
                "n": {"type": "integer"},
                "s": {"type": "string"},
                "pattern": {"type": "string"},
                "l": {"type": "array", "items": {"type": "number"}}
            }}})
        );
        // Parameters are not below components.schemas: normalise leaves them.
        let mut doc = op_doc(json!({"200": body("ok")}));
        doc["paths"]["/x/{id}"]["post"]["parameters"] = json!([{"name": "id", "in": "path",
            "required": true, "schema": {"type": "string", "maxLength": 32}}]);
        normalise(&mut doc).unwrap();
        assert_eq!(
            doc["paths"]["/x/{id}"]["post"]["parameters"][0]["schema"]["maxLength"],
            32
        );
    }

    #[test]
    fn formats_that_need_a_crate_or_narrow_a_number_are_dropped() {
        let cases = [
            ("string", "date-time", false),
            ("string", "date", false),
            ("string", "uuid", false),
            ("string", "ip", false),
            ("string", "ipv4", false),
            ("string", "ipv6", false),
            ("string", "uri", true),
            ("string", "email", true),
            ("string", "binary", true),
            ("integer", "int32", false),
            ("integer", "int64", false),
            ("integer", "uint64", false),
            ("number", "float", false),
            ("number", "double", true),
        ];
        for (ty, format, kept) in cases {
            let mut doc = json!({"properties": {"format": {"type": ty, "format": format}}, "items": [{"type": ty, "format": format}]});
            plain_formats(&mut doc);
            for pointer in ["/properties/format/format", "/items/0/format"] {
                assert_eq!(
                    doc.pointer(pointer).is_some(),
                    kept,
                    "{ty} {format} at {pointer}"
                );
            }
        }
        // A property named `format` is a schema, not a keyword: left alone.
        let mut doc = json!({"type": "object", "properties": {"format": {"type": "string"}}});
        let before = doc.clone();
        plain_formats(&mut doc);
        assert_eq!(doc, before);
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
