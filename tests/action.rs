//! action.yml run as a runner runs a composite action: each `run:` script with
//! `bash --noprofile --norc -eo pipefail`, its `env:` with the `${{ … }}` expressions
//! substituted, the variables a runner sets (`GITHUB_ACTIONS`, `RUNNER_*`, fresh
//! `GITHUB_OUTPUT` per step, `GITHUB_STEP_SUMMARY`, `GITHUB_PATH`), stopping at the first
//! failing step. The release is served from 127.0.0.1 (`CF_MCP_SYNC_RELEASE_BASE`): an
//! archive of the workspace's own `cf-mcp-sync` and its `.sha256`. `github.action_path`
//! (the action's files at the ref a workflow pinned) is the workspace, or a folder whose
//! `crates/cli/Cargo.toml` says another version, as a commit pinned by SHA would.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;

use serde_yaml_ng::Value;
use sha2::{Digest, Sha256};
use workspace_tests::fault::{FaultServer, Step, json, response};
use workspace_tests::main_job::sync_binary;
use workspace_tests::secrets::{TOKEN, assert_no_secret};
use workspace_tests::{ACCOUNT, RAY, workspace_root};

/// The version the served release carries (what a tag of the action would say): the
/// built command's own, read from it, so that the tests hold on a drift pull request's
/// tree, where the version has moved.
fn version() -> &'static str {
    static VERSION: OnceLock<String> = OnceLock::new();
    VERSION.get_or_init(|| {
        let out = Command::new(sync_binary())
            .arg("--version")
            .output()
            .expect("cf-mcp-sync --version");
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .strip_prefix("cf-mcp-sync ")
            .expect("`cf-mcp-sync <version>`")
            .to_string()
    })
}

/// `v<version>`, the action's tag.
fn tag() -> &'static str {
    static TAG: OnceLock<String> = OnceLock::new();
    TAG.get_or_init(|| format!("v{}", version()))
}

/// The action's files at the pinned ref: this workspace, whose manifest says the built
/// command's version (a tag pin, or a SHA pin of a released commit).
fn released_files() -> PathBuf {
    workspace_root()
}

/// The action's files at a commit whose manifest says `version` (a SHA pin of another
/// commit); only the manifest the install step reads is there.
fn files_saying(version: &str) -> tempfile::TempDir {
    files_saying_with(version, "\n")
}

/// As [`files_saying`], each line ended by `eol` (`\r\n`: files unpacked on Windows).
fn files_saying_with(version: &str, eol: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let cli = dir.path().join("crates/cli");
    std::fs::create_dir_all(&cli).unwrap();
    let manifest = format!(
        "[package]\nname = \"cf-mcp-sync\"\nversion = \"{version}\"\n\n[dependencies]\ncloudflare-mcp-sync = {{ path = \"../ergonomic\", version = \"0.0.1\" }}\n"
    );
    std::fs::write(cli.join("Cargo.toml"), manifest.replace('\n', eol)).unwrap();
    dir
}

fn action() -> Value {
    let text = std::fs::read_to_string(workspace_root().join("action.yml")).unwrap();
    serde_yaml_ng::from_str(&text).unwrap()
}

fn action_steps(action: &Value) -> Vec<Value> {
    action["runs"]["steps"].as_sequence().unwrap().clone()
}

/// The runner's names for this machine's OS and architecture, and the release target
/// the action should pick for them.
fn runner_platform() -> (&'static str, &'static str, &'static str) {
    match std::env::consts::ARCH {
        "aarch64" => ("Linux", "ARM64", "aarch64-unknown-linux-musl"),
        _ => ("Linux", "X64", "x86_64-unknown-linux-musl"),
    }
}

/// `cf-mcp-sync-<target>.tar.gz` holding the built command at its root (as release.yml
/// packs it), made once per test process.
fn archive() -> &'static [u8] {
    static ARCHIVE: OnceLock<Vec<u8>> = OnceLock::new();
    ARCHIVE.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(sync_binary(), dir.path().join("cf-mcp-sync")).unwrap();
        std::fs::write(dir.path().join("README.md"), "cf-mcp-sync\n").unwrap();
        tar_gz(dir.path(), &["cf-mcp-sync", "README.md"])
    })
}

/// A `.tar.gz` of `members` of `dir`, as `tar` packs them (links stay links).
fn tar_gz(dir: &Path, members: &[&str]) -> Vec<u8> {
    let out = tempfile::NamedTempFile::new().unwrap();
    let status = Command::new("tar")
        .arg("-czf")
        .arg(out.path())
        .arg("-C")
        .arg(dir)
        .args(members)
        .status()
        .expect("tar");
    assert!(status.success());
    std::fs::read(out.path()).unwrap()
}

fn sha256_line(bytes: &[u8], name: &str) -> String {
    let hex: String = Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{hex}  {name}\n")
}

/// A release server answering the install step's two downloads in order: the archive,
/// then `checksum` as its `.sha256`.
async fn release_server(checksum: String) -> FaultServer {
    let ok = |body: &[u8]| response("200 OK", &[], body);
    FaultServer::start(vec![
        Step::Raw(ok(archive())),
        Step::Raw(ok(checksum.as_bytes())),
    ])
    .await
}

fn good_checksum() -> String {
    let (_, _, target) = runner_platform();
    sha256_line(archive(), &format!("cf-mcp-sync-{target}.tar.gz"))
}

