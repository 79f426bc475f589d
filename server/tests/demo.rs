//! Demo mode (`serve --demo`): the seeded account's shape whatever the day, a restart that
//! keeps it, demo sessions, the assistant backend calling the
//! model through the gateway (streamed replies, retries, refusals) and the stand-in providers
//! speaking each provider's API.

mod support;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::{Value, json};

use ai_credits::time::{add_months, format_instant, parse_instant};
use ai_credits::tokens::{TokenizerFamily, estimate_tokens};
use ai_credits::{Catalogue, EventDraft};
use ai_credits_server::engine::payment::EmbeddedProcessor;
use ai_credits_server::store::{Db, Location};
use ai_credits_server::{demo, engine};
use support::{ADMIN, ServerProcess, answer, demo_server, demo_session as session};

const DEMO: &str = "acc_demo";

async fn state(http: &reqwest::Client, base: &str, token: &str) -> Value {
    let (status, body) = support::get_state(http, base, DEMO, token, None).await;
    assert_eq!(status, 200, "{body}");
    body
}

/// Every stored event of the demo account, paging `/entries`.
async fn all_events(http: &reqwest::Client, base: &str, token: &str) -> Vec<Value> {
    let mut events = Vec::new();
    let mut after = 0;
    loop {
        let (status, page) = answer(
            http.get(format!("{base}/v1/accounts/{DEMO}/entries"))
                .query(&[("after", after.to_string())])
                .bearer_auth(token)
                .send()
                .await
                .expect("entries"),
        )
        .await;
        assert_eq!(status, 200, "{page}");
        events.extend(page["events"].as_array().expect("events").iter().cloned());
        after = page["next_cursor"].as_i64().expect("cursor");
        if page["has_more"] != json!(true) {
            return events;
        }
    }
}

async fn assistant(
    http: &reqwest::Client,
    base: &str,
    account: &str,
    token: &str,
    body: &Value,
) -> (u16, Value) {
    answer(
        http.post(format!("{base}/v1/accounts/{account}/assistant"))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("assistant"),
    )
    .await
}

fn time(value: &Value) -> DateTime<Utc> {
    parse_instant(value.as_str().expect("a time")).expect("RFC 3339")
}

/// The breakdown of credit usage of the current cycle by `what` (feature, member, model).
fn used_by<'a>(state: &'a Value, what: &str) -> Vec<&'a str> {
    state["breakdown"]["credits"][what]
        .as_object()
        .expect("a breakdown")
        .iter()
        .filter(|(_, t)| t["credits"].as_u64().unwrap_or(0) > 0)
        .map(|(k, _)| k.as_str())
        .collect()
}

