//! A VRP session: views and prompts, the candidate and running configurations, commit, and the
//! dispatch of commands.

use std::collections::{BTreeMap, BTreeSet};

use crate::commands::{Action, Context, Exec, ViewKind};
use crate::config::Config;
use crate::parse::{SyntaxError, parse};
use crate::render::{current_configuration, interface_block};
use crate::syntax::Value;

/// Where the session is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum View {
    /// `<name>`.
    User,
    /// `[~name]`.
    System,
    /// An interface.
    Interface(String),
    /// An ACL.
    Acl(u32),
}

impl View {
    /// The kind of view, which decides the commands available.
    #[must_use]
    pub fn kind(&self) -> ViewKind {
        match self {
            Self::User => ViewKind::User,
            Self::System => ViewKind::System,
            Self::Interface(_) => ViewKind::Interface,
            Self::Acl(_) => ViewKind::Acl,
        }
    }
}

/// What `display` commands need from the device's engines.
pub trait Displays {
    /// The text of `display ntp-service status | sessions [verbose] | trace`, or `None` if NTP
    /// is not running.
    fn ntp(&self, what: NtpDisplay) -> Option<String>;
    /// The text of `display ptp-adaptive all|config|server [N]|client [N]`.
    fn ptp(&self, what: &str, id: Option<u64>) -> Option<String>;
    /// `reset ptp-adaptive statistics`; `false` if there is nothing to reset.
    fn reset_ptp_statistics(&mut self) -> bool {
        false
    }
    /// The text of `display clock source`, if the device has engines.
    fn clock(&self) -> Option<String> {
        None
    }
    /// The NTP display as JSON from typed state, if this implementation has it (otherwise
    /// `| json` converts the text).
    fn ntp_json(&self, _what: NtpDisplay) -> Option<String> {
        None
    }
    /// The PTP display as JSON from typed state, if this implementation has it.
    fn ptp_json(&self, _what: &str, _id: Option<u64>) -> Option<String> {
        None
    }
}

/// Displays as `| json` wants them: typed JSON where the engines offer it (and a note that
/// they did), text elsewhere.
struct AsJson<'a> {
    inner: &'a mut dyn Displays,
    typed: std::cell::Cell<bool>,
}

impl AsJson<'_> {
    fn typed(&self, j: Option<String>) -> Option<String> {
        self.typed.set(self.typed.get() || j.is_some());
        j
    }
}

impl Displays for AsJson<'_> {
    fn ntp(&self, what: NtpDisplay) -> Option<String> {
        self.typed(self.inner.ntp_json(what))
            .or_else(|| self.inner.ntp(what))
    }
    fn ptp(&self, what: &str, id: Option<u64>) -> Option<String> {
        self.typed(self.inner.ptp_json(what, id))
            .or_else(|| self.inner.ptp(what, id))
    }
    fn reset_ptp_statistics(&mut self) -> bool {
        self.inner.reset_ptp_statistics()
    }
    fn clock(&self) -> Option<String> {
        self.inner.clock()
    }
}

/// Which NTP display.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NtpDisplay {
    /// `status`.
    Status,
    /// `sessions [verbose]`.
    Sessions(bool),
    /// `trace`.
    Trace,
}

/// No engines: displays print nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoEngines;

impl Displays for NoEngines {
    fn ntp(&self, _: NtpDisplay) -> Option<String> {
        None
    }
    fn ptp(&self, _: &str, _: Option<u64>) -> Option<String> {
        None
    }
}

/// Why a line failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// A syntax error at a column.
    Syntax(SyntaxError),
    /// A semantic error: the message after `Error: `.
    Rejected(String),
}

impl Failure {
    /// The text the device prints for this failure after the line `prompt` + `line`.
    #[must_use]
    pub fn render(&self, prompt: &str) -> String {
        match self {
            Self::Syntax(e) => {
                // The caret sits under the offending token of the echoed line.
                format!(
                    "{}^\n{}",
                    " ".repeat(prompt.chars().count() + 1 + e.column),
                    e.kind
                )
            }
            Self::Rejected(m) => format!("Error: {m}"),
        }
    }
}

/// A session on one device.
#[derive(Clone, Debug)]
pub struct Session {
    /// The committed configuration.
    pub running: Config,
    /// The configuration being edited.
    pub candidate: Config,
    /// The current view.
    pub view: View,
    /// License files the device can read: name → content (one feature per line).
    pub license_files: BTreeMap<String, String>,
    /// What `save` last wrote.
    pub saved: Option<String>,
}

impl Default for Session {
    fn default() -> Self {
        Self::new(Config::default())
    }
}

impl Session {
    /// A session in user view on a device running `config`.
    #[must_use]
    pub fn new(config: Config) -> Self {
        Self {
            candidate: config.clone(),
            running: config,
            view: View::User,
            license_files: BTreeMap::new(),
            saved: None,
        }
    }

