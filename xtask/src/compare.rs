//! The comparers behind `cargo xtask diff`: each walks one part of an operation (its
//! parameters, request body, responses, schemas, security) in the old and the new
//! document and adds one classed change per difference to the report. A difference's
//! class depends on the side: what the client sends must still be accepted, what it
//! receives only has to be read.

use anyhow::Result;
use serde_json::{Map, Value};

use crate::api::{self, Kind, Side};
use crate::refs::inline as resolve_refs;
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

pub(crate) fn compare_parameters(report: &mut Report, at: &str, old: &[Value], new: &[Value]) {
    let key = |p: &Value| {
        (
            p.get("in")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
            p.get("name")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string(),
        )
    };
    let required = |p: &Value| p.get("required").and_then(Value::as_bool).unwrap_or(false);
    for (i, op) in old.iter().enumerate() {
        let k = key(op);
        let here = format!("{at}/parameters/{i}");
        match new.iter().find(|np| key(np) == k) {
            None => report.add(
                Class::Breaking,
                &here,
                format!("{} parameter {} removed", k.0, k.1),
            ),
            Some(np) => {
                if !required(op) && required(np) {
                    report.add(
                        Class::Breaking,
                        &format!("{here}/required"),
                        format!("{} parameter {} became required", k.0, k.1),
                    );
                } else if required(op) && !required(np) {
                    report.add(
                        Class::Additive,
                        &format!("{here}/required"),
                        format!("{} parameter {} became optional", k.0, k.1),
                    );
                }
                for key_name in union_keys(op, np) {
                    if matches!(key_name.as_str(), "name" | "in" | "required" | "schema") {
                        continue;
                    }
                    let (a, b) = (op.get(&key_name), np.get(&key_name));
                    if a != b {
                        let class = if api::is_cosmetic(&key_name) {
                            Class::Cosmetic
                        } else {
                            Class::NeedsAttention
                        };
                        report.add_values(
                            class,
                            &format!("{here}/{}", escape(&key_name)),
                            describe_change(&key_name, a, b),
                            a,
                            b,
                        );
                    }
                }
                compare_schema(
                    report,
                    &format!("{here}/schema"),
                    op.get("schema"),
                    np.get("schema"),
                    Side::Request,
                );
            }
        }
    }
    for (i, np) in new.iter().enumerate() {
        let k = key(np);
        if !old.iter().any(|op| key(op) == k) {
            let (class, what) = if required(np) {
                (Class::Breaking, "required")
            } else {
                (Class::Additive, "optional")
            };
            report.add(
                class,
                &format!("{at}/parameters/{i}"),
                format!("new {what} {} parameter {}", k.0, k.1),
            );
        }
    }
}

pub(crate) fn compare_request_body(
    report: &mut Report,
    at: &str,
    old: Option<&Value>,
    new: Option<&Value>,
) {
    let here = format!("{at}/requestBody");
    let required = |b: &Value| b.get("required").and_then(Value::as_bool).unwrap_or(false);
    match (old, new) {
        (None, None) => {}
        (None, Some(b)) => {
            let class = if required(b) {
                Class::Breaking
            } else {
                Class::Additive
            };
            report.add(
                class,
                &here,
                if required(b) {
                    "new required request body"
                } else {
                    "new optional request body"
                },
            );
        }
        (Some(_), None) => report.add(Class::NeedsAttention, &here, "request body removed"),
        (Some(a), Some(b)) => {
            if required(a) && !required(b) {
                report.add(
                    Class::NeedsAttention,
                    &here,
                    "the request body became optional",
                );
            }
            if !required(a) && required(b) {
                report.add(
                    Class::Breaking,
                    &format!("{here}/required"),
                    "request body became required",
                );
            }
            compare_content(report, &here, a, b, Side::Request);
        }
    }
}

