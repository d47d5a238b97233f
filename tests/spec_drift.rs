//! Spec drift, end to end: extract from an upstream-style document, classify drift,
//! update a scratch workspace.

use serde_json::{Value, json};
use workspace_tests::{
    committed_spec, scratch_workspace, upstream_document, upstream_document_from, upstream_fixture,
    workspace_root,
};
use xtask::report::{Class, Report};
use xtask::{extract, generate, spec};

const OP: &str = "mcp-portals-api-sync-server";

fn scope() -> Vec<String> {
    vec![OP.to_string()]
}

#[test]
fn extract_from_upstream_generates_the_committed_code() {
    // The committed operation, written as Cloudflare writes it (`$ref`s into
    // `components`, another operation beside it): the same API, so the same code.
    let ws = scratch_workspace();
    let committed = std::fs::read_to_string(ws.path().join(generate::GENERATED_FILE)).unwrap();
    let upstream = xtask::rehearse::upstream_style(&committed_spec());
    let upstream_path = ws.path().join("upstream.json");
    std::fs::write(
        &upstream_path,
        serde_json::to_vec_pretty(&upstream).unwrap(),
    )
    .unwrap();
    let x = extract::run(ws.path(), &upstream_path, &[], Some("0123abcd")).unwrap();
    assert_eq!(x.operations, scope());
    let rendered = generate::render(ws.path()).unwrap();
    assert_eq!(
        workspace_tests::strip_banner(&rendered),
        workspace_tests::strip_banner(&committed)
    );

    let prov = spec::load_provenance(ws.path()).unwrap();
    assert_eq!(prov.upstream.commit, "0123abcd");
    let upstream_bytes = std::fs::read(&upstream_path).unwrap();
    assert_eq!(
        prov.source_sha256.as_deref(),
        Some(spec::sha256_hex(&upstream_bytes).as_str())
    );
    let (_, fragment) = spec::load_fragment(ws.path()).unwrap();
    assert_eq!(prov.fragment_sha256, fragment.sha256);
    assert!(
        rendered.lines().next().unwrap().contains(&fragment.sha256),
        "the banner names the extracted fragment's sha256"
    );
}

