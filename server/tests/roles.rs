//! Who may do what (SPEC §5.1), read from the server's own table: every caller × every
//! action's endpoints × its own account and another one; then the rules the table cannot
//! show (holds for oneself, one's own releases, hold length, plans, the model's audit, a
//! member's view of usage, whose clock counts).

mod support;

use reqwest::Method;
use serde_json::{Value, json};

use ai_credits_server::http::roles::{Action, Grant, TABLE, Who, grant};
use support::{ADMIN, ServerProcess, answer};

/// In five minutes, in the core's time format.
fn soon() -> String {
    ai_credits::time::format_instant(&(chrono::Utc::now() + chrono::Duration::minutes(5)))
}

/// The requests that do `action` on `account` (`n` keeps ids fresh).
fn requests(action: Action, account: &str, n: usize) -> Vec<(Method, String, Option<Value>)> {
    let events = format!("/v1/accounts/{account}/events");
    let post = |body: Value| (Method::POST, events.clone(), Some(body));
    let on = |method: Method, path: &str, body: Option<Value>| {
        (method, format!("/v1/accounts/{account}/{path}"), body)
    };
    match action {
        Action::CreateAccount => vec![(
            Method::POST,
            "/v1/accounts".into(),
            Some(json!({"plan": "growth"})),
        )],
        Action::ChangePlan => vec![
            on(Method::POST, "plan", Some(json!({"plan": "growth"}))),
            post(json!({"kind": "change_plan", "plan": "growth"})),
        ],
        Action::IssueToken => vec![on(
            Method::POST,
            "tokens",
            Some(json!({"member": "x", "role": "member"})),
        )],
        Action::ListTokens => vec![on(Method::GET, "tokens", None)],
        Action::RevokeToken => vec![on(Method::DELETE, "tokens/tok_none", None)],
        Action::PurchasePack => {
            vec![post(
                json!({"kind": "purchase_pack", "id": format!("p{n}"), "pack": "1M"}),
            )]
        }
        Action::ManageKeys => vec![
            on(Method::GET, "keys", None),
            on(Method::DELETE, "keys/openai", None),
        ],
        Action::ReadAudit => vec![on(Method::GET, "audit", None)],
        Action::MarkKeyRejected => vec![on(
            Method::POST,
            "keys/openai/rejected",
            Some(json!({"reason": "auth"})),
        )],
        Action::SelectModel => vec![post(json!({"kind": "select_model", "model": "gpt-5"}))],
        Action::Hold => vec![post(
            json!({"kind": "hold", "id": format!("h{n}"), "credits": 10, "expires_at": soon()}),
        )],
        Action::Release => vec![post(
            json!({"kind": "release", "id": format!("r{n}"), "hold": "h-open"}),
        )],
        Action::Charge => vec![
            post(
                json!({"kind": "usage", "id": format!("u{n}"), "model": "gpt-5", "input_tokens": 100}),
            ),
            post(json!({"kind": "debit", "id": format!("d{n}"), "credits": 10})),
            post(
                json!({"kind": "commit", "id": format!("c{n}"), "hold": "h-open", "model": "gpt-5", "input_tokens": 10}),
            ),
        ],
        Action::Read => vec![
            on(Method::GET, "state", None),
            on(Method::GET, "entries", None),
            on(Method::GET, "checkpoint", None),
        ],
        Action::GatewayCall => vec![on(
            Method::POST,
            "providers/openai/chat/completions",
            Some(json!({"model": "gpt-5", "messages": [{"role": "user", "content": "hi"}]})),
        )],
        // An id that cannot be one (400 for whoever may ask), so no caller meets a 404.
        Action::Conversations => vec![
            on(Method::GET, "conversations", None),
            on(Method::GET, "conversations/not%20an%20id", None),
            on(Method::DELETE, "conversations/not%20an%20id", None),
        ],
        // A URL and an id that are not ones (400 for whoever may ask): nothing is registered.
        Action::ManageWebhooks => vec![
            on(Method::GET, "webhooks", None),
            on(Method::GET, "webhooks/deliveries", None),
            on(Method::POST, "webhooks", Some(json!({"url": "not a url"}))),
            on(Method::DELETE, "webhooks/not-a-webhook", None),
        ],
        Action::ReadReceipts => vec![
            on(Method::GET, "receipts", None),
            on(Method::GET, "payment-method", None),
        ],
        Action::PostKeyEvent => ["connect_key", "key_invalid", "remove_key"]
            .into_iter()
            .map(|kind| post(json!({"kind": kind, "provider": "openai"})))
            .collect(),
    }
}