fn compare_content(report: &mut Report, at: &str, old: &Value, new: &Value, side: Side) {
    let empty = Map::new();
    let oc = old
        .get("content")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let nc = new
        .get("content")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    for (media, o) in oc {
        let here = format!("{at}/content/{}", escape(media));
        match nc.get(media) {
            None => report.add(
                if side == Side::Response {
                    Class::Breaking
                } else {
                    Class::NeedsAttention
                },
                &here,
                format!("media type {media} removed"),
            ),
            Some(n) => compare_schema(
                report,
                &format!("{here}/schema"),
                o.get("schema"),
                n.get("schema"),
                side,
            ),
        }
    }
    for media in nc.keys().filter(|m| !oc.contains_key(*m)) {
        report.add(
            Class::Additive,
            &format!("{at}/content/{}", escape(media)),
            format!("media type {media} added"),
        );
    }
}

/// An operation's responses keyed by status as OpenAPI spells it: a range written
/// `4xx` is the `4XX` range (upstream respells it back and forth).
fn by_status(op: &Value) -> Map<String, Value> {
    op.get("responses")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(code, v)| (crate::normalise::status_key(code), v.clone()))
        .collect()
}

pub(crate) fn compare_responses(report: &mut Report, at: &str, old: &Value, new: &Value) {
    let or = &by_status(old);
    let nr = &by_status(new);
    for (code, o) in or {
        let here = format!("{at}/responses/{}", escape(code));
        match nr.get(code) {
            None => report.add(Class::Breaking, &here, format!("response {code} removed")),
            Some(n) => {
                for key in union_keys(o, n) {
                    if key == "content" {
                        continue;
                    }
                    let (a, b) = (o.get(&key), n.get(&key));
                    if a != b {
                        let class = if api::is_cosmetic(&key) {
                            Class::Cosmetic
                        } else {
                            Class::NeedsAttention
                        };
                        report.add_values(
                            class,
                            &format!("{here}/{}", escape(&key)),
                            describe_change(&key, a, b),
                            a,
                            b,
                        );
                    }
                }
                compare_content(report, &here, o, n, Side::Response);
            }
        }
    }
    // The generator types one success body (the lowest 2xx status's); another success
    // status with a different body is read by its status only, and the report says so.
    let lowest_success = nr.keys().filter(|c| c.starts_with('2')).min();
    let success_body = lowest_success.and_then(|low| nr[low].get("content"));
    for code in nr.keys().filter(|c| !or.contains_key(*c)) {
        let body = nr[code].get("content");
        let untyped = code.starts_with('2')
            && Some(code) != lowest_success
            && body.is_some()
            && body != success_body;
        let message = if untyped {
            format!(
                "new response status {code}; its body differs from the {} body and is not \
                 typed: its fields reach neither SyncReport::result nor the command's record",
                lowest_success.map_or("", String::as_str)
            )
        } else {
            format!("new response status {code}")
        };
        report.add(
            Class::NeedsAttention,
            &format!("{at}/responses/{}", escape(code)),
            message,
        );
    }
}

