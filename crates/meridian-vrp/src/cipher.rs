//! Keys in cipher text, as the router shows them: a configuration file, `display
//! current-configuration` and `save` never carry an authentication key in clear. The form is
//! `%^%#…%^%#` around the key's bytes masked and hex-encoded; like the vendor's, it keeps a key
//! off screens and out of casual copies, it is not encryption (the file's mode protects it).

/// The mask, repeated over the key (fixed: a saved file must load on any device).
const MASK: &[u8] = b"meridian-ntp-key-mask";
const WRAP: &str = "%^%#";

/// The cipher text of `plain`.
#[must_use]
pub fn encode(plain: &str) -> String {
    let hex: String = plain
        .bytes()
        .zip(MASK.iter().cycle())
        .map(|(b, m)| format!("{:02X}", b ^ m))
        .collect();
    format!("{WRAP}{hex}{WRAP}")
}

/// The key a cipher text stands for; `None` if `text` is not one (then it is the key itself).
#[must_use]
pub fn decode(text: &str) -> Option<String> {
    let hex = text.strip_prefix(WRAP)?.strip_suffix(WRAP)?;
    if hex.len() % 2 != 0 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..hex.len())
        .step_by(2)
        .zip(MASK.iter().cycle())
        .map(|(i, m)| u8::from_str_radix(&hex[i..i + 2], 16).ok().map(|b| b ^ m))
        .collect();
    String::from_utf8(bytes?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_no_clear_text() {
        for key in ["s3cret", "cipher", "a", "%^%#", "ключ"] {
            let c = encode(key);
            assert!(!c.contains(key) || key == "%^%#", "{c}");
            assert!(c.starts_with("%^%#") && c.ends_with("%^%#"));
            assert_eq!(decode(&c).as_deref(), Some(key));
        }
        assert_eq!(decode("s3cret"), None);
        assert_eq!(decode("%^%#ZZ%^%#"), None);
        assert_eq!(decode("%^%#A%^%#"), None);
    }
}
