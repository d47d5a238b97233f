//! The terminal: lines on stderr that never panic, and whether stdout and stderr are
//! terminals (text output, progress bar, colours).

use std::io::{IsTerminal, Write};

/// Writes one line on stderr, ignoring failure: unlike `eprintln!`, a stderr that went
/// away (a closed pipe) neither panics nor stops the records on stdout.
pub fn to_stderr(line: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{line}").and_then(|()| err.flush());
}

/// Whether stdout is a terminal (text output by default).
pub fn stdout_is_terminal() -> bool {
    std::io::stdout().is_terminal()
}

/// Whether stderr is a terminal (progress bar, colours).
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}
