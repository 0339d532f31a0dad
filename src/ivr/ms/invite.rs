//! INVITE handling of the media server (RFC 3261 §13.3, §9.2, §14.2):
//! admission (contact id, script, SDP offer, `max_calls`), the 100, the
//! 180/200 once the RTP stream is open (RFC 3264 answer, or our offer for
//! a late offer), CANCEL before the 200, and re-INVITEs (answered in
//! `hold`: direction changes, or the same SDP when nothing changed).

use super::call::{Call, Phase, Retransmit};
use super::{CallRef, MediaServer, MsError, MsOutput, SessionFactory};
use super::{BUSY_RETRY_AFTER_SECS, DEFAULT_SCRIPT, HDR_CONTACT, HDR_SCRIPT};
use crate::ivr::session_info::SessionInfo;
use crate::media::sdp::{build_answer_with, build_offer_with, parse_offer, LocalMedia, SdpOffer};
use crate::sip::dialog::{Dialog, DialogId};
use crate::sip::transaction::TxKey;
use crate::sip::{response_to, Contact, HeaderView, Peer, Request, Response};
use std::net::SocketAddr;
use std::time::Instant;

/// What an admitted INVITE brings.
struct Admitted<S> {
    contact: u64,
    offer: Option<SdpOffer>,
    session: S,
    dialog_id: DialogId,
}

impl<F: SessionFactory> MediaServer<F> {
    pub(super) fn on_invite(&mut self, now: Instant, key: TxKey, req: Request, peer: Peer) {
        if req.to_hdr().is_ok_and(|t| t.tag().is_some()) {
            return self.on_reinvite(now, &key, &req);
        }
        match self.admit(&req) {
            Err(e) => {
                tracing::info!(error = %e, "ms: INVITE refused");
                self.reject(now, &key, &req, &e);
            }
            Ok(a) => self.accept(now, key, req, peer, a),
        }
    }

    fn admit(&mut self, req: &Request) -> Result<Admitted<F::Session>, MsError> {
        if self.calls.len() >= self.cfg.max_calls {
            return Err(MsError::TooManyCalls(self.calls.len()));
        }
        let raw = req
            .headers
            .get(HDR_CONTACT)
            .ok_or(MsError::MissingContactId)?;
        let contact: u64 = raw
            .trim()
            .parse()
            .map_err(|_| MsError::BadContactId(raw.chars().take(40).collect()))?;
        let has_contact = req
            .contacts()
            .is_ok_and(|c| c.iter().any(|c| matches!(c, Contact::Addr(_))));
        if !has_contact {
            return Err(MsError::NoSipContact);
        }
        let from = req.from_hdr().map_err(|_| MsError::BadHeader("From"))?;
        let call_id = req.call_id().ok_or(MsError::BadHeader("Call-ID"))?;
        let offer = match req.body.is_empty() {
            true => None,
            false => {
                let offer = parse_offer(&req.body)?;
                offer.negotiate_with(&self.codecs)?;
                Some(offer)
            }
        };
        let script = req
            .headers
            .get(HDR_SCRIPT)
            .map_or(DEFAULT_SCRIPT, str::trim);
        let session = self
            .factory
            .create_with_info(script, contact, SessionInfo::from_invite(req))
            .ok_or_else(|| MsError::UnknownScript(script.chars().take(40).collect()))?;
        let dialog_id = DialogId {
            call_id: call_id.to_string(),
            local_tag: self.ids.tag(),
            remote_tag: from.tag().unwrap_or_default().to_string(),
        };
        Ok(Admitted {
            contact,
            offer,
            session,
            dialog_id,
        })
    }

    fn reject(&mut self, now: Instant, key: &TxKey, req: &Request, e: &MsError) {
        let mut resp = response_to(req, e.sip_status(), Some(&self.ids.tag()));
        if e.sip_status() == 503 {
            resp.headers
                .push("Retry-After", BUSY_RETRY_AFTER_SECS.to_string());
        }
        self.respond(now, key, resp);
    }

    fn accept(
        &mut self,
        now: Instant,
        key: TxKey,
        req: Request,
        peer: Peer,
        a: Admitted<F::Session>,
    ) {
        self.respond(now, &key, response_to(&req, 100, None));
        let call = CallRef(self.next_call);
        self.next_call += 1;
        self.by_dialog.insert(a.dialog_id.clone(), call);
        self.by_invite.insert(key.clone(), call);
        self.by_contact.insert(a.contact, call);
        let rtcp_mux = a.offer.as_ref().is_some_and(|o| o.rtcp_mux);
        self.calls.insert(
            call,
            Call {
                contact: a.contact,
                invite: req,
                invite_key: key,
                peer,
                dialog_id: a.dialog_id,
                offer: a.offer,
                negotiated: None,
                local_sdp: None,
                local: None,
                dialog: None,
                phase: Phase::Opening,
                session: a.session,
                retx: None,
            },
        );
        self.out.push_back(MsOutput::OpenStream {
            call,
            contact: a.contact,
            rtcp_mux,
        });
    }

    /// A response to the call's INVITE with our tag and Contact.
    fn dialog_response(&self, invite: &Request, code: u16, tag: &str) -> Response {
        let mut resp = response_to(invite, code, Some(tag));
        let contact = self.cfg.local.contact_uri(Some(&self.cfg.user));
        resp.headers.push("Contact", format!("<{contact}>"));
        resp
    }

