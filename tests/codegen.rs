//! Drift guards for the codegen pipeline: the API surface and the generated response
//! types are snapshotted, the committed code must match `openapi/`, generation is
//! deterministic, and `--check` fails loudly on a stale tree.

use cloudflare_mcp_sync_generated::operations::mcp_portals_api_sync_server as op;
use cloudflare_mcp_sync_generated::types;
use serde_json::{Value, json};
use workspace_tests::{SYNC_OP, committed_spec, scratch_workspace, workspace_root, write_spec};
use xtask::generate::{self, Outcome};

/// What each snapshot guards, printed when one fails so the reviewer knows where to look.
fn surface() -> String {
    xtask::surface::summary(&committed_spec()).expect("summary")
}

/// Before insta's own diff, say in words which parts of the API moved.
fn explain_surface_drift(current: &str) {
    // insta names the file by module path (`suites::codegen`): a rename of this module
    // or of the binary must not turn this explanation off without a word.
    let path = workspace_root().join("tests/snapshots/suites__codegen__api_surface.snap");
    let snap = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the reviewed API surface snapshot {} cannot be read ({e}); was it renamed?",
            path.display()
        )
    });
    let reviewed = snap.splitn(3, "---\n").nth(2).unwrap_or_default();
    let reviewed: Vec<&str> = reviewed.lines().collect();
    let now: Vec<&str> = current.lines().collect();
    let gone: Vec<&&str> = reviewed.iter().filter(|l| !now.contains(l)).collect();
    let new: Vec<&&str> = now.iter().filter(|l| !reviewed.contains(l)).collect();
    if gone.is_empty() && new.is_empty() {
        return;
    }
    eprintln!("The API surface of openapi/ differs from the reviewed snapshot:");
    for l in gone {
        eprintln!("  was:  {l}");
    }
    for l in new {
        eprintln!("  now:  {l}");
    }
    eprintln!(
        "Check the change with `cargo xtask diff`, then review and accept the snapshot (cargo insta review)."
    );
}

#[test]
fn api_surface_snapshot() {
    explain_surface_drift(&surface());
    insta::with_settings!({
        description => "API surface of openapi/: one line per parameter, response field and auth alternative. \
                        A changed line here is a changed API: review it against the generated code diff.",
        omit_expression => true,
    }, {
        insta::assert_snapshot!("api_surface", surface());
    });
}

#[test]
fn response_type_json_schemas_snapshot() {
    // Named through the operation's aliases, so that a type the spec renames (a second
    // error body, say) moves this snapshot instead of breaking the build.
    let name = |full: &str| full.rsplit("::").next().unwrap_or(full).to_string();
    let schemas = json!({
        format!("success {}", name(std::any::type_name::<op::Body>())): schemars::schema_for!(op::Body),
        format!("error {}", name(std::any::type_name::<op::ErrorBody>())): schemars::schema_for!(op::ErrorBody),
    });
    insta::with_settings!({
        description => "JSON Schema of every generated response type (schemars). A change here is a change \
                        in what the client decodes.",
        omit_expression => true,
    }, {
        insta::assert_json_snapshot!("response_type_schemas", schemas);
    });
}

