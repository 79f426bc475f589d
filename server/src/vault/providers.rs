//! Provider adapters: test a key by calling the provider's cheapest authenticated endpoint
//! (listing models). Base URLs come from `AI_CREDITS_PROVIDER_BASE_{OPENAI,ANTHROPIC,
//! MOONSHOT,XAI,GOOGLE}` so tests can point them at a fake provider on loopback; `serve --demo`
//! points the ones not set at its own stand-ins (`demo`).
//!
//! Nothing here formats a `reqwest::Error`: its message names the URL, and a key must never
//! reach a log or a response. Google's key goes in the `x-goog-api-key` header (which Google
//! documents as equivalent to `?key=`) so it is not in any URL at all.

use std::collections::{BTreeMap, HashSet};
use std::time::Duration;

use serde_json::Value;

use crate::vault::secret::Secret;

/// How long one key test may take unless `AI_CREDITS_PROVIDER_TIMEOUT_MS` says otherwise.
pub const TEST_TIMEOUT_MS_DEFAULT: u64 = 5_000;
/// Longest provider message kept as a rejection's detail.
const DETAIL_CHARS_MAX: usize = 200;
/// Most bytes of a provider's error body read.
const ERROR_BODY_BYTES_MAX: usize = 16 * 1024;
/// Shortest run of a key's characters a detail may not show: the API shows the last four
/// characters anyway, so a run of four tells nobody more than that; five may.
const KEY_RUN_CHARS_MIN: usize = 5;
/// What stands in for a scrubbed run.
const REDACTED: &str = "[redacted]";

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
    /// (`auth`, `billing`, `timeout`, `unreachable`, `provider_error`); `detail` the
    /// provider's own words, if any, with the key scrubbed out ([`scrub`]), or for `timeout`
    /// and `unreachable` a plain sentence saying the key was not checked (a UI can offer to
    /// try again: the key may well be good).
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
            Ok(Ok((status, body))) => classify(status, &body, key),
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
pub fn classify(status: u16, body: &[u8], key: &Secret) -> TestResult {
    if (200..300).contains(&status) {
        return TestResult::Connected;
    }
    let json: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let error = &json["error"];
    let message = error["message"]
        .as_str()
        .or_else(|| error.as_str())
        .map(str::to_owned);
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
    rejected(reason, message.and_then(|m| scrub(&m, key)))
}

