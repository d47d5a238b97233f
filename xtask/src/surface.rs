//! A normalised, human-readable summary of the API surface of a spec document.
//!
//! One line per fact, each naming its full location (operation, response, property
//! path), so that a snapshot diff says by itself which part of the API changed.
//! Descriptions and examples are left out: they do not change the API. `$ref`s are
//! followed, so an inlined and a referenced spelling of one operation read the same.

use std::fmt::Write as _;

use anyhow::{Result, bail};
use serde_json::Value;

use crate::api::{self, Kind};
use crate::refs;
use crate::spec::{self, escape};

/// How deep schemas nest before the summary gives up.
const MAX_DEPTH: usize = 64;

/// The summary of every operation in `doc`, sorted by operationId.
pub fn summary(doc: &Value) -> Result<String> {
    // Read through `$ref`s by the one set of rules (refs.rs): the paths inlined, the
    // components left as they are (an unrelated cycle there is no concern of ours).
    let mut inlined = doc.clone();
    if let Some(paths) = doc.get("paths") {
        inlined["paths"] = refs::inline(doc, paths)?;
    }
    let doc = &inlined;
    let mut out = String::new();
    let mut ops = spec::operations(doc);
    ops.sort_by(|a, b| {
        a.op["operationId"]
            .as_str()
            .cmp(&b.op["operationId"].as_str())
    });
    if ops.is_empty() {
        bail!("the document has no operations");
    }
    for op in ops {
        let id = op
            .op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or("(no operationId)");
        let w = &mut out;
        let _ = writeln!(
            w,
            "operation {id}: {} {}",
            op.method.to_uppercase(),
            op.path
        );
        let servers = op.op.get("servers").or_else(|| doc.get("servers"));
        for server in servers.and_then(Value::as_array).into_iter().flatten() {
            let url = server.get("url").and_then(Value::as_str).unwrap_or("?");
            let _ = writeln!(w, "{id} server: {url}");
        }
        let path_params = doc
            .pointer(&format!("/paths/{}/parameters", escape(op.path)))
            .and_then(Value::as_array);
        let op_params = op.op.get("parameters").and_then(Value::as_array);
        let mut params: Vec<String> = Vec::new();
        for p in path_params
            .into_iter()
            .flatten()
            .chain(op_params.into_iter().flatten())
        {
            let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
            let loc = p.get("in").and_then(Value::as_str).unwrap_or("?");
            let required = p.get("required").and_then(Value::as_bool).unwrap_or(false);
            let mut line = format!(
                "{id} parameter {loc} {name} ({})",
                if required { "required" } else { "optional" }
            );
            let mut lines = Vec::new();
            if let Some(schema) = p.get("schema") {
                schema_lines(schema, &line, 0, &mut lines)?;
            } else {
                line.push_str(" (no schema)");
                lines.push(line);
            }
            params.extend(lines);
        }
        params.sort();
        for p in params {
            let _ = writeln!(w, "{p}");
        }
        match op.op.get("requestBody") {
            None => {
                let _ = writeln!(w, "{id} request body: none");
            }
            Some(body) => {
                let required = body
                    .get("required")
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                for (media, content) in body
                    .get("content")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    let prefix = format!(
                        "{id} request body {media} ({})",
                        if required { "required" } else { "optional" }
                    );
                    let mut lines = Vec::new();
                    match content.get("schema") {
                        Some(schema) => schema_lines(schema, &prefix, 0, &mut lines)?,
                        None => lines.push(prefix),
                    }
                    for l in lines {
                        let _ = writeln!(w, "{l}");
                    }
                }
            }
        }
        let mut codes: Vec<(&String, &Value)> = op
            .op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .collect();
        codes.sort_by(|a, b| a.0.cmp(b.0));
        for (code, response) in codes {
            let content = response.get("content").and_then(Value::as_object);
            if content.is_none_or(|c| c.is_empty()) {
                let _ = writeln!(w, "{id} response {code}: no body");
            }
            for (media, c) in content.into_iter().flatten() {
                let prefix = format!("{id} response {code} {media}");
                let mut lines = Vec::new();
                match c.get("schema") {
                    Some(schema) => schema_lines(schema, &prefix, 0, &mut lines)?,
                    None => lines.push(prefix),
                }
                for l in lines {
                    let _ = writeln!(w, "{l}");
                }
            }
        }
        let security = op.op.get("security").or_else(|| doc.get("security"));
        let alternatives = security
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        if alternatives.is_empty() {
            let _ = writeln!(w, "{id} security: none");
        }
        let mut alts: Vec<String> = Vec::new();
        for alt in &alternatives {
            let mut parts: Vec<String> = Vec::new();
            for name in alt.as_object().into_iter().flatten().map(|(k, _)| k) {
                let scheme = doc.pointer(&format!("/components/securitySchemes/{}", escape(name)));
                let scheme = match scheme {
                    Some(s) => refs::inline(doc, s)?,
                    None => bail!(
                        "security requirement names {name:?}, which components.securitySchemes does not define"
                    ),
                };
                parts.push(format!("{name} ({})", describe_scheme(&scheme)));
            }
            parts.sort();
            alts.push(format!("{id} security alternative: {}", parts.join(" + ")));
        }
        alts.sort();
        for a in alts {
            let _ = writeln!(w, "{a}");
        }
    }
    Ok(out)
}

