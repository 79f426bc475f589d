//! A pack purchase in two phases (see `payment` for the protocol): check under the lock,
//! authorise and capture with no lock held, then decide and record under the lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::StatusCode;

use ai_credits::EventDraft;
use ai_credits::ledger::PackHolding;

use crate::engine::payment::{ChargeRequest, PaymentError, PaymentProcessor};
use crate::engine::{Accepted, Decided, Engine, Poster, Task, mixed_up};
use crate::error::{ApiError, ErrorCode};

/// The default deadline of each payment processor call (`serve --payment-timeout-s`).
pub const PAYMENT_TIMEOUT_DEFAULT: Duration = Duration::from_secs(10);

/// What the dry run of a purchase found.
pub struct Checked {
    pub accepted: Accepted,
    /// The pack the purchase would add (none for a duplicate).
    pub pack: Option<PackHolding>,
}

/// A price the processor captured, to record beside the pack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Captured {
    pub request: ChargeRequest,
    pub charge_id: String,
}

/// The processor, its deadline, and the purchases being paid in this process: a retry of a
/// purchase still in flight waits for it (and is then a duplicate) instead of paying beside it.
pub struct Payments {
    pub(crate) processor: Arc<dyn PaymentProcessor>,
    timeout: Duration,
    in_flight: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl Payments {
    pub fn new(processor: Arc<dyn PaymentProcessor>, timeout: Duration) -> Payments {
        Payments {
            processor,
            timeout,
            in_flight: Mutex::new(HashMap::new()),
        }
    }

    fn turn(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        Arc::clone(map.entry(key.to_owned()).or_default())
    }

    fn done(&self, key: &str) {
        let mut map = self.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        // Only the map holds it: nobody is waiting for this purchase any more.
        if map.get(key).is_some_and(|t| Arc::strong_count(t) == 1) {
            map.remove(key);
        }
    }

    /// One processor call within the deadline.
    async fn within<T>(
        &self,
        call: impl std::future::Future<Output = Result<T, PaymentError>>,
    ) -> Result<T, PaymentError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(result) => result,
            Err(_) => Err(PaymentError::Failed(format!(
                "the payment processor did not answer within {} s",
                self.timeout.as_secs_f64()
            ))),
        }
    }

    /// Voids an authorisation or capture in the background (a failure is logged: the
    /// processor's own expiry of authorisations is the backstop).
    fn void_later(self: &Arc<Self>, request: ChargeRequest) {
        let payments = Arc::clone(self);
        tokio::spawn(async move {
            if let Err(e) = payments.within(payments.processor.void(&request)).await {
                tracing::error!(
                    account = %request.account_id,
                    purchase = %request.idempotency_id,
                    error = ?e,
                    "a payment could not be voided; void it with the processor"
                );
            }
        });
    }
}

/// The refusal of a purchase whose payment did not go through: nothing was credited.
pub fn refused(e: &PaymentError) -> ApiError {
    match e {
        PaymentError::Declined(why) => ApiError::new(
            StatusCode::PAYMENT_REQUIRED,
            ErrorCode::PaymentDeclined,
            format!("the payment was declined ({why}); no credits were added; use another card"),
        ),
        PaymentError::Failed(why) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorCode::PaymentUnavailable,
            format!(
                "the payment could not be taken ({why}); nothing was charged and no credits were added; retry with the same id"
            ),
        ),
    }
}

impl Engine {
    /// The account's payment method on file, within the processor's deadline.
    pub async fn payment_method(
        &self,
        account_id: &str,
    ) -> Result<Option<super::payment::PaymentMethod>, PaymentError> {
        let payments = &self.payments;
        payments
            .within(payments.processor.payment_method(account_id))
            .await
    }

    /// Buys a pack: check, authorise, capture, record (see `payment`).
    pub async fn purchase(
        &self,
        account_id: String,
        draft: EventDraft,
        poster: Poster,
    ) -> Result<Accepted, ApiError> {
        let key = format!("{account_id}\u{0}{}", draft.id.as_deref().unwrap_or(""));
        let turn = self.payments.turn(&key);
        let answer = {
            let _mine = turn.lock().await;
            self.pay_and_record(account_id, draft, poster).await
        };
        drop(turn);
        self.payments.done(&key);
        answer
    }

    async fn pay_and_record(
        &self,
        account_id: String,
        draft: EventDraft,
        poster: Poster,
    ) -> Result<Accepted, ApiError> {
        let checked = match self
            .send(
                account_id.clone(),
                Task::Check(draft.clone()),
                poster.clone(),
            )
            .await?
        {
            Decided::Checked(checked) => checked,
            _ => return Err(mixed_up()),
        };
        let Some(pack) = checked.pack else {
            // A duplicate: its pack and charge were recorded the first time.
            return Ok(checked.accepted);
        };
        let request = ChargeRequest {
            account_id: account_id.clone(),
            pack: pack.pack.clone(),
            amount_cents: pack.price_cents,
            idempotency_id: draft.id.clone().unwrap_or_default(),
            member: poster.member.clone(),
        };
        let payments = &self.payments;
        let authorization = match payments
            .within(payments.processor.authorize(&request))
            .await
        {
            Ok(id) => id,
            Err(e) => {
                // A late authorisation must not linger.
                payments.void_later(request);
                return Err(refused(&e));
            }
        };
        let charge_id = match payments
            .within(payments.processor.capture(&request, &authorization))
            .await
        {
            Ok(id) => id,
            Err(e) => {
                payments.void_later(request);
                return Err(refused(&e));
            }
        };
        let captured = Captured {
            request: request.clone(),
            charge_id,
        };
        match self
            .send(account_id, Task::Purchase(draft, captured), poster)
            .await
        {
            Ok(Decided::Event(accepted)) => Ok(accepted),
            Ok(_) => Err(mixed_up()),
            // The ledger refused it after all (the account changed since the check): give the
            // money back. A storage failure is not a refusal: the capture stands, and a retry
            // with the same id records it (the processor's idempotency charges once).
            Err(e) if e.status.is_client_error() => {
                payments.void_later(request);
                Err(e)
            }
            Err(e) => Err(e),
        }
    }
}
