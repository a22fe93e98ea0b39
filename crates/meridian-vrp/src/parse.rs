//! Matching a command line against the command tree of a view.

use std::fmt;

use crate::commands::{Args, Command, ViewKind, table};
use crate::syntax::{Element, Mismatch, Syntax, Value, prefix_of, read_param};

/// A VRP error pointing at a column of the input line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SyntaxError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// Character offset of the offending token in the line (its end for incomplete input).
    pub column: usize,
}

/// The kinds of syntax error, with the vendor's wording.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No command continues with this token.
    Unrecognized,
    /// A parameter is malformed or out of range.
    WrongParameter,
    /// The command stops short.
    Incomplete,
    /// The token abbreviates more than one keyword.
    Ambiguous,
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Unrecognized => "Error: Unrecognized command found at '^' position.",
            Self::WrongParameter => "Error: Wrong parameter found at '^' position.",
            Self::Incomplete => "Error: Incomplete command found at '^' position.",
            Self::Ambiguous => "Error: Ambiguous command found at '^' position.",
        })
    }
}

/// A recognised command.
#[derive(Clone)]
pub struct Parsed {
    /// The command.
    pub command: &'static Command,
    /// Whether it is the `undo` form.
    pub undo: bool,
    /// Its arguments.
    pub args: Args,
}

/// Splits a line into tokens with their character offsets.
#[must_use]
pub fn tokenize(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                out.push((s, &line[s..i]));
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        out.push((s, &line[s..]));
    }
    out
}

fn match_element(el: &Element, tokens: &[&str], args: &mut Args) -> Result<usize, Mismatch> {
    match el {
        Element::Keyword(k) => {
            let t = tokens.first().ok_or(Mismatch::Incomplete)?;
            if prefix_of(t, k) {
                Ok(1)
            } else {
                Err(Mismatch::Unrecognized)
            }
        }
        Element::Param(name, kind) => {
            let (v, used) = read_param(kind, tokens)?;
            args.insert(name, v);
            Ok(used)
        }
    }
}

/// Matches `tokens` against one syntax: the arguments, or the failing token index and why.
fn match_syntax(syntax: &Syntax, tokens: &[&str]) -> Result<Args, (usize, Mismatch)> {
    match_from(syntax, 0, tokens, 0, Args::new())
}

/// Matches required element `k` onwards (with the positional groups before each) from token
/// `i`. A positional group is tried first and, if the rest then fails, skipped: a password that
/// happens to read `cipher` still parses.
fn match_from(
    syntax: &Syntax,
    k: usize,
    tokens: &[&str],
    i: usize,
    args: Args,
) -> Result<Args, (usize, Mismatch)> {
    if k == syntax.required.len() {
        return match_trailing(syntax, tokens, i, args);
    }
    let mut failure = None;
    for group in syntax.positional_at(k) {
        let mut with = args.clone();
        let mut j = i;
        let taken = group.iter().try_for_each(|el| {
            j += match_element(el, &tokens[j.min(tokens.len())..], &mut with)?;
            Ok::<(), Mismatch>(())
        });
        if taken.is_ok() {
            if let Some(Element::Keyword(kw)) = group.first() {
                with.insert(kw, Value::Flag);
            }
            match match_required(syntax, k, tokens, j, with) {
                Ok(a) => return Ok(a),
                Err(e) => failure = Some(e),
            }
        }
    }
    match match_required(syntax, k, tokens, i, args) {
        Ok(a) => Ok(a),
        // Report the failure that got further.
        Err(e) => Err(failure.filter(|f| f.0 > e.0).unwrap_or(e)),
    }
}

fn match_required(
    syntax: &Syntax,
    k: usize,
    tokens: &[&str],
    i: usize,
    mut args: Args,
) -> Result<Args, (usize, Mismatch)> {
    let used = match_element(
        &syntax.required[k],
        &tokens[i.min(tokens.len())..],
        &mut args,
    )
    .map_err(|m| (i, m))?;
    match_from(syntax, k + 1, tokens, i + used, args)
}