fn describe_scheme(scheme: &Value) -> String {
    let get = |k: &str| scheme.get(k).and_then(Value::as_str).unwrap_or("?");
    match get("type") {
        "http" => format!("http {}", get("scheme")),
        "apiKey" => format!("apiKey in {} {}", get("in"), get("name")),
        other => other.to_string(),
    }
}

fn schema_lines(schema: &Value, prefix: &str, depth: usize, out: &mut Vec<String>) -> Result<()> {
    if depth > MAX_DEPTH {
        bail!("schema nesting deeper than {MAX_DEPTH} at {prefix}");
    }
    let mut line = format!("{prefix}:");
    match schema.get("type") {
        Some(Value::String(t)) => {
            let _ = write!(line, " {t}");
        }
        Some(other) => {
            let _ = write!(line, " {other}");
        }
        None if schema.get("properties").is_some() => line.push_str(" (object)"),
        None => line.push_str(" (any)"),
    }
    // Every keyword that counts as API (api.rs), in the table's order, then any the
    // table does not know, sorted: what `diff` would flag also moves this line.
    let known = api::SCHEMA_KEYWORDS
        .iter()
        .filter(|(key, kind)| *key != "type" && !matches!(kind, Kind::Structure | Kind::Cosmetic))
        .map(|(key, _)| *key);
    let mut unknown: Vec<&str> = schema
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.as_str())
        .filter(|k| !api::SCHEMA_KEYWORDS.iter().any(|(t, _)| t == k) && !api::is_cosmetic(k))
        .collect();
    unknown.sort_unstable();
    for key in known.chain(unknown) {
        if let Some(v) = schema.get(key) {
            let _ = write!(line, " {key}={v}");
        }
    }
    if let Some(Value::Array(req)) = schema.get("required") {
        let mut names: Vec<&str> = req.iter().filter_map(Value::as_str).collect();
        names.sort_unstable();
        let _ = write!(line, " required=[{}]", names.join(","));
    }
    match schema.get("additionalProperties") {
        Some(Value::Bool(b)) => {
            let _ = write!(line, " additionalProperties={b}");
        }
        Some(ap @ Value::Object(_)) => {
            schema_lines(ap, &format!("{prefix}.*"), depth + 1, out)?;
        }
        _ => {}
    }
    out.push(line);
    if let Some(Value::Object(props)) = schema.get("properties") {
        let mut names: Vec<&String> = props.keys().collect();
        names.sort();
        for name in names {
            schema_lines(&props[name], &format!("{prefix}.{name}"), depth + 1, out)?;
        }
    }
    if let Some(items) = schema.get("items") {
        schema_lines(items, &format!("{prefix}[]"), depth + 1, out)?;
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(Value::Array(subs)) = schema.get(key) {
            for (i, sub) in subs.iter().enumerate() {
                schema_lines(sub, &format!("{prefix}<{key}#{i}>"), depth + 1, out)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn doc(status_schema: Value) -> Value {
        json!({"paths": {"/p": {"post": {"operationId": "op", "responses": {"200": {"description": "d",
            "content": {"application/json": {"schema": {"type": "object", "properties": {"status": status_schema}}}}}}}}}})
    }

    #[test]
    fn lines_name_their_full_location() {
        let s = summary(&doc(json!({"type": "string", "enum": ["a"]}))).unwrap();
        assert!(
            s.contains("op response 200 application/json.status: string enum=[\"a\"]\n"),
            "{s}"
        );
    }

    #[test]
    fn descriptions_do_not_change_the_summary() {
        let a = summary(&doc(json!({"type": "string"}))).unwrap();
        let b = summary(&doc(
            json!({"type": "string", "description": "new words", "example": "x"}),
        ))
        .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn refs_read_the_same_as_inline() {
        let inline = summary(&doc(json!({"type": "string"}))).unwrap();
        let mut referenced = doc(json!({"$ref": "#/components/schemas/S"}));
        referenced["components"] = json!({"schemas": {"S": {"type": "string"}}});
        assert_eq!(inline, summary(&referenced).unwrap());
    }

    #[test]
    fn defaults_deprecations_and_write_only_move_the_summary() {
        // What diff flags as needing attention must move the snapshot too.
        let base = summary(&doc(json!({"type": "string"}))).unwrap();
        for extra in [
            json!({"type": "string", "default": "x"}),
            json!({"type": "string", "deprecated": true}),
            json!({"type": "string", "writeOnly": true}),
            json!({"type": "string", "x-unknown": 1, "somethingNew": 2}),
        ] {
            let moved = summary(&doc(extra.clone())).unwrap();
            let cosmetic_only = extra
                .as_object()
                .unwrap()
                .keys()
                .all(|k| crate::api::is_cosmetic(k) || k == "type");
            assert_eq!(moved == base, cosmetic_only, "{extra}: {moved}");
        }
    }

    #[test]
    fn a_ref_cycle_is_an_error_not_a_hang() {
        let mut d = doc(json!({"$ref": "#/components/schemas/S"}));
        d["components"] = json!({"schemas": {"S": {"type": "object", "properties": {"s": {"$ref": "#/components/schemas/S"}}}}});
        let err = summary(&d).unwrap_err().to_string();
        assert!(
            err.contains("cyclic $ref: #/components/schemas/S -> #/components/schemas/S"),
            "{err}"
        );
    }
}