    /// Whether the candidate differs from the running configuration.
    #[must_use]
    pub fn dirty(&self) -> bool {
        self.candidate != self.running
    }

    /// The prompt: `<HUAWEI>`, `[~HUAWEI]`, `[*HUAWEI]`, `[~HUAWEI-GigabitEthernet0/1/0]`.
    #[must_use]
    pub fn prompt(&self) -> String {
        let name = &self.running.sysname;
        let mark = if self.dirty() { '*' } else { '~' };
        match &self.view {
            View::User => format!("<{name}>"),
            View::System => format!("[{mark}{name}]"),
            View::Interface(i) => format!("[{mark}{name}-{i}]"),
            View::Acl(n) => format!(
                "[{mark}{name}-acl4-{}-{n}]",
                if *n < 3000 { "basic" } else { "advance" }
            ),
        }
    }

    fn context(&self) -> Context {
        match &self.view {
            View::Interface(i) => Context {
                interface: Some(i.clone()),
                acl: None,
            },
            View::Acl(n) => Context {
                interface: None,
                acl: Some(*n),
            },
            _ => Context::default(),
        }
    }

    /// Runs one line; the output text (possibly empty) or the failure. A failure changes
    /// nothing.
    pub fn execute(&mut self, line: &str, displays: &mut dyn Displays) -> Result<String, Failure> {
        let Some(p) = parse(self.view.kind(), line).map_err(Failure::Syntax)? else {
            return Ok(String::new());
        };
        let ctx = self.context();
        match (p.command.action, p.undo) {
            (Action::Set(set), false) => self.change(|c| set(c, &ctx, &p.args)),
            (_, true) => {
                let undo =
                    p.command.undo.map(|u| u.1).ok_or_else(|| {
                        Failure::Rejected("This command has no undo form.".into())
                    })?;
                self.change(|c| undo(c, &ctx, &p.args))
            }
            (Action::Exec(e), false) => self.exec(e, &p.args, displays),
        }
    }

    /// Runs one line as a terminal shows it: `?` lists what may follow, a command runs, and a
    /// failure is rendered against the prompt. Shared by the interactive shell and the daemon's
    /// control socket so both answer alike.
    pub fn run_line(&mut self, line: &str, displays: &mut dyn Displays) -> String {
        if let Some(cmd) = json_modifier(line) {
            // `display` as typed or abbreviated (the parser settles ambiguity).
            let first = cmd.split_whitespace().next().unwrap_or_default();
            if first.len() < 2 || !"display".starts_with(first) {
                return "Error: `| json` applies to display commands only.\n".into();
            }
            let prompt = self.prompt();
            let mut json = AsJson {
                inner: displays,
                typed: std::cell::Cell::new(false),
            };
            return match self.execute(cmd, &mut json) {
                Ok(text) if json.typed.get() => text,
                Ok(text) => crate::json::display_to_json(&text),
                Err(f) => f.render(&prompt) + "\n",
            };
        }
        if let Some(head) = line.strip_suffix('?') {
            let lines: Vec<String> = crate::parse::help(self.view.kind(), head)
                .into_iter()
                .map(|(l, h)| format!("  {l:<32}{h}"))
                .collect();
            return if lines.is_empty() {
                "Error: Unrecognized command found at '^' position.\n".into()
            } else {
                lines.join("\n") + "\n"
            };
        }
        let prompt = self.prompt();
        match self.execute(line, displays) {
            Ok(text) => text,
            Err(f) => f.render(&prompt) + "\n",
        }
    }

    /// Applies a change to a copy of the candidate, keeping it only if it succeeds.
    fn change(
        &mut self,
        f: impl FnOnce(&mut Config) -> Result<(), String>,
    ) -> Result<String, Failure> {
        let mut next = self.candidate.clone();
        f(&mut next).map_err(Failure::Rejected)?;
        self.candidate = next;
        Ok(String::new())
    }

