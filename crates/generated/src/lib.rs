//! progenitor output for Cloudflare's `mcp-portals-api-sync-server`, written only by
//! `cargo xtask generate` into `generated.rs`. Depend on `cloudflare-mcp-sync` instead.

#[rustfmt::skip]
// Doc comments carry Cloudflare's descriptions (bare URLs, `[brackets]`, HTML): prose for
// docs.rs, never a reason for `cargo doc -D warnings` to fail a spec update.
#[allow(clippy::all, clippy::pedantic, missing_docs, unused_imports, rustdoc::all)]
mod generated;

pub use generated::*;
