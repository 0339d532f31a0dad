//! HTTP Digest authentication as SIP uses it (RFC 3261 §22.4, RFC 2617 §3,
//! RFC 7616 §3.4): parsing the `Authorization` credentials (quoted strings
//! with escapes, tokens), computing HA1/HA2/response for MD5 and SHA-256 with
//! `qop=auth`, and writing `WWW-Authenticate` challenges (RFC 7616 §3.3).
//! Pure functions; the registrar decides what a result means.

use md5::Md5;
use sha2::{Digest as _, Sha256};

/// Longest credentials value we read; anything longer is hostile.
const MAX_CREDENTIALS_LEN: usize = 4096;
/// Most auth-params one credentials value may carry.
const MAX_PARAMS: usize = 32;

/// What was wrong with a credentials value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DigestError {
    #[error("digest credentials: scheme is not Digest")]
    NotDigest,
    #[error("digest credentials: longer than {MAX_CREDENTIALS_LEN} bytes")]
    TooLong,
    #[error("digest credentials: more than {MAX_PARAMS} parameters")]
    TooManyParams,
    #[error("digest credentials: malformed at byte {0}")]
    Syntax(usize),
    #[error("digest credentials: parameter {0} given twice")]
    Duplicate(String),
    #[error("digest credentials: missing parameter {0}")]
    Missing(&'static str),
    #[error("digest credentials: unsupported algorithm {0}")]
    Algorithm(String),
    #[error("digest credentials: bad nonce-count {0}")]
    NonceCount(String),
}

/// The hash of the digest (RFC 7616 §3.2); `-sess` variants are not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    Md5,
    Sha256,
}

impl Algorithm {
    /// Case-insensitive, as RFC 7616 §3.3 tokens are.
    pub fn from_token(s: &str) -> Option<Algorithm> {
        if s.eq_ignore_ascii_case("MD5") {
            Some(Algorithm::Md5)
        } else if s.eq_ignore_ascii_case("SHA-256") {
            Some(Algorithm::Sha256)
        } else {
            None
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::Md5 => "MD5",
            Algorithm::Sha256 => "SHA-256",
        }
    }

    /// `H(data)` as lower-case hex (RFC 7616 §3.4).
    pub fn hex(self, data: &[u8]) -> String {
        match self {
            Algorithm::Md5 => to_hex(&Md5::digest(data)),
            Algorithm::Sha256 => to_hex(&Sha256::digest(data)),
        }
    }
}

pub fn to_hex(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(HEX[usize::from(b >> 4)]));
        s.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    s
}

/// The digest credentials of one `Authorization` value (RFC 7616 §3.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    /// Absent means MD5 (RFC 2617 §3.2.2).
    pub algorithm: Algorithm,
    pub qop: Option<String>,
    /// The nonce-count exactly as sent (it enters the hash), and its value.
    pub nc: Option<(String, u32)>,
    pub cnonce: Option<String>,
    pub opaque: Option<String>,
}

/// The inputs of one response computation (RFC 7616 §3.4.1).
#[derive(Debug, Clone, Copy)]
pub struct ResponseInput<'a> {
    pub algorithm: Algorithm,
    pub username: &'a str,
    pub realm: &'a str,
    pub password: &'a str,
    pub method: &'a str,
    pub uri: &'a str,
    pub nonce: &'a str,
    /// `(nc, cnonce, qop)`; `None` is the RFC 2069 form without qop.
    pub qop: Option<(&'a str, &'a str, &'a str)>,
}

/// `response = KD(H(A1), nonce:nc:cnonce:qop:H(A2))` with
/// `A1 = user:realm:password`, `A2 = method:uri` (qop=auth).
pub fn compute_response(i: &ResponseInput<'_>) -> String {
    let ha1 = i
        .algorithm
        .hex(format!("{}:{}:{}", i.username, i.realm, i.password).as_bytes());
    let ha2 = i
        .algorithm
        .hex(format!("{}:{}", i.method, i.uri).as_bytes());
    let kd = match i.qop {
        Some((nc, cnonce, qop)) => format!("{ha1}:{}:{nc}:{cnonce}:{qop}:{ha2}", i.nonce),
        None => format!("{ha1}:{}:{ha2}", i.nonce),
    };
    i.algorithm.hex(kd.as_bytes())
}

/// Compare two strings in time independent of where they differ.
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A `WWW-Authenticate` / `Proxy-Authenticate` value (RFC 7616 §3.3).
pub fn challenge(realm: &str, nonce: &str, alg: Algorithm, stale: bool) -> String {
    let mut s = format!(
        "Digest realm=\"{}\", nonce=\"{}\", algorithm={}, qop=\"auth\"",
        quote_escape(realm),
        quote_escape(nonce),
        alg.as_str()
    );
    if stale {
        s.push_str(", stale=true");
    }
    s
}

