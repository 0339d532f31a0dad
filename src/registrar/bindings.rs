//! The location service (RFC 3261 §10.3 steps 6–8, §10.2.1.1): the bindings
//! of each address-of-record, updated all-or-nothing by one REGISTER, with
//! the Call-ID/CSeq ordering rule of step 7 and a bound on bindings per AOR.
//! Times are wall-clock milliseconds so expiry survives a restart.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One contact bound to an address-of-record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Binding {
    /// The authenticated user owning the AOR (the key of `lookup`).
    pub user: String,
    /// The canonical address-of-record, `sip:user@domain`.
    pub aor: String,
    /// The Contact URI as sent (parameters of the URI kept, header
    /// parameters such as `expires` and `q` dropped).
    pub contact: String,
    pub expires_at_ms: u64,
    pub q: Option<f32>,
    pub call_id: String,
    pub cseq: u32,
    /// Where the REGISTER came from, `udp:127.0.0.1:5062`.
    pub source: String,
    pub user_agent: Option<String>,
    /// First registration of this contact under this Call-ID.
    pub registered_at_ms: u64,
}

impl Binding {
    /// Whole seconds left, rounded up, for the `expires` param of a 200.
    pub fn remaining_secs(&self, wall_ms: u64) -> u64 {
        self.expires_at_ms.saturating_sub(wall_ms).div_ceil(1000)
    }

    /// RFC 3261 §20.10: a missing q ranks as the highest preference here.
    fn rank(&self) -> f32 {
        self.q.unwrap_or(1.0)
    }
}

/// A change the shell persists (the store applies a batch in one transaction).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub enum BindingChange {
    Upsert(Binding),
    Remove { aor: String, contact: String },
}

/// One contact of a REGISTER, with its effective expiry already decided.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactUpdate {
    pub contact: String,
    pub expires: u32,
    pub q: Option<f32>,
}

/// The request-wide facts every new binding records.
#[derive(Debug, Clone)]
pub struct UpdateCtx<'a> {
    pub user: &'a str,
    pub aor: &'a str,
    pub call_id: &'a str,
    pub cseq: u32,
    pub source: &'a str,
    pub user_agent: Option<&'a str>,
    pub wall_ms: u64,
}

/// Why a binding update was refused as a whole (step 7, step 8).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UpdateError {
    #[error("binding update: CSeq {cseq} not above {stored} for {contact} in the same Call-ID")]
    OutOfOrder {
        contact: String,
        cseq: u32,
        stored: u32,
    },
    #[error("binding update: more than {max} bindings for the AOR")]
    TooManyBindings { max: usize },
}

/// All bindings, by canonical AOR.
#[derive(Debug, Default)]
pub struct BindingTable {
    by_aor: BTreeMap<String, Vec<Binding>>,
    max_per_aor: usize,
}

impl BindingTable {
    pub fn new(max_per_aor: usize) -> BindingTable {
        BindingTable {
            by_aor: BTreeMap::new(),
            max_per_aor,
        }
    }

