//! The WebAssembly facade: converts between JS values and the core, nothing else. One file per
//! JS class; conversions and error objects live in `js.rs`; the TypeScript declarations of
//! every domain type live in `types.rs`.

// Both modules of the package allocate with talc instead of the standard library's dlmalloc:
// the same free-list allocator design (freed memory is reused), in less code (issue 13: the
// module's size; 2.9 KB gzipped off the whole module, 6.2 KB raw off the estimator's).
// Single-threaded WebAssembly only, which is what the package is built for.
#[cfg(not(target_feature = "atomics"))]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

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