/// Each mutation is an API change that a maintainer must review; every one of them must
/// move the surface summary away from the committed snapshot.
#[test]
fn every_api_change_moves_the_surface_snapshot() {
    let original = committed_spec();
    let base = surface();
    let ok_result = format!(
        "{SYNC_OP}/responses/200/content/application~1json/schema/properties/result/properties"
    );
    type Mutation<'a> = Box<dyn Fn(&mut Value) + 'a>;
    let mutations: Vec<(&str, Mutation)> = vec![
        (
            "new status value",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&format!("{ok_result}/status/enum"))
                    .unwrap()
                    .as_array_mut()
                    .unwrap()
                    .push(json!(UNLISTED));
            }),
        ),
        (
            "status type",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&format!("{ok_result}/status")).unwrap()["type"] = json!("integer");
            }),
        ),
        (
            "removed response field",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&ok_result)
                    .unwrap()
                    .as_object_mut()
                    .unwrap()
                    .remove("error");
            }),
        ),
        (
            "new response field",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&ok_result).unwrap()["synced_at"] =
                    json!({"type": "string", "format": "date-time"});
            }),
        ),
        (
            "tightened id pattern",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&format!("{SYNC_OP}/parameters/0/schema"))
                    .unwrap()["maxLength"] = json!(16);
            }),
        ),
        (
            "new required query parameter",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&format!("{SYNC_OP}/parameters")).unwrap().as_array_mut().unwrap()
                .push(json!({"name": "force", "in": "query", "required": true, "schema": {"type": "boolean"}}));
            }),
        ),
        (
            "new response code",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&format!("{SYNC_OP}/responses")).unwrap()["409"] =
                    json!({"description": "Conflict"});
            }),
        ),
        (
            "removed auth alternative",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&format!("{SYNC_OP}/security"))
                    .unwrap()
                    .as_array_mut()
                    .unwrap()
                    .pop();
            }),
        ),
        (
            "changed auth header",
            Box::new(|d: &mut Value| {
                d.pointer_mut("/components/securitySchemes/api_key")
                    .unwrap()["name"] = json!("X-Api-Key");
            }),
        ),
        (
            "changed method",
            Box::new(|d: &mut Value| {
                let item = d.pointer_mut(workspace_tests::SYNC_PATH_ITEM).unwrap();
                let op = item.as_object_mut().unwrap().remove("post").unwrap();
                item["put"] = op;
            }),
        ),
        (
            "changed server",
            Box::new(|d: &mut Value| {
                d["servers"][0]["url"] = json!("https://api.cloudflare.com/client/v5");
            }),
        ),
        (
            "404 error code type",
            Box::new(|d: &mut Value| {
                d.pointer_mut(&format!("{SYNC_OP}/responses/404/content/application~1json/schema/properties/errors/items/properties/code")).unwrap()["type"] = json!("string");
            }),
        ),
    ];
    for (name, mutate) in mutations {
        let mut doc = original.clone();
        mutate(&mut doc);
        let changed = xtask::surface::summary(&doc).expect("summary of mutated spec");
        assert_ne!(
            changed, base,
            "mutation {name:?} left the API surface snapshot unchanged"
        );
    }
    // A description edit is not an API change and must not churn the snapshot.
    let mut doc = original.clone();
    doc.pointer_mut(SYNC_OP).unwrap()["description"] = json!("reworded");
    assert_eq!(xtask::surface::summary(&doc).unwrap(), base);
}

#[test]
fn committed_generated_code_matches_openapi() {
    if let Err(e) = generate::check(&workspace_root()) {
        panic!("{e:#}");
    }
}

#[test]
fn generation_is_deterministic() {
    let root = workspace_root();
    let first = generate::render(&root).unwrap();
    let second = generate::render(&root).unwrap();
    assert_eq!(first, second);
    assert!(first.starts_with("// @generated by `cargo xtask generate` from openapi/mcp-portals-api-sync-server.json (sha256 "));
    assert!(first.contains("DO NOT EDIT"));
}

#[test]
fn check_fails_on_a_stale_tree_and_generate_repairs_it() {
    let ws = scratch_workspace();
    generate::check(ws.path()).expect("a fresh copy passes --check");

    let mut doc = committed_spec();
    let status = format!(
        "{SYNC_OP}/responses/200/content/application~1json/schema/properties/result/properties/status/enum"
    );
    doc.pointer_mut(&status)
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(json!(UNLISTED));
    write_spec(ws.path(), &doc);

    let err = format!("{:#}", generate::check(ws.path()).unwrap_err());
    assert!(err.contains("is out of date"), "{err}");
    assert!(err.contains("Run `cargo xtask generate`"), "{err}");
    let added: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert!(
        added.iter().any(|l| l.contains("AStatusNoSpecLists")),
        "diff should add the new variant: {added:#?}"
    );
    assert!(
        added.iter().any(|l| l.contains("sha256")),
        "diff should show the new spec hash: {added:#?}"
    );

    assert_eq!(generate::write(ws.path()).unwrap(), Outcome::Written);
    generate::check(ws.path()).expect("--check passes after generate");
    let path = ws.path().join(generate::GENERATED_FILE);
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(generate::write(ws.path()).unwrap(), Outcome::Unchanged);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        bytes,
        "a second generate changed bytes"
    );
}

#[test]
fn check_fails_when_the_generated_file_was_edited_by_hand() {
    let ws = scratch_workspace();
    let path = ws.path().join(generate::GENERATED_FILE);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace("pub success: bool,", "pub success: bool, // tweak"),
    )
    .unwrap();
    let err = format!("{:#}", generate::check(ws.path()).unwrap_err());
    assert!(
        err.contains("-        pub success: bool, // tweak"),
        "{err}"
    );
}

