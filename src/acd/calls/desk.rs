//! What the agent desktop (issue 6, interface A) needs from a live call: the
//! popup's caller data, the desk's hold and retrieve, and its hang up. Caller data is what the IVR
//! was given (`ivr::session_info`): the caller, the dialled number, the
//! caller's display name and `X-*` headers; the queue comes from the CDR.

use super::super::engine::Engine;
use crate::b2bua::CallInput;
use crate::cti::ContactId;
use crate::http::ContactCard;
use crate::ivr::session_info;
use std::time::Instant;

impl Engine {
    /// The popup card of a live contact, `None` once the call is gone.
    pub(in crate::acd) fn contact_card(&self, contact: ContactId) -> Option<ContactCard> {
        let ctx = self.calls.calls.get(&contact)?;
        let data = session_info::for_ivr_leg(&ctx.caller.invite)
            .into_iter()
            .filter(|(name, _)| {
                let lower = name.to_ascii_lowercase();
                lower == session_info::HDR_CALLER_NAME.to_ascii_lowercase()
                    || !lower.starts_with("x-softacd-")
            })
            .collect();
        Some(ContactCard {
            contact: contact.0,
            caller: ctx.cdr.caller.clone(),
            dnis: ctx.cdr.dnis.clone(),
            queue: ctx.cdr.queue.clone(),
            data,
            held: ctx.call.is_held(),
        })
    }

    /// The desk holds (`hold`) or retrieves the caller; true when the
    /// call's hold state is now what was asked.
    pub(in crate::acd) fn desk_hold(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        hold: bool,
    ) -> bool {
        let Some(ctx) = self.calls.calls.get(&contact) else {
            return false;
        };
        if ctx.call.is_held() == hold {
            return false;
        }
        let input = if hold {
            CallInput::DeskHold
        } else {
            CallInput::DeskRetrieve
        };
        self.feed(now, wall_ms, contact, input);
        self.calls
            .calls
            .get(&contact)
            .is_some_and(|c| c.call.is_held() == hold)
    }

    /// The desk hangs up: the call ends on every leg (normal clearing).
    /// False when there is no such live call.
    pub(in crate::acd) fn desk_hang_up(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
    ) -> bool {
        if !self.calls.calls.contains_key(&contact) {
            return false;
        }
        self.feed(now, wall_ms, contact, CallInput::DeskHangUp);
        true
    }
}
