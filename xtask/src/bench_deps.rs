//! `cargo xtask bench-deps`: what depending on the library costs.

/// The report `cargo xtask bench-deps` prints.
pub fn run(root: &std::path::Path) -> anyhow::Result<String> {
    let _ = root;
    anyhow::bail!("not yet")
}
