//! ai-credits: the AI-credit ledger, model catalogue and deduction rules of SPEC.md, as one
//! core that runs natively (the backend, the only authority on debits) and in WebAssembly (the
//! browser's estimates and previews). The core has no wasm, JS or HTTP dependency; the
//! WebAssembly facade in `wasm/` only converts.
#![forbid(unsafe_code)]

pub mod alerts;
pub mod catalogue;
pub mod checkpoint;
pub mod cycle;
pub mod error;
pub mod estimate;
pub mod event;
pub mod forecast;
pub mod json;
pub mod keys;
pub mod ledger;
pub mod provider_usage;
pub mod replica;
pub mod report;
pub mod scenario;
pub mod snapshot;
pub mod sorted_map;
pub mod time;
pub mod tokens;
pub mod units;
pub mod window;

/// The WebAssembly facade (public so the WASM test suites can call it as Rust).
#[cfg(target_arch = "wasm32")]
#[doc(hidden)]
pub mod wasm;

pub use alerts::{Alert, AlertKind};
pub use catalogue::{Catalogue, Model};
pub use checkpoint::{Checkpoint, EventLog};
pub use error::{CatalogueError, CheckpointError, RejectCode, Rejection, ScenarioError};
pub use event::{Event, EventBody, EventDraft, EventKind, Tokens};
pub use keys::{BilledTo, KeyState};
pub use ledger::{
    Accepted, Account, Balance, Charge, EarlierEvents, Entry, Ledger, NoEarlierEvents, Outcome,
    Preview,
};
pub use report::Report;
