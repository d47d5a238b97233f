//! `pub mod operations`, written beside progenitor's output: for each operation its
//! id, method and path template, and a `Params` struct holding every path and query
//! parameter with the type progenitor's own client method takes, plus the path and
//! query it makes.
//!
//! The ergonomic crate builds each request from a `Params` struct literal. A parameter
//! the spec adds (required or not), renames or retypes is then a compile error at that
//! literal, naming the field — the same guarantee the exhaustive match on the status
//! enum gives for response values. The types are read from progenitor's generated
//! method signature, so they are exactly what progenitor would validate and send.

use std::fmt::Write as _;

use anyhow::{Context, Result, anyhow, bail};
use heck::ToSnakeCase;
use quote::ToTokens;
use serde_json::Value;

use crate::spec;

/// Renders the `operations` module for every operation of `doc` (normalised, `$ref`s
/// inlined), with parameter types taken from progenitor's `file`.
pub fn render(doc: &Value, file: &syn::File) -> Result<String> {
    let mut ops = spec::operations(doc);
    ops.sort_by_key(|op| {
        op.op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or("")
    });
    let mut out = String::from(
        "/// Each operation's id, method and path, and its parameters as one typed struct, \
         by operationId.\npub mod operations {\n",
    );
    for op in ops {
        let id = op
            .op
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{} {} has no operationId", op.method, op.path))?;
        let params = parameters(doc, &op)
            .with_context(|| format!("operation {id} ({} {})", op.method, op.path))?;
        let signature = method_signature(file, &id.to_snake_case())
            .with_context(|| format!("operation {id}: progenitor's client method"))?;
        out.push_str(&operation_module(id, &op, &params, &signature)?);
    }
    out.push_str("}\n");
    let parsed: syn::File = syn::parse_str(&out).context("the operations module does not parse")?;
    Ok(prettyplease::unparse(&parsed))
}

/// One spec parameter.
struct Param {
    name: String,
    location: Location,
}

#[derive(PartialEq)]
enum Location {
    Path,
    Query,
}

/// The operation's parameters, path-level ones first as OpenAPI merges them (an
/// operation-level one of the same name and location replaces the path-level one).
fn parameters(doc: &Value, op: &spec::OperationRef<'_>) -> Result<Vec<Param>> {
    let path_item = doc
        .get("paths")
        .and_then(|p| p.get(op.path))
        .and_then(|p| p.get("parameters"))
        .and_then(Value::as_array);
    let own = op.op.get("parameters").and_then(Value::as_array);
    let mut out: Vec<Param> = Vec::new();
    for p in path_item
        .into_iter()
        .flatten()
        .chain(own.into_iter().flatten())
    {
        let name = p
            .get("name")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("a parameter has no name"))?;
        let location = match p.get("in").and_then(Value::as_str) {
            Some("path") => Location::Path,
            Some("query") => Location::Query,
            Some(other) => bail!(
                "parameter {name} is in {other}; typed request pieces know path and query \
                 parameters only (teach xtask/src/requests.rs)"
            ),
            None => bail!("parameter {name} has no `in`"),
        };
        out.retain(|q| !(q.name == name && q.location == location));
        out.push(Param {
            name: name.to_string(),
            location,
        });
    }
    Ok(out)
}

/// `(argument name, type)` of progenitor's `Client::<method>`, without `self`.
fn method_signature(file: &syn::File, method: &str) -> Result<Vec<(String, String)>> {
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        for inner in &imp.items {
            let syn::ImplItem::Fn(f) = inner else {
                continue;
            };
            if f.sig.ident != method {
                continue;
            }
            return f
                .sig
                .inputs
                .iter()
                .filter_map(|arg| match arg {
                    syn::FnArg::Typed(t) => Some(t),
                    syn::FnArg::Receiver(_) => None,
                })
                .map(|t| match &*t.pat {
                    syn::Pat::Ident(p) => {
                        Ok((p.ident.to_string(), t.ty.to_token_stream().to_string()))
                    }
                    _ => Err(anyhow!("an argument of {method} is not a plain name")),
                })
                .collect();
        }
    }
    bail!("no method {method} in the generated client")
}

fn operation_module(
    id: &str,
    op: &spec::OperationRef<'_>,
    params: &[Param],
    signature: &[(String, String)],
) -> Result<String> {
    let module = id.to_snake_case();
    let mut fields = String::new();
    let mut path_args = String::new();
    let mut query = String::new();
    for (arg, ty) in signature {
        let param = params
            .iter()
            .find(|p| p.name.to_snake_case() == *arg)
            .ok_or_else(|| {
                anyhow!(
                    "progenitor's method takes `{arg}`, which is no path or query parameter \
                     (a request body?); teach xtask/src/requests.rs"
                )
            })?;
        let (name, place) = (
            &param.name,
            match param.location {
                Location::Path => "path",
                Location::Query => "query",
            },
        );
        let _ = write!(
            fields,
            "/// `{name}` ({place} parameter)\npub {arg}: {ty},\n"
        );
        match param.location {
            Location::Path => {
                let _ = write!(path_args, ", encode_path(&self.{arg}.to_string())");
            }
            Location::Query if ty.starts_with("Option <") || ty.contains("option :: Option <") => {
                let _ = writeln!(
                    query,
                    "if let Some(v) = &self.{arg} {{ q.push(({name:?}, v.to_string())); }}"
                );
            }
            Location::Query => {
                let _ = writeln!(query, "q.push(({name:?}, self.{arg}.to_string()));");
            }
        }
    }
    if signature.len() != params.len() {
        bail!(
            "the spec has {} parameters but progenitor's method takes {}",
            params.len(),
            signature.len()
        );
    }
    let mut template = String::new();
    let mut rest = op.path;
    while let Some((literal, after)) = rest.split_once('{') {
        let (_, after) = after
            .split_once('}')
            .ok_or_else(|| anyhow!("unclosed parameter in path {}", op.path))?;
        template.push_str(literal);
        template.push_str("{}");
        rest = after;
    }
    template.push_str(rest);
    let (lifetime, anonymous) = if fields.contains("'a") {
        ("<'a>", "<'_>")
    } else {
        ("", "")
    };
    let method = op.method.to_uppercase();
    Ok(format!(
        "/// `{id}`\n\
         pub mod {module} {{\n\
         #[allow(unused_imports)] use crate::types;\n\
         #[allow(unused_imports)] use progenitor_client::encode_path;\n\
         /// The operationId in the spec.\n\
         pub const OPERATION_ID: &str = {id:?};\n\
         /// HTTP method.\n\
         pub const METHOD: &str = {method:?};\n\
         /// Path template, relative to the server URL.\n\
         pub const PATH: &str = {path:?};\n\
         /// Every path and query parameter of `{id}`, typed as the generated client takes \
         them. Build it with a struct literal: a parameter the spec adds, renames or retypes \
         is then a compile error that names it.\n\
         #[derive(Debug, Clone, Copy)]\n\
         pub struct Params{lifetime} {{\n{fields}}}\n\
         impl Params{anonymous} {{\n\
         /// The path relative to the server URL, each parameter percent-encoded as the \
         generated client encodes it.\n\
         pub fn path(&self) -> String {{ format!({template:?}{path_args}) }}\n\
         /// The query pairs, in the spec's order; optional ones only when set.\n\
         pub fn query(&self) -> Vec<(&'static str, String)> {{\n\
         #[allow(unused_mut)] let mut q = Vec::new();\n{query}q\n}}\n\
         }}\n\
         }}\n",
        path = op.path,
    ))
}
