//! The WebAssembly facade: converts between JS values and the core, nothing else. One file per
//! JS class; conversions and error objects live in `js.rs`; the TypeScript declarations of
//! every domain type live in `types.rs`.

// With the `estimator` feature the module exports the token estimator alone (the package's
// `ai-credits/tokens` entry): nothing else is linked.
#[cfg(not(feature = "estimator"))]
mod catalogue;
#[cfg(not(feature = "estimator"))]
mod client;
mod js;
#[cfg(not(feature = "estimator"))]
mod ledger;
#[cfg(not(feature = "estimator"))]
mod scenario;
mod tokens;
#[cfg(not(feature = "estimator"))]
mod types;

#[cfg(not(feature = "estimator"))]
pub use scenario::{run_scenario, run_scenario_json};
