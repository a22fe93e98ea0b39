//! Packets out and their transmit timestamps: the engine's outputs applied (sends in runs of
//! one socket and DSCP), the kernel's timestamps matched to them, and the fallback to the
//! reading taken at send when none comes.

use super::*;

impl<C: Clock> Daemon<C> {
    /// The transmit timestamps queued on one socket, handed to the engine.
    pub(super) fn read_tx_timestamps_of(&mut self, key: (Ipv4Addr, u16)) -> io::Result<()> {
        let Some(phc) = self.sockets.get(&key).map(|s| s.phc) else {
            return Ok(());
        };
        loop {
            // In batches: a burst of Syncs has its timestamps read in one call.
            let mut found = [None; TX_BATCH];
            let n = self.sockets[&key].recv_tx_timestamps(&mut found)?;
            for (id, ts) in found[..n].iter().flatten().copied() {
                if let Some(p) = self.pending.remove(&(key, id)) {
                    let t = self.kernel_reading(ts, phc).unwrap_or(p.sent);
                    self.engine.handle(
                        self.now(),
                        Input::TxTimestamp {
                            token: p.token,
                            timestamp: t,
                        },
                    );
                }
            }
            if n < TX_BATCH {
                return Ok(());
            }
        }
    }

    /// Transmissions whose kernel timestamp is overdue fall back to the reading taken at send.
    pub(super) fn tx_fallbacks(&mut self) -> io::Result<()> {
        // Fallback: no kernel timestamp in time, use the reading taken at send.
        let now = monotonic();
        let late: Vec<_> = self
            .pending
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(k, _)| *k)
            .collect();
        for k in late {
            if let Some(p) = self.pending.remove(&k) {
                if !self.warned_tx {
                    self.warned_tx = true;
                    warn!(
                        "no kernel transmit timestamp arrived within 20 ms; \
                         falling back to clock readings at send"
                    );
                }
                self.engine.handle(
                    self.now(),
                    Input::TxTimestamp {
                        token: p.token,
                        timestamp: p.sent,
                    },
                );
            }
        }
        Ok(())
    }

    /// Carries out the engine's outputs. Software transmit timestamps are queued by the time a
    /// send returns: those of this batch are read once every output of it has been applied
    /// (the engine contract), and what answers them (a two-step Follow_Up) leaves now instead of
    /// after the next wake-up, ~90 µs later.
    pub(super) fn flush(&mut self) -> io::Result<()> {
        let stamped = self.apply_outputs()?;
        if stamped.is_empty() {
            return Ok(());
        }
        for key in stamped {
            self.read_tx_timestamps_of(key)?;
        }
        self.apply_outputs().map(drop)
    }

    /// Takes the engine's outputs: clock adjustments and events applied at once (the engine
    /// contract: before its next input), packets queued in the outbox, which
    /// [`Self::flush`] sends. A batch of received datagrams is answered by one send per
    /// socket this way, not one each.
    pub(super) fn drain(&mut self) -> io::Result<()> {
        while let Some(out) = self.engine.poll_output() {
            match out {
                Output::Transmit(t) => {
                    let key = (*t.from.ip(), t.from.port());
                    if !self.sockets.contains_key(&key) {
                        crate::warn_limited!(
                            self.send_warnings,
                            monotonic(),
                            "no socket for {}; packet dropped",
                            t.from
                        );
                        continue;
                    }
                    let to_port = match t.to.port() {
                        PTP_EVENT | PTP_GENERAL => self.local_port(t.to.port()),
                        p => p,
                    };
                    self.outbox.push(Outgoing {
                        key,
                        to: SocketAddrV4::new(*t.to.ip(), to_port),
                        transmit: t,
                    });
                }
                Output::AdjustClock(adj) => self.clock.apply(adj)?,
                Output::Event(e) => log_event(&e),
            }
        }
        Ok(())
    }

    /// Applies every queued output and sends the outbox; returns the sockets that sent packets
    /// awaiting a transmit timestamp. Packets leave in the engine's order, in runs per socket
    /// and DSCP of one system call each (a 128-per-second Sync to every client is one burst).
    fn apply_outputs(&mut self) -> io::Result<Vec<(Ipv4Addr, u16)>> {
        let mut stamped: Vec<(Ipv4Addr, u16)> = Vec::new();
        loop {
            self.drain()?;
            if self.outbox.is_empty() {
                return Ok(stamped);
            }
            let mut queued = std::mem::take(&mut self.outbox);
            // What answers a send (an interleaved NTP reply's transmit time) may queue more.
            self.send_runs(&mut queued, &mut stamped);
        }
    }

    /// Sends `queued` in runs of one socket and DSCP; records what awaits a transmit timestamp.
    fn send_runs(&mut self, queued: &mut [Outgoing], stamped: &mut Vec<(Ipv4Addr, u16)>) {
        let mut results = Vec::with_capacity(queued.len());
        for run in queued.chunk_by_mut(|a, b| a.key == b.key && a.transmit.dscp == b.transmit.dscp)
        {
            let (key, dscp) = (run[0].key, run[0].transmit.dscp);
            // Read at the system call, not when the engine's output was taken: a packet may
            // wait in the outbox while the rest of a received batch is handled.
            let sent = self.clock.now();
            for o in run.iter_mut().filter(|o| o.transmit.late_ntp_transmit) {
                meridian_proto::ntp_service::stamp_transmit(&mut o.transmit.bytes, sent);
            }
            let msgs: Vec<(SocketAddrV4, &[u8])> = run
                .iter()
                .map(|o| (o.to, o.transmit.bytes.as_slice()))
                .collect();
            results.clear();
            let sock = self.sockets.get_mut(&key).expect("checked when queued");
            match sock.send_many(&msgs, dscp, &mut results) {
                Ok(calls) => self.io.send_calls += calls as u64,
                Err(e) => {
                    crate::warn_limited!(
                        self.send_warnings,
                        monotonic(),
                        "send from {}:{}: {e}",
                        key.0,
                        key.1
                    );
                    continue;
                }
            }
            for (o, r) in run.iter().zip(results.drain(..)) {
                let t = &o.transmit;
                match r {
                    Ok(id) => {
                        self.io.sent += 1;
                        if let (Some(token), true) = (t.token, t.late_ntp_transmit) {
                            // Before its kernel timestamp: what the peer will echo.
                            self.engine
                                .handle(self.now(), Input::TransmitStamped { token, at: sent });
                        }
                        if let Some(token) = t.token {
                            if !stamped.contains(&key) {
                                stamped.push(key);
                            }
                            let deadline = monotonic().after(TX_TIMESTAMP_WAIT);
                            self.pending.insert(
                                (key, id),
                                PendingTx {
                                    token,
                                    sent,
                                    deadline,
                                },
                            );
                        }
                    }
                    Err(e) => crate::warn_limited!(
                        self.send_warnings,
                        monotonic(),
                        "send to {}: {e}",
                        t.to
                    ),
                }
            }
        }
    }
}

/// A packet the engine asked for, on its way to its socket.
pub(super) struct Outgoing {
    key: (Ipv4Addr, u16),
    /// The destination, with the port mapped (PTP ports may be moved for tests).
    to: SocketAddrV4,
    transmit: meridian_proto::engine::Transmit,
}
