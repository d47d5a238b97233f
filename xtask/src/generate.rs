//! `cargo xtask generate [--check]`: spec fragment → normalised spec → progenitor →
//! prettyplease → `crates/generated/src/generated.rs`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::bounded;
use crate::normalise;
use crate::requests;
use crate::spec::{self, Fragment};

/// The generated file, relative to the workspace root.
pub const GENERATED_FILE: &str = "crates/generated/src/generated.rs";

/// The command that rewrites the generated file; named in the banner and in `--check`.
pub const GENERATE_COMMAND: &str = "cargo xtask generate";

/// Renders the generated crate's source from the fragment below `root`.
pub fn render(root: &Path) -> Result<String> {
    let (_prov, fragment) = spec::load_fragment(root)?;
    render_auto(&fragment)
}

/// [`render_fragment`], by the xtask binary as a bounded child when this process is it
/// (so that a composition the generator cannot take ends as an error naming the
/// operation, never an OOM kill), in process otherwise (tests link the library).
pub fn render_auto(fragment: &Fragment) -> Result<String> {
    match std::env::current_exe() {
        Ok(exe) if bounded::is_xtask(&exe) => {
            let scratch = std::env::temp_dir().join(format!("xtask-render-{}", std::process::id()));
            let code = bounded::render_or_error(&exe, fragment, &scratch);
            let _ = std::fs::remove_dir_all(&scratch);
            code
        }
        _ => render_fragment(fragment),
    }
}

/// Renders the generated crate's source from an already loaded fragment.
pub fn render_fragment(fragment: &Fragment) -> Result<String> {
    let mut doc = fragment.doc.clone();
    check_generatable(&doc, "")
        .with_context(|| format!("{} cannot be generated from", fragment.rel_path))?;
    normalise::normalise(&mut doc)?;
    check_variant_names(&doc, "")
        .with_context(|| format!("{} cannot be generated from", fragment.rel_path))?;
    let api: openapiv3::OpenAPI = serde_json::from_value(doc.clone()).map_err(|e| {
        anyhow!(
            "{} cannot be generated from: the normalised spec is not valid OpenAPI 3.0: {}",
            fragment.rel_path,
            locate_invalid(&doc).unwrap_or_else(|| e.to_string())
        )
    })?;

    let mut settings = progenitor::GenerationSettings::default();
    settings
        .with_interface(progenitor::InterfaceStyle::Positional)
        .with_tag(progenitor::TagStyle::Merged)
        .with_derive("schemars::JsonSchema");
    let mut file = generate_quietly(&settings, &api, fragment)?;
    add_methods_without_body(&mut file, &doc, &settings, fragment)?;
    mark_non_exhaustive(&mut file);
    schema_derives_behind_feature(&mut file);
    let body = prettyplease::unparse(&file);
    let operations = requests::render(&doc, &file)?;

    let mut out = banner(fragment);
    out.push_str(&body);
    out.push('\n');
    out.push_str(&operations);
    Ok(out)
}

