//! The live event stream's bus (docs/events.md; MISSION.md steps 2–10 as seen
//! by a supervisor): every CSTA event and agent state change becomes one JSON
//! object with an envelope (`"seq"`, `"ts_ms"`) on a bounded
//! `tokio::sync::broadcast` channel. A slow subscriber never blocks the
//! publisher: it loses the oldest messages and is told so by a
//! `{"event":"lagged","missed":N}` notice. This is a shell module: it may
//! read the wall clock ([`EventBus::publish`]); cores pass time in
//! ([`EventBus::publish_at`]).

use crate::cti::Output;
use serde::Serialize;
use std::sync::{Arc, Mutex};
use std::time::{SystemTime, UNIX_EPOCH};
use tokio::sync::broadcast::{self, error::RecvError};

/// Messages kept for subscribers before the slowest one starts lagging.
pub const EVENT_CAPACITY: usize = 1024;
/// Most concurrent subscribers (WebSocket clients) the HTTP side admits.
pub const MAX_SUBSCRIBERS: usize = 256;

/// What went wrong publishing an event.
#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("event bus: serialize event: {0}")]
    Serialize(serde_json::Error),
    #[error("event bus: event serializes to {0}, not a JSON object")]
    NotAnObject(&'static str),
}

/// The publishing end; clones share the channel and the sequence counter.
#[derive(Clone, Debug)]
pub struct EventBus {
    tx: broadcast::Sender<Arc<str>>,
    /// Next sequence number. Held while sending so that the order on the
    /// channel is the order of `seq`.
    seq: Arc<Mutex<u64>>,
}

impl EventBus {
    /// A bus keeping `capacity` (at least 1) messages for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        let (tx, _) = broadcast::channel(capacity.max(1));
        EventBus {
            tx,
            seq: Arc::new(Mutex::new(1)),
        }
    }

    /// Publish `ev` stamped with the current wall clock. Returns its `seq`.
    pub fn publish<T: Serialize>(&self, ev: &T) -> Result<u64, EventError> {
        self.publish_at(wall_ms(), ev)
    }

    /// Publish `ev` (which must serialize to a JSON object) with `"ts_ms"`
    /// set to `ts_ms` and the next `"seq"` (1, 2, 3…). Having no subscriber
    /// is not an error: the event is simply not seen.
    pub fn publish_at<T: Serialize>(&self, ts_ms: u64, ev: &T) -> Result<u64, EventError> {
        let mut obj = match serde_json::to_value(ev).map_err(EventError::Serialize)? {
            serde_json::Value::Object(m) => m,
            other => return Err(EventError::NotAnObject(kind(&other))),
        };
        obj.insert("ts_ms".into(), ts_ms.into());
        let mut seq = self.seq.lock().unwrap_or_else(|p| p.into_inner());
        let n = *seq;
        obj.insert("seq".into(), n.into());
        let text: Arc<str> = serde_json::Value::Object(obj).to_string().into();
        let _ = self.tx.send(text);
        *seq = n + 1;
        Ok(n)
    }

    /// Publish what a CTI output means for the stream: its CSTA event
    /// (RouteSelect, DivertCall, Established) or, for
    /// `Output::AgentStateChanged`, `{"event":"AgentStateChanged",…}`.
    /// Other outputs are not events: `Ok(None)`.
    pub fn publish_cti(&self, ts_ms: u64, out: &Output) -> Result<Option<u64>, EventError> {
        if let Some(ev) = out.csta() {
            return self.publish_at(ts_ms, &ev).map(Some);
        }
        if !matches!(out, Output::AgentStateChanged { .. }) {
            return Ok(None);
        }
        let mut obj = match serde_json::to_value(out).map_err(EventError::Serialize)? {
            serde_json::Value::Object(m) => m,
            other => return Err(EventError::NotAnObject(kind(&other))),
        };
        if let Some(tag) = obj.remove("output") {
            obj.insert("event".into(), tag);
        }
        self.publish_at(ts_ms, &obj).map(Some)
    }

    /// A new subscriber, seeing events published from now on.
    pub fn subscribe(&self) -> Subscription {
        Subscription {
            rx: self.tx.subscribe(),
        }
    }

    /// Live subscribers.
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// One subscriber's end of the bus.
#[derive(Debug)]
pub struct Subscription {
    rx: broadcast::Receiver<Arc<str>>,
}

