//! SHA-256 as hex (aws-lc-rs, which the features that need a digest already build): keys that
//! name no user, secret or event in clear.

/// A hex SHA-256 of `parts` joined with NUL.
pub(crate) fn sha256_hex(parts: &[&str]) -> String {
    let joined = parts.join("\0");
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, joined.as_bytes());
    d.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}
