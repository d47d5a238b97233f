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
/// system's store (through rustls-native-certs), which reads what they name whole and
/// without a limit. What they name is checked here, at build time, without opening it:
/// a FIFO would block the build for ever, `/dev/zero` would fill memory, and a name
/// that leads nowhere would fail every handshake.
const CERT_FILE: &str = "SSL_CERT_FILE";
const CERT_DIR: &str = "SSL_CERT_DIR";

/// The largest certificate file read (system bundles are about 0.2 MiB).
pub(crate) const MAX_CERT_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Checks what the certificate variables name: `SSL_CERT_FILE` one regular file of at
/// most [`MAX_CERT_FILE_BYTES`] (a `:` is part of its name), `SSL_CERT_DIR` a list of
/// directories (`:`-separated, as OpenSSL reads it) whose regular files are as bounded.
pub(crate) fn check_cert_env(lookup: &dyn Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
    if let Some(file) = lookup(CERT_FILE).filter(|v| !v.trim().is_empty()) {
        check_cert_file(CERT_FILE, Path::new(&file))?;
    }
    if let Some(dirs) = lookup(CERT_DIR).filter(|v| !v.trim().is_empty()) {
        for dir in dirs.split(':').filter(|p| !p.is_empty()) {
            check_cert_dir(Path::new(dir))?;
        }
    }
    Ok(())
}

fn cert_error(var: &str, path: &Path, what: &str) -> ConfigError {
    ConfigError::new(format!(
        "{var} names {}, which {what}; fix or unset it (with it set, the system's \
         certificates are not read)",
        crate::text::one_line(&format!("{path:?}"), 200)
    ))
}

fn check_cert_file(var: &str, path: &Path) -> Result<(), ConfigError> {
    // `metadata` follows links and does not open the file: a FIFO cannot block here.
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => cert_error(var, path, "does not exist"),
        _ => cert_error(var, path, &format!("cannot be read ({e})")),
    })?;
    if meta.is_dir() {
        let hint = if var == CERT_FILE {
            "is a directory (SSL_CERT_DIR takes directories)"
        } else {
            "is a directory"
        };
        return Err(cert_error(var, path, hint));
    }
    if !meta.is_file() {
        return Err(cert_error(
            var,
            path,
            "is not a regular file (a device, FIFO or socket is never read)",
        ));
    }
    if meta.len() > MAX_CERT_FILE_BYTES {
        return Err(cert_error(
            var,
            path,
            &format!(
                "is {} MiB, over the {} MiB a certificate file may have",
                meta.len() / (1024 * 1024),
                MAX_CERT_FILE_BYTES / (1024 * 1024)
            ),
        ));
    }
    Ok(())
}

fn check_cert_dir(dir: &Path) -> Result<(), ConfigError> {
    let meta = std::fs::metadata(dir).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => cert_error(CERT_DIR, dir, "does not exist"),
        _ => cert_error(CERT_DIR, dir, &format!("cannot be read ({e})")),
    })?;
    if !meta.is_dir() {
        return Err(cert_error(CERT_DIR, dir, "is not a directory"));
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| cert_error(CERT_DIR, dir, &format!("cannot be listed ({e})")))?;
    // Only regular files are read from a directory; each is bounded like a file.
    for entry in entries.flatten() {
        let path = entry.path();
        if std::fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            check_cert_file(CERT_DIR, &path)?;
        }
    }
    Ok(())
}

