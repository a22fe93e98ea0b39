//! The interactive VRP shell: rustyline with history, Tab completion from the command tree, `?`
//! help and the changing prompt. Without a terminal it reads commands line by line.

use std::cell::Cell;
use std::error::Error;
use std::io::{BufRead, IsTerminal};

use meridian_vrp::commands::ViewKind;
use meridian_vrp::parse::{complete, help};
use meridian_vrp::session::{Displays, Session, View};
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
        let start = head.rfind(char::is_whitespace).map_or(0, |i| i + 1);
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

fn kind(v: &View) -> ViewKind {
    match v {
        View::User => ViewKind::User,
        View::System => ViewKind::System,
        View::Interface(_) => ViewKind::Interface,
        View::Acl(_) => ViewKind::Acl,
    }
}

/// Runs one line: `?` help, or a command; returns the text to print.
#[must_use]
pub(crate) fn run_line(session: &mut Session, line: &str, displays: &mut dyn Displays) -> String {
    if let Some(head) = line.strip_suffix('?') {
        let lines: Vec<String> = help(kind(&session.view), head)
            .into_iter()
            .map(|(l, h)| format!("  {l:<32}{h}"))
            .collect();
        return if lines.is_empty() {
            "Error: Unrecognized command found at '^' position.\n".into()
        } else {
            lines.join("\n") + "\n"
        };
    }
    let prompt = session.prompt();
    match session.execute(line, displays) {
        Ok(text) => text,
        Err(f) => f.render(&prompt) + "\n",
    }
}

/// An interactive session until `quit` from user view or end of input.
pub(crate) fn interactive(
    mut session: Session,
    displays: &mut dyn Displays,
) -> Result<(), Box<dyn Error>> {
    if !std::io::stdin().is_terminal() {
        for line in std::io::stdin().lock().lines() {
            let line = line?;
            if line.trim() == "quit" && session.view == View::User {
                break;
            }
            println!("{} {line}", session.prompt());
            print!("{}", run_line(&mut session, &line, &mut *displays));
        }
        return Ok(());
    }
    let mut editor: Editor<VrpHelper, rustyline::history::DefaultHistory> = Editor::new()?;
    editor.set_helper(Some(VrpHelper {
        view: Cell::new(ViewKind::User),
    }));
    loop {
        if let Some(h) = editor.helper_mut() {
            h.view.set(kind(&session.view));
        }
        let line = match editor.readline(&format!("{} ", session.prompt())) {
            Ok(l) => l,
            Err(
                rustyline::error::ReadlineError::Eof | rustyline::error::ReadlineError::Interrupted,
            ) => break,
            Err(e) => return Err(e.into()),
        };
        let _ = editor.add_history_entry(line.as_str());
        if line.trim() == "quit" && session.view == View::User {
            break;
        }
        print!("{}", run_line(&mut session, &line, &mut *displays));
    }
    Ok(())
}
