//! Fuzz target: IVR flow text → loader (TOML syntax, shape, rules, graph
//! checks) and, when it loads, a simulated call. Neither may panic.
//! Run: cd fuzz && cargo +nightly fuzz run ivr_script
#![no_main]

use libfuzzer_sys::fuzz_target;
use softacd::ivr::script::load_str;
use softacd::ivr::sim::{simulate, SimInput};
use std::sync::Arc;
use std::time::Instant;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(flow) = load_str(text, "fuzz.toml", &|_| true) {
        let input = SimInput {
            keys: "1 0 123# - 9".to_owned(),
            ..SimInput::default()
        };
        let _ = simulate(Arc::new(flow), &input, Instant::now());
    }
});
