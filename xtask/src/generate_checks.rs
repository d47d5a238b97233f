//! What progenitor would panic on or report without a place, refused beforehand with
//! the JSON pointer: an enum listing a value twice, two values that would be one Rust
//! variant, a document that is not OpenAPI 3.0.

use anyhow::{Result, bail};
use serde_json::Value;

use crate::{normalise, spec};

/// Refuses, with the JSON pointer, what progenitor's type generator would panic on
/// rather than report: an `enum` that lists a value twice.
pub(crate) fn check_generatable(value: &Value, pointer: &str) -> Result<()> {
    each_enum(value, pointer, &mut |values, at| {
        for (i, v) in values.iter().enumerate() {
            if values.get(..i).is_some_and(|before| before.contains(v)) {
                bail!("{at}/enum/{i}: the value {v} is listed twice in this enum");
            }
        }
        Ok(())
    })
}

/// Refuses, naming the place, a closed enum (a parameter's; response enums are opened
/// by `normalise` and keep the first of such values) with two values that would be one
/// Rust variant, which progenitor cannot generate (it panics).
pub(crate) fn check_variant_names(value: &Value, pointer: &str) -> Result<()> {
    each_enum(value, pointer, &mut |values, at| {
        let mut seen: Vec<(String, &str)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let Some(s) = v.as_str() else { continue };
            let key = normalise::variant_key(s);
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                bail!(
                    "{at}/enum/{i}: the values {first:?} and {s:?} would both be \
                     the Rust variant `{key}`; the generator cannot tell them apart"
                );
            }
            seen.push((key, s));
        }
        Ok(())
    })
}

/// Calls `check` with every `enum` list in the document and the JSON pointer of the
/// schema holding it; the first error stops the walk.
pub(crate) fn each_enum(
    value: &Value,
    pointer: &str,
    check: &mut impl FnMut(&[Value], &str) -> Result<()>,
) -> Result<()> {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get("enum") {
                check(values, pointer)?;
            }
            for (key, child) in map {
                each_enum(child, &format!("{pointer}/{}", spec::escape(key)), check)?;
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                each_enum(child, &format!("{pointer}/{i}"), check)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Where a document that is not OpenAPI 3.0 goes wrong, as precisely as the parts
/// openapiv3 reads alone allow: the operation, and the parameter, request body or
/// response, by JSON pointer (serde's own message names neither).
pub(crate) fn locate_invalid(doc: &Value) -> Option<String> {
    fn fails<T: serde::de::DeserializeOwned>(v: &Value) -> Option<String> {
        serde_json::from_value::<T>(v.clone())
            .err()
            .map(|e| e.to_string())
    }
    for op in spec::operations(doc) {
        let id = op
            .op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or("(no operationId)");
        let at = format!("/paths/{}/{}", spec::escape(op.path), op.method);
        let Some(op_error) = fails::<openapiv3::Operation>(op.op) else {
            continue;
        };
        for (i, p) in op
            .op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(e) = fails::<openapiv3::Parameter>(p) {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                let hint = if p.get("content").is_some() && p.get("schema").is_none() {
                    " (it is described by `content` instead of `schema`)"
                } else {
                    ""
                };
                return Some(format!(
                    "operation {id}: parameter {name:?} at {at}/parameters/{i}{hint}: {e}"
                ));
            }
        }
        if let Some(body) = op.op.get("requestBody")
            && let Some(e) = fails::<openapiv3::RequestBody>(body)
        {
            return Some(format!(
                "operation {id}: the request body at {at}/requestBody: {e}"
            ));
        }
        for (status, r) in op
            .op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(e) = fails::<openapiv3::Response>(r) {
                return Some(format!(
                    "operation {id}: response {status} at {at}/responses/{}: {e}",
                    spec::escape(status)
                ));
            }
        }
        return Some(format!("operation {id} at {at}: {op_error}"));
    }
    None
}
