//! Running the main job (the `cf-mcp-sync` command) as a user would: a child process
//! with an environment the test controls entirely, its exit code, output and peak memory.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The `cf-mcp-sync` binary, next to the test binaries. `cargo test --workspace` (what
/// CI runs) builds it; running one test target alone needs it built first.
pub fn sync_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // <target>/<profile>/deps/<test> → <target>/<profile>/cf-mcp-sync
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile dir");
    let path = profile_dir.join(format!("cf-mcp-sync{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.is_file(),
        "{} is missing: `cargo test --workspace` builds it, or run \
         `cargo build -p cf-mcp-sync` first",
        path.display()
    );
    path
}

/// What a run of the main job left behind.
#[derive(Debug)]
pub struct Run {
    /// The exit code (`None` when killed by a signal).
    pub code: Option<i32>,
    /// Standard output, as text.
    pub stdout: String,
    /// Standard error, as text.
    pub stderr: String,
    /// Peak resident memory of the process, in KiB, as `ru_maxrss` reports it. Linux
    /// carries the forking parent's peak into it across `exec`, so it is an upper bound
    /// that includes the test process; [`Run::own_peak_rss_kib`] is the exact figure.
    pub max_rss_kib: u64,
    /// The process's own peak RSS in KiB (`VmHWM` of its image, which starts fresh at
    /// exec), read by the test from `/proc/<pid>/status` when the process stopped at
    /// its exit, before its memory went; only for runs of [`run_sync_measured`].
    pub own_peak_rss_kib: Option<u64>,
}

impl Run {
    /// The JSON records on stdout (`--output json`, the default off a terminal), one per
    /// line.
    pub fn records(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect()
    }

    /// The one JSON record of a run over one id.
    pub fn record(&self) -> serde_json::Value {
        let mut records = self.records();
        assert_eq!(
            records.len(),
            1,
            "stdout: {}\nstderr: {}",
            self.stdout,
            self.stderr
        );
        records.remove(0)
    }
}

/// The environment variables a run keeps from the test's own environment: enough to
/// run at all, nothing that could change the outcome (credentials, proxies, RUST_LOG).
const KEPT_VARS: [&str; 2] = ["PATH", "HOME"];

/// Runs `cf-mcp-sync` with `args` and exactly `env` (plus PATH and HOME), and
/// waits for it with `wait4` so that its peak RSS is known.
pub fn run_sync(args: &[&str], env: &[(&str, &str)]) -> Run {
    let env: Vec<(&str, std::ffi::OsString)> = env.iter().map(|(k, v)| (*k, (*v).into())).collect();
    run_sync_os(args, &env)
}

/// [`run_sync`] with the process's own peak memory measured ([`Run::own_peak_rss_kib`]):
/// the command runs under ptrace, which stops it once at its exec and once at its exit,
/// where the test reads its `VmHWM`; every signal it gets is passed on. The command
/// measures nothing itself.
pub fn run_sync_measured(args: &[&str], env: &[(&str, &str)]) -> Run {
    let env: Vec<(&str, std::ffi::OsString)> = env.iter().map(|(k, v)| (*k, (*v).into())).collect();
    run_sync_with(args, &env, true)
}

/// [`run_sync`] from async code: the child is waited for on a blocking thread, so the
/// servers the test runs on the same runtime keep answering.
pub async fn run_sync_off_runtime<A, K, V>(
    args: impl IntoIterator<Item = A>,
    env: impl IntoIterator<Item = (K, V)>,
) -> Run
where
    A: AsRef<str>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    run_off_runtime(args, env, false).await
}

/// [`run_sync_measured`] from async code, as [`run_sync_off_runtime`].
pub async fn run_sync_measured_off_runtime<A, K, V>(
    args: impl IntoIterator<Item = A>,
    env: impl IntoIterator<Item = (K, V)>,
) -> Run
where
    A: AsRef<str>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    run_off_runtime(args, env, true).await
}

