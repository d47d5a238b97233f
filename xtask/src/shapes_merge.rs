//! The `allOf` merge of plain objects behind `shapes`: what a schema that says
//! only its types admits, and the key-by-key merge of members that agree.

use serde_json::{Map, Value};

/// The JSON types a schema that says nothing more than its type admits: `{}` (every
/// type), `{type: object}`, `anyOf [object, array, string]`. None for a schema that
/// says more (properties, items, values, formats).
pub(crate) fn loose_types(schema: &Value) -> Option<Vec<String>> {
    const ALL: [&str; 6] = ["object", "array", "string", "number", "integer", "boolean"];
    let map = schema.as_object()?;
    let bare = |m: &Map<String, Value>| -> Option<Vec<String>> {
        let prose = |k: &str| matches!(k, "nullable" | "description" | "example");
        let empty_items = m
            .get("items")
            .is_none_or(|i| i == &Value::Object(Map::new()));
        if !(empty_items && m.keys().all(|k| k == "type" || k == "items" || prose(k))) {
            return None;
        }
        match m.get("type") {
            None if m.get("items").is_none() => Some(ALL.map(str::to_string).to_vec()),
            Some(Value::String(t)) => Some(vec![t.clone()]),
            _ => None,
        }
    };
    if let Some(types) = bare(map) {
        return Some(types);
    }
    let key = ["anyOf", "oneOf"]
        .into_iter()
        .find(|k| map.contains_key(*k))?;
    if !map
        .keys()
        .all(|k| k == key || k == "description" || k == "nullable")
    {
        return None;
    }
    let mut types = Vec::new();
    for member in map.get(key)?.as_array()? {
        types.extend(bare(member.as_object()?)?);
    }
    Some(types)
}

/// The JSON types a schema's values can have, when it says (its `type`, what its
/// keywords imply, or its alternatives' types together).
pub(crate) fn types_of(schema: &Value) -> Option<Vec<String>> {
    let map = schema.as_object()?;
    match map.get("type") {
        Some(Value::String(t)) => return Some(vec![t.clone()]),
        Some(_) => return None,
        None => {}
    }
    if map.contains_key("properties") {
        return Some(vec!["object".to_string()]);
    }
    if map.contains_key("items") {
        return Some(vec!["array".to_string()]);
    }
    let key = ["anyOf", "oneOf"]
        .into_iter()
        .find(|k| map.contains_key(*k))?;
    let mut types = Vec::new();
    for member in map.get(key)?.as_array()? {
        types.extend(types_of(member)?);
    }
    Some(types)
}

/// Whether `loose` says nothing but a set of types that holds `other`'s (its one
/// type, or all of the types it too says nothing more than): their intersection is
/// `other`.
pub(crate) fn admits(loose: &Value, other: &Value) -> bool {
    let Some(types) = loose_types(loose) else {
        return false;
    };
    match loose_types(other) {
        // Both say only types: the narrower set is the intersection (the same set
        // merges key by key instead, prose and all).
        Some(narrower) => {
            narrower.iter().all(|t| types.contains(t)) && narrower.len() < types.len()
        }
        None => types_of(other).is_some_and(|ts| ts.iter().all(|t| types.contains(t))),
    }
}

/// An object schema without a composition or negation of its own, which `allOf` may
/// merge key by key.
pub(crate) fn is_plain_object(member: &Value) -> bool {
    let Some(m) = member.as_object() else {
        return false;
    };
    let typed_object = match m.get("type") {
        None => true,
        Some(t) => t == "object",
    };
    typed_object
        && !["allOf", "anyOf", "oneOf", "not", "$ref", "enum", "items"]
            .iter()
            .any(|k| m.contains_key(*k))
}

/// Merges `member` into `into` as `allOf` would (properties and `required` united);
/// false, with `into` possibly half-merged, when they disagree on a key, in which case
/// the caller keeps the composition. For a one-member `oneOf`/`anyOf` the member's
/// keys simply join.
pub(crate) fn merge_into(
    into: &mut Map<String, Value>,
    member: &Map<String, Value>,
    how: &str,
) -> bool {
    for (key, value) in member {
        match key.as_str() {
            "properties" => {
                let Some(theirs) = value.as_object() else {
                    return false;
                };
                let ours = into
                    .entry("properties")
                    .or_insert_with(|| Value::Object(Map::new()));
                let Some(ours) = ours.as_object_mut() else {
                    return false;
                };
                for (name, schema) in theirs {
                    match (ours.get_mut(name), schema.as_object()) {
                        (Some(existing), _) if existing == schema => {}
                        // The envelope's generic `result` (any object, array or string)
                        // beside an operation's own: the intersection is the specific one.
                        (Some(existing), _) if admits(existing, schema) => {
                            *existing = schema.clone();
                        }
                        (Some(existing), _) if admits(schema, existing) => {}
                        // Both say something of one property (upstream restates a
                        // base's field with its own description): both must hold, so
                        // they merge by the same rules, or the composition stays.
                        (Some(Value::Object(existing)), Some(theirs)) => {
                            if !merge_into(existing, theirs, "property") {
                                return false;
                            }
                        }
                        (Some(_), _) => return false,
                        (None, _) => {
                            ours.insert(name.clone(), schema.clone());
                        }
                    }
                }
            }
            "required" => {
                let Some(theirs) = value.as_array() else {
                    return false;
                };
                let ours = into
                    .entry("required")
                    .or_insert_with(|| Value::Array(Vec::new()));
                let Some(ours) = ours.as_array_mut() else {
                    return false;
                };
                for name in theirs {
                    if !ours.contains(name) {
                        ours.push(name.clone());
                    }
                }
            }
            // Prose: the outer schema's, else the first member's.
            "description" | "example" | "title" | "x-auditable" | "x-sensitive" => {
                into.entry(key.clone()).or_insert_with(|| value.clone());
            }
            _ => match into.get(key) {
                Some(existing) if existing != value => return false,
                Some(_) => {}
                None => {
                    into.insert(key.clone(), value.clone());
                }
            },
        }
    }
    if how == "allOf" && into.contains_key("properties") {
        into.entry("type").or_insert_with(|| Value::from("object"));
    }
    true
}
