//! Provider adapters: test a key by calling the provider's cheapest authenticated endpoint
//! (listing models). Base URLs come from `AI_CREDITS_PROVIDER_BASE_{OPENAI,ANTHROPIC,
//! MOONSHOT,XAI,GOOGLE}` so tests can point them at a fake provider on loopback; `serve --demo`
//! points the ones not set at its own stand-ins (`demo`).
//!
//! Nothing here formats a `reqwest::Error`: its message names the URL, and a key must never
//! reach a log or a response. Google's key goes in the `x-goog-api-key` header (which Google
//! documents as equivalent to `?key=`) so it is not in any URL at all.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::vault::secret::Secret;

/// How long one key test may take unless `AI_CREDITS_PROVIDER_TIMEOUT_MS` says otherwise.
pub const TEST_TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// Most bytes of a provider's error body read.
const ERROR_BODY_BYTES_MAX: usize = 16 * 1024;

/// How a provider authenticates a key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Scheme {
    /// `GET {base}/v1/models`, `Authorization: Bearer KEY` (OpenAI, Moonshot, xAI).
    Bearer,
    /// `GET {base}/v1/models`, `x-api-key: KEY`, `anthropic-version: 2023-06-01`.
    Anthropic,
    /// `GET {base}/v1beta/models`, `x-goog-api-key: KEY`.
    Google,
}

/// The providers this server can test, their default base URLs and schemes.
const ADAPTERS: [(&str, &str, Scheme); 5] = [
    ("openai", "https://api.openai.com", Scheme::Bearer),
    ("anthropic", "https://api.anthropic.com", Scheme::Anthropic),
    ("moonshot", "https://api.moonshot.ai", Scheme::Bearer),
    ("xai", "https://api.x.ai", Scheme::Bearer),
    (
        "google",
        "https://generativelanguage.googleapis.com",
        Scheme::Google,
    ),
];

/// What testing a key found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TestResult {
    /// The provider accepted the key.
    Connected,
    /// The provider refused it, or did not answer in time. `reason` is a short code
    /// (`auth`, `billing`, `timeout`, `unreachable`, `provider_error`); `detail` our own
    /// sentence for it ([`reason_message`]), never the provider's words; for `timeout` and
    /// `unreachable` it says the key was not checked (a UI can offer to try again: the key may
    /// well be good).
    Rejected {
        reason: &'static str,
        detail: Option<String>,
    },
}

/// The adapters with their base URLs, and an HTTP client.
#[derive(Clone, Debug)]
pub struct Providers {
    bases: BTreeMap<&'static str, (String, Scheme)>,
    http: reqwest::Client,
    timeout: Duration,
}

impl Providers {
    /// Base URLs from the environment (or the providers' own), the timeout from
    /// `AI_CREDITS_PROVIDER_TIMEOUT_MS`.
    pub fn from_env() -> Providers {
        Providers::from_env_or(None)
    }

    /// Like [`from_env`](Self::from_env), but a provider whose base-URL variable is not set
    /// goes to `{stand_in}/{provider}` instead of the real provider: `serve --demo` passes its
    /// own `/demo/providers` address, so keys can be tried offline.
    pub fn from_env_or(stand_in: Option<&str>) -> Providers {
        let bases = ADAPTERS
            .iter()
            .map(|(id, default, scheme)| {
                let var = format!("AI_CREDITS_PROVIDER_BASE_{}", id.to_ascii_uppercase());
                let base = std::env::var(var).unwrap_or_else(|_| match stand_in {
                    Some(stand_in) => format!("{}/{id}", stand_in.trim_end_matches('/')),
                    None => (*default).to_owned(),
                });
                (*id, (base.trim_end_matches('/').to_owned(), *scheme))
            })
            .collect();
        let timeout_ms = std::env::var("AI_CREDITS_PROVIDER_TIMEOUT_MS")
            .ok()
            .and_then(|t| t.parse::<u64>().ok())
            .filter(|t| (1..=60_000).contains(t))
            .unwrap_or(TEST_TIMEOUT_MS_DEFAULT);
        let timeout = Duration::from_millis(timeout_ms);
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Providers {
            bases,
            http,
            timeout,
        }
    }

