//! `cargo xtask diff <OLD> <NEW>`: what changed, for the operations in scope, in words a
//! reviewer can judge. One line per change: its class, JSON pointer, and what happened.
//!
//! Pointers follow each operation through its `$ref`s, as if everything were inlined, so
//! a change reads the same whether upstream wrote a schema inline or shared it.

use anyhow::{Result, bail};
use serde_json::Value;

use crate::api;
use crate::compare::{compare_parameters, compare_request_body, compare_responses};
use crate::compare_schema::{describe_change, union_keys};
use crate::compare_security::compare_security;
use crate::refs::inline as resolve_refs;
use crate::report::{Class, Report};
use crate::rust_api;
use crate::spec::{self, METHODS, escape};

/// Compares the operations `scope` (operationIds) of two documents.
pub fn diff(old: &Value, new: &Value, scope: &[String]) -> Result<Report> {
    let mut report = Report::default();
    for id in scope {
        let o = find(old, id);
        let mut n = find(new, id);
        // Upstream renames operationIds (3 of 12 Access operations in two years): the
        // operation at the same method and path is the same operation, renamed.
        if n.is_none()
            && let Some((path, method, _)) = o
            && let Some(renamed) = find_at(new, path, method)
        {
            let new_id = renamed
                .2
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("");
            report.add_values(
                Class::Breaking,
                &format!("{}/operationId", op_pointer(path, method)),
                format!(
                    "operationId renamed: the generated client's method and the \
                     `operations::` module are named after it ({id} → {new_id})"
                ),
                Some(&Value::from(id.as_str())),
                Some(&Value::from(new_id)),
            );
            n = Some(renamed);
        }
        match (o, n) {
            (None, None) => bail!("operationId {id:?} is in neither document"),
            (None, Some((path, method, _))) => {
                report.add(
                    Class::Additive,
                    &op_pointer(path, method),
                    format!("operation {id} added"),
                );
            }
            (Some((path, method, _)), None) => {
                report.add(
                    Class::Breaking,
                    &op_pointer(path, method),
                    format!("operation {id} removed"),
                );
            }
            (Some((op_path, om, oo)), Some((np, nm, no))) => {
                let at = op_pointer(np, nm);
                if op_path != np || om != nm {
                    report.add(
                        Class::Breaking,
                        &op_pointer(op_path, om),
                        format!(
                            "{id} moved from {} {op_path} to {} {np}",
                            om.to_uppercase(),
                            nm.to_uppercase()
                        ),
                    );
                }
                let oo = resolve_refs(old, oo)?;
                let no = resolve_refs(new, no)?;
                let op_params = |doc: &Value, path: &str, op: &Value| -> Result<Vec<Value>> {
                    let shared = doc
                        .pointer(&format!("/paths/{}/parameters", escape(path)))
                        .cloned();
                    let mut all: Vec<Value> = Vec::new();
                    for p in shared
                        .and_then(|v| v.as_array().cloned())
                        .unwrap_or_default()
                    {
                        all.push(resolve_refs(doc, &p)?);
                    }
                    all.extend(
                        op.get("parameters")
                            .and_then(Value::as_array)
                            .cloned()
                            .unwrap_or_default(),
                    );
                    Ok(all)
                };
                compare_parameters(
                    &mut report,
                    &at,
                    &op_params(old, op_path, &oo)?,
                    &op_params(new, np, &no)?,
                );
                compare_request_body(
                    &mut report,
                    &at,
                    oo.get("requestBody"),
                    no.get("requestBody"),
                );
                compare_responses(&mut report, &at, &oo, &no);
                compare_security(&mut report, &at, old, new, &oo, &no)?;
                let servers = |doc: &Value, op: &Value| {
                    op.get("servers").or_else(|| doc.get("servers")).cloned()
                };
                if servers(old, &oo) != servers(new, &no) {
                    report.add(
                        Class::NeedsAttention,
                        &format!("{at}/servers"),
                        "servers changed (the client's default base URL may be stale)",
                    );
                }
                for key in union_keys(&oo, &no) {
                    if matches!(
                        key.as_str(),
                        "parameters"
                            | "requestBody"
                            | "responses"
                            | "security"
                            | "servers"
                            | "operationId"
                    ) {
                        continue;
                    }
                    let (a, b) = (oo.get(&key), no.get(&key));
                    if a == b {
                        continue;
                    }
                    let class = if key == "deprecated" {
                        Class::NeedsAttention
                    } else if api::is_cosmetic(&key) {
                        Class::Cosmetic
                    } else {
                        Class::NeedsAttention
                    };
                    report.add_values(
                        class,
                        &format!("{at}/{}", escape(&key)),
                        describe_change(&key, a, b),
                        a,
                        b,
                    );
                }
            }
        }
    }
    report.changes.sort_by(|a, b| {
        a.class
            .cmp(&b.class)
            .then_with(|| a.pointer.cmp(&b.pointer))
    });
    Ok(report)
}

