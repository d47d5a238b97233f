//! Response bodies named by operation and status before progenitor sees them
//! (`<OperationId><Reason>Response`), so that a type's name does not follow upstream's
//! schema titles or component names.

use anyhow::{Result, bail};
use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use crate::spec::METHODS;

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
pub(crate) fn status_reason(code: u16) -> Option<&'static str> {
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
///
/// progenitor also takes one success type and one error type per operation (it asserts
/// so). Bodies of one kind (2xx, or any other status) that are the same schema share the
/// type named after the lowest such status, so a documented 409 written like the 404
/// keeps the 404's type. Error bodies that differ become one `{Operation}ErrorResponse`,
/// a `oneOf` of each distinct body; `hoist_bodies` says what leaves the document.
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
                for (name, schema) in hoist_bodies(&op_id, responses)? {
                    if hoisted.iter().any(|(n, _)| *n == name) {
                        bail!("two response bodies would both be named {name}");
                    }
                    hoisted.push((name, schema));
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

/// One operation's inline JSON bodies, replaced by `$ref`s: the schemas to add, by name.
///
/// progenitor asserts one type per kind (success, error), so what would give a kind a
/// second type leaves the document progenitor sees (the ergonomic crate reads every
/// status itself; the generated client answers these with `UnexpectedResponse`):
/// `default` (progenitor counts it in both kinds), a response without a JSON body in a
/// kind that has one, and a success body that differs from the lowest status's.
pub(crate) fn hoist_bodies(
    op_id: &str,
    responses: &mut Map<String, Value>,
) -> Result<Vec<(String, Value)>> {
    responses.remove("default");
    let mut out = Vec::new();
    for success in [true, false] {
        let mut statuses: Vec<String> = responses
            .keys()
            .filter(|s| s.starts_with('2') == success)
            .cloned()
            .collect();
        statuses.sort();
        let typed: Vec<(String, Value)> = statuses
            .iter()
            .filter_map(|s| {
                let bodies = inline_json_bodies(&mut responses[s.as_str()]);
                bodies.first().map(|b| (s.clone(), (**b).clone()))
            })
            .collect();
        if typed.is_empty() {
            continue;
        }
        responses.retain(|s, _| s.starts_with('2') != success || typed.iter().any(|(t, _)| t == s));
        let mut distinct: Vec<(&str, &Value)> = Vec::new();
        for (status, schema) in &typed {
            if !distinct.iter().any(|(_, s)| *s == schema) {
                distinct.push((status, schema));
            }
        }
        let name = match distinct.as_slice() {
            [(status, schema), rest @ ..] if success || rest.is_empty() => {
                let keep = (*schema).clone();
                for (other, _) in rest {
                    responses.remove(*other);
                }
                let name = response_type_name(op_id, status);
                out.push((name.clone(), keep));
                name
            }
            _ => {
                let name = format!("{}ErrorResponse", op_id.to_upper_camel_case());
                let variants = distinct.iter().map(|(_, s)| (*s).clone()).collect();
                out.push((name.clone(), json!({ "oneOf": Value::Array(variants) })));
                name
            }
        };
        let reference = json!({ "$ref": format!("#/components/schemas/{name}") });
        for (status, response) in responses.iter_mut() {
            if status.starts_with('2') == success {
                for schema in inline_json_bodies(response) {
                    *schema = reference.clone();
                }
            }
        }
    }
    Ok(out)
}

/// The schemas of a response's JSON bodies that are written inline (not `$ref`s).
pub(crate) fn inline_json_bodies(response: &mut Value) -> Vec<&mut Value> {
    let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) else {
        return Vec::new();
    };
    content
        .iter_mut()
        .filter(|(media, _)| is_json_media_type(media))
        .filter_map(|(_, body)| body.get_mut("schema"))
        .filter(|schema| schema.get("$ref").is_none())
        .collect()
}

pub(crate) fn is_json_media_type(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}
