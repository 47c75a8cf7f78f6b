//! Input checks run before any request is sent. Each error names the field.

use super::error::Error;

/// A duration in seconds supplied by a provider (a token lifetime, a session timeout), checked
/// against `0..=max`: anything else is an `UnexpectedResponse` error naming the field,
/// so no provider value can overflow a clock addition.
pub fn provider_seconds(field: &str, secs: i64, max: i64) -> Result<std::time::Duration, Error> {
    if (0..=max).contains(&secs) {
        Ok(std::time::Duration::from_secs(secs.unsigned_abs()))
    } else {
        Err(Error::new(super::error::ErrorKind::UnexpectedResponse).with_message(format!(
            "`{field}` is {secs} seconds, outside the accepted 0..={max}; the answer was refused"
        )))
    }
}

/// Checks an E.164 phone number: `+`, then 2 to 15 digits, the first not 0.
pub fn phone_e164(field: &'static str, value: &str) -> Result<(), Error> {
    let digits = value.strip_prefix('+').ok_or_else(|| {
        Error::invalid_input(
            field,
            "must be an E.164 number starting with `+` (e.g. +201234567890)",
        )
    })?;
    let ok = (2..=15).contains(&digits.len())
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !digits.starts_with('0');
    if ok {
        Ok(())
    } else {
        Err(Error::invalid_input(
            field,
            "must be an E.164 number: `+` and 2 to 15 digits, no spaces (e.g. +201234567890)",
        ))
    }
}

/// Checks an email address: one `@`, a non-empty local part, a dotted domain, no spaces or
/// control characters, at most 254 bytes.
pub fn email(field: &'static str, value: &str) -> Result<(), Error> {
    let bad = || Error::invalid_input(field, "must be an email address like name@example.com");
    if value.len() > 254 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad());
    }
    let (local, domain) = value.split_once('@').ok_or_else(bad)?;
    if local.is_empty()
        || local.len() > 64
        || domain.contains('@')
        || local.contains(['"', '<', '>', '(', ')', ',', ';', ':', '\\', '[', ']'])
    {
        return Err(bad());
    }
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(label_ok) {
        return Err(bad());
    }
    Ok(())
}

/// Checks a non-empty string with no control characters.
pub fn non_empty(field: &'static str, value: &str) -> Result<(), Error> {
    // ASCII text (the usual id) is checked byte by byte: Unicode's white space and control
    // characters within ASCII are exactly these.
    let (blank, control) = if value.is_ascii() {
        let b = value.as_bytes();
        let space = |c: &u8| *c == b' ' || (b'\t'..=b'\r').contains(c);
        (b.iter().all(space), b.iter().any(u8::is_ascii_control))
    } else {
        (value.trim().is_empty(), value.chars().any(char::is_control))
    };
    if blank {
        return Err(Error::invalid_input(field, "must not be empty"));
    }
    if control {
        return Err(Error::invalid_input(field, "must not contain control characters"));
    }
    Ok(())
}

/// Checks a UUID in its hyphenated form and returns it.
pub fn uuid(field: &'static str, value: &str) -> Result<uuid::Uuid, Error> {
    if value.len() != 36 {
        return Err(Error::invalid_input(
            field,
            "must be a UUID like 4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a",
        ));
    }
    uuid::Uuid::try_parse(value).map_err(|_| {
        Error::invalid_input(field, "must be a UUID like 4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a")
    })
}

