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
            return Ok((args, Output::read(&f.sig.output, method)?));
        }
    }
    bail!("no method {method} in the generated client")
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
