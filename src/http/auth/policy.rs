//! Who may call what (issue 6, "admin actions need an authenticated admin
//! session or token"; docs/api.md "Authentication"). Pure: a route's need
//! from its method and path, then a decision from the need, the server's
//! mode and who is asking. Anything that changes state is an admin action
//! unless it is an agent acting on their own seat; a new route is an admin
//! route until listed otherwise, so nothing is open by accident.

use super::sessions::{Principal, Role};
use axum::http::Method;

/// What a request needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Need {
    /// Anyone: health, the OpenAPI document, the pages and their assets,
    /// login/logout/session, the desk's WebSocket (it signs in itself).
    Public,
    /// Read-only: open unless `[http] require_auth_for_reads`.
    Read,
    /// An admin (token, or a supervisor with `role = "admin"`).
    Admin,
    /// The agent of this seat, or an admin.
    AgentOrAdmin(String),
}

/// How the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mode {
    /// No admin token and no supervisor configured: every route is open
    /// (the loopback-only demo of earlier versions; config validation
    /// keeps such a server on loopback).
    pub open: bool,
    pub require_auth_for_reads: bool,
}

/// The answer for one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// 401: no (valid) credentials.
    Unauthorized,
    /// 403: known, but not allowed.
    Forbidden,
}

const PUBLIC: [&str; 6] = [
    "/healthz",
    "/api/openapi.json",
    "/api/login",
    "/api/logout",
    "/api/session",
    "/api/desk",
];
const PUBLIC_PAGES: [&str; 2] = ["/desk", "/wall"];

/// What `method` on `path` needs.
pub fn need(method: &Method, path: &str) -> Need {
    let page = PUBLIC_PAGES
        .iter()
        .any(|p| path == *p || path.strip_prefix(p).is_some_and(|r| r.starts_with('/')));
    if page || PUBLIC.contains(&path) {
        return Need::Public;
    }
    if method == Method::GET || method == Method::HEAD {
        return Need::Read;
    }
    match own_seat(path) {
        Some(agent) if method == Method::POST => Need::AgentOrAdmin(agent),
        _ => Need::Admin,
    }
}

/// The `{id}` of `/api/agents/{id}/{op}` (none when percent-encoded: only
/// an admin may use such a path).
fn own_seat(path: &str) -> Option<String> {
    let rest = path.strip_prefix("/api/agents/")?;
    let (id, op) = rest.split_once('/')?;
    let ops = ["sign-in", "sign-out", "ready", "not-ready"];
    (!id.is_empty() && !id.contains('%') && ops.contains(&op)).then(|| id.to_owned())
}

/// May `who` (none: no valid credentials) do what `need` asks?
pub fn decide(mode: Mode, need: &Need, who: Option<&Principal>) -> Decision {
    if mode.open {
        return Decision::Allow;
    }
    let role = who.map(|p| p.role);
    let allowed = match need {
        Need::Public => return Decision::Allow,
        Need::Read if !mode.require_auth_for_reads => return Decision::Allow,
        Need::Read => role >= Some(Role::Supervisor),
        Need::Admin => role == Some(Role::Admin),
        Need::AgentOrAdmin(agent) => {
            role == Some(Role::Admin)
                || who.is_some_and(|p| p.role == Role::Agent && p.user == *agent)
        }
    };
    match (allowed, who) {
        (true, _) => Decision::Allow,
        (false, None) => Decision::Unauthorized,
        (false, Some(_)) => Decision::Forbidden,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOCKED: Mode = Mode {
        open: false,
        require_auth_for_reads: false,
    };

    fn p(user: &str, role: Role) -> Principal {
        Principal {
            user: user.into(),
            role,
        }
    }

    #[test]
    fn routes_map_to_needs_and_unknown_writes_are_admin() {
        assert_eq!(need(&Method::GET, "/healthz"), Need::Public);
        assert_eq!(need(&Method::GET, "/wall/wall.js"), Need::Public);
        assert_eq!(need(&Method::GET, "/wallpaper"), Need::Read);
        assert_eq!(need(&Method::POST, "/api/login"), Need::Public);
        assert_eq!(need(&Method::GET, "/api/queues"), Need::Read);
        assert_eq!(need(&Method::GET, "/api/stats/history"), Need::Read);
        assert_eq!(need(&Method::POST, "/api/ivr/reload"), Need::Admin);
        assert_eq!(
            need(&Method::POST, "/api/calls/1/recording/pause"),
            Need::Admin
        );
        assert_eq!(need(&Method::POST, "/api/something/new"), Need::Admin);
        assert_eq!(need(&Method::DELETE, "/api/agents/1001/ready"), Need::Admin);
        assert_eq!(
            need(&Method::POST, "/api/agents/1001/ready"),
            Need::AgentOrAdmin("1001".into())
        );
        assert_eq!(need(&Method::POST, "/api/agents/10%301/ready"), Need::Admin);
        assert_eq!(
            need(&Method::POST, "/api/agents/1001/teleport"),
            Need::Admin
        );
    }

    #[test]
    fn admin_routes_are_401_without_credentials_403_for_others() {
        let admin = p("root", Role::Admin);
        let sup = p("sue", Role::Supervisor);
        let agent = p("1001", Role::Agent);
        assert_eq!(decide(LOCKED, &Need::Admin, None), Decision::Unauthorized);
        assert_eq!(
            decide(LOCKED, &Need::Admin, Some(&sup)),
            Decision::Forbidden
        );
        assert_eq!(
            decide(LOCKED, &Need::Admin, Some(&agent)),
            Decision::Forbidden
        );
        assert_eq!(decide(LOCKED, &Need::Admin, Some(&admin)), Decision::Allow);
        let own = Need::AgentOrAdmin("1001".into());
        let other = Need::AgentOrAdmin("1002".into());
        assert_eq!(decide(LOCKED, &own, Some(&agent)), Decision::Allow);
        assert_eq!(decide(LOCKED, &other, Some(&agent)), Decision::Forbidden);
        assert_eq!(decide(LOCKED, &own, Some(&sup)), Decision::Forbidden);
        assert_eq!(decide(LOCKED, &other, Some(&admin)), Decision::Allow);
        assert_eq!(decide(LOCKED, &own, None), Decision::Unauthorized);
    }

    #[test]
    fn reads_are_open_unless_required_and_open_mode_allows_all() {
        assert_eq!(decide(LOCKED, &Need::Read, None), Decision::Allow);
        let strict = Mode {
            open: false,
            require_auth_for_reads: true,
        };
        assert_eq!(decide(strict, &Need::Read, None), Decision::Unauthorized);
        let agent = p("1001", Role::Agent);
        assert_eq!(
            decide(strict, &Need::Read, Some(&agent)),
            Decision::Forbidden
        );
        let sup = p("sue", Role::Supervisor);
        assert_eq!(decide(strict, &Need::Read, Some(&sup)), Decision::Allow);
        assert_eq!(decide(strict, &Need::Public, None), Decision::Allow);
        let open = Mode {
            open: true,
            require_auth_for_reads: true,
        };
        assert_eq!(decide(open, &Need::Admin, None), Decision::Allow);
    }
}
