//! The SIP side of the B2BUA (MISSION.md steps 1–10): the engine is the UAS
//! toward callers and the UAC toward the IVR/MS and agents' phones. This file
//! turns SIP transactions and dialogs (RFC 3261 §12–§15) into
//! [`CallInput`]s for each contact's [`Call`], and performs the
//! [`CallAction`]s the call emits: responses to the caller, INVITE / ACK /
//! CANCEL / BYE / re-INVITE on the legs, relay re-pointing, CTI inputs,
//! interface-B messages to the IVR, CSTA events and the CDR.

pub mod callback;
mod desk;
mod info;
mod liveness;
pub mod transfer;

use super::engine::{Action, Engine, IvrToCti};
use crate::b2bua::{
    Call, CallAction, CallInput, CallSetup, CdrUpdate, CtiToIvr, LegId, LegKind, MediaMode,
};
use crate::cdr::Cdr;
use crate::cti::{self, ContactId, Output as CtiOutput};
use crate::sip::dialog::{Dialog, DialogId};
use crate::sip::transaction::TxKey;
use crate::sip::uac::{cancel_for, new_request, with_body, LocalAddr};
use crate::sip::{
    parse::parse_uri, response_to, HeaderView, Method, NameAddr, Peer, Request, Response,
    TransportKind, Uri,
};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

/// CDR `end_cause` of a call the IVR transferred out (its `agent` column
/// holds the target URI), whichever side hung up.
pub const TRANSFERRED: &str = "transferred";

/// How long a finished call's CDR waits for the IVR's digit report.
const CDR_GRACE: Duration = Duration::from_secs(2);

/// What a client transaction of ours is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Purpose {
    Invite,
    ReInvite,
    Other,
}

/// The caller's side: we are its UAS.
pub(super) struct CallerLeg {
    invite_key: TxKey,
    invite: Request,
    peer: Peer,
    to_tag: String,
    dialog: Option<Dialog>,
    /// Our 2xx, retransmitted until the ACK (RFC 3261 §13.3.1.4).
    pending_2xx: Option<Retransmit>,
    /// The SDP we last sent the caller (answered again on a caller re-INVITE).
    local_sdp: Option<Vec<u8>>,
    reinvite: Option<(TxKey, u32)>,
    /// Our final response to the INVITE has been sent.
    answered: bool,
}

struct Retransmit {
    resp: Response,
    next: Instant,
    interval: Duration,
    give_up: Instant,
}

/// A leg toward the IVR or an agent: we are its UAC.
pub(super) struct UacLeg {
    invite: Request,
    peer: Peer,
    local: LocalAddr,
    dialog: Option<Dialog>,
    provisional_seen: bool,
    cancel_pending: bool,
}

pub(super) struct CallCtx {
    call: Call,
    caller: CallerLeg,
    legs: HashMap<LegId, UacLeg>,
    cdr: Cdr,
    ivr_invited: bool,
    ivr_reported: bool,
    /// When the CTI's DivertCall made us ring an agent (for the metric).
    diverted_at: Option<Instant>,
    /// The ring deadline of the IVR's transfer, as kept in `transfer_timers`.
    transfer_timer: Option<Instant>,
    /// The caller was bridged to a transfer target (CDR `end_cause`).
    transferred: bool,
    /// This call's entries in the lookup maps, removed exactly when it ends.
    tx_keys: Vec<TxKey>,
    dialog_ids: Vec<DialogId>,
}

/// CDRs of finished calls waiting for the IVR's report (digits, version).
pub(super) struct PendingCdr {
    cdr: Cdr,
    deadline: Instant,
}

/// The engine's call tables.
#[derive(Default)]
pub(super) struct Calls {
    pub(super) calls: HashMap<ContactId, CallCtx>,
    pub(super) by_client_tx: HashMap<TxKey, (ContactId, LegId, Purpose)>,
    pub(super) by_dialog: HashMap<DialogId, (ContactId, LegId)>,
    pub(super) by_server_invite: HashMap<TxKey, ContactId>,
    pub(super) pending_cdrs: HashMap<ContactId, PendingCdr>,
    /// Calls whose 2xx to the caller awaits its ACK: the only ones the
    /// retransmission timer needs to look at.
    pub(super) awaiting_ack: BTreeSet<ContactId>,
    pub(super) next_contact: u64,
    /// Caller INFOs sent on to the IVR or agent leg, by our client key.
    pub(super) info_forwards: HashMap<TxKey, info::InfoForward>,
    /// Ring deadlines of IVR transfers, one per call at most.
    pub(super) transfer_timers: BTreeSet<(Instant, ContactId)>,
    /// CDRs of callbacks waiting for their turn (no call yet); bounded by
    /// the CTI's `max_callbacks`.
    pub(super) callbacks: HashMap<ContactId, Cdr>,
    /// Leg liveness probes (`[sip] leg_probe_s`), one deadline per call.
    pub(super) probes: liveness::Probes,
}

fn sdp_of(body: &[u8]) -> Option<Vec<u8>> {
    (!body.is_empty()).then(|| body.to_vec())
}

/// Most agents listed in a CDR's `agents` column (later ones are dropped).
const MAX_CDR_AGENTS: usize = 16;

/// The CDR's `agents` list with `agent` appended.
fn handled_by(agents: Option<String>, agent: &str) -> String {
    match agents {
        Some(list) if list.split(',').count() >= MAX_CDR_AGENTS => list,
        Some(list) if !list.is_empty() => format!("{list},{agent}"),
        _ => agent.to_owned(),
    }
}

fn cause_text(cause: cti::ClearCause) -> String {
    serde_json::to_value(cause)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_else(|| format!("{cause:?}"))
}

