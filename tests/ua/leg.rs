//! One SIP user agent's signalling over UDP on 127.0.0.1 (RFC 3261 §8, §12,
//! §13): a socket that talks only to the server under test, an inbox for
//! messages nobody has asked for yet (bounded), duplicate suppression for
//! the server's retransmitted requests (§17.2: the last response is sent
//! again), and the automatic UAS answers a phone gives inside a call:
//! 200 to BYE, 200 with an SDP answer to a re-INVITE (§14.2), 200 to
//! CANCEL plus 487 to the pending INVITE (§9.2), 200 to OPTIONS.

use std::collections::VecDeque;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use softacd::sip::dialog::{Dialog, DialogState};
use softacd::sip::uac::{with_body, IdGen, LocalAddr};
use softacd::sip::{
    parse_message, response_to, HeaderView, Message, Method, Request, Response, TransportKind,
};

use super::rtp::MediaPort;
use super::UaError;

/// Most unclaimed messages (and recorded requests) a UA keeps.
pub const MAX_INBOX: usize = 256;
/// Most (branch, method) keys remembered for retransmission handling.
const MAX_ANSWERED: usize = 256;

/// A request the server sent us, and whether a test has claimed it.
struct SeenRequest {
    req: Request,
    claimed: bool,
}

/// What one receive step produced.
#[allow(clippy::large_enum_variant)] // one per receive step, never stored
enum Polled {
    /// A response, or a new INVITE: for the caller of `poll` to claim.
    Message(Message),
    /// A request answered automatically (recorded) or a retransmission.
    Handled,
    Timeout,
}

/// The signalling and media of one UA.
pub struct Leg {
    sock: UdpSocket,
    pub server: SocketAddr,
    pub local: LocalAddr,
    pub ids: IdGen,
    pub user: String,
    pub media: MediaPort,
    pub dialog: Option<Dialog>,
    /// The INVITE we received and have not answered finally yet (UAS).
    pub pending_invite: Option<Request>,
    /// Our To tag for the dialog we answer (UAS).
    pub uas_tag: String,
    inbox: VecDeque<Message>,
    seen: VecDeque<SeenRequest>,
    answered: VecDeque<(BranchKey, Option<Vec<u8>>)>,
}

/// A request's transaction key: top Via branch and method.
type BranchKey = (String, String);

fn branch_key(req: &Request) -> Option<BranchKey> {
    let via = req.top_via().ok()?;
    Some((via.branch()?.to_string(), req.method.as_str().to_string()))
}

/// Bounded push: the oldest entry goes when full.
fn push_bounded<T>(q: &mut VecDeque<T>, item: T, max: usize) {
    if q.len() >= max {
        q.pop_front();
    }
    q.push_back(item);
}

impl Leg {
    /// Binds SIP and RTP sockets on 127.0.0.1 for `user`.
    pub fn bind(server: SocketAddr, user: &str, fill: u8) -> Result<Leg, UaError> {
        let sock = UdpSocket::bind("127.0.0.1:0").map_err(|e| UaError::io("bind sip", e))?;
        let port = sock
            .local_addr()
            .map_err(|e| UaError::io("sip local_addr", e))?
            .port();
        let mut seed = [0u8; 8];
        getrandom::fill(&mut seed).map_err(|e| UaError::Random(e.to_string()))?;
        let seed = u64::from_le_bytes(seed);
        let mut ids = IdGen::new(seed);
        let uas_tag = ids.tag();
        Ok(Leg {
            sock,
            server,
            local: LocalAddr {
                transport: TransportKind::Udp,
                host: "127.0.0.1".into(),
                port,
            },
            ids,
            user: user.to_string(),
            media: MediaPort::bind(fill, seed.rotate_left(17))?,
            dialog: None,
            pending_invite: None,
            uas_tag,
            inbox: VecDeque::new(),
            seen: VecDeque::new(),
            answered: VecDeque::new(),
        })
    }