    /// The provider's base URL (the gateway calls its API there).
    pub fn base(&self, provider: &str) -> Option<&str> {
        self.bases.get(provider).map(|(base, _)| base.as_str())
    }

    pub fn knows(&self, provider: &str) -> bool {
        self.bases.contains_key(provider)
    }

    /// Tests one key; never fails, never takes longer than the timeout (plus a little).
    pub async fn test(&self, provider: &str, key: &Secret) -> TestResult {
        let Some((base, scheme)) = self.bases.get(provider) else {
            return TestResult::Rejected {
                reason: "unknown_provider",
                detail: None,
            };
        };
        let request = match scheme {
            Scheme::Bearer => self
                .http
                .get(format!("{base}/v1/models"))
                .bearer_auth(key.expose()),
            Scheme::Anthropic => self
                .http
                .get(format!("{base}/v1/models"))
                .header("x-api-key", key.expose())
                .header("anthropic-version", "2023-06-01"),
            Scheme::Google => self
                .http
                .get(format!("{base}/v1beta/models"))
                .header("x-goog-api-key", key.expose()),
        };
        let call = async {
            let response = request.send().await?;
            let status = response.status().as_u16();
            let mut body = Vec::new();
            let mut response = response;
            while let Some(chunk) = response.chunk().await? {
                body.extend_from_slice(&chunk);
                if body.len() > ERROR_BODY_BYTES_MAX {
                    break;
                }
            }
            Ok::<_, reqwest::Error>((status, body))
        };
        match tokio::time::timeout(self.timeout, call).await {
            Err(_) => self.timed_out(),
            Ok(Err(e)) if e.is_timeout() => self.timed_out(),
            Ok(Err(_)) => rejected(
                "unreachable",
                Some(
                    "the provider could not be reached (no connection), so the key was not \
                     checked; try again"
                        .to_owned(),
                ),
            ),
            Ok(Ok((status, body))) => classify(status, &body),
        }
    }

    /// Not `connected`: a key nobody could verify is not known to work. The detail says so.
    fn timed_out(&self) -> TestResult {
        rejected(
            "timeout",
            Some(format!(
                "the provider could not be reached in time (no answer within {} ms), so the \
                 key was not checked; try again",
                self.timeout.as_millis()
            )),
        )
    }
}

fn rejected(reason: &'static str, detail: Option<String>) -> TestResult {
    TestResult::Rejected { reason, detail }
}

