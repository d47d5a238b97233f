//! `cargo xtask diff <OLD> <NEW>`: what changed, for the operations in scope, in words a
//! reviewer can judge. One line per change: its class, JSON pointer, and what happened.
//!
//! Pointers follow each operation through its `$ref`s, as if everything were inlined, so
//! a change reads the same whether upstream wrote a schema inline or shared it.

use std::fmt;

use anyhow::{Result, bail};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::api::{self, Kind, Side};
use crate::refs::inline as resolve_refs;
use crate::spec::{self, METHODS, escape};

/// How much a change matters to users of this client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Breaks users: removed or retyped response field, new required parameter, removed
    /// operation, moved path or method, tightened parameter constraint, removed auth.
    Breaking,
    /// Tolerated, but the client should learn it: new response enum value, new status.
    NeedsAttention,
    /// New optional things.
    Additive,
    /// Descriptions, examples, summaries.
    Cosmetic,
}

impl fmt::Display for Class {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Breaking => "breaking",
            Self::NeedsAttention => "needs-attention",
            Self::Additive => "additive",
            Self::Cosmetic => "cosmetic",
        })
    }
}

/// One change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Its class.
    pub class: Class,
    /// Where, as a JSON pointer into the document (through `$ref`s).
    pub pointer: String,
    /// What happened.
    pub message: String,
    /// The old value, when the change is one of a value (shortened to 80 characters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub was: Option<String>,
    /// The new value, likewise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub now: Option<String>,
}

/// Every change, sorted most serious first.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The changes.
    pub changes: Vec<Change>,
}

impl Report {
    /// 0 nothing changed, 1 only non-breaking changes, 2 something breaking.
    pub fn exit_code(&self) -> u8 {
        if self.changes.iter().any(|c| c.class == Class::Breaking) {
            2
        } else if self.changes.is_empty() {
            0
        } else {
            1
        }
    }

    /// How many changes of a class.
    pub fn count(&self, class: Class) -> usize {
        self.changes.iter().filter(|c| c.class == class).count()
    }

    /// The report as text: one line per change, then a summary line.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        for c in &self.changes {
            out.push_str(&format!(
                "{:<16} {}: {}\n",
                c.class.to_string(),
                c.pointer,
                c.message
            ));
        }
        out.push_str(&format!(
            "{} change(s): {} breaking, {} needs attention, {} additive, {} cosmetic\n",
            self.changes.len(),
            self.count(Class::Breaking),
            self.count(Class::NeedsAttention),
            self.count(Class::Additive),
            self.count(Class::Cosmetic)
        ));
        out
    }

    /// The most serious class present, if anything changed (the spec-drift pull
    /// request's label).
    pub fn worst(&self) -> Option<Class> {
        self.changes.iter().map(|c| c.class).min()
    }

    /// The report as JSON, for machines.
    pub fn to_json(&self) -> String {
        let value = serde_json::json!({
            "changes": self.changes,
            "summary": {
                "breaking": self.count(Class::Breaking),
                "needs_attention": self.count(Class::NeedsAttention),
                "additive": self.count(Class::Additive),
                "cosmetic": self.count(Class::Cosmetic),
            },
            "exit_code": self.exit_code(),
        });
        format!("{value:#}\n")
    }

    fn add(&mut self, class: Class, pointer: &str, message: impl Into<String>) {
        self.changes.push(Change {
            class,
            pointer: pointer.to_string(),
            message: message.into(),
            was: None,
            now: None,
        });
    }

    /// A change of a value: the message, and what it was and is now (absent sides
    /// stay empty).
    fn add_values(
        &mut self,
        class: Class,
        pointer: &str,
        message: impl Into<String>,
        was: Option<&Value>,
        now: Option<&Value>,
    ) {
        self.add(class, pointer, message);
        if let Some(change) = self.changes.last_mut() {
            change.was = was.map(|v| short(Some(v)));
            change.now = now.map(|v| short(Some(v)));
        }
    }
}

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

fn union_keys(a: &Value, b: &Value) -> Vec<String> {
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

fn short(v: Option<&Value>) -> String {
    match v {
        None => "absent".to_string(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 80 {
                format!("{}…", s.chars().take(80).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn describe_change(key: &str, a: Option<&Value>, b: Option<&Value>) -> String {
    match (a, b) {
        (None, Some(_)) => format!("{key} added: {}", short(b)),
        (Some(_), None) => format!("{key} removed (was {})", short(a)),
        _ => format!("{key} changed: {} → {}", short(a), short(b)),
    }
}

fn compare_parameters(report: &mut Report, at: &str, old: &[Value], new: &[Value]) {
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

fn compare_request_body(report: &mut Report, at: &str, old: Option<&Value>, new: Option<&Value>) {
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

fn compare_responses(report: &mut Report, at: &str, old: &Value, new: &Value) {
    let empty = Map::new();
    let or = old
        .get("responses")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let nr = new
        .get("responses")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
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
    for code in nr.keys().filter(|c| !or.contains_key(*c)) {
        report.add(
            Class::NeedsAttention,
            &format!("{at}/responses/{}", escape(code)),
            format!("new response status {code}"),
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
            (Kind::Structure, "required") => compare_required(report, at, o, n, side),
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

fn compare_required(report: &mut Report, at: &str, o: &Value, n: &Value, side: Side) {
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
        let class = if side == Side::Request {
            Class::Breaking
        } else {
            Class::Additive
        };
        report.add(
            class,
            &format!("{at}/required"),
            format!("{name} became required"),
        );
    }
    for name in ol.iter().filter(|x| !nl.contains(x)) {
        if !has(n, name) {
            continue; // removed; reported with the properties
        }
        let class = if side == Side::Request {
            Class::Additive
        } else {
            Class::NeedsAttention
        };
        report.add(
            class,
            &format!("{at}/required"),
            format!("{name} is no longer required (may be absent)"),
        );
    }
}

fn compare_enum(report: &mut Report, at: &str, a: Option<&Value>, b: Option<&Value>, side: Side) {
    let values = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let (av, bv) = (values(a), values(b));
    if a.is_none() || b.is_none() {
        // An enum appearing constrains; one disappearing widens.
        let class = match (side, a.is_none()) {
            (Side::Request, true) => Class::Breaking,
            (Side::Response, false) => Class::NeedsAttention,
            _ => Class::Additive,
        };
        report.add_values(class, at, describe_change("enum", a, b), a, b);
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
    for v in av.iter().filter(|v| !bv.contains(v)) {
        let class = if side == Side::Request {
            Class::Breaking
        } else {
            Class::NeedsAttention
        };
        report.add_values(class, at, format!("enum value {v} removed"), Some(v), None);
    }
}

fn compare_security(
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
    for alt in oa.iter().filter(|a| !na.contains(a)) {
        report.add(
            Class::Breaking,
            &here,
            format!("auth alternative {} removed", alt.join(" + ")),
        );
    }
    for alt in na.iter().filter(|a| !oa.contains(a)) {
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
