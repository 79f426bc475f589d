//! Payments for credit packs. A purchase is decided inside the account's write transaction:
//! the processor is asked only for a purchase the ledger accepted as new (a retried id is a
//! duplicate and never reaches it), and the charge is recorded in the same transaction as the
//! pack, so a pack exists exactly when its charge does.

use std::future::Future;
use std::pin::Pin;

use sha2::{Digest, Sha256};

/// What a purchase asks the processor to charge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChargeRequest {
    pub account_id: String,
    /// The catalogue pack id (`1M`…).
    pub pack: String,
    pub amount_cents: u64,
    /// The purchase event's id: a processor that sees it twice must charge once.
    pub idempotency_id: String,
    /// The member whose token made the purchase.
    pub member: String,
}

/// Why a charge did not happen. Either way no credits are added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentError {
    /// The card or account was refused.
    Declined(String),
    /// The processor could not be reached or failed; retrying with the same id is safe.
    Failed(String),
}

pub type ChargeFuture<'a> = Pin<Box<dyn Future<Output = Result<String, PaymentError>> + Send + 'a>>;

/// Takes money for a pack; returns the processor's charge id.
pub trait PaymentProcessor: Send + Sync + 'static {
    fn charge<'a>(&'a self, request: &'a ChargeRequest) -> ChargeFuture<'a>;
}

/// The default: accepts every charge and lets the server record it in its `charges` table
/// (pack, cents, who, when). A deployment with a card processor plugs in its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbeddedProcessor;

impl PaymentProcessor for EmbeddedProcessor {
    fn charge<'a>(&'a self, request: &'a ChargeRequest) -> ChargeFuture<'a> {
        // The charge id is derived from (account, purchase id): the same purchase always
        // names the same charge.
        let digest = Sha256::digest(format!("{}/{}", request.account_id, request.idempotency_id));
        let id = format!("ch_{}", hex::encode(&digest[..12]));
        Box::pin(async move { Ok(id) })
    }
}

/// Declines every charge (for tests, and to switch purchases off).
#[derive(Clone, Copy, Debug, Default)]
pub struct DecliningProcessor;

impl PaymentProcessor for DecliningProcessor {
    fn charge<'a>(&'a self, _request: &'a ChargeRequest) -> ChargeFuture<'a> {
        Box::pin(async { Err(PaymentError::Declined("the card was declined".into())) })
    }
}