    /// The stream is open: 180, then 200 with our SDP.
    pub(super) fn answer(&mut self, now: Instant, call: CallRef, local_rtp: SocketAddr) {
        let Some(c) = self.calls.get(&call).filter(|c| c.phase == Phase::Opening) else {
            return;
        };
        let local = LocalMedia {
            address: local_rtp.ip(),
            port: local_rtp.port(),
            session_id: call.0,
            session_version: 1,
        };
        let (negotiated, sdp) = match &c.offer {
            None => (None, build_offer_with(&local, &self.codecs)),
            Some(offer) => match build_answer_with(offer, &local, &self.codecs) {
                Ok((neg, sdp)) => (Some(neg), sdp),
                Err(e) => return self.refuse_call(now, call, &MsError::Sdp(e)),
            },
        };
        let tag = c.dialog_id.local_tag.clone();
        let ringing = self.dialog_response(&c.invite, 180, &tag);
        let mut ok = self.dialog_response(&c.invite, 200, &tag);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = sdp.into_bytes();
        let dialog = match Dialog::uas(&c.invite, &ok, c.peer) {
            Ok(d) => d,
            Err(e) => {
                tracing::info!(error = %e, "ms: no dialog from INVITE");
                return self.refuse_call(now, call, &MsError::NoSipContact);
            }
        };
        let key = c.invite_key.clone();
        let retx = Retransmit::start(
            now,
            &self.cfg.timers,
            c.peer.transport.is_reliable(),
            key.clone(),
            ok.clone(),
        );
        self.respond(now, &key, ringing);
        self.respond(now, &key, ok.clone());
        if let Some(c) = self.calls.get_mut(&call) {
            c.negotiated = negotiated;
            c.local_sdp = Some(ok.body);
            c.local = Some(local);
            c.dialog = Some(dialog);
            c.phase = Phase::AwaitAck;
            c.retx = Some(retx);
        }
    }

    /// Answer a pending INVITE with an error and drop the call.
    fn refuse_call(&mut self, now: Instant, call: CallRef, e: &MsError) {
        if let Some(c) = self.calls.get(&call) {
            let (key, req) = (c.invite_key.clone(), c.invite.clone());
            self.reject(now, &key, &req, e);
        }
        self.end_call(call);
    }

    /// CANCEL (§9.2): 200 to the CANCEL; 487 to the INVITE if not yet
    /// answered; 481 when it matches no INVITE.
    pub(super) fn on_cancel(
        &mut self,
        now: Instant,
        key: &TxKey,
        req: &Request,
        cancels: Option<TxKey>,
    ) {
        let Some(inv_key) = cancels else {
            let resp = response_to(req, 481, Some(&self.ids.tag()));
            return self.respond(now, key, resp);
        };
        let tag = self.ids.tag();
        let call = self.by_invite.get(&inv_key).copied();
        let tag = call
            .and_then(|c| self.calls.get(&c))
            .map_or(tag, |c| c.dialog_id.local_tag.clone());
        self.respond(now, key, response_to(req, 200, Some(&tag)));
        let Some(call) = call else { return };
        if self
            .calls
            .get(&call)
            .is_some_and(|c| c.phase == Phase::Opening)
        {
            if let Some(c) = self.calls.get(&call) {
                let resp = response_to(&c.invite, 487, Some(&tag));
                self.respond(now, &inv_key, resp);
            }
            self.end_call(call);
        }
    }

    /// A re-INVITE: 200 with our answer to its offer (`hold`), or the SDP
    /// we already gave; 481 outside any call, 500 on a CSeq out of order,
    /// 488/400 for an offer we cannot accept.
    fn on_reinvite(&mut self, now: Instant, key: &TxKey, req: &Request) {
        let call = Dialog::id_of_incoming(req).and_then(|id| self.by_dialog.get(&id).copied());
        let checked = call
            .and_then(|c| self.calls.get_mut(&c))
            .and_then(|c| c.dialog.as_mut().map(|d| d.check_incoming(req)));
        let tag = Dialog::id_of_incoming(req)
            .map(|i| i.local_tag)
            .unwrap_or_default();
        let (call, sdp) = match (call, checked) {
            (Some(call), Some(Ok(()))) => match self.reanswer(call, &req.body) {
                Ok(sdp) => (call, sdp),
                Err(code) => return self.respond(now, key, response_to(req, code, Some(&tag))),
            },
            (_, Some(Err(e))) => {
                return self.respond(now, key, response_to(req, e.sip_status(), None))
            }
            _ => return self.respond(now, key, response_to(req, 481, None)),
        };
        let mut ok = self.dialog_response(req, 200, &tag);
        ok.headers.push("Content-Type", "application/sdp");
        ok.body = sdp;
        let reliable = self
            .calls
            .get(&call)
            .is_some_and(|c| c.peer.transport.is_reliable());
        let retx = Retransmit::start(now, &self.cfg.timers, reliable, key.clone(), ok.clone());
        if let Some(c) = self.calls.get_mut(&call) {
            c.retx = Some(retx);
        }
        self.respond(now, key, ok);
    }
}