#[test]
fn extract_keeps_exactly_what_the_operation_references() {
    let fragment = extract::extract_raw(&upstream_fixture(), &scope()).unwrap();
    let paths: Vec<&String> = fragment["paths"].as_object().unwrap().keys().collect();
    assert_eq!(
        paths,
        vec!["/accounts/{account_id}/access/ai-controls/mcp/servers/{id}/sync"]
    );
    let names = |section: &str| -> Vec<String> {
        fragment["components"][section]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(
        names("schemas"),
        [
            "mcp-portals_identifier",
            "mcp-portals_account_identifier",
            "mcp-portals_error_details",
            "mcp-portals_sync_status",
            "mcp-portals_server_sync_result",
            "mcp-portals_sync_response",
            "mcp-portals_api-response-common-failure"
        ]
    );
    assert_eq!(
        names("parameters"),
        ["mcp-portals_server_id", "mcp-portals_account_id"]
    );
    assert_eq!(names("responses"), ["mcp-portals_not_found"]);
    assert_eq!(
        names("securitySchemes"),
        ["api_email", "api_key", "api_token"]
    );
    assert_eq!(fragment["tags"], json!([{"name": "MCP Portal Servers"}]));
    // Values are upstream's, untouched.
    let upstream = upstream_fixture();
    assert_eq!(
        fragment["components"]["schemas"]["mcp-portals_error_details"],
        upstream["components"]["schemas"]["mcp-portals_error_details"]
    );
    assert_eq!(fragment["info"], upstream["info"]);
}

#[test]
fn the_upstream_style_document_gives_the_committed_fragment_byte_for_byte() {
    // The fixture keeps its schemas under upstream's component names; openapi/ was
    // extracted from the operation with its `$ref`s resolved. The canonical form makes
    // the two spellings one text: a respelling upstream moves no byte of openapi/.
    let root = workspace_root();
    let (prov, _) = xtask::spec::load_fragment(&root).unwrap();
    let source = root.join("tests/fixtures/cloudflare-openapi-mcp-servers-sync.json");
    if Some(spec::sha256_hex(&std::fs::read(source).unwrap())) != prov.source_sha256 {
        // openapi/ moved on from the fixtures (a drift pull request's tree): they no
        // longer describe it. `the_committed_fragment_is_a_fixed_point_of_extract` holds.
        return;
    }
    let committed = std::fs::read_to_string(xtask::spec::fragment_path(&root, &prov)).unwrap();
    let fragment = extract::extract(&upstream_fixture(), &scope()).unwrap();
    assert_eq!(extract::to_committed_text(&fragment).unwrap(), committed);
}

#[test]
fn yaml_input_extracts_the_same_fragment() {
    let dir = tempfile::tempdir().unwrap();
    let yaml = dir.path().join("openapi.yaml");
    std::fs::write(
        &yaml,
        serde_yaml_ng::to_string(&upstream_fixture()).unwrap(),
    )
    .unwrap();
    let from_yaml =
        extract::extract(&extract::load_document(&yaml).unwrap().doc, &scope()).unwrap();
    let from_json = extract::extract(&upstream_fixture(), &scope()).unwrap();
    assert_eq!(
        extract::to_committed_text(&from_yaml).unwrap(),
        extract::to_committed_text(&from_json).unwrap()
    );
}

#[test]
fn extract_errors_name_the_problem() {
    let err = extract::extract(&upstream_fixture(), &["no-such-op".into()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("\"no-such-op\" is not in the document"),
        "{err}"
    );

    let err = extract::extract(&upstream_fixture(), &["dns-records-tree".into()])
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("cyclic $ref") && err.contains("#/components/schemas/dns-records_record_tree"),
        "{err}"
    );

    let mut doc = upstream_fixture();
    doc["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("mcp-portals_sync_status");
    let err = extract::extract(&doc, &scope()).unwrap_err().to_string();
    assert!(
        err.contains("dangling $ref \"#/components/schemas/mcp-portals_sync_status\""),
        "{err}"
    );
}

#[test]
fn extract_on_an_upstream_size_document_is_correct() {
    // 16 MB of unrelated operations around ours (the timing is `cargo xtask bench-extract`).
    let text = xtask::bench::large_upstream(&upstream_fixture(), 16_000_000).unwrap();
    assert!(text.len() >= 16_000_000);
    let doc: Value = serde_json::from_str(&text).unwrap();
    let big = extract::extract(&doc, &scope()).unwrap();
    let small = extract::extract(&upstream_fixture(), &scope()).unwrap();
    assert_eq!(big, small);
}

// ---- diff classification ----

type Mutation = fn(&mut Value);

fn sync_op(d: &mut Value) -> &mut Value {
    d.pointer_mut(workspace_tests::SYNC_OP).unwrap()
}

fn schema<'a>(d: &'a mut Value, name: &str) -> &'a mut Value {
    d.pointer_mut(&format!("/components/schemas/{name}"))
        .unwrap()
}

