//! Loading the committed spec fragment and its provenance record.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

/// Directory, relative to the workspace root, that holds the spec fragment.
pub const OPENAPI_DIR: &str = "openapi";
/// The provenance record beside the fragment.
pub const PROVENANCE_FILE: &str = "provenance.json";

/// Where the committed fragment came from. Read by `generate` (the banner names the
/// fragment) and printed by `cargo xtask provenance`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Provenance {
    /// File name of the fragment inside `openapi/`.
    pub fragment: String,
    /// The operationIds the fragment is meant to hold.
    pub operations: Vec<String>,
    /// Where upstream publishes the full document.
    pub upstream: Upstream,
    /// sha256 of the fragment as it was taken from upstream.
    pub fragment_sha256: String,
    /// sha256 of the full upstream document the fragment was extracted from, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<String>,
    /// The URL that document was downloaded from, when `update` fetched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_url: Option<String>,
}

/// The upstream repository, commit and file.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Upstream {
    /// Repository URL.
    pub repository: String,
    /// Commit the fragment was taken at.
    pub commit: String,
    /// Path of the full document inside the repository.
    pub path: String,
}

/// The fragment as loaded from disk: its bytes' hash, its path and its JSON value.
#[derive(Debug, Clone)]
pub struct Fragment {
    /// Path relative to the workspace root, with `/` separators (it goes into the banner).
    pub rel_path: String,
    /// sha256 of the file's bytes, lower-case hex.
    pub sha256: String,
    /// The parsed document.
    pub doc: Value,
}

/// Lower-case hex sha256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads `openapi/provenance.json` below `root`.
pub fn load_provenance(root: &Path) -> Result<Provenance> {
    let path = root.join(OPENAPI_DIR).join(PROVENANCE_FILE);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Path of the fragment named by the provenance record.
pub fn fragment_path(root: &Path, prov: &Provenance) -> PathBuf {
    root.join(OPENAPI_DIR).join(&prov.fragment)
}

/// Reads the fragment named by the provenance record below `root`.
pub fn load_fragment(root: &Path) -> Result<(Provenance, Fragment)> {
    let prov = load_provenance(root)?;
    if prov.fragment.contains(['/', '\\']) {
        bail!(
            "provenance.fragment must be a file name inside openapi/, got {:?}",
            prov.fragment
        );
    }
    let path = fragment_path(root, &prov);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let doc: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("parsing {} as JSON", path.display()))?;
    let fragment = Fragment {
        rel_path: format!("{OPENAPI_DIR}/{}", prov.fragment),
        sha256: sha256_hex(&bytes),
        doc,
    };
    Ok((prov, fragment))
}

/// The workspace root, found at run time: from `CARGO_MANIFEST_DIR` as cargo sets it
/// for `cargo run` / `cargo test` (the clone being worked on), else from the current
/// directory upwards. The compile-time path is only the last resort: with one
/// `CARGO_TARGET_DIR` shared by two clones, a binary built in one clone is reused in
/// the other, and that path would name the wrong tree.
pub fn workspace_root() -> PathBuf {
    let from_env = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let from_cwd = std::env::current_dir().ok();
    from_env
        .iter()
        .chain(from_cwd.iter())
        .find_map(|start| find_root(start))
        .unwrap_or_else(|| {
            let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
            manifest.parent().map(Path::to_path_buf).unwrap_or(manifest)
        })
}

/// The nearest directory at or above `start` that holds this workspace's markers.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|dir| dir.join("xtask/Cargo.toml").is_file() && dir.join(OPENAPI_DIR).is_dir())
        .map(Path::to_path_buf)
}

/// Writes several files so that none is touched unless all of them could be written:
/// each goes to a temporary file beside its target first, and only when every one is
/// written are they renamed into place (a rename within a directory is atomic).
pub fn write_all_or_nothing(files: &[(PathBuf, String)]) -> Result<()> {
    let mut staged: Vec<(PathBuf, &Path)> = Vec::new();
    let result = (|| -> Result<()> {
        for (path, text) in files {
            let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
            let temp = path.with_file_name(format!(
                ".{}.tmp-{}",
                name.unwrap_or_default(),
                std::process::id()
            ));
            std::fs::write(&temp, text).with_context(|| format!("writing {}", temp.display()))?;
            staged.push((temp, path));
        }
        Ok(())
    })();
    if let Err(e) = result {
        for (temp, _) in &staged {
            let _ = std::fs::remove_file(temp);
        }
        return Err(e);
    }
    for (temp, path) in &staged {
        std::fs::rename(temp, path)
            .with_context(|| format!("moving {} into place", path.display()))?;
    }
    Ok(())
}

/// Escapes one JSON-pointer reference token (`~` → `~0`, `/` → `~1`).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// One operation of the document, located by path and method.
#[derive(Debug, Clone)]
pub struct OperationRef<'a> {
    /// The path template, e.g. `/accounts/{account_id}/...`.
    pub path: &'a str,
    /// Lower-case HTTP method as used as a key in the document.
    pub method: &'a str,
    /// The operation object.
    pub op: &'a Value,
}

/// HTTP methods in the order OpenAPI lists them; used for stable iteration.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Every operation in `doc`, in document order.
pub fn operations(doc: &Value) -> Vec<OperationRef<'_>> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else {
        return out;
    };
    for (path, item) in paths {
        for method in METHODS {
            if let Some(op) = item.get(method) {
                out.push(OperationRef { path, method, op });
            }
        }
    }
    out
}

/// A path with its parameters' names left out: `/a/{id}/b` → `/a/{}/b`.
pub fn path_shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut inside = false;
    for c in path.chars() {
        match c {
            '{' => {
                inside = true;
                out.push('{');
            }
            '}' => {
                inside = false;
                out.push('}');
            }
            _ if inside => {}
            c => out.push(c),
        }
    }
    out
}
