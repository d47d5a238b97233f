//! The one way this tooling follows `$ref`s: local references only (`#/...`), a target
//! that exists, and no cycles, each refusal naming the pointer. `normalise` and `diff`
//! inline with it, `surface` reads through it, `extract` walks its closure with it.

use anyhow::{Result, bail};
use serde_json::Value;

/// The target of a local `$ref`; `from` says where the reference stands.
pub fn target<'a>(doc: &'a Value, pointer: &str, from: &str) -> Result<&'a Value> {
    let Some(local) = pointer.strip_prefix('#') else {
        bail!(
            "$ref {pointer:?} at {from} points outside the document; only local references are supported"
        );
    };
    match doc.pointer(local) {
        Some(target) => Ok(target),
        None => bail!("dangling $ref {pointer:?} at {from}: nothing at that pointer"),
    }
}

/// The references being followed, outermost first: entering one twice is a cycle.
#[derive(Debug, Default)]
pub struct Chain(Vec<String>);

impl Chain {
    /// Enters `pointer`, or fails naming the cycle.
    pub fn enter(&mut self, pointer: &str) -> Result<()> {
        if let Some(start) = self.0.iter().position(|p| p == pointer) {
            let cycle: Vec<&str> = self.0[start..].iter().map(String::as_str).collect();
            bail!("cyclic $ref: {} -> {pointer}", cycle.join(" -> "));
        }
        self.0.push(pointer.to_string());
        Ok(())
    }

    /// Leaves the innermost reference.
    pub fn leave(&mut self) {
        self.0.pop();
    }
}

/// Keys whose object maps names to schemas or objects (not OpenAPI keywords).
pub(crate) const NAMED_MAPS: [&str; 8] = [
    "properties",
    "patternProperties",
    "paths",
    "responses",
    "content",
    "headers",
    "encoding",
    "links",
];

/// A copy of `node` with every `$ref` replaced by (a copy of) its target.
/// Siblings of a `$ref` (OpenAPI 3.1 allows e.g. a description) win over the target's.
pub fn inline(doc: &Value, node: &Value) -> Result<Value> {
    let mut copy = node.clone();
    inline_in(&mut copy, doc, &mut Chain::default(), "", false)?;
    Ok(copy)
}

/// `names` is true where the keys of `node` are names (of properties, paths,
/// statuses…), which may start with `x-` without being a vendor extension.
fn inline_in(
    node: &mut Value,
    doc: &Value,
    chain: &mut Chain,
    at: &str,
    names: bool,
) -> Result<()> {
    match node {
        Value::Object(map) => {
            if let Some(Value::String(pointer)) = map.get("$ref") {
                let pointer = pointer.clone();
                let mut copy =
                    target(doc, &pointer, if at.is_empty() { "(root)" } else { at })?.clone();
                chain.enter(&pointer)?;
                inline_in(&mut copy, doc, chain, &pointer, false)?;
                chain.leave();
                if let Value::Object(target_map) = &mut copy {
                    for (k, v) in map.iter().filter(|(k, _)| *k != "$ref") {
                        target_map.insert(k.clone(), v.clone());
                    }
                }
                *node = copy;
                return Ok(());
            }
            // A vendor extension's `$ref`s are left as written (extract does not follow them).
            for (key, value) in map
                .iter_mut()
                .filter(|(k, _)| names || !k.starts_with("x-"))
            {
                let holds_names = !names && NAMED_MAPS.contains(&key.as_str());
                inline_in(
                    value,
                    doc,
                    chain,
                    &format!("{at}/{}", crate::spec::escape(key)),
                    holds_names,
                )?;
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                inline_in(item, doc, chain, &format!("{at}/{i}"), false)?;
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn references_are_inlined_with_their_siblings() {
        let doc = json!({"components": {"schemas": {"A": {"type": "string", "description": "a"}}}});
        let node = json!({"$ref": "#/components/schemas/A", "description": "mine"});
        assert_eq!(
            inline(&doc, &node).unwrap(),
            json!({"type": "string", "description": "mine"})
        );
    }

    #[test]
    fn every_refusal_names_the_pointer() {
        let doc = json!({"components": {"schemas": {
            "Loop": {"properties": {"next": {"$ref": "#/components/schemas/Loop"}}}}}});
        let cyc = inline(&doc, &json!({"$ref": "#/components/schemas/Loop"}))
            .unwrap_err()
            .to_string();
        assert!(
            cyc.contains("cyclic $ref: #/components/schemas/Loop -> #/components/schemas/Loop"),
            "{cyc}"
        );
        let dangling = inline(&doc, &json!({"x": {"$ref": "#/nope"}}))
            .unwrap_err()
            .to_string();
        assert!(
            dangling.contains("dangling $ref \"#/nope\" at /x"),
            "{dangling}"
        );
        let external = inline(&doc, &json!({"$ref": "other.json#/a"}))
            .unwrap_err()
            .to_string();
        assert!(
            external.contains("points outside the document"),
            "{external}"
        );
    }
}
