//! API credentials: one enum, held in secret types, turned into headers once.

use std::fmt;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::error::ConfigError;

/// Environment variable holding an API token.
pub const ENV_API_TOKEN: &str = "CLOUDFLARE_API_TOKEN";
/// Environment variable holding the account email of the legacy global key.
pub const ENV_EMAIL: &str = "CLOUDFLARE_EMAIL";
/// Environment variable holding the legacy global API key.
pub const ENV_API_KEY: &str = "CLOUDFLARE_API_KEY";

const X_AUTH_EMAIL: HeaderName = HeaderName::from_static("x-auth-email");
const X_AUTH_KEY: HeaderName = HeaderName::from_static("x-auth-key");

/// How requests authenticate. Exactly one mode's headers are sent.
///
/// `Debug` never prints the secret values:
///
/// ```
/// use cloudflare_mcp_sync::Credentials;
/// let creds = Credentials::api_token("s3cr3t-token");
/// assert!(!format!("{creds:?}").contains("s3cr3t"));
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub enum Credentials {
    /// An API token, sent as `Authorization: Bearer <token>` (preferred by Cloudflare).
    ApiToken(SecretString),
    /// The legacy global API key, sent as `X-Auth-Email` and `X-Auth-Key`.
    GlobalKey {
        /// The account's email address.
        email: SecretString,
        /// The global API key.
        key: SecretString,
    },
}

impl Credentials {
    /// An API token (`Authorization: Bearer …`): the token alone. One with a space
    /// inside it, such as after a copied `Bearer ` prefix, is refused when the client is
    /// built (spaces around it are trimmed).
    pub fn api_token(token: impl Into<String>) -> Self {
        Self::ApiToken(SecretString::from(token.into()))
    }

    /// The legacy email + global API key pair (`X-Auth-Email` + `X-Auth-Key`).
    pub fn global_key(email: impl Into<String>, key: impl Into<String>) -> Self {
        Self::GlobalKey {
            email: SecretString::from(email.into()),
            key: SecretString::from(key.into()),
        }
    }

    /// Reads `CLOUDFLARE_API_TOKEN`, or `CLOUDFLARE_EMAIL` + `CLOUDFLARE_API_KEY`.
    ///
    /// Returns `Ok(None)` only when none of them is set at all. A variable that is set
    /// but empty or blank is a [`ConfigError`] naming it: that is what a CI job gets
    /// when a secret did not reach it, and it must not look like "no credentials". A
    /// token set together with a key or email, or an email without a key (or the
    /// reverse), is a [`ConfigError`] too: guessing which one the user meant is how
    /// confusing auth failures start.
    pub fn from_env() -> Result<Option<Self>, ConfigError> {
        Self::from_lookup(crate::env::var)
    }

    /// [`Credentials::from_env`] over any variable lookup (testable without touching
    /// the process environment).
    pub fn from_lookup(
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<Option<Self>, ConfigError> {
        let get = |name: &str| match lookup(name) {
            Some(v) if v.trim().is_empty() => Err(ConfigError::new(format!(
                "{name} is set but empty; set it to the secret, or unset it"
            ))),
            other => Ok(other),
        };
        let (token, email, key) = (get(ENV_API_TOKEN)?, get(ENV_EMAIL)?, get(ENV_API_KEY)?);
        match (token, email, key) {
            (None, None, None) => Ok(None),
            (Some(token), None, None) => Ok(Some(Self::api_token(token))),
            (None, Some(email), Some(key)) => Ok(Some(Self::global_key(email, key))),
            (Some(_), _, _) => Err(ConfigError::new(format!(
                "{ENV_API_TOKEN} is set together with {ENV_EMAIL}/{ENV_API_KEY}; set either a token or an email and key, not both"
            ))),
            (None, Some(_), None) => Err(ConfigError::new(format!(
                "{ENV_EMAIL} is set but {ENV_API_KEY} is not; the global key needs both"
            ))),
            (None, None, Some(_)) => Err(ConfigError::new(format!(
                "{ENV_API_KEY} is set but {ENV_EMAIL} is not; the global key needs both"
            ))),
        }
    }

    /// Which mode this is, for logs and messages (never the values).
    pub fn mode(&self) -> &'static str {
        match self {
            Self::ApiToken(_) => "api-token",
            Self::GlobalKey { .. } => "global-key",
        }
    }

