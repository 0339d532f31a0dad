//! The SIP side of callbacks (issue 6). Interface B's `RequestCallback`
//! (the IVR's `callback` node) names a new contact and hands it to the CTI,
//! which gives it the caller's place in line; the IVR hears
//! `CallbackRegistered` or `CallbackRefused`, the inbound CDR notes
//! `requested:<id>`. The waiting callback's CDR is kept here (bounded by
//! the CTI's `max_callbacks`). When the CTI diverts it, a
//! [`Call::callback`] is created — relay opened, no caller leg: the
//! [`CallerLeg`] holds a template INVITE standing for the customer (From:
//! the number, `X-Callback`), never sent and never answered, so the agent's
//! INVITE and desk popup show the number. From there `b2bua::callback`
//! rings the agent, then the customer at `[cti] callback_trunk` (the same
//! host policy as the IVR's transfer node). An unserved callback that
//! expires writes its CDR with `callback_expired`.

use super::{CallCtx, CallerLeg, Engine};
use crate::acd::engine::Action;
use crate::b2bua::{Call, CallbackSetup, CtiToIvr, MediaMode};
use crate::cdr::Cdr;
use crate::cti::{self, ClearCause, ContactId, Output as CtiOutput};
use crate::sip::transaction::TxKey;
use crate::sip::uac::new_request;
use crate::sip::{Method, NameAddr, Uri};
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Header of a callback's template INVITE naming the customer's number
/// (shown in the desk popup's caller data).
pub const HDR_CALLBACK: &str = "X-Callback";

/// Where and how callbacks call the customer (`[cti] callback_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackPolicy {
    /// `sip:` URI template with `{number}`.
    pub trunk: String,
    pub retries: u32,
    pub retry: Duration,
    pub ring: Duration,
}

impl Default for CallbackPolicy {
    fn default() -> Self {
        CallbackPolicy {
            trunk: "sip:{number}@127.0.0.1:5080".into(),
            retries: 2,
            retry: Duration::from_secs(10),
            ring: Duration::from_secs(30),
        }
    }
}

impl Engine {
    /// Interface B: the caller of `contact` leaves `number`.
    pub(super) fn on_request_callback(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        number: String,
    ) {
        if self.cfg.media_mode != MediaMode::Relay {
            tracing::warn!(%contact, "callbacks need [media] mode = \"relay\": refused");
            let refused = CtiToIvr::CallbackRefused { contact };
            return self.actions.push_back(Action::ToIvr(refused));
        }
        self.calls.next_contact += 1;
        let callback = ContactId(self.calls.next_contact);
        let input = cti::Input::RequestCallback {
            contact,
            callback,
            number: number.clone(),
        };
        let outputs = self.cti.handle(now, input);
        let queued = outputs
            .iter()
            .any(|o| matches!(o, CtiOutput::CallbackQueued { .. }));
        let answer = if queued {
            self.keep_callback_cdr(wall_ms, contact, callback, number);
            tracing::info!(%contact, %callback, "callback registered");
            CtiToIvr::CallbackRegistered { contact }
        } else {
            CtiToIvr::CallbackRefused { contact }
        };
        self.actions.push_back(Action::ToIvr(answer));
        self.route_cti_outputs(now, wall_ms, outputs);
    }

    /// Notes the request on the inbound CDR and starts the callback's own.
    fn keep_callback_cdr(
        &mut self,
        wall_ms: u64,
        origin: ContactId,
        callback: ContactId,
        number: String,
    ) {
        let (dnis, queue) = self
            .cti
            .contact(callback)
            .map(|c| {
                let queue = c.request.as_ref().map(|r| r.queue.0.clone());
                (c.dnis.clone().unwrap_or_default(), queue)
            })
            .unwrap_or_default();
        if let Some(ctx) = self.calls.calls.get_mut(&origin) {
            ctx.cdr.callback = Some(format!("requested:{}", callback.0));
        }
        let cdr = Cdr {
            contact_id: callback.0,
            caller: number,
            dnis,
            media: "audio".into(),
            arrival_ms: wall_ms,
            ivr_answer_ms: None,
            queued_ms: Some(wall_ms),
            agent_answer_ms: None,
            end_ms: wall_ms,
            agent: None,
            queue,
            end_cause: String::new(),
            digits: String::new(),
            ivr_script: None,
            ivr_script_version: None,
            recording: self.media.recording_path(callback),
            voicemail: None,
            trunk: None,
            agents: None,
            callback: Some(format!("of:{}", origin.0)),
        };
        self.calls.callbacks.insert(callback, cdr);
    }

