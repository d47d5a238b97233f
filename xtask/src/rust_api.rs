//! The public Rust API of a generated file, and what a change of the spec did to it.
//!
//! `diff` reads the JSON; this reads what callers compile against: every public type of
//! progenitor's `types` module with its fields and variants, the client's methods, and
//! the `operations` module's structs. A spec change is judged by its effect here (and
//! on the wire, which `diff` judges): a respelled status key, a `type: object` added to
//! an untyped schema or fields moved between composition members leave this surface as
//! it was, while a `default` that makes a field non-optional or a flip between `allOf`
//! and `anyOf` changes it.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, Result};
use quote::ToTokens;

use crate::report::{Class, Report};

/// One generated file's public API: an item's path → what callers see of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Surface {
    items: BTreeMap<String, String>,
    /// Types a caller builds and sends (reachable from a client method's arguments):
    /// a required field added to one is breaking, unlike one added to a response type.
    sent: BTreeSet<String>,
}

impl Surface {
    /// Reads the surface of generated Rust source.
    pub fn of(code: &str) -> Result<Self> {
        let file: syn::File = syn::parse_str(code).context("the generated code does not parse")?;
        let mut surface = Self::default();
        let mut method_types: Vec<String> = Vec::new();
        for item in &file.items {
            match item {
                syn::Item::Mod(m) if m.ident == "types" => {
                    for inner in m.content.iter().flat_map(|(_, items)| items) {
                        surface.read_type(inner, "types::");
                    }
                }
                syn::Item::Mod(m) if m.ident == "operations" => {
                    for inner in m.content.iter().flat_map(|(_, items)| items) {
                        let syn::Item::Mod(op) = inner else { continue };
                        let prefix = format!("operations::{}::", op.ident);
                        for item in op.content.iter().flat_map(|(_, items)| items) {
                            surface.read_operation_item(item, &prefix);
                        }
                    }
                }
                syn::Item::Impl(imp) if is_client(&imp.self_ty) && imp.trait_.is_none() => {
                    for inner in &imp.items {
                        let syn::ImplItem::Fn(f) = inner else {
                            continue;
                        };
                        if !matches!(f.vis, syn::Visibility::Public(_)) {
                            continue;
                        }
                        let args: Vec<String> = f
                            .sig
                            .inputs
                            .iter()
                            .filter_map(|a| match a {
                                syn::FnArg::Typed(t) => {
                                    Some(format!("{}: {}", tokens(&t.pat), tokens(&t.ty)))
                                }
                                syn::FnArg::Receiver(_) => None,
                            })
                            .collect();
                        method_types.extend(args.iter().flat_map(|a| type_names(a)));
                        surface.items.insert(
                            format!("Client::{}", f.sig.ident),
                            format!("fn({}) {}", args.join(", "), tokens(&f.sig.output)),
                        );
                    }
                }
                _ => {}
            }
        }
        surface.sent = surface.reachable(method_types);
        Ok(surface)
    }

    fn read_type(&mut self, item: &syn::Item, prefix: &str) {
        match item {
            syn::Item::Struct(s) if matches!(s.vis, syn::Visibility::Public(_)) => {
                let name = format!("{prefix}{}", s.ident);
                match &s.fields {
                    syn::Fields::Named(fields) => {
                        self.items.insert(name.clone(), "struct".to_string());
                        for f in &fields.named {
                            if !matches!(f.vis, syn::Visibility::Public(_)) {
                                continue;
                            }
                            let ident = f.ident.as_ref().map(ToString::to_string);
                            self.items.insert(
                                format!("{name}.{}", ident.unwrap_or_default()),
                                tokens(&f.ty),
                            );
                        }
                    }
                    other => {
                        let public = other
                            .iter()
                            .map(|f| match f.vis {
                                syn::Visibility::Public(_) => tokens(&f.ty),
                                _ => "_".to_string(),
                            })
                            .collect::<Vec<_>>()
                            .join(", ");
                        self.items.insert(name, format!("struct({public})"));
                    }
                }
            }
            syn::Item::Enum(e) if matches!(e.vis, syn::Visibility::Public(_)) => {
                let name = format!("{prefix}{}", e.ident);
                self.items.insert(name.clone(), "enum".to_string());
                for v in &e.variants {
                    self.items
                        .insert(format!("{name}::{}", v.ident), tokens(&v.fields));
                }
            }
            syn::Item::Type(t) if matches!(t.vis, syn::Visibility::Public(_)) => {
                self.items.insert(
                    format!("{prefix}{}", t.ident),
                    format!("= {}", tokens(&t.ty)),
                );
            }
            _ => {}
        }
    }

