//! Established SIP legs as the journal keeps them (RFC 3261 §12.1: the
//! dialog state a UA needs to send a request inside a dialog): enough to
//! rebuild the [`Dialog`] after a restart and send it a BYE (§15.1.1), so
//! no phone keeps a call up that this process no longer relays.

use crate::sip::dialog::{Dialog, DialogId, DialogState};
use crate::sip::parse::{parse_name_addr, parse_uri};
use crate::sip::{NameAddr, Peer, TransportKind};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// Added to the last CSeq we recorded, so a BYE after a restart is above
/// any in-dialog request sent since the row was written (§12.2.1.1 only asks
/// for a higher number, not the next one).
pub const CSEQ_MARGIN: u32 = 1000;

/// One established leg of a contact.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LegRecord {
    pub contact: u64,
    /// `caller`, `agent`, … (one row per leg of a contact).
    pub leg: String,
    pub call_id: String,
    /// Our From in requests we send, with our tag.
    pub local_uri: String,
    /// Their To, with their tag.
    pub remote_uri: String,
    pub remote_target: String,
    pub route_set: Vec<String>,
    /// The CSeq of the last request we sent in the dialog.
    pub local_cseq: u32,
    /// `UDP` or `TCP`.
    pub transport: String,
    pub peer: SocketAddr,
}

fn bare(n: &NameAddr) -> String {
    let mut n = n.clone();
    n.display = None;
    n.to_string()
}

impl LegRecord {
    /// The record of a confirmed dialog on a network transport; `None` for
    /// the in-process IVR link (the IVR restarts with us).
    pub fn of(contact: u64, leg: &str, d: &Dialog) -> Option<LegRecord> {
        if !matches!(d.peer.transport, TransportKind::Udp | TransportKind::Tcp) {
            return None;
        }
        Some(LegRecord {
            contact,
            leg: leg.to_owned(),
            call_id: d.id.call_id.clone(),
            local_uri: bare(&d.local_uri),
            remote_uri: bare(&d.remote_uri),
            remote_target: d.remote_target.to_string(),
            route_set: d.route_set.iter().map(ToString::to_string).collect(),
            local_cseq: d.local_cseq,
            transport: d.peer.transport.via_token().to_owned(),
            peer: d.peer.addr,
        })
    }

    /// The dialog back, its CSeq moved on by [`CSEQ_MARGIN`].
    pub fn dialog(&self) -> Result<Dialog, String> {
        let local_uri = parse_name_addr(&self.local_uri).map_err(|e| format!("local uri: {e}"))?;
        let remote_uri =
            parse_name_addr(&self.remote_uri).map_err(|e| format!("remote uri: {e}"))?;
        let remote_target =
            parse_uri(&self.remote_target).map_err(|e| format!("remote target: {e}"))?;
        let route_set = self
            .route_set
            .iter()
            .map(|r| parse_name_addr(r).map_err(|e| format!("route: {e}")))
            .collect::<Result<Vec<_>, _>>()?;
        let transport = TransportKind::from_via_token(&self.transport)
            .filter(|t| matches!(t, TransportKind::Udp | TransportKind::Tcp))
            .ok_or_else(|| format!("transport {:?}", self.transport))?;
        let id = DialogId {
            call_id: self.call_id.clone(),
            local_tag: local_uri.tag().unwrap_or_default().to_owned(),
            remote_tag: remote_uri.tag().unwrap_or_default().to_owned(),
        };
        Ok(Dialog {
            id,
            local_uri,
            remote_uri,
            remote_target,
            route_set,
            local_cseq: self.local_cseq.saturating_add(CSEQ_MARGIN),
            remote_cseq: None,
            peer: Peer {
                transport,
                addr: self.peer,
                conn: None,
            },
            state: DialogState::Confirmed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sip::Uri;

    fn dialog(transport: TransportKind) -> Dialog {
        let local = NameAddr::new(Uri::sip(Some("caller"), "127.0.0.1", None)).with_tag("ours");
        let mut remote =
            NameAddr::new(Uri::sip(Some("1001"), "127.0.0.1", Some(5070))).with_tag("theirs");
        remote.display = Some("\"Seat 1001\"".into());
        Dialog {
            id: DialogId {
                call_id: "abc@127.0.0.1".into(),
                local_tag: "ours".into(),
                remote_tag: "theirs".into(),
            },
            local_uri: local,
            remote_uri: remote,
            remote_target: Uri::sip(Some("1001"), "127.0.0.1", Some(5070)),
            route_set: vec![NameAddr::new(Uri::sip(None, "proxy.example", None))],
            local_cseq: 2,
            remote_cseq: Some(1),
            peer: Peer {
                transport,
                addr: SocketAddr::from(([127, 0, 0, 1], 5070)),
                conn: None,
            },
            state: DialogState::Confirmed,
        }
    }

    #[test]
    fn a_leg_round_trips_through_json_with_a_higher_cseq() {
        let d = dialog(TransportKind::Udp);
        let rec = LegRecord::of(9, "agent", &d).expect("udp leg recorded");
        let json = serde_json::to_string(&rec).expect("json");
        let back: LegRecord = serde_json::from_str(&json).expect("parses");
        let d2 = back.dialog().expect("dialog back");
        assert_eq!(d2.id, d.id);
        assert_eq!(d2.remote_target, d.remote_target);
        assert_eq!(d2.route_set.len(), 1);
        assert_eq!(d2.peer, d.peer);
        assert_eq!(d2.local_cseq, 2 + CSEQ_MARGIN);
        assert_eq!(d2.remote_uri.tag(), Some("theirs"));
    }

    #[test]
    fn the_in_process_ivr_leg_is_not_recorded_and_junk_is_an_error() {
        assert_eq!(LegRecord::of(1, "ivr", &dialog(TransportKind::Local)), None);
        let mut rec = LegRecord::of(1, "caller", &dialog(TransportKind::Tcp)).expect("tcp");
        rec.remote_target = "not a uri".into();
        assert!(rec.dialog().is_err());
        rec = LegRecord::of(1, "caller", &dialog(TransportKind::Tcp)).expect("tcp");
        rec.transport = "LOCAL".into();
        assert!(rec.dialog().is_err());
    }
}
