//! The exit policy: the codes `--help` documents, what each result means for the code,
//! and which wins when servers ended differently.

use std::process::ExitCode;

use cloudflare_mcp_sync::{Error, SyncReport};

use crate::output::Outcome;
use crate::signals::Interrupt;

/// The exit codes `--help` documents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Every server synced and ready (0).
    Ready,
    /// Some request failed (1).
    Failed,
    /// Usage or configuration error; nothing was sent (2).
    Usage,
    /// Every request succeeded, but some server is not ready (3).
    NotReady,
    /// Interrupted by a signal: 128 + its number, as a shell reports it.
    Interrupted(Interrupt),
}

impl Exit {
    /// The process's exit code.
    pub fn code(self) -> u8 {
        match self {
            Self::Ready => 0,
            Self::Failed => 1,
            Self::Usage => 2,
            Self::NotReady => 3,
            Self::Interrupted(signal) => signal.exit_code(),
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit.code())
    }
}

pub fn exit_for(result: &Result<SyncReport, Error>) -> Exit {
    match (Outcome::of(result), result) {
        (_, Err(e)) => exit_for_error(e),
        (Outcome::Ready, _) => Exit::Ready,
        _ => Exit::NotReady,
    }
}

pub fn exit_for_error(e: &Error) -> Exit {
    match e {
        Error::InvalidInput(_) | Error::Config(_) => Exit::Usage,
        _ => Exit::Failed,
    }
}

/// The exit code of a run: the worst of its servers' (ready when there is none).
pub fn worst(exits: impl Iterator<Item = Exit>) -> Exit {
    exits.max_by_key(|e| severity(*e)).unwrap_or(Exit::Ready)
}

/// Which exit code wins when servers ended differently: usage, then a failed request,
/// then not ready.
fn severity(exit: Exit) -> u8 {
    match exit {
        Exit::Ready => 0,
        Exit::NotReady => 1,
        Exit::Failed => 2,
        Exit::Usage => 3,
        Exit::Interrupted(_) => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_worst_outcome_decides_the_exit_code() {
        use Exit::*;
        for (exits, expected) in [
            (vec![], Ready),
            (vec![Ready, Ready], Ready),
            (vec![NotReady, Ready], NotReady),
            (vec![Ready, NotReady], NotReady),
            (vec![NotReady, Failed, Ready], Failed),
            (vec![Failed, NotReady], Failed),
            (vec![Failed, Usage, NotReady], Usage),
        ] {
            assert_eq!(worst(exits.clone().into_iter()), expected, "{exits:?}");
        }
        assert_eq!(ExitCode::from(Exit::NotReady), ExitCode::from(3));
    }
}