/// (name, mutation of the upstream fixture, expected class of the change it makes, a
/// fragment of the pointer it must name).
fn battery() -> Vec<(&'static str, Mutation, Class, &'static str)> {
    vec![
        (
            "removed response field",
            |d| {
                schema(d, "mcp-portals_server_sync_result")["properties"]
                    .as_object_mut()
                    .unwrap()
                    .remove("error");
            },
            Class::Breaking,
            "/result/properties/error",
        ),
        (
            "renamed response field",
            |d| {
                let props = schema(d, "mcp-portals_error_details")["properties"]
                    .as_object_mut()
                    .unwrap();
                let v = props.remove("cause").unwrap();
                props.insert("reason".into(), v);
            },
            Class::Breaking,
            "/error_details/properties/cause",
        ),
        (
            "changed field type",
            |d| {
                schema(d, "mcp-portals_error_details")["properties"]["retryable"]["type"] =
                    json!("string");
            },
            Class::Breaking,
            "/retryable/type",
        ),
        (
            "new required parameter",
            |d| {
                sync_op(d)["parameters"].as_array_mut().unwrap().push(json!({"name": "force", "in": "query", "required": true, "schema": {"type": "boolean"}}));
            },
            Class::Breaking,
            "/post/parameters/2",
        ),
        (
            "removed operation",
            |d| {
                d["paths"]
                    .as_object_mut()
                    .unwrap()
                    .remove("/accounts/{account_id}/access/ai-controls/mcp/servers/{id}/sync");
            },
            Class::Breaking,
            "/post",
        ),
        (
            "changed path",
            |d| {
                let paths = d["paths"].as_object_mut().unwrap();
                let item = paths
                    .remove("/accounts/{account_id}/access/ai-controls/mcp/servers/{id}/sync")
                    .unwrap();
                paths.insert("/accounts/{account_id}/mcp/servers/{id}/sync".into(), item);
            },
            Class::Breaking,
            "/post",
        ),
        (
            "changed method",
            |d| {
                let item = d
                    .pointer_mut(workspace_tests::SYNC_PATH_ITEM)
                    .unwrap()
                    .as_object_mut()
                    .unwrap();
                let op = item.remove("post").unwrap();
                item.insert("put".into(), op);
            },
            Class::Breaking,
            "/post",
        ),
        (
            "tightened maxLength",
            |d| {
                schema(d, "mcp-portals_identifier")["maxLength"] = json!(16);
            },
            Class::Breaking,
            "/parameters/0/schema/maxLength",
        ),
        (
            "tightened pattern",
            |d| {
                schema(d, "mcp-portals_identifier")["pattern"] = json!("^[a-z]+$");
            },
            Class::Breaking,
            "/parameters/0/schema/pattern",
        ),
        (
            "removed auth scheme",
            |d| {
                sync_op(d)["security"].as_array_mut().unwrap().remove(1);
            },
            Class::Breaking,
            "/security",
        ),
        (
            "changed auth header",
            |d| {
                d["components"]["securitySchemes"]["api_key"]["name"] = json!("X-Api-Key");
            },
            Class::Breaking,
            "/components/securitySchemes/api_key/name",
        ),
        (
            "new response enum value",
            |d| {
                schema(d, "mcp-portals_sync_status")["enum"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!("syncing"));
            },
            Class::NeedsAttention,
            "/status/enum",
        ),
        (
            "new response status",
            |d| {
                sync_op(d)["responses"]["429"] =
                    json!({"$ref": "#/components/responses/mcp-portals_failure"});
            },
            Class::NeedsAttention,
            "/responses/429",
        ),
        (
            "new optional response field",
            |d| {
                schema(d, "mcp-portals_server_sync_result")["properties"]["synced_at"] =
                    json!({"type": "string", "format": "date-time"});
            },
            Class::Additive,
            "/result/properties/synced_at",
        ),
        (
            "new optional parameter",
            |d| {
                sync_op(d)["parameters"].as_array_mut().unwrap().push(json!({"name": "dry_run", "in": "query", "required": false, "schema": {"type": "boolean"}}));
            },
            Class::Additive,
            "/post/parameters/2",
        ),
        (
            "loosened maxLength",
            |d| {
                schema(d, "mcp-portals_identifier")["maxLength"] = json!(64);
            },
            Class::Additive,
            "/parameters/0/schema/maxLength",
        ),
        (
            "new auth alternative",
            |d| {
                sync_op(d)["security"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"user_service_key": []}));
            },
            Class::Additive,
            "/security",
        ),
        (
            "description",
            |d| {
                schema(d, "mcp-portals_error_details")["properties"]["cause"]["description"] =
                    json!("What went wrong");
            },
            Class::Cosmetic,
            "/cause/description",
        ),
        (
            "summary",
            |d| {
                sync_op(d)["summary"] = json!("Sync an MCP server");
            },
            Class::Cosmetic,
            "/post/summary",
        ),
        (
            "example",
            |d| {
                schema(d, "mcp-portals_account_identifier")["example"] = json!("0123");
            },
            Class::Cosmetic,
            "/parameters/1/schema/example",
        ),
    ]
}

