//! `ai-credits serve`'s settings: one `clap` struct, every setting a flag with its default
//! written here and shown by `ai-credits serve --help`. Secrets never come from flags (a
//! command line is visible to every user of the machine): the platform token and the data key
//! are read from the environment or a file.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser};

use crate::store::Location;

/// How to run the server.
#[derive(Args, Clone, Debug)]
pub struct Config {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Storage: an SQLite file path or a `postgres://` URL; else `DATABASE_URL` when it is a
    /// PostgreSQL URL; else `ai-credits.db` in the working directory.
    #[arg(long = "db", value_name = "PATH|URL")]
    pub db: Option<String>,
    /// Where the data is, as chosen from `--db` and `DATABASE_URL` (see [`Config::resolve`]).
    #[arg(skip = Location::SqliteFile("ai-credits.db".into()))]
    pub location: Location,
    /// Honour the `at` of events the platform posts (conformance replays, imports of past
    /// events); every other caller's events are stamped with the server's clock.
    #[arg(long)]
    pub allow_client_time: bool,
    /// The platform operator's bearer token (`AI_CREDITS_ADMIN_TOKEN`); without it no
    /// account can be created.
    #[arg(skip)]
    pub admin_token: Option<String>,
    /// A second platform token accepted beside the first while clients move to it
    /// (`AI_CREDITS_ADMIN_TOKEN_NEXT`): rotation without downtime.
    #[arg(skip)]
    pub admin_token_next: Option<String>,
    /// Serve the static files of this directory at `/` (a web app on the API's origin).
    #[arg(long, value_name = "DIR")]
    pub www: Option<PathBuf>,
    /// A web origin (`https://app.example.com`, `http://localhost:5173`) whose pages may call
    /// the API from the browser (CORS); repeat it for more. Without any, only pages on the
    /// server's own origin can (`--www`, or a proxy in front of both).
    #[arg(long = "cors-origin", value_name = "ORIGIN", value_parser = parse_origin)]
    pub cors_origins: Vec<String>,
    /// A file holding the data key that encrypts provider keys, created when missing;
    /// `AI_CREDITS_DATA_KEY` wins over it. Without either, an SQLite database keeps
    /// `ai-credits.key` beside it and PostgreSQL switches provider keys off.
    #[arg(long, value_name = "PATH")]
    pub data_key_file: Option<PathBuf>,
    /// A catalogue document to use instead of the built-in one, validated at start-up (a
    /// document the core refuses stops the server with the core's error code).
    #[arg(long, value_name = "PATH")]
    pub catalogue: Option<PathBuf>,
    /// Demo mode (builds with the `demo` feature): seeds `acc_demo`, hands out demo sessions,
    /// serves the stand-in assistant and providers. Never expose a demo server.
    #[arg(long)]
    pub demo: bool,
    /// Most accepted events an account's stored checkpoint may lag behind its log: loading a
    /// cold account reads its checkpoint and at most this many events.
    #[arg(long, default_value_t = crate::engine::CHECKPOINT_EVERY_DEFAULT,
          value_parser = clap::value_parser!(i64).range(1..))]
    pub checkpoint_every: i64,
    /// The ledger cache's bound, in MiB.
    #[arg(long, default_value_t = 256)]
    pub cache_mb: usize,
    /// Longest a hold placed through the API may last, in seconds (SPEC §5.1); 0 removes the
    /// bound.
    #[arg(long, default_value_t = 900)]
    pub hold_max_duration_s: u64,
    /// Largest difference allowed between this server's clock and the database's, in
    /// milliseconds (SPEC §5.2); beyond it writes are refused with 503 `clock_skew`. On an
    /// `--allow-client-time` server, also how far past the server's clock a platform's `at`
    /// may be.
    #[arg(long, default_value_t = 5_000)]
    pub clock_skew_max_ms: u64,
    /// How often the clock is compared with the database's, in seconds.
    #[arg(long, default_value_t = 10)]
    pub clock_check_every_s: u64,
    /// Most time a client may take to send a request's headers, in seconds.
    #[arg(long, default_value_t = 10)]
    pub header_timeout_s: u64,
    /// Most time a client may take to send a request's body, in seconds.
    #[arg(long, default_value_t = 30)]
    pub body_timeout_s: u64,
    /// A connection with no request in flight is closed after this many seconds.
    #[arg(long, default_value_t = 60)]
    pub idle_timeout_s: u64,
    /// Most connections open at once; one more is answered 503 `overloaded` and closed.
    #[arg(long, default_value_t = 512)]
    pub connections_max: usize,
    /// Requests per second one token may make, sustained (0: no limit).
    #[arg(long, default_value_t = 50)]
    pub rate_per_token: u32,
    /// Requests one token may make in a burst above its rate.
    #[arg(long, default_value_t = 200)]
    pub burst_per_token: u32,
    /// Requests per second all tokens of one account may make together, sustained (0: no
    /// limit).
    #[arg(long, default_value_t = 200)]
    pub rate_per_account: u32,
    /// Requests all tokens of one account may make in a burst above its rate.
    #[arg(long, default_value_t = 1_000)]
    pub burst_per_account: u32,
    /// How often tokens' `last_used_at` are written, in seconds (kept in memory between).
    #[arg(long, default_value_t = 30)]
    pub last_used_flush_s: u64,
    /// Gateway (SPEC §5.4): longest wait for a provider's answer to begin, in seconds.
    #[arg(long, default_value_t = 60)]
    pub gateway_first_byte_timeout_s: u64,
    /// Gateway: longest silence between two chunks of a provider's answer, in seconds.
    #[arg(long, default_value_t = 60)]
    pub gateway_chunk_timeout_s: u64,
    /// Gateway: most AI calls in flight per account; one more is 429 `rate_limited`.
    #[arg(long, default_value_t = 32)]
    pub gateway_calls_max: usize,
    /// Webhooks: accept URLs whose host is a loopback, private or link-local address, or
    /// `localhost` (refused otherwise, so a webhook cannot be aimed at the server's own
    /// network). For local set-ups and tests.
    #[arg(long)]
    pub webhooks_allow_private: bool,
    /// Webhooks: how often alerts are looked for and due deliveries sent, in milliseconds.
    #[arg(long, default_value_t = 1000)]
    pub webhook_scan_ms: u64,
    /// Webhooks: the wait before the first retry of a failed delivery, in milliseconds
    /// (doubling after each attempt, at most an hour; 8 attempts in all).
    #[arg(long, default_value_t = 1000)]
    pub webhook_retry_base_ms: u64,
    /// Gateway: largest request body forwarded, in KiB.
    #[arg(long, default_value_t = 1024)]
    pub gateway_body_max_kb: usize,
    /// Most time the payment processor may take to authorise, capture or void, in seconds;
    /// past it a purchase is refused with `payment_unavailable` and credits nothing.
    #[arg(long, default_value_t = 10)]
    pub payment_timeout_s: u64,
}

