//! The process environment, read in one place so that every variable the crate reads
//! (credentials, base URL, proxies, certificates) is read the same way.

/// One variable of the process environment. A value that is not UTF-8 is kept
/// (lossily) rather than read as "unset": a token that arrived mangled must fail as a
/// bad token, not fall back to another configuration.
pub(crate) fn var(name: &str) -> Option<String> {
    std::env::var_os(name).map(|v| v.to_string_lossy().into_owned())
}