impl Engine {
    // ----- caller side: a new INVITE -------------------------------------

    pub(super) fn on_new_invite(
        &mut self,
        now: Instant,
        wall_ms: u64,
        key: TxKey,
        req: Request,
        peer: Peer,
    ) {
        if self.calls.calls.len() >= self.cfg.max_calls {
            let mut r = self.reply(&req, 503);
            r.headers.push("Retry-After", "5");
            self.respond(now, &key, r);
            return;
        }
        // A trunk's sources are IP-authenticated (the carrier); any other
        // call from outside 127.0.0.0/8 must authenticate as a seat.
        let trunk = self.cfg.trunks.trunk_of(peer.addr.ip()).map(str::to_owned);
        if trunk.is_none() && !peer.addr.ip().is_loopback() {
            match self.registrar.check_auth(now, &req) {
                crate::registrar::AuthResult::Authenticated { .. } => {}
                crate::registrar::AuthResult::Challenge { headers, .. } => {
                    let mut r = self.reply(&req, 407);
                    for h in headers {
                        r.headers.push("Proxy-Authenticate", h);
                    }
                    self.respond(now, &key, r);
                    return;
                }
                crate::registrar::AuthResult::Forbidden { claimed_user } => {
                    tracing::warn!(user = %claimed_user, %peer, "INVITE authentication failed");
                    let r = self.reply(&req, 403);
                    self.respond(now, &key, r);
                    return;
                }
                crate::registrar::AuthResult::BadRequest { why } => {
                    let mut r = self.reply(&req, 400);
                    r.reason = format!("Bad Request ({why})");
                    self.respond(now, &key, r);
                    return;
                }
            }
        }
        self.calls.next_contact += 1;
        let contact = ContactId(self.calls.next_contact);
        let to_tag = self.new_tag();
        let trying = response_to(&req, 100, None);
        self.respond(now, &key, trying);

        let mode = self.cfg.media_mode;
        let relay = match mode {
            MediaMode::Relay => match self.media.open_relay(contact) {
                Ok(r) => Some(r),
                Err(e) => {
                    tracing::error!(%contact, error = %e, "no relay ports");
                    let mut r = response_to(&req, 503, Some(&to_tag));
                    r.headers.push("Retry-After", "5");
                    self.respond(now, &key, r);
                    return;
                }
            },
            MediaMode::Direct => None,
        };
        let caller_uri = req
            .from_hdr()
            .map(|f| f.uri.to_string())
            .unwrap_or_default();
        let dnis = req.uri.user.clone().unwrap_or_default();
        let setup = CallSetup {
            contact,
            caller: caller_uri.clone(),
            dnis: dnis.clone(),
            sdp: sdp_of(&req.body),
            mode,
            relay,
            trunk: trunk.clone(),
        };
        let (call, actions) = Call::new(now, setup);
        let cdr = Cdr {
            contact_id: contact.0,
            caller: caller_uri,
            dnis,
            media: "audio".into(),
            arrival_ms: wall_ms,
            ivr_answer_ms: None,
            queued_ms: None,
            agent_answer_ms: None,
            end_ms: wall_ms,
            agent: None,
            queue: None,
            end_cause: String::new(),
            digits: String::new(),
            ivr_script: None,
            ivr_script_version: None,
            recording: self.media.recording_path(contact),
            voicemail: None,
            trunk,
            callback: None,
            agents: None,
        };
        self.calls.by_server_invite.insert(key.clone(), contact);
        self.calls.calls.insert(
            contact,
            CallCtx {
                call,
                caller: CallerLeg {
                    invite_key: key,
                    invite: req,
                    peer,
                    to_tag,
                    dialog: None,
                    pending_2xx: None,
                    local_sdp: None,
                    reinvite: None,
                    answered: false,
                },
                legs: HashMap::new(),
                cdr,
                ivr_invited: false,
                ivr_reported: false,
                diverted_at: None,
                transfer_timer: None,
                transferred: false,
                tx_keys: Vec::new(),
                dialog_ids: Vec::new(),
            },
        );
        let trunk = self
            .calls
            .calls
            .get(&contact)
            .and_then(|c| c.cdr.trunk.as_deref());
        tracing::info!(%contact, trunk, "call offered");
        self.run_call(now, wall_ms, contact, actions);
    }

    // ----- requests inside a dialog --------------------------------------

    /// ACK for a 2xx (no transaction): the caller confirming our answer.
    pub(super) fn on_ack(&mut self, now: Instant, wall_ms: u64, req: Request) {
        let Some(id) = Dialog::id_of_incoming(&req) else {
            return;
        };
        let Some(&(contact, leg)) = self.calls.by_dialog.get(&id) else {
            return;
        };
        if leg != LegId::CALLER {
            return;
        }
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        if ctx.caller.pending_2xx.take().is_none() {
            return; // a retransmitted ACK
        }
        self.calls.awaiting_ack.remove(&contact);
        self.feed(
            now,
            wall_ms,
            contact,
            CallInput::CallerAck {
                sdp: sdp_of(&req.body),
            },
        );
    }