fn expected_exit(class: Class) -> u8 {
    if class == Class::Breaking { 2 } else { 1 }
}

#[test]
fn drift_battery_is_classified() {
    let base = upstream_fixture();
    for (name, mutate, class, pointer) in battery() {
        let mut drifted = base.clone();
        mutate(&mut drifted);
        let report: Report = xtask::diff::diff(&base, &drifted, &scope()).unwrap();
        let text = report.to_text();
        assert!(
            report
                .changes
                .iter()
                .any(|c| c.class == class && c.pointer.contains(pointer)),
            "{name}: expected a {class} change at …{pointer}, got:\n{text}"
        );
        let worst = report.changes.iter().map(|c| c.class).min().unwrap();
        assert_eq!(
            worst, class,
            "{name}: the most serious change should be {class}:\n{text}"
        );
        assert_eq!(report.exit_code(), expected_exit(class), "{name}:\n{text}");
        let json: Value = serde_json::from_str(&report.to_json()).unwrap();
        assert_eq!(json["exit_code"], json!(report.exit_code()));
    }
}

#[test]
fn changes_outside_scope_or_in_spelling_are_not_changes() {
    let base = upstream_document();
    let mut other = base.clone();
    // Another operation changes, the unrelated section changes, and our operation is
    // respelled inline instead of through components: nothing in scope changed.
    other["paths"]["/zones/{zone_id}/dns_records/tree"]["get"]["summary"] = json!("changed");
    other["components"]["schemas"]
        .as_object_mut()
        .unwrap()
        .remove("zones_setting_000");
    let report = xtask::diff::diff(&base, &committed_spec(), &scope()).unwrap();
    assert!(report.changes.is_empty(), "{}", report.to_text());
    let report = xtask::diff::diff(&base, &other, &scope()).unwrap();
    assert_eq!(report.exit_code(), 0, "{}", report.to_text());
    assert_eq!(
        report.to_text(),
        "0 change(s): 0 breaking, 0 needs attention, 0 additive, 0 cosmetic\n"
    );
}

#[test]
fn update_extracts_diffs_regenerates_and_names_the_snapshots() {
    let ws = scratch_workspace();
    let status_enum = format!(
        "{}/responses/200/content/application~1json/schema/properties/result/properties/status/enum",
        workspace_tests::SYNC_OP
    );
    let mut resolved = committed_spec();
    resolved
        .pointer_mut(&status_enum)
        .unwrap()
        .as_array_mut()
        .unwrap()
        .push(json!("a-status-no-spec-lists"));
    let drifted = upstream_document_from(&resolved);
    let path = ws.path().join("upstream.json");
    std::fs::write(&path, serde_json::to_string_pretty(&drifted).unwrap()).unwrap();

    let updated = xtask::update::run(ws.path(), &path, &[], None).unwrap();
    assert_eq!(updated.report.exit_code(), 1);
    assert!(
        updated.report.to_text().contains("needs-attention"),
        "{}",
        updated.report.to_text()
    );
    assert!(
        updated
            .snapshots
            .contains("suites__codegen__api_surface.snap will change"),
        "{}",
        updated.snapshots
    );
    assert!(
        updated
            .snapshots
            .contains("+ mcp-portals-api-sync-server response 200 application/json.result.status"),
        "{}",
        updated.snapshots
    );
    assert!(
        updated
            .snapshots
            .contains("suites__codegen__response_type_schemas.snap may change"),
        "{}",
        updated.snapshots
    );
    generate::check(ws.path()).expect("update leaves the generated code in step with openapi/");
    let code = std::fs::read_to_string(ws.path().join(generate::GENERATED_FILE)).unwrap();
    assert!(code.contains("AStatusNoSpecLists"));
    // The committed spec in the scratch copy now lists the new value.
    let updated = xtask::rehearse::resolved(ws.path()).unwrap();
    let status = updated.pointer(&status_enum).unwrap();
    assert!(
        status
            .as_array()
            .unwrap()
            .contains(&json!("a-status-no-spec-lists"))
    );
}