/// For each operation whose request body the spec makes optional, a second client
/// method `<method>_without_body` that sends it without one. progenitor takes a body
/// for every operation that has one ("bodies may be optional" is a TODO there), so an
/// optional body upstream adds would otherwise leave no way to send the request as
/// before. The method is progenitor's own, generated from the document without that
/// body (same operationId, so the same response types), and renamed.
fn add_methods_without_body(
    file: &mut syn::File,
    doc: &Value,
    settings: &progenitor::GenerationSettings,
    fragment: &Fragment,
) -> Result<()> {
    let mut without = doc.clone();
    let mut methods = Vec::new();
    if let Some(paths) = without.get_mut("paths").and_then(Value::as_object_mut) {
        for item in paths.values_mut() {
            for method in spec::METHODS {
                let Some(op) = item.get_mut(method).and_then(Value::as_object_mut) else {
                    continue;
                };
                let optional = op
                    .get("requestBody")
                    .is_some_and(|b| b.get("required").and_then(Value::as_bool) != Some(true));
                if !optional {
                    continue;
                }
                op.remove("requestBody");
                if let Some(id) = op.get("operationId").and_then(Value::as_str) {
                    methods.push(heck::ToSnakeCase::to_snake_case(id));
                }
            }
        }
    }
    if methods.is_empty() {
        return Ok(());
    }
    let api: openapiv3::OpenAPI = serde_json::from_value(without)
        .context("the spec without its optional request bodies is not valid OpenAPI 3.0")?;
    let other = generate_quietly(settings, &api, fragment)?;
    let mut found: Vec<syn::ImplItem> = Vec::new();
    for item in &other.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_some()
            || !matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"))
        {
            continue;
        }
        for inner in &imp.items {
            if let syn::ImplItem::Fn(f) = inner
                && methods.iter().any(|m| f.sig.ident == m)
            {
                let mut f = f.clone();
                f.sig.ident = quote::format_ident!("{}{}", f.sig.ident, requests::WITHOUT_BODY);
                found.push(syn::ImplItem::Fn(f));
            }
        }
    }
    for item in &mut file.items {
        let syn::Item::Impl(imp) = item else { continue };
        if imp.trait_.is_none()
            && matches!(&*imp.self_ty, syn::Type::Path(p) if p.path.is_ident("Client"))
            && imp.items.iter().any(
                |i| matches!(i, syn::ImplItem::Fn(f) if methods.iter().any(|m| f.sig.ident == m)),
            )
        {
            imp.items.append(&mut found);
            return Ok(());
        }
    }
    Ok(())
}

/// Marks every struct with named fields and every enum in progenitor's `types` module
/// `#[non_exhaustive]`: a field or value the spec adds is then a minor change for
/// callers (they cannot have built or matched the type exhaustively), as the drift job's
/// versioning assumes.
fn mark_non_exhaustive(file: &mut syn::File) {
    let attr: syn::Attribute = syn::parse_quote!(#[non_exhaustive]);
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        if m.ident != "types" {
            continue;
        }
        for inner in m.content.iter_mut().flat_map(|(_, items)| items.iter_mut()) {
            match inner {
                syn::Item::Struct(s) if matches!(s.fields, syn::Fields::Named(_)) => {
                    s.attrs.push(attr.clone());
                }
                syn::Item::Enum(e) => e.attrs.push(attr.clone()),
                _ => {}
            }
        }
    }
}

