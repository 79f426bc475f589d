//! Conversations kept by the server (issue 14): the gateway records a call that names a
//! conversation once it is charged; a person lists, reads and deletes only its own, from any
//! session; they stay readable when credits are exhausted and across a restart, on SQLite and
//! PostgreSQL; a message sent again after a restart is answered from its stored turn.

mod support;

use reqwest::Method;
use serde_json::{Value, json};

use support::{ADMIN, Storage, demo_server, demo_session as session};

const DEMO: &str = "acc_demo";

async fn call(
    http: &reqwest::Client,
    base: &str,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let url = format!("{base}/v1/accounts/{DEMO}/{path}");
    support::send(http, method, &url, token, body.as_ref()).await
}

async fn say(
    http: &reqwest::Client,
    base: &str,
    token: &str,
    conversation: &str,
    id: &str,
    message: &str,
) -> Value {
    let body =
        json!({"model": "gpt-5", "message": message, "id": id, "conversation": conversation});
    let (status, done) = call(http, base, Method::POST, "assistant", token, Some(body)).await;
    assert_eq!(status, 200, "{done}");
    done
}

async fn get(http: &reqwest::Client, base: &str, path: &str, token: &str) -> (u16, Value) {
    call(http, base, Method::GET, path, token, None).await
}

/// The owner's conversation with two messages, read from another session; nobody else's.
async fn kept_and_private(storage: &Storage) {
    let server = demo_server(storage);
    let http = support::client();
    let base = server.base.as_str();
    let browser_a = session(&http, base, None).await;
    let first = say(
        &http,
        base,
        &browser_a,
        "c-1",
        "m-1",
        "How many bookings today?",
    )
    .await;
    let second = say(
        &http,
        base,
        &browser_a,
        "c-1",
        "m-2",
        "Create a booking for three products over five days",
    )
    .await;
    assert_eq!(first["conversation"], "c-1");
    for done in [&first, &second] {
        assert_eq!(done["turn"]["credits"], done["entry"]["credits"], "{done}");
        assert!(done["turn"]["credits"].as_i64().unwrap() > 0, "{done}");
    }

    // Another browser of the same person: the list and the whole conversation.
    let browser_b = session(&http, base, None).await;
    let (status, list) = get(&http, base, "conversations", &browser_b).await;
    assert_eq!(status, 200, "{list}");
    let listed = list["conversations"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{list}");
    assert_eq!(listed[0]["id"], "c-1");
    assert_eq!(listed[0]["title"], "How many bookings today?");
    assert_eq!(listed[0]["turns"], 2);
    let total =
        first["entry"]["credits"].as_i64().unwrap() + second["entry"]["credits"].as_i64().unwrap();
    assert_eq!(listed[0]["credits"], total);
    let (status, one) = get(&http, base, "conversations/c-1", &browser_b).await;
    assert_eq!(status, 200, "{one}");
    let messages = one["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["message"], "How many bookings today?");
    assert_eq!(messages[0]["reply"], first["reply"]);
    assert_eq!(messages[1]["entry"], second["entry"]["id"]);
    assert_eq!(messages[1]["credits"], second["entry"]["credits"]);
    assert_eq!(messages[1]["model"], "gpt-5");

    // A member sees none of the owner's, and the owner (an admin) none of the member's.
    let member = support::token(&http, base, DEMO, "member").await;
    say(
        &http,
        base,
        &member,
        "c-1",
        "m-3",
        "Which products are low on stock?",
    )
    .await;
    let (_, theirs) = get(&http, base, "conversations", &member).await;
    assert_eq!(theirs["conversations"].as_array().unwrap().len(), 1);
    assert_eq!(
        theirs["conversations"][0]["title"],
        "Which products are low on stock?"
    );
    assert_eq!(
        theirs["conversations"][0]["turns"], 1,
        "the owner's c-1 is not the member's"
    );
    let (_, owners) = get(&http, base, "conversations/c-1", &browser_b).await;
    assert_eq!(
        owners["messages"].as_array().unwrap().len(),
        2,
        "the member's turn is not the owner's"
    );
    let (status, refused) = get(&http, base, "conversations?member=owner", &member).await;
    assert_eq!(
        (status, refused["code"].as_str()),
        (403, Some("member_mismatch"))
    );
    let (status, _) = get(&http, base, "conversations/c-2", &browser_b).await;
    assert_eq!(status, 404);

    // The host app's backend reads a named person's; the operator reads nobody's.
    let service = support::token(&http, base, DEMO, "service").await;
    let (status, by_service) =
        get(&http, base, "conversations?member=member-member", &service).await;
    assert_eq!(status, 200, "{by_service}");
    assert_eq!(
        by_service["conversations"][0]["title"],
        "Which products are low on stock?"
    );
    let (status, body) = get(&http, base, "conversations", &service).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );
    let (status, body) = get(&http, base, "conversations?member=owner", ADMIN).await;
    assert_eq!((status, body["code"].as_str()), (403, Some("forbidden")));
    let (status, body) = get(&http, base, "conversations/no%20such", &browser_b).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (400, Some("invalid_request"))
    );

    // Deleting is one's own: the owner cannot delete the member's; the member can, and the
    // ledger keeps the call's entry.
    let (status, _) = call(
        &http,
        base,
        Method::DELETE,
        "conversations/c-1?member=member-member",
        &browser_b,
        None,
    )
    .await;
    assert_eq!(status, 403);
    let entries_before = support::get_state(&http, base, DEMO, &member, None).await.1["entries"]
        .as_array()
        .unwrap()
        .len();
    let (status, _) = call(
        &http,
        base,
        Method::DELETE,
        "conversations/c-1",
        &member,
        None,
    )
    .await;
    assert_eq!(status, 204);
    let (status, _) = call(
        &http,
        base,
        Method::DELETE,
        "conversations/c-1",
        &member,
        None,
    )
    .await;
    assert_eq!(status, 404);
    let (_, theirs) = get(&http, base, "conversations", &member).await;
    assert!(theirs["conversations"].as_array().unwrap().is_empty());
    let (_, owners) = get(&http, base, "conversations/c-1", &browser_b).await;
    assert_eq!(
        owners["messages"].as_array().unwrap().len(),
        2,
        "the owner's stays"
    );
    let entries_after = support::get_state(&http, base, DEMO, &member, None).await.1["entries"]
        .as_array()
        .unwrap()
        .len();
    assert_eq!(entries_before, entries_after, "the ledger's entries stay");

    // Exhausted credits: the conversation still reads.
    let available = support::get_state(&http, base, DEMO, &browser_b, None)
        .await
        .1["available"]
        .as_u64()
        .unwrap();
    let debit = json!({"kind": "debit", "id": "drain", "credits": available});
    let (status, body) = support::post_event(&http, base, DEMO, &service, &debit)
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    let (status, body) = call(
        &http,
        base,
        Method::POST,
        "assistant",
        &browser_b,
        Some(json!({"model": "gpt-5", "message": "one more?", "conversation": "c-1"})),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (402, Some("credits_exhausted")),
        "{body}"
    );
    let (status, one) = get(&http, base, "conversations/c-1", &browser_b).await;
    assert_eq!(status, 200);
    assert_eq!(one["messages"].as_array().unwrap().len(), 2);
    drop(server);

    // A restart keeps them, and a message sent again is answered from its turn.
    let server = demo_server(storage);
    let base = server.base.as_str();
    let browser_c = session(&http, base, None).await;
    let (status, one) = get(&http, base, "conversations/c-1", &browser_c).await;
    assert_eq!(status, 200);
    assert_eq!(one["messages"][1]["reply"], second["reply"]);
    let again = say(
        &http,
        base,
        &browser_c,
        "c-1",
        "m-2",
        "Create a booking for three products over five days",
    )
    .await;
    assert_eq!(again["duplicate"], true);
    assert_eq!(again["reply"], second["reply"]);
    assert_eq!(again["turn"], second["turn"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_are_kept_per_person_on_sqlite() {
    // Proves on SQLite: a conversation is listed and read from another session of its person with each message's credits (its entry's); others (members, the owner, the operator) do not see it; deleting is one's own and keeps the ledger; it reads when credits are exhausted and after a restart, where a resent message is answered from its turn.
    kept_and_private(&support::sqlite("conversations")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conversations_are_kept_per_person_on_postgres() {
    // Proves the same on PostgreSQL.
    let Some(storage) = support::fresh_postgres("conversations_on_postgres").await else {
        return;
    };
    kept_and_private(&storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gateway_call_naming_a_conversation_is_kept_in_every_api() {
    // Proves the gateway records the person's message and the reply it passed on, whole and streamed, for OpenAI, Anthropic and Google shapes, under the member the service named, once per Idempotency-Key; a bad conversation id is 400 before any call.
    let server = demo_server(&support::sqlite("conversations-gateway"));
    let http = support::client();
    let base = server.base.as_str();
    let service = support::token(&http, base, DEMO, "service").await;
    let ask = "How many bookings today?";
    let calls = [
        (
            "openai/v1/chat/completions",
            json!({"model": "gpt-5", "messages": [{"role": "system", "content": "brief"}, {"role": "user", "content": ask}]}),
        ),
        (
            "openai/v1/chat/completions",
            json!({"model": "gpt-5", "stream": true, "messages": [{"role": "user", "content": ask}]}),
        ),
        (
            "anthropic/v1/messages",
            json!({"model": "claude-haiku-4-5", "max_tokens": 300, "messages": [{"role": "user", "content": [{"type": "text", "text": ask}]}]}),
        ),
        (
            "anthropic/v1/messages",
            json!({"model": "claude-haiku-4-5", "max_tokens": 300, "stream": true, "messages": [{"role": "user", "content": ask}]}),
        ),
        (
            "openai/v1/responses",
            json!({"model": "gpt-5", "input": ask}),
        ),
    ];
    let mut replies = Vec::new();
    for (i, (path, body)) in calls.iter().enumerate() {
        let mut request = http
            .post(format!("{base}/v1/accounts/{DEMO}/providers/{path}"))
            .bearer_auth(&service)
            .header("ai-credits-member", "rosa")
            .header("ai-credits-conversation", "host:c-7")
            .header("idempotency-key", format!("k-{i}"))
            .json(body);
        if path.starts_with("anthropic") {
            request = request.header("anthropic-version", "2023-06-01");
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 200);
        let streamed = body["stream"] == json!(true);
        let text = response.text().await.unwrap();
        replies.push((streamed, text));
    }
    let (status, one) = get(&http, base, "conversations/host:c-7?member=rosa", &service).await;
    assert_eq!(status, 200, "{one}");
    let messages = one["messages"].as_array().unwrap();
    assert_eq!(messages.len(), calls.len(), "{one}");
    for (m, (streamed, raw)) in messages.iter().zip(&replies) {
        assert_eq!(m["message"], ask, "{m}");
        let reply = m["reply"].as_str().unwrap();
        assert!(!reply.is_empty(), "{m}");
        if !streamed {
            // The whole answer as the caller got it carries the recorded text (JSON-escaped).
            let quoted = serde_json::to_string(reply).unwrap();
            assert!(raw.contains(quoted.trim_matches('"')), "{raw} / {reply}");
        }
        assert!(m["credits"].as_i64().unwrap() > 0);
    }
    // The same key again is refused by the gateway and recorded nothing more.
    let again = http
        .post(format!(
            "{base}/v1/accounts/{DEMO}/providers/openai/v1/chat/completions"
        ))
        .bearer_auth(&service)
        .header("ai-credits-member", "rosa")
        .header("ai-credits-conversation", "host:c-7")
        .header("idempotency-key", "k-0")
        .json(&calls[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 409);
    let (_, one) = get(&http, base, "conversations/host:c-7?member=rosa", &service).await;
    assert_eq!(one["turns"], calls.len());
    let bad = http
        .post(format!(
            "{base}/v1/accounts/{DEMO}/providers/openai/v1/chat/completions"
        ))
        .bearer_auth(&service)
        .header("ai-credits-conversation", "no spaces")
        .json(&calls[0].1)
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
}