/// What a run of the action left: each step's exit code (steps after a failure have
/// none), what it printed, the summary and the action's outputs.
#[derive(Debug, Default)]
struct ActionRun {
    /// `(step id, exit code)` of every step that ran.
    steps: Vec<(String, i32)>,
    stdout: String,
    stderr: String,
    summary: String,
    /// `GITHUB_OUTPUT` files as written (raw), and parsed per step id.
    outputs_raw: String,
    outputs: BTreeMap<String, BTreeMap<String, String>>,
    /// The values registered with `::add-mask::`.
    masks: Vec<String>,
    /// Where the install step puts the binary.
    bin_dir: PathBuf,
    /// The runner's files (RUNNER_TEMP and the rest), kept while the run is inspected.
    _files: Option<tempfile::TempDir>,
}

impl ActionRun {
    fn exit(&self, step: &str) -> Option<i32> {
        self.steps
            .iter()
            .find(|(id, _)| id == step)
            .map(|(_, c)| *c)
    }

    fn output(&self, key: &str) -> Option<&str> {
        self.output_of("sync", key)
    }

    fn output_of(&self, step: &str, key: &str) -> Option<&str> {
        self.outputs.get(step)?.get(key).map(String::as_str)
    }

    /// Whether the log has a workflow command `::<kind>` whose line says `text`.
    fn announced(&self, kind: &str, text: &str) -> bool {
        let prefix = format!("::{kind}");
        self.stdout
            .lines()
            .any(|l| l.starts_with(&prefix) && l.contains(text))
    }

    /// The summary table's row for `id`.
    fn row(&self, id: &str) -> &str {
        self.summary
            .lines()
            .find(|l| l.starts_with('|') && l.contains(id))
            .unwrap_or_else(|| panic!("no row for {id} in the summary:\n{}", self.summary))
    }

    /// Everything the runner shows or keeps: stdout without the `::add-mask::`
    /// commands it consumes, stderr, the summary and the outputs. No secret in any.
    fn assert_no_secret(&self) {
        let shown: String = self
            .stdout
            .lines()
            .filter(|l| !l.starts_with("::add-mask::"))
            .collect::<Vec<_>>()
            .join("\n");
        for text in [&shown, &self.stderr, &self.summary, &self.outputs_raw] {
            assert_no_secret(text);
        }
    }
}

/// Substitutes the expressions the action uses: `inputs.*` (given or default),
/// `steps.<id>.outputs.*` and `github.token` (none: a test that wants one gives the
/// `github-token` input). Anything else is a test failure: the action's path, for one,
/// is read from `GITHUB_ACTION_PATH`, which is right inside container jobs too.
fn substitute(
    text: &str,
    inputs: &BTreeMap<String, String>,
    outputs: &BTreeMap<String, BTreeMap<String, String>>,
    _action_path: &Path,
) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find("}}").expect("unclosed expression") + start;
        let expr = rest[start + 3..end].trim();
        let value = if let Some(name) = expr.strip_prefix("inputs.") {
            inputs
                .get(name)
                .unwrap_or_else(|| panic!("no input {name}"))
                .clone()
        } else if let Some(path) = expr.strip_prefix("steps.") {
            let (id, key) = path
                .split_once(".outputs.")
                .expect("steps.<id>.outputs.<key>");
            outputs
                .get(id)
                .and_then(|o| o.get(key))
                .cloned()
                .unwrap_or_default()
        } else if expr == "github.token" {
            String::new()
        } else {
            panic!("an expression the test does not know: {expr}")
        };
        out.push_str(&value);
        rest = &rest[end + 2..];
    }
    out.push_str(rest);
    out
}

/// `key=value` and `key<<DELIMITER` … `DELIMITER` entries of a `GITHUB_OUTPUT` file.
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((key, delimiter)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delimiter {
                    break;
                }
                value.push(l);
            }
            map.insert(key.to_string(), value.join("\n"));
        } else if let Some((key, value)) = line.split_once('=') {
            map.insert(key.to_string(), value.to_string());
        }
    }
    map
}

/// Runs action.yml's steps with `given` inputs, as the runner would.
fn run_action(given: &[(&str, &str)], action_path: &Path, release_base: &str) -> ActionRun {
    run_action_on(given, action_path, release_base, runner_platform(), &[])
}

