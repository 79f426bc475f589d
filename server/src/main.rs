//! The `ai-credits` command.
//!
//! - `ai-credits scenario PATH` runs a SPEC §4 scenario (PATH `-` reads stdin) and prints the
//!   result JSON; a document that is not a scenario prints an error on stderr and exits 2.
//! - `ai-credits serve` runs the backend; every setting is a flag with its default, listed by
//!   `ai-credits serve --help` (see `config`). Once listening it prints `ai-credits listening
//!   on http://ADDR` on stdout; logs go to stderr (`RUST_LOG`; `AI_CREDITS_LOG_FORMAT=json`
//!   for JSON lines). From the environment: `AI_CREDITS_ADMIN_TOKEN` (the platform operator's
//!   bearer token; `AI_CREDITS_ADMIN_TOKEN_NEXT` a second one during a rotation),
//!   `DATABASE_URL`, and `AI_CREDITS_DATA_KEY` (64 hex: the key provider keys are encrypted
//!   with; else `--data-key-file`, else, for SQLite only, `ai-credits.key` beside the database,
//!   created with mode 0600 on first start). A start-up failure exits 70 with the cause on
//!   stderr (a catalogue the core refuses: the core's error code).
//! - `ai-credits verify [--db …] [--catalogue PATH] [--account ID]` replays logs from the
//!   start against the stored checkpoints.
//! - `ai-credits rotate-data-key [--db …] [--data-key-file OLD] --new-key-file NEW`
//!   re-encrypts every stored provider key with a new data key in one transaction.
//! - A command line it cannot read exits 64.

use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};

use ai_credits_server::engine::payment::{
    EmbeddedProcessor, PaymentMethod, PaymentProcessor, WithMethodOnFile,
};
use ai_credits_server::store::Location;
use ai_credits_server::{Config, Server};

/// The ai-credits command: the conformance runner and the authoritative backend.
#[derive(Parser)]
#[command(name = "ai-credits", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs a SPEC §4 scenario and prints the result JSON (`-` reads stdin).
    Scenario { path: String },
    /// Runs the backend.
    Serve(Box<Config>),
    /// Replays every account's log (or one's) from the start and compares it with what the
    /// server stores; exits 1 when anything differs.
    Verify(VerifyOptions),
    /// Re-encrypts every stored provider key with a new data key, in one transaction. Stop
    /// the servers first; start them again with the new key.
    RotateDataKey(RotateOptions),
}

/// `rotate-data-key`'s options. The old key comes from where `serve` reads it
/// (`AI_CREDITS_DATA_KEY`, else `--data-key-file`, else `ai-credits.key` beside an SQLite
/// database); the new one from `AI_CREDITS_NEW_DATA_KEY`, else `--new-key-file` (created
/// with mode 0600 when missing).
#[derive(clap::Args)]
struct RotateOptions {
    /// An SQLite file path or a `postgres://` URL (else `DATABASE_URL`, else `ai-credits.db`).
    #[arg(long = "db", value_name = "PATH|URL")]
    db: Option<String>,
    /// The file of the data key in use now.
    #[arg(long, value_name = "PATH")]
    data_key_file: Option<std::path::PathBuf>,
    /// The file of the new data key.
    #[arg(long, value_name = "PATH")]
    new_key_file: Option<std::path::PathBuf>,
}

