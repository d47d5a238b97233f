//! `pub mod operations`, written beside progenitor's output: for each operation its
//! id, method and path template, and a `Params` struct holding every path and query
//! parameter with the type progenitor's own client method takes, plus the path and
//! query it makes.
//!
//! The ergonomic crate builds each request with `Params::new(Required { .. })`: a struct
//! literal of the required parameters, so that a required parameter the spec adds,
//! renames or retypes is a compile error at that literal, naming the field, while an
//! optional one the spec adds changes nothing for callers (it is never sent until set). The types
//! are read from progenitor's generated method signature, so they are exactly what
//! progenitor would validate and send.
//!
//! For every response enum `normalise` opened, the module also gives the generated
//! `…Known` type `VALUES` (every value the spec lists) and `as_str`, so that hand-written
//! code and tests read the values from here instead of repeating them.

use std::fmt::Write as _;

use anyhow::{Context, Result, anyhow, bail};
use heck::ToSnakeCase;
use serde_json::Value;

use crate::requests_known::known_values;
use crate::requests_signature::{Output, method_signature};
use crate::spec;

/// The suffix of the client method `generate` adds to send an operation without its
/// optional request body.
pub const WITHOUT_BODY: &str = "_without_body";

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
    out.push_str(PATH_ENCODING);
    for op in ops {
        let id = op
            .op
            .get("operationId")
            .and_then(Value::as_str)
            .ok_or_else(|| anyhow!("{} {} has no operationId", op.method, op.path))?;
        let params = parameters(doc, &op)
            .with_context(|| format!("operation {id} ({} {})", op.method, op.path))?;
        let (signature, output) = method_signature(file, &id.to_snake_case())
            .with_context(|| format!("operation {id}: progenitor's client method"))?;
        out.push_str(&operation_module(id, &op, &params, &signature, &output)?);
    }
    out.push_str("}\n");
    out.push_str(&known_values(file)?);
    let parsed: syn::File = syn::parse_str(&out).context("the operations module does not parse")?;
    Ok(prettyplease::unparse(&parsed))
}

/// The path parameters' percent-encoding, without progenitor's runtime (which is behind
/// the `client` feature): the set `progenitor_client::encode_path` uses, so that
/// `Params::path` is the path the generated client sends (tests/codegen.rs holds the two
/// equal over arbitrary strings). Unused, and allowed to be, when no operation has a
/// path parameter or every one that has is behind the client.
const PATH_ENCODING: &str = "\
    /// Percent-encodes one path parameter as progenitor's client does.\n\
    #[allow(dead_code)]\n\
    fn encode_path(value: &str) -> String {\n\
    const PATH_SET: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS\
    .add(b' ').add(b'\"').add(b'#').add(b'<').add(b'>').add(b'?').add(b'`')\
    .add(b'{').add(b'}').add(b'/').add(b'%');\n\
    percent_encoding::utf8_percent_encode(value, PATH_SET).to_string()\n\
    }\n";

