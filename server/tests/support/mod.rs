//! Shared by the server's integration tests: real server processes on loopback (the binary
//! `ai-credits serve`), on SQLite files in a temporary directory or on the PostgreSQL named by
//! `AI_CREDITS_TEST_PG` / `DATABASE_URL`, an HTTP client, and the comparison of results.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use serde_json::{Value, json};

/// The platform admin token every test server starts with.
pub const ADMIN: &str = "test-admin-token-7c1f";

/// Where a test server stores its accounts.
#[derive(Clone, Debug)]
pub enum Storage {
    Sqlite(PathBuf),
    Postgres(String),
}

/// The PostgreSQL URL for tests, or `None` with a loud message saying the test is skipped.
pub fn postgres(test: &str) -> Option<Storage> {
    let url = std::env::var("AI_CREDITS_TEST_PG")
        .ok()
        .or_else(|| std::env::var("DATABASE_URL").ok())
        .filter(|u| u.starts_with("postgres://") || u.starts_with("postgresql://"));
    if url.is_none() {
        eprintln!(
            "\n!!!!!!!! SKIPPED {test}: no PostgreSQL (set DATABASE_URL or AI_CREDITS_TEST_PG, \
             e.g. `eval \"$(bash scripts/postgres.sh)\"`) !!!!!!!!\n"
        );
    }
    url.map(Storage::Postgres)
}

/// A new, empty PostgreSQL database of its own for one test (on the server of
/// [`postgres`]), for tests whose settings (a data key) must not meet another test's.
pub async fn fresh_postgres(test: &str) -> Option<Storage> {
    use sqlx::Connection;
    let Storage::Postgres(url) = postgres(test)? else {
        return None;
    };
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "ai_credits_t_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    );
    let mut admin = sqlx::PgConnection::connect(&url).await.expect("PostgreSQL");
    sqlx::query(&format!("CREATE DATABASE {name}"))
        .execute(&mut admin)
        .await
        .expect("a new database");
    let (base, _) = url.rsplit_once('/').expect("a database name in the URL");
    Some(Storage::Postgres(format!("{base}/{name}")))
}

