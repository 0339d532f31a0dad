//! `GET /api/events`: the live event stream over a WebSocket (RFC 6455;
//! docs/events.md). Each message published on the [`EventBus`] is sent as
//! one text frame, in `seq` order. The subscription is taken before the
//! upgrade answer, so a client sees everything published after its
//! handshake completes. Frames the client sends are ignored; a close frame
//! or a broken connection ends the stream, and so does a client that takes
//! longer than [`SEND_TIMEOUT`] to accept one frame (it would only lag).
//!
//! [`EventBus`]: crate::events::EventBus

use super::{json_error, HttpState};
use crate::events::{Subscription, MAX_SUBSCRIBERS};
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use std::time::Duration;

/// Longest wait for a client to take one frame before it is dropped.
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

pub(super) async fn events(
    State(s): State<HttpState>,
    ws: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let ws = match ws {
        Ok(ws) => ws,
        Err(r) => return json_error(r.status(), r.body_text()),
    };
    if s.events.subscribers() >= MAX_SUBSCRIBERS {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            format!("too many event subscribers (limit {MAX_SUBSCRIBERS})"),
        );
    }
    let sub = s.events.subscribe();
    ws.on_upgrade(move |socket| stream(socket, sub))
}

async fn stream(mut socket: WebSocket, mut sub: Subscription) {
    loop {
        tokio::select! {
            msg = sub.next() => match msg {
                Some(text) => {
                    let send = socket.send(Message::Text((*text).into()));
                    if !matches!(tokio::time::timeout(SEND_TIMEOUT, send).await, Ok(Ok(()))) {
                        break;
                    }
                }
                None => {
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            inbound = socket.recv() => match inbound {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(_)) => {}
            },
        }
    }
}
