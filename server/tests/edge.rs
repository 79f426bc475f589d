//! The HTTP edge under clients that misbehave: idle, slow and dribbling connections are
//! closed within their timeouts, a connection over the cap gets a JSON 503, rate limits answer
//! 429 with Retry-After, the router's own refusals are JSON; and tokens can be listed,
//! expired and revoked, a revocation reaching a second server within a second.

mod support;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use support::{ADMIN, ServerProcess, Storage, answer};

fn addr(server: &ServerProcess) -> String {
    server.base.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or `limit` passes); what it sent and when
/// it closed, counted from `since`.
async fn read_to_close(
    stream: &mut TcpStream,
    since: Instant,
    limit: Duration,
) -> (String, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(since.elapsed()), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => break,
            Ok(Ok(n)) => got.extend_from_slice(&buf[..n]),
            Err(_) => panic!("still open after {limit:?}"),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), since.elapsed())
}

/// What `GET /v1/catalogue` answers now: whether the server still serves.
async fn catalogue_status(server: &ServerProcess) -> u16 {
    let response = support::client()
        .get(server.url("/v1/catalogue"))
        .send()
        .await
        .unwrap();
    answer(response).await.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_slow_and_dribbling_clients_are_dropped_within_their_timeouts() {
    // Proves an idle connection closes after --idle-timeout-s, headers dribbled a line at a time close after --header-timeout-s, and a body dribbled a byte at a time gets a JSON 408 after --body-timeout-s.
    let server = ServerProcess::start_with(
        &support::sqlite("timeouts"),
        false,
        &[
            "--idle-timeout-s",
            "2",
            "--header-timeout-s",
            "2",
            "--body-timeout-s",
            "2",
        ],
    );
    let addr = addr(&server);
    let dribble = |mut stream: TcpStream, head: &'static [u8], piece: &'static [u8]| async move {
        stream.write_all(head).await.unwrap();
        let started = Instant::now();
        let writer = tokio::spawn(async move {
            for _ in 0..40 {
                if stream.write_all(piece).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            stream
        });
        let mut stream = writer.await.unwrap();
        read_to_close(&mut stream, started, Duration::from_secs(15)).await
    };
    // Idle: nothing sent at all.
    let mut idle = TcpStream::connect(&addr).await.unwrap();
    let (got, after) = read_to_close(&mut idle, Instant::now(), Duration::from_secs(10)).await;
    assert!(
        got.is_empty() && after < Duration::from_secs(5),
        "{after:?} {got:?}"
    );
    // Headers a line every quarter second: never complete.
    let slow = TcpStream::connect(&addr).await.unwrap();
    let (_, after) = dribble(
        slow,
        b"GET /v1/catalogue HTTP/1.1\r\nHost: x\r\n",
        b"X-Slow: 1\r\n",
    )
    .await;
    assert!(
        after < Duration::from_secs(6),
        "headers dribbled for {after:?}"
    );
    // A body a byte every quarter second.
    let slow = TcpStream::connect(&addr).await.unwrap();
    let (got, after) = dribble(
        slow,
        b"POST /v1/accounts HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{",
        b" ",
    )
    .await;
    assert!(
        after < Duration::from_secs(6),
        "body dribbled for {after:?}"
    );
    assert!(got.starts_with("HTTP/1.1 408"), "{got}");
    assert!(got.contains(r#""code":"request_timeout""#), "{got}");
    // Meanwhile the server serves.
    assert_eq!(catalogue_status(&server).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_over_the_cap_gets_a_json_503_and_the_server_keeps_serving() {
    // Proves --connections-max: with the cap's worth of idle sockets open, one more is answered 503 `overloaded` in JSON, and once they close the server answers again.
    let server = ServerProcess::start_with(
        &support::sqlite("cap"),
        false,
        &["--connections-max", "8", "--idle-timeout-s", "30"],
    );
    let addr = addr(&server);
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(TcpStream::connect(&addr).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut extra = TcpStream::connect(&addr).await.unwrap();
    let (got, _) = read_to_close(&mut extra, Instant::now(), Duration::from_secs(5)).await;
    assert!(got.starts_with("HTTP/1.1 503"), "{got}");
    assert!(got.contains(r#""code":"overloaded""#), "{got}");
    assert!(got.to_ascii_lowercase().contains("retry-after: 1"), "{got}");
    drop(open);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(catalogue_status(&server).await, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_routers_own_refusals_are_json() {
    // Proves a path that does not percent-decode, an over-long URI, an unknown path and a wrong method all answer `{code, message}` JSON.
    let server = ServerProcess::start(&support::sqlite("router-json"), false);
    let http = support::client();
    let long = format!("/v1/{}", "a".repeat(9000));
    for (method, path, status, code) in [
        (
            reqwest::Method::GET,
            "/v1/accounts/%ff/state",
            400,
            "invalid_request",
        ),
        (reqwest::Method::GET, long.as_str(), 414, "uri_too_long"),
        (reqwest::Method::GET, "/v1/nope", 404, "not_found"),
        (
            reqwest::Method::DELETE,
            "/v1/catalogue",
            405,
            "method_not_allowed",
        ),
    ] {
        let response = http
            .request(method, server.url(path))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap();
        let kind = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let (got, body) = answer(response).await;
        assert_eq!(
            (got, body["code"].as_str()),
            (status, Some(code)),
            "{path}: {body}"
        );
        assert!(kind.starts_with("application/json"), "{path}: {kind}");
        assert!(body["message"].is_string());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limits_answer_429_with_retry_after_and_spare_other_tenants() {
    // Proves --rate-per-token / --burst-per-token: past the burst one token gets 429 `rate_limited` with Retry-After, another account's token is still served, and after waiting the first is served again.
    let server = ServerProcess::start_with(
        &support::sqlite("rate"),
        false,
        &["--rate-per-token", "2", "--burst-per-token", "5"],
    );
    let http = support::client();
    let base = server.base.as_str();
    let busy = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let calm = support::create_account(&http, base, &json!({"plan": "growth"})).await;
    let busy_token = support::token(&http, base, &busy, "member").await;
    let calm_token = support::token(&http, base, &calm, "member").await;
    let state = |account: &str, token: &str| {
        http.get(format!("{base}/v1/accounts/{account}/state"))
            .bearer_auth(token)
            .send()
    };
    let mut limited = None;
    for _ in 0..20 {
        let response = state(&busy, &busy_token).await.unwrap();
        if response.status() == 429 {
            let retry = response.headers().get("retry-after").cloned();
            limited = Some((retry, answer(response).await.1));
            break;
        }
    }
    let (retry, body) = limited.expect("20 requests at once pass a burst of 5");
    assert_eq!(body["code"], "rate_limited", "{body}");
    let retry: u64 = retry
        .expect("Retry-After")
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=5).contains(&retry), "{retry}");
    let (status, _) = answer(state(&calm, &calm_token).await.unwrap()).await;
    assert_eq!(status, 200, "another tenant is not limited by this one");
    tokio::time::sleep(Duration::from_secs(retry)).await;
    let (status, _) = answer(state(&busy, &busy_token).await.unwrap()).await;
    assert_eq!(status, 200, "served again after Retry-After");
}

async fn issue(http: &reqwest::Client, base: &str, account: &str, body: Value) -> Value {
    let (status, issued) = answer(
        http.post(format!("{base}/v1/accounts/{account}/tokens"))
            .bearer_auth(ADMIN)
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{issued}");
    issued
}

async fn state_status(
    http: &reqwest::Client,
    base: &str,
    account: &str,
    token: &str,
) -> (u16, Value) {
    answer(
        http.get(format!("{base}/v1/accounts/{account}/state"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// Tokens are listed without secrets, expire, and a revocation on one server is refused by
/// another sharing the database within about a second.
async fn token_lifecycle(storage: Storage) {
    let flush = ["--last-used-flush-s", "1"];
    let a = ServerProcess::start_with(&storage, false, &flush);
    let b = ServerProcess::start_with(&storage, false, &flush);
    let http = support::client();
    let account = support::create_account(&http, &a.base, &json!({"plan": "growth"})).await;
    let issued = issue(
        &http,
        &a.base,
        &account,
        json!({"member": "ana", "role": "member"}),
    )
    .await;
    let token = issued["token"].as_str().unwrap().to_owned();
    let id = issued["id"].as_str().unwrap().to_owned();
    assert!(
        id.starts_with("tok_") && !token.contains(&id[4..]),
        "{issued}"
    );
    assert_eq!(state_status(&http, &b.base, &account, &token).await.0, 200);
    // Listed: who, role, when; never the secret.
    let mut listed = Value::Null;
    for _ in 0..60 {
        let (status, body) = answer(
            http.get(format!("{}/v1/accounts/{account}/tokens", a.base))
                .bearer_auth(ADMIN)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        listed = body;
        if listed["tokens"][0]["last_used_at"].is_string() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let row = &listed["tokens"][0];
    assert_eq!(
        (
            row["id"].as_str(),
            row["member"].as_str(),
            row["role"].as_str()
        ),
        (Some(id.as_str()), Some("ana"), Some("member")),
        "{listed}"
    );
    assert!(
        row["created_at"].is_string() && row["last_used_at"].is_string(),
        "{listed}"
    );
    assert!(row["expires_at"].is_null(), "{listed}");
    assert!(!listed.to_string().contains(&token), "a secret in the list");
    // Revoked on A: B, which has the token cached, refuses it within a second or so.
    let response = http
        .delete(format!("{}/v1/accounts/{account}/tokens/{id}", a.base))
        .bearer_auth(ADMIN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let revoked = Instant::now();
    loop {
        let (status, body) = state_status(&http, &b.base, &account, &token).await;
        if status == 401 {
            assert_eq!(body["code"], "unauthorized");
            break;
        }
        assert!(
            revoked.elapsed() < Duration::from_millis(1_500),
            "still accepted after {:?}",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status, body) = answer(
        http.delete(format!("{}/v1/accounts/{account}/tokens/{id}", a.base))
            .bearer_auth(ADMIN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (404, Some("token_not_found"))
    );
    // Expiry.
    let short = issue(
        &http,
        &a.base,
        &account,
        json!({"member": "ben", "role": "service", "expires_in_s": 1}),
    )
    .await;
    let short_token = short["token"].as_str().unwrap();
    assert!(short["expires_at"].is_string(), "{short}");
    assert_eq!(
        state_status(&http, &a.base, &account, short_token).await.0,
        200
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let (status, body) = state_status(&http, &b.base, &account, short_token).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (401, Some("token_expired")),
        "{body}"
    );
    for bad in [
        json!({"member": "x", "role": "member", "expires_in_s": 0}),
        json!({"member": "x", "role": "member", "expires_in_s": -5}),
        json!({"member": "x", "role": "member", "token": "mine"}),
    ] {
        let (status, body) = answer(
            http.post(format!("{}/v1/accounts/{account}/tokens", a.base))
                .bearer_auth(ADMIN)
                .json(&bad)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("invalid_request")),
            "{bad}: {body}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_listed_expired_and_revoked_across_servers_on_sqlite() {
    // Proves the token lifecycle on two servers sharing one SQLite file.
    token_lifecycle(support::sqlite("tokens")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_listed_expired_and_revoked_across_servers_on_postgres() {
    // Proves the token lifecycle on two servers sharing PostgreSQL.
    let Some(storage) = support::postgres("tokens_on_postgres") else {
        return;
    };
    token_lifecycle(storage).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_platform_token_rotates_with_two_accepted_at_once() {
    // Proves AI_CREDITS_ADMIN_TOKEN_NEXT: during a rotation the current and the next platform token both create accounts, and any other is refused.
    let server = ServerProcess::start_env(
        &support::sqlite("rotation"),
        false,
        &[],
        &[("AI_CREDITS_ADMIN_TOKEN_NEXT", "the-next-platform-token")],
    );
    let http = support::client();
    for (token, want) in [
        (ADMIN, 201),
        ("the-next-platform-token", 201),
        ("the-old-one", 401),
    ] {
        let (status, body) = answer(
            http.post(server.url("/v1/accounts"))
                .bearer_auth(token)
                .json(&json!({"plan": "growth"}))
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, want, "{token}: {body}");
    }
}
