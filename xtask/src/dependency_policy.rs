//! The test command's dependency policy step: deny.toml checked by the pinned
//! cargo-deny, offline (`cargo xtask ci` runs it; the advisories are checked online by
//! the workflows).

use std::path::Path;
use std::process::Command;

use anyhow::{Result, bail};

/// The cargo-deny release the test command runs. `.ci/run` installs this one and the
/// workflows install the same (`tests/supply_chain.rs` checks): deny.toml's keys and
/// their meaning move between cargo-deny's 0.x releases.
pub fn cargo_deny_version() -> &'static str {
    include_str!("../../.ci/cargo-deny-version").trim()
}

/// The dependency policy step's cargo-deny command: no network (the RustSec advisories
/// are checked online by ci.yml's `advisories` job and the daily audit workflow).
pub const DENY: [&str; 7] = [
    "deny",
    "--locked",
    "--offline",
    "check",
    "licenses",
    "bans",
    "sources",
];

/// How to install the pinned cargo-deny.
pub fn cargo_deny_install() -> String {
    format!(
        "cargo install --locked cargo-deny --version {}",
        cargo_deny_version()
    )
}

/// Whether `cargo deny --version` (its stdout, or `None` when it failed: no such
/// command) is the pinned release; the error says what to install.
pub fn check_cargo_deny_version(reported: Option<&str>) -> Result<()> {
    let wanted = cargo_deny_version();
    let install = cargo_deny_install();
    match reported.map(str::trim) {
        Some(line) if line == format!("cargo-deny {wanted}") => Ok(()),
        Some(line) => bail!(
            "step 'dependency policy' failed: {line:?} is installed, and the test command runs cargo-deny {wanted} (.ci/cargo-deny-version); install it with: {install}"
        ),
        None => bail!(
            "step 'dependency policy' failed: cargo-deny is not installed; install it with: {install}"
        ),
    }
}

/// deny.toml's licenses, bans (duplicate versions, OpenSSL, wildcards) and sources, on
/// every package of Cargo.lock, with the pinned cargo-deny.
pub fn dependency_policy(cargo: &str, root: &Path) -> Result<()> {
    let shown = format!("cargo {}", DENY.join(" "));
    eprintln!("==> dependency policy (deny.toml): {shown}");
    let version = Command::new(cargo)
        .args(["deny", "--version"])
        .current_dir(root)
        .output()?;
    let reported = version
        .status
        .success()
        .then(|| String::from_utf8_lossy(&version.stdout).into_owned());
    check_cargo_deny_version(reported.as_deref())?;
    // cargo-deny reads `cargo metadata`, which wants every package of Cargo.lock, other
    // platforms' too (a build downloads only this one's): fetched from crates.io as a
    // build would, so that cargo-deny itself can run offline.
    let fetched = Command::new(cargo)
        .args(["fetch", "--locked"])
        .current_dir(root)
        .status()?;
    if !fetched.success() {
        bail!(
            "step 'dependency policy' failed: cargo fetch --locked ({fetched}); rerun it with: cargo fetch --locked && {shown}"
        );
    }
    let status = Command::new(cargo).args(DENY).current_dir(root).status()?;
    if !status.success() {
        bail!(
            "step 'dependency policy' failed ({status}): a dependency breaks deny.toml (above; CONTRIBUTING.md, \"Dependency auditing\", says how to accept one); rerun it with: {shown}"
        );
    }
    Ok(())
}
