//! The component's own time per call, measured inside Rust, for the bridge benchmark
//! (`hosts/kamailio/bench_invite.py`): the time Python sees minus this is the bridge's.

use std::time::Instant;

use e911_component_host::ComponentHost;
use e911_engine::CallCtx;

use crate::store::PyStore;

/// Nanoseconds of each of `n` calls of the host's `on_message`, callback-store imports
/// included (they are the host object's work, not the bridge's).
pub fn time_calls(
    host: &mut ComponentHost<PyStore>,
    message: &[u8],
    ctx: &CallCtx<'_>,
    n: usize,
) -> Vec<u64> {
    (0..n)
        .map(|_| {
            let start = Instant::now();
            let verdict = host.on_message(message, ctx);
            let took = start.elapsed();
            drop(std::hint::black_box(verdict));
            u64::try_from(took.as_nanos()).unwrap_or(u64::MAX)
        })
        .collect()
}
