//! The TLS set-up of the client's own `reqwest::Client`.
//!
//! By default (`ring` feature) it is rustls with the ring provider and the platform's
//! certificate verifier, configured for this client only: no process-wide default
//! provider is installed behind the application's back. The `aws-lc-rs` feature uses
//! reqwest's own rustls set-up instead.

#[cfg(not(any(feature = "ring", feature = "aws-lc-rs")))]
compile_error!(
    "cloudflare-mcp-sync needs a TLS backend: enable the `ring` (default) or `aws-lc-rs` feature"
);

use crate::error::ConfigError;

/// Applies the TLS backend to a reqwest builder.
#[cfg(feature = "ring")]
pub(crate) fn configure(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    use std::sync::{Arc, OnceLock};
    // Built once per process: loading the platform verifier is the costly part of
    // building a client, and the result does not change.
    static CONFIG: OnceLock<Result<rustls::ClientConfig, String>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let verifier =
            rustls_platform_verifier::Verifier::new(provider.clone()).map_err(|e| e.to_string())?;
        Ok(rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| e.to_string())?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth())
    });
    match config {
        Ok(config) => Ok(builder.tls_backend_preconfigured(config.clone())),
        Err(e) => Err(ConfigError::new(format!("cannot set up TLS: {e}"))),
    }
}

/// Applies the TLS backend to a reqwest builder.
#[cfg(all(feature = "aws-lc-rs", not(feature = "ring")))]
pub(crate) fn configure(
    builder: reqwest::ClientBuilder,
) -> Result<reqwest::ClientBuilder, ConfigError> {
    Ok(builder)
}