    /// BYE, re-INVITE, INFO… inside one of our dialogs. Returns false when
    /// the request belongs to no dialog of ours (the caller answers 481).
    pub(super) fn on_in_dialog(
        &mut self,
        now: Instant,
        wall_ms: u64,
        key: &TxKey,
        req: &Request,
    ) -> bool {
        let Some(id) = Dialog::id_of_incoming(req) else {
            return false;
        };
        let Some(&(contact, leg)) = self.calls.by_dialog.get(&id) else {
            return false;
        };
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return false;
        };
        let dialog = if leg == LegId::CALLER {
            ctx.caller.dialog.as_mut()
        } else {
            ctx.legs.get_mut(&leg).and_then(|l| l.dialog.as_mut())
        };
        let Some(dialog) = dialog else { return false };
        if let Err(e) = dialog.check_incoming(req) {
            let r = self.reply(req, e.sip_status());
            self.respond(now, key, r);
            return true;
        }
        match req.method {
            Method::Bye => {
                let ok = self.reply(req, 200);
                self.respond(now, key, ok);
                self.calls.by_dialog.remove(&id);
                let input = match leg.kind {
                    LegKind::Caller => CallInput::CallerBye,
                    LegKind::Ivr => CallInput::IvrHungUp,
                    LegKind::Agent | LegKind::External | LegKind::Hold => CallInput::Bye { leg },
                };
                self.feed(now, wall_ms, contact, input);
            }
            Method::Invite => {
                // A session refresh or hold from the peer: answer with the
                // SDP we already gave it (codec changes come later).
                let sdp = if leg == LegId::CALLER {
                    ctx.caller.local_sdp.clone()
                } else {
                    None
                };
                let mut r = self.reply(req, if sdp.is_some() { 200 } else { 488 });
                r.headers
                    .push("Contact", self.contact_for(&req_transport(req)).to_string());
                if let Some(sdp) = sdp {
                    r.headers.push("Content-Type", "application/sdp");
                    r.body = sdp;
                }
                self.respond(now, key, r);
            }
            Method::Info if leg == LegId::CALLER => {
                self.forward_caller_info(now, contact, key, req);
            }
            _ => {
                let r = self.reply(req, 200);
                self.respond(now, key, r);
            }
        }
        true
    }

    /// CANCEL for a caller's pending INVITE (RFC 3261 §9.2).
    pub(super) fn on_cancel(
        &mut self,
        now: Instant,
        wall_ms: u64,
        key: &TxKey,
        req: &Request,
        cancels: Option<TxKey>,
    ) {
        let found = cancels
            .as_ref()
            .and_then(|k| self.calls.by_server_invite.get(k).copied())
            .and_then(|c| {
                self.calls
                    .calls
                    .get(&c)
                    .map(|ctx| (c, ctx.caller.to_tag.clone(), ctx.caller.answered))
            });
        let Some((contact, to_tag, answered)) = found else {
            // RFC 3261 §9.2: 200 when an INVITE transaction matched (its call
            // already ended), 481 when none did.
            let code = if cancels.is_some() { 200 } else { 481 };
            let r = self.reply(req, code);
            self.respond(now, key, r);
            return;
        };
        // The CANCEL matched: 200, with the To-tag of our answer to the INVITE.
        let mut ok = response_to(req, 200, Some(&to_tag));
        ok.headers.push("Server", self.cfg.user_agent.clone());
        self.respond(now, key, ok);
        if !answered {
            self.feed(now, wall_ms, contact, CallInput::CallerCancel);
        } else {
            tracing::debug!(%contact, "CANCEL after our final response: no effect (§9.2)");
        }
    }

    // ----- responses to our client transactions --------------------------

    pub(super) fn on_response(&mut self, now: Instant, wall_ms: u64, key: &TxKey, resp: Response) {
        if self.on_info_forward_response(now, key, &resp)
            || self.on_probe_response(now, wall_ms, key, &resp)
        {
            return;
        }
        let Some(&(contact, leg, purpose)) = self.calls.by_client_tx.get(key) else {
            return;
        };
        if resp.is_final() {
            self.calls.by_client_tx.remove(key);
        }
        let sdp = sdp_of(&resp.body);
        match purpose {
            Purpose::Other => {}
            Purpose::ReInvite => {
                if resp.is_success() {
                    if let Some(ctx) = self.calls.calls.get_mut(&contact) {
                        if let Some(d) = ctx.caller.dialog.as_mut() {
                            d.confirm(&resp);
                        }
                    }
                    self.media_flowing(now, contact);
                    self.feed(
                        now,
                        wall_ms,
                        contact,
                        CallInput::ReInviteAnswered { leg, sdp },
                    );
                } else if resp.is_final() {
                    self.feed(
                        now,
                        wall_ms,
                        contact,
                        CallInput::ReInviteFailed {
                            leg,
                            code: resp.code,
                        },
                    );
                }
            }
            Purpose::Invite => self.on_leg_invite_response(now, wall_ms, contact, leg, resp, sdp),
        }
    }

    fn on_leg_invite_response(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        leg: LegId,
        resp: Response,
        sdp: Option<Vec<u8>>,
    ) {
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let Some(uac) = ctx.legs.get_mut(&leg) else {
            return;
        };
        if resp.is_provisional() {
            if resp.code == 100 {
                return;
            }
            uac.provisional_seen = true;
            if uac.cancel_pending {
                uac.cancel_pending = false;
                let cancel = cancel_for(&uac.invite);
                let peer = uac.peer;
                self.send_leg_request(now, contact, leg, cancel, peer, Purpose::Other);
            }
            self.feed(
                now,
                wall_ms,
                contact,
                CallInput::Provisional {
                    leg,
                    code: resp.code,
                    sdp,
                },
            );
        } else if resp.is_success() {
            match Dialog::uac(&uac.invite, &resp, uac.peer) {
                Ok(d) => {
                    if let Some(a) = super::journal::leg_up(contact, leg, &d) {
                        self.actions.push_back(a);
                    }
                    self.calls.by_dialog.insert(d.id.clone(), (contact, leg));
                    ctx.dialog_ids.push(d.id.clone());
                    uac.dialog = Some(d);
                }
                Err(e) => tracing::warn!(%contact, ?leg, error = %e, "2xx without a usable dialog"),
            }
            uac.cancel_pending = false;
            if leg.kind == LegKind::Agent && self.cfg.media_mode == MediaMode::Relay {
                self.media_flowing(now, contact);
            }
            self.feed(now, wall_ms, contact, CallInput::Answered { leg, sdp });
        } else {
            ctx.legs.remove(&leg);
            self.feed(
                now,
                wall_ms,
                contact,
                CallInput::Failed {
                    leg,
                    code: resp.code,
                },
            );
        }
    }

    /// The agent's media can flow now: record the DivertCall → media time once.
    fn media_flowing(&mut self, now: Instant, contact: ContactId) {
        if let Some(at) = self
            .calls
            .calls
            .get_mut(&contact)
            .and_then(|c| c.diverted_at.take())
        {
            crate::telemetry::observe_divert_to_media(now.duration_since(at).as_secs_f64());
        }
    }

    /// A 2xx retransmission (or a fork) after the first: ACK it again.
    pub(super) fn on_stray_response(&mut self, resp: Response, peer: Peer) {
        if !resp.is_success() {
            return;
        }
        let Ok(cseq) = resp.cseq() else { return };
        if cseq.method != Method::Invite {
            return;
        }
        let Some(id) = Dialog::id_of_response(&resp) else {
            return;
        };
        let Some(&(contact, leg)) = self.calls.by_dialog.get(&id) else {
            return;
        };
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let Some(uac) = ctx.legs.get(&leg) else {
            return;
        };
        if let Some(d) = &uac.dialog {
            let ack = d.ack_for_2xx(cseq.seq, &uac.local, &mut self.ids, None);
            self.txn
                .send_stateless(crate::sip::Message::Request(ack), peer);
        }
    }

    /// Timer B/F or a transport failure on one of our transactions.
    pub(super) fn on_client_failure(&mut self, now: Instant, wall_ms: u64, key: &TxKey, code: u16) {
        if self.on_info_forward_failure(now, key, code)
            || self.on_probe_failure(now, wall_ms, key, code)
        {
            return;
        }
        let Some((contact, leg, purpose)) = self.calls.by_client_tx.remove(key) else {
            return;
        };
        match purpose {
            Purpose::Invite => {
                if let Some(ctx) = self.calls.calls.get_mut(&contact) {
                    ctx.legs.remove(&leg);
                }
                self.feed(now, wall_ms, contact, CallInput::Failed { leg, code });
            }
            Purpose::ReInvite => self.feed(
                now,
                wall_ms,
                contact,
                CallInput::ReInviteFailed { leg, code },
            ),
            Purpose::Other => {}
        }
    }

    // ----- the IVR's interface B and the CTI -----------------------------

    pub(super) fn on_ivr_message(&mut self, now: Instant, wall_ms: u64, msg: IvrToCti) {
        match msg {
            IvrToCti::RequestAgent {
                contact,
                queue,
                skills,
                priority,
            } => self.feed(
                now,
                wall_ms,
                contact,
                CallInput::IvrRequestsAgent {
                    queue,
                    skills,
                    priority,
                },
            ),
            IvrToCti::QueryPosition { contact } => {
                let wait = self.cti.wait_estimate(contact);
                let place = wait.map_or(0, |w| w.position);
                let position = u32::try_from(place).unwrap_or(u32::MAX);
                let ewt_s = wait
                    .and_then(|w| w.ewt)
                    .map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
                let answer = CtiToIvr::QueuePosition {
                    contact,
                    position,
                    ewt_s,
                };
                self.actions.push_back(Action::ToIvr(answer));
            }
            IvrToCti::LeaveQueue { contact } => {
                self.feed(now, wall_ms, contact, CallInput::IvrLeavesQueue)
            }
            IvrToCti::RequestCallback { contact, number } => {
                self.on_request_callback(now, wall_ms, contact, number)
            }
            IvrToCti::TransferExternal {
                contact,
                uri,
                timeout_s,
            } => {
                let ring = Duration::from_secs(u64::from(timeout_s));
                self.feed(now, wall_ms, contact, CallInput::IvrTransfers { uri, ring })
            }
            IvrToCti::Report {
                contact,
                script,
                version,
                digits,
                voicemail,
            } => {
                let c = contact;
                if let Some(ctx) = self.calls.calls.get_mut(&c) {
                    if ctx.ivr_reported {
                        // A later flow (the transfer hold) keeps the first
                        // flow's script, digits and voicemail in the CDR.
                        return;
                    }
                    ctx.cdr.voicemail = voicemail;
                    ctx.cdr.digits = digits;
                    ctx.cdr.ivr_script = Some(script);
                    ctx.cdr.ivr_script_version = Some(version);
                    ctx.ivr_reported = true;
                } else if let Some(mut p) = self.calls.pending_cdrs.remove(&c) {
                    p.cdr.voicemail = voicemail;
                    p.cdr.digits = digits;
                    p.cdr.ivr_script = Some(script);
                    p.cdr.ivr_script_version = Some(version);
                    self.actions.push_back(Action::WriteCdr(p.cdr));
                }
            }
        }
    }

    /// Feed CTI inputs (from a call or the desk) and route what comes out.
    pub(super) fn cti_input(&mut self, now: Instant, wall_ms: u64, input: cti::Input) {
        let request = match &input {
            cti::Input::RequestAgent { contact, queue, .. } => Some((*contact, queue.clone())),
            _ => None,
        };
        let journaled = input.clone();
        let outputs = self.cti.handle(now, input);
        let refused = outputs
            .iter()
            .any(|o| matches!(o, CtiOutput::Refused { .. }));
        self.journal_input(wall_ms, &journaled, refused);
        if let Some((contact, queue)) = request {
            if outputs
                .iter()
                .any(|o| matches!(o, CtiOutput::Refused { .. }))
            {
                // The call must still end: treat a refused request as "no agents".
                self.route_cti_outputs(now, wall_ms, vec![CtiOutput::NoAgents { contact, queue }]);
            }
        }
        self.route_cti_outputs(now, wall_ms, outputs);
    }

    pub(super) fn route_cti_outputs(
        &mut self,
        now: Instant,
        wall_ms: u64,
        outputs: Vec<CtiOutput>,
    ) {
        for out in outputs {
            self.journal_output(wall_ms, &out);
            if let Some(ev) = out.csta() {
                self.actions.push_back(Action::Csta(ev));
            }
            match &out {
                CtiOutput::AgentStateChanged { .. } => {
                    self.actions.push_back(Action::AgentState(out));
                    continue;
                }
                CtiOutput::Refused { error } => {
                    tracing::info!(error = %error, "CTI refused an input");
                    continue;
                }
                _ => {}
            }
            if let Some(contact) = out.contact() {
                if self.callback_output(now, wall_ms, contact, &out) {
                    continue;
                }
                self.feed(now, wall_ms, contact, CallInput::Cti(out));
            }
        }
    }

    // ----- running a call ------------------------------------------------

    /// Hand one input to a call and perform what it asks.
    pub(super) fn feed(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        input: CallInput,
    ) {
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let actions = ctx.call.handle(now, input);
        self.run_call(now, wall_ms, contact, actions);
    }

    fn run_call(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        actions: Vec<CallAction>,
    ) {
        let mut queue: VecDeque<CallAction> = actions.into();
        while let Some(a) = queue.pop_front() {
            self.perform(now, wall_ms, contact, a);
        }
        self.arm_transfer_timer(contact);
        self.reap(now, contact);
        self.arm_probe(now, contact);
    }

    fn perform(&mut self, now: Instant, wall_ms: u64, contact: ContactId, action: CallAction) {
        match action {
            CallAction::CallerProvisional { code, sdp } => {
                self.caller_response(now, contact, code, sdp, None)
            }
            CallAction::CallerAnswer { sdp } => {
                self.caller_response(now, contact, 200, Some(sdp), None)
            }
            CallAction::CallerReject { code, reason } => {
                self.caller_response(now, contact, code, None, Some(reason))
            }
            CallAction::CallerBye => self.caller_in_dialog(now, contact, Method::Bye, None),
            CallAction::CallerReInvite { sdp } => {
                self.caller_in_dialog(now, contact, Method::Invite, Some(sdp))
            }
            CallAction::CallerAck => self.caller_ack(contact),
            CallAction::InviteIvr { leg, script, sdp } => {
                self.invite_ivr(now, contact, leg, &script, sdp)
            }
            CallAction::InviteAgent {
                leg,
                agent,
                device,
                sdp,
            } => {
                if let Some(ctx) = self.calls.calls.get_mut(&contact) {
                    ctx.cdr.agent = Some(agent.0.clone());
                    ctx.diverted_at.get_or_insert(now);
                }
                self.invite_agent(now, wall_ms, contact, leg, &device, sdp)
            }
            CallAction::InviteExternal { leg, uri, sdp } => {
                self.invite_external(now, wall_ms, contact, leg, &uri, sdp)
            }
            CallAction::Ack { leg, sdp } => self.leg_ack(contact, leg, sdp),
            CallAction::Cancel { leg } => self.leg_cancel(now, contact, leg),
            CallAction::Bye { leg } => self.leg_bye(now, contact, leg),
            CallAction::RelayPoint { side_a, side_b } => {
                self.media.point_relay(contact, side_a, side_b)
            }
            CallAction::Cti(input) => self.cti_input(now, wall_ms, input),
            CallAction::Ivr(msg) => self.actions.push_back(Action::ToIvr(msg)),
            CallAction::Event(ev) => self.actions.push_back(Action::Csta(ev)),
            CallAction::Cdr(update) => self.cdr_update(wall_ms, contact, update),
        }
    }

    /// Remove a finished call once no leg is left up.
    fn reap(&mut self, now: Instant, contact: ContactId) {
        let done = self
            .calls
            .calls
            .get(&contact)
            .is_some_and(|c| c.call.is_done() && c.call.legs_up().is_empty());
        if !done {
            return;
        }
        let Some(ctx) = self.calls.calls.remove(&contact) else {
            return;
        };
        for id in &ctx.dialog_ids {
            self.calls.by_dialog.remove(id);
        }
        for key in &ctx.tx_keys {
            self.calls.by_client_tx.remove(key);
        }
        self.calls.by_server_invite.remove(&ctx.caller.invite_key);
        self.calls.awaiting_ack.remove(&contact);
        self.disarm_transfer_timer(contact, ctx.transfer_timer);
        self.media.close_relay(contact);
        self.journal_legs_down(contact);
        if ctx.ivr_invited && !ctx.ivr_reported {
            self.calls.pending_cdrs.insert(
                contact,
                PendingCdr {
                    cdr: ctx.cdr,
                    deadline: now + CDR_GRACE,
                },
            );
        } else {
            self.actions.push_back(Action::WriteCdr(ctx.cdr));
        }
        tracing::info!(%contact, "call finished");
    }

    fn cdr_update(&mut self, wall_ms: u64, contact: ContactId, update: CdrUpdate) {
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let cdr = &mut ctx.cdr;
        match update {
            CdrUpdate::Arrived {
                caller,
                dnis,
                media,
            } => {
                cdr.caller = caller;
                cdr.dnis = dnis;
                cdr.media = serde_json::to_value(media)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_string))
                    .unwrap_or_else(|| "audio".into());
            }
            CdrUpdate::IvrAnswered { script } => {
                cdr.ivr_answer_ms = Some(wall_ms);
                cdr.ivr_script.get_or_insert(script);
            }
            CdrUpdate::Queued { queue } => {
                cdr.queued_ms = Some(wall_ms);
                cdr.queue = Some(queue);
            }
            CdrUpdate::AgentAnswered { agent } => {
                cdr.agent_answer_ms = Some(wall_ms);
                cdr.agents = Some(handled_by(cdr.agents.take(), &agent.0));
                cdr.agent = Some(agent.0);
            }
            CdrUpdate::Transferred { uri } => {
                cdr.agent_answer_ms = Some(wall_ms);
                cdr.agent = Some(uri);
                ctx.transferred = true;
            }
            CdrUpdate::Ended { cause } => {
                cdr.end_ms = wall_ms;
                cdr.end_cause = if ctx.transferred {
                    TRANSFERRED.to_owned()
                } else {
                    cause_text(cause)
                };
            }
        }
    }

    /// Shutdown: every live call ends with cause `server_shutdown` (BYE or
    /// 503 to the caller, BYE/CANCEL on the other legs).
    pub(super) fn shutdown_calls(&mut self, now: Instant, wall_ms: u64) {
        let live: Vec<ContactId> = self.calls.calls.keys().copied().collect();
        for contact in live {
            self.feed(now, wall_ms, contact, CallInput::ServerShutdown);
        }
        self.end_waiting_callbacks(wall_ms);
    }

    /// Shutdown, last step: the records of calls still waiting for a BYE
    /// answer or for the IVR's report are written now, relays closed.
    pub(super) fn write_remaining_cdrs(&mut self) {
        let pending: Vec<ContactId> = self.calls.pending_cdrs.keys().copied().collect();
        for c in pending {
            if let Some(p) = self.calls.pending_cdrs.remove(&c) {
                self.actions.push_back(Action::WriteCdr(p.cdr));
            }
        }
        let live: Vec<ContactId> = self.calls.calls.keys().copied().collect();
        for c in live {
            if let Some(ctx) = self.calls.calls.remove(&c) {
                self.media.close_relay(c);
                self.journal_legs_down(c);
                self.actions.push_back(Action::WriteCdr(ctx.cdr));
            }
        }
    }

    /// Write CDRs whose IVR report did not come in time.
    pub(super) fn flush_pending_cdrs(&mut self, now: Instant) {
        let due: Vec<ContactId> = self
            .calls
            .pending_cdrs
            .iter()
            .filter(|(_, p)| p.deadline <= now)
            .map(|(c, _)| *c)
            .collect();
        for c in due {
            if let Some(p) = self.calls.pending_cdrs.remove(&c) {
                self.actions.push_back(Action::WriteCdr(p.cdr));
            }
        }
    }

    /// Retransmit unacknowledged 2xx to callers; give up after 64*T1 (BYE).
    pub(super) fn retransmit_2xx(&mut self, now: Instant, wall_ms: u64) {
        let t2 = self.cfg.timers.t2;
        let mut give_up = Vec::new();
        for contact in &self.calls.awaiting_ack {
            let Some(ctx) = self.calls.calls.get_mut(contact) else {
                continue;
            };
            let Some(rt) = ctx.caller.pending_2xx.as_mut() else {
                continue;
            };
            if now >= rt.give_up {
                ctx.caller.pending_2xx = None;
                give_up.push(*contact);
            } else if now >= rt.next {
                let _ = self
                    .txn
                    .respond(now, &ctx.caller.invite_key, rt.resp.clone());
                rt.interval = (rt.interval * 2).min(t2);
                rt.next = now + rt.interval;
            }
        }
        for contact in give_up {
            self.calls.awaiting_ack.remove(&contact);
            tracing::info!(%contact, "no ACK for our 2xx: ending the call");
            self.feed(now, wall_ms, contact, CallInput::CallerBye);
            self.caller_in_dialog(now, contact, Method::Bye, None);
        }
    }

    /// The earliest call-related deadline (2xx retransmission, CDR grace).
    pub(super) fn calls_timeout(&self) -> Option<Instant> {
        let rt = self
            .calls
            .awaiting_ack
            .iter()
            .filter_map(|c| self.calls.calls.get(c))
            .filter_map(|c| c.caller.pending_2xx.as_ref().map(|r| r.next.min(r.give_up)));
        let cdr = self.calls.pending_cdrs.values().map(|p| p.deadline);
        rt.chain(cdr)
            .chain(self.transfer_timeout())
            .chain(self.probe_timeout())
            .min()
    }

    // ----- caller-side actions -------------------------------------------

    fn caller_response(
        &mut self,
        now: Instant,
        contact: ContactId,
        code: u16,
        sdp: Option<Vec<u8>>,
        reason: Option<String>,
    ) {
        let contact_uri = {
            let Some(ctx) = self.calls.calls.get(&contact) else {
                return;
            };
            self.contact_for(&ctx.caller.peer.transport)
        };
        let server = self.cfg.user_agent.clone();
        let t1 = self.cfg.timers.t1;
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let c = &mut ctx.caller;
        let mut r = response_to(&c.invite, code, Some(&c.to_tag));
        if let Some(reason) = reason {
            r.reason = reason;
        }
        r.headers.push("Server", server);
        if (101..300).contains(&code) {
            r.headers.push("Contact", format!("<{contact_uri}>"));
        }
        if let Some(sdp) = sdp {
            r.headers.push("Content-Type", "application/sdp");
            c.local_sdp = Some(sdp.clone());
            r.body = sdp;
        }
        if r.is_success() {
            match Dialog::uas(&c.invite, &r, c.peer) {
                Ok(d) => {
                    if let Some(a) = super::journal::leg_up(contact, LegId::CALLER, &d) {
                        self.actions.push_back(a);
                    }
                    self.calls
                        .by_dialog
                        .insert(d.id.clone(), (contact, LegId::CALLER));
                    ctx.dialog_ids.push(d.id.clone());
                    c.dialog = Some(d);
                }
                Err(e) => tracing::warn!(%contact, error = %e, "caller dialog not created"),
            }
            self.calls.awaiting_ack.insert(contact);
            c.pending_2xx = Some(Retransmit {
                resp: r.clone(),
                next: now + t1,
                interval: t1,
                give_up: now + t1 * 64,
            });
        }
        if r.is_final() {
            // Kept until the call is reaped, so a late CANCEL still matches.
            c.answered = true;
        }
        let key = c.invite_key.clone();
        self.respond(now, &key, r);
    }

    fn caller_in_dialog(
        &mut self,
        now: Instant,
        contact: ContactId,
        method: Method,
        sdp: Option<Vec<u8>>,
    ) {
        let local = {
            let Some(ctx) = self.calls.calls.get(&contact) else {
                return;
            };
            self.local_addr(ctx.caller.peer.transport)
        };
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let Some(dialog) = ctx.caller.dialog.as_mut() else {
            tracing::debug!(%contact, %method, "no caller dialog");
            return;
        };
        let mut req = dialog.request(method.clone(), &local, &mut self.ids);
        if let Some(sdp) = sdp {
            ctx.caller.local_sdp = Some(sdp.clone());
            req = with_body(req, "application/sdp", sdp);
        }
        let peer = dialog.peer;
        let cseq = dialog.local_cseq;
        let purpose = if method == Method::Invite {
            Purpose::ReInvite
        } else {
            Purpose::Other
        };
        if method == Method::Bye {
            let id = dialog.id.clone();
            self.calls.by_dialog.remove(&id);
        }
        if let Some(key) = self.send_leg_request(now, contact, LegId::CALLER, req, peer, purpose) {
            if let (Purpose::ReInvite, Some(ctx)) = (purpose, self.calls.calls.get_mut(&contact)) {
                ctx.caller.reinvite = Some((key, cseq));
            }
        }
    }

    fn caller_ack(&mut self, contact: ContactId) {
        let Some(ctx) = self.calls.calls.get(&contact) else {
            return;
        };
        let local = self.local_addr(ctx.caller.peer.transport);
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let (Some(d), Some((_, cseq))) = (ctx.caller.dialog.as_ref(), ctx.caller.reinvite.take())
        else {
            return;
        };
        let ack = d.ack_for_2xx(cseq, &local, &mut self.ids, None);
        let peer = d.peer;
        self.txn
            .send_stateless(crate::sip::Message::Request(ack), peer);
    }

    // ----- UAC legs ------------------------------------------------------

    fn invite_ivr(
        &mut self,
        now: Instant,
        contact: ContactId,
        leg: LegId,
        script: &str,
        sdp: Option<Vec<u8>>,
    ) {
        let peer = self.cfg.ivr_peer;
        let target = self.cfg.ivr_uri.clone();
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        ctx.ivr_invited = true;
        let call_data = crate::ivr::session_info::for_ivr_leg(&ctx.caller.invite);
        let mut req = self.new_leg_invite(contact, target, peer.transport, sdp);
        req.headers.push("X-SoftACD-Contact", contact.0.to_string());
        req.headers.push("X-SoftACD-Script", script.to_string());
        for (name, value) in call_data {
            req.headers.push(name, value);
        }
        self.start_leg(now, contact, leg, req, peer);
    }

    fn invite_agent(
        &mut self,
        now: Instant,
        wall_ms: u64,
        contact: ContactId,
        leg: LegId,
        device: &str,
        sdp: Option<Vec<u8>>,
    ) {
        let Some((uri, peer)) = device_peer(device) else {
            tracing::warn!(%contact, device, "agent device is not a reachable SIP URI");
            self.feed(now, wall_ms, contact, CallInput::Failed { leg, code: 404 });
            return;
        };
        let mut req = self.new_leg_invite(contact, uri, peer.transport, sdp);
        req.headers.push("X-SoftACD-Contact", contact.0.to_string());
        self.start_leg(now, contact, leg, req, peer);
    }

    /// An INVITE for a new leg, From the caller's user at our domain.
    fn new_leg_invite(
        &mut self,
        contact: ContactId,
        target: Uri,
        transport: TransportKind,
        sdp: Option<Vec<u8>>,
    ) -> Request {
        let caller_user = self
            .calls
            .calls
            .get(&contact)
            .and_then(|ctx| ctx.caller.invite.from_hdr().ok())
            .and_then(|f| f.uri.user)
            .unwrap_or_else(|| "anonymous".into());
        let local = self.local_addr(transport);
        let from = NameAddr::new(Uri::sip(Some(&caller_user), &self.cfg.domain, None))
            .with_tag(&self.ids.tag());
        let to = NameAddr::new(target.clone());
        let call_id = self.ids.call_id(&self.cfg.domain);
        let contact = local.contact_uri(Some("softacd"));
        let req = new_request(
            Method::Invite,
            target,
            from,
            to,
            &call_id,
            1,
            &local,
            Some(&contact),
            &mut self.ids,
        );
        match sdp {
            Some(sdp) => with_body(req, "application/sdp", sdp),
            None => req,
        }
    }

    fn start_leg(
        &mut self,
        now: Instant,
        contact: ContactId,
        leg: LegId,
        req: Request,
        peer: Peer,
    ) {
        let local = self.local_addr(peer.transport);
        if let Some(ctx) = self.calls.calls.get_mut(&contact) {
            ctx.legs.insert(
                leg,
                UacLeg {
                    invite: req.clone(),
                    peer,
                    local,
                    dialog: None,
                    provisional_seen: false,
                    cancel_pending: false,
                },
            );
        }
        self.send_leg_request(now, contact, leg, req, peer, Purpose::Invite);
    }

    fn send_leg_request(
        &mut self,
        now: Instant,
        contact: ContactId,
        leg: LegId,
        req: Request,
        peer: Peer,
        purpose: Purpose,
    ) -> Option<TxKey> {
        match self.txn.send_request(now, req, peer) {
            Ok(key) => {
                self.calls
                    .by_client_tx
                    .insert(key.clone(), (contact, leg, purpose));
                if let Some(ctx) = self.calls.calls.get_mut(&contact) {
                    ctx.tx_keys.push(key.clone());
                }
                Some(key)
            }
            Err(e) => {
                tracing::warn!(%contact, ?leg, error = %e, "could not send");
                None
            }
        }
    }

    fn leg_ack(&mut self, contact: ContactId, leg: LegId, sdp: Option<Vec<u8>>) {
        let Some(ctx) = self.calls.calls.get(&contact) else {
            return;
        };
        let Some(uac) = ctx.legs.get(&leg) else {
            return;
        };
        let Some(d) = uac.dialog.as_ref() else { return };
        let cseq = uac.invite.cseq().map(|c| c.seq).unwrap_or(1);
        let ack = d.ack_for_2xx(cseq, &uac.local, &mut self.ids, sdp);
        let peer = d.peer;
        self.txn
            .send_stateless(crate::sip::Message::Request(ack), peer);
    }

    fn leg_cancel(&mut self, now: Instant, contact: ContactId, leg: LegId) {
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let Some(uac) = ctx.legs.get_mut(&leg) else {
            return;
        };
        if uac.dialog.is_some() {
            return; // already answered: the call sends BYE instead
        }
        if !uac.provisional_seen {
            // RFC 3261 §9.1: no CANCEL before a provisional response.
            uac.cancel_pending = true;
            return;
        }
        let cancel = cancel_for(&uac.invite);
        let peer = uac.peer;
        self.send_leg_request(now, contact, leg, cancel, peer, Purpose::Other);
    }

    fn leg_bye(&mut self, now: Instant, contact: ContactId, leg: LegId) {
        let Some(ctx) = self.calls.calls.get_mut(&contact) else {
            return;
        };
        let Some(mut uac) = ctx.legs.remove(&leg) else {
            return;
        };
        let Some(dialog) = uac.dialog.as_mut() else {
            return;
        };
        let bye = dialog.request(Method::Bye, &uac.local, &mut self.ids);
        self.calls.by_dialog.remove(&dialog.id);
        let peer = dialog.peer;
        self.send_leg_request(now, contact, leg, bye, peer, Purpose::Other);
    }

    // ----- addressing ----------------------------------------------------

    pub(super) fn local_addr(&self, transport: TransportKind) -> LocalAddr {
        let addr = match transport {
            TransportKind::Tcp => self.cfg.local_tcp.or(self.cfg.local_udp),
            TransportKind::Local => None,
            _ => self.cfg.local_udp.or(self.cfg.local_tcp),
        };
        match addr {
            Some(a) => LocalAddr {
                transport,
                host: a.ip().to_string(),
                port: a.port(),
            },
            None => LocalAddr {
                transport,
                host: "softacd.local".into(),
                port: 5060,
            },
        }
    }

    pub(super) fn contact_for(&self, transport: &TransportKind) -> Uri {
        self.local_addr(*transport).contact_uri(Some("softacd"))
    }
}

