//! Running a tool and reading what it printed: one place for the "failed, here is its
//! stderr" error every caller wants.

use std::process::Command;

use anyhow::{Context, Result, bail};

/// Runs `command` to its end; its stdout, or an error naming `what` with its exit
/// status and stderr.
pub fn stdout_of(command: &mut Command, what: &str) -> Result<String> {
    let out = command
        .output()
        .with_context(|| format!("running {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed ({}):\n{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
