//! The comparer of an operation's security requirements behind `cargo xtask diff`: the
//! alternatives it accepts and the schemes they name.

use anyhow::Result;
use serde_json::Value;

use crate::api;
use crate::compare_schema::{describe_change, union_keys};
use crate::refs::inline as resolve_refs;
use crate::report::{Class, Report};
use crate::spec::escape;

pub(crate) fn compare_security(
    report: &mut Report,
    at: &str,
    old_doc: &Value,
    new_doc: &Value,
    oo: &Value,
    no: &Value,
) -> Result<()> {
    let alternatives = |doc: &Value, op: &Value| -> Vec<Vec<String>> {
        op.get("security")
            .or_else(|| doc.get("security"))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|alt| {
                let mut names: Vec<String> = alt
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(k, _)| k.clone())
                    .collect();
                names.sort();
                names
            })
            .collect()
    };
    let (oa, na) = (alternatives(old_doc, oo), alternatives(new_doc, no));
    let here = format!("{at}/security");
    // What a scheme sends (its definition but its prose), so that a scheme upstream only
    // renamed (`api_email` → `IYNcMF6N_api_email`, 2023-08) is known as itself.
    let wire = |doc: &Value, alt: &[String]| -> Vec<String> {
        let mut ids: Vec<String> = alt
            .iter()
            .map(|name| {
                let ptr = format!("/components/securitySchemes/{}", escape(name));
                match doc.pointer(&ptr).and_then(Value::as_object) {
                    Some(def) => {
                        let mut def = def.clone();
                        def.remove("description");
                        Value::Object(def).to_string()
                    }
                    // A name the document does not define says nothing of the wire:
                    // two such names are the same (upstream prefixed them afresh in
                    // each of six versions of 2023-08-04).
                    None => "undefined".to_string(),
                }
            })
            .collect();
        ids.sort();
        ids
    };
    let mut removed: Vec<&Vec<String>> = oa.iter().filter(|a| !na.contains(a)).collect();
    let mut added: Vec<&Vec<String>> = na.iter().filter(|a| !oa.contains(a)).collect();
    removed.retain(|old_alt| {
        let same = added
            .iter()
            .position(|new_alt| wire(old_doc, old_alt) == wire(new_doc, new_alt));
        let Some(i) = same else { return true };
        let new_alt = added.remove(i);
        report.add(
            Class::Cosmetic,
            &here,
            format!(
                "auth alternative {} renamed {} (the same on the wire)",
                old_alt.join(" + "),
                new_alt.join(" + ")
            ),
        );
        false
    });
    for alt in removed {
        report.add(
            Class::Breaking,
            &here,
            format!("auth alternative {} removed", alt.join(" + ")),
        );
    }
    for alt in added {
        report.add(
            Class::Additive,
            &here,
            format!("auth alternative {} added", alt.join(" + ")),
        );
    }
    let mut names: Vec<&String> = na
        .iter()
        .flatten()
        .filter(|n| oa.iter().flatten().any(|o| o == *n))
        .collect();
    names.sort();
    names.dedup();
    for name in names {
        let ptr = format!("/components/securitySchemes/{}", escape(name));
        let (a, b) = (old_doc.pointer(&ptr), new_doc.pointer(&ptr));
        let (a, b) = match (a, b) {
            (Some(a), Some(b)) => (resolve_refs(old_doc, a)?, resolve_refs(new_doc, b)?),
            _ => continue,
        };
        for key in union_keys(&a, &b) {
            let (x, y) = (a.get(&key), b.get(&key));
            if x != y {
                let class = if api::is_cosmetic(&key) {
                    Class::Cosmetic
                } else {
                    Class::Breaking
                };
                report.add_values(
                    class,
                    &format!("{ptr}/{}", escape(&key)),
                    format!("security scheme {name}: {}", describe_change(&key, x, y)),
                    x,
                    y,
                );
            }
        }
    }
    Ok(())
}
