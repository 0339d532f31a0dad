//! The session's `http` node (interface D): builds the request from the
//! call's variables (URL placeholders percent-encoded, RFC 3986 §2.1; the
//! body a JSON object, RFC 8259), emits [`IvrCommand::HttpRequest`] and waits
//! for `HttpResponse`/`HttpFailed` with the same id, or its own deadline
//! (`timeout_ms`), whichever comes first. A 2xx answer whose body is JSON
//! saves the `save` paths into variables and goes to `next`; anything else
//! goes to `on_error`. Late answers of an earlier request are ignored.

use super::{Flow, IvrCommand, IvrEvent, IvrSession, State};
use crate::ivr::script::{HttpMethod, HttpNode, Node};
use std::time::{Duration, Instant};

/// Longest expanded URL.
pub const MAX_URL_LEN: usize = 2048;
/// Largest response body the shell hands over (and the session parses).
pub const MAX_HTTP_BODY: usize = 64 * 1024;

/// One request of an http node, as the shell performs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    pub id: u64,
    pub method: HttpMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    /// A JSON object, for POST.
    pub body: Option<String>,
    pub timeout_ms: u32,
}

/// RFC 3986 §2.1 percent-encoding of everything but unreserved characters.
pub fn url_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The value at dotted `path` of `doc` as text: strings as they are,
/// numbers and booleans printed; objects, arrays, null and missing → None.
pub fn json_path(doc: &serde_json::Value, path: &str) -> Option<String> {
    let mut at = doc;
    for part in path.split('.') {
        at = match at {
            serde_json::Value::Object(map) => map.get(part)?,
            serde_json::Value::Array(list) => list.get(part.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    match at {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

impl IvrSession {
    /// `template` with each `${name}` replaced: a placeholder at the very
    /// start (the base URL) as is, later ones percent-encoded.
    fn expand_url(&self, template: &str) -> String {
        let mut out = String::new();
        let mut rest = template;
        let mut first = true;
        while let Some(at) = rest.find("${") {
            out.push_str(&rest[..at]);
            let after = &rest[at + 2..];
            let Some(end) = after.find('}') else {
                break;
            };
            let value = self.lookup(&after[..end]).unwrap_or_default();
            let base = first && at == 0;
            first = false;
            if base {
                out.push_str(&value);
            } else {
                out.push_str(&url_encode(&value));
            }
            rest = &after[end + 1..];
            if out.len() > MAX_URL_LEN {
                break;
            }
        }
        out.push_str(rest);
        out
    }

    pub(super) fn http_enter(
        &mut self,
        now: Instant,
        name: &str,
        h: &HttpNode,
        out: &mut Vec<IvrCommand>,
    ) -> Flow {
        let url = self.expand_url(&h.url);
        if url.len() > MAX_URL_LEN {
            self.note(format!("http {name}: url longer than {MAX_URL_LEN}"));
            return Flow::Goto(h.on_error.clone());
        }
        let headers = h
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), self.expand(v)))
            .collect();
        let body = (h.method == HttpMethod::Post).then(|| {
            let obj: serde_json::Map<String, serde_json::Value> = h
                .body
                .iter()
                .map(|(k, v)| (k.clone(), serde_json::Value::String(self.expand(v))))
                .collect();
            serde_json::Value::Object(obj).to_string()
        });
        self.http_seq = self.http_seq.wrapping_add(1);
        let id = self.http_seq;
        self.note(format!("http {} {url}", h.method.as_str()));
        out.push(IvrCommand::HttpRequest(HttpRequest {
            id,
            method: h.method,
            url,
            headers,
            body,
            timeout_ms: h.timeout_ms,
        }));
        let wait = Duration::from_millis(u64::from(h.timeout_ms));
        self.state = State::Http {
            node: name.to_owned(),
            id,
            deadline: now.checked_add(wait).unwrap_or(now),
        };
        Flow::Wait
    }

    pub(super) fn step_http(
        &mut self,
        now: Instant,
        node: &str,
        id: u64,
        deadline: Instant,
        ev: IvrEvent,
    ) -> Flow {
        let Some(Node::Http(h)) = self.script.nodes.get(node).cloned() else {
            return Flow::Goto(String::new());
        };
        match ev {
            IvrEvent::HttpResponse {
                id: got,
                status,
                body,
            } if got == id => self.http_answer(node, &h, status, &body),
            IvrEvent::HttpFailed { id: got, reason } if got == id => {
                self.note(format!("http {node}: failed: {reason} -> {}", h.on_error));
                Flow::Goto(h.on_error)
            }
            IvrEvent::Timeout if now >= deadline => {
                let ms = h.timeout_ms;
                self.note(format!(
                    "http {node}: no answer in {ms} ms -> {}",
                    h.on_error
                ));
                Flow::Goto(h.on_error)
            }
            IvrEvent::Digit(d) => {
                self.keep(d);
                Flow::Wait
            }
            _ => Flow::Wait,
        }
    }

    fn http_answer(&mut self, node: &str, h: &HttpNode, status: u16, body: &str) -> Flow {
        if !(200..300).contains(&status) {
            self.note(format!("http {node}: status {status} -> {}", h.on_error));
            return Flow::Goto(h.on_error.clone());
        }
        let doc = match body.len() <= MAX_HTTP_BODY {
            true => serde_json::from_str::<serde_json::Value>(body).ok(),
            false => None,
        };
        let Some(doc) = doc else {
            self.note(format!(
                "http {node}: status {status}, body is not JSON -> {}",
                h.on_error
            ));
            return Flow::Goto(h.on_error.clone());
        };
        self.note(format!("http {node}: status {status}"));
        for (var, path) in &h.save {
            match json_path(&doc, path) {
                Some(v) => {
                    self.note(format!("set {var}={v}"));
                    self.put_var(var, &v);
                }
                None => self.note(format!("http {node}: no `{path}` in the answer")),
            }
        }
        Flow::Goto(h.next.clone())
    }
}

#[cfg(test)]
mod tests;
