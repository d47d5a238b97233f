//! `cargo xtask bench-deps`: what it costs a downstream crate to depend on this library,
//! measured beside the same one-call crate on cloudflare-rs 0.14 (`rustls-tls`) and on
//! the bare stack this library is built on, in one run: packages in its normal tree and
//! cold `cargo build --release` wall time, the builds interleaved round by round so that
//! a busy machine slows all alike.
//!
//! The three crates are written under `target/bench-deps/`; their dependencies are
//! fetched first (crates.io), so the timed builds compile and never download.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::Result;

use crate::command::stdout_of;

/// Where the downstream crates are written.
const DIR: &str = "target/bench-deps";

/// Cold builds per crate.
const ROUNDS: usize = 3;

/// A one-call downstream crate.
struct Downstream {
    name: &'static str,
    label: &'static str,
    manifest: String,
    main: &'static str,
    /// Built with this workspace's `Cargo.lock`: the versions the library's tests ran
    /// with (cloudflare-rs resolves its own).
    workspace_lock: bool,
}

fn ours(root: &Path) -> Downstream {
    let path = root.join("crates/ergonomic");
    Downstream {
        name: "on-cloudflare-mcp-sync",
        label: "cloudflare-mcp-sync (this workspace)",
        workspace_lock: true,
        manifest: format!(
            "[dependencies]\ncloudflare-mcp-sync = {{ path = {:?} }}\n\
             tokio = {{ version = \"1\", features = [\"rt\", \"macros\"] }}\n",
            path.display().to_string()
        ),
        main: r#"#[tokio::main(flavor = "current_thread")]
async fn main() {
    let client = match cloudflare_mcp_sync::Client::from_env() {
        Ok(client) => client,
        Err(e) => return eprintln!("{e}"),
    };
    match client.sync("023e105f4ecef8ad9ca31a8372d0c353", "my-mcp-server").await {
        Ok(report) => println!("{}", report.status),
        Err(e) => eprintln!("{e}"),
    }
}
"#,
    }
}

fn cloudflare_rs() -> Downstream {
    Downstream {
        name: "on-cloudflare-rs",
        label: "cloudflare 0.14 (cloudflare-rs, rustls-tls)",
        workspace_lock: false,
        manifest: "[dependencies]\n\
                   cloudflare = { version = \"=0.14.0\", default-features = false, features = [\"rustls-tls\"] }\n\
                   tokio = { version = \"1\", features = [\"rt\", \"macros\"] }\n"
            .to_string(),
        main: r#"use cloudflare::endpoints::account::ListAccounts;
use cloudflare::framework::Environment;
use cloudflare::framework::auth::Credentials;
use cloudflare::framework::client::ClientConfig;
use cloudflare::framework::client::async_api::Client;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let token = std::env::var("CLOUDFLARE_API_TOKEN").unwrap_or_default();
    let credentials = Credentials::UserAuthToken { token };
    let client = match Client::new(credentials, ClientConfig::default(), Environment::Production) {
        Ok(client) => client,
        Err(e) => return eprintln!("{e}"),
    };
    match client.request(&ListAccounts { params: None }).await {
        Ok(accounts) => println!("{}", accounts.result.len()),
        Err(e) => eprintln!("{e}"),
    }
}
"#,
    }
}

/// The floor: no code of this library, only the stack it is built on (reqwest with
/// rustls and the ring provider, the platform verifier, serde, tokio) making the same
/// call by hand. What this crate costs to build, any library on that stack costs at
/// least; measured in the same run, it shows how much of the gap the library can close.
fn stack_alone() -> Downstream {
    Downstream {
        name: "on-the-stack-alone",
        label: "the stack alone (reqwest + rustls/ring + serde, no library)",
        workspace_lock: true,
        manifest: "[dependencies]\n\
                   reqwest = { version = \"0.13\", default-features = false, features = [\"rustls-no-provider\"] }\n\
                   rustls = { version = \"0.23\", default-features = false, features = [\"std\", \"ring\", \"tls12\"] }\n\
                   rustls-platform-verifier = \"0.7\"\n\
                   serde = { version = \"1\", features = [\"derive\"] }\n\
                   serde_json = \"1\"\n\
                   tokio = { version = \"1\", features = [\"rt\", \"macros\"] }\n"
            .to_string(),
        main: r#"use std::sync::Arc;

#[derive(serde::Deserialize)]
struct Envelope {
    success: bool,
    result: Option<Synced>,
}

#[derive(serde::Deserialize)]
struct Synced {
    status: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match rustls_platform_verifier::Verifier::new(provider.clone()) {
        Ok(verifier) => verifier,
        Err(e) => return eprintln!("{e}"),
    };
    let config = match rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
    {
        Ok(config) => config
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth(),
        Err(e) => return eprintln!("{e}"),
    };
    let client = match reqwest::Client::builder().tls_backend_preconfigured(config).build() {
        Ok(client) => client,
        Err(e) => return eprintln!("{e}"),
    };
    let token = std::env::var("CLOUDFLARE_API_TOKEN").unwrap_or_default();
    let url = "https://api.cloudflare.com/client/v4/accounts/023e105f4ecef8ad9ca31a8372d0c353/access/ai-controls/mcp/servers/my-mcp-server/sync";
    let sent = client.post(url).bearer_auth(token).send().await;
    let body = match sent {
        Ok(response) => response.bytes().await,
        Err(e) => return eprintln!("{e}"),
    };
    match body.map(|b| serde_json::from_slice::<Envelope>(&b)) {
        Ok(Ok(Envelope { success: true, result: Some(sync) })) => println!("{}", sync.status),
        Ok(Ok(_)) => eprintln!("not a success"),
        Ok(Err(e)) => eprintln!("{e}"),
        Err(e) => eprintln!("{e}"),
    }
}
"#,
    }
}