/// Moves progenitor's `schemars::JsonSchema` derives behind the generated crate's opt-in
/// `schemars` feature: a crate that only syncs does not build schemars and its derive
/// macros (the tests, which snapshot the schemas, turn the feature on).
fn schema_derives_behind_feature(file: &mut syn::File) {
    let gated: syn::Attribute =
        syn::parse_quote!(#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]);
    let is_schema = |path: &syn::Path| {
        path.segments
            .last()
            .is_some_and(|s| s.ident == "JsonSchema")
    };
    for item in &mut file.items {
        let syn::Item::Mod(m) = item else { continue };
        for inner in m.content.iter_mut().flat_map(|(_, items)| items.iter_mut()) {
            let attrs = match inner {
                syn::Item::Struct(s) => &mut s.attrs,
                syn::Item::Enum(e) => &mut e.attrs,
                // typify writes some impls by hand (a numeric enum's).
                syn::Item::Impl(imp)
                    if imp
                        .trait_
                        .as_ref()
                        .is_some_and(|(_, path, _)| is_schema(path)) =>
                {
                    imp.attrs
                        .push(syn::parse_quote!(#[cfg(feature = "schemars")]));
                    continue;
                }
                _ => continue,
            };
            let mut derived = false;
            for attr in attrs.iter_mut() {
                if !attr.path().is_ident("derive") {
                    continue;
                }
                let Ok(paths) = attr.parse_args_with(
                    syn::punctuated::Punctuated::<syn::Path, syn::Token![,]>::parse_terminated,
                ) else {
                    continue;
                };
                if !paths.iter().any(is_schema) {
                    continue;
                }
                derived = true;
                let kept: Vec<&syn::Path> = paths.iter().filter(|p| !is_schema(p)).collect();
                *attr = syn::parse_quote!(#[derive(#(#kept),*)]);
            }
            if derived {
                attrs.push(gated.clone());
            }
        }
    }
}

/// Refuses, with the JSON pointer, what progenitor's type generator would panic on
/// rather than report: an `enum` that lists a value twice.
fn check_generatable(value: &Value, pointer: &str) -> Result<()> {
    each_enum(value, pointer, &mut |values, at| {
        for (i, v) in values.iter().enumerate() {
            if values.get(..i).is_some_and(|before| before.contains(v)) {
                bail!("{at}/enum/{i}: the value {v} is listed twice in this enum");
            }
        }
        Ok(())
    })
}

/// Refuses, naming the place, a closed enum (a parameter's; response enums are opened
/// by `normalise` and keep the first of such values) with two values that would be one
/// Rust variant, which progenitor cannot generate (it panics).
fn check_variant_names(value: &Value, pointer: &str) -> Result<()> {
    each_enum(value, pointer, &mut |values, at| {
        let mut seen: Vec<(String, &str)> = Vec::new();
        for (i, v) in values.iter().enumerate() {
            let Some(s) = v.as_str() else { continue };
            let key = normalise::variant_key(s);
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key) {
                bail!(
                    "{at}/enum/{i}: the values {first:?} and {s:?} would both be \
                     the Rust variant `{key}`; the generator cannot tell them apart"
                );
            }
            seen.push((key, s));
        }
        Ok(())
    })
}

/// Calls `check` with every `enum` list in the document and the JSON pointer of the
/// schema holding it; the first error stops the walk.
fn each_enum(
    value: &Value,
    pointer: &str,
    check: &mut impl FnMut(&[Value], &str) -> Result<()>,
) -> Result<()> {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(values)) = map.get("enum") {
                check(values, pointer)?;
            }
            for (key, child) in map {
                each_enum(child, &format!("{pointer}/{}", spec::escape(key)), check)?;
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                each_enum(child, &format!("{pointer}/{i}"), check)?;
            }
        }
        _ => {}
    }
    Ok(())
}

thread_local! {
    /// Set while progenitor runs on this thread: its panics become errors, quietly.
    static GENERATING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Runs progenitor; a panic inside it (a spec it cannot take) becomes an error naming
/// the fragment and the operations, without a backtrace on stderr.
fn generate_quietly(
    settings: &progenitor::GenerationSettings,
    api: &openapiv3::OpenAPI,
    fragment: &Fragment,
) -> Result<syn::File> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !GENERATING.with(std::cell::Cell::get) {
                previous(info);
            }
        }));
    });
    GENERATING.with(|g| g.set(true));
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        progenitor::Generator::new(settings).generate_tokens(api)
    }));
    GENERATING.with(|g| g.set(false));
    match outcome {
        Ok(Ok(tokens)) => {
            syn::parse2(raw_reserved(tokens)).context("progenitor emitted unparsable Rust")
        }
        Ok(Err(e)) => Err(anyhow!(
            "progenitor failed on {} (operations at {}): {e}",
            fragment.rel_path,
            operation_pointers(fragment)
        )),
        Err(payload) => {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "no message".to_string());
            bail!(
                "progenitor cannot generate code from {} (operations at {}): {}",
                fragment.rel_path,
                operation_pointers(fragment),
                message.lines().next().unwrap_or_default()
            )
        }
    }
}