/// An origin as browsers send it: `http` or `https`, a host, an optional port, nothing else.
fn parse_origin(text: &str) -> Result<String, String> {
    let why = || {
        format!(
            "{text:?} is not an origin: write scheme://host[:port], e.g. https://app.example.com \
             (no path, no trailing slash, no wildcard)"
        )
    };
    let rest = text
        .strip_prefix("https://")
        .or_else(|| text.strip_prefix("http://"))
        .ok_or_else(why)?;
    let (host, port) = if rest.starts_with('[') {
        // An IPv6 literal: `[::1]` or `[::1]:8080`.
        let end = rest.find(']').ok_or_else(why)? + 1;
        match &rest[end..] {
            "" => (&rest[..end], None),
            after => (&rest[..end], Some(after.strip_prefix(':').ok_or_else(why)?)),
        }
    } else {
        match rest.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (rest, None),
        }
    };
    let host_ok = !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b))
        && (host.starts_with('[') || !host.contains(['[', ']', ':']));
    let port_ok = port.is_none_or(|p| !p.is_empty() && p.parse::<u16>().is_ok());
    if host_ok && port_ok {
        Ok(text.to_ascii_lowercase())
    } else {
        Err(why())
    }
}

/// `Config` alone, for building one from arguments.
#[derive(Parser)]
struct Only {
    #[command(flatten)]
    config: Config,
}

impl Default for Config {
    /// Every setting at its default, as `ai-credits serve` with no flags (and no environment).
    fn default() -> Config {
        Only::parse_from(["serve"]).config
    }
}

impl Config {
    /// Fills in what comes from the environment: the storage location (`--db`, else
    /// `DATABASE_URL`) and the platform tokens.
    pub fn resolve(mut self) -> Config {
        let database_url = std::env::var("DATABASE_URL").ok();
        self.location = Location::choose(self.db.as_deref(), database_url.as_deref());
        self.admin_token = std::env::var("AI_CREDITS_ADMIN_TOKEN").ok();
        self.admin_token_next = std::env::var("AI_CREDITS_ADMIN_TOKEN_NEXT").ok();
        self
    }

    /// The ledger cache's bound in bytes.
    pub fn cache_bytes(&self) -> usize {
        self.cache_mb.saturating_mul(1 << 20)
    }
}

#[cfg(test)]
mod tests {
    use super::parse_origin;

    #[test]
    fn an_origin_is_a_scheme_a_host_and_maybe_a_port() {
        // Proves --cors-origin takes what browsers send as Origin (lower-cased) and refuses paths, wildcards and other schemes.
        for ok in [
            "https://app.example.com",
            "http://localhost:5173",
            "http://127.0.0.1:8080",
            "http://[::1]:3000",
        ] {
            assert_eq!(parse_origin(ok).as_deref(), Ok(ok));
        }
        assert_eq!(
            parse_origin("https://App.Example.com").as_deref(),
            Ok("https://app.example.com")
        );
        for bad in [
            "app.example.com",
            "https://app.example.com/",
            "https://app.example.com/path",
            "https://*.example.com",
            "*",
            "ftp://example.com",
            "http://localhost:",
            "http://localhost:99999",
            "https://",
        ] {
            assert!(parse_origin(bad).is_err(), "{bad}");
        }
    }
}
