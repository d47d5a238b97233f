//! Each consecutive pair of an operation's versions in the history replay: classed by
//! `diff` from the JSON and from the generated Rust API.

use anyhow::Result;
use serde_json::Value;

use crate::diff;
use crate::history_model::{Operation, Pair, Version};
use crate::report::Class;
use crate::rust_api::{self, Surface};

/// Classes each consecutive pair of generated versions: `diff` of the fragments with
/// the generated code's surfaces, beside the surfaces' own verdict.
pub(crate) fn pairs(op: &Operation) -> Result<Vec<Pair>> {
    let mut out = Vec::new();
    let generated: Vec<(usize, &Version, &String)> = op
        .versions
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.generated.as_ref().ok().map(|code| (i, v, code)))
        .collect();
    for window in generated.windows(2) {
        let [(i, a, a_code), (j, b, b_code)] = window else {
            continue;
        };
        let old: Value = serde_json::from_str(&std::fs::read_to_string(&a.file)?)?;
        let new: Value = serde_json::from_str(&std::fs::read_to_string(&b.file)?)?;
        let (old_api, new_api) = (Surface::of(a_code)?, Surface::of(b_code)?);
        let rust = rust_api::compare(&old_api, &new_api).worst();
        let json = diff::diff(&old, &new, std::slice::from_ref(&a.operation_id))?;
        let report = diff::judge(
            &old,
            &new,
            std::slice::from_ref(&a.operation_id),
            &old_api,
            &new_api,
        )?;
        out.push(Pair {
            to: *j,
            class: report.worst(),
            json: json.worst(),
            rust,
            wire: json
                .changes
                .iter()
                .any(|c| c.class == Class::Breaking && is_wire(c)),
            renamed: a.operation_id != b.operation_id,
            from: *i,
            lines: report
                .changes
                .iter()
                .map(|c| format!("{} {} {}", c.class, c.pointer, c.message))
                .collect(),
        });
    }
    Ok(out)
}

/// Whether a line of the JSON diff is about the wire rather than a body's shape: auth,
/// the operation's path, method or id, a parameter, or a request body's constraint or
/// enum (the server enforces it whatever the types show). Read from the JSON alone, so
/// that the measure does not lean on `judge`'s own rule.
pub(crate) fn is_wire(change: &crate::report::Change) -> bool {
    let p = &change.pointer;
    p.contains("/security")
        || p.contains("securitySchemes")
        || p.contains("/parameters/")
        || p.ends_with("/operationId")
        || change.message.contains(" moved from ")
        || change.message.contains("operation ")
        || (p.contains("/requestBody")
            && (change.message.contains("tightened") || p.ends_with("/enum")))
}