fn req_transport(req: &Request) -> TransportKind {
    req.top_via()
        .ok()
        .and_then(|v| TransportKind::from_via_token(&v.transport))
        .unwrap_or(TransportKind::Udp)
}

/// Where to send an INVITE for an agent's device: an IP-literal SIP URI
/// (a registered contact or one the agent named at sign-in).
pub(super) fn device_peer(device: &str) -> Option<(Uri, Peer)> {
    let uri = parse_uri(device).ok()?;
    let host = uri.host.trim_start_matches('[').trim_end_matches(']');
    let ip: IpAddr = host.parse().ok()?;
    let transport = match uri
        .param("transport")
        .flatten()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("tcp") => TransportKind::Tcp,
        _ => TransportKind::Udp,
    };
    let addr = SocketAddr::new(ip, uri.port.unwrap_or(5060));
    Some((
        uri,
        Peer {
            transport,
            addr,
            conn: None,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cdr_lists_every_answering_agent_in_order_bounded() {
        let one = handled_by(None, "1001");
        assert_eq!(one, "1001");
        let two = handled_by(Some(one), "1002");
        assert_eq!(two, "1001,1002");
        let mut list = two;
        for i in 0..40 {
            list = handled_by(Some(list), &format!("a{i}"));
        }
        assert_eq!(list.split(',').count(), MAX_CDR_AGENTS);
    }

    #[test]
    fn device_peer_reads_transport_and_port() {
        let (_, p) = device_peer("sip:1001@127.0.0.1:5062;transport=TCP").unwrap();
        assert_eq!(p.transport, TransportKind::Tcp);
        assert_eq!(p.addr, "127.0.0.1:5062".parse().unwrap());
        let (_, p) = device_peer("sip:1001@127.0.0.2").unwrap();
        assert_eq!((p.transport, p.addr.port()), (TransportKind::Udp, 5060));
        assert!(
            device_peer("sip:1001@phone.example").is_none(),
            "names are not resolved here"
        );
        assert!(device_peer("not a uri").is_none());
    }
}
