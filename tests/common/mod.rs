//! Shared harness for the integration tests that drive real peers (SIPp,
//! baresip) against a real `softacd run` process.
//!
//! It owns: a per-test temporary directory ([`TempDir`]); [`TestServer`], which
//! writes a config, starts the binary, waits for the start-up lines the server
//! prints on stdout (`softacd listening …`, `softacd ready`) and stops it with
//! SIGTERM; a tiny HTTP/1.1 client for the management API; and [`sipp`], which
//! runs one scenario from `sip-tests/` and fails the test with SIPp's own logs.
//!
//! Peers that are missing fail the test with "run scripts/install-deps.sh":
//! the suite never silently skips what it cannot run.
#![allow(dead_code)] // each tests/*.rs binary uses a different part of this module

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How long the server may take from spawn to `softacd ready`.
pub const READY_TIMEOUT: Duration = Duration::from_secs(20);
/// How long the server may take to exit after SIGTERM.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Hard limit for one SIPp run (its own `-timeout` is 15 s).
pub const SIPP_WATCHDOG: Duration = Duration::from_secs(60);

/// The seats of the default test config: (user, password).
pub const SEATS: [(&str, &str); 3] = [
    ("1001", "demo1001"),
    ("1002", "demo1002"),
    ("1003", "demo1003"),
];

/// Absolute path of a file under `sip-tests/` (e.g. `"load/register.xml"`).
pub fn sip_tests_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("sip-tests")
        .join(name)
}

// ---------------------------------------------------------------------------
// Temporary directories
// ---------------------------------------------------------------------------