async fn run_off_runtime<A, K, V>(
    args: impl IntoIterator<Item = A>,
    env: impl IntoIterator<Item = (K, V)>,
    measured: bool,
) -> Run
where
    A: AsRef<str>,
    K: AsRef<str>,
    V: AsRef<str>,
{
    let args: Vec<String> = args.into_iter().map(|a| a.as_ref().to_string()).collect();
    let env: Vec<(String, String)> = env
        .into_iter()
        .map(|(k, v)| (k.as_ref().to_string(), v.as_ref().to_string()))
        .collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        if measured {
            run_sync_measured(&args, &env)
        } else {
            run_sync(&args, &env)
        }
    })
    .await
    .expect("join the child's waiter")
}

/// Spawns the command so that it dies with the thread that spawned it (which waits for
/// it): a test process killed mid-run (a harness timeout, a mutation run) must not leave
/// the command running (seen: a mutant looping in its signal handler outlived
/// cargo-mutants' timeout by ten minutes, at full CPU).
pub fn spawn_tied(cmd: &mut Command) -> std::process::Child {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec only prctl(2) runs, which is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .unwrap_or_else(|e| panic!("spawn {:?}: {e}", cmd.get_program()))
}

/// [`run_sync`] with values that need not be UTF-8.
pub fn run_sync_os(args: &[&str], env: &[(&str, std::ffi::OsString)]) -> Run {
    run_sync_with(args, env, false)
}

