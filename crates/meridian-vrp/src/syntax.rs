//! The syntax mini-language of command definitions, and matching input tokens against it.
//!
//! A syntax is a sequence of elements: keywords (`ntp-service`), parameters (`<addr:ipv4>`,
//! `<stratum:1-15>`, `<mode:client|server>`), and optional groups (`[version <v:1-4>]`). Groups
//! after the last required element may appear in any order, each at most once; a group before a
//! required element (`rule [ <id:0-4294967294> ] <action:permit|deny> …`) is positional: it is
//! there or not, where the syntax puts it. Keywords and choice values match any unique prefix,
//! case-insensitively.

use std::net::Ipv4Addr;

/// What a parameter accepts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Kind {
    /// An integer in an inclusive range.
    Int(u64, u64),
    /// An IPv4 address.
    Ipv4,
    /// An IPv4 address or a prefix length written `/N`… or a dotted mask (for `ip address`).
    Mask,
    /// A string of 1..=N characters.
    Text(usize),
    /// One of these keywords.
    Choice(Vec<&'static str>),
    /// An interface name: `GigabitEthernet0/1/0`, `gigabitethernet 0/1/0`, `LoopBack0`.
    Interface,
}

/// One element of a syntax.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Element {
    /// A keyword.
    Keyword(&'static str),
    /// A named parameter.
    Param(&'static str, Kind),
}

/// A parsed syntax: required elements with positional optional groups among them, then
/// trailing optional groups.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Syntax {
    /// Elements that must appear in order.
    pub required: Vec<Element>,
    /// Optional groups written before required element `k` (`(k, group)`), matched in place.
    pub positional: Vec<(usize, Vec<Element>)>,
    /// Optional groups, each a sequence, in any order after the required part.
    pub optional: Vec<Vec<Element>>,
}

fn element(token: &'static str) -> Element {
    if let Some(inner) = token.strip_prefix('<').and_then(|t| t.strip_suffix('>')) {
        let (name, spec) = inner.split_once(':').unwrap_or((inner, "text"));
        let kind = match spec {
            "ipv4" => Kind::Ipv4,
            "mask" => Kind::Mask,
            "interface" => Kind::Interface,
            "text" => Kind::Text(255),
            s if s.starts_with("text") => Kind::Text(s[4..].parse().unwrap_or(255)),
            s if s.contains('|') => Kind::Choice(s.split('|').collect()),
            s => {
                let (lo, hi) = s.split_once('-').unwrap_or((s, s));
                Kind::Int(lo.parse().unwrap_or(0), hi.parse().unwrap_or(u64::MAX))
            }
        };
        Element::Param(name, kind)
    } else {
        Element::Keyword(token)
    }
}

impl Syntax {
    /// Parses a syntax string. Written by us, so it is trusted to be well formed.
    #[must_use]
    pub fn parse(s: &'static str) -> Self {
        let mut required = Vec::new();
        // Groups with the number of required elements before them.
        let mut groups: Vec<(usize, Vec<Element>)> = Vec::new();
        let mut group: Option<Vec<Element>> = None;
        for token in s.split_whitespace() {
            match token {
                "[" => group = Some(Vec::new()),
                "]" => groups.extend(group.take().map(|g| (required.len(), g))),
                t => match group.as_mut() {
                    Some(g) => g.push(element(t)),
                    None => required.push(element(t)),
                },
            }
        }
        let (optional, positional): (Vec<_>, Vec<_>) =
            groups.into_iter().partition(|(k, _)| *k == required.len());
        Self {
            required,
            positional,
            optional: optional.into_iter().map(|(_, g)| g).collect(),
        }
    }

    /// The positional groups written before required element `k`.
    pub fn positional_at(&self, k: usize) -> impl Iterator<Item = &Vec<Element>> {
        self.positional
            .iter()
            .filter(move |(at, _)| *at == k)
            .map(|(_, g)| g)
    }
}

/// A parameter value.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// An integer.
    Int(u64),
    /// An address.
    Ipv4(Ipv4Addr),
    /// A prefix length (from a mask or `/N`).
    Prefix(u8),
    /// A string.
    Text(String),
    /// The chosen keyword, in its full spelling.
    Choice(&'static str),
    /// A canonical interface name.
    Interface(String),
    /// An optional keyword-only group was present.
    Flag,
}

/// Why a token did not fit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// No keyword or parameter here takes it.
    Unrecognized,
    /// A parameter's value is malformed or out of range.
    WrongParameter,
    /// Input ended before a required element.
    Incomplete,
}

/// The interface types and their canonical spellings.
pub const INTERFACE_TYPES: [&str; 2] = ["GigabitEthernet", "LoopBack"];

/// Whether `token` is a unique case-insensitive prefix of `word`.
#[must_use]
pub fn prefix_of(token: &str, word: &str) -> bool {
    !token.is_empty()
        && word.len() >= token.len()
        && word[..token.len()].eq_ignore_ascii_case(token)
}

