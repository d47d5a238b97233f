//! The kinds of upstream change the spec-drift rehearsal replays (`rehearse.rs`), each
//! with the label the job must give it and whether the updated tree must stay green.
//! Each is made to the committed operation, with names no upstream document uses.

use std::path::Path;

use heck::ToSnakeCase;
use serde_json::{Map, Value, json};

/// One kind of upstream change and what the job must make of it.
pub struct Case {
    /// Its name (`--case`).
    pub name: &'static str,
    /// The label word the pull request must carry (`respelled`, `additive`, …).
    pub class: &'static str,
    /// Whether the updated tree must pass the test command untouched.
    pub green: bool,
    /// The change, made to the operation (`$ref`s resolved); `Err` says why it cannot be
    /// made to this operation (what it changes is gone), and the case is skipped.
    pub change: fn(&mut Value) -> Result<(), String>,
}

/// The label of a case the job must see as no change at all: no pull request, no
/// version, not one byte written (upstream's respellings, since `openapi/` is canonical).
pub const UNCHANGED: &str = "unchanged";

/// Names no upstream document uses, so that a case never collides with a change
/// Cloudflare made itself (the rehearsal also runs on the trees of drift pull requests).
const NEW: &str = "rehearsal_new";

/// `rehearsal_new`, or `rehearsal_new_2`, … : the first that `taken` does not hold, so
/// that a case changes the operation even where it was made once already.
fn fresh(taken: impl Fn(&str) -> bool) -> String {
    (1..)
        .map(|n| {
            if n == 1 {
                NEW.to_string()
            } else {
                format!("{NEW}_{n}")
            }
        })
        .find(|name| !taken(name))
        .unwrap_or_else(|| NEW.to_string())
}

/// The prefix the `formats` case gives its fields in `op`.
pub(crate) fn formats_prefix(op: &mut Value) -> Result<String, String> {
    let props = result_props(op)?;
    Ok(fresh(|p| props.contains_key(&format!("{p}_date"))))
}

/// Every case: each kind of change the issue tracker has asked the loop to take.
pub fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "respelled",
            class: UNCHANGED,
            green: true,
            change: |_| Ok(()),
        },
        Case {
            name: "description",
            class: "cosmetic",
            green: true,
            change: |op| {
                let was = op["description"].as_str().unwrap_or_default().to_string();
                op["description"] = json!(format!(
                    "{was} (rehearsal) See https://developers.cloudflare.com/ [docs] or \
                     `code`.\n\n```json\n{{\"not\": \"rust\"}}\n```\n\n    indented <b>html"
                ));
                Ok(())
            },
        },
        Case {
            name: "formats",
            class: "additive",
            green: true,
            change: |op| {
                let prefix = formats_prefix(op)?;
                let props = result_props(op)?;
                for (ty, format) in FORMATS {
                    let name = format!("{prefix}_{}", format.to_snake_case());
                    props.insert(name, json!({"type": ty, "format": format}));
                }
                Ok(())
            },
        },
        Case {
            name: "optional-query-parameter",
            class: "additive",
            green: true,
            change: |op| {
                let list = params(op)?;
                let name = fresh(|n| list.iter().any(|p| p["name"] == n));
                list.push(json!({"name": name, "in": "query", "required": false,
                    "schema": {"type": "boolean"}}));
                Ok(())
            },
        },
        Case {
            name: "optional-list-and-header-parameters",
            class: "additive",
            green: true,
            change: |op| {
                let list = params(op)?;
                let name = fresh(|n| list.iter().any(|p| p["name"] == n));
                list.push(json!({"name": name, "in": "query", "required": false,
                    "schema": {"type": "array", "items": {"type": "string"}}}));
                list.push(
                    json!({"name": format!("x-{name}"), "in": "header", "required": false,
                    "schema": {"type": "string"}}),
                );
                Ok(())
            },
        },
        Case {
            name: "response-without-body",
            class: "needs-attention",
            green: true,
            change: |op| {
                let responses = op["responses"].as_object_mut().ok_or("no responses")?;
                let code = unused_code(responses, 459)?;
                responses.insert(code, json!({"description": "Rehearsal, no body"}));
                responses.insert(
                    "default".into(),
                    json!({"description": "Rehearsal",
                    "content": {"text/plain": {"schema": {"type": "string"}}}}),
                );
                Ok(())
            },
        },
        Case {
            name: "status-value",
            class: "needs-attention",
            green: true,
            change: |op| {
                let values = status_enum(op)?;
                let value = fresh(|v| values.iter().any(|x| x == v));
                values.push(json!(value));
                Ok(())
            },
        },
        Case {
            name: "response-code",
            class: "needs-attention",
            green: true,
            change: |op| {
                let responses = op["responses"].as_object_mut().ok_or("no responses")?;
                let (_, error) = responses
                    .iter()
                    .find(|(status, r)| !status.starts_with('2') && r.get("content").is_some())
                    .ok_or("no documented error body to copy")?;
                let mut copy = error.clone();
                copy["description"] = json!("Rehearsal");
                let code = unused_code(responses, 499)?;
                responses.insert(code, copy);
                Ok(())
            },
        },
        Case {
            name: "response-code-other-body",
            // The error body becomes a `oneOf` of two: the generated crate's `ErrorBody`
            // changes type (breaking for its callers), while the library, which reads
            // error bodies itself, compiles and passes untouched.
            class: "breaking",
            green: true,
            change: |op| {
                let responses = op["responses"].as_object_mut().ok_or("no responses")?;
                let code = unused_code(responses, 479)?;
                responses.insert(
                    code,
                    json!({"description": "Rehearsal", "content": {
                    "application/json": {"schema": {"type": "object", "required": ["success"],
                    "properties": {"success": {"type": "boolean"}, NEW: {"type": "array",
                    "items": {"type": "string"}}}}}}}),
                );
                Ok(())
            },
        },
        Case {
            name: "removed-field",
            class: "breaking",
            green: false,
            change: |op| {
                let props = result_props(op)?;
                let field = ["error", "error_details", "status"]
                    .into_iter()
                    .find(|f| props.contains_key(*f))
                    .ok_or("result has none of the fields the report reads")?;
                props.remove(field);
                Ok(())
            },
        },
        Case {
            name: "optional-request-body",
            class: "additive",
            green: true,
            change: |op| add_body(op, false),
        },
        Case {
            name: "required-request-body",
            class: "breaking",
            green: false,
            change: |op| add_body(op, true),
        },
        Case {
            name: "required-query-parameter",
            class: "breaking",
            green: false,
            change: |op| {
                let list = params(op)?;
                let name = fresh(|n| list.iter().any(|p| p["name"] == n));
                list.push(json!({"name": name, "in": "query", "required": true,
                    "schema": {"type": "boolean"}}));
                Ok(())
            },
        },
    ]
}

