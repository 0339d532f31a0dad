//! The management API as the call-flow tests see it: the live event stream
//! `GET /api/events` (RFC 6455 WebSocket, docs/events.md) collected on a
//! thread, the JSON of `GET /api/calls` and `GET /api/agents` (docs/api.md),
//! a tiny `POST` for the agent commands, and the subsequence check the
//! CSTA assertions use (MISSION.md steps 2–10).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio_tungstenite::tungstenite;

/// Most events one test keeps.
pub const MAX_EVENTS: usize = 10_000;

/// The events received on `/api/events`, in arrival order.
pub struct EventLog {
    rx: mpsc::Receiver<Value>,
    pub events: Vec<Value>,
}

impl EventLog {
    /// Opens the WebSocket; events published after this returns are seen.
    pub fn connect(http: SocketAddr) -> Result<EventLog, String> {
        let url = format!("ws://{http}/api/events");
        let (mut ws, _) = tungstenite::connect(url.as_str()).map_err(|e| format!("{url}: {e}"))?;
        let (tx, rx) = mpsc::channel();
        thread::spawn(move || {
            while let Ok(msg) = ws.read() {
                let Ok(text) = msg.to_text() else { continue };
                let Ok(v) = serde_json::from_str::<Value>(text) else {
                    continue;
                };
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        Ok(EventLog {
            rx,
            events: Vec::new(),
        })
    }

    /// Collect what has arrived, waiting up to `timeout` for `done`.
    pub fn collect_until(&mut self, timeout: Duration, done: impl Fn(&[Value]) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if done(&self.events) {
                return true;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(v) if self.events.len() < MAX_EVENTS => self.events.push(v),
                Ok(_) => {}
                Err(_) => return done(&self.events),
            }
        }
    }

    /// The event names for `contact`, in order.
    pub fn names_for(&self, contact: u64) -> Vec<String> {
        names_for(&self.events, contact)
    }
}

/// The `event` names of the events about `contact`, in order.
pub fn names_for(events: &[Value], contact: u64) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.get("contact").and_then(Value::as_u64) == Some(contact))
        .filter_map(|e| e.get("event").and_then(Value::as_str).map(str::to_string))
        .collect()
}

/// True if `want` appears in `got` in order (not necessarily adjacent).
pub fn is_subsequence(want: &[&str], got: &[String]) -> bool {
    let mut it = got.iter();
    want.iter().all(|w| it.any(|g| g == w))
}

/// Parse a JSON array body.
pub fn json_array(what: &str, status: u16, body: &str) -> Vec<Value> {
    assert_eq!(status, 200, "{what}: {body}");
    match serde_json::from_str::<Value>(body) {
        Ok(Value::Array(items)) => items,
        other => panic!("{what}: expected a JSON array, got {other:?}"),
    }
}

/// The agent object with `id` in a `GET /api/agents` array.
pub fn agent<'a>(agents: &'a [Value], id: &str) -> Option<&'a Value> {
    agents
        .iter()
        .find(|a| a.get("id").and_then(Value::as_str) == Some(id))
}

/// `(status.status, state.state)` of an agent object.
pub fn agent_status_state(a: &Value) -> (String, String) {
    let s = |ptr: &str| {
        a.pointer(ptr)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    (s("/status/status"), s("/state/state"))
}

/// `POST path` with a JSON body; returns the status code and body.
pub fn http_post(addr: SocketAddr, path: &str, json: &str) -> std::io::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{json}",
        json.len()
    )?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsequence_keeps_order_and_allows_gaps() {
        let got: Vec<String> = ["A", "x", "B", "C"].iter().map(|s| s.to_string()).collect();
        assert!(is_subsequence(&["A", "B", "C"], &got));
        assert!(is_subsequence(&["A", "C"], &got));
        assert!(!is_subsequence(&["B", "A"], &got));
        assert!(!is_subsequence(&["A", "D"], &got));
    }
}
