//! Callbacks (issue 6): a caller waiting in a queue leaves a number and
//! hangs up without losing their place. [`Input::RequestCallback`] moves
//! the caller's place in line (its [`QueueKey`] and request, kept by
//! LeaveQueue when the callback key took it out of the queue) to a new
//! contact of kind callback (voice, no live leg) named by the SoftACD. That
//! contact is routed like any other (step 8: the agent is reserved and rung
//! first, the SoftACD then calls the customer); a missed offer puts it back
//! at the head of its class. Unserved after `callback_max_age` it expires
//! ([`Output::CallbackExpired`]). At most `max_callbacks` live at once.
//!
//! [`Input::RequestCallback`]: super::Input::RequestCallback
//! [`Output::CallbackExpired`]: super::Output::CallbackExpired

use super::contact::{AgentRequest, ContactPhase};
use super::error::CtiError;
use super::events::Output;
use super::queue::QueueKey;
use super::types::{Channel, ContactId};
use super::Cti;
use std::time::Instant;

/// What makes a contact a callback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackInfo {
    /// The customer's number: digits, an optional leading `+`.
    pub number: String,
    /// The inbound call on which it was requested.
    pub origin: ContactId,
}

/// A callback number: 3 to 20 digits with an optional leading `+`.
pub fn valid_number(number: &str) -> bool {
    let digits = number.strip_prefix('+').unwrap_or(number);
    (3..=20).contains(&digits.len()) && digits.bytes().all(|b| b.is_ascii_digit())
}

impl Cti {
    /// Registers a callback for `contact` (queued, or parked by LeaveQueue)
    /// as the new contact `callback`, at the same place in line.
    pub(super) fn request_callback(
        &mut self,
        now: Instant,
        contact: ContactId,
        callback: ContactId,
        number: String,
        out: &mut Vec<Output>,
    ) -> Result<(), CtiError> {
        const IN: &str = "RequestCallback";
        if !valid_number(&number) {
            let number = number.chars().take(24).collect();
            return Err(CtiError::CallbackNumber { input: IN, number });
        }
        let live = self.contacts.values().filter(|c| c.callback.is_some());
        if live.count() >= self.cfg.max_callbacks {
            let limit = self.cfg.max_callbacks;
            return Err(CtiError::TooManyCallbacks { input: IN, limit });
        }
        if self.contacts.contains_key(&callback) {
            return Err(CtiError::ContactExists {
                input: IN,
                contact: callback,
            });
        }
        let (key, request) = self.take_place(IN, contact)?;
        self.new_callback(now, contact, callback, number.clone(), request)?;
        self.enqueue(callback, key);
        out.push(Output::CallbackQueued {
            contact,
            callback,
            number,
        });
        Ok(())
    }

    /// The caller's place in line: its queue key and request, taken out of
    /// the queue (a queued contact) or out of `parked` (after LeaveQueue).
    fn take_place(
        &mut self,
        input: &'static str,
        contact: ContactId,
    ) -> Result<(QueueKey, AgentRequest), CtiError> {
        let c = self.contact_in(input, contact, "Queued or out of its queue", |p| {
            matches!(p, ContactPhase::Queued(_) | ContactPhase::Routing)
        })?;
        let place = match (&c.phase, &c.request, &c.parked) {
            (ContactPhase::Queued(key), Some(req), _) => Some((*key, req.clone())),
            (ContactPhase::Routing, _, Some(parked)) => Some(parked.clone()),
            _ => None,
        };
        let Some(place) = place else {
            return Err(CtiError::WrongPhase {
                input,
                contact,
                phase: c.phase.name(),
                expected: "Queued or out of its queue",
            });
        };
        self.dequeue(contact);
        if let Some(c) = self.contacts.get_mut(&contact) {
            c.phase = ContactPhase::Routing;
            c.request = None;
            c.parked = None;
        }
        Ok(place)
    }

    /// The callback contact, with the caller's request; its queue deadline
    /// becomes the callback's expiry.
    fn new_callback(
        &mut self,
        now: Instant,
        origin: ContactId,
        callback: ContactId,
        number: String,
        mut request: AgentRequest,
    ) -> Result<(), CtiError> {
        let dnis = self.contacts.get(&origin).and_then(|c| c.dnis.clone());
        self.contact_arrived(callback, Channel::Voice)?;
        request.deadline = now.checked_add(self.cfg.callback_max_age);
        if let Some(c) = self.contacts.get_mut(&callback) {
            c.dnis = dnis;
            c.caller = Some(number.clone());
            c.request = Some(request);
            c.callback = Some(CallbackInfo { number, origin });
        }
        Ok(())
    }

    /// The queue deadline of a callback contact: it expires and is gone.
    /// False (nothing done) for other contacts.
    pub(super) fn callback_expired(&mut self, contact: ContactId, out: &mut Vec<Output>) -> bool {
        let Some(info) = self.contacts.get(&contact).and_then(|c| c.callback.clone()) else {
            return false;
        };
        self.dequeue(contact);
        self.contacts.remove(&contact);
        out.push(Output::CallbackExpired {
            contact,
            number: info.number,
        });
        true
    }
}

#[cfg(test)]
mod tests {
    use super::valid_number;

    #[test]
    fn numbers_are_3_to_20_digits_with_an_optional_plus() {
        for ok in ["555", "+15551234", "01234567890123456789", "+123"] {
            assert!(valid_number(ok), "{ok}");
        }
        for bad in [
            "",
            "12",
            "+12",
            "012345678901234567890",
            "555-1234",
            "++555",
            "5551234#",
            "sip:5551234",
            "٣٣٣",
        ] {
            assert!(!valid_number(bad), "{bad}");
        }
    }
}