    pub fn send_request(&mut self, req: &Request) -> Result<(), UaError> {
        self.sock
            .send_to(&req.to_bytes(), self.server)
            .map_err(|e| UaError::io("send request", e))?;
        Ok(())
    }

    /// Sends `resp` to `req` and remembers it for the request's retransmissions.
    pub fn respond(&mut self, req: &Request, resp: &Response) -> Result<(), UaError> {
        let bytes = resp.to_bytes();
        self.sock
            .send_to(&bytes, self.reply_addr(req))
            .map_err(|e| UaError::io("send response", e))?;
        if let Some(key) = branch_key(req) {
            self.answered.retain(|(k, _)| k != &key);
            push_bounded(&mut self.answered, (key, Some(bytes)), MAX_ANSWERED);
        }
        Ok(())
    }

    /// Where a response to `req` goes (RFC 3261 §18.2.2, RFC 3581 §4):
    /// the top Via's `received`/`rport`, else its sent-by, else the server.
    fn reply_addr(&self, req: &Request) -> SocketAddr {
        let Ok(via) = req.top_via() else {
            return self.server;
        };
        let host = via.received().unwrap_or(&via.host);
        let port = via
            .rport()
            .flatten()
            .and_then(|p| p.parse::<u16>().ok())
            .or(via.port)
            .unwrap_or(5060);
        match host.parse::<std::net::IpAddr>() {
            Ok(ip) => SocketAddr::new(ip, port),
            Err(_) => self.server,
        }
    }

    /// A response to `req` with our tag (for requests outside a dialog)
    /// and our Contact.
    pub fn response(&self, req: &Request, code: u16) -> Response {
        let mut resp = response_to(req, code, Some(&self.uas_tag));
        let contact = self.local.contact_uri(Some(&self.user));
        resp.headers.push("Contact", format!("<{contact}>"));
        resp
    }

