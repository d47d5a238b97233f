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

use std::path::Path;

use crate::error::ConfigError;

/// The variables the platform verifier reads certificates from on Linux instead of the
/// system's store (through rustls-native-certs). One that names nothing is a mistake
/// found here, at build time, rather than at every handshake.
const CERT_VARS: [&str; 2] = ["SSL_CERT_FILE", "SSL_CERT_DIR"];

/// Checks that certificate locations named by the environment exist.
pub(crate) fn check_cert_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    for var in CERT_VARS {
        let Some(value) = lookup(var).filter(|v| !v.trim().is_empty()) else {
            continue;
        };
        // SSL_CERT_DIR may list several directories, as OpenSSL reads it.
        let missing = value
            .split(':')
            .filter(|p| !p.is_empty())
            .find(|p| !Path::new(p).exists());
        if let Some(path) = missing {
            return Err(ConfigError::new(format!(
                "{var} names {path:?}, which does not exist; fix or unset it (with it set, \
                 the system's certificates are not read)"
            )));
        }
    }
    Ok(())
}

/// Whether a transport error came from TLS itself (a certificate refused, no roots to
/// check it with, a handshake the server broke): trying again meets the same answer.
pub(crate) fn is_tls_failure(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(e);
    while let Some(err) = source {
        // rustls' error reaches reqwest wrapped in io::Errors (two deep, today), whose
        // `source()` skips the wrapped error itself: look inside each.
        let mut inner = Some(err);
        while let Some(e) = inner {
            if e.downcast_ref::<rustls::Error>().is_some() {
                return true;
            }
            inner = e
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .map(|e| e as &(dyn std::error::Error + 'static));
        }
        source = err.source();
    }
    false
}

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
