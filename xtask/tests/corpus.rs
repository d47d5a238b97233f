//! The spec tooling on Cloudflare's real history: fragments drawn from
//! `cloudflare/api-schemas` by `cargo xtask replay-history`, committed under
//! `xtask/tests/corpus/` with what each must do (`manifest.json`, one entry per file,
//! and why it was chosen). Every version generates under the bound as the xtask binary
//! runs it (or is refused by an error naming the operation), a representative subset
//! compiles, each pair is classed as the generated Rust API moved, and each byte-only
//! pair extracts to one text.

use std::path::{Path, PathBuf};

use serde_json::Value;
use xtask::bounded::{self, Bound, Failure};
use xtask::report::Class;
use xtask::rust_api::Surface;
use xtask::spec::Fragment;

fn root() -> PathBuf {
    let manifest = std::env::var_os("CARGO_MANIFEST_DIR")
        .map_or_else(|| env!("CARGO_MANIFEST_DIR").into(), PathBuf::from);
    manifest.parent().expect("workspace root").to_path_buf()
}

fn corpus() -> PathBuf {
    root().join("xtask/tests/corpus")
}

fn manifest() -> Value {
    let text = std::fs::read_to_string(corpus().join("manifest.json")).expect("manifest");
    serde_json::from_str(&text).expect("manifest is JSON")
}

fn fragment(file: &str) -> Fragment {
    let bytes = std::fs::read(corpus().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
    Fragment {
        rel_path: format!("openapi/{file}"),
        sha256: xtask::spec::sha256_hex(&bytes),
        doc: serde_json::from_slice(&bytes).expect("fragment is JSON"),
    }
}

fn text(v: &Value, key: &str) -> String {
    v.get(key)
        .and_then(Value::as_str)
        .unwrap_or_else(|| panic!("{key} in {v}"))
        .to_string()
}

/// Generates as `cargo xtask generate` does: the xtask binary, bounded.
fn generate(file: &str, scratch: &Path) -> Result<String, Failure> {
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_xtask"));
    bounded::render(&exe, &fragment(file), scratch, Bound::default()).expect("run the generator")
}

fn class(name: &str) -> Option<Class> {
    match name {
        "breaking" => Some(Class::Breaking),
        "needs-attention" => Some(Class::NeedsAttention),
        "additive" => Some(Class::Additive),
        "cosmetic" => Some(Class::Cosmetic),
        "none" => None,
        other => panic!("unknown class {other}"),
    }
}

#[test]
fn every_real_version_generates_under_the_bound_or_is_refused_by_name() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut to_compile: Vec<(String, String)> = Vec::new();
    let manifest = manifest();
    let versions = manifest["versions"].as_array().expect("versions");
    assert!(versions.len() >= 12, "the corpus holds every family");
    for v in versions {
        let file = text(v, "file");
        let outcome = generate(&file, scratch.path());
        match v.get("refused").and_then(Value::as_str) {
            None => {
                let code = outcome.unwrap_or_else(|f| panic!("{file}: {f:?}"));
                assert!(code.contains("pub mod operations"), "{file}");
                Surface::of(&code).unwrap_or_else(|e| panic!("{file}: {e:#}"));
                if v.get("compile").and_then(Value::as_bool) == Some(true) {
                    to_compile.push((file, code));
                }
            }
            Some(expected) => match outcome {
                Err(Failure::Refused(message)) => {
                    assert!(message.contains(expected), "{file}: {message}");
                    let op = text(v, "operation_id");
                    assert!(message.contains(&op), "names the operation: {message}");
                }
                other => panic!("{file}: expected a refusal naming {expected:?}, got {other:?}"),
            },
        }
    }
    assert!(!to_compile.is_empty());
    // One cargo check of the representative subset, as copies of crates/generated, in
    // the target directory the seam suite (tests/seam.rs) checks in: the dependencies
    // both need are checked once per build directory.
    let target = xtask::ci::scratch_check_of_this_test();
    let checker =
        xtask::compile::Checker::with_target(&root(), &scratch.path().join("check"), &target)
            .expect("check workspace")
            .offline();
    // The last source is broken on purpose: the check must say so, of that one only.
    let broken = format!(
        "{}\npub fn broken() -> u8 {{ \"not a u8\" }}\n",
        to_compile[0].1
    );
    let mut sources: Vec<&str> = to_compile.iter().map(|(_, code)| code.as_str()).collect();
    sources.push(&broken);
    let mut results = checker.check(&sources).expect("cargo check");
    let last = results.pop().expect("one result per source");
    assert!(
        last.as_ref().is_err_and(|e| e.contains("mismatched types")),
        "the broken copy is reported: {last:?}"
    );
    for ((file, _), result) in to_compile.iter().zip(results) {
        if let Err(errors) = result {
            panic!("{file} does not compile:\n{errors}");
        }
    }
}