#[test]
fn inlined_and_referenced_spellings_generate_the_same_code() {
    let ws = scratch_workspace();
    write_spec(ws.path(), &committed_spec());
    let inline = generate::render(ws.path()).unwrap();
    // The operation written as upstream writes it: parameters, responses and every
    // object or enum schema in `components`, referenced by `$ref`.
    let mut doc = xtask::rehearse::upstream_style(&committed_spec());
    doc["paths"]
        .as_object_mut()
        .unwrap()
        .retain(|path, _| committed_spec()["paths"].get(path).is_some());
    assert!(doc.to_string().contains("\"$ref\""));
    write_spec(ws.path(), &doc);
    let referenced = generate::render(ws.path()).unwrap();
    let strip = workspace_tests::strip_banner;
    assert_eq!(strip(&inline), strip(&referenced));
    assert!(
        !referenced.contains("mcp_portals_api_sync_server_200"),
        "an upstream component name leaked into the code"
    );
}

/// Without the generated crate's `client` feature, progenitor's runtime and reqwest are
/// not dependencies: an operation whose response is a byte stream (progenitor's
/// `ByteStream`) exists only with the client, while a typed one is always there.
#[test]
fn an_operation_typed_by_the_client_runtime_exists_only_with_the_client() {
    let ws = scratch_workspace();
    write_spec(ws.path(), &committed_spec());
    let typed = generate::render(ws.path()).unwrap();
    assert!(
        typed.contains("\n    pub mod mcp_portals_api_sync_server {"),
        "gated"
    );
    let mut doc = committed_spec();
    let ok = doc
        .pointer_mut(&format!("{SYNC_OP}/responses/200"))
        .expect("the 200 response");
    *ok = json!({
        "description": "the server's capabilities, as bytes",
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    });
    write_spec(ws.path(), &doc);
    let streamed = generate::render(ws.path()).unwrap();
    assert!(
        streamed.contains("pub type Body = ByteStream;"),
        "{streamed}"
    );
    assert!(
        streamed
            .contains("#[cfg(feature = \"client\")]\n    pub mod mcp_portals_api_sync_server {"),
        "the byte-stream operation is not behind the client feature"
    );
    // And the crate compiles without the client (with it, the corpus test compiles
    // real upstream versions with byte-stream responses).
    let target = xtask::ci::scratch_check_of_this_test();
    let checked =
        xtask::compile::Checker::with_target(&workspace_root(), &ws.path().join("check"), &target)
            .expect("check workspace")
            .offline()
            .without_default_features()
            .check(&[streamed.as_str()])
            .expect("cargo check ran");
    assert_eq!(checked, [Ok(())]);
}

/// A raw request body (`application/octet-stream`), which progenitor takes as a type
/// parameter `B: Into<reqwest::Body>`, is refused naming the operation and the argument,
/// instead of generating a `Params` that does not compile.
#[test]
fn a_raw_request_body_is_refused_by_name() {
    let ws = scratch_workspace();
    let mut doc = committed_spec();
    doc.pointer_mut(SYNC_OP).expect("the sync operation")["requestBody"] = json!({
        "required": true,
        "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
    });
    write_spec(ws.path(), &doc);
    let err = format!("{:#}", generate::render(ws.path()).unwrap_err());
    assert!(
        err.contains("mcp_portals_api_sync_server takes `body`"),
        "{err}"
    );
    assert!(err.contains("application/octet-stream"), "{err}");
}

/// A status value no spec lists.
const UNLISTED: &str = "a-status-no-spec-lists";

#[test]
fn documented_404_body_decodes_into_its_own_type() {
    let body = r#"{"success":false,"errors":[{"code":7002,"message":"Not Found"}]}"#;
    let nf: op::ErrorBody = serde_json::from_str(body).unwrap();
    // Read back as JSON: the error type may be one body or a `oneOf` of several.
    let nf = serde_json::to_value(nf).unwrap();
    assert_eq!(nf["success"], false);
    assert_eq!(nf["errors"].as_array().map(Vec::len), Some(1));
    assert_eq!(nf["errors"][0]["code"], 7002.0);
    assert_eq!(nf["errors"][0]["message"], "Not Found");
    // ...and it is not mistaken for a 200 body.
    assert!(serde_json::from_str::<op::Body>(body).is_err());
}

