//! Helpers shared by the workspace-level tests.

pub mod capture;
pub mod fault;
pub mod main_job;
pub mod prism;
pub mod ratelimited;
pub mod tls;

use std::path::{Path, PathBuf};

/// How long a test waits for an event (a log line, a request) before it fails instead
/// of hanging the suite. Far above any wait a passing test has, so it never decides one.
pub const HANG_LIMIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Installs rustls' ring provider as the process default, once. The workspace builds
/// reqwest with rustls but without a built-in provider (the client configures its own);
/// tests that build a bare `reqwest::Client` (or the generated client) need this first.
pub fn install_crypto_provider() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// The workspace root (parent of this crate).
pub fn workspace_root() -> PathBuf {
    let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    here.parent().map(Path::to_path_buf).unwrap_or(here)
}

/// Copies `openapi/` and the generated file into a fresh temporary workspace, so that
/// tests can change the spec or the output without touching the real tree.
pub fn scratch_workspace() -> tempfile::TempDir {
    let root = workspace_root();
    let dir = tempfile::tempdir().expect("temp dir");
    let openapi = dir.path().join("openapi");
    std::fs::create_dir_all(&openapi).expect("mkdir openapi");
    for entry in std::fs::read_dir(root.join("openapi")).expect("read openapi/") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), openapi.join(entry.file_name())).expect("copy spec file");
    }
    let generated = dir.path().join(xtask::generate::GENERATED_FILE);
    std::fs::create_dir_all(generated.parent().expect("parent")).expect("mkdir generated");
    std::fs::copy(root.join(xtask::generate::GENERATED_FILE), &generated).expect("copy generated");
    dir
}

/// The committed spec fragment as JSON, read through xtask's one `$ref` resolver: every
/// `$ref` below `paths` inlined, so that the pointers below ([`SYNC_OP`]) reach the same
/// places whether `openapi/` is written inline or with `components`, as upstream is.
pub fn committed_spec() -> serde_json::Value {
    xtask::rehearse::resolved(&workspace_root()).expect("load openapi/")
}

/// Writes `doc` over the fragment in a scratch workspace.
pub fn write_spec(workspace: &Path, doc: &serde_json::Value) {
    let prov = xtask::spec::load_provenance(workspace).expect("provenance");
    let path = xtask::spec::fragment_path(workspace, &prov);
    let text = serde_json::to_string_pretty(doc).expect("serialise spec");
    std::fs::write(path, text).expect("write spec");
}

/// JSON pointer of the sync operation's path item inside the fragment.
pub const SYNC_PATH_ITEM: &str =
    "/paths/~1accounts~1{account_id}~1access~1ai-controls~1mcp~1servers~1{id}~1sync";
/// JSON pointer of the sync operation inside the fragment.
pub const SYNC_OP: &str =
    "/paths/~1accounts~1{account_id}~1access~1ai-controls~1mcp~1servers~1{id}~1sync/post";

/// Writes `script` to `path` as an executable file: the stand-in tools (`gh`, `cargo`,
/// a released program) that tests put on a PATH.
pub fn write_executable(path: &Path, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, script).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}

/// `http://127.0.0.1:<port>` where nothing listens, and nothing can start to: the port is
/// the local end of a connection this process keeps open until it exits, so a connection
/// to it is refused and no listener is given it (a port bound and released could be, to
/// another test binding port 0 beside this one).
pub fn closed_port_base() -> String {
    use std::net::{TcpListener, TcpStream};
    static HELD: std::sync::Mutex<Vec<(TcpStream, TcpStream)>> = std::sync::Mutex::new(Vec::new());
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (server, _) = listener.accept().expect("accept");
    let port = client.local_addr().expect("addr").port();
    HELD.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((client, server));
    format!("http://127.0.0.1:{port}")
}

/// Reads an HTTP head (up to the blank line), lower-cased; `None` if the peer left.
pub async fn read_head<S: tokio::io::AsyncReadExt + Unpin>(stream: &mut S) -> Option<String> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    // One byte at a time: nothing past the head may be consumed (it is the tunnel's).
    while !buf.ends_with(b"\r\n\r\n") {
        if buf.len() > 64 * 1024 || stream.read(&mut byte).await.ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
    }
    Some(String::from_utf8_lossy(&buf).to_ascii_lowercase())
}

/// Generated code without its first line (the banner, which names the spec's sha256).
pub fn strip_banner(code: &str) -> String {
    code.lines().skip(1).collect::<Vec<_>>().join("\n")
}

/// Credentials used by the wire tests; every test asserts these never show up in output.
pub mod secrets {
    /// The API token.
    pub const TOKEN: &str = "tok-SECRET-4f9a1c0d";
    /// The global-key email.
    pub const EMAIL: &str = "leak-check@secret.example";
    /// The global key.
    pub const KEY: &str = "key-SECRET-77e2b9";

