//! Symmetric-key authentication: MD5 (key ‖ packet) and HMAC-SHA256, as the vendor offers them.

use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use sha2::Sha256;

/// The digest algorithm of a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeyType {
    /// MD5 over key then packet: 16-byte digest.
    Md5,
    /// HMAC-SHA256 over the packet: 32-byte digest.
    HmacSha256,
}

/// A symmetric key.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// The algorithm.
    pub kind: KeyType,
    /// The secret.
    pub secret: Vec<u8>,
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        // Never print secrets.
        f.debug_struct("Key")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl Key {
    /// The digest of `data` (the packet up to the MAC).
    #[must_use]
    pub fn digest(&self, data: &[u8]) -> Vec<u8> {
        match self.kind {
            KeyType::Md5 => {
                let mut h = Md5::new();
                h.update(&self.secret);
                h.update(data);
                h.finalize().to_vec()
            }
            KeyType::HmacSha256 => match Hmac::<Sha256>::new_from_slice(&self.secret) {
                Ok(mut m) => {
                    m.update(data);
                    m.finalize().into_bytes().to_vec()
                }
                // HMAC takes keys of any length; this cannot happen.
                Err(_) => Vec::new(),
            },
        }
    }

    /// Whether `digest` authenticates `data`, compared in constant time.
    #[must_use]
    pub fn verify(&self, data: &[u8], digest: &[u8]) -> bool {
        let expected = self.digest(data);
        expected.len() == digest.len()
            && expected
                .iter()
                .zip(digest)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        // RFC 1321: MD5("abc") with an empty key.
        let md5 = Key {
            kind: KeyType::Md5,
            secret: vec![],
        };
        let d = md5.digest(b"abc");
        assert_eq!(
            d,
            [
                0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0, 0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1,
                0x7f, 0x72
            ]
        );
        // RFC 4231 test case 2: HMAC-SHA256 with key "Jefe".
        let h = Key {
            kind: KeyType::HmacSha256,
            secret: b"Jefe".to_vec(),
        };
        let d = h.digest(b"what do ya want for nothing?");
        assert_eq!(&d[..4], &[0x5b, 0xdc, 0xc1, 0x46]);
        assert_eq!(d.len(), 32);
        assert!(h.verify(b"what do ya want for nothing?", &d));
        assert!(!h.verify(b"what do ya want for nothing!", &d));
        assert!(!h.verify(b"what do ya want for nothing?", &d[..16]));
        assert_eq!(format!("{h:?}"), "Key { kind: HmacSha256, .. }");
    }
}