/// `verify`'s options: the database, the catalogue and optionally one account.
#[derive(clap::Args)]
struct VerifyOptions {
    /// An SQLite file path or a `postgres://` URL (else `DATABASE_URL`, else `ai-credits.db`).
    #[arg(long = "db", value_name = "PATH|URL")]
    db: Option<String>,
    /// The catalogue the server runs with, when not the built-in one.
    #[arg(long, value_name = "PATH")]
    catalogue: Option<std::path::PathBuf>,
    /// Only this account.
    #[arg(long)]
    account: Option<String>,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let usage = e.use_stderr();
            let _ = e.print();
            // 64 (EX_USAGE) for a command line it cannot read; 0 for --help and --version.
            return if usage {
                ExitCode::from(64)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match cli.command {
        Command::Scenario { path } => run_scenario(&path),
        Command::Serve(config) => serve(config.resolve()),
        Command::Verify(options) => verify(options),
        Command::RotateDataKey(options) => rotate_data_key(options),
    }
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
    with_db(location_of(options.db.as_deref()), |db| async move {
        let catalogue = Arc::new(catalogue);
        match ai_credits_server::engine::verify::verify(&db, &catalogue, options.account.as_deref())
            .await
        {
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

fn rotate_data_key(options: RotateOptions) -> ExitCode {
    use ai_credits_server::vault::secret::DataKeySource;
    let location = location_of(options.db.as_deref());
    let sqlite_db = match &location {
        Location::SqliteFile(path) => Some(std::path::PathBuf::from(path)),
        Location::Postgres(_) => None,
    };
    let old = DataKeySource::choose(
        std::env::var("AI_CREDITS_DATA_KEY").ok(),
        options.data_key_file.as_deref(),
        sqlite_db.as_deref(),
    )
    .load();
    let new = match (
        std::env::var("AI_CREDITS_NEW_DATA_KEY").ok(),
        &options.new_key_file,
    ) {
        (Some(hex), _) => DataKeySource::Env(hex).load(),
        (None, Some(file)) => DataKeySource::File(file.clone()).load(),
        (None, None) => {
            Err("name the new data key: AI_CREDITS_NEW_DATA_KEY or --new-key-file PATH".to_owned())
        }
    };
    let (old, new) = match (old, new) {
        (Ok(Some(old)), Ok(Some(new))) => (old, new),
        (Ok(None), _) => {
            eprintln!(
                "ai-credits: rotate-data-key: no data key in use (AI_CREDITS_DATA_KEY or --data-key-file)"
            );
            return ExitCode::from(64);
        }
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("ai-credits: rotate-data-key: {e}");
            return ExitCode::from(66);
        }
        (_, Ok(None)) => return ExitCode::from(64),
    };
    with_db(location, |db| async move {
        match ai_credits_server::vault::data_key::rotate(&db, &old, &new).await {
            Ok(done) => {
                println!(
                    "re-encrypted {} provider keys; start the servers with the new data key",
                    done.keys
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("ai-credits: rotate-data-key: {e}");
                ExitCode::from(1)
            }
        }
    })
}

/// Where the data is: `--db`, else `DATABASE_URL` when it is PostgreSQL, else `ai-credits.db`.
fn location_of(db: Option<&str>) -> Location {
    Location::choose(db, std::env::var("DATABASE_URL").ok().as_deref())
}

/// Runs `work` on the database at `location` (migrated) in a runtime of its own; a database
/// that does not open exits 70.
fn with_db<F, Fut>(location: Location, work: F) -> ExitCode
where
    F: FnOnce(ai_credits_server::store::Db) -> Fut,
    Fut: std::future::Future<Output = ExitCode>,
{
    let runtime = match runtime() {
        Ok(r) => r,
        Err(code) => return code,
    };
    runtime.block_on(async move {
        match ai_credits_server::store::Db::open(&location).await {
            Ok(db) => work(db).await,
            Err(e) => {
                eprintln!("ai-credits: {}: {e}", location.describe());
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
        // The demo shows a card on file before a purchase; the embedded processor names none.
        let processor: Arc<dyn PaymentProcessor> = if config.demo {
            Arc::new(WithMethodOnFile {
                inner: EmbeddedProcessor,
                method: PaymentMethod {
                    brand: "Visa".into(),
                    last4: "4242".into(),
                },
            })
        } else {
            Arc::new(EmbeddedProcessor)
        };
        let server = match Server::bind(&config, processor).await {
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