    /// The parts of these credentials (`"API token"`, `"API key"`) too short to be
    /// Cloudflare's, which a client therefore does not look for in what servers send
    /// back (see [`MIN_REDACTED_SECRET_CHARS`](crate::MIN_REDACTED_SECRET_CHARS)): a
    /// placeholder such as `test` would otherwise replace ordinary words. Names only,
    /// never values, so that a caller can warn.
    pub fn too_short_to_redact(&self) -> Vec<&'static str> {
        let short = |v: &SecretString| !crate::scrub::is_redactable(v.expose_secret());
        match self {
            Self::ApiToken(token) => short(token).then_some("API token").into_iter().collect(),
            Self::GlobalKey { key, .. } => short(key).then_some("API key").into_iter().collect(),
        }
    }

    /// The secret values themselves, for taking them out of what servers send back.
    pub(crate) fn secret_values(&self) -> Vec<&str> {
        match self {
            Self::ApiToken(token) => vec![token.expose_secret()],
            Self::GlobalKey { email, key } => vec![email.expose_secret(), key.expose_secret()],
        }
    }

    /// The auth headers, each marked sensitive so that HTTP-layer logging hides it.
    pub(crate) fn headers(&self) -> Result<HeaderMap, ConfigError> {
        // Room for the auth, user-agent and accept headers plus what hyper adds per
        // request, so the per-request clone never has to grow.
        let mut headers = HeaderMap::with_capacity(8);
        let value = |what: &str, raw: &str| {
            // Visible ASCII only: HTTP would also carry bytes above 0x7F, which is how a
            // token mangled on its way into the environment would reach the server.
            let printable = raw.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
            let mut v = HeaderValue::from_str(raw)
                .ok()
                .filter(|_| printable)
                .ok_or_else(|| {
                    ConfigError::new(format!(
                        "the {what} contains characters that cannot be sent in an HTTP header"
                    ))
                })?;
            v.set_sensitive(true);
            Ok::<_, ConfigError>(v)
        };
        match self {
            Self::ApiToken(token) => {
                let token = token.expose_secret().trim();
                if token.is_empty() {
                    return Err(ConfigError::new("the API token is empty"));
                }
                // A token is one word. The usual second word is after a copied
                // `Bearer ` prefix (whatever space follows it), which would be sent
                // twice and refused by the server; any other space is refused too.
                // (Tabs and newlines elsewhere are refused below, with the other
                // characters a header cannot carry.)
                let prefixed = token
                    .split_once(char::is_whitespace)
                    .is_some_and(|(first, _)| first.eq_ignore_ascii_case("bearer"));
                if prefixed {
                    return Err(ConfigError::new(
                        "the API token starts with `Bearer `; give the token alone (the prefix is added when it is sent)",
                    ));
                }
                if token.contains(' ') {
                    return Err(ConfigError::new(
                        "the API token contains a space; a Cloudflare API token is one word",
                    ));
                }
                headers.insert(
                    AUTHORIZATION,
                    value("API token", &format!("Bearer {token}"))?,
                );
            }
            Self::GlobalKey { email, key } => {
                let (email, key) = (email.expose_secret().trim(), key.expose_secret().trim());
                if email.is_empty() || key.is_empty() {
                    return Err(ConfigError::new(
                        "the global key needs a non-empty email and key",
                    ));
                }
                headers.insert(X_AUTH_EMAIL, value("email", email)?);
                headers.insert(X_AUTH_KEY, value("API key", key)?);
            }
        }
        Ok(headers)
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ApiToken(_) => f.write_str("Credentials::ApiToken(<redacted>)"),
            Self::GlobalKey { .. } => {
                f.write_str("Credentials::GlobalKey { email: <redacted>, key: <redacted> }")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn env_token_alone_is_a_token() {
        let c = Credentials::from_lookup(lookup(&[(ENV_API_TOKEN, "t")])).unwrap();
        assert_eq!(c.map(|c| c.mode()), Some("api-token"));
    }

    #[test]
    fn env_email_and_key_is_the_global_key() {
        let c =
            Credentials::from_lookup(lookup(&[(ENV_EMAIL, "e@x"), (ENV_API_KEY, "k")])).unwrap();
        assert_eq!(c.map(|c| c.mode()), Some("global-key"));
    }

    #[test]
    fn env_nothing_is_none() {
        assert!(Credentials::from_lookup(lookup(&[])).unwrap().is_none());
    }

    #[test]
    fn env_set_but_blank_is_an_error_naming_the_variable() {
        for name in [ENV_API_TOKEN, ENV_EMAIL, ENV_API_KEY] {
            for blank in ["", " ", "\t\n"] {
                let err = Credentials::from_lookup(lookup(&[(name, blank)])).unwrap_err();
                assert!(
                    err.to_string()
                        .starts_with(&format!("{name} is set but empty")),
                    "{err}"
                );
            }
        }
        // Blank beside a good token is still an error: the blank one is a mistake.
        let err = Credentials::from_lookup(lookup(&[(ENV_API_TOKEN, "t"), (ENV_EMAIL, "")]));
        assert!(err.unwrap_err().to_string().contains(ENV_EMAIL));
    }

    #[test]
    fn env_conflicts_and_halves_are_errors() {
        let both = Credentials::from_lookup(lookup(&[(ENV_API_TOKEN, "t"), (ENV_API_KEY, "k")]));
        assert!(both.unwrap_err().to_string().contains("not both"));
        let email_only = Credentials::from_lookup(lookup(&[(ENV_EMAIL, "e@x")]));
        assert!(
            email_only
                .unwrap_err()
                .to_string()
                .contains("CLOUDFLARE_API_KEY is not")
        );
        let key_only = Credentials::from_lookup(lookup(&[(ENV_API_KEY, "k")]));
        assert!(
            key_only
                .unwrap_err()
                .to_string()
                .contains("CLOUDFLARE_EMAIL is not")
        );
    }

    #[test]
    fn headers_are_sensitive_and_exclusive() {
        let h = Credentials::api_token("tok").headers().unwrap();
        assert_eq!(h.len(), 1);
        assert!(h[AUTHORIZATION].is_sensitive());
        let h = Credentials::global_key("e@x", "k").headers().unwrap();
        assert_eq!(h.len(), 2);
        assert!(h.get(AUTHORIZATION).is_none());
        assert!(h["x-auth-email"].is_sensitive() && h["x-auth-key"].is_sensitive());
    }

    #[test]
    fn non_ascii_secrets_are_refused() {
        for bad in ["tok\u{fffd}", "tök", "a\u{7f}b"] {
            let err = Credentials::api_token(bad).headers().unwrap_err();
            assert!(err.to_string().contains("API token"), "{err}");
        }
        assert!(Credentials::global_key("é@x", "k").headers().is_err());
        assert!(
            Credentials::global_key("e@x", "k\u{85}x")
                .headers()
                .is_err()
        );
    }

    #[test]
    fn a_global_key_needs_both_halves() {
        for (email, key) in [("e@x", ""), ("e@x", "  "), ("", "k"), (" ", "k"), ("", "")] {
            let err = Credentials::global_key(email, key).headers().unwrap_err();
            assert!(
                err.to_string().contains("non-empty email and key"),
                "{email:?} {key:?}: {err}"
            );
        }
        assert!(Credentials::api_token(" ").headers().is_err());
    }

    #[test]
    fn debug_names_the_mode_and_nothing_else() {
        assert_eq!(
            format!("{:?}", Credentials::api_token("s3cr3t")),
            "Credentials::ApiToken(<redacted>)"
        );
        assert_eq!(
            format!("{:?}", Credentials::global_key("e@x", "s3cr3t")),
            "Credentials::GlobalKey { email: <redacted>, key: <redacted> }"
        );
    }

    /// A copied `Bearer ` prefix is named, and not sent twice; any other space in a
    /// token is refused before a request goes out.
    #[test]
    fn a_token_with_a_prefix_or_a_space_is_refused() {
        for prefixed in [
            "Bearer s3cr3t",
            "bearer s3cr3t",
            " BEARER s3cr3t ",
            "Bearer\ts3cr3t",
            "Bearer\u{a0}s3cr3t",
            "Bearer  s3cr3t",
        ] {
            let err = Credentials::api_token(prefixed).headers().unwrap_err();
            assert!(err.to_string().contains("starts with `Bearer `"), "{err}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
        for spaced in [
            "s3cr3t s3cr3t",
            "Bearers3cr3t x",
            "Authorization: Bearer s3cr3t",
        ] {
            let err = Credentials::api_token(spaced).headers().unwrap_err();
            assert!(err.to_string().contains("contains a space"), "{err}");
            assert!(!err.to_string().contains("s3cr3t"), "{err}");
        }
        // The word alone, or beside spaces that are trimmed, is a token.
        for fine in ["Bearer", " s3cr3t\n"] {
            assert!(Credentials::api_token(fine).headers().is_ok(), "{fine:?}");
        }
    }

    #[test]
    fn header_errors_do_not_echo_the_secret() {
        let err = Credentials::api_token("bad\ntoken-secret")
            .headers()
            .unwrap_err();
        assert!(!err.to_string().contains("token-secret"));
    }
}
