//! RSA for bunq: the installation key pair (RSA-2048, PKCS#1 v1.5 SHA-256 request signatures)
//! and bunq's server public key (response signatures), on `aws-lc-rs`.
//!
//! `aws-lc-rs` is already in the dependency graph through rustls; its RSA is constant-time
//! (AWS-LC, FIPS-validated code base) and can generate keys, unlike the `rsa` crate, whose
//! PKCS#1 v1.5 private-key operations carry RUSTSEC-2023-0071 (Marvin timing side channel).

use std::fmt;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rsa::{KeyPair as RsaKeyPair, KeySize};
use aws_lc_rs::signature::{self, KeyPair as _, ParsedPublicKey};
use base64::Engine as _;

use crate::core::error::{Error, ErrorKind};
use crate::core::secret::Secret;

const B64: base64::engine::general_purpose::GeneralPurpose =
    base64::engine::general_purpose::STANDARD;

/// The installation key pair: signs every request after installation.
pub(crate) struct KeyPair {
    inner: RsaKeyPair,
    public_pem: String,
}

impl fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyPair(RSA-2048, private key [REDACTED])")
    }
}

fn crypto_error(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::Signature).with_message(message)
}

impl KeyPair {
    /// A fresh RSA-2048 key pair (tens of milliseconds of CPU: call it off the async threads).
    pub(crate) fn generate() -> Result<Self, Error> {
        let inner = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| crypto_error("RSA-2048 key generation failed"))?;
        Self::wrap(inner)
    }

    /// A key pair from an unencrypted PKCS#8 PEM (`BEGIN PRIVATE KEY`).
    pub(crate) fn from_pkcs8_pem(pem: &str) -> Result<Self, Error> {
        let der = pem_decode(pem, &["PRIVATE KEY"])
            .map_err(|why| crypto_error(format!("the private key is not a PKCS#8 PEM: {why}")))?;
        let inner = RsaKeyPair::from_pkcs8(&der)
            .map_err(|e| crypto_error(format!("the private key is not a usable RSA key: {e}")))?;
        Self::wrap(inner)
    }

    fn wrap(inner: RsaKeyPair) -> Result<Self, Error> {
        let spki: PublicKeyX509Der<'static> = inner
            .public_key()
            .as_der()
            .map_err(|_| crypto_error("cannot encode the RSA public key"))?;
        let public_pem = pem_encode("PUBLIC KEY", spki.as_ref());
        Ok(Self { inner, public_pem })
    }

    /// The private key as an unencrypted PKCS#8 PEM.
    pub(crate) fn to_pkcs8_pem(&self) -> Result<Secret, Error> {
        let der: Pkcs8V1Der<'static> =
            self.inner.as_der().map_err(|_| crypto_error("cannot encode the RSA private key"))?;
        Ok(Secret::new(pem_encode("PRIVATE KEY", der.as_ref())))
    }

    /// The public key as a PEM SubjectPublicKeyInfo (`BEGIN PUBLIC KEY`), as bunq wants it.
    pub(crate) fn public_key_pem(&self) -> &str {
        &self.public_pem
    }

    /// Standard base64 (padded) of the RSA PKCS#1 v1.5 SHA-256 signature of `message`.
    pub(crate) fn sign(&self, message: &[u8]) -> Result<String, Error> {
        let mut sig = vec![0u8; self.inner.public_modulus_len()];
        self.inner
            .sign(
                &signature::RSA_PKCS1_SHA256,
                &aws_lc_rs::rand::SystemRandom::new(),
                message,
                &mut sig,
            )
            .map_err(|_| crypto_error("RSA signing failed"))?;
        Ok(B64.encode(sig))
    }
}

/// bunq's public key from the installation: verifies `X-Bunq-Server-Signature`.
pub(crate) struct ServerKey {
    parsed: ParsedPublicKey,
    pem: String,
}

impl fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerKey(RSA)")
    }
}

