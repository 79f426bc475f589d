//! Webhooks for alerts (issue 14): an admin registers a receiver and gets its secret once; a
//! usage that crosses 80% of the month reaches a receiver on loopback as one signed delivery,
//! verified here with HMAC-SHA256; a refused delivery is retried with backoff and logged; a
//! restart sends nothing again, and two servers on one database send each alert once.

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use reqwest::Method;

use support::{ADMIN, ServerProcess, Storage, send};

/// What the receiver got: (signature header, body), and how many refusals are left to give.
#[derive(Clone, Default)]
struct Receiver {
    got: Arc<Mutex<Vec<(String, String)>>>,
    refuse: Arc<Mutex<usize>>,
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let signature = headers
        .get("ai-credits-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    r.got
        .lock()
        .unwrap()
        .push((signature, String::from_utf8_lossy(&body).into_owned()));
    let mut refuse = r.refuse.lock().unwrap();
    if *refuse > 0 {
        *refuse -= 1;
        return StatusCode::INTERNAL_SERVER_ERROR;
    }
    StatusCode::NO_CONTENT
}

async fn receiver(refusals: usize) -> (String, Receiver) {
    let r = Receiver::default();
    *r.refuse.lock().unwrap() = refusals;
    let app = Router::new()
        .route("/hooks", post(receive))
        .with_state(r.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hooks"), r)
}

/// Checks `t=…,v1=…` against the body and the secret, as a receiver would.
fn verified(secret: &str, header: &str, body: &str) -> bool {
    let Some((t, v1)) = header
        .strip_prefix("t=")
        .and_then(|rest| rest.split_once(",v1="))
    else {
        return false;
    };
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{t}.{body}").as_bytes());
    let Ok(given) = hex::decode(v1) else {
        return false;
    };
    let fresh = t
        .parse::<i64>()
        .is_ok_and(|t| (chrono::Utc::now().timestamp() - t).abs() < 300);
    fresh && mac.verify_slice(&given).is_ok()
}

fn fast(storage: &Storage, envs: &[(&str, &str)]) -> ServerProcess {
    ServerProcess::start_env(
        storage,
        false,
        &[
            "--webhook-scan-ms",
            "100",
            "--webhook-retry-base-ms",
            "200",
            "--webhooks-allow-private",
        ],
        envs,
    )
}

/// The deliveries the receiver got, by alert id.
fn by_alert(r: &Receiver) -> Vec<(String, Value, String)> {
    r.got
        .lock()
        .unwrap()
        .iter()
        .map(|(sig, body)| {
            let v: Value = serde_json::from_str(body).unwrap();
            (
                v["alert"]["id"].as_str().unwrap_or("").to_owned(),
                v,
                sig.clone(),
            )
        })
        .collect()
}

async fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("waited 10 s for {what}");
}

async fn alerts_reach_the_receiver_once(storage: Storage, envs: &[(&str, &str)]) {
    let (url, got) = receiver(1).await;
    let server = fast(&storage, envs);
    let http = support::client();
    let base = server.base.clone();
    let account = support::create_account(&http, &base, &json!({"plan": "growth"})).await;
    let tokens = support::Tokens::issue(&http, &base, &account).await;
    let hooks = format!("{base}/v1/accounts/{account}/webhooks");

    // Who may register, and what a registration must be.
    let (status, body) = send(
        &http,
        Method::POST,
        &hooks,
        &tokens.member,
        Some(&json!({"url": url})),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    for bad in [
        json!({"url": "ftp://x/y"}),
        json!({"url": url, "extra": 1}),
        json!({}),
    ] {
        let (status, body) = send(&http, Method::POST, &hooks, &tokens.admin, Some(&bad)).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}"
        );
    }
    let (status, hook) = send(
        &http,
        Method::POST,
        &hooks,
        &tokens.admin,
        Some(&json!({"url": url})),
    )
    .await;
    assert_eq!(status, 201, "{hook}");
    let secret = hook["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let (_, listed) = send(&http, Method::GET, &hooks, &tokens.admin, None).await;
    assert_eq!(listed["webhooks"][0]["id"], hook["id"]);
    assert!(
        !listed.to_string().contains(&secret),
        "the secret is shown once only"
    );
    assert!(
        !server.log_text().contains(&secret),
        "the secret is not logged"
    );

    // Nothing holds yet: no delivery.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(got.got.lock().unwrap().is_empty());

    // A usage that crosses 80% of the 3M monthly credits.
    let debit = json!({"kind": "debit", "id": "d1", "credits": 2_450_000, "member": "ana"});
    let (status, body) = support::post_event(&http, &base, &account, &tokens.service, &debit)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let eighty = |d: &[(String, Value, String)]| {
        d.iter()
            .filter(|(a, _, _)| a.starts_with("monthly_used:80:"))
            .count()
    };
    // The first attempt is refused (500); the retry is delivered.
    wait_for("the 80% alert, retried", || eighty(&by_alert(&got)) == 2).await;
    let deliveries = by_alert(&got);
    let (_, body, sig) = deliveries
        .iter()
        .find(|(a, _, _)| a.starts_with("monthly_used:80:"))
        .unwrap();
    assert_eq!(body["type"], "alert.monthly_used");
    assert_eq!(body["account"], account.as_str());
    assert_eq!(body["alert"]["threshold"], 80);
    assert!(body["id"].as_str().unwrap().starts_with("whd_"));
    let raw = got
        .got
        .lock()
        .unwrap()
        .iter()
        .find(|(s, _)| s == sig)
        .unwrap()
        .1
        .clone();
    assert!(
        verified(&secret, sig, &raw),
        "the signature verifies: {sig}"
    );
    assert!(
        !verified("whsec_wrong", sig, &raw),
        "and not with another secret"
    );
    let same: Vec<&Value> = deliveries
        .iter()
        .filter(|(a, _, _)| a.starts_with("monthly_used:80:"))
        .map(|(_, b, _)| b)
        .collect();
    assert_eq!(same[0]["id"], same[1]["id"], "a retry is the same delivery");
    // The delivery log: delivered on the second attempt, after a 500.
    let log_url = format!("{hooks}/deliveries");
    let mut log = Value::Null;
    for _ in 0..50 {
        let (_, l) = send(&http, Method::GET, &log_url, &tokens.admin, None).await;
        log = l;
        let done = log["deliveries"].as_array().unwrap().iter().any(|d| {
            d["alert"].as_str().unwrap().starts_with("monthly_used:80:")
                && d["state"] == "delivered"
        });
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let entry = log["deliveries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["alert"].as_str().unwrap().starts_with("monthly_used:80:"))
        .unwrap()
        .clone();
    assert_eq!(entry["state"], "delivered", "{log}");
    assert_eq!(entry["attempts"], 2);
    assert!(entry["last_status"].as_i64().unwrap() < 300);
    let (status, _) = send(&http, Method::GET, &log_url, &tokens.member, None).await;
    assert_eq!(status, 403);

    // A restart sends nothing again.
    let before = got.got.lock().unwrap().len();
    drop(server);
    let first = fast(&storage, envs);
    tokio::time::sleep(Duration::from_millis(1000)).await;
    assert_eq!(
        got.got.lock().unwrap().len(),
        before,
        "a restart delivered again: {:?}",
        by_alert(&got)
    );

    // Two servers on the database: the 100% alert is delivered once.
    let second = fast(&storage, envs);
    let debit = json!({"kind": "debit", "id": "d2", "credits": 600_000});
    let (status, body) =
        support::post_event(&http, &second.base, &account, &tokens.service, &debit)
            .await
            .unwrap();
    assert_eq!(status, 200, "{body}");
    let hundred = |d: &[(String, Value, String)]| {
        d.iter()
            .filter(|(a, _, _)| a.starts_with("monthly_used:100:"))
            .count()
    };
    wait_for("the 100% alert", || hundred(&by_alert(&got)) == 1).await;
    tokio::time::sleep(Duration::from_millis(1000)).await;
    let all = by_alert(&got);
    assert_eq!(
        hundred(&all),
        1,
        "one delivery of the 100% alert from two servers: {all:?}"
    );
    assert_eq!(eighty(&all), 2, "the 80% alert was not sent again");
    for (_, _, sig) in &all {
        let raw = got
            .got
            .lock()
            .unwrap()
            .iter()
            .find(|(s, _)| s == sig)
            .unwrap()
            .1
            .clone();
        assert!(verified(&secret, sig, &raw));
    }

    // Removing the webhook: 204, then 404.
    let hooks = format!("{}/v1/accounts/{account}/webhooks", second.base);
    let one = format!("{hooks}/{}", hook["id"].as_str().unwrap());
    let (status, _) = send(&http, Method::DELETE, &one, &tokens.admin, None).await;
    assert_eq!(status, 204);
    let (status, _) = send(&http, Method::DELETE, &one, ADMIN, None).await;
    assert_eq!(status, 404);
    let (status, _) = send(&http, Method::DELETE, &format!("{hooks}/wh_x"), ADMIN, None).await;
    assert_eq!(status, 400);
    drop(first);
    drop(second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_a_webhook_once_signed_on_sqlite() {
    // Proves on SQLite: admins register (members may not; bad bodies 400), the secret shows once and is never listed or logged; the 80% alert arrives signed (HMAC-SHA256 over "t.body", verified here), a refused attempt is retried as the same delivery and logged delivered after 2 attempts; a restart sends nothing again; two servers on one file send the 100% alert once.
    alerts_reach_the_receiver_once(support::sqlite("webhooks"), &[]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_reaches_a_webhook_once_signed_on_postgres() {
    // Proves the same on PostgreSQL (two servers, one database).
    let Some(storage) = support::fresh_postgres("webhooks_on_postgres").await else {
        return;
    };
    let key = "ab".repeat(32);
    alerts_reach_the_receiver_once(storage, &[("AI_CREDITS_DATA_KEY", key.as_str())]).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_webhook_to_the_servers_own_network_is_refused_unless_allowed() {
    // Proves a server without --webhooks-allow-private refuses loopback, private and link-local URLs and localhost (400 invalid_request) and accepts a public one.
    let server = ServerProcess::start(&support::sqlite("webhooks-private"), false);
    let http = support::client();
    let account = support::create_account(&http, &server.base, &json!({"plan": "growth"})).await;
    let hooks = format!("{}/v1/accounts/{account}/webhooks", server.base);
    for url in [
        "http://127.0.0.1:9/h",
        "http://10.0.0.8/h",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/h",
        "http://localhost/h",
    ] {
        let (status, body) = send(
            &http,
            Method::POST,
            &hooks,
            ADMIN,
            Some(&json!({"url": url})),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{url}: {body}"
        );
    }
    let (status, body) = send(
        &http,
        Method::POST,
        &hooks,
        ADMIN,
        Some(&json!({"url": "https://hooks.example.com/ai-credits"})),
    )
    .await;
    assert_eq!(status, 201, "{body}");
}
