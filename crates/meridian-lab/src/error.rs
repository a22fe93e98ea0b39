//! The lab's one-line errors.

use std::fmt;

/// What is wrong with a lab, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabError {
    /// The file, as the operator named it.
    pub file: String,
    /// The 1-based line, where one applies.
    pub line: Option<usize>,
    /// What is wrong, in one line.
    pub message: String,
    /// For a configuration line: the device's echo of the line with the caret under the
    /// offending token, printed below the message.
    pub detail: Option<String>,
}

impl LabError {
    /// An error at `line` of `file`.
    pub fn at(file: &str, line: Option<usize>, message: impl Into<String>) -> Self {
        // One line, whatever the source said: an echo of a 12 KB line helps nobody.
        let message: String = message.into();
        let mut one = message.lines().next().unwrap_or("").trim().to_string();
        if one.chars().count() > 200 {
            one = one.chars().take(200).collect::<String>() + "…";
        }
        Self {
            file: file.to_string(),
            line,
            message: one,
            detail: None,
        }
    }

    /// An error at byte `offset` of `text`, the content of `file`.
    pub fn at_offset(file: &str, text: &str, offset: usize, message: impl Into<String>) -> Self {
        Self::at(file, Some(line_of(text, offset)), message)
    }
}

/// The 1-based line of byte `offset` in `text`.
#[must_use]
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(l) => write!(f, "{}:{l}: {}", self.file, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }?;
        match &self.detail {
            Some(d) => write!(f, "\n{d}"),
            None => Ok(()),
        }
    }
}

impl std::error::Error for LabError {}