/// A JSON request body, where the operation has none. Where it has one (the tree of a
/// drift pull request, or of the rehearsal's green changes made together), the same kind
/// of change to it: an optional body gets a new optional field; a required one is made
/// required, or, when it already is, gets a new required field.
fn add_body(op: &mut Value, required: bool) -> Result<(), String> {
    let op = op.as_object_mut().ok_or("the operation is not an object")?;
    let Some(body) = op.get_mut("requestBody") else {
        op.insert(
            "requestBody".to_string(),
            json!({"required": required, "content": {"application/json": {"schema": {
                "type": "object", "properties": {NEW: {"type": "boolean"}}}}}}),
        );
        return Ok(());
    };
    let was_required = body.get("required").and_then(Value::as_bool) == Some(true);
    if required && !was_required {
        body["required"] = json!(true);
        return Ok(());
    }
    let schema = body
        .pointer_mut("/content/application~1json/schema")
        .and_then(Value::as_object_mut)
        .ok_or("the request body has no JSON schema")?;
    let props = schema
        .entry("properties")
        .or_insert_with(|| json!({}))
        .as_object_mut()
        .ok_or("the request body's properties are not an object")?;
    let name = fresh(|n| props.contains_key(n));
    props.insert(name.clone(), json!({"type": "boolean"}));
    if required {
        let list = schema.entry("required").or_insert_with(|| json!([]));
        list.as_array_mut()
            .ok_or("the request body's required list is not a list")?
            .push(json!(name));
    }
    Ok(())
}

/// Every `format` Cloudflare's document uses, with its type.
pub const FORMATS: [(&str, &str); 11] = [
    ("string", "date-time"),
    ("string", "date"),
    ("string", "uuid"),
    ("string", "uri"),
    ("string", "email"),
    ("string", "ipv4"),
    ("string", "ipv6"),
    ("integer", "int32"),
    ("integer", "int64"),
    ("number", "float"),
    ("number", "double"),
];

/// The first status code from `from` down that `responses` does not document.
fn unused_code(responses: &Map<String, Value>, from: u16) -> Result<String, String> {
    (from.saturating_sub(19)..=from)
        .rev()
        .map(|c| c.to_string())
        .find(|c| !responses.contains_key(c))
        .ok_or_else(|| "every rehearsal status code is documented".to_string())
}

fn result_props(op: &mut Value) -> Result<&mut Map<String, Value>, String> {
    op.pointer_mut("/responses/200/content/application~1json/schema/properties/result/properties")
        .and_then(Value::as_object_mut)
        .ok_or_else(|| "the 200 body has no result.properties".to_string())
}

fn params(op: &mut Value) -> Result<&mut Vec<Value>, String> {
    op.as_object_mut()
        .ok_or("the operation is not an object")?
        .entry("parameters")
        .or_insert_with(|| json!([]))
        .as_array_mut()
        .ok_or_else(|| "parameters is not a list".to_string())
}

fn status_enum(op: &mut Value) -> Result<&mut Vec<Value>, String> {
    result_props(op)?
        .get_mut("status")
        .and_then(|s| s.get_mut("enum"))
        .and_then(Value::as_array_mut)
        .ok_or_else(|| "result.status has no enum".to_string())
}

/// The Rust type each new field of the `formats` case must have (ARCHITECTURE.md: plain
/// types, kept as sent, no `chrono` or `uuid`); what does not hold.
pub(crate) fn format_types(scratch: &Path, prefix: &str) -> Vec<String> {
    let code =
        std::fs::read_to_string(scratch.join(crate::generate::GENERATED_FILE)).unwrap_or_default();
    let mut problems = Vec::new();
    for (ty, format) in FORMATS {
        let rust = match ty {
            "integer" => "i64",
            "number" => "f64",
            _ => "::std::string::String",
        };
        let field = format!(
            "pub {prefix}_{}: ::std::option::Option<{rust}>,",
            format.to_snake_case()
        );
        if !code.contains(&field) {
            problems.push(format!("the {format} field is not `{field}`"));
        }
    }
    for foreign in ["chrono", "uuid::"] {
        if code.contains(foreign) {
            problems.push(format!("the generated code names {foreign}"));
        }
    }
    problems
}
