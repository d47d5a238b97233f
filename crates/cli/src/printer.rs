//! The printer: each result rendered when it arrives (a JSON record or a text line, an
//! annotation, a summary row), written in input order, and the exit code of the run.

use std::io::Write;
use std::sync::{Mutex, PoisonError};

use cloudflare_mcp_sync::{Error, SyncReport};

use crate::args::Output;
use crate::ci_output;
use crate::exit::{Exit, exit_for, worst};
use crate::job::Job;
use crate::output::{Outcome, Record, text_line, text_not_attempted};
use crate::terminal::to_stderr;

/// How far past the earliest unwritten id a bulk run starts new ids: the most records
/// that wait in [`Printer`] for an earlier one.
pub const MAX_AHEAD: usize = cloudflare_mcp_sync::DEFAULT_MAX_AHEAD;

pub fn lock(printer: &Mutex<Printer>) -> std::sync::MutexGuard<'_, Printer> {
    printer.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One id's row of the Markdown summary, and its outcome (for the counts).
type SummaryRow = (String, Outcome);

/// One id's record, rendered when its result arrived.
struct Rendered {
    line: std::io::Result<String>,
    exit: Exit,
    /// The `error: <id>: …` line for stderr (JSON output only).
    error_line: Option<String>,
}

/// Writes the records in input order as results arrive: a result that finishes before
/// an earlier id's waits in `pending` (at most [`MAX_AHEAD`] of them, as rendered text)
/// until every id before it is written. Input order keeps the documented
/// contract (a script may pair records with the ids it passed), and an earlier id that
/// stalls holds the later ones back only until its `--timeout` or an interrupt.
pub struct Printer {
    ids: Vec<String>,
    output: Output,
    mock: bool,
    width: usize,
    bar: Option<indicatif::ProgressBar>,
    pending: Vec<Option<Rendered>>,
    next: usize,
    written: std::io::Result<()>,
    quiet: u8,
    worst: Exit,
    /// With `--summary`: each id's row and outcome, by input position.
    summary: Option<(std::path::PathBuf, Vec<Option<SummaryRow>>)>,
    annotations: bool,
}

impl Printer {
    pub fn new(job: &Job, mock: bool, bar: Option<indicatif::ProgressBar>) -> Self {
        Self {
            ids: job.server_ids.clone(),
            output: job.output,
            mock,
            width: job
                .server_ids
                .iter()
                .map(|id| id.chars().count())
                .max()
                .unwrap_or(0),
            bar,
            pending: job.server_ids.iter().map(|_| None).collect(),
            next: 0,
            written: Ok(()),
            quiet: job.quiet,
            worst: Exit::Ready,
            summary: job
                .summary
                .clone()
                .map(|path| (path, job.server_ids.iter().map(|_| None).collect())),
            annotations: job.annotations,
        }
    }

    /// The result of id `i`: rendered now, written as soon as every id before it is.
    pub fn finished(&mut self, i: usize, result: &Result<SyncReport, Error>) {
        let Some(id) = self.ids.get(i) else { return };
        // Everything printed holds server text: nothing a CI runner would read as a
        // workflow command. The library took the run's credentials out of that text
        // (only out of the server's strings, never out of ids, keys or statuses).
        let safe = |text: String, json: bool| ci_output::defuse(&text, json);
        let line = match self.output {
            Output::Text => Ok(safe(text_line(id, self.width, result), false)),
            Output::Json => serde_json::to_string(&Record::new(id, self.mock, result))
                .map(|l| safe(l, true))
                .map_err(std::io::Error::other),
        };
        // In JSON the failure is inside the record; say it on stderr too, for the log
        // of whoever runs this (in text it is already on the line).
        let error_line = match (self.output, result) {
            (Output::Json, Err(e)) => Some(safe(format!("error: {id}: {e}"), false)),
            _ => None,
        };
        let row = self.summary.is_some().then(|| ci_output::row(id, result));
        if let (Some(row), Some(slot)) = (
            row,
            self.summary.as_mut().and_then(|(_, rows)| rows.get_mut(i)),
        ) {
            *slot = Some((row, Outcome::of(result)));
        }
        if self.annotations
            && self.quiet < 2
            && let Some(line) = ci_output::annotation(id, result).map(|a| safe(a, false))
        {
            match &self.bar {
                Some(bar) => bar.suspend(|| to_stderr(&line)),
                None => to_stderr(&line),
            }
        }
        if let Some(slot) = self.pending.get_mut(i) {
            *slot = Some(Rendered {
                line,
                exit: exit_for(result),
                error_line,
            });
        }
        while let Some(rendered) = self.pending.get_mut(self.next).and_then(Option::take) {
            self.write(rendered);
            self.next += 1;
        }
    }

