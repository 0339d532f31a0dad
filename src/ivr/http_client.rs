//! The IVR's HTTP client for the http node (interface D): a tiny HTTP/1.1
//! client (RFC 9112) over a tokio `TcpStream`, `http://` only. One request
//! per connection (`Connection: close`); the body ends at `Content-Length`,
//! at the last chunk (§7.1 chunked) or at close. Bounded everywhere: the
//! host must be loopback or allowed by `[ivr] http_allow`, connect and the
//! whole exchange share the node's timeout, the response is at most
//! [`MAX_RESPONSE`] bytes, and only a 2xx status with a UTF-8 body is
//! returned as a response (the session checks the JSON).

use crate::ivr::session::{HttpRequest, MAX_HTTP_BODY};
use std::net::IpAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest status line plus headers read.
pub const MAX_HEAD: usize = 8 * 1024;
/// Largest whole response read (head plus body).
pub const MAX_RESPONSE: usize = MAX_HEAD + MAX_HTTP_BODY;

/// Why a request failed; the session takes `on_error` for each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HttpError {
    #[error("bad url `{0}`: {1}")]
    BadUrl(String, &'static str),
    #[error("host `{0}` is not loopback and not in [ivr] http_allow")]
    NotAllowed(String),
    #[error("connect to {0}: {1}")]
    Connect(String, String),
    #[error("i/o with {0}: {1}")]
    Io(String, String),
    #[error("no answer within {0} ms")]
    Timeout(u32),
    #[error("response larger than {MAX_RESPONSE} bytes")]
    TooLarge,
    #[error("malformed response: {0}")]
    Malformed(&'static str),
}

/// A parsed `http://` URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub host: String,
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target, HttpError> {
        let bad = |why| HttpError::BadUrl(url.to_owned(), why);
        let rest = url.strip_prefix("http://").ok_or(bad("not http://"))?;
        if rest.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("spaces or control characters"));
        }
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        if authority.contains('@') {
            return Err(bad("user info"));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || !p.is_empty() => {
                (h, p.parse::<u16>().map_err(|_| bad("port"))?)
            }
            _ => (authority, 80),
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        Ok(Target {
            host: host.to_owned(),
            port,
            path,
        })
    }

    /// `host:port` as written in `http_allow` and the Host header.
    pub fn authority(&self) -> String {
        match self.host.parse::<IpAddr>() {
            Ok(IpAddr::V6(_)) => format!("[{}]:{}", self.host, self.port),
            _ => format!("{}:{}", self.host, self.port),
        }
    }

    /// Loopback addresses and `localhost` always; others when listed.
    pub fn allowed(&self, allow: &[String]) -> bool {
        let loopback = self.host == "localhost"
            || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
        loopback || allow.iter().any(|a| *a == self.authority())
    }
}

/// Performs `req`: `Ok((status, body))` for any complete response.
pub async fn fetch(req: &HttpRequest, allow: &[String]) -> Result<(u16, String), HttpError> {
    let target = Target::parse(&req.url)?;
    if !target.allowed(allow) {
        return Err(HttpError::NotAllowed(target.authority()));
    }
    let limit = Duration::from_millis(u64::from(req.timeout_ms));
    tokio::time::timeout(limit, exchange(&target, req))
        .await
        .map_err(|_| HttpError::Timeout(req.timeout_ms))?
}

async fn exchange(t: &Target, req: &HttpRequest) -> Result<(u16, String), HttpError> {
    let who = t.authority();
    let mut stream = TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| HttpError::Connect(who.clone(), e.to_string()))?;
    let io = |e: std::io::Error| HttpError::Io(who.clone(), e.to_string());
    stream.write_all(&request_bytes(t, req)).await.map_err(io)?;
    let mut buf = Vec::with_capacity(4096);
    let mut chunk = [0u8; 4096];
    loop {
        let n = stream.read(&mut chunk).await.map_err(io)?;
        if n == 0 {
            break;
        }
        if buf.len() + n > MAX_RESPONSE {
            return Err(HttpError::TooLarge);
        }
        buf.extend_from_slice(&chunk[..n]);
        if complete(&buf)? {
            break;
        }
    }
    parse_response(&buf)
}