fn find<'a>(doc: &'a Value, id: &str) -> Option<(&'a str, &'static str, &'a Value)> {
    find_where(doc, |o| {
        o.op.get("operationId").and_then(Value::as_str) == Some(id)
    })
}

/// The operation at `path` and `method`, whatever its operationId; failing that, at a
/// path whose parameters upstream renamed (`diff` then reports the move).
fn find_at<'a>(
    doc: &'a Value,
    path: &str,
    method: &str,
) -> Option<(&'a str, &'static str, &'a Value)> {
    let shape = spec::path_shape(path);
    find_where(doc, |o| o.path == path && o.method == method).or_else(|| {
        find_where(doc, |o| {
            spec::path_shape(o.path) == shape && o.method == method
        })
    })
}

/// The first operation `wanted` accepts: its path, method and object.
fn find_where<'a>(
    doc: &'a Value,
    wanted: impl Fn(&spec::OperationRef<'a>) -> bool,
) -> Option<(&'a str, &'static str, &'a Value)> {
    spec::operations(doc).into_iter().find(wanted).map(|o| {
        (
            o.path,
            METHODS
                .into_iter()
                .find(|m| *m == o.method)
                .unwrap_or("get"),
            o.op,
        )
    })
}

/// [`diff`], judged by effect: the generated Rust API of both sides (`old_api`,
/// `new_api`) decides what a change of a body's schema is. A schema change upstream
/// called breaking that leaves the Rust API as it was (a respelled status key,
/// `type: object` added to an untyped schema, fields moved between composition
/// members) is not breaking; whatever the Rust API lost or changed is, with a line
/// naming the Rust item. Parameters, paths, methods and auth stay judged on the wire.
pub fn judge(
    old: &Value,
    new: &Value,
    scope: &[String],
    old_api: &rust_api::Surface,
    new_api: &rust_api::Surface,
) -> Result<Report> {
    let mut report = diff(old, new, scope)?;
    let rust = rust_api::compare(old_api, new_api);
    if rust.worst() != Some(Class::Breaking) {
        for change in &mut report.changes {
            if change.class == Class::Breaking && is_shape_only(change) {
                change.class = Class::NeedsAttention;
                change
                    .message
                    .push_str(" (the generated Rust API is unchanged by it)");
            }
        }
    }
    let json_silent = report.changes.is_empty();
    report.changes.extend(
        rust.changes
            .into_iter()
            .filter(|c| json_silent || c.class == Class::Breaking),
    );
    report.changes.sort_by(|a, b| {
        a.class
            .cmp(&b.class)
            .then_with(|| a.pointer.cmp(&b.pointer))
    });
    Ok(report)
}

/// [`judge`] of two whole documents (`cargo xtask diff`): each side's operations are
/// extracted and generated. When one side cannot be generated, the JSON report stands,
/// with a line saying the Rust API was not compared and why.
pub fn judge_documents(old: &Value, new: &Value, scope: &[String]) -> Result<Report> {
    let new_ids: Vec<String> = scope
        .iter()
        .map(|id| crate::extract::follow_rename(old, new, id))
        .collect();
    // Both sides as `openapi/` would hold them: a respelling upstream is no change.
    let (old, new) = (
        crate::extract::extract(old, scope)?,
        crate::extract::extract(new, &new_ids)?,
    );
    let (old, new) = (&old, &new);
    let json = diff(old, new, scope)?;
    if old == new {
        return Ok(json);
    }
    let surface_of = |doc: &Value| -> Result<rust_api::Surface> {
        let fragment = crate::spec::Fragment {
            rel_path: "openapi/compared.json".to_string(),
            sha256: String::new(),
            doc: doc.clone(),
        };
        rust_api::Surface::of(&crate::generate::render_auto(&fragment)?)
    };
    let sides = surface_of(old).and_then(|o| Ok((o, surface_of(new)?)));
    match sides {
        Ok((old_api, new_api)) => judge(old, new, scope, &old_api, &new_api),
        Err(e) => {
            let mut report = json;
            report.add(
                Class::NeedsAttention,
                "",
                format!("the generated Rust API was not compared: {e:#}"),
            );
            Ok(report)
        }
    }
}

/// Whether a change is one of a body's shape, which the generated types carry: in a
/// response, any (the types are what decodes it); in a request body, any but a
/// tightened constraint or an enum's values, which the server enforces whether or not
/// the types show them. Fields moved between composition members (upstream moved
/// rulesets' `kind` and `phase` from one `allOf` member to another in 2024) are shape.
fn is_shape_only(change: &crate::report::Change) -> bool {
    if change.pointer.contains("/responses/") {
        return true;
    }
    change.pointer.contains("/requestBody")
        && !change.message.contains("tightened")
        && !change.pointer.ends_with("/enum")
}

fn op_pointer(path: &str, method: &str) -> String {
    format!("/paths/{}/{method}", escape(path))
}
