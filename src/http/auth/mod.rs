//! Admin authentication (issue 6: "admin actions need an authenticated
//! admin session or token. Agents and supervisors log in with passwords
//! stored as Argon2 hashes"; docs/api.md "Authentication"). The thin shell
//! around three pure parts: [`policy`] (what a route needs, who may),
//! [`sessions`] (the bounded session table) and [`throttle`] (per-name
//! backoff after failed logins). Credentials: `Authorization: Bearer
//! <token>` checked against `[http] admin_token_hash`, or the
//! `softacd_session` cookie from `POST /api/login` (HttpOnly,
//! SameSite=Strict, a 128-bit id from the OS CSPRNG). Argon2 runs on
//! blocking threads, at most [`MAX_VERIFYING`] at once.

pub mod policy;
pub mod sessions;
pub mod throttle;

use super::desk::password;
use super::extract::JsonBody;
use super::{json_error, HttpState};
use crate::config::{Config, SupervisorRole};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use policy::{Decision, Mode};
use serde::Deserialize;
use sessions::{Principal, Role, Sessions, MAX_SESSIONS};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use throttle::Throttle;
use tokio::sync::Semaphore;

/// The session cookie's name.
pub const COOKIE: &str = "softacd_session";
/// Argon2 verifications running at once, at most (each takes tens of ms
/// and ~19 MiB); more callers get 503.
pub const MAX_VERIFYING: usize = 2;
const MAX_USER: usize = 64;
/// The throttle's name for bearer-token attempts.
const BEARER: &str = "\u{0}bearer";
/// Verified when the user is unknown, so a wrong name costs the same time.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$Zw6kUthizasO+TUtyDeKgQ$jxJ60dyG2Wx/6qMTgbVBoiBc42MokiBdtdUq8QEvKMc";
/// The shipped demo credentials' hashes (`supervisor` / `demo-supervisor`,
/// token `demo-admin-token`): config validation keeps them on loopback.
pub const DEMO_SUPERVISOR_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$bUfRYbpIY8h7l7Oi4p7xSw$bBPdupgQr0zQhAm7haSAzYhfcqzaWtaUdLemRwVSYDs";
pub const DEMO_TOKEN_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$rFCSiD6r2jl//3PBQLhuJg$uhlOweh9pC2E6Wcv5/nVhtAQQSr650LI36UgHOHiPro";

/// Credentials and session state, shared by every request.
pub struct Auth {
    mode: Mode,
    token_hash: Option<String>,
    /// SHA-256 of a per-process key and the last token that verified, so a
    /// valid token costs one Argon2 verification per process, not per call.
    token_seen: Mutex<Option<[u8; 32]>>,
    token_key: [u8; 32],
    /// User name → (PHC string, role): supervisors, then desk agents.
    users: BTreeMap<String, (String, Role)>,
    sessions: Mutex<Sessions>,
    throttle: Mutex<Throttle>,
    verifying: Semaphore,
}

impl Default for Auth {
    /// Open mode: no admin configured.
    fn default() -> Self {
        Auth::new(None, BTreeMap::new(), false, Duration::from_secs(3600))
    }
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth").field("mode", &self.mode).finish()
    }
}

impl Auth {
    /// Open mode when there is neither a token nor a supervisor.
    pub fn new(
        token_hash: Option<String>,
        users: BTreeMap<String, (String, Role)>,
        require_auth_for_reads: bool,
        ttl: Duration,
    ) -> Self {
        let any_staff = users.values().any(|(_, r)| *r >= Role::Supervisor);
        let mut token_key = [0u8; 32];
        // Without OS randomness the cache key is zero: the cache still only
        // ever holds a hash of a token that verified.
        let _ = getrandom::fill(&mut token_key);
        Auth {
            mode: Mode {
                open: token_hash.is_none() && !any_staff,
                require_auth_for_reads,
            },
            token_hash,
            token_seen: Mutex::new(None),
            token_key,
            users,
            sessions: Mutex::new(Sessions::new(ttl, MAX_SESSIONS)),
            throttle: Mutex::new(Throttle::default()),
            verifying: Semaphore::new(MAX_VERIFYING),
        }
    }

    pub fn from_config(cfg: &Config) -> Self {
        let mut users = BTreeMap::new();
        for seat in &cfg.seat {
            if let Some(h) = &seat.agent_password_hash {
                users.insert(seat.user.clone(), (h.clone(), Role::Agent));
            }
        }
        for s in &cfg.supervisors {
            let role = match s.role {
                SupervisorRole::Supervisor => Role::Supervisor,
                SupervisorRole::Admin => Role::Admin,
            };
            users.insert(s.id.clone(), (s.password_hash.clone(), role));
        }
        Auth::new(
            cfg.http.admin_token_hash.clone(),
            users,
            cfg.http.require_auth_for_reads,
            Duration::from_secs(cfg.http.session_ttl_s),
        )
    }

