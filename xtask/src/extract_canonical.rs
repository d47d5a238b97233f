//! The canonical form of a fragment: what it means, not how upstream spelled it
//! ([`canonical`]).

use anyhow::Result;
use serde_json::Value;

use crate::spec::escape;

/// The canonical form of a fragment: what it means, not how upstream spelled it.
///
/// Every `$ref` below `paths` is replaced by its target and the inlined component
/// sections dropped (security schemes stay), the document's tag descriptions dropped, a
/// status range is written `4XX`, and every object's keys are sorted. So
/// a respelling of upstream's component names (`identifier-Q2dssoPE` →
/// `identifier-8mFIFaGM`, about every other week for an Access operation) or a
/// re-ordering of keys leaves every byte of the fragment, and so of the generated
/// code, as it was: the weekly job opens no pull request for it. Arrays keep their
/// order (an enum's values, `oneOf` alternatives and parameters are ordered).
/// A discriminator's mapping points at its alternatives within the fragment. Vendor
/// extensions (`x-…`) are kept as they are, `$ref`s inside them unfollowed.
pub fn canonical(mut fragment: Value) -> Result<Value> {
    mapping_to_members(&mut fragment);
    crate::normalise::inline_refs(&mut fragment)?;
    members_to_pointers(&mut fragment, "");
    crate::normalise::status_keys(&mut fragment);
    if let Some(components) = fragment.get("components").and_then(Value::as_object)
        && components.is_empty()
    {
        fragment.as_object_mut().map(|o| o.remove("components"));
    }
    // The document's descriptions of its tags reach no generated code and no request:
    // their changes upstream would be pull requests for nothing (the operation keeps
    // its own `tags` list).
    fragment.as_object_mut().map(|o| o.remove("tags"));
    Ok(sort_keys(fragment))
}

/// What a discriminator's mapping value says between [`mapping_to_members`] and
/// [`members_to_pointers`]: "the alternative at this index".
pub(crate) const MEMBER_MARK: &str = "#member:";

/// A discriminator's `mapping` names its alternatives by component (`"block":
/// "#/components/schemas/9fGtU9ik_BlockRule"`), which upstream respells and inlining
/// removes: each value that is one of the alternatives' `$ref`s becomes a mark of that
/// alternative, which [`members_to_pointers`] turns into a pointer into the fragment.
pub(crate) fn mapping_to_members(node: &mut Value) {
    match node {
        Value::Object(map) => {
            let key = ["oneOf", "anyOf"]
                .into_iter()
                .find(|k| map.contains_key(*k));
            let refs: Vec<Option<String>> = key
                .and_then(|k| map.get(k))
                .and_then(Value::as_array)
                .map(|members| {
                    members
                        .iter()
                        .map(|m| m.get("$ref").and_then(Value::as_str).map(str::to_string))
                        .collect()
                })
                .unwrap_or_default();
            if let (Some(key), Some(mapping)) = (
                key,
                map.get_mut("discriminator")
                    .and_then(|d| d.get_mut("mapping"))
                    .and_then(Value::as_object_mut),
            ) {
                for value in mapping.values_mut() {
                    let target = value.as_str().map(str::to_string);
                    if let Some(i) = refs.iter().position(|r| r.is_some() && *r == target) {
                        *value = Value::from(format!("{MEMBER_MARK}{key}/{i}"));
                    }
                }
            }
            map.values_mut().for_each(mapping_to_members);
        }
        Value::Array(items) => items.iter_mut().for_each(mapping_to_members),
        _ => {}
    }
}

/// Turns [`mapping_to_members`]' marks into JSON pointers to the alternatives where
/// they now are (`#/paths/…/oneOf/2`): a reference into the fragment itself, the same
/// whatever upstream called the component.
pub(crate) fn members_to_pointers(node: &mut Value, at: &str) {
    match node {
        Value::Object(map) => {
            if let Some(mapping) = map
                .get_mut("discriminator")
                .and_then(|d| d.get_mut("mapping"))
                .and_then(Value::as_object_mut)
            {
                for value in mapping.values_mut() {
                    if let Some(member) = value.as_str().and_then(|v| v.strip_prefix(MEMBER_MARK)) {
                        *value = Value::from(format!("#{at}/{member}"));
                    }
                }
            }
            for (key, child) in map.iter_mut() {
                members_to_pointers(child, &format!("{at}/{}", escape(key)));
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter_mut().enumerate() {
                members_to_pointers(child, &format!("{at}/{i}"));
            }
        }
        _ => {}
    }
}

/// `value` with every object's keys in byte order, recursively.
pub(crate) fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}