/// A directory unique to one test, removed (with its contents) on drop.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// Creates `$TMPDIR/softacd-<tag>-<pid>-<n>-<nanos>`.
    pub fn new(tag: &str) -> TempDir {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let name = format!("softacd-{tag}-{}-{n}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(name);
        if let Err(e) = std::fs::create_dir_all(&path) {
            panic!("cannot create temp dir {}: {e}", path.display());
        }
        TempDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes `contents` to `name` inside the directory and returns its path.
    pub fn write(&self, name: &str, contents: &str) -> PathBuf {
        let p = self.path.join(name);
        if let Some(parent) = p.parent() {
            let _ = std::fs::create_dir_all(parent);
        }
        if let Err(e) = std::fs::write(&p, contents) {
            panic!("cannot write {}: {e}", p.display());
        }
        p
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// A 127.0.0.1 port free for both UDP and TCP right now (bound, then released).
pub fn free_port() -> u16 {
    for _ in 0..50 {
        let Ok(udp) = UdpSocket::bind("127.0.0.1:0") else {
            continue;
        };
        let Ok(addr) = udp.local_addr() else {
            continue;
        };
        if TcpListener::bind(addr).is_ok() {
            return addr.port();
        }
    }
    panic!("no free UDP+TCP port on 127.0.0.1 after 50 tries");
}

/// Polls `check` every `every` until it returns `Some`, or `None` after `timeout`.
pub fn poll_until<T>(
    timeout: Duration,
    every: Duration,
    mut check: impl FnMut() -> Option<T>,
) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
        thread::sleep(every);
    }
}

// ---------------------------------------------------------------------------
// The server under test
// ---------------------------------------------------------------------------

/// A `softacd run` process with its own config and data dir.
/// Killed on drop; use [`TestServer::stop`] to test graceful shutdown.
pub struct TestServer {
    child: Option<Child>,
    pid: u32,
    /// First `sip/udp` listener.
    pub udp: SocketAddr,
    /// First `sip/tcp` listener.
    pub tcp: SocketAddr,
    /// Management HTTP listener.
    pub http: SocketAddr,
    /// Data dir as the server reported it.
    pub data_dir: PathBuf,
    /// Every stdout line up to and including `softacd ready`.
    pub startup_lines: Vec<String>,
    stderr_path: PathBuf,
    dir: TempDir,
}

/// What the server printed on stdout before `softacd ready`.
#[derive(Default)]
struct Startup {
    lines: Vec<String>,
    udp: Option<SocketAddr>,
    tcp: Option<SocketAddr>,
    http: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
}

impl Startup {
    /// Records one line; true once `softacd ready` is seen.
    fn take(&mut self, line: &str) -> bool {
        self.lines.push(line.to_owned());
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("softacd listening ") {
            let (what, addr) = rest.split_once(' ').unwrap_or((rest, ""));
            let addr = addr.trim().parse::<SocketAddr>().ok();
            match what {
                "sip/udp" => self.udp = self.udp.or(addr),
                "sip/tcp" => self.tcp = self.tcp.or(addr),
                "http" => self.http = self.http.or(addr),
                _ => {}
            }
        } else if let Some(rest) = line.strip_prefix("softacd data dir ") {
            let dir = rest.split(" (database ").next().unwrap_or(rest);
            self.data_dir = Some(PathBuf::from(dir));
        }
        line == "softacd ready"
    }
}

impl TestServer {
    /// The default test config: UDP+TCP+HTTP on ephemeral 127.0.0.1 ports,
    /// T1 = 500 ms, realm "softacd", seats 1001..1003 (password "demo" + user),
    /// all with skill "support" and auto-ready; the demo's service 100 → the
    /// `main` IVR flow and queue `support` (1 s wrap-up, 8 s ring timeout).
    pub fn default_config(data_dir: &Path) -> String {
        TestServer::config_with_registrar(data_dir, "")
    }

    /// [`TestServer::default_config`] with `registrar_extra` (TOML lines)
    /// appended to its `[registrar]` table, e.g. `digest_algorithms = ["MD5"]`.
    pub fn config_with_registrar(data_dir: &Path, registrar_extra: &str) -> String {
        let mut cfg = format!(
            r#"[sip]
udp = ["127.0.0.1:0"]
tcp = ["127.0.0.1:0"]
domain = "127.0.0.1"

[sip.timers]
t1_ms = 500

[http]
listen = "127.0.0.1:0"

[storage]
data_dir = "{}"

[registrar]
realm = "softacd"
min_expires = 60
{registrar_extra}
[log]
level = "debug"

[cti]
ring_timeout_s = 8

[[service]]
number = "100"
script = "main"

[[queue]]
name = "support"
wrap_up_s = 1
"#,
            data_dir.display()
        );
        for (user, password) in SEATS {
            cfg.push_str(&format!(
                "\n[[seat]]\nuser = \"{user}\"\npassword = \"{password}\"\nskills = [\"support\"]\nauto_ready = true\n"
            ));
        }
        cfg
    }

    /// Starts the server with [`TestServer::default_config`].
    pub fn start() -> TestServer {
        TestServer::start_with_config(TestServer::default_config)
    }

    /// Starts the server with the config `make_config(data_dir)` returns.
    pub fn start_with_config(make_config: impl FnOnce(&Path) -> String) -> TestServer {
        let dir = TempDir::new("server");
        let data_dir = dir.path().join("data");
        if let Err(e) = std::fs::create_dir_all(&data_dir) {
            panic!("cannot create {}: {e}", data_dir.display());
        }
        dir.write("softacd.toml", &make_config(&data_dir));
        TestServer::spawn_in(dir)
    }

    /// Runs `softacd run` on `dir`'s `softacd.toml` and `data/` (a new
    /// server, or one started again on what a stopped server left).
    fn spawn_in(dir: TempDir) -> TestServer {
        let data_dir = dir.path().join("data");
        let config = dir.path().join("softacd.toml");
        let stderr_path = dir.path().join("softacd.stderr");
        let stderr = match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&stderr_path)
        {
            Ok(f) => f,
            Err(e) => panic!("cannot create {}: {e}", stderr_path.display()),
        };
        let mut child = match Command::new(env!("CARGO_BIN_EXE_softacd"))
            .arg("run")
            .arg("--config")
            .arg(&config)
            .arg("--data-dir")
            .arg(&data_dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
        {
            Ok(c) => c,
            Err(e) => panic!("cannot spawn {}: {e}", env!("CARGO_BIN_EXE_softacd")),
        };
        let pid = child.id();
        let lines = spawn_line_reader(child.stdout.take());
        let startup = match wait_for_ready(&lines, READY_TIMEOUT) {
            Ok(s) => s,
            Err((why, s)) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "softacd did not become ready: {why}\n--- stdout ---\n{}\n--- stderr ---\n{}",
                    s.lines.join("\n"),
                    read_tail(&stderr_path, 8000)
                );
            }
        };
        let missing = |what: &str| -> ! {
            panic!(
                "softacd printed 'softacd ready' without a '{what}' line; stdout was:\n{}",
                startup.lines.join("\n")
            )
        };
        TestServer {
            pid,
            udp: startup.udp.unwrap_or_else(|| missing("listening sip/udp")),
            tcp: startup.tcp.unwrap_or_else(|| missing("listening sip/tcp")),
            http: startup.http.unwrap_or_else(|| missing("listening http")),
            data_dir: startup
                .data_dir
                .clone()
                .unwrap_or_else(|| missing("data dir")),
            startup_lines: startup.lines,
            child: Some(child),
            stderr_path,
            dir,
        }
    }

    /// The SIP listener for a SIPp transport mode (`"u1"` → UDP, `"t1"` → TCP).
    pub fn sip_addr(&self, transport: &str) -> SocketAddr {
        match transport {
            "u1" => self.udp,
            "t1" => self.tcp,
            other => panic!("unknown SIPp transport {other:?} (use \"u1\" or \"t1\")"),
        }
    }

    /// What the server wrote on stderr so far (its logs), at most `max` bytes from the end.
    pub fn stderr_tail(&self, max: usize) -> String {
        read_tail(&self.stderr_path, max)
    }

    /// GET `path` on the management API: (status, body). Panics on I/O errors.
    pub fn http_get(&self, path: &str) -> (u16, String) {
        match http_get(self.http, path) {
            Ok(r) => r,
            Err(e) => panic!(
                "GET http://{}{path} failed: {e}\n--- server stderr ---\n{}",
                self.http,
                self.stderr_tail(4000)
            ),
        }
    }

    /// GET /api/registrations parsed as a JSON array of bindings.
    pub fn registrations(&self) -> Vec<serde_json::Value> {
        let (status, body) = self.http_get("/api/registrations");
        assert_eq!(status, 200, "GET /api/registrations: {body}");
        match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(serde_json::Value::Array(items)) => items,
            Ok(other) => panic!("GET /api/registrations: expected a JSON array, got {other}"),
            Err(e) => panic!("GET /api/registrations: not JSON ({e}): {body}"),
        }
    }

    /// The bindings of `user` currently listed by GET /api/registrations.
    pub fn bindings_of(&self, user: &str) -> Vec<serde_json::Value> {
        self.registrations()
            .into_iter()
            .filter(|b| b.get("user").and_then(|u| u.as_str()) == Some(user))
            .collect()
    }

    /// Sends SIGTERM and waits (up to [`STOP_TIMEOUT`]) for the exit status.
    pub fn stop(mut self) -> ExitStatus {
        let Some(child) = self.child.take() else {
            panic!("softacd already stopped");
        };
        signal(self.pid, "TERM");
        match wait_child(child, self.pid, STOP_TIMEOUT) {
            Some(status) => status,
            None => panic!(
                "softacd did not exit within {STOP_TIMEOUT:?} of SIGTERM\n--- stderr ---\n{}",
                self.stderr_tail(8000)
            ),
        }
    }
}

