//! progenitor output for Cloudflare's `mcp-portals-api-sync-server`, written only by
//! `cargo xtask generate` into `generated.rs`. Depend on `cloudflare-mcp-sync` instead.

#[rustfmt::skip]
#[allow(clippy::all, clippy::pedantic, missing_docs, unused_imports)]
mod generated;

pub use generated::*;