fn run_action_on(
    given: &[(&str, &str)],
    action_path: &Path,
    release_base: &str,
    (os, arch, _): (&str, &str, &str),
    extra_path: &[&Path],
) -> ActionRun {
    let action = action();
    let mut inputs = BTreeMap::new();
    for (name, spec) in action["inputs"].as_mapping().unwrap() {
        let default = spec["default"].as_str().unwrap_or_default();
        let default = substitute(default, &BTreeMap::new(), &BTreeMap::new(), action_path);
        inputs.insert(name.as_str().unwrap().to_string(), default);
    }
    for (name, value) in given {
        assert!(inputs.contains_key(*name), "action.yml has no input {name}");
        inputs.insert(name.to_string(), value.to_string());
    }

    let dir = tempfile::tempdir().unwrap();
    let temp = dir.path().join("runner-temp");
    std::fs::create_dir_all(&temp).unwrap();
    let summary = dir.path().join("step-summary.md");
    let github_path = dir.path().join("github-path");
    std::fs::write(&summary, "").unwrap();
    std::fs::write(&github_path, "").unwrap();

    let mut run = ActionRun {
        bin_dir: temp.join("cf-mcp-sync/bin"),
        ..ActionRun::default()
    };
    let base_path = std::env::var("PATH").unwrap_or_default();
    for (n, step) in action_steps(&action).iter().enumerate() {
        let id = step["id"].as_str().unwrap_or("").to_string();
        assert_eq!(step["shell"].as_str(), Some("bash"), "step {id}");
        let script = step["run"].as_str().expect("a run step");
        let script_file = dir.path().join(format!("step-{n}.sh"));
        std::fs::write(&script_file, script).unwrap();
        let output_file = dir.path().join(format!("output-{n}"));
        std::fs::write(&output_file, "").unwrap();

        // PATH: what earlier steps added to GITHUB_PATH, newest first.
        let added = std::fs::read_to_string(&github_path).unwrap();
        let mut path: Vec<String> = added.lines().rev().map(str::to_string).collect();
        path.extend(extra_path.iter().map(|p| p.display().to_string()));
        path.push(base_path.clone());

        let mut cmd = Command::new("bash");
        cmd.args(["--noprofile", "--norc", "-eo", "pipefail"])
            .arg(&script_file)
            .env_clear()
            .env("PATH", path.join(":"))
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TEMP", &temp)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_ACTION_PATH", action_path)
            .env("CF_MCP_SYNC_RELEASE_BASE", release_base)
            .stdin(Stdio::null());
        if let Some(home) = std::env::var_os("HOME") {
            cmd.env("HOME", home);
        }
        if let Some(env) = step["env"].as_mapping() {
            for (k, v) in env {
                let value = substitute(v.as_str().unwrap(), &inputs, &run.outputs, action_path);
                cmd.env(k.as_str().unwrap(), value);
            }
        }
        let out = cmd.output().expect("bash");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        run.masks.extend(
            stdout
                .lines()
                .filter_map(|l| l.strip_prefix("::add-mask::"))
                .map(str::to_string),
        );
        run.stdout.push_str(&stdout);
        run.stderr.push_str(&String::from_utf8_lossy(&out.stderr));
        let written = std::fs::read_to_string(&output_file).unwrap();
        run.outputs_raw.push_str(&written);
        run.outputs.insert(id.clone(), parse_outputs(&written));
        let code = out.status.code().unwrap_or(-1);
        run.steps.push((id, code));
        if code != 0 {
            break;
        }
    }
    run.summary = std::fs::read_to_string(&summary).unwrap();
    run._files = Some(dir);
    run
}