#[test]
fn the_committed_fragment_is_a_fixed_point_of_extract() {
    let root = workspace_root();
    let (prov, fragment) = xtask::spec::load_fragment(&root).unwrap();
    let committed = std::fs::read_to_string(xtask::spec::fragment_path(&root, &prov)).unwrap();
    let again = xtask::extract::extract(&fragment.doc, &prov.operations).unwrap();
    assert_eq!(
        xtask::extract::to_committed_text(&again).unwrap(),
        committed,
        "`cargo xtask extract` run on openapi/ as if it were upstream must reproduce it byte for byte"
    );
    assert_eq!(
        xtask::spec::sha256_hex(committed.as_bytes()),
        prov.fragment_sha256
    );
}

#[test]
fn the_committed_fragment_is_extract_of_the_recorded_source() {
    // The fixture is the document the first fragment was extracted from (Cloudflare's
    // operation at commit c92b9b0, `$ref`s resolved; a copy of shared/upstream's, kept
    // here so that the check runs wherever the repository is). Once the spec-drift job
    // has moved openapi/ to a newer document, provenance records that one instead (its
    // URL or commit, and sha256), and this older file no longer describes the fragment.
    let root = workspace_root();
    let (prov, _) = xtask::spec::load_fragment(&root).unwrap();
    let source = root.join("tests/fixtures/cloudflare-openapi-mcp-servers-sync.json");
    let bytes = std::fs::read(&source).unwrap();
    assert!(prov.source_sha256.as_deref().is_some_and(|s| s.len() == 64));
    if Some(xtask::spec::sha256_hex(&bytes)) != prov.source_sha256 {
        // Named by the URL it was fetched from, or, for a file, by upstream's commit.
        assert!(
            prov.source_url.is_some() || prov.upstream.commit != xtask::extract::UNRECORDED_COMMIT,
            "openapi/ moved on from the fixture, so provenance must name the new source: the URL it came from, or upstream's commit (cargo xtask update <FILE> --commit <sha>)"
        );
        return;
    }
    let doc: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    let extracted = xtask::extract::extract(&doc, &prov.operations).unwrap();
    let committed = std::fs::read_to_string(xtask::spec::fragment_path(&root, &prov)).unwrap();
    assert_eq!(
        xtask::extract::to_committed_text(&extracted).unwrap(),
        committed
    );
}

// ---- `cargo xtask update <URL>` against a server on 127.0.0.1 -------------------------

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use workspace_tests::fault::{FaultServer, Step, response};
use xtask::fetch::Limits;

/// A pinned raw URL's shape: the commit is read from it.
const PINNED: &str = "cloudflare/api-schemas/0123456789abcdef0123456789abcdef01234567/openapi.json";

/// Every file the update may write (openapi/ and the generated crate's sources), by
/// path, with its bytes: equal maps mean not one byte, and no stray file, changed.
fn tree(ws: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    for dir in ["openapi", "crates/generated/src"] {
        for entry in std::fs::read_dir(ws.join(dir)).unwrap() {
            let path = entry.unwrap().path();
            files.insert(path.clone(), std::fs::read(&path).unwrap());
        }
    }
    files
}

fn ok(body: &[u8]) -> Step {
    Step::Raw(response(
        "200 OK",
        &[("content-type", "application/json")],
        body,
    ))
}

fn fixture_bytes(doc: &Value) -> Vec<u8> {
    serde_json::to_vec_pretty(doc).unwrap()
}

/// Runs `update` from `url` off the async runtime (reqwest's blocking client has its own).
async fn update_url(
    ws: &Path,
    url: String,
    limits: Limits,
) -> anyhow::Result<xtask::update::Updated> {
    let ws = ws.to_path_buf();
    tokio::task::spawn_blocking(move || xtask::update::run_url(&ws, &url, &[], None, limits))
        .await
        .unwrap()
}