    /// The next message received before `deadline`.
    fn poll(&mut self, deadline: Instant) -> Result<Polled, UaError> {
        let mut buf = vec![0u8; 65_535];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(Polled::Timeout);
            }
            self.sock
                .set_read_timeout(Some(left))
                .map_err(|e| UaError::io("set_read_timeout", e))?;
            let n = match self.sock.recv_from(&mut buf) {
                Ok((n, _)) => n,
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    return Ok(Polled::Timeout)
                }
                Err(e) => return Err(UaError::io("recv sip", e)),
            };
            let Ok(msg) = parse_message(buf.get(..n).unwrap_or_default()) else {
                continue;
            };
            return match msg {
                Message::Response(r) => Ok(Polled::Message(Message::Response(r))),
                Message::Request(req) => Ok(match self.on_request(req)? {
                    Some(req) => Polled::Message(Message::Request(req)),
                    None => Polled::Handled,
                }),
            };
        }
    }

    /// Retransmissions, then the automatic answers; a new INVITE comes back.
    fn on_request(&mut self, req: Request) -> Result<Option<Request>, UaError> {
        if let Some(key) = branch_key(&req) {
            if let Some((_, last)) = self.answered.iter().find(|(k, _)| k == &key) {
                if let Some(bytes) = last.clone() {
                    let _ = self.sock.send_to(&bytes, self.reply_addr(&req));
                }
                return Ok(None);
            }
            if req.method != Method::Ack {
                push_bounded(&mut self.answered, (key, None), MAX_ANSWERED);
            }
        }
        let in_dialog = req.to_hdr().ok().and_then(|t| t.tag().map(str::to_string));
        if req.method == Method::Invite && in_dialog.is_none() {
            let trying = response_to(&req, 100, None);
            self.respond(&req, &trying)?;
            self.pending_invite = Some(req.clone());
            return Ok(Some(req));
        }
        self.auto_answer(&req)?;
        push_bounded(
            &mut self.seen,
            SeenRequest {
                req,
                claimed: false,
            },
            MAX_INBOX,
        );
        Ok(None)
    }

    fn auto_answer(&mut self, req: &Request) -> Result<(), UaError> {
        match req.method {
            Method::Ack => Ok(()),
            Method::Cancel => self.on_cancel(req),
            Method::Invite => self.on_reinvite(req),
            Method::Bye => {
                let code = self.check_in_dialog(req);
                if code == 200 {
                    if let Some(d) = self.dialog.as_mut() {
                        d.state = DialogState::Terminated;
                    }
                }
                let resp = response_to(req, code, None);
                self.respond(req, &resp)
            }
            _ => {
                let resp = response_to(req, 200, None);
                self.respond(req, &resp)
            }
        }
    }

    fn check_in_dialog(&mut self, req: &Request) -> u16 {
        match self.dialog.as_mut() {
            Some(d) => match d.check_incoming(req) {
                Ok(()) => 200,
                Err(e) => e.sip_status(),
            },
            None => 481,
        }
    }

    /// §9.2: 200 to the CANCEL, 487 to the INVITE it names.
    fn on_cancel(&mut self, req: &Request) -> Result<(), UaError> {
        let ok = response_to(req, 200, Some(&self.uas_tag));
        self.respond(req, &ok)?;
        let cancelled = self.pending_invite.take().filter(|inv| {
            inv.call_id() == req.call_id()
                && inv
                    .top_via()
                    .ok()
                    .and_then(|v| v.branch().map(str::to_string))
                    == req
                        .top_via()
                        .ok()
                        .and_then(|v| v.branch().map(str::to_string))
        });
        if let Some(inv) = cancelled {
            let resp = response_to(&inv, 487, Some(&self.uas_tag));
            self.respond(&inv, &resp)?;
        }
        Ok(())
    }

    /// §14.2: answer a re-INVITE's offer and aim our media at it.
    fn on_reinvite(&mut self, req: &Request) -> Result<(), UaError> {
        let code = self.check_in_dialog(req);
        if code != 200 {
            let resp = response_to(req, code, None);
            return self.respond(req, &resp);
        }
        let mut resp = self.response(req, 200);
        let body = if req.body.is_empty() {
            self.media.offer()
        } else {
            match self.media.answer(&req.body) {
                Ok(b) => b,
                Err(_) => {
                    let resp = response_to(req, 488, None);
                    return self.respond(req, &resp);
                }
            }
        };
        resp.headers.set("Content-Type", "application/sdp");
        resp.body = body.into_bytes();
        self.respond(req, &resp)
    }

    /// The first message (inbox first) for which `pred` holds.
    pub fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut pred: impl FnMut(&Message) -> bool,
    ) -> Result<Message, UaError> {
        if let Some(i) = self.inbox.iter().position(&mut pred) {
            if let Some(m) = self.inbox.remove(i) {
                return Ok(m);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            match self.poll(deadline)? {
                Polled::Message(m) if pred(&m) => return Ok(m),
                Polled::Message(m) => push_bounded(&mut self.inbox, m, MAX_INBOX),
                Polled::Handled => {}
                Polled::Timeout => return Err(UaError::Timeout(what.to_string(), timeout)),
            }
        }
    }

    /// The next unclaimed request of `method` the server sent (already
    /// answered automatically), waiting up to `timeout`.
    pub fn expect_request(
        &mut self,
        method: Method,
        timeout: Duration,
    ) -> Result<Request, UaError> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(s) = self
                .seen
                .iter_mut()
                .find(|s| !s.claimed && s.req.method == method)
            {
                s.claimed = true;
                return Ok(s.req.clone());
            }
            match self.poll(deadline)? {
                Polled::Message(m) => push_bounded(&mut self.inbox, m, MAX_INBOX),
                Polled::Handled => {}
                Polled::Timeout => {
                    return Err(UaError::Timeout(format!("a {method} request"), timeout))
                }
            }
        }
    }

    /// Handle whatever arrives for `duration` (answers in-dialog requests).
    pub fn idle(&mut self, duration: Duration) -> Result<(), UaError> {
        let deadline = Instant::now() + duration;
        loop {
            match self.poll(deadline)? {
                Polled::Message(m) => push_bounded(&mut self.inbox, m, MAX_INBOX),
                Polled::Handled => {}
                Polled::Timeout => return Ok(()),
            }
        }
    }

    /// Methods of every request the server sent us so far, in order.
    pub fn seen_methods(&self) -> Vec<Method> {
        self.seen.iter().map(|s| s.req.method.clone()).collect()
    }

    /// A response to our request `req`: same top Via branch and CSeq
    /// (the client transaction match of RFC 3261 §17.1.3).
    pub fn wait_response(
        &mut self,
        req: &Request,
        final_only: bool,
        timeout: Duration,
    ) -> Result<Response, UaError> {
        let branch = req
            .top_via()
            .ok()
            .and_then(|v| v.branch().map(str::to_string));
        let cseq = req.cseq().map_err(|e| UaError::Unexpected(e.to_string()))?;
        let what = format!("a response to {} (CSeq {})", cseq.method, cseq.seq);
        let m = self.wait_for(&what, timeout, |m| match m {
            Message::Response(r) => {
                let same_branch = r
                    .top_via()
                    .ok()
                    .is_some_and(|v| v.branch().map(str::to_string) == branch);
                same_branch && r.cseq().is_ok_and(|c| c == cseq) && (!final_only || r.is_final())
            }
            Message::Request(_) => false,
        })?;
        match m {
            Message::Response(r) => Ok(r),
            Message::Request(r) => Err(UaError::Unexpected(format!("request {}", r.method))),
        }
    }

    /// Send a request inside our dialog and wait for its final response.
    pub fn in_dialog(&mut self, method: Method, timeout: Duration) -> Result<Response, UaError> {
        let dialog = self.dialog.as_mut().ok_or(UaError::NoDialog)?;
        let req = dialog.request(method.clone(), &self.local, &mut self.ids);
        self.send_request(&req)?;
        let resp = self.wait_response(&req, true, timeout)?;
        if method == Method::Bye {
            if let Some(d) = self.dialog.as_mut() {
                d.state = DialogState::Terminated;
            }
        }
        Ok(resp)
    }

    /// Re-INVITE the peer with a fresh offer for our media (RFC 3261
    /// §14.1), take its answer and ACK the 2xx; returns the final response.
    pub fn reinvite(&mut self, timeout: Duration) -> Result<Response, UaError> {
        let offer = self.media.offer();
        let dialog = self.dialog.as_mut().ok_or(UaError::NoDialog)?;
        let req = dialog.request(Method::Invite, &self.local, &mut self.ids);
        let cseq = dialog.local_cseq;
        let req = Leg::with_sdp(req, offer);
        self.send_request(&req)?;
        let resp = self.wait_response(&req, true, timeout)?;
        if resp.is_success() {
            self.media.take_answer(&resp.body)?;
            let dialog = self.dialog.as_ref().ok_or(UaError::NoDialog)?;
            let ack = dialog.ack_for_2xx(cseq, &self.local, &mut self.ids, None);
            self.send_request(&ack)?;
        }
        Ok(resp)
    }

    /// Hang up: BYE in our dialog, expecting 200.
    pub fn bye(&mut self, timeout: Duration) -> Result<(), UaError> {
        let resp = self.in_dialog(Method::Bye, timeout)?;
        if resp.code != 200 {
            return Err(UaError::Status("BYE", resp.code));
        }
        Ok(())
    }

    /// Attach an SDP body.
    pub fn with_sdp(req: Request, sdp: String) -> Request {
        with_body(req, "application/sdp", sdp.into_bytes())
    }
}
