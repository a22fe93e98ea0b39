//! `display … | json`: a display's text as JSON for automation.
//!
//! Every display is built from `field: value` lines (`key   :value` in the PTP displays) in
//! blocks separated by blank lines, with headings and table rows in between. The conversion
//! keeps that shape rather than a second model of each display: an array with one object per
//! record, its fields as printed (keys and values trimmed, values as strings, since the units
//! are part of them), and the lines that are not fields under `"lines"`. A field name seen
//! again in the same block starts the next record (the per-peer sections of
//! `display ntp-service sessions`).

use std::fmt::Write as _;

/// One record: fields in display order, then the other lines.
#[derive(Default)]
struct Record {
    fields: Vec<(String, String)>,
    lines: Vec<String>,
}

impl Record {
    fn is_empty(&self) -> bool {
        self.fields.is_empty() && self.lines.is_empty()
    }
}

/// The field of a line: text before the first colon that looks like a name (letters first,
/// not too long), and what follows.
fn field(line: &str) -> Option<(&str, &str)> {
    let (k, v) = line.split_once(':')?;
    let k = k.trim();
    let name_like =
        k.len() <= 48 && k.chars().next().is_some_and(char::is_alphabetic) && !k.contains("  ");
    name_like.then(|| (k, v.trim()))
}

/// A JSON string literal.
fn quote(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `text` (a display's output) as a JSON array of records, one line, newline-terminated.
#[must_use]
pub fn display_to_json(text: &str) -> String {
    let mut records: Vec<Record> = Vec::new();
    let mut cur = Record::default();
    for raw in text.lines() {
        let line = raw.trim();
        // Blank lines and rules between sections end a record.
        if line.is_empty() || line.chars().all(|c| matches!(c, '-' | '=' | '*')) {
            if !cur.is_empty() {
                records.push(std::mem::take(&mut cur));
            }
            continue;
        }
        match field(line) {
            Some((k, v)) => {
                if cur.fields.iter().any(|(seen, _)| seen == k) {
                    records.push(std::mem::take(&mut cur));
                }
                cur.fields.push((k.to_string(), v.to_string()));
            }
            None => cur.lines.push(line.to_string()),
        }
    }
    if !cur.is_empty() {
        records.push(cur);
    }
    let mut out = String::from("[");
    for (i, r) in records.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('{');
        let mut first = true;
        for (k, v) in &r.fields {
            if !first {
                out.push(',');
            }
            first = false;
            quote(k, &mut out);
            out.push(':');
            quote(v, &mut out);
        }
        if !r.lines.is_empty() {
            if !first {
                out.push(',');
            }
            out.push_str("\"lines\":[");
            for (j, l) in r.lines.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                quote(l, &mut out);
            }
            out.push(']');
        }
        out.push('}');
    }
    out.push_str("]\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_records_and_other_lines() {
        let text = " clock status: synchronized\n clock stratum: 3\n reference time: 23:54:56.421 UTC\n\
                    \n clock source: 192.0.2.1\n reach: 3\n clock source: 192.0.2.9\n reach: 0\n\
                    ------\n  MS Name  Stratum\n Current trace source    :server1\n say \"hi\"\\\n";
        assert_eq!(
            display_to_json(text),
            "[{\"clock status\":\"synchronized\",\"clock stratum\":\"3\",\
             \"reference time\":\"23:54:56.421 UTC\"},\
             {\"clock source\":\"192.0.2.1\",\"reach\":\"3\"},\
             {\"clock source\":\"192.0.2.9\",\"reach\":\"0\"},\
             {\"Current trace source\":\"server1\",\"lines\":[\"MS Name  Stratum\",\"say \\\"hi\\\"\\\\\"]}]\n"
        );
    }

    #[test]
    fn nothing_is_an_empty_array() {
        assert_eq!(display_to_json(""), "[]\n");
        assert_eq!(display_to_json("\n\n---\n"), "[]\n");
    }
}