impl ServerKey {
    /// Parses a PEM RSA public key (`BEGIN PUBLIC KEY` or `BEGIN RSA PUBLIC KEY`).
    pub(crate) fn from_pem(pem: &str) -> Result<Self, Error> {
        let der = pem_decode(pem, &["PUBLIC KEY", "RSA PUBLIC KEY"]).map_err(|why| {
            crypto_error(format!("the server public key is not an RSA public key in PEM: {why}"))
        })?;
        let parsed = ParsedPublicKey::new(&signature::RSA_PKCS1_2048_8192_SHA256, der)
            .map_err(|e| crypto_error(format!("the server public key is not usable: {e}")))?;
        Ok(Self { parsed, pem: pem.trim().to_string() })
    }

    /// The key as received.
    pub(crate) fn pem(&self) -> &str {
        &self.pem
    }

    /// Whether `signature_b64` (standard base64) is bunq's signature of exactly `body`.
    pub(crate) fn verify(&self, body: &[u8], signature_b64: &str) -> bool {
        match B64.decode(signature_b64.trim()) {
            Ok(sig) => self.parsed.verify_sig(body, &sig).is_ok(),
            Err(_) => false,
        }
    }
}

/// PEM with 64-character lines and a final newline.
fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = B64.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        // Base64 output is ASCII.
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The DER inside a PEM block whose label is one of `labels`.
fn pem_decode(pem: &str, labels: &[&str]) -> Result<Vec<u8>, String> {
    let pem = pem.trim();
    let label = labels
        .iter()
        .find(|l| pem.starts_with(&format!("-----BEGIN {l}-----")))
        .ok_or_else(|| format!("expected `-----BEGIN {}-----`", labels[0]))?;
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let body = pem[begin.len()..].strip_suffix(end.as_str()).ok_or("missing its END line")?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    B64.decode(b64.as_bytes()).map_err(|_| "the body is not base64".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    #[test]
    fn sign_verify_round_trip_and_pem_forms() {
        let started = Instant::now();
        let key = KeyPair::generate().unwrap();
        let generated_in = started.elapsed();
        assert!(key.public_key_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(key.public_key_pem().ends_with("-----END PUBLIC KEY-----\n"));
        crate::core::validate::rsa_public_key_pem("client_public_key", key.public_key_pem())
            .unwrap();

        let body = br#"{"secret":"abc"}"#;
        let sig = key.sign(body).unwrap();
        assert_eq!(B64.decode(&sig).unwrap().len(), 256, "RSA-2048 signatures are 256 bytes");
        // PKCS#1 v1.5 is deterministic: retries re-sign to the same value.
        assert_eq!(sig, key.sign(body).unwrap());

        // Verify with the public key, as bunq does with the installed key.
        let server_view = ServerKey::from_pem(key.public_key_pem()).unwrap();
        assert!(server_view.verify(body, &sig));
        assert!(!server_view.verify(br#"{"secret":"abd"}"#, &sig));
        assert!(!server_view.verify(body, "not base64!"));
        assert!(server_view.verify(b"", &key.sign(b"").unwrap()), "GET/DELETE sign an empty body");

        // The private key survives a PKCS#8 round trip and signs identically.
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.expose().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = KeyPair::from_pkcs8_pem(pem.expose()).unwrap();
        assert_eq!(again.public_key_pem(), key.public_key_pem());
        assert_eq!(again.sign(body).unwrap(), sig);
        assert!(!format!("{again:?}").contains("PRIVATE"));

        // Cost, printed for BENCHMARKS (`cargo test ... -- --nocapture`).
        let n = 50;
        let started = Instant::now();
        for _ in 0..n {
            key.sign(body).unwrap();
        }
        let sign = started.elapsed() / n;
        let started = Instant::now();
        for _ in 0..n {
            assert!(server_view.verify(body, &sig));
        }
        let verify = started.elapsed() / n;
        eprintln!(
            "bunq RSA-2048 (aws-lc-rs): key generation {generated_in:?}, sign {sign:?}, verify {verify:?}"
        );
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        let e =
            KeyPair::from_pkcs8_pem("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----")
                .unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Signature);
        assert!(e.to_string().contains("BEGIN PRIVATE KEY"), "{e}");
        let e =
            KeyPair::from_pkcs8_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----")
                .unwrap_err();
        assert!(e.to_string().contains("not a usable RSA key"), "{e}");
        assert!(ServerKey::from_pem("hello").is_err());
        assert!(
            ServerKey::from_pem("-----BEGIN PUBLIC KEY-----\n!!\n-----END PUBLIC KEY-----")
                .is_err()
        );
    }
}
