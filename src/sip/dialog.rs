//! SIP dialogs (RFC 3261 §12): creating the dialog state on the UAS side
//! (§12.1.1) and the UAC side (§12.1.2), matching in-dialog requests and
//! responses to it, building requests inside it (§12.2.1.1, loose and
//! strict routing), the ACK for a 2xx (§13.2.2.4) and checking requests the
//! peer sends inside it (§12.2.2). Pure data: no IO, no clock.

use super::uac::{new_request, with_body, IdGen, LocalAddr};
use super::{parse, HeaderView, Method, NameAddr, Peer, Request, Response, Uri};
use thiserror::Error;

/// Most Record-Route entries we keep in a route set (a peer controls it).
pub const MAX_ROUTE_SET: usize = 16;

/// The dialog identifier from our side (§12): Call-ID, our tag, their tag.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogState {
    /// Created by a 1xx with a To tag.
    Early,
    /// Created or confirmed by a 2xx.
    Confirmed,
    /// Ended by BYE or a non-2xx final response to the INVITE.
    Terminated,
}

/// Why a dialog could not be built or a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DialogError {
    #[error("dialog {place}: missing {what}")]
    Missing {
        place: &'static str,
        what: &'static str,
    },
    #[error("dialog {place}: bad {header} header: {detail}")]
    BadHeader {
        place: &'static str,
        header: &'static str,
        detail: String,
    },
    #[error("dialog {place}: response {code} cannot create a dialog")]
    NotDialogCreating { place: &'static str, code: u16 },
    #[error("dialog {place}: more than {MAX_ROUTE_SET} Record-Route entries")]
    TooManyRoutes { place: &'static str },
    #[error("dialog check_incoming: request does not belong to this dialog")]
    WrongDialog,
    #[error("dialog check_incoming: CSeq {got} is not above the last remote CSeq {last}")]
    CSeqOutOfOrder { got: u32, last: u32 },
}

impl DialogError {
    /// The response a UAS sends for a request refused this way (§12.2.2:
    /// 500 for an out-of-order CSeq, 481 for a request of no dialog).
    pub fn sip_status(&self) -> u16 {
        match self {
            DialogError::CSeqOutOfOrder { .. } => 500,
            DialogError::WrongDialog => 481,
            _ => 400,
        }
    }
}

/// The state of one dialog, as §12.1 lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub id: DialogId,
    /// Our From (in requests we send), with our tag.
    pub local_uri: NameAddr,
    /// Their address (our To), with their tag.
    pub remote_uri: NameAddr,
    /// Where requests go: the peer's Contact (§12.1.1, §12.1.2).
    pub remote_target: Uri,
    /// Route set, in the order our requests carry it.
    pub route_set: Vec<NameAddr>,
    /// The CSeq of the last request we sent in the dialog.
    pub local_cseq: u32,
    /// The CSeq of the last request the peer sent, if any.
    pub remote_cseq: Option<u32>,
    /// The transport address requests are sent to (the shell resolved it).
    pub peer: Peer,
    pub state: DialogState,
}

fn bad(place: &'static str, header: &'static str, e: impl std::fmt::Display) -> DialogError {
    DialogError::BadHeader {
        place,
        header,
        detail: e.to_string(),
    }
}

fn missing(place: &'static str, what: &'static str) -> DialogError {
    DialogError::Missing { place, what }
}

/// Every Record-Route entry in header order, bounded.
fn record_route(h: &impl HeaderView, place: &'static str) -> Result<Vec<NameAddr>, DialogError> {
    let mut out = Vec::new();
    for line in h.hdrs().get_all("Record-Route") {
        for v in parse::split_list(line) {
            if out.len() == MAX_ROUTE_SET {
                return Err(DialogError::TooManyRoutes { place });
            }
            out.push(parse::parse_name_addr(v).map_err(|e| bad(place, "Record-Route", e))?);
        }
    }
    Ok(out)
}

/// The first Contact URI, if the message has one.
fn contact_uri(h: &impl HeaderView, place: &'static str) -> Result<Option<Uri>, DialogError> {
    let contacts = h.contacts().map_err(|e| bad(place, "Contact", e))?;
    Ok(contacts.into_iter().find_map(|c| match c {
        super::Contact::Addr(a) => Some(a.uri),
        super::Contact::Star => None,
    }))
}