    /// True when no admin is configured (every route open).
    pub fn is_open(&self) -> bool {
        self.mode.open
    }

    fn session(&self, headers: &HeaderMap) -> Option<Principal> {
        let id = session_id(headers)?;
        let table = self.sessions.lock().unwrap_or_else(|p| p.into_inner());
        table.get(Instant::now(), &id).cloned()
    }

    fn token_digest(&self, token: &str) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.token_key);
        h.update(token.as_bytes());
        h.finalize().into()
    }

    /// The admin, if `token` is the admin token.
    async fn bearer(&self, token: &str) -> Result<Option<Principal>, Response> {
        let Some(hash) = self.token_hash.clone() else {
            return Ok(None);
        };
        let admin = Principal {
            user: "admin-token".into(),
            role: Role::Admin,
        };
        let digest = self.token_digest(token);
        let seen = *self.token_seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.is_some_and(|s| same(&s, &digest)) {
            return Ok(Some(admin));
        }
        if !self.verify(BEARER, token, hash).await? {
            return Ok(None);
        }
        *self.token_seen.lock().unwrap_or_else(|p| p.into_inner()) = Some(digest);
        Ok(Some(admin))
    }

    /// Checks `password` against `phc` off the async threads, throttled per
    /// `name`: Err is a 429 or 503 to send as is.
    async fn verify(&self, name: &str, password: &str, phc: String) -> Result<bool, Response> {
        let wait = {
            let t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
            t.check(Instant::now(), name)
        };
        if let Err(wait) = wait {
            return Err(too_many(wait));
        }
        let Ok(_permit) = self.verifying.try_acquire() else {
            return Err(json_error(
                StatusCode::SERVICE_UNAVAILABLE,
                "too many sign-ins at once: try again",
            ));
        };
        let pw = password.to_owned();
        let ok = tokio::task::spawn_blocking(move || password::verify(&pw, &phc))
            .await
            .unwrap_or(false);
        let mut t = self.throttle.lock().unwrap_or_else(|p| p.into_inner());
        if ok {
            t.succeeded(name);
        } else {
            t.failed(Instant::now(), name);
        }
        Ok(ok)
    }
}

/// Constant-time equality of two digests.
fn same(a: &[u8; 32], b: &[u8; 32]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let mut r = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed sign-ins: try again in {secs} s"),
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

/// The session id in the request's cookie, if well formed.
fn session_id(headers: &HeaderMap) -> Option<[u8; 16]> {
    for value in headers.get_all(header::COOKIE) {
        let Ok(text) = value.to_str() else { continue };
        for pair in text.split(';') {
            if let Some(hex) = pair
                .trim()
                .strip_prefix(COOKIE)
                .and_then(|r| r.strip_prefix('='))
            {
                return parse_hex16(hex);
            }
        }
    }
    None
}

fn parse_hex16(hex: &str) -> Option<[u8; 16]> {
    if hex.len() != 32 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Who the request speaks for: the bearer token, else the session cookie.
/// A wrong token is no one (Err only for throttling and overload).
async fn principal(auth: &Auth, headers: &HeaderMap) -> Result<Option<Principal>, Response> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    if let Some(token) = bearer {
        return auth.bearer(token.trim()).await;
    }
    Ok(auth.session(headers))
}

/// The middleware in front of every route: 401/403 JSON unless allowed.
pub async fn guard(State(s): State<HttpState>, req: Request, next: Next) -> Response {
    let need = policy::need(req.method(), req.uri().path());
    // Open routes never look at credentials (a bad token cannot slow them).
    if policy::decide(s.auth.mode, &need, None) == Decision::Allow {
        return next.run(req).await;
    }
    let who = match principal(&s.auth, req.headers()).await {
        Ok(who) => who,
        Err(r) => return r,
    };
    match policy::decide(s.auth.mode, &need, who.as_ref()) {
        Decision::Allow => next.run(req).await,
        Decision::Unauthorized => {
            let mut r = json_error(
                StatusCode::UNAUTHORIZED,
                "sign in (POST /api/login) or send Authorization: Bearer <admin token>",
            );
            r.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            r
        }
        Decision::Forbidden => json_error(
            StatusCode::FORBIDDEN,
            format!(
                "{} may not {} {}",
                who.map(|p| p.user).unwrap_or_default(),
                req.method(),
                req.uri().path()
            ),
        ),
    }
}

/// `POST /api/login` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Login {
    user: String,
    password: String,
}