fn run_sync_with(args: &[&str], env: &[(&str, std::ffi::OsString)], measured: bool) -> Run {
    let mut cmd = Command::new(sync_binary());
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in KEPT_VARS {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    if measured {
        use std::os::unix::process::CommandExt;
        // SAFETY: between fork and exec only ptrace(2) runs, which is async-signal-safe.
        #[allow(unsafe_code)]
        unsafe {
            cmd.pre_exec(|| {
                let null = std::ptr::null_mut::<libc::c_void>();
                if libc::ptrace(libc::PTRACE_TRACEME, 0, null, null) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    // Spawned and waited for on this thread: a tracee's tracer is the thread that
    // forked it.
    let mut child = spawn_tied(&mut cmd);
    let mut out = child.stdout.take().expect("stdout");
    let mut err = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = out.read_to_end(&mut buf);
        buf
    });
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let (code, max_rss_kib, own_peak_rss_kib) = wait_with_rusage(child.id());
    // The process is reaped by wait4; `Child` must not wait again.
    std::mem::forget(child);
    Run {
        code,
        stdout: String::from_utf8_lossy(&out_reader.join().expect("stdout reader")).into_owned(),
        stderr: String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned(),
        max_rss_kib,
        own_peak_rss_kib,
    }
}

/// Waits for the child to end: its exit code, `ru_maxrss`, and, when it runs under
/// ptrace (`PTRACE_TRACEME`), its own `VmHWM` read at its exit stop. A traced child
/// stops first at its exec (where exit stops are asked for), then at every signal
/// (passed on unchanged), then once at its exit, before its memory is released.
#[allow(unsafe_code)]
fn wait_with_rusage(pid: u32) -> (Option<i32>, u64, Option<u64>) {
    let pid = libc::pid_t::try_from(pid).expect("pid");
    let null = std::ptr::null_mut::<libc::c_void>();
    let mut own_peak = None;
    let mut exec_seen = false;
    loop {
        let mut status: libc::c_int = 0;
        // SAFETY: a zeroed rusage is a valid value; wait4 fills it for our own child.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: pid is a child of this process that nothing else waits for.
        let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
        assert_eq!(waited, pid, "wait4: {}", std::io::Error::last_os_error());
        if !libc::WIFSTOPPED(status) {
            let code = libc::WIFEXITED(status).then(|| libc::WEXITSTATUS(status));
            return (code, u64::try_from(usage.ru_maxrss).unwrap_or(0), own_peak);
        }
        let signal = libc::WSTOPSIG(status);
        let event = status >> 16;
        let mut deliver = signal;
        if signal == libc::SIGTRAP && event == libc::PTRACE_EVENT_EXIT {
            own_peak = vm_hwm_kib(pid);
            deliver = 0;
        } else if signal == libc::SIGTRAP && !exec_seen {
            exec_seen = true;
            deliver = 0;
            let options = libc::PTRACE_O_TRACEEXIT | libc::PTRACE_O_EXITKILL;
            // SAFETY: our tracee, stopped; the options are a plain integer.
            let set = unsafe {
                libc::ptrace(
                    libc::PTRACE_SETOPTIONS,
                    pid,
                    null,
                    options as usize as *mut libc::c_void,
                )
            };
            assert_eq!(
                set,
                0,
                "PTRACE_SETOPTIONS: {}",
                std::io::Error::last_os_error()
            );
        }
        // SAFETY: our tracee, stopped; `deliver` is a signal number or 0.
        let resumed = unsafe {
            libc::ptrace(
                libc::PTRACE_CONT,
                pid,
                null,
                deliver as usize as *mut libc::c_void,
            )
        };
        assert_eq!(
            resumed,
            0,
            "PTRACE_CONT: {}",
            std::io::Error::last_os_error()
        );
    }
}

/// `VmHWM` of a live process (or one stopped at its exit), in KiB.
fn vm_hwm_kib(pid: libc::pid_t) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Runs `cf-mcp-sync` like [`run_sync`], sends it `signal` once `records` lines have
/// arrived on its stdout (waiting on the records, not on time), and returns the whole
/// run. Blocking: from async code, call it through `spawn_blocking`.
pub fn run_sync_interrupted(
    args: &[String],
    env: &[(String, String)],
    records: usize,
    signal: libc::c_int,
) -> Run {
    run_sync_signalled(args, env, records, &[], &[signal])
}

/// [`run_sync_interrupted`] in full: the command starts with the `ignored` signals
/// ignored (as under `nohup`) and every other signal it is sent at its default action
/// (whatever the test process inherited), and is sent `signals` in order.
pub fn run_sync_signalled(
    args: &[String],
    env: &[(String, String)],
    records: usize,
    ignored: &[libc::c_int],
    signals: &[libc::c_int],
) -> Run {
    use std::io::BufRead;
    use std::os::unix::process::CommandExt;
    let mut cmd = Command::new(sync_binary());
    cmd.args(args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for name in KEPT_VARS {
        if let Some(v) = std::env::var_os(name) {
            cmd.env(name, v);
        }
    }
    cmd.envs(env.iter().map(|(k, v)| (k, v)));
    let (ignored, sent): (Vec<libc::c_int>, Vec<libc::c_int>) =
        (ignored.to_vec(), signals.to_vec());
    // SAFETY: between fork and exec only signal(2) runs, which is async-signal-safe.
    #[allow(unsafe_code)]
    unsafe {
        cmd.pre_exec(move || {
            for &s in &sent {
                let action = if ignored.contains(&s) {
                    libc::SIG_IGN
                } else {
                    libc::SIG_DFL
                };
                if libc::signal(s, action) == libc::SIG_ERR {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    let mut child = spawn_tied(&mut cmd);
    let mut err = child.stderr.take().expect("stderr");
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = err.read_to_end(&mut buf);
        buf
    });
    let mut out = std::io::BufReader::new(child.stdout.take().expect("stdout"));
    let mut stdout = String::new();
    for seen in 0..records {
        let before = stdout.len();
        let n = out.read_line(&mut stdout).expect("read stdout");
        assert!(
            n > 0 && stdout[before..].ends_with('\n'),
            "stdout ended after {seen} of {records} records: {stdout}"
        );
    }
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    for &signal in signals {
        // SAFETY: kill(2) on our own child, which has not been waited for yet.
        #[allow(unsafe_code)]
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill: {}", std::io::Error::last_os_error());
    }
    let _ = out.read_to_string(&mut stdout);
    let status = child.wait().expect("wait");
    Run {
        code: status.code(),
        stdout,
        stderr: String::from_utf8_lossy(&err_reader.join().expect("stderr reader")).into_owned(),
        max_rss_kib: 0,
        own_peak_rss_kib: None,
    }
}