impl TestServer {
    /// [`TestServer::stop`], keeping the data dir (and the config dir around
    /// it) alive in the returned [`TempDir`], for tests of what a stopped
    /// server left on disk.
    pub fn stop_keeping_files(mut self) -> (ExitStatus, TempDir) {
        let dir = std::mem::replace(&mut self.dir, TempDir::new("spent"));
        (self.stop(), dir)
    }

    /// SIGKILL (a crash: no shutdown at all), keeping the config and data
    /// dir in the returned [`TempDir`] for [`TestServer::restart_in`].
    pub fn kill_keeping_files(mut self) -> TempDir {
        let Some(child) = self.child.take() else {
            panic!("softacd already stopped");
        };
        signal(self.pid, "KILL");
        if wait_child(child, self.pid, STOP_TIMEOUT).is_none() {
            panic!("softacd did not die of SIGKILL within {STOP_TIMEOUT:?}");
        }
        std::mem::replace(&mut self.dir, TempDir::new("spent"))
    }

    /// Starts `softacd run` again on the config and data dir a stopped or
    /// killed server left (same ports if the config names them).
    pub fn restart_in(dir: TempDir) -> TestServer {
        TestServer::spawn_in(dir)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        if thread::panicking() {
            eprintln!(
                "--- softacd stderr (tail) ---\n{}\n--- end softacd stderr ---",
                self.stderr_tail(6000)
            );
        }
    }
}

/// Reads `out` line by line on a thread and forwards each line; the thread
/// keeps draining after the receiver is gone so the child never blocks.
fn spawn_line_reader(out: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(out) = out {
        thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                let _ = tx.send(line);
            }
        });
    }
    rx
}

