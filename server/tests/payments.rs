//! Pack purchases in two phases (TigerBeetle's pending → post/void): the processor is never
//! awaited under an account's lock, a declined authorisation or capture credits nothing, a
//! processor past its deadline is `payment_unavailable`, and a retried purchase id is
//! charged and credited once.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use serde_json::json;

use ai_credits_server::engine::payment::{
    ChargeRequest, DecliningProcessor, EmbeddedProcessor, PaymentError, PaymentFuture,
    PaymentMethod, PaymentProcessor, WithMethodOnFile,
};
use ai_credits_server::store::{Db, Location};
use ai_credits_server::{Config, Server};
use support::{ADMIN, Tokens};

/// A processor that counts its calls and can be told to stall authorisations or decline
/// captures; otherwise it approves like the embedded one.
#[derive(Default)]
struct Scripted {
    authorized: AtomicUsize,
    captured: AtomicUsize,
    voided: AtomicUsize,
    stall_authorize: Option<Duration>,
    decline_capture: bool,
}

impl PaymentProcessor for Scripted {
    fn authorize<'a>(&'a self, request: &'a ChargeRequest) -> PaymentFuture<'a, String> {
        Box::pin(async move {
            if let Some(stall) = self.stall_authorize {
                tokio::time::sleep(stall).await;
            }
            self.authorized.fetch_add(1, Ordering::SeqCst);
            EmbeddedProcessor.authorize(request).await
        })
    }

    fn capture<'a>(
        &'a self,
        request: &'a ChargeRequest,
        authorization: &'a str,
    ) -> PaymentFuture<'a, String> {
        Box::pin(async move {
            self.captured.fetch_add(1, Ordering::SeqCst);
            if self.decline_capture {
                return Err(PaymentError::Declined(
                    "insufficient funds at capture".into(),
                ));
            }
            EmbeddedProcessor.capture(request, authorization).await
        })
    }

    fn void<'a>(&'a self, _request: &'a ChargeRequest) -> PaymentFuture<'a, ()> {
        Box::pin(async move {
            self.voided.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
    }

    fn payment_method<'a>(
        &'a self,
        _account_id: &'a str,
    ) -> PaymentFuture<'a, Option<PaymentMethod>> {
        Box::pin(async move {
            if let Some(stall) = self.stall_authorize {
                tokio::time::sleep(stall).await;
            }
            Ok(None)
        })
    }
}

/// A server in this process with `processor`, on a fresh SQLite file.
async fn in_process(processor: Arc<dyn PaymentProcessor>, timeout_s: u64) -> (String, Location) {
    let location = Location::SqliteFile(
        support::temp_dir("payments")
            .join("ai-credits.db")
            .display()
            .to_string(),
    );
    let config = Config {
        addr: "127.0.0.1:0".parse().unwrap(),
        location: location.clone(),
        admin_token: Some(ADMIN.into()),
        checkpoint_every: 1,
        payment_timeout_s: timeout_s,
        ..Config::default()
    };
    let server = Server::bind(&config, processor).await.expect("binds");
    let base = format!("http://{}", server.local_addr().unwrap());
    tokio::spawn(server.run(std::future::pending()));
    (base, location)
}

/// An account of `base` and its tokens.
async fn account(http: &reqwest::Client, base: &str) -> (String, Tokens) {
    let account = support::create_account(http, base, &json!({"plan": "growth"})).await;
    let tokens = Tokens::issue(http, base, &account).await;
    (account, tokens)
}