/// The trailing optional groups, in any order, each at most once.
fn match_trailing(
    syntax: &Syntax,
    tokens: &[&str],
    mut i: usize,
    mut args: Args,
) -> Result<Args, (usize, Mismatch)> {
    let mut remaining: Vec<&Vec<Element>> = syntax.optional.iter().collect();
    while i < tokens.len() {
        // The group whose first element takes this token (keywords before parameters).
        let pick = remaining
            .iter()
            .position(|g| matches!(g.first(), Some(Element::Keyword(k)) if prefix_of(tokens[i], k)))
            .or_else(|| {
                remaining.iter().position(|g| match g.first() {
                    Some(Element::Param(_, kind)) => read_param(kind, &tokens[i..]).is_ok(),
                    _ => false,
                })
            });
        let Some(g) = pick else {
            return Err((i, Mismatch::Unrecognized));
        };
        let group = remaining.remove(g);
        if let Some(Element::Keyword(k)) = group.first() {
            args.insert(k, Value::Flag);
        }
        for el in group {
            i += match_element(el, &tokens[i..], &mut args).map_err(|m| (i, m))?;
        }
    }
    Ok(args)
}

/// The syntaxes of every command in `view` (normal and `undo` forms), parsed once.
fn syntaxes() -> &'static [(usize, bool, Syntax)] {
    use std::sync::OnceLock;
    static ALL: OnceLock<Vec<(usize, bool, Syntax)>> = OnceLock::new();
    ALL.get_or_init(|| {
        let mut v = Vec::new();
        for (i, c) in table().iter().enumerate() {
            v.push((i, false, Syntax::parse(c.syntax)));
            if let Some((u, _)) = c.undo {
                v.push((i, true, Syntax::parse(u)));
            }
        }
        v
    })
}

/// Parses one line in a view. `Ok(None)` for an empty line.
pub fn parse(view: ViewKind, line: &str) -> Result<Option<Parsed>, SyntaxError> {
    let tokens = tokenize(line);
    let Some(&(_, first)) = tokens.first() else {
        return Ok(None);
    };
    let undo = first.len() >= 2 && prefix_of(first, "undo");
    let skip = usize::from(undo);
    let words: Vec<&str> = tokens.iter().skip(skip).map(|t| t.1).collect();
    let column = |i: usize| {
        tokens
            .get(i + skip)
            .map_or(line.trim_end().len() + 1, |t| t.0)
    };
    if undo && words.is_empty() {
        return Err(SyntaxError {
            kind: ErrorKind::Incomplete,
            column: column(0),
        });
    }
    let mut hits = Vec::new();
    let mut worst: Option<(usize, Mismatch)> = None;
    for (i, is_undo, syntax) in syntaxes() {
        let cmd = &table()[*i];
        if *is_undo != undo || !cmd.views.contains(&view) {
            continue;
        }
        match match_syntax(syntax, &words) {
            Ok(args) => hits.push(Parsed {
                command: cmd,
                undo,
                args,
            }),
            Err((at, m)) => {
                let rank = |m: Mismatch| match m {
                    Mismatch::Unrecognized => 0,
                    Mismatch::Incomplete => 1,
                    Mismatch::WrongParameter => 2,
                };
                if worst.is_none_or(|(wa, wm)| at > wa || (at == wa && rank(m) > rank(wm))) {
                    worst = Some((at, m));
                }
            }
        }
    }
    match hits.len() {
        1 => Ok(hits.pop()),
        0 => {
            let (at, m) = worst.unwrap_or((0, Mismatch::Unrecognized));
            let kind = match m {
                Mismatch::Unrecognized => ErrorKind::Unrecognized,
                Mismatch::WrongParameter => ErrorKind::WrongParameter,
                Mismatch::Incomplete => ErrorKind::Incomplete,
            };
            Err(SyntaxError {
                kind,
                column: column(at),
            })
        }
        _ => {
            // Prefer a command whose keywords were all typed in full.
            let exact: Vec<Parsed> = hits
                .iter()
                .filter(|p| {
                    let syn = Syntax::parse(if p.undo {
                        p.command.undo.map_or("", |u| u.0)
                    } else {
                        p.command.syntax
                    });
                    syn.required.iter().zip(&words).all(|(e, w)| match e {
                        Element::Keyword(k) => k.eq_ignore_ascii_case(w),
                        Element::Param(..) => true,
                    })
                })
                .cloned()
                .collect();
            if exact.len() == 1 {
                return Ok(exact.into_iter().next());
            }
            Err(SyntaxError {
                kind: ErrorKind::Ambiguous,
                column: column(words.len().saturating_sub(1)),
            })
        }
    }
}

