//! Checks on the two path parameters, done before anything is sent.

use cloudflare_mcp_sync_generated::types::McpPortalsApiSyncServerId;

use crate::error::{Error, InvalidInput};

/// Longest account id accepted. Cloudflare's are 32 hex characters; the spec sets no
/// limit, but an id of kilobytes is a mistake, and past ~64 KiB no request can carry it.
pub(crate) const MAX_ACCOUNT_ID_CHARS: usize = 256;

/// Longest value echoed back in an [`InvalidInput`] error.
const ECHO_CHARS: usize = 64;

fn invalid(field: &'static str, value: &str, reason: impl Into<String>) -> Error {
    Error::InvalidInput(InvalidInput {
        field,
        value: crate::text::one_line(value, ECHO_CHARS),
        reason: reason.into(),
    })
}

/// Checks a server id against the spec's constraints (1–32 characters, pattern
/// `^[a-z0-9_]+(?:-[a-z0-9_]+)*$`), using the generated type that enforces them.
pub(crate) fn check_server_id(id: &str) -> Result<McpPortalsApiSyncServerId, Error> {
    const RULE: &str = "1 to 32 of a-z, 0-9, _ in words joined by single -";
    match id.parse::<McpPortalsApiSyncServerId>() {
        Ok(typed) => Ok(typed),
        // The echo shows an unsafe character as a space, so the reason names it, as
        // for an account id: a trailing CR (a Windows line ending) must be visible.
        Err(e) => Err(invalid(
            "server id",
            id,
            match id
                .chars()
                .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '_' | '-'))
            {
                Some(c) => format!("must not contain {c:?} ({RULE})"),
                None => format!("{e} ({RULE})"),
            },
        )),
    }
}

/// Checks an account id: the spec only says "string", so anything is accepted that
/// cannot change which URL the request goes to. Empty, `.`, `..`, and any `/`, `\`,
/// `?`, `#`, `%`, whitespace or control character are refused.
pub(crate) fn check_account_id(id: &str) -> Result<&str, Error> {
    let reason = if id.is_empty() {
        Some("must not be empty".to_string())
    } else if id.len() > MAX_ACCOUNT_ID_CHARS {
        Some(format!(
            "is {} bytes long; at most {MAX_ACCOUNT_ID_CHARS} are accepted (Cloudflare's are 32)",
            id.len()
        ))
    } else if id == "." || id == ".." {
        Some("must not be a dot segment".to_string())
    } else {
        id.chars()
            .find(|c| {
                matches!(c, '/' | '\\' | '?' | '#' | '%') || c.is_whitespace() || c.is_control()
            })
            .map(|c| format!("must not contain {c:?}"))
    };
    match reason {
        Some(reason) => Err(invalid("account id", id, reason)),
        None => Ok(id),
    }
}

/// Checks a sync's two ids as [`Client::sync`](crate::Client::sync) does, without a
/// client or a request: for a program that refuses a whole batch before it sends any of
/// it. The error is [`Error::InvalidInput`], naming the id and why.
pub fn check_ids(account_id: &str, server_id: &str) -> Result<(), Error> {
    check_account_id(account_id)?;
    check_server_id(server_id).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_ids_checks_both() {
        assert!(check_ids("acc", "my-server").is_ok());
        let bad_account = check_ids("a/b", "my-server").unwrap_err();
        assert!(
            bad_account.to_string().contains("account id"),
            "{bad_account}"
        );
        let bad_server = check_ids("acc", "Not-Valid").unwrap_err();
        assert!(bad_server.to_string().contains("server id"), "{bad_server}");
    }

    #[test]
    fn server_ids_follow_the_spec() {
        for ok in ["my-mcp-portal", "a", "a_b-c1", &"x".repeat(32)] {
            assert!(check_server_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "A",
            "a/b",
            "a--b",
            "-a",
            "a-",
            "..",
            "a b",
            &"x".repeat(33),
        ] {
            assert!(
                matches!(check_server_id(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_character_outside_the_pattern_is_named() {
        let err = check_server_id("my-server\r").unwrap_err().to_string();
        assert!(err.contains(r"must not contain '\r'"), "{err}");
        let err = check_server_id("My").unwrap_err().to_string();
        assert!(err.contains("must not contain 'M'"), "{err}");
        let err = check_server_id("a--b").unwrap_err().to_string();
        assert!(!err.contains("must not contain"), "{err}");
    }

    #[test]
    fn account_ids_that_could_move_the_url_are_refused() {
        for bad in [
            "", ".", "..", "a/b", "a\\b", "a?b", "a#b", "a%2fb", "a b", "a\nb",
        ] {
            assert!(
                matches!(check_account_id(bad), Err(Error::InvalidInput(_))),
                "{bad:?}"
            );
        }
        for ok in ["023e105f4ecef8ad9ca31a8372d0c353", "acc", "a.b", "..."] {
            assert!(check_account_id(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn account_ids_have_a_length_limit() {
        assert!(check_account_id(&"a".repeat(MAX_ACCOUNT_ID_CHARS)).is_ok());
        let err = check_account_id(&"a".repeat(MAX_ACCOUNT_ID_CHARS + 1)).unwrap_err();
        assert!(err.to_string().contains("257 bytes long"), "{err}");
    }

    #[test]
    fn long_values_are_shortened_in_errors() {
        let long = "/".repeat(500);
        let err = check_account_id(&long).unwrap_err().to_string();
        assert!(err.len() < 200, "{err}");
    }
}
