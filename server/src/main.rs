//! The `ai-credits` command.
//!
//! - `ai-credits scenario PATH` runs a SPEC §4 scenario (PATH `-` reads stdin) and prints the
//!   result JSON; a document that is not a scenario prints an error on stderr and exits 2.
//! - `ai-credits serve [--addr 127.0.0.1:8080] [--db PATH] [--allow-client-time] [--www DIR]
//!   [--data-key-file PATH] [--catalogue PATH] [--demo]`
//!   runs the backend; `--www DIR` also serves the static files of DIR at `/` (a web app on the
//!   API's origin); `--catalogue PATH` uses that catalogue document instead of the built-in one
//!   (validated at start-up: a document the core refuses stops the server, exit 70, with the
//!   core's error code on stderr). `--demo` runs a demo backend: it seeds the account
//!   `acc_demo` with about a year of history when it is missing (a restart keeps it), serves
//!   `POST /v1/demo/session` (an admin token of `acc_demo` for anyone who asks: never expose a
//!   demo server), the stand-in assistant `POST /v1/accounts/{id}/assistant` (it waits
//!   `AI_CREDITS_DEMO_REPLY_DELAY_MS`, default 400, before answering) and stand-in providers
//!   under `/demo/providers/`, which the key tests use unless `AI_CREDITS_PROVIDER_BASE_*` is
//!   set (a key starting with `demo-` is accepted). Storage: `--db` (a file path, or a `postgres://` URL), else `DATABASE_URL` when it
//!   is a PostgreSQL URL, else `ai-credits.db` in the working directory. Once listening it
//!   prints `ai-credits listening on http://ADDR` on stdout; logs go to stderr (`RUST_LOG`;
//!   `AI_CREDITS_LOG_FORMAT=json` for JSON lines). `AI_CREDITS_ADMIN_TOKEN` is the platform
//!   operator's bearer token. Provider keys are encrypted with the data key from
//!   `AI_CREDITS_DATA_KEY` (64 hex), else `--data-key-file PATH`, else (SQLite only)
//!   `ai-credits.key` beside the database, created with mode 0600 on first start.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use ai_credits_server::payment::EmbeddedProcessor;
use ai_credits_server::store::Location;
use ai_credits_server::{Config, Server};

fn usage() -> ExitCode {
    eprintln!(
        "usage: ai-credits scenario PATH   (PATH - reads the scenario from stdin)\n       \
         ai-credits serve [--addr 127.0.0.1:8080] [--db PATH|postgres://…] [--allow-client-time] [--www DIR] [--data-key-file PATH] [--catalogue PATH] [--demo] [--checkpoint-every N] [--cache-mb N]\n       \
         ai-credits verify [--db PATH|postgres://…] [--catalogue PATH] [--account ID]"
    );
    ExitCode::from(64)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("scenario") if args.len() == 2 => run_scenario(&args[1]),
        Some("serve") => match parse_serve(&args[1..]) {
            Some(config) => serve(config),
            None => usage(),
        },
        Some("verify") => match parse_verify(&args[1..]) {
            Some(options) => verify(options),
            None => usage(),
        },
        _ => usage(),
    }
}

fn parse_serve(args: &[String]) -> Option<Config> {
    let mut addr: SocketAddr = "127.0.0.1:8080".parse().ok()?;
    let mut db = None;
    let mut allow_client_time = false;
    let mut www = None;
    let mut data_key_file = None;
    let mut catalogue = None;
    let mut demo = false;
    let mut checkpoint_every = ai_credits_server::engine::CHECKPOINT_EVERY_DEFAULT;
    let mut cache_bytes = ai_credits_server::engine::CACHE_BYTES_DEFAULT;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--addr" => addr = rest.next()?.parse().ok()?,
            "--db" => db = Some(rest.next()?.clone()),
            "--allow-client-time" => allow_client_time = true,
            "--www" => www = Some(std::path::PathBuf::from(rest.next()?)),
            "--data-key-file" => data_key_file = Some(std::path::PathBuf::from(rest.next()?)),
            "--catalogue" => catalogue = Some(std::path::PathBuf::from(rest.next()?)),
            "--demo" => demo = true,
            "--checkpoint-every" => {
                checkpoint_every = rest.next()?.parse().ok().filter(|n| *n >= 1)?;
            }
            "--cache-mb" => {
                let mb: usize = rest.next()?.parse().ok()?;
                cache_bytes = mb.checked_mul(1 << 20)?;
            }
            _ => return None,
        }
    }
    let database_url = std::env::var("DATABASE_URL").ok();
    Some(Config {
        addr,
        location: Location::choose(db.as_deref(), database_url.as_deref()),
        allow_client_time,
        admin_token: std::env::var("AI_CREDITS_ADMIN_TOKEN").ok(),
        www,
        data_key_file,
        catalogue,
        demo,
        checkpoint_every,
        cache_bytes,
    })
}

