//! The desk's WebSocket JSON protocol, version 1 (docs/desk-protocol.md):
//! what a desktop may send, parsed and checked here without IO, and the
//! shapes of what the server sends. Every message is one JSON object in one
//! text frame with `"v": 1` and a `"type"`; a client may add `"id"` (a
//! string or number) to a request and finds it again as `reply_to` in the
//! answer.

use serde::Serialize;
use serde_json::{Map, Value};

/// The protocol version this server speaks.
pub const VERSION: u64 = 1;
/// Largest client message accepted (bytes).
pub const MAX_MESSAGE: usize = 16 * 1024;
const MAX_TEXT: usize = 256;
const MAX_ID: usize = 64;

/// A checked request from the desktop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// `device`: a seat (`"1001"`: its registered phone) or a SIP URI;
    /// `None`: the agent's own seat's phone.
    SignIn {
        agent: String,
        password: String,
        device: Option<String>,
    },
    SignOut,
    Ready,
    Break {
        reason: String,
    },
    HangUp,
    /// Hold the caller (hold music) / take it back.
    Hold,
    Retrieve,
    /// Blind transfer of the current contact: `to` names an agent or a queue.
    Transfer {
        to: TransferTo,
    },
    Disposition {
        contact: u64,
        code: String,
    },
    History,
}

/// Where a `transfer` sends the contact: `{"agent":"1002"}` or
/// `{"queue":"support"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TransferTo {
    Agent(String),
    Queue(String),
}

/// Why a message was refused; sent back as `{"type":"error",…}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtoError {
    #[error("message is not a JSON object: {0}")]
    BadJson(String),
    #[error("message larger than {MAX_MESSAGE} bytes")]
    TooLarge,
    #[error("\"v\" must be {VERSION}, got {0}")]
    BadVersion(String),
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("field {field:?}: {why}")]
    BadField { field: &'static str, why: String },
}

impl ProtoError {
    /// The machine-readable `code` of the error message.
    pub fn code(&self) -> &'static str {
        match self {
            ProtoError::BadJson(_) | ProtoError::TooLarge => "bad_message",
            ProtoError::BadVersion(_) => "bad_version",
            ProtoError::UnknownType(_) => "unknown_type",
            ProtoError::BadField { .. } => "bad_field",
        }
    }
}

/// A parsed message: the request, or why not, and the client's `id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub id: Option<Value>,
    pub request: Result<Request, ProtoError>,
}

/// Parse one text frame.
pub fn parse(text: &str) -> Parsed {
    if text.len() > MAX_MESSAGE {
        return Parsed {
            id: None,
            request: Err(ProtoError::TooLarge),
        };
    }
    let obj = match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(m)) => m,
        Ok(_) => return failed(None, ProtoError::BadJson("not an object".into())),
        Err(e) => return failed(None, ProtoError::BadJson(e.to_string())),
    };
    let id = match obj.get("id") {
        None => None,
        Some(v @ Value::Number(_)) => Some(v.clone()),
        Some(Value::String(s)) if s.len() <= MAX_ID => Some(Value::String(s.clone())),
        Some(_) => {
            let why = format!("must be a number or a string of at most {MAX_ID} bytes");
            return failed(None, ProtoError::BadField { field: "id", why });
        }
    };
    let request = check_version(&obj).and_then(|()| request(&obj));
    Parsed { id, request }
}

fn failed(id: Option<Value>, e: ProtoError) -> Parsed {
    Parsed {
        id,
        request: Err(e),
    }
}

fn check_version(obj: &Map<String, Value>) -> Result<(), ProtoError> {
    match obj.get("v") {
        Some(v) if v.as_u64() == Some(VERSION) => Ok(()),
        Some(v) => Err(ProtoError::BadVersion(v.to_string())),
        None => Err(ProtoError::BadVersion("nothing".into())),
    }
}

fn request(obj: &Map<String, Value>) -> Result<Request, ProtoError> {
    let kind = text(obj, "type")?;
    Ok(match kind.as_str() {
        "sign_in" => Request::SignIn {
            agent: non_empty(obj, "agent")?,
            password: text(obj, "password")?,
            device: optional_text(obj, "device")?.filter(|d| !d.is_empty()),
        },
        "sign_out" => Request::SignOut,
        "ready" => Request::Ready,
        "break" => Request::Break {
            reason: non_empty(obj, "reason")?,
        },
        "hang_up" => Request::HangUp,
        "hold" => Request::Hold,
        "retrieve" => Request::Retrieve,
        "transfer" => Request::Transfer {
            to: transfer_to(obj)?,
        },
        "disposition" => Request::Disposition {
            contact: number(obj, "contact")?,
            code: non_empty(obj, "code")?,
        },
        "history" => Request::History,
        _ => return Err(ProtoError::UnknownType(kind)),
    })
}