/// The rustls error behind a transport error, if TLS itself failed (a certificate
/// refused, no roots to check it with, a handshake the server broke): trying again
/// meets the same answer.
pub(crate) fn tls_failure<'a>(
    e: &'a (dyn std::error::Error + 'static),
) -> Option<&'a rustls::Error> {
    let mut source = Some(e);
    while let Some(err) = source {
        // rustls' error reaches reqwest wrapped in io::Errors (two deep, today), whose
        // `source()` skips the wrapped error itself: look inside each.
        let mut inner = Some(err);
        while let Some(e) = inner {
            if let Some(tls) = e.downcast_ref::<rustls::Error>() {
                return Some(tls);
            }
            inner = e
                .downcast_ref::<std::io::Error>()
                .and_then(std::io::Error::get_ref)
                .map(|e| e as &(dyn std::error::Error + 'static));
        }
        source = err.source();
    }
    None
}

/// What a TLS failure means, in words a person can act on; rustls' own text where it
/// already reads well, never its `Debug` form.
pub(crate) fn describe(e: &rustls::Error) -> String {
    use rustls::{CertificateError as C, Error as E};
    let cert = |what: &str| format!("the server's certificate was refused: {what}");
    match e {
        E::InvalidCertificate(c) => match c {
            C::UnknownIssuer => cert(
                "it is not signed by an authority this machine trusts (a private CA can be trusted with SSL_CERT_FILE)",
            ),
            C::Expired | C::ExpiredContext { .. } => cert("it has expired"),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                cert("it is not valid yet (is this machine's clock right?)")
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                cert("it is not valid for the host name in the base URL")
            }
            C::Revoked => cert("it has been revoked"),
            C::BadSignature => cert("its signature does not verify"),
            C::UnsupportedSignatureAlgorithmContext {
                signature_algorithm_id,
                ..
            } if is_sha1(signature_algorithm_id) => cert("it is signed with SHA-1, which is refused"),
            C::UnsupportedSignatureAlgorithmContext { .. }
            | C::UnsupportedSignatureAlgorithmForPublicKeyContext { .. } => {
                cert("it is signed with an algorithm that is refused")
            }
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                cert("it is not meant for identifying a server")
            }
            C::BadEncoding => cert("it is not a well-formed certificate"),
            C::Other(other) => cert(&webpki_words(&other.to_string())),
            _ => cert("it cannot be verified"),
        },
        E::NoCertificatesPresented => "the server presented no certificate".to_string(),
        E::AlertReceived(alert) => alert_words(*alert),
        E::PeerMisbehaved(_) => {
            "the server broke the TLS protocol during the handshake".to_string()
        }
        E::InvalidMessage(_) | E::InappropriateMessage { .. } | E::InappropriateHandshakeMessage { .. } => {
            "the server's TLS messages are not valid TLS (is it an https server?)".to_string()
        }
        E::PeerIncompatible(_) => {
            "the server offers no TLS version or cipher this client accepts (TLS 1.2 or 1.3 with modern ciphers)".to_string()
        }
        _ => format!("the TLS handshake failed: {e}"),
    }
}

/// An alert the server ended the handshake with, in words; its number otherwise.
fn alert_words(alert: rustls::AlertDescription) -> String {
    use rustls::AlertDescription as A;
    let why = match alert {
        A::HandshakeFailure | A::InsufficientSecurity => {
            "it accepts no TLS version, cipher or key this client offers"
        }
        A::ProtocolVersion => "it accepts no TLS version this client offers (1.2, 1.3)",
        A::CertificateRequired | A::BadCertificate => {
            "it wants a client certificate, which this client does not send"
        }
        A::UnrecognisedName => "it does not serve the host name in the base URL",
        A::AccessDenied => "it denied access",
        A::InternalError => "it had an internal error",
        _ => {
            return format!(
                "the server ended the TLS handshake with alert {}",
                u8::from(alert)
            );
        }
    };
    format!("the server ended the TLS handshake: {why}")
}

/// webpki's reasons (carried as text inside rustls' `OtherError`), in words.
fn webpki_words(name: &str) -> String {
    match name {
        "CaUsedAsEndEntity" => "the server presented a CA certificate as its own".to_string(),
        "EndEntityUsedAsCa" => "a server certificate was used to sign another".to_string(),
        "UnsupportedCertVersion" => "its X.509 version is not supported".to_string(),
        "MaximumPathDepthExceeded" | "MaximumPathBuildCallsExceeded" => {
            "its chain of authorities is too long".to_string()
        }
        "UnsupportedCriticalExtension" => {
            "it has a critical extension this client does not know".to_string()
        }
        _ => "it cannot be verified".to_string(),
    }
}

/// Whether a DER `AlgorithmIdentifier` names a SHA-1 signature (RSA or ECDSA).
fn is_sha1(algorithm_id: &[u8]) -> bool {
    // The OIDs' DER content: 1.2.840.113549.1.1.5 (sha1WithRSAEncryption) and
    // 1.2.840.10045.4.1 (ecdsa-with-SHA1).
    const RSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05];
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    [RSA_SHA1, ECDSA_SHA1]
        .iter()
        .any(|oid| algorithm_id.windows(oid.len()).any(|w| w == *oid))
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

