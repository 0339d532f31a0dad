//! Hold at the IVR (RFC 3264 §8.4 "Putting a unicast media stream on
//! hold", §6.1 direction answers): a re-INVITE's offer is answered with the
//! matching direction — `sendonly` → `recvonly`, `recvonly` → `sendonly`,
//! `inactive` → `inactive`, `sendrecv` → `sendrecv` — and the shell is told
//! whether we may send ([`MsOutput::SetSending`]): the IVR stops its RTP
//! while the caller cannot receive and resumes on `sendrecv`/`recvonly`.
//! An offer that changes nothing gets the previous SDP unchanged (same
//! `o=` version, RFC 3264 §8); a changed one gets a new answer with the
//! version incremented.

use super::{CallRef, MediaServer, MsOutput, SessionFactory};
use crate::media::sdp::{build_answer, parse_offer, Direction, Negotiated};

/// Whether we send RTP in this (our) direction.
pub fn sends(d: Direction) -> bool {
    matches!(d, Direction::SendRecv | Direction::SendOnly)
}

impl<F: SessionFactory> MediaServer<F> {
    /// The SDP answering a re-INVITE whose body is `body` (empty: no offer,
    /// our last SDP again), or the SIP status refusing it.
    pub(super) fn reanswer(&mut self, call: CallRef, body: &[u8]) -> Result<Vec<u8>, u16> {
        let c = self.calls.get_mut(&call).ok_or(481u16)?;
        let current = c.local_sdp.clone().unwrap_or_default();
        let Some(mut local) = c.local else {
            return Ok(current);
        };
        if body.is_empty() {
            return Ok(current);
        }
        let offer = parse_offer(body).map_err(|e| e.sip_status())?;
        let wanted = offer.negotiate().map_err(|e| e.sip_status())?;
        if c.negotiated == Some(wanted) {
            return Ok(current);
        }
        local.session_version += 1;
        let (neg, sdp) = build_answer(&offer, &local).map_err(|e| e.sip_status())?;
        let before = c.negotiated.replace(neg);
        c.local = Some(local);
        c.local_sdp = Some(sdp.clone().into_bytes());
        self.media_changes(call, before, neg);
        Ok(sdp.into_bytes())
    }

    /// Tell the shell what the new answer changed: where and how to send,
    /// and whether to send at all.
    fn media_changes(&mut self, call: CallRef, before: Option<Negotiated>, now: Negotiated) {
        let stream = |n: &Negotiated| {
            (
                n.remote,
                n.codec,
                n.payload_type,
                n.telephone_event_pt,
                n.ptime_ms,
            )
        };
        if before.as_ref().map(stream) != Some(stream(&now)) {
            self.out.push_back(MsOutput::ConfigureStream {
                call,
                remote: now.remote,
                codec: now.codec,
                payload_type: now.payload_type,
                dtmf_pt: now.telephone_event_pt,
                ptime_ms: now.ptime_ms,
            });
        }
        let was = before.is_none_or(|b| sends(b.direction));
        if was != sends(now.direction) {
            self.out.push_back(MsOutput::SetSending {
                call,
                sending: sends(now.direction),
            });
        }
    }
}
