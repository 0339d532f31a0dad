//! Minimal SIP user agents for the call-flow integration tests, built on
//! SoftACD's own pieces (`sip::uac`, `sip::dialog`, `media::sdp`,
//! `media::rtp`, `media::rfc4733`, `registrar::digest`) over UDP on
//! 127.0.0.1, blocking, one thread per test.
//!
//! - [`Caller`]: MISSION.md step 1 — INVITE a service number with an SDP
//!   offer, collect 1xx/final responses, ACK the 2xx (RFC 3261 §13.2.2.4)
//!   or the error (§17.1.1.3), press keys as RFC 4733 events, hang up.
//! - [`Agent`]: a seat's phone — REGISTER with digest (RFC 3261 §22.4,
//!   RFC 7616 qop=auth), then ring (180), answer (200 + SDP answer) or
//!   reject the INVITE the SoftACD sends (step 8), hang up.
//! - [`events::EventLog`]: the `GET /api/events` WebSocket, collected on a
//!   thread; [`events`] also has the JSON helpers for `/api/*`.
//!
//! Both UAs answer BYE, re-INVITE (direct mode, step 10) and CANCEL by
//! themselves and record them, so a test asks afterwards what it got.
#![allow(dead_code)] // each tests/*.rs binary uses a different part

pub mod config;
pub mod events;
pub mod leg;
pub mod rtp;

use std::net::SocketAddr;
use std::time::Duration;

use softacd::media::sdp::SdpError;
use softacd::registrar::digest::{self, Algorithm, ResponseInput};
use softacd::sip::dialog::Dialog;
use softacd::sip::uac::new_request;
use softacd::sip::{HeaderView, Message, Method, NameAddr, Peer, Request, Response, Uri};

pub use leg::Leg;
pub use rtp::RtpStats;

