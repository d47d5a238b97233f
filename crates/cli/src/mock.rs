//! The embedded mock of the sync endpoint, served by hyper on 127.0.0.1, so that the
//! whole flow can be seen with nothing configured. It answers like Cloudflare: the
//! envelope, a `cf-ray`, the `Ratelimit` headers, 401 without credentials, 404 off the
//! route.

use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use cloudflare_mcp_sync::SyncStatus;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// The token the CLI sends to the mock (never a real credential).
pub const TOKEN: &str = "mock-token";

/// Starts the mock on an ephemeral port of 127.0.0.1 and returns its base URL. It
/// serves until the process exits.
pub async fn start() -> std::io::Result<String> {
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let url = format!("http://{}/client/v4", listener.local_addr()?);
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let service = hyper::service::service_fn(|req: Request<Incoming>| async move {
                    Ok::<_, Infallible>(answer(req.method(), req.uri().path(), req.headers()))
                });
                // A client that goes away mid-request is its own business.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Ok(url)
}

/// The mock's answer to one request.
fn answer(method: &Method, path: &str, headers: &HeaderMap) -> Response<Full<Bytes>> {
    let authed = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("Bearer "))
        || (headers.contains_key("x-auth-email") && headers.contains_key("x-auth-key"));
    let server_id = (method == Method::POST).then(|| server_id(path)).flatten();
    let (status, body) = match (server_id, authed) {
        (Some(id), true) => (StatusCode::OK, envelope_ok(&result_for(id))),
        (Some(_), false) => (
            StatusCode::UNAUTHORIZED,
            envelope_err(10000, "Authentication error"),
        ),
        (None, _) => (
            StatusCode::NOT_FOUND,
            envelope_err(7003, "Could not route to the requested path"),
        ),
    };
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert("cf-ray", HeaderValue::from_static("0000000000000000-MOCK"));
    h.insert(
        "ratelimit",
        HeaderValue::from_static("\"default\";r=1199;t=300"),
    );
    h.insert(
        "ratelimit-policy",
        HeaderValue::from_static("\"default\";q=1200;w=300"),
    );
    response
}

/// The server id of `…/accounts/{a}/access/ai-controls/mcp/servers/{id}/sync`.
fn server_id(path: &str) -> Option<&str> {
    let rest = path.strip_prefix("/client/v4/accounts/")?;
    let (account, rest) = rest.split_once('/')?;
    let rest = rest.strip_prefix("access/ai-controls/mcp/servers/")?;
    let id = rest.strip_suffix("/sync")?;
    (!account.is_empty() && !id.is_empty() && !id.contains('/')).then_some(id)
}

/// The `result` for a server id: an id starting with a status value the spec lists gets
/// that status (`error` with its details), any other id `ready`, so that every outcome
/// (and exit code) can be seen against the mock, including a value the spec adds later.
fn result_for(id: &str) -> String {
    let error = SyncStatus::Error.as_str();
    if id.starts_with(error) {
        return format!(
            r#"{{"status":"{error}","error":"MCP server returned an error","error_details":{{"cause":"initialize: connection refused (mock)","is_upstream":false,"retryable":true,"status_code":502}}}}"#
        );
    }
    let status = SyncStatus::SPEC_VALUES
        .iter()
        .find(|value| id.starts_with(**value))
        .copied()
        .unwrap_or(SyncStatus::Ready.as_str());
    serde_json::json!({ "status": status }).to_string()
}

fn envelope_ok(result: &str) -> String {
    format!(r#"{{"success":true,"errors":[],"messages":[],"result":{result}}}"#)
}

fn envelope_err(code: u32, message: &str) -> String {
    format!(
        r#"{{"success":false,"errors":[{{"code":{code},"message":"{message}"}}],"messages":[],"result":null}}"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_sync_route_has_a_server_id() {
        let p = "/client/v4/accounts/acc/access/ai-controls/mcp/servers/my-server/sync";
        assert_eq!(server_id(p), Some("my-server"));
        for bad in [
            "/client/v4/accounts/acc/access/ai-controls/mcp/servers/my-server",
            "/client/v4/accounts//access/ai-controls/mcp/servers/x/sync",
            "/client/v4/accounts/acc/access/ai-controls/mcp/servers//sync",
            "/client/v4/accounts/acc/access/ai-controls/mcp/servers/a/b/sync",
            "/accounts/acc/access/ai-controls/mcp/servers/x/sync",
        ] {
            assert_eq!(server_id(bad), None, "{bad}");
        }
    }

    fn status_and_body(method: Method, headers: &[(&str, &str)]) -> (u16, serde_json::Value) {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(
                hyper::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        let path = "/client/v4/accounts/acc/access/ai-controls/mcp/servers/my-server/sync";
        let response = answer(&method, path, &map);
        let status = response.status().as_u16();
        let body = futures_body(response);
        (status, serde_json::from_slice(&body).unwrap())
    }

    fn futures_body(response: Response<Full<Bytes>>) -> Bytes {
        use http_body_util::BodyExt;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime
            .block_on(response.into_body().collect())
            .unwrap()
            .to_bytes()
    }

    #[test]
    fn only_a_post_with_credentials_is_synced() {
        let (status, body) = status_and_body(Method::POST, &[("authorization", "Bearer t")]);
        assert_eq!(
            (status, body["result"]["status"].as_str()),
            (200, Some("ready"))
        );
        let both = [("x-auth-email", "e@x"), ("x-auth-key", "k")];
        assert_eq!(status_and_body(Method::POST, &both).0, 200);
        for half in [
            &both[..1],
            &both[1..],
            &[("authorization", "Basic x")][..],
            &[],
        ] {
            let (status, body) = status_and_body(Method::POST, half);
            assert_eq!(status, 401, "{half:?}");
            assert_eq!(body["errors"][0]["code"], 10000);
            assert_eq!(body["success"], false);
        }
        let (status, body) = status_and_body(Method::GET, &[("authorization", "Bearer t")]);
        assert_eq!(status, 404);
        assert_eq!(body["errors"][0]["code"], 7003);
    }

    #[test]
    fn the_leading_word_picks_the_status() {
        let body =
            |id: &str| -> serde_json::Value { serde_json::from_str(&result_for(id)).unwrap() };
        assert_eq!(body("my-server")["status"], "ready");
        for status in SyncStatus::SPEC_VALUES {
            assert_eq!(body(&format!("{status}-x"))["status"], *status, "{status}");
        }
        assert_eq!(body("error-c")["error_details"]["status_code"], 502);
        assert!(!SyncStatus::SPEC_VALUES.is_empty());
    }
}
