//! Sync one MCP server and print the report as JSON.
//!
//! ```text
//! cargo run -p cloudflare-mcp-sync --example sync -- <SERVER_ID> --account-id <ACCOUNT_ID> [--base-url <URL>]
//! ```
//!
//! Credentials come from the environment (`CLOUDFLARE_API_TOKEN`, or both
//! `CLOUDFLARE_EMAIL` and `CLOUDFLARE_API_KEY`; `CLOUDFLARE_BASE_URL` too). With no
//! credential variable set at all and no `--base-url`, it starts a mock of the endpoint
//! on 127.0.0.1, says so on stderr and with `"mock": true` in the JSON, and syncs against
//! that, so the whole flow can be seen with nothing configured. A credential variable
//! that is set but empty is a configuration error, never a reason to use the mock.
//!
//! Logs go to stderr, filtered by `RUST_LOG` (default `warn`; `RUST_LOG=debug` shows
//! every attempt and retry decision).
//!
//! Exit codes: 0 synced and ready; 3 synced but not ready (the failure is in the JSON);
//! 1 the request failed; 2 invalid input or configuration.

use std::process::ExitCode;

use cloudflare_mcp_sync::{Client, Credentials, Error};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const USAGE: &str = "usage: sync <SERVER_ID> --account-id <ACCOUNT_ID> [--base-url <URL>]";

/// Exit codes, as documented above.
const EXIT_READY: u8 = 0;
const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_NOT_READY: u8 = 3;

struct Args {
    server_id: String,
    account_id: String,
    base_url: Option<String>,
}

fn parse_args(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let (mut server_id, mut account_id, mut base_url) = (None, None, None);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--account-id" => account_id = Some(args.next().ok_or("--account-id needs a value")?),
            "--base-url" => base_url = Some(args.next().ok_or("--base-url needs a value")?),
            "-h" | "--help" => return Err(String::new()),
            flag if flag.starts_with("--") => return Err(format!("unknown option {flag}")),
            _ if server_id.is_none() => server_id = Some(arg),
            _ => return Err(format!("unexpected argument {arg:?}")),
        }
    }
    Ok(Args {
        server_id: server_id.ok_or("missing SERVER_ID")?,
        account_id: account_id.ok_or("missing --account-id")?,
        base_url,
    })
}

#[tokio::main]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let code = run().await;
    // The process's own peak memory (this mapping only, not what a parent had before
    // exec): what the hostile-body tests hold against the body cap.
    if let Some(peak_rss_kib) = peak_rss_kib() {
        tracing::debug!(target: "sync::process", peak_rss_kib, "exiting");
    }
    code
}

/// Peak resident set size of this process image (Linux `VmHWM`), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

async fn run() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            if !message.is_empty() {
                eprintln!("error: {message}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let credentials = match Credentials::from_env() {
        Ok(c) => c,
        Err(e) => return fail(&Error::Config(e)),
    };
    let env_base_url = std::env::var_os(cloudflare_mcp_sync::ENV_BASE_URL)
        .map(|v| v.to_string_lossy().into_owned());
    if env_base_url.as_deref().is_some_and(|v| v.trim().is_empty()) {
        eprintln!(
            "error: configuration error: {} is set but empty; set it to a URL, or unset it",
            cloudflare_mcp_sync::ENV_BASE_URL
        );
        return ExitCode::from(EXIT_USAGE);
    }
    let base_url = args.base_url.or(env_base_url);
    let mock = credentials.is_none() && base_url.is_none();
    let (credentials, base_url) = match (credentials, base_url) {
        (Some(c), url) => (c, url),
        (None, Some(_)) => {
            eprintln!(
                "error: configuration error: no credentials: set {} or {} and {}",
                cloudflare_mcp_sync::ENV_API_TOKEN,
                cloudflare_mcp_sync::ENV_EMAIL,
                cloudflare_mcp_sync::ENV_API_KEY
            );
            return ExitCode::from(EXIT_USAGE);
        }
        (None, None) => match start_mock().await {
            Ok(url) => {
                eprintln!(
                    "note: no credentials in the environment; syncing against an embedded mock at {url} \
                     (set {} to call Cloudflare)",
                    cloudflare_mcp_sync::ENV_API_TOKEN
                );
                (Credentials::api_token("mock-token"), Some(url))
            }
            Err(e) => {
                eprintln!("error: cannot start the embedded mock: {e}");
                return ExitCode::from(EXIT_FAILED);
            }
        },
    };
    let mut builder = Client::builder()
        .credentials(credentials)
        .user_agent_suffix("example-sync");
    if let Some(url) = base_url {
        builder = builder.base_url(url);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => return fail(&e),
    };
    match client.sync(&args.account_id, &args.server_id).await {
        Ok(report) => {
            // `mock` first, so nobody mistakes the embedded mock's answer for Cloudflare's.
            let mut out = serde_json::Map::new();
            out.insert("mock".into(), mock.into());
            match serde_json::to_value(&report) {
                Ok(serde_json::Value::Object(fields)) => out.extend(fields),
                Ok(_) | Err(_) => {
                    eprintln!("error: cannot print the report");
                    return ExitCode::from(EXIT_FAILED);
                }
            }
            match serde_json::to_string_pretty(&out) {
                Ok(json) => println!("{json}"),
                Err(e) => eprintln!("error: cannot print the report: {e}"),
            }
            ExitCode::from(if report.is_ready() {
                EXIT_READY
            } else {
                EXIT_NOT_READY
            })
        }
        Err(e) => fail(&e),
    }
}

fn fail(e: &Error) -> ExitCode {
    eprintln!("error: {e}");
    match e {
        Error::InvalidInput(_) | Error::Config(_) => ExitCode::from(EXIT_USAGE),
        _ => ExitCode::from(EXIT_FAILED),
    }
}

/// A one-route HTTP/1.1 mock of the sync endpoint on 127.0.0.1: answers a POST to
/// `…/mcp/servers/{id}/sync` that carries credentials with a `ready` result, anything
/// else with Cloudflare's error envelope.
async fn start_mock() -> std::io::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/client/v4", listener.local_addr()?);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = Vec::with_capacity(2048);
                let mut chunk = [0u8; 1024];
                // Read the request head (the sync request has no body); bounded at 16 KiB.
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") && buf.len() < 16 * 1024 {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(chunk.get(..n).unwrap_or_default()),
                    }
                }
                let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
                let first = head.lines().next().unwrap_or_default().to_string();
                let authed = head.contains("\r\nauthorization: bearer ")
                    || (head.contains("\r\nx-auth-email: ") && head.contains("\r\nx-auth-key: "));
                let route_ok = first.starts_with("post ")
                    && first.contains("/access/ai-controls/mcp/servers/")
                    && first.contains("/sync ");
                let (status, body) = match (route_ok, authed) {
                    (true, true) => (
                        "200 OK",
                        r#"{"success":true,"errors":[],"messages":[],"result":{"status":"ready"}}"#,
                    ),
                    (true, false) => (
                        "401 Unauthorized",
                        r#"{"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[],"result":null}"#,
                    ),
                    (false, _) => (
                        "404 Not Found",
                        r#"{"success":false,"errors":[{"code":7003,"message":"Could not route to the requested path"}],"messages":[],"result":null}"#,
                    ),
                };
                let response = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\ncf-ray: 0000000000000000-MOCK\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    Ok(url)
}
