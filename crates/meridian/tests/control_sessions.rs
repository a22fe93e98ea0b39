//! Each control connection is a session of its own, like a VTY line: its own view and
//! candidate. Commits are serialized; one whose edits began before another session's commit is
//! refused (its edits discarded) instead of silently undoing that commit.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::time::Duration;

mod common;

use common::{Daemon, Scratch, shell, wait_for};

/// A session: one connection to the control socket.
struct Session(BufReader<UnixStream>);

impl Session {
    fn open(path: &std::path::Path) -> Self {
        let s = UnixStream::connect(path).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Self(BufReader::new(s))
    }

    /// Types `line`; the prompt after it and the output.
    fn run(&mut self, line: &str) -> (String, String) {
        writeln!(self.0.get_mut(), "{line}").unwrap();
        let mut head = String::new();
        self.0.read_line(&mut head).unwrap();
        let fields: Vec<&str> = head.trim_end().split('\t').collect();
        assert_eq!(fields.len(), 3, "{head:?}");
        let mut text = vec![0; fields[2].parse().unwrap()];
        self.0.read_exact(&mut text).unwrap();
        (fields[0].to_string(), String::from_utf8(text).unwrap())
    }
}

#[test]
fn sessions_have_their_own_view_and_candidate_and_commits_do_not_overwrite_each_other() {
    let dir = Scratch::new("sessions");
    let cfg = dir.file(
        "d.cfg",
        "sysname D\nntp-service refclock-master 2\n\
         ntp-service server source-interface LoopBack1\n\
         interface LoopBack1\n ip address 127.0.0.72 255.255.255.255\nreturn\n",
    );
    let cc = dir.0.join("c.sock");
    let mut d = Daemon::start(&[
        "--config",
        cfg.to_str().unwrap(),
        "--ntp-port",
        "18124",
        "--control",
        cc.to_str().unwrap(),
    ]);
    wait_for(&cc);
    let (mut a, mut b) = (Session::open(&cc), Session::open(&cc));
    assert_eq!(a.run("system-view").0, "[~D]");
    assert_eq!(a.run("ntp-service refclock-master 5").0, "[*D]");
    // B has its own view (user) and candidate (clean).
    assert_eq!(b.run("").0, "<D>");
    assert_eq!(b.run("system-view").0, "[~D]");
    b.run("sysname Other");
    assert_eq!(b.run("commit"), ("[~Other]".into(), String::new()));
    // A's edits began before B's commit: refused, discarded, and A follows the new running
    // configuration.
    let (prompt, text) = a.run("commit");
    assert!(text.contains("changed by another session"), "{text}");
    assert_eq!(prompt, "[~Other]");
    assert!(shell(&cc, "display ntp-service status").contains("clock stratum: 2"));
    // Entered again, it commits.
    a.run("ntp-service refclock-master 5");
    assert_eq!(a.run("commit"), ("[~Other]".into(), String::new()));
    assert!(shell(&cc, "display ntp-service status").contains("clock stratum: 5"));
    // B, clean, follows A's commit without being refused.
    assert_eq!(b.run("ntp-service refclock-master 6").1, "");
    assert_eq!(b.run("commit").1, "");
    // A session that ends with edits uncommitted leaves nothing behind.
    let mut c = Session::open(&cc);
    c.run("system-view");
    c.run("sysname Gone");
    drop(c);
    let current = shell(&cc, "display current-configuration");
    assert!(
        current.contains("sysname Other") && current.contains("refclock-master 6"),
        "{current}"
    );
    assert!(d.terminate().success());
}