#[cfg(test)]
mod cert_env_tests {
    use super::*;

    fn check(var: &str, value: &str) -> Result<(), String> {
        let (var, value) = (var.to_string(), value.to_string());
        check_cert_env(&|name| (name == var).then(|| value.clone())).map_err(|e| e.to_string())
    }

    #[test]
    fn what_cannot_be_a_certificate_file_is_refused_without_opening_it() {
        let dir = tempfile::tempdir().unwrap();
        let big = dir.path().join("big.pem");
        std::fs::File::create(&big)
            .unwrap()
            .set_len(MAX_CERT_FILE_BYTES + 1)
            .unwrap();
        let exact = dir.path().join("exact.pem");
        std::fs::File::create(&exact)
            .unwrap()
            .set_len(MAX_CERT_FILE_BYTES)
            .unwrap();
        let colon = dir.path().join("a:b.pem");
        std::fs::write(&colon, "x").unwrap();
        let dir_path = dir.path().to_str().unwrap();
        for (value, said) in [
            ("/dev/zero", "not a regular file"),
            (dir_path, "is a directory (SSL_CERT_DIR takes directories)"),
            (big.to_str().unwrap(), "over the 16 MiB"),
            ("/nonexistent/x.pem", "does not exist"),
        ] {
            let err = check("SSL_CERT_FILE", value).unwrap_err();
            assert!(
                err.contains("SSL_CERT_FILE") && err.contains(said),
                "{value}: {err}"
            );
        }
        check("SSL_CERT_FILE", exact.to_str().unwrap()).unwrap();
        // One path: the `:` is part of the name.
        check("SSL_CERT_FILE", colon.to_str().unwrap()).unwrap();
        // A directory list: each must be a directory, and its large files are refused.
        let err = check("SSL_CERT_DIR", &format!("/etc:{}", big.display())).unwrap_err();
        assert!(err.contains("is not a directory"), "{err}");
        let err = check("SSL_CERT_DIR", "/etc:/nonexistent/certs").unwrap_err();
        assert!(
            err.contains("SSL_CERT_DIR")
                && err.contains("\"/nonexistent/certs\", which does not exist"),
            "{err}"
        );
        let err = check("SSL_CERT_DIR", dir_path).unwrap_err();
        assert!(
            err.contains("big.pem") && err.contains("SSL_CERT_DIR"),
            "{err}"
        );
        check("SSL_CERT_DIR", "").unwrap();
        // What a directory may hold: subdirectories (never read), files up to the bound.
        let fine = tempfile::tempdir().unwrap();
        std::fs::create_dir(fine.path().join("sub")).unwrap();
        std::fs::File::create(fine.path().join("exact.pem"))
            .unwrap()
            .set_len(MAX_CERT_FILE_BYTES)
            .unwrap();
        std::fs::write(fine.path().join("a.pem"), "x").unwrap();
        check("SSL_CERT_DIR", fine.path().to_str().unwrap()).unwrap();
    }
}