impl Downstream {
    /// Writes the crate (its own workspace, so the enclosing one does not claim it).
    fn write(&self, dir: &Path, lock: Option<&Path>) -> Result<()> {
        std::fs::create_dir_all(dir.join("src"))?;
        std::fs::write(
            dir.join("Cargo.toml"),
            format!(
                "[package]\nname = \"{}\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
                 [workspace]\n\n{}",
                self.name, self.manifest
            ),
        )?;
        std::fs::write(dir.join("src/main.rs"), self.main)?;
        // The library's own lock file: the versions its tests ran with.
        if let Some(lock) = lock {
            std::fs::copy(lock, dir.join("Cargo.lock"))?;
        }
        Ok(())
    }
}

/// One crate's results.
struct Measured {
    label: &'static str,
    packages: usize,
    builds: Vec<Duration>,
}

impl Measured {
    fn median(&self) -> Duration {
        let mut sorted = self.builds.clone();
        sorted.sort();
        sorted.get(sorted.len() / 2).copied().unwrap_or_default()
    }
}

fn cargo() -> Command {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_string()))
}

/// Packages in the crate's normal dependency tree, itself excluded.
fn packages(dir: &Path) -> Result<usize> {
    let tree = stdout_of(
        cargo()
            .args(["tree", "-e", "normal", "--prefix", "none", "--offline"])
            .current_dir(dir),
        "cargo tree",
    )?;
    let unique: std::collections::BTreeSet<&str> = tree
        .lines()
        .map(|l| l.trim_end_matches(" (*)").trim())
        .filter(|l| !l.is_empty())
        .collect();
    Ok(unique.len().saturating_sub(1))
}

/// One cold release build in `dir`, timed.
fn cold_build(dir: &Path) -> Result<Duration> {
    let target = dir.join("target");
    if target.exists() {
        std::fs::remove_dir_all(&target)?;
    }
    let started = Instant::now();
    stdout_of(
        cargo()
            .args(["build", "--release", "--offline", "--quiet"])
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .current_dir(dir),
        "cargo build --release",
    )?;
    Ok(started.elapsed())
}

/// Writes the crates, fetches their dependencies, then measures; returns a Markdown
/// report.
pub fn run_bench(root: &Path, rounds: usize) -> Result<String> {
    let base = root.join(DIR);
    // In this order: the ratios at the end read them by place.
    let crates = [ours(root), cloudflare_rs(), stack_alone()];
    let dirs: Vec<PathBuf> = crates.iter().map(|c| base.join(c.name)).collect();
    for (c, dir) in crates.iter().zip(&dirs) {
        // The library's lock pins the crates built on its stack to its versions.
        let lock = c.workspace_lock.then(|| root.join("Cargo.lock"));
        c.write(dir, lock.as_deref())?;
        stdout_of(cargo().arg("fetch").current_dir(dir), "cargo fetch")?;
    }
    let mut measured: Vec<Measured> = crates
        .iter()
        .zip(&dirs)
        .map(|(c, dir)| {
            Ok(Measured {
                label: c.label,
                packages: packages(dir)?,
                builds: Vec::new(),
            })
        })
        .collect::<Result<_>>()?;
    for round in 0..rounds {
        // Rotate the order: each crate goes first in one round in three.
        for i in (0..crates.len()).map(|k| (k + round) % crates.len()) {
            let took = cold_build(&dirs[i])?;
            eprintln!(
                "round {}: {} {:.1} s",
                round + 1,
                measured[i].label,
                took.as_secs_f64()
            );
            measured[i].builds.push(took);
        }
    }
    let mut out = String::from(
        "| downstream crate | packages (normal tree) | cold release builds (s) | median (s) |\n\
         |---|---:|---|---:|\n",
    );
    for m in &measured {
        let builds: Vec<String> = m
            .builds
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect();
        out.push_str(&format!(
            "| {} | {} | {} | {:.1} |\n",
            m.label,
            m.packages,
            builds.join(", "),
            m.median().as_secs_f64()
        ));
    }
    let [ours, theirs, floor] = &measured[..] else {
        anyhow::bail!("bench-deps measures three crates");
    };
    if !theirs.median().is_zero() {
        let ratio = |m: &Measured| m.median().as_secs_f64() / theirs.median().as_secs_f64();
        out.push_str(&format!(
            "\nratio of medians to cloudflare-rs: this library {:.2}×, the stack alone {:.2}×; \
             packages {} vs {} (the stack alone: {})\n",
            ratio(ours),
            ratio(floor),
            ours.packages,
            theirs.packages,
            floor.packages
        ));
    }
    Ok(out)
}

/// `cargo xtask bench-deps`, with the default number of rounds.
pub fn run(root: &Path) -> Result<String> {
    run_bench(root, ROUNDS)
}