/// A fresh directory under the system's temporary directory.
pub fn temp_dir(name: &str) -> PathBuf {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!(
        "ai-credits-test-{name}-{}-{n}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    ));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

pub fn sqlite(name: &str) -> Storage {
    Storage::Sqlite(temp_dir(name).join("ai-credits.db"))
}

/// A running `ai-credits serve` process; killed when dropped.
pub struct ServerProcess {
    pub child: Child,
    pub base: String,
    pub log: PathBuf,
}

impl ServerProcess {
    pub fn start(storage: &Storage, allow_client_time: bool) -> ServerProcess {
        ServerProcess::start_with(storage, allow_client_time, &[])
    }

    /// Like `start`, with more arguments for `serve` (e.g. `--www DIR`).
    pub fn start_with(storage: &Storage, allow_client_time: bool, args: &[&str]) -> ServerProcess {
        ServerProcess::start_env(storage, allow_client_time, args, &[])
    }

    /// Like `start_with`, with environment variables for the server (set last, so they can
    /// override `RUST_LOG`).
    pub fn start_env(
        storage: &Storage,
        allow_client_time: bool,
        args: &[&str],
        envs: &[(&str, &str)],
    ) -> ServerProcess {
        let log = temp_dir("log").join("server.log");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ai-credits"));
        cmd.args(["serve", "--addr", "127.0.0.1:0"]);
        cmd.args(args);
        cmd.env_remove("DATABASE_URL");
        match storage {
            Storage::Sqlite(path) => cmd.arg("--db").arg(path),
            Storage::Postgres(url) => cmd.arg("--db").arg(url),
        };
        if allow_client_time {
            cmd.arg("--allow-client-time");
        }
        let log_file = std::fs::File::create(&log).expect("log file");
        cmd.env("AI_CREDITS_ADMIN_TOKEN", ADMIN)
            .env("RUST_LOG", "info");
        for (name, value) in envs {
            cmd.env(name, value);
        }
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .expect("the server binary starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("reads the server's first line");
        let Some(addr) = line.trim().strip_prefix("ai-credits listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the server did not start: {line:?}\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        ServerProcess {
            child,
            base: addr.to_owned(),
            log,
        }
    }

    /// `kill -9`: no chance to finish anything.
    pub fn kill_9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_9();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(128)
        .build()
        .expect("client")
}

/// Status and JSON body of a response (`Null` for an empty body).
pub async fn answer(response: reqwest::Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let bytes = response.bytes().await.unwrap_or_default();
    let body = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|_| json!({"not_json": String::from_utf8_lossy(&bytes)}))
    };
    (status, body)
}

/// Sends `method url` with `token` and, when given, a JSON body; its status and JSON body.
pub async fn send(
    http: &reqwest::Client,
    method: reqwest::Method,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let mut request = http.request(method, url).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    answer(request.send().await.expect("request")).await
}

/// A demo server (`serve --demo`) on `storage` whose assistant answers at once.
pub fn demo_server(storage: &Storage) -> ServerProcess {
    ServerProcess::start_env(
        storage,
        false,
        &["--demo"],
        &[("AI_CREDITS_DEMO_REPLY_DELAY_MS", "0")],
    )
}

/// A fresh admin token of the demo account for `member` (the owner when `None`), as
/// `POST /v1/demo/session` hands one to a browser.
pub async fn demo_session(http: &reqwest::Client, base: &str, member: Option<&str>) -> String {
    let mut request = http.post(format!("{base}/v1/demo/session"));
    if let Some(member) = member {
        request = request.json(&json!({"member": member}));
    }
    let (status, body) = answer(request.send().await.expect("session")).await;
    assert_eq!(status, 200, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

/// Creates an account with the platform token; returns its id.
pub async fn create_account(http: &reqwest::Client, base: &str, account: &Value) -> String {
    let (status, body) = answer(
        http.post(format!("{base}/v1/accounts"))
            .bearer_auth(ADMIN)
            .json(account)
            .send()
            .await
            .expect("create account"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().expect("id").to_owned()
}

/// Issues a token of `role` for `account`.
pub async fn token(http: &reqwest::Client, base: &str, account: &str, role: &str) -> String {
    let (status, body) = answer(
        http.post(format!("{base}/v1/accounts/{account}/tokens"))
            .bearer_auth(ADMIN)
            .json(&json!({"member": format!("{role}-member"), "role": role}))
            .send()
            .await
            .expect("create token"),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    body["token"].as_str().expect("token").to_owned()
}

/// One token per role of an account.
pub struct Tokens {
    pub admin: String,
    pub member: String,
    pub service: String,
}

impl Tokens {
    pub async fn issue(http: &reqwest::Client, base: &str, account: &str) -> Tokens {
        Tokens {
            admin: token(http, base, account, "admin").await,
            member: token(http, base, account, "member").await,
            service: token(http, base, account, "service").await,
        }
    }

    /// The token whose role may post `kind` (SPEC §5.1): the admin buys and chooses the
    /// model, the platform changes plans and (on replay servers) posts key events, the
    /// service charges and holds for any member; kinds no role names go to the service (the
    /// core refuses those itself).
    pub fn for_kind(&self, kind: Option<&str>) -> &str {
        match kind {
            Some("purchase_pack" | "select_model") => &self.admin,
            Some("change_plan" | "connect_key" | "key_invalid" | "remove_key") => ADMIN,
            _ => &self.service,
        }
    }
}

/// Posts one event; returns (status, body).
pub async fn post_event(
    http: &reqwest::Client,
    base: &str,
    account: &str,
    token: &str,
    event: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let response = http
        .post(format!("{base}/v1/accounts/{account}/events"))
        .bearer_auth(token)
        .json(event)
        .send()
        .await?;
    Ok(answer(response).await)
}

pub async fn get_state(
    http: &reqwest::Client,
    base: &str,
    account: &str,
    token: &str,
    at: Option<&str>,
) -> (u16, Value) {
    // Every entry: the tests compare whole states (`/state` lists the newest 100 by default).
    let mut request = http
        .get(format!("{base}/v1/accounts/{account}/state"))
        .query(&[("entries", "all")])
        .bearer_auth(token);
    if let Some(at) = at {
        request = request.query(&[("at", at)]);
    }
    answer(request.send().await.expect("state")).await
}

#[path = "../../../tests/support/compare.rs"]
mod compare;
// Not every test file of the server compares results.
#[allow(unused_imports)]
pub use compare::compare;

/// Every conformance scenario: (name, scenario, expected result), sorted by name.
pub fn scenarios() -> Vec<(String, Value, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/scenarios");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .expect("tests/scenarios")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.ends_with(".json") && !n.ends_with(".expected.json"))
        .map(|n| n.trim_end_matches(".json").to_owned())
        .collect();
    names.sort();
    names
        .into_iter()
        .map(|name| {
            let read = |file: String| -> Value {
                let text = std::fs::read_to_string(dir.join(&file)).expect("readable");
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"))
            };
            let scenario = read(format!("{name}.json"));
            let expected = read(format!("{name}.expected.json"));
            (name, scenario, expected)
        })
        .collect()
}

/// How SPEC §4's `rejected` names an event: its id (a non-empty string of at most 256
/// bytes), else its kind, else `event`.
pub fn event_name(event: &Value) -> String {
    let id = event
        .get("id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.len() <= 256);
    let kind = event.get("kind").and_then(Value::as_str);
    id.or(kind).unwrap_or("event").to_owned()
}

/// Standard base64 (padded): how a key might be echoed or stored in disguise.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |n, b| (n << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..=chunk.len() {
            out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
        }
    }
    while !out.len().is_multiple_of(4) {
        out.push('=');
    }
    out
}