/// The account holds no pack and the database no charge.
async fn nothing_credited(
    http: &reqwest::Client,
    base: &str,
    location: &Location,
    account: &str,
    t: &Tokens,
) {
    let (_, state) = support::get_state(http, base, account, &t.admin, None).await;
    assert_eq!(state["packs"], json!([]), "{state}");
    assert_eq!(state["purchased_remaining"], json!(0));
    let db = Db::open(location).await.unwrap();
    assert!(db.charges(account).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_payment_adds_no_credits() {
    // Proves a purchase the processor declines is 402 payment_declined, adds no pack, records no charge, and its id stays usable.
    let (base, location) = in_process(Arc::new(DecliningProcessor), 10).await;
    let http = support::client();
    let (account, t) = account(&http, &base).await;
    let buy = json!({"kind": "purchase_pack", "id": "p1", "pack": "5M"});
    for _ in 0..2 {
        let (status, body) = support::post_event(&http, &base, &account, &t.admin, &buy)
            .await
            .unwrap();
        assert_eq!(
            (status, body["code"].as_str()),
            (402, Some("payment_declined")),
            "{body}"
        );
    }
    nothing_credited(&http, &base, &location, &account, &t).await;
    let debit = json!({"kind": "debit", "id": "d1", "credits": 5});
    let (status, _) = support::post_event(&http, &base, &account, &t.service, &debit)
        .await
        .unwrap();
    assert_eq!(status, 200, "the account still works");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declined_capture_credits_nothing_and_voids_the_authorisation() {
    // Proves an authorisation that is then declined at capture adds no pack, records no charge, and is voided.
    let processor = Arc::new(Scripted {
        decline_capture: true,
        ..Scripted::default()
    });
    let (base, location) =
        in_process(Arc::clone(&processor) as Arc<dyn PaymentProcessor>, 10).await;
    let http = support::client();
    let (account, t) = account(&http, &base).await;
    let buy = json!({"kind": "purchase_pack", "id": "p1", "pack": "1M"});
    let (status, body) = support::post_event(&http, &base, &account, &t.admin, &buy)
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (402, Some("payment_declined")),
        "{body}"
    );
    nothing_credited(&http, &base, &location, &account, &t).await;
    for _ in 0..50 {
        if processor.voided.load(Ordering::SeqCst) == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(processor.authorized.load(Ordering::SeqCst), 1);
    assert_eq!(
        processor.voided.load(Ordering::SeqCst),
        1,
        "the authorisation is voided"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_processor_past_its_deadline_is_payment_unavailable_and_credits_nothing() {
    // Proves --payment-timeout-s: a processor that does not answer in time gets 503 payment_unavailable, no pack, no charge, and a void for whatever it did late.
    let processor = Arc::new(Scripted {
        stall_authorize: Some(Duration::from_secs(30)),
        ..Scripted::default()
    });
    let (base, location) = in_process(Arc::clone(&processor) as Arc<dyn PaymentProcessor>, 1).await;
    let http = support::client();
    let (account, t) = account(&http, &base).await;
    let buy = json!({"kind": "purchase_pack", "id": "p1", "pack": "1M"});
    let (status, body) = support::post_event(&http, &base, &account, &t.admin, &buy)
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("payment_unavailable")),
        "{body}"
    );
    nothing_credited(&http, &base, &location, &account, &t).await;
    assert_eq!(
        processor.captured.load(Ordering::SeqCst),
        0,
        "never captured"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_processor_stalls_no_other_account() {
    // Proves the processor is not awaited under the batch's lock: while one account's purchase waits on a slow authorisation, another account's debit is decided and answered.
    let processor = Arc::new(Scripted {
        stall_authorize: Some(Duration::from_secs(3)),
        ..Scripted::default()
    });
    let (base, _) = in_process(Arc::clone(&processor) as Arc<dyn PaymentProcessor>, 10).await;
    let http = support::client();
    let (buyer, bt) = account(&http, &base).await;
    let (other, ot) = account(&http, &base).await;
    let purchase = {
        let (http, base, buyer, token) =
            (http.clone(), base.clone(), buyer.clone(), bt.admin.clone());
        tokio::spawn(async move {
            let buy = json!({"kind": "purchase_pack", "id": "p1", "pack": "1M"});
            support::post_event(&http, &base, &buyer, &token, &buy)
                .await
                .unwrap()
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let debit = json!({"kind": "debit", "id": "d1", "credits": 5});
    let (status, body) = support::post_event(&http, &base, &other, &ot.service, &debit)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert!(
        !purchase.is_finished(),
        "the debit was answered while the purchase still waited"
    );
    let (status, body) = purchase.await.unwrap();
    assert_eq!(status, 200, "{body}");
    // The buyer's own account was not locked either while its payment was taken.
    let (status, _) = support::post_event(
        &http,
        &base,
        &buyer,
        &bt.service,
        &json!({"kind": "debit", "id": "d2", "credits": 5}),
    )
    .await
    .unwrap();
    assert_eq!(status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_purchase_is_charged_and_credited_once() {
    // Proves sequential and concurrent retries of one purchase id are authorised and captured once, add one pack and record one charge, and a changed retry is idempotency_conflict.
    let processor = Arc::new(Scripted::default());
    let (base, location) =
        in_process(Arc::clone(&processor) as Arc<dyn PaymentProcessor>, 10).await;
    let http = support::client();
    let (account, t) = account(&http, &base).await;
    let buy = json!({"kind": "purchase_pack", "id": "p1", "pack": "2M"});
    let posts: Vec<_> = (0..16)
        .map(|_| {
            let (http, base, account, token, buy) = (
                http.clone(),
                base.clone(),
                account.clone(),
                t.admin.clone(),
                buy.clone(),
            );
            tokio::spawn(async move {
                support::post_event(&http, &base, &account, &token, &buy)
                    .await
                    .expect("request")
            })
        })
        .collect();
    let mut answers = Vec::new();
    for post in posts {
        answers.push(post.await.expect("task"));
    }
    let fresh = answers
        .iter()
        .filter(|(s, b)| *s == 200 && b["duplicate"] == json!(false))
        .count();
    let duplicates = answers
        .iter()
        .filter(|(s, b)| *s == 200 && b["duplicate"] == json!(true))
        .count();
    assert_eq!((fresh, duplicates), (1, 15), "{answers:?}");
    let changed = json!({"kind": "purchase_pack", "id": "p1", "pack": "5M"});
    let (status, body) = support::post_event(&http, &base, &account, &t.admin, &changed)
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
    assert_eq!(processor.authorized.load(Ordering::SeqCst), 1);
    assert_eq!(processor.captured.load(Ordering::SeqCst), 1);
    let (_, state) = support::get_state(&http, &base, &account, &t.admin, None).await;
    assert_eq!(state["packs"].as_array().unwrap().len(), 1);
    assert_eq!(state["purchased_remaining"], json!(2_000_000));
    let db = Db::open(&location).await.unwrap();
    assert_eq!(
        db.charges(&account).await.unwrap(),
        vec![("p1".to_owned(), "2M".to_owned(), 2500)]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_paid_purchase_has_one_receipt() {
    // Proves GET …/receipts lists one line per paid purchase, newest first (pack, its credits, the amount, who bought it, when, the processor's charge id), one only for a retried id, and only for admins and the platform (declined purchases record no charge: see above).
    let (base, _) = in_process(Arc::new(EmbeddedProcessor), 10).await;
    let http = support::client();
    let (account, t) = account(&http, &base).await;
    for (id, pack) in [("p1", "1M"), ("p2", "5M"), ("p2", "5M")] {
        let buy = json!({"kind": "purchase_pack", "id": id, "pack": pack});
        let (status, body) = support::post_event(&http, &base, &account, &t.admin, &buy)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let receipts = |token: String| {
        let http = http.clone();
        let url = format!("{base}/v1/accounts/{account}/receipts");
        async move { support::answer(http.get(url).bearer_auth(token).send().await.unwrap()).await }
    };
    let (status, body) = receipts(t.admin.clone()).await;
    assert_eq!(status, 200, "{body}");
    let lines = body["receipts"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "one per paid purchase: {body}");
    assert_eq!(lines[0]["purchase"], "p2");
    assert_eq!(lines[0]["pack"], "5M");
    assert_eq!(lines[0]["credits"], 5_000_000);
    assert_eq!(lines[0]["amount_cents"], 4900);
    assert_eq!(lines[0]["member"], "admin-member");
    assert!(!lines[0]["processor_charge_id"].as_str().unwrap().is_empty());
    assert_eq!(lines[1]["amount_cents"], 1500);
    let (status, _) = receipts(ADMIN.to_owned()).await;
    assert_eq!(status, 200);
    let (status, body) = receipts(t.member.clone()).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_payment_method_on_file_is_named_before_a_purchase() {
    // Proves GET …/payment-method names the processor's method (brand, last four, "Visa ending in 4242"), is null when the processor keeps none, 503 payment_unavailable past its deadline, and is for admins and the platform only.
    let http = support::client();
    let card = WithMethodOnFile {
        inner: EmbeddedProcessor,
        method: PaymentMethod {
            brand: "Visa".into(),
            last4: "4242".into(),
        },
    };
    let method = |base: String, account: String, token: String| {
        let http = http.clone();
        async move {
            let url = format!("{base}/v1/accounts/{account}/payment-method");
            support::answer(http.get(url).bearer_auth(token).send().await.unwrap()).await
        }
    };
    let (base, _) = in_process(Arc::new(card), 10).await;
    let (acc, t) = account(&http, &base).await;
    let (status, body) = method(base.clone(), acc.clone(), t.admin.clone()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["payment_method"],
        json!({"brand": "Visa", "last4": "4242", "label": "Visa ending in 4242"})
    );
    let (status, _) = method(base.clone(), acc.clone(), ADMIN.to_owned()).await;
    assert_eq!(status, 200);
    for token in [&t.member, &t.service] {
        let (status, body) = method(base.clone(), acc.clone(), token.clone()).await;
        assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    }
    let (status, body) = method(base.clone(), "acc_nope".into(), ADMIN.to_owned()).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));

    let (base, _) = in_process(Arc::new(EmbeddedProcessor), 10).await;
    let (acc, t) = account(&http, &base).await;
    let (status, body) = method(base, acc, t.admin.clone()).await;
    assert_eq!(
        (status, &body["payment_method"]),
        (200, &json!(null)),
        "{body}"
    );

    let stalling = Scripted {
        stall_authorize: Some(Duration::from_secs(5)),
        ..Scripted::default()
    };
    let (base, _) = in_process(Arc::new(stalling), 1).await;
    let (acc, t) = account(&http, &base).await;
    let (status, body) = method(base, acc, t.admin.clone()).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("payment_unavailable")),
        "{body}"
    );
}