    pub fn of_aor(&self, aor: &str) -> &[Binding] {
        self.by_aor.get(aor).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn iter(&self) -> impl Iterator<Item = &Binding> {
        self.by_aor.values().flatten()
    }

    /// Bindings of a user, best q first, then most recently registered.
    pub fn lookup(&self, user: &str) -> Vec<&Binding> {
        let mut v: Vec<&Binding> = self.iter().filter(|b| b.user == user).collect();
        v.sort_by(|a, b| {
            b.rank()
                .total_cmp(&a.rank())
                .then(b.registered_at_ms.cmp(&a.registered_at_ms))
        });
        v
    }

    pub fn next_expiry(&self) -> Option<u64> {
        self.iter().map(|b| b.expires_at_ms).min()
    }

    /// Drop every binding whose time is up (`expires_at_ms <= wall_ms`).
    pub fn expire(&mut self, wall_ms: u64) -> Vec<BindingChange> {
        let mut out = Vec::new();
        for list in self.by_aor.values_mut() {
            list.retain(|b| {
                let keep = b.expires_at_ms > wall_ms;
                if !keep {
                    out.push(remove_of(b));
                }
                keep
            });
        }
        self.by_aor.retain(|_, l| !l.is_empty());
        out
    }

    /// Put back a binding loaded from the store; false if it does not fit.
    pub fn restore(&mut self, b: Binding) -> bool {
        let list = self.by_aor.entry(b.aor.clone()).or_default();
        if list.len() >= self.max_per_aor || list.iter().any(|x| x.contact == b.contact) {
            return false;
        }
        list.push(b);
        true
    }

    /// Remove every binding of the AOR (`Contact: *`, `Expires: 0`).
    pub fn remove_all(&mut self, ctx: &UpdateCtx<'_>) -> Result<Vec<BindingChange>, UpdateError> {
        let old = self.of_aor(ctx.aor);
        for b in old {
            check_order(b, ctx, &b.contact)?;
        }
        let changes = old.iter().map(remove_of).collect();
        self.by_aor.remove(ctx.aor);
        Ok(changes)
    }

    /// Add, refresh or remove the given contacts, all or nothing (step 8).
    pub fn update(
        &mut self,
        ctx: &UpdateCtx<'_>,
        contacts: &[ContactUpdate],
    ) -> Result<Vec<BindingChange>, UpdateError> {
        let old = self.of_aor(ctx.aor);
        let mut next: Vec<Binding> = old.to_vec();
        for cu in contacts {
            if let Some(stored) = old.iter().find(|b| b.contact == cu.contact) {
                check_order(stored, ctx, &cu.contact)?;
            }
            let registered_at = next
                .iter()
                .find(|b| b.contact == cu.contact && b.call_id == ctx.call_id)
                .map_or(ctx.wall_ms, |b| b.registered_at_ms);
            next.retain(|b| b.contact != cu.contact);
            if cu.expires > 0 {
                next.push(new_binding(ctx, cu, registered_at));
            }
        }
        if next.len() > self.max_per_aor {
            return Err(UpdateError::TooManyBindings {
                max: self.max_per_aor,
            });
        }
        let changes = diff(old, &next);
        if next.is_empty() {
            self.by_aor.remove(ctx.aor);
        } else {
            self.by_aor.insert(ctx.aor.to_string(), next);
        }
        Ok(changes)
    }
}

/// Step 7: same Call-ID needs a higher CSeq; another Call-ID always wins.
fn check_order(stored: &Binding, ctx: &UpdateCtx<'_>, contact: &str) -> Result<(), UpdateError> {
    if stored.call_id == ctx.call_id && ctx.cseq <= stored.cseq {
        return Err(UpdateError::OutOfOrder {
            contact: contact.to_string(),
            cseq: ctx.cseq,
            stored: stored.cseq,
        });
    }
    Ok(())
}

fn new_binding(ctx: &UpdateCtx<'_>, cu: &ContactUpdate, registered_at_ms: u64) -> Binding {
    Binding {
        user: ctx.user.to_string(),
        aor: ctx.aor.to_string(),
        contact: cu.contact.clone(),
        expires_at_ms: ctx
            .wall_ms
            .saturating_add(u64::from(cu.expires).saturating_mul(1000)),
        q: cu.q,
        call_id: ctx.call_id.to_string(),
        cseq: ctx.cseq,
        source: ctx.source.to_string(),
        user_agent: ctx.user_agent.map(str::to_string),
        registered_at_ms,
    }
}

fn remove_of(b: &Binding) -> BindingChange {
    BindingChange::Remove {
        aor: b.aor.clone(),
        contact: b.contact.clone(),
    }
}

fn diff(old: &[Binding], next: &[Binding]) -> Vec<BindingChange> {
    let removed = old
        .iter()
        .filter(|o| !next.iter().any(|n| n.contact == o.contact))
        .map(remove_of);
    let upserted = next
        .iter()
        .filter(|n| !old.contains(n))
        .cloned()
        .map(BindingChange::Upsert);
    removed.chain(upserted).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ctx(call_id: &str, cseq: u32, wall_ms: u64) -> UpdateCtx<'_> {
        UpdateCtx {
            user: "1001",
            aor: "sip:1001@acd",
            call_id,
            cseq,
            source: "udp:127.0.0.1:5062",
            user_agent: None,
            wall_ms,
        }
    }

