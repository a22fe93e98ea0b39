//! The control plane, off the time path: the control socket and the metrics port are served
//! by threads of their own, which hand each complete, checked request to the time loop through
//! a channel and wake it; the time loop answers between two rounds of packets and never waits
//! on a client. Idle, slow, oversized and vanishing clients cost their own thread, never the
//! daemon: each is cut off with a logged reason.
//!
//! A control connection is a session, like a VTY line on a router: its own view and candidate
//! configuration for as long as it stays open. The protocol is a line per command; each answer
//! is a head line `PROMPT<TAB>VIEW<TAB>LENGTH` and then LENGTH bytes of output.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::net::{UnixDatagram, UnixListener, UnixStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant};

use tracing::{debug, warn};

/// The longest control line accepted, bytes.
pub const MAX_LINE: usize = 64 * 1024;
/// How long a client may take to send its whole request.
pub const REQUEST_DEADLINE: Duration = Duration::from_secs(5);
/// How long a client may take to read its reply.
pub const REPLY_DEADLINE: Duration = Duration::from_secs(5);
/// How long a session may sit idle between two commands (VRP's default idle timeout). The
/// first command must come within [`REQUEST_DEADLINE`].
pub const SESSION_IDLE: Duration = Duration::from_secs(600);
/// Connections served at once (per listener); more are told so and closed.
pub const MAX_CONNECTIONS: usize = 64;
/// Requests queued for the time loop; beyond this a client is told the daemon is busy.
const QUEUE: usize = 256;

/// What a client asks of the time loop.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// A command line typed in a session (one per control connection).
    Line {
        /// The session.
        session: u64,
        /// The line.
        line: String,
    },
    /// A session ended (its connection closed): its uncommitted changes go with it.
    EndSession(u64),
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
    sessions: Arc<AtomicU64>,
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

    /// Tells the time loop `request` without waiting for an answer.
    fn tell(&self, request: Request) {
        let (tx, _) = mpsc::sync_channel(1);
        if self.jobs.try_send(Job { request, reply: tx }).is_ok() {
            let _ = self.waker.send(&[1]);
        }
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
            sessions: Arc::new(AtomicU64::new(1)),
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

/// Reads a connection line by line, keeping what follows a line for the next.
#[derive(Debug, Default)]
struct LineReader {
    pending: Vec<u8>,
}

impl LineReader {
    /// Reads up to the next newline, within `deadline` overall (a client dripping a byte per
    /// read timeout is cut off too) and `limit` bytes.
    #[allow(clippy::disallowed_methods)] // a client's wall-clock deadline, not protocol time
    fn line(
        &mut self,
        conn: &mut impl Read,
        limit: usize,
        deadline: Duration,
    ) -> Result<Vec<u8>, Refused> {
        let start = Instant::now();
        let mut buf = [0u8; 4096];
        loop {
            if let Some(end) = self.pending.iter().position(|b| *b == b'\n') {
                if end > limit {
                    return Err(Refused::TooLong);
                }
                let line = self.pending[..end].to_vec();
                self.pending.drain(..=end);
                return Ok(line);
            }
            if self.pending.len() > limit {
                return Err(Refused::TooLong);
            }
            if start.elapsed() > deadline {
                return Err(Refused::TooSlow);
            }
            match conn.read(&mut buf) {
                Ok(0) if self.pending.is_empty() => return Err(Refused::Closed),
                // No newline before the end: the rest is the last line.
                Ok(0) => return Ok(std::mem::take(&mut self.pending)),
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Refused::TooSlow),
            }
        }
    }
}

/// Frames the time loop's answer (`PROMPT<TAB>VIEW` line, then the output) for the wire.
fn frame(answer: &str) -> String {
    let (head, text) = answer.split_once('\n').unwrap_or((answer, ""));
    format!("{head}\t{}\n{text}", text.len())
}

fn serve_control(mut conn: UnixStream, shared: &Shared) {
    let session = shared.sessions.fetch_add(1, Ordering::Relaxed);
    let mut reader = LineReader::default();
    let mut deadline = REQUEST_DEADLINE;
    loop {
        let _ = conn.set_read_timeout(Some(deadline));
        let (answer, last) = match reader.line(&mut conn, MAX_LINE, deadline) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(line) => {
                    let line = line.trim_end_matches('\r').to_string();
                    let answer = shared
                        .ask(Request::Line { session, line })
                        .unwrap_or_else(|e| format!("\t\nError: {e}.\n"));
                    (answer, false)
                }
                Err(_) => (
                    "\t\nError: The command is not valid UTF-8.\n".to_string(),
                    false,
                ),
            },
            Err(Refused::TooLong) => {
                warn!("control: a line over {MAX_LINE} bytes; connection closed");
                let e = format!("\t\nError: The command is longer than {MAX_LINE} bytes.\n");
                (e, true)
            }
            Err(why) => {
                debug!("control: session {session} ended ({why:?})");
                break;
            }
        };
        if let Err(e) = conn.write_all(frame(&answer).as_bytes()) {
            debug!("control: reply not delivered: {e}");
            break;
        }
        if last {
            break;
        }
        deadline = SESSION_IDLE;
    }
    shared.tell(Request::EndSession(session));
}

fn serve_metrics(mut conn: TcpStream, shared: &Shared) {
    let request = match LineReader::default().line(&mut conn, 4096, REQUEST_DEADLINE) {
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

    fn read(input: &[u8], limit: usize) -> Result<Vec<u8>, Refused> {
        let mut r: &[u8] = input;
        LineReader::default().line(&mut r, limit, REQUEST_DEADLINE)
    }

    #[test]
    fn a_line_is_read_to_its_newline_within_its_limit() {
        assert_eq!(
            read(b"display clock\nrest", 100),
            Ok(b"display clock".to_vec())
        );
        assert_eq!(read(&[b'x'; 200], 100), Err(Refused::TooLong));
        assert_eq!(read(b"", 100), Err(Refused::Closed));
        // No newline before the end: the whole input is the line.
        assert_eq!(read(b"save", 100), Ok(b"save".to_vec()));
    }

    #[test]
    fn lines_sent_together_are_read_one_by_one() {
        let mut input: &[u8] = b"system-view\nsysname R\ncommit";
        let mut r = LineReader::default();
        let mut next = || r.line(&mut input, 100, REQUEST_DEADLINE);
        assert_eq!(next(), Ok(b"system-view".to_vec()));
        assert_eq!(next(), Ok(b"sysname R".to_vec()));
        assert_eq!(next(), Ok(b"commit".to_vec()));
        assert_eq!(next(), Err(Refused::Closed));
    }

    #[test]
    fn an_answer_is_framed_with_its_length() {
        assert_eq!(frame("<R>\tuser\nInfo: é\n"), "<R>\tuser\t9\nInfo: é\n");
        assert_eq!(frame("\t\nError: x.\n"), "\t\t10\nError: x.\n");
    }
}
