//! The comparers behind `cargo xtask diff`: each walks one part of an operation (its
//! parameters, request body, responses, schemas, security) in the old and the new
//! document and adds one classed change per difference to the report. A difference's
//! class depends on the side: what the client sends must still be accepted, what it
//! receives only has to be read.

use serde_json::{Map, Value};

use crate::api::{self, Side};
use crate::compare_schema::{compare_schema, describe_change, union_keys};
use crate::report::{Class, Report};
use crate::spec::escape;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compare_security::compare_security;
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
