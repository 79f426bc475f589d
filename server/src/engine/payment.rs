//! Payments for credit packs, in two phases (TigerBeetle's pending → post/void): nothing
//! waits on the payment processor while an account is locked.
//!
//! 1. The engine checks the purchase against the ledger (a dry run under the account's lock,
//!    written nowhere): a retried id is a duplicate and never reaches the processor, a
//!    purchase the core refuses neither.
//! 2. The processor authorises the pack's price, with the purchase id as its idempotency key.
//! 3. It captures the authorisation; a declined capture voids it, and nothing is credited.
//! 4. The engine decides the purchase for real and records the pack and its charge in one
//!    transaction; if the ledger refuses it now (the account changed meanwhile), the capture
//!    is voided.
//!
//! Each processor call has a deadline (`serve --payment-timeout-s`, default 10 s): past it the
//! purchase is refused with `payment_unavailable`, credits nothing, and the authorisation is
//! voided. A retry with the same id is safe at every step: the processor sees the same
//! idempotency key, the ledger the same id.

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

/// How an account pays, as its owner would recognise it: a brand and the last four digits,
/// never a whole card or account number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentMethod {
    /// "Visa", "Mastercard", "SEPA Direct Debit"…
    pub brand: String,
    /// The last four digits of the card or account.
    pub last4: String,
}

impl PaymentMethod {
    /// "Visa ending in 4242".
    pub fn label(&self) -> String {
        format!("{} ending in {}", self.brand, self.last4)
    }
}

/// Why a processor call did not go through. Either way no credits are added.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PaymentError {
    /// The card or account was refused.
    Declined(String),
    /// The processor could not be reached or failed; retrying with the same id is safe.
    Failed(String),
}

pub type PaymentFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, PaymentError>> + Send + 'a>>;

/// Takes money for packs. Every call is idempotent by the request's `idempotency_id`.
pub trait PaymentProcessor: Send + Sync + 'static {
    /// Reserves the amount; returns the authorisation's id.
    fn authorize<'a>(&'a self, request: &'a ChargeRequest) -> PaymentFuture<'a, String>;
    /// Takes the reserved amount; returns the charge's id.
    fn capture<'a>(
        &'a self,
        request: &'a ChargeRequest,
        authorization: &'a str,
    ) -> PaymentFuture<'a, String>;
    /// Releases the reservation, or refunds a capture; a no-op for one never made.
    fn void<'a>(&'a self, request: &'a ChargeRequest) -> PaymentFuture<'a, ()>;
    /// The account's payment method on file, named before a purchase; `None` (the default)
    /// when the processor does not say, and the purchase names "the payment method on file".
    fn payment_method<'a>(
        &'a self,
        _account_id: &'a str,
    ) -> PaymentFuture<'a, Option<PaymentMethod>> {
        Box::pin(async { Ok(None) })
    }
}

/// Ids derived from (account, purchase id): the same purchase always names the same
/// authorisation and charge.
fn derived(prefix: &str, request: &ChargeRequest) -> String {
    let digest = Sha256::digest(format!("{}/{}", request.account_id, request.idempotency_id));
    format!("{prefix}_{}", hex::encode(&digest[..12]))
}

/// The default: accepts every charge and lets the server record it in its `charges` table
/// (pack, cents, who, when). A deployment with a card processor plugs in its own.
#[derive(Clone, Copy, Debug, Default)]
pub struct EmbeddedProcessor;

impl PaymentProcessor for EmbeddedProcessor {
    fn authorize<'a>(&'a self, request: &'a ChargeRequest) -> PaymentFuture<'a, String> {
        let id = derived("auth", request);
        Box::pin(async move { Ok(id) })
    }

    fn capture<'a>(
        &'a self,
        request: &'a ChargeRequest,
        _authorization: &'a str,
    ) -> PaymentFuture<'a, String> {
        let id = derived("ch", request);
        Box::pin(async move { Ok(id) })
    }

    fn void<'a>(&'a self, _request: &'a ChargeRequest) -> PaymentFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}

/// Another processor, with one payment method on file for every account: the demo's card
/// (`serve --demo`: Visa ending in 4242, the card number processors document for tests).
#[derive(Clone, Debug)]
pub struct WithMethodOnFile<P> {
    pub inner: P,
    pub method: PaymentMethod,
}

impl<P: PaymentProcessor> PaymentProcessor for WithMethodOnFile<P> {
    fn authorize<'a>(&'a self, request: &'a ChargeRequest) -> PaymentFuture<'a, String> {
        self.inner.authorize(request)
    }

    fn capture<'a>(
        &'a self,
        request: &'a ChargeRequest,
        authorization: &'a str,
    ) -> PaymentFuture<'a, String> {
        self.inner.capture(request, authorization)
    }

    fn void<'a>(&'a self, request: &'a ChargeRequest) -> PaymentFuture<'a, ()> {
        self.inner.void(request)
    }

    fn payment_method<'a>(
        &'a self,
        _account_id: &'a str,
    ) -> PaymentFuture<'a, Option<PaymentMethod>> {
        let method = self.method.clone();
        Box::pin(async move { Ok(Some(method)) })
    }
}

/// Declines every authorisation (for tests, and to switch purchases off).
#[derive(Clone, Copy, Debug, Default)]
pub struct DecliningProcessor;

impl PaymentProcessor for DecliningProcessor {
    fn authorize<'a>(&'a self, _request: &'a ChargeRequest) -> PaymentFuture<'a, String> {
        Box::pin(async { Err(PaymentError::Declined("the card was declined".into())) })
    }

    fn capture<'a>(
        &'a self,
        _request: &'a ChargeRequest,
        _authorization: &'a str,
    ) -> PaymentFuture<'a, String> {
        Box::pin(async { Err(PaymentError::Declined("the card was declined".into())) })
    }

    fn void<'a>(&'a self, _request: &'a ChargeRequest) -> PaymentFuture<'a, ()> {
        Box::pin(async { Ok(()) })
    }
}
