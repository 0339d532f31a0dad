//! SIP INFO through the B2BUA (RFC 6086 §4.2; as a B2BUA we send a new
//! request in the other leg's dialog, RFC 3261 §12.2.1.1, not a proxied
//! one): an INFO from the caller in its dialog is sent on in the
//! leg the caller is talking to — the IVR leg while the caller is in the
//! IVR or queued, the agent's leg once bridged — with the same
//! Content-Type and body (DTMF as application/dtmf-relay or
//! application/dtmf reaches the IVR's digit stream that way), and the
//! caller gets that leg's final status. With no such leg the INFO is
//! answered 200 here, as before. A forward lives as long as its client
//! transaction: the final response, Timer F (→ 408) or a transport
//! failure (→ 503) ends it, so the table is bounded by the transaction
//! layer's limit.

use super::{CallCtx, Engine};
use crate::b2bua::{CallState, LegId, LegKind};
use crate::cti::ContactId;
use crate::sip::transaction::TxKey;
use crate::sip::uac::with_body;
use crate::sip::{Method, Request, Response};
use std::time::Instant;

/// A caller's INFO waiting for the answer of the leg it was sent on.
pub(in crate::acd) struct InfoForward {
    server_key: TxKey,
    request: Request,
}

impl Engine {
    /// The caller's in-dialog INFO (its dialog already checked).
    pub(super) fn forward_caller_info(
        &mut self,
        now: Instant,
        contact: ContactId,
        key: &TxKey,
        req: &Request,
    ) {
        let Some(sent) = self.send_info_on(now, contact, req) else {
            let ok = self.reply(req, 200);
            return self.respond(now, key, ok);
        };
        self.calls.info_forwards.insert(
            sent,
            InfoForward {
                server_key: key.clone(),
                request: req.clone(),
            },
        );
    }

    /// Send a copy of `req` in the target leg's dialog.
    fn send_info_on(&mut self, now: Instant, contact: ContactId, req: &Request) -> Option<TxKey> {
        let ctx = self.calls.calls.get_mut(&contact)?;
        let leg = info_target(ctx)?;
        let uac = ctx.legs.get_mut(&leg)?;
        let dialog = uac.dialog.as_mut()?;
        let mut info = dialog.request(Method::Info, &uac.local, &mut self.ids);
        if let Some(ct) = req.headers.get("Content-Type") {
            info = with_body(info, ct, req.body.clone());
        }
        let peer = dialog.peer;
        match self.txn.send_request(now, info, peer) {
            Ok(k) => Some(k),
            Err(e) => {
                tracing::warn!(%contact, ?leg, error = %e, "INFO not forwarded");
                None
            }
        }
    }

    /// A response on one of our forwarded INFOs: a final one goes back to
    /// the caller. Returns false when `key` is not a forward.
    pub(super) fn on_info_forward_response(
        &mut self,
        now: Instant,
        key: &TxKey,
        resp: &Response,
    ) -> bool {
        if !self.calls.info_forwards.contains_key(key) {
            return false;
        }
        if resp.is_final() {
            self.finish_info_forward(now, key, resp.code);
        }
        true
    }

    /// Our forwarded INFO failed (Timer F, transport): tell the caller.
    /// Returns false when `key` is not a forward.
    pub(super) fn on_info_forward_failure(&mut self, now: Instant, key: &TxKey, code: u16) -> bool {
        if !self.calls.info_forwards.contains_key(key) {
            return false;
        }
        self.finish_info_forward(now, key, code);
        true
    }

    fn finish_info_forward(&mut self, now: Instant, key: &TxKey, code: u16) {
        if let Some(fwd) = self.calls.info_forwards.remove(key) {
            let resp = self.reply(&fwd.request, code);
            self.respond(now, &fwd.server_key, resp);
        }
    }
}

/// The leg whose far end hears the caller now.
fn info_target(ctx: &CallCtx) -> Option<LegId> {
    let has_dialog = |leg: &LegId| ctx.legs.get(leg).is_some_and(|l| l.dialog.is_some());
    match ctx.call.state() {
        CallState::InIvr | CallState::Queued | CallState::Diverting | CallState::Transferring => {
            Some(LegId::IVR).filter(has_dialog)
        }
        CallState::Connected => ctx
            .legs
            .keys()
            .filter(|l| matches!(l.kind, LegKind::Agent | LegKind::External) && has_dialog(l))
            .max_by_key(|l| l.attempt)
            .copied(),
        _ => None,
    }
}