/// Checks an RSA public key in PEM (`BEGIN PUBLIC KEY`, SubjectPublicKeyInfo with the
/// rsaEncryption algorithm, or `BEGIN RSA PUBLIC KEY`, PKCS#1) and returns it trimmed.
pub fn rsa_public_key_pem(field: &'static str, pem: &str) -> Result<String, Error> {
    use base64::Engine as _;
    let pem = pem.trim();
    let bad =
        |why: &str| Error::invalid_input(field, format!("not an RSA public key in PEM: {why}"));
    let (label, rest) = if let Some(r) = pem.strip_prefix("-----BEGIN PUBLIC KEY-----") {
        ("PUBLIC KEY", r)
    } else if let Some(r) = pem.strip_prefix("-----BEGIN RSA PUBLIC KEY-----") {
        ("RSA PUBLIC KEY", r)
    } else {
        return Err(bad("missing `-----BEGIN PUBLIC KEY-----`"));
    };
    let end = format!("-----END {label}-----");
    let body = rest.strip_suffix(end.as_str()).ok_or_else(|| bad("missing its END line"))?;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(b64.as_bytes())
        .map_err(|_| bad("the body is not base64"))?;
    if der.len() < 64 || der[0] != 0x30 {
        return Err(bad("the body is not a DER key"));
    }
    const RSA_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01];
    if label == "PUBLIC KEY" && !der.windows(RSA_OID.len()).any(|w| w == RSA_OID) {
        return Err(bad("the key is not an RSA key"));
    }
    Ok(pem.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The ASCII fast path of `non_empty` answers as the Unicode rules do, for every ASCII
    /// character alone, padded, and beside text.
    #[test]
    fn non_empty_ascii_path_agrees_with_unicode_rules() {
        let unicode = |v: &str| {
            if v.trim().is_empty() {
                Some("must not be empty")
            } else if v.chars().any(char::is_control) {
                Some("must not contain control characters")
            } else {
                None
            }
        };
        for c in 0u8..=127 {
            let c = c as char;
            for v in [format!("{c}"), format!(" {c} "), format!("id{c}"), format!("{c}{c}")] {
                let got = non_empty("f", &v).err().map(|e| e.to_string());
                match unicode(&v) {
                    None => assert!(got.is_none(), "{v:?}: {got:?}"),
                    Some(why) => assert!(got.is_some_and(|g| g.contains(why)), "{v:?}"),
                }
            }
        }
        assert!(non_empty("f", "\u{2003}").is_err(), "an em space alone is blank");
        assert!(non_empty("f", "caf\u{e9}").is_ok());
    }

    #[test]
    fn phones() {
        for ok in ["+201234567890", "+14155552671", "+12"] {
            assert!(phone_e164("phone", ok).is_ok(), "{ok}");
        }
        for bad in ["201234567890", "+0123", "+1 415 555", "+", "+1234567890123456", "+12a4"] {
            let e = phone_e164("phone", bad).unwrap_err();
            assert_eq!(e.field(), Some("phone"), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in ["a@b.co", "first.last+tag@sub.example.com"] {
            assert!(email("email", ok).is_ok(), "{ok}");
        }
        for bad in ["", "a", "a@", "@b.co", "a@b", "a b@c.de", "a@b..c", "a@@b.co", "a@-b.co"] {
            assert_eq!(email("email", bad).unwrap_err().field(), Some("email"), "{bad}");
        }
    }

    #[test]
    fn uuids() {
        assert!(uuid("tenantId", "4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a").is_ok());
        for bad in [
            "",
            "4f8f94de2cc04ec7a7f8f0c7f560e59a",
            "not-a-uuid",
            "{4f8f94de-2cc0-4ec7-a7f8-f0c7f560e59a}",
        ] {
            assert_eq!(uuid("tenantId", bad).unwrap_err().field(), Some("tenantId"), "{bad}");
        }
    }

    #[test]
    fn pems() {
        let good = "-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAu1SU1LfVLPHCozMxH2Mo\n4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n+qKhbwKfBstIs+bMY2Zkp18gnTxKLxoS2tFczGkPLPgizskuemMghRniWaoLcyeh\nkd3qqGElvW/VDL5AaWTg0nLVkjRo9z+40RQzuVaE8AkAFmxZzow3x+VJYKdjykkJ\n0iT9wCS0DRTXu269V264Vf/3jvredZiKRkgwlL9xNAwxXFg0x/XFw005UWVRIkdg\ncKWTjpBP2dPwVZ4WWC+9aGVd+Gyn1o0CLelf4rEjGoXbAAEgAqeGUxrcIlbjXfbc\nmwIDAQAB\n-----END PUBLIC KEY-----\n";
        assert!(rsa_public_key_pem("userPublicKey", good).is_ok());
        for bad in [
            "",
            "hello",
            "-----BEGIN PUBLIC KEY-----\n!!!\n-----END PUBLIC KEY-----",
            "-----BEGIN PUBLIC KEY-----\nMIIB\n",
        ] {
            assert_eq!(
                rsa_public_key_pem("userPublicKey", bad).unwrap_err().field(),
                Some("userPublicKey")
            );
        }
    }
}
