//! The schema comparers behind `cargo xtask diff` (a schema, its properties, `required`
//! and `enum`), and the words every comparer describes a change with.

use serde_json::{Map, Value};

use crate::api::{self, Kind, Side};
use crate::report::{Class, Report, short};
use crate::spec::escape;

/// The keys of two objects, `a`'s first: a key on either side may have changed.
pub(crate) fn union_keys(a: &Value, b: &Value) -> Vec<String> {
    let mut keys: Vec<String> = a
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, _)| k.clone())
        .collect();
    for k in b.as_object().into_iter().flatten().map(|(k, _)| k) {
        if !keys.contains(k) {
            keys.push(k.clone());
        }
    }
    keys
}

/// A change of `key` in words: added, removed, or from one value to another.
pub(crate) fn describe_change(key: &str, a: Option<&Value>, b: Option<&Value>) -> String {
    match (a, b) {
        (None, Some(_)) => format!("{key} added: {}", short(b)),
        (Some(_), None) => format!("{key} removed (was {})", short(a)),
        _ => format!("{key} changed: {} → {}", short(a), short(b)),
    }
}

pub(crate) fn compare_schema(
    report: &mut Report,
    at: &str,
    old: Option<&Value>,
    new: Option<&Value>,
    side: Side,
) {
    let (o, n) = match (old, new) {
        (None, None) => return,
        (Some(_), None) | (None, Some(_)) => {
            report.add_values(
                Class::Breaking,
                at,
                describe_change("schema", old, new),
                old,
                new,
            );
            return;
        }
        (Some(o), Some(n)) => (o, n),
    };
    if o == n {
        return;
    }
    for key in union_keys(o, n) {
        let (a, b) = (o.get(&key), n.get(&key));
        if a == b {
            continue;
        }
        let here = format!("{at}/{}", escape(&key));
        let kind = api::kind(&key);
        match (kind, key.as_str()) {
            (Kind::Structure, "properties") => compare_properties(report, at, o, n, side),
            (Kind::Structure, "required") => compare_required(report, at, o, n),
            (Kind::Structure, "items") => compare_schema(report, &here, a, b, side),
            (Kind::Structure, "oneOf" | "anyOf" | "allOf") => {
                let (la, lb) = (a.and_then(Value::as_array), b.and_then(Value::as_array));
                match (la, lb) {
                    (Some(la), Some(lb)) if la.len() == lb.len() => {
                        for (i, (x, y)) in la.iter().zip(lb).enumerate() {
                            compare_schema(report, &format!("{here}/{i}"), Some(x), Some(y), side);
                        }
                    }
                    _ => report.add_values(
                        Class::NeedsAttention,
                        &here,
                        describe_change(&key, a, b),
                        a,
                        b,
                    ),
                }
            }
            (Kind::Enum, _) => compare_enum(report, &here, a, b, side),
            (Kind::Bound { larger_is_looser }, _) => {
                let word = if api::tightened(larger_is_looser, a, b) {
                    "tightened"
                } else {
                    "loosened"
                };
                report.add_values(
                    api::classify(kind, side, a, b),
                    &here,
                    format!("{} ({word})", describe_change(&key, a, b)),
                    a,
                    b,
                );
            }
            _ => report.add_values(
                api::classify(kind, side, a, b),
                &here,
                describe_change(&key, a, b),
                a,
                b,
            ),
        }
    }
}

pub(crate) fn compare_properties(report: &mut Report, at: &str, o: &Value, n: &Value, side: Side) {
    let empty = Map::new();
    let op = o
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let np = n
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let required_in = |s: &Value, name: &str| {
        s.get("required")
            .and_then(Value::as_array)
            .is_some_and(|r| r.iter().any(|x| x.as_str() == Some(name)))
    };
    for (name, schema) in op {
        let here = format!("{at}/properties/{}", escape(name));
        match np.get(name) {
            None => {
                let what = if side == Side::Response {
                    "response field"
                } else {
                    "request field"
                };
                report.add(Class::Breaking, &here, format!("{what} {name} removed"));
            }
            Some(new_schema) => compare_schema(report, &here, Some(schema), Some(new_schema), side),
        }
    }
    for name in np.keys().filter(|k| !op.contains_key(*k)) {
        let here = format!("{at}/properties/{}", escape(name));
        let req = required_in(n, name);
        let class = match (side, req) {
            (Side::Request, true) => Class::Breaking,
            _ => Class::Additive,
        };
        let what = if side == Side::Response {
            "response field"
        } else {
            "request field"
        };
        report.add(
            class,
            &here,
            format!(
                "new {} {what} {name}",
                if req { "required" } else { "optional" }
            ),
        );
    }
}

/// Requiredness of existing properties; the class is the same on both sides.
pub(crate) fn compare_required(report: &mut Report, at: &str, o: &Value, n: &Value) {
    let list = |s: &Value| -> Vec<String> {
        s.get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect()
    };
    let has = |s: &Value, name: &str| s.get("properties").and_then(|p| p.get(name)).is_some();
    let (ol, nl) = (list(o), list(n));
    for name in nl.iter().filter(|x| !ol.contains(x)) {
        if !has(o, name) {
            continue; // a new property; reported with the properties
        }
        // On either side the generated field's type changes (`Option<T>` becomes `T`),
        // so code that reads or builds it stops compiling.
        report.add(
            Class::Breaking,
            &format!("{at}/required"),
            format!("{name} became required (its generated field is no longer an Option)"),
        );
    }
    for name in ol.iter().filter(|x| !nl.contains(x)) {
        if !has(n, name) {
            continue; // removed; reported with the properties
        }
        // The generated field becomes an `Option` (a required parameter moves out of
        // `Required`): a Rust type change, whatever the wire says.
        report.add(
            Class::Breaking,
            &format!("{at}/required"),
            format!("{name} is no longer required (its generated field becomes an Option)"),
        );
    }
}

pub(crate) fn compare_enum(
    report: &mut Report,
    at: &str,
    a: Option<&Value>,
    b: Option<&Value>,
    side: Side,
) {
    let values = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let (av, bv) = (values(a), values(b));
    if a.is_none() || b.is_none() {
        // A string becomes a generated enum, or an enum a string: the Rust type changes on
        // either side, so code that names it stops compiling.
        report.add_values(Class::Breaking, at, describe_change("enum", a, b), a, b);
        return;
    }
    for v in bv.iter().filter(|v| !av.contains(v)) {
        let class = if side == Side::Response {
            Class::NeedsAttention
        } else {
            Class::Additive
        };
        report.add_values(class, at, format!("new enum value {v}"), None, Some(v));
    }
    // A removed value is a removed variant of the generated enum, on either side.
    for v in av.iter().filter(|v| !bv.contains(v)) {
        report.add_values(
            Class::Breaking,
            at,
            format!("enum value {v} removed"),
            Some(v),
            None,
        );
    }
}
