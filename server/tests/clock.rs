//! One clock (SPEC §5.2): a server whose clock differs from the database's refuses to write,
//! says why in its log, and so cannot move an account's time forward; a healthy server on the
//! same database goes on as before. The wrong clock is the test-only
//! `AI_CREDITS_TEST_CLOCK_SHIFT_MS` (400 days fast).

mod support;

use serde_json::json;

use support::{ADMIN, ServerProcess, Storage, answer};

const FOUR_HUNDRED_DAYS_MS: &str = "34560000000";

fn fast(storage: &Storage) -> ServerProcess {
    ServerProcess::start_env(
        storage,
        false,
        &["--clock-check-every-s", "1"],
        &[("AI_CREDITS_TEST_CLOCK_SHIFT_MS", FOUR_HUNDRED_DAYS_MS)],
    )
}

async fn skewed_server_writes_nothing(storage: Storage) {
    let healthy = ServerProcess::start(&storage, false);
    let http = support::client();
    let account = support::create_account(&http, &healthy.base, &json!({"plan": "growth"})).await;
    let t = support::Tokens::issue(&http, &healthy.base, &account).await;
    let pack = json!({"kind": "purchase_pack", "id": "p1", "pack": "1M"});
    assert_eq!(
        support::post_event(&http, &healthy.base, &account, &t.admin, &pack)
            .await
            .unwrap()
            .0,
        200
    );
    let wrong = fast(&storage);
    let select = json!({"kind": "select_model", "model": "gpt-5"});
    let (status, body) = support::post_event(&http, &wrong.base, &account, &t.admin, &select)
        .await
        .unwrap();
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("clock_skew")),
        "{body}"
    );
    let (status, body) = answer(
        http.post(wrong.url("/v1/accounts"))
            .bearer_auth(ADMIN)
            .json(&json!({"plan": "growth"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (503, Some("clock_skew")),
        "{body}"
    );
    assert!(wrong.log_text().contains("clock_skew"), "the log says why");
    // The healthy server: the account's time did not move, the pack is not expired, writes go on.
    let usage = json!({"kind": "usage", "id": "u1", "model": "gpt-5", "input_tokens": 1000});
    let (status, body) = support::post_event(&http, &healthy.base, &account, &t.service, &usage)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let today = ai_credits::time::format_instant(&chrono::Utc::now());
    assert_eq!(
        body["entry"]["at"].as_str().map(|a| &a[..4]),
        Some(&today[..4]),
        "{body}"
    );
    let (_, state) = support::get_state(&http, &healthy.base, &account, &t.admin, None).await;
    assert_eq!(state["packs"][0]["expired"], 0, "{state}");
    assert_eq!(state["purchased_remaining"], 1_000_000, "{state}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_wrong_clock_writes_nothing_on_sqlite() {
    // Proves a server 400 days fast on a shared SQLite file refuses writes with 503 clock_skew and logs it, while the healthy one's account keeps its time.
    skewed_server_writes_nothing(support::sqlite("clock")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_with_a_wrong_clock_writes_nothing_on_postgres() {
    // Proves the same with two servers sharing PostgreSQL, one of them 400 days fast.
    let Some(storage) = support::postgres("clock_on_postgres") else {
        return;
    };
    skewed_server_writes_nothing(storage).await;
}
