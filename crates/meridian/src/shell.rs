//! The interactive VRP shell: rustyline with history, Tab completion from the command tree, `?`
//! help and the changing prompt. Without a terminal it reads commands line by line.

use std::cell::Cell;
use std::error::Error;
use std::io::{BufRead, IsTerminal};

use meridian_vrp::commands::ViewKind;
use meridian_vrp::parse::{complete, help, last_word_start};
use meridian_vrp::session::{Displays, Session};
use rustyline::completion::{Completer, Pair};
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};

struct VrpHelper {
    view: Cell<ViewKind>,
}

impl Completer for VrpHelper {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _: &Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let head = &line[..pos];
        let start = last_word_start(head);
        if let Some(full) = complete(self.view.get(), head) {
            let word = full[start..].to_string();
            return Ok((
                start,
                vec![Pair {
                    display: word.clone(),
                    replacement: word,
                }],
            ));
        }
        let options = help(self.view.get(), head)
            .into_iter()
            .filter(|(l, _)| l.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
            .map(|(l, _)| Pair {
                display: l.clone(),
                replacement: format!("{l} "),
            })
            .collect();
        Ok((start, options))
    }
}

impl Hinter for VrpHelper {
    type Hint = String;
}
impl Highlighter for VrpHelper {}
impl Validator for VrpHelper {}
impl Helper for VrpHelper {}

/// What the shell talks to: a session in this process, or a daemon's control socket.
pub(crate) trait Console {
    /// The prompt and the kind of view (for completion and help).
    fn prompt(&mut self) -> Result<(String, ViewKind), Box<dyn Error>>;
    /// Runs one line; the text to print.
    fn run(&mut self, line: &str) -> Result<String, Box<dyn Error>>;
}

/// A session in this process over some engines' displays (the lab).
pub(crate) struct Local<'a> {
    pub(crate) session: Session,
    pub(crate) displays: &'a mut dyn Displays,
}

impl Console for Local<'_> {
    fn prompt(&mut self) -> Result<(String, ViewKind), Box<dyn Error>> {
        Ok((self.session.prompt(), self.session.view.kind()))
    }

    fn run(&mut self, line: &str) -> Result<String, Box<dyn Error>> {
        Ok(self.session.run_line(line, &mut *self.displays))
    }
}

/// A running `meridiand`: one connection to its control socket is one session (its own view
/// and candidate configuration), kept open for the whole shell.
pub(crate) struct Remote {
    pub(crate) path: std::path::PathBuf,
    conn: Option<std::io::BufReader<std::os::unix::net::UnixStream>>,
}

impl Remote {
    /// A shell of the daemon listening on `path` (connected at the first command).
    pub(crate) fn new(path: std::path::PathBuf) -> Self {
        Self { path, conn: None }
    }

    fn exchange(&mut self, line: &str) -> Result<(String, ViewKind, String), Box<dyn Error>> {
        use std::io::{BufRead, Read, Write};
        if line.contains('\n') {
            return Err("a command is one line".into());
        }
        let conn = match &mut self.conn {
            Some(c) => c,
            None => {
                let s = std::os::unix::net::UnixStream::connect(&self.path)
                    .map_err(|e| format!("{}: {e}", self.path.display()))?;
                s.set_read_timeout(Some(std::time::Duration::from_secs(10)))?;
                self.conn.insert(std::io::BufReader::new(s))
            }
        };
        writeln!(conn.get_mut(), "{line}")?;
        let mut head = String::new();
        conn.read_line(&mut head)?;
        let head = head.trim_end_matches('\n');
        let mut fields = head.split('\t');
        let (prompt, view, len) = match (fields.next(), fields.next(), fields.next()) {
            (Some(p), Some(v), Some(n)) => (p, v, n.parse::<usize>().ok()),
            _ => (head, "user", None),
        };
        let Some(len) = len else {
            // Not an answer: the daemon refused the connection (e.g. too many) and closed it.
            let why = if head.is_empty() {
                "the daemon closed the connection"
            } else {
                head
            };
            let why = why.to_string();
            self.conn = None;
            return Err(why.into());
        };
        let mut text = vec![0u8; len];
        conn.read_exact(&mut text)?;
        let view = ViewKind::from_name(view).unwrap_or(ViewKind::User);
        Ok((
            prompt.to_string(),
            view,
            String::from_utf8_lossy(&text).into_owned(),
        ))
    }
}

impl Console for Remote {
    fn prompt(&mut self) -> Result<(String, ViewKind), Box<dyn Error>> {
        let (p, v, _) = self.exchange("")?;
        Ok((p, v))
    }

    fn run(&mut self, line: &str) -> Result<String, Box<dyn Error>> {
        Ok(self.exchange(line)?.2)
    }
}

/// An interactive session until `quit` from user view or end of input.
pub(crate) fn interactive(console: &mut dyn Console) -> Result<(), Box<dyn Error>> {
    if !std::io::stdin().is_terminal() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            let (prompt, view) = console.prompt()?;
            if line.trim() == "quit" && view == ViewKind::User {
                break;
            }
            println!("{prompt} {line}");
            print!("{}", console.run(&line)?);
        }
        return Ok(());
    }
    let mut editor: Editor<VrpHelper, rustyline::history::DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(VrpHelper {
        view: Cell::new(ViewKind::User),
    }));
    loop {
        let (prompt, view) = console.prompt()?;
        if let Some(h) = editor.helper_mut() {
            h.view.set(view);
        }
        let line = match editor.readline(&format!("{prompt} ")) {
            Ok(l) => l,
            Err(
                rustyline::error::ReadlineError::Eof | rustyline::error::ReadlineError::Interrupted,
            ) => break,
            Err(e) => return Err(e.into()),
        };
        let _ = editor.add_history_entry(line.as_str());
        if line.trim() == "quit" && view == ViewKind::User {
            break;
        }
        print!("{}", console.run(&line)?);
    }
    Ok(())
}