/// `verify`'s options: the database, the catalogue and optionally one account.
struct VerifyOptions {
    location: Location,
    catalogue: Option<std::path::PathBuf>,
    account: Option<String>,
}

fn parse_verify(args: &[String]) -> Option<VerifyOptions> {
    let mut db = None;
    let mut catalogue = None;
    let mut account = None;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--db" => db = Some(rest.next()?.clone()),
            "--catalogue" => catalogue = Some(std::path::PathBuf::from(rest.next()?)),
            "--account" => account = Some(rest.next()?.clone()),
            _ => return None,
        }
    }
    let database_url = std::env::var("DATABASE_URL").ok();
    Some(VerifyOptions {
        location: Location::choose(db.as_deref(), database_url.as_deref()),
        catalogue,
        account,
    })
}

/// Replays every account's log (or one's) from the start and compares it with the stored
/// checkpoints; exits 1 when anything differs.
fn verify(options: VerifyOptions) -> ExitCode {
    let catalogue = match &options.catalogue {
        Some(path) => match std::fs::read_to_string(path)
            .map_err(|e| e.to_string())
            .and_then(|t| {
                ai_credits::Catalogue::from_json(&t).map_err(|e| format!("{e} ({})", e.code()))
            }) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("ai-credits: --catalogue {}: {e}", path.display());
                return ExitCode::from(66);
            }
        },
        None => ai_credits::Catalogue::default(),
    };
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let db = match ai_credits_server::store::Db::open(&options.location).await {
            Ok(db) => db,
            Err(e) => {
                eprintln!("ai-credits: {}: {e}", options.location.describe());
                return ExitCode::from(70);
            }
        };
        let catalogue = Arc::new(catalogue);
        match ai_credits_server::verify::verify(&db, &catalogue, options.account.as_deref()).await {
            Ok(v) => {
                for d in &v.differences {
                    println!("DIFFERENT {}: {}", d.account, d.what);
                }
                println!(
                    "verified {} accounts, {} events, {} checkpoints: {}",
                    v.accounts,
                    v.events,
                    v.checkpoints,
                    if v.differences.is_empty() {
                        "no difference".to_owned()
                    } else {
                        format!("{} accounts differ", v.differences.len())
                    }
                );
                if v.differences.is_empty() {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::from(1)
                }
            }
            Err(e) => {
                eprintln!("ai-credits: verify: {e}");
                ExitCode::from(70)
            }
        }
    })
}

/// The tokio runtime, or the exit code that says it could not start.
fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Runtime::new().map_err(|e| {
        eprintln!("ai-credits: cannot start the runtime: {e}");
        ExitCode::from(70)
    })
}

fn serve(config: Config) -> ExitCode {
    // Structured logs on stderr: `key=value` fields, or one JSON object per line with
    // AI_CREDITS_LOG_FORMAT=json. Requests are logged by route template and status, never
    // with headers or bodies (bearer tokens, keys).
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false);
    if std::env::var("AI_CREDITS_LOG_FORMAT").is_ok_and(|f| f == "json") {
        logs.json().init();
    } else {
        logs.init();
    }
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        let server = match Server::bind(&config, Arc::new(EmbeddedProcessor)).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("ai-credits: cannot start: {e}");
                return ExitCode::from(70);
            }
        };
        match server.local_addr() {
            Ok(addr) => {
                tracing::info!(%addr, allow_client_time = config.allow_client_time, demo = config.demo, "listening");
                println!("ai-credits listening on http://{addr}");
                let _ = std::io::stdout().flush();
            }
            Err(e) => {
                eprintln!("ai-credits: {e}");
                return ExitCode::from(70);
            }
        }
        match server.run(shutdown_signal()).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("ai-credits: {e}");
                ExitCode::from(70)
            }
        }
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}

fn run_scenario(path: &str) -> ExitCode {
    let mut bytes = Vec::new();
    let read = if path == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(path).map(|b| bytes = b)
    };
    if let Err(e) = read {
        eprintln!("ai-credits: cannot read {path}: {e}");
        return ExitCode::from(66);
    }
    let Ok(text) = String::from_utf8(bytes) else {
        eprintln!(
            "ai-credits: {path}: not a scenario: the document is not UTF-8 text (scenario_invalid_json)"
        );
        return ExitCode::from(2);
    };
    match ai_credits::scenario::run_json(&text) {
        Ok(report) => {
            println!("{}", report.to_json_pretty());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("ai-credits: {path}: {e} ({})", e.code());
            ExitCode::from(2)
        }
    }
}
