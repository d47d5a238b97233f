//! `cargo check` of generated code that is not the committed one: the history replay's
//! versions and the corpus test's. Each source becomes a copy of `crates/generated`
//! (same manifest, same `lib.rs`, so the same lints and edition) in one scratch
//! workspace with this workspace's lock file (so the versions are the ones locked), in one cargo run: the
//! dependencies are built once and the copies in parallel.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// A scratch workspace for checking generated sources.
pub struct Checker {
    dir: PathBuf,
    target: PathBuf,
    manifest: String,
    lib_rs: String,
    members_at: (usize, usize),
    offline: bool,
    no_default_features: bool,
}

impl Checker {
    /// Prepares `dir` from the workspace at `root`; builds go to `dir/target` unless
    /// `CARGO_TARGET_DIR` is set.
    pub fn new(root: &Path, dir: &Path) -> Result<Self> {
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| dir.join("target"));
        Self::with_target(root, dir, &target)
    }

    /// As [`Checker::new`], building in `target`.
    pub fn with_target(root: &Path, dir: &Path, target: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let manifest = std::fs::read_to_string(root.join("Cargo.toml"))
            .context("reading the workspace's Cargo.toml")?;
        let start = manifest
            .find("members = [")
            .context("the workspace's Cargo.toml has no members list")?;
        let end = start
            + manifest[start..]
                .find(']')
                .context("the members list does not end")?
            + 1;
        std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))
            .context("copying Cargo.lock")?;
        let crate_manifest = std::fs::read_to_string(root.join("crates/generated/Cargo.toml"))
            .context("reading crates/generated/Cargo.toml")?;
        let lib_rs = std::fs::read_to_string(root.join("crates/generated/src/lib.rs"))
            .context("reading crates/generated/src/lib.rs")?;
        std::fs::write(dir.join("generated-Cargo.toml"), crate_manifest)?;
        Ok(Self {
            dir: dir.to_path_buf(),
            target: target.to_path_buf(),
            manifest,
            lib_rs,
            members_at: (start, end),
            offline: false,
            no_default_features: false,
        })
    }

    /// Checks without the network (tests: every crate the lock names is already
    /// downloaded by the build that runs them).
    #[must_use]
    pub fn offline(mut self) -> Self {
        self.offline = true;
        self
    }

    /// Checks the copies without their default features: without progenitor's client,
    /// as the library takes the generated crate.
    #[must_use]
    pub fn without_default_features(mut self) -> Self {
        self.no_default_features = true;
        self
    }

    /// Checks each source; one result per source, in order: `Err` holds the first
    /// compiler errors.
    pub fn check(&self, sources: &[&str]) -> Result<Vec<std::result::Result<(), String>>> {
        let crate_manifest = std::fs::read_to_string(self.dir.join("generated-Cargo.toml"))?;
        let members_dir = self.dir.join("members");
        let _ = std::fs::remove_dir_all(&members_dir);
        let mut names = Vec::new();
        for (i, source) in sources.iter().enumerate() {
            let name = format!("generated-check-{i:03}");
            let dir = members_dir.join(&name);
            std::fs::create_dir_all(dir.join("src"))?;
            let manifest = crate_manifest.replacen(
                "name = \"cloudflare-mcp-sync-generated\"",
                &format!("name = \"{name}\""),
                1,
            );
            std::fs::write(dir.join("Cargo.toml"), manifest)?;
            std::fs::write(dir.join("README.md"), "")?;
            std::fs::write(dir.join("src/lib.rs"), &self.lib_rs)?;
            std::fs::write(dir.join("src/generated.rs"), source)?;
            names.push(name);
        }
        let members: Vec<String> = names.iter().map(|n| format!("\"members/{n}\"")).collect();
        let (start, end) = self.members_at;
        let manifest = format!(
            "{}members = [{}]{}",
            &self.manifest[..start],
            members.join(", "),
            &self.manifest[end..]
        );
        std::fs::write(self.dir.join("Cargo.toml"), manifest)?;
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
        let mut command = Command::new(cargo);
        if self.offline {
            command.arg("--offline");
        }
        command.args([
            "check",
            "--workspace",
            "--keep-going",
            "--message-format=json",
        ]);
        if self.no_default_features {
            command.arg("--no-default-features");
        }
        let out = command
            .current_dir(&self.dir)
            .env("CARGO_TARGET_DIR", &self.target)
            .env_remove("RUSTFLAGS")
            .output()
            .context("running cargo check")?;
        let mut errors: Vec<String> = vec![String::new(); sources.len()];
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let Ok(message) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if message.get("reason").and_then(Value::as_str) != Some("compiler-message") {
                continue;
            }
            let level = message.pointer("/message/level").and_then(Value::as_str);
            if level != Some("error") {
                continue;
            }
            let package = message
                .get("package_id")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let Some(i) = names.iter().position(|n| {
                package.contains(&format!("/{n}#"))
                    || package.contains(&format!("{n}@"))
                    || package.contains(&format!("members/{n}"))
            }) else {
                continue;
            };
            let text = message
                .pointer("/message/rendered")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if errors[i].len() < 4000 {
                errors[i].push_str(text);
            }
        }
        if !out.status.success() && errors.iter().all(String::is_empty) {
            bail!(
                "cargo check of the generated versions failed without a compiler error:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(errors
            .into_iter()
            .map(|e| if e.is_empty() { Ok(()) } else { Err(e) })
            .collect())
    }
}
