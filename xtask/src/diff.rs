//! `cargo xtask diff <OLD> <NEW>`: what changed, for the operations in scope, in words a
//! reviewer can judge. One line per change: its class, JSON pointer, and what happened.
//!
//! Pointers follow each operation through its `$ref`s, as if everything were inlined, so
//! a change reads the same whether upstream wrote a schema inline or shared it.

use anyhow::{Result, bail};
use serde_json::Value;

use crate::api;
use crate::compare::{
    compare_parameters, compare_request_body, compare_responses, compare_security, describe_change,
    union_keys,
};
use crate::refs::inline as resolve_refs;
use crate::report::{Class, Report};
use crate::spec::{self, METHODS, escape};

/// Compares the operations `scope` (operationIds) of two documents.
pub fn diff(old: &Value, new: &Value, scope: &[String]) -> Result<Report> {
    let mut report = Report::default();
    for id in scope {
        let o = find(old, id);
        let n = find(new, id);
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
    spec::operations(doc)
        .into_iter()
        .find(|o| o.op.get("operationId").and_then(Value::as_str) == Some(id))
        .map(|o| {
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

fn op_pointer(path: &str, method: &str) -> String {
    format!("/paths/{}/{method}", escape(path))
}
