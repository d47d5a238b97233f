//! The signals that end a run early. Every terminating signal a process can catch is
//! taken over (SIGHUP when a terminal or ssh session closes, SIGINT, SIGQUIT, SIGUSR1,
//! SIGUSR2, SIGTERM), so that however a run is stopped its finished records, the
//! `not_attempted` ones and the summary are written, and the exit code is 128 + the
//! signal's number, as a shell reports a death by that signal.

/// Which signal interrupted the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interrupt {
    name: &'static str,
    number: i32,
}

impl Interrupt {
    /// `SIGTERM`, as the "interrupted" line names it.
    pub fn name(self) -> &'static str {
        self.name
    }

    /// 128 + the signal's number on this platform (SIGHUP 129, SIGINT 130, SIGQUIT 131,
    /// SIGTERM 143; SIGUSR1/SIGUSR2 138/140 on Linux, 158/159 on macOS).
    pub fn exit_code(self) -> u8 {
        u8::try_from(128 + self.number).unwrap_or(u8::MAX)
    }

    /// SIGINT, for platforms where Ctrl-C is the only signal.
    #[cfg(not(unix))]
    fn ctrl_c() -> Self {
        Self {
            name: "SIGINT",
            number: 2,
        }
    }
}

/// The handlers, registered once before the first request.
pub struct Signals {
    #[cfg(unix)]
    handlers: Vec<(tokio::signal::unix::Signal, Interrupt)>,
}

impl Signals {
    /// Takes over each terminating signal that can be caught. One that cannot be
    /// registered, or that the process was started ignoring (`nohup` ignores SIGHUP),
    /// keeps what it had: the run must not stop where its caller asked it to go on.
    pub fn register() -> Self {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let ignored = ignored_at_start();
            let kinds = [
                (SignalKind::hangup(), "SIGHUP"),
                (SignalKind::interrupt(), "SIGINT"),
                (SignalKind::quit(), "SIGQUIT"),
                (SignalKind::user_defined1(), "SIGUSR1"),
                (SignalKind::user_defined2(), "SIGUSR2"),
                (SignalKind::terminate(), "SIGTERM"),
            ];
            let handlers = kinds
                .into_iter()
                .filter(|(kind, _)| !is_ignored(ignored, kind.as_raw_value()))
                .filter_map(|(kind, name)| {
                    let number = kind.as_raw_value();
                    signal(kind)
                        .ok()
                        .map(|handler| (handler, Interrupt { name, number }))
                })
                .collect();
            Self { handlers }
        }
        #[cfg(not(unix))]
        Self {}
    }

    /// Resolves at the first signal.
    pub async fn recv(&mut self) -> Interrupt {
        #[cfg(unix)]
        {
            std::future::poll_fn(|cx| {
                for (handler, which) in &mut self.handlers {
                    // `None` (the runtime is shutting down) is not a signal.
                    if let std::task::Poll::Ready(Some(())) = handler.poll_recv(cx) {
                        return std::task::Poll::Ready(*which);
                    }
                }
                std::task::Poll::Pending
            })
            .await
        }
        #[cfg(not(unix))]
        {
            match tokio::signal::ctrl_c().await {
                Ok(()) => Interrupt::ctrl_c(),
                Err(_) => std::future::pending().await,
            }
        }
    }
}

/// The signals this process was started ignoring (`SigIgn` of /proc/self/status, a
/// hexadecimal mask whose bit n-1 is signal n); none where that cannot be read.
#[cfg(unix)]
fn ignored_at_start() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| sig_ign(&status))
        .unwrap_or(0)
}

/// The `SigIgn:` mask of a /proc status text.
#[cfg(unix)]
fn sig_ign(status: &str) -> Option<u64> {
    let mask = status.lines().find_map(|l| l.strip_prefix("SigIgn:"))?;
    u64::from_str_radix(mask.trim(), 16).ok()
}

/// Whether signal `number` is set in `mask`.
#[cfg(unix)]
fn is_ignored(mask: u64, number: i32) -> bool {
    (1..=64).contains(&number) && mask & (1 << (number - 1)) != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn signals_ignored_at_start_are_read_from_the_status_mask() {
        // SIGHUP (1) and SIGPIPE (13) ignored, as under `nohup` with a closed pipe.
        let status = "Name:\tcf-mcp-sync\nSigBlk:\t0000000000000000\nSigIgn:\t0000000000001001\n";
        let mask = sig_ign(status).unwrap_or_default();
        assert!(is_ignored(mask, 1));
        assert!(is_ignored(mask, 13));
        assert!(!is_ignored(mask, 2));
        assert!(!is_ignored(mask, 15));
        assert!(!is_ignored(mask, 0));
        assert!(!is_ignored(mask, 65));
        assert_eq!(sig_ign("Name:\tx\n"), None);
    }

    #[test]
    fn the_exit_code_is_128_plus_the_signal() {
        let hup = Interrupt {
            name: "SIGHUP",
            number: 1,
        };
        assert_eq!((hup.name(), hup.exit_code()), ("SIGHUP", 129));
        let term = Interrupt {
            name: "SIGTERM",
            number: 15,
        };
        assert_eq!(term.exit_code(), 143);
    }
}
