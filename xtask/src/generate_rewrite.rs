//! Rewrites of progenitor's output before it is printed: types `#[non_exhaustive]`,
//! schemars derives and progenitor's client behind the generated crate's features,
//! identifiers reserved in edition 2024 made raw.

/// Marks every struct with named fields and every enum in progenitor's `types` module
/// `#[non_exhaustive]`: a field or value the spec adds is then a minor change for
/// callers (they cannot have built or matched the type exhaustively), as the drift job's
/// versioning assumes.
pub(crate) fn mark_non_exhaustive(file: &mut syn::File) {
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
pub(crate) fn schema_derives_behind_feature(file: &mut syn::File) {
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

/// Puts everything of progenitor's output but the `types` module (its client, the
/// `progenitor_client` imports, the prelude) behind the generated crate's `client`
/// feature. The library needs only the types and the operations' parameters, so a crate
/// that depends on it builds neither `progenitor-client` nor the reqwest features it
/// turns on (`json`, `query`, `stream`, and what they pull in), which otherwise sit on the
/// build's critical path (BENCHMARKS.md, "Cost to depend").
pub(crate) fn client_behind_feature(file: &mut syn::File) {
    let gated: syn::Attribute = syn::parse_quote!(#[cfg(feature = "client")]);
    for item in &mut file.items {
        let attrs = match item {
            syn::Item::Mod(m) if m.ident == "types" => continue,
            syn::Item::Mod(m) => &mut m.attrs,
            syn::Item::Use(u) => &mut u.attrs,
            syn::Item::Struct(s) => &mut s.attrs,
            syn::Item::Enum(e) => &mut e.attrs,
            syn::Item::Impl(i) => &mut i.attrs,
            syn::Item::Fn(f) => &mut f.attrs,
            syn::Item::Type(t) => &mut t.attrs,
            syn::Item::Const(c) => &mut c.attrs,
            syn::Item::Static(s) => &mut s.attrs,
            syn::Item::Trait(t) => &mut t.attrs,
            syn::Item::Macro(m) => &mut m.attrs,
            _ => continue,
        };
        attrs.insert(0, gated.clone());
    }
}

/// Words reserved in edition 2024 (the generated crate's) that progenitor and typify,
/// written for 2021, emit as plain identifiers: typify's hand-written `JsonSchema` impl
/// for a numeric enum names its argument `gen` and the path `schemars::gen`.
pub(crate) const RESERVED_2024: [&str; 1] = ["gen"];

/// `tokens` with every identifier reserved in edition 2024 made raw (`r#gen`).
pub(crate) fn raw_reserved(tokens: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
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
