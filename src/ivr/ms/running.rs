//! The media server's established calls: the ACK that starts media and the
//! script session (§13.3.1.4; the answer to a late offer arrives here,
//! §13.2.1), script commands turned into outputs, BYE either way (§15.1),
//! and the per-call timers (2xx retransmission, session deadlines).

use super::call::{Call, Phase, RetxDue};
use super::{AppCommand, AppEvent, CallRef, CallSession, MediaServer, MsOutput, SessionFactory};
use crate::media::sdp::{parse_offer, Negotiated};
use crate::sip::dialog::Dialog;
use crate::sip::transaction::TxKey;
use crate::sip::{response_to, Method, Request};
use std::time::Instant;

/// A call's next deadline: its 2xx timer and, once running, its session.
pub(super) fn call_deadline<S: CallSession>(c: &Call<S>) -> Option<Instant> {
    let session = (c.phase == Phase::Active)
        .then(|| c.session.poll_timeout())
        .flatten();
    c.retx
        .as_ref()
        .map(|r| r.deadline())
        .into_iter()
        .chain(session)
        .min()
}

impl<F: SessionFactory> MediaServer<F> {
    pub(super) fn call_of(&self, req: &Request) -> Option<CallRef> {
        Dialog::id_of_incoming(req).and_then(|id| self.by_dialog.get(&id).copied())
    }

    /// The ACK for our 2xx: stop retransmitting; the first one starts media.
    pub(super) fn on_ack(&mut self, now: Instant, ack: &Request) {
        let Some(call) = self.call_of(ack) else {
            return tracing::debug!("ms: ACK for no call");
        };
        let Some(c) = self.calls.get_mut(&call) else {
            return;
        };
        let fits = c.dialog.as_mut().map(|d| d.check_incoming(ack));
        if !matches!(fits, Some(Ok(()))) {
            return tracing::debug!(?fits, "ms: ACK refused by the dialog");
        }
        c.retx = None;
        if c.phase != Phase::AwaitAck {
            return;
        }
        let neg = match c.negotiated {
            Some(n) => Ok(n),
            None => parse_offer(&ack.body).and_then(|a| a.negotiate_with(&self.codecs)),
        };
        match neg {
            Ok(n) => self.start(now, call, n),
            Err(e) => {
                tracing::info!(error = %e, "ms: late-offer ACK without a usable answer");
                self.hang_up(now, call, "no-sdp-answer");
            }
        }
    }

    fn start(&mut self, now: Instant, call: CallRef, n: Negotiated) {
        if let Some(c) = self.calls.get_mut(&call) {
            c.phase = Phase::Active;
            c.negotiated = Some(n);
        }
        self.out.push_back(MsOutput::ConfigureStream {
            call,
            remote: n.remote,
            codec: n.codec,
            payload_type: n.payload_type,
            dtmf_pt: n.telephone_event_pt,
            ptime_ms: n.ptime_ms,
        });
        self.feed_session(now, call, AppEvent::Start);
    }

    /// Feed a running call's session and carry out its commands.
    pub(super) fn feed_session(&mut self, now: Instant, call: CallRef, ev: AppEvent) {
        let cmds = match self.calls.get_mut(&call) {
            Some(c) if c.phase == Phase::Active => c.session.handle(now, ev),
            _ => return,
        };
        self.apply(now, call, cmds);
    }

