//! The WebAssembly facade: converts between JS values and the core, nothing else. One file per
//! JS class; conversions and error objects live in `js.rs`; the TypeScript declarations of
//! every domain type live in `types.rs`.

mod catalogue;
mod client;
mod js;
mod ledger;
mod scenario;
mod tokens;
mod types;

pub use scenario::{run_scenario, run_scenario_json};