#[cfg(test)]
mod failure_words_tests {
    use super::*;
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};

    const CERT: &str = "the server's certificate was refused: ";

    fn other(text: &str) -> C {
        C::Other(rustls::OtherError(std::sync::Arc::new(
            std::io::Error::other(text.to_string()),
        )))
    }

    /// DER of `AlgorithmIdentifier` with an OID: only the OID's bytes matter here.
    const RSA_SHA1: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
    ];
    const ECDSA_SHA1: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    const RSA_SHA256: &[u8] = &[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00,
    ];

    fn signed_with(id: &[u8]) -> C {
        C::UnsupportedSignatureAlgorithmContext {
            signature_algorithm_id: id.to_vec(),
            supported_algorithms: Vec::new(),
        }
    }

    #[test]
    fn each_tls_failure_has_its_own_words() {
        let cases: Vec<(E, String)> =
            vec![
            (
                E::InvalidCertificate(C::UnknownIssuer),
                format!("{CERT}it is not signed by an authority this machine trusts"),
            ),
            (E::InvalidCertificate(C::Expired), format!("{CERT}it has expired")),
            (
                E::InvalidCertificate(C::NotValidYet),
                format!("{CERT}it is not valid yet"),
            ),
            (
                E::InvalidCertificate(C::NotValidForName),
                format!("{CERT}it is not valid for the host name"),
            ),
            (E::InvalidCertificate(C::Revoked), format!("{CERT}it has been revoked")),
            (
                E::InvalidCertificate(C::BadSignature),
                format!("{CERT}its signature does not verify"),
            ),
            (
                E::InvalidCertificate(signed_with(RSA_SHA1)),
                format!("{CERT}it is signed with SHA-1, which is refused"),
            ),
            (
                E::InvalidCertificate(signed_with(ECDSA_SHA1)),
                format!("{CERT}it is signed with SHA-1, which is refused"),
            ),
            (
                E::InvalidCertificate(signed_with(RSA_SHA256)),
                format!("{CERT}it is signed with an algorithm that is refused"),
            ),
            (
                E::InvalidCertificate(C::InvalidPurpose),
                format!("{CERT}it is not meant for identifying a server"),
            ),
            (
                E::InvalidCertificate(C::BadEncoding),
                format!("{CERT}it is not a well-formed certificate"),
            ),
            (
                E::InvalidCertificate(other("CaUsedAsEndEntity")),
                format!("{CERT}the server presented a CA certificate as its own"),
            ),
            (
                E::InvalidCertificate(other("EndEntityUsedAsCa")),
                format!("{CERT}a server certificate was used to sign another"),
            ),
            (
                E::InvalidCertificate(other("UnsupportedCertVersion")),
                format!("{CERT}its X.509 version is not supported"),
            ),
            (
                E::InvalidCertificate(other("MaximumPathDepthExceeded")),
                format!("{CERT}its chain of authorities is too long"),
            ),
            (
                E::InvalidCertificate(other("UnsupportedCriticalExtension")),
                format!("{CERT}it has a critical extension"),
            ),
            (
                E::InvalidCertificate(other("SomethingNew")),
                format!("{CERT}it cannot be verified"),
            ),
            (
                E::NoCertificatesPresented,
                "the server presented no certificate".to_string(),
            ),
            (
                E::PeerMisbehaved(rustls::PeerMisbehaved::IllegalMiddleboxChangeCipherSpec),
                "the server broke the TLS protocol".to_string(),
            ),
            (
                E::InvalidMessage(rustls::InvalidMessage::InvalidContentType),
                "the server's TLS messages are not valid TLS".to_string(),
            ),
            (
                E::PeerIncompatible(rustls::PeerIncompatible::NoCipherSuitesInCommon),
                "the server offers no TLS version or cipher this client accepts".to_string(),
            ),
            (
                E::AlertReceived(A::HandshakeFailure),
                "the server ended the TLS handshake: it accepts no TLS version, cipher or key"
                    .to_string(),
            ),
            (
                E::AlertReceived(A::ProtocolVersion),
                "the server ended the TLS handshake: it accepts no TLS version this client offers"
                    .to_string(),
            ),
            (
                E::AlertReceived(A::CertificateRequired),
                "the server ended the TLS handshake: it wants a client certificate".to_string(),
            ),
            (
                E::AlertReceived(A::UnrecognisedName),
                "the server ended the TLS handshake: it does not serve the host name".to_string(),
            ),
            (
                E::AlertReceived(A::AccessDenied),
                "the server ended the TLS handshake: it denied access".to_string(),
            ),
            (
                E::AlertReceived(A::InternalError),
                "the server ended the TLS handshake: it had an internal error".to_string(),
            ),
            (
                E::AlertReceived(A::Unknown(200)),
                "the server ended the TLS handshake with alert 200".to_string(),
            ),
        ];
        for (error, words) in cases {
            let said = describe(&error);
            assert!(said.starts_with(&words), "{error:?}: {said}");
            assert!(!said.contains("Context {"), "no Debug text: {said}");
        }
    }

    #[test]
    fn a_tls_failure_is_found_inside_nested_io_errors() {
        let inner = std::io::Error::other(E::NoCertificatesPresented);
        let outer = std::io::Error::other(inner);
        assert!(matches!(
            tls_failure(&outer),
            Some(E::NoCertificatesPresented)
        ));
        let plain = std::io::Error::other("connection reset");
        assert!(tls_failure(&plain).is_none());
    }
}