/// Waits for `softacd ready`; on failure returns why and what was seen.
#[allow(clippy::result_large_err)] // called once per test server start
fn wait_for_ready(
    lines: &mpsc::Receiver<String>,
    timeout: Duration,
) -> Result<Startup, (String, Startup)> {
    let deadline = Instant::now() + timeout;
    let mut startup = Startup::default();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines.recv_timeout(left) {
            Ok(line) => {
                if startup.take(&line) {
                    return Ok(startup);
                }
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                return Err((format!("no 'softacd ready' within {timeout:?}"), startup))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(("stdout closed (process exited?)".into(), startup))
            }
        }
    }
}

/// `kill -SIG pid` through the `kill` command (no libc dependency).
pub fn signal(pid: u32, sig: &str) {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .status();
    if let Err(e) = status {
        panic!("cannot run kill -{sig} {pid}: {e}");
    }
}

/// Waits for `child` on a thread; `None` (after SIGKILL) if it outlives `timeout`.
fn wait_child(mut child: Child, pid: u32, timeout: Duration) -> Option<ExitStatus> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(status)) => Some(status),
        Ok(Err(e)) => panic!("waiting for pid {pid}: {e}"),
        Err(_) => {
            signal(pid, "KILL");
            None
        }
    }
}

/// The last `max` bytes of a file, lossily decoded ("" if unreadable).
pub fn read_tail(path: &Path, max: usize) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned()
}

// ---------------------------------------------------------------------------
// A tiny HTTP/1.1 client
// ---------------------------------------------------------------------------

