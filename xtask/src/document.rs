//! An upstream document as read from disk or downloaded: JSON or YAML, parsed with its
//! key order kept, beside the sha256 of its bytes.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::spec;

/// A document read from disk or downloaded, with the sha256 of its bytes.
pub struct Document {
    /// The parsed document.
    pub doc: Value,
    /// sha256 of the file's bytes.
    pub sha256: String,
}

/// Reads a JSON or YAML document (YAML when the name ends in `.yaml`/`.yml`, or when
/// the text is not JSON). Key order is kept.
pub fn load_document(path: &Path) -> Result<Document> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    parse_document(&bytes, &path.to_string_lossy())
}

/// Parses a document's bytes; `name` (a path or URL) picks YAML by its extension and
/// names the document in errors.
pub fn parse_document(bytes: &[u8], name: &str) -> Result<Document> {
    let sha256 = spec::sha256_hex(bytes);
    let lower = name.to_ascii_lowercase();
    let yaml_by_name = lower.ends_with(".yaml") || lower.ends_with(".yml");
    let doc: Value = if yaml_by_name {
        serde_yaml_ng::from_slice(bytes).with_context(|| format!("parsing {name} as YAML"))?
    } else {
        match serde_json::from_slice(bytes) {
            Ok(doc) => doc,
            Err(json_err) => serde_yaml_ng::from_slice(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "parsing {name} as JSON: {json_err} (and it is not YAML either; it starts \
                     with {:?})",
                    String::from_utf8_lossy(bytes.get(..60).unwrap_or(bytes))
                )
            })?,
        }
    };
    if !doc.is_object() {
        bail!(
            "{name} is not an OpenAPI document (not a JSON or YAML object; it starts with {:?})",
            String::from_utf8_lossy(bytes.get(..60).unwrap_or(bytes))
        );
    }
    Ok(Document { doc, sha256 })
}