impl Subscription {
    /// The next message, or a lagged notice if this subscriber fell more
    /// than the capacity behind; `None` once every [`EventBus`] is dropped.
    pub async fn next(&mut self) -> Option<Arc<str>> {
        match self.rx.recv().await {
            Ok(text) => Some(text),
            Err(RecvError::Lagged(missed)) => Some(lagged_notice(missed)),
            Err(RecvError::Closed) => None,
        }
    }
}

/// `{"event":"lagged","missed":N}`.
pub fn lagged_notice(missed: u64) -> Arc<str> {
    serde_json::json!({"event": "lagged", "missed": missed})
        .to_string()
        .into()
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "an array",
        serde_json::Value::Object(_) => "an object",
    }
}

fn wall_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cti::{
        AgentId, AgentState, AgentStatus, ContactId, CstaEvent, Leg, Media, QueueName,
    };
    use serde_json::{json, Value};

    fn parse(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[tokio::test]
    async fn envelope_adds_ts_and_increasing_seq() {
        let bus = EventBus::new(8);
        let mut sub = bus.subscribe();
        let ev = CstaEvent::CallDelivered {
            contact: ContactId(4),
            media: Media::Audio,
            leg: Leg::Caller,
        };
        assert_eq!(bus.publish_at(1000, &ev).unwrap(), 1);
        assert_eq!(
            bus.publish_at(
                1001,
                &CstaEvent::RouteEnd {
                    contact: ContactId(4)
                }
            )
            .unwrap(),
            2
        );
        let first = parse(&sub.next().await.unwrap());
        assert_eq!(
            first,
            json!({"event":"CallDelivered","contact":4,"media":"audio","leg":"caller",
                   "ts_ms":1000,"seq":1})
        );
        let second = parse(&sub.next().await.unwrap());
        assert_eq!(second["event"], "RouteEnd");
        assert_eq!(second["seq"], 2);
        assert_eq!(second["ts_ms"], 1001);
    }

    #[tokio::test]
    async fn publish_reads_the_wall_clock() {
        let bus = EventBus::new(8);
        let mut sub = bus.subscribe();
        let before = wall_ms();
        bus.publish(&json!({"event": "x"})).unwrap();
        let ts = parse(&sub.next().await.unwrap())["ts_ms"].as_u64().unwrap();
        assert!(ts >= before && ts <= wall_ms());
    }

    #[test]
    fn non_object_is_refused_and_takes_no_seq() {
        let bus = EventBus::new(8);
        let err = bus.publish_at(1, &42u32).unwrap_err();
        assert!(matches!(err, EventError::NotAnObject("a number")), "{err}");
        assert_eq!(bus.publish_at(1, &json!({"event": "ok"})).unwrap(), 1);
    }

    #[test]
    fn publishing_without_subscribers_is_fine() {
        let bus = EventBus::new(2);
        for i in 1..=5 {
            assert_eq!(bus.publish_at(0, &json!({"event": "x"})).unwrap(), i);
        }
        assert_eq!(bus.subscribers(), 0);
    }

    #[tokio::test]
    async fn slow_subscriber_gets_lagged_notice_then_newest() {
        let bus = EventBus::new(2);
        let mut sub = bus.subscribe();
        for i in 0..5u64 {
            bus.publish_at(i, &json!({"event": "x", "i": i})).unwrap();
        }
        assert_eq!(
            parse(&sub.next().await.unwrap()),
            json!({"event":"lagged","missed":3})
        );
        assert_eq!(parse(&sub.next().await.unwrap())["i"], 3);
        assert_eq!(parse(&sub.next().await.unwrap())["i"], 4);
    }

    #[tokio::test]
    async fn subscription_ends_when_bus_is_dropped() {
        let bus = EventBus::new(2);
        let mut sub = bus.subscribe();
        drop(bus);
        assert!(sub.next().await.is_none());
    }

    #[tokio::test]
    async fn agent_state_change_is_tagged_as_event() {
        let bus = EventBus::new(8);
        let mut sub = bus.subscribe();
        let out = Output::AgentStateChanged {
            agent: AgentId::from("alice"),
            status: AgentStatus::Available,
            state: AgentState::Ringing {
                contact: ContactId(9),
            },
        };
        assert_eq!(bus.publish_cti(5, &out).unwrap(), Some(1));
        assert_eq!(
            parse(&sub.next().await.unwrap()),
            json!({"event":"AgentStateChanged","agent":"alice",
                   "status":{"status":"available"},"state":{"state":"ringing","contact":9},
                   "ts_ms":5,"seq":1})
        );
    }

    #[tokio::test]
    async fn cti_outputs_map_to_csta_events_or_nothing() {
        let bus = EventBus::new(8);
        let mut sub = bus.subscribe();
        let divert = Output::DivertCall {
            contact: ContactId(2),
            agent: AgentId::from("bob"),
            device: "sip:bob@10.0.0.7".into(),
        };
        assert_eq!(bus.publish_cti(7, &divert).unwrap(), Some(1));
        let full = Output::QueueFull {
            contact: ContactId(2),
            queue: QueueName::from("q"),
        };
        assert_eq!(bus.publish_cti(8, &full).unwrap(), None);
        assert_eq!(
            parse(&sub.next().await.unwrap()),
            json!({"event":"DivertCall","contact":2,"agent":"bob",
                   "device":"sip:bob@10.0.0.7","ts_ms":7,"seq":1})
        );
    }

    /// Every example in docs/events.md is what the code produces, and every
    /// event kind the code produces has an example there.
    #[tokio::test]
    async fn docs_examples_match_serialization() {
        use crate::cti::{ClearCause, RouteTarget};
        let docs = include_str!("../docs/events.md");
        let mut examples: Vec<Value> = docs
            .split("```json")
            .skip(1)
            .filter_map(|b| b.split("```").next())
            .map(|b| serde_json::from_str(b.trim()).unwrap())
            .collect();
        assert!(examples.contains(&json!({"event":"lagged","missed":17})));
        examples.retain(|e| e["event"] != "lagged");
        for e in &mut examples {
            let m = e.as_object_mut().unwrap();
            assert!(m.remove("seq").is_some_and(|v| v.is_u64()), "{m:?}");
            assert!(m.remove("ts_ms").is_some_and(|v| v.is_u64()), "{m:?}");
        }
        let c = ContactId(42);
        let alice = AgentId::from("alice");
        let csta = [
            CstaEvent::CallDelivered {
                contact: c,
                media: Media::Video,
                leg: Leg::Caller,
            },
            CstaEvent::RouteRequest {
                contact: c,
                dnis: "800".into(),
                caller: "sip:1001@192.0.2.10".into(),
                media: Media::Video,
                trunk: Some("carrier".into()),
            },
            CstaEvent::RouteSelect {
                contact: c,
                target: RouteTarget::Ivr {
                    script: "welcome".into(),
                },
            },
            CstaEvent::RouteEnd { contact: c },
            CstaEvent::DivertCall {
                contact: c,
                agent: alice.clone(),
                device: "sip:1002@192.0.2.20:5062".into(),
            },
            CstaEvent::CallDiverted { contact: c },
            CstaEvent::Established {
                contact: c,
                agent: alice.clone(),
            },
            CstaEvent::ConnectionCleared {
                contact: c,
                cause: ClearCause::NormalClearing,
            },
            CstaEvent::Transferred {
                contact: c,
                from: AgentId::from("1001"),
                to: crate::cti::TransferTarget::Agent {
                    agent: AgentId::from("1002"),
                },
            },
            CstaEvent::Held {
                contact: c,
                agent: AgentId::from("1001"),
            },
            CstaEvent::Retrieved {
                contact: c,
                agent: AgentId::from("1001"),
            },
        ];
        let mut produced: Vec<Value> = csta
            .iter()
            .map(|e| serde_json::to_value(e).unwrap())
            .collect();
        let bus = EventBus::new(8);
        let mut sub = bus.subscribe();
        let agents = [
            (
                alice,
                AgentStatus::Available,
                AgentState::Ringing { contact: c },
            ),
            (
                AgentId::from("bob"),
                AgentStatus::NotReady {
                    reason: "break".into(),
                },
                AgentState::Idle,
            ),
        ];
        for (agent, status, state) in agents {
            let out = Output::AgentStateChanged {
                agent,
                status,
                state,
            };
            bus.publish_cti(0, &out).unwrap();
            let mut v = parse(&sub.next().await.unwrap());
            let m = v.as_object_mut().unwrap();
            m.remove("seq");
            m.remove("ts_ms");
            produced.push(v);
        }
        assert_eq!(examples, produced);
    }
}