    /// Panics if `text` contains any of the secrets or a distinctive part of one, in any
    /// case (a header echoed lower-cased, an email upper-cased still leaks it); the word
    /// `SECRET` only as written, since `secret` is a word output may use.
    pub fn assert_no_secret(text: &str) {
        let folded = text.to_lowercase();
        for secret in [TOKEN, EMAIL, KEY, "4f9a1c0d", "77e2b9", "leak-check"] {
            assert!(
                !folded.contains(&secret.to_lowercase()),
                "secret {secret:?} (in some case) leaked into: {text}"
            );
        }
        assert!(!text.contains("SECRET"), "\"SECRET\" leaked into: {text}");
    }
}

/// The account and server ids the wire tests use.
pub const ACCOUNT: &str = "023e105f4ecef8ad9ca31a8372d0c353";
/// See [`ACCOUNT`].
pub const SERVER: &str = "my-mcp-server";
/// The path the sync of [`SERVER`] in [`ACCOUNT`] goes to.
pub const SYNC_PATH: &str =
    "/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/ai-controls/mcp/servers/my-mcp-server/sync";
/// A Ray ID for mocks.
pub const RAY: &str = "8f1c2a3b4d5e6f70-SJC";

/// A builder pointed at `base` with the test token and no retries (tests that retry
/// set their own policy).
pub fn builder(base: &str) -> cloudflare_mcp_sync::ClientBuilder {
    cloudflare_mcp_sync::Client::builder()
        .credentials(cloudflare_mcp_sync::Credentials::api_token(secrets::TOKEN))
        .base_url(base)
        .retry_policy(cloudflare_mcp_sync::RetryPolicy::disabled())
}

/// A JSON body with `content-type: application/json` and a `cf-ray`.
pub fn json_response(status: u16, body: &str) -> wiremock::ResponseTemplate {
    wiremock::ResponseTemplate::new(status)
        .insert_header("cf-ray", RAY)
        .set_body_raw(body.to_string(), "application/json")
}

/// The envelope of a successful sync with the given `result` JSON.
pub fn ok_body(result: &str) -> String {
    format!(r#"{{"success":true,"errors":[],"messages":[],"result":{result}}}"#)
}

/// The upstream-style fixture: several operations, shared `$ref` components, a `$ref`
/// cycle in an unrelated schema, and an unrelated section of 200 schemas.
pub fn upstream_fixture_path() -> PathBuf {
    workspace_root().join("tests/fixtures/upstream-openapi.json")
}

/// The fixture, parsed. It is input for the tools' own tests (extract, diff): its sync
/// operation is a fixed sample, not the committed one; a test that compares with
/// `openapi/` uses [`upstream_document`].
pub fn upstream_fixture() -> serde_json::Value {
    let text = std::fs::read_to_string(upstream_fixture_path()).expect("read fixture");
    serde_json::from_str(&text).expect("parse fixture")
}

/// An upstream-style document of the committed API: the committed operation written as
/// Cloudflare writes it (`$ref`s into `components`), among the fixture's other
/// operations and unrelated schemas. Derived from `openapi/`, so it moves with it.
pub fn upstream_document() -> serde_json::Value {
    upstream_document_from(&committed_spec())
}

/// [`upstream_document`] of `resolved`, a fragment with its `$ref`s resolved (such as
/// [`committed_spec`] after a change).
pub fn upstream_document_from(resolved: &serde_json::Value) -> serde_json::Value {
    let derived = xtask::rehearse::upstream_style(resolved);
    let mut doc = upstream_fixture();
    let ours = resolved["paths"].as_object().expect("paths");
    for path in ours.keys() {
        doc["paths"][path] = derived["paths"][path].clone();
    }
    for section in ["schemas", "parameters", "responses"] {
        if let Some(entries) = derived["components"][section].as_object() {
            for (name, value) in entries {
                doc["components"][section][name] = value.clone();
            }
        }
    }
    doc
}

#[cfg(test)]
mod tests {
    /// What the suites lean on: connecting to the closed port is refused, and the port
    /// cannot be listened on while the process lives.
    #[test]
    fn a_closed_port_refuses_connections_and_cannot_be_listened_on() {
        let base = super::closed_port_base();
        let port: u16 = base
            .rsplit_once(':')
            .and_then(|(_, p)| p.parse().ok())
            .expect("a port");
        let refused = std::net::TcpStream::connect(("127.0.0.1", port)).expect_err("refused");
        assert_eq!(refused.kind(), std::io::ErrorKind::ConnectionRefused);
        assert!(std::net::TcpListener::bind(("127.0.0.1", port)).is_err());
    }

    /// The leak check finds a credential in any case, and a part of one, but not the
    /// plain word "secret".
    #[test]
    fn the_leak_check_finds_credentials_in_any_case() {
        use super::secrets::{EMAIL, KEY, TOKEN, assert_no_secret};
        let leaks = [
            EMAIL.to_uppercase(),
            TOKEN.to_lowercase(),
            format!("x-auth-key: {}", KEY.to_ascii_uppercase()),
            "…c0d-77E2B9…".to_string(),
        ];
        for leak in leaks {
            let caught = std::panic::catch_unwind(|| assert_no_secret(&leak));
            assert!(caught.is_err(), "{leak:?} passed the leak check");
        }
        assert_no_secret("the secret key was [redacted]");
    }
}