    fn read_operation_item(&mut self, item: &syn::Item, prefix: &str) {
        match item {
            syn::Item::Const(c) if matches!(c.vis, syn::Visibility::Public(_)) => {
                self.items
                    .insert(format!("{prefix}{}", c.ident), tokens(&c.expr));
            }
            other => self.read_type(other, prefix),
        }
    }

    /// Every `types::` name reachable from `roots` through the fields of the types.
    fn reachable(&self, roots: Vec<String>) -> BTreeSet<String> {
        let mut seen = BTreeSet::new();
        let mut todo = roots;
        while let Some(name) = todo.pop() {
            let key = format!("types::{name}");
            if !self.items.contains_key(&key) || !seen.insert(key.clone()) {
                continue;
            }
            let children = format!("{key}.");
            let variants = format!("{key}::");
            for (path, ty) in self.items.range(key.clone()..) {
                if !path.starts_with(&key) {
                    break;
                }
                if path.starts_with(&children) || path.starts_with(&variants) || *path == key {
                    todo.extend(type_names(ty));
                }
            }
        }
        seen
    }

    /// How many items the surface holds.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

fn is_client(ty: &syn::Type) -> bool {
    matches!(ty, syn::Type::Path(p) if p.path.is_ident("Client"))
}

fn tokens(t: &impl ToTokens) -> String {
    t.to_token_stream().to_string()
}

/// The identifiers a type's text names after `types ::` (and bare capitalised ones).
fn type_names(ty: &str) -> Vec<String> {
    crate::requests_signature::identifiers(ty)
        .filter(|w| w.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(str::to_string)
        .collect()
}

/// Whether `ty` (token text) is optional for whoever builds the value.
fn is_optional(ty: &str) -> bool {
    let ty = ty.replace(' ', "");
    ty.starts_with("Option<") || ty.starts_with("::std::option::Option<")
}

/// The change from `old` to `new`, as lines of a report: removed or changed items are
/// breaking; added ones additive, except a required field of a type callers build (or
/// of an operation's `Required`), which they must now supply.
pub fn compare(old: &Surface, new: &Surface) -> Report {
    let mut report = Report::default();
    let at = |path: &str| format!("rust:{path}");
    // A member of a removed type or module goes with it: one line for the type.
    let parent_gone = |path: &str, items: &BTreeMap<String, String>| {
        parent(path).is_some_and(|p| !items.contains_key(p) && old.items.contains_key(p))
    };
    for (path, was) in &old.items {
        match new.items.get(path) {
            None if parent_gone(path, &new.items) => {}
            None => report.add(
                Class::Breaking,
                &at(path),
                format!("generated Rust API: `{path}` removed"),
            ),
            Some(now) if now != was => {
                let class = if is_method(path)
                    && only_optional_arguments_added(was, now, optional_body(new, path))
                {
                    Class::Additive
                } else {
                    Class::Breaking
                };
                report.add(
                    class,
                    &at(path),
                    format!("generated Rust API: `{path}` changed"),
                );
                if let Some(change) = report.changes.last_mut() {
                    change.was = Some(was.clone());
                    change.now = Some(now.clone());
                }
            }
            Some(_) => {}
        }
    }
    for (path, now) in &new.items {
        if old.items.contains_key(path) {
            continue;
        }
        // A type that is new as a whole is additive with its members.
        if parent(path).is_some_and(|p| !old.items.contains_key(p) && new.items.contains_key(p)) {
            continue;
        }
        let owner = path.rsplit_once('.').map(|(owner, _)| owner);
        let must_supply = owner.is_some_and(|o| {
            (o.ends_with("::Required") || new.sent.contains(o)) && !is_optional(now)
        });
        let class = if must_supply {
            Class::Breaking
        } else {
            Class::Additive
        };
        report.add(
            class,
            &at(path),
            format!("generated Rust API: `{path}` added"),
        );
    }
    report
}

/// The type a field (`T.f`) or variant (`T::V`) belongs to; for an operation's item
/// (`operations::m::X`), its module's first item stands for the module.
fn parent(path: &str) -> Option<&str> {
    if let Some((owner, _)) = path.rsplit_once('.') {
        return Some(owner);
    }
    let (owner, _) = path.rsplit_once("::")?;
    (owner.starts_with("types::") && owner.matches("::").count() == 1).then_some(owner)
}

fn is_method(path: &str) -> bool {
    path.starts_with("Client::")
}

/// A client method that only gained trailing `Option<…>` arguments: progenitor's
/// positional methods take every optional parameter (and a body the spec makes
/// optional, unwrapped), and callers of the typed `Params` (which the library uses)
/// see no change.
fn only_optional_arguments_added(was: &str, now: &str, body_optional: bool) -> bool {
    let args = |s: &str| -> Vec<String> {
        let inner = s
            .strip_prefix("fn(")
            .and_then(|rest| rest.split_once(") ->").map(|(a, _)| a.to_string()))
            .unwrap_or_default();
        split_top_level(&inner)
    };
    let ret = |s: &str| s.split_once(") ->").map(|(_, r)| r.to_string());
    let (old_args, new_args) = (args(was), args(now));
    ret(was) == ret(now)
        && new_args.len() > old_args.len()
        && old_args.iter().all(|a| new_args.contains(a))
        && new_args.iter().filter(|a| !old_args.contains(a)).all(|a| {
            a.split_once(':').is_some_and(|(name, ty)| {
                is_optional(ty.trim()) || (name.trim() == "body" && body_optional)
            })
        })
}

/// Whether the spec makes the request body of the client method at `path` optional:
/// progenitor's method takes a body either way, the typed `Params` says which.
fn optional_body(surface: &Surface, path: &str) -> bool {
    let method = path.trim_start_matches("Client::");
    surface
        .items
        .get(&format!("operations::{method}::Params.body"))
        .is_some_and(|ty| is_optional(ty))
}

/// Splits `a: X<B, C>, d: E` at the commas outside angle brackets and parentheses.
fn split_top_level(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '<' | '(' | '[' => depth += 1,
            '>' | ')' | ']' => depth -= 1,
            ',' if depth == 0 => {
                out.push(current.trim().to_string());
                current.clear();
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const OLD: &str = r#"
        pub mod types {
            #[non_exhaustive]
            pub struct Reply { pub status: String, pub note: Option<String> }
            pub struct Send { pub name: String }
            pub enum Mode { Fast, Slow }
        }
        pub struct Client;
        impl Client {
            pub async fn sync<'a>(&'a self, id: &'a str, body: &'a types::Send) -> Result<Reply, ()> { todo!() }
        }
    "#;

    fn report(old: &str, new: &str) -> Report {
        compare(&Surface::of(old).unwrap(), &Surface::of(new).unwrap())
    }

    #[test]
    fn the_same_code_has_no_changes() {
        assert!(report(OLD, OLD).changes.is_empty());
    }

    #[test]
    fn a_retyped_field_and_a_removed_variant_are_breaking() {
        let new = OLD
            .replace("pub note: Option<String>", "pub note: String")
            .replace("Fast, Slow", "Fast");
        let r = report(OLD, &new);
        assert_eq!(r.worst(), Some(Class::Breaking), "{r:?}");
        assert!(
            r.changes
                .iter()
                .any(|c| c.pointer == "rust:types::Reply.note")
        );
        assert!(
            r.changes
                .iter()
                .any(|c| c.pointer == "rust:types::Mode::Slow")
        );
    }

    #[test]
    fn a_field_added_to_a_response_type_is_additive_but_a_required_one_sent_is_breaking() {
        let new = OLD.replace(
            "pub note: Option<String> }",
            "pub note: Option<String>, pub extra: String }",
        );
        assert_eq!(report(OLD, &new).worst(), Some(Class::Additive));
        let new = OLD.replace("pub name: String }", "pub name: String, pub must: String }");
        assert_eq!(report(OLD, &new).worst(), Some(Class::Breaking));
        let new = OLD.replace(
            "pub name: String }",
            "pub name: String, pub may: Option<String> }",
        );
        assert_eq!(report(OLD, &new).worst(), Some(Class::Additive));
    }

    #[test]
    fn a_removed_type_is_one_line_and_a_new_one_is_additive_with_its_fields() {
        let new = OLD.replace(
            "pub struct Reply { pub status: String, pub note: Option<String> }",
            "pub struct Answer { pub status: String, pub must: String }",
        );
        let r = report(OLD, &new);
        let lines: Vec<(&str, Class)> = r
            .changes
            .iter()
            .map(|c| (c.pointer.as_str(), c.class))
            .collect();
        assert_eq!(
            lines,
            [
                ("rust:types::Reply", Class::Breaking),
                ("rust:types::Answer", Class::Additive)
            ]
        );
    }

    #[test]
    fn a_method_that_gains_an_optional_argument_is_additive() {
        let new = OLD.replace(
            "body: &'a types::Send)",
            "body: &'a types::Send, force: Option<bool>)",
        );
        assert_eq!(report(OLD, &new).worst(), Some(Class::Additive));
        let new = OLD.replace(
            "body: &'a types::Send)",
            "body: &'a types::Send, force: bool)",
        );
        assert_eq!(report(OLD, &new).worst(), Some(Class::Breaking));
    }
}
