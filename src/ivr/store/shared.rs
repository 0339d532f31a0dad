//! The registry as the server shares it: one [`FlowStore`] behind a mutex
//! (reloads from the file watcher and from `POST /api/ivr/reload` run one at
//! a time), with the prompt check the flows are validated against. Each
//! reload is logged and counted (`softacd_ivr_reloads_total{result}`).

use super::{FlowStatus, FlowStore, LiveFlows, StoreError};
use std::sync::{Arc, Mutex};

/// Counter, label `result` = `ok` | `failed`.
pub const RELOADS_TOTAL: &str = "softacd_ivr_reloads_total";

type PromptCheck = Arc<dyn Fn(&str) -> bool + Send + Sync>;

/// What started a reload (for the log).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    Start,
    FileChange,
    Api,
}

impl Trigger {
    fn as_str(self) -> &'static str {
        match self {
            Trigger::Start => "start",
            Trigger::FileChange => "file change",
            Trigger::Api => "api",
        }
    }
}

/// A cloneable handle on the one registry.
#[derive(Clone)]
pub struct Reloader {
    store: Arc<Mutex<FlowStore>>,
    live: LiveFlows,
    prompt_exists: PromptCheck,
}

impl std::fmt::Debug for Reloader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reloader").finish_non_exhaustive()
    }
}

impl Reloader {
    pub fn new(store: FlowStore, prompt_exists: PromptCheck) -> Self {
        Reloader {
            live: store.live(),
            store: Arc::new(Mutex::new(store)),
            prompt_exists,
        }
    }

    /// The table the session factory reads.
    pub fn live(&self) -> LiveFlows {
        self.live.clone()
    }

    /// Every live flow and its version.
    pub fn list(&self) -> Vec<FlowStatus> {
        self.lock().list()
    }

    /// Re-validates all flows and swaps them all, or keeps the old set.
    pub fn reload(&self, trigger: Trigger, now_ms: u64) -> Result<Vec<FlowStatus>, StoreError> {
        let mut store = self.lock();
        let result = store.reload(&*self.prompt_exists, now_ms);
        let how = trigger.as_str();
        match &result {
            Ok(flows) => {
                let changed: Vec<String> = flows
                    .iter()
                    .filter(|f| f.changed)
                    .map(|f| format!("{}@{}", f.name, f.version))
                    .collect();
                tracing::info!(
                    trigger = how,
                    flows = flows.len(),
                    ?changed,
                    "ivr: flows reloaded"
                );
                metrics::counter!(RELOADS_TOTAL, "result" => "ok").increment(1);
            }
            Err(e) => {
                tracing::warn!(trigger = how, errors = %e, "ivr: reload refused; previous flows keep serving");
                metrics::counter!(RELOADS_TOTAL, "result" => "failed").increment(1);
            }
        }
        result
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, FlowStore> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }
}
