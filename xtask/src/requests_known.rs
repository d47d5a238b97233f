//! `VALUES` and `as_str` for every response enum `normalise` opened: the generated
//! `…Known` type's values, read from progenitor's variants and their renames.

use std::fmt::Write as _;

use anyhow::{Context, Result};

/// `VALUES` and `as_str` for every opened enum's `…Known` type in progenitor's `types`,
/// read from its variants and their `#[serde(rename)]`s.
pub(crate) fn known_values(file: &syn::File) -> Result<String> {
    let mut out = String::new();
    let types = file.items.iter().find_map(|item| match item {
        syn::Item::Mod(m) if m.ident == "types" => m.content.as_ref().map(|(_, items)| items),
        _ => None,
    });
    for item in types.into_iter().flatten() {
        let syn::Item::Enum(e) = item else { continue };
        let name = e.ident.to_string();
        if !name.ends_with(crate::normalise::KNOWN_SUFFIX) {
            continue;
        }
        let mut values = Vec::new();
        let mut arms = String::new();
        for v in &e.variants {
            let wire = serde_rename(&v.attrs)?.unwrap_or_else(|| v.ident.to_string());
            let _ = write!(arms, "Self::{} => {wire:?},", v.ident);
            values.push(format!("{wire:?}"));
        }
        let _ = write!(
            out,
            "impl types::{name} {{\n\
             /// Every value the spec lists, in its order.\n\
             pub const VALUES: &'static [&'static str] = &[{values}];\n\
             /// The value as the spec writes it.\n\
             pub fn as_str(self) -> &'static str {{ match self {{ {arms} }} }}\n\
             }}\n",
            values = values.join(", "),
        );
    }
    Ok(out)
}

/// The string of a `#[serde(rename = "...")]` among `attrs`.
pub(crate) fn serde_rename(attrs: &[syn::Attribute]) -> Result<Option<String>> {
    let mut rename = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("rename") {
                let lit: syn::LitStr = meta.value()?.parse()?;
                rename = Some(lit.value());
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        })
        .context("a serde attribute of a generated enum variant")?;
    }
    Ok(rename)
}