fn quote_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// Parse a whole credentials value: `Digest name=value, name="value", …`.
pub fn parse_credentials(value: &str) -> Result<Credentials, DigestError> {
    if value.len() > MAX_CREDENTIALS_LEN {
        return Err(DigestError::TooLong);
    }
    let value = value.trim_start();
    let scheme_end = value
        .find(|c: char| c.is_whitespace())
        .unwrap_or(value.len());
    if !value[..scheme_end].eq_ignore_ascii_case("Digest") {
        return Err(DigestError::NotDigest);
    }
    let params = parse_auth_params(&value[scheme_end..])?;
    credentials_from(&params)
}

fn credentials_from(params: &[(String, String)]) -> Result<Credentials, DigestError> {
    let get = |n: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .map(|(_, v)| v.clone())
    };
    let need = |n: &'static str| get(n).ok_or(DigestError::Missing(n));
    let algorithm = match get("algorithm") {
        None => Algorithm::Md5,
        Some(a) => Algorithm::from_token(&a).ok_or(DigestError::Algorithm(a))?,
    };
    let nc = match get("nc") {
        None => None,
        Some(raw) => Some(parse_nc(&raw)?),
    };
    Ok(Credentials {
        username: need("username")?,
        realm: need("realm")?,
        nonce: need("nonce")?,
        uri: need("uri")?,
        response: need("response")?,
        algorithm,
        qop: get("qop"),
        nc,
        cnonce: get("cnonce"),
        opaque: get("opaque"),
    })
}

/// `nc-value = 8LHEX` (RFC 7616 §3.4); we accept 1 to 8 hex digits.
fn parse_nc(raw: &str) -> Result<(String, u32), DigestError> {
    let ok = !raw.is_empty() && raw.len() <= 8 && raw.bytes().all(|b| b.is_ascii_hexdigit());
    match u32::from_str_radix(raw, 16) {
        Ok(n) if ok => Ok((raw.to_string(), n)),
        _ => Err(DigestError::NonceCount(raw.chars().take(16).collect())),
    }
}

/// Parse `#auth-param` (RFC 7235 §2.1): `token = ( token / quoted-string )`,
/// comma separated, optional whitespace. Names are kept as sent.
pub fn parse_auth_params(s: &str) -> Result<Vec<(String, String)>, DigestError> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out: Vec<(String, String)> = Vec::new();
    loop {
        i = skip_ws_commas(b, i);
        if i >= b.len() {
            return Ok(out);
        }
        let (name, next) = read_token(b, i).ok_or(DigestError::Syntax(i))?;
        i = skip_ws(b, next);
        if b.get(i) != Some(&b'=') {
            return Err(DigestError::Syntax(i));
        }
        i = skip_ws(b, i + 1);
        let (value, next) = if b.get(i) == Some(&b'"') {
            read_quoted(b, i).ok_or(DigestError::Syntax(i))?
        } else {
            read_token(b, i).ok_or(DigestError::Syntax(i))?
        };
        i = skip_ws(b, next);
        if i < b.len() && b[i] != b',' {
            return Err(DigestError::Syntax(i));
        }
        if out.iter().any(|(k, _)| k.eq_ignore_ascii_case(&name)) {
            return Err(DigestError::Duplicate(name));
        }
        if out.len() == MAX_PARAMS {
            return Err(DigestError::TooManyParams);
        }
        out.push((name, value));
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

fn skip_ws_commas(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t' || b[i] == b',') {
        i += 1;
    }
    i
}

/// RFC 7230 `tchar`, plus `/`, `:` and `@`, which some phones send in
/// unquoted values (a bare `uri=sip:host`).
fn is_tchar(c: u8) -> bool {
    c.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~/:@".contains(&c)
}

fn read_token(b: &[u8], start: usize) -> Option<(String, usize)> {
    let mut i = start;
    while i < b.len() && is_tchar(b[i]) {
        i += 1;
    }
    (i > start).then(|| (String::from_utf8_lossy(&b[start..i]).into_owned(), i))
}