/// `GET path` with `Connection: close`; returns (status, body). Handles
/// `Content-Length`, chunked and read-to-close bodies.
pub fn http_get(addr: SocketAddr, path: &str) -> io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nAccept: */*\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    parse_http_response(&raw)
}

fn bad(msg: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg.into())
}

/// Splits a complete HTTP/1.1 response into (status, decoded body).
pub fn parse_http_response(raw: &[u8]) -> io::Result<(u16, String)> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of headers"))?;
    let head = String::from_utf8_lossy(&raw[..split]);
    let body = &raw[split + 4..];
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| bad(format!("bad status line {status_line:?}")))?;
    let mut chunked = false;
    let mut length = None;
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        } else if name.eq_ignore_ascii_case("content-length") {
            length = value.parse::<usize>().ok();
        }
    }
    let body = if chunked {
        decode_chunked(body)?
    } else if let Some(n) = length {
        body.get(..n)
            .ok_or_else(|| bad(format!("body shorter than Content-Length {n}")))?
            .to_vec()
    } else {
        body.to_vec()
    };
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// Decodes a `Transfer-Encoding: chunked` body (trailers ignored).
fn decode_chunked(mut rest: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let eol = rest
            .windows(2)
            .position(|w| w == b"\r\n")
            .ok_or_else(|| bad("chunk size line without CRLF"))?;
        let size_line = String::from_utf8_lossy(&rest[..eol]);
        let size_hex = size_line.split(';').next().unwrap_or_default().trim();
        let size = usize::from_str_radix(size_hex, 16)
            .map_err(|_| bad(format!("bad chunk size {size_hex:?}")))?;
        rest = &rest[eol + 2..];
        if size == 0 {
            return Ok(out);
        }
        let chunk = rest.get(..size).ok_or_else(|| bad("truncated chunk"))?;
        out.extend_from_slice(chunk);
        rest = rest
            .get(size + 2..)
            .ok_or_else(|| bad("chunk without CRLF"))?;
    }
}

// ---------------------------------------------------------------------------
// SIPp
// ---------------------------------------------------------------------------

/// A seat's phone as SIPp in the background: `agent_register.xml` registers
/// `user` (its test-config password) over `transport`, then the out-of-call
/// scenario `uas` (under `sip-tests/call/`) answers; it un-registers once
/// its one call is done. Not yet ready when returned: callers wait for the
/// seat in `/api/agents`.
pub fn spawn_seat_phone(
    server: &TestServer,
    user: &str,
    uas: &str,
    transport: &'static str,
) -> thread::JoinHandle<Output> {
    let password = SEATS
        .iter()
        .find(|(u, _)| *u == user)
        .map(|(_, p)| *p)
        .unwrap_or_else(|| panic!("{user} is not a seat of the test config"));
    let oocsf = sip_tests_path(&format!("call/{uas}"));
    assert!(oocsf.is_file(), "no scenario file {}", oocsf.display());
    let target = server.sip_addr(transport);
    let args: Vec<String> = vec![
        "-oocsf".into(),
        oocsf.to_string_lossy().into_owned(),
        "-s".into(),
        user.into(),
        "-au".into(),
        user.into(),
        "-ap".into(),
        password.into(),
        "-mp".into(),
        free_port().to_string(),
        "-timeout".into(),
        "90s".into(),
    ];
    thread::spawn(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        sipp("call/agent_register.xml", transport, target, &args)
    })
}

/// Runs `sipp -sf sip-tests/<scenario>` once (`-m 1`, overridable through
/// `extra_args`) with transport `"u1"` (UDP) or `"t1"` (TCP) against `target`,
/// and asserts it exits 0. On failure the panic message carries SIPp's error
/// log, its `<log>` actions, the message trace and its final screen.
pub fn sipp(scenario: &str, transport: &str, target: SocketAddr, extra_args: &[&str]) -> Output {
    assert!(
        transport == "u1" || transport == "t1",
        "SIPp transport must be \"u1\" or \"t1\", not {transport:?}"
    );
    let sf = sip_tests_path(scenario);
    assert!(sf.is_file(), "no scenario file {}", sf.display());
    let work = TempDir::new("sipp");
    let err_file = work.path().join("errors.log");
    let log_file = work.path().join("actions.log");
    let msg_file = work.path().join("messages.log");
    let local_port = free_port().to_string();
    let control_port = free_port().to_string();
    let mut cmd = Command::new("sipp");
    cmd.current_dir(work.path())
        .arg("-sf")
        .arg(&sf)
        .args(["-t", transport, "-i", "127.0.0.1"])
        .args(["-p", &local_port, "-cp", &control_port])
        .args(["-m", "1", "-timeout", "15s", "-timeout_error"])
        .args(["-recv_timeout", "8000", "-default_behaviors", "all,-bye"])
        .args(["-nostdin", "-trace_err", "-trace_logs", "-trace_msg"])
        .arg("-error_file")
        .arg(&err_file)
        .arg("-log_file")
        .arg(&log_file)
        .arg("-message_file")
        .arg(&msg_file)
        .args(extra_args)
        .arg(target.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let described = format!("{cmd:?}");
    let child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            panic!("sipp is not installed: run scripts/install-deps.sh ({e})")
        }
        Err(e) => panic!("cannot spawn sipp: {e}"),
    };
    let output = wait_output(child, SIPP_WATCHDOG)
        .unwrap_or_else(|| panic!("sipp still running after {SIPP_WATCHDOG:?}: {described}"));
    if !output.status.success() {
        panic!(
            "SIPp scenario {scenario} over {transport} against {target} failed: {}\n\
             command: {described}\n\
             --- SIPp errors ---\n{}\n--- SIPp <log> actions ---\n{}\n\
             --- SIPp messages (tail) ---\n{}\n--- SIPp stdout (tail) ---\n{}\n--- SIPp stderr ---\n{}",
            output.status,
            read_tail(&err_file, 6000),
            read_tail(&log_file, 2000),
            read_tail(&msg_file, 6000),
            tail_str(&output.stdout, 3000),
            tail_str(&output.stderr, 2000),
        );
    }
    output
}

/// `wait_with_output` with a watchdog: `None` (after SIGKILL) past `timeout`.
/// Waits for `child` to exit and collects its output; kills it after `timeout` (then `None`).
pub fn wait_output(child: Child, timeout: Duration) -> Option<Output> {
    let pid = child.id();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(timeout) {
        Ok(Ok(output)) => Some(output),
        Ok(Err(e)) => panic!("waiting for pid {pid}: {e}"),
        Err(_) => {
            signal(pid, "KILL");
            None
        }
    }
}

/// The last `max` bytes of captured output, lossily decoded.
pub fn tail_str(bytes: &[u8], max: usize) -> String {
    let start = bytes.len().saturating_sub(max);
    String::from_utf8_lossy(bytes.get(start..).unwrap_or_default()).into_owned()
}

/// The embedded IVR shell's config for tests that drive it directly: SIP
/// host `ivr.local`, RTP on 127.0.0.1 in `ports`, `max` calls and streams,
/// every DTMF path on, `threads` media threads, no HTTP hosts beyond loopback.
pub fn ivr_shell_config(
    ports: (u16, u16),
    max: usize,
    threads: usize,
) -> softacd::ivr::shell::IvrShellConfig {
    softacd::ivr::shell::IvrShellConfig {
        sip_host: "ivr.local".into(),
        softacd_peer: SocketAddr::from(([127, 0, 0, 1], 5060)),
        media: softacd::media::runtime::MediaRuntimeConfig {
            bind_ip: std::net::IpAddr::from([127, 0, 0, 1]),
            port_min: ports.0,
            port_max: ports.1,
            max_streams: max,
            dtmf: softacd::media::DtmfPaths::default(),
            rtp_threads: threads,
        },
        max_calls: max,
        timers: softacd::sip::transaction::TimerConfig::default(),
        http_allow: Vec::new(),
        voicemail_dir: std::env::temp_dir().join("softacd-test-voicemail"),
        voicemail_max_files: 10_000,
    }
}

/// [`TestServer::default_config`] with seat 1001 signing in from the desk:
/// not auto-ready, `agent_password_hash = hash`, and queue `support` with
/// `wrap_up_s` (long enough to pick a disposition in).
pub fn desk_config(data_dir: &Path, hash: &str, wrap_up_s: u32) -> String {
    let cfg = TestServer::default_config(data_dir);
    let seat =
        "user = \"1001\"\npassword = \"demo1001\"\nskills = [\"support\"]\nauto_ready = true\n";
    let wrap = "name = \"support\"\nwrap_up_s = 1\n";
    assert!(
        cfg.contains(seat) && cfg.contains(wrap),
        "default test config changed:\n{cfg}"
    );
    let desk_seat = format!(
        "user = \"1001\"\npassword = \"demo1001\"\nskills = [\"support\"]\nauto_ready = false\n\
         agent_password_hash = \"{hash}\"\n"
    );
    cfg.replace(seat, &desk_seat).replace(
        wrap,
        &format!("name = \"support\"\nwrap_up_s = {wrap_up_s}\n"),
    )
}

/// Share of a window's energy in the `hz` bin at 8 kHz (Goertzel; about 1
/// for a pure tone there, 0 for silence): how the recording tests find a
/// party's tone in a WAV read back with sox.
pub fn tone_share(w: &[i16], hz: f64) -> f64 {
    let k = 2.0 * (2.0 * std::f64::consts::PI * hz / 8000.0).cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in w {
        let s0 = f64::from(x) + k * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - k * s1 * s2;
    let energy: f64 = w.iter().map(|&x| f64::from(x).powi(2)).sum();
    if energy == 0.0 {
        0.0
    } else {
        power / (energy * w.len() as f64 / 2.0)
    }
}

/// Root mean square of a window of 16-bit samples.
pub fn rms(w: &[i16]) -> f64 {
    (w.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>() / w.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn startup_lines_give_addresses_and_ready() {
        let mut s = Startup::default();
        assert!(!s.take("softacd listening sip/udp 127.0.0.1:40001"));
        assert!(!s.take("softacd listening sip/tcp 127.0.0.1:40002"));
        assert!(!s.take("softacd listening http 127.0.0.1:40003"));
        assert!(!s.take("softacd data dir /tmp/x y (database /tmp/x y/softacd.sqlite)"));
        assert!(s.take("softacd ready"));
        assert_eq!(s.udp, Some("127.0.0.1:40001".parse().unwrap()));
        assert_eq!(s.tcp, Some("127.0.0.1:40002".parse().unwrap()));
        assert_eq!(s.http, Some("127.0.0.1:40003".parse().unwrap()));
        assert_eq!(s.data_dir, Some(PathBuf::from("/tmp/x y")));
    }

    #[test]
    fn http_response_with_length_and_chunks() {
        let plain = b"HTTP/1.1 200 OK\r\ncontent-length: 15\r\n\r\n{\"status\":\"ok\"}";
        assert_eq!(
            parse_http_response(plain).unwrap(),
            (200, "{\"status\":\"ok\"}".to_owned())
        );
        let chunked =
            b"HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n";
        assert_eq!(
            parse_http_response(chunked).unwrap(),
            (404, "abcde".to_owned())
        );
        assert!(parse_http_response(b"HTTP/1.1 200 OK\r\n").is_err());
        assert!(parse_http_response(b"garbage\r\n\r\n").is_err());
    }
}