    /// After a signal: writes what finished, and a `not_attempted` record for every
    /// other id, in input order. Returns how many were not attempted.
    pub fn interrupt(&mut self) -> usize {
        let mut skipped = 0;
        while self.next < self.ids.len() {
            let rendered = match self.pending.get_mut(self.next).and_then(Option::take) {
                Some(rendered) => rendered,
                None => {
                    skipped += 1;
                    let id = &self.ids[self.next];
                    Rendered {
                        line: match self.output {
                            Output::Text => Ok(text_not_attempted(id, self.width)),
                            Output::Json => {
                                serde_json::to_string(&Record::not_attempted(id, self.mock))
                                    .map_err(std::io::Error::other)
                            }
                        },
                        exit: Exit::Ready,
                        error_line: None,
                    }
                }
            };
            self.write(rendered);
            self.next += 1;
        }
        skipped
    }

    fn write(&mut self, rendered: Rendered) {
        self.worst = worst([self.worst, rendered.exit].into_iter());
        if self.written.is_ok() {
            let write = |line: &str| {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{line}").and_then(|()| out.flush())
            };
            self.written = match (&rendered.line, &self.bar) {
                // The bar steps aside while the line is written, then draws again.
                (Ok(line), Some(bar)) => bar.suspend(|| write(line)),
                (Ok(line), None) => write(line),
                (Err(e), _) => Err(std::io::Error::new(e.kind(), e.to_string())),
            };
        }
        match (rendered.error_line, &self.bar) {
            (Some(line), _) if self.quiet >= 2 => drop(line),
            (Some(line), Some(bar)) => bar.suspend(|| to_stderr(&line)),
            (Some(line), None) => to_stderr(&line),
            (None, _) => {}
        }
    }

    /// Appends the Markdown summary, in input order, when `--summary` asked for it; an
    /// id without a result (an interrupted run) is shown as not attempted. A summary
    /// that cannot be written is said on stderr and changes no exit code: the records
    /// on stdout are the results.
    fn write_summary(&mut self, say: &impl Fn(&str)) {
        let Some((path, rows)) = self.summary.take() else {
            return;
        };
        let (rows, outcomes): (Vec<String>, Vec<Outcome>) = rows
            .into_iter()
            .zip(&self.ids)
            .map(|(row, id)| {
                row.unwrap_or_else(|| (ci_output::row_not_attempted(id), Outcome::NotAttempted))
            })
            .unzip();
        let text = ci_output::document(&rows, &outcomes, self.mock);
        if let Err(e) = ci_output::append(&path, &text) {
            say(&format!(
                "warning: cannot write the summary to {}: {e}",
                path.display()
            ));
        }
    }

    /// The exit code of the whole run: the signal's when there was one, else the worst
    /// of the servers', or a failure to write the results.
    pub fn finish(&mut self, signal: Option<Exit>, say: &impl Fn(&str)) -> Exit {
        self.write_summary(say);
        match std::mem::replace(&mut self.written, Ok(())) {
            // A reader that went away (`| head`) is not a failure of the sync.
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                say(&format!("error: cannot write the results: {e}"));
                signal.unwrap_or(Exit::Failed)
            }
            _ => signal.unwrap_or(self.worst),
        }
    }
}