    /// A CTI output for a waiting callback that has no call yet: DivertCall
    /// creates the call (then the output is fed to it as usual); expiry
    /// writes the CDR. True when the output was consumed here.
    pub(super) fn callback_output(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        out: &CtiOutput,
    ) -> bool {
        if self.calls.calls.contains_key(&contact) || !self.calls.callbacks.contains_key(&contact) {
            return false;
        }
        match out {
            CtiOutput::DivertCall { .. } => !self.start_callback_call(now, wall_ms, contact),
            CtiOutput::CallbackExpired { .. } => {
                self.end_waiting_callback(wall_ms, contact, ClearCause::CallbackExpired);
                true
            }
            _ => false,
        }
    }

    /// The callback's turn: relay, template caller leg, the call. False
    /// (and the callback dropped, its agent freed) when that fails.
    fn start_callback_call(&mut self, now: Instant, wall_ms: u64, contact: ContactId) -> bool {
        let Some(number) = self.calls.callbacks.get(&contact).map(|c| c.caller.clone()) else {
            return false;
        };
        let relay = match self.media.open_relay(contact) {
            Ok(r) => r,
            Err(e) => {
                tracing::error!(%contact, error = %e, "no relay ports for a callback");
                self.drop_callback(now, wall_ms, contact);
                return false;
            }
        };
        let Some(caller) = self.template_caller(&number) else {
            self.media.close_relay(contact);
            self.drop_callback(now, wall_ms, contact);
            return false;
        };
        let Some(cdr) = self.calls.callbacks.remove(&contact) else {
            return false;
        };
        let policy = self.cfg.callback.clone();
        let setup = CallbackSetup {
            contact,
            uri: policy.trunk.replace("{number}", &number),
            number: number.clone(),
            relay,
            retries: policy.retries,
            retry: policy.retry,
            ring: policy.ring,
        };
        let ctx = CallCtx {
            call: Call::callback(setup),
            caller,
            legs: HashMap::new(),
            cdr,
            ivr_invited: false,
            ivr_reported: false,
            diverted_at: None,
            transfer_timer: None,
            transferred: false,
            tx_keys: Vec::new(),
            dialog_ids: Vec::new(),
        };
        self.calls.calls.insert(contact, ctx);
        tracing::info!(%contact, "callback: ringing the agent first");
        true
    }

    /// The caller leg of a callback: a template INVITE from the customer's
    /// number, never sent (no dialog, no pending 2xx).
    fn template_caller(&mut self, number: &str) -> Option<CallerLeg> {
        let local = self.local_addr(crate::sip::TransportKind::Udp);
        let domain = self.cfg.domain.clone();
        let uri = Uri::sip(Some(number), &domain, None);
        let mut from = NameAddr::new(uri.clone()).with_tag(&self.ids.tag());
        // The desk popup shows the display name and the X-Callback header.
        from.display = Some("Callback".into());
        let call_id = self.ids.call_id(&domain);
        let mut invite = new_request(
            Method::Invite,
            uri.clone(),
            from,
            NameAddr::new(uri),
            &call_id,
            1,
            &local,
            None,
            &mut self.ids,
        );
        invite.headers.push(HDR_CALLBACK, number.to_owned());
        let invite_key = TxKey::server(&invite).ok()?;
        Some(CallerLeg {
            invite_key,
            invite,
            peer: crate::sip::Peer::udp(local_socket(&local)),
            to_tag: self.new_tag(),
            dialog: None,
            pending_2xx: None,
            local_sdp: None,
            reinvite: None,
            answered: true,
        })
    }

    /// A callback that cannot start: CDR `network_failure`, the CTI frees
    /// the agent it reserved.
    fn drop_callback(&mut self, now: Instant, wall_ms: u64, contact: ContactId) {
        let cause = ClearCause::NetworkFailure;
        self.end_waiting_callback(wall_ms, contact, cause);
        self.cti_input(
            now,
            wall_ms,
            cti::Input::ConnectionCleared { contact, cause },
        );
    }

    /// Writes a waiting callback's CDR with `cause`.
    fn end_waiting_callback(&mut self, wall_ms: u64, contact: ContactId, cause: ClearCause) {
        if let Some(mut cdr) = self.calls.callbacks.remove(&contact) {
            cdr.end_ms = wall_ms;
            cdr.end_cause = super::cause_text(cause);
            tracing::info!(%contact, cause = %cdr.end_cause, "callback ended unserved");
            self.actions.push_back(Action::WriteCdr(cdr));
        }
    }

    /// Shutdown: callbacks do not survive a restart; their CDRs say so.
    pub(super) fn end_waiting_callbacks(&mut self, wall_ms: u64) {
        let waiting: Vec<ContactId> = self.calls.callbacks.keys().copied().collect();
        for contact in waiting {
            self.end_waiting_callback(wall_ms, contact, ClearCause::ServerShutdown);
        }
    }
}

fn local_socket(local: &crate::sip::uac::LocalAddr) -> std::net::SocketAddr {
    let ip = local
        .host
        .parse()
        .unwrap_or(std::net::Ipv4Addr::LOCALHOST.into());
    std::net::SocketAddr::new(ip, local.port)
}