/// Whether a type, as progenitor's tokens print it, names something of progenitor's
/// runtime or of reqwest (whole words: a spec type called `ByteStreamConfig` does not).
fn names_client_runtime(ty: &str) -> bool {
    crate::requests_signature::identifiers(ty).any(|word| {
        [
            "reqwest",
            "progenitor_client",
            "ByteStream",
            "ResponseValue",
        ]
        .contains(&word)
    })
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
    /// Sent by progenitor's client as a header; not part of the path or the query.
    Header,
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
            Some("header") => Location::Header,
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

/// The request body's field. A required body is a field of `Required` (the spec making
/// a body required is then a compile error where `Required` is built); an optional one
/// starts unset, so that a body the spec adds as optional changes nothing: the request
/// is sent as before, without one. progenitor's method takes the body either way;
/// `send` refuses to call it without one.
fn body_field(
    required: bool,
    ty: &str,
    fields: &mut String,
    new_args: &mut String,
    new_fields: &mut Vec<String>,
    call_args: &mut Vec<String>,
) {
    if required {
        let _ = write!(fields, "/// The request body\npub body: {ty},\n");
        let _ = write!(new_args, "/// The request body\npub body: {ty},\n");
        new_fields.push("body: required.body".to_string());
        call_args.push("self.body".to_string());
    } else {
        let _ = write!(
            fields,
            "/// The request body (optional; not sent until set)\npub body: Option<{ty}>,\n"
        );
        new_fields.push("body: None".to_string());
        call_args.push("body".to_string());
    }
}

fn operation_module(
    id: &str,
    op: &spec::OperationRef<'_>,
    params: &[Param],
    signature: &[(String, String)],
    output: &Output,
) -> Result<String> {
    let module = id.to_snake_case();
    let mut fields = String::new();
    let mut new_args = String::new();
    let mut new_fields = Vec::new();
    let mut path_args = String::new();
    let mut call_args = Vec::new();
    let mut query = String::new();
    let body_required = op
        .op
        .get("requestBody")
        .map(|b| b.get("required").and_then(Value::as_bool).unwrap_or(false));
    let mut spec_params = params.len();
    for (arg, ty) in signature {
        if arg == "body"
            && let Some(required) = body_required
            && !params.iter().any(|p| p.name.to_snake_case() == "body")
        {
            spec_params += 1;
            body_field(
                required,
                ty,
                &mut fields,
                &mut new_args,
                &mut new_fields,
                &mut call_args,
            );
            continue;
        }
        // progenitor names an argument after its parameter, a Rust keyword with `_`
        // after it (`type` → `type_`).
        let param = params
            .iter()
            .find(|p| {
                let name = p.name.to_snake_case();
                name == *arg || arg.strip_suffix('_') == Some(name.as_str())
            })
            .ok_or_else(|| {
                anyhow!(
                    "progenitor's method takes `{arg}`, which is no path or query parameter \
                     nor the request body; teach xtask/src/requests.rs"
                )
            })?;
        let (name, place) = (
            &param.name,
            match param.location {
                Location::Path => "path",
                Location::Query => "query",
                Location::Header => "header",
            },
        );
        let optional = ty.starts_with("Option <") || ty.contains("option :: Option <");
        call_args.push(format!("self.{arg}"));
        let _ = write!(
            fields,
            "/// `{name}` ({place} parameter{})\npub {arg}: {ty},\n",
            if optional { ", optional" } else { "" }
        );
        if optional {
            new_fields.push(format!("{arg}: None"));
        } else {
            let _ = write!(
                new_args,
                "/// `{name}` ({place} parameter)\npub {arg}: {ty},\n"
            );
            new_fields.push(format!("{arg}: required.{arg}"));
        }
        match param.location {
            Location::Path => {
                let _ = write!(path_args, ", encode_path(&self.{arg}.to_string())");
            }
            // A list is one pair per item, as progenitor's client sends it.
            Location::Query if optional && ty.contains("Vec <") => {
                let _ = writeln!(
                    query,
                    "for v in self.{arg}.iter().flat_map(|list| list.iter()) {{ q.push(({name:?}, v.to_string())); }}"
                );
            }
            Location::Query if optional => {
                let _ = writeln!(
                    query,
                    "if let Some(v) = &self.{arg} {{ q.push(({name:?}, v.to_string())); }}"
                );
            }
            Location::Query if ty.contains("Vec <") => {
                let _ = writeln!(
                    query,
                    "for v in self.{arg}.iter() {{ q.push(({name:?}, v.to_string())); }}"
                );
            }
            Location::Query => {
                let _ = writeln!(query, "q.push(({name:?}, self.{arg}.to_string()));");
            }
            Location::Header => {}
        }
    }
    if signature.len() != spec_params {
        bail!(
            "the spec has {spec_params} parameters (the request body counted) but progenitor's \
             method takes {}",
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
    let without_body: Vec<&str> = call_args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "body")
        .collect();
    let without_body = without_body.join(", ");
    let call_args = call_args.join(", ");
    let client_method = module.clone();
    let (output_all, body, error) = (&output.all, &output.body, &output.error);
    // An operation typed by progenitor's runtime or by reqwest (a byte-stream response)
    // exists only with the client: without it neither is a dependency of the generated
    // crate. (A raw request body is refused by `method_signature`.)
    let gate = if [fields.as_str(), body, error]
        .into_iter()
        .any(names_client_runtime)
    {
        "#[cfg(feature = \"client\")]\n"
    } else {
        ""
    };
    let new_fields = new_fields.join(", ");
    // progenitor's method takes a body even where the spec makes it optional: without
    // one, the request goes through the `_without_body` twin `generate` adds.
    let unwrap_body = if body_required == Some(false) {
        format!(
            "let Some(body) = self.body else {{ return client.{client_method}{WITHOUT_BODY}({without_body}).await; }};\n"
        )
    } else {
        String::new()
    };
    Ok(format!(
        "/// `{id}`\n\
         {gate}pub mod {module} {{\n\
         #[allow(unused_imports)] use crate::types;\n\
         #[allow(unused_imports)] use super::encode_path;\n\
         #[cfg(feature = \"client\")] #[allow(unused_imports)] use crate::{{Error, ResponseValue, ByteStream}};\n\
         /// The body of a success response, whatever the spec names its type.\n\
         pub type Body = {body};\n\
         /// The body of a documented error response, whatever the spec names its type.\n\
         pub type ErrorBody = {error};\n\
         /// The operationId in the spec.\n\
         pub const OPERATION_ID: &str = {id:?};\n\
         /// HTTP method.\n\
         pub const METHOD: &str = {method:?};\n\
         /// Path template, relative to the server URL.\n\
         pub const PATH: &str = {path:?};\n\
         /// The parameters `{id}` requires. Build it with a struct literal: a required \
         parameter the spec adds, renames or retypes is then a compile error that names it.\n\
         #[derive(Debug, Clone, Copy)]\n\
         pub struct Required{lifetime} {{\n{new_args}}}\n\
         /// Every path and query parameter of `{id}`, typed as the generated client takes \
         them: made from [`Required`], with every optional parameter unset (not sent) until \
         a field is set, so that an optional parameter the spec adds changes nothing.\n\
         #[derive(Debug, Clone, Copy)]\n\
         #[non_exhaustive]\n\
         pub struct Params{lifetime} {{\n{fields}}}\n\
         impl{lifetime} Params{lifetime} {{\n\
         /// The required parameters; optional ones unset.\n\
         pub fn new(required: Required{lifetime}) -> Self {{ Self {{ {new_fields} }} }}\n\
         }}\n\
         impl Params{anonymous} {{\n\
         /// The path relative to the server URL, each parameter percent-encoded as the \
         generated client encodes it.\n\
         pub fn path(&self) -> String {{ format!({template:?}{path_args}) }}\n\
         /// The query pairs, in the spec's order; optional ones only when set.\n\
         pub fn query(&self) -> Vec<(&'static str, String)> {{\n\
         #[allow(unused_mut)] let mut q = Vec::new();\n{query}q\n}}\n\
         /// Sends the operation with progenitor's client, every parameter in its place: \
         a parameter the spec adds does not change this call.\n\
         #[cfg(feature = \"client\")]\n\
         pub async fn send(&self, client: &crate::Client) -> {output_all} {{\n\
         {unwrap_body}client.{client_method}({call_args}).await\n}}\n\
         }}\n\
         }}\n",
        path = op.path,
    ))
}