    fn exec(
        &mut self,
        e: Exec,
        args: &crate::commands::Args,
        displays: &mut dyn Displays,
    ) -> Result<String, Failure> {
        let text = |k: &str| match args.get(k) {
            Some(Value::Text(t)) | Some(Value::Interface(t)) => Some(t.clone()),
            _ => None,
        };
        match e {
            Exec::SystemView => self.view = View::System,
            Exec::Quit => {
                self.view = match self.view {
                    View::Interface(_) | View::Acl(_) => View::System,
                    _ => View::User,
                }
            }
            Exec::Return => self.view = View::User,
            Exec::Commit => self.commit().map_err(Failure::Rejected)?,
            Exec::Save => self.saved = Some(current_configuration(&self.running)),
            Exec::Interface => {
                let name = text("if").unwrap_or_default();
                if !self.candidate.interfaces.contains_key(&name) {
                    self.change(|c| {
                        c.interfaces
                            .insert(name.clone(), crate::config::Interface::new(&name));
                        Ok(())
                    })?;
                }
                self.view = View::Interface(name);
            }
            Exec::Acl => {
                let Some(Value::Int(n)) = args.get("acl") else {
                    return Ok(String::new());
                };
                let n = *n as u32;
                if !self.candidate.acls.contains_key(&n) {
                    self.change(|c| {
                        c.acls.insert(n, BTreeMap::new());
                        Ok(())
                    })?;
                }
                self.view = View::Acl(n);
            }
            Exec::License => {
                let file = text("file").unwrap_or_default();
                let content = self.license_files.get(&file).ok_or_else(|| {
                    Failure::Rejected(format!("The license file {file} does not exist."))
                })?;
                let features: BTreeSet<String> = content
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect();
                // Activation is immediate, not a candidate change.
                self.running.license = Some((file.clone(), features.clone()));
                self.candidate.license = Some((file, features));
            }
            Exec::DisplayCurrent => return Ok(current_configuration(&self.running)),
            Exec::DisplayThis => {
                let lines = match &self.view {
                    View::Interface(i) => interface_block(&self.running, i),
                    _ => current_configuration(&self.running)
                        .lines()
                        .map(String::from)
                        .collect(),
                };
                return Ok(lines.join("\n") + "\n");
            }
            Exec::NtpStatus | Exec::NtpSessions | Exec::NtpTrace => {
                let what = match e {
                    Exec::NtpStatus => NtpDisplay::Status,
                    Exec::NtpSessions => NtpDisplay::Sessions(args.contains_key("verbose")),
                    _ => NtpDisplay::Trace,
                };
                return Ok(displays
                    .ntp(what)
                    .unwrap_or_else(|| "Info: The NTP service is not running.\n".into()));
            }
            Exec::Ptp => {
                let what = match args.get("what") {
                    Some(Value::Choice(w)) => *w,
                    _ => "all",
                };
                let id = match args.get("id") {
                    Some(Value::Int(i)) => Some(*i),
                    _ => None,
                };
                return Ok(displays
                    .ptp(what, id)
                    .unwrap_or_else(|| "Info: 1588 ATR/ACR is not enabled.\n".into()));
            }
            Exec::ClockSource => {
                return Ok(displays
                    .clock()
                    .unwrap_or_else(|| "Info: No clock source is configured.\n".into()));
            }
            Exec::ResetPtp => {
                if !displays.reset_ptp_statistics() {
                    return Ok("Info: 1588 ATR/ACR is not enabled.\n".into());
                }
            }
        }
        Ok(String::new())
    }

    /// Two-stage commit: the candidate becomes running only if it is valid as a whole.
    pub fn commit(&mut self) -> Result<(), String> {
        self.candidate.validate()?;
        self.running = self.candidate.clone();
        Ok(())
    }

    /// Loads a configuration file (the "Configuration Files" format: `#` separators, indented
    /// interface and ACL lines, `return`) into a fresh session and commits it; a failure names
    /// the line (1-based) and the error.
    pub fn load(text: &str) -> Result<Self, (usize, String)> {
        Self::load_licensed(text, None)
    }

    /// [`Session::load`] on a device where the license file `(name, content)` is already
    /// active (licenses are activated on the device, not written in configuration files).
    pub fn load_licensed(
        text: &str,
        license: Option<(&str, &str)>,
    ) -> Result<Self, (usize, String)> {
        let mut s = Session::new(Config::default());
        s.view = View::System;
        if let Some((name, content)) = license {
            s.license_files
                .insert(name.to_string(), content.to_string());
            s.execute(&format!("license active {name}"), &mut NoEngines)
                .map_err(|f| (0, f.render("")))?;
        }
        // The line after which the configuration stopped being valid (and never was again): the
        // one a failing final commit names.
        let (mut valid, mut culprit) = (s.candidate.validate().is_ok(), None);
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim_end();
            let trimmed = line.trim_start();
            if trimmed.is_empty() || trimmed == "#" || trimmed == "return" {
                continue;
            }
            if !line.starts_with(' ') {
                s.view = View::System;
            }
            let prompt = s.prompt();
            s.execute(trimmed, &mut NoEngines)
                .map_err(|f| (n + 1, format!("{prompt} {trimmed}\n{}", f.render(&prompt))))?;
            let now_valid = s.candidate.validate().is_ok();
            if valid && !now_valid {
                culprit = Some((n + 1, trimmed.to_string()));
            }
            valid = now_valid;
        }
        s.commit().map_err(|e| match &culprit {
            Some((n, line)) => (*n, format!("{line}\nError: {e}")),
            None => (0, format!("Error: {e}")),
        })?;
        s.view = View::User;
        Ok(s)
    }
}

/// The command before a trailing `| json`, if the line ends so.
fn json_modifier(line: &str) -> Option<&str> {
    let rest = line.trim_end().strip_suffix("json")?.trim_end();
    rest.strip_suffix('|').map(str::trim_end)
}
