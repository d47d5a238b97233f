//! The upstream side of a drift rehearsal: documents derived from the committed
//! fragment, written the way Cloudflare writes them ([`upstream_style`]), and served on
//! 127.0.0.1 under a pinned-looking api-schemas URL.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Result;
use heck::ToSnakeCase;
use serde_json::{Value, json};

use crate::{refs, spec};

/// The committed fragment with every `$ref` below `paths` resolved (and the schema
/// sections dropped): the same API whatever form the fragment is written in.
pub fn resolved(root: &Path) -> Result<Value> {
    let (_, fragment) = spec::load_fragment(root)?;
    let mut doc = fragment.doc;
    let paths = refs::inline(&doc, &doc["paths"])?;
    doc["paths"] = paths;
    if let Some(components) = doc.get_mut("components").and_then(Value::as_object_mut) {
        for section in ["schemas", "parameters", "responses", "requestBodies"] {
            components.remove(section);
        }
    }
    Ok(doc)
}

/// `doc` (`$ref`s resolved) written the way Cloudflare writes its document: parameters,
/// responses and every object or enum schema in `components`, referenced by `$ref`, and
/// an operation out of scope beside it.
pub fn upstream_style(doc: &Value) -> Value {
    let mut out = doc.clone();
    let mut components = doc.get("components").cloned().unwrap_or_else(|| json!({}));
    if let Some(paths) = out.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in spec::METHODS {
                let Some(op) = item.get_mut(method) else {
                    continue;
                };
                let id = op
                    .get("operationId")
                    .and_then(Value::as_str)
                    .unwrap_or(method)
                    .to_snake_case();
                respell_operation(op, &id, &mut components);
            }
        }
        paths.insert(
            "/accounts/{account_id}/unrelated".into(),
            json!({"get": {"operationId": "unrelated-list", "responses": {"200": {
                "description": "ok", "content": {"application/json": {"schema":
                {"$ref": "#/components/schemas/unrelated_list"}}}}}}}),
        );
        components["schemas"]["unrelated_list"] =
            json!({"type": "array", "items": {"type": "string"}});
    }
    out["components"] = components;
    out
}

pub(crate) fn respell_operation(op: &mut Value, id: &str, components: &mut Value) {
    if let Some(list) = op.get_mut("parameters").and_then(Value::as_array_mut) {
        for p in list.iter_mut() {
            let name = format!(
                "{id}_{}",
                p.get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("p")
                    .to_snake_case()
            );
            if let Some(schema) = p.get_mut("schema") {
                hoist_schema(schema, &format!("{name}_schema"), components);
            }
            let param = std::mem::replace(
                p,
                json!({"$ref": format!("#/components/parameters/{name}")}),
            );
            components["parameters"][&name] = param;
        }
    }
    if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
        for (status, response) in responses.iter_mut() {
            let name = format!("{id}_{}", status.to_lowercase());
            if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
                for body in content.values_mut() {
                    if let Some(schema) = body.get_mut("schema") {
                        hoist_schema(schema, &format!("{name}_body"), components);
                    }
                }
            }
            let r = std::mem::replace(
                response,
                json!({"$ref": format!("#/components/responses/{name}")}),
            );
            components["responses"][&name] = r;
        }
    }
}

/// Moves `schema` (and, first, its object or enum properties) into
/// `components.schemas.<name>` and leaves a `$ref`.
pub(crate) fn hoist_schema(schema: &mut Value, name: &str, components: &mut Value) {
    if let Some(props) = schema.get_mut("properties").and_then(Value::as_object_mut) {
        for (prop, sub) in props.iter_mut() {
            if sub.get("properties").is_some() || sub.get("enum").is_some() {
                hoist_schema(sub, &format!("{name}_{}", prop.to_snake_case()), components);
            }
        }
    }
    let hoisted = std::mem::replace(
        schema,
        json!({"$ref": format!("#/components/schemas/{name}")}),
    );
    components["schemas"][name] = hoisted;
}

/// A commit id for the served document's pinned-looking URL.
pub(crate) const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A one-document HTTP server on 127.0.0.1, answering every GET with `body`.
pub(crate) struct Upstream {
    pub(crate) url: String,
    stop: Arc<AtomicBool>,
    addr: std::net::SocketAddr,
}

impl Upstream {
    pub(crate) fn start(body: Vec<u8>) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(mut stream) = stream else { continue };
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && head.len() < 65_536 {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => break,
                    }
                }
                let _ = write!(
                    stream,
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(&body);
            }
        });
        Ok(Self {
            url: format!("http://{addr}/cloudflare/api-schemas/{COMMIT}/openapi.json"),
            stop,
            addr,
        })
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so that it sees the flag.
        let _ = std::net::TcpStream::connect(self.addr);
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    #[test]
    fn the_upstream_style_names_the_same_api() {
        let doc = resolved(&root()).unwrap();
        let upstream = upstream_style(&doc);
        assert!(upstream["components"]["schemas"].as_object().unwrap().len() > 3);
        assert!(upstream.to_string().contains("\"$ref\""));
        let back = refs::inline(&upstream, &upstream["paths"]).unwrap();
        let mut back = back.as_object().unwrap().clone();
        back.remove("/accounts/{account_id}/unrelated");
        assert_eq!(Value::Object(back), doc["paths"]);
    }
}