/// Codes that mean "this caller may not", as opposed to the core's or the endpoint's own
/// answers to an allowed caller.
const REFUSALS: [&str; 5] = [
    "unauthorized",
    "forbidden",
    "not_found",
    "member_mismatch",
    "not_your_hold",
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_caller_on_every_endpoint_is_the_roles_table() {
    // Proves each cell of SPEC §5.1's table as the server enforces it: 401 without a known token, 404 for another account's token, 403 where the table says no, through where it says yes; and no token in the log.
    let server = ServerProcess::start(&support::sqlite("roles"), false);
    let http = support::client();
    let base = server.base.as_str();
    let own = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let other = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let tokens = support::Tokens::issue(&http, base, &own).await;
    let other_tokens = support::Tokens::issue(&http, base, &other).await;
    // An open hold of the member's for commits and releases to name, on both accounts.
    for (account, t) in [(&own, &tokens), (&other, &other_tokens)] {
        let hold = json!({"kind": "hold", "id": "h-open", "credits": 10, "expires_at": soon()});
        let (status, body) = support::post_event(&http, base, account, &t.member, &hold)
            .await
            .unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let callers: [(&str, Option<Who>, Option<&str>); 6] = [
        ("nobody", None, None),
        ("bogus", None, Some("aic_not-a-real-token")),
        ("platform", Some(Who::Platform), Some(ADMIN)),
        ("admin", Some(Who::Admin), Some(tokens.admin.as_str())),
        ("member", Some(Who::Member), Some(tokens.member.as_str())),
        ("service", Some(Who::Service), Some(tokens.service.as_str())),
    ];
    let mut n = 0;
    let mut problems = Vec::new();
    let mut tried = 0;
    for (action, _) in TABLE {
        for (name, who, token) in &callers {
            for (target, account) in [("own", &own), ("other", &other)] {
                if action == Action::CreateAccount && target == "other" {
                    continue;
                }
                for (method, path, body) in requests(action, account, n) {
                    n += 1;
                    tried += 1;
                    let mut request = http.request(method.clone(), format!("{base}{path}"));
                    if let Some(token) = token {
                        request = request.bearer_auth(token);
                    }
                    if let Some(body) = &body {
                        request = request.json(body);
                    }
                    let (status, answer) = answer(request.send().await.expect("request")).await;
                    let code = answer["code"].as_str().unwrap_or("");
                    let want = match who {
                        None => Some((401, "unauthorized")),
                        Some(Who::Platform) => None,
                        Some(_) if target == "other" => Some((404, "not_found")),
                        Some(_) => None,
                    }
                    .or_else(|| match grant(who.expect("known"), action) {
                        Grant::No => Some((403, "forbidden")),
                        Grant::Yes | Grant::OwnMember => None,
                    });
                    let ok = match want {
                        Some((s, c)) => status == s && code == c,
                        None => (200..300).contains(&status) || !REFUSALS.contains(&code),
                    };
                    if !ok {
                        problems.push(format!(
                            "{name} {action:?} on {target} ({method} {path}): {status} {answer}, wanted {want:?}"
                        ));
                    }
                }
            }
        }
    }
    assert!(tried > 200, "the matrix ran {tried} requests");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let log = server.log_text();
    assert!(log.contains("request"), "the server logs requests");
    for secret in [ADMIN, &tokens.admin, &tokens.member, &tokens.service] {
        assert!(!log.contains(secret), "a token is in the log");
    }
}

async fn post(
    http: &reqwest::Client,
    base: &str,
    account: &str,
    token: &str,
    event: Value,
) -> (u16, Value) {
    support::post_event(http, base, account, token, &event)
        .await
        .expect("post")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_hold_for_themselves_and_release_only_their_own() {
    // Proves member_mismatch (a member or admin naming another member), not_your_hold (a member releasing another's hold, even after a checkpoint) and that admins and the service release any hold.
    let server = ServerProcess::start_with(
        &support::sqlite("own-holds"),
        false,
        &["--checkpoint-every", "2"],
    );
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = support::Tokens::issue(&http, base, &account).await;
    let hold = |id: &str, member: Option<&str>| {
        let mut h = json!({"kind": "hold", "id": id, "credits": 100, "expires_at": soon()});
        if let Some(m) = member {
            h["member"] = json!(m);
        }
        h
    };
    for token in [&t.member, &t.admin] {
        let (status, body) = post(&http, base, &account, token, hold("h-ben", Some("ben"))).await;
        assert_eq!(
            (status, body["code"].as_str()),
            (403, Some("member_mismatch"))
        );
    }
    // A hold that names nobody is the token's member's; one naming itself is fine too.
    let (status, body) = post(&http, base, &account, &t.member, hold("h-own", None)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = post(
        &http,
        base,
        &account,
        &t.member,
        hold("h-own2", Some("member-member")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // The service holds for anyone; a member may not release that.
    let (status, body) = post(
        &http,
        base,
        &account,
        &t.service,
        hold("h-ben", Some("ben")),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    // More events so that a checkpoint is taken past the holds.
    for i in 0..4 {
        let debit = json!({"kind": "debit", "id": format!("d{i}"), "credits": 1});
        assert_eq!(post(&http, base, &account, &t.service, debit).await.0, 200);
    }
    let release = |id: &str, hold: &str| json!({"kind": "release", "id": id, "hold": hold});
    let (status, body) = post(&http, base, &account, &t.member, release("r1", "h-ben")).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (403, Some("not_your_hold"))
    );
    let (status, body) = post(&http, base, &account, &t.member, release("r2", "h-own")).await;
    assert_eq!(status, 200, "{body}");
    // The usage of the committed hold is the token's member's, whatever the commit says.
    let (status, body) = post(&http, base, &account, &t.admin, release("r3", "h-ben")).await;
    assert_eq!(status, 200, "an admin releases any hold: {body}");
    let commit = json!({"kind": "commit", "id": "c1", "hold": "h-own2", "model": "gpt-5", "input_tokens": 1000});
    let (status, body) = post(&http, base, &account, &t.service, commit).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["entry"]["member"], "member-member", "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holds_are_bounded_and_plans_are_the_platforms() {
    // Proves hold_too_long past --hold-max-duration-s, that admins cannot change the plan (events or endpoint), that the platform can, and that select_model is admin-only and audited.
    let server = ServerProcess::start_with(
        &support::sqlite("bounds"),
        false,
        &["--hold-max-duration-s", "600"],
    );
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = support::Tokens::issue(&http, base, &account).await;
    let later = |minutes: i64| {
        ai_credits::time::format_instant(&(chrono::Utc::now() + chrono::Duration::minutes(minutes)))
    };
    let forever =
        json!({"kind": "hold", "id": "h1", "credits": 100, "expires_at": "9999-12-31T00:00:00Z"});
    let (status, body) = post(&http, base, &account, &t.member, forever).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("hold_too_long"))
    );
    let eleven = json!({"kind": "hold", "id": "h2", "credits": 100, "expires_at": later(11)});
    let (status, body) = post(&http, base, &account, &t.service, eleven).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("hold_too_long"))
    );
    let nine = json!({"kind": "hold", "id": "h3", "credits": 100, "expires_at": later(9)});
    assert_eq!(post(&http, base, &account, &t.member, nine).await.0, 200);

    let to_pro = json!({"kind": "change_plan", "plan": "pro"});
    let (status, body) = post(&http, base, &account, &t.admin, to_pro.clone()).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let plan = |token: &str, plan: &str| {
        http.post(format!("{base}/v1/accounts/{account}/plan"))
            .bearer_auth(token)
            .json(&json!({ "plan": plan }))
            .send()
    };
    let (status, _) = answer(plan(&t.admin, "pro").await.unwrap()).await;
    assert_eq!(status, 403);
    let (status, body) = answer(plan(ADMIN, "pro").await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = answer(plan(ADMIN, "nope").await.unwrap()).await;
    assert_eq!((status, body["code"].as_str()), (422, Some("unknown_plan")));
    let (_, state) = support::get_state(&http, base, &account, &t.admin, None).await;
    assert_eq!(state["plan"], "pro", "{state}");

    let select = json!({"kind": "select_model", "model": "gpt-5"});
    let (status, body) = post(&http, base, &account, &t.member, select.clone()).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, body) = post(&http, base, &account, &t.admin, select).await;
    assert_eq!(status, 200, "{body}");
    let (_, audit) = answer(
        http.get(format!("{base}/v1/accounts/{account}/audit"))
            .bearer_auth(&t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let entries = audit["entries"].as_array().expect("audit entries");
    assert!(
        entries.iter().any(|e| e["action"] == "model_selected"
            && e["member"] == "admin-member"
            && e["detail"]
                .as_str()
                .is_some_and(|d| d.ends_with("-> gpt-5"))),
        "{audit}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_sees_only_its_own_usage_row() {
    // Proves a member's reads name no other member (SPEC §5.1 "usage by member: its own only"): /state's usage by member holds only its own row, and its checkpoint, entries and events neither name nor count a colleague, while every balance is the admin's; the admin reads everyone's.
    let server = ServerProcess::start(&support::sqlite("own-usage"), false);
    let http = support::client();
    let base = server.base.as_str();
    let account = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let t = support::Tokens::issue(&http, base, &account).await;
    for (i, member) in ["member-member", "ben", "cleo"].iter().enumerate() {
        let usage = json!({"kind": "usage", "id": format!("u{i}"), "model": "gpt-5", "input_tokens": 1000, "member": member});
        assert_eq!(post(&http, base, &account, &t.service, usage).await.0, 200);
    }
    let hold =
        json!({"kind": "hold", "id": "h-2", "credits": 500, "expires_at": soon(), "member": "ben"});
    assert_eq!(post(&http, base, &account, &t.service, hold).await.0, 200);
    let rows = |state: &Value| -> Vec<String> {
        let mut found = Vec::new();
        fn walk(v: &Value, found: &mut Vec<String>) {
            if let Value::Object(o) = v {
                for (k, v) in o {
                    if k == "usage_by_member" || k == "by_member" {
                        found.extend(v.as_object().into_iter().flat_map(|m| m.keys().cloned()));
                    } else {
                        walk(v, found);
                    }
                }
            }
        }
        walk(state, &mut found);
        found.sort();
        found.dedup();
        found
    };
    let (_, member_view) = support::get_state(&http, base, &account, &t.member, None).await;
    let (_, admin_view) = support::get_state(&http, base, &account, &t.admin, None).await;
    assert_eq!(rows(&member_view), ["member-member"], "{member_view}");
    assert_eq!(rows(&admin_view), ["ben", "cleo", "member-member"]);
    for figure in ["available", "held", "monthly"] {
        assert_eq!(member_view[figure], admin_view[figure], "{figure}");
    }
    let read = |token: String, path: &str| {
        let url = format!("{base}/v1/accounts/{account}/{path}");
        let http = http.clone();
        async move {
            let (status, body) =
                support::answer(http.get(url).bearer_auth(token).send().await.unwrap()).await;
            assert_eq!(status, 200, "{body}");
            body
        }
    };
    for path in ["checkpoint", "entries?after=0", "entries?before=999"] {
        let member = read(t.member.clone(), path).await.to_string();
        let admin = read(t.admin.clone(), path).await.to_string();
        for colleague in ["ben", "cleo"] {
            assert!(!member.contains(colleague), "{path}: {member}");
            assert!(admin.contains(colleague), "{path}: {admin}");
        }
        assert!(member.contains("member-member"), "{path}: {member}");
    }
    // The member's checkpoint restores a ledger whose balance is the server's.
    let doc = read(t.member.clone(), "checkpoint").await;
    let checkpoint = ai_credits::checkpoint::Checkpoint::from_value(&doc["checkpoint"]).unwrap();
    let catalogue = std::sync::Arc::new(ai_credits::Catalogue::default());
    let ledger = ai_credits::Ledger::from_checkpoint(catalogue, &checkpoint).unwrap();
    let restored = serde_json::to_value(ledger.balance(ledger.now().unwrap()).unwrap()).unwrap();
    for figure in ["available", "held"] {
        assert_eq!(restored[figure], admin_view[figure], "{figure}");
    }
    // The member's entries still hold every charge (its replica computes the same balances).
    let member = read(t.member.clone(), "entries?after=0").await;
    let admin = read(t.admin.clone(), "entries?after=0").await;
    assert_eq!(
        member["events"].as_array().unwrap().len(),
        admin["events"].as_array().unwrap().len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_replay_server_only_the_platforms_time_counts() {
    // Proves on --allow-client-time: a member's `at` is replaced by the server's clock (a refused event dated 9999 moves nothing), a platform `at` past the clock bound is refused, and only the platform posts key events.
    let server = ServerProcess::start(&support::sqlite("client-time"), true);
    let http = support::client();
    let base = server.base.as_str();
    let anchor = json!({"plan": "growth", "cycle_anchor": "2026-01-01T00:00:00Z"});
    let account = support::create_account(&http, base, &anchor).await;
    let t = support::Tokens::issue(&http, base, &account).await;
    let past = "2026-01-05T10:00:00Z";
    let debit = json!({"kind": "debit", "id": "d1", "at": past, "credits": 1});
    let (status, body) = post(&http, base, &account, ADMIN, debit).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["entry"]["at"], past,
        "the platform's past time is kept"
    );
    let far = json!({"kind": "hold", "id": "h1", "at": "9999-01-01T00:00:00Z", "credits": 999_999_999_999u64, "expires_at": "9999-01-01T00:05:00Z"});
    let (status, _) = post(&http, base, &account, &t.member, far).await;
    assert!(status >= 400, "an oversized hold is refused");
    let (_, page) = answer(
        http.get(format!("{base}/v1/accounts/{account}/entries"))
            .bearer_auth(&t.admin)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let now = page["now"].as_str().unwrap_or("");
    assert!(
        now.starts_with("2026"),
        "the account's time stayed on the server's clock: {page}"
    );
    let future = json!({"kind": "debit", "id": "d2", "at": "9999-01-01T00:00:00Z", "credits": 1});
    let (status, body) = post(&http, base, &account, ADMIN, future).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (422, Some("invalid_event")),
        "{body}"
    );
    let now = ai_credits::time::format_instant(&chrono::Utc::now());
    let key = json!({"kind": "connect_key", "provider": "openai", "at": now});
    let (status, body) = post(&http, base, &account, &t.admin, key.clone()).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, body) = post(&http, base, &account, ADMIN, key).await;
    assert_eq!(status, 200, "{body}");
}
