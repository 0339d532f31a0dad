//! Login sessions (issue 6, "admin actions need an authenticated admin
//! session or token"): a bounded table from a random 128-bit session id to
//! who signed in, their role and when the session ends. Pure: ids come from
//! the caller (the shell draws them from the OS CSPRNG) and every call takes
//! `now`. A full table drops the session closest to its end.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Sessions kept at most.
pub const MAX_SESSIONS: usize = 1024;

/// What a signed-in user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// An agent (their own seat only).
    Agent,
    /// Watch `/wall` and the read routes.
    Supervisor,
    /// Everything.
    Admin,
}

/// Who a session or token speaks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user: String,
    pub role: Role,
}

#[derive(Debug, Clone)]
struct Session {
    who: Principal,
    expires: Instant,
}

/// The session table.
#[derive(Debug, Clone)]
pub struct Sessions {
    ttl: Duration,
    max: usize,
    by_id: BTreeMap<[u8; 16], Session>,
}

impl Sessions {
    pub fn new(ttl: Duration, max: usize) -> Self {
        Sessions {
            ttl,
            max: max.max(1),
            by_id: BTreeMap::new(),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// Starts a session `id` for `who`, dropping expired sessions and, when
    /// still full, the one that would end first.
    pub fn open(&mut self, now: Instant, id: [u8; 16], who: Principal) {
        self.by_id.retain(|_, s| s.expires > now);
        while self.by_id.len() >= self.max {
            let first = self
                .by_id
                .iter()
                .min_by_key(|(_, s)| s.expires)
                .map(|(k, _)| *k);
            match first {
                Some(k) => self.by_id.remove(&k),
                None => break,
            };
        }
        let expires = now.checked_add(self.ttl).unwrap_or(now);
        self.by_id.insert(id, Session { who, expires });
    }

    /// Who session `id` speaks for, if it exists and has not ended.
    pub fn get(&self, now: Instant, id: &[u8; 16]) -> Option<&Principal> {
        self.by_id
            .get(id)
            .filter(|s| s.expires > now)
            .map(|s| &s.who)
    }

    /// Ends session `id`; true if it existed.
    pub fn close(&mut self, id: &[u8; 16]) -> bool {
        self.by_id.remove(id).is_some()
    }

    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn who(user: &str) -> Principal {
        Principal {
            user: user.into(),
            role: Role::Supervisor,
        }
    }

    #[test]
    fn a_session_lives_for_its_ttl_and_ends_at_logout() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(60), 8);
        s.open(t0, [1; 16], who("sue"));
        assert_eq!(
            s.get(t0 + Duration::from_secs(59), &[1; 16]),
            Some(&who("sue"))
        );
        assert_eq!(
            s.get(t0 + Duration::from_secs(60), &[1; 16]),
            None,
            "expired"
        );
        assert_eq!(s.get(t0, &[2; 16]), None, "unknown id");
        assert!(s.close(&[1; 16]));
        assert_eq!(s.get(t0, &[1; 16]), None, "logged out");
        assert!(!s.close(&[1; 16]));
    }

    #[test]
    fn the_table_is_bounded_and_drops_the_session_nearest_its_end() {
        let t0 = Instant::now();
        let mut s = Sessions::new(Duration::from_secs(60), 3);
        for i in 0..3u8 {
            s.open(t0 + Duration::from_secs(u64::from(i)), [i; 16], who("u"));
        }
        s.open(t0 + Duration::from_secs(10), [9; 16], who("v"));
        assert_eq!(s.len(), 3);
        let now = t0 + Duration::from_secs(10);
        assert_eq!(s.get(now, &[0; 16]), None, "oldest dropped");
        assert!(s.get(now, &[1; 16]).is_some() && s.get(now, &[9; 16]).is_some());
        // expired sessions are swept before anything live is dropped
        let later = t0 + Duration::from_secs(65);
        s.open(later, [7; 16], who("w"));
        assert_eq!(s.len(), 2, "1 and 2 expired at 61 and 62");
    }
}