    fn apply(&mut self, now: Instant, call: CallRef, cmds: Vec<AppCommand>) {
        let Some(contact) = self.calls.get(&call).map(|c| c.contact) else {
            return;
        };
        for cmd in cmds {
            let out = match cmd {
                AppCommand::Play {
                    prompts,
                    interruptible,
                } => MsOutput::Play {
                    call,
                    prompts,
                    interruptible,
                },
                AppCommand::StopPlayback => MsOutput::StopPlayback { call },
                AppCommand::PlayHold { music, announce } => MsOutput::PlayHold {
                    call,
                    music,
                    announce,
                },
                AppCommand::RequestAgent {
                    queue,
                    skills,
                    priority,
                } => MsOutput::RequestAgent {
                    contact,
                    queue,
                    skills,
                    priority,
                },
                AppCommand::LeaveQueue => MsOutput::LeaveQueue { contact },
                AppCommand::QueryPosition => MsOutput::QueryPosition { contact },
                AppCommand::Hangup { cause } => return self.hang_up(now, call, &cause),
                AppCommand::HttpRequest(req) => MsOutput::HttpRequest { call, req },
                AppCommand::Transfer { uri, timeout_s } => MsOutput::TransferExternal {
                    contact,
                    uri,
                    timeout_s,
                },
                AppCommand::Record(cmd) => MsOutput::Record { call, cmd },
                AppCommand::RequestCallback { number } => {
                    MsOutput::RequestCallback { contact, number }
                }
            };
            self.out.push_back(out);
        }
    }

    /// We end the call: BYE in the dialog, close the stream.
    pub(super) fn hang_up(&mut self, now: Instant, call: CallRef, cause: &str) {
        tracing::info!(call = call.0, cause, "ms: hanging up");
        let bye = self.calls.get_mut(&call).and_then(|c| {
            c.dialog.as_mut().map(|d| {
                (
                    d.peer,
                    d.request(Method::Bye, &self.cfg.local, &mut self.ids),
                )
            })
        });
        if let Some((peer, bye)) = bye {
            if let Err(e) = self.layer.send_request(now, bye, peer) {
                tracing::warn!(error = %e, "ms: BYE not sent");
            }
        }
        self.end_call(call);
    }

    /// BYE from the SoftACD: 200, the session hears Hangup, the stream
    /// closes. An unanswered INVITE of that dialog gets 487.
    pub(super) fn on_bye(&mut self, now: Instant, key: &TxKey, req: &Request) {
        let Some(call) = self.call_of(req) else {
            return self.respond(now, key, response_to(req, 481, None));
        };
        let checked = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.dialog.as_mut().map(|d| d.check_incoming(req)));
        if let Some(Err(e)) = checked {
            return self.respond(now, key, response_to(req, e.sip_status(), None));
        }
        self.respond(now, key, response_to(req, 200, None));
        if let Some(c) = self.calls.get_mut(&call) {
            match c.phase {
                Phase::Active => {
                    let _ignored = c.session.handle(now, AppEvent::Hangup);
                }
                Phase::Opening => {
                    let (k, resp) = (
                        c.invite_key.clone(),
                        response_to(&c.invite, 487, Some(&c.dialog_id.local_tag)),
                    );
                    self.respond(now, &k, resp);
                }
                Phase::AwaitAck => {}
            }
        }
        self.end_call(call);
    }

    /// 2xx retransmissions, ACK give-up and session timeouts due at `now`.
    pub(super) fn fire_call_timers(&mut self, now: Instant) {
        let due: Vec<CallRef> = self
            .calls
            .iter()
            .filter(|(_, c)| call_deadline(c).is_some_and(|d| d <= now))
            .map(|(r, _)| *r)
            .collect();
        for call in due {
            self.fire_retx(now, call);
            let session_due = self.calls.get(&call).is_some_and(|c| {
                c.phase == Phase::Active && c.session.poll_timeout().is_some_and(|d| d <= now)
            });
            if session_due {
                self.feed_session(now, call, AppEvent::Timeout);
            }
        }
    }

    fn fire_retx(&mut self, now: Instant, call: CallRef) {
        let timers = self.cfg.timers;
        let due = self
            .calls
            .get_mut(&call)
            .and_then(|c| c.retx.as_mut())
            .and_then(|r| r.fire(now, &timers));
        match due {
            Some(RetxDue::Resend(key, ok)) => self.respond(now, &key, ok),
            Some(RetxDue::GiveUp) => {
                // No ACK for our 2xx within 64*T1 (§13.3.1.4, §14.2).
                if let Some(c) = self.calls.get_mut(&call) {
                    c.retx = None;
                    if c.phase == Phase::Active {
                        let _ignored = c.session.handle(now, AppEvent::Hangup);
                    }
                }
                self.hang_up(now, call, "no-ack");
            }
            None => {}
        }
    }
}