#[test]
fn each_real_pair_is_classed_as_the_generated_rust_api_moved() {
    let manifest = manifest();
    for pair in manifest["pairs"].as_array().expect("pairs") {
        let (old, new) = (text(pair, "old"), text(pair, "new"));
        let (a, b) = (fragment(&old), fragment(&new));
        let (a_code, b_code) = (
            xtask::generate::render_fragment(&a).expect("old side generates"),
            xtask::generate::render_fragment(&b).expect("new side generates"),
        );
        let (a_api, b_api) = (Surface::of(&a_code).unwrap(), Surface::of(&b_code).unwrap());
        let rust = xtask::rust_api::compare(&a_api, &b_api).worst();
        let scope = [text(pair, "operation_id")];
        let report = xtask::diff::judge(&a.doc, &b.doc, &scope, &a_api, &b_api).unwrap();
        let why = text(pair, "why");
        assert_eq!(
            rust,
            class(&text(pair, "rust")),
            "{why}: what the Rust API did ({old} → {new}): {report:#?}"
        );
        assert_eq!(
            report.worst(),
            class(&text(pair, "class")),
            "{why}: the class ({old} → {new}): {report:#?}"
        );
        assert_eq!(
            report.worst() == Some(Class::Breaking),
            rust == Some(Class::Breaking),
            "{why}: breaking exactly when the Rust API broke"
        );
        if let Some(line) = pair.get("line").and_then(Value::as_str) {
            assert!(
                report.changes.iter().any(|c| c.message.contains(line)),
                "{why}: a line saying {line:?}: {report:#?}"
            );
        }
    }
}

#[test]
fn upstreams_respellings_leave_the_fragment_byte_identical() {
    let manifest = manifest();
    let pairs = manifest["byte_only"].as_array().expect("byte_only");
    assert!(!pairs.is_empty());
    for pair in pairs {
        let (old, new) = (text(pair, "old_raw"), text(pair, "new_raw"));
        let (a, b) = (fragment(&old), fragment(&new));
        assert_ne!(
            a.sha256, b.sha256,
            "{old} and {new} differ as upstream wrote them"
        );
        let id = text(pair, "operation_id");
        let canonical = |doc: &Value| {
            xtask::extract::to_committed_text(
                &xtask::extract::extract(doc, std::slice::from_ref(&id)).unwrap(),
            )
            .unwrap()
        };
        assert_eq!(canonical(&a.doc), canonical(&b.doc), "{old} → {new}");
    }
}

#[test]
fn a_generation_past_its_time_bound_is_stopped_and_named() {
    // The largest corpus version takes tens of milliseconds to generate; a bound of one
    // millisecond cannot be met, so the child is stopped and the error names the
    // operation and the bound (a runaway past the memory bound ends the same way).
    let scratch = tempfile::tempdir().expect("temp dir");
    let exe = PathBuf::from(env!("CARGO_BIN_EXE_xtask"));
    let file = "post-access-apps-2023-06.json";
    let bound = Bound {
        memory_mib: Bound::default().memory_mib,
        time: std::time::Duration::from_millis(1),
    };
    let fragment = fragment(file);
    let outcome = bounded::render(&exe, &fragment, scratch.path(), bound).expect("run");
    assert_eq!(outcome, Err(Failure::Time));
    let message = bounded::describe(&Failure::Time, &fragment, bound);
    assert!(
        message.contains("access-applications-add-an-application")
            && message.contains("time bound"),
        "{message}"
    );
    assert!(
        std::fs::read_dir(scratch.path())
            .expect("scratch")
            .next()
            .is_none(),
        "nothing is left behind"
    );
}