/// `POST /api/login`: a session cookie for a supervisor, admin or agent.
pub(super) async fn login(State(s): State<HttpState>, JsonBody(body): JsonBody<Login>) -> Response {
    if body.user.is_empty() || body.user.len() > MAX_USER || body.user.chars().any(char::is_control)
    {
        let msg = format!("user must be 1..={MAX_USER} bytes without control characters");
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, msg);
    }
    if body.password.len() > password::MAX_PASSWORD {
        let msg = format!("password longer than {} bytes", password::MAX_PASSWORD);
        return json_error(StatusCode::UNPROCESSABLE_ENTITY, msg);
    }
    let known = s.auth.users.get(&body.user).cloned();
    let phc = known
        .as_ref()
        .map_or(DUMMY_HASH.to_owned(), |(h, _)| h.clone());
    let ok = match s.auth.verify(&body.user, &body.password, phc).await {
        Ok(ok) => ok,
        Err(r) => return r,
    };
    let Some((_, role)) = known.filter(|_| ok) else {
        return json_error(StatusCode::UNAUTHORIZED, "wrong user or password");
    };
    let mut id = [0u8; 16];
    if getrandom::fill(&mut id).is_err() {
        return json_error(
            StatusCode::SERVICE_UNAVAILABLE,
            "no randomness for a session",
        );
    }
    let ttl = {
        let mut table = s.auth.sessions.lock().unwrap_or_else(|p| p.into_inner());
        let who = Principal {
            user: body.user.clone(),
            role,
        };
        table.open(Instant::now(), id, who);
        table.ttl()
    };
    let cookie = format!(
        "{COOKIE}={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}",
        to_hex(&id),
        ttl.as_secs()
    );
    let body = serde_json::json!({"user": body.user, "role": role, "expires_in_s": ttl.as_secs()});
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

/// `POST /api/logout`: ends the cookie's session and clears the cookie.
pub(super) async fn logout(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    let ended = session_id(&headers).is_some_and(|id| {
        let mut table = s.auth.sessions.lock().unwrap_or_else(|p| p.into_inner());
        table.close(&id)
    });
    let cookie = format!("{COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    let body = serde_json::json!({ "signed_out": ended });
    ([(header::SET_COOKIE, cookie)], Json(body)).into_response()
}

/// `GET /api/session`: who the cookie or token speaks for; 401 when no one
/// and sign-in is required; `auth: "open"` when no admin is configured.
pub(super) async fn session(State(s): State<HttpState>, headers: HeaderMap) -> Response {
    if s.auth.mode.open {
        let body = serde_json::json!({"auth": "open", "user": null, "role": null});
        return Json(body).into_response();
    }
    match principal(&s.auth, &headers).await {
        Err(r) => r,
        Ok(None) => json_error(StatusCode::UNAUTHORIZED, "not signed in"),
        Ok(Some(p)) => {
            let body = serde_json::json!({"auth": "required", "user": p.user, "role": p.role});
            Json(body).into_response()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_cookie_is_found_among_others_and_must_be_32_hex_digits() {
        let mut h = HeaderMap::new();
        let id = [0xab; 16];
        let v = format!("theme=dark; {COOKIE}={}; x=1", to_hex(&id));
        h.insert(header::COOKIE, HeaderValue::from_str(&v).unwrap());
        assert_eq!(session_id(&h), Some(id));
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("softacd_session=zz"),
        );
        assert_eq!(session_id(&h), None);
        let bad = format!("{COOKIE}={}", "é".repeat(16));
        h.insert(header::COOKIE, HeaderValue::from_str(&bad).unwrap());
        assert_eq!(session_id(&h), None);
    }

    #[test]
    fn open_mode_only_without_token_or_staff() {
        assert!(Auth::default().is_open());
        let agents: BTreeMap<_, _> = [("1001".to_string(), ("h".to_string(), Role::Agent))].into();
        assert!(Auth::new(None, agents, false, Duration::from_secs(1)).is_open());
        let staff: BTreeMap<_, _> =
            [("sue".to_string(), ("h".to_string(), Role::Supervisor))].into();
        assert!(!Auth::new(None, staff, false, Duration::from_secs(1)).is_open());
        let token = Some("h".to_string());
        assert!(!Auth::new(token, BTreeMap::new(), false, Duration::from_secs(1)).is_open());
    }

    #[test]
    fn the_dummy_hash_is_a_valid_argon2_string() {
        assert!(password::check_phc(DUMMY_HASH).is_ok());
    }
}
