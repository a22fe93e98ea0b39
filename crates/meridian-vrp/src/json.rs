//! `display … | json`: a display's text as JSON for automation.
//!
//! Every display is built from `field: value` lines (`key   :value` in the PTP displays) in
//! blocks separated by blank lines, with headings and table rows in between. The conversion
//! keeps that shape rather than a second model of each display: an array with one object per
//! record, its fields as printed (keys and values trimmed, values as strings, since the units
//! are part of them), and the lines that are not fields under `"lines"`. A field name seen
//! again in the same block starts the next record (the per-peer sections of
//! `display ntp-service sessions`).
//!
//! For scripts that want numbers, every field whose value is a number, alone or followed by one
//! unit (`0.0100 ms`, `-19.846 ppm`, `255`), appears again under `"values"` as
//! `{"value": number, "unit": "ms"}` (no `unit` when there is none); addresses, times and
//! words stay strings only.

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

/// A value that is a finite number, alone or with one unit word after it.
fn number(v: &str) -> Option<(f64, Option<&str>)> {
    let mut parts = v.split_whitespace();
    let n: f64 = parts.next()?.parse().ok().filter(|n: &f64| n.is_finite())?;
    let unit = parts.next();
    let unit_like = |u: &str| {
        u.chars()
            .all(|c| c.is_alphabetic() || matches!(c, '%' | '/'))
    };
    (parts.next().is_none() && unit.is_none_or(unit_like)).then_some((n, unit))
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
        let numbers: Vec<(&String, (f64, Option<&str>))> = r
            .fields
            .iter()
            .filter_map(|(k, v)| number(v).map(|n| (k, n)))
            .collect();
        if !numbers.is_empty() {
            if !first {
                out.push(',');
            }
            first = false;
            out.push_str("\"values\":{");
            for (j, (k, (n, unit))) in numbers.iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                quote(k, &mut out);
                let _ = write!(out, ":{{\"value\":{n}");
                if let Some(u) = unit {
                    out.push_str(",\"unit\":");
                    quote(u, &mut out);
                }
                out.push('}');
            }
            out.push('}');
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
             \"reference time\":\"23:54:56.421 UTC\",\"values\":{\"clock stratum\":{\"value\":3}}},\
             {\"clock source\":\"192.0.2.1\",\"reach\":\"3\",\"values\":{\"reach\":{\"value\":3}}},\
             {\"clock source\":\"192.0.2.9\",\"reach\":\"0\",\"values\":{\"reach\":{\"value\":0}}},\
             {\"Current trace source\":\"server1\",\"lines\":[\"MS Name  Stratum\",\"say \\\"hi\\\"\\\\\"]}]\n"
        );
    }

    #[test]
    fn numbers_with_a_unit_are_also_typed() {
        let text = " delay: 0.0100 ms\n offset: -5.0433 ms\n frequency: -19.846 ppm\n\
                    load: 12 %\n peer: 10.0.1.31\n since: 3 days ago\n odd: nan\n";
        let j: serde_json::Value = serde_json::from_str(&display_to_json(text)).unwrap();
        let v = &j[0]["values"];
        assert_eq!(v["delay"], serde_json::json!({"value": 0.01, "unit": "ms"}));
        assert_eq!(v["offset"]["value"], -5.0433);
        assert_eq!(v["frequency"]["unit"], "ppm");
        assert_eq!(v["load"], serde_json::json!({"value": 12, "unit": "%"}));
        // Strings stay strings: an address, a phrase, a non-finite number.
        for k in ["peer", "since", "odd"] {
            assert!(v.get(k).is_none(), "{k}: {v}");
        }
        assert_eq!(j[0]["delay"], "0.0100 ms");
    }

    #[test]
    fn nothing_is_an_empty_array() {
        assert_eq!(display_to_json(""), "[]\n");
        assert_eq!(display_to_json("\n\n---\n"), "[]\n");
    }
}
