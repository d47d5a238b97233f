//! Reading Cloudflare's history from a clone of `cloudflare/api-schemas`: the commits
//! that touched `openapi.json` (oldest first), and their documents through one
//! `git cat-file --batch`.

use std::fmt::Write as _;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, Result};

use crate::history_model::Options;

/// Every commit that changed `openapi.json` and whose blob is present (the newest
/// commits' large files may be absent from a copy), oldest first, with repeated blobs
/// left out: (commit, date, blob).
pub(crate) fn commits(options: &Options) -> Result<Vec<(String, String, String)>> {
    let mut log = Command::new("git");
    log.arg("-C")
        .arg(&options.git_dir)
        .args(["log", "--reverse", "--format=%H %cs"]);
    if let Some(since) = &options.since {
        log.arg(format!("--since={since}"));
    }
    if let Some(until) = &options.until {
        log.arg(format!("--until={until}"));
    }
    log.args(["--", "openapi.json"]);
    let listed = crate::command::stdout_of(&mut log, "git log")?;
    let mut check = Command::new("git")
        .arg("-C")
        .arg(&options.git_dir)
        .args(["cat-file", "--batch-check"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("starting git cat-file --batch-check")?;
    let mut input = String::new();
    let lines: Vec<(&str, &str)> = listed.lines().filter_map(|l| l.split_once(' ')).collect();
    for (commit, _) in &lines {
        let _ = writeln!(input, "{commit}:openapi.json");
    }
    let mut stdin = check.stdin.take().context("git's stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut answers = String::new();
    check
        .stdout
        .take()
        .context("git's stdout")?
        .read_to_string(&mut answers)?;
    let _ = writer.join();
    check.wait()?;
    let mut out: Vec<(String, String, String)> = Vec::new();
    for ((commit, date), answer) in lines.iter().zip(answers.lines()) {
        // `<oid> blob <size>`, or `<name> missing`. Git LFS pointers are a few hundred
        // bytes; a real document is megabytes.
        let parts: Vec<&str> = answer.split(' ').collect();
        let [oid, "blob", size] = parts.as_slice() else {
            continue;
        };
        if size.parse::<u64>().unwrap_or(0) < 100_000 {
            continue;
        }
        if out.last().is_some_and(|(_, _, b)| b == oid) {
            continue;
        }
        out.push((commit.to_string(), date.to_string(), oid.to_string()));
    }
    Ok(out)
}

/// `git cat-file --batch`, kept running: one blob per request.
pub(crate) struct Cat {
    child: std::process::Child,
    out: BufReader<std::process::ChildStdout>,
}

impl Cat {
    pub(crate) fn start(git_dir: &Path) -> Result<Self> {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(git_dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("starting git cat-file --batch")?;
        let out = BufReader::new(child.stdout.take().context("git's stdout")?);
        Ok(Self { child, out })
    }

    pub(crate) fn read(&mut self, oid: &str) -> Result<Vec<u8>> {
        let stdin = self.child.stdin.as_mut().context("git's stdin")?;
        writeln!(stdin, "{oid}")?;
        stdin.flush()?;
        let mut header = String::new();
        self.out.read_line(&mut header)?;
        let size: usize = header
            .split(' ')
            .nth(2)
            .and_then(|s| s.trim().parse().ok())
            .with_context(|| format!("git cat-file answered {header:?}"))?;
        let mut bytes = vec![0; size + 1];
        self.out.read_exact(&mut bytes)?;
        bytes.pop();
        Ok(bytes)
    }
}

impl Drop for Cat {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