/// The provider's words without the key, at most [`DETAIL_CHARS_MAX`] characters.
///
/// Providers echo keys masked ("Incorrect API key provided: sk-proj-****…abcd"), so removing
/// the whole key is not enough: every run of [`KEY_RUN_CHARS_MIN`] or more characters that also
/// occurs in the key goes, and so does any `sk-…` token (another key, or this one masked past
/// recognition). Postcondition: no substring of the key longer than four characters is left;
/// if one were (a key that contains the marker's own letters), there is no detail at all.
pub fn scrub(message: &str, key: &Secret) -> Option<String> {
    // Shortened first, so the work is bounded; a run cut at the end is still a run of the key.
    let chars: Vec<char> = message.chars().take(DETAIL_CHARS_MAX).collect();
    let key_chars: Vec<char> = key.expose().chars().collect();
    let run = KEY_RUN_CHARS_MIN.min(key_chars.len()).max(1);
    let grams: HashSet<&[char]> = key_chars.windows(run).collect();
    let mut hidden = vec![false; chars.len()];
    for (i, window) in chars.windows(run).enumerate() {
        if grams.contains(window) {
            hidden[i..i + run].fill(true);
        }
    }
    hide_sk_tokens(&chars, &mut hidden);
    let mut out = String::with_capacity(chars.len());
    let mut i = 0;
    while i < chars.len() {
        if hidden[i] {
            out.push_str(REDACTED);
            while i < chars.len() && hidden[i] {
                i += 1;
            }
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    let out: String = out.chars().take(DETAIL_CHARS_MAX).collect();
    let out_chars: Vec<char> = out.chars().collect();
    if out_chars.windows(run).any(|w| grams.contains(w)) {
        return None;
    }
    Some(out)
}

/// Marks every token that starts with `sk-` (at the start of a word) up to the next space or
/// quote, bracket or comma; a full stop ending the sentence stays.
fn hide_sk_tokens(chars: &[char], hidden: &mut [bool]) {
    let ends_token = |c: char| {
        c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '`' | ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>'
            )
    };
    let mut i = 0;
    while i + 3 <= chars.len() {
        let starts = chars[i].eq_ignore_ascii_case(&'s')
            && chars[i + 1].eq_ignore_ascii_case(&'k')
            && chars[i + 2] == '-'
            && (i == 0 || !chars[i - 1].is_alphanumeric());
        if !starts {
            i += 1;
            continue;
        }
        let mut end = i + 3;
        while end < chars.len() && !ends_token(chars[end]) {
            end += 1;
        }
        let mut last = end;
        while last > i + 3 && matches!(chars[last - 1], '.' | ':' | '!' | '?') {
            last -= 1;
        }
        hidden[i..last].fill(true);
        i = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_errors_read_as_auth_billing_or_provider_error() {
        // Proves each provider's documented error shape maps to the right reason, with the key scrubbed from the detail.
        let key = Secret::new("sk-test-SECRETSECRET".into());
        let openai_401 = br#"{"error":{"message":"Incorrect API key provided: sk-test-SECRETSECRET.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#;
        match classify(401, openai_401, &key) {
            TestResult::Rejected { reason, detail } => {
                assert_eq!(reason, "auth");
                assert!(!detail.expect("detail").contains("SECRETSECRET"));
            }
            other => panic!("{other:?}"),
        }
        let openai_quota = br#"{"error":{"message":"You exceeded your current quota","type":"insufficient_quota","param":null,"code":"insufficient_quota"}}"#;
        assert!(matches!(
            classify(429, openai_quota, &key),
            TestResult::Rejected {
                reason: "billing",
                ..
            }
        ));
        let anthropic_credit = br#"{"type":"error","error":{"type":"invalid_request_error","message":"Your credit balance is too low to access the Anthropic API."}}"#;
        assert!(matches!(
            classify(400, anthropic_credit, &key),
            TestResult::Rejected {
                reason: "billing",
                ..
            }
        ));
        let google_400 = br#"{"error":{"code":400,"message":"API key not valid. Please pass a valid API key.","status":"INVALID_ARGUMENT","details":[{"@type":"type.googleapis.com/google.rpc.ErrorInfo","reason":"API_KEY_INVALID"}]}}"#;
        assert!(matches!(
            classify(400, google_400, &key),
            TestResult::Rejected { reason: "auth", .. }
        ));
        let xai_400 = br#"{"code":"Client specified an invalid argument","error":"Incorrect API key provided: sk***ET. You can obtain an API key from https://console.x.ai."}"#;
        match classify(400, xai_400, &key) {
            TestResult::Rejected { reason, detail } => {
                assert_eq!(reason, "auth");
                assert!(detail.expect("detail").starts_with("Incorrect API key"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            classify(503, b"oops", &key),
            TestResult::Rejected {
                reason: "provider_error",
                ..
            }
        ));
        assert_eq!(classify(200, b"{}", &key), TestResult::Connected);
    }

    /// Every substring of `key` longer than four characters found in `text`.
    fn leaks(text: &str, key: &str) -> Vec<String> {
        let key: Vec<char> = key.chars().collect();
        let text: Vec<char> = text.chars().collect();
        key.windows(KEY_RUN_CHARS_MIN)
            .filter(|w| text.windows(KEY_RUN_CHARS_MIN).any(|t| t == *w))
            .map(|w| w.iter().collect())
            .collect()
    }

    #[test]
    fn a_key_echoed_masked_or_in_pieces_is_scrubbed() {
        // Proves a detail keeps no run of more than four of the key's characters (masked echoes, pieces, the whole key) and no sk- token, while the provider's other words and the last four stay.
        let key = Secret::new("sk-proj-Qw7ZrTyUvKpLmNb3Jx8abcd".into());
        let cases = [
            "Incorrect API key provided: sk-proj-****************************abcd.",
            "Incorrect API key provided: sk-pr********abcd. You can find your API key at https://platform.openai.com/account/api-keys.",
            "key ending ...ZrTyUvKp...abcd was refused; see also sk-live-1234 and (sk-other)",
            "the key sk-proj-Qw7ZrTyUvKpLmNb3Jx8abcd is wrong",
            "Qw7ZrTyUvKpLmNb3Jx8abcdsk-proj-",
            "…Qw7Zr…",
        ];
        let scrub = |m: &str, k: &Secret| scrub(m, k).unwrap_or_default();
        for message in cases {
            let clean = scrub(message, &key);
            assert!(
                leaks(&clean, key.expose()).is_empty(),
                "{message} -> {clean}"
            );
            assert!(
                !clean.to_ascii_lowercase().contains("sk-"),
                "{message} -> {clean}"
            );
            assert!(clean.chars().count() <= DETAIL_CHARS_MAX);
        }
        assert_eq!(
            scrub(cases[0], &key),
            "Incorrect API key provided: [redacted]."
        );
        assert_eq!(
            scrub(cases[2], &key),
            "key ending ...[redacted]...abcd was refused; see also [redacted] and ([redacted])"
        );
        assert_eq!(scrub("invalid x-api-key", &key), "invalid x-api-key");
        // A key that contains the marker's own letters cannot leak through it: no detail.
        let odd = Secret::new("acted]xyz-[redacted]-0000".into());
        assert_eq!(super::scrub("x acted]xyz-[reda y", &odd), None);
        // Long messages are cut to the limit, scrubbed all the way.
        let long = format!("{} {}", "word ".repeat(60), key.expose());
        let clean = scrub(&long, &key);
        assert!(
            clean.chars().count() <= DETAIL_CHARS_MAX && leaks(&clean, key.expose()).is_empty()
        );
    }
}