/// Read a quoted-string starting at the opening quote; `\x` stands for `x`.
fn read_quoted(b: &[u8], start: usize) -> Option<(String, usize)> {
    let mut out = Vec::new();
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((String::from_utf8_lossy(&out).into_owned(), i + 1)),
            b'\\' => {
                out.push(*b.get(i + 1)?);
                i += 2;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc2617_section_3_5_md5_example() {
        let r = compute_response(&ResponseInput {
            algorithm: Algorithm::Md5,
            username: "Mufasa",
            realm: "testrealm@host.com",
            password: "Circle Of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            qop: Some(("00000001", "0a4f113b", "auth")),
        });
        assert_eq!(r, "6629fae49393a05397450978507c4ef1");
    }

    fn rfc7616(alg: Algorithm) -> String {
        compute_response(&ResponseInput {
            algorithm: alg,
            username: "Mufasa",
            realm: "http-auth@example.org",
            password: "Circle of Life",
            method: "GET",
            uri: "/dir/index.html",
            nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v",
            qop: Some((
                "00000001",
                "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ",
                "auth",
            )),
        })
    }

    #[test]
    fn rfc7616_section_3_9_1_examples() {
        assert_eq!(rfc7616(Algorithm::Md5), "8ca523f5e9506fed4657c9700eebdbec");
        assert_eq!(
            rfc7616(Algorithm::Sha256),
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
    }

    #[test]
    fn parses_the_rfc7616_sha256_authorization() {
        let v = "Digest username=\"Mufasa\",\r\n realm=\"http-auth@example.org\", \
                 uri=\"/dir/index.html\", algorithm=SHA-256, \
                 nonce=\"7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v\", nc=00000001, \
                 cnonce=\"f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ\", qop=auth, \
                 response=\"753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1\", \
                 opaque=\"FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS\"";
        let v = v.replace("\r\n", "");
        let c = parse_credentials(&v).unwrap();
        assert_eq!(c.username, "Mufasa");
        assert_eq!(c.algorithm, Algorithm::Sha256);
        assert_eq!(c.nc, Some(("00000001".to_string(), 1)));
        assert_eq!(c.qop.as_deref(), Some("auth"));
        assert_eq!(
            c.opaque.as_deref(),
            Some("FQhe/qaU925kfnzjCev0ciny7QMkPqMAFRtzCUYo5tdS")
        );
        assert_eq!(c.response, rfc7616(Algorithm::Sha256));
    }

    #[test]
    fn quoted_strings_keep_commas_and_unescape() {
        let p = parse_auth_params(r#" realm="a, \"b\" \\c",x=y"#).unwrap();
        assert_eq!(p[0], ("realm".into(), r#"a, "b" \c"#.into()));
        assert_eq!(p[1], ("x".into(), "y".into()));
    }

    #[test]
    fn algorithm_defaults_to_md5_and_unknown_is_an_error() {
        let base = r#"Digest username="u", realm="r", nonce="n", uri="sip:h", response="x""#;
        assert_eq!(parse_credentials(base).unwrap().algorithm, Algorithm::Md5);
        let bad = format!("{base}, algorithm=SHA-512-256");
        assert!(matches!(
            parse_credentials(&bad),
            Err(DigestError::Algorithm(_))
        ));
    }

    #[test]
    fn malformed_credentials_are_errors_not_panics() {
        for v in [
            "Basic dXNlcjpwYXNz",
            "Digest username=\"unterminated",
            "Digest username",
            "Digest =x",
            "Digest a=b c=d",
            "Digest username=\"u\", username=\"v\"",
            "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"x\", response=\"r\", nc=zz",
            "Digest username=\"u\\",
        ] {
            assert!(parse_credentials(v).is_err(), "{v}");
        }
        assert_eq!(
            parse_credentials(&format!("Digest x=\"{}\"", "a".repeat(5000))),
            Err(DigestError::TooLong)
        );
        let many: Vec<String> = (0..40).map(|i| format!("p{i}=v")).collect();
        assert_eq!(
            parse_credentials(&format!("Digest {}", many.join(","))),
            Err(DigestError::TooManyParams)
        );
    }

    #[test]
    fn missing_required_parameter_is_named() {
        let v = r#"Digest username="u", realm="r", nonce="n", response="x""#;
        assert_eq!(parse_credentials(v), Err(DigestError::Missing("uri")));
    }

    #[test]
    fn challenge_round_trips_through_the_parser() {
        let c = challenge("call\"center", "abc", Algorithm::Sha256, true);
        let p = parse_auth_params(c.strip_prefix("Digest").unwrap()).unwrap();
        assert!(p.contains(&("realm".into(), "call\"center".into())));
        assert!(p.contains(&("algorithm".into(), "SHA-256".into())));
        assert!(p.contains(&("qop".into(), "auth".into())));
        assert!(p.contains(&("stale".into(), "true".into())));
    }

    #[test]
    fn constant_time_eq_compares_exactly() {
        assert!(constant_time_eq("abc", "abc"));
        assert!(!constant_time_eq("abc", "abd"));
        assert!(!constant_time_eq("abc", "ab"));
    }
}
