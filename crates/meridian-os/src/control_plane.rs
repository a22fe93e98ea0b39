//! The control plane, off the time path: the control socket and the metrics port are served
//! by threads of their own, which hand each complete, checked request to the time loop through
//! a channel and wake it; the time loop answers between two rounds of packets and never waits
//! on a client. Idle, slow, oversized and vanishing clients cost their own thread, never the
//! daemon: each is cut off with a logged reason.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

/// The longest control line accepted, bytes.
pub const MAX_LINE: usize = 64 * 1024;
/// How long a client may take to send its whole request.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long a client may take to read its reply.
pub const REPLY_DEADLINE: Duration = Duration::from_secs(5);
/// Connections served at once (per listener); more are told so and closed.
pub const MAX_CONNECTIONS: usize = 64;
/// Requests queued for the time loop; beyond this a client is told the daemon is busy.
const QUEUE: usize = 256;

/// What a client asks of the time loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A command line of the VRP shell.
    Line(String),
    /// A Prometheus scrape.
    Metrics,
}

/// A request and where its answer goes.
#[derive(Debug)]
pub struct Job {
    /// The request.
    pub request: Request,
    /// The answer (the client's thread waits for it, bounded).
    pub reply: SyncSender<String>,
}

/// The time loop's end: jobs to answer and the descriptor that wakes its poll.
#[derive(Debug)]
pub struct ControlPlane {
    jobs: Receiver<Job>,
    waker: UnixDatagram,
}

/// What the client threads share.
#[derive(Clone, Debug)]
struct Shared {
    jobs: SyncSender<Job>,
    waker: Arc<UnixDatagram>,
}

impl Shared {
    /// Hands `request` to the time loop and waits (bounded) for its answer.
    fn ask(&self, request: Request) -> Result<String, &'static str> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.jobs
            .try_send(Job { request, reply: tx })
            .map_err(|_| "the daemon is busy")?;
        let _ = self.waker.send(&[1]);
        rx.recv_timeout(REPLY_DEADLINE + REQUEST_DEADLINE)
            .map_err(|_| "no answer from the time loop")
    }
}

impl ControlPlane {
    /// Starts serving `control` (the VRP shell) and `metrics` (HTTP) on threads of their own.
    pub fn start(control: Option<UnixListener>, metrics: Option<TcpListener>) -> io::Result<Self> {
        let (tx, jobs) = mpsc::sync_channel(QUEUE);
        let (waker_rx, waker_tx) = UnixDatagram::pair()?;
        waker_rx.set_nonblocking(true)?;
        waker_tx.set_nonblocking(true)?;
        let shared = Shared {
            jobs: tx,
            waker: Arc::new(waker_tx),
        };
        if let Some(l) = control {
            l.set_nonblocking(false)?;
            let s = shared.clone();
            spawn("control", move || {
                accept_loop(l.incoming(), move |c| serve_control(c, &s))
            })?;
        }
        if let Some(l) = metrics {
            l.set_nonblocking(false)?;
            let s = shared;
            spawn("metrics", move || {
                accept_loop(l.incoming(), move |c| serve_metrics(c, &s))
            })?;
        }
        Ok(Self {
            jobs,
            waker: waker_rx,
        })
    }

    /// The next request waiting, if any (clears the wake-up first).
    pub fn next_job(&self) -> Option<Job> {
        let mut b = [0u8; 64];
        while self.waker.recv(&mut b).is_ok() {}
        self.jobs.try_recv().ok()
    }
}

impl AsFd for ControlPlane {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.waker.as_fd()
    }
}

fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> io::Result<()> {
    std::thread::Builder::new()
        .name(format!("meridian-{name}"))
        .spawn(f)
        .map(|_| ())
}