/// `?` help: the next keywords or parameters after the typed words, with their help.
#[must_use]
pub fn help(view: ViewKind, line: &str) -> Vec<(String, &'static str)> {
    let tokens = tokenize(line);
    let complete = line.ends_with(char::is_whitespace) || line.is_empty();
    let mut words: Vec<&str> = tokens.iter().map(|t| t.1).collect();
    let partial = if complete { None } else { words.pop() };
    let undo = words
        .first()
        .is_some_and(|w| w.len() >= 2 && prefix_of(w, "undo"));
    let body: Vec<&str> = words.iter().skip(usize::from(undo)).copied().collect();
    // (label, help, how many commands offer it): a description is shown only when one does.
    let mut out: Vec<(String, &'static str, usize)> = Vec::new();
    for (i, is_undo, syntax) in syntaxes() {
        let cmd = &table()[*i];
        if *is_undo != undo || !cmd.views.contains(&view) {
            continue;
        }
        // Walk the required part; offer the element after the typed words.
        let mut args = Args::new();
        let mut at = 0;
        let mut ok = true;
        let mut next = None;
        let mut also: Vec<&Element> = Vec::new();
        for (k, el) in syntax.required.iter().enumerate() {
            if at >= body.len() {
                // A positional group here may come first.
                also.extend(syntax.positional_at(k).filter_map(|g| g.first()));
                next = Some(el);
                break;
            }
            // Take a positional group the typed words fill (as the parser first tries).
            for g in syntax.positional_at(k) {
                let mut scratch = args.clone();
                let mut j = at;
                let fits = g
                    .iter()
                    .all(|e| match match_element(e, &body[j..], &mut scratch) {
                        Ok(n) => {
                            j += n;
                            j <= body.len()
                        }
                        Err(_) => false,
                    });
                if fits && j < body.len() {
                    args = scratch;
                    at = j;
                }
            }
            match match_element(el, &body[at..], &mut args) {
                Ok(n) => at += n,
                Err(_) => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let offers: Vec<&Element> = match next {
            Some(el) => also.into_iter().chain([el]).collect(),
            None if at == body.len() => syntax.optional.iter().filter_map(|g| g.first()).collect(),
            None => continue,
        };
        for el in offers {
            let label = match el {
                Element::Keyword(k) => (*k).to_string(),
                Element::Param(name, kind) => match kind {
                    crate::syntax::Kind::Choice(c) => c.join("|"),
                    crate::syntax::Kind::Int(lo, hi) => format!("INTEGER<{lo}-{hi}>"),
                    crate::syntax::Kind::Ipv4 | crate::syntax::Kind::Mask => {
                        "IP_ADDR<X.X.X.X>".into()
                    }
                    crate::syntax::Kind::Interface => "INTERFACE".into(),
                    crate::syntax::Kind::Text(n) => format!("STRING<1-{n}> ({name})"),
                },
            };
            if partial.is_none_or(|p| prefix_of(p, &label)) {
                match out.iter_mut().find(|(l, _, _)| *l == label) {
                    Some(entry) => entry.2 += 1,
                    None => out.push((label, cmd.help, 1)),
                }
            }
        }
        if next.is_none()
            && at == body.len()
            && partial.is_none()
            && !out.iter().any(|(l, _, _)| l == "<cr>")
        {
            out.push(("<cr>".into(), "", 1));
        }
    }
    let mut out: Vec<(String, &'static str)> = out
        .into_iter()
        .map(|(l, h, n)| (l, if n == 1 { h } else { "" }))
        .collect();
    out.sort();
    out
}

/// The byte offset where the last word of `line` starts: just after its last whitespace
/// character, whatever that character's width in UTF-8 (U+0085 is two bytes).
#[must_use]
pub fn last_word_start(line: &str) -> usize {
    line.char_indices()
        .rev()
        .find(|(_, c)| c.is_whitespace())
        .map_or(0, |(i, c)| i + c.len_utf8())
}

/// Tab completion: the unique keyword the partial last word abbreviates, if any.
#[must_use]
pub fn complete(view: ViewKind, line: &str) -> Option<String> {
    if line.ends_with(char::is_whitespace) {
        return None;
    }
    let options: Vec<String> = help(view, line)
        .into_iter()
        .map(|(l, _)| l)
        .filter(|l| {
            l.chars()
                .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
        })
        .collect();
    match options.as_slice() {
        [one] => {
            let cut = last_word_start(line);
            Some(format!("{}{one} ", &line[..cut]))
        }
        _ => None,
    }
}