/// `to`: an object with exactly one of `agent` and `queue`, non-empty.
fn transfer_to(obj: &Map<String, Value>) -> Result<TransferTo, ProtoError> {
    let bad = |why: &str| ProtoError::BadField {
        field: "to",
        why: why.into(),
    };
    let Some(Value::Object(to)) = obj.get("to") else {
        return Err(bad(r#"must be {"agent":id} or {"queue":name}"#));
    };
    match (to.contains_key("agent"), to.contains_key("queue")) {
        (true, false) if to.len() == 1 => Ok(TransferTo::Agent(non_empty(to, "agent")?)),
        (false, true) if to.len() == 1 => Ok(TransferTo::Queue(non_empty(to, "queue")?)),
        _ => Err(bad(r#"must hold exactly one of "agent" and "queue""#)),
    }
}

fn text(obj: &Map<String, Value>, field: &'static str) -> Result<String, ProtoError> {
    optional_text(obj, field)?.ok_or(ProtoError::BadField {
        field,
        why: "missing".into(),
    })
}

fn non_empty(obj: &Map<String, Value>, field: &'static str) -> Result<String, ProtoError> {
    let s = text(obj, field)?;
    if s.is_empty() {
        return Err(ProtoError::BadField {
            field,
            why: "must not be empty".into(),
        });
    }
    Ok(s)
}

fn optional_text(
    obj: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<String>, ProtoError> {
    let bad = |why: String| ProtoError::BadField { field, why };
    match obj.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) if s.len() > MAX_TEXT => {
            Err(bad(format!("longer than {MAX_TEXT} bytes")))
        }
        Some(Value::String(s)) if s.chars().any(char::is_control) => {
            Err(bad("contains control characters".into()))
        }
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(bad(format!("must be a string, got {other}"))),
    }
}

fn number(obj: &Map<String, Value>, field: &'static str) -> Result<u64, ProtoError> {
    obj.get(field)
        .and_then(Value::as_u64)
        .ok_or(ProtoError::BadField {
            field,
            why: "must be a non-negative integer".into(),
        })
}

/// A message to the desktop: `{"v":1,"type":kind, "reply_to"?, …body}`.
pub fn message(kind: &str, reply_to: Option<&Value>, body: impl Serialize) -> String {
    let mut obj = match serde_json::to_value(body) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    obj.insert("v".into(), VERSION.into());
    obj.insert("type".into(), kind.into());
    if let Some(id) = reply_to {
        obj.insert("reply_to".into(), id.clone());
    }
    Value::Object(obj).to_string()
}

/// `{"v":1,"type":"error","code":…,"message":…}`.
pub fn error(reply_to: Option<&Value>, code: &str, why: &str) -> String {
    message(
        "error",
        reply_to,
        serde_json::json!({ "code": code, "message": why }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req(text: &str) -> Result<Request, ProtoError> {
        parse(text).request
    }

    #[test]
    fn every_request_type_parses() {
        let sign_in =
            r#"{"v":1,"type":"sign_in","agent":"1001","password":"pw","device":"1002","id":7}"#;
        let p = parse(sign_in);
        assert_eq!(p.id, Some(json!(7)));
        assert_eq!(
            p.request,
            Ok(Request::SignIn {
                agent: "1001".into(),
                password: "pw".into(),
                device: Some("1002".into())
            })
        );
        let no_device = r#"{"v":1,"type":"sign_in","agent":"1001","password":"pw","device":""}"#;
        assert!(matches!(
            req(no_device),
            Ok(Request::SignIn { device: None, .. })
        ));
        assert_eq!(req(r#"{"v":1,"type":"ready"}"#), Ok(Request::Ready));
        assert_eq!(req(r#"{"v":1,"type":"sign_out"}"#), Ok(Request::SignOut));
        assert_eq!(req(r#"{"v":1,"type":"hang_up"}"#), Ok(Request::HangUp));
        assert_eq!(req(r#"{"v":1,"type":"hold"}"#), Ok(Request::Hold));
        assert_eq!(req(r#"{"v":1,"type":"retrieve"}"#), Ok(Request::Retrieve));
        assert_eq!(req(r#"{"v":1,"type":"history"}"#), Ok(Request::History));
        assert_eq!(
            req(r#"{"v":1,"type":"break","reason":"lunch"}"#),
            Ok(Request::Break {
                reason: "lunch".into()
            })
        );
        assert_eq!(
            req(r#"{"v":1,"type":"disposition","contact":12,"code":"resolved"}"#),
            Ok(Request::Disposition {
                contact: 12,
                code: "resolved".into()
            })
        );
    }

    #[test]
    fn bad_messages_are_errors_with_codes() {
        let code = |t: &str| req(t).unwrap_err().code();
        assert_eq!(code("not json"), "bad_message");
        assert_eq!(code("[1,2]"), "bad_message");
        assert_eq!(code(r#"{"type":"ready"}"#), "bad_version");
        assert_eq!(code(r#"{"v":2,"type":"ready"}"#), "bad_version");
        assert_eq!(code(r#"{"v":1,"type":"dance"}"#), "unknown_type");
        assert_eq!(code(r#"{"v":1}"#), "bad_field");
        assert_eq!(code(r#"{"v":1,"type":"break"}"#), "bad_field");
        assert_eq!(code(r#"{"v":1,"type":"break","reason":""}"#), "bad_field");
        assert_eq!(
            code(r#"{"v":1,"type":"disposition","contact":-1,"code":"x"}"#),
            "bad_field"
        );
        assert_eq!(
            code(r#"{"v":1,"type":"sign_in","agent":"a\u0000","password":""}"#),
            "bad_field"
        );
        let long = format!(r#"{{"v":1,"type":"break","reason":"{}"}}"#, "r".repeat(300));
        assert_eq!(code(&long), "bad_field");
        let huge = format!(
            r#"{{"v":1,"type":"ready","pad":"{}"}}"#,
            "p".repeat(MAX_MESSAGE)
        );
        assert_eq!(req(&huge), Err(ProtoError::TooLarge));
        let bad_id = parse(r#"{"v":1,"type":"ready","id":[1]}"#);
        assert_eq!(bad_id.request.unwrap_err().code(), "bad_field");
    }

    #[test]
    fn transfer_names_exactly_one_agent_or_queue() {
        assert_eq!(
            req(r#"{"v":1,"type":"transfer","to":{"agent":"1002"}}"#),
            Ok(Request::Transfer {
                to: TransferTo::Agent("1002".into())
            })
        );
        assert_eq!(
            req(r#"{"v":1,"type":"transfer","to":{"queue":"support"}}"#),
            Ok(Request::Transfer {
                to: TransferTo::Queue("support".into())
            })
        );
        let code = |t: &str| req(t).unwrap_err();
        for bad in [
            r#"{"v":1,"type":"transfer"}"#,
            r#"{"v":1,"type":"transfer","to":"1002"}"#,
            r#"{"v":1,"type":"transfer","to":{}}"#,
            r#"{"v":1,"type":"transfer","to":{"agent":"1002","queue":"support"}}"#,
            r#"{"v":1,"type":"transfer","to":{"agent":""}}"#,
            r#"{"v":1,"type":"transfer","to":{"queue":7}}"#,
            r#"{"v":1,"type":"transfer","to":{"agent":"1002","x":1}}"#,
        ] {
            assert!(
                matches!(code(bad), ProtoError::BadField { .. }),
                "{bad} must be a bad field"
            );
        }
    }

    #[test]
    fn the_id_comes_back_even_when_the_request_is_bad() {
        let p = parse(r#"{"v":1,"type":"dance","id":"x1"}"#);
        assert_eq!(p.id, Some(json!("x1")));
        let text = error(p.id.as_ref(), "unknown_type", "no");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v,
            json!({"v":1,"type":"error","reply_to":"x1","code":"unknown_type","message":"no"})
        );
    }

    #[test]
    fn messages_carry_version_and_type() {
        let text = message("hello", None, json!({"dispositions":["resolved"]}));
        let v: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v, json!({"v":1,"type":"hello","dispositions":["resolved"]}));
    }
}
