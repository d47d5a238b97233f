//! Helpers shared by the workspace-level tests.

use std::path::{Path, PathBuf};

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

/// The committed spec fragment as JSON.
pub fn committed_spec() -> serde_json::Value {
    let (_, fragment) = xtask::spec::load_fragment(&workspace_root()).expect("load openapi/");
    fragment.doc
}

/// Writes `doc` over the fragment in a scratch workspace.
pub fn write_spec(workspace: &Path, doc: &serde_json::Value) {
    let prov = xtask::spec::load_provenance(workspace).expect("provenance");
    let path = xtask::spec::fragment_path(workspace, &prov);
    let text = serde_json::to_string_pretty(doc).expect("serialise spec");
    std::fs::write(path, text).expect("write spec");
}

/// JSON pointer of the sync operation inside the fragment.
pub const SYNC_OP: &str =
    "/paths/~1accounts~1{account_id}~1access~1ai-controls~1mcp~1servers~1{id}~1sync/post";