/// A scratch workspace already updated once from the served fixture (the first update
/// brings the API to the fixture's, which the battery changes; while openapi/ is the
/// fixture's own operation it writes nothing, the canonical fragment being the same),
/// and the tree after it, with whether the first update wrote it.
async fn updated_workspace() -> (tempfile::TempDir, BTreeMap<PathBuf, Vec<u8>>) {
    let (ws, after, _) = updated_workspace_and_first().await;
    (ws, after)
}

async fn updated_workspace_and_first() -> (tempfile::TempDir, BTreeMap<PathBuf, Vec<u8>>, bool) {
    let ws = scratch_workspace();
    let server = FaultServer::start(vec![ok(&fixture_bytes(&upstream_fixture()))]).await;
    let first = update_url(
        ws.path(),
        format!("{}/{PINNED}", server.base),
        Limits::default(),
    )
    .await
    .unwrap();
    // Whatever the committed API is, the update made the tree the fixture's.
    assert!(first.written || first.report.changes.is_empty());
    generate::check(ws.path()).expect("the first update regenerated the code");
    let after = tree(ws.path());
    (ws, after, first.written)
}

#[tokio::test(flavor = "multi_thread")]
async fn update_from_an_unchanged_upstream_exits_0_and_touches_nothing() {
    let (ws, before, written) = updated_workspace_and_first().await;
    let prov = spec::load_provenance(ws.path()).unwrap();
    let fixture = fixture_bytes(&upstream_fixture());
    if written {
        // The pinned URL's commit and the document are recorded with a real change.
        assert_eq!(
            prov.upstream.commit,
            "0123456789abcdef0123456789abcdef01234567"
        );
        assert!(prov.source_url.as_deref().unwrap().ends_with(PINNED));
        assert_eq!(prov.source_sha256.unwrap(), spec::sha256_hex(&fixture));
    } else {
        // Provenance moves only with a real change: the first update found none.
        assert_eq!(prov, spec::load_provenance(&workspace_root()).unwrap());
    }

    // The same document again, from a branch URL this time: nothing in scope moved.
    let server = FaultServer::start(vec![ok(&fixture)]).await;
    let url = format!("{}/cloudflare/api-schemas/main/openapi.json", server.base);
    let again = update_url(ws.path(), url, Limits::default()).await.unwrap();
    assert!(!again.written);
    assert_eq!(again.report.exit_code(), 0);
    assert_eq!(tree(ws.path()), before, "not one byte may change");
    generate::check(ws.path()).unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn update_from_a_drifted_upstream_reports_regenerates_and_exits_like_diff() {
    // The first battery case of each class.
    let mut seen = Vec::new();
    for (name, mutate, class, pointer) in battery() {
        if seen.contains(&class) {
            continue;
        }
        seen.push(class);
        let (ws, before) = updated_workspace().await;
        let mut drifted = upstream_fixture();
        mutate(&mut drifted);
        let server = FaultServer::start(vec![ok(&fixture_bytes(&drifted))]).await;
        let url = format!("{}/{PINNED}", server.base);
        let updated = update_url(ws.path(), url, Limits::default()).await.unwrap();
        let text = updated.report.to_text();
        assert!(updated.written, "{name}");
        assert_eq!(
            updated.report.exit_code(),
            expected_exit(class),
            "{name}:\n{text}"
        );
        assert_eq!(updated.report.worst(), Some(class), "{name}:\n{text}");
        let markdown = updated.report.to_markdown();
        assert!(
            markdown.contains(&format!("| {class} | `")) && markdown.contains(pointer),
            "{name}:\n{markdown}"
        );
        // openapi/ moved, and the generated code was regenerated from it.
        assert_ne!(tree(ws.path()), before, "{name}");
        generate::check(ws.path()).unwrap_or_else(|e| panic!("{name}: {e:#}"));
        let (_, fragment) = spec::load_fragment(ws.path()).unwrap();
        assert_eq!(
            fragment.doc,
            extract::extract(&drifted, &scope()).unwrap(),
            "{name}"
        );
    }
    assert_eq!(seen.len(), 4, "a battery case for every class");
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_downloads_are_clear_errors_and_leave_the_tree_untouched() {
    let fixture = fixture_bytes(&upstream_fixture());
    let html = b"<!DOCTYPE html><html><body>Rate limited</body></html>".to_vec();
    let mut truncated_head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        fixture.len()
    )
    .into_bytes();
    truncated_head.extend_from_slice(&fixture[..fixture.len() / 2]);
    // No content-length: the size is found out while reading.
    let mut unbounded =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_vec();
    unbounded.extend(std::iter::repeat_n(b' ', 2 * 1024 * 1024));
    let small = Limits {
        max_bytes: 1024 * 1024,
        timeout: Duration::from_secs(30),
    };
    let cases: Vec<(&str, Step, Limits, &str)> = vec![
        (
            "404",
            Step::Raw(response("404 Not Found", &[], b"404: Not Found")),
            Limits::default(),
            "answered 404 Not Found, not 200 OK",
        ),
        (
            "html",
            Step::Raw(response("200 OK", &[("content-type", "text/html")], &html)),
            Limits::default(),
            "not an OpenAPI document",
        ),
        (
            "truncated",
            Step::Raw(truncated_head),
            Limits::default(),
            "cut short",
        ),
        (
            "oversized by its length",
            ok(&vec![b' '; 2 * 1024 * 1024]),
            small,
            "over the 1048576 byte limit",
        ),
        (
            "oversized while reading",
            Step::Raw(unbounded),
            small,
            "more than the 1048576 byte limit",
        ),
        (
            "slow",
            Step::StallThen(Duration::from_secs(30), fixture.clone()),
            Limits {
                max_bytes: 64 * 1024 * 1024,
                timeout: Duration::from_millis(300),
            },
            "did not answer in full within 0.3 s",
        ),
        (
            "redirect off loopback",
            Step::Raw(response(
                "302 Found",
                &[("location", "http://10.0.0.1/openapi.json")],
                b"",
            )),
            Limits::default(),
            "plain http is refused",
        ),
        (
            "not openapi json",
            ok(br#"{"swagger": "2.0", "paths": {}}"#),
            Limits::default(),
            "no `openapi` version field",
        ),
    ];
    for (name, step, limits, says) in cases {
        let ws = scratch_workspace();
        let before = tree(ws.path());
        let server = FaultServer::start(vec![step]).await;
        let err = update_url(ws.path(), format!("{}/{PINNED}", server.base), limits)
            .await
            .err()
            .unwrap_or_else(|| panic!("{name}: the update succeeded"));
        let message = format!("{err:#}");
        eprintln!("{name}: {message}");
        assert!(message.contains(says), "{name}: {message}");
        assert!(
            message.lines().count() <= 2 && message.len() < 600,
            "{name}: {message}"
        );
        assert_eq!(tree(ws.path()), before, "{name}: the tree changed");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_of_exactly_the_size_limit_is_accepted() {
    let fixture = fixture_bytes(&upstream_document());
    let exact = Limits {
        max_bytes: fixture.len() as u64,
        timeout: Duration::from_secs(30),
    };
    // With a content-length, and without one (the size found while reading).
    let mut unannounced =
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n".to_vec();
    unannounced.extend_from_slice(&fixture);
    for step in [ok(&fixture), Step::Raw(unannounced)] {
        let ws = scratch_workspace();
        let server = FaultServer::start(vec![step]).await;
        let updated = update_url(ws.path(), format!("{}/{PINNED}", server.base), exact)
            .await
            .unwrap();
        assert_eq!(updated.report.exit_code(), 0);
    }
}

#[test]
fn urls_other_than_https_or_loopback_are_refused_before_any_connection() {
    let ws = scratch_workspace();
    let before = tree(ws.path());
    for url in [
        "http://example.com/openapi.json",
        "ftp://example.com/openapi.json",
    ] {
        let err = xtask::update::run_url(ws.path(), url, &[], None, Limits::default()).unwrap_err();
        assert!(format!("{err:#}").contains(url), "{err:#}");
    }
    assert_eq!(tree(ws.path()), before);
}