fn compare_schema(
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

fn compare_properties(report: &mut Report, at: &str, o: &Value, n: &Value, side: Side) {
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
fn compare_required(report: &mut Report, at: &str, o: &Value, n: &Value) {
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

fn compare_enum(report: &mut Report, at: &str, a: Option<&Value>, b: Option<&Value>, side: Side) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Each change as (class, pointer, message), in the order it was found.
    fn found(report: &Report) -> Vec<(Class, &str, &str)> {
        report
            .changes
            .iter()
            .map(|c| (c.class, c.pointer.as_str(), c.message.as_str()))
            .collect()
    }

    fn schema(side: Side, old: Value, new: Value) -> Report {
        let mut report = Report::default();
        compare_schema(&mut report, "/s", Some(&old), Some(&new), side);
        report
    }

    fn param(name: &str, required: bool) -> Value {
        json!({"in": "query", "name": name, "required": required, "schema": {"type": "string"}})
    }

    #[test]
    fn parameters_removed_or_newly_required_break_and_optional_ones_add() {
        let mut report = Report::default();
        compare_parameters(
            &mut report,
            "/op",
            &[
                param("gone", false),
                param("strict", false),
                param("lax", true),
            ],
            &[
                param("strict", true),
                param("lax", false),
                param("opt", false),
                param("req", true),
            ],
        );
        assert_eq!(
            found(&report),
            [
                (
                    Class::Breaking,
                    "/op/parameters/0",
                    "query parameter gone removed"
                ),
                (
                    Class::Breaking,
                    "/op/parameters/1/required",
                    "query parameter strict became required"
                ),
                (
                    Class::Additive,
                    "/op/parameters/2/required",
                    "query parameter lax became optional"
                ),
                (
                    Class::Additive,
                    "/op/parameters/2",
                    "new optional query parameter opt"
                ),
                (
                    Class::Breaking,
                    "/op/parameters/3",
                    "new required query parameter req"
                ),
            ]
        );
    }

    #[test]
    fn a_parameter_keeps_its_identity_by_place_and_name_not_position() {
        let mut old = param("a", false);
        old["description"] = json!("old words");
        let mut new = param("a", false);
        new["description"] = json!("new words");
        new["style"] = json!("form");
        new["schema"]["maxLength"] = json!(8);
        let mut report = Report::default();
        compare_parameters(
            &mut report,
            "/op",
            &[param("b", false), old],
            &[new, param("b", false)],
        );
        assert_eq!(
            found(&report),
            [
                (
                    Class::Cosmetic,
                    "/op/parameters/1/description",
                    "description changed: \"old words\" → \"new words\""
                ),
                (
                    Class::NeedsAttention,
                    "/op/parameters/1/style",
                    "style added: \"form\""
                ),
                (
                    Class::Breaking,
                    "/op/parameters/1/schema/maxLength",
                    "maxLength added: 8 (tightened)"
                ),
            ]
        );
    }

    #[test]
    fn a_request_body_that_must_now_be_sent_breaks() {
        let body = |required: bool| json!({"required": required, "content": {}});
        let run = |old: Option<Value>, new: Option<Value>| {
            let mut report = Report::default();
            compare_request_body(&mut report, "/op", old.as_ref(), new.as_ref());
            report
                .changes
                .into_iter()
                .map(|c| (c.class, c.message))
                .collect::<Vec<_>>()
        };
        let one = |class, message: &str| vec![(class, message.to_string())];
        assert_eq!(
            run(None, Some(body(true))),
            one(Class::Breaking, "new required request body")
        );
        assert_eq!(
            run(None, Some(body(false))),
            one(Class::Additive, "new optional request body")
        );
        assert_eq!(
            run(Some(body(false)), None),
            one(Class::NeedsAttention, "request body removed")
        );
        assert_eq!(
            run(Some(body(false)), Some(body(true))),
            one(Class::Breaking, "request body became required")
        );
        // Said, so that the generated API's change (a `_without_body` method, `Params`'
        // body now optional) is judged rather than missed.
        assert_eq!(
            run(Some(body(true)), Some(body(false))),
            one(Class::NeedsAttention, "the request body became optional")
        );
        assert!(run(None, None).is_empty());
    }

    #[test]
    fn media_types_removed_from_a_response_break_and_added_ones_add() {
        let content = |types: &[&str]| {
            let map: Map<String, Value> = types
                .iter()
                .map(|t| (t.to_string(), json!({"schema": {"type": "object"}})))
                .collect();
            json!({ "content": map })
        };
        let (old, new) = (content(&["application/json"]), content(&["text/plain"]));
        let mut response = Report::default();
        compare_content(&mut response, "/r", &old, &new, Side::Response);
        assert_eq!(
            found(&response),
            [
                (
                    Class::Breaking,
                    "/r/content/application~1json",
                    "media type application/json removed"
                ),
                (
                    Class::Additive,
                    "/r/content/text~1plain",
                    "media type text/plain added"
                ),
            ]
        );
        let mut request = Report::default();
        compare_content(&mut request, "/r", &old, &new, Side::Request);
        assert_eq!(request.changes[0].class, Class::NeedsAttention);
    }

    #[test]
    fn a_removed_response_breaks_and_a_new_status_needs_attention() {
        let old = json!({"responses": {
            "200": {"description": "ok"},
            "404": {"description": "missing"},
        }});
        let new = json!({"responses": {
            "200": {"description": "fine"},
            "429": {"description": "slow down"},
        }});
        let mut report = Report::default();
        compare_responses(&mut report, "/op", &old, &new);
        assert_eq!(
            found(&report),
            [
                (
                    Class::Cosmetic,
                    "/op/responses/200/description",
                    "description changed: \"ok\" → \"fine\""
                ),
                (Class::Breaking, "/op/responses/404", "response 404 removed"),
                (
                    Class::NeedsAttention,
                    "/op/responses/429",
                    "new response status 429"
                ),
            ]
        );
    }

    #[test]
    fn a_new_success_status_with_another_body_says_it_is_not_typed() {
        let body = |p: &str| json!({"application/json": {"schema": {"properties": {p: {}}}}});
        let old = json!({"responses": {"200": {"content": body("status")}}});
        let new = json!({"responses": {
            "200": {"content": body("status")},
            "201": {"content": body("status")},
            "202": {"content": body("job_id")},
            "204": {"description": "no body"},
        }});
        let mut report = Report::default();
        compare_responses(&mut report, "/op", &old, &new);
        let messages: Vec<&str> = report.changes.iter().map(|c| c.message.as_str()).collect();
        assert_eq!(
            messages,
            [
                "new response status 201",
                "new response status 202; its body differs from the 200 body and is not \
                 typed: its fields reach neither SyncReport::result nor the command's record",
                "new response status 204",
            ]
        );
    }

    #[test]
    fn a_removed_field_breaks_and_a_new_optional_field_adds() {
        let old = json!({"type": "object", "properties": {"id": {"type": "string"}, "gone": {}}});
        let new = json!({"type": "object", "properties": {"id": {"type": "string"}, "extra": {}}});
        for side in [Side::Response, Side::Request] {
            let word = if side == Side::Response {
                "response"
            } else {
                "request"
            };
            assert_eq!(
                found(&schema(side, old.clone(), new.clone())),
                [
                    (
                        Class::Breaking,
                        "/s/properties/gone",
                        format!("{word} field gone removed").as_str()
                    ),
                    (
                        Class::Additive,
                        "/s/properties/extra",
                        format!("new optional {word} field extra").as_str()
                    ),
                ],
                "{side:?}"
            );
        }
    }

    #[test]
    fn a_new_required_field_breaks_a_request_only() {
        let old = json!({"properties": {"id": {}}, "required": ["id"]});
        let new = json!({"properties": {"id": {}, "name": {}}, "required": ["id", "name"]});
        let classes = |side| {
            schema(side, old.clone(), new.clone())
                .changes
                .iter()
                .map(|c| (c.class, c.message.clone()))
                .collect::<Vec<_>>()
        };
        // `required` names the new property: reported once, with the properties.
        assert_eq!(
            classes(Side::Request),
            [(
                Class::Breaking,
                "new required request field name".to_string()
            )]
        );
        assert_eq!(
            classes(Side::Response),
            [(
                Class::Additive,
                "new required response field name".to_string()
            )]
        );
    }

    #[test]
    fn requiredness_of_an_existing_field_is_judged_by_side() {
        let optional = json!({"properties": {"id": {}}});
        let required = json!({"properties": {"id": {}}, "required": ["id"]});
        let class = |side, old: &Value, new: &Value| {
            let report = schema(side, old.clone(), new.clone());
            assert_eq!(report.changes.len(), 1, "{report:?}");
            report.changes[0].class
        };
        // Either way, on either side, the generated field's type changes.
        assert_eq!(class(Side::Request, &optional, &required), Class::Breaking);
        assert_eq!(class(Side::Response, &optional, &required), Class::Breaking);
        assert_eq!(class(Side::Request, &required, &optional), Class::Breaking);
        assert_eq!(class(Side::Response, &required, &optional), Class::Breaking);
    }

    #[test]
    fn enum_values_are_judged_by_side() {
        let (old, new) = (json!({"enum": ["a", "b"]}), json!({"enum": ["a", "c"]}));
        let response = schema(Side::Response, old.clone(), new.clone());
        assert_eq!(
            found(&response),
            [
                (Class::NeedsAttention, "/s/enum", "new enum value \"c\""),
                (Class::Breaking, "/s/enum", "enum value \"b\" removed"),
            ]
        );
        let request = schema(Side::Request, old, new);
        assert_eq!(
            found(&request),
            [
                (Class::Additive, "/s/enum", "new enum value \"c\""),
                (Class::Breaking, "/s/enum", "enum value \"b\" removed"),
            ]
        );
        // An enum appearing or vanishing turns a String into a generated enum or back.
        let (free, listed) = (
            json!({"type": "string"}),
            json!({"type": "string", "enum": ["a"]}),
        );
        for side in [Side::Request, Side::Response] {
            for (old, new) in [(&free, &listed), (&listed, &free)] {
                assert_eq!(
                    schema(side, old.clone(), new.clone()).changes[0].class,
                    Class::Breaking
                );
            }
        }
    }

    #[test]
    fn schemas_are_walked_into_and_compared_by_keyword() {
        let old = json!({"type": "array", "items": {"type": "string", "maxLength": 8}});
        let new = json!({"type": "array", "items": {"type": "integer", "maxLength": 16}});
        assert_eq!(
            found(&schema(Side::Request, old, new)),
            [
                (
                    Class::Breaking,
                    "/s/items/type",
                    "type changed: \"string\" → \"integer\""
                ),
                (
                    Class::Additive,
                    "/s/items/maxLength",
                    "maxLength changed: 8 → 16 (loosened)"
                ),
            ]
        );
        // One alternative more or less cannot be lined up: a person looks at it.
        let one = json!({"oneOf": [{"type": "string"}]});
        let two = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(
            schema(Side::Response, one, two).changes[0].class,
            Class::NeedsAttention
        );
        // A schema appearing or vanishing is a new type.
        let mut report = Report::default();
        compare_schema(&mut report, "/s", None, Some(&json!({})), Side::Response);
        assert_eq!(report.changes[0].class, Class::Breaking);
        assert!(
            schema(Side::Request, json!({"a": 1}), json!({"a": 1}))
                .changes
                .is_empty()
        );
    }

    #[test]
    fn auth_removed_or_changed_breaks_and_a_new_alternative_adds() {
        let doc = |security: Value, key_in: &str, description: &str| {
            json!({
                "security": security,
                "components": {"securitySchemes": {
                    "token": {"type": "http", "scheme": "bearer"},
                    "key": {"type": "apiKey", "in": key_in, "name": "X-Auth-Key",
                            "description": description},
                    "email": {"type": "apiKey", "in": "header", "name": "X-Auth-Email"},
                }},
            })
        };
        let old = doc(
            json!([{"token": []}, {"key": [], "email": []}]),
            "header",
            "a",
        );
        let new = doc(
            json!([{"key": [], "email": []}, {"mtls": []}]),
            "query",
            "b",
        );
        let mut report = Report::default();
        compare_security(&mut report, "/op", &old, &new, &json!({}), &json!({})).unwrap();
        assert_eq!(
            found(&report),
            [
                (
                    Class::Breaking,
                    "/op/security",
                    "auth alternative token removed"
                ),
                (
                    Class::Additive,
                    "/op/security",
                    "auth alternative mtls added"
                ),
                (
                    Class::Breaking,
                    "/components/securitySchemes/key/in",
                    "security scheme key: in changed: \"header\" → \"query\""
                ),
                (
                    Class::Cosmetic,
                    "/components/securitySchemes/key/description",
                    "security scheme key: description changed: \"a\" → \"b\""
                ),
            ]
        );
        // A scheme only renamed (upstream prefixed every name in 2023-08) is itself.
        let renamed = json!({
            "security": [{"IYNcMF6N_token": []}],
            "components": {"securitySchemes": {
                "IYNcMF6N_token": {"type": "http", "scheme": "bearer", "description": "new"}}},
        });
        let before = json!({
            "security": [{"token": []}],
            "components": {"securitySchemes": {"token": {"type": "http", "scheme": "bearer"}}},
        });
        let mut report = Report::default();
        compare_security(
            &mut report,
            "/op",
            &before,
            &renamed,
            &json!({}),
            &json!({}),
        )
        .unwrap();
        assert_eq!(
            found(&report),
            [(
                Class::Cosmetic,
                "/op/security",
                "auth alternative token renamed IYNcMF6N_token (the same on the wire)"
            )]
        );
        // An operation's own `security` wins over the document's.
        let mut report = Report::default();
        let own = json!({"security": [{"token": []}, {"email": [], "key": []}]});
        compare_security(&mut report, "/op", &old, &old, &own, &own).unwrap();
        assert!(report.changes.is_empty(), "{report:?}");
    }
}