/// Accepts forever; each connection gets a thread, at most [`MAX_CONNECTIONS`] at once.
fn accept_loop<S, I>(incoming: I, serve: impl Fn(S) + Send + Sync + 'static)
where
    S: Read + Write + Send + 'static + Deadlines,
    I: Iterator<Item = io::Result<S>>,
{
    let serve = Arc::new(serve);
    let active = Arc::new(AtomicUsize::new(0));
    for conn in incoming {
        let mut conn = match conn {
            Ok(c) => c,
            Err(e) => {
                warn!("control plane: accept: {e}");
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if active.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            debug!("control plane: {MAX_CONNECTIONS} connections already; refusing one");
            let _ = conn.set_deadlines();
            let _ = conn.write_all(b"Error: too many connections.\n");
            continue;
        }
        active.fetch_add(1, Ordering::Relaxed);
        let (serve, active) = (Arc::clone(&serve), Arc::clone(&active));
        let started = spawn("client", move || {
            if conn.set_deadlines().is_ok() {
                serve(conn);
            }
            active.fetch_sub(1, Ordering::Relaxed);
        });
        if let Err(e) = started {
            warn!("control plane: no thread for a client: {e}");
        }
    }
}

/// Per-operation timeouts for a client connection.
trait Deadlines {
    fn set_deadlines(&self) -> io::Result<()>;
}

impl Deadlines for UnixStream {
    fn set_deadlines(&self) -> io::Result<()> {
        self.set_read_timeout(Some(REQUEST_DEADLINE))?;
        self.set_write_timeout(Some(REPLY_DEADLINE))
    }
}

impl Deadlines for TcpStream {
    fn set_deadlines(&self) -> io::Result<()> {
        self.set_read_timeout(Some(REQUEST_DEADLINE))?;
        self.set_write_timeout(Some(REPLY_DEADLINE))
    }
}

/// Why a request could not be read.
#[derive(Debug, PartialEq, Eq)]
enum Refused {
    /// Nothing, or no end of line, within the deadline (idle or dripping).
    TooSlow,
    /// Longer than the limit.
    TooLong,
    /// Closed before a whole line.
    Closed,
}

/// Reads up to the first newline, within [`REQUEST_DEADLINE`] overall (a client dripping a byte
/// per read timeout is cut off too) and `limit` bytes.
#[allow(clippy::disallowed_methods)] // a client's wall-clock deadline, not protocol time
fn read_line(conn: &mut impl Read, limit: usize) -> Result<Vec<u8>, Refused> {
    let start = Instant::now();
    let mut line = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if start.elapsed() > REQUEST_DEADLINE {
            return Err(Refused::TooSlow);
        }
        match conn.read(&mut buf) {
            Ok(0) => {
                return if line.is_empty() {
                    Err(Refused::Closed)
                } else {
                    Ok(line)
                };
            }
            Ok(n) => {
                let chunk = &buf[..n];
                if let Some(end) = chunk.iter().position(|b| *b == b'\n') {
                    line.extend_from_slice(&chunk[..end]);
                    return if line.len() > limit {
                        Err(Refused::TooLong)
                    } else {
                        Ok(line)
                    };
                }
                line.extend_from_slice(chunk);
                if line.len() > limit {
                    return Err(Refused::TooLong);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Refused::TooSlow),
        }
    }
}

fn serve_control(mut conn: UnixStream, shared: &Shared) {
    let reply = match read_line(&mut conn, MAX_LINE) {
        Ok(bytes) => match String::from_utf8(bytes) {
            Ok(line) => {
                let line = line.trim_end_matches('\r').to_string();
                shared
                    .ask(Request::Line(line))
                    .unwrap_or_else(|e| format!("\t\nError: {e}.\n"))
            }
            Err(_) => "\t\nError: The command is not valid UTF-8.\n".to_string(),
        },
        Err(Refused::TooLong) => {
            warn!("control: a line over {MAX_LINE} bytes; connection closed");
            format!("\t\nError: The command is longer than {MAX_LINE} bytes.\n")
        }
        Err(why) => {
            debug!("control: client cut off ({why:?})");
            return;
        }
    };
    if let Err(e) = conn.write_all(reply.as_bytes()) {
        debug!("control: reply not delivered: {e}");
    }
}

fn serve_metrics(mut conn: TcpStream, shared: &Shared) {
    let request = match read_line(&mut conn, 4096) {
        Ok(r) => r,
        Err(why) => {
            debug!("metrics: client cut off ({why:?})");
            return;
        }
    };
    let request = String::from_utf8_lossy(&request);
    let mut parts = request.split_whitespace();
    let (status, text) = match (parts.next(), parts.next()) {
        (Some("GET"), Some("/metrics" | "/")) => match shared.ask(Request::Metrics) {
            Ok(body) => ("200 OK", body),
            Err(e) => ("503 Service Unavailable", format!("{e}\n")),
        },
        _ => ("404 Not Found", "not found\n".to_string()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{text}",
        text.len()
    );
    if let Err(e) = conn.write_all(response.as_bytes()) {
        debug!("metrics: reply not delivered: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_read_to_its_newline_within_its_limit() {
        let mut ok: &[u8] = b"display clock\nrest";
        assert_eq!(read_line(&mut ok, 100), Ok(b"display clock".to_vec()));
        let mut long: &[u8] = &[b'x'; 200];
        assert_eq!(read_line(&mut long, 100), Err(Refused::TooLong));
        let mut empty: &[u8] = b"";
        assert_eq!(read_line(&mut empty, 100), Err(Refused::Closed));
        // No newline before the end: the whole input is the line.
        let mut unterminated: &[u8] = b"save";
        assert_eq!(read_line(&mut unterminated, 100), Ok(b"save".to_vec()));
    }
}
