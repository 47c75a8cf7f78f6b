//! Values at rest in a shared store, sealed with AES-256-GCM (aws-lc-rs) under the store key.
//!
//! A sealed value is `es1.` and the base64 of a random 96-bit nonce, the ciphertext and the
//! 128-bit tag. The associated data is the value's Redis key and its version, so a sealed
//! value moved to another key, or an older version put back under its key, does not open.

use std::fmt;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

use crate::core::error::ErrorKind;
use crate::{Error, Secret};

/// The environment variable holding the store key: base64 of 32 random bytes.
pub const STORE_KEY_VAR: &str = "EMBED_SESSIONS_STORE_KEY";

const PREFIX: &str = "es1.";

/// The key that seals every value written to the shared store. `Debug` shows nothing of it.
pub struct StoreKey {
    key: LessSafeKey,
}

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey([REDACTED])")
    }
}

impl StoreKey {
    /// A key from its base64 text (32 bytes once decoded), e.g. the output of
    /// `openssl rand -base64 32`. The error names [`STORE_KEY_VAR`] and never echoes the text.
    pub fn from_base64(text: &Secret) -> Result<Self, Error> {
        let bytes = B64.decode(text.expose().trim()).map_err(|_| {
            Error::config(format!(
                "{STORE_KEY_VAR} is not base64; generate one with `openssl rand -base64 32`"
            ))
        })?;
        if bytes.len() != 32 {
            return Err(Error::config(format!(
                "{STORE_KEY_VAR} holds {} bytes; it must be 32 (`openssl rand -base64 32`)",
                bytes.len()
            )));
        }
        let unbound = UnboundKey::new(&AES_256_GCM, &bytes)
            .map_err(|_| Error::config(format!("{STORE_KEY_VAR}: not an AES-256 key")))?;
        Ok(Self { key: LessSafeKey::new(unbound) })
    }

    /// The key from [`STORE_KEY_VAR`]; a missing or malformed key is a configuration error
    /// naming the variable (never a silent plaintext write).
    pub fn from_env() -> Result<Self, Error> {
        match std::env::var(STORE_KEY_VAR) {
            Ok(v) if !v.trim().is_empty() => Self::from_base64(&Secret::new(v)),
            _ => Err(Error::config(format!(
                "{STORE_KEY_VAR} is not set: values in the shared store are sealed with it \
                 (base64 of 32 random bytes: `openssl rand -base64 32`; the same on every \
                 instance)"
            ))),
        }
    }

    /// Seals `plain` for `key` at `version`.
    pub(crate) fn seal(&self, key: &str, version: u64, plain: &[u8]) -> Result<String, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce)
            .map_err(|_| Error::new(ErrorKind::Store).with_message("no random nonce"))?;
        let mut data = plain.to_vec();
        let aad = aad(key, version);
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut data,
            )
            .map_err(|_| Error::new(ErrorKind::Store).with_message("sealing failed"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(format!("{PREFIX}{}", B64.encode(out)))
    }

    /// Opens a value sealed for `key` at `version`; anything else (another key, another
    /// version, another store key, a plaintext or damaged value) is a typed error.
    pub(crate) fn open(&self, key: &str, version: u64, sealed: &str) -> Result<Vec<u8>, Error> {
        let refused = || {
            Error::new(ErrorKind::Store).with_message(format!(
                "{key} (version {version}) does not open with {STORE_KEY_VAR}: it was sealed \
                 with another key, or damaged; nothing in it is used"
            ))
        };
        let raw = sealed.strip_prefix(PREFIX).ok_or_else(refused)?;
        let mut bytes = B64.decode(raw).map_err(|_| refused())?;
        if bytes.len() < NONCE_LEN + AES_256_GCM.tag_len() {
            return Err(refused());
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[..NONCE_LEN]);
        let aad = aad(key, version);
        let plain = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(&aad),
                &mut bytes[NONCE_LEN..],
            )
            .map_err(|_| refused())?;
        Ok(plain.to_vec())
    }
}

fn aad(key: &str, version: u64) -> Vec<u8> {
    format!("{key}#{version}").into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> StoreKey {
        StoreKey::from_base64(&Secret::new(B64.encode([byte; 32]))).unwrap()
    }

    #[test]
    fn sealed_values_open_only_for_their_key_version_and_store_key() {
        let k = key(7);
        let sealed = k.seal("p:ctx:a", 3, b"secret token").unwrap();
        assert!(!sealed.contains("secret"));
        assert_eq!(k.open("p:ctx:a", 3, &sealed).unwrap(), b"secret token");
        assert!(k.open("p:ctx:b", 3, &sealed).is_err(), "another Redis key");
        assert!(k.open("p:ctx:a", 2, &sealed).is_err(), "an older version put back");
        let e = key(8).open("p:ctx:a", 3, &sealed).unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Store);
        assert!(e.to_string().contains(STORE_KEY_VAR), "{e}");
        assert!(k.open("p:ctx:a", 3, "{\"plain\": 1}").is_err());
        assert!(k.open("p:ctx:a", 3, "es1.AAAA").is_err());
        // Two seals of one value differ (random nonces).
        assert_ne!(sealed, k.seal("p:ctx:a", 3, b"secret token").unwrap());
    }

    #[test]
    fn malformed_store_keys_name_the_variable_and_echo_nothing() {
        for bad in ["not base64 !!", "c2hvcnQ=", ""] {
            let e = StoreKey::from_base64(&Secret::new(bad.to_string())).unwrap_err();
            assert_eq!(e.kind(), ErrorKind::Config);
            assert!(e.to_string().contains(STORE_KEY_VAR), "{e}");
            if !bad.is_empty() {
                assert!(!e.to_string().contains(bad), "{e}");
            }
        }
        assert!(!format!("{:?}", key(1)).contains("AQEB"));
    }
}