#[test]
fn the_history_has_the_promised_shape_whatever_the_day() {
    // Proves that for many start days (month ends, leap days, Monday mornings after a quiet weekend) the seed lands in range: cycle begun ~20 days ago on a day 1-28, ~13 months old, 55-70 % used, the 1M pack expiring within 14 days with 300k-700k left, the 2M pack untouched, events in order and in the past.
    let catalogue = Arc::new(Catalogue::default());
    let mut nows: Vec<DateTime<Utc>> = (0..40)
        .map(|i| {
            parse_instant("2026-01-01T00:00:00Z").expect("time")
                + TimeDelta::minutes(i * (9 * 24 * 60 + 7 * 60 + 13))
        })
        .collect();
    for special in [
        "2026-03-30T06:00:00Z", // a Monday before work
        "2026-03-31T23:59:59.999Z",
        "2028-02-29T12:00:00Z",
        "2026-12-21T08:30:00Z",
        "2027-01-19T18:00:00Z",
    ] {
        nows.push(parse_instant(special).expect("time"));
    }
    for now in nows {
        let history = demo::history(&catalogue, now).expect("a history");
        let s = &history.summary;
        let anchor = history.cycle_anchor;
        let current = add_months(&anchor, 13).expect("cycle start");
        let days_in = (now - current).num_days();
        assert!(
            (17..=24).contains(&days_in),
            "{now}: cycle {days_in} days old"
        );
        assert!(
            chrono::Datelike::day(&anchor) <= 28,
            "{now}: anchor {anchor}"
        );
        let used_permille = s.monthly_used * 1000 / s.monthly_allowance;
        assert!(
            (550..=700).contains(&used_permille),
            "{now}: {used_permille} permille used"
        );
        assert_eq!(s.packs.len(), 2, "{now}");
        let (pack, left, expires) = &s.packs[0];
        assert_eq!(pack, "1M");
        assert!(
            (300_000..=700_000).contains(left),
            "{now}: 1M pack has {left}"
        );
        let expires_in = *expires - now;
        assert!(
            expires_in > TimeDelta::zero() && expires_in <= TimeDelta::days(14),
            "{now}: 1M pack expires {expires}"
        );
        assert_eq!(
            (s.packs[1].0.as_str(), s.packs[1].1),
            ("2M", 2_000_000),
            "{now}"
        );
        let times: Vec<DateTime<Utc>> =
            history.events.iter().map(|(e, _)| time(&e["at"])).collect();
        assert!(
            times.windows(2).all(|w| w[0] <= w[1]),
            "{now}: out of order"
        );
        assert!(
            times.iter().all(|t| *t < now),
            "{now}: an event in the future"
        );
        assert!(times[0] >= anchor, "{now}: an event before the account");
        assert_eq!(
            format_instant(&anchor),
            format_instant(&demo::history(&catalogue, now).expect("again").cycle_anchor)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_submit_at_keeps_an_events_time_and_never_a_future_one() {
    // Proves the engine's trusted path keeps a past `at`, refuses a future one and one before the account's latest event, and the ordinary submit still stamps the server's clock.
    let path = support::temp_dir("submit-at").join("ai-credits.db");
    let db = Db::open(&Location::SqliteFile(path.display().to_string()))
        .await
        .expect("db");
    db.create_account(
        "acc_t",
        "growth",
        "2025-01-05T09:00:00Z",
        "2025-01-05T09:00:00Z",
    )
    .await
    .expect("account");
    let ctx = Arc::new(engine::Ctx {
        db,
        cache: engine::LedgerCache::default(),
        catalogue: Arc::new(Catalogue::default()),
        processor: Arc::new(EmbeddedProcessor),
        allow_client_time: false,
        checkpoint_every: 2,
        clock: Arc::new(engine::clock::ClockWatch::new(Duration::from_secs(5))),
    });
    let engine = engine::Engine::start(Arc::clone(&ctx));
    let usage = |id: &str, at: &str| {
        EventDraft::from_json(&json!({"kind": "usage", "id": id, "at": at,
                                      "model": "gpt-5", "input_tokens": 1000}))
    };
    let future = format_instant(&(Utc::now() + TimeDelta::minutes(5)));
    let answers = engine
        .submit_at(
            "acc_t",
            vec![
                (usage("u1", "2025-02-01T10:00:00Z"), "maya".into()),
                (usage("u2", "2025-01-20T10:00:00Z"), "maya".into()),
                (usage("u3", &future), "maya".into()),
                (usage("u4", "2025-03-01T10:00:00Z"), "maya".into()),
            ],
        )
        .await;
    let at =
        |a: &Result<ai_credits_server::engine::Accepted, ai_credits_server::error::ApiError>| {
            format_instant(
                &a.as_ref()
                    .expect("accepted")
                    .entry
                    .as_ref()
                    .expect("entry")
                    .at,
            )
        };
    assert_eq!(at(&answers[0]), "2025-02-01T10:00:00Z");
    let code = |i: usize| answers[i].as_ref().err().map(|e| e.code.as_str());
    assert_eq!(code(1), Some("invalid_event"), "before the latest");
    assert_eq!(code(2), Some("invalid_event"), "in the future");
    assert_eq!(at(&answers[3]), "2025-03-01T10:00:00Z");
    let stamped = engine
        .submit(
            "acc_t".into(),
            usage("u5", "2025-03-02T10:00:00Z"),
            ai_credits_server::engine::Poster::server("maya"),
        )
        .await;
    let stamped = stamped.expect("accepted").entry.expect("entry").at;
    assert!(Utc::now() - stamped < TimeDelta::minutes(1), "{stamped}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_server_seeds_the_account_and_a_restart_keeps_it() {
    // Proves the seeded account's shape over HTTP (40-80 % used, two packs, the 1M one nearly expired but not empty, ≥3 members, features and models this cycle), the warning in the log, that a second start does not seed again, that its checkpoint is at most 16 KB, and that `ai-credits verify` finds no difference in the demo database.
    let storage = support::sqlite("demo-seed");
    let http = support::client();
    let (count, first_at) = {
        let server = demo_server(&storage);
        let base = server.base.as_str();
        let token = session(&http, base, None).await;
        let s = state(&http, base, &token).await;
        assert_eq!(s["plan"], "growth");
        let used = s["monthly"]["used"].as_u64().expect("used");
        let allowance = s["monthly"]["allowance"].as_u64().expect("allowance");
        assert_eq!(allowance, 3_000_000);
        assert!(
            (allowance * 40 / 100..=allowance * 80 / 100).contains(&used),
            "{used} used"
        );
        let packs = s["packs"].as_array().expect("packs");
        assert_eq!(packs.len(), 2, "{packs:?}");
        let nearly = &packs[0];
        assert_eq!(nearly["pack"], "1M");
        assert!(nearly["remaining"].as_u64().expect("remaining") > 0);
        let expires_in = time(&nearly["expires_at"]) - Utc::now();
        assert!(
            expires_in > TimeDelta::zero() && expires_in <= TimeDelta::days(14),
            "{nearly}"
        );
        assert_eq!(packs[1]["pack"], "2M");
        for what in ["by_member", "by_feature", "by_model"] {
            let seen = used_by(&s, what);
            assert!(seen.len() >= 3, "{what}: {seen:?}");
        }
        assert!(used_by(&s, "by_member").contains(&"maya"));
        let cycle_start = time(&s["cycle"]["start"]);
        assert!(
            (17..=24).contains(&(Utc::now() - cycle_start).num_days()),
            "{}",
            s["cycle"]
        );
        let events = all_events(&http, base, &token).await;
        assert!(events.len() > 500, "only {} events", events.len());
        let log = server.log_text();
        assert!(
            log.contains("demo mode") && log.contains("admin token"),
            "no warning in the log:\n{log}"
        );
        (events.len(), events[0]["at"].clone())
    };
    let server = demo_server(&storage);
    let base = server.base.as_str();
    let token = session(&http, base, None).await;
    let events = all_events(&http, base, &token).await;
    assert_eq!(events.len(), count, "a restart seeded again");
    assert_eq!(events[0]["at"], first_at);
    assert!(server.log_text().contains("kept as it is"));
    // The demo account's checkpoint is small whatever its history, and the audit agrees.
    let checkpoint = http
        .get(format!("{base}/v1/accounts/{DEMO}/checkpoint"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("checkpoint")
        .text()
        .await
        .expect("body");
    assert!(checkpoint.len() <= 16 * 1024, "{} bytes", checkpoint.len());
    drop(server);
    let support::Storage::Sqlite(path) = &storage else {
        unreachable!("an SQLite test")
    };
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_ai-credits"))
        .args(["verify", "--db"])
        .arg(path)
        .env_remove("DATABASE_URL")
        .output()
        .expect("verify runs");
    let out = String::from_utf8_lossy(&verify.stdout);
    assert!(
        verify.status.success() && out.contains("no difference"),
        "{out}{}",
        String::from_utf8_lossy(&verify.stderr)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_routes_exist_only_with_the_flag() {
    // Proves that without --demo the session, assistant and stand-in provider paths are 404 not_found like any unknown path, and no demo account is seeded.
    let server = ServerProcess::start(&support::sqlite("demo-off"), false);
    let http = support::client();
    let base = server.base.as_str();
    let (status, body) = answer(
        http.post(format!("{base}/v1/demo/session"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, body) = answer(
        http.post(format!("{base}/v1/accounts/{DEMO}/assistant"))
            .bearer_auth(ADMIN)
            .json(&json!({"model": "gpt-5", "message": "hi"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
    let (status, _) = answer(
        http.get(format!("{base}/demo/providers/xai/v1/models"))
            .bearer_auth("demo-xai-key-1234")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    let (status, body) = support::get_state(&http, base, DEMO, ADMIN, None).await;
    assert_eq!((status, body["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_demo_session_is_an_admin_token_for_the_member_asked() {
    // Proves POST /v1/demo/session needs no credentials, defaults to maya, names the member asked, refuses bad names and unknown fields, and the token it gives works.
    let server = demo_server(&support::sqlite("demo-session"));
    let http = support::client();
    let base = server.base.as_str();
    let post = |body: Option<Value>| {
        let mut request = http.post(format!("{base}/v1/demo/session"));
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { answer(request.send().await.expect("session")).await }
    };
    let (status, body) = post(None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["account_id"], DEMO);
    assert_eq!(body["member"], "maya");
    assert_eq!(body["role"], "admin");
    let token = body["token"].as_str().expect("token").to_owned();
    assert!(token.starts_with("aic_"));
    let (status, body) = post(Some(json!({"member": "ana"}))).await;
    assert_eq!(
        (status, body["member"].as_str()),
        (200, Some("ana")),
        "{body}"
    );
    assert_ne!(body["token"].as_str(), Some(token.as_str()));
    for bad in [
        json!({"member": "Ana"}),
        json!({"member": ""}),
        json!({"member": "a".repeat(65)}),
        json!({"member": "ana bell"}),
        json!({"member": 7}),
        json!({"member": "ana", "role": "member"}),
    ] {
        let (status, body) = post(Some(bad.clone())).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    let (status, body) = answer(
        http.post(format!("{base}/v1/demo/session"))
            .body("not json")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_str()), (400, Some("invalid_json")));
    state(&http, base, &token).await;
    let (_, openapi) = answer(
        http.get(format!("{base}/v1/openapi.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    for path in [
        "/v1/demo/session",
        "/v1/accounts/{id}/assistant",
        "/demo/providers/{provider}/v1/models",
        "/demo/providers/{provider}/v1beta/models",
        "/demo/providers/{provider}/{path}",
    ] {
        assert!(
            openapi["paths"].get(path).is_some(),
            "{path} is not described"
        );
    }
    // An admin token still buys packs.
    let (status, body) = support::post_event(
        &http,
        base,
        DEMO,
        &token,
        &json!({"kind": "purchase_pack", "id": "demo-test-buy", "pack": "5M"}),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{body}");
}

/// Server-sent events of a response as they arrive: (event, data) in order, and how many
/// separate reads brought them.
async fn sse_events(mut response: reqwest::Response) -> (Vec<(String, Value)>, usize) {
    let mut text = String::new();
    let mut reads = 0;
    while let Some(chunk) = response.chunk().await.expect("a chunk") {
        reads += 1;
        text.push_str(std::str::from_utf8(&chunk).expect("UTF-8"));
    }
    let events = text
        .split("\n\n")
        .filter(|frame| !frame.trim().is_empty())
        .map(|frame| {
            let mut event = String::new();
            let mut data = Value::Null;
            for line in frame.lines() {
                if let Some(name) = line.strip_prefix("event: ") {
                    event = name.to_owned();
                } else if let Some(json) = line.strip_prefix("data: ") {
                    data = serde_json::from_str(json).unwrap_or(Value::String(json.to_owned()));
                }
            }
            (event, data)
        })
        .collect();
    (events, reads)
}

/// The entry `id` among the demo account's newest.
async fn entry(http: &reqwest::Client, base: &str, token: &str, id: &str) -> Value {
    let (status, body) = answer(
        http.get(format!("{base}/v1/accounts/{DEMO}/state"))
            .bearer_auth(token)
            .send()
            .await
            .expect("state"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["id"] == id)
        .cloned()
        .unwrap_or_else(|| panic!("no entry {id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assistant_calls_the_model_through_the_gateway_and_streams_the_reply() {
    // Proves the demo's assistant backend goes the real way: its call reaches the stand-in Anthropic through the gateway (hold, commit of the reported usage, member and feature), the reply arrives as several server-sent deltas over several reads that add up to it, and the account moves by exactly the entry's credits.
    let server = ServerProcess::start_env(
        &support::sqlite("demo-stream"),
        false,
        &["--demo"],
        &[("AI_CREDITS_DEMO_REPLY_DELAY_MS", "300")],
    );
    let http = support::client();
    let base = server.base.as_str();
    let token = session(&http, base, None).await;
    let before = state(&http, base, &token).await;
    let message = "Which rentals are overdue for return, and who has them?";
    let response = http
        .post(format!("{base}/v1/accounts/{DEMO}/assistant"))
        .bearer_auth(&token)
        .header("accept", "text/event-stream")
        .json(&json!({"model": "claude-sonnet-4-6", "message": message, "id": "chat-1",
                      "feature": "reports",
                      "history": [{"role": "user", "text": "Hello"}, {"role": "assistant", "text": "Hi, how can I help?"}]}))
        .send()
        .await
        .expect("assistant");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let (events, reads) = sse_events(response).await;
    let deltas: Vec<&str> = events
        .iter()
        .filter(|(e, _)| e == "delta")
        .map(|(_, d)| d["text"].as_str().expect("text"))
        .collect();
    assert!(deltas.len() >= 5, "the reply came in pieces: {events:?}");
    assert!(reads >= 3, "and was not sent whole: {reads} reads");
    let (last, done) = events.last().expect("events");
    assert_eq!(last, "done", "{events:?}");
    let reply = done["reply"].as_str().expect("reply");
    assert_eq!(deltas.concat(), reply);
    assert!(reply.contains("Which rentals are overdue"), "{reply}");
    assert_eq!(done["duplicate"], false);
    let e = &done["entry"];
    assert_eq!(e["id"], "gw-chat-1", "the gateway's entry: {e}");
    assert_eq!(e["kind"], "commit");
    assert_eq!(e["hold"], "gw-chat-1-hold");
    assert_eq!(
        (e["member"].as_str(), e["feature"].as_str()),
        (Some("maya"), Some("reports"))
    );
    assert!(
        e.get("estimated").is_none(),
        "the stand-in reported its usage: {e}"
    );
    assert_eq!(
        e["output_tokens"].as_u64(),
        Some(estimate_tokens(reply, TokenizerFamily::Anthropic).tokens)
    );
    let message_alone = estimate_tokens(message, TokenizerFamily::Anthropic).tokens;
    assert!(
        e["input_tokens"].as_u64().unwrap() > message_alone,
        "the system prompt and the history were sent too: {e}"
    );
    assert_eq!(done["usage"]["input_tokens"], e["input_tokens"]);
    assert_eq!(entry(&http, base, &token, "gw-chat-1").await, *e);
    let credits = e["credits"].as_u64().expect("credits");
    assert!(credits > 0);
    let after = state(&http, base, &token).await;
    let n = |s: &Value, path: &[&str]| -> u64 {
        path.iter()
            .fold(s, |v, k| &v[*k])
            .as_u64()
            .expect("a number")
    };
    assert_eq!(
        n(&after, &["monthly", "used"]),
        n(&before, &["monthly", "used"]) + credits
    );
    assert_eq!(
        n(&after, &["held"]),
        n(&before, &["held"]),
        "the hold was closed"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_sent_again_gets_its_reply_and_is_charged_once() {
    // Proves a retry of a message id answered already gets the same reply and entry as a duplicate with nothing more charged, the same id for another message is 409 idempotency_conflict, and a JSON caller gets the whole reply.
    let server = demo_server(&support::sqlite("demo-retry"));
    let http = support::client();
    let base = server.base.as_str();
    let token = session(&http, base, Some("ben")).await;
    let message = "Summarise this week's bookings and revenue compared with last week.";
    let request = json!({"model": "gpt-5", "message": message, "id": "chat-2"});
    let (status, first) = assistant(&http, base, DEMO, &token, &request).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["entry"]["member"], "ben");
    assert_eq!(first["entry"]["feature"], "assistant");
    assert_eq!(first["entry"]["model"], "gpt-5");
    let used = state(&http, base, &token).await["monthly"]["used"].clone();
    let (status, again) = assistant(&http, base, DEMO, &token, &request).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["entry"], first["entry"]);
    assert_eq!(again["reply"], first["reply"]);
    assert_eq!(
        state(&http, base, &token).await["monthly"]["used"],
        used,
        "charged twice"
    );
    let (status, body) = assistant(
        &http,
        base,
        DEMO,
        &token,
        &json!({"model": "gpt-5", "message": "Something else", "id": "chat-2"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (409, Some("idempotency_conflict"))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_quick_action_is_sent_on_its_budget_and_costs_less_than_typing_it() {
    // Proves a quick action goes out with its own instructions and answer limit: billed under its feature, its answer within its output budget, charged no more than its estimate, and less than the same text typed; one not as the catalogue lists it is 400 invalid_request.
    let server = demo_server(&support::sqlite("demo-quick"));
    let http = support::client();
    let base = server.base.as_str();
    let token = session(&http, base, Some("ben")).await;
    let catalogue = Arc::new(Catalogue::default());
    let model = "claude-sonnet-4-6";
    for action in &catalogue.quick_actions {
        let quick = json!({"model": model, "message": action.prompt, "quick_action": action.id,
            "feature": action.feature});
        let (status, body) = assistant(&http, base, DEMO, &token, &quick).await;
        assert_eq!(status, 200, "{}: {body}", action.id);
        assert_eq!(body["entry"]["feature"], action.feature.as_str());
        let output = body["usage"]["output_tokens"].as_u64().unwrap();
        assert!(output <= action.output_tokens, "{}: {output}", action.id);
        let charged = body["entry"]["credits"].as_u64().unwrap();
        let account = ai_credits::Account {
            plan: "growth".into(),
            cycle_anchor: parse_instant("2026-01-01T00:00:00Z").unwrap(),
        };
        let ledger = ai_credits::Ledger::new(catalogue.clone(), account).unwrap();
        let at = parse_instant("2026-01-02T00:00:00Z").unwrap();
        let estimate = ledger.estimate_quick_action(at, action, model).unwrap();
        assert!(
            charged <= estimate.credits.expected,
            "{}: {charged} charged against {} estimated",
            action.id,
            estimate.credits.expected
        );
        let typed = json!({"model": model, "message": action.prompt, "feature": action.feature});
        let (status, body) = assistant(&http, base, DEMO, &token, &typed).await;
        assert_eq!(status, 200, "{body}");
        let typed_charge = body["entry"]["credits"].as_u64().unwrap();
        assert!(
            charged < typed_charge,
            "{}: {charged} quick against {typed_charge} typed",
            action.id
        );
    }
    let action = &catalogue.quick_actions[0];
    for bad in [
        json!({"model": model, "message": action.prompt, "quick_action": "nope"}),
        json!({"model": model, "message": "Something else", "quick_action": action.id}),
        json!({"model": model, "message": action.prompt, "quick_action": action.id, "feature": "agents"}),
        json!({"model": model, "message": action.prompt, "quick_action": action.id,
            "history": [{"role": "user", "text": "earlier"}]}),
        json!({"model": model, "message": action.prompt, "quick_action": 7}),
    ] {
        let (status, body) = assistant(&http, base, DEMO, &token, &bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_assistant_refuses_what_it_should() {
    // Proves who may call the assistant (member and admin of the account; service and platform 403, another account 404), that bad bodies are 400 invalid_request, an unknown model is the core's 422 unknown_model, and an own-key-only model without a key is the gateway's 403 model_unavailable.
    let server = demo_server(&support::sqlite("demo-refuse"));
    let http = support::client();
    let base = server.base.as_str();
    let admin = session(&http, base, None).await;
    let member = support::token(&http, base, DEMO, "member").await;
    let service = support::token(&http, base, DEMO, "service").await;
    let other = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let other_member = support::token(&http, base, &other, "member").await;
    let ok = json!({"model": "claude-haiku-4-5", "message": "Draft a reminder email"});
    for (who, token, want) in [
        ("member", member.as_str(), 200),
        ("admin", admin.as_str(), 200),
        ("service", service.as_str(), 403),
        ("platform", ADMIN, 403),
        ("other account", other_member.as_str(), 404),
    ] {
        let (status, body) = assistant(&http, base, DEMO, token, &ok).await;
        assert_eq!(status, want, "{who}: {body}");
        if want != 200 {
            let code = if want == 403 {
                "forbidden"
            } else {
                "not_found"
            };
            assert_eq!(body["code"], code, "{who}");
        }
    }
    let (status, body) = assistant(&http, base, DEMO, "aic_nope", &ok).await;
    assert_eq!((status, body["code"].as_str()), (401, Some("unauthorized")));
    for bad in [
        json!({"message": "no model"}),
        json!({"model": "gpt-5"}),
        json!({"model": "gpt-5", "message": ""}),
        json!({"model": "gpt-5", "message": "x".repeat(32_001)}),
        json!({"model": "gpt-5", "message": 12}),
        json!({"model": "gpt-5", "message": "hi", "history": "earlier"}),
        json!({"model": "gpt-5", "message": "hi", "history": [{"role": "system", "text": "obey"}]}),
        json!({"model": "gpt-5", "message": "hi", "history": [{"role": "user", "text": ""}]}),
        json!({"model": "gpt-5", "message": "hi", "history": [{"role": "user", "text": "a", "at": 1}]}),
        json!({"model": "gpt-5", "message": "hi", "history": vec![json!({"role": "user", "text": "a"}); 51]}),
        json!({"model": "gpt-5", "message": "hi", "temperature": 0.2}),
        json!({"model": "gpt-5", "message": "hi", "id": ""}),
    ] {
        let (status, body) = assistant(&http, base, DEMO, &member, &bad).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
    let (status, body) = assistant(
        &http,
        base,
        DEMO,
        &member,
        &json!({"model": "gpt-7-ultra", "message": "hi"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("unknown_model"))
    );
    let (status, body) = assistant(
        &http,
        base,
        DEMO,
        &member,
        &json!({"model": "grok-4", "message": "hi"}),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("model_unavailable")),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_stand_in_provider_speaks_its_api_through_the_gateway() {
    // Proves each stand-in answers the gateway in its provider's own shapes, whole and streamed (OpenAI chat and responses, Anthropic, Moonshot on the platform key; xAI and Google on demo keys), so every call is charged its reported usage, never an estimate, and a stream's text matches its usage.
    let server = demo_server(&support::sqlite("demo-shapes"));
    let http = support::client();
    let base = server.base.as_str();
    let admin = session(&http, base, None).await;
    let service = support::token(&http, base, DEMO, "service").await;
    let (status, body) = answer(
        http.put(format!("{base}/v1/accounts/{DEMO}/keys"))
            .bearer_auth(&admin)
            .json(&json!({"keys": {"xai": "demo-xai-1234", "google": "demo-google-1234"}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let chat = |model: &str, stream: bool| json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": "How many bookings today?"}]});
    let calls = [
        (
            "openai/v1/chat/completions",
            chat("gpt-5", false),
            false,
            "credits",
        ),
        (
            "openai/v1/chat/completions",
            chat("gpt-5", true),
            true,
            "credits",
        ),
        (
            "openai/v1/responses",
            json!({"model": "gpt-5", "input": "How many bookings today?"}),
            false,
            "credits",
        ),
        (
            "openai/v1/responses",
            json!({"model": "gpt-5", "input": "How many bookings today?", "stream": true}),
            true,
            "credits",
        ),
        (
            "anthropic/v1/messages",
            json!({"model": "claude-haiku-4-5", "max_tokens": 500, "messages": [{"role": "user", "content": "How many bookings today?"}]}),
            false,
            "credits",
        ),
        (
            "anthropic/v1/messages",
            json!({"model": "claude-haiku-4-5", "max_tokens": 500, "stream": true, "messages": [{"role": "user", "content": "How many bookings today?"}]}),
            true,
            "credits",
        ),
        (
            "moonshot/v1/chat/completions",
            chat("kimi-k2", true),
            true,
            "credits",
        ),
        (
            "xai/v1/chat/completions",
            chat("grok-4-fast", true),
            true,
            "own_key",
        ),
        (
            "google/v1beta/models/gemini-2.5-flash:generateContent",
            json!({"contents": [{"role": "user", "parts": [{"text": "How many bookings today?"}]}]}),
            false,
            "own_key",
        ),
        (
            "google/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse",
            json!({"contents": [{"role": "user", "parts": [{"text": "How many bookings today?"}]}]}),
            true,
            "own_key",
        ),
    ];
    for (path, body, streamed, billed) in calls {
        let mut request = http
            .post(format!("{base}/v1/accounts/{DEMO}/providers/{path}"))
            .bearer_auth(&service)
            .header("ai-credits-member", "ana")
            .json(&body);
        if path.starts_with("anthropic") {
            request = request.header("anthropic-version", "2023-06-01");
        }
        let response = request.send().await.expect("gateway");
        assert_eq!(response.status(), 200, "{path}");
        let id = response.headers()["ai-credits-call"]
            .to_str()
            .unwrap()
            .to_owned();
        let text = if streamed {
            let (events, _) = sse_events(response).await;
            assert!(events.len() >= 3, "{path}: a stream of events: {events:?}");
            assert!(
                !events
                    .iter()
                    .any(|(_, d)| d["usage"]["prompt_tokens"].is_u64()),
                "{path}: no usage chunk nobody asked for"
            );
            serde_json::to_string(&events).unwrap()
        } else {
            let (status, answer) = answer(response).await;
            assert_eq!(status, 200);
            answer.to_string()
        };
        assert!(text.contains("demo assistant"), "{path}: {text}");
        let e = entry(&http, base, &admin, &id).await;
        assert_eq!(e["billed_to"], billed, "{path}: {e}");
        assert!(
            e.get("estimated").is_none(),
            "{path}: charged the reported usage: {e}"
        );
        assert!(e["output_tokens"].as_u64().unwrap() > 20, "{path}: {e}");
        assert_eq!(e["member"], "ana");
    }
    let (_, state) = support::get_state(&http, base, DEMO, &admin, None).await;
    assert_eq!(state["held"], 0, "every hold was closed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stand_in_providers_accept_demo_keys_only() {
    // Proves that in demo mode saving keys tests them against the stand-in providers: a demo- key is connected, any other key is rejected as each provider rejects it, and a connected own key bills the assistant's call to it.
    let server = demo_server(&support::sqlite("demo-keys"));
    let http = support::client();
    let base = server.base.as_str();
    let admin = session(&http, base, None).await;
    let put = |keys: Value| {
        let request = http
            .put(format!("{base}/v1/accounts/{DEMO}/keys"))
            .bearer_auth(&admin)
            .json(&json!({"keys": keys}));
        async move { answer(request.send().await.expect("keys")).await }
    };
    let (status, body) = put(json!({"xai": "demo-xai-key-1234"})).await;
    assert_eq!(status, 200, "{body}");
    let view = |body: &Value, provider: &str| -> Value {
        body["keys"]
            .as_array()
            .expect("keys")
            .iter()
            .find(|k| k["provider"] == provider)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(view(&body, "xai")["state"], "connected", "{body}");
    let (status, body) = put(json!({
        "openai": "sk-proj-not-a-demo-key-5678",
        "anthropic": "sk-ant-not-a-demo-key-5678",
        "moonshot": "sk-moon-not-a-demo-key",
        "google": "AIzaSy-not-a-demo-key",
        "xai": "xai-not-a-demo-key-5678",
    }))
    .await;
    assert_eq!(status, 200, "{body}");
    for provider in ["openai", "anthropic", "moonshot", "google", "xai"] {
        let key = view(&body, provider);
        assert_eq!(key["state"], "rejected", "{provider}: {key}");
        assert_eq!(key["reason"], "auth", "{provider}: {key}");
    }
    assert!(!body.to_string().contains("not-a-demo-key"), "{body}");
    let (status, body) = put(json!({
        "openai": "demo-openai-1234",
        "anthropic": "demo-anthropic-1234",
        "moonshot": "demo-moonshot-1234",
        "google": "demo-google-1234",
        "xai": "demo-xai-key-1234",
    }))
    .await;
    assert_eq!(status, 200, "{body}");
    for provider in ["openai", "anthropic", "moonshot", "google", "xai"] {
        assert_eq!(view(&body, provider)["state"], "connected", "{provider}");
    }
    // Each stand-in answers in its provider's list shape.
    let (status, list) = answer(
        http.get(format!("{base}/demo/providers/anthropic/v1/models"))
            .header("x-api-key", "demo-anthropic-1234")
            .header("anthropic-version", "2023-06-01")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        list["data"].as_array().is_some_and(|d| !d.is_empty()),
        "{list}"
    );
    let (status, list) = answer(
        http.get(format!("{base}/demo/providers/google/v1beta/models"))
            .query(&[("key", "demo-google-1234")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        list["models"].as_array().is_some_and(|d| !d.is_empty()),
        "{list}"
    );
    // With the xAI key connected, Grok is billed to it: 0 credits, as a usage.
    let (status, body) = assistant(
        &http,
        base,
        DEMO,
        &admin,
        &json!({"model": "grok-4", "message": "What is due back today?"}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entry"]["billed_to"], "own_key");
    assert_eq!(body["entry"]["kind"], "usage");
    assert_eq!(body["entry"]["credits"], 0);
    assert!(body["entry"]["would_be_credits"].as_u64().unwrap() > 0);
}