/// The fill byte of the caller's audio frames.
pub const CALLER_FILL: u8 = 0x5A;
/// The fill byte of an agent's audio frames.
pub const AGENT_FILL: u8 = 0xA5;
/// How long a UA waits for a response to its own request.
pub const RESPONSE_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a test UA step failed.
#[derive(Debug, thiserror::Error)]
pub enum UaError {
    #[error("ua {0}: {1}")]
    Io(&'static str, std::io::Error),
    #[error("ua: timed out after {1:?} waiting for {0}")]
    Timeout(String, Duration),
    #[error("ua: {0} answered {1}")]
    Status(&'static str, u16),
    #[error("ua: unexpected {0}")]
    Unexpected(String),
    #[error("ua: no dialog (call not established)")]
    NoDialog,
    #[error("ua: no remote media address (no SDP exchanged yet)")]
    NoRemoteMedia,
    #[error("ua sdp: {0}")]
    Sdp(SdpError),
    #[error("ua rtp: {0}")]
    Rtp(softacd::media::rtp::RtpError),
    #[error("ua dtmf: {0}")]
    Dtmf(softacd::media::rfc4733::Rfc4733Error),
    #[error("ua dialog: {0}")]
    Dialog(softacd::sip::dialog::DialogError),
    #[error("ua digest challenge: {0}")]
    Challenge(String),
    #[error("ua random: {0}")]
    Random(String),
}

impl UaError {
    pub fn io(place: &'static str, e: std::io::Error) -> UaError {
        UaError::Io(place, e)
    }
}

fn server_host(server: SocketAddr) -> (String, u16) {
    (server.ip().to_string(), server.port())
}

/// The hop-by-hop ACK for a non-2xx final response (§17.1.1.3).
fn ack_for_error(invite: &Request, resp: &Response) -> Request {
    let mut ack = Request::new(Method::Ack, invite.uri.clone());
    for name in ["Via", "From", "Call-ID", "Route"] {
        if let Some(v) = invite.headers.get(name) {
            ack.headers.push(name, v);
        }
    }
    if let Some(to) = resp.headers.get("To") {
        ack.headers.push("To", to);
    }
    if let Ok(c) = invite.cseq() {
        ack.headers.push("CSeq", format!("{} ACK", c.seq));
    }
    ack.headers.push("Max-Forwards", "70");
    ack
}

// ---------------------------------------------------------------------------
// Caller
// ---------------------------------------------------------------------------

/// A calling phone (MISSION.md step 1).
pub struct Caller {
    pub leg: Leg,
    /// Every response code to the INVITE, in arrival order.
    pub codes: Vec<u16>,
    /// Extra headers put on the INVITE (e.g. `X-*` call data).
    pub extra_headers: Vec<(String, String)>,
    invite: Option<Request>,
}

impl Caller {
    /// A caller `sip:<user>@127.0.0.1` that sends to `server`.
    pub fn new(server: SocketAddr, user: &str) -> Result<Caller, UaError> {
        Ok(Caller {
            leg: Leg::bind(server, user, CALLER_FILL)?,
            codes: Vec::new(),
            extra_headers: Vec::new(),
            invite: None,
        })
    }

    /// Our SDP offer (PCMU, PCMA, telephone-event).
    pub fn offer(&mut self) -> String {
        self.leg.media.offer()
    }

    /// INVITE `sip:<number>@server` with `sdp` (or none: late offer), wait
    /// for the final response, ACK it, and return it. A 2xx sets up the
    /// dialog and aims our media at the answer (or answers the offer in
    /// the 2xx within the ACK).
    pub fn invite(
        &mut self,
        number: &str,
        sdp: Option<String>,
        timeout: Duration,
    ) -> Result<Response, UaError> {
        let (host, port) = server_host(self.leg.server);
        let ruri = Uri::sip(Some(number), &host, Some(port));
        let from_tag = self.leg.ids.tag();
        let from =
            NameAddr::new(Uri::sip(Some(&self.leg.user), "127.0.0.1", None)).with_tag(&from_tag);
        let to = NameAddr::new(Uri::sip(Some(number), &host, None));
        let call_id = self.leg.ids.call_id("127.0.0.1");
        let contact = self.leg.local.contact_uri(Some(&self.leg.user));
        let mut req = new_request(
            Method::Invite,
            ruri,
            from,
            to,
            &call_id,
            1,
            &self.leg.local,
            Some(&contact),
            &mut self.leg.ids,
        );
        for (name, value) in &self.extra_headers {
            req.headers.push(name.clone(), value.clone());
        }
        if let Some(sdp) = sdp {
            req = Leg::with_sdp(req, sdp);
        }
        self.leg.send_request(&req)?;
        self.invite = Some(req.clone());
        loop {
            let resp = self.leg.wait_response(&req, false, timeout)?;
            self.codes.push(resp.code);
            if resp.is_final() {
                self.on_final(&req, &resp)?;
                return Ok(resp);
            }
        }
    }

    fn on_final(&mut self, req: &Request, resp: &Response) -> Result<(), UaError> {
        if !resp.is_success() {
            let ack = ack_for_error(req, resp);
            return self.leg.send_request(&ack);
        }
        let dialog = Dialog::uac(req, resp, Peer::udp(self.leg.server)).map_err(UaError::Dialog)?;
        let answer_in_ack = if req.body.is_empty() {
            Some(self.leg.media.answer(&resp.body)?.into_bytes())
        } else {
            self.leg.media.take_answer(&resp.body)?;
            None
        };
        let ack = dialog.ack_for_2xx(1, &self.leg.local, &mut self.leg.ids, answer_in_ack);
        self.leg.dialog = Some(dialog);
        self.leg.send_request(&ack)
    }

    /// The provisional codes received before the final response.
    pub fn provisional_codes(&self) -> Vec<u16> {
        self.codes.iter().copied().filter(|c| *c < 200).collect()
    }

    /// Where our RTP goes now (the SoftACD's relay, or the agent in direct mode).
    pub fn remote_media(&self) -> Option<SocketAddr> {
        self.leg.media.remote
    }

    pub fn send_dtmf(&mut self, key: char) -> Result<RtpStats, UaError> {
        self.leg.media.send_dtmf(key)
    }

    pub fn recv_rtp(&mut self, timeout: Duration, min_packets: usize) -> RtpStats {
        self.leg.media.recv_rtp(timeout, min_packets)
    }

    /// CANCEL the pending INVITE (§9.1).
    pub fn cancel(&mut self) -> Result<(), UaError> {
        let inv = self.invite.as_ref().ok_or(UaError::NoDialog)?;
        let cancel = softacd::sip::uac::cancel_for(inv);
        self.leg.send_request(&cancel)
    }

    pub fn bye(&mut self) -> Result<(), UaError> {
        self.leg.bye(RESPONSE_TIMEOUT)
    }

    pub fn expect_request(
        &mut self,
        method: Method,
        timeout: Duration,
    ) -> Result<Request, UaError> {
        self.leg.expect_request(method, timeout)
    }
}

// ---------------------------------------------------------------------------
// Agent
// ---------------------------------------------------------------------------

/// An agent's phone registered as a seat.
pub struct Agent {
    pub leg: Leg,
    password: String,
}

/// The parameters of a `WWW-Authenticate: Digest …` challenge.
fn challenge_params(resp: &Response) -> Result<Vec<(String, String)>, UaError> {
    let value = resp
        .headers
        .get_all("WWW-Authenticate")
        .find(|v| v.contains("MD5") || !v.contains("algorithm"))
        .ok_or_else(|| UaError::Challenge("no MD5 WWW-Authenticate".into()))?;
    let rest = value
        .trim_start()
        .strip_prefix("Digest")
        .ok_or_else(|| UaError::Challenge(format!("not Digest: {value}")))?;
    digest::parse_auth_params(rest).map_err(|e| UaError::Challenge(e.to_string()))
}

fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

impl Agent {
    /// A phone that has not registered (for calls placed to it directly).
    pub fn unregistered(server: SocketAddr, user: &str) -> Result<Agent, UaError> {
        Ok(Agent {
            leg: Leg::bind(server, user, AGENT_FILL)?,
            password: String::new(),
        })
    }

    /// [`Agent::unregistered`] whose RTP frames carry `fill` (for a second
    /// answering party, e.g. a callback's customer, told apart from a seat).
    pub fn unregistered_with_fill(
        server: SocketAddr,
        user: &str,
        fill: u8,
    ) -> Result<Agent, UaError> {
        Ok(Agent {
            leg: Leg::bind(server, user, fill)?,
            password: String::new(),
        })
    }

    /// REGISTER `sip:<user>@server-domain` from a fresh UA, answering the
    /// digest challenge; Ok once the registrar said 200.
    pub fn register(server: SocketAddr, user: &str, password: &str) -> Result<Agent, UaError> {
        let mut agent = Agent {
            leg: Leg::bind(server, user, AGENT_FILL)?,
            password: password.to_string(),
        };
        let call_id = agent.leg.ids.call_id("127.0.0.1");
        let first = agent.send_register(&call_id, 1, None)?;
        let resp = agent.leg.wait_response(&first, true, RESPONSE_TIMEOUT)?;
        let resp = match resp.code {
            200 => resp,
            401 => {
                let auth = agent.authorization(&first, &resp)?;
                let second = agent.send_register(&call_id, 2, Some(auth))?;
                agent.leg.wait_response(&second, true, RESPONSE_TIMEOUT)?
            }
            code => return Err(UaError::Status("REGISTER", code)),
        };
        if resp.code != 200 {
            return Err(UaError::Status("REGISTER", resp.code));
        }
        Ok(agent)
    }

    fn send_register(
        &mut self,
        call_id: &str,
        cseq: u32,
        auth: Option<String>,
    ) -> Result<Request, UaError> {
        let (host, port) = server_host(self.leg.server);
        let aor = Uri::sip(Some(&self.leg.user), &host, None);
        let from = NameAddr::new(aor.clone()).with_tag(&self.leg.uas_tag);
        let contact = self.leg.local.contact_uri(Some(&self.leg.user));
        let mut req = new_request(
            Method::Register,
            Uri::sip(None, &host, Some(port)),
            from,
            NameAddr::new(aor),
            call_id,
            cseq,
            &self.leg.local,
            Some(&contact),
            &mut self.leg.ids,
        );
        req.headers.push("Expires", "600");
        if let Some(a) = auth {
            req.headers.push("Authorization", a);
        }
        self.leg.send_request(&req)?;
        Ok(req)
    }

    /// `Authorization: Digest …` for `req` answering `challenge` (MD5, qop=auth).
    fn authorization(&mut self, req: &Request, challenge: &Response) -> Result<String, UaError> {
        let p = challenge_params(challenge)?;
        let realm = param(&p, "realm").ok_or_else(|| UaError::Challenge("no realm".into()))?;
        let nonce = param(&p, "nonce").ok_or_else(|| UaError::Challenge("no nonce".into()))?;
        let uri = req.uri.to_string();
        let cnonce = self.leg.ids.tag();
        let response = digest::compute_response(&ResponseInput {
            algorithm: Algorithm::Md5,
            username: &self.leg.user,
            realm,
            password: &self.password,
            method: "REGISTER",
            uri: &uri,
            nonce,
            qop: Some(("00000001", &cnonce, "auth")),
        });
        let mut auth = format!(
            "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"{cnonce}\"",
            self.leg.user
        );
        if let Some(opaque) = param(&p, "opaque") {
            auth.push_str(&format!(", opaque=\"{opaque}\""));
        }
        Ok(auth)
    }

    /// Wait for the SoftACD's INVITE (step 8); we answer 100 at once.
    pub fn expect_invite(&mut self, timeout: Duration) -> Result<Request, UaError> {
        let m = self.leg.wait_for(
            "an INVITE",
            timeout,
            |m| matches!(m, Message::Request(r) if r.method == Method::Invite),
        )?;
        match m {
            Message::Request(r) => {
                self.leg.pending_invite = Some(r.clone());
                Ok(r)
            }
            Message::Response(r) => Err(UaError::Unexpected(format!("response {}", r.code))),
        }
    }

    fn pending(&self) -> Result<Request, UaError> {
        self.leg.pending_invite.clone().ok_or(UaError::NoDialog)
    }

    /// 180 Ringing, with our tag and Contact.
    pub fn ring(&mut self) -> Result<(), UaError> {
        let inv = self.pending()?;
        let resp = self.leg.response(&inv, 180);
        self.leg.respond(&inv, &resp)
    }

    /// 200 OK with our SDP answer to the INVITE's offer (or our offer if it
    /// had none); returns the SDP sent. The dialog starts here.
    pub fn answer(&mut self) -> Result<String, UaError> {
        let inv = self.pending()?;
        let sdp = if inv.body.is_empty() {
            self.leg.media.offer()
        } else {
            self.leg.media.answer(&inv.body)?
        };
        let mut resp = self.leg.response(&inv, 200);
        resp.headers.set("Content-Type", "application/sdp");
        resp.body = sdp.clone().into_bytes();
        let dialog =
            Dialog::uas(&inv, &resp, Peer::udp(self.leg.server)).map_err(UaError::Dialog)?;
        self.leg.dialog = Some(dialog);
        self.leg.pending_invite = None;
        self.leg.respond(&inv, &resp)?;
        Ok(sdp)
    }

    /// Refuse the INVITE with `code` (e.g. 486 Busy Here, 603 Decline).
    pub fn reject(&mut self, code: u16) -> Result<(), UaError> {
        let inv = self.pending()?;
        self.leg.pending_invite = None;
        let resp = self.leg.response(&inv, code);
        self.leg.respond(&inv, &resp)
    }

    /// The ACK for our 2xx (or for our error response).
    pub fn expect_ack(&mut self, timeout: Duration) -> Result<Request, UaError> {
        let ack = self.leg.expect_request(Method::Ack, timeout)?;
        if !ack.body.is_empty() {
            self.leg.media.take_answer(&ack.body)?;
        }
        Ok(ack)
    }

    pub fn bye(&mut self) -> Result<(), UaError> {
        self.leg.bye(RESPONSE_TIMEOUT)
    }

    pub fn expect_request(
        &mut self,
        method: Method,
        timeout: Duration,
    ) -> Result<Request, UaError> {
        self.leg.expect_request(method, timeout)
    }
}

#[cfg(test)]
mod tests {
    //! The two UAs against each other on loopback, no server: proves the
    //! INVITE/180/200/ACK, SDP, RTP both ways, RFC 4733 and BYE plumbing
    //! the call-flow tests rely on.
    use super::*;
    use std::thread;

    const T: Duration = Duration::from_secs(5);

    #[test]
    fn caller_and_agent_talk_directly() {
        let mut caller = Caller::new("127.0.0.1:9".parse().unwrap(), "c").unwrap();
        let mut agent = Agent::unregistered("127.0.0.1:9".parse().unwrap(), "a").unwrap();
        let caller_sip: SocketAddr = ([127, 0, 0, 1], caller.leg.local.port).into();
        let agent_sip: SocketAddr = ([127, 0, 0, 1], agent.leg.local.port).into();
        caller.leg.server = agent_sip;
        agent.leg.server = caller_sip;
        let phone = thread::spawn(move || {
            let inv = agent.expect_invite(T).unwrap();
            assert_eq!(inv.uri.user.as_deref(), Some("100"));
            agent.ring().unwrap();
            agent.answer().unwrap();
            agent.expect_ack(T).unwrap();
            let got = agent
                .leg
                .media
                .recv_rtp_until(T, |s| s.payload_types().contains(&101) && s.count() >= 8);
            agent.expect_request(Method::Bye, T).unwrap();
            got
        });
        let offer = caller.offer();
        let ok = caller.invite("100", Some(offer), T).unwrap();
        assert_eq!(ok.code, 200);
        assert_eq!(caller.provisional_codes(), vec![100, 180]);
        assert_eq!(
            caller.remote_media().map(|a| a.ip().is_loopback()),
            Some(true)
        );
        caller.leg.media.talk(Duration::from_millis(100)).unwrap();
        caller.send_dtmf('0').unwrap();
        caller.bye().unwrap();
        let got = phone.join().unwrap();
        assert!(got.with_fill(CALLER_FILL).count() >= 4, "{got:?}");
        assert!(
            got.payload_types().contains(&101),
            "DTMF as telephone-event"
        );
        assert_eq!(got.ssrcs().len(), 1, "one SSRC for audio and DTMF");
    }

    #[test]
    fn reinvite_moves_the_callers_media() {
        let mut caller = Caller::new("127.0.0.1:9".parse().unwrap(), "c").unwrap();
        let mut agent = Agent::unregistered("127.0.0.1:9".parse().unwrap(), "a").unwrap();
        caller.leg.server = ([127, 0, 0, 1], agent.leg.local.port).into();
        agent.leg.server = ([127, 0, 0, 1], caller.leg.local.port).into();
        let phone = thread::spawn(move || {
            agent.expect_invite(T).unwrap();
            agent.answer().unwrap();
            agent.expect_ack(T).unwrap();
            agent.leg.media = rtp::MediaPort::bind(AGENT_FILL, 7).unwrap();
            let resp = agent.leg.reinvite(T).unwrap();
            assert_eq!(resp.code, 200);
            agent.expect_request(Method::Bye, T).unwrap();
            agent.leg.media.local
        });
        let offer = caller.offer();
        assert_eq!(caller.invite("100", Some(offer), T).unwrap().code, 200);
        let first = caller.remote_media();
        caller.expect_request(Method::Invite, T).unwrap();
        caller.expect_request(Method::Ack, T).unwrap();
        let moved = caller.remote_media();
        caller.bye().unwrap();
        let new_port = phone.join().unwrap();
        assert_ne!(first, moved);
        assert_eq!(moved, Some(new_port));
    }

    #[test]
    fn rejected_invite_is_acked_and_reported() {
        let mut caller = Caller::new("127.0.0.1:9".parse().unwrap(), "c").unwrap();
        let mut agent = Agent::unregistered("127.0.0.1:9".parse().unwrap(), "a").unwrap();
        caller.leg.server = ([127, 0, 0, 1], agent.leg.local.port).into();
        agent.leg.server = ([127, 0, 0, 1], caller.leg.local.port).into();
        let phone = thread::spawn(move || {
            agent.expect_invite(T).unwrap();
            agent.reject(486).unwrap();
            agent.expect_ack(T).unwrap()
        });
        let resp = caller.invite("100", None, T).unwrap();
        assert_eq!(resp.code, 486);
        let ack = phone.join().unwrap();
        assert_eq!(ack.cseq().unwrap().seq, 1);
        assert!(caller.leg.dialog.is_none());
    }
}
