//! What progenitor's client method for an operation takes and returns, read from its
//! generated signature: the parameter types the `operations` module's `Params` holds.

use anyhow::{Result, anyhow, bail};
use quote::ToTokens;

/// `(argument name, type)` of progenitor's `Client::<method>`, without `self`, and what
/// the method returns.
pub(crate) fn method_signature(
    file: &syn::File,
    method: &str,
) -> Result<(Vec<(String, String)>, Output)> {
    for item in &file.items {
        let syn::Item::Impl(imp) = item else { continue };
        for inner in &imp.items {
            let syn::ImplItem::Fn(f) = inner else {
                continue;
            };
            if f.sig.ident != method {
                continue;
            }
            let args = f
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
                .collect::<Result<Vec<_>>>()?;
            refuse_generic_arguments(&f.sig, &args, method)?;
            return Ok((args, Output::read(&f.sig.output, method)?));
        }
    }
    bail!("no method {method} in the generated client")
}

/// Refuses, naming the argument, a method that takes an argument typed by its own type
/// parameter: progenitor takes a raw request body (`application/octet-stream`) as
/// `body: B` with `B: Into<reqwest::Body>`, and a `Params` field of type `B` would not
/// compile. The spec change is then a clear red, not generated code that fails to build.
fn refuse_generic_arguments(
    sig: &syn::Signature,
    args: &[(String, String)],
    method: &str,
) -> Result<()> {
    for param in sig.generics.type_params() {
        let name = param.ident.to_string();
        for (arg, ty) in args {
            let typed_by_it = identifiers(ty).any(|word| word == name);
            if typed_by_it {
                let bounds = param.bounds.to_token_stream().to_string();
                bail!(
                    "{method} takes `{arg}` as its type parameter `{name}: {bounds}` (a raw \
                     request body, such as application/octet-stream): the operations module \
                     cannot type it; teach xtask/src/requests.rs"
                );
            }
        }
    }
    Ok(())
}

/// The identifiers in a type's token text, in order (`:: types :: Foo < 'a >` gives
/// `types`, `Foo`, `a`): whole words, so that `Foo` is not found in `FooBar`.
pub(crate) fn identifiers(ty: &str) -> impl Iterator<Item = &str> {
    ty.split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
}

/// What progenitor's method returns: `Result<ResponseValue<Body>, Error<ErrorBody>>`.
pub(crate) struct Output {
    /// The whole return type.
    pub(crate) all: String,
    /// The success body's type.
    pub(crate) body: String,
    /// The error body's type.
    pub(crate) error: String,
}

impl Output {
    fn read(output: &syn::ReturnType, method: &str) -> Result<Self> {
        let syn::ReturnType::Type(_, ty) = output else {
            bail!("{method} returns nothing");
        };
        let args = |ty: &syn::Type| -> Vec<syn::Type> {
            let syn::Type::Path(p) = ty else {
                return Vec::new();
            };
            let Some(last) = p.path.segments.last() else {
                return Vec::new();
            };
            let syn::PathArguments::AngleBracketed(a) = &last.arguments else {
                return Vec::new();
            };
            a.args
                .iter()
                .filter_map(|g| match g {
                    syn::GenericArgument::Type(t) => Some(t.clone()),
                    _ => None,
                })
                .collect()
        };
        let [ok, err] = args(ty).try_into().map_err(|_| {
            anyhow!("{method} does not return Result<ResponseValue<_>, Error<_>>; teach xtask/src/requests.rs")
        })?;
        let inner = |t: &syn::Type| -> Result<String> {
            match args(t).as_slice() {
                [one] => Ok(one.to_token_stream().to_string()),
                _ => bail!(
                    "{method}'s return type has an unexpected shape; teach xtask/src/requests.rs"
                ),
            }
        };
        Ok(Self {
            all: ty.to_token_stream().to_string(),
            body: inner(&ok)?,
            error: inner(&err)?,
        })
    }
}
