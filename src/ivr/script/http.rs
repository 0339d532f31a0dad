//! The `http` node's shape and rules (issue 5, the seed's interface D: the
//! IVR asks an application server over HTTP/1.1, RFC 9112). The URL is an
//! `http://` template with `${var}` (values percent-encoded, RFC 3986 §2.1);
//! `body` maps JSON fields to templates (POST, RFC 8259); `save` maps flow
//! variables to dotted paths into the JSON response; `on_error` takes every
//! failure (connect, timeout, non-2xx, bad JSON).

use super::raw::Sp;
use super::Diags;
use serde::Deserialize;
use std::collections::BTreeMap;

/// Default and largest `timeout_ms` of an http node.
pub const DEFAULT_HTTP_TIMEOUT_MS: u32 = 2000;
pub const MAX_HTTP_TIMEOUT_MS: u32 = 30_000;
/// Most headers, body fields and saved fields of one node.
pub const MAX_HTTP_FIELDS: usize = 16;

/// GET or POST.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Get,
    Post,
}

impl HttpMethod {
    pub fn parse(s: &str) -> Option<HttpMethod> {
        match s {
            "GET" => Some(HttpMethod::Get),
            "POST" => Some(HttpMethod::Post),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Post => "POST",
        }
    }
}

/// The loaded `http` node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpNode {
    pub method: HttpMethod,
    /// `http://host:port/path` with `${var}` placeholders.
    pub url: String,
    /// Header name → value template.
    pub headers: BTreeMap<String, String>,
    /// JSON field → value template (sent as a JSON object of strings).
    pub body: BTreeMap<String, String>,
    pub timeout_ms: u32,
    /// Flow variable → dotted path in the JSON response (`customer.vip`).
    pub save: BTreeMap<String, String>,
    pub on_error: String,
    pub next: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    pub method: Option<Sp<String>>,
    pub url: Sp<String>,
    pub headers: Option<Sp<BTreeMap<Sp<String>, Sp<String>>>>,
    pub body: Option<Sp<BTreeMap<Sp<String>, Sp<String>>>>,
    pub timeout_ms: Option<Sp<u32>>,
    pub save: Option<Sp<BTreeMap<Sp<String>, Sp<String>>>>,
    pub on_error: Sp<String>,
    pub next: Sp<String>,
}

type Map = Option<Sp<BTreeMap<Sp<String>, Sp<String>>>>;

fn plain(map: Map) -> BTreeMap<String, String> {
    map.map(|m| {
        m.into_inner()
            .into_iter()
            .map(|(k, v)| (k.into_inner(), v.into_inner()))
            .collect()
    })
    .unwrap_or_default()
}

impl RawHttp {
    pub(super) fn into_node(self) -> HttpNode {
        HttpNode {
            method: self
                .method
                .as_ref()
                .and_then(|m| HttpMethod::parse(m.get_ref()))
                .unwrap_or(HttpMethod::Get),
            url: self.url.into_inner(),
            headers: plain(self.headers),
            body: plain(self.body),
            timeout_ms: self
                .timeout_ms
                .map_or(DEFAULT_HTTP_TIMEOUT_MS, Sp::into_inner),
            save: plain(self.save),
            on_error: self.on_error.into_inner(),
            next: self.next.into_inner(),
        }
    }

    pub(super) fn targets(&self) -> Vec<&Sp<String>> {
        vec![&self.on_error, &self.next]
    }
}

/// Rules of one http node other than its targets (checked by the caller).
pub(super) fn check_http(
    h: &RawHttp,
    var_name: &dyn Fn(&Sp<String>, &mut Diags<'_>),
    d: &mut Diags<'_>,
) {
    if let Some(m) = &h.method {
        if HttpMethod::parse(m.get_ref()).is_none() {
            d.at(
                m.span(),
                format!("`method` must be GET or POST, not `{}`", m.get_ref()),
            );
        }
    }
    if let Err(e) = check_url(h.url.get_ref()) {
        d.at(h.url.span(), e);
    }
    if let Some(t) = &h.timeout_ms {
        if !(1..=MAX_HTTP_TIMEOUT_MS).contains(t.get_ref()) {
            let msg = format!(
                "`timeout_ms` must be 1..={MAX_HTTP_TIMEOUT_MS}, not {}",
                t.get_ref()
            );
            d.at(t.span(), msg);
        }
    }
    let is_get = h.method.as_ref().is_none_or(|m| m.get_ref() == "GET");
    if let (true, Some(b)) = (is_get, &h.body) {
        d.at(
            b.span(),
            "a GET request has no `body` (use method = \"POST\")",
        );
    }
    for (key, map) in [
        ("headers", &h.headers),
        ("body", &h.body),
        ("save", &h.save),
    ] {
        if let Some(m) = map {
            if m.get_ref().len() > MAX_HTTP_FIELDS {
                d.at(
                    m.span(),
                    format!("`{key}` has more than {MAX_HTTP_FIELDS} entries"),
                );
            }
        }
    }
    for (name, value) in h.headers.iter().flat_map(|m| m.get_ref()) {
        if !is_token(name.get_ref()) {
            d.at(
                name.span(),
                format!("header name `{}` is not an HTTP token", name.get_ref()),
            );
        }
        if value.get_ref().chars().any(char::is_control) {
            d.at(value.span(), "header value has a control character");
        }
    }
    for (var, path) in h.save.iter().flat_map(|m| m.get_ref()) {
        var_name(var, d);
        if path.get_ref().is_empty() || path.get_ref().split('.').any(str::is_empty) {
            d.at(
                path.span(),
                format!(
                    "`{}` is not a dotted JSON path (e.g. customer.vip)",
                    path.get_ref()
                ),
            );
        }
    }
}

/// RFC 9110 §5.6.2 token characters.
fn is_token(s: &str) -> bool {
    !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

/// An `http://host[:port]/path` template: no spaces, closed `${...}`, a
/// host. A template may instead start with `${base}`: a leading placeholder
/// is the base URL, inserted as is and checked when the call runs.
pub fn check_url(url: &str) -> Result<(), String> {
    let rest = url.strip_prefix("http://");
    if rest.is_none() && !url.starts_with("${") {
        return Err(format!(
            "`url` must start with http:// (https is not supported), not `{url}`"
        ));
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("`url` must not contain spaces or control characters".to_owned());
    }
    let mut tail = url;
    while let Some(at) = tail.find("${") {
        let Some(end) = tail[at..].find('}') else {
            return Err("`url` has an unclosed `${`".to_owned());
        };
        tail = &tail[at + end + 1..];
    }
    let Some(rest) = rest else {
        return Ok(());
    };
    let authority = rest.split('/').next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Err("`url` needs a host (http://host:port/path, no user info)".to_owned());
    }
    if let Some((_, port)) = authority.rsplit_once(':') {
        if !port.contains("${") && port.parse::<u16>().is_err() {
            return Err(format!("`url` port `{port}` is not a number 0-65535"));
        }
    }
    Ok(())
}