/// Runs the action off the async runtime, so that the servers keep answering.
async fn run_action_async(
    given: Vec<(&'static str, String)>,
    action_path: PathBuf,
    release_base: String,
) -> ActionRun {
    run_action_async_on(given, action_path, release_base, Vec::new()).await
}

/// As [`run_action_async`], with `extra_path` (stand-in tools) before the PATH.
async fn run_action_async_on(
    given: Vec<(&'static str, String)>,
    action_path: PathBuf,
    release_base: String,
    extra_path: Vec<PathBuf>,
) -> ActionRun {
    tokio::task::spawn_blocking(move || {
        let given: Vec<(&str, &str)> = given.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let extra: Vec<&Path> = extra_path.iter().map(PathBuf::as_path).collect();
        run_action_on(
            &given,
            &action_path,
            &release_base,
            runner_platform(),
            &extra,
        )
    })
    .await
    .unwrap()
}

/// The request path of each request the server saw.
fn paths(server: &FaultServer) -> Vec<String> {
    server
        .heads()
        .iter()
        .map(|h| h.split_whitespace().nth(1).unwrap_or_default().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_release_is_installed_after_its_checksum_and_mock_outcomes_reach_summary_and_outputs() {
    let release = release_server(good_checksum()).await;
    let servers = "svc-ready\n  waiting-one stale-two\n";
    let run = run_action_async(
        vec![
            ("api-token", TOKEN.into()),
            ("account-id", ACCOUNT.into()),
            ("servers", servers.into()),
            ("mock", "true".into()),
        ],
        released_files(),
        release.base.clone(),
    )
    .await;

    // The version in the action's own files picked the release.
    let (_, _, target) = runner_platform();
    let dir = format!("/download/{}", tag());
    let dir = dir.as_str();
    assert_eq!(
        paths(&release),
        [
            format!("{dir}/cf-mcp-sync-{target}.tar.gz"),
            format!("{dir}/cf-mcp-sync-{target}.tar.gz.sha256"),
        ],
        "{}",
        run.stdout
    );
    assert_eq!(run.exit("install"), Some(0), "{run:#?}");
    assert!(run.bin_dir.join("cf-mcp-sync").is_file());
    assert!(run.stdout.contains("verified"), "{}", run.stdout);
    assert_eq!(run.output_of("install", "version"), Some(version()));
    // Installing from elsewhere than the repository's releases is announced.
    assert!(
        run.announced("warning", "CF_MCP_SYNC_RELEASE_BASE is set"),
        "{}",
        run.stdout
    );
    // No `gh` token here: provenance is not checked, and the log says so.
    assert!(
        run.announced("notice", "build provenance not checked"),
        "{}",
        run.stdout
    );

    // Not ready is not a failure by default: the step passes, `ready` says false.
    assert_eq!(run.exit("sync"), Some(0), "{run:#?}");
    assert_eq!(run.output("ready"), Some("false"));
    let results = run.output("results").unwrap();
    let outcomes: Vec<(String, String)> = results
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["server_id"].as_str().unwrap().to_string(),
                v["outcome"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("svc-ready".into(), "ready".into()),
            ("waiting-one".into(), "not_ready".into()),
            ("stale-two".into(), "not_ready".into()),
        ]
    );
    // The command's own table, its heading counting each outcome.
    assert!(
        run.summary
            .contains("### cf-mcp-sync: 1 ready, 2 not ready, 0 failed"),
        "{}",
        run.summary
    );
    assert!(run.row("svc-ready").contains("ready"), "{}", run.summary);
    assert!(
        run.row("waiting-one").contains("waiting"),
        "{}",
        run.summary
    );
    assert!(run.row("stale-two").contains("stale"), "{}", run.summary);
    assert!(
        run.stdout.contains("::warning") || run.stderr.contains("::warning"),
        "not ready is a warning annotation: {run:#?}"
    );
    assert_eq!(
        run.masks,
        [TOKEN],
        "the token is masked, before anything else"
    );
    run.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_on_not_ready_fails_the_step_and_all_ready_sets_ready_true() {
    let release = release_server(good_checksum()).await;
    let run = run_action_async(
        vec![
            ("api-token", TOKEN.into()),
            ("account-id", ACCOUNT.into()),
            ("servers", "svc-a error-b".into()),
            ("mock", "true".into()),
            ("fail-on", "not-ready".into()),
        ],
        released_files(),
        release.base.clone(),
    )
    .await;
    assert_eq!(run.exit("sync"), Some(3), "{run:#?}");
    assert_eq!(run.output("ready"), Some("false"));
    assert!(run.row("error-b").contains("error"), "{}", run.summary);
    assert!(run.stdout.contains("::error") || run.stderr.contains("::error"));
    run.assert_no_secret();

    // A `version` input wins over the action's files (a commit whose manifest says
    // another version here).
    let release = release_server(good_checksum()).await;
    let other = files_saying("9.9.9");
    let run = run_action_async(
        vec![
            ("api-token", TOKEN.into()),
            ("account-id", ACCOUNT.into()),
            ("servers", "svc-a svc-b".into()),
            ("mock", "true".into()),
            ("fail-on", "not-ready".into()),
            ("version", tag().to_string()),
        ],
        other.path().to_path_buf(),
        release.base.clone(),
    )
    .await;
    assert!(paths(&release)[0].starts_with(&format!("/download/v{}/", version())));
    assert_eq!(run.output_of("install", "version"), Some(version()));
    assert_eq!(run.exit("sync"), Some(0), "{run:#?}");
    assert_eq!(run.output("ready"), Some("true"));
    assert_eq!(run.output("results").unwrap().lines().count(), 2);
    assert!(run.row("svc-b").contains("ready"), "{}", run.summary);
    run.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_sync_fails_the_step_with_its_ray_id_in_the_summary() {
    // `latest`, asked for: the newest release, whatever the action's files say.
    let release = release_server(good_checksum()).await;
    let api = FaultServer::start(vec![Step::Raw(json(
        "404 Not Found",
        r#"{"success":false,"errors":[{"code":7003,"message":"No route"}],"messages":[],"result":null}"#,
    ))])
    .await;
    let run = run_action_async(
        vec![
            ("api-token", TOKEN.into()),
            ("account-id", ACCOUNT.into()),
            ("servers", "missing-server".into()),
            ("base-url", api.base.clone()),
            ("version", "latest".into()),
        ],
        files_saying("9.9.9").path().to_path_buf(),
        release.base.clone(),
    )
    .await;
    let (_, _, target) = runner_platform();
    assert_eq!(
        paths(&release)[0],
        format!("/latest/download/cf-mcp-sync-{target}.tar.gz")
    );
    // What `latest` turned out to be is said, and is the step's `version` output.
    assert_eq!(run.output_of("install", "version"), Some(version()));
    assert!(
        run.announced("notice", "latest installed"),
        "{}",
        run.stdout
    );
    assert_eq!(run.output("exit-code"), Some("1"));
    assert_eq!(run.exit("sync"), Some(1), "{run:#?}");
    assert_eq!(api.requests(), 1);
    // The token went to the server, and nowhere else.
    assert!(
        api.heads()[0].contains(&format!("authorization: bearer {}", TOKEN.to_lowercase())),
        "{:?}",
        api.heads()
    );
    assert_eq!(run.output("ready"), Some("false"));
    let record: serde_json::Value = serde_json::from_str(run.output("results").unwrap()).unwrap();
    assert_eq!(record["outcome"], "failed");
    let row = run.row("missing-server");
    assert!(row.contains("failed") && row.contains(RAY), "{row}");
    assert!(row.contains("| 1 |"), "one attempt: {row}");
    let annotations = format!("{}{}", run.stdout, run.stderr);
    assert!(
        annotations
            .lines()
            .any(|l| l.starts_with("::error") && l.contains("missing-server")),
        "{annotations}"
    );
    run.assert_no_secret();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checksum_mismatch_is_refused_and_nothing_runs() {
    let (_, _, target) = runner_platform();
    let wrong = sha256_line(b"another archive", &format!("cf-mcp-sync-{target}.tar.gz"));
    for checksum in [wrong, "not a checksum\n".to_string()] {
        let release = release_server(checksum).await;
        let run = run_action_async(
            vec![
                ("api-token", TOKEN.into()),
                ("account-id", ACCOUNT.into()),
                ("servers", "svc-a".into()),
                ("mock", "true".into()),
            ],
            released_files(),
            release.base.clone(),
        )
        .await;
        assert_eq!(release.requests(), 2);
        assert_eq!(run.exit("download"), Some(1), "{run:#?}");
        assert_eq!(run.exit("sync"), None, "the sync never ran");
        assert!(
            run.announced("error", "checksum mismatch"),
            "{}",
            run.stdout
        );
        assert!(
            !run.bin_dir.join("cf-mcp-sync").exists(),
            "nothing was installed"
        );
        assert!(
            run.summary.is_empty() && run.outputs_raw.is_empty(),
            "{run:#?}"
        );
        run.assert_no_secret();
    }
}

/// Where no archive exists for the runner, `cargo install --locked` builds the pinned
/// version (a stand-in `cargo` records the call and installs the built command).
#[test]
fn a_platform_without_an_archive_falls_back_to_cargo_install() {
    let tools = tempfile::tempdir().unwrap();
    let log = tools.path().join("cargo-args");
    let fake = format!(
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '{}'\nroot=\"${{@: -1}}\"\nmkdir -p \"$root/bin\"\ncp '{}' \"$root/bin/cf-mcp-sync\"\n",
        log.display(),
        sync_binary().display()
    );
    workspace_tests::write_executable(&tools.path().join("cargo"), &fake);

    let run = run_action_on(
        &[
            ("api-token", TOKEN),
            ("account-id", ACCOUNT),
            ("servers", "svc-a"),
            ("mock", "true"),
            ("version", version()),
        ],
        &released_files(),
        &workspace_tests::closed_port_base(),
        ("FreeBSD", "X64", ""),
        &[tools.path()],
    );
    let args = std::fs::read_to_string(&log).unwrap();
    let args: Vec<&str> = args.lines().collect();
    assert_eq!(
        args[..5],
        [
            "install",
            "cf-mcp-sync",
            "--locked",
            "--version",
            &format!("={}", version())
        ]
    );
    assert_eq!(run.exit("sync"), Some(0), "{run:#?}");
    assert_eq!(run.output("ready"), Some("true"));
    run.assert_no_secret();
}

/// The injection rule: no `${{ … }}` inside a script, inputs reach the scripts through
/// `env:` only, and the credentials only the step that needs them.
#[test]
fn inputs_reach_the_scripts_only_through_env() {
    let action = action();
    assert_eq!(action["runs"]["using"].as_str(), Some("composite"));
    let inputs: Vec<&str> = action["inputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    for needed in [
        "api-token",
        "email",
        "api-key",
        "account-id",
        "servers",
        "version",
        "verify-attestation",
        "github-token",
        "fail-on",
        "base-url",
    ] {
        assert!(inputs.contains(&needed), "input {needed}");
    }
    assert_eq!(
        action["inputs"]["fail-on"]["default"].as_str(),
        Some("failure")
    );
    for step in action_steps(&action) {
        let id = step["id"].as_str().unwrap();
        let run = step["run"].as_str().unwrap();
        assert!(
            !run.contains("${{"),
            "step {id} interpolates into its script"
        );
        assert!(!run.contains("set -x"), "step {id} would echo the secrets");
        let env = serde_yaml_ng::to_string(&step["env"]).unwrap();
        for secret in ["inputs.api-token", "inputs.api-key", "inputs.email"] {
            assert_eq!(env.contains(secret), id == "sync", "{secret} in step {id}");
        }
        // The workflow's token only reaches the step that checks provenance, which
        // runs nothing it downloaded.
        assert_eq!(
            env.contains("inputs.github-token"),
            id == "provenance",
            "{id}"
        );
    }
    // Every output a step writes is declared (a caller can read only those), and
    // every declared one is written.
    let declared: Vec<&str> = action["outputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(declared, ["ready", "results", "exit-code", "version"]);
    for (output, step) in [
        ("ready", "sync"),
        ("results", "sync"),
        ("exit-code", "sync"),
        ("version", "install"),
    ] {
        assert_eq!(
            action["outputs"][output]["value"].as_str(),
            Some(format!("${{{{ steps.{step}.outputs.{output} }}}}").as_str())
        );
    }
    let text = std::fs::read_to_string(workspace_root().join("action.yml")).unwrap();
    for step in action_steps(&action) {
        let id = step["id"].as_str().unwrap();
        let run = step["run"].as_str().unwrap();
        for line in run
            .lines()
            .filter(|l| l.contains("GITHUB_OUTPUT") || l.contains("echo \""))
        {
            if let Some(key) = line
                .trim()
                .strip_prefix("echo \"")
                .and_then(|rest| rest.split_once(['=', '<']))
                .map(|(key, _)| key)
                .filter(|key| key.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'))
                .filter(|key| !key.is_empty())
            {
                // Either the action's output, or a later step's input.
                let consumed = format!("${{{{ steps.{id}.outputs.{key} }}}}");
                assert!(
                    declared.contains(&key) || text.contains(&consumed),
                    "step {id} writes {key}, which nothing reads"
                );
            }
        }
    }
    // The repository the action downloads from is the workspace's.
    let manifest = std::fs::read_to_string(workspace_root().join("Cargo.toml")).unwrap();
    let repo = manifest
        .lines()
        .find_map(|l| l.strip_prefix("repository = \""))
        .and_then(|r| r.strip_suffix('"'))
        .unwrap();
    let install = action_steps(&action)[0]["run"]
        .as_str()
        .unwrap()
        .to_string();
    let owner_name = repo.strip_prefix("https://github.com/").unwrap();
    assert!(
        install.contains(&format!(
            "repo=\"${{CF_MCP_SYNC_RELEASE_REPO:-{owner_name}}}\""
        )) && install.contains("https://github.com/$repo/releases"),
        "{repo}"
    );
}

/// An archive whose `cf-mcp-sync` is a link (to a program already on the runner) has a
/// valid checksum and still installs nothing: only a regular file is installed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_whose_program_is_a_link_is_refused() {
    let (_, _, target) = runner_platform();
    let dir = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/bin/true", dir.path().join("cf-mcp-sync")).unwrap();
    let linked = tar_gz(dir.path(), &["cf-mcp-sync"]);
    let checksum = sha256_line(&linked, &format!("cf-mcp-sync-{target}.tar.gz"));
    let ok = |body: &[u8]| response("200 OK", &[], body);
    let release = FaultServer::start(vec![
        Step::Raw(ok(&linked)),
        Step::Raw(ok(checksum.as_bytes())),
    ])
    .await;
    let run = run_action_async(
        vec![
            ("account-id", ACCOUNT.into()),
            ("servers", "svc-a".into()),
            ("mock", "true".into()),
        ],
        released_files(),
        release.base.clone(),
    )
    .await;
    assert_eq!(run.exit("install"), Some(1), "{run:#?}");
    assert_eq!(run.exit("sync"), None, "the sync never ran");
    assert!(
        run.stdout.contains("holds no regular file cf-mcp-sync"),
        "{}",
        run.stdout
    );
    assert!(
        !run.bin_dir.join("cf-mcp-sync").exists(),
        "nothing installed"
    );
}

/// Server ids come after `--`: one that looks like an option (`--mock`, `--base-url=…`,
/// `--version`) is refused as an invalid id, nothing is sent, and `ready` is false.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_id_that_looks_like_an_option_is_only_an_id() {
    for servers in [
        "--mock prod-db",
        "--base-url=http://127.0.0.1:9/stolen prod-db",
        "--version",
    ] {
        let release = release_server(good_checksum()).await;
        let api = FaultServer::start(vec![Step::Raw(json("200 OK", "{}"))]).await;
        let run = run_action_async(
            vec![
                ("api-token", TOKEN.into()),
                ("account-id", ACCOUNT.into()),
                ("servers", servers.into()),
                ("base-url", api.base.clone()),
            ],
            released_files(),
            release.base.clone(),
        )
        .await;
        assert_eq!(run.exit("sync"), Some(2), "{servers}: {run:#?}");
        assert_eq!(api.requests(), 0, "{servers}: nothing sent");
        assert_eq!(run.output("ready"), Some("false"), "{servers}");
        assert!(
            run.stderr.contains("invalid server id"),
            "{servers}: {}",
            run.stderr
        );
        run.assert_no_secret();
    }
}

/// Server text cannot become a workflow command: the old `##[cmd]` form, which a runner
/// reads anywhere in a line, is broken up on stderr, and the records are shown with
/// workflow commands stopped (under a token the server cannot know).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_text_cannot_become_a_workflow_command() {
    let release = release_server(good_checksum()).await;
    let api = FaultServer::start(vec![Step::Raw(json(
        "400 Bad Request",
        r###"{"success":false,"errors":[{"code":1,"message":"##[set-env name=X]y ##[add-mask]z"}],"messages":[],"result":null}"###,
    ))])
    .await;
    let run = run_action_async(
        vec![
            ("api-token", TOKEN.into()),
            ("account-id", ACCOUNT.into()),
            ("servers", "prod-db".into()),
            ("base-url", api.base.clone()),
        ],
        released_files(),
        release.base.clone(),
    )
    .await;
    assert_eq!(run.exit("sync"), Some(1), "{run:#?}");
    assert!(!run.stderr.contains("##["), "{}", run.stderr);
    // On stdout, server text appears only between ::stop-commands::<token> and ::<token>::.
    let mut stopped: Option<String> = None;
    for line in run.stdout.lines() {
        if let Some(token) = line.strip_prefix("::stop-commands::") {
            stopped = Some(token.to_string());
        } else if stopped
            .as_deref()
            .is_some_and(|t| line == format!("::{t}::"))
        {
            stopped = None;
        } else if stopped.is_none() {
            assert!(!line.contains("##["), "outside the stopped block: {line}");
        }
    }
    let record: serde_json::Value = serde_json::from_str(run.output("results").unwrap()).unwrap();
    assert!(
        record["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("##[set-env"),
        "the text itself is kept in the record: {record}"
    );
    run.assert_no_secret();
}

/// A stand-in `gh` that records its arguments (and whether it was given a token) and
/// exits with `code`; returns its folder and the record's path.
fn fake_gh(code: i32) -> (tempfile::TempDir, PathBuf) {
    let tools = tempfile::tempdir().unwrap();
    let log = tools.path().join("gh-args");
    let script = format!(
        "#!/usr/bin/env bash\nprintf '%s\\n' \"$@\" > '{log}'\nif [ -n \"${{GH_TOKEN:-}}\" ]; then echo token >> '{log}'; fi\necho 'Loaded 1 attestation; verification failed: certificate identity' >&2\nexit {code}\n",
        log = log.display()
    );
    workspace_tests::write_executable(&tools.path().join("gh"), &script);
    (tools, log)
}

/// Runs the action against a good release with a stand-in `gh` that exits `gh_code`,
/// for `svc-a` on the embedded mock, with `extra` inputs; returns the run and what
/// `gh` was called with (`None`: it never ran).
async fn run_with_gh(
    extra: Vec<(&'static str, String)>,
    gh_code: i32,
) -> (ActionRun, Option<String>) {
    let release = release_server(good_checksum()).await;
    let (tools, log) = fake_gh(gh_code);
    let mut inputs = vec![
        ("account-id", ACCOUNT.into()),
        ("servers", "svc-a".into()),
        ("mock", "true".into()),
    ];
    inputs.extend(extra);
    let run = run_action_async_on(
        inputs,
        released_files(),
        release.base.clone(),
        vec![tools.path().to_path_buf()],
    )
    .await;
    (run, std::fs::read_to_string(&log).ok())
}

/// A token for `gh` only.
const GH_TOKEN: &str = "ghs_workflow_token_for_attestations";

/// A commit pinned by SHA whose manifest says another version than the program the
/// release holds: the step downloads that version's archive, and refuses the program
/// when its `--version` says otherwise; nothing is installed and the sync never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sha_pin_installs_its_manifest_version_and_refuses_any_other_program() {
    for eol in ["\n", "\r\n"] {
        a_sha_pin_with_line_ends(eol).await;
    }
}

async fn a_sha_pin_with_line_ends(eol: &str) {
    let release = release_server(good_checksum()).await;
    let pinned = files_saying_with("9.9.9", eol);
    let run = run_action_async(
        vec![
            ("api-token", TOKEN.into()),
            ("account-id", ACCOUNT.into()),
            ("servers", "svc-a".into()),
            ("mock", "true".into()),
        ],
        pinned.path().to_path_buf(),
        release.base.clone(),
    )
    .await;
    let (_, _, target) = runner_platform();
    assert_eq!(
        paths(&release)[0],
        format!("/download/v9.9.9/cf-mcp-sync-{target}.tar.gz")
    );
    assert_eq!(run.exit("install"), Some(1), "{run:#?}");
    assert_eq!(run.exit("sync"), None, "the sync never ran");
    let refusal = format!(
        "the installed program says 'cf-mcp-sync {}', not cf-mcp-sync 9.9.9; refusing it",
        version()
    );
    assert!(run.announced("error", &refusal), "{}", run.stdout);
    assert!(
        !run.bin_dir.join("cf-mcp-sync").exists(),
        "nothing installed"
    );
    assert!(
        run.outputs.get("install").is_none_or(|o| o.is_empty()),
        "{run:#?}"
    );
    run.assert_no_secret();
}

/// The version comes from the action's files or the input, never from a guess: files
/// without a manifest and no input stop the step, saying what to give; so do a version
/// that is no release version and a `verify-attestation` that is no choice.
#[test]
fn a_version_that_cannot_be_known_or_a_bad_choice_stops_before_any_download() {
    let empty = tempfile::tempdir().unwrap();
    let closed = workspace_tests::closed_port_base();
    for (given, files, expected, code) in [
        (
            vec![],
            empty.path(),
            "the action's files hold no cf-mcp-sync version",
            1,
        ),
        (
            vec![("version", "0.1")],
            released_files().as_path(),
            "version '0.1' is neither a release version (0.1.0) nor 'latest'",
            1,
        ),
        (
            vec![("version", "1.0.0+build")],
            released_files().as_path(),
            "version '1.0.0+build' is neither",
            1,
        ),
        (
            vec![("verify-attestation", "yes")],
            released_files().as_path(),
            "verify-attestation must be 'auto', 'true' or 'false', not 'yes'",
            2,
        ),
    ] {
        let mut inputs = vec![("account-id", ACCOUNT), ("servers", "svc-a")];
        inputs.extend(given);
        let run = run_action(&inputs, files, &closed);
        assert_eq!(run.exit("download"), Some(code), "{expected}: {run:#?}");
        assert!(
            run.announced("error", expected),
            "{expected}: {}",
            run.stdout
        );
        assert!(!run.stdout.contains("Downloading"), "{}", run.stdout);
    }
}

/// With `gh` and a token, the archive's build provenance is checked against this
/// repository's release workflow before it is unpacked; a failed check refuses it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_build_provenance_is_verified_with_gh_and_a_failed_check_refuses_the_archive() {
    let (_, _, target) = runner_platform();
    for (code, installed) in [(0, true), (1, false)] {
        let (run, gh) = run_with_gh(vec![("github-token", GH_TOKEN.into())], code).await;
        let args = gh.expect("gh ran");
        let args: Vec<&str> = args.lines().collect();
        assert_eq!(args[..2], ["attestation", "verify"], "{args:?}");
        assert!(
            args[2].ends_with(&format!("/cf-mcp-sync-{target}.tar.gz")),
            "{args:?}"
        );
        // The release workflow, run for this very tag on GitHub's runners: a run of
        // it from a branch, or another tag's, does not match.
        let identity = format!(
            "https://github.com/cloudflare-mcp-sync/cloudflare-mcp-sync/.github/workflows/release.yml@refs/tags/v{}",
            version()
        );
        assert_eq!(
            args[3..],
            [
                "--repo",
                "cloudflare-mcp-sync/cloudflare-mcp-sync",
                "--cert-identity",
                identity.as_str(),
                "--deny-self-hosted-runners",
                "token",
            ]
        );
        if installed {
            assert_eq!(run.exit("install"), Some(0), "{run:#?}");
            assert!(
                run.stdout.contains("Build provenance verified"),
                "{}",
                run.stdout
            );
            assert_eq!(run.exit("sync"), Some(0), "{run:#?}");
        } else {
            assert_eq!(run.exit("provenance"), Some(1), "{run:#?}");
            assert!(
                run.stdout.lines().any(|l| l.starts_with("::error")
                    && l.contains("does not verify")
                    && l.contains("certificate identity")),
                "{}",
                run.stdout
            );
            assert!(
                !run.bin_dir.join("cf-mcp-sync").exists(),
                "nothing installed"
            );
            assert_eq!(run.exit("sync"), None);
        }
        assert!(!run.stdout.contains("ghs_workflow_token"), "{}", run.stdout);
    }
}

/// `verify-attestation: true` refuses to install when the check cannot be made (no
/// token); `false` never runs `gh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verify_attestation_true_requires_the_check_and_false_skips_it() {
    let (run, gh) = run_with_gh(vec![("verify-attestation", "true".into())], 0).await;
    assert_eq!(run.exit("provenance"), Some(1), "{run:#?}");
    assert!(
        run.stdout.contains("gh or a github-token is missing"),
        "{}",
        run.stdout
    );
    assert!(!run.bin_dir.join("cf-mcp-sync").exists());
    assert_eq!(gh, None, "gh did not run without a token");

    let (run, gh) = run_with_gh(
        vec![
            ("verify-attestation", "false".into()),
            ("github-token", GH_TOKEN.into()),
        ],
        1,
    )
    .await;
    assert_eq!(run.exit("sync"), Some(0), "{run:#?}");
    assert_eq!(gh, None, "gh never ran");
}

/// `latest` is verified against any release tag of the release workflow, by a pattern
/// anchored at both ends with its dots escaped: `release.yml` run from a branch, or a
/// file whose name only starts with `release.yml`, does not match.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latest_is_verified_against_release_tags_only() {
    let (run, gh) = run_with_gh(
        vec![
            ("version", "latest".into()),
            ("github-token", GH_TOKEN.into()),
        ],
        0,
    )
    .await;
    assert_eq!(run.exit("install"), Some(0), "{run:#?}");
    let args = gh.expect("gh ran");
    let args: Vec<&str> = args.lines().collect();
    let at = args
        .iter()
        .position(|a| *a == "--cert-identity-regex")
        .expect("a pattern for latest");
    let pattern = args[at + 1];
    assert_eq!(
        pattern,
        r"^https://github\.com/cloudflare-mcp-sync/cloudflare-mcp-sync/\.github/workflows/release\.yml@refs/tags/v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$"
    );
    assert!(args.contains(&"--deny-self-hosted-runners"), "{args:?}");
}

/// The workflow's token reaches `gh` only: the downloaded program (which runs for its
/// `--version` before anything else is known of it) does not see it, nor any variable
/// holding it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_github_token_reaches_gh_only_not_the_downloaded_program() {
    let (_, _, target) = runner_platform();
    let dir = tempfile::tempdir().unwrap();
    let seen = dir.path().join("environment-seen");
    // Its own environment, and its parent's (the step's shell), which it can read.
    let program = format!(
        "#!/usr/bin/env bash\nenv > '{seen}'\ntr '\\0' '\\n' < /proc/$PPID/environ >> '{seen}' && echo PARENT_READ >> '{seen}'\necho 'cf-mcp-sync {}'\n",
        version(),
        seen = seen.display(),
    );
    let stage = dir.path().join("stage");
    std::fs::create_dir_all(&stage).unwrap();
    workspace_tests::write_executable(&stage.join("cf-mcp-sync"), &program);
    let archive = tar_gz(&stage, &["cf-mcp-sync"]);
    let checksum = sha256_line(&archive, &format!("cf-mcp-sync-{target}.tar.gz"));
    let ok = |body: &[u8]| response("200 OK", &[], body);
    let release = FaultServer::start(vec![
        Step::Raw(ok(&archive)),
        Step::Raw(ok(checksum.as_bytes())),
    ])
    .await;
    let (tools, log) = fake_gh(0);
    let run = run_action_async_on(
        vec![
            ("account-id", ACCOUNT.into()),
            ("servers", "svc-a".into()),
            ("mock", "true".into()),
            ("github-token", GH_TOKEN.into()),
        ],
        released_files(),
        release.base.clone(),
        vec![tools.path().to_path_buf()],
    )
    .await;
    assert_eq!(run.exit("install"), Some(0), "{run:#?}");
    let gh = std::fs::read_to_string(&log).expect("gh ran");
    assert!(gh.lines().any(|l| l == "token"), "gh was given the token");
    let environment = std::fs::read_to_string(&seen).expect("the program ran");
    assert!(environment.contains("GITHUB_OUTPUT="), "{environment}");
    assert!(environment.contains("PARENT_READ"), "{environment}");
    assert!(
        !environment.contains("ghs_workflow_token"),
        "the program saw the token:\n{environment}"
    );
}