fn state_for(resp: &Response, place: &'static str) -> Result<DialogState, DialogError> {
    match resp.code {
        101..=199 => Ok(DialogState::Early),
        200..=299 => Ok(DialogState::Confirmed),
        code => Err(DialogError::NotDialogCreating { place, code }),
    }
}

fn call_id(h: &impl HeaderView, place: &'static str) -> Result<String, DialogError> {
    h.call_id()
        .map(str::to_string)
        .ok_or_else(|| missing(place, "Call-ID"))
}

impl Dialog {
    /// The UAS side (§12.1.1): `req` is the INVITE we received, `resp` our
    /// 1xx (with To tag) or 2xx. Route set = the request's Record-Route in
    /// order; remote target = its Contact; remote CSeq = its CSeq.
    pub fn uas(req: &Request, resp: &Response, peer: Peer) -> Result<Dialog, DialogError> {
        const P: &str = "uas";
        let state = state_for(resp, P)?;
        let local_uri = resp.to_hdr().map_err(|e| bad(P, "To", e))?;
        let local_tag = local_uri
            .tag()
            .ok_or_else(|| missing(P, "To tag"))?
            .to_string();
        let remote_uri = req.from_hdr().map_err(|e| bad(P, "From", e))?;
        let remote_target = contact_uri(req, P)?.ok_or_else(|| missing(P, "Contact"))?;
        let cseq = req.cseq().map_err(|e| bad(P, "CSeq", e))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id(req, P)?,
                local_tag,
                remote_tag: remote_uri.tag().unwrap_or_default().to_string(),
            },
            local_uri,
            remote_uri,
            remote_target,
            route_set: record_route(req, P)?,
            local_cseq: 0,
            remote_cseq: Some(cseq.seq),
            peer,
            state,
        })
    }

    /// The UAC side (§12.1.2): `req` is our INVITE, `resp` their 1xx (with
    /// To tag) or 2xx. Route set = the response's Record-Route reversed;
    /// remote target = its Contact (a 1xx without one keeps the
    /// Request-URI until the 2xx brings it); local CSeq = the INVITE's.
    pub fn uac(req: &Request, resp: &Response, peer: Peer) -> Result<Dialog, DialogError> {
        const P: &str = "uac";
        let state = state_for(resp, P)?;
        let local_uri = req.from_hdr().map_err(|e| bad(P, "From", e))?;
        let local_tag = local_uri
            .tag()
            .ok_or_else(|| missing(P, "From tag"))?
            .to_string();
        let remote_uri = resp.to_hdr().map_err(|e| bad(P, "To", e))?;
        let remote_tag = remote_uri
            .tag()
            .ok_or_else(|| missing(P, "To tag"))?
            .to_string();
        let remote_target = match contact_uri(resp, P)? {
            Some(uri) => uri,
            None if state == DialogState::Early => req.uri.clone(),
            None => return Err(missing(P, "Contact")),
        };
        let mut route_set = record_route(resp, P)?;
        route_set.reverse();
        let cseq = req.cseq().map_err(|e| bad(P, "CSeq", e))?;
        Ok(Dialog {
            id: DialogId {
                call_id: call_id(req, P)?,
                local_tag,
                remote_tag,
            },
            local_uri,
            remote_uri,
            remote_target,
            route_set,
            local_cseq: cseq.seq,
            remote_cseq: None,
            peer,
            state,
        })
    }

    /// The id a request the peer sent in a dialog with us maps to: its To
    /// tag is ours, its From tag theirs. `None` without a To tag.
    pub fn id_of_incoming(req: &Request) -> Option<DialogId> {
        let to = req.to_hdr().ok()?;
        let from = req.from_hdr().ok()?;
        Some(DialogId {
            call_id: req.call_id()?.to_string(),
            local_tag: to.tag()?.to_string(),
            remote_tag: from.tag().unwrap_or_default().to_string(),
        })
    }

    /// The id a response to our request maps to: From tag ours, To tag
    /// theirs. `None` without a To tag (e.g. 100 Trying).
    pub fn id_of_response(resp: &Response) -> Option<DialogId> {
        let to = resp.to_hdr().ok()?;
        let from = resp.from_hdr().ok()?;
        Some(DialogId {
            call_id: resp.call_id()?.to_string(),
            local_tag: from.tag()?.to_string(),
            remote_tag: to.tag()?.to_string(),
        })
    }

    /// A new request in the dialog (§12.2.1.1). The local CSeq goes up by
    /// one except for ACK and CANCEL. INVITE and UPDATE carry a Contact
    /// (target refresh). The request goes to [`Dialog::peer`].
    pub fn request(&mut self, method: Method, local: &LocalAddr, ids: &mut IdGen) -> Request {
        if !matches!(method, Method::Ack | Method::Cancel) {
            self.local_cseq = self.local_cseq.wrapping_add(1);
        }
        let contact = matches!(method, Method::Invite | Method::Update)
            .then(|| local.contact_uri(self.local_uri.uri.user.as_deref()));
        self.build(method, self.local_cseq, local, contact.as_ref(), ids)
    }

    /// The ACK for a 2xx to our INVITE with CSeq `invite_cseq`
    /// (§13.2.2.4): same CSeq number, method ACK, a new branch, the route
    /// set; `sdp` is the answer when the 2xx carried the offer.
    pub fn ack_for_2xx(
        &self,
        invite_cseq: u32,
        local: &LocalAddr,
        ids: &mut IdGen,
        sdp: Option<Vec<u8>>,
    ) -> Request {
        let ack = self.build(Method::Ack, invite_cseq, local, None, ids);
        match sdp {
            Some(body) => with_body(ack, "application/sdp", body),
            None => ack,
        }
    }

    /// Request-URI and Route headers from the route set (§12.2.1.1): with a
    /// loose router (`lr`) first, the Request-URI is the remote target and
    /// the route set is the Route; with a strict router first, the
    /// Request-URI is its URI and the remote target ends the Route.
    fn build(
        &self,
        method: Method,
        cseq: u32,
        local: &LocalAddr,
        contact: Option<&Uri>,
        ids: &mut IdGen,
    ) -> Request {
        let (ruri, routes): (Uri, Vec<NameAddr>) = match self.route_set.split_first() {
            Some((first, rest)) if first.uri.param("lr").is_none() => {
                let mut ruri = first.uri.clone();
                ruri.params
                    .retain(|(n, _)| !n.eq_ignore_ascii_case("method"));
                ruri.headers = None;
                let mut routes = rest.to_vec();
                routes.push(NameAddr::new(self.remote_target.clone()));
                (ruri, routes)
            }
            _ => (self.remote_target.clone(), self.route_set.clone()),
        };
        let mut req = new_request(
            method,
            ruri,
            self.local_uri.clone(),
            self.remote_uri.clone(),
            &self.id.call_id,
            cseq,
            local,
            contact,
            ids,
        );
        for r in routes {
            req.headers.push("Route", r.to_string());
        }
        req
    }

    /// Check a request the peer sent in this dialog (§12.2.2): it must
    /// match the dialog; its CSeq must be above the last one (ACK and
    /// CANCEL reuse the INVITE's number); a target refresh (INVITE,
    /// UPDATE) with a Contact replaces the remote target.
    pub fn check_incoming(&mut self, req: &Request) -> Result<(), DialogError> {
        if Dialog::id_of_incoming(req).as_ref() != Some(&self.id) {
            return Err(DialogError::WrongDialog);
        }
        let got = req
            .cseq()
            .map_err(|e| bad("check_incoming", "CSeq", e))?
            .seq;
        let reuses = matches!(req.method, Method::Ack | Method::Cancel);
        if let Some(last) = self.remote_cseq {
            if got < last || (got == last && !reuses) {
                return Err(DialogError::CSeqOutOfOrder { got, last });
            }
        }
        if matches!(req.method, Method::Invite | Method::Update) {
            if let Some(uri) = contact_uri(req, "check_incoming")? {
                self.remote_target = uri;
            }
        }
        self.remote_cseq = Some(got);
        Ok(())
    }

    /// A final response to the dialog-creating INVITE: a 2xx confirms an
    /// early dialog and refreshes the remote target from its Contact; a
    /// 300-699 ends an early dialog.
    pub fn confirm(&mut self, resp: &Response) {
        if resp.is_success() && self.state != DialogState::Terminated {
            self.state = DialogState::Confirmed;
            if let Ok(Some(uri)) = contact_uri(resp, "confirm") {
                self.remote_target = uri;
            }
        } else if resp.code >= 300 && self.state == DialogState::Early {
            self.state = DialogState::Terminated;
        }
    }
}

#[cfg(test)]
mod tests;
