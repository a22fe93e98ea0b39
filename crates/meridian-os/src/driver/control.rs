//! The control plane's requests on the time thread: command lines in their sessions (views,
//! candidates, commits that reopen sockets), displays, `save`, and metric scrapes.

use super::*;

impl<C: Clock> Daemon<C> {
    /// Answers the control plane's waiting requests (commands and scrapes); it never waits for
    /// a client: the requests are whole, and a reply that cannot be delivered is dropped.
    pub(super) fn serve_jobs(&mut self) -> io::Result<()> {
        while let Some(job) = self.plane.next_job() {
            let answer = match job.request {
                Request::Line { session, line } => {
                    let (answer, walk) = self.command(session, &line)?;
                    if let Some(w) = walk {
                        // The walk answers from its own thread; the prompt line is ready now.
                        let head = answer.split_once('\n').map_or(answer.as_str(), |h| h.0);
                        crate::ntp_trace::spawn(w, head.to_string(), job.reply);
                        continue;
                    }
                    answer
                }
                Request::EndSession(id) => {
                    self.sessions.remove(&id);
                    continue;
                }
                Request::Metrics => {
                    let offset = self.clock.offset_from_realtime();
                    metrics::render(
                        &self.engine,
                        monotonic(),
                        offset.as_secs_f64(),
                        self.clock.frequency_ppb(),
                        &self.io,
                    )
                }
            };
            let _ = job.reply.try_send(answer);
        }
        Ok(())
    }

    /// Runs one command line of control session `id`: the prompt line and the output.
    ///
    /// Each session edits its own candidate. A session with nothing uncommitted follows the
    /// running configuration; one whose edits began before another session's commit may not
    /// commit them over it: the commit is refused, its edits discarded, and it starts again
    /// from the new running configuration (commits are serialized by the time loop).
    fn command(
        &mut self,
        id: u64,
        line: &str,
    ) -> io::Result<(String, Option<crate::ntp_trace::Walk>)> {
        let running = &self.session.running;
        if !self.sessions.contains_key(&id) && self.sessions.len() >= MAX_SESSIONS {
            // Sessions end with their connection; a leak would need a lost notice.
            let oldest = self.sessions.keys().next().copied();
            oldest.map(|k| self.sessions.remove(&k));
        }
        let device = &self.session;
        let (s, base) = self.sessions.entry(id).or_insert_with(|| {
            let mut s = device.clone();
            s.view = View::User;
            (s, device.running.clone())
        });
        // What the session shows and saves is always the device's running configuration; its
        // candidate follows it while the session has no edits of its own.
        if s.candidate == *base {
            s.candidate = running.clone();
            *base = running.clone();
        }
        s.running = running.clone();
        let moved = *base != *running;
        let mut trial = s.clone();
        // `display ntp-service trace` beyond the device is walked off the time loop.
        let device_offset = self.clock.offset_from_realtime().as_secs_f64();
        let walk = std::cell::RefCell::new(None);
        let mut text = trial.run_line(
            line,
            &mut meridian_vrp::device::TraceBy {
                engine: &mut self.engine,
                trace: |engine: &DeviceEngine, json| {
                    *walk.borrow_mut() = crate::ntp_trace::start(engine, device_offset, json);
                    // The walk writes the answer.
                    walk.borrow().as_ref().map(|_| String::new())
                },
            },
        );
        let walk = walk.into_inner();
        let committed = trial.running != *running;
        if committed && moved {
            s.candidate = running.clone();
            *base = running.clone();
            text = "Error: The running configuration was changed by another session after this \
                    one began editing. This session's uncommitted changes were discarded; enter \
                    them again.\n"
                .into();
        } else {
            *s = trial;
            if committed {
                *base = s.running.clone();
            }
        }
        let (prompt, view) = (s.prompt(), s.view.kind().name());
        let saved = s.saved.take();
        if committed && !moved {
            self.session.running = s.running.clone();
            self.session.candidate = s.running.clone();
            // A commit reconfigures the live engines in place: what it does not touch keeps
            // its associations, grants and servo.
            let now = self.now();
            if self
                .engine
                .reconfigure(&node_config(&self.session.running), now, seed())
            {
                info!(
                    session = id,
                    "configuration committed; engines reconfigured"
                );
            } else {
                info!(session = id, "configuration committed; no engine affected");
            }
            // CANCELs of removed parts leave by the sockets they were granted on; new parts
            // start sending from their first timer, after the sockets are open.
            self.flush()?;
            if let Err(e) = self.open_sockets() {
                warn!("{e}");
            }
        }
        if let Some(saved) = saved
            && let Err(e) = save(&self.opts.config_path, &saved)
        {
            // A full disk or a read-only file system is the operator's to fix, not a reason to
            // stop serving time.
            warn!("save to {}: {e}", self.opts.config_path.display());
            text = format!("Error: Failed to save the configuration: {e}.\n");
        }
        Ok((format!("{prompt}\t{view}\n{text}"), walk))
    }
}

/// Control sessions kept at most (each ends with its connection; connections are bounded).
const MAX_SESSIONS: usize = 256;

/// Writes the configuration file atomically: a temporary file with the old file's mode and
/// owner (a file holding keys stays 0600), fsync, rename, fsync of the directory. On failure the
/// temporary file is removed and the old file is untouched.
pub(super) fn save(path: &std::path::Path, text: &str) -> io::Result<()> {
    use std::os::unix::fs::MetadataExt;
    let tmp = path.with_extension("cfg.tmp");
    let old = std::fs::metadata(path).ok();
    let write = || -> io::Result<()> {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(old.as_ref().map_or(0o600, |m| m.mode() & 0o7777))
            .open(&tmp)?;
        if let Some(m) = &old {
            f.set_permissions(std::fs::Permissions::from_mode(m.mode() & 0o7777))?;
            // Keep the owner where we may (as root); elsewhere the file is ours anyway.
            let _ = nix::unistd::fchown(
                &f,
                Some(nix::unistd::Uid::from_raw(m.uid())),
                Some(nix::unistd::Gid::from_raw(m.gid())),
            );
        }
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)?;
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(std::path::Path::new("."));
        std::fs::File::open(dir)?.sync_all()
    };
    write().inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp);
    })
}