    fn cu(contact: &str, expires: u32, q: Option<f32>) -> ContactUpdate {
        ContactUpdate {
            contact: contact.into(),
            expires,
            q,
        }
    }

    #[test]
    fn add_refresh_and_remove() {
        let mut t = BindingTable::new(5);
        let ch = t
            .update(&ctx("c1", 1, 0), &[cu("sip:a@1", 60, None)])
            .unwrap();
        assert!(matches!(&ch[..], [BindingChange::Upsert(b)] if b.expires_at_ms == 60_000));
        t.update(&ctx("c1", 2, 10_000), &[cu("sip:a@1", 60, None)])
            .unwrap();
        let b = &t.of_aor("sip:1001@acd")[0];
        assert_eq!(
            (b.expires_at_ms, b.registered_at_ms, b.cseq),
            (70_000, 0, 2)
        );
        let ch = t
            .update(&ctx("c1", 3, 0), &[cu("sip:a@1", 0, None)])
            .unwrap();
        assert_eq!(
            ch,
            vec![BindingChange::Remove {
                aor: "sip:1001@acd".into(),
                contact: "sip:a@1".into()
            }]
        );
        assert!(t.of_aor("sip:1001@acd").is_empty());
    }

    #[test]
    fn same_call_id_with_old_cseq_aborts_the_whole_update() {
        let mut t = BindingTable::new(5);
        t.update(&ctx("c1", 5, 0), &[cu("sip:a@1", 60, None)])
            .unwrap();
        let err = t
            .update(
                &ctx("c1", 5, 0),
                &[cu("sip:b@2", 60, None), cu("sip:a@1", 0, None)],
            )
            .unwrap_err();
        assert!(matches!(err, UpdateError::OutOfOrder { stored: 5, .. }));
        assert_eq!(t.of_aor("sip:1001@acd").len(), 1, "nothing committed");
        // Another Call-ID (a rebooted phone) replaces the binding whatever its CSeq.
        t.update(&ctx("c2", 1, 0), &[cu("sip:a@1", 60, None)])
            .unwrap();
        assert_eq!(t.of_aor("sip:1001@acd")[0].call_id, "c2");
    }

    #[test]
    fn remove_all_respects_ordering() {
        let mut t = BindingTable::new(5);
        t.update(
            &ctx("c1", 5, 0),
            &[cu("sip:a@1", 60, None), cu("sip:b@1", 60, None)],
        )
        .unwrap();
        assert!(t.remove_all(&ctx("c1", 4, 0)).is_err());
        assert_eq!(t.remove_all(&ctx("c1", 6, 0)).unwrap().len(), 2);
        assert_eq!(t.iter().count(), 0);
    }

    #[test]
    fn bound_per_aor() {
        let mut t = BindingTable::new(2);
        let three = [
            cu("sip:a@1", 60, None),
            cu("sip:b@1", 60, None),
            cu("sip:c@1", 60, None),
        ];
        assert_eq!(
            t.update(&ctx("c1", 1, 0), &three),
            Err(UpdateError::TooManyBindings { max: 2 })
        );
        assert_eq!(t.iter().count(), 0);
    }

    #[test]
    fn lookup_orders_by_q_then_recency_and_expire_drops() {
        let mut t = BindingTable::new(5);
        t.update(&ctx("c1", 1, 0), &[cu("sip:low@1", 60, Some(0.1))])
            .unwrap();
        t.update(&ctx("c2", 1, 1), &[cu("sip:none@1", 30, None)])
            .unwrap();
        t.update(&ctx("c3", 1, 2), &[cu("sip:half@1", 60, Some(0.5))])
            .unwrap();
        let order: Vec<&str> = t
            .lookup("1001")
            .iter()
            .map(|b| b.contact.as_str())
            .collect();
        assert_eq!(order, ["sip:none@1", "sip:half@1", "sip:low@1"]);
        assert_eq!(t.next_expiry(), Some(30_001));
        assert_eq!(t.expire(30_001).len(), 1);
        assert_eq!(t.lookup("1001").len(), 2);
        assert!(t.lookup("1002").is_empty());
    }
}