/// Each operation of the fragment: its operationId and JSON pointer.
fn operation_pointers(fragment: &Fragment) -> String {
    spec::operations(&fragment.doc)
        .iter()
        .map(|op| {
            let id = op
                .op
                .get("operationId")
                .and_then(Value::as_str)
                .unwrap_or("(no operationId)");
            format!("{id} /paths/{}/{}", spec::escape(op.path), op.method)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Words reserved in edition 2024 (the generated crate's) that progenitor and typify,
/// written for 2021, emit as plain identifiers: typify's hand-written `JsonSchema` impl
/// for a numeric enum names its argument `gen` and the path `schemars::gen`.
const RESERVED_2024: [&str; 1] = ["gen"];

/// `tokens` with every identifier reserved in edition 2024 made raw (`r#gen`).
fn raw_reserved(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    use proc_macro2::{Group, Ident, TokenTree};
    tokens
        .into_iter()
        .map(|tree| match tree {
            TokenTree::Ident(i) if RESERVED_2024.contains(&i.to_string().as_str()) => {
                TokenTree::Ident(Ident::new_raw(&i.to_string(), i.span()))
            }
            TokenTree::Group(g) => {
                let mut group = Group::new(g.delimiter(), raw_reserved(g.stream()));
                group.set_span(g.span());
                TokenTree::Group(group)
            }
            other => other,
        })
        .collect()
}

/// The file's first lines: what generated it, from what, and that it must not be edited.
/// (Crate docs and lint allowances live in the crate's one-line `lib.rs`.)
fn banner(fragment: &Fragment) -> String {
    format!(
        "// @generated by `{GENERATE_COMMAND}` from {path} (sha256 {sha}).\n\
         // DO NOT EDIT. Change openapi/ or xtask/ and run `{GENERATE_COMMAND}`.\n\
         \n",
        path = fragment.rel_path,
        sha = fragment.sha256,
    )
}

/// Where a document that is not OpenAPI 3.0 goes wrong, as precisely as the parts
/// openapiv3 reads alone allow: the operation, and the parameter, request body or
/// response, by JSON pointer (serde's own message names neither).
fn locate_invalid(doc: &Value) -> Option<String> {
    fn fails<T: serde::de::DeserializeOwned>(v: &Value) -> Option<String> {
        serde_json::from_value::<T>(v.clone())
            .err()
            .map(|e| e.to_string())
    }
    for op in spec::operations(doc) {
        let id = op
            .op
            .get("operationId")
            .and_then(Value::as_str)
            .unwrap_or("(no operationId)");
        let at = format!("/paths/{}/{}", spec::escape(op.path), op.method);
        let Some(op_error) = fails::<openapiv3::Operation>(op.op) else {
            continue;
        };
        for (i, p) in op
            .op
            .get("parameters")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            if let Some(e) = fails::<openapiv3::Parameter>(p) {
                let name = p.get("name").and_then(Value::as_str).unwrap_or("?");
                let hint = if p.get("content").is_some() && p.get("schema").is_none() {
                    " (it is described by `content` instead of `schema`)"
                } else {
                    ""
                };
                return Some(format!(
                    "operation {id}: parameter {name:?} at {at}/parameters/{i}{hint}: {e}"
                ));
            }
        }
        if let Some(body) = op.op.get("requestBody")
            && let Some(e) = fails::<openapiv3::RequestBody>(body)
        {
            return Some(format!(
                "operation {id}: the request body at {at}/requestBody: {e}"
            ));
        }
        for (status, r) in op
            .op
            .get("responses")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            if let Some(e) = fails::<openapiv3::Response>(r) {
                return Some(format!(
                    "operation {id}: response {status} at {at}/responses/{}: {e}",
                    spec::escape(status)
                ));
            }
        }
        return Some(format!("operation {id} at {at}: {op_error}"));
    }
    None
}

/// What `generate` did.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The file already had these exact bytes.
    Unchanged,
    /// The file was (re)written.
    Written,
}

/// Writes the generated file below `root`, touching it only when its bytes change.
pub fn write(root: &Path) -> Result<Outcome> {
    let rendered = render(root)?;
    let path = root.join(GENERATED_FILE);
    let current = std::fs::read_to_string(&path).ok();
    if current.as_deref() == Some(rendered.as_str()) {
        return Ok(Outcome::Unchanged);
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(&path, rendered).with_context(|| format!("writing {}", path.display()))?;
    Ok(Outcome::Written)
}

/// Regenerates in memory and compares with the committed file below `root`.
///
/// On a mismatch the error holds a unified diff (committed → expected) and the command
/// that fixes it.
pub fn check(root: &Path) -> Result<()> {
    let rendered = render(root)?;
    let path: PathBuf = root.join(GENERATED_FILE);
    let current = match std::fs::read_to_string(&path) {
        Ok(text) => text.replace("\r\n", "\n"),
        Err(e) => bail!(
            "{GENERATED_FILE} cannot be read ({e}).\nRun `{GENERATE_COMMAND}` and commit the result."
        ),
    };
    if current == rendered {
        return Ok(());
    }
    let diff = similar::TextDiff::from_lines(&current, &rendered)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{GENERATED_FILE} (committed)"),
            &format!("{GENERATED_FILE} (from openapi/)"),
        )
        .to_string();
    bail!(
        "{GENERATED_FILE} is out of date with openapi/ and xtask/.\n\n{diff}\n\
         Run `{GENERATE_COMMAND}`, review the diff and the snapshot changes, and commit."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The committed fragment, changed by `edit`.
    fn fragment_with(edit: impl FnOnce(&mut Value)) -> Fragment {
        let (_, mut fragment) = spec::load_fragment(&spec::workspace_root()).unwrap();
        edit(&mut fragment.doc);
        fragment
    }

    /// Every `enum` array in the document that lists `value`.
    fn enums_listing<'a>(doc: &'a mut Value, value: &str, found: &mut Vec<&'a mut Value>) {
        match doc {
            Value::Object(map) => {
                for (key, child) in map.iter_mut() {
                    let listed = key == "enum"
                        && child
                            .as_array()
                            .is_some_and(|a| a.iter().any(|v| v == value));
                    if listed {
                        found.push(child);
                    } else {
                        enums_listing(child, value, found);
                    }
                }
            }
            Value::Array(items) => items
                .iter_mut()
                .for_each(|c| enums_listing(c, value, found)),
            _ => {}
        }
    }

    #[test]
    fn a_response_value_differing_only_in_case_is_kept_as_unknown() {
        // Upstream adding "Ready" beside "ready" is a new status value, not a failed job.
        let fragment = fragment_with(|doc| {
            let mut found = Vec::new();
            enums_listing(doc, "ready", &mut found);
            assert!(!found.is_empty(), "no status enum in the fragment");
            for list in found {
                list.as_array_mut().unwrap().push(Value::from("Ready"));
            }
        });
        let code = render_fragment(&fragment).unwrap();
        assert!(code.contains("#[serde(rename = \"ready\")]"), "{code}");
        assert!(
            !code.contains("\"Ready\""),
            "the second spelling is neither a variant nor a known value: {code}"
        );
        assert!(code.contains("Unknown(::std::string::String)"), "{code}");
    }

    #[test]
    fn a_parameter_enum_with_two_spellings_of_one_variant_is_a_clear_error() {
        let fragment = fragment_with(|doc| {
            let op = doc
                .pointer_mut("/paths")
                .and_then(Value::as_object_mut)
                .and_then(|p| p.values_mut().next())
                .and_then(|item| item.get_mut("post"))
                .unwrap();
            let params = op
                .as_object_mut()
                .unwrap()
                .entry("parameters")
                .or_insert_with(|| Value::Array(Vec::new()));
            params.as_array_mut().unwrap().push(serde_json::json!({
                "name": "mode", "in": "query", "required": false,
                "schema": {"type": "string", "enum": ["fast", "FAST"]}
            }));
        });
        let err = format!("{:#}", render_fragment(&fragment).unwrap_err());
        assert!(
            err.contains("the values \"fast\" and \"FAST\" would both be the Rust variant `Fast`"),
            "{err}"
        );
        assert!(err.contains("/enum/1"), "names the place: {err}");
    }
}