#[test]
fn unknown_status_keeps_its_raw_value() {
    let body = format!(
        r#"{{"success":true,"errors":[],"messages":[],"result":{{"status":"{UNLISTED}"}}}}"#
    );
    let ok: op::Body = serde_json::from_str(&body).unwrap();
    match ok.result.status {
        Some(types::McpPortalsApiSyncServerResponseResultStatus::Unknown(raw)) => {
            assert_eq!(raw, UNLISTED)
        }
        other => panic!("expected Unknown({UNLISTED:?}), got {other:?}"),
    }
    let known = r#"{"success":true,"result":{"status":"ready"}}"#;
    let ok: op::Body = serde_json::from_str(known).unwrap();
    assert!(matches!(
        ok.result.status,
        Some(types::McpPortalsApiSyncServerResponseResultStatus::McpPortalsApiSyncServerResponseResultStatusKnown(
            types::McpPortalsApiSyncServerResponseResultStatusKnown::Ready
        ))
    ));
}

/// The generated progenitor client itself, over HTTP: the 404 comes back as a typed
/// `ErrorResponse`, not as a decode failure.
#[tokio::test]
async fn generated_client_decodes_404_as_its_error_type() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(
            "/accounts/acc/access/ai-controls/mcp/servers/srv/sync",
        ))
        .respond_with(ResponseTemplate::new(404).set_body_raw(
            r#"{"success":false,"errors":[{"code":7002,"message":"Not Found"}]}"#,
            "application/json",
        ))
        .expect(1)
        .mount(&server)
        .await;
    workspace_tests::install_crypto_provider();
    let client = cloudflare_mcp_sync_generated::Client::new(&server.uri());
    let id: types::McpPortalsApiSyncServerId = "srv".parse().unwrap();
    let params = op::Params::new(op::Required {
        account_id: "acc",
        id: &id,
    });
    match params.send(&client).await {
        Err(cloudflare_mcp_sync_generated::Error::ErrorResponse(rv)) => {
            assert_eq!(rv.status().as_u16(), 404);
            let body = serde_json::to_value(rv.into_inner()).unwrap();
            assert_eq!(body["errors"][0]["code"], 7002.0);
        }
        other => panic!("expected ErrorResponse, got {other:?}"),
    }
}

proptest::proptest! {
    /// The operations encode path parameters without progenitor's runtime (it is behind
    /// the generated crate's `client` feature, which the library leaves off): their copy
    /// of the encoding must be the one the generated client sends.
    #[test]
    fn params_path_encodes_as_the_generated_client(account in "\\PC{0,24}") {
        let (ours, progenitors) = paths_for_account(&account);
        proptest::prop_assert_eq!(ours, progenitors);
    }
}

/// The characters the encodings differ on if anyone's set drifts, one by one.
#[test]
fn params_path_encodes_every_ascii_character_as_the_generated_client() {
    for b in 0u8..=127 {
        let (ours, progenitors) = paths_for_account(&format!("a{}z", b as char));
        assert_eq!(ours, progenitors, "byte {b:#04x}");
    }
}

/// `Params::path()` for this account id (and the server `srv`), beside the path built
/// with progenitor's own `encode_path`.
fn paths_for_account(account: &str) -> (String, String) {
    let id: types::McpPortalsApiSyncServerId = "srv".parse().unwrap();
    let params = op::Params::new(op::Required {
        account_id: account,
        id: &id,
    });
    let progenitors = op::PATH
        .replace("{account_id}", &progenitor_client::encode_path(account))
        .replace("{id}", "srv");
    (params.path(), progenitors)
}

#[test]
fn id_newtype_enforces_the_spec_constraints() {
    for bad in [
        "",
        "UPPER",
        "a/b",
        "-lead",
        "trail-",
        "a--b",
        &"x".repeat(33),
    ] {
        assert!(
            bad.parse::<types::McpPortalsApiSyncServerId>().is_err(),
            "{bad:?} was accepted"
        );
    }
    for good in ["my-mcp-portal", "a", "a_b-c", &"x".repeat(32)] {
        assert!(
            good.parse::<types::McpPortalsApiSyncServerId>().is_ok(),
            "{good:?} was refused"
        );
    }
}