/// Reads a provider's answer. 2xx: connected. Otherwise the reason: `billing` for the quota
/// and credit errors providers return (OpenAI 429 `insufficient_quota`, Anthropic "credit
/// balance is too low", HTTP 402), `auth` for 401/403, Google's `API_KEY_INVALID` and xAI's
/// 400 "Incorrect API key provided" (whose `error` is a string, not an object), else
/// `provider_error`.
///
/// The provider's own words are read to classify, never kept: a provider may echo the key in
/// any disguise (masked, reversed, base64, spaced out), and no scrubbing finds them all. The
/// detail is our fixed sentence for the reason, with the provider's HTTP status.
pub fn classify(status: u16, body: &[u8]) -> TestResult {
    if (200..300).contains(&status) {
        return TestResult::Connected;
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &json["error"];
    let code = error["code"].as_str().unwrap_or("");
    let kind = error["type"].as_str().unwrap_or("");
    let text = String::from_utf8_lossy(body).to_ascii_lowercase();
    let reason = if status == 402
        || code == "insufficient_quota"
        || kind == "insufficient_quota"
        || text.contains("credit balance is too low")
    {
        "billing"
    } else if status == 401
        || status == 403
        || text.contains("api_key_invalid")
        || text.contains("incorrect api key")
    {
        "auth"
    } else {
        "provider_error"
    };
    rejected(reason, Some(reason_message(reason, Some(status))))
}

/// What a caller is told when the provider refused the business's own key: SPEC §3's message
/// for `billing`, else that the key was refused.
pub fn own_key_refused_message(
    catalogue: &ai_credits::Catalogue,
    provider: &str,
    reason: &str,
) -> String {
    if reason == "billing" {
        return catalogue.provider_billing_message(provider);
    }
    let name = catalogue.provider_name(provider);
    format!(
        "{name} refused your {name} key (it was deleted or is wrong). Add a new key in {}, or \
         remove it to use {} credits.",
        catalogue.connect_keys_at, catalogue.platform_name
    )
}

/// Our sentence for a refusal's reason (SPEC §3's billing message for `billing`), with the
/// provider's HTTP status when there was one.
pub fn reason_message(reason: &str, status: Option<u16>) -> String {
    let sentence = match reason {
        "auth" => {
            "the provider did not accept this key; check that it was copied whole and is still active"
        }
        "billing" => {
            "the provider refused the key for billing reasons (quota or credit exhausted); add credit with the provider or use another key"
        }
        "provider_error" => {
            "the provider answered with an error, so the key was not checked; try again later"
        }
        _ => "the key was not checked",
    };
    match status {
        Some(status) => format!("{sentence} (HTTP {status})"),
        None => sentence.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason_and_detail(status: u16, body: &[u8]) -> (&'static str, String) {
        match classify(status, body) {
            TestResult::Rejected { reason, detail } => (reason, detail.unwrap_or_default()),
            TestResult::Connected => ("connected", String::new()),
        }
    }

    #[test]
    fn provider_errors_read_as_auth_billing_or_provider_error() {
        // Proves each provider's documented error shape maps to the right reason, and the detail is our sentence with the status.
        let openai_401 = br#"{"error":{"message":"Incorrect API key provided: sk-test-SECRETSECRET.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        let openai_quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        let anthropic_credit = br#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#;
        let google_400 = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#;
        let xai_400 = br#"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: sk***ET. You can obtain an API key from https://console.x.ai."}"#;
        for (status, body, want) in [
            (401, &openai_401[..], "auth"),
            (429, &openai_quota[..], "billing"),
            (400, &anthropic_credit[..], "billing"),
            (400, &google_400[..], "auth"),
            (400, &xai_400[..], "auth"),
            (402, &b"{}"[..], "billing"),
            (503, &b"oops"[..], "provider_error"),
        ] {
            let (reason, detail) = reason_and_detail(status, body);
            assert_eq!(reason, want, "{status}");
            assert_eq!(detail, reason_message(want, Some(status)));
        }
        assert_eq!(classify(200, b"{}"), TestResult::Connected);
    }

    #[test]
    fn no_word_of_the_provider_reaches_the_detail() {
        // Proves a provider echoing the key plainly, masked, reversed, base64-encoded or spaced out leaves no trace of it, nor any of its other words, in the detail.
        let key = "sk-proj-Qw7ZrTyUvKpLmNb3Jx8abcd";
        let reversed: String = key.chars().rev().collect();
        let spaced: String = key.chars().map(|c| format!("{c} ")).collect();
        let base64 = "c2stcHJvai1RdzdaclR5VXZLcExtTmIzSng4YWJjZA==";
        for echo in [
            key,
            "sk-pr****abcd",
            reversed.as_str(),
            spaced.as_str(),
            base64,
        ] {
            let body = format!(
                r#"{{"error":{{"message":"Incorrect API key provided: {echo}","code":"invalid_api_key"}}}}"#
            );
            let (_, detail) = reason_and_detail(401, body.as_bytes());
            assert!(!detail.contains(echo), "{detail}");
            assert!(!detail.contains("Incorrect"), "{detail}");
            for piece in key.as_bytes().windows(5) {
                assert!(
                    !detail.contains(std::str::from_utf8(piece).unwrap()),
                    "{detail}"
                );
            }
        }
    }
}
