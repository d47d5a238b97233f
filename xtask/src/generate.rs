//! `cargo xtask generate [--check]`: spec fragment → normalised spec → progenitor →
//! prettyplease → `crates/generated/src/generated.rs`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

use crate::bounded;
use crate::generate_checks::{check_generatable, check_variant_names, locate_invalid};
use crate::generate_rewrite::{
    client_behind_feature, mark_non_exhaustive, raw_reserved, schema_derives_behind_feature,
};
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
    let operations = requests::render(&doc, &file)?;
    client_behind_feature(&mut file);
    let body = prettyplease::unparse(&file);

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