/// Parses an interface name from one token (`GigabitEthernet0/1/0`) or two (`gig 0/1/0`);
/// returns the canonical name and the tokens used.
#[must_use]
pub fn interface(tokens: &[&str]) -> Option<(String, usize)> {
    let first = tokens.first()?;
    let split = first
        .find(|c: char| c.is_ascii_digit())
        .unwrap_or(first.len());
    let (kind, number, used) = if split < first.len() {
        (&first[..split], first[split..].to_string(), 1)
    } else {
        (*first, tokens.get(1)?.to_string(), 2)
    };
    let canonical = INTERFACE_TYPES.iter().find(|t| prefix_of(kind, t))?;
    let valid = number
        .split('/')
        .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_digit()));
    valid.then(|| (format!("{canonical}{number}"), used))
}

/// Reads one parameter value from the front of `tokens`: the value and the tokens used.
pub fn read_param(kind: &Kind, tokens: &[&str]) -> Result<(Value, usize), Mismatch> {
    let t = *tokens.first().ok_or(Mismatch::Incomplete)?;
    match kind {
        Kind::Int(lo, hi) => match t.parse::<u64>() {
            Ok(v) if (*lo..=*hi).contains(&v) => Ok((Value::Int(v), 1)),
            _ => Err(Mismatch::WrongParameter),
        },
        Kind::Ipv4 => t
            .parse()
            .map(|a| (Value::Ipv4(a), 1))
            .map_err(|_| Mismatch::WrongParameter),
        Kind::Mask => {
            if let Some(len) = t.strip_prefix('/').or(Some(t).filter(|t| t.len() <= 2)) {
                return match len.parse::<u8>() {
                    Ok(l) if l <= 32 => Ok((Value::Prefix(l), 1)),
                    _ => Err(Mismatch::WrongParameter),
                };
            }
            let m: Ipv4Addr = t.parse().map_err(|_| Mismatch::WrongParameter)?;
            let bits = u32::from(m);
            // A mask is contiguous ones.
            if bits.leading_ones() + bits.trailing_zeros() == 32 {
                Ok((Value::Prefix(bits.leading_ones() as u8), 1))
            } else {
                Err(Mismatch::WrongParameter)
            }
        }
        Kind::Text(max) if !t.is_empty() && t.chars().count() <= *max => {
            Ok((Value::Text(t.to_string()), 1))
        }
        Kind::Text(_) => Err(Mismatch::WrongParameter),
        Kind::Choice(choices) => {
            let hits: Vec<&&str> = choices.iter().filter(|c| prefix_of(t, c)).collect();
            let exact = choices.iter().find(|c| c.eq_ignore_ascii_case(t));
            match (exact, hits.as_slice()) {
                (Some(c), _) => Ok((Value::Choice(c), 1)),
                (None, [one]) => Ok((Value::Choice(one), 1)),
                _ => Err(Mismatch::WrongParameter),
            }
        }
        Kind::Interface => interface(tokens)
            .map(|(n, used)| (Value::Interface(n), used))
            .ok_or(Mismatch::WrongParameter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax_and_params() {
        let s =
            Syntax::parse("ntp-service unicast-server <ip:ipv4> [ version <v:1-4> ] [ iburst ]");
        assert_eq!(s.required.len(), 3);
        assert_eq!(s.optional.len(), 2);
        assert!(s.positional.is_empty());
        let r = Syntax::parse("rule [ <id:0-9> ] <action:permit|deny> source [ x ]");
        assert_eq!(r.required.len(), 3);
        assert_eq!(r.positional_at(1).count(), 1);
        assert_eq!(r.optional.len(), 1);
        assert_eq!(read_param(&Kind::Int(1, 4), &["3"]), Ok((Value::Int(3), 1)));
        assert_eq!(
            read_param(&Kind::Int(1, 4), &["5"]),
            Err(Mismatch::WrongParameter)
        );
        assert_eq!(
            read_param(&Kind::Mask, &["255.255.255.0"]),
            Ok((Value::Prefix(24), 1))
        );
        assert_eq!(read_param(&Kind::Mask, &["24"]), Ok((Value::Prefix(24), 1)));
        assert_eq!(
            read_param(&Kind::Mask, &["255.0.255.0"]),
            Err(Mismatch::WrongParameter)
        );
        assert_eq!(
            read_param(&Kind::Choice(vec!["client", "server"]), &["cl"]),
            Ok((Value::Choice("client"), 1))
        );
        assert_eq!(
            interface(&["gigabitethernet", "0/1/0"]),
            Some(("GigabitEthernet0/1/0".into(), 2))
        );
        assert_eq!(
            interface(&["GigabitEthernet0/1/0"]),
            Some(("GigabitEthernet0/1/0".into(), 1))
        );
        assert_eq!(interface(&["loop", "0"]), Some(("LoopBack0".into(), 2)));
        assert_eq!(interface(&["eth0"]), None);
    }
}