/// The request head and body (RFC 9112 §3, §6).
pub fn request_bytes(t: &Target, req: &HttpRequest) -> Vec<u8> {
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\nUser-Agent: softacd-ivr\r\n",
        req.method.as_str(),
        t.path,
        t.authority()
    );
    for (k, v) in &req.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    let body = req.body.as_deref().unwrap_or("");
    if req.body.is_some() {
        head.push_str("Content-Type: application/json\r\n");
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

struct Head {
    status: u16,
    length: Option<usize>,
    chunked: bool,
    body_at: usize,
}

fn head(buf: &[u8]) -> Result<Option<Head>, HttpError> {
    let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
        return match buf.len() > MAX_HEAD {
            true => Err(HttpError::TooLarge),
            false => Ok(None),
        };
    };
    let text = std::str::from_utf8(&buf[..end]).map_err(|_| HttpError::Malformed("head"))?;
    let mut lines = text.split("\r\n");
    let status_line = lines.next().unwrap_or("");
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or("");
    if !version.starts_with("HTTP/1.") {
        return Err(HttpError::Malformed("status line"));
    }
    let status = parts
        .next()
        .and_then(|s| s.parse::<u16>().ok())
        .filter(|s| (100..600).contains(s))
        .ok_or(HttpError::Malformed("status code"))?;
    let (mut length, mut chunked) = (None, false);
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            return Err(HttpError::Malformed("header line"));
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n = value
                .parse::<usize>()
                .map_err(|_| HttpError::Malformed("content-length"))?;
            length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = value.to_ascii_lowercase().contains("chunked");
        }
    }
    Ok(Some(Head {
        status,
        length,
        chunked,
        body_at: end + 4,
    }))
}

/// Whether `buf` holds a whole response (else read until close).
fn complete(buf: &[u8]) -> Result<bool, HttpError> {
    let Some(h) = head(buf)? else {
        return Ok(false);
    };
    let body = &buf[h.body_at..];
    Ok(match (h.chunked, h.length) {
        (true, _) => dechunk(body)?.is_some(),
        (false, Some(n)) => body.len() >= n,
        (false, None) => false,
    })
}

/// The body of a chunked message, once its last chunk arrived.
fn dechunk(mut body: &[u8]) -> Result<Option<Vec<u8>>, HttpError> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = body.windows(2).position(|w| w == b"\r\n") else {
            return Ok(None);
        };
        let size_text =
            std::str::from_utf8(&body[..eol]).map_err(|_| HttpError::Malformed("chunk"))?;
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size =
            usize::from_str_radix(size_hex, 16).map_err(|_| HttpError::Malformed("chunk size"))?;
        body = &body[eol + 2..];
        if size == 0 {
            return Ok(Some(out));
        }
        if size > MAX_RESPONSE {
            return Err(HttpError::TooLarge);
        }
        if body.len() < size + 2 {
            return Ok(None);
        }
        out.extend_from_slice(&body[..size]);
        body = &body[size + 2..];
    }
}

/// Status and body of a whole response (or of one cut by close).
pub fn parse_response(buf: &[u8]) -> Result<(u16, String), HttpError> {
    let h = head(buf)?.ok_or(HttpError::Malformed("no end of head"))?;
    let raw = &buf[h.body_at..];
    let body = match (h.chunked, h.length) {
        (true, _) => dechunk(raw)?.ok_or(HttpError::Malformed("unfinished chunked body"))?,
        (false, Some(n)) if raw.len() >= n => raw[..n].to_vec(),
        (false, Some(_)) => return Err(HttpError::Malformed("body shorter than content-length")),
        (false, None) => raw.to_vec(),
    };
    if body.len() > MAX_HTTP_BODY {
        return Err(HttpError::TooLarge);
    }
    let body = String::from_utf8(body).map_err(|_| HttpError::Malformed("body is not UTF-8"))?;
    Ok((h.status, body))
}

#[cfg(test)]
mod tests;
